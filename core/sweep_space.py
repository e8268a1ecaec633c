"""A sweep's search space: dotted spec fields mapped to ranges, checked against the base spec, and the
objective metric. See core/sweep.py for the format; core/sweep_storage.py keeps the study."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from . import cells
from .spec import ExperimentSpec, SpecError

METRICS = {"val_rmse": ("val", "rmse", "minimize"), "val_mae": ("val", "mae", "minimize"),
           "val_accuracy": ("val", "accuracy", "maximize")}
KINDS = ("choices", "int", "float")
MAX_DIMENSIONS, MAX_CHOICES, MAX_TRIALS = 20, 100, 10_000


class SweepError(ValueError):
    """A space or a sweep setting that cannot work; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Dimension:
    """One searched spec field.

    Attributes:
        field: the dotted spec field ("model.cell", "train.learning_rate").
        kind: "choices", "int" or "float".
        choices: the values of a "choices" dimension (any JSON: [32, 32] is one choice).
        low, high, step, log: the range of an "int" or "float" dimension.
    """

    field: str
    kind: str
    choices: tuple = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False

    def suggest(self, trial) -> Any:
        """This dimension's value for an Optuna trial (choices travel as JSON text: Optuna keeps
        only None, bool, int, float and str as categories)."""
        if self.kind == "choices":
            return json.loads(trial.suggest_categorical(self.field, [json.dumps(c) for c in self.choices]))
        if self.kind == "int":
            return trial.suggest_int(self.field, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.field, float(self.low), float(self.high), step=self.step, log=self.log)

    def extremes(self) -> list:
        """The values that decide whether this dimension can ever give a valid spec."""
        if self.kind == "choices":
            return list(self.choices)
        return [int(self.low), int(self.high)] if self.kind == "int" else [float(self.low), float(self.high)]


def apply(base: ExperimentSpec, params: dict[str, Any]) -> ExperimentSpec:
    """`base` with the dotted fields of `params` replaced, validated. Raises SpecError naming the field."""
    raw = base.to_dict()
    for dotted, value in params.items():
        section, name = dotted.split(".", 1)
        raw[section][name] = value
    return ExperimentSpec.from_dict(raw)


def parse_space(raw: Any, base: ExperimentSpec) -> list[Dimension]:
    """The space file's dict as dimensions, checked against `base` before any trial runs.

    Raises SweepError naming the field: an unknown field, a range that is not one, and a dimension
    none of whose values gives a valid spec (its choices, or the ends of its range, each applied to
    the base spec alone). A value that is valid alone but not with another sampled value is a failed
    trial with its reason, not a refusal.
    """
    if not isinstance(raw, dict) or not raw:
        raise SweepError("space", "must be a JSON object of dotted spec fields to ranges, e.g. "
                                  '{"model.cell": {"choices": ["LSTM", "GRU"]}}')
    if len(raw) > MAX_DIMENSIONS:
        raise SweepError("space", f"has {len(raw)} fields; at most {MAX_DIMENSIONS}")
    fields = base.to_dict()
    out = []
    for dotted, rng in raw.items():
        section, _, name = str(dotted).partition(".")
        if section not in fields or name not in fields[section]:
            known = ", ".join(f"{s}.{n}" for s in fields for n in fields[s])
            raise SweepError(str(dotted), f"is not a spec field; the fields are {known}")
        dim = _dimension(str(dotted), rng)
        valid, why = [], None
        for value in dim.extremes():
            try:
                apply(base, {dim.field: value})
                valid.append(value)
            except SpecError as exc:
                why = why or str(exc)
        if not valid:
            raise SweepError(dim.field, f"none of its values gives a valid spec ({why})")
        out.append(dim)
    return out


def _dimension(dotted: str, rng: Any) -> Dimension:
    kinds = [k for k in KINDS if isinstance(rng, dict) and k in rng]
    if len(kinds) != 1:
        raise SweepError(dotted, 'give one of {"choices": [...]}, {"int": [low, high]} or {"float": [low, high]}')
    kind = kinds[0]
    extra = set(rng) - {kind, "step", "log"}
    if extra:
        raise SweepError(dotted, f"unknown key(s) {', '.join(sorted(extra))}; a range takes step and log")
    if kind == "choices":
        choices = rng["choices"]
        if not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES:
            raise SweepError(dotted, f"choices must be a list of 1 to {MAX_CHOICES} values")
        if len({json.dumps(c, sort_keys=True) for c in choices}) != len(choices):
            raise SweepError(dotted, "choices must be distinct")
        return Dimension(dotted, kind, tuple(choices))
    bounds = rng[kind]
    number = int if kind == "int" else (int, float)
    if (not isinstance(bounds, list) or len(bounds) != 2 or
            not all(isinstance(b, number) and not isinstance(b, bool) for b in bounds)):
        raise SweepError(dotted, f'{kind} takes [low, high], two {"whole numbers" if kind == "int" else "numbers"}')
    low, high = bounds
    for end, value in (("low", low), ("high", high)):  # json reads NaN and Infinity; neither bounds a range
        if math.isnan(value):
            raise SweepError(dotted, f"{end} is NaN, which is not a number; give two finite numbers")
        if not math.isfinite(value):
            raise SweepError(dotted, f"{end} is {value}, which is not a finite number; give two finite numbers")
    if low > high:
        raise SweepError(dotted, f"[{low}, {high}] is not a range: low must not be above high")
    step, log = rng.get("step"), rng.get("log", False)
    if not isinstance(log, bool):
        raise SweepError(dotted, "log must be true or false")
    if step is not None and (isinstance(step, bool) or not isinstance(step, number) or not math.isfinite(step)
                             or step <= 0):
        raise SweepError(dotted, "step must be a positive finite number")
    if log and (low <= 0 or step is not None):
        raise SweepError(dotted, "a log range needs low above 0 and no step")
    return Dimension(dotted, kind, low=low, high=high, step=step, log=log)


def default_space(task: str = "regression") -> dict:
    """What the app offers first: the cell, the units, the window and the learning rate."""
    return {"model.cell": {"choices": list(cells.NAMES)},
            "model.units": {"choices": [[16], [32], [64], [32, 32]]},
            "window.length": {"int": [10, 60], "step": 10},
            "train.learning_rate": {"float": [1e-4, 1e-2], "log": True}}


def metric_for(spec: ExperimentSpec, metric: str | None) -> str:
    """The objective: `metric`, or val_accuracy for a classifier and val_rmse otherwise. Raises SweepError."""
    metric = metric or ("val_accuracy" if spec.model.task == "classification" else "val_rmse")
    if metric not in METRICS:
        raise SweepError("metric", f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    if (metric == "val_accuracy") != (spec.model.task == "classification"):
        raise SweepError("metric", f"{metric} does not fit a {spec.model.task} model; use "
                                   f"{'val_accuracy' if spec.model.task == 'classification' else 'val_rmse or val_mae'}")
    return metric


# -- storage and study ----------------------------------------------------------------------------
