"""core/model_size.py counts the layer table from the spec; it must match Keras's own, row for row."""
import itertools

import pytest

from core import model_size, models
from core.spec import ExperimentSpec

CASES = [
    *({"model": {"cell": cell, "mode": mode, "bidirectional": bi, "units": units, "dropout": 0.2 * bi},
       "window": {"horizon": 3 if mode in ("direct", "seq2seq") else 1}}
      for (cell, bi, units), mode in itertools.product(  # every cell, mode, direction and depth, not all at once
          (("SimpleRNN", False, [8]), ("LSTM", True, [6, 4]), ("GRU", True, [8]), ("GRU", False, [6, 4])),
          ("many_to_one", "direct", "many_to_many", "seq2seq"))),
    {"model": {"mode": "stateful", "units": [5, 3]}, "train": {"batch_size": 16}},
    {"model": {"mode": "autoencoder", "units": [7]}, "window": {"horizon": 0}},
    {"model": {"head_units": 9, "recurrent_dropout": 0.1, "input_dense": 4}},
    {"model": {"task": "classification", "mode": "many_to_many"}, "train": {"loss": "crossentropy"}},
    {"model": {"embedding_dim": 3, "task": "classification", "cell": "GRU"}, "train": {"loss": "crossentropy"},
     "data": {"scaler": "none"}},
]


@pytest.mark.parametrize("raw", CASES, ids=lambda r: "-".join(f"{v}" for v in r["model"].values()))
def test_the_counted_table_equals_keras(raw):
    spec = ExperimentSpec.from_dict({**raw, "window": {"length": 12, **raw.get("window", {})}})
    features = 1 if spec.model.embedding_dim else 2
    classes, vocab = 4 if spec.model.task == "classification" else 0, 6
    net = models.build(spec.model, spec.train, (12, features), spec.window.horizon, classes, vocab)
    assert model_size.table(spec, (12, features), classes, vocab) == models.layer_table(net)
    assert sum(r["parameters"] for r in model_size.table(spec, (12, features), classes, vocab)) == net.count_params()
