"""What an uploaded Keras model will cost, read from its config.json before anything is built.

A .keras file declares its layers in config.json, and a few kilobytes can declare gigabytes: a
Conv1D with 10^5 filters, a Dense after a Flatten of a wide sequence, a RepeatVector of 10,000
steps, 3,000 layers that Keras walks recursively. Keras finds out only while it allocates. So this
module walks the config the way Keras would build it, computing every layer's output shape (no
batch axis) and parameters, in plain Python (the web server never imports TensorFlow), and refuses:

- a layer class it cannot size, by name (it does not guess: an unknown layer could be any size);
- more than RNNLAB_MAX_MODEL_LAYERS layers, or wrappers/sub-models nested more than MAX_NESTING
  deep, counted without recursion before any shape is computed;
- more than RNNLAB_MAX_MODEL_PARAMS parameters;
- a layer output of more than RNNLAB_MAX_MODEL_ACTIVATIONS values for one window (time steps x
  width: what inference holds per window and per layer), or more than MAX_STEPS time steps.

The weights file inside (model.weights.h5) is checked too, in the process that will load it: HDF5
datasets can be gzip-compressed, so a 7.5 KB file may hold gigabytes once read. Each dataset's
shape x item size is summed from its header (no data is read) against the unpack cap, and the
values it holds against the parameters the config declares; links to other files, external
storage and virtual datasets (which would read server files into the weights) are refused.

The counts match Keras's own `count_params()` and `output_shape` for every layer it knows (tested
layer by layer against Keras).

Caps (environment variables, read at each call):
    RNNLAB_MAX_MODEL_PARAMS       parameters (default 20,000,000)
    RNNLAB_MAX_MODEL_LAYERS       layers, wrappers' inner layers included (default 200)
    RNNLAB_MAX_MODEL_ACTIVATIONS  values one layer outputs for one window (default 4,000,000)
    RNNLAB_MAX_MODEL_MB           the file (default 50); what it unpacks to, the weights file's
                                  datasets included, at most 4x that (core/archives.py)
"""
from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import archives
from .archives import ImportRefused
from .model_layers import CELLS, MAX_STEPS, RECURRENT, LayerRules, Shape, _as_list, _int, _known  # noqa: F401

DEFAULT_MAX_PARAMS = 20_000_000  # 80 MB of float32: more than a 50 MB file can hold anyway
DEFAULT_MAX_LAYERS = 200  # RNN Lab's own models have at most 14; 3,000 took Keras 170 CPU-seconds to refuse
# 16 MB of float32 per window and layer: RNN Lab's largest spec (10,000 steps x 2 x 1024 units) is
# 20 M, so its extreme runs need the variable; a window of 500 steps x 1024 units is 0.5 M.
DEFAULT_MAX_ACTIVATIONS = 1_000_000
MAX_NESTING = 4  # Bidirectional(LSTM) is 1, a Sequential inside a Functional 1, TimeDistributed(Dense) 1

MODELS = ("Sequential", "Functional", "Model")
SAME_SHAPE = {"Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Activation",
              "ReLU", "LeakyReLU", "ELU", "Softmax", "Masking", "ActivityRegularization", "Identity",
              "UnitNormalization"}
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}


def _env_int(name: str, default: int) -> int:
    try:
        return int(float(os.environ.get(name, default)))
    except ValueError:
        return default


def max_params() -> int:
    """$RNNLAB_MAX_MODEL_PARAMS: the most parameters an imported model may have (default 20 million)."""
    return _env_int("RNNLAB_MAX_MODEL_PARAMS", DEFAULT_MAX_PARAMS)


def max_layers() -> int:
    """$RNNLAB_MAX_MODEL_LAYERS: the most layers an imported model may have (default 200)."""
    return _env_int("RNNLAB_MAX_MODEL_LAYERS", DEFAULT_MAX_LAYERS)


def max_activations() -> int:
    """$RNNLAB_MAX_MODEL_ACTIVATIONS: the most values one layer may output per window (default 4 million)."""
    return _env_int("RNNLAB_MAX_MODEL_ACTIVATIONS", DEFAULT_MAX_ACTIVATIONS)


