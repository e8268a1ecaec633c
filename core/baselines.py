"""The baselines every model is compared with: one class each, in one registry.

Each baseline predicts the same targets as the model (the value `horizon` steps after each
window), from the same window, in original units, and declares what it can do (as darts'
`models/forecasting/baselines.py` does):

- `horizon_zero`: it can predict a window's own steps (horizon 0), where no last value precedes
  the target;
- `autoencoder`: it makes sense when the window itself is the answer;
- `statistical`: a statsmodels model fitted on the training rows and run over the later rows with
  its parameters fixed (core/statistical.py filters and caches them together).

A new baseline is one class here and one line in REGISTRY; the metrics table, the verdict, the
backtest table and chart, the command line and the pages all read the registry.
"""
from __future__ import annotations

import math

import numpy as np

# The keys metrics.json and backtest.csv use, as constants every file reads.
PERSISTENCE = "naive"
SEASONAL_NAIVE = "seasonal_naive"
MOVING_AVERAGE = "moving_average"
LINEAR = "linear"
ETS = "ets"
ARIMA = "arima"


class Baseline:
    """One baseline: `fit` on the training windows or rows, then `predict` a split's targets.

    Class attributes: key (metrics.json's name), name (short, for tables), help (a sentence a
    newcomer can read), colour (charts; None: the chart's next colour), and the capabilities.
    """

    key = ""
    name = ""
    help = ""
    colour: str | None = None
    horizon_zero = False
    autoencoder = False
    statistical = False

    def fit(self, w, season: int, moving_average: int) -> "Baseline":
        """Learn what it needs from the training part of `w` (a core.windows.Windowed)."""
        self.season, self.moving_average = season, moving_average
        return self

    def predict(self, w, split: str) -> np.ndarray:
        """(samples,) predictions of `split`'s targets in original units."""
        raise NotImplementedError

    def predict_steps(self, w, origins: np.ndarray, steps: int) -> np.ndarray:
        """(origins, steps) predictions of the values k = 1..steps after each origin row (by_horizon)."""
        raise NotImplementedError

    @classmethod
    def applies(cls, w) -> bool:
        """Whether this baseline can predict the targets of `w` at all."""
        if w.mode == "autoencoder":
            return cls.autoencoder
        return cls.horizon_zero or w.horizon >= 1


class Persistence(Baseline):
    key, name, colour = PERSISTENCE, "persistence", "#7f7f7f"
    help = ("predicts that the target equals the window's last value (for a horizon of h steps, the value h steps "
            "before the target). On prices it is hard to beat; a model that does not beat it has learnt nothing "
            "usable.")
    horizon_zero = autoencoder = True

    def predict(self, w, split):
        return np.asarray(w.naive[split], float)

    def predict_steps(self, w, origins, steps):
        return np.repeat(w.levels[origins][:, None], steps, axis=1)


def _last_rows(w, split: str) -> np.ndarray:
    """(samples,) the row of each window's last step."""
    return w.starts[split] + w.input_shape[0] - 1


class SeasonalNaive(Baseline):
    key, name = SEASONAL_NAIVE, "seasonal naive"
    help = ("repeats the value one season before the target (e.g. the same weekday a week earlier); the season is "
            "set on the Data page or detected from the training rows.")

    def predict(self, w, split):
        last = _last_rows(w, split)
        back = self.season * math.ceil(w.horizon / self.season)  # whole seasons, never past the window's end
        rows = last + w.horizon - back
        return np.where(rows >= 0, w.levels[np.clip(rows, 0, None)], w.levels[last])

    def predict_steps(self, w, origins, steps):
        k = np.arange(1, steps + 1)
        rows = origins[:, None] + k[None, :] - self.season * np.ceil(k / self.season).astype(int)[None, :]
        return np.where(rows >= 0, w.levels[np.clip(rows, 0, None)], w.levels[origins][:, None])


class MovingAverage(Baseline):
    key, name = MOVING_AVERAGE, "moving average"
    help = "the mean of the window's last few values (how many is set on the Data page)."

    def predict(self, w, split):
        return self._average(w, _last_rows(w, split))

    def _average(self, w, last):
        k = max(1, min(self.moving_average, w.input_shape[0]))
        csum = np.concatenate([[0.0], np.cumsum(w.levels)])
        return (csum[last + 1] - csum[last + 1 - k]) / k

    def predict_steps(self, w, origins, steps):
        return np.repeat(self._average(w, origins)[:, None], steps, axis=1)


def design(X: np.ndarray) -> np.ndarray:
    """(samples, time steps, features) -> (samples, time steps * features + 1), with an intercept column."""
    flat = np.asarray(X, np.float64).reshape(len(X), -1)
    return np.hstack([flat, np.ones((len(flat), 1))])


def fit_linear(w) -> np.ndarray:
    """Least-squares coefficients from the training windows to their (primary, scaled) targets."""
    y = np.asarray(w.y["train"], np.float64).reshape(len(w.y["train"]), -1)[:, -1]
    coef, *_ = np.linalg.lstsq(design(w.X["train"]), y, rcond=None)
    return coef


