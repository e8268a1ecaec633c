"""The layer table of a spec's model, counted from the spec, without Keras.

The Model and Presets pages show every layer's output shape and parameters. Building the model
to read them would import TensorFlow into the web server (3-5 s and about 560 MB); this module
follows core/models.build layer by layer and counts instead. A test checks every row against
`models.layer_table(models.build(...))` over all cells, modes and options.

The same count caps a spec's model before it is built (`check_parameters`): 4 x 1024 bidirectional
LSTM units with a 1024 head is 94.4 M parameters, and one epoch of it took 64 s and 4.6 GB.
The cap is the imported models' ($RNNLAB_MAX_MODEL_PARAMS, default 20 M, core/model_check.py), so a
model cannot be trained here that could not be imported, and the other way round.
"""
from __future__ import annotations

from . import cells, model_check
from .spec import ExperimentSpec, SpecError


def rnn_parameters(cell: str, inputs: int, units: int) -> int:
    """Weights of one recurrent layer as models.build makes it (Keras's defaults): the cell's count
    (core/cells/), e.g. LSTM 4 * units * (inputs + units + 1)."""
    return cells.cell(cell).parameters(inputs, units, {})


def table(spec: ExperimentSpec, input_shape: tuple[int, int], classes: int = 0, vocab: int = 0) -> list[dict]:
    """Rows as models.layer_table gives them: layer, type, output shape, parameters, cuDNN on GPU.

    Args:
        input_shape: (time steps, features) of one window.
        classes: classification: how many classes; vocab: tokens an embedding looks up.
    """
    m, h = spec.model, spec.window.horizon
    steps, width = input_shape
    batch = str(spec.train.batch_size) if m.mode == "stateful" else "None"
    rows: list[dict] = []

    def add(name: str, kind: str, shape: tuple, parameters: int, cudnn: str = "") -> None:
        rows.append({"layer": name, "type": kind, "output shape": "(" + ", ".join([batch, *map(str, shape)]) + ")",
                     "parameters": int(parameters), "cuDNN on GPU": cudnn})

    if m.embedding_dim:
        add("tokens", "Reshape", (steps,), 0)
        add("embedding", "Embedding", (steps, m.embedding_dim), max(vocab, 1) * m.embedding_dim)
        width = m.embedding_dim
    if m.input_dense:
        add("input_dense", "Dense", (steps, m.input_dense), m.input_dense * (width + 1))
        width = m.input_dense
    double = 2 if m.bidirectional else 1
    keras_name = cells.cell(m.cell).keras_name  # the type Keras reports; layer names use the cell's own name

    def recurrent(name: str, units: int, sequences: bool, out_steps: int) -> None:
        nonlocal width
        kind = f"Bidirectional({keras_name})" if m.bidirectional else keras_name
        shape = (out_steps, double * units) if sequences else (double * units,)
        add(f"bi_{name}" if m.bidirectional else name, kind, shape, double * rnn_parameters(m.cell, width, units),
            _cudnn(m.cell, m.recurrent_dropout))
        width = double * units

    last_shape: tuple = ()
    for i, units in enumerate(m.units):
        sequences = m.mode == "many_to_many" or i < len(m.units) - 1
        recurrent(f"{m.cell.lower()}_{i + 1}", units, sequences, steps)
        last_shape = (steps, width) if sequences else (width,)
        if m.dropout > 0:
            add(f"dropout_{i + 1}", "Dropout", last_shape, 0)
    out_steps = steps if m.mode in ("many_to_many",) else 0
    if m.mode in ("seq2seq", "autoencoder"):
        out_steps = steps if m.mode == "autoencoder" else h
        add("repeat", "RepeatVector", (out_steps, width), 0)
        name = f"{m.cell.lower()}_decoder"
        kind = f"Bidirectional({keras_name})" if m.bidirectional else keras_name
        add("bi_decoder" if m.bidirectional else name, kind, (out_steps, double * m.units[-1]),
            double * rnn_parameters(m.cell, width, m.units[-1]), _cudnn(m.cell, m.recurrent_dropout))
        width = double * m.units[-1]
    per_step = m.mode in ("many_to_many", "seq2seq", "autoencoder")

    def dense(name: str, units: int) -> None:
        nonlocal width
        shape = (out_steps, units) if per_step else (units,)
        add(name, "TimeDistributed(Dense)" if per_step else "Dense", shape, units * (width + 1))
        width = units

    if m.head_units:
        dense("head_hidden", m.head_units)
    if m.task == "classification":
        dense("head", max(classes, 2))
    else:
        dense("head", h if m.mode == "direct" else 1)
    return rows


def _cudnn(cell: str, recurrent_dropout: float) -> str:
    """As models.cudnn_reasons says it for the layers build() makes (Keras's defaults but recurrent_dropout)."""
    return cells.cudnn_text(cell, {"recurrent_dropout": recurrent_dropout})


def parameters(spec: ExperimentSpec, input_shape: tuple[int, int], classes: int = 0, vocab: int = 0) -> int:
    """The spec's model's parameter count (the sum of `table`'s rows)."""
    return sum(row["parameters"] for row in table(spec, input_shape, classes, vocab))


def check_parameters(spec: ExperimentSpec, input_shape: tuple[int, int], classes: int = 0, vocab: int = 0) -> int:
    """The parameter count, or SpecError when it is over the cap ($RNNLAB_MAX_MODEL_PARAMS).

    Counted, not built: the check costs microseconds and imports no TensorFlow, so the server and
    the worker refuse an oversized model before Keras allocates anything."""
    rows = table(spec, input_shape, classes, vocab)
    count, cap = sum(row["parameters"] for row in rows), model_check.max_params()
    if count <= cap:
        return count
    m = spec.model
    lookup = sum(row["parameters"] for row in rows if row["type"] == "Embedding")
    if lookup * 2 > count:  # the vocabulary (the token column's largest value) is what is too big
        raise SpecError("model.embedding_dim", f"this model has {count:,} parameters; the limit is {cap:,} "
                                               f"(RNNLAB_MAX_MODEL_PARAMS). The embedding alone is {max(vocab, 1):,} "
                                               f"tokens x {m.embedding_dim}: the token column's largest value sets "
                                               "the vocabulary. Use a column of small whole-number tokens, or a "
                                               "smaller embedding")
    raise SpecError("model.units", f"this model has {count:,} parameters; the limit is {cap:,} "
                                   f"(RNNLAB_MAX_MODEL_PARAMS). Use fewer or smaller layers (now {m.units}"
                                   f"{', bidirectional' if m.bidirectional else ''}"
                                   f"{f', head {m.head_units}' if m.head_units else ''})")
