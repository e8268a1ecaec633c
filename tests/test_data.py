import numpy as np
import pandas as pd
import pytest

from core import data
from core.data import DataError
from core.spec import DataSpec


def test_builtin_sp500_loads_offline_sorted_by_date():
    frame = data.load(DataSpec())
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.is_monotonic_increasing
    assert len(frame) == 5031
    assert {"Open", "High", "Low", "Close", "Volume"} <= set(frame.columns)
    assert frame.index[0] == pd.Timestamp("1999-01-04")


def test_every_builtin_loads_offline_with_its_target_source_and_license():
    frequencies = set()
    for builtin in data.BUILTINS.values():
        assert builtin.source and builtin.license and builtin.description
        if builtin.name == "mnist" and not data.mnist_path().exists():
            continue  # loads only from the Keras cache (see the test below)
        frame = data.load(DataSpec(name=builtin.name, target=builtin.target, features=[builtin.target]))
        assert frame.index.is_monotonic_increasing and not frame.index.has_duplicates
        assert len(frame) > 300 and frame[builtin.target].notna().mean() > 0.95
        frequencies.add(builtin.frequency)
    assert len(data.BUILTINS) >= 5 and len(frequencies) >= 5  # real series of different kinds


def test_mnist_says_it_is_not_cached_and_points_to_the_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError, match="not cached.*\"digits\""):
        data.load(DataSpec(name="mnist", target="digit", features=["px0"]))
    rng = np.random.default_rng(0)
    (tmp_path / "datasets").mkdir()
    np.savez(tmp_path / "datasets" / "mnist.npz", x_train=rng.integers(0, 255, (20, 28, 28)),
             y_train=np.arange(20) % 10, x_test=rng.integers(0, 255, (5, 28, 28)), y_test=np.arange(5))
    frame = data.load(DataSpec(name="mnist", target="digit", features=["px0"]))
    assert frame.shape == (25 * 28, 29) and frame["digit"].iloc[28] == 1


def test_synthetic_generators_take_parameters():
    sine = data.load(DataSpec(source="synthetic", name="sine", target="value", features=["value"],
                              params={"points": 400, "period": 100, "noise": 0, "amplitude": 2}))
    assert len(sine) == 400
    np.testing.assert_allclose(sine["value"].to_numpy()[:3], 2 * np.sin(2 * np.pi * np.arange(3) / 100))
    cosine = data.load_synthetic("sine", {"wave": "cosine", "noise": 0})
    assert cosine["value"].iloc[0] == 1.0
    walk = data.load_synthetic("random_walk", {"points": 50, "start": 10, "volatility": 0})
    assert walk["value"].tolist() == [10.0] * 50
    seasonal = data.load_synthetic("seasonal", {"points": 30, "noise": 0, "amplitude1": 0, "amplitude2": 0,
                                                "trend": 1, "level": 0})
    assert seasonal["value"].tolist() == list(range(30))


def test_synthetic_generator_rejects_unknown_or_out_of_range_parameters():
    with pytest.raises(DataError, match="no parameter 'speed'.*points"):
        data.load_synthetic("sine", {"speed": 3})
    with pytest.raises(DataError, match="'noise' must be a number"):
        data.load_synthetic("sine", {"noise": -1})
    with pytest.raises(DataError, match="random_walk"):
        data.load_synthetic("brownian", {})


def test_default_target_prefers_a_close_or_price_column():
    frame = pd.DataFrame({"open": [1.0], "Adj Close": [1.0], "close": [2.0], "code": ["x"]})
    assert data.default_target(frame) == "close"
    assert data.default_target(pd.DataFrame({"a": [1.0], "b": [2]})) == "b"


def test_start_and_end_trim():
    frame = data.load(DataSpec(start="2018-01-01", end="2018-06-30"))
    assert frame.index.min() >= pd.Timestamp("2018-01-01") and frame.index.max() <= pd.Timestamp("2018-06-30")
    assert 100 < len(frame) < 130


def test_bad_date_range_is_a_data_error():
    with pytest.raises(DataError, match="data.start"):
        data.load(DataSpec(start="last tuesday"))


def test_unknown_builtin_lists_the_choices():
    with pytest.raises(DataError, match="sp500"):
        data.load(DataSpec(name="ftse"))


def test_missing_column_is_named_with_the_available_ones():
    with pytest.raises(DataError) as err:
        data.load(DataSpec(target="Price"))
    assert "'Price'" in str(err.value) and "Close" in str(err.value)


def test_require_columns_false_skips_the_column_check():
    assert "Close" in data.load(DataSpec(target="Price"), require_columns=False)


def test_csv_sorted_by_date_and_index_column_dropped(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(",date,close\n0,2020-01-03,3\n1,2020-01-02,2\n2,2020-01-01,1\n")
    frame = data.load_csv(path)
    assert list(frame.columns) == ["close"]
    assert frame["close"].tolist() == [1, 2, 3]
    assert frame.index.is_monotonic_increasing


def test_csv_date_column_override(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("when,value\n2020-01-01,1\n2020-01-02,2\n")
    assert data.load_csv(path, date_column="when")["value"].tolist() == [1, 2]


def test_csv_without_dates_says_what_to_set(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="data.date_column"):
        data.load_csv(path)


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match="no file"):
        data.load(DataSpec(source="csv", path=str(tmp_path / "nope.csv")))


def test_broken_csv_is_a_data_error(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"date,close\n2020-01-01,1\n\xff\xfe\x00\x81\x82,\"unterminated\n")
    with pytest.raises(DataError, match="broken.csv"):
        data.load_csv(path)


def test_csv_dates_with_utc_offsets(tmp_path):
    path = tmp_path / "offsets.csv"
    path.write_text("date,close\n2020-01-02T09:30:00+08:00,2\n2020-01-01T09:30:00-05:00,1\n")
    frame = data.load_csv(path)
    assert frame["close"].tolist() == [1, 2] and frame.index.tz is None


def test_the_default_series_loads_without_importing_arch():
    """A fresh server's first page loads sp500: importing arch (and with it scipy and statsmodels)
    cost about a CPU-second there, so the file is read directly; the frame is arch's own."""
    import subprocess
    import sys

    code = ("import sys; from core import data; from core.spec import ExperimentSpec; "
            "f = data.load(ExperimentSpec().data); assert len(f) == 5031 and 'Close' in f, f.shape; "
            "print(sorted(m for m in ('arch', 'statsmodels', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
