"""The explorer: what the cells of a trained run learned (issue 24).

Plain numpy over states replayed by core.gates, one module per question:

- states: every window's hidden state h of one layer, computed once per run, epoch and layer (cached).
- match: select-and-match (LSTMVis): the units on over a span, other spans where they are on too, and
  what followed those spans.
- units: each unit's memory half-life from its forget/update gate; the unit-signal map.
- whatif: the forecast with an edited input window or clamped units; the ablation table.
- trajectory: one window's hidden-state path on fixed PCA axes, epoch by epoch.
- cli: `python -m core explore` (imports nothing heavy until it runs).

core.gates imports Keras, so importing any engine module imports Keras; the cli module does not.
"""