@dataclass
class Cost:
    """What a model config declares, counted.

    Attributes:
        parameters: weights Keras will allocate (its count_params()).
        largest: the most values one layer outputs for one window.
        layers: layers, wrappers' inner layers included.
        recurrent: the model's own SimpleRNN, LSTM and GRU layers (plain or Bidirectional), the ones
            Inspect replays; not those inside a sub-model or a generic RNN(cell).
        outputs: the model's output shapes, without the batch axis.
    """

    parameters: int = 0
    largest: int = 0
    layers: int = 0
    recurrent: int = 0
    outputs: list = field(default_factory=list)


def check(config, input_shape: tuple | None = None) -> Cost:
    """The cost of the model that `config` (a parsed config.json) declares; ImportRefused when over a cap.

    Args:
        config: {"class_name": "Sequential" | "Functional", "config": {...}} as model.save writes it.
        input_shape: (time steps, features) the model will be fed, filling in what the model leaves
            open (None); None when unknown (then an open length counts as 1).
    """
    if not isinstance(config, dict) or config.get("class_name") not in MODELS:
        raise ImportRefused("config.json does not describe a Keras model (a Sequential or Functional model saved "
                            "with model.save)")
    count_layers(config)  # before any recursion: a 3,000-layer file costs a loop, not a stack
    walker = _Walker(input_shape)
    walker.cost.outputs = walker.model(config, None, 0)
    cost = walker.cost
    if cost.parameters > max_params():
        raise ImportRefused(f"the model has {cost.parameters:,} parameters; the limit is {max_params():,} "
                            "(set RNNLAB_MAX_MODEL_PARAMS to change it)")
    return cost


def check_keras_file(path: str | Path, input_shape: tuple | None = None, weights: bool = True) -> Cost:
    """Refuse a .keras file before Keras touches it; its cost when it passes.

    The file's size, each member's real inflated size (whatever the zip header says), the config's
    layers, parameters and outputs (`check`), and with `weights` the weights file's datasets
    (`check_weights_h5`). The web server calls it with weights=False: parsing a hostile HDF5 file
    is left to the short-lived process that loads the model (core/model_import.py), where a crash
    in the HDF5 library ends only that process.
    """
    path = Path(path)
    archives.check_size(path.stat().st_size, "model")
    archive = archives.Bounded(path, "the model")
    try:
        if "config.json" not in archive.names():
            raise ImportRefused("this is not a .keras file (it has no config.json); save the model with "
                                "model.save(\"name.keras\")")
        cost = check(archives.loads_json(archive.read("config.json"), "the model's config.json"), input_shape)
        for name in archive.names():
            if name == "config.json":
                continue
            if weights and name.endswith(".h5"):
                check_weights_h5(archive.read(name), cost.parameters)
            else:
                archive.measure(name)
    finally:
        archive.close()
    return cost


MAX_H5_OBJECTS = 100_000  # groups and datasets in a weights file; a 200-layer model with Adam has about 3,000
SLACK = 4  # a weights file holds the parameters and the optimizer's state: Adam 2 more copies, AMSGrad 3


def check_weights_h5(data: bytes, parameters: int) -> None:
    """The weights file's datasets, sized from their headers without reading them: within the unpack
    cap (HDF5 compresses inside the file, which the zip's sizes do not show), no more values than the
    config's parameters (and an optimizer's copies of them), every link inside the file, numbers only."""
    import h5py

    budget, total_bytes, total_values, seen = archives.max_unpacked_bytes(), 0, 0, 0
    try:
        with h5py.File(io.BytesIO(data), "r") as weights:
            stack = [weights]
            while stack:  # a loop, not visititems: a group hard-linked into itself is counted, not followed forever
                group = stack.pop()
                for key in group:
                    seen += 1
                    if seen > MAX_H5_OBJECTS:
                        raise ImportRefused(f"the model's weights file holds more than {MAX_H5_OBJECTS:,} objects")
                    if not isinstance(group.get(key, getlink=True), h5py.HardLink):
                        raise ImportRefused("the model's weights file links to another file or place; Keras writes "
                                            "plain weights")
                    item = group[key]
                    if isinstance(item, h5py.Group):
                        stack.append(item)
                        continue
                    if not isinstance(item, h5py.Dataset) or item.is_virtual or item.external \
                            or item.dtype.kind not in "biuf":
                        raise ImportRefused("the model's weights file holds something other than arrays of numbers "
                                            "stored inside it")
                    values = math.prod(item.shape or ())
                    total_values += values
                    total_bytes += values * item.dtype.itemsize
    except ImportRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError on damaged files
        raise ImportRefused(f"the model's weights file is damaged ({exc.__class__.__name__}: {str(exc)[:120]})") from None
    if total_bytes > budget:
        raise ImportRefused(f"the model's weights unpack to {total_bytes / 2 ** 20:,.0f} MB (compressed inside the "
                            f"weights file); the limit is {budget / 2 ** 20:,.0f} MB (four times RNNLAB_MAX_MODEL_MB)")
    if total_values > SLACK * parameters + 1024:
        raise ImportRefused(f"the model's weights file holds {total_values:,} values, but its layers have "
                            f"{parameters:,} parameters; save the model again with model.save")


