"""Presets: the classic RNN tutorials as specs, one click (or one command) each.

    python -m core presets                       # list them
    python -m core train --preset stock-lstm-60  # run one, with overrides such as --epochs 2

Each preset is a plain spec (see core/spec.py) plus a few sentences on what it shows and where it
comes from. Only settings that differ from the defaults are written out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import data
from .spec import LOOKAHEAD, ExperimentSpec, SpecError


@dataclass(frozen=True)
class Preset:
    """A tutorial as a spec.

    Attributes:
        name: the command-line name, e.g. "stock-lstm-60".
        title: a short title for people.
        shows: a few sentences on what it demonstrates.
        origin: the tutorial it reproduces.
        spec: the spec's sections that differ from the defaults.
        report: the metrics the tutorial reports (keys of metrics.json's "test").
        expect: one line on what a default run shows, measured (bench/presets.py), so a presenter
            knows before the audience does, e.g. that a flat line is the lesson, not a bug.
    """

    name: str
    title: str
    shows: str
    origin: str
    spec: dict[str, Any] = field(default_factory=dict)
    report: tuple[str, ...] = ("rmse", "mae")  # classification presets report ("accuracy",)
    expect: str = ""

    def experiment(self) -> ExperimentSpec:
        return ExperimentSpec.from_dict(self.spec)


def _stock(cell: str) -> Preset:
    return Preset(
        f"stock-{cell.lower()}-60", f"Stock price, 60-day window, {cell}",
        f"The previous 60 days of the opening price predict the next day's, with a two-layer {cell} "
        "(80 then 100 units, dropout 0.2 after each). The last 300 days are the test segment; min-max scaling is "
        "fitted on the training rows only. Compare the three cells, and persistence, on the same test days. On raw "
        "prices the test days lie above every training price (scaled values above 1), so the network has to "
        "extrapolate and usually trails persistence: that is the tutorial's hidden lesson. Try the diff transform.",
        "a well-known TensorFlow 2 course (stock prediction with SimpleRNN, LSTM and GRU)",
        {"data": {"source": "builtin", "name": "sp500", "target": "Open", "features": ["Open"], "scaler": "minmax"},
         "window": {"length": 60, "horizon": 1},
         "split": {"val": 0.1, "test": 300},
         "model": {"cell": cell, "units": [80, 100], "dropout": 0.2},
         "train": {"optimizer": "adam", "learning_rate": 0.001, "loss": "mse", "batch_size": 64, "epochs": 50}},
        report=("mse", "rmse", "mae"),
        expect="the prediction follows the test prices' shape but runs below them, and its test RMSE is about twice "
               "persistence's (LSTM 61 against 26): the test days lie above the training range, so this is the "
               "lesson, not a bug. The diff transform fixes it.",
    )



def _waves(features: list[str], target: str, task: str, title: str, shows: str, origin: str, report) -> dict:
    classify = task == "classification"
    return {"data": {"source": "synthetic", "name": "waves", "params": {"points": 3000, "step": 0.05},
                     "target": target, "features": features, "scaler": "none"},
            "window": {"length": 20, "horizon": 0},
            "model": {"cell": "LSTM", "units": [10], "mode": "many_to_many", "input_dense": 10, "task": task},
            "train": {"optimizer": "adam", "learning_rate": 0.006, "batch_size": 50, "epochs": 30,
                      "loss": "crossentropy" if classify else "mse"}}


def _letters(length: int, embedding: bool) -> dict:
    return {"data": {"source": "synthetic", "name": "letters", "params": {"points": 500, "letters": 5},
                     "target": "letter", "features": ["letter"] if embedding else list("abcde"), "scaler": "none"},
            "window": {"length": length, "horizon": 1},
            "split": {"val": 0.15, "test": 0.15},
            "model": {"cell": "SimpleRNN", "units": [3], "task": "classification", "embedding_dim": 2 if embedding else 0},
            "train": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 60, "loss": "crossentropy"}}


def _image_rows() -> Preset:
    mnist = data.mnist_path().exists()
    name, side = ("mnist", 28) if mnist else ("digits", 8)
    what = "28x28 MNIST digits (cached on this machine)" if mnist else "scikit-learn's 8x8 handwritten digits (offline)"
    return Preset(
        "image-rows", "Digits read row by row",
        f"An LSTM(100) reads each image of {what} one row per time step ({side} steps of {side} pixels) and a "
        "softmax picks the digit. Watch the accuracy per epoch, the confusion matrix, and one digit with the hidden "
        "activations row by row: the state settles on its answer as the rows come in. The test images are the last "
        "20% of the dataset, written by other people than most training images.",
        "the Keras/TensorFlow MNIST-with-an-RNN tutorial (91.7% test accuracy on MNIST after 6 epochs)",
        {"data": {"source": "builtin", "name": name, "target": "digit", "features": [f"px{i}" for i in range(side)],
                  "scaler": "minmax" if mnist else "none"},  # 8x8 pixels are 0..16 already
         "window": {"length": side, "horizon": 0},
         "split": {"val": 0.1, "test": 0.2},
         "model": {"cell": "LSTM", "units": [100], "task": "classification"},
         "train": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 32, "epochs": 10, "loss": "crossentropy"}},
        report=("accuracy",),
        expect="about 93% test accuracy on the 8x8 digits after 10 epochs (the majority class: 10%), a mostly "
               "diagonal confusion matrix, and a hidden state that settles in the last rows.",
    )


SINE_TO_COSINE = Preset(
    "sine-to-cosine", "Sine in, cosine out",
    "Windows of 20 steps of sin(x) predict cos(x) at every step (many-to-many): a Dense(10) projection of each step, "
    "an LSTM(10) that returns its whole sequence, and a Dense read-out per step. The prediction chart redraws as it "
    "learns, the classic fitting animation. Note the linear AR baseline: cos(x) is an exact linear function of the "
    "last two sine values, so a least-squares fit on the window gets it (almost) perfectly, and the LSTM has to "
    "find that. Turn on 'unscaled x from 3000' to also feed x itself, starting at 3000 "
    "and unscaled: the projection and the LSTM's tanh saturate and training stalls (set the scaler to min-max to fix "
    "it).",
    "the classic TensorFlow/Keras LSTM regression tutorial (sin -> cos, TIME_STEPS 20, BATCH_SIZE 50, LR 0.006)",
    _waves(["sin"], "cos", "regression", "", "", "", ()),
    report=("mse", "rmse", "mae"),
    expect="the loss drops within a few epochs and the prediction settles onto the cosine (test RMSE about 0.05, "
           "the training mean's 0.70; linear AR is exact). With 'Unscaled x from 3000' on: a flat loss and a flat "
           "line (RMSE about 0.70).",
)

PRESETS: dict[str, Preset] = {p.name: p for p in (
    SINE_TO_COSINE,
    Preset(
        "wave-sign", "Label the sign of a faster wave",
        "Every step of a 20-step window of sin(x) is labelled 1 where cos(4x) < 0, else 0: classification at every "
        "step (many-to-many). The network must work out the phase from the window, then quadruple it. Watch the "
        "accuracy climb live, and the predictions coloured by class.",
        "many-to-many LSTM sequence classification tutorials",
        _waves(["sin"], "sign", "classification", "", "", "", ()),
        report=("accuracy",),
        expect="accuracy climbs to about 99% (the majority class scores 49%), and the wave's colours switch every "
               "eighth of a sine period, where cos(4x) changes sign.",
    ),
    Preset(
        "next-letter-1", "Next letter from one letter",
        "The letters a b c d e a b ... one-hot encoded; one letter of context predicts the next with a SimpleRNN(3) and "
        "a Dense(5, softmax). Type letters to see the prediction, its probabilities and the hidden state.",
        "the classic next-character SimpleRNN tutorial", _letters(1, False), report=("accuracy",),
        expect="100% test accuracy (the majority class: 20%): the cycle is fixed, so one letter says the next; "
               "typing 'c' predicts 'd'."),
    Preset(
        "next-letter-4", "Next letter from four letters",
        "The same cycle with 4 letters of context: the SimpleRNN(3) reads four one-hot letters in turn and its last "
        "hidden state predicts the fifth. Type letters to watch the hidden state move through the cycle.",
        "the classic next-character SimpleRNN tutorial", _letters(4, False), report=("accuracy",),
        expect="100% test accuracy, as with one letter (the cycle needs no more context); the hidden state takes "
               "a different corner for each letter as you type."),
    Preset(
        "next-letter-embedding", "Next letter with an embedding",
        "Letters go in as whole-number tokens; an Embedding(5, 2) learns a 2-number vector for each, then the "
        "SimpleRNN(3) and Dense(5, softmax) predict the next letter from 4 letters of context.",
        "the classic next-character tutorial, embedding variant", _letters(4, True), report=("accuracy",),
        expect="100% test accuracy, the same as one-hot letters: two learned numbers per letter are enough for "
               "five letters."),
    *(_stock(cell) for cell in ("SimpleRNN", "LSTM", "GRU")),
    Preset(
        "stock-stacked-lstm", "Stock price, stacked LSTM",
        "Two stacked LSTMs (50 then 100 units, dropout 0.2 after each) read 60 days of closing prices, trained "
        "with RMSprop. The tutorial reports MAE; here it sits next to persistence's, which it trails by far: the test "
        "prices lie above the training range.",
        "the classic stacked-LSTM stock tutorial (Keras)",
        {"data": {"source": "builtin", "name": "sp500", "target": "Close", "features": ["Close"], "scaler": "minmax"},
         "window": {"length": 60},
         "model": {"cell": "LSTM", "units": [50, 100], "dropout": 0.2},
         "train": {"optimizer": "rmsprop", "learning_rate": 0.001, "batch_size": 64, "epochs": 50}},
        report=("mae",),
        expect="a prediction below the test prices, with a test MAE about 7 times persistence's (93 against 13): "
               "the same extrapolation lesson as the 60-day presets.",
    ),
    Preset(
        "stock-multifeature", "Stock price from seven inputs",
        "Seven daily inputs (open, close, low, high, volume, money, change) predict the next day's high at every step "
        "of a 15-day window: a Dense(10) projection, an LSTM(10) many-to-many and a Dense read-out, Adam 0.0006, "
        "scored by the mean absolute percentage deviation. Each input is its percent change from the day before, "
        "z-scored on the training rows: on raw prices the test days lie above every training price, and the "
        "network's tanh cannot reach them (a flat line at about 1600 under a truth of 2000-2900). The toggle "
        "'Tutorial's look-ahead' reproduces the tutorial's close curve, and shows where it came from. The built-in "
        "S&P 500 has no money or change column, so it uses Open, Close, Low, High and Volume and predicts the next "
        "day's High; an uploaded CSV with index_code, date, open, close, low, high, volume, money, change and label "
        "uses all seven and predicts label.",
        "a well-known multi-feature LSTM stock tutorial (TensorFlow)",
        {"data": {"source": "builtin", "name": "sp500", "target": "High",
                  "features": ["Open", "Close", "Low", "High", "Volume"], "transform": "pct", "scaler": "standard"},
         "window": {"length": 15, "horizon": 1},
         "model": {"cell": "LSTM", "units": [10], "mode": "many_to_many", "input_dense": 10},
         "train": {"optimizer": "adam", "learning_rate": 0.0006, "batch_size": 64, "epochs": 30}},
        report=("mape", "rmse"),
        expect="a prediction on top of the test prices, with a test RMSE about 20% under persistence's (12.5 against "
               "15.7; MAPE 0.37% against 0.43%). With the look-ahead toggle: a curve that still looks close (MAPE "
               "0.6%) but errs twice as much as persistence (RMSE 30), on a scale it was never allowed to know.",
    ),
    _image_rows(),
    Preset(
        "one-to-many", "One value in, a sequence out",
        "One step of a noisy sine goes in; an LSTM encodes it, RepeatVector(10) copies that state 10 times and a "
        "decoder LSTM with a TimeDistributed Dense unrolls the next 10 values: one-to-many. A single value cannot "
        "tell rising from falling, so watch where it hedges.",
        "the Keras LSTM shape questions: one-to-many with RepeatVector",
        {"data": {"source": "synthetic", "name": "sine", "target": "value", "features": ["value"],
                  "params": {"points": 1500, "period": 50.0, "noise": 0.05}},
         "window": {"length": 1, "horizon": 10},
         "model": {"cell": "LSTM", "units": [32], "mode": "seq2seq"},
         "train": {"epochs": 20, "batch_size": 32}},
        expect="a test RMSE about 0.68 against persistence's 0.83: better than repeating the value, yet far from "
               "the curve, because from one value the rise and the fall look the same.",
    ),
    Preset(
        "sequence-autoencoder", "Sequence autoencoder",
        "An encoder LSTM reads a 30-step window of a noisy sine into one state of 16 numbers; RepeatVector(30) and a "
        "decoder LSTM with a TimeDistributed Dense rebuild the window from it. The reconstruction error per window "
        "shows which stretches it cannot explain (the idea behind anomaly detection); the baseline rebuilds each "
        "window as a flat line at its mean.",
        "the Keras LSTM shape questions: a sequence-to-sequence autoencoder",
        {"data": {"source": "synthetic", "name": "sine", "target": "value", "features": ["value"],
                  "params": {"points": 1500, "period": 40.0, "noise": 0.1}},
         "window": {"length": 30, "horizon": 0},
         "model": {"cell": "LSTM", "units": [16], "mode": "autoencoder"},
         "train": {"epochs": 20, "batch_size": 32}},
        expect="a reconstruction RMSE about 0.12 against the window mean's 0.87: the rebuilt windows follow the "
               "sine and leave out most of the noise.",
    ),
    Preset(
        "stateful-lstm", "Stateful LSTM over consecutive batches",
        "A stateful LSTM keeps its state from one batch to the next over consecutive, unshuffled windows, so its "
        "memory reaches past one window; states are reset every epoch and before evaluation (reset_states).",
        "the Keras stateful LSTM example",
        {"data": {"source": "builtin", "name": "sp500", "start": "2014-01-01", "target": "Close",
                  "features": ["Close"], "transform": "diff"},
         "window": {"length": 10},
         "model": {"cell": "LSTM", "units": [20], "mode": "stateful"},
         "train": {"batch_size": 16, "epochs": 20}},
        expect="a test RMSE level with persistence's (about 27 both): daily changes of the index are close to a "
               "random walk, and memory across batches does not change that.",
    ),
)}
"""The presets in the order a presentation walks through them: waves, letters, prices, images, shapes."""


def unscaled(spec: ExperimentSpec) -> ExperimentSpec:
    """sine-to-cosine's toggle: also feed x itself, starting at 3000, unscaled."""
    params = {**spec.data.params, "x0": 3000.0}
    return spec.replace(data={"params": params, "features": ["x", *[f for f in spec.data.features if f != "x"]]})


def lookahead(spec: ExperimentSpec) -> ExperimentSpec:
    """stock-multifeature's toggle, the tutorial's own setup and its leak: raw prices, and the validation and
    test periods each standardised with their own mean and std (data.scaler "standard-lookahead"), so the
    network is handed the level of the future it predicts. Measured, 30 epochs on the S&P 500: RMSE 955 with
    raw prices scaled honestly (a flat line), 30 with the leak, 12.5 with percent changes, persistence 15.7."""
    return spec.replace(data={"transform": "raw", "scaler": LOOKAHEAD})


def on_csv(spec: ExperimentSpec, path: str, columns: list[str]) -> tuple[ExperimentSpec, str]:
    """The preset on an uploaded CSV: its columns matched by name, ignoring case (Open = open).

    Returns (spec, note). Inputs the CSV lacks are dropped and the note says which; a CSV with
    a "label" column gives stock-multifeature its original target (label = the next day's high, so
    the horizon becomes 0). Raises SpecError when the target or every input is missing.
    """
    by_name = {c.lower(): c for c in columns}
    wanted = {"money": "money", "change": "change"} if "label" in by_name else {}
    features = list(spec.data.features) + [w for w in wanted if w not in {f.lower() for f in spec.data.features}]
    target, horizon = spec.data.target, spec.window.horizon
    if "label" in by_name and spec.model.mode == "many_to_many" and len(spec.data.features) > 1:
        target, horizon = "label", 0
    found = [by_name[f.lower()] for f in features if f.lower() in by_name]
    missing = [f for f in features if f.lower() not in by_name]
    if target.lower() not in by_name:
        raise SpecError("data.target", f"the CSV has no {target!r} column (any case); its columns: {', '.join(columns)}")
    if not found:
        raise SpecError("data.features", f"the CSV has none of the inputs {', '.join(features)}")
    transform = asked_transform = spec.data.transform
    if horizon == 0 and transform not in ("raw", "log"):  # spec.py: horizon 0 cannot be relative to the last step
        transform = "raw"
    spec = spec.replace(data={"source": "csv", "path": path, "name": None, "start": None, "end": None,
                              "target": by_name[target.lower()], "features": found, "transform": transform},
                        window={"horizon": horizon})
    note = f"inputs from the CSV: {', '.join(found)}; target {by_name[target.lower()]}"
    if missing:
        note += f" (the CSV has no {', '.join(missing)}, so those inputs are left out)"
    if horizon == 0 and transform != asked_transform:
        note += ("; raw prices, as label is predicted at the window's own steps, which a change from the day "
                 "before cannot express: if the test prices leave the training range, the line goes flat")
    return spec, note


def get(name: str) -> Preset:
    """The preset called `name`; SpecError listing the names when there is none."""
    if name not in PRESETS:
        raise SpecError("--preset", f"there is no preset {name!r}; choose one of {', '.join(PRESETS)} "
                                    "(python -m core presets lists them)")
    return PRESETS[name]
