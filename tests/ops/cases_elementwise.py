"""Op cases for the elementwise family: NumPy float64 references for arithmetic with every
broadcast pattern (and the opset-6 broadcast/axis form), comparisons, logic, activations, float
math, Clip, Cast, Where, Identity and Dropout, over float32, float16, double and integer dtypes."""
import math

import numpy as np

import opcase

SQRT2 = math.sqrt(2.0)
erf = np.vectorize(math.erf)


def f32(rng, shape, lo=-3.0, hi=3.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def ints(rng, shape, dtype, lo=-50, hi=50):
    return rng.integers(lo, hi, shape).astype(dtype)


def case(name, op, inputs, outputs, attrs=None, opset=17, **kw):
    return opcase.node_case("ew_" + name, op, inputs, outputs, attrs=attrs, opset=opset, **kw)


def d(x):
    return np.asarray(x, dtype=np.float64)


# ---- Unary float math -------------------------------------------------------------------

def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def softplus(x):
    return np.logaddexp(0.0, x)


UNARY = [
    # (op, reference on float64, low, high, attrs, opset)
    ("Sqrt", np.sqrt, 0.01, 10, None, 13),
    ("Exp", np.exp, -20, 20, None, 13),
    ("Log", np.log, 0.01, 10, None, 13),
    ("Neg", np.negative, -5, 5, None, 13),
    ("Abs", np.abs, -5, 5, None, 13),
    ("Reciprocal", lambda x: 1 / x, 0.5, 3, None, 13),
    ("Erf", erf, -4, 4, None, 13),
    ("Tanh", np.tanh, -10, 10, None, 13),
    ("Sigmoid", lambda x: 1 / (1 + np.exp(-x)), -20, 20, None, 13),
    ("Relu", lambda x: np.maximum(x, 0), -3, 3, None, 14),
    ("LeakyRelu", lambda x: np.where(x < 0, 0.1 * x, x), -3, 3, {"alpha": 0.1}, 16),
    ("HardSigmoid", lambda x: np.clip(0.3 * x + 0.4, 0, 1), -5, 5,
     {"alpha": 0.3, "beta": 0.4}, 6),
    ("HardSwish", lambda x: x * np.clip(x / 6 + 0.5, 0, 1), -6, 6, None, 14),
    ("Floor", np.floor, -5, 5, None, 13),
    ("Ceil", np.ceil, -5, 5, None, 13),
    ("Sign", np.sign, -2, 2, None, 13),
    ("Sin", np.sin, -6, 6, None, 7),
    ("Cos", np.cos, -6, 6, None, 7),
    ("Tan", np.tan, -1.4, 1.4, None, 7),
    ("Asin", np.arcsin, -0.99, 0.99, None, 7),
    ("Acos", np.arccos, -0.99, 0.99, None, 7),
    ("Atan", np.arctan, -5, 5, None, 7),
    ("Sinh", np.sinh, -5, 5, None, 9),
    ("Cosh", np.cosh, -5, 5, None, 9),
    ("Asinh", np.arcsinh, -5, 5, None, 9),
    ("Acosh", np.arccosh, 1.01, 5, None, 9),
    ("Atanh", np.arctanh, -0.99, 0.99, None, 9),
    ("Softplus", softplus, -20, 20, None, 1),
    ("Softsign", lambda x: x / (1 + np.abs(x)), -5, 5, None, 1),
    ("Elu", lambda x: np.where(x < 0, 0.7 * np.expm1(x), x), -4, 4, {"alpha": 0.7}, 6),
    ("Selu", lambda x: 1.0507009873554805 * np.where(x <= 0, 1.6732632423543772 * np.expm1(x),
                                                     x), -4, 4, None, 6),
    ("Celu", lambda x: np.maximum(0, x) + np.minimum(0, 1.5 * np.expm1(x / 1.5)), -4, 4,
     {"alpha": 1.5}, 12),
    ("ThresholdedRelu", lambda x: np.where(x > 0.8, x, 0), -3, 3, {"alpha": 0.8}, 10),
    ("Shrink", lambda x: np.where(x < -0.7, x + 0.2, np.where(x > 0.7, x - 0.2, 0)), -3, 3,
     {"lambd": 0.7, "bias": 0.2}, 9),
    ("Gelu", lambda x: 0.5 * x * (1 + erf(x / SQRT2)), -6, 6, None, 20),
]


def _beyond_half(y):
    """not16 for a case whose outputs float16 cannot hold (exp(20) is 4.9e8)."""
    big = float(np.max(np.abs(y)))
    return (("fp16",), "outputs up to %.3g, beyond float16's 65504" % big) if big > 65504 \
        else None


def unary_cases(rng):
    for op, fn, lo, hi, attrs, opset in UNARY:
        shape = tuple(rng.integers(1, 7, rng.integers(1, 5)))
        x = f32(rng, shape, lo, hi)
        yield case(op.lower(), op, [("x", x)], [("y", fn(d(x)).astype(np.float32))], attrs,
                   opset, not16=_beyond_half(fn(d(x))))
    # Large, parallel, and the tails of the vectorized approximations.
    for op, fn, lo, hi in [("Exp", np.exp, -100, 88), ("Sigmoid", lambda x: 1 / (1 + np.exp(-x)),
                                                        -100, 100),
                           ("Tanh", np.tanh, -1, 1), ("Erf", erf, -1.5, 1.5),
                           ("Gelu", lambda x: 0.5 * x * (1 + erf(x / SQRT2)), -3, 3)]:
        x = f32(rng, (5, 97, 71), lo, hi)
        yield case(op.lower() + "_large", op, [("x", x)], [("y", fn(d(x)).astype(np.float32))],
                   opset=20 if op == "Gelu" else 13, not16=_beyond_half(fn(d(x))))
    x = f32(rng, (3, 37), -4, 4)
    yield case("gelu_tanh", "Gelu", [("x", x)], [("y", gelu_tanh(d(x)).astype(np.float32))],
               {"approximate": "tanh"}, 20)
    x = f32(rng, (3, 5), -3, 3)
    yield case("selu_custom", "Selu", [("x", x)],
               [("y", (2.0 * np.where(d(x) <= 0, 1.5 * np.expm1(d(x)), d(x))).astype(np.float32))],
               {"alpha": 1.5, "gamma": 2.0}, 6)
    # Round: halves go to the even neighbour.
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6, 3.7, -3.2], np.float32)
    yield case("round", "Round", [("x", x)], [("y", np.round(d(x)).astype(np.float32))],
               opset=11)
    # Other float dtypes go through the double path.
    x64 = rng.uniform(-3, 3, (4, 6))
    yield case("tanh_f64", "Tanh", [("x", x64)], [("y", np.tanh(x64))], opset=13)
    x16 = rng.uniform(-3, 3, (4, 6)).astype(np.float16)
    yield case("sigmoid_f16", "Sigmoid", [("x", x16)],
               [("y", (1 / (1 + np.exp(-d(x16)))).astype(np.float16))], opset=13,
               tolerance=(1e-3, 1e-3, "float16 output rounding"))


