"""Gather, GatherElements, GatherND, ScatterND, ScatterElements/Scatter and OneHot cases.

References are NumPy indexing written per the ONNX spec (np.take, take_along_axis, explicit
loops for the ND forms); every dtype is moved by value, so results must match exactly.
"""
import numpy as np

import opcase


def _data(rng, shape, dtype=np.float32):
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-100, 100, shape).astype(dtype) if dtype != np.uint8 else \
            rng.integers(0, 255, shape).astype(np.uint8)
    return rng.standard_normal(shape).astype(dtype)


def _indices(rng, shape, dim, negative=True, dtype=np.int64):
    lo = -dim if negative else 0
    return rng.integers(lo, dim, shape).astype(dtype)


def _gather(rng, name, shape, idx_shape, axis, dtype=np.float32, idx_dtype=np.int64, opset=13,
            attr=True, const_idx=False):
    x = _data(rng, shape, dtype)
    ax = axis % len(shape)
    idx = _indices(rng, idx_shape, shape[ax], negative=opset >= 11, dtype=idx_dtype)
    y = np.take(x, idx.astype(np.int64), axis=ax)
    return opcase.node_case(name, "Gather", [("data", x), ("indices", idx)], [("y", y)],
                            attrs={"axis": axis} if attr else None, opset=opset,
                            initializers=("indices",) if const_idx else ())


def gather_cases(rng):
    yield _gather(rng, "gather_axis0", (5, 4), (3,), 0, attr=False)
    yield _gather(rng, "gather_axis1_2d_idx", (3, 7, 2), (2, 3), 1)
    yield _gather(rng, "gather_axis_neg1", (2, 3, 9), (4,), -1)
    yield _gather(rng, "gather_scalar_index", (6, 5), (), 0)
    yield _gather(rng, "gather_1d", (11,), (4, 2), 0, idx_dtype=np.int32)
    yield _gather(rng, "gather_int32_idx", (4, 6), (5,), 1, idx_dtype=np.int32, opset=11)
    yield _gather(rng, "gather_opset1", (5, 3), (2, 2), 0, opset=1)
    yield _gather(rng, "gather_int64_data", (7, 3), (4,), 0, dtype=np.int64, const_idx=True)
    yield _gather(rng, "gather_uint8_data", (3, 5, 2), (6,), 1, dtype=np.uint8)
    yield _gather(rng, "gather_bool_data", (4, 3), (2,), -2, dtype=np.bool_)
    yield _gather(rng, "gather_float16_data", (5, 6), (3, 2), 1, dtype=np.float16)
    yield _gather(rng, "gather_double_data", (3, 4), (5,), 0, dtype=np.float64)
    # Embedding-table row gathers (the memcpy-per-row path) and a BERT-like token lookup.
    yield _gather(rng, "gather_embedding_rows", (1000, 64), (8, 37), 0, const_idx=False)
    yield _gather(rng, "gather_token_embedding", (512, 96), (2, 33), 0, idx_dtype=np.int32)
    yield _gather(rng, "gather_many_small_rows", (3, 300), (257,), 1)


def _gather_elements(rng, name, shape, idx_shape, axis, dtype=np.float32, idx_dtype=np.int64):
    x = _data(rng, shape, dtype)
    ax = axis % len(shape)
    idx = _indices(rng, idx_shape, shape[ax], dtype=idx_dtype)
    norm = np.where(idx < 0, idx + shape[ax], idx).astype(np.int64)
    # take_along_axis needs equal non-axis dims: slice data down to the indices' extent.
    sl = tuple(slice(None) if d == ax else slice(0, idx_shape[d]) for d in range(len(shape)))
    y = np.take_along_axis(x[sl], norm, axis=ax)
    attrs = {"axis": axis}
    return opcase.node_case(name, "GatherElements", [("data", x), ("indices", idx)], [("y", y)],
                            attrs=attrs, opset=13)


def gather_elements_cases(rng):
    yield _gather_elements(rng, "gather_elements_axis0", (4, 3), (5, 3), 0)
    yield _gather_elements(rng, "gather_elements_axis1", (3, 6), (3, 2), 1, idx_dtype=np.int32)
    yield _gather_elements(rng, "gather_elements_3d_neg_axis", (2, 5, 7), (2, 5, 3), -1)
    yield _gather_elements(rng, "gather_elements_smaller_idx", (4, 5, 6), (2, 7, 3), 1)
    yield _gather_elements(rng, "gather_elements_int64", (5, 4), (5, 4), 0, dtype=np.int64)


