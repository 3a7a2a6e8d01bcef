"""Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9) cases: nearest with every
coordinate_transformation_mode and nearest_mode, N-D linear, scales and sizes inputs, axes,
odd sizes, up- and downsampling.

Reference: a separable NumPy float64 resize written from the spec text: per axis, map each
output index to x_original, then take the nearest sample or blend the two neighbours
(clamped at the borders), one axis at a time.
"""
import numpy as np

import opcase

COORD_MODES = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def x_original(ctm, scale, in_len, out_len):
    x = np.arange(out_len, dtype=np.float64)
    if ctm == "asymmetric":
        return x / scale
    if ctm == "align_corners":
        # ONNX's reference divides by the unrounded output width (scale * in_len - 1).
        out_w = scale * in_len
        return np.zeros(out_len) if out_len == 1 else x * (in_len - 1) / (out_w - 1)
    if ctm == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_len > 1 else np.zeros(out_len)
    if ctm == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    if ctm == "half_pixel_symmetric":
        adjustment = out_len / (scale * in_len)
        offset = in_len / 2 * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    return (x + 0.5) / scale - 0.5


def nearest_index(xo, nm, scale, in_len):
    f = np.floor(xo)
    if nm == "round_prefer_floor":
        i = np.where(xo - f > 0.5, f + 1, f)
    elif nm == "round_prefer_ceil":
        i = np.where(xo - f >= 0.5, f + 1, f)
    elif nm == "floor":
        i = f
    elif nm == "ceil":
        i = np.ceil(xo)
    else:  # opset < 11: floor when upsampling, ceil when downsampling (as ONNX Runtime)
        i = np.ceil(xo) if scale < 1 else f
    return np.clip(i, 0, in_len - 1).astype(np.int64)


def resize_ref(x, out_dims, scales, ctm, mode, nm):
    y = x if mode == "nearest" else x.astype(np.float64)
    for a in range(x.ndim):
        xo = x_original(ctm, scales[a], x.shape[a], out_dims[a])
        if mode == "nearest":
            y = np.take(y, nearest_index(xo, nm, scales[a], x.shape[a]), axis=a)
            continue
        f = np.floor(xo)
        i0 = np.clip(f, 0, x.shape[a] - 1).astype(np.int64)
        i1 = np.clip(f + 1, 0, x.shape[a] - 1).astype(np.int64)
        w = (xo - f).reshape([-1 if d == a else 1 for d in range(x.ndim)])
        y = np.take(y, i0, axis=a) * (1 - w) + np.take(y, i1, axis=a) * w
    return y.astype(x.dtype)


def geometry(shape, scales, sizes, axes):
    """Output dims and float64 scales per axis, as Resize defines them."""
    r = len(shape)
    axes = list(range(r)) if axes is None else [a % r for a in axes]
    out, sc = list(shape), [1.0] * r
    for i, a in enumerate(axes):
        if sizes is not None:
            out[a] = int(sizes[i])
            sc[a] = out[a] / shape[a]
        else:
            sc[a] = float(np.float32(scales[i]))
            out[a] = int(np.floor(sc[a] * shape[a]))
    return out, sc


def _input(rng, shape, dtype):
    if dtype == np.uint8:
        return rng.integers(0, 255, shape).astype(np.uint8)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-1000, 1000, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _resize(rng, name, shape, scales=None, sizes=None, mode="nearest", ctm=None, nm=None,
            opset=13, axes=None, dtype=np.float32):
    x = _input(rng, shape, dtype)
    out, sc = geometry(shape, scales, sizes, axes)
    eff_ctm = "asymmetric" if opset < 11 else (ctm or "half_pixel")
    eff_nm = "simple" if opset < 11 else (nm or "round_prefer_floor")
    y = resize_ref(x, out, sc, eff_ctm, mode, eff_nm)
    attrs = {"mode": mode}
    if ctm:
        attrs["coordinate_transformation_mode"] = ctm
    if nm:
        attrs["nearest_mode"] = nm
    if axes is not None:
        attrs["axes"] = list(axes)
    s_arr = np.array(scales if scales is not None else [], dtype=np.float32)
    z_arr = np.array(sizes if sizes is not None else [], dtype=np.int64)
    if opset < 11:
        inputs, inits = [("x", x), ("scales", s_arr)], ("scales",)
    elif opset < 13:
        roi = np.array([], dtype=np.float32)
        inputs = [("x", x), ("roi", roi), ("scales", s_arr)]
        inits = ("roi", "scales", "sizes")
        if sizes is not None:
            inputs.append(("sizes", z_arr))
    elif sizes is not None:
        inputs, inits = [("x", x), ("", None), ("", None), ("sizes", z_arr)], ("sizes",)
    else:
        inputs, inits = [("x", x), ("", None), ("scales", s_arr)], ("scales",)
    return opcase.node_case(name, "Resize", inputs, [("y", y)], attrs=attrs, opset=opset,
                            initializers=inits)