def int_unary_cases(rng):
    for dt in (np.int32, np.int64, np.int8):
        x = ints(rng, (3, 7), dt)
        yield case(f"neg_{dt.__name__}", "Neg", [("x", x)], [("y", -x)], opset=13)
        yield case(f"abs_{dt.__name__}", "Abs", [("x", x)], [("y", np.abs(x))], opset=13)
        yield case(f"sign_{dt.__name__}", "Sign", [("x", x)], [("y", np.sign(x))], opset=13)
    x = ints(rng, (4, 5), np.int64)
    yield case("relu_int64", "Relu", [("x", x)], [("y", np.maximum(x, 0))], opset=14)


def predicate_cases(rng):
    x = f32(rng, (4, 9))
    x.flat[[1, 5, 11]] = np.nan
    x.flat[[2, 7]] = np.inf
    x.flat[[3, 20]] = -np.inf
    yield case("isnan", "IsNaN", [("x", x)], [("y", np.isnan(x))], opset=13)
    yield case("isinf", "IsInf", [("x", x)], [("y", np.isinf(x))], opset=10)
    yield case("isinf_pos", "IsInf", [("x", x)], [("y", np.isposinf(x))],
               {"detect_negative": 0}, 10)
    yield case("isinf_neg", "IsInf", [("x", x)], [("y", np.isneginf(x))],
               {"detect_positive": 0}, 10)
    b = rng.random((3, 4, 5)) < 0.5
    yield case("not", "Not", [("x", b)], [("y", ~b)], opset=1)


