"""Metrics in original units, the scoring of a model against its baselines, and the lag diagnosis.

The baselines (persistence, seasonal naive, moving average, linear AR, ETS, ARIMA) are classes in
core/baselines.py, one registry every file reads; this module scores them next to the model on
the same targets.
"""
from __future__ import annotations

import math

import numpy as np

from . import baselines as registry
from . import intervals, scores
from .baselines import fit_linear  # noqa: F401  (re-exported: the linear AR's fit)
from .season import detect_season  # noqa: F401  (re-exported: the Evaluator's season)

METRICS = ("mse", "rmse", "mae", "mape", "smape", "mase", "direction")
BASELINES = registry.KEYS
BASELINE_NAMES = registry.NAMES
# What each baseline is, in a sentence a newcomer can read: the one place the Data page's list, the
# metrics table's notes and the backtest table's column help read from (each class's `help`).
BASELINE_HELP = registry.HELP


NAIVE_HELP = {"window mean": "the mean of the window's own target values (this mode predicts inside the window, "
                              "so there is no last value before the target).",
              "training mean": "the mean of the training targets, the same for every window.",
              "majority class": "the most common class among the training targets."}


def baseline_notes(keys=BASELINES, naive_name: str = "persistence") -> str:
    """Markdown, one bullet per baseline of `keys` (in BASELINES' order): its name and what it is.
    `naive_name` is what the "naive" baseline is for this mode (core/windows.py)."""
    lines = []
    for k in (k for k in BASELINES if k in keys):
        name, text = BASELINE_NAMES[k], BASELINE_HELP[k]
        if k == "naive" and naive_name != "persistence":
            name, text = naive_name, NAIVE_HELP.get(naive_name, "the simplest guess for this mode.")
        lines.append(f"- **{name}**: {text}")
    return "\n".join(lines)

MAX_LAG = 5


MAPE_NEAR_ZERO = 0.05  # the smallest |target| as a share of the median |target| below which MAPE says nothing


def mape_meaningful(truth: np.ndarray) -> bool:
    """Whether MAPE means something on these targets: their non-zero values keep one sign and none
    comes within MAPE_NEAR_ZERO of zero, relative to the median size."""
    values = np.asarray(truth, float)
    values = values[np.isfinite(values) & (values != 0)]
    if not len(values) or (values.min() < 0 < values.max()):
        return False
    size = np.abs(values)
    return bool(size.min() >= MAPE_NEAR_ZERO * np.median(size))


def metrics(truth: np.ndarray, prediction: np.ndarray, last: np.ndarray | None = None,
            scale: float | None = None) -> dict[str, float]:
    """RMSE, MAE, MAPE, sMAPE, MASE and direction accuracy of (samples,) predictions.

    Args:
        truth, prediction: (samples,) in original units.
        last: (samples,) the window's last known value; direction accuracy is the share (in
            percent) of the samples where the prediction moves away from it that it moves the way
            the truth did. NaN without `last`, and for a forecast that never moves (persistence).
        scale: MASE's denominator, the mean absolute change over `horizon` steps on the training
            rows; MASE < 1 beats that naive forecast's in-sample error. NaN without it.

    MAPE skips targets equal to zero, where it is undefined, and is NaN (not meaningful) when the
    targets change sign or come near zero (the smallest is under MAPE_NEAR_ZERO of the typical
    size): a percentage of a value near zero is huge whatever the error, e.g. 41% on a sine
    wave's test targets that an RMSE calls good. sMAPE (0..200) skips samples where both are zero.
    Each is NaN when nothing is left. Percentages are in percent.
    """
    truth, prediction = np.asarray(truth, float), np.asarray(prediction, float)
    err = prediction - truth
    nonzero = truth != 0
    mape = 100 * np.mean(np.abs(err[nonzero] / truth[nonzero])) if mape_meaningful(truth) else math.nan
    denom = np.abs(truth) + np.abs(prediction)
    some = denom != 0
    smape = 100 * np.mean(2 * np.abs(err[some]) / denom[some]) if some.any() else math.nan
    mae = float(np.mean(np.abs(err))) if len(err) else math.nan
    mse = float(np.mean(err ** 2)) if len(err) else math.nan
    out = {"mse": mse, "rmse": math.sqrt(mse) if len(err) else math.nan, "mae": mae, "mape": float(mape),
           "smape": float(smape), "mase": mae / scale if scale else math.nan, "direction": math.nan}
    if last is not None and len(err):
        last = np.asarray(last, float)
        moves = prediction != last
        if moves.any():
            out["direction"] = float(100 * np.mean(np.sign(prediction - last)[moves] == np.sign(truth - last)[moves]))
    return out


