"""The output shape and weights of each plain Keras layer class an imported model may use, from its
config (no batch axis), as Keras's compute_output_shape and count_params give them.

core/model_check.py walks a model's config and asks these rules layer by layer: a method `_<Class>`
per layer class, (cfg, input shapes, depth) -> (output shapes, parameters). Its walker adds the
models, recurrent layers and wrappers that need the walk itself.
"""
from __future__ import annotations

import math

from . import cells
from .archives import ImportRefused

RECURRENT = {c.keras_name: c for c in cells.CELLS.values()}  # Keras class -> its cell (core/cells/)
CELLS = {f"{name}Cell": name for name in RECURRENT}  # what a keras.layers.RNN(cell) may wrap
MAX_STEPS = 100_000  # time steps any layer may output
Shape = tuple  # one tensor's shape without the batch axis: ints, None for a length fixed only by the data


def _as_list(value) -> list:
    return value if isinstance(value, list) else []


def _int(cfg: dict, key: str, default=None, low: int = 1) -> int:
    value = cfg.get(key, default)
    if isinstance(value, list) and len(value) == 1:  # Keras writes kernel_size=(3,) as [3]
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ImportRefused(f"the model's layer {cfg.get('name', '?')!r} has {key} = {str(value)[:40]}, which is "
                            "not a size Keras builds")
    return value


def _known(shape: Shape, what: str) -> int:
    """The last axis of `shape`, which a layer with weights needs fixed."""
    if not shape or not isinstance(shape[-1], int):
        raise ImportRefused(f"the input width of the model's layer {what!r} is not fixed; give the model's Input a "
                            "full shape (time steps, features)")
    return shape[-1]


def _steps(length, window: int, stride: int, padding: str):
    """Output steps of a sliding window (Conv1D, pooling), as Keras computes them."""
    if not isinstance(length, int):
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    if padding != "valid":
        raise ImportRefused(f"padding {str(padding)[:20]!r} is not one Keras knows")
    if length < window:
        raise ImportRefused(f"a window of {window} steps does not fit the model's {length} time steps")
    return (length - window) // stride + 1


def _pair(cfg: dict, key: str) -> tuple[int, int]:
    value = cfg.get(key, 1)
    value = [value, value] if isinstance(value, int) else value
    if not isinstance(value, list) or len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_STEPS for v in value):
        raise ImportRefused(f"the model's {cfg.get('name', '?')!r} has {key} = {str(value)[:40]}")
    return value[0], value[1]


