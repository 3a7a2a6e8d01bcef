"""Misc family cases: TopK, CumSum, Hardmax, LRN, Einsum, QuantizeLinear, DequantizeLinear,
DynamicQuantizeLinear, Mish, ReverseSequence, Compress, Unique, NonMaxSuppression, RoiAlign,
GridSample and Det.

References are NumPy in float64 written from the ONNX spec (np.einsum, np.linalg.det,
stable argsorts, explicit loops), PyTorch's grid_sample and torchvision's roi_align in float64
for the two image ops. Quantization divides x by the scale in float32, as the spec's formula
does on float32 tensors (ONNX Runtime too), so that round-half-to-even ties land where they
should; integer outputs must then match exactly.
"""
import numpy as np
import onnx

import opcase


def _f32(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---- TopK ----

def _topk(rng, name, x, k, axis=-1, largest=1, sorted_=1, opset=11, k_const=False):
    ax = axis % x.ndim
    key = -x.astype(np.float64) if largest else x.astype(np.float64)
    idx = np.take(np.argsort(key, axis=ax, kind="stable"), np.arange(k), axis=ax)
    vals = np.take_along_axis(x, idx, axis=ax)
    outs = [("values", vals), ("indices", idx.astype(np.int64))]
    if opset < 10:
        return opcase.node_case(name, "TopK", [("x", x)], outs, {"k": k, "axis": axis},
                                opset=opset)
    attrs = {"axis": axis}
    if opset >= 11:
        attrs.update(largest=largest, sorted=sorted_)
    kk = np.array([k], dtype=np.int64)
    return opcase.node_case(name, "TopK", [("x", x), ("k", kk)], outs, attrs, opset=opset,
                            initializers=("k",) if k_const else ())


def topk_cases(rng):
    yield _topk(rng, "topk_opset1_attr_k", _f32(rng, (3, 11)), 4, opset=1)
    yield _topk(rng, "topk_opset10_axis1", _f32(rng, (2, 9, 3)), 5, axis=1, opset=10)
    yield _topk(rng, "topk_largest_last_axis", _f32(rng, (4, 37)), 7, k_const=True)
    yield _topk(rng, "topk_smallest_axis0", _f32(rng, (13, 5)), 3, axis=0, largest=0)
    yield _topk(rng, "topk_negative_axis", _f32(rng, (2, 7, 6)), 6, axis=-2)
    yield _topk(rng, "topk_full_sort", _f32(rng, (3, 17)), 17)
    yield _topk(rng, "topk_unsorted_attr", _f32(rng, (5, 8)), 3, sorted_=0)
    yield _topk(rng, "topk_k0", _f32(rng, (3, 4)), 0)
    # Many ties: equal values keep the lower index first.
    ties = rng.integers(0, 4, (4, 23)).astype(np.int64)
    yield _topk(rng, "topk_int64_ties_largest", ties, 9)
    yield _topk(rng, "topk_int64_ties_smallest", ties, 9, largest=0)
    yield _topk(rng, "topk_int32", rng.integers(-50, 50, (6, 5)).astype(np.int32), 2, axis=0)
    yield _topk(rng, "topk_double", rng.standard_normal((3, 10)), 4, opset=13)


# ---- CumSum ----

def _cumsum(name, x, axis, exclusive=0, reverse=0, axis_dtype=np.int64, axis_rank=0,
            opset=14, const_axis=False):
    ax = axis % x.ndim
    xd = np.flip(x, ax) if reverse else x
    y = np.cumsum(xd.astype(np.float64) if x.dtype.kind == "f" else xd, axis=ax)
    if exclusive:
        y = y - (xd.astype(np.float64) if x.dtype.kind == "f" else xd)
    if reverse:
        y = np.flip(y, ax)
    a = np.array(axis if axis_rank == 0 else [axis], dtype=axis_dtype)
    return opcase.node_case(name, "CumSum", [("x", x), ("axis", a)],
                            [("y", y.astype(x.dtype))],
                            {"exclusive": exclusive, "reverse": reverse}, opset=opset,
                            initializers=["axis"] if const_axis else ())


def cumsum_cases(rng):
    yield _cumsum("cumsum_axis0", _f32(rng, (7, 5)), 0, opset=11)
    yield _cumsum("cumsum_axis1_exclusive", _f32(rng, (3, 9, 2)), 1, exclusive=1)
    yield _cumsum("cumsum_reverse", _f32(rng, (4, 13)), -1, reverse=1, axis_dtype=np.int32)
    yield _cumsum("cumsum_reverse_exclusive", _f32(rng, (2, 3, 11)), 2, 1, 1, axis_rank=1)
    yield _cumsum("cumsum_long_1d", _f32(rng, (1001,)), 0)
    yield _cumsum("cumsum_int32", rng.integers(-9, 9, (5, 6)).astype(np.int32), -2)
    yield _cumsum("cumsum_int64_reverse", rng.integers(-99, 99, (6, 4)).astype(np.int64), 1,
                  reverse=1)
    yield _cumsum("cumsum_double", rng.standard_normal((4, 5)), 0, exclusive=1)
    # The axis as a constant, as exporters write it (RoBERTa's position ids): these run on the
    # GPU under --device cuda.
    yield _cumsum("cumsum_const_axis1", _f32(rng, (3, 9, 5)), 1, reverse=1, const_axis=True)
    yield _cumsum("cumsum_const_int32_excl", rng.integers(-9, 9, (4, 37)).astype(np.int32), -1,
                  exclusive=1, const_axis=True)
    yield _cumsum("cumsum_const_int64", rng.integers(-99, 99, (2, 128)).astype(np.int64), 1,
                  const_axis=True)


# ---- Hardmax ----

def _hardmax(name, x, axis=None, opset=13):
    ax = (1 if opset < 13 else -1) if axis is None else axis
    ax %= x.ndim
    if opset < 13:
        flat = x.reshape(int(np.prod(x.shape[:ax])), -1)
        y = np.zeros_like(flat)
        y[np.arange(flat.shape[0]), np.argmax(flat, axis=1)] = 1
        y = y.reshape(x.shape)
    else:
        y = np.zeros_like(x)
        np.put_along_axis(y, np.expand_dims(np.argmax(x, axis=ax), ax), 1, axis=ax)
    attrs = None if axis is None else {"axis": axis}
    return opcase.node_case(name, "Hardmax", [("x", x)], [("y", y)], attrs, opset=opset)


def hardmax_cases(rng):
    yield _hardmax("hardmax_opset11_coerce2d", _f32(rng, (2, 3, 5)), opset=11)
    yield _hardmax("hardmax_opset1_axis2", _f32(rng, (3, 2, 4, 3)), axis=2, opset=1)
    yield _hardmax("hardmax_opset13_default", _f32(rng, (4, 3, 7)))
    yield _hardmax("hardmax_axis0", _f32(rng, (6, 5)), axis=0)
    yield _hardmax("hardmax_negative_axis", _f32(rng, (3, 9, 2)), axis=-2)
    yield _hardmax("hardmax_double", rng.standard_normal((5, 4)), axis=1)


# ---- LRN ----

def _lrn(name, x, size, alpha=1e-4, beta=0.75, bias=1.0, defaults=False, opset=13):
    xd = x.astype(np.float64)
    c = x.shape[1]
    sq = np.zeros_like(xd)
    lo, hi = (size - 1) // 2, int(np.ceil((size - 1) / 2))
    for ch in range(c):
        a, b = max(0, ch - lo), min(c - 1, ch + hi)
        sq[:, ch] = np.sum(xd[:, a:b + 1] ** 2, axis=1)
    y = xd / (bias + alpha / size * sq) ** beta
    attrs = {"size": size} if defaults else {"size": size, "alpha": alpha, "beta": beta,
                                             "bias": bias}
    return opcase.node_case(name, "LRN", [("x", x)], [("y", y.astype(x.dtype))], attrs,
                            opset=opset)


def lrn_cases(rng):
    yield _lrn("lrn_defaults", _f32(rng, (2, 7, 5, 4)), 3, defaults=True)
    yield _lrn("lrn_size5_attrs", _f32(rng, (1, 9, 3, 6), 3.0), 5, alpha=0.02, beta=0.6,
               bias=2.0, opset=1)
    yield _lrn("lrn_even_size", _f32(rng, (2, 6, 7)), 4, alpha=0.1, beta=0.9, bias=1.5)
    yield _lrn("lrn_5d", _f32(rng, (1, 5, 2, 3, 4)), 3, alpha=0.05)
    yield _lrn("lrn_double", rng.standard_normal((2, 4, 3, 3)), 3, alpha=0.3)


# ---- Einsum ----

def _einsum(name, eq, *xs):
    y = np.einsum(eq, *[x.astype(np.float64) if x.dtype.kind == "f" else x for x in xs])
    ins = [(f"x{i}", x) for i, x in enumerate(xs)]
    return opcase.node_case(name, "Einsum", ins, [("y", np.asarray(y).astype(xs[0].dtype))],
                            {"equation": eq}, opset=12)


def einsum_cases(rng):
    f = lambda *s: _f32(rng, s)
    # sgemm fast path: plain, transposed operands, batched, grouped m/k/n labels, outer.
    yield _einsum("einsum_gemm_bij_bjk", "bij,bjk->bik", f(3, 5, 7), f(3, 7, 4))
    yield _einsum("einsum_gemm_implicit", "ij,jk", f(6, 9), f(9, 5))
    yield _einsum("einsum_gemm_trans_b", "ij,kj->ik", f(4, 33), f(7, 33))
    yield _einsum("einsum_gemm_trans_a", "ji,jk->ik", f(8, 3), f(8, 5))
    yield _einsum("einsum_gemm_attention", "bhqd,bhkd->bhqk", f(2, 3, 5, 16), f(2, 3, 6, 16))
    yield _einsum("einsum_gemm_grouped", "abc,cde->abde", f(2, 3, 11), f(11, 4, 5))
    yield _einsum("einsum_gemm_outer", "i,j->ij", f(5), f(7))
    yield _einsum("einsum_gemm_hadamard", "ab,ab->ab", f(3, 4), f(3, 4))
    yield _einsum("einsum_gemm_large_k", "mk,kn->mn", f(17, 300), f(300, 13))
    # General loops: reductions, diagonals, transposes, broadcasting, three operands.
    yield _einsum("einsum_inner", "i,i", f(13), f(13))
    yield _einsum("einsum_diag", "ii->i", f(5, 5))
    yield _einsum("einsum_trace", "ii", f(6, 6))
    yield _einsum("einsum_batch_diag", "...ii->...i", f(2, 3, 4, 4))
    yield _einsum("einsum_transpose_ellipsis", "...ij->...ji", f(2, 3, 4, 5))
    yield _einsum("einsum_broadcast_ellipsis", "...ij,...jk->...ik", f(2, 1, 3, 4), f(5, 4, 2))
    yield _einsum("einsum_sum_all", "ijk->", f(3, 4, 5))
    yield _einsum("einsum_partial_sum", "ijk,jl->il", f(3, 4, 5), f(4, 6))
    yield _einsum("einsum_three_operands", "ij,jk,kl->il", f(3, 4), f(4, 5), f(5, 2))
    yield _einsum("einsum_implicit_upper", "Bj,jA", f(3, 4), f(4, 2))
    yield _einsum("einsum_int64", "ij,j->i", rng.integers(-9, 9, (4, 5)).astype(np.int64),
                  rng.integers(-9, 9, (5,)).astype(np.int64))
    yield _einsum("einsum_int32_outer", "i,j->ji", rng.integers(-9, 9, (3,)).astype(np.int32),
                  rng.integers(-9, 9, (4,)).astype(np.int32))
    yield _einsum("einsum_double", "ijk->kji", rng.standard_normal((2, 3, 4)))


# ---- QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear ----

_QRANGE = {np.uint8: (0, 255), np.int8: (-128, 127)}


def _bshape(x, scale, axis):
    if scale.ndim == 0 or scale.size == 1:
        return scale.reshape(())
    shape = [1] * x.ndim
    shape[axis % x.ndim] = -1
    return scale.reshape(shape)


def _quant_ref(x, scale, zp, dtype, axis=1):
    s = _bshape(x, scale, axis).astype(np.float32)
    z = _bshape(x, zp, axis).astype(np.float64) if zp is not None else 0.0
    q = np.rint(x.astype(np.float32) / s).astype(np.float64) + z
    lo, hi = _QRANGE[dtype]
    return np.clip(q, lo, hi).astype(dtype)


def _quantize(name, x, scale, zp=None, dtype=np.uint8, axis=None, opset=13, attrs=None):
    dtype = zp.dtype.type if zp is not None else dtype
    y = _quant_ref(x, scale, zp, dtype, 1 if axis is None else axis)
    ins = [("x", x), ("y_scale", scale)] + ([("y_zero_point", zp)] if zp is not None else [])
    a = dict(attrs or {})
    if axis is not None:
        a["axis"] = axis
    return opcase.node_case(name, "QuantizeLinear", ins, [("y", y)], a or None, opset=opset,
                            initializers=("y_scale", "y_zero_point"))


def _dequantize(name, x, scale, zp=None, axis=None, opset=13):
    ax = 1 if axis is None else axis
    z = _bshape(x, zp, ax).astype(np.float64) if zp is not None else 0.0
    y = (x.astype(np.float64) - z) * _bshape(x, scale, ax).astype(np.float64)
    ins = [("x", x), ("x_scale", scale)] + ([("x_zero_point", zp)] if zp is not None else [])
    return opcase.node_case(name, "DequantizeLinear", ins, [("y", y.astype(np.float32))],
                            {"axis": axis} if axis is not None else None, opset=opset)


def quant_cases(rng):
    s = lambda *v: np.array(v, dtype=np.float32).reshape(-1) if len(v) > 1 else \
        np.array(v[0], dtype=np.float32)
    x = _f32(rng, (3, 4, 5), 20.0)
    yield _quantize("quantize_uint8_opset10", x, s(0.17), np.array(128, np.uint8), opset=10)
    yield _quantize("quantize_int8_per_tensor", x, s(0.23), np.array(-3, np.int8))
    yield _quantize("quantize_default_uint8", np.abs(x), s(0.31))
    yield _quantize("quantize_per_axis_int8", x, s(0.1, 0.2, 0.35, 0.05),
                    np.array([0, 5, -7, 2], np.int8))
    yield _quantize("quantize_per_axis0_uint8", _f32(rng, (3, 7), 10.0), s(0.07, 0.2, 0.11),
                    np.array([100, 128, 3], np.uint8), axis=0)
    yield _quantize("quantize_per_axis_neg", _f32(rng, (2, 3, 6), 4.0),
                    s(*(rng.uniform(0.01, 0.1, 6))), np.array([0, 1, 2, 3, 4, 5], np.uint8),
                    axis=-1)
    # Exact halves (scale 0.5) test round-half-to-even; large values saturate.
    halves = (rng.integers(-400, 400, (4, 9)) * 0.25).astype(np.float32)
    yield _quantize("quantize_ties_saturate_int8", halves, s(0.5), np.array(1, np.int8))
    yield _quantize("quantize_ties_saturate_uint8", halves, s(0.5), np.array(10, np.uint8))
    yield _quantize("quantize_int32_input", rng.integers(-900, 900, (5, 4)).astype(np.int32),
                    s(4.0), np.array(3, np.int8), opset=10)
    yield _quantize("quantize_opset21_output_dtype", x, s(0.2), dtype=np.int8, opset=21,
                    attrs={"output_dtype": onnx.TensorProto.INT8})
    xq = rng.integers(0, 256, (3, 4, 5)).astype(np.uint8)
    yield _dequantize("dequantize_uint8_opset10", xq, s(0.03), np.array(120, np.uint8),
                      opset=10)
    yield _dequantize("dequantize_int8_no_zp", rng.integers(-128, 128, (4, 6)).astype(np.int8),
                      s(0.5))
    yield _dequantize("dequantize_per_axis_uint8", xq, s(0.1, 0.02, 0.3, 1.5),
                      np.array([0, 10, 128, 255], np.uint8))
    yield _dequantize("dequantize_per_axis_int8_neg", rng.integers(-128, 128, (2, 5, 3))
                      .astype(np.int8), s(0.25, 0.5, 2.0), np.array([-1, 0, 7], np.int8),
                      axis=-1)
    yield _dequantize("dequantize_int32", rng.integers(-10**6, 10**6, (7,)).astype(np.int32),
                      s(0.001), opset=10)
    yield _dequantize("dequantize_int32_zp", rng.integers(-10**5, 10**5, (3, 4)).astype(np.int32),
                      s(0.01), np.array(-77, np.int32))


def _dynquant(name, x):
    f = np.float32
    mn, mx = min(f(0), x.min()), max(f(0), x.max())
    scale = f((f(mx) - f(mn)) / f(255))
    zp = np.clip(np.rint(f(0) - f(mn) / scale), 0, 255)
    y = np.clip(np.rint(x / scale) + zp, 0, 255).astype(np.uint8)
    return opcase.node_case(name, "DynamicQuantizeLinear", [("x", x)],
                            [("y", y), ("y_scale", np.array(scale, np.float32)),
                             ("y_zero_point", np.array(zp, np.uint8))], opset=11)


def dynquant_cases(rng):
    yield _dynquant("dynquant_mixed_sign", _f32(rng, (4, 7), 3.0))
    yield _dynquant("dynquant_positive", np.abs(_f32(rng, (3, 5, 2))) + 0.5)
    yield _dynquant("dynquant_negative", -np.abs(_f32(rng, (9,), 2.0)) - 1.0)


# ---- Mish ----

def mish_cases(rng):
    for name, x in (("mish_float", _f32(rng, (3, 4, 5), 3.0)),
                    ("mish_extremes", np.array([-100, -30, -5, 0, 1e-3, 5, 30, 80], np.float32)),
                    ("mish_double", rng.standard_normal((2, 7)) * 4)):
        xd = x.astype(np.float64)
        y = xd * np.tanh(np.logaddexp(0, xd))
        yield opcase.node_case(name, "Mish", [("x", x)], [("y", y.astype(x.dtype))], opset=18)


# ---- ReverseSequence ----

def _revseq(name, x, lens, batch_axis=1, time_axis=0):
    y = x.copy()
    for b, n in enumerate(lens):
        idx = [slice(None)] * x.ndim
        idx[batch_axis], idx[time_axis] = b, slice(0, n)
        src = list(idx)
        src[time_axis] = slice(n - 1, None, -1) if n > 0 else slice(0, 0)
        y[tuple(idx)] = x[tuple(src)]
    return opcase.node_case(name, "ReverseSequence",
                            [("x", x), ("sequence_lens", np.array(lens, np.int64))], [("y", y)],
                            {"batch_axis": batch_axis, "time_axis": time_axis}, opset=10)


def revseq_cases(rng):
    yield _revseq("reversesequence_time_major", _f32(rng, (6, 4, 3)), [6, 1, 3, 0])
    yield _revseq("reversesequence_batch_major", rng.integers(0, 99, (3, 7)).astype(np.int64),
                  [7, 2, 5], batch_axis=0, time_axis=1)
    yield _revseq("reversesequence_4d", _f32(rng, (2, 5, 3, 2)), [4, 5], 0, 1)


# ---- Compress ----

def _compress(name, x, cond, axis=None, opset=11, const=False):
    y = np.compress(cond, x, axis=axis)
    return opcase.node_case(name, "Compress", [("x", x), ("condition", cond)], [("y", y)],
                            {"axis": axis} if axis is not None else None, opset=opset,
                            initializers=("condition",) if const else ())


def compress_cases(rng):
    b = lambda n: rng.integers(0, 2, n).astype(np.bool_)
    yield _compress("compress_axis0", _f32(rng, (7, 3)), b(7), 0, opset=9)
    yield _compress("compress_axis1_short_cond", _f32(rng, (3, 8, 2)), b(5), 1)
    yield _compress("compress_negative_axis", _f32(rng, (2, 3, 9)), b(9), -1, const=True)
    yield _compress("compress_flatten", _f32(rng, (4, 5)), b(17))
    yield _compress("compress_int64_none_true", rng.integers(0, 9, (3, 4)).astype(np.int64),
                    np.zeros(3, np.bool_), 0)


# ---- Unique ----

def _unique_ref(x, axis, sorted_):
    if axis is None:
        slices = [(v,) for v in x.reshape(-1).tolist()]
    else:
        moved = np.moveaxis(x, axis, 0)
        slices = [tuple(s.reshape(-1).tolist()) for s in moved]
    first = {}
    for i, s in enumerate(slices):
        first.setdefault(s, i)
    keys = sorted(first) if sorted_ else sorted(first, key=lambda k: first[k])
    pos = {k: p for p, k in enumerate(keys)}
    idx = np.array([first[k] for k in keys], np.int64)
    inv = np.array([pos[s] for s in slices], np.int64)
    cnt = np.array([sum(1 for s in slices if s == k) for k in keys], np.int64)
    y = x.reshape(-1)[idx] if axis is None else np.take(x, idx, axis=axis)
    return y, idx, inv, cnt


def _unique(name, x, axis=None, sorted_=1, n_out=4):
    y, idx, inv, cnt = _unique_ref(x, axis if axis is None else axis % x.ndim, sorted_)
    outs = [("y", y), ("indices", idx), ("inverse_indices", inv), ("counts", cnt)][:n_out]
    attrs = {"sorted": sorted_}
    if axis is not None:
        attrs["axis"] = axis
    return opcase.node_case(name, "Unique", [("x", x)], outs, attrs, opset=11)


def unique_cases(rng):
    small = lambda *s: rng.integers(-3, 4, s)
    yield _unique("unique_sorted_flat_float", small(4, 6).astype(np.float32))
    yield _unique("unique_unsorted_flat_int64", small(23).astype(np.int64), sorted_=0)
    yield _unique("unique_axis0_rows", small(9, 2).clip(-1, 1).astype(np.float32), axis=0)
    yield _unique("unique_axis1_3d", small(2, 7, 2).clip(0, 1).astype(np.int64), axis=1)
    yield _unique("unique_negative_axis_unsorted", small(3, 8).clip(-1, 0).astype(np.int32),
                  axis=-1, sorted_=0)
    yield _unique("unique_only_y", rng.integers(0, 50, 40).astype(np.int64), n_out=1)
    yield _unique("unique_double_two_outputs", small(11).astype(np.float64), n_out=2)


# ---- NonMaxSuppression ----

def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if inter > 0 and ua > 0 else 0.0


def _corners(box, center):
    box = box.astype(np.float64)
    if center:
        xc, yc, w, h = box
        return (xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2)
    y1, x1, y2, x2 = box
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _nms_ref(boxes, scores, max_out, iou, score_thr, center):
    sel = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c].astype(np.float64)
            cand = [i for i in range(len(s)) if score_thr is None or s[i] > score_thr]
            cand.sort(key=lambda i: (-s[i], i))
            keep = []
            for i in cand:
                if len(keep) >= max_out:
                    break
                bi = _corners(boxes[b, i], center)
                if all(_iou(_corners(boxes[b, k], center), bi) <= iou for k in keep):
                    keep.append(i)
            sel += [[b, c, i] for i in keep]
    return np.array(sel, np.int64).reshape(-1, 3)


