"""The Data page's pieces: where the series comes from, and what the network will see of it."""
from __future__ import annotations

import hashlib
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import charts, csvfile, data, describe, sources, spec as spec_module, tickers, uploads
from core.describe import escape
from core.spec import ExperimentSpec
from core.errors import sentence
from ui import address, loads, spec_state

SOURCES = {name: s.label for name, s in sources.SOURCES.items()}  # the registered sources (core/sources/)
PERIOD_TEXT = {"1mo": "1 month", "3mo": "3 months", "6mo": "6 months", "1y": "1 year", "2y": "2 years",
               "5y": "5 years", "10y": "10 years", "ytd": "year to date", "max": "all available"}
def source_picker(spec: ExperimentSpec) -> None:
    """Radio of sources and the picker of the chosen one. Only a load that works changes the spec."""
    if "w.source" not in st.session_state:
        st.session_state["w.source"] = spec.data.source
    source = st.radio("Source", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="w.source",
                      help="Built-in and synthetic series work offline. A ticker needs the network once; after "
                           "that a saved copy is used when Yahoo cannot be reached.")
    PICKERS.get(source, _plain)(spec, source)


def _plain(spec: ExperimentSpec, name: str) -> None:
    """A source without a picker of its own: one button that switches to it with its defaults."""
    chosen = sources.source(name)
    if spec.data.source == name:
        st.caption(f"Loaded: {escape(chosen.title(spec.data))}.")
    elif st.button(f"Use {chosen.label}", key=f"w.use.{name}"):
        _switch(source=name, **chosen.defaults)


def kept(message: str) -> str:
    """An error about data a visitor gave, as Markdown that shows it literally (it may quote their column
    names, cells or file name)."""
    return escape(f"{sentence(message)} The previous data is kept.")


def _switch(**fields) -> None:
    error = spec_state.use_data(**fields)
    if error:
        st.error(kept(error))
    else:
        st.rerun()


def _builtin(spec: ExperimentSpec, _name: str = "") -> None:
    current = spec.data.name if spec.data.source == "builtin" else "sp500"
    if st.session_state.get("w.builtin") not in data.BUILTINS:
        st.session_state["w.builtin"] = current
    name = st.selectbox("Dataset", list(data.BUILTINS), format_func=lambda n: data.BUILTINS[n].title,
                        key="w.builtin", help="Real series that ship with the app's packages: no network needed.")
    info = data.BUILTINS[name]
    st.caption(f"{info.description} **Frequency:** {info.frequency}. **Source:** {info.source}. "
               f"**License:** {info.license}.")
    if spec.data.source != "builtin" or spec.data.name != name:
        _switch(source="builtin", name=name)


def _synthetic(spec: ExperimentSpec, _name: str = "") -> None:
    current = spec.data.name if spec.data.source == "synthetic" else "sine"
    if st.session_state.get("w.generator") not in data.GENERATORS:
        st.session_state["w.generator"] = current
    name = st.selectbox("Generator", list(data.GENERATORS), format_func=lambda n: data.GENERATORS[n].title,
                        key="w.generator")
    generator = data.GENERATORS[name]
    st.caption(generator.description)
    remembered = st.session_state.setdefault("generator_params", {})
    if spec.data.source == "synthetic":
        remembered[spec.data.name] = spec.data.params
    given = remembered.get(name, {})
    params, cols = {}, st.columns(3)
    for i, p in enumerate(generator.params):
        key, value, label = f"w.gen.{name}.{p.name}", given.get(p.name, p.default), p.label or p.name
        with cols[i % 3]:
            if p.choices:
                params[p.name] = st.selectbox(label, p.choices, index=p.choices.index(value), key=key, help=p.help)
            elif isinstance(p.default, int):
                params[p.name] = int(st.number_input(label, int(p.low), int(p.high), int(value), key=key, help=p.help))
            else:
                params[p.name] = float(st.number_input(label, float(p.low), float(p.high), float(value), key=key,
                                                       help=p.help))
    changed = {k: v for k, v in params.items() if v != generator.values({})[k]}
    if spec.data.source != "synthetic" or spec.data.name != name or spec.data.params != changed:
        _switch(source="synthetic", name=name, params=changed)


