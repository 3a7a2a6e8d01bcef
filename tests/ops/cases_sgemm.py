"""Cases for the packed-sgemm paths (src/cpu/sgemm*.c): MatMul/Gemm with constant (prepacked)
and non-constant B of odd sizes, Gemm alpha/beta with constant and non-constant C, batched
MatMul; Conv through Winograd (odd sizes, asymmetric pads, constant and non-constant W),
im2col (stem-like 7x7 stride 2, stride-2 3x3 and 1x1, dilated, grouped) and 1x1 paths, with
7x7 and 14x14 images whose 49- and 196-wide GEMMs end in a narrow panel. References in NumPy
float64."""
import numpy as np

import opcase


def _mm(rng, name, a_shape, b_shape, const_b=True):
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    y = np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)
    return opcase.node_case(name, "MatMul", [("A", a), ("B", b)], [("Y", y)],
                            initializers=("B",) if const_b else ())


def _gemm(rng, name, m, n, k, c_shape, ta, tb, alpha, beta, const=("B", "C")):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    y = alpha * ((a64.T if ta else a64) @ (b64.T if tb else b64))
    inputs = [("A", a), ("B", b)]
    if c_shape is not None:
        c = rng.standard_normal(c_shape).astype(np.float32)
        y = y + beta * c.astype(np.float64)
        inputs.append(("C", c))
    attrs = {"transA": ta, "transB": tb, "alpha": alpha, "beta": beta}
    return opcase.node_case(name, "Gemm", inputs, [("Y", y.astype(np.float32))], attrs,
                            initializers=const)


def gemm_cases(rng):
    for i, (m, k, n) in enumerate([(1, 576, 512), (16, 13, 512), (5, 7, 3), (128, 256, 768),
                                   (37, 300, 97), (9, 1, 49), (200, 700, 50), (3, 17, 1)]):
        yield _mm(rng, f"sgemm_mm_const_{i}", (m, k), (k, n))
        yield _mm(rng, f"sgemm_mm_raw_{i}", (m, k), (k, n), const_b=False)
    yield _mm(rng, "sgemm_mm_flat3d_const", (2, 33, 64), (64, 50))
    yield _mm(rng, "sgemm_mm_batched_const", (3, 20, 40), (3, 40, 70))
    yield _mm(rng, "sgemm_mm_bcast_const", (2, 1, 9, 40), (1, 3, 40, 17))
    yield _mm(rng, "sgemm_mm_b1_const", (3, 10, 40), (1, 40, 17))
    yield _mm(rng, "sgemm_mm_vec_const", (40,), (40, 65))
    yield _mm(rng, "sgemm_mm_attn", (8, 128, 64), (8, 64, 128), const_b=False)
    for i, (ta, tb, c, al, be, const) in enumerate([
            (0, 1, (50,), 1.0, 1.0, ("B", "C")), (1, 0, (1, 50), 0.5, 2.0, ("B", "C")),
            (1, 1, (33, 50), 1.5, 0.5, ("B", "C")), (0, 0, (33, 1), 1.0, 1.0, ("B", "C")),
            (0, 1, (50,), 1.0, 1.0, ()), (0, 1, (), 1.0, 3.0, ("B",)),
            (0, 0, None, 2.0, 1.0, ("B",)), (1, 1, (50,), 1.0, 0.0, ("B", "C"))]):
        yield _gemm(rng, f"sgemm_gemm_{i}", 33, 50, 70, c, ta, tb, al, be, const)
    yield _gemm(rng, "sgemm_gemm_big", 16, 512, 576, (512,), 0, 1, 1.0, 1.0, ("B", "C"))
    yield _gemm(rng, "sgemm_gemm_m1", 1, 300, 1000, (300,), 0, 1, 1.0, 1.0, ("B", "C"))


def _conv_ref(x, w, b, s, pads, group, dil):
    """Conv in NumPy float64, tap by tap."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, _, h, wd = xp.shape
    m, cg, kh, kw = w.shape
    oh, ow = (h - dil * (kh - 1) - 1) // s + 1, (wd - dil * (kw - 1) - 1) // s + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // group
    for g in range(group):
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg, i * dil:i * dil + s * (oh - 1) + 1:s,
                           j * dil:j * dil + s * (ow - 1) + 1:s]
                y[:, g * mg:(g + 1) * mg] += np.einsum(
                    "nchw,mc->nmhw", patch, w[g * mg:(g + 1) * mg, :, i, j].astype(np.float64))
    return y + b.astype(np.float64)[None, :, None, None]


def _conv(rng, name, n, c, m, hw, k, s, pads, const_w=True, group=1, dil=1):
    x = rng.standard_normal((n, c, hw[0], hw[1])).astype(np.float32)
    w = rng.standard_normal((m, c // group, k, k)).astype(np.float32)
    b = rng.standard_normal((m,)).astype(np.float32)
    y = _conv_ref(x, w, b, s, pads, group, dil).astype(np.float32)
    attrs = {"kernel_shape": [k, k], "strides": [s, s], "pads": list(pads), "group": group,
             "dilations": [dil, dil]}
    return opcase.node_case(name, "Conv", [("X", x), ("W", w), ("B", b)], [("Y", y)], attrs,
                            initializers=("W", "B") if const_w else ())


def conv_cases(rng):
    i = 0
    for hw in [(1, 1), (2, 3), (3, 3), (4, 4), (5, 7), (7, 7), (13, 14), (14, 14), (33, 20), (56, 9)]:
        for pads in [(1, 1, 1, 1), (0, 0, 0, 0), (2, 1, 0, 2)]:
            if hw[0] + pads[0] + pads[2] < 3 or hw[1] + pads[1] + pads[3] < 3:
                continue
            n = 1 + i % 3
            yield _conv(rng, f"sgemm_wino_{i}", n, 16 + i % 5, 16 + 3 * (i % 4), hw, 3, 1, pads,
                        const_w=i % 4 != 3)
            i += 1
    yield _conv(rng, "sgemm_conv_stem", 2, 3, 20, (30, 31), 7, 2, (3, 3, 3, 3))
    yield _conv(rng, "sgemm_conv_s2", 3, 17, 33, (15, 16), 3, 2, (1, 1, 1, 1))
    yield _conv(rng, "sgemm_conv_1x1", 2, 40, 70, (7, 7), 1, 1, (0, 0, 0, 0))
    yield _conv(rng, "sgemm_conv_1x1_raw", 2, 40, 70, (9, 5), 1, 1, (0, 0, 0, 0), const_w=False)
    yield _conv(rng, "sgemm_conv_1x1_s2", 3, 24, 50, (14, 13), 1, 2, (0, 0, 0, 0))
    yield _conv(rng, "sgemm_conv_grp", 2, 24, 36, (11, 12), 3, 1, (1, 1, 1, 1), group=3)
    yield _conv(rng, "sgemm_conv_dil", 2, 8, 20, (15, 12), 3, 1, (2, 2, 2, 2), dil=2)
    yield _conv(rng, "sgemm_conv_bigk", 1, 300, 20, (6, 6), 3, 1, (1, 1, 1, 1), group=1)


def cases(rng):
    yield from gemm_cases(rng)
    yield from conv_cases(rng)