def _nms(name, boxes, scores, max_out=None, iou=None, score_thr=None, center=0, opset=11):
    ins = [("boxes", boxes), ("scores", scores)]
    if max_out is not None:
        ins.append(("max_output_boxes_per_class", np.array([max_out], np.int64)))
    if iou is not None:
        ins.append(("iou_threshold", np.array([iou], np.float32)))
    if score_thr is not None:
        ins.append(("score_threshold", np.array([score_thr], np.float32)))
    y = _nms_ref(boxes, scores, max_out or 0, float(np.float32(iou or 0)),
                 None if score_thr is None else float(np.float32(score_thr)), center)
    return opcase.node_case(name, "NonMaxSuppression", ins, [("selected_indices", y)],
                            {"center_point_box": center}, opset=opset)


def _boxes(rng, b, n, center):
    if center:
        xy = rng.uniform(0, 10, (b, n, 2))
        wh = rng.uniform(0.5, 4, (b, n, 2))
        return np.concatenate([xy, wh], -1).astype(np.float32)
    p = rng.uniform(0, 10, (b, n, 2))
    q = p + rng.uniform(-4, 4, (b, n, 2))  # any diagonal: some boxes are flipped
    return np.concatenate([p, q], -1).astype(np.float32)


def nms_cases(rng):
    sc = lambda b, c, n: rng.uniform(0, 1, (b, c, n)).astype(np.float32)
    yield _nms("nms_corner_basic", _boxes(rng, 1, 12, 0), sc(1, 1, 12), 5, 0.4)
    yield _nms("nms_center_two_classes", _boxes(rng, 1, 15, 1), sc(1, 2, 15), 4, 0.3, 0.2,
               center=1)
    yield _nms("nms_two_batches_score_thr", _boxes(rng, 2, 20, 0), sc(2, 3, 20), 10, 0.5, 0.6,
               opset=10)
    yield _nms("nms_no_suppression_limit", _boxes(rng, 1, 9, 0), sc(1, 1, 9), 3, 1.0)
    yield _nms("nms_omitted_inputs", _boxes(rng, 1, 4, 0), sc(1, 1, 4))
    tied = np.repeat(np.float32(0.5), 6).reshape(1, 1, 6)
    yield _nms("nms_tied_scores", _boxes(rng, 1, 6, 1), tied, 6, 0.1, center=1)


