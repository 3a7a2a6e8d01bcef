"""Op cases for the norm family: BatchNormalization (inference, opsets 1 to 15),
InstanceNormalization, LayerNormalization (axis, epsilon, broadcast scale/bias, Mean and
InvStdDev outputs), Softmax and LogSoftmax (coerced 2-D before opset 13, one axis after),
LpNormalization and MeanVarianceNormalization. References in NumPy float64.
"""
import numpy as np

import opcase


def f32(a):
    return np.asarray(a).astype(np.float32)


def batchnorm_cases(rng):
    shapes = [(4, 3), (2, 5, 7), (2, 3, 6, 5), (1, 4, 3, 2, 5), (3, 16, 9, 9)]
    old = {"is_test": 1, "consumed_inputs": [0, 0, 0, 1, 1]}
    for opset, extra in ((15, {}), (9, {"momentum": 0.8}), (7, {"spatial": 1}),
                         (6, {"is_test": 1}), (1, old)):
        for i, shape in enumerate(shapes):
            C = shape[1]
            x = f32(rng.standard_normal(shape) * 2 + 1)
            scale, bias = f32(rng.standard_normal(C)), f32(rng.standard_normal(C))
            mean, var = f32(rng.standard_normal(C)), f32(rng.uniform(0.2, 2.0, C))
            eps = float(rng.choice([1e-5, 1e-3, 0.1]))
            bshape = (1, C) + (1,) * (len(shape) - 2)
            y = ((x.astype(np.float64) - mean.reshape(bshape)) /
                 np.sqrt(var.astype(np.float64).reshape(bshape) + np.float64(np.float32(eps))) *
                 scale.reshape(bshape) + bias.reshape(bshape))
            attrs = dict(extra, epsilon=eps)
            yield opcase.node_case(f"batchnorm_o{opset}_{i}", "BatchNormalization",
                                   [("x", x), ("scale", scale), ("b", bias), ("mean", mean),
                                    ("var", var)], [("y", f32(y))], attrs=attrs, opset=opset,
                                   initializers=("scale", "b", "mean", "var"))


def instnorm_cases(rng):
    for i, shape in enumerate([(2, 3, 5), (2, 4, 6, 7), (1, 2, 3, 4, 5), (2, 3, 1030)]):
        C = shape[1]
        x = f32(rng.standard_normal(shape) * 3 + 5)
        scale, bias = f32(rng.standard_normal(C)), f32(rng.standard_normal(C))
        eps = [1e-5, 1e-2][i % 2]
        ax = tuple(range(2, len(shape)))
        xd = x.astype(np.float64)
        m, v = xd.mean(axis=ax, keepdims=True), xd.var(axis=ax, keepdims=True)
        bshape = (1, C) + (1,) * (len(shape) - 2)
        y = (xd - m) / np.sqrt(v + np.float64(np.float32(eps))) * scale.reshape(bshape) + \
            bias.reshape(bshape)
        yield opcase.node_case(f"instnorm_{i}", "InstanceNormalization",
                               [("x", x), ("scale", scale), ("b", bias)], [("y", f32(y))],
                               attrs={"epsilon": eps}, opset=6 if i % 2 else 1)


def layernorm_ref(x, scale, bias, axis, eps):
    xd = x.astype(np.float64)
    ax = tuple(range(axis % x.ndim, x.ndim))
    m = xd.mean(axis=ax, keepdims=True)
    inv = 1.0 / np.sqrt(((xd - m) ** 2).mean(axis=ax, keepdims=True) + np.float64(np.float32(eps)))
    y = (xd - m) * inv * scale
    if bias is not None:
        y = y + bias
    return y, m, inv


def layernorm_cases(rng):
    specs = [((4, 768), -1, "full", True), ((2, 3, 5), 1, "full", True),
             ((2, 3, 5), -2, "full", False), ((3, 4, 5, 6), 2, "full", True),
             ((3, 4, 5, 6), 0, "full", True), ((6, 7), 1, "bcast", True),
             ((2, 5, 4), -2, "bcast", True), ((3, 17), -1, "one", True),
             ((2, 3, 1030), -1, "full", True), ((64, 1024), -1, "full", True)]
    for i, (shape, axis, sk, with_bias) in enumerate(specs):
        x = f32(rng.standard_normal(shape) * 2 + 3)
        nshape = shape[axis % len(shape):]
        if sk == "full":
            sshape = nshape
        elif sk == "bcast":  # leading 1s and a broadcast inner dim
            sshape = (1,) + nshape[:-1] + (1,)
        else:
            sshape = (1,)
        scale = f32(rng.standard_normal(sshape))
        bias = f32(rng.standard_normal(nshape if sk != "one" else (1,))) if with_bias else None
        eps = [1e-5, 1e-3][i % 2]
        y, m, inv = layernorm_ref(x, scale, bias, axis, eps)
        inputs = [("x", x), ("scale", scale)] + ([("b", bias)] if with_bias else [])
        outs = [("y", f32(y))]
        if i % 3 != 2:
            outs += [("mean", f32(m)), ("invstd", f32(inv))]
        yield opcase.node_case(f"layernorm_{i}", "LayerNormalization", inputs, outs,
                               attrs={"axis": axis, "epsilon": eps}, opset=17,
                               initializers=("scale", "b"))
    # Only Y and InvStdDev requested (Mean omitted with "").
    x = f32(rng.standard_normal((5, 12)))
    scale = f32(rng.standard_normal(12))
    y, m, inv = layernorm_ref(x, scale, None, -1, 1e-5)
    case = opcase.node_case("layernorm_skip_mean", "LayerNormalization",
                            [("x", x), ("scale", scale)],
                            [("y", f32(y)), ("invstd", f32(inv))], opset=17)
    node = case.model.graph.node[0]
    node.output[:] = ["y", "", "invstd"]
    yield case


