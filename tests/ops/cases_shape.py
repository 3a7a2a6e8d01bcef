"""Shape-family cases: Reshape, Transpose, Flatten, (Un)Squeeze, Concat, Split, Slice, Expand,
Tile, Range, Shape, Size, ConstantOfShape, Constant, DepthToSpace, SpaceToDepth, EyeLike, Trilu
and NonZero, over random odd shapes, negative axes, every attribute and old/new opsets, in
float32, int64, bool and the other element sizes (uint8, float16, double).

References are NumPy (reshape, transpose, concatenate, slicing, broadcast_to, tile, arange, ...)
on the same data: these ops move values without arithmetic, so the expected output is exact.
Shape-like inputs are initializers (as exported models have them) except where a case says.
"""
import numpy as np

import opcase

DTYPES = [np.float32, np.int64, np.bool_, np.uint8, np.float16, np.float64, np.int32]


def _data(rng, shape, dtype=np.float32):
    shape = tuple(int(s) for s in shape)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        lo = 0 if np.issubdtype(dtype, np.unsignedinteger) else -100
        return rng.integers(lo, 100, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _shape(rng, rank, lo=1, hi=6):
    return [int(v) for v in rng.integers(lo, hi, size=rank)]


def _i64(v):
    return np.array(v, dtype=np.int64)


def _case(name, op, inputs, outputs, attrs=None, opset=17, consts=()):
    return opcase.node_case("shape_" + name, op, inputs, outputs, attrs=attrs, opset=opset,
                            initializers=set(consts))


def reshape_cases(rng):
    for i, (opset, dt) in enumerate([(5, np.float32), (13, np.int64), (14, np.bool_),
                                     (14, np.float16), (13, np.uint8)]):
        x = _data(rng, [3, 4, 5, 2], dt)
        for j, shape in enumerate([[12, 10], [0, -1, 2], [-1], [3, 0, -1, 1, 2], [1, 3, 40]]):
            ref = x.reshape([x.shape[k] if s == 0 else s for k, s in enumerate(shape)])
            yield _case(f"reshape_{i}_{j}", "Reshape", [("x", x), ("s", _i64(shape))],
                        [("y", ref)], opset=opset, consts=["s"])
    x = _data(rng, [300, 1001])  # over 1 MiB: the copy is split over threads
    yield _case("reshape_big", "Reshape", [("x", x), ("s", _i64([-1, 7, 3]))],
                [("y", x.reshape(-1, 7, 3))], opset=14, consts=["s"])
    # shape fed as a graph input (its value still decides the output shape)
    x = _data(rng, [2, 3, 7])
    yield _case("reshape_fed_shape", "Reshape", [("x", x), ("s", _i64([7, -1]))],
                [("y", x.reshape(7, 6))])
    # allowzero: a 0 in shape is a zero-sized dim
    x = _data(rng, [0, 3, 4])
    yield _case("reshape_allowzero", "Reshape", [("x", x), ("s", _i64([3, 4, 0]))],
                [("y", x.reshape(3, 4, 0))], attrs={"allowzero": 1}, opset=14, consts=["s"])
    x = _data(rng, [4, 6])
    yield _case("reshape_v1_attr", "Reshape", [("x", x)], [("y", x.reshape(3, 8))],
                attrs={"shape": [3, -1]}, opset=4)


def transpose_cases(rng):
    for i in range(14):
        rank = int(rng.integers(1, 7))
        dt = DTYPES[i % len(DTYPES)]
        x = _data(rng, _shape(rng, rank, 1, 7), dt)
        perm = [int(p) for p in rng.permutation(rank)]
        yield _case(f"transpose_{i}", "Transpose", [("x", x)], [("y", x.transpose(perm))],
                    attrs={"perm": perm})
    x = _data(rng, [3, 5, 2, 4], np.int64)
    yield _case("transpose_default", "Transpose", [("x", x)], [("y", x.transpose())])
    # BERT-like head permutes and a large 2-D transpose (tiled path), odd sizes
    for name, shape, perm in [("bert_0213", [2, 37, 4, 17], [0, 2, 1, 3]),
                              ("bert_0231", [2, 37, 4, 17], [0, 2, 3, 1]),
                              ("bert_0312", [2, 33, 5, 19], [0, 3, 1, 2]),
                              ("big2d", [131, 67], [1, 0]),
                              ("big2d_u8", [257, 45], [1, 0]),
                              ("move_axis", [3, 29, 41, 6], [0, 3, 1, 2]),
                              ("big_i64", [70, 91], [1, 0]),
                              ("big_f16", [3, 45, 70], [0, 2, 1]),
                              ("parallel", [4, 130, 6, 70], [0, 2, 3, 1]),
                              ("parallel_rows", [4, 130, 6, 70], [2, 0, 1, 3])]:
        dt = {"u8": np.uint8, "64": np.int64, "16": np.float16}.get(name[-2:], np.float32)
        x = _data(rng, shape, dt)
        yield _case(f"transpose_{name}", "Transpose", [("x", x)], [("y", x.transpose(perm))],
                    attrs={"perm": perm})
    x = _data(rng, [64, 96], np.float64)
    yield _case("transpose_2d_f64", "Transpose", [("x", x)], [("y", x.T)], attrs={"perm": [1, 0]},
                opset=21)


def flatten_cases(rng):
    x = _data(rng, [2, 3, 4, 5])
    for axis in range(-4, 5):
        a = axis % 4 if axis < 0 else axis
        ref = x.reshape(int(np.prod(x.shape[:a])), -1)
        yield _case(f"flatten_axis{axis}".replace("-", "m"), "Flatten", [("x", x)],
                    [("y", ref)], attrs={"axis": axis}, opset=13)
    x = _data(rng, [3, 2, 5], np.bool_)
    yield _case("flatten_default_v1", "Flatten", [("x", x)], [("y", x.reshape(3, 10))], opset=1)


def squeeze_cases(rng):
    x = _data(rng, [1, 3, 1, 4, 1])
    yield _case("squeeze_all", "Squeeze", [("x", x)], [("y", x.reshape(3, 4))], opset=13)
    yield _case("squeeze_attr", "Squeeze", [("x", x)], [("y", np.squeeze(x, axis=(0, 4)))],
                attrs={"axes": [0, -1]}, opset=11)
    xi = _data(rng, [1, 3, 1, 4, 1], np.int64)
    yield _case("squeeze_input", "Squeeze", [("x", xi), ("a", _i64([-3, 0]))],
                [("y", np.squeeze(xi, axis=(0, 2)))], opset=13, consts=["a"])
    x = _data(rng, [3, 4], np.bool_)
    yield _case("unsqueeze_attr", "Unsqueeze", [("x", x)],
                [("y", x.reshape(1, 3, 1, 4))], attrs={"axes": [0, 2]}, opset=11)
    x = _data(rng, [3, 4, 5])
    yield _case("unsqueeze_input", "Unsqueeze", [("x", x), ("a", _i64([-1, 1, 0]))],
                [("y", x.reshape(1, 1, 3, 4, 5, 1))], opset=13, consts=["a"])
    yield _case("unsqueeze_v1", "Unsqueeze", [("x", x)], [("y", x.reshape(3, 4, 5, 1))],
                attrs={"axes": [3]}, opset=1)


def concat_cases(rng):
    for i in range(10):
        rank = int(rng.integers(1, 5))
        dt = DTYPES[i % len(DTYPES)]
        base = _shape(rng, rank)
        axis = int(rng.integers(-rank, rank))
        xs = []
        for k in range(int(rng.integers(1, 5))):
            s = list(base)
            s[axis] = int(rng.integers(0 if k == 1 else 1, 5))
            xs.append(_data(rng, s, dt))
        ins = [(f"x{k}", x) for k, x in enumerate(xs)]
        yield _case(f"concat_{i}", "Concat", ins, [("y", np.concatenate(xs, axis=axis))],
                    attrs={"axis": axis}, opset=13)
    xs = [_data(rng, [300, k]) for k in (600, 1, 301)]  # many rows, in parallel
    yield _case("concat_big_rows", "Concat", [(f"x{k}", x) for k, x in enumerate(xs)],
                [("y", np.concatenate(xs, axis=1))], attrs={"axis": -1})
    xs = [_data(rng, [k, 2, 700]) for k in (300, 2)]  # few large pieces
    yield _case("concat_big_axis0", "Concat", [(f"x{k}", x) for k, x in enumerate(xs)],
                [("y", np.concatenate(xs, axis=0))], attrs={"axis": 0})
    xs = [_data(rng, [2, k, 3]) for k in (1, 2, 3)]
    yield _case("concat_v1_default", "Concat", [(f"x{k}", x) for k, x in enumerate(xs)],
                [("y", np.concatenate(xs, axis=1))], opset=1)
    # shape arithmetic: int64 vectors, one an initializer
    a, b = _i64([2, 3]), _i64([-1])
    yield _case("concat_shape_i64", "Concat", [("a", a), ("b", b)],
                [("y", np.concatenate([a, b]))], attrs={"axis": 0}, consts=["b"])


def split_cases(rng):
    x = _data(rng, [6, 5, 7])
    yield _case("split_equal_v11", "Split", [("x", x)],
                [(f"y{k}", p) for k, p in enumerate(np.split(x, 3, axis=0))],
                attrs={"axis": 0}, opset=11)
    parts = np.split(x, [2, 3], axis=-1)
    yield _case("split_attr_v11", "Split", [("x", x)],
                [(f"y{k}", p) for k, p in enumerate(parts)],
                attrs={"axis": -1, "split": [2, 1, 4]}, opset=11)
    xi = _data(rng, [4, 9], np.int64)
    parts = np.split(xi, [0, 4], axis=1)
    yield _case("split_input_v13", "Split", [("x", xi), ("s", _i64([0, 4, 5]))],
                [(f"y{k}", p) for k, p in enumerate(parts)], attrs={"axis": 1}, opset=13,
                consts=["s"])
    xb = _data(rng, [3, 7], np.bool_)
    parts = np.split(xb, [3, 6], axis=1)  # 7 into 3: 3, 3, 1
    yield _case("split_num_outputs_v18", "Split", [("x", xb)],
                [(f"y{k}", p) for k, p in enumerate(parts)],
                attrs={"axis": 1, "num_outputs": 3}, opset=18)
    x = _data(rng, [500, 3, 400])
    yield _case("split_big", "Split", [("x", x), ("s", _i64([1, 2]))],
                [(f"y{k}", p) for k, p in enumerate(np.split(x, [1], axis=1))],
                attrs={"axis": 1}, opset=13, consts=["s"])
    x = _data(rng, [2, 8])
    yield _case("split_default_v2", "Split", [("x", x)],
                [(f"y{k}", p) for k, p in enumerate(np.split(x, 2, axis=0))], opset=2)


def _np_slice(x, starts, ends, axes, steps):
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[a] = slice(s, e, st)
    return x[tuple(sl)]


def slice_cases(rng):
    big = 2**62
    specs = [  # starts, ends, axes, steps
        ([1, 0], [3, -1], [0, 1], [1, 1]),
        ([-1], [-big], [1], [-1]),                 # whole axis reversed
        ([5, 1], [-big, big], [-1, 0], [-2, 3]),   # clamping, negative step
        ([-3], [big], [-2], None),                 # default steps
        ([0, 2, 1], [2, 100, -1], None, None),     # default axes
        ([big], [0], [2], [-1]),                   # start past the end, negative step
        ([2], [1], [0], [1]),                      # empty
        ([-100], [100], [1], [2]),
    ]
    for i, (s, e, a, st) in enumerate(specs):
        dt = DTYPES[i % len(DTYPES)]
        x = _data(rng, [4, 7, 5], dt)
        axes = a if a is not None else list(range(len(s)))
        steps = st if st is not None else [1] * len(s)
        nax = [ax % 3 for ax in axes]
        ref = _np_slice(x, s, e, nax, steps)
        ins = [("x", x), ("s", _i64(s)), ("e", _i64(e))]
        if a is not None or st is not None:
            ins.append(("a", _i64(axes)) if a is not None else ("", None))
        if st is not None:
            ins.append(("t", _i64(st)))
        yield _case(f"slice_{i}", "Slice", ins, [("y", ref)], opset=13,
                    consts=["s", "e", "a", "t"])
    x = _data(rng, [60, 70, 80])
    yield _case("slice_big", "Slice", [("x", x), ("s", _i64([1, -1])), ("e", _i64([-1, 0])),
                                       ("a", _i64([0, 2])), ("t", _i64([2, -3]))],
                [("y", x[1:-1:2, :, -1:0:-3])], opset=13, consts=["s", "e", "a", "t"])
    x = _data(rng, [3, 6, 4])
    yield _case("slice_v1_attrs", "Slice", [("x", x)], [("y", x[:, 1:-1, 2:])],
                attrs={"starts": [1, 2], "ends": [-1, 1000], "axes": [1, 2]}, opset=9)
    # Slice-1 with the axes omitted (the leading ones) and a negative start (PaddleOCR's rec)
    yield _case("slice_v1_no_axes", "Slice", [("x", x)], [("y", x[-2:, 1:3])],
                attrs={"starts": [-2, 1], "ends": [1000, 3]}, opset=9)
    yield _case("slice_fed_inputs", "Slice", [("x", x), ("s", _i64([-2])), ("e", _i64([0])),
                                              ("a", _i64([2])), ("t", _i64([-1]))],
                [("y", x[:, :, -2:0:-1])], opset=10)


def expand_cases(rng):
    for i, (xs, shape) in enumerate([([3, 1], [3, 4]), ([1, 5], [2, 3, 1, 5]),
                                     ([4, 1, 6], [1, 1]), ([1], [2, 3]), ([2, 1, 3], [2, 7, 3]),
                                     ([], [3, 2]), ([300, 1, 1], [300, 40, 30])]):
        dt = DTYPES[i % len(DTYPES)]
        x = _data(rng, xs, dt)
        out = np.broadcast_shapes(x.shape, tuple(shape))
        yield _case(f"expand_{i}", "Expand", [("x", x), ("s", _i64(shape))],
                    [("y", np.broadcast_to(x, out).copy())], opset=13, consts=["s"])


def tile_cases(rng):
    for i in range(6):
        rank = int(rng.integers(1, 5))
        dt = DTYPES[i % len(DTYPES)]
        x = _data(rng, _shape(rng, rank, 1, 5), dt)
        reps = [int(r) for r in rng.integers(1, 4, size=rank)]
        yield _case(f"tile_{i}", "Tile", [("x", x), ("r", _i64(reps))],
                    [("y", np.tile(x, reps))], opset=13, consts=["r"])
    x = _data(rng, [30, 1, 40], np.int64)
    yield _case("tile_big", "Tile", [("x", x), ("r", _i64([3, 50, 2]))],
                [("y", np.tile(x, [3, 50, 2]))], opset=13, consts=["r"])
    x = _data(rng, [2, 3])
    yield _case("tile_v1", "Tile", [("x", x), ("t", _i64(3)), ("a", _i64(1))],
                [("y", np.tile(x, [1, 3]))], opset=5, consts=["t", "a"])


def range_cases(rng):
    for i, (s, l, d, dt) in enumerate([(0.5, 10.25, 1.5, np.float32), (10, -3, -3, np.int64),
                                       (1, 40, 7, np.int32), (3.0, -1.0, -0.5, np.float64),
                                       (5, 5, 1, np.int64), (2.0, 1.0, 1.0, np.float32)]):
        ins = [("s", np.array(s, dt)), ("l", np.array(l, dt)), ("d", np.array(d, dt))]
        ref = np.arange(s, l, d, dtype=np.float64).astype(dt)
        yield _case(f"range_{i}", "Range", ins, [("y", ref)], opset=11, consts=["s", "l", "d"])
    # Over the 1 MiB constant-folding cap, so Range runs as an op (on the GPU under --device
    # cuda): a float32 step that is not exact, and int64.
    for name, (s, l, d, dt) in [("big_f32", (0.0, 30000.0, 0.1, np.float32)),
                                ("big_i64", (-5, 1199995, 3, np.int64))]:
        s, l, d = np.array(s, dt), np.array(l, dt), np.array(d, dt)
        ref = np.arange(float(s), float(l), float(d), dtype=np.float64).astype(dt)
        if dt == np.int64:
            ref = np.arange(int(s), int(l), int(d), dtype=np.int64)
        yield _case(f"range_{name}", "Range", [("s", s), ("l", l), ("d", d)], [("y", ref)],
                    opset=11, consts=["s", "l", "d"])


def shape_cases(rng):
    x = _data(rng, [2, 3, 4, 5])
    yield _case("shape", "Shape", [("x", x)], [("y", _i64(x.shape))], opset=13)
    for i, (s, e) in enumerate([(1, None), (-2, None), (0, -1), (-10, 10), (3, 1)]):
        attrs = {"start": s} if e is None else {"start": s, "end": e}
        ref = _i64(x.shape[s:e])
        yield _case(f"shape_range_{i}", "Shape", [("x", x)], [("y", ref)], attrs=attrs,
                    opset=15)
    xb = _data(rng, [3, 0, 2], np.bool_)
    yield _case("size", "Size", [("x", xb)], [("y", np.array(0, np.int64))], opset=13)
    yield _case("size_f", "Size", [("x", x)], [("y", np.array(x.size, np.int64))], opset=1)


def const_cases(rng):
    from onnx import numpy_helper
    s = _i64([2, 3, 1])
    yield _case("cos_default", "ConstantOfShape", [("s", s)], [("y", np.zeros(s, np.float32))],
                opset=9)
    for i, v in enumerate([np.array([7], np.int64), np.array([True]), np.array([-2.5])]):
        attrs = {"value": numpy_helper.from_array(v, "value")}
        yield _case(f"cos_{i}", "ConstantOfShape", [("s", s)], [("y", np.full(s, v[0]))],
                    attrs=attrs, opset=20, consts=["s"])
    yield _case("cos_scalar", "ConstantOfShape", [("s", _i64(np.zeros(0)))],
                [("y", np.array(0, np.float32))], opset=9)
    t = _data(rng, [2, 3], np.int64)
    yield _case("constant_tensor", "Constant", [], [("y", t)],
                attrs={"value": numpy_helper.from_array(t, "v")}, opset=13)
    yield _case("constant_floats", "Constant", [], [("y", np.array([1.5, -2], np.float32))],
                attrs={"value_floats": [1.5, -2.0]}, opset=13)
    yield _case("constant_int", "Constant", [], [("y", np.array(5, np.int64))],
                attrs={"value_int": 5}, opset=13)


def layout_cases(rng):
    for mode in ("DCR", "CRD"):
        b = 2
        x = _data(rng, [2, 12, 3, 5])
        n, c, h, w = x.shape
        if mode == "DCR":
            t = x.reshape(n, b, b, c // 4, h, w).transpose(0, 3, 4, 1, 5, 2)
        else:
            t = x.reshape(n, c // 4, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
        yield _case(f"depthtospace_{mode}", "DepthToSpace", [("x", x)],
                    [("y", t.reshape(n, c // 4, h * b, w * b))],
                    attrs={"blocksize": b, "mode": mode}, opset=13)
    x = _data(rng, [2, 3, 6, 9], np.int64)
    b = 3
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    yield _case("spacetodepth", "SpaceToDepth", [("x", x)],
                [("y", t.reshape(n, c * b * b, h // b, w // b))], attrs={"blocksize": b})
    x = _data(rng, [2, 5, 4, 6])  # float: the GPU's 16-bit path at fp16
    b = 2
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    yield _case("spacetodepth_f32", "SpaceToDepth", [("x", x)],
                [("y", t.reshape(n, c * b * b, h // b, w // b))], attrs={"blocksize": b})


def matrix_cases(rng):
    for i, (shape, k, dt) in enumerate([([4, 6], 0, None), ([5, 3], -2, 7), ([3, 3], 4, 9)]):
        x = _data(rng, shape, np.float32)
        attrs = {"k": k}
        out_dt = np.float32
        if dt:
            attrs["dtype"] = dt
            out_dt = {7: np.int64, 9: np.bool_}[dt]
        yield _case(f"eyelike_{i}", "EyeLike", [("x", x)],
                    [("y", np.eye(shape[0], shape[1], k).astype(out_dt))], attrs=attrs, opset=9)
    for i, (shape, k, upper) in enumerate([([4, 5], 0, 1), ([2, 3, 5, 4], -1, 0),
                                           ([3, 6], 2, 0), ([5, 3], -7, 1), ([4, 4], 9, 0)]):
        dt = DTYPES[i % len(DTYPES)]
        x = _data(rng, shape, dt)
        ref = np.triu(x, k) if upper else np.tril(x, k)
        yield _case(f"trilu_{i}", "Trilu", [("x", x), ("k", np.array(k, np.int64))],
                    [("y", ref)], attrs={"upper": upper}, opset=14, consts=["k"])
    x = _data(rng, [5, 300, 200])
    yield _case("trilu_big", "Trilu", [("x", x), ("k", np.array(-3, np.int64))],
                [("y", np.tril(x, -3))], attrs={"upper": 0}, opset=14, consts=["k"])
    x = _data(rng, [3, 4])
    yield _case("trilu_default", "Trilu", [("x", x)], [("y", np.triu(x))], opset=14)
    x = _data(rng, [3, 4, 5])
    x[x < 0.3] = 0
    yield _case("nonzero_f", "NonZero", [("x", x)], [("y", np.array(np.nonzero(x)))], opset=13,
                consts=["x"])
    xb = _data(rng, [7], np.bool_)
    yield _case("nonzero_b", "NonZero", [("x", xb)], [("y", np.array(np.nonzero(xb)))],
                opset=13)


def cases(rng):
    for gen in (reshape_cases, transpose_cases, flatten_cases, squeeze_cases, concat_cases,
                split_cases, slice_cases, expand_cases, tile_cases, range_cases, shape_cases,
                const_cases, layout_cases, matrix_cases):
        yield from gen(rng)