def out_of_memory(exc: BaseException) -> bool:
    """Whether an exception from Keras or TensorFlow means an allocation failed (the import's memory cap)."""
    text = f"{exc.__class__.__name__} {str(exc)[:500]}"
    return isinstance(exc, MemoryError) or any(
        word in text for word in ("ResourceExhausted", "OOM when allocating", "bad_alloc", "Cannot allocate memory",
                                  "MemoryError", "out of memory"))


def count_layers(config) -> int:
    """Layers in a model config, counted with a loop (no recursion); ImportRefused past the caps."""
    count, stack = 0, [(config, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        count += 1
        if count > max_layers() + 1:  # +1: the model itself
            raise ImportRefused(f"the model has more than {max_layers():,} layers; the limit is {max_layers():,} "
                                "(set RNNLAB_MAX_MODEL_LAYERS to change it)")
        cfg = node.get("config")
        if not isinstance(cfg, dict):
            continue
        inner = [cfg.get(k) for k in ("layer", "backward_layer", "cell")] + list(_as_list(cfg.get("layers")))
        inner = [n for n in inner if isinstance(n, dict)]
        if inner and depth + 1 > MAX_NESTING:
            raise ImportRefused(f"the model nests layers inside layers more than {MAX_NESTING} deep; RNN Lab imports "
                                "plain stacks of layers")
        stack.extend((n, depth + 1) for n in inner)
    return count - 1


class _Walker(LayerRules):
    """Computes output shapes layer by layer (as Keras's compute_output_shape does), adding up the cost."""

    def __init__(self, input_shape: tuple | None):
        self.hint = tuple(input_shape) if input_shape else None
        self.cost = Cost()
        self.counted: set[int] = set()  # id() of layer configs whose weights are counted (shared layers once)

    # -- models ---------------------------------------------------------------------------------------
    def model(self, node: dict, inputs: list | None, depth: int) -> list:
        """A Sequential or Functional model's output shapes, fed `inputs` (None: its own Input's)."""
        cfg = node.get("config") if isinstance(node.get("config"), dict) else {}
        if node.get("class_name") == "Sequential":
            return self._sequential(cfg, inputs, depth)
        return self._functional(cfg, inputs, depth)

    def _input_shape(self, shape) -> Shape:
        if not isinstance(shape, list) or len(shape) < 2 or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape):
            raise ImportRefused(f"the model's input shape {str(shape)[:60]} is not a shape Keras builds")
        dims = tuple(shape[1:])
        if self.hint and len(self.hint) == len(dims):
            dims = tuple(h if d is None else d for d, h in zip(dims, self.hint))
        self._output(dims, "input")
        return dims

    def _sequential(self, cfg: dict, inputs: list | None, depth: int) -> list:
        layers = [n for n in _as_list(cfg.get("layers")) if isinstance(n, dict)]
        shape = inputs[0] if inputs else None
        for i, layer in enumerate(layers):
            if layer.get("class_name") == "InputLayer":
                own = self._input_shape(_batch_shape(layer.get("config")))
                shape = shape if shape is not None else own
                continue
            if shape is None:  # no Input layer: Keras builds from the recorded input shape
                build = cfg.get("build_input_shape") or (layer.get("build_config") or {}).get("input_shape")
                shape = self._input_shape(build)
            out = self.layer(layer, [shape], depth + 1)
            if len(out) != 1:
                raise ImportRefused(f"the model's layer {_name(layer)!r} returns several tensors inside a Sequential "
                                    "model, which Keras cannot chain")
            shape = out[0]
        if shape is None:
            raise ImportRefused("the model has no layers")
        return [shape]

    def _functional(self, cfg: dict, inputs: list | None, depth: int) -> list:
        layers = {}
        for layer in _as_list(cfg.get("layers")):
            if isinstance(layer, dict):
                name = layer.get("name") or (layer.get("config") or {}).get("name")
                if not isinstance(name, str) or name in layers:
                    raise ImportRefused("the model's layers have missing or repeated names")
                layers[name] = layer
        tensors: dict[tuple, list] = {}  # (layer, node) -> output shapes
        given = list(inputs or [])
        for ref in _refs(cfg.get("input_layers")):
            layer = layers.get(ref[0])
            if layer is None or layer.get("class_name") != "InputLayer":
                raise ImportRefused(f"the model's input {str(ref[0])[:40]!r} is not an Input layer")
            tensors[(ref[0], 0)] = [given.pop(0) if given else self._input_shape(_batch_shape(layer.get("config")))]
        pending = [(name, i, node) for name, layer in layers.items() if layer.get("class_name") != "InputLayer"
                   for i, node in enumerate(_as_list(layer.get("inbound_nodes")))]
        while pending:  # layers in any order: each pass builds those whose inputs are known
            waiting = []
            for name, i, node in pending:
                sources = _node_refs(node)
                if all((s[0], s[1]) in tensors for s in sources):
                    shapes = [_pick(tensors[(s[0], s[1])], s[2]) for s in sources]
                    tensors[(name, i)] = self.layer(layers[name], shapes, depth + 1)
                else:
                    waiting.append((name, i, node))
            if len(waiting) == len(pending):
                raise ImportRefused("the model's layers do not connect (a layer reads from one that does not exist)")
            pending = waiting
        outputs = []
        for ref in _refs(cfg.get("output_layers")):
            if (ref[0], ref[1]) not in tensors:
                raise ImportRefused(f"the model's output {str(ref[0])[:40]!r} is not one of its layers")
            outputs.append(_pick(tensors[(ref[0], ref[1])], ref[2]))
        if not outputs:
            raise ImportRefused("the model has no outputs")
        return outputs

    # -- layers ---------------------------------------------------------------------------------------
    def layer(self, node: dict, shapes: list, depth: int) -> list:
        """Output shapes of one layer called on `shapes`; its weights are added once (shared layers)."""
        kind = node.get("class_name")
        cfg = node.get("config") if isinstance(node.get("config"), dict) else {}
        if not isinstance(kind, str):
            raise ImportRefused("the model has a layer without a class name")
        if depth > MAX_NESTING + 1:
            raise ImportRefused(f"the model nests layers more than {MAX_NESTING} deep")
        self.cost.layers += 1
        inner = cfg.get("layer") if kind == "Bidirectional" and isinstance(cfg.get("layer"), dict) else {}
        if depth == 1 and (kind in RECURRENT or inner.get("class_name") in RECURRENT):
            self.cost.recurrent += 1  # a layer of the model itself: the one Inspect replays (core/gates.py)
        if kind in MODELS:
            return self.model(node, shapes, depth)
        if kind == "Lambda":
            raise ImportRefused("the model contains Python code (a Lambda layer), which RNN Lab does not run: models "
                                "are loaded only with Keras's safe_mode. Rebuild the model without Lambda layers")
        rule = getattr(self, f"_{kind}", None)
        if kind in SAME_SHAPE:
            outs, params = [shapes[0]], 0
        elif kind in MERGES:
            outs, params = [shapes[0]], 0
        elif kind in RECURRENT or kind == "RNN":
            outs, params = self._recurrent(kind, cfg, shapes[0])
        elif rule is not None and kind[0].isupper():
            outs, params = rule(cfg, shapes, depth)
        else:
            raise ImportRefused(f"the model uses a {kind[:60]} layer, which RNN Lab cannot size before loading it. "
                                f"Layers it imports: {', '.join(supported())}")
        if id(node) not in self.counted:
            self.counted.add(id(node))
            self.cost.parameters += params
        for shape in outs:
            self._output(shape, _name(node))
        return outs

    def _output(self, shape: Shape, name: str) -> None:
        dims = [d if isinstance(d, int) else 1 for d in shape]
        if len(dims) >= 2 and dims[0] > MAX_STEPS:
            raise ImportRefused(f"the model's layer {name!r} outputs {dims[0]:,} time steps; the limit is "
                                f"{MAX_STEPS:,}")
        values = math.prod(dims)
        if values > max_activations():
            raise ImportRefused(f"the model's layer {name!r} outputs {values:,} values for each window "
                                f"({' x '.join(map(str, dims))}); the limit is {max_activations():,} "
                                "(set RNNLAB_MAX_MODEL_ACTIVATIONS to change it)")
        self.cost.largest = max(self.cost.largest, values)

    def _recurrent(self, kind: str, cfg: dict, shape: Shape) -> tuple[list, int]:
        cell = cfg
        if kind == "RNN":  # keras.layers.RNN(cell): the cell holds units and biases
            inner = cfg.get("cell")
            if not isinstance(inner, dict) or inner.get("class_name") not in CELLS:
                raise ImportRefused("the model's RNN layer wraps a cell RNN Lab cannot size; use SimpleRNN, LSTM or "
                                    "GRU (or their cells)")
            kind, cell = CELLS[inner["class_name"]], inner.get("config") or {}
        if len(shape) != 2:
            raise ImportRefused(f"the model's recurrent layer {cfg.get('name', '?')!r} reads {len(shape)}-D inputs; "
                                "it needs (time steps, features)")
        units, width, found = _int(cell, "units"), _known(shape, cfg.get("name", "?")), RECURRENT[kind]
        params = found.parameters(width, units, cell)
        out = [(shape[0], units) if cfg.get("return_sequences") else (units,)]
        if cfg.get("return_state"):
            out += [(units,)] * found.states
        return out, params



def supported() -> list[str]:
    """The layer classes the counter sizes (and so the ones an imported model may use)."""
    named = {n[1:] for n in dir(_Walker) if n.startswith("_") and n[1:2].isupper()} - {"InputLayer"}
    return sorted(named | SAME_SHAPE | MERGES | set(RECURRENT) | {"RNN", "InputLayer", *MODELS[:2]})


def _batch_shape(cfg) -> object:
    cfg = cfg if isinstance(cfg, dict) else {}
    return cfg.get("batch_shape") or cfg.get("batch_input_shape")


def _name(node: dict) -> str:
    name = node.get("name") or (node.get("config") or {}).get("name") or node.get("class_name")
    return str(name)[:60]


def _refs(value) -> list[tuple]:
    """[[name, node, tensor], ...] (or one such triple) as tuples."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    out = []
    for ref in _as_list(value):
        if not (isinstance(ref, list) and len(ref) >= 3 and isinstance(ref[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ref[1:3])):
            raise ImportRefused("the model's inputs or outputs are not named as Keras writes them")
        out.append((ref[0], ref[1], ref[2]))
    return out


def _node_refs(node) -> list[tuple]:
    """The tensors one call of a layer reads: Keras 3's {"args": [...]} with "__keras_tensor__" entries
    (Keras 2's [[name, node, tensor, kwargs], ...] too), found with a loop, not recursion."""
    found, stack = [], [node.get("args") if isinstance(node, dict) else node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                history = (item.get("config") or {}).get("keras_history")
                found.extend(_refs([history]))
            continue
        if isinstance(item, list):
            if len(item) >= 3 and isinstance(item[0], str) and isinstance(item[1], int):  # Keras 2
                found.extend(_refs([item[:3]]))
            else:
                stack.extend(reversed(item))
    if not found:
        raise ImportRefused("a layer of the model reads no input")
    return found


def _pick(outputs: list, index: int) -> Shape:
    if index >= len(outputs):
        raise ImportRefused("the model reads an output a layer does not have")
    return outputs[index]
