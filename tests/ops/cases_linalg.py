"""MatMul and Gemm cases: 1-D promotion, batch broadcasting, every Gemm attribute and C shape,
old opsets; references in NumPy float64."""
import numpy as np

import opcase


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _matmul(rng, name, a_shape, b_shape, dtype=np.float32, opset=17):
    if np.issubdtype(dtype, np.integer):
        a = rng.integers(-50, 50, a_shape).astype(dtype)
        b = rng.integers(-50, 50, b_shape).astype(dtype)
        y = np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(dtype)
    else:
        a = rng.standard_normal(a_shape).astype(dtype)
        b = rng.standard_normal(b_shape).astype(dtype)
        y = np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(dtype)
    return opcase.node_case(name, "MatMul", [("A", a), ("B", b)], [("Y", y)], opset=opset)


def matmul_cases(rng):
    yield _matmul(rng, "matmul_2d", (5, 7), (7, 3))
    yield _matmul(rng, "matmul_1d_2d", (7,), (7, 4))
    yield _matmul(rng, "matmul_2d_1d", (6, 7), (7,))
    yield _matmul(rng, "matmul_1d_1d", (9,), (9,))
    yield _matmul(rng, "matmul_1d_3d", (5,), (3, 5, 4))
    yield _matmul(rng, "matmul_3d_1d", (2, 3, 5), (5,))
    yield _matmul(rng, "matmul_3d_2d_flat", (3, 5, 7), (7, 6))
    yield _matmul(rng, "matmul_2d_3d", (5, 7), (4, 7, 3))
    yield _matmul(rng, "matmul_4d", (2, 3, 4, 5), (2, 3, 5, 6), opset=9)
    yield _matmul(rng, "matmul_broadcast_batch", (2, 1, 3, 5), (4, 5, 2), opset=1)
    yield _matmul(rng, "matmul_broadcast_both", (3, 1, 4, 6), (1, 5, 6, 2), opset=13)
    yield _matmul(rng, "matmul_large_split_m", (130, 70), (70, 40))
    yield _matmul(rng, "matmul_large_split_n", (33, 80), (80, 150))
    yield _matmul(rng, "matmul_large_flat", (2, 64, 96), (96, 100))
    yield _matmul(rng, "matmul_large_batched", (5, 40, 33), (5, 33, 45))
    yield _matmul(rng, "matmul_m1_batched", (4, 1, 50), (4, 50, 30))
    yield _matmul(rng, "matmul_n1_batched", (3, 20, 50), (3, 50, 1))
    yield _matmul(rng, "matmul_int32", (2, 4, 5), (5, 3), dtype=np.int32)
    yield _matmul(rng, "matmul_int64", (3, 6), (2, 6, 4), dtype=np.int64)
    yield _matmul(rng, "matmul_double", (3, 5), (5, 4), dtype=np.float64)


def _gemm(rng, name, m, n, k, c_shape=None, trans_a=0, trans_b=0, alpha=None, beta=None,
          opset=17, extra=None):
    a = _f32(rng, *((k, m) if trans_a else (m, k)))
    b = _f32(rng, *((n, k) if trans_b else (k, n)))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    y = (1.0 if alpha is None else alpha) * ((a64.T if trans_a else a64) @ (b64.T if trans_b else b64))
    inputs = [("A", a), ("B", b)]
    if c_shape is not None:
        c = _f32(rng, *c_shape)
        y = y + (1.0 if beta is None else beta) * c.astype(np.float64)
        inputs.append(("C", c))
    attrs = dict(extra or {})
    if trans_a:
        attrs["transA"] = 1
    if trans_b:
        attrs["transB"] = 1
    if alpha is not None:
        attrs["alpha"] = alpha
    if beta is not None:
        attrs["beta"] = beta
    return opcase.node_case(name, "Gemm", inputs, [("Y", y.astype(np.float32))], attrs,
                            opset=opset, initializers=("B", "C"))