def _ticker(spec: ExperimentSpec, _name: str = "") -> None:
    d = spec.data
    cols = st.columns([2, 1, 1])
    symbol = cols[0].text_input("Ticker", value=d.ticker or "AAPL", max_chars=20, key="w.ticker",
                                help="Yahoo Finance symbol: AAPL, BRK-B, ^GSPC (an index), EURUSD=X, 600519.SS")
    interval = cols[1].selectbox("Interval", spec_module.INTERVALS, format_func=describe.INTERVAL_TEXT.get,
                                 index=spec_module.INTERVALS.index(d.interval), key="w.ticker.interval")
    by_dates = cols[2].radio("Range", ["period", "dates"], index=int(bool(d.source == "ticker" and d.start)),
                             horizontal=True, key="w.ticker.range", help="A period back from today, or two dates.")
    cols = st.columns(3)
    fields = {"source": "ticker", "ticker": symbol.strip(), "interval": interval}
    if by_dates == "dates":
        start = cols[0].date_input("Start", value=_date(d.start, date(2015, 1, 1)), min_value=date(1950, 1, 1),
                                   key="w.ticker.start")
        end = cols[1].date_input("End", value=_date(d.end, date.today()), min_value=date(1950, 1, 1),
                                 key="w.ticker.end")
        fields.update(start=start.isoformat(), end=end.isoformat())
    else:
        fields["period"] = cols[0].selectbox("Period", spec_module.PERIODS, format_func=PERIOD_TEXT.get,
                                             index=spec_module.PERIODS.index(d.period or "max"), key="w.ticker.period")
    if st.button("Fetch", type="primary", icon=":material/download:", key="w.ticker.fetch"):
        with st.spinner(f"Downloading {escape(symbol.strip())} from Yahoo Finance..."):
            _switch(**fields)
    st.caption(f"Downloads are kept for {loads.TICKER_TTL // 60} minutes in memory and saved on disk, so a ticker "
               "fetched once still works offline.")


def _date(text: str | None, default: date) -> date:
    return date.fromisoformat(text[:10]) if text else default


def upload_limit_mb() -> float:
    """The largest CSV upload in MB: RNNLAB_MAX_CSV_MB, or Streamlit's `server.maxUploadSize` where
    that is lower. The server enforces the latter itself, also on a PUT that bypasses the browser."""
    return min(csvfile.max_bytes() / 2 ** 20, float(st.get_option("server.maxUploadSize")))


def _csv(spec: ExperimentSpec, _name: str = "") -> None:
    limit = upload_limit_mb()
    upload = st.file_uploader(f"CSV file (up to {limit:g} MB)", type=["csv", "txt", "tsv"], key="w.upload",
                              max_upload_size=max(1, math.ceil(limit)),
                              help="Comma, semicolon or tab separated; UTF-8, UTF-16 or GBK; decimal commas and "
                                   "dates like 2015-12-10, 2015/12/10 or 20151210 are understood. Uploads are kept "
                                   f"{uploads.max_age_days():g} days.")
    st.download_button("Download a sample CSV", sample_csv(), file_name="rnnlab-sample.csv", mime="text/csv",
                       icon=":material/download:", help="The expected layout: a date column, then numeric columns.")
    if upload is None:
        st.session_state.pop("csv_upload", None)
    else:
        raw = upload.getvalue()
        digest = uploads.digest(raw)
        if st.session_state.get("csv_upload", (None,))[0] != digest:
            st.session_state["csv_upload"] = (digest, *_store_upload(raw, upload.name, spec))
            if st.session_state["csv_upload"][1] is None:
                st.rerun()
        _, error, columns, path, full = st.session_state["csv_upload"]
        if error:
            st.error(kept(error))
        if full:  # this workspace's own quota: let the person make room
            if st.button("Delete my earlier uploads", icon=":material/delete:", key=f"w.clear_uploads.{digest}",
                         help="Deletes the CSV files this workspace uploaded before, except the one in use. Runs "
                              "trained on them keep their results."):
                uploads.delete_others(data.uploads_dir(), address.workspace(),
                                      keep=spec.data.path if spec.data.source == "csv" else None)
                st.session_state.pop("csv_upload", None)
                st.rerun()
        if error and columns:  # no dates found: let the person say where they are
            cols = st.columns([3, 1], vertical_alignment="bottom")
            choice = cols[0].selectbox("Which column holds the dates?", columns, key=f"w.pick_dates.{digest}")
            if cols[1].button("Use this column", key=f"w.use_dates.{digest}"):
                error = spec_state.use_data(source="csv", path=str(path), date_column=choice)
                st.session_state["csv_upload"] = (digest, error, columns, path, False)
                if error is None:
                    st.rerun()
                st.error(kept(error))
    if spec.data.source == "csv":
        _date_column_picker(spec)


def _store_upload(raw: bytes, name: str, spec: ExperimentSpec) -> tuple[str | None, list | None, Path | None, bool]:
    """Keep the upload on disk (core/uploads.py: size, quotas, age) and switch to it.

    Returns (error message or None, the file's columns when its dates were not found, the stored
    path, whether this workspace's quota refused it). A file that cannot be used at all is not kept:
    it would only take up the quota."""
    try:
        path = uploads.store(raw, name, data.uploads_dir(), address.workspace())
    except data.DataError as exc:
        return str(exc), None, None, isinstance(exc, uploads.QuotaFull) and exc.mine
    error = spec_state.use_data(source="csv", path=str(path))
    failure = st.session_state.get("data_error") if error else None
    columns = failure.columns if isinstance(failure, csvfile.DateColumnError) else None
    if error and columns is None and str(path) != str(spec.data.path):
        path.unlink(missing_ok=True)
    return error, columns, path, False