# ---- RoiAlign ----

def _roi_sample(p, y, x, mode):
    h, w = p.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    t = [(1 - ly) * (1 - lx) * p[y0, x0], (1 - ly) * lx * p[y0, x1],
         ly * (1 - lx) * p[y1, x0], ly * lx * p[y1, x1]]
    return sum(t) if mode == "avg" else max(t)


def _roialign_ref(x, rois, bi, oh, ow, ratio, scale, half_pixel, mode):
    x = x.astype(np.float64)
    out = np.zeros((len(rois), x.shape[1], oh, ow))
    off = 0.5 if half_pixel else 0.0
    for r, roi in enumerate(rois.astype(np.float64)):
        x0, y0 = roi[0] * scale - off, roi[1] * scale - off
        rw, rh = roi[2] * scale - off - x0, roi[3] * scale - off - y0
        if not half_pixel:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gh = ratio if ratio > 0 else int(np.ceil(rh / oh))
        gw = ratio if ratio > 0 else int(np.ceil(rw / ow))
        for c in range(x.shape[1]):
            p = x[bi[r], c]
            for ph in range(oh):
                for pw in range(ow):
                    v = [_roi_sample(p, y0 + ph * bh + (iy + .5) * bh / gh,
                                     x0 + pw * bw + (ix + .5) * bw / gw, mode)
                         for iy in range(gh) for ix in range(gw)]
                    if mode == "avg":
                        out[r, c, ph, pw] = sum(v) / max(gh * gw, 1)
                    else:
                        out[r, c, ph, pw] = max(v) if v else 0.0
    return out


