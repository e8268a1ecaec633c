"""The season length of a series: from the autocorrelation of its changes, else from the calendar."""
from __future__ import annotations

import numpy as np
import pandas as pd

_FREQ_SEASONS = {"B": 5, "C": 5, "D": 7, "h": 24, "H": 24, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4, "QS": 4,
                 "QE": 4, "min": 60, "T": 60}


def detect_season(levels: np.ndarray, index: pd.DatetimeIndex | None = None, max_lag: int = 400) -> tuple[int, str]:
    """The season length m in steps, and how it was found ("detected" or from the frequency).

    The autocorrelation of the series' changes (differencing removes the trend) is searched for
    its highest peak between lags 2 and max_lag; a peak above 0.2 is taken. Otherwise the
    calendar decides: business days 5, days 7, hours 24, weeks 52, months 12, quarters 4.
    """
    changes = np.diff(np.asarray(levels, float))
    changes = changes[np.isfinite(changes)]
    n = len(changes)
    if n > 8:
        top = min(max_lag, n // 3)
        centred = changes - changes.mean()
        spectrum = np.fft.rfft(centred, 2 * n)
        acf = np.fft.irfft(spectrum * np.conj(spectrum))[:top + 1]
        if acf[0] > 0 and top >= 2:
            acf = acf / acf[0]
            lag = int(np.argmax(acf[2:]) + 2)
            if acf[lag] > 0.2:
                return lag, "detected"
    calendar = _calendar_season(index)
    if calendar:
        return calendar
    return 1, "none found"


def _calendar_season(index: pd.DatetimeIndex | None) -> tuple[int, str] | None:
    """The season the row spacing suggests: trading days 5, days 7, hours 24, weeks 52, months 12."""
    if index is None or len(index) < 3:
        return None
    step = pd.Series(index).diff().median()
    if step >= pd.Timedelta(days=300):
        return None
    if step >= pd.Timedelta(days=80):
        return 4, "quarterly rows"
    if step >= pd.Timedelta(days=27):
        return 12, "monthly rows"
    if step >= pd.Timedelta(days=6):
        return 52, "weekly rows"
    if step >= pd.Timedelta(hours=20):
        weekend = (pd.DatetimeIndex(index).dayofweek >= 5).mean() < 0.02
        return (5, "trading days: a week") if weekend else (7, "daily rows: a week")
    if step >= pd.Timedelta(minutes=50):
        return 24, "hourly rows: a day"
    return None
