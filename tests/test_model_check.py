"""Imported models are sized from their config.json before anything is built: the counts agree with
Keras layer by layer, and each hostile file (written here by hand: a config and a tiny weights file,
never the gigabytes it declares) is refused in a fraction of a second with a message that names the cap."""
from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import h5py
import pytest

from core import model_check, runs
from core.archives import ImportRefused


def layer(kind: str, **config) -> dict:
    """One layer's entry in a config.json, as model.save writes it."""
    return {"module": "keras.layers", "class_name": kind, "config": config, "registered_name": None}


def sequential(*layers: dict, shape=(10, 1)) -> dict:
    inputs = layer("InputLayer", batch_shape=[None, *shape], name="input")
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "hostile", "layers": [inputs, *layers]},
            "registered_name": None}


def weights_h5(**datasets) -> bytes:
    """A weights file holding `datasets` (name -> (shape, options)); no data is written, so HDF5 stores
    only the headers: a declared 1.6 GB costs a few kilobytes."""
    out = io.BytesIO()
    with h5py.File(out, "w") as f:
        f.create_group("layers")
        for name, (shape, options) in datasets.items():
            f.create_dataset(name, shape=shape, dtype="float32", **options)
    return out.getvalue()


def keras_file(path, config: dict, h5: bytes | None = None) -> bytes:
    """A .keras archive: config.json, metadata.json, model.weights.h5 (empty unless given)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.0"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", h5 if h5 is not None else weights_h5())
    path.write_bytes(out.getvalue())
    return out.getvalue()


def refused_quickly(path, match: str) -> None:
    """load_model_safely refuses the file before Keras builds anything (Keras's loader is never
    called) and within a few MB of memory. No clock: a loaded CI box is slow, not wrong."""
    import keras

    def never(*args, **kwargs):
        raise AssertionError("Keras was asked to load a model the checks should have refused")

    saved = keras.saving.load_model, keras.models.load_model
    keras.saving.load_model = keras.models.load_model = never
    tracemalloc.start()
    try:
        with pytest.raises(ImportRefused, match=match):
            runs.load_model_safely(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        keras.saving.load_model, keras.models.load_model = saved
    assert peak < 20 * 2 ** 20


# -- the counter agrees with Keras ---------------------------------------------------------------------
def _models():
    import keras

    L = keras.layers

    def seq(*layers, shape=(12, 3)):
        return keras.Sequential([keras.Input(shape), *layers])

    made = {
        "stacked": seq(L.LSTM(5, return_sequences=True), L.GRU(4), L.Dense(2)),
        "no bias": seq(L.GRU(3, reset_after=False, use_bias=False), L.Dense(1, use_bias=False)),
        "bidirectional": seq(L.Bidirectional(L.LSTM(4, return_sequences=True)),
                             L.Bidirectional(L.GRU(3), merge_mode="sum"), L.Dense(1)),
        "conv": seq(L.Conv1D(8, 3, strides=2), L.MaxPooling1D(2), L.Conv1D(4, 2, padding="causal", dilation_rate=2),
                    L.LSTM(2), L.Dense(1)),
        "flatten": seq(L.Dense(7), L.Flatten(), L.Dense(3), L.RepeatVector(4), L.LSTM(2, return_sequences=True),
                       L.TimeDistributed(L.Dense(1))),
        "reshape": seq(L.Reshape((6, 6)), L.Permute((2, 1)), L.SimpleRNN(2), L.Dense(1)),
        "norms": seq(L.BatchNormalization(), L.LayerNormalization(), L.GRU(3), L.Dense(1)),
        "embedding": seq(L.Reshape((12,)), L.Embedding(20, 4), L.LSTM(3), L.Dense(1), shape=(12, 1)),
        "pooling": seq(L.AveragePooling1D(3, padding="same"), L.GlobalAveragePooling1D(), L.Dense(2)),
        "padding": seq(L.ZeroPadding1D((1, 2)), L.Cropping1D((2, 0)), L.UpSampling1D(2),
                       L.GlobalMaxPooling1D(keepdims=True), L.LSTM(2), L.Dense(1)),
        "cell": seq(L.RNN(L.LSTMCell(3)), L.Dense(1)),
        "activations": seq(L.Activation("relu"), L.LeakyReLU(), L.Masking(), L.GaussianNoise(0.1),
                           L.SpatialDropout1D(0.1), L.Dropout(0.1), L.GRU(2), L.Dense(1)),
    }
    x = keras.Input((12, 3))
    a = L.LSTM(3, return_sequences=True)(x)
    b = L.Bidirectional(L.GRU(2, return_sequences=True))(a)
    shared = L.Dense(2)
    c = L.Concatenate()([a, b])
    inner = keras.Sequential([keras.Input((12, 2)), L.SimpleRNN(2)])
    made["functional"] = keras.Model(x, L.Dense(1)(inner(L.Add()([shared(c), shared(c)]))))
    out, h, cell = L.LSTM(3, return_state=True)(x)
    made["states"] = keras.Model(x, L.Dense(1)(L.Concatenate()([out, h, cell])))
    return made


def test_parameters_and_output_shapes_agree_with_keras_for_every_layer_it_sizes():
    import keras

    from core import gates

    for name, model in _models().items():
        cost = model_check.check(json.loads(model.to_json()))  # config.json as model.save writes it
        assert cost.parameters == model.count_params(), name
        assert cost.outputs == [tuple(model.output_shape[1:])], name
        assert cost.recurrent == len(gates.recurrent_layers(model)), name  # the layers Inspect replays


# -- hostile configs -----------------------------------------------------------------------------------
def test_a_conv1d_of_300_million_parameters_is_refused(tmp_path):
    path = tmp_path / "conv.keras"
    keras_file(path, sequential(layer("Conv1D", filters=10_000, kernel_size=[30], name="wide"),
                                layer("LSTM", units=4, name="lstm"), layer("Dense", units=1, name="head"),
                                shape=(40, 1000)))
    assert path.stat().st_size < 5_000
    refused_quickly(path, r"has 300,\d{3},\d{3} parameters; the limit is 20,000,000 \(set RNNLAB_MAX_MODEL_PARAMS")


def test_width_through_flatten_is_counted(tmp_path):
    # 1000 steps x Dense(300) flattened: 300,000 inputs to Dense(1000) = 3 x 10^8 parameters. The old
    # counter carried the width 300 past the Flatten and counted 0.3 M.
    path = tmp_path / "flat.keras"
    keras_file(path, sequential(layer("Dense", units=300, name="d1"), layer("Flatten", name="flat"),
                                layer("Dense", units=1000, name="d2"), layer("RepeatVector", n=5, name="rep"),
                                layer("LSTM", units=4, name="lstm"), layer("Dense", units=1, name="d3"),
                                shape=(1000, 10)))
    refused_quickly(path, r"has 300,\d{3},\d{3} parameters")


def test_a_layer_the_counter_cannot_size_is_refused_by_name(tmp_path):
    path = tmp_path / "attention.keras"
    keras_file(path, sequential(layer("MultiHeadAttention", num_heads=1000, key_dim=1000, name="mha"),
                                layer("LSTM", units=4, name="lstm")))
    refused_quickly(path, "uses a MultiHeadAttention layer, which RNN Lab cannot size.*Layers it imports: .*LSTM")


def test_a_long_repeat_vector_is_refused_by_its_outputs_per_window(tmp_path):
    # 198 k parameters: the counts are fine, but 10,000 steps x 128 units per window got the server OOM-killed
    path = tmp_path / "repeat.keras"
    keras_file(path, sequential(layer("LSTM", units=128, name="enc"), layer("RepeatVector", n=10_000, name="rep"),
                                layer("LSTM", units=128, return_sequences=True, name="dec"),
                                layer("TimeDistributed", layer=layer("Dense", units=1, name="out"), name="td")))
    refused_quickly(path, r"layer 'rep' outputs 1,280,000 values for each window \(10000 x 128\); the limit is "
                          r"1,000,000 \(set RNNLAB_MAX_MODEL_ACTIVATIONS")


def test_three_thousand_layers_are_refused_before_any_recursion(tmp_path):
    path = tmp_path / "deep.keras"
    many = [layer("Dense", units=2, name=f"d{i}") for i in range(3000)]
    keras_file(path, sequential(layer("LSTM", units=2, name="lstm"), *many))
    refused_quickly(path, r"more than 200 layers; the limit is 200 \(set RNNLAB_MAX_MODEL_LAYERS")
    nested = sequential(layer("LSTM", units=2, name="lstm"))
    for _ in range(8):  # models inside models
        nested = sequential(nested)
    keras_file(path, nested)
    refused_quickly(path, "nests layers inside layers more than 4 deep")


def test_a_lambda_layer_is_refused_from_the_config(tmp_path):
    path = tmp_path / "lambda.keras"
    keras_file(path, sequential(layer("Lambda", function={"class_name": "__lambda__"}, name="code"),
                                layer("LSTM", units=2, name="lstm")))
    refused_quickly(path, "Lambda layer.*safe_mode")


# -- the weights file inside ---------------------------------------------------------------------------
def small_recurrent() -> dict:
    return sequential(layer("GRU", units=3, name="gru"), layer("Dense", units=1, name="head"))


def test_a_weights_file_compressed_inside_is_sized_from_its_headers(tmp_path):
    # 20,000 x 20,000 float32 gzip-compressed inside the HDF5 file: 1.6 GB once read, a few KB on disk.
    # The zip's sizes (and the old 4x unpack cap) saw only the small file.
    path = tmp_path / "bomb.keras"
    h5 = weights_h5(**{"layers/gru/cell/vars/0": ((20_000, 20_000), {"compression": "gzip", "chunks": (1000, 1000)})})
    keras_file(path, small_recurrent(), h5)
    assert path.stat().st_size < 20_000
    refused_quickly(path, r"weights unpack to 1,526 MB \(compressed inside the weights file\); the limit is 200 MB")


def test_a_weights_file_holding_more_than_the_config_declares_is_refused(tmp_path):
    path = tmp_path / "more.keras"
    h5 = weights_h5(**{"layers/gru/cell/vars/0": ((1000, 1000), {"compression": "gzip"})})  # 4 MB, 1 M values
    keras_file(path, small_recurrent(), h5)
    refused_quickly(path, "holds 1,000,000 values, but its layers have 58 parameters")


def test_a_weights_file_that_links_to_a_server_file_is_refused(tmp_path):
    out = io.BytesIO()
    with h5py.File(out, "w") as f:
        f["layers/gru/cell/vars/0"] = h5py.ExternalLink("/etc/passwd", "/data")
    path = tmp_path / "link.keras"
    keras_file(path, small_recurrent(), out.getvalue())
    refused_quickly(path, "links to another file")
    out = io.BytesIO()
    with h5py.File(out, "w") as f:  # raw storage in a file outside the archive
        f.create_dataset("layers/gru/cell/vars/0", shape=(3, 9), dtype="float32", external=[("/etc/passwd", 0, 108)])
    keras_file(path, small_recurrent(), out.getvalue())
    refused_quickly(path, "other than arrays of numbers stored inside it")


def test_a_model_without_a_recurrent_layer_is_refused_at_import(tmp_path):
    import keras

    from core import data, windows

    from .conftest import tiny_spec

    spec = tiny_spec()
    windowed = windows.make(data.load(spec.data), spec)
    model = keras.Sequential([keras.Input((10, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.save(tmp_path / "dense.keras")
    with pytest.raises(ImportRefused, match="no recurrent layer"):
        runs.import_model(tmp_path / "dense.keras", spec, windowed, tmp_path / "run", "run")
    assert not (tmp_path / "run").exists()