def nearest_cases(rng):
    for ctm in COORD_MODES:
        for nm in NEAREST_MODES:
            tag = f"{ctm}_{nm}"
            yield _resize(rng, f"resize_nearest_up_{tag}", (1, 2, 3, 4), scales=[1, 1, 2.5, 1.75],
                          ctm=ctm, nm=nm)
            yield _resize(rng, f"resize_nearest_down_sizes_{tag}", (2, 1, 9, 10),
                          sizes=[2, 1, 4, 7], ctm=ctm, nm=nm)
    yield _resize(rng, "resize_nearest_default_2x", (2, 3, 5, 7), scales=[1, 1, 2, 2])
    yield _resize(rng, "resize_nearest_down_scales_06", (1, 1, 5, 8), scales=[1, 1, 0.6, 0.6])
    yield _resize(rng, "resize_nearest_3d_all_axes", (3, 4, 5), scales=[2, 0.5, 1.5],
                  ctm="asymmetric", nm="floor")
    yield _resize(rng, "resize_nearest_uint8", (1, 3, 6, 5), sizes=[1, 3, 11, 8])
    yield _resize(rng, "resize_nearest_int64", (2, 7), scales=[1.5, 3], nm="round_prefer_ceil")
    yield _resize(rng, "resize_nearest_tf_half_pixel_for_nn", (1, 1, 5, 6), sizes=[1, 1, 3, 4],
                  ctm="tf_half_pixel_for_nn", opset=11)
    yield _resize(rng, "resize_nearest_opset11_scales", (1, 2, 4, 3), scales=[1, 1, 1.5, 2.5],
                  ctm="align_corners", nm="ceil", opset=11)
    yield _resize(rng, "resize_nearest_opset11_sizes", (1, 2, 4, 3), sizes=[1, 2, 7, 5],
                  opset=11)
    yield _resize(rng, "resize_nearest_opset10_up", (1, 2, 3, 4), scales=[1, 1, 2, 3], opset=10)
    yield _resize(rng, "resize_nearest_opset10_down", (1, 1, 4, 8), scales=[1, 1, 0.5, 0.6],
                  opset=10)


def linear_cases(rng):
    for ctm in COORD_MODES:
        yield _resize(rng, f"resize_linear_up_{ctm}", (2, 3, 4, 5), scales=[1, 1, 2, 1.5],
                      mode="linear", ctm=ctm)
        yield _resize(rng, f"resize_linear_down_{ctm}", (1, 2, 9, 7), scales=[1, 1, 0.6, 0.5],
                      mode="linear", ctm=ctm)
        yield _resize(rng, f"resize_linear_sizes_{ctm}", (1, 3, 6, 7), sizes=[1, 3, 13, 4],
                      mode="linear", ctm=ctm)
    yield _resize(rng, "resize_linear_default_2x", (1, 4, 16, 15), scales=[1, 1, 2, 2],
                  mode="linear")
    yield _resize(rng, "resize_linear_1d_last_axis", (3, 2, 11), sizes=[3, 2, 17], mode="linear")
    yield _resize(rng, "resize_linear_nd_all_axes", (2, 3, 4, 5), scales=[2, 1.5, 0.75, 2],
                  mode="linear", ctm="align_corners")
    yield _resize(rng, "resize_linear_trilinear_5d", (1, 2, 3, 4, 5), sizes=[1, 2, 5, 6, 3],
                  mode="linear", ctm="pytorch_half_pixel")
    yield _resize(rng, "resize_linear_out_len_one", (1, 1, 5, 6), sizes=[1, 1, 1, 3],
                  mode="linear", ctm="pytorch_half_pixel")
    yield _resize(rng, "resize_linear_large", (2, 8, 40, 33), scales=[1, 1, 1.5, 2],
                  mode="linear")
    yield _resize(rng, "resize_linear_opset11", (1, 2, 5, 4), sizes=[1, 2, 8, 9], mode="linear",
                  ctm="align_corners", opset=11)
    yield _resize(rng, "resize_linear_opset10", (1, 1, 4, 6), scales=[1, 1, 0.6, 1.5],
                  mode="linear", opset=10)