def _gather_nd_ref(x, idx, b):
    idx = idx.astype(np.int64)
    batch = x.shape[:b]
    k = idx.shape[-1]
    out_shape = idx.shape[:-1] + x.shape[b + k:]
    nb = int(np.prod(batch)) if b else 1
    xb = x.reshape((nb,) + x.shape[b:])
    ib = idx.reshape((nb, -1, k))
    rows = []
    for i in range(nb):
        for t in ib[i]:
            coord = tuple(int(v) + (x.shape[b + j] if v < 0 else 0) for j, v in enumerate(t))
            rows.append(xb[i][coord])
    return np.array(rows, dtype=x.dtype).reshape(out_shape)


def _gather_nd(rng, name, shape, idx_prefix, k, b=0, dtype=np.float32, idx_dtype=np.int64):
    x = _data(rng, shape, dtype)
    cols = [_indices(rng, idx_prefix, shape[b + j], dtype=idx_dtype) for j in range(k)]
    idx = np.stack(cols, axis=-1)
    y = _gather_nd_ref(x, idx, b)
    attrs = {"batch_dims": b} if b else None
    return opcase.node_case(name, "GatherND", [("data", x), ("indices", idx)], [("y", y)],
                            attrs=attrs, opset=13 if b or idx_dtype == np.int32 else 11)


def gather_nd_cases(rng):
    yield _gather_nd(rng, "gather_nd_k1", (5, 4, 3), (2, 3), 1)
    yield _gather_nd(rng, "gather_nd_k2", (5, 4, 3), (6,), 2)
    yield _gather_nd(rng, "gather_nd_full", (3, 4, 2), (2, 2), 3, idx_dtype=np.int32)
    yield _gather_nd(rng, "gather_nd_batch1", (3, 5, 4, 2), (3, 4), 2, b=1)
    yield _gather_nd(rng, "gather_nd_batch2_int64", (2, 3, 6, 5), (2, 3, 2), 1, b=2,
                     dtype=np.int64)


def _red(a, b, reduction):
    if reduction == "add":
        return a + b
    if reduction == "mul":
        return a * b
    if reduction == "max":
        return np.maximum(a, b)
    if reduction == "min":
        return np.minimum(a, b)
    return b


def _scatter_nd(rng, name, shape, n_upd, k, reduction=None, opset=16, dtype=np.float32):
    x = _data(rng, shape, dtype)
    # Distinct tuples for plain assignment (duplicates there are undefined); repeats allowed
    # for reductions, applied in order.
    all_t = np.array(np.meshgrid(*[np.arange(shape[j]) for j in range(k)], indexing="ij"))
    all_t = all_t.reshape(k, -1).T
    if reduction:
        pick = rng.integers(0, len(all_t), n_upd)
    else:
        pick = rng.permutation(len(all_t))[:n_upd]
    idx = all_t[pick].astype(np.int64)
    if rng.integers(0, 2):  # exercise negative indices
        idx = idx - np.array(shape[:k]) * rng.integers(0, 2, idx.shape)
    upd = _data(rng, (n_upd,) + shape[k:], dtype)
    y = x.copy()
    for t, u in zip(idx, upd):
        c = tuple(int(v) + (shape[j] if v < 0 else 0) for j, v in enumerate(t))
        y[c] = _red(y[c], u, reduction)
    attrs = {"reduction": reduction} if reduction else None
    return opcase.node_case(name, "ScatterND", [("data", x), ("indices", idx), ("updates", upd)],
                            [("y", y)], attrs=attrs, opset=opset)


def _scatter_elements(rng, name, shape, idx_shape, axis, reduction=None, opset=16,
                      op="ScatterElements", dtype=np.float32):
    x = _data(rng, shape, dtype)
    ax = axis % len(shape)
    idx = _indices(rng, idx_shape, shape[ax])
    if not reduction:
        # Unique targets per line along the axis, so the result does not depend on order.
        idx = np.argsort(rng.random(idx_shape[:ax] + (shape[ax],) + idx_shape[ax + 1:]),
                         axis=ax).take(range(idx_shape[ax]), axis=ax).astype(np.int64)
    upd = _data(rng, idx_shape, dtype)
    y = x.copy()
    for m in np.ndindex(*idx_shape):
        t = list(m)
        t[ax] = int(idx[m]) + (shape[ax] if idx[m] < 0 else 0)
        y[tuple(t)] = _red(y[tuple(t)], upd[m], reduction)
    attrs = {"axis": axis}
    if reduction:
        attrs["reduction"] = reduction
    return opcase.node_case(name, op, [("data", x), ("indices", idx), ("updates", upd)],
                            [("y", y)], attrs=attrs, opset=opset)


