"""A spec and a run in words: the one place the app and the command line name what they show.

`describe` is the one-line summary under every page; `layers_text` the architecture;
`source_title` the data; `run_label` a run in a picker or a legend. Pure functions of the spec:
no Streamlit, no Keras. `escape` makes any text safe to show inside Markdown.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import sources
from .sources import ticker as ticker_source
from .uploads import shown_name
from .spec import ExperimentSpec

INTERVAL_TEXT = ticker_source.INTERVAL_TEXT

# What makes text Markdown in Streamlit 1.67 (CommonMark, GFM, remark-math, remark-directive and its
# own shortcodes), and how each is stopped; a backslash before ASCII punctuation shows the character
# itself (CommonMark), so the reader sees the text unchanged:
# - anywhere: links and images ([ ] with ! and ( )), <autolinks> and HTML (< >), emphasis (*),
#   code (`), strikethrough (~), tables (|), LaTeX ($), directives like :red[...]{...} ([ ] { }),
#   headings and quotes (# >), e-mail autolinks (@) and the escape itself (\): always escaped;
# - _ unless it sits between letters or digits ("safe_mode"), where CommonMark never reads it as
#   emphasis;
# - bare links: GFM links "www." and "http://" as they stand: the dot after www and a colon
#   before / are escaped; so is the & of an entity ("&lt;" shows as typed, "S&P" needs nothing);
# - at the start of the text (line breaks become spaces, so there is no other line start): a list
#   item or rule (- + 1. 1)) is escaped;
# - emoji, ":material/...:" icons and ":streamlit:" are replaced in the parsed text, after escapes
#   are resolved, so a backslash does not stop them: a zero-width space after the colon does.
# ( ) ! . : - & = stay as they are elsewhere: without [ ] or a line start they make nothing.
ALWAYS = re.compile(r"([\\`*{}\[\]<>#$~|@])")
UNDERSCORES = re.compile(r"_+")
LINK_OR_ENTITY = re.compile(r"((?i:(?<=www))\.|:(?=/)|&(?=#?\w+;))")
LINE_START = re.compile(r"^(\s*)([-+]|\d+[.)])")
SHORTCODE = re.compile(r":(?=[\w+\-/]+:)")
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def escape(text: object) -> str:
    """`text` as Markdown that shows it literally: no link, image, emphasis, colour, icon or formula.

    Every string a visitor can supply (a field of a share link, a column name, a CSV cell, a file
    name, a ticker, an error message quoting any of them) passes through here before Streamlit
    renders it as Markdown, whole or as the part of a sentence it fills; line breaks become spaces,
    so the text stays in its sentence. "![x](http://h/i.png)" -> "!\\[x\\](http\\://h/i.png)".
    """
    text = SHORTCODE.sub(":\u200b", LINE_BREAK.sub(" ", str(text)))
    text = LINK_OR_ENTITY.sub(r"\\\1", ALWAYS.sub(r"\\\1", text))
    text = UNDERSCORES.sub(_underscores, text)
    return LINE_START.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], text)


def _underscores(run: re.Match) -> str:
    """A run of _ as it is between two letters or digits (inert there), else escaped."""
    text, start, end = run.string, run.start(), run.end()
    inside = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return run[0] if inside else "\\_" * len(run[0])


def source_title(spec: ExperimentSpec) -> str:
    """The data in a few words, as its source says it (core/sources/): "S&P 500 index, daily",
    "AAPL (daily, Yahoo Finance)", "prices.csv"."""
    d = spec.data
    return sources.source(d.source).title(d)


def layers_text(spec: ExperimentSpec) -> str:
    """The architecture as its layers: "Dense(16) → BiLSTM(64) → LSTM(32) → Dense(1) (dropout 0.2)"."""
    m, h = spec.model, spec.window.horizon
    bi = "Bi" if m.bidirectional else ""
    stack = " → ".join(f"{bi}{m.cell}({u})" for u in m.units)
    if m.input_dense:
        stack = f"Dense({m.input_dense}) → {stack}"
    if m.embedding_dim:
        stack = f"Embedding({m.embedding_dim}) → {stack}"
    out = "Dense(classes, softmax)" if m.task == "classification" else f"Dense({h if m.mode == 'direct' else 1})"
    dense = ([f"Dense({m.head_units})"] if m.head_units else []) + [out]
    if m.mode in ("seq2seq", "many_to_many", "autoencoder"):
        dense = [f"TimeDistributed({d})" for d in dense]
    if m.mode in ("seq2seq", "autoencoder"):
        stack += f" → RepeatVector({spec.window.length if m.mode == 'autoencoder' else h}) → {bi}{m.cell}({m.units[-1]})"
    extras = [x for x in (m.dropout and f"dropout {m.dropout:g}", m.recurrent_dropout and
                          f"recurrent dropout {m.recurrent_dropout:g}") if x]
    return (("stateful " if m.mode == "stateful" else "") + " → ".join([stack, *dense])
            + (f" ({', '.join(extras)})" if extras else ""))


def describe(spec: ExperimentSpec, bold: bool = False) -> str:
    """One line: data, target, window, layers and training settings (`bold`: Markdown, ** on the values
    and every name from the spec escaped; plain text otherwise, which a page escapes as a whole)."""
    b = "**" if bold else ""
    e = escape if bold else str
    d, t = spec.data, spec.train
    prep = [x for x in (d.transform != "raw" and f"{d.transform} transform",
                        d.scaler != "minmax" and ("no scaling" if d.scaler == "none" else f"{d.scaler} scaling"),
                        spec.window.stride > 1 and f"stride {spec.window.stride}") if x]
    h, mode = spec.window.horizon, spec.model.mode
    verb = "classifying" if spec.model.task == "classification" else "predicting"
    ahead = (f"1 to {h} steps ahead" if mode in ("direct", "seq2seq") else f"{h} step{'s' if h != 1 else ''} ahead"
             if h else "at every step of the window" if mode == "many_to_many" else "at the window's last step")
    what = (f"rebuilding {b}{e(d.target)}{b} over the" if mode == "autoencoder" else
            f"{verb} {b}{e(d.target)}{b} {ahead} from the")
    return (f"{b}{e(source_title(spec))}{b}, {what} "
            f"last {b}{spec.window.length}{b} steps of {', '.join(map(e, d.features))}"
            + (f" ({', '.join(prep)})" if prep else "") + f" · {b}{layers_text(spec)}{b} · "
            f"{t.epochs} epoch{'s' * (t.epochs != 1)}, batch {t.batch_size}, {t.optimizer} lr {t.learning_rate:g}, {t.loss} loss"
            + "".join(x for x in (t.clipnorm and f", clipnorm {t.clipnorm:g}", t.early_stopping and ", early stopping",
                                  t.reduce_lr and ", reduce LR on plateau") if x))


def cell_text(spec: ExperimentSpec, imported: bool = False) -> str:
    """"BiLSTM", "GRU"; "imported" for an uploaded .keras model (its layers are not the spec's)."""
    return "imported" if imported else ("Bi" if spec.model.bidirectional else "") + spec.model.cell


def units_text(spec: ExperimentSpec) -> str:
    """"64+32" for two stacked layers."""
    return "+".join(map(str, spec.model.units))


def data_name(spec: ExperimentSpec) -> str:
    """The ticker, the dataset's name or the CSV file's name as the visitor uploaded it (the store's
    digest prefix stripped: "AAPL.csv", not "f04333894d96-AAPL.csv")."""
    d = spec.data
    return d.ticker or d.name or shown_name(d.path)


def setup_text(spec: ExperimentSpec) -> str:
    """The window in short: "w30", "w30 h5 log"."""
    w, d = spec.window, spec.data
    return f"w{w.length}" + (f" h{w.horizon}" if w.horizon != 1 else "") + (f" {d.transform}" if d.transform != "raw" else "")


def run_label(spec: ExperimentSpec, run_id: str, imported: bool = False) -> str:
    """A run in a picker or a legend: "BiLSTM 64+32 · sp500 w30 · 20261201-…"."""
    return f"{cell_text(spec, imported)} {units_text(spec)} · {data_name(spec)} {setup_text(spec)} · {run_id}"