class LayerRules:
    """Shape and parameter rules per layer class; mixed into core/model_check.py's walker, whose
    `layer` and `_recurrent` the wrappers (Bidirectional, TimeDistributed) call back."""

    def _Bidirectional(self, cfg, shapes, depth):
        forward = cfg.get("layer")
        if not isinstance(forward, dict) or forward.get("class_name") not in (*RECURRENT, "RNN"):
            raise ImportRefused("the model's Bidirectional layer wraps something other than a recurrent layer")
        backward = cfg.get("backward_layer") if isinstance(cfg.get("backward_layer"), dict) else forward
        f_cfg, b_cfg = forward.get("config") or {}, backward.get("config") or {}
        if f_cfg.get("return_state") or b_cfg.get("return_state"):
            raise ImportRefused("the model's Bidirectional layer returns states; RNN Lab imports it without")
        f_out, f_params = self._recurrent(forward["class_name"], f_cfg, shapes[0])
        b_out, b_params = self._recurrent(backward.get("class_name"), b_cfg, shapes[0])
        merge = cfg.get("merge_mode", "concat")
        if merge == "concat":
            out = [(*f_out[0][:-1], f_out[0][-1] + b_out[0][-1])]
        elif merge in ("sum", "mul", "ave"):
            out = [f_out[0]]
        elif merge is None:
            out = [f_out[0], b_out[0]]
        else:
            raise ImportRefused(f"the model's Bidirectional merge_mode {str(merge)[:20]!r} is not one Keras knows")
        return out, f_params + b_params

    def _TimeDistributed(self, cfg, shapes, depth):
        inner, shape = cfg.get("layer"), shapes[0]
        if not isinstance(inner, dict) or len(shape) < 2:
            raise ImportRefused("the model's TimeDistributed layer has no layer inside, or no time axis to spread over")
        outs = self.layer(inner, [shape[1:]], depth + 1)
        self.cost.layers -= 1  # the wrapper and its layer are one layer of the model
        return [(shape[0], *o) for o in outs], 0  # the inner layer's weights were counted by self.layer

    def _InputLayer(self, cfg, shapes, depth):
        return [shapes[0]], 0

    def _Dense(self, cfg, shapes, depth):
        units = _int(cfg, "units")
        width = _known(shapes[0], cfg.get("name", "?"))
        return [(*shapes[0][:-1], units)], width * units + (units if cfg.get("use_bias", True) else 0)

    def _Embedding(self, cfg, shapes, depth):
        size = _int(cfg, "output_dim")
        return [(*shapes[0], size)], _int(cfg, "input_dim") * size

    def _Conv1D(self, cfg, shapes, depth):
        shape = shapes[0]
        if cfg.get("data_format", "channels_last") != "channels_last" or len(shape) != 2:
            raise ImportRefused("the model's Conv1D layer is not channels_last over (time steps, features)")
        filters, k = _int(cfg, "filters"), _int(cfg, "kernel_size")
        stride, dilation, groups = _int(cfg, "strides", 1), _int(cfg, "dilation_rate", 1), _int(cfg, "groups", 1)
        channels = _known(shape, cfg.get("name", "?"))
        params = k * (channels // groups) * filters + (filters if cfg.get("use_bias", True) else 0)
        return [(_steps(shape[0], (k - 1) * dilation + 1, stride, cfg.get("padding", "valid")), filters)], params

    def _pool(self, cfg, shapes):
        shape = shapes[0]
        if len(shape) != 2 or cfg.get("data_format", "channels_last") != "channels_last":
            raise ImportRefused("the model's pooling layer is not channels_last over (time steps, features)")
        size = _int(cfg, "pool_size", 2)
        stride = _int(cfg, "strides", size) if cfg.get("strides") is not None else size
        return [(_steps(shape[0], size, stride, cfg.get("padding", "valid")), shape[1])], 0

    def _MaxPooling1D(self, cfg, shapes, depth):
        return self._pool(cfg, shapes)

    def _AveragePooling1D(self, cfg, shapes, depth):
        return self._pool(cfg, shapes)

    def _global(self, cfg, shapes):
        shape = shapes[0]
        if len(shape) != 2 or cfg.get("data_format", "channels_last") != "channels_last":
            raise ImportRefused("the model's global pooling layer is not channels_last over (time steps, features)")
        return [(1, shape[1]) if cfg.get("keepdims") else (shape[1],)], 0

    def _GlobalAveragePooling1D(self, cfg, shapes, depth):
        return self._global(cfg, shapes)

    def _GlobalMaxPooling1D(self, cfg, shapes, depth):
        return self._global(cfg, shapes)

    def _Flatten(self, cfg, shapes, depth):
        shape = shapes[0]
        return [(math.prod(shape) if all(isinstance(d, int) for d in shape) else None,)], 0

    def _Reshape(self, cfg, shapes, depth):
        target = cfg.get("target_shape")
        if not isinstance(target, list) or not target or not all(
                isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target) \
                or target.count(-1) > 1:
            raise ImportRefused(f"the model's Reshape target {str(target)[:40]} is not a shape")
        total = math.prod(shapes[0]) if all(isinstance(d, int) for d in shapes[0]) else None
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            missing = total // known if total is not None and total % known == 0 else None
            target = [missing if d == -1 else d for d in target]
        elif total is not None and known != total:
            raise ImportRefused(f"the model's Reshape turns {total:,} values into {known:,}")
        return [tuple(target)], 0

    def _RepeatVector(self, cfg, shapes, depth):
        if len(shapes[0]) != 1:
            raise ImportRefused("the model's RepeatVector reads a 2-D input; it needs one vector per window")
        return [(_int(cfg, "n"), shapes[0][0])], 0

    def _Permute(self, cfg, shapes, depth):
        dims, shape = cfg.get("dims"), shapes[0]
        if not isinstance(dims, list) or sorted(dims) != list(range(1, len(shape) + 1)):
            raise ImportRefused("the model's Permute dims do not reorder its input's axes")
        return [tuple(shape[d - 1] for d in dims)], 0

    def _Cropping1D(self, cfg, shapes, depth):
        a, b = _pair(cfg, "cropping")
        steps = shapes[0][0]
        return [(steps - a - b if isinstance(steps, int) else None, *shapes[0][1:])], 0

    def _ZeroPadding1D(self, cfg, shapes, depth):
        a, b = _pair(cfg, "padding")
        steps = shapes[0][0]
        return [(steps + a + b if isinstance(steps, int) else None, *shapes[0][1:])], 0

    def _UpSampling1D(self, cfg, shapes, depth):
        size, steps = _int(cfg, "size", 2), shapes[0][0]
        return [(steps * size if isinstance(steps, int) else None, *shapes[0][1:])], 0

    def _normalised_axis(self, cfg, shape) -> int:
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        if axis not in (-1, len(shape)):  # Keras counts the batch axis: the last is len(shape)
            raise ImportRefused(f"the model's {cfg.get('name', '?')!r} normalises an axis other than the last")
        return _known(shape, cfg.get("name", "?"))

    def _BatchNormalization(self, cfg, shapes, depth):
        width = self._normalised_axis(cfg, shapes[0])
        learned = int(cfg.get("center", True)) + int(cfg.get("scale", True))
        return [shapes[0]], (2 + learned) * width  # moving mean and variance, beta and gamma

    def _LayerNormalization(self, cfg, shapes, depth):
        width = self._normalised_axis(cfg, shapes[0])
        learned = int(cfg.get("center", True)) + int(cfg.get("scale", True))
        return [shapes[0]], learned * width

    def _Concatenate(self, cfg, shapes, depth):
        axis = cfg.get("axis", -1)
        rank = len(shapes[0])
        axis = axis - 1 if isinstance(axis, int) and axis > 0 else axis  # Keras counts the batch axis
        if not isinstance(axis, int) or not -rank <= axis < rank or any(len(s) != rank for s in shapes):
            raise ImportRefused("the model's Concatenate joins inputs of different ranks or along no axis")
        sizes = [s[axis] for s in shapes]
        joined = sum(sizes) if all(isinstance(d, int) for d in sizes) else None
        out = list(shapes[0])
        out[axis] = joined
        return [tuple(out)], 0
