"""The Presets page's variants: a toggle that turns a preset into the lesson's other version (the
sine's unscaled x, the stock tutorial's look-ahead leak, a preset on the visitor's own CSV)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st

from core import describe, presets
from core.describe import escape
from core.errors import sentence
from core.spec import ExperimentSpec, SpecError

from . import loads


@dataclass(frozen=True)
class Variant:
    """One toggle of one preset: its label, help, how it changes the spec, and what the page says."""

    preset: str
    key: str
    label: str
    help: str
    change: Callable[[ExperimentSpec], ExperimentSpec]
    says: Callable[[str], None]


VARIANTS = (
    Variant("sine-to-cosine", "unscaled_x", "Unscaled x from 3000",
            "Also feed x itself, starting at 3000 and not scaled: watch training stall. Then set the scaler to "
            "min-max on the Data page and train again.", presets.unscaled,
            lambda _: st.caption("Watch for a loss that stays flat and a prediction that is a flat line: inputs in "
                                 "the thousands push the projection and the LSTM's tanh into saturation, where "
                                 "gradients vanish. The run with the toggle off stays on the Runs page for "
                                 "comparison.")),
    Variant("stock-multifeature", "lookahead", "Tutorial's look-ahead (a leak)",
            "Train on raw prices the way the tutorial does: the test period standardised with its own mean and "
            "std. Off: percent changes, scaled on the training rows only (honest).", presets.lookahead,
            lambda _: st.warning("**Look-ahead leak:** the validation and test periods are each scaled with their "
                                 "own mean and std, so the network is told the price level it should predict. The "
                                 "curve looks close; check the RMSE against persistence, and compare with the "
                                 "honest run (toggle off) on the Runs page.", icon=":material/visibility:")),
)


def apply(picked: str, spec: ExperimentSpec, current: ExperimentSpec, csv_presets) -> ExperimentSpec:
    """The preset's spec after the toggles the visitor turned on (each says what it changes)."""
    for variant in VARIANTS:
        if picked == variant.preset and st.toggle(variant.label, key=variant.key, help=variant.help):
            spec = variant.change(spec)
            variant.says(picked)
    if picked in csv_presets and current.data.source == "csv" and st.toggle(
            f"Run on my CSV ({escape(describe.source_title(current))})", key="preset_on_csv",
            help="Use the CSV loaded on the Data page; its columns are matched by name, ignoring case (open = Open)."):
        try:
            spec, note = presets.on_csv(spec, current.data.path, list(loads.load_frame(current).columns))
            st.caption(escape(note))
        except (SpecError, ValueError) as exc:
            st.warning(f"{escape(sentence(str(exc)))} The built-in data is used instead.",
                       icon=":material/table_chart:")
    return spec