def new_opset_cases(rng):
    yield _resize(rng, "resize_axes_sizes_opset18", (2, 3, 5, 6), sizes=[9, 4], axes=[2, 3],
                  mode="linear", opset=18)
    yield _resize(rng, "resize_axes_neg_scales_opset18", (2, 3, 5, 6), scales=[2.0, 0.5],
                  axes=[-1, 1], opset=18)
    yield _resize(rng, "resize_half_pixel_symmetric_linear", (1, 2, 5, 7), scales=[1, 1, 1.7, 0.8],
                  mode="linear", ctm="half_pixel_symmetric", opset=19)
    yield _resize(rng, "resize_half_pixel_symmetric_nearest", (1, 1, 6, 4),
                  scales=[1, 1, 0.7, 2.3], ctm="half_pixel_symmetric", opset=19)


def tie_cases(rng):
    """Every coordinate mode (the two newer ones too) with every nearest_mode, on sizes whose
    source coordinates land exactly on .5 (4 -> 7 align_corners gives i / 2, 5 -> 10 asymmetric
    gives i / 2, 4 -> 7 half_pixel reaches 1.5): the rounding rule decides, in float64."""
    for ctm in COORD_MODES + ["tf_half_pixel_for_nn", "half_pixel_symmetric"]:
        for nm in NEAREST_MODES:
            tag = f"{ctm}_{nm}"
            yield _resize(rng, f"resize_nearest_ties_{tag}", (1, 2, 4, 5), sizes=[1, 2, 7, 10],
                          ctm=ctm, nm=nm, opset=19)
            yield _resize(rng, f"resize_nearest_down_odd_{tag}", (2, 1, 9, 7),
                          scales=[1, 1, 0.5, 0.6], ctm=ctm, nm=nm, opset=19)
    for ctm in ["tf_half_pixel_for_nn", "half_pixel_symmetric"]:
        yield _resize(rng, f"resize_linear_up_{ctm}", (2, 3, 4, 5), scales=[1, 1, 2, 1.5],
                      mode="linear", ctm=ctm, opset=19)
        yield _resize(rng, f"resize_linear_down_odd_{ctm}", (1, 2, 9, 7), sizes=[1, 2, 5, 3],
                      mode="linear", ctm=ctm, opset=19)
        yield _resize(rng, f"resize_linear_1d_{ctm}", (13,), scales=[0.7], mode="linear",
                      ctm=ctm, opset=19)


def _upsample(rng, name, shape, scales, mode="nearest", opset=9):
    x = _input(rng, shape, np.float32)
    out, sc = geometry(shape, scales, None, None)
    y = resize_ref(x, out, sc, "asymmetric", mode, "simple")
    attrs = {"mode": mode}
    if opset < 9:
        attrs["scales"] = [float(s) for s in scales]
        inputs, inits = [("x", x)], ()
    else:
        inputs, inits = [("x", x), ("scales", np.array(scales, dtype=np.float32))], ("scales",)
    return opcase.node_case(name, "Upsample", inputs, [("y", y)], attrs=attrs, opset=opset,
                            initializers=inits)


def upsample_cases(rng):
    yield _upsample(rng, "upsample_nearest_opset7", (1, 2, 3, 4), [1, 1, 2, 3], opset=7)
    yield _upsample(rng, "upsample_linear_opset7", (1, 2, 3, 4), [1, 1, 2, 2.5], "linear",
                    opset=7)
    yield _upsample(rng, "upsample_nearest_opset9", (2, 3, 4, 5), [1, 1, 1.5, 2])
    yield _upsample(rng, "upsample_linear_opset9", (1, 3, 5, 4), [1, 1, 2, 3], "linear")


def cases(rng):
    yield from nearest_cases(rng)
    yield from linear_cases(rng)
    yield from new_opset_cases(rng)
    yield from tie_cases(rng)
    yield from upsample_cases(rng)
