"""Op cases for the reduce family: Reduce* (axes as attribute and as input 1), ArgMax, ArgMin.

References are NumPy in float64 over the same random inputs.
"""
import numpy as np

import opcase

OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
       "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
INT_OPS = ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]


def ref_reduce(op, x, axes, keepdims):
    x = x.astype(np.float64) if x.dtype.kind == "f" else x.astype(np.int64)
    ax = tuple(axes) if axes is not None else None
    kw = dict(axis=ax, keepdims=bool(keepdims))
    if op == "ReduceSum":
        return np.sum(x, **kw)
    if op == "ReduceMean":
        return np.mean(x, **kw)
    if op == "ReduceMax":
        return np.max(x, **kw)
    if op == "ReduceMin":
        return np.min(x, **kw)
    if op == "ReduceProd":
        return np.prod(x, **kw)
    if op == "ReduceL1":
        return np.sum(np.abs(x), **kw)
    if op == "ReduceL2":
        return np.sqrt(np.sum(x * x, **kw))
    if op == "ReduceLogSum":
        return np.log(np.sum(x, **kw))
    if op == "ReduceLogSumExp":
        m = np.max(x, axis=ax, keepdims=True)
        r = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
        return r if keepdims else np.squeeze(r, axis=ax) if ax is not None else r.reshape(())
    if op == "ReduceSumSquare":
        return np.sum(x * x, **kw)
    raise ValueError(op)


def data_for(op, rng, shape, dtype=np.float32):
    if dtype != np.float32:
        lo, hi = (-3, 4) if op == "ReduceProd" else (-1000, 1000)
        return rng.integers(lo, hi, size=shape).astype(dtype)
    if op == "ReduceProd":  # near 1 so long products stay in range
        return rng.uniform(0.6, 1.5, size=shape).astype(np.float32)
    if op == "ReduceLogSum":
        return rng.uniform(0.1, 2.0, size=shape).astype(np.float32)
    if op == "ReduceLogSumExp":
        return (rng.standard_normal(shape) * 20).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def axes_input_opset(op):
    return 13 if op == "ReduceSum" else 18


def reduce_case(name, op, x, axes, keepdims, opset, noop=None):
    """axes=None: attribute/input omitted. As input, axes is an int64 initializer."""
    from_input = opset >= axes_input_opset(op)
    attrs = {"keepdims": keepdims}
    inputs = [("x", x)]
    if from_input:
        if noop is not None:
            attrs["noop_with_empty_axes"] = noop
        if axes is not None:
            inputs.append(("axes", np.array(axes, dtype=np.int64)))
    elif axes is not None:
        attrs["axes"] = list(axes)
    if noop and not axes:
        ref = x  # noop_with_empty_axes: the input unchanged, even for L2, LogSum, ...
    else:
        norm = None if not axes else [a % x.ndim for a in axes]
        ref = ref_reduce(op, x, norm, keepdims)
    ref = np.asarray(ref).astype(x.dtype)
    return opcase.node_case(name, op, inputs, [("y", ref)], attrs=attrs, opset=opset,
                            initializers=("axes",))


def rand_axes(rng, rank):
    k = int(rng.integers(1, rank + 1))
    axes = sorted(rng.choice(rank, size=k, replace=False).tolist())
    # Half the time, spell some axes negatively and shuffle.
    axes = [a - rank if rng.random() < 0.5 else a for a in axes]
    rng.shuffle(axes)
    return [int(a) for a in axes]