# ---- Binary --------------------------------------------------------------------------------

# Pairs of shapes covering each broadcast pattern the kernels special-case and the generic one.
BCAST = [
    ((3, 4, 5), (3, 4, 5)),      # same shape
    ((3, 4, 5), ()),             # scalar
    ((), (2, 7)),                # scalar on the left
    ((3, 4, 5), (5,)),           # row
    ((3, 4, 5), (4, 1)),         # column
    ((4, 1, 5), (3, 1)),         # both sides broadcast
    ((2, 1, 3, 1), (1, 4, 1, 6)),
    ((7, 1), (1, 9)),
]

ARITH = [
    ("Add", np.add), ("Sub", np.subtract), ("Mul", np.multiply), ("Div", np.divide),
    ("Max", np.maximum), ("Min", np.minimum),
]


def binary_float_cases(rng):
    for op, fn in ARITH:
        for i, (sa, sb) in enumerate(BCAST):
            a, b = f32(rng, sa), f32(rng, sb)
            if op == "Div":
                b = np.where(np.abs(b) < 0.2, 0.5, b).astype(np.float32)
            yield case(f"{op.lower()}_bcast{i}", op, [("a", a), ("b", b)],
                       [("c", fn(d(a), d(b)).astype(np.float32))], opset=13)
    # Large enough for several parallel chunks, with a broadcast row and column.
    a, b, c = f32(rng, (3, 97, 211)), f32(rng, (97, 1)), f32(rng, (211,))
    yield case("add_large_col", "Add", [("a", a), ("b", b)],
               [("c", (d(a) + d(b)).astype(np.float32))])
    yield case("mul_large_row", "Mul", [("a", a), ("b", c)],
               [("c", (d(a) * d(c)).astype(np.float32))])
    # Empty tensors and rank-0 scalars.
    a, b = f32(rng, (0, 3)), f32(rng, (3,))
    yield case("add_empty", "Add", [("a", a), ("b", b)], [("c", a + b)])
    a, b = f32(rng, ()), f32(rng, ())
    yield case("sub_scalars", "Sub", [("a", a), ("b", b)],
               [("c", np.asarray(d(a) - d(b), np.float32))])
    a64, b64 = rng.uniform(-2, 2, (3, 4)), rng.uniform(0.5, 2, (4,))
    yield case("div_f64", "Div", [("a", a64), ("b", b64)], [("c", a64 / b64)])
    a16, b16 = f32(rng, (3, 4)).astype(np.float16), f32(rng, (3, 1)).astype(np.float16)
    yield case("add_f16", "Add", [("a", a16), ("b", b16)],
               [("c", (d(a16) + d(b16)).astype(np.float16))],
               tolerance=(1e-3, 1e-3, "float16 output rounding"))
    # Max/Min propagate NaN like numpy.
    a, b = f32(rng, (2, 5)), f32(rng, (2, 5))
    a[0, 1], b[1, 2] = np.nan, np.nan
    yield case("max_nan", "Max", [("a", a), ("b", b)], [("c", np.maximum(a, b))])


