"""Pad cases: opset 1 (`paddings`), 2-10 (`pads`/`value` attributes), 11+ (pads and
constant_value inputs), 18+ (axes input), 19+ (wrap); constant/reflect/edge/wrap modes, pads
larger than the axis, negative pads (crop), several dtypes.

Reference: numpy.pad on the input first cropped by the negative pads, which is how ONNX
Runtime treats negative pads (crop, then pad what is left).
"""
import numpy as np

import opcase


def _data(rng, shape, dtype):
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-50, 50, shape).astype(dtype) if dtype != np.uint8 else \
            rng.integers(0, 255, shape).astype(np.uint8)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    return rng.standard_normal(shape).astype(dtype)


def pad_ref(x, begin, end, mode, value):
    crop = tuple(slice(max(0, -b), x.shape[i] - max(0, -e))
                 for i, (b, e) in enumerate(zip(begin, end)))
    kept = x[crop]
    width = [(max(0, b), max(0, e)) for b, e in zip(begin, end)]
    if mode == "constant":
        return np.pad(kept, width, mode="constant", constant_values=value).astype(x.dtype)
    return np.pad(kept, width, mode=mode).astype(x.dtype)


def _pad(rng, name, shape, pads, mode=None, value=None, opset=13, dtype=np.float32, axes=None,
         value_as_input=True, const_value_init=False):
    x = _data(rng, shape, dtype)
    r = len(shape)
    n = len(axes) if axes is not None else r
    begin, end = [0] * r, [0] * r
    for i in range(n):
        a = (axes[i] if axes is not None else i) % r
        begin[a], end[a] = pads[i], pads[i + n]
    v = 0 if value is None else value
    y = pad_ref(x, begin, end, mode or "constant", v)
    attrs = {"mode": mode} if mode else {}
    inputs = [("data", x)]
    inits = []
    if opset < 11:
        attrs["paddings" if opset == 1 else "pads"] = list(pads)
        if value is not None:
            attrs["value"] = float(value)
    else:
        inputs.append(("pads", np.array(pads, dtype=np.int64)))
        inits.append("pads")
        if value is not None and value_as_input:
            inputs.append(("constant_value", np.array(value, dtype=dtype)))
            if const_value_init:
                inits.append("constant_value")
        elif axes is not None:
            inputs.append(("", None))
        if axes is not None:
            inputs.append(("axes", np.array(axes, dtype=np.int64)))
            inits.append("axes")
    return opcase.node_case(name, "Pad", inputs, [("y", y)], attrs=attrs, opset=opset,
                            initializers=tuple(inits))


def cases(rng):
    # Old attribute forms.
    yield _pad(rng, "pad_opset1_paddings", (3, 4), [1, 2, 0, 3], value=1.5, opset=1)
    yield _pad(rng, "pad_opset2_constant", (2, 3, 5), [0, 1, 2, 1, 0, 3], value=-2.0, opset=2)
    yield _pad(rng, "pad_opset2_reflect", (1, 2, 4, 5), [0, 0, 3, 1, 0, 0, 2, 4], "reflect",
               opset=2)
    yield _pad(rng, "pad_opset2_edge", (2, 3, 4), [0, 2, 1, 0, 3, 2], "edge", opset=2)
    yield _pad(rng, "pad_opset2_int64_value", (4, 3), [1, 1, 2, 2], value=7, opset=2,
               dtype=np.int64)
    yield _pad(rng, "pad_opset2_float16", (3, 5), [2, 0, 1, 3], value=0.5, opset=2,
               dtype=np.float16)
    # Inputs form (11+).
    yield _pad(rng, "pad_constant_default_zero", (3, 5), [1, 2, 2, 1], opset=11)
    yield _pad(rng, "pad_constant_value_input", (2, 3, 4), [0, 1, 2, 1, 0, 3], value=3.25)
    yield _pad(rng, "pad_constant_value_init", (5, 2), [2, 1, 0, 4], value=-1.0,
               const_value_init=True)
    yield _pad(rng, "pad_reflect_4d", (2, 3, 6, 7), [0, 0, 2, 3, 0, 0, 4, 1], "reflect")
    yield _pad(rng, "pad_reflect_wider_than_axis", (2, 3), [0, 5, 0, 4], "reflect")
    yield _pad(rng, "pad_reflect_axis_of_one", (1, 4), [2, 1, 3, 0], "reflect")
    yield _pad(rng, "pad_edge_3d", (3, 4, 5), [1, 0, 3, 2, 4, 0], "edge", opset=11)
    yield _pad(rng, "pad_negative_crop_constant", (5, 6), [-1, 2, -2, -1], value=9.0)
    yield _pad(rng, "pad_negative_crop_reflect", (6, 7), [-2, 3, 1, -1], "reflect")
    yield _pad(rng, "pad_negative_crop_edge", (4, 8), [2, -3, -1, 2], "edge")
    yield _pad(rng, "pad_int64_constant", (3, 4), [1, 0, 0, 2], value=-5, dtype=np.int64)
    yield _pad(rng, "pad_int32_reflect", (4, 5), [2, 2, 1, 3], "reflect", dtype=np.int32)
    yield _pad(rng, "pad_uint8_edge", (2, 3, 3), [0, 1, 1, 0, 2, 2], "edge", dtype=np.uint8)
    yield _pad(rng, "pad_bool_constant", (3, 3), [1, 1, 1, 1], value=True, dtype=np.bool_)
    yield _pad(rng, "pad_double_constant", (2, 5), [1, 1, 0, 2], value=0.25, dtype=np.float64)
    yield _pad(rng, "pad_1d", (7,), [3, 2], "reflect")
    yield _pad(rng, "pad_5d", (2, 1, 3, 2, 4), [0, 1, 1, 0, 2, 1, 0, 0, 1, 1], value=4.0)
    yield _pad(rng, "pad_large_rows", (3, 64, 130), [0, 2, 5, 0, 1, 7], "edge")
    # Axes input (18+) and wrap (19+).
    yield _pad(rng, "pad_axes_subset", (2, 3, 4, 5), [1, 2, 3, 0], value=1.0, opset=18,
               axes=[1, 3])
    yield _pad(rng, "pad_axes_negative", (2, 3, 4), [2, 1], "reflect", opset=18, axes=[-1])
    yield _pad(rng, "pad_axes_no_value", (3, 4), [1, 1], "edge", opset=18, axes=[0])
    yield _pad(rng, "pad_wrap", (3, 4), [1, 2, 2, 1], "wrap", opset=19)
    yield _pad(rng, "pad_wrap_wider_than_axis", (2, 3), [0, 7, 1, 5], "wrap", opset=19)
