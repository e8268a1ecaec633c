"""The scorecard under a finished run's metrics: interval methods, direction against a coin, OWA,
and the errors per step ahead of the model and every baseline (issue 25; figures: core/intervals.py,
core/scores.py)."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core import baselines, charts, intervals, scores

INTERVAL_HELP = ("**split**: split conformal, one error size from the validation errors. **ACI**: adaptive "
                 f"conformal inference, the level moved after each hit or miss (gamma {intervals.ACI_GAMMA}). "
                 "**scaled**: errors divided by the volatility known at the origin, so bands widen in turbulent "
                 "stretches. Coverage: % of test targets inside; width: the band's mean full width; Winkler: width "
                 "plus 2/a times each miss (lower is better).")


def _number(value) -> float:
    """A finite float from metrics.json (hostile or missing values read as NaN)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def interval_table(metrics: dict) -> pd.DataFrame | None:
    """A row per method and level: coverage, width, Winkler, coverage in calm/middle/volatile thirds."""
    found, thirds = metrics.get("interval_methods"), metrics.get("interval_terciles") or {}
    if not isinstance(found, dict) or not isinstance(thirds, dict):
        return None
    rows = []
    for method in intervals.METHODS:
        for level in intervals.LEVELS:
            s = (found.get(method) or {}).get(str(level)) if isinstance(found.get(method), dict) else None
            if not isinstance(s, dict):
                continue
            t = (thirds.get(method) or {}).get(str(level)) if isinstance(thirds.get(method), dict) else None
            t = t if isinstance(t, list) and len(t) == 3 else [None] * 3
            rows.append({"method": intervals.METHOD_NAMES[method], "level %": level,
                         "coverage %": _number(s.get("coverage")), "width": _number(s.get("width")),
                         "Winkler": _number(s.get("winkler")), "calm %": _number(t[0]),
                         "middle %": _number(t[1]), "volatile %": _number(t[2])})
    return pd.DataFrame(rows) if rows else None


def intervals_section(run, snap) -> None:
    """The three interval methods on the test targets, which held its level, and rolling coverage."""
    table = interval_table(snap.metrics or {})
    if table is None:
        return
    with st.expander("Prediction intervals: split conformal, adaptive (ACI), volatility-scaled"):
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4g")
                                    for c in ("width", "Winkler")}
                     | {c: st.column_config.NumberColumn(format="%.1f")  # 14.6113 % read as false precision
                        for c in ("coverage %", "calm %", "middle %", "volatile %")})
        st.caption(INTERVAL_HELP + " Calm/middle/volatile: coverage in the thirds of the test targets by that "
                   "volatility.")
        said = intervals.held(snap.metrics["interval_methods"], 80)
        if said:
            st.markdown(said)
        spec = run.spec
        found = intervals.rolling_from_frame(run.predictions_frame(), 80, spec.window.horizon, spec.window.stride)
        if found is not None:
            dates, rolled = found
            st.plotly_chart(charts.rolling_coverage_figure(dates, rolled, 80, intervals.ROLLING), width="stretch",
                            key="rolling_coverage")


def verdict_notes(metrics: dict) -> str:
    """OWA and direction against a coin, a line each (empty when the run predates them)."""
    owa = scores.owa_sentence(_number(metrics.get("owa")))
    lines = [owa[:1].upper() + owa[1:] + ("." if owa else ""),
             scores.direction_sentence(metrics.get("direction_test"))]
    return "  \n".join(line for line in lines if line)


def horizon_table(metrics: dict) -> pd.DataFrame | None:
    """A row per step ahead: the model's RMSE and MASE and each baseline's MASE (metrics.json by_horizon)."""
    rows = metrics.get("by_horizon")
    if not isinstance(rows, list) or not rows:
        return None
    out = []
    for row in rows:
        if not isinstance(row, dict):
            return None
        model = row.get("model") if isinstance(row.get("model"), dict) else {}
        line = {"step": row.get("step"), "model RMSE": _number(model.get("rmse")),
                "model MASE": _number(model.get("mase"))}
        others = row.get("baselines") if isinstance(row.get("baselines"), dict) else {}
        for key, values in others.items():
            if key in baselines.REGISTRY and isinstance(values, dict):
                line[f"{baselines.NAMES[key]} MASE"] = _number(values.get("mase"))
        out.append(line)
    return pd.DataFrame(out)


def horizon_section(snap) -> None:
    table = horizon_table(snap.metrics or {})
    if table is None:
        return
    with st.expander("Scores per step ahead: the model and every baseline"):
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns
                                    if c != "step"})
        st.caption("MASE at step k divides the mean absolute error by the mean absolute k-step change on the "
                   "training rows: persistence scores about 1 at every step on a random walk; under 1 beats it. "
                   "RMSE in the target's units.")


SEED_KEY = "seed_repeat"  # session state: {"ids": [run ids], "seed": first seed} of the latest repeat


def seeds_section(spec) -> None:
    """"Repeat with 3 seeds": the spec trained with seeds seed..seed+2 through the worker pool, then the
    mean and spread of the test scores and in how many seeds the model beat persistence."""
    from core import seeds

    with st.expander(f"Repeat with {seeds.DEFAULT_SEEDS} seeds: how much of this score is luck?"):
        st.caption("Trains these settings again with the seeds "
                   f"{spec.train.seed}..{spec.train.seed + seeds.DEFAULT_SEEDS - 1} (the initial weights and the "
                   "batch order), in the background, and shows the spread of the test scores.")
        if st.button(f"Repeat with {seeds.DEFAULT_SEEDS} seeds", icon=":material/casino:", key="seed_repeat_button"):
            error = _start_seeds(spec)
            if error:
                st.error(error, icon=":material/error:")
        if st.session_state.get(SEED_KEY):
            _seed_results()


def _start_seeds(spec) -> str | None:
    from core import data, pool, runs, seeds
    from core.errors import sentence

    from . import address, loads, session_runs

    try:
        loads.preflight(spec)
        seed_specs = seeds.specs(spec, seeds.DEFAULT_SEEDS)
        store = session_runs.root()
        group = "seeds-" + runs.new_run_id()  # one History group per repeat
        ids = seeds.submit(seed_specs, pool.shared(), store.resolve(), group, address.workspace(),
                           str(data.uploads_dir().resolve()))
    except ValueError as exc:  # DataError, SpecError
        return sentence(str(exc))
    except OSError as exc:
        return f"The runs could not be started: the run store cannot be written ({exc.strerror or exc})."
    st.session_state[SEED_KEY] = {"ids": ids}
    return None


@st.fragment(run_every=2)
def _seed_results() -> None:
    from core import runs, seeds

    from . import session_runs

    store = session_runs.root()
    ids = (st.session_state.get(SEED_KEY) or {}).get("ids") or []
    ended = [run_id for run_id in ids if runs.has_ended(store / run_id)]
    if len(ended) < len(ids):
        st.caption(f"{len(ended)} of {len(ids)} seed runs finished; the rest are training or queued.")
        return
    result = seeds.summary([store / run_id for run_id in ids])
    names = {"smape": "sMAPE", "direction": "direction %"}  # "SMAPE" from key.upper()
    rows = [{"metric": names.get(key, key.upper()), **values}
            for key, values in result["metrics"].items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4g") for c in ("mean", "std", "min", "max")})
    (st.success if result["beats_persistence"] == result["finished"] else st.warning)(
        result["verdict"], icon=":material/casino:")
