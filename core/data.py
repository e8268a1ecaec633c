"""Data sources -> a DataFrame indexed by date, sorted oldest first.

Every failure a person can cause (an unknown dataset, a missing column, a file that does not
parse, a ticker that returns nothing) raises `DataError` with a message that says what happened
and what to do about it.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import csvfile, tickers
from .errors import DataError
from .spec import DataSpec

__all__ = ["DataError", "BUILTINS", "GENERATORS", "load", "check_columns", "numeric_columns", "missing_counts"]


@dataclass(frozen=True)
class Builtin:
    """A real series that ships inside an installed package, so it loads offline."""

    name: str
    title: str
    description: str
    frequency: str
    source: str
    license: str
    target: str
    loader: Callable[[], pd.DataFrame]


def _arch(module: str) -> Callable[[], pd.DataFrame]:
    """arch's daily stock series, read from the file arch ships, as `arch.data.<module>.load()` does.

    Importing `arch.data.sp500` imports the whole arch package first (arch.univariate, scipy,
    statsmodels): about 1 CPU-second of the first page a fresh server draws, on a container with one
    CPU (measured with -X importtime). The file is found without running the package."""
    def load() -> pd.DataFrame:
        spec = importlib.util.find_spec("arch")
        folder = Path(next(iter(spec.submodule_search_locations or []), "")) / "data" / module
        path = folder / f"{module}.csv.gz"
        if not path.is_file():  # a future arch that moved its data: ask the package after all
            return importlib.import_module(f"arch.data.{module}").load()
        frame = pd.read_csv(path)
        if "Date" in frame:
            frame["Date"] = pd.to_datetime(frame["Date"])
            frame = frame.set_index("Date")
        return frame.apply(pd.to_numeric, errors="coerce")

    return load


def _vega(name: str, date: str = "date") -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from vega_datasets import local_data

        return getattr(local_data, name)().set_index(date)

    return load


def _co2() -> pd.DataFrame:
    from statsmodels.datasets import co2

    return co2.load_pandas().data


def _sunspots() -> pd.DataFrame:
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    years = frame.pop("YEAR").astype(int).astype(str)
    return frame.rename(columns={"SUNACTIVITY": "sunspots"}).set_index(pd.to_datetime(years, format="%Y"))


def _elnino() -> pd.DataFrame:
    from statsmodels.datasets import elnino

    wide = elnino.load_pandas().data.set_index("YEAR")
    long = wide.stack()
    dates = pd.to_datetime([f"{int(y)}-{m.title()}-01" for y, m in long.index], format="%Y-%b-%d")
    return pd.DataFrame({"temperature": long.to_numpy()}, index=dates)


IMAGE_ROWS_TEXT = ("One row per image row: the pixel columns px0, px1, ... of that row, and the image's label in "
                   "`digit` on every row of it. A window as long as the image reads one image, one row per "
                   "time step (windows that long start only where an image starts).")


def _image_rows(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """(images, height, width) -> one row per image row: px0..px(width-1), digit; a day per row."""
    n, height, width = images.shape
    frame = pd.DataFrame(images.reshape(n * height, width).astype(np.float64),
                         columns=[f"px{i}" for i in range(width)])
    frame["digit"] = np.repeat(labels.astype(np.int64), height)
    frame.index = pd.date_range("2000-01-01", periods=len(frame), freq="D", name="date")
    frame.attrs["image_height"] = height
    return frame


def _digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return _image_rows(digits.images, digits.target)


MNIST_IMAGES = 12_000  # the first 10,000 training images, then the first 2,000 test images


def mnist_path() -> Path:
    """Where Keras caches MNIST (keras.datasets.mnist.load_data downloads it there)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