def baselines(w, split: str, season: int, moving_average: int, linear_fit=None) -> dict[str, np.ndarray]:
    """name -> (samples,) predictions of `split` by every baseline of the registry that applies to `w`
    and is not statistical (those come from core/statistical.py), original units.

    Args:
        w: a core.windows.Windowed.
        season: the seasonal naive's m (>= 1).
        moving_average: how many of the window's last values to average (capped at its length).
        linear_fit: coefficients from `fit_linear(w)` (fitted when None).
    """
    return {key: model.predict(w, split) for key, model in fitted(w, season, moving_average, linear_fit).items()}


def fitted(w, season: int, moving_average: int, linear_fit=None) -> dict[str, registry.Baseline]:
    """The registry's non-statistical baselines that apply to `w`, fitted once (val and test share them)."""
    out = {}
    for key, cls in registry.REGISTRY.items():
        if cls.statistical or not cls.applies(w):
            continue
        model = cls(linear_fit) if cls is registry.LinearAR else cls()
        out[key] = model.fit(w, season, moving_average)
    return out


def mase_scale(w) -> float | None:
    """Mean absolute change over `horizon` steps on the training rows (MASE's denominator)."""
    if w.horizon < 1:
        return None
    levels = w.levels[: max(w.train_rows, w.horizon + 1)]
    changes = np.abs(levels[w.horizon:] - levels[:-w.horizon])
    scale = float(np.mean(changes)) if len(changes) else 0.0
    return scale or None


def lag_scan(truth: np.ndarray, prediction: np.ndarray, max_lag: int = MAX_LAG) -> dict[int, float]:
    """lag -> correlation of the prediction's changes with the truth's changes `lag` targets earlier.

    A model that mostly repeats the last value predicts at t what happened at t - 1, so its
    changes line up best with the truth's at lag +1; a model that forecasts lines up at 0.
    Changes are used, not levels: the levels of a trending series correlate at every lag.
    """
    p = np.diff(np.asarray(prediction, float))
    t = np.diff(np.asarray(truth, float))
    out = {}
    for lag in range(-max_lag, max_lag + 1):
        if abs(lag) >= len(p):  # a short test split: t[:len(t) - lag] would wrap to the wrong slice
            out[lag] = math.nan
            continue
        a, b = (p[lag:], t[:len(t) - lag]) if lag >= 0 else (p[:lag], t[-lag:])
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        if len(a) < 3 or a.std() == 0 or b.std() == 0:
            out[lag] = math.nan
        else:
            out[lag] = float(np.corrcoef(a, b)[0, 1])
    return out


CLEAR_LAG = 0.3  # below this correlation no lag lines up clearly (changes of noise correlate near 0)


def best_lag(scan: dict[int, float]) -> int | None:
    finite = {k: v for k, v in scan.items() if np.isfinite(v)}
    return max(finite, key=finite.get) if finite else None


def lag_is_clear(scan: dict, lag: int | None) -> bool:
    """True when the best lag's correlation reaches CLEAR_LAG (keys may be ints or strings)."""
    if lag is None:
        return False
    value = scan.get(lag, scan.get(str(lag), math.nan))
    return bool(np.isfinite(value) and value >= CLEAR_LAG)


BIAS_SHARE = 0.5  # a level offset "holds" when bias² is at least half the MSE: the mean error >= the spread around it
NEAR_PERSISTENCE = 1.2  # an RMSE within 20% of persistence's is "about as persistence scores"


def error_bias(truth: np.ndarray, prediction: np.ndarray) -> tuple[float, float]:
    """(mean error, standard deviation of the error) of (samples,) predictions; MSE = bias² + spread²."""
    err = np.asarray(prediction, float) - np.asarray(truth, float)
    err = err[np.isfinite(err)]
    return (float(err.mean()), float(err.std())) if len(err) else (math.nan, math.nan)


