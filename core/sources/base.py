"""What a data source is: the description every source module fills in (`Source`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def _no_target(d) -> None:
    return None


def _real_dates(d) -> bool:
    return True


@dataclass(frozen=True)
class Source:
    """One data source: a value of the spec's data.source.

    Attributes:
        name: the data.source value ("builtin", "ticker", ...).
        label: its name on the Data page's picker.
        fields: the data fields it reads besides the ones every source has (start, end, target,
            features, transform, missing, scaler); the Data page resets the others on a switch.
        defaults: the fields the Data page sets when a person switches to it without a picker of
            its own (ui/data_views.py draws dedicated pickers for some sources).
        load: (data spec, csv_root) -> DataFrame indexed by date, oldest first (csv_root: the only
            folder an uploaded file may be read from, None for the command line); raises DataError.
        check: (data spec) -> None; raises SpecError naming the field when the spec lacks what this
            source needs (a dataset's name, a ticker symbol, a path). Runs in spec validation.
        title: (data spec) -> the data in a few words ("S&P 500 index, daily", "AAPL (daily, Yahoo Finance)").
        target: (data spec) -> the column it suggests predicting, or None (then the likeliest is guessed).
        dated: (data spec) -> whether its dates are real; made-up ones (a day per step) are charted as steps.
        backtest: why a walk-forward backtest cannot refit on it ("" when it can).
        downloads: it comes from the network: a backtest cuts its folds from one local copy of what
            was downloaded once (core/backtest.local_copy), never a download per fold.
        uploads: it reads a file a person uploaded: the app reads it only from its upload folder.
    """

    name: str
    label: str
    fields: tuple[str, ...]
    load: Callable[..., Any]
    check: Callable[[Any], None]
    title: Callable[[Any], str]
    defaults: dict[str, Any] = field(default_factory=dict)
    target: Callable[[Any], str | None] = _no_target
    dated: Callable[[Any], bool] = _real_dates
    backtest: str = ""
    downloads: bool = False
    uploads: bool = False