def legacy_cases(rng):
    """Opset <= 6: broadcast=1 aligns B with A at `axis` (default: the trailing dims)."""
    a = f32(rng, (2, 3, 4, 5))
    b = f32(rng, (3, 4))
    ref = d(a) + d(b).reshape(1, 3, 4, 1)
    yield case("add_legacy_axis", "Add", [("a", a), ("b", b)], [("c", ref.astype(np.float32))],
               {"broadcast": 1, "axis": 1}, opset=6)
    b = f32(rng, (4, 5))
    yield case("mul_legacy_suffix", "Mul", [("a", a), ("b", b)],
               [("c", (d(a) * d(b)).astype(np.float32))], {"broadcast": 1}, opset=6)
    b = f32(rng, (2,))
    ref = d(a) - d(b).reshape(2, 1, 1, 1)
    yield case("sub_legacy_axis0", "Sub", [("a", a), ("b", b)], [("c", ref.astype(np.float32))],
               {"broadcast": 1, "axis": 0}, opset=1)
    b = f32(rng, (2, 3, 4, 5), 0.5, 2)
    yield case("div_legacy_same", "Div", [("a", a), ("b", b)],
               [("c", (d(a) / d(b)).astype(np.float32))], opset=6)
    x, slope = f32(rng, (2, 3, 4, 4)), f32(rng, (3,), 0, 0.5)
    ref = np.where(x < 0, d(x) * d(slope).reshape(3, 1, 1), d(x))
    yield case("prelu_legacy_channel", "PRelu", [("x", x), ("slope", slope)],
               [("y", ref.astype(np.float32))], opset=6)


def trunc_div(a, b):
    q = np.abs(a) // np.abs(b)
    return (q * np.sign(a) * np.sign(b)).astype(a.dtype)