def error_check(metrics: dict) -> list[str]:
    """The failures the test numbers show, each a sentence; [] when neither holds.

    Two different failures look alike on a chart, and the page must not call one the other:
    - a lag: the prediction's moves line up best with the truth's `naive_lag` steps earlier, as
      persistence's do (`lag_scan`); alone, with an RMSE near persistence's, it is persistence.
    - a level offset: the mean error ("bias") is at least the spread of the errors around it, so
      most of the squared error is a constant shift (BIAS_SHARE), e.g. a prediction that sits below
      a trending truth it never saw in training. Runs saved before "bias" was kept skip this check.
    """
    out = []
    lag = metrics.get("lag")
    rmse = (metrics.get("test") or {}).get("rmse")
    naive = ((metrics.get("baselines") or {}).get("naive") or {}).get("rmse")
    ratio = rmse / naive if rmse is not None and naive else math.nan
    bias, spread = metrics.get("bias"), metrics.get("error_spread")
    mse = bias ** 2 + spread ** 2 if bias is not None and spread is not None else math.nan
    biased = bool(np.isfinite(mse) and mse > 0 and bias ** 2 >= BIAS_SHARE * mse)
    if lag and lag > 0 and metrics.get("lag_clear", True) and lag == metrics.get("naive_lag", 1):
        steps = "one step" if lag == 1 else f"{lag} steps"
        line = (f"its moves line up best with the truth's moves {steps} **earlier**, as persistence's do, so its curve "
                f"looks like the truth shifted right by {steps}")
        if not biased and np.isfinite(ratio) and ratio <= NEAR_PERSISTENCE:
            line += (f"; with an RMSE {ratio:.2f}× persistence's it mostly repeats the last value it saw, which is "
                     "persistence, not a forecast")
        elif not biased and np.isfinite(ratio) and ratio > NEAR_PERSISTENCE and spread is not None:
            line += (f"; it is not persistence, though: its RMSE is {ratio:.1f}× persistence's, from errors that "
                     f"scatter widely (spread {spread:.4g}) round a small offset (mean error {bias:+.4g})")
        out.append(line + ".")
    if biased:
        where = "below" if bias < 0 else "above"
        out.append(f"its predictions sit on average {abs(bias):.4g} {where} the truth, more than its errors spread "
                   f"around that offset ({spread:.4g}): a level offset makes up {bias ** 2 / mse:.0%} of its squared "
                   "error" + (f", which is why its RMSE is {ratio:.1f}× persistence's" if ratio > 1 else "")
                   + ". Usual cause: test values outside the range seen in training (a trending series: try the diff "
                   "or pct transform on the Data page).")
    return out


def diagnosis(truth: np.ndarray, prediction: np.ndarray, naive: np.ndarray | None) -> dict[str, object]:
    """What error_check reads, for (samples,) test targets: "lag", "lag_clear", "naive_lag" (None
    without `naive`), "lag_correlations" {"-5": r, ...}, "bias" and "error_spread"."""
    scan = lag_scan(truth, prediction)
    lag = best_lag(scan)
    bias, spread = error_bias(truth, prediction)
    return {"lag": lag, "lag_clear": lag_is_clear(scan, lag),
            "naive_lag": None if naive is None else best_lag(lag_scan(truth, naive)),  # persistence: +h
            "lag_correlations": {str(k): v for k, v in scan.items()}, "bias": bias, "error_spread": spread}