class LinearAR(Baseline):
    key, name = LINEAR, "linear AR"
    help = ("a linear autoregression: least squares from the same window the network reads to the target, fitted on "
            "the training windows only. A network that loses to it gains nothing from being non-linear.")
    horizon_zero = True

    def __init__(self, coef: np.ndarray | None = None):
        self.coef = coef

    def predict(self, w, split):
        if self.coef is None:  # fitted on the first call, once for val and test
            self.coef = fit_linear(w)
        return w.inverse_y(design(w.X[split]) @ self.coef, split)

    def predict_steps(self, w, origins, steps):
        """A direct linear AR per step: least squares from the scaled window to the change of the target
        k steps after its last value (original units), fitted on the windows whose steps all lie in the
        training rows."""
        length = w.input_shape[0]
        train_last = np.arange(length - 1, w.train_rows - steps)
        if len(train_last) < 2:
            return np.full((len(origins), steps), np.nan)
        k = np.arange(1, steps + 1)
        change = w.levels[train_last[:, None] + k[None, :]] - w.levels[train_last][:, None]
        coef, *_ = np.linalg.lstsq(self._windows(w, train_last), change, rcond=None)
        return w.levels[origins][:, None] + self._windows(w, origins) @ coef

    @staticmethod
    def _windows(w, last_rows: np.ndarray) -> np.ndarray:
        """design() of the scaled windows ending at `last_rows`."""
        rows = last_rows[:, None] - np.arange(w.input_shape[0] - 1, -1, -1)[None, :]
        return design(np.asarray(w.x_scaled)[rows])


def lowest_aic(fits):
    """The fitted statsmodels results with the lowest finite AIC among `fits` (callables that fit one
    candidate), or None; a candidate whose fit fails is skipped."""
    best = None
    for fit in fits:
        try:
            res = fit()
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(res.aic) and (best is None or res.aic < best.aic):
            best = res
    return best


class ETSBaseline(Baseline):
    key, name, colour = ETS, "ETS", "#17becf"
    long_name = "ETS (exponential smoothing)"
    help = ("exponential smoothing (statsmodels): a weighted average of the past in which recent values weigh more, "
            "with a seasonal part when a season was found. Fitted on the training rows, then run over the later rows "
            "with its parameters fixed, each forecast made from the values before its target.")
    statistical = True

    @staticmethod
    def fit_rows(y: np.ndarray, season: int):
        """The statsmodels results with the lowest AIC on rows `y` (no trend; a season when one fits), or None.
        A trend seldom won and took the fit from 0.8 to 3 s on the default spec."""
        from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

        seasons = [None] + ([season] if 1 < season <= len(y) // 3 and season <= 60 else [])
        return lowest_aic(lambda s=s: ExponentialSmoothing(y, trend=False, seasonal=s).fit(disp=False) for s in seasons)

    @staticmethod
    def describe(res) -> str:
        model = res.model
        parts = ["trend" if model.trend else "no trend"]
        if model.seasonal:
            parts.append(f"season {model.seasonal_periods}")
        return f"ETS ({', '.join(parts)})"


class ARIMABaseline(Baseline):
    key, name, colour = ARIMA, "ARIMA", "#9467bd"
    long_name = "ARIMA"
    help = ("an autoregressive integrated moving average (statsmodels): the next change of the series as a weighted "
            "sum of its recent changes and recent forecast errors. The order (p, d, q) is chosen by AIC on the "
            "training rows; it then runs over the later rows with its parameters fixed, without refitting.")
    statistical = True
    # The grid AIC chooses from: small on purpose (a run's end may wait for it at most about a second on the
    # default spec; the (1,1,1)/(2,0,1) orders took the fit from 0.8 to 3 s and seldom won).
    ORDERS = ((1, 1, 0), (0, 1, 1), (2, 1, 0), (1, 0, 0))

    @classmethod
    def fit_rows(cls, y: np.ndarray, season: int):
        """The statsmodels ARIMA results with the lowest AIC over ORDERS on rows `y`, or None."""
        from statsmodels.tsa.arima.model import ARIMA as Model

        return lowest_aic(lambda o=o: Model(y, order=o, trend="c" if o[1] == 0 else "n").fit() for o in cls.ORDERS)

    @staticmethod
    def describe(res) -> str:
        return f"ARIMA{tuple(res.model.order)}" + (" with a constant" if res.model.trend == "c" else "")


# The registry, in the order tables show them.
REGISTRY: dict[str, type[Baseline]] = {b.key: b for b in
                                       (Persistence, SeasonalNaive, MovingAverage, LinearAR, ETSBaseline, ARIMABaseline)}
KEYS = tuple(REGISTRY)
NAMES = {k: b.name for k, b in REGISTRY.items()}
HELP = {k: b.help for k, b in REGISTRY.items()}
STATISTICAL = tuple(k for k, b in REGISTRY.items() if b.statistical)
COLOURS = {k: b.colour for k, b in REGISTRY.items() if b.colour}


def name(key: str, metrics: dict | None = None) -> str:
    """A baseline's short name; for a statistical one the model AIC chose when metrics.json says it."""
    chosen = ((metrics or {}).get("statistical") or {}).get(key) if key in STATISTICAL else None
    return chosen or NAMES.get(key, key)
