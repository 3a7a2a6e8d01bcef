"""Op cases for the pool family: MaxPool (with Indices), AveragePool, LpPool and the Global
pools, 1-D to 3-D, every attribute (pads, strides, dilations, ceil_mode, auto_pad,
count_include_pad, storage_order).

The reference walks every output window in NumPy float64 (output sizes from the ONNX spec's
formulas); symmetric cases are also checked against PyTorch when it is importable.
"""
import itertools

import numpy as np

import opcase


def out_geometry(in_sp, k, s, d, pads, auto_pad, ceil_mode):
    """Output sizes and (begin, end) pads per spatial dim, per the ONNX spec."""
    n = len(in_sp)
    out, pb, pe = [], [], []
    for i in range(n):
        ek = (k[i] - 1) * d[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-in_sp[i] // s[i])
            total = max(0, (o - 1) * s[i] + ek - in_sp[i])
            b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            out.append(o), pb.append(b), pe.append(total - b)
        elif auto_pad == "VALID":
            out.append((in_sp[i] - ek) // s[i] + 1), pb.append(0), pe.append(0)
        else:
            span = in_sp[i] + pads[i] + pads[i + n] - ek
            o = (-(-span // s[i]) if ceil_mode else span // s[i]) + 1
            # The last window must start inside the input or the leading pad.
            if ceil_mode and (o - 1) * s[i] >= in_sp[i] + pads[i]:
                o -= 1
            out.append(o), pb.append(pads[i]), pe.append(pads[i + n])
    return out, pb, pe


def pool_ref(x, kind, k, s, d, pads, auto_pad="NOTSET", ceil_mode=0, include_pad=0, p=2,
             col_major=0):
    """Returns (y, indices) in float64 / int64 for kind in max, avg, lp."""
    N, C = x.shape[:2]
    sp = x.shape[2:]
    out, pb, pe = out_geometry(sp, k, s, d, pads, auto_pad, ceil_mode)
    y = np.zeros((N, C) + tuple(out))
    idx = np.zeros((N, C) + tuple(out), dtype=np.int64)
    xf = x.astype(np.float64)
    plane = int(np.prod(sp))
    for o in itertools.product(*[range(v) for v in out]):
        taps, npad = [], 1
        for i in range(len(sp)):
            t = o[i] * s[i] - pb[i] + np.arange(k[i]) * d[i]
            npad *= int(np.sum((t >= -pb[i]) & (t < sp[i] + pe[i])))
            taps.append(t[(t >= 0) & (t < sp[i])])
        win = xf[(slice(None), slice(None)) + np.ix_(*taps)].reshape(N, C, -1)
        sl = (slice(None), slice(None)) + o
        if kind == "max":
            y[sl] = win.max(axis=2)
            am = win.argmax(axis=2)  # first max, as the kernel
            coords = np.unravel_index(am, [len(t) for t in taps])
            real = [taps[i][coords[i]] for i in range(len(sp))]
            if col_major:
                flat = sum(real[i] * int(np.prod(sp[:i])) for i in range(len(sp)))
            else:
                flat = np.ravel_multi_index(real, sp)
            base = (np.arange(N)[:, None] * C + np.arange(C)[None, :]) * plane
            idx[sl] = base + flat
        elif kind == "avg":
            y[sl] = win.sum(axis=2) / (npad if include_pad else win.shape[2])
        else:
            y[sl] = np.sum(np.abs(win) ** p, axis=2) ** (1.0 / p)
    return y, idx


def torch_check(x, kind, k, s, d, pads, ceil_mode, include_pad, y):
    """Cross-checks the reference against PyTorch on symmetric 1-D..3-D cases."""
    try:
        import torch
        import torch.nn.functional as F
    except Exception:
        return
    n = len(k)
    if pads[:n] != pads[n:] or any(2 * pads[i] > k[i] for i in range(n)):
        return
    t = torch.from_numpy(x.astype(np.float64))
    if kind == "max":
        f = [F.max_pool1d, F.max_pool2d, F.max_pool3d][n - 1]
        r = f(t, k, s, pads[:n], d, ceil_mode=bool(ceil_mode))
    elif kind == "avg" and all(v == 1 for v in d):
        f = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][n - 1]
        r = f(t, k, s, pads[:n], ceil_mode=bool(ceil_mode), count_include_pad=bool(include_pad))
    else:
        return
    assert np.allclose(r.numpy(), y, rtol=1e-12, atol=1e-12), "pool reference != torch"


def rand_input(rng, shape, dtype=np.float32):
    if dtype == np.uint8:
        return rng.integers(0, 256, size=shape).astype(np.uint8)
    if dtype == np.int8:
        return rng.integers(-128, 128, size=shape).astype(np.int8)
    return rng.standard_normal(shape).astype(np.float32)


def pool_case(name, rng, op, in_sp, k, s=None, d=None, pads=None, auto_pad=None, ceil_mode=None,
              include_pad=None, p=None, indices=False, col_major=None, opset=17,
              dtype=np.float32, N=2, C=3):
    n = len(in_sp)
    x = rand_input(rng, (N, C) + tuple(in_sp), dtype)
    attrs = {"kernel_shape": list(k)}
    for key, val in (("strides", s), ("dilations", d), ("pads", pads), ("auto_pad", auto_pad),
                     ("ceil_mode", ceil_mode), ("count_include_pad", include_pad), ("p", p),
                     ("storage_order", col_major)):
        if val is not None:
            attrs[key] = val
    kind = {"MaxPool": "max", "AveragePool": "avg", "LpPool": "lp"}[op]
    y, idx = pool_ref(x, kind, list(k), s or [1] * n, d or [1] * n, pads or [0] * (2 * n),
                      auto_pad or "NOTSET", ceil_mode or 0, include_pad or 0,
                      p if p is not None else 2, col_major or 0)
    if not auto_pad or auto_pad == "NOTSET":
        torch_check(x, kind, list(k), s or [1] * n, d or [1] * n, pads or [0] * (2 * n),
                    ceil_mode or 0, include_pad or 0, y)
    outs = [("y", y.astype(dtype))]
    if indices:
        outs.append(("indices", idx))
    return opcase.node_case(name, op, [("x", x)], outs, attrs=attrs, opset=opset)


def maxpool_cases(rng):
    yield pool_case("maxpool_1d", rng, "MaxPool", [11], [3])
    yield pool_case("maxpool_1d_stride_pad_dil", rng, "MaxPool", [17], [3], s=[2], d=[2],
                    pads=[2, 1])
    yield pool_case("maxpool_2d_resnet", rng, "MaxPool", [15, 15], [3, 3], s=[2, 2],
                    pads=[1, 1, 1, 1], N=1, C=8)
    yield pool_case("maxpool_2d_asym_pads", rng, "MaxPool", [9, 8], [3, 2], s=[2, 3],
                    pads=[0, 1, 2, 1])
    yield pool_case("maxpool_2d_dilations", rng, "MaxPool", [10, 11], [2, 3], d=[2, 3],
                    s=[1, 2])
    yield pool_case("maxpool_2d_ceil", rng, "MaxPool", [10, 7], [3, 3], s=[2, 2], ceil_mode=1)
    yield pool_case("maxpool_2d_ceil_pads", rng, "MaxPool", [6, 9], [2, 3], s=[3, 2],
                    pads=[1, 1, 1, 1], ceil_mode=1)
    for ap in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        yield pool_case(f"maxpool_2d_{ap.lower()}", rng, "MaxPool", [7, 10], [3, 4], s=[2, 3],
                        auto_pad=ap)
    yield pool_case("maxpool_3d", rng, "MaxPool", [5, 6, 7], [2, 3, 2], s=[1, 2, 2],
                    pads=[1, 0, 1, 0, 1, 1])
    yield pool_case("maxpool_3d_dil_ceil", rng, "MaxPool", [7, 6, 8], [2, 2, 3], s=[2, 2, 2],
                    d=[2, 1, 2], ceil_mode=1)
    for cm in (0, 1):
        yield pool_case(f"maxpool_2d_indices_order{cm}", rng, "MaxPool", [7, 9], [3, 2],
                        s=[2, 2], pads=[1, 0, 1, 1], indices=True, col_major=cm)
        yield pool_case(f"maxpool_3d_indices_order{cm}", rng, "MaxPool", [4, 5, 6], [2, 2, 3],
                        s=[2, 1, 2], indices=True, col_major=cm)
    yield pool_case("maxpool_1d_indices", rng, "MaxPool", [13], [4], s=[3], pads=[1, 2],
                    indices=True)
    yield pool_case("maxpool_2d_uint8", rng, "MaxPool", [8, 7], [3, 3], pads=[1, 1, 1, 1],
                    dtype=np.uint8, opset=12)
    yield pool_case("maxpool_2d_int8", rng, "MaxPool", [8, 7], [2, 3], s=[2, 1],
                    dtype=np.int8, opset=12)
    yield pool_case("maxpool_2d_big", rng, "MaxPool", [36, 36], [3, 3], s=[2, 2],
                    pads=[1, 1, 1, 1], N=2, C=64)  # several planes per thread
    yield pool_case("avgpool_2d_big", rng, "AveragePool", [36, 36], [3, 3], s=[1, 1],
                    pads=[1, 1, 1, 1], N=2, C=64, include_pad=0)
    yield pool_case("maxpool_2d_opset1", rng, "MaxPool", [8, 8], [2, 2], s=[2, 2], opset=1)
    yield pool_case("maxpool_2d_opset8_indices", rng, "MaxPool", [6, 5], [2, 2], indices=True,
                    opset=8)
    for j in range(4):  # random 1-D..3-D geometry
        n = int(rng.integers(1, 4))
        in_sp = [int(v) for v in rng.integers(4, 10, size=n)]
        k = [int(v) for v in rng.integers(1, 4, size=n)]
        s = [int(v) for v in rng.integers(1, 4, size=n)]
        d = [int(v) for v in rng.integers(1, 3, size=n)]
        pads = [int(rng.integers(0, k[i % n])) for i in range(2 * n)]
        yield pool_case(f"maxpool_rand{j}", rng, "MaxPool", in_sp, k, s=s, d=d, pads=pads,
                        ceil_mode=int(rng.integers(0, 2)), indices=bool(j % 2))


def avgpool_cases(rng):
    for inc in (0, 1):
        yield pool_case(f"avgpool_1d_pads_inc{inc}", rng, "AveragePool", [12], [4], s=[3],
                        pads=[2, 1], include_pad=inc)
        yield pool_case(f"avgpool_2d_pads_inc{inc}", rng, "AveragePool", [9, 10], [3, 3],
                        s=[2, 2], pads=[1, 1, 1, 1], include_pad=inc)
        yield pool_case(f"avgpool_2d_asym_inc{inc}", rng, "AveragePool", [7, 8], [3, 2],
                        s=[1, 3], pads=[2, 0, 1, 1], include_pad=inc)
        yield pool_case(f"avgpool_2d_ceil_inc{inc}", rng, "AveragePool", [8, 11], [3, 3],
                        s=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, include_pad=inc)
        yield pool_case(f"avgpool_3d_inc{inc}", rng, "AveragePool", [5, 6, 7], [2, 3, 3],
                        s=[2, 2, 1], pads=[1, 1, 0, 0, 1, 1], include_pad=inc)
        for ap in ("SAME_UPPER", "SAME_LOWER"):
            yield pool_case(f"avgpool_2d_{ap.lower()}_inc{inc}", rng, "AveragePool", [7, 9],
                            [3, 4], s=[2, 2], auto_pad=ap, include_pad=inc)
        yield pool_case(f"avgpool_2d_dilations_inc{inc}", rng, "AveragePool", [10, 9], [2, 3],
                        d=[3, 2], pads=[1, 2, 0, 1], include_pad=inc, opset=19)
    yield pool_case("avgpool_2d_valid", rng, "AveragePool", [9, 8], [3, 2], s=[2, 2],
                    auto_pad="VALID")
    yield pool_case("avgpool_2d_opset7", rng, "AveragePool", [8, 8], [3, 3],
                    pads=[1, 1, 1, 1], include_pad=1, opset=7)
    yield pool_case("avgpool_2d_opset1", rng, "AveragePool", [6, 7], [2, 2], s=[2, 2],
                    opset=1)
    for j in range(3):
        n = int(rng.integers(1, 4))
        in_sp = [int(v) for v in rng.integers(4, 10, size=n)]
        k = [int(v) for v in rng.integers(1, 4, size=n)]
        s = [int(v) for v in rng.integers(1, 3, size=n)]
        pads = [int(rng.integers(0, k[i % n])) for i in range(2 * n)]
        yield pool_case(f"avgpool_rand{j}", rng, "AveragePool", in_sp, k, s=s, pads=pads,
                        include_pad=int(rng.integers(0, 2)), ceil_mode=int(rng.integers(0, 2)))


def lppool_cases(rng):
    for p in (1, 2, 3):
        yield pool_case(f"lppool_2d_p{p}", rng, "LpPool", [8, 9], [3, 2], s=[2, 2],
                        pads=[1, 0, 1, 1], p=p, opset=11)
    yield pool_case("lppool_1d", rng, "LpPool", [10], [3], s=[2], opset=11)
    yield pool_case("lppool_3d_same", rng, "LpPool", [5, 4, 6], [2, 2, 3], auto_pad="SAME_UPPER",
                    p=2, opset=11)


def global_cases(rng):
    for op, f in (("GlobalAveragePool", "avg"), ("GlobalMaxPool", "max"),
                  ("GlobalLpPool", "lp")):
        for sp in ([9], [7, 5], [3, 4, 5], [1, 1], [33, 33]):
            x = rng.standard_normal((2, 3) + tuple(sp)).astype(np.float32)
            xf = x.astype(np.float64).reshape(2, 3, -1)
            if f == "avg":
                y = xf.mean(axis=2)
            elif f == "max":
                y = xf.max(axis=2)
            else:
                y = np.sqrt(np.sum(xf * xf, axis=2))
            y = y.reshape((2, 3) + (1,) * len(sp)).astype(np.float32)
            name = f"{op}_{'x'.join(map(str, sp))}"
            yield opcase.node_case(name, op, [("x", x)], [("y", y)], opset=13)
    x = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    y = np.sum(np.abs(x.astype(np.float64)) ** 3, axis=(2, 3), keepdims=True) ** (1 / 3)
    yield opcase.node_case("GlobalLpPool_p3", "GlobalLpPool", [("x", x)],
                           [("y", y.astype(np.float32))], attrs={"p": 3}, opset=2)
    x = rng.integers(0, 256, size=(2, 3, 5, 4)).astype(np.uint8)
    yield opcase.node_case("GlobalMaxPool_uint8", "GlobalMaxPool", [("x", x)],
                           [("y", x.max(axis=(2, 3), keepdims=True))], opset=13)


def unpool_cases(rng):
    """MaxUnpool of MaxPool's own outputs; output_shape (when given) is the pooled input's."""
    for i, (in_sp, k, s, pads, give_shape) in enumerate([
            ([6, 8], [2, 2], [2, 2], [0, 0, 0, 0], False),
            ([7, 9], [2, 3], [2, 2], [0, 0, 0, 0], True),
            ([9], [3], [2], [1, 1], True),
            ([4, 6, 4], [2, 2, 2], [2, 2, 2], [0, 0, 0, 0, 0, 0], False)]):
        n = len(in_sp)
        x = rand_input(rng, (2, 3) + tuple(in_sp))
        pooled, idx = pool_ref(x, "max", k, s, [1] * n, pads)
        pooled = pooled.astype(np.float32)
        out_shape = (2, 3) + tuple((pooled.shape[2 + j] - 1) * s[j] + k[j] - pads[j] - pads[j + n]
                                   for j in range(n))
        if give_shape:
            out_shape = x.shape
        y = np.zeros(out_shape, np.float32)
        y.reshape(-1)[idx.reshape(-1)] = pooled.reshape(-1)
        inputs = [("x", pooled), ("i", idx)]
        if give_shape:
            inputs.append(("shape", np.array(out_shape, np.int64)))
        yield opcase.node_case(f"maxunpool_{i}", "MaxUnpool", inputs, [("y", y)],
                               attrs={"kernel_shape": k, "strides": s, "pads": pads}, opset=11,
                               initializers=("shape",))


def cases(rng):
    yield from maxpool_cases(rng)
    yield from unpool_cases(rng)
    yield from avgpool_cases(rng)
    yield from lppool_cases(rng)
    yield from global_cases(rng)
