"""Synthetic series: generators with parameters (sine, random walk, seasonal, waves, letters)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from .base import Source


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


def load_synthetic(name: str, params: dict) -> pd.DataFrame:
    """A generated series (the column "value", or the generator's columns), one row per day from 2000-01-01."""
    if name not in GENERATORS:
        raise DataError(f"there is no generator called {name!r}; choose one of {', '.join(GENERATORS)}")
    values = GENERATORS[name].make(**GENERATORS[name].values(params))
    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame({"value": values})
    frame.index = pd.date_range("2000-01-01", periods=len(frame), freq="D", name="date")
    return frame


def _check(d) -> None:
    if not d.name:
        raise SpecError("data.name", "pick a generator, e.g. \"sine\"")


def _title(d) -> str:
    return f"{GENERATORS[d.name].title} (synthetic)" if d.name in GENERATORS else str(d.name)


SOURCE = Source(
    name="synthetic", label="Synthetic", fields=("name", "params"), defaults={"name": "sine"},
    load=lambda d, csv_root=None: load_synthetic(d.name or "", d.params), check=_check, title=_title,
    dated=lambda d: False)  # a generated series has made-up dates, a day per step from 2000-01-01