def reduce_cases(rng):
    patterns = [
        ((3, 5, 7), [2]),          # contiguous rows
        ((3, 5, 7), [1]),          # (outer, n, inner)
        ((6, 70), [0]),            # leading axis, inner > one chunk of columns
        ((2, 3, 4, 5), [1, 3]),    # non-adjacent: general path
        ((2, 3, 4, 5), [0, 2]),
        ((4, 1, 9), [1]),          # size-1 reduced axis
        ((2, 3, 5), [-1, -3]),
        ((1030,), [0]),            # a row longer than one block of partial sums
        ((3, 4, 5), None),         # default: all axes
    ]
    for op in OPS:
        for i, (shape, axes) in enumerate(patterns):
            x = data_for(op, rng, shape)
            for keep in (0, 1):
                for opset in (13, axes_input_opset(op)) if op != "ReduceSum" else (11, 13):
                    yield reduce_case(f"{op}_p{i}_k{keep}_o{opset}", op, x, axes, keep, opset)
        for j in range(3):  # random shapes and axes
            rank = int(rng.integers(1, 5))
            shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
            x = data_for(op, rng, shape)
            axes = rand_axes(rng, rank)
            keep = int(rng.integers(0, 2))
            yield reduce_case(f"{op}_rand{j}", op, x, axes, keep, axes_input_opset(op))
        x = data_for(op, rng, (3, 4))
        new = axes_input_opset(op)
        yield reduce_case(f"{op}_noop_empty", op, x, [], 1, new, noop=1)
        yield reduce_case(f"{op}_empty_axes_all", op, x, [], 0, new, noop=0)
        yield reduce_case(f"{op}_no_axes_input", op, x, None, 1, new)
        x = data_for(op, rng, (3, 4, 5)).astype(np.float64)  # float64: the simple path
        yield reduce_case(f"{op}_float64", op, x, [0, 2], 0, axes_input_opset(op))
    # Big enough that the kernels split the work over several threads.
    for op, shape, axes in (("ReduceSum", (300, 200), [0]), ("ReduceLogSumExp", (300, 200), [0]),
                            ("ReduceMean", (2000, 40), [1]), ("ReduceMax", (40, 50, 60), [0, 2])):
        x = data_for(op, rng, shape)
        yield reduce_case(f"{op}_big", op, x, axes, 0, axes_input_opset(op))
    for op in INT_OPS:
        for dt in (np.int64, np.int32):
            for i, (shape, axes) in enumerate([((3, 4, 5), [1]), ((4, 6), [1]), ((2, 3, 4), None),
                                               ((5,), [0])]):
                x = data_for(op, rng, shape, dt)
                yield reduce_case(f"{op}_{np.dtype(dt).name}_{i}", op, x, axes, i % 2,
                                  axes_input_opset(op))


def arg_ref(x, axis, keepdims, is_max, last):
    f = np.argmax if is_max else np.argmin
    if last:
        flipped = np.flip(x, axis)
        r = x.shape[axis] - 1 - f(flipped, axis=axis)
    else:
        r = f(x, axis=axis)
    if keepdims:
        r = np.expand_dims(r, axis)
    return r.astype(np.int64)


def arg_cases(rng):
    for op in ("ArgMax", "ArgMin"):
        for i, (shape, axis) in enumerate([((3, 4, 5), 1), ((3, 4, 5), -1), ((7, 3), 0),
                                           ((2, 3, 4, 5), -3), ((9,), 0), ((2, 130), 0)]):
            for last in (0, 1):
                for keep in (0, 1):
                    # Small integers in float: many ties, so select_last_index matters.
                    x = rng.integers(-3, 4, size=shape).astype(np.float32)
                    attrs = {"axis": axis, "keepdims": keep, "select_last_index": last}
                    ref = arg_ref(x, axis, keep, op == "ArgMax", last)
                    yield opcase.node_case(f"{op}_{i}_l{last}_k{keep}", op, [("x", x)],
                                           [("y", ref)], attrs=attrs, opset=13)
        x = rng.standard_normal((4, 5)).astype(np.float32)
        yield opcase.node_case(f"{op}_default_axis_opset1", op, [("x", x)],
                               [("y", arg_ref(x, 0, 1, op == "ArgMax", 0))], opset=1)
        for dt in (np.int32, np.int64):
            x = rng.integers(-5, 6, size=(3, 6)).astype(dt)
            yield opcase.node_case(f"{op}_{np.dtype(dt).name}", op, [("x", x)],
                                   [("y", arg_ref(x, 1, 0, op == "ArgMax", 1))],
                                   attrs={"axis": 1, "keepdims": 0, "select_last_index": 1},
                                   opset=13)


def cases(rng):
    yield from reduce_cases(rng)
    yield from arg_cases(rng)