def binary_int_cases(rng):
    for dt in (np.int32, np.int64):
        n = dt.__name__
        a, b = ints(rng, (3, 4, 5), dt), ints(rng, (4, 1), dt)
        b = np.where(b == 0, 3, b).astype(dt)
        yield case(f"add_{n}", "Add", [("a", a), ("b", b)], [("c", a + b)])
        yield case(f"sub_{n}", "Sub", [("a", a), ("b", b)], [("c", a - b)])
        yield case(f"mul_{n}", "Mul", [("a", a), ("b", b)], [("c", a * b)])
        yield case(f"div_{n}", "Div", [("a", a), ("b", b)], [("c", trunc_div(a, b))])
        yield case(f"max_{n}", "Max", [("a", a), ("b", b)], [("c", np.maximum(a, b))])
        yield case(f"min_{n}", "Min", [("a", a), ("b", b)], [("c", np.minimum(a, b))])
        yield case(f"mod_{n}", "Mod", [("a", a), ("b", b)], [("c", np.mod(a, b))])
        yield case(f"fmod_{n}", "Mod", [("a", a), ("b", b)], [("c", np.fmod(a, b))],
                   {"fmod": 1})
    a, b = ints(rng, (5, 6), np.uint8, 0, 255), ints(rng, (6,), np.uint8, 1, 255)
    yield case("add_uint8", "Add", [("a", a), ("b", b)], [("c", a + b)], opset=14)
    yield case("div_uint8", "Div", [("a", a), ("b", b)], [("c", a // b)], opset=14)
    a, b = ints(rng, (4, 5), np.int8, -100, 100), ints(rng, (4, 5), np.int8, 1, 20)
    b = (b * np.where(rng.random((4, 5)) < 0.5, -1, 1)).astype(np.int8)
    yield case("mod_int8", "Mod", [("a", a), ("b", b)], [("c", np.mod(a, b))])
    x, s = ints(rng, (3, 6), np.uint8, 0, 255), ints(rng, (6,), np.uint8, 0, 8)
    yield case("shl_uint8", "BitShift", [("x", x), ("s", s)], [("y", np.left_shift(x, s))],
               {"direction": "LEFT"}, 11)
    s = ints(rng, (3, 1), np.uint8, 0, 8)  # (opcase has no uint16/32/64 inputs)
    yield case("shr_uint8", "BitShift", [("x", x), ("s", s)], [("y", np.right_shift(x, s))],
               {"direction": "RIGHT"}, 11)


def pow_mod_cases(rng):
    x = f32(rng, (3, 4, 5), 0.1, 3)
    for e in (2.0, 0.5, 3.0, -1.0, 1.7):
        y = np.array(e, np.float32)
        tag = str(e).replace(".", "p").replace("-", "m")
        yield case(f"pow_scalar_{tag}", "Pow", [("x", x), ("y", y)],
                   [("z", np.power(d(x), e).astype(np.float32))], opset=15, initializers=("y",))
    y = f32(rng, (4, 5), -2, 2)
    yield case("pow_tensor", "Pow", [("x", x), ("y", y)],
               [("z", np.power(d(x), d(y)).astype(np.float32))], opset=15)
    yi = ints(rng, (5,), np.int32, -3, 4)
    xs = f32(rng, (3, 4, 5), -2, 2)
    yield case("pow_f32_int32", "Pow", [("x", xs), ("y", yi)],
               [("z", np.power(d(xs), yi).astype(np.float32))], opset=15)
    xi, ei = ints(rng, (3, 4), np.int64, -5, 6), ints(rng, (3, 4), np.int64, 0, 6)
    yield case("pow_int64", "Pow", [("x", xi), ("y", ei)], [("z", np.power(xi, ei))], opset=15)
    ef = f32(rng, (3, 4), 0, 2)
    xp = ints(rng, (3, 4), np.int64, 1, 9)
    yield case("pow_int64_f32", "Pow", [("x", xp), ("y", ef)],
               [("z", np.power(d(xp), d(ef)).astype(np.int64))], opset=15)
    a, b = f32(rng, (3, 6), -10, 10), f32(rng, (6,), 1, 4)
    b = (b * np.where(rng.random(6) < 0.5, -1, 1)).astype(np.float32)
    yield case("fmod_f32", "Mod", [("a", a), ("b", b)],
               [("c", np.fmod(d(a), d(b)).astype(np.float32))], {"fmod": 1})
    x, slope = f32(rng, (2, 3, 4, 5)), f32(rng, (3, 1, 1), 0, 0.5)
    yield case("prelu", "PRelu", [("x", x), ("slope", slope)],
               [("y", np.where(x < 0, d(x) * d(slope), d(x)).astype(np.float32))], opset=16)
    slope = f32(rng, (5,), 0, 0.5)  # along the last axis (opset 7's numpy broadcasting)
    yield case("prelu_last_axis", "PRelu", [("x", x), ("slope", slope)],
               [("y", np.where(x < 0, d(x) * d(slope), d(x)).astype(np.float32))], opset=9)


# ---- Comparison and logic -------------------------------------------------------------------

COMPARE = [("Equal", np.equal, 11), ("Less", np.less, 13), ("Greater", np.greater, 13),
           ("LessOrEqual", np.less_equal, 16), ("GreaterOrEqual", np.greater_equal, 16)]


def compare_cases(rng):
    for op, fn, opset in COMPARE:
        a = np.round(f32(rng, (3, 4, 5)))  # rounded so equality happens
        b = np.round(f32(rng, (4, 1)))
        yield case(f"{op.lower()}_f32", op, [("a", a), ("b", b)], [("c", fn(a, b))],
                   opset=opset)
        ai, bi = ints(rng, (3, 5), np.int64, -3, 3), ints(rng, (5,), np.int64, -3, 3)
        yield case(f"{op.lower()}_int64", op, [("a", ai), ("b", bi)], [("c", fn(ai, bi))],
                   opset=opset)
        ai, bi = ints(rng, (2, 7), np.int32, -3, 3), ints(rng, (), np.int32, -3, 3)
        yield case(f"{op.lower()}_int32", op, [("a", ai), ("b", bi)], [("c", fn(ai, bi))],
                   opset=opset)
    a, b = rng.random((3, 4)) < 0.5, rng.random((4,)) < 0.5
    yield case("equal_bool", "Equal", [("a", a), ("b", b)], [("c", a == b)], opset=13)
    for op, fn in [("And", np.logical_and), ("Or", np.logical_or), ("Xor", np.logical_xor)]:
        a, b = rng.random((2, 3, 4)) < 0.5, rng.random((3, 1)) < 0.5
        yield case(op.lower(), op, [("a", a), ("b", b)], [("c", fn(a, b))], opset=7)
        a, b = rng.random((2, 3, 4)) < 0.5, rng.random((3, 4)) < 0.5
        yield case(op.lower() + "_legacy", op, [("a", a), ("b", b)], [("c", fn(a, b))],
                   {"broadcast": 1}, opset=1)


# ---- Variadic, Where, Clip, Cast, copies ------------------------------------------------------

def variadic_cases(rng):
    shapes = [(3, 1, 5), (4, 1), (1, 4, 5)]
    xs = [f32(rng, s) for s in shapes]
    ins = [(f"x{i}", x) for i, x in enumerate(xs)]
    ds = [d(x) for x in xs]
    yield case("sum3", "Sum", ins, [("y", (ds[0] + ds[1] + ds[2]).astype(np.float32))])
    yield case("mean3", "Mean", ins, [("y", ((ds[0] + ds[1] + ds[2]) / 3).astype(np.float32))])
    yield case("max3", "Max", ins, [("y", np.maximum(np.maximum(ds[0], ds[1]), ds[2])
                                         .astype(np.float32))])
    yield case("min3", "Min", ins, [("y", np.minimum(np.minimum(ds[0], ds[1]), ds[2])
                                         .astype(np.float32))])
    yield case("sum1", "Sum", ins[:1], [("y", xs[0])])
    # two operands broadcasting (the GPU's binary kernel takes exactly two)
    yield case("sum2", "Sum", ins[:2], [("y", (ds[0] + ds[1]).astype(np.float32))])
    yield case("max1", "Max", ins[1:2], [("y", xs[1])])
    xi = [ints(rng, s, np.int32) for s in shapes]
    yield case("max3_int32", "Max", [(f"x{i}", x) for i, x in enumerate(xi)],
               [("y", np.maximum(np.maximum(xi[0], xi[1]), xi[2]))])
    a, b = ints(rng, (3, 4), np.uint8, 0, 255), ints(rng, (4,), np.uint8, 0, 255)
    yield case("min2_uint8", "Min", [("a", a), ("b", b)], [("y", np.minimum(a, b))])
    yield case("sum_legacy", "Sum", [("a", xs[0]), ("b", xs[0])],
               [("y", (2 * ds[0]).astype(np.float32))], opset=6)


def where_cases(rng):
    c = rng.random((3, 1, 5)) < 0.5
    x, y = f32(rng, (4, 5)), f32(rng, (3, 4, 1))
    yield case("where_f32", "Where", [("c", c), ("x", x), ("y", y)], [("z", np.where(c, x, y))],
               opset=16)
    x, y = ints(rng, (3, 4, 5), np.int64), ints(rng, (), np.int64)
    yield case("where_int64", "Where", [("c", c), ("x", x), ("y", y)],
               [("z", np.where(c, x, y))], opset=9)
    c = rng.random((2, 97, 101)) < 0.5
    x, y = f32(rng, (2, 97, 101)), f32(rng, (101,))
    yield case("where_large", "Where", [("c", c), ("x", x), ("y", y)],
               [("z", np.where(c, x, y))], opset=16)
    b = rng.random((4, 3)) < 0.5
    yield case("where_bool", "Where", [("c", c[0, :4, :3]), ("x", b), ("y", ~b)],
               [("z", np.where(c[0, :4, :3], b, ~b))], opset=16)


def clip_cases(rng):
    x = f32(rng, (3, 4, 5))
    yield case("clip_attrs", "Clip", [("x", x)], [("y", np.clip(x, -1.2, 0.7))],
               {"min": -1.2, "max": 0.7}, opset=6)
    yield case("clip_attr_min", "Clip", [("x", x)], [("y", np.maximum(x, -0.5))],
               {"min": -0.5}, opset=6)
    lo, hi = np.array(-0.8, np.float32), np.array(1.1, np.float32)
    yield case("clip_inputs", "Clip", [("x", x), ("lo", lo), ("hi", hi)],
               [("y", np.clip(x, lo, hi))], opset=13)
    yield case("clip_max_only", "Clip", [("x", x), ("", None), ("hi", hi)],
               [("y", np.minimum(x, hi))], opset=13)
    yield case("clip_none", "Clip", [("x", x)], [("y", x)], opset=11)
    xi, lo_i = ints(rng, (4, 6), np.int32), np.array(-7, np.int32)
    yield case("clip_int32_min", "Clip", [("x", xi), ("lo", lo_i)], [("y", np.maximum(xi, lo_i))],
               opset=12)
    xi8, hi8 = ints(rng, (4, 6), np.int8, -100, 100), np.array(20, np.int8)
    yield case("clip_int8_max", "Clip", [("x", xi8), ("", None), ("hi", hi8)],
               [("y", np.minimum(xi8, hi8))], opset=13)


CAST_DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int8, np.uint8,
               np.bool_]
_TO = {np.float32: 1, np.uint8: 2, np.int8: 3, np.int32: 6, np.int64: 7, np.bool_: 9,
       np.float16: 10, np.float64: 11}


def cast_source(rng, dt):
    if dt == np.bool_:
        return rng.random((3, 5)) < 0.5
    if np.issubdtype(dt, np.floating):
        return rng.uniform(-100, 100, (3, 5)).astype(dt)
    lo = 0 if dt == np.uint8 else -100
    return rng.integers(lo, 100, (3, 5)).astype(dt)


def cast_cases(rng):
    for src in CAST_DTYPES:
        for dst in CAST_DTYPES:
            if src == dst and src not in (np.float32, np.int64):
                continue
            x = cast_source(rng, src)
            if dst == np.uint8 and np.issubdtype(src, np.signedinteger):
                x = np.abs(x)  # a negative integer to uint8 is fine, but keep it obvious
            if dst in (np.uint8, np.int8) and np.issubdtype(src, np.floating):
                x = (x / 2).astype(src)  # in range: out-of-range float->int is undefined
            y = x.astype(dst)
            tol = (1e-3, 1e-3, "float16 rounding") if dst == np.float16 else None
            yield case(f"cast_{np.dtype(src).name}_{np.dtype(dst).name}", "Cast", [("x", x)],
                       [("y", y)], {"to": _TO[dst]}, opset=13, tolerance=tol)
    x = f32(rng, (2, 3), -10, 10)
    yield case("cast_legacy_string", "Cast", [("x", x)], [("y", x.astype(np.int32))],
               {"to": "INT32"}, opset=5)
    yield case("cast_saturate", "Cast", [("x", x)], [("y", x.astype(np.float16))],
               {"to": 10, "saturate": 0}, opset=19, tolerance=(1e-3, 1e-3, "float16 rounding"))
    like = np.zeros((1,), np.int64)
    yield case("castlike", "CastLike", [("x", x), ("like", like)], [("y", x.astype(np.int64))],
               opset=15)


def copy_cases(rng):
    x = f32(rng, (3, 4, 5))
    yield case("identity", "Identity", [("x", x)], [("y", x)], opset=16)
    xi = ints(rng, (7,), np.int64)
    yield case("identity_int64", "Identity", [("x", xi)], [("y", xi)], opset=13)
    yield case("dropout", "Dropout", [("x", x)], [("y", x)], {"ratio": 0.3}, opset=10)
    yield case("dropout_mask", "Dropout", [("x", x)], [("y", x), ("m", np.ones(x.shape, bool))],
               opset=13)
    yield case("dropout_mask_old", "Dropout", [("x", x)],
               [("y", x), ("m", np.ones(x.shape, np.float32))], {"is_test": 1}, opset=6)
    r, t = np.array(0.4, np.float32), np.array(False)
    yield case("dropout_inputs", "Dropout", [("x", x), ("r", r), ("t", t)],
               [("y", x), ("m", np.ones(x.shape, bool))], opset=13, initializers=("t",))


def cases(rng):
    for gen in (unary_cases, int_unary_cases, predicate_cases, binary_float_cases, legacy_cases,
                binary_int_cases, pow_mod_cases, compare_cases, variadic_cases, where_cases,
                clip_cases, cast_cases, copy_cases):
        yield from gen(rng)