def gemm_cases(rng):
    yield _gemm(rng, "gemm_no_c", 5, 7, 3, opset=11)
    yield _gemm(rng, "gemm_matrix_c", 5, 7, 3, (5, 7))
    yield _gemm(rng, "gemm_vector_c", 4, 6, 5, (6,))
    yield _gemm(rng, "gemm_row_c", 4, 6, 5, (1, 6))
    yield _gemm(rng, "gemm_col_c", 4, 6, 5, (4, 1))
    yield _gemm(rng, "gemm_scalar_c", 4, 6, 5, ())
    yield _gemm(rng, "gemm_single_c", 4, 6, 5, (1,))
    yield _gemm(rng, "gemm_trans_a", 6, 5, 7, (6, 5), trans_a=1)
    yield _gemm(rng, "gemm_trans_b", 6, 5, 7, (5,), trans_b=1)
    yield _gemm(rng, "gemm_trans_ab_alpha_beta", 3, 8, 6, (3, 8), 1, 1, alpha=0.25, beta=-1.5)
    yield _gemm(rng, "gemm_beta_zero", 3, 4, 5, (3, 4), beta=0.0)
    yield _gemm(rng, "gemm_opset6_broadcast", 4, 6, 5, (6,), opset=6, extra={"broadcast": 1})
    yield _gemm(rng, "gemm_opset7", 4, 6, 5, (4, 6), trans_b=1, opset=7)
    yield _gemm(rng, "gemm_opset9", 4, 6, 5, (1, 1), alpha=2.0, opset=9)
    yield _gemm(rng, "gemm_large_split_m", 150, 40, 64, (40,), trans_b=1)
    yield _gemm(rng, "gemm_large_split_n", 24, 200, 48, (24, 200), trans_a=1, alpha=0.5,
                beta=2.0)
    yield _gemm(rng, "gemm_large_no_c", 70, 90, 33, opset=13)
    # m == 1 or n == 1 take the sgemv path.
    yield _gemm(rng, "gemm_m1_trans_b", 1, 300, 260, (300,), trans_b=1)
    yield _gemm(rng, "gemm_m1_trans_a", 1, 200, 330, (1, 200), trans_a=1, beta=0.5)
    yield _gemm(rng, "gemm_m1_plain", 1, 41, 30)
    yield _gemm(rng, "gemm_n1_trans_ab", 33, 1, 20, (33, 1), trans_a=1, trans_b=1)
    yield _gemm(rng, "gemm_n1_plain", 250, 1, 270, (), alpha=1.5)


def _matmul_int(rng, name, a_shape, b_shape, dt_a, dt_b, za_rows=False, zb_cols=False,
                omit_zb=False):
    def draw(dt, shape):
        lo, hi = (0, 256) if dt == np.uint8 else (-128, 128)
        return rng.integers(lo, hi, shape).astype(dt)
    a, b = draw(dt_a, a_shape), draw(dt_b, b_shape)
    m = a_shape[-2] if len(a_shape) > 1 else 1
    n = b_shape[-1] if len(b_shape) > 1 else 1
    za = draw(dt_a, (m,) if za_rows else ())
    zb = draw(dt_b, (n,) if zb_cols else ())
    af = a.astype(np.int64) - (za.astype(np.int64).reshape(-1, 1) if za_rows and len(a_shape) > 1
                               else za.astype(np.int64))
    bf = b.astype(np.int64) - (0 if omit_zb else zb.astype(np.int64))
    y = np.matmul(af, bf).astype(np.int32)
    inputs = [("A", a), ("B", b), ("za", za)] + ([] if omit_zb else [("zb", zb)])
    return opcase.node_case(name, "MatMulInteger", inputs, [("Y", y)], opset=10)


def matmul_int_cases(rng):
    yield _matmul_int(rng, "matmulinteger_u8", (5, 7), (7, 4), np.uint8, np.uint8)
    yield _matmul_int(rng, "matmulinteger_i8_per_row_col", (2, 5, 9), (9, 3), np.int8, np.int8,
                      za_rows=True, zb_cols=True)
    yield _matmul_int(rng, "matmulinteger_u8_i8_broadcast", (3, 1, 4, 6), (2, 6, 5), np.uint8,
                      np.int8, omit_zb=True)


def cases(rng):
    yield from matmul_cases(rng)
    yield from gemm_cases(rng)
    yield from matmul_int_cases(rng)
