"""Built-in datasets: real series that ship inside installed packages, so they load offline."""
from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from .base import Source


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


def load_builtin(name: str) -> pd.DataFrame:
    if name not in BUILTINS:
        raise DataError(f"there is no built-in dataset called {name!r}; choose one of {', '.join(BUILTINS)}")
    frame = BUILTINS[name].loader()
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame.sort_index()


def _check(d) -> None:
    if not d.name:
        raise SpecError("data.name", "pick a built-in dataset, e.g. \"sp500\"")


def _title(d) -> str:
    return BUILTINS[d.name].title if d.name in BUILTINS else str(d.name)


def _target(d) -> str | None:
    return BUILTINS[d.name].target if d.name in BUILTINS else None


SOURCE = Source(
    name="builtin", label="Built-in", fields=("name",), defaults={"name": "sp500"},
    load=lambda d, csv_root=None: load_builtin(d.name or ""), check=_check, title=_title, target=_target,
    dated=lambda d: d.name not in ("digits", "mnist"))  # image rows have made-up dates, a day per row