def _roialign(rng, name, n, c, h, w, r, oh, ow, ratio=0, scale=1.0, ctm=None, mode="avg",
              opset=16):
    x = rng.uniform(-1, 1, (n, c, h, w)).astype(np.float32)
    lo = rng.uniform(-1, [w * 0.6 / scale, h * 0.6 / scale], (r, 2))
    hi = lo + rng.uniform(0.3, [w / scale * 0.7, h / scale * 0.7], (r, 2))
    rois = np.concatenate([lo, hi], 1).astype(np.float32)
    bi = rng.integers(0, n, r).astype(np.int64)
    half = ctm == "half_pixel" or (ctm is None and opset >= 16)
    y = _roialign_ref(x, rois, bi, oh, ow, ratio, scale, half, mode)
    attrs = {"output_height": oh, "output_width": ow, "sampling_ratio": ratio,
             "spatial_scale": scale, "mode": mode}
    if ctm is not None:
        attrs["coordinate_transformation_mode"] = ctm
    return opcase.node_case(name, "RoiAlign", [("x", x), ("rois", rois), ("batch_indices", bi)],
                            [("y", y.astype(np.float32))], attrs, opset=opset)


def roialign_cases(rng):
    yield _roialign(rng, "roialign_half_pixel_adaptive", 2, 3, 9, 11, 4, 3, 2)
    yield _roialign(rng, "roialign_output_half_pixel_ratio2", 1, 2, 8, 8, 3, 4, 4, ratio=2,
                    ctm="output_half_pixel")
    yield _roialign(rng, "roialign_opset10_scale", 2, 2, 10, 12, 5, 2, 3, scale=0.5, opset=10)
    yield _roialign(rng, "roialign_max_mode", 1, 3, 7, 9, 3, 2, 2, ratio=2, mode="max")