def softmax_ref(x, axis, opset, log):
    xd = x.astype(np.float64)
    if opset < 13:
        a = axis % x.ndim if x.ndim else 0
        xd = xd.reshape(int(np.prod(x.shape[:a])), -1)
        axis = 1
    m = xd.max(axis=axis, keepdims=True)
    e = np.exp(xd - m)
    s = e.sum(axis=axis, keepdims=True)
    y = (xd - m - np.log(s)) if log else e / s
    return y.reshape(x.shape)


def softmax_cases(rng):
    specs = [((3, 4, 5), None, 13), ((3, 4, 5), 0, 13), ((3, 4, 5), 1, 13), ((3, 4, 5), -3, 13),
             ((2, 3, 100), 1, 13), ((7, 129), 0, 13), ((4, 12, 33, 33), -1, 13),
             ((3, 4, 5), None, 11), ((3, 4, 5), 0, 11), ((3, 4, 5), 2, 11), ((3, 4, 5), -1, 11),
             ((2, 3, 4, 5), 1, 1), ((6, 1001), -1, 13), ((5,), 0, 13),
             ((8, 300, 70), 1, 13), ((256, 640), -1, 13)]
    for op in ("Softmax", "LogSoftmax"):
        for i, (shape, axis, opset) in enumerate(specs):
            scale = 50.0 if i % 4 == 3 else 3.0  # large magnitudes: needs the max shift
            x = f32(rng.standard_normal(shape) * scale)
            dflt = 1 if opset < 13 else -1
            y = softmax_ref(x, dflt if axis is None else axis, opset, op == "LogSoftmax")
            attrs = {} if axis is None else {"axis": axis}
            # exp() turns the 16-bit rounding of inputs near 150 (0.06 to 0.125) into
            # relative errors of 6-13% in Softmax's output (LogSoftmax's stay additive).
            not16 = (("fp16", "bf16"), "inputs of magnitude ~150: their 16-bit rounding "
                     "alone moves exp() by 6-13%") if scale > 3 and op == "Softmax" else None
            yield opcase.node_case(f"{op}_{i}_o{opset}", op, [("x", x)], [("y", f32(y))],
                                   attrs=attrs, opset=opset, not16=not16)


def lpnorm_cases(rng):
    for p in (1, 2):
        for i, (shape, axis) in enumerate([((3, 4, 5), -1), ((3, 4, 5), 1), ((6, 7), 0)]):
            x = f32(rng.standard_normal(shape))
            xd = x.astype(np.float64)
            nrm = np.sum(np.abs(xd) ** p, axis=axis, keepdims=True) ** (1.0 / p)
            yield opcase.node_case(f"lpnorm_p{p}_{i}", "LpNormalization", [("x", x)],
                                   [("y", f32(xd / nrm))], attrs={"axis": axis, "p": p},
                                   opset=1)


def mvn_cases(rng):
    for i, (shape, axes) in enumerate([((2, 3, 4, 5), None), ((2, 3, 4, 5), [2, 3]),
                                       ((3, 5, 6), [0, 2]), ((4, 7), [-1])]):
        x = f32(rng.standard_normal(shape) * 2 + 1)
        xd = x.astype(np.float64)
        ax = tuple(axes) if axes else (0, 2, 3)
        m = xd.mean(axis=ax, keepdims=True)
        sd = np.sqrt(((xd - m) ** 2).mean(axis=ax, keepdims=True))
        y = (xd - m) / (sd + 1e-9)
        attrs = {"axes": axes} if axes else {}
        yield opcase.node_case(f"mvn_{i}", "MeanVarianceNormalization", [("x", x)],
                               [("y", f32(y))], attrs=attrs, opset=13)


def cases(rng):
    yield from batchnorm_cases(rng)
    yield from instnorm_cases(rng)
    yield from layernorm_cases(rng)
    yield from softmax_cases(rng)
    yield from lpnorm_cases(rng)
    yield from mvn_cases(rng)