def outcome(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> str:
    """"wins", "ties" or "loses": the model against the best of `baselines` on RMSE (ties within 0.5%),
    the tone of the verdict's box: a model that any baseline beats does not win."""
    rmse = model.get("rmse", math.nan)
    best = best_baseline(baselines)
    if best is None or rmse is None or not np.isfinite(rmse):
        return "loses"
    other = baselines[best]["rmse"]
    if rmse < other * (1 - 0.005):
        return "wins"
    return "ties" if rmse <= other * (1 + 0.005) else "loses"


def best_baseline(baselines: dict[str, dict[str, float]]) -> str | None:
    """The key of the baseline with the lowest RMSE (None when none has a finite one)."""
    finite = {k: v.get("rmse") for k, v in baselines.items() if v.get("rmse") is not None and np.isfinite(v["rmse"])}
    return min(finite, key=finite.get) if finite else None


def full_verdict(model_name: str, model: dict[str, float], baselines: dict[str, dict[str, float]],
                 naive_name: str = "persistence") -> str:
    """The verdict against persistence, and against the best baseline when that is another one:
    "LSTM beats persistence by 4% RMSE; the best baseline, ARIMA, beats LSTM by 2% RMSE"."""
    line = verdict(model_name, model, baselines.get("naive", {}), naive_name)
    best = best_baseline(baselines)
    if best is None or best == "naive" or not np.isfinite(model.get("rmse", math.nan)):
        return line
    name = registry.NAMES.get(best, best)
    if baselines[best]["rmse"] <= 1e-9 * max(1.0, abs(model["rmse"])):  # a ramp: the linear AR is exact
        return f"{line}; the best baseline, {name}, predicts these targets exactly"
    change = 1 - model["rmse"] / baselines[best]["rmse"]
    if change > 0.005:
        return f"{line}; it also beats the best baseline, {name}, by {change:.0%} RMSE"
    if change < -0.005:
        return f"{line}; the best baseline, {name}, beats it by {-change / (1 - change):.0%} RMSE"
    return f"{line}; it ties with the best baseline, {name} (RMSE within 0.5%)"


def verdict(model_name: str, model: dict[str, float], naive: dict[str, float], baseline: str = "persistence") -> str:
    """One line in plain words: does the model beat persistence (or `baseline`) on RMSE, and by how much."""
    if not (np.isfinite(model.get("rmse", math.nan)) and naive.get("rmse")):
        return f"{model_name} has no finite test error to compare"
    change = 1 - model["rmse"] / naive["rmse"]
    if change < -1:
        return f"{model_name} does not beat {baseline} (its RMSE is {1 - change:.1f}× {baseline}'s)"
    if change > 0.0005:
        return f"{model_name} beats {baseline} by {change:.0%} RMSE" if change >= 0.01 else \
            f"{model_name} beats {baseline} by {change:.1%} RMSE"
    return f"{model_name} does not beat {baseline} (its RMSE is {-change:.0%} higher)" if change < -0.005 else \
        f"{model_name} ties with {baseline} (RMSE within 0.5%)"


CLASS_METRICS = ("accuracy", "log_loss")


def class_metrics(truth: np.ndarray, prediction: np.ndarray, probabilities: np.ndarray | None = None
                  ) -> dict[str, float]:
    """Accuracy (percent) of (samples,) class labels, and the log loss of (samples, classes) probabilities."""
    truth, prediction = np.asarray(truth, int), np.asarray(prediction, int)
    out = {"accuracy": float(100 * np.mean(truth == prediction)) if len(truth) else math.nan, "log_loss": math.nan}
    if probabilities is not None and len(truth):
        p = np.clip(np.asarray(probabilities, float)[np.arange(len(truth)), truth], 1e-12, 1.0)
        out["log_loss"] = float(-np.mean(np.log(p)))
    return out


def confusion(truth: np.ndarray, prediction: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = predicted class."""
    table = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(table, (np.asarray(truth, int), np.asarray(prediction, int)), 1)
    return table


class ClassEvaluator:
    """Scores class predictions: accuracy and log loss against the baseline class (see Windowed.naive_name)."""

    def __init__(self, w):
        self.w = w

    def report(self, predictions: dict[str, np.ndarray], probabilities: dict[str, np.ndarray] | None = None
               ) -> dict[str, object]:
        """The metrics.json dict: "test"/"val" {accuracy, log_loss}, "baselines"/"val_baselines"
        {"naive": {...}, "majority": {...} (unless naive already is the majority class)}, "confusion" (test, rows = truth), "classes", "naive_name", "task"."""
        w = self.w
        out = {"task": "classification", "classes": list(w.classes), "naive_name": w.naive_name}
        train = w.levels[w.starts["train"] + w.input_shape[0] - 1 + w.horizon].astype(np.int64)
        majority = float(np.bincount(train).argmax())  # the most common class among the training targets
        for split, key in (("test", "baselines"), ("val", "val_baselines")):
            probs = probabilities.get(split) if probabilities else None
            out[split] = class_metrics(w.truth[split], predictions[split], probs)
            out[key] = {"naive": class_metrics(w.truth[split], w.naive[split])}
            if w.naive_name != "majority class":
                out[key]["majority"] = class_metrics(w.truth[split], np.full(len(w.truth[split]), majority))
        out["confusion"] = confusion(w.truth["test"], predictions["test"], len(w.classes)).tolist()
        return out


class Evaluator:
    """Scores predictions for one Windowed dataset; the baselines are computed once.

    Args:
        w: the windows (core.windows.Windowed).
        season: `evaluate.season` (None: detect from the training rows).
        moving_average: `evaluate.moving_average`.
    """

    def __init__(self, w, season: int | None = None, moving_average: int = 5):
        self.w = w
        train_levels = w.levels[: w.train_rows] if w.levels is not None else np.zeros(0)
        index = w.index[: w.train_rows] if w.index is not None else None
        self.season, self.season_how = (season, "set") if season else detect_season(train_levels, index)
        self.moving_average = moving_average
        self.scale = mase_scale(w)
        models = fitted(w, self.season, moving_average)  # fitted once for val and test
        self.baselines = {split: {k: m.predict(w, split) for k, m in models.items()} for split in ("val", "test")}
        self.statistical = {}  # what statistical.forecasts chose (the models, the fitting seconds)
        if (any(registry.REGISTRY[k].applies(w) for k in registry.STATISTICAL) and w.levels is not None
                and w.starts is not None):
            from . import statistical

            length = w.input_shape[0]
            targets = {split: w.starts[split] + length - 1 + w.horizon for split in ("val", "test")}
            forecasts, self.statistical = statistical.forecasts(w.levels, w.train_rows, targets, w.horizon, self.season)
            for name, per_split in forecasts.items():
                for split in ("val", "test"):
                    self.baselines[split][name] = per_split[split]

    def report(self, predictions: dict[str, np.ndarray]) -> dict[str, object]:
        """The metrics.json dict for {"val": (samples,), "test": (samples,)} predictions (original units).

        Keys: "test", "baselines" (every baseline of core/baselines.py that applies, the statistical
        ones when they could be fitted: core/statistical.py), "val",
        "val_baselines", "lag" (the best lag on the test targets), "lag_clear" (its correlation
        reaches CLEAR_LAG), "bias" and "error_spread" (mean and standard deviation of the test errors,
        prediction - truth: see error_check), "naive_lag" (persistence's best lag, +horizon with stride 1),
        "lag_correlations" ({"-5": r, ..., "5": r}), "up_share" (percent of test targets above the
        window's last value), "season" and "season_how", "owa" (core/scores.py), "direction_test"
        (its binomial p-values), and "interval_methods"/"interval_terciles" (core/intervals.py).
        """
        w, out = self.w, {}
        own = w.horizon == 0  # the window's own steps: no last known value to move from
        for split, key in (("test", "baselines"), ("val", "val_baselines")):
            truth, last = w.truth[split], None if own else w.naive[split]
            out[split] = metrics(truth, predictions[split], last, self.scale)
            out[key] = {name: metrics(truth, pred, last, self.scale) for name, pred in self.baselines[split].items()}
        out.update(diagnosis(w.truth["test"], predictions["test"], None if own else w.naive["test"]))
        out["up_share"] = (float(100 * np.mean(w.truth["test"] > w.naive["test"]))
                           if len(w.truth["test"]) and not own else None)
        out["season"], out["season_how"] = int(self.season), self.season_how
        out["naive_name"] = w.naive_name
        models = {k: v for k, v in self.statistical.items() if k in registry.STATISTICAL}
        if models:
            out["statistical"] = models  # e.g. {"ets": "ETS (trend)", "arima": "ARIMA(1, 1, 0)"}
        out["owa"] = scores.owa(out["test"], out["baselines"].get(registry.PERSISTENCE, {}))
        if not own:
            out["direction_test"] = scores.direction_test(w.truth["test"], predictions["test"], w.naive["test"])
        out.update(intervals.for_windows(w, predictions))  # interval_methods, interval_terciles
        return out


def with_horizons(metrics: dict | None, evaluator, found) -> dict | None:
    """`metrics` with "by_horizon" (core/scores.py) added for forecasts of 2 or more steps ahead;
    `found` is core.forecast.step_forecasts' (truth, forecast, naive, origins) of the test windows."""
    if not isinstance(evaluator, Evaluator) or found is None or metrics is None or found[0].shape[1] < 2:
        return metrics
    truth, forecast, _, origins = found
    rows = scores.by_horizon(evaluator.w, truth, forecast, origins, evaluator.season, evaluator.moving_average)
    return {**metrics, "by_horizon": rows}


def report(truth: np.ndarray, prediction: np.ndarray, naive: np.ndarray, prefix: str = "test") -> dict[str, object]:
    """The persistence-only shape {"test": {...}, "baselines": {"naive": {...}}} for bare arrays.

    With prefix="val" the keys are "val" and "val_baselines".
    """
    baselines_key = "baselines" if prefix == "test" else f"{prefix}_baselines"
    return {prefix: metrics(truth, prediction, naive), baselines_key: {"naive": metrics(truth, naive, naive)}}