def _mnist() -> pd.DataFrame:
    path = mnist_path()
    if not path.exists():
        raise DataError(f"MNIST is not cached on this machine ({path}), and RNN Lab does not download it; use the "
                        "8x8 digits (built-in dataset \"digits\"), which ship with scikit-learn")
    with np.load(path) as f:
        images = np.concatenate([f["x_train"][:10_000], f["x_test"][:2_000]])
        labels = np.concatenate([f["y_train"][:10_000], f["y_test"][:2_000]])
    return _image_rows(images, labels)


STOCK_LICENSE = "arch is NCSA-licensed; the price data is public market data"
BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("sp500", "S&P 500 index, daily",
                "Daily open, high, low, close, adjusted close and volume of the S&P 500, 1999-2018 (5031 trading days).",
                "daily (trading days)", "Yahoo! Finance via the `arch` package (arch.data.sp500)", STOCK_LICENSE,
                "Close", _arch("sp500")),
        Builtin("nasdaq", "NASDAQ Composite, daily",
                "Daily open, high, low, close, adjusted close and volume of the NASDAQ Composite, 1999-2018.",
                "daily (trading days)", "Yahoo! Finance via the `arch` package (arch.data.nasdaq)", STOCK_LICENSE,
                "Close", _arch("nasdaq")),
        Builtin("seattle_weather", "Seattle weather, daily",
                "Daily maximum and minimum temperature (°C), precipitation (mm) and wind in Seattle, 2012-2015.",
                "daily", "NOAA via the `vega_datasets` package (local_data.seattle_weather)",
                "public domain (NOAA); vega_datasets is BSD-licensed", "temp_max", _vega("seattle_weather")),
        Builtin("seattle_temps", "Seattle temperature, hourly",
                "Hourly air temperature (°F) in Seattle through 2010 (8759 hours): a daily cycle inside a yearly one.",
                "hourly", "NOAA via the `vega_datasets` package (local_data.seattle_temps)",
                "public domain (NOAA); vega_datasets is BSD-licensed", "temp", _vega("seattle_temps")),
        Builtin("co2", "Mauna Loa CO2, weekly",
                "Weekly atmospheric CO2 (ppm) at Mauna Loa, 1958-2001: a trend plus a yearly cycle, with 59 missing weeks.",
                "weekly", "Scripps Institution of Oceanography via `statsmodels` (datasets.co2)", "public domain",
                "co2", _co2),
        Builtin("elnino", "El Niño sea temperature, monthly",
                "Monthly sea surface temperature (°C) of the Niño 1+2 region, 1950-2010: a yearly cycle with irregular "
                "El Niño swings.",
                "monthly", "NOAA ERSST.V3B via `statsmodels` (datasets.elnino)", "public domain", "temperature",
                _elnino),
        Builtin("digits", "Handwritten digits, 8x8 images",
                "1797 handwritten digits (0-9) as 8x8 grey images. " + IMAGE_ROWS_TEXT,
                "one row per image row", "UCI ML hand-written digits via `scikit-learn` (datasets.load_digits)",
                "CC BY 4.0 (UCI); scikit-learn is BSD-licensed", "digit", _digits),
        Builtin("mnist", "MNIST digits, 28x28 images (only when cached)",
                f"The first {MNIST_IMAGES:,} MNIST digits (10,000 training, then 2,000 test images), 28x28. "
                + IMAGE_ROWS_TEXT + " Loads only when Keras has already downloaded MNIST on this machine.",
                "one row per image row", "MNIST via the Keras dataset cache (~/.keras/datasets/mnist.npz)",
                "CC BY-SA 3.0", "digit", _mnist),
        Builtin("sunspots", "Sunspots, yearly",
                "Yearly mean sunspot number, 1700-2008: the roughly 11-year solar cycle.",
                "yearly", "NOAA National Geophysical Data Center via `statsmodels` (datasets.sunspots)",
                "public domain", "sunspots", _sunspots),
    )
}