def _date_column_picker(spec: ExperimentSpec) -> None:
    try:
        frame = loads.load_frame(spec)
    except data.DataError:
        return
    columns = frame.attrs.get("csv_columns") or []
    found = frame.attrs.get("date_column")
    if found not in columns:
        return
    key = f"w.date_column.{hashlib.sha1(str(spec.data.path).encode()).hexdigest()[:8]}"

    def pick() -> None:
        error = spec_state.use_data(source="csv", path=spec.data.path, date_column=st.session_state[key])
        st.session_state["date_column_error"] = error
        if error:
            st.session_state[key] = found  # the box goes back to the column the data still uses

    st.selectbox("Date column", columns, index=columns.index(found), key=key, on_change=pick,
                 help="Found automatically; pick another column if the dates are elsewhere.")
    error = st.session_state.pop("date_column_error", None)
    if error:
        st.error(kept(error))


PICKERS = {"builtin": _builtin, "synthetic": _synthetic, "ticker": _ticker, "csv": _csv}
"""The sources with a picker of their own; any other registered source gets a plain button (`_plain`)."""


@st.cache_data(max_entries=1)
def sample_csv() -> bytes:
    frame = data.load_builtin("sp500").tail(500)[["Open", "High", "Low", "Close", "Volume"]].round(2)
    return frame.rename_axis("date").to_csv(date_format="%Y-%m-%d").encode("utf-8")


def source_line(spec: ExperimentSpec, frame: pd.DataFrame) -> None:
    """What is loaded now: name, rows, date range, data age, and what was fixed on the way."""
    age = tickers.age_text(frame)
    st.markdown(f"**Loaded:** {escape(describe.source_title(spec))} · {len(frame):,} rows · {frame.index[0]:%Y-%m-%d} to "
                f"{frame.index[-1]:%Y-%m-%d}" + (f" · {age}" if age else ""))
    for note in frame.attrs.get("notes", []):
        (st.warning if "duplicate" in note or "Showing the copy" in note else st.caption)(escape(note))


def missing_values(spec: ExperimentSpec, frame: pd.DataFrame, how: str) -> None:
    """Missing values in the used columns, and what the chosen handling (`how`) does with them."""
    counts = data.missing_counts(frame, [spec.data.target, *spec.data.features])
    total = sum(counts.values())
    if not total:
        st.caption("No missing values in the used columns.")
        return
    done = {"drop": "their rows are dropped", "ffill": "filled with the last value before them",
            "interpolate": "filled by linear interpolation in time"}[how]
    text = ", ".join(f"{c}: {n}" for c, n in counts.items() if n)
    never = "" if how == "drop" else " Filled values are used as inputs, never as targets."
    st.caption(f"Missing values: {escape(text)}; {done}.{never}")


def shape_panel(spec: ExperimentSpec, found) -> None:
    """The shapes the network gets, per split (`found`: windows.Shapes, counted), and the one window
    drawn with its target: only that window is copied out of the windows' strided view."""
    st.markdown(f"**Shapes:** `{found.shape_text().split('  -  ')[0]}`")
    rows = [{"split": s, "samples": n, "first target": f"{found.first[s]:%Y-%m-%d}",
             "last target": f"{found.last[s]:%Y-%m-%d}"} for s, n in found.counts.items()]
    st.dataframe(pd.DataFrame(rows).set_index("split"), width="stretch")
    n_train, n_val, n_test = found.counts.values()
    total = n_train + n_val + n_test
    i = st.slider("Show window", 1, total, n_train + n_val + 1, key="w.show_window",
                  help="Samples are numbered oldest first; the default is the first test window.")
    split, j = ("train", i - 1) if i <= n_train else ("val", i - 1 - n_train) if i <= n_train + n_val \
        else ("test", i - 1 - n_train - n_val)
    prepared = loads.windowed(spec)
    dates = prepared.window_dates(split, j)
    scale = "scaled" if spec.data.scaler != "none" else spec.data.transform if spec.data.transform != "raw" else "value"
    fig = charts.window_figure(np.array(prepared.X[split][j]), dates, prepared.features,
                               float(np.ravel(prepared.y[split][j])[-1]), prepared.dates[split][j], prepared.target,
                               scale)
    # The two subplot titles are centred over their parts; over the narrow target part the y title spread
    # left into the X title at 800 px ("...featurey: Close on..."). Anchor them at the figure's two ends.
    x_title, y_title = fig.layout.annotations[:2]
    x_title.update(x=0, xanchor="left")
    y_title.update(x=1, xanchor="right")
    st.plotly_chart(fig, width="stretch", key="window_chart")
    hourly = any(d.hour or d.minute for d in dates)
    fmt = "%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d"
    st.caption(f"Sample {i} ({split}): inputs from {dates[0]:{fmt}} to {dates[-1]:{fmt}}, after the "
               f"{spec.data.transform} transform and {spec.data.scaler} scaling; target {escape(prepared.target)} on "
               f"{prepared.dates[split][j]:{fmt}} = {prepared.truth[split][j]:.4g} in original units.")