# ---- GridSample (reference: PyTorch's grid_sample in float64) ----

def _gridsample(rng, name, n, c, h, w, oh, ow, mode="bilinear", pad="zeros", align=0,
                opset=16):
    import torch
    x = _f32(rng, (n, c, h, w))
    grid = rng.uniform(-1.2, 1.2, (n, oh, ow, 2)).astype(np.float32)
    tmode = {"linear": "bilinear", "cubic": "bicubic"}.get(mode, mode)
    y = torch.nn.functional.grid_sample(torch.from_numpy(x).double(),
                                        torch.from_numpy(grid).double(), mode=tmode,
                                        padding_mode=pad, align_corners=bool(align)).numpy()
    return opcase.node_case(name, "GridSample", [("x", x), ("grid", grid)],
                            [("y", y.astype(np.float32))],
                            {"mode": mode, "padding_mode": pad, "align_corners": align},
                            opset=opset)


def gridsample_cases(rng):
    for mode in ("bilinear", "nearest", "bicubic"):
        for pad in ("zeros", "border", "reflection"):
            for align in (0, 1):
                yield _gridsample(rng, f"gridsample_{mode}_{pad}_ac{align}", 2, 3, 5, 7, 4, 6,
                                  mode, pad, align)
    yield _gridsample(rng, "gridsample_opset20_linear", 1, 2, 6, 5, 3, 3, "linear", opset=20)
    yield _gridsample(rng, "gridsample_opset20_cubic", 1, 2, 6, 5, 3, 3, "cubic", "border",
                      opset=20)


# ---- Det ----

def det_cases(rng):
    for name, x in (("det_3x3", _f32(rng, (3, 3))), ("det_batched", _f32(rng, (2, 3, 4, 4))),
                    ("det_1x1", _f32(rng, (5, 1, 1))),
                    ("det_singular", np.array([[1, 2], [2, 4]], np.float32)),
                    ("det_double", rng.standard_normal((3, 5, 5)))):
        y = np.linalg.det(x.astype(np.float64))
        yield opcase.node_case(name, "Det", [("x", x)], [("y", np.asarray(y).astype(x.dtype))],
                               opset=11)


def cases(rng):
    yield from topk_cases(rng)
    yield from cumsum_cases(rng)
    yield from hardmax_cases(rng)
    yield from lrn_cases(rng)
    yield from einsum_cases(rng)
    yield from quant_cases(rng)
    yield from dynquant_cases(rng)
    yield from mish_cases(rng)
    yield from revseq_cases(rng)
    yield from compress_cases(rng)
    yield from unique_cases(rng)
    yield from nms_cases(rng)
    yield from roialign_cases(rng)
    yield from gridsample_cases(rng)
    yield from det_cases(rng)