@dataclass(frozen=True)
class Param:
    """One parameter of a synthetic generator: its default and its range (or choices)."""

    name: str
    default: float | int | str
    help: str
    low: float = 0.0
    high: float = 1e6
    choices: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Generator:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    make: Callable[..., np.ndarray]

    def values(self, given: dict) -> dict:
        """The generator's parameters: defaults, overridden by `given` (checked)."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise DataError(f"the {self.name} generator has no parameter {', '.join(map(repr, unknown))}; "
                            f"its parameters are {', '.join(known)}")
        out = {}
        for p in self.params:
            value = given.get(p.name, p.default)
            if p.choices:
                if value not in p.choices:
                    raise DataError(f"{self.name} parameter {p.name!r} must be one of {', '.join(p.choices)}")
            elif not isinstance(value, (int, float)) or not p.low <= value <= p.high:
                raise DataError(f"{self.name} parameter {p.name!r} must be a number from {p.low:g} to {p.high:g}, "
                                f"got {value!r}")
            out[p.name] = int(value) if isinstance(p.default, int) and not p.choices else value
        return out


POINTS = Param("points", 1000, "How many time steps to generate.", 10, 2_000_000, label="Points")
SEED = Param("seed", 0, "The random seed of the noise.", 0, 2**31 - 1, label="Random seed")


def _sine(points, period, amplitude, noise, wave, seed) -> np.ndarray:
    t = np.arange(points, dtype=np.float64)
    clean = (np.sin if wave == "sine" else np.cos)(2 * np.pi * t / period) * amplitude
    return clean + np.random.default_rng(seed).normal(0, noise, points)


def _random_walk(points, start, drift, volatility, seed) -> np.ndarray:
    steps = np.random.default_rng(seed).normal(drift, volatility, points)
    steps[0] = 0.0
    return start + np.cumsum(steps)


def _seasonal(points, level, trend, period1, amplitude1, period2, amplitude2, noise, seed) -> np.ndarray:
    t = np.arange(points, dtype=np.float64)
    return (level + trend * t + amplitude1 * np.sin(2 * np.pi * t / period1)
            + amplitude2 * np.sin(2 * np.pi * t / period2) + np.random.default_rng(seed).normal(0, noise, points))


def _waves(points, step, x0) -> pd.DataFrame:
    x = x0 + step * np.arange(points, dtype=np.float64)
    return pd.DataFrame({"x": x, "sin": np.sin(x), "cos": np.cos(x), "sign": (np.cos(4 * x) < 0).astype(np.int64)})


def _letters(points, letters) -> pd.DataFrame:
    names = "abcdefghijklmnopqrstuvwxyz"[:letters]
    index = np.arange(points) % letters
    frame = pd.DataFrame({"letter": index})
    for i, name in enumerate(names):
        frame[name] = (index == i).astype(np.float64)
    frame.attrs["class_names"] = list(names)
    return frame


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("sine", "Sine wave with noise", "A sine (or cosine) wave plus Gaussian noise, one step per day.",
                  (POINTS, Param("period", 50.0, "Steps per full cycle.", 2, 100_000, label="Period (steps per cycle)"),
                   Param("amplitude", 1.0, "Height of the wave.", 0, 1e6, label="Amplitude"),
                   Param("noise", 0.1, "Standard deviation of the added noise.", 0, 1e6, label="Noise (std)"),
                   Param("wave", "sine", "Sine starts at 0, cosine at its peak.", choices=("sine", "cosine"), label="Wave"), SEED),
                  _sine),
        Generator("random_walk", "Random walk", "Each step adds a random normal move: the hardest series to beat "
                  "persistence on, because tomorrow's best guess really is today.",
                  (POINTS, Param("start", 100.0, "The first value.", -1e6, 1e6, label="Start value"),
                   Param("drift", 0.0, "Mean move per step.", -1e3, 1e3, label="Drift per step"),
                   Param("volatility", 1.0, "Standard deviation of a move.", 0, 1e3, label="Volatility (std per step)"), SEED),
                  _random_walk),
        Generator("seasonal", "Trend plus two seasonalities", "A linear trend, a short cycle (weekly) and a long "
                  "cycle (yearly) plus noise, one step per day.",
                  (Param("points", 1095, "How many time steps to generate.", 10, 2_000_000, label="Points"),
                   Param("level", 50.0, "The starting level.", -1e6, 1e6, label="Starting level"),
                   Param("trend", 0.02, "Change of the level per step.", -1e3, 1e3, label="Trend per step"),
                   Param("period1", 7.0, "Steps per short cycle.", 2, 100_000, label="Short period (steps)"),
                   Param("amplitude1", 2.0, "Height of the short cycle.", 0, 1e6, label="Short amplitude"),
                   Param("noise", 1.0, "Standard deviation of the noise.", 0, 1e6, label="Noise (std)"),
                   Param("period2", 365.25, "Steps per long cycle.", 2, 100_000, label="Long period (steps)"),
                   Param("amplitude2", 10.0, "Height of the long cycle.", 0, 1e6, label="Long amplitude"),
                   SEED),
                  _seasonal),
        Generator("waves", "x, sin(x), cos(x) and a class label",
                  "x grows by a fixed step; the columns are x, sin(x), cos(x) and sign, which is 1 where "
                  "cos(4x) < 0 and 0 elsewhere (a class label). For mapping one wave to another and for labelling "
                  "steps.",
                  (Param("points", 3000, "How many time steps to generate.", 10, 2_000_000, label="Points"),
                   Param("step", 0.05, "How much x grows per step.", 1e-4, 100, label="Step of x"),
                   Param("x0", 0.0, "The first x. Start at 3000 to see what unscaled inputs do.", -1e6, 1e6,
                         label="First x")),
                  _waves),
        Generator("letters", "Letters in a cycle", "The first N letters of the alphabet over and over "
                  "(a, b, c, d, e, a, ...): the column letter holds each letter's index, and one 0/1 column per "
                  "letter (one-hot).",
                  (Param("points", 500, "How many letters to generate.", 10, 1_000_000, label="Points"),
                   Param("letters", 5, "How many letters the cycle has.", 2, 26, label="Letters in the cycle")),
                  _letters),
    )
}


def load(spec: DataSpec, require_columns: bool = True, csv_root: str | Path | None = None) -> pd.DataFrame:
    """Load the series a DataSpec names.

    Args:
        require_columns: check that the target and feature columns exist and are numeric.
        csv_root: read a CSV only from inside this folder (the app passes its upload folder, so no
            spec, whatever route it came by, can make the server read another file); None reads
            any path (the command line, where the user names their own files).

    Returns:
        A DataFrame with a DatetimeIndex sorted oldest first, trimmed to spec.start/spec.end.
        `frame.attrs["notes"]` lists what was fixed or guessed on the way (CSV and tickers).
    """
    if spec.source == "builtin":
        frame = load_builtin(spec.name or "")
    elif spec.source == "synthetic":
        frame = load_synthetic(spec.name or "", spec.params)
    elif spec.source == "csv":
        if csv_root is not None:
            check_csv_path(spec.path, csv_root)
        frame = load_csv(spec.path or "", spec.date_column)
    elif spec.source == "ticker":
        frame = load_ticker(spec.ticker or "", spec.start, spec.end, spec.interval, spec.period)
    else:
        raise DataError(f"unknown data source {spec.source!r}; use builtin, synthetic, ticker or csv")
    attrs = dict(frame.attrs)
    frame = _trim(frame, spec.start, spec.end)
    frame.attrs = attrs
    if frame.empty:
        raise DataError(f"no rows between {spec.start or 'the start'} and {spec.end or 'the end'}; widen the dates")
    if require_columns:
        check_columns(frame, [spec.target, *spec.features])
    return frame


def check_csv_path(path: str | None, root: str | Path) -> Path:
    """The CSV path if it lies inside `root` (symlinks and `..` resolved), else DataError.

    The app reads CSV files only from its upload folder: a link, an imported spec or a bundle
    that names /etc/passwd must not get the server to read, chart or describe it.
    """
    text = path or ""
    if "\x00" in text:
        raise DataError("the CSV path contains a null byte; upload the file on the Data page")
    resolved = Path(text).resolve()
    if not text or not resolved.is_relative_to(Path(root).resolve()):
        raise DataError(f"{text!r} is not a file uploaded to this app; RNN Lab reads only CSV files uploaded "
                        "here. Upload it on the Data page")
    return resolved


def uploads_dir() -> Path:
    """Where the app keeps uploaded CSV files (next to the ticker cache), so a run's spec.data.path
    can be read again; the only folder the app reads CSV files from."""
    return tickers.cache_dir().parent / "uploads"


def check_outside_spec(spec, root: str | Path | None = None):
    """A spec that came from outside (a link, an imported file, a bundle) may name a CSV only if it
    was uploaded to this app (`root`, default uploads_dir()): otherwise a link could make the
    server read any file it can see. Returns the spec; raises SpecError naming data.path."""
    from .spec import SpecError

    if spec.data.source == "csv" or spec.data.path:
        try:
            check_csv_path(spec.data.path, root or uploads_dir())
        except DataError as exc:
            raise SpecError("data.path", str(exc)) from None
    return spec


def load_builtin(name: str) -> pd.DataFrame:
    if name not in BUILTINS:
        raise DataError(f"there is no built-in dataset called {name!r}; choose one of {', '.join(BUILTINS)}")
    frame = BUILTINS[name].loader()
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame.sort_index()


def load_synthetic(name: str, params: dict) -> pd.DataFrame:
    """A generated series (the column "value", or the generator's columns), one row per day from 2000-01-01."""
    if name not in GENERATORS:
        raise DataError(f"there is no generator called {name!r}; choose one of {', '.join(GENERATORS)}")
    values = GENERATORS[name].make(**GENERATORS[name].values(params))
    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame({"value": values})
    frame.index = pd.date_range("2000-01-01", periods=len(frame), freq="D", name="date")
    return frame


def load_csv(path: str | Path, date_column: str | None = None) -> pd.DataFrame:
    """Read a CSV with a date column into a date-indexed frame (see core.csvfile)."""
    return csvfile.read_path(path, date_column)


def load_ticker(ticker: str, start: str | None, end: str | None, interval: str = "1d",
                period: str | None = None) -> pd.DataFrame:
    """A ticker's bars from Yahoo Finance or the disk cache (see core.tickers)."""
    return tickers.load(ticker, start, end, interval, period)


def _trim(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.DataFrame:
    try:
        return frame.loc[pd.Timestamp(start) if start else None: pd.Timestamp(end) if end else None]
    except (TypeError, ValueError):
        raise DataError(f"data.start/data.end must be dates like 2015-01-31, got {start!r} and {end!r}") from None


def check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise DataError naming any column that is missing or not numeric."""
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise DataError(f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} not in the data; "
                        f"available columns: {', '.join(map(str, frame.columns))}")
    bad = [c for c in dict.fromkeys(columns) if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise DataError(f"column{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))} "
                        "must hold numbers; pick numeric target and feature columns")


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]


def missing_counts(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """{column: number of missing values} for the given columns."""
    return {c: int(frame[c].isna().sum()) for c in dict.fromkeys(columns) if c in frame.columns}


def default_target(frame: pd.DataFrame) -> str | None:
    """The column a person most likely wants to predict: a close/price/value column, else the last number."""
    numeric = numeric_columns(frame)
    for word in ("close", "price", "value", "收盘"):
        for column in numeric:
            if word in column.lower() and "adj" not in column.lower():
                return column
    return numeric[-1] if numeric else None