def scatter_cases(rng):
    yield _scatter_nd(rng, "scatter_nd_k1", (6, 3, 2), 4, 1, opset=11)
    yield _scatter_nd(rng, "scatter_nd_k2", (4, 5, 3), 7, 2, opset=13, dtype=np.int64)
    yield _scatter_nd(rng, "scatter_nd_full", (3, 4), 5, 2)
    yield _scatter_nd(rng, "scatter_nd_add", (5, 4), 9, 1, "add")
    yield _scatter_nd(rng, "scatter_nd_mul", (4, 3, 2), 6, 2, "mul")
    yield _scatter_nd(rng, "scatter_nd_max", (5, 3), 8, 1, "max", opset=18)
    yield _scatter_nd(rng, "scatter_nd_min_int32", (6, 2), 8, 1, "min", opset=18,
                      dtype=np.int32)
    yield _scatter_elements(rng, "scatter_elements_axis0", (5, 4), (3, 4), 0, opset=11)
    yield _scatter_elements(rng, "scatter_elements_axis_neg1", (3, 7), (2, 4), -1, opset=13)
    yield _scatter_elements(rng, "scatter_elements_3d_add", (2, 4, 5), (2, 6, 3), 1, "add")
    yield _scatter_elements(rng, "scatter_elements_mul", (4, 3), (5, 3), 0, "mul")
    yield _scatter_elements(rng, "scatter_elements_max", (3, 6), (3, 8), 1, "max", opset=18)
    yield _scatter_elements(rng, "scatter_elements_min_int64", (4, 4), (6, 2), 0, "min",
                            opset=18, dtype=np.int64)
    yield _scatter_elements(rng, "scatter_opset9", (4, 5), (4, 2), 1, opset=9, op="Scatter")


def _one_hot(rng, name, idx_shape, depth, axis=None, idx_dtype=np.int64, val_dtype=np.float32,
             depth_dtype=np.int64, opset=11):
    idx = rng.integers(-depth - 2, depth + 2, idx_shape)
    if np.issubdtype(idx_dtype, np.floating):
        idx = idx.astype(idx_dtype)
    else:
        idx = idx.astype(idx_dtype)
    values = np.array([rng.integers(-5, 0), rng.integers(1, 9)]).astype(val_dtype)
    r = len(idx_shape)
    ax = (-1 if axis is None else axis) % (r + 1)
    y = np.full(idx_shape[:ax] + (depth,) + idx_shape[ax:], values[0], dtype=val_dtype)
    for m in np.ndindex(*idx_shape):
        v = int(idx[m])
        v = v + depth if v < 0 else v
        if 0 <= v < depth:
            y[m[:ax] + (v,) + m[ax:]] = values[1]
    attrs = {"axis": axis} if axis is not None else None
    d = np.array(depth, dtype=depth_dtype)
    return opcase.node_case(name, "OneHot", [("indices", idx), ("depth", d), ("values", values)],
                            [("y", y)], attrs=attrs, opset=opset, initializers=("depth",))


def one_hot_cases(rng):
    yield _one_hot(rng, "one_hot_default_axis", (3, 4), 6)
    yield _one_hot(rng, "one_hot_axis0", (5,), 4, axis=0, opset=9)
    yield _one_hot(rng, "one_hot_axis1_int32", (2, 3, 2), 5, axis=1, idx_dtype=np.int32,
                   val_dtype=np.int64)
    yield _one_hot(rng, "one_hot_neg_axis_float_idx", (4, 3), 7, axis=-2, idx_dtype=np.float32,
                   depth_dtype=np.float32)


def cases(rng):
    yield from gather_cases(rng)
    yield from gather_elements_cases(rng)
    yield from gather_nd_cases(rng)
    yield from scatter_cases(rng)
    yield from one_hot_cases(rng)
