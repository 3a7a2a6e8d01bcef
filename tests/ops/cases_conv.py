"""Conv and ConvTranspose cases: odd shapes, every attribute, 1-D to 3-D, grouped/depthwise.

References are plain NumPy float64: a sum over kernel taps of strided slices of the padded
input (Conv) and a scatter of each tap into the full output followed by a crop
(ConvTranspose), independent of the im2col/GEMM structure of the kernels under test.
"""
import itertools

import numpy as np

import opcase


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv_pads(auto_pad, in_sp, k, s, d, pads):
    """Begin/end pads per spatial dim as ONNX Conv defines them."""
    nd = len(in_sp)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pb, pe = [], []
        for i in range(nd):
            out = -(-in_sp[i] // s[i])
            total = max(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_sp[i])
            b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            pb.append(b)
            pe.append(total - b)
        return pb, pe
    if auto_pad == "VALID" or pads is None:
        return [0] * nd, [0] * nd
    return list(pads[:nd]), list(pads[nd:])


def conv_ref(x, w, b, strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET"):
    x, w = x.astype(np.float64), w.astype(np.float64)
    nd = x.ndim - 2
    k = w.shape[2:]
    s = strides or [1] * nd
    d = dilations or [1] * nd
    pb, pe = conv_pads(auto_pad, x.shape[2:], k, s, d, pads)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pb[i], pe[i]) for i in range(nd)])
    out = [(xp.shape[2 + i] - (k[i] - 1) * d[i] - 1) // s[i] + 1 for i in range(nd)]
    n, c = x.shape[:2]
    m = w.shape[0]
    cg, mg = c // group, m // group
    y = np.zeros([n, m] + out)
    for g in range(group):
        for kk in itertools.product(*[range(v) for v in k]):
            sl = tuple(slice(kk[i] * d[i], kk[i] * d[i] + s[i] * (out[i] - 1) + 1, s[i])
                       for i in range(nd))
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + sl]
            wk = w[(slice(g * mg, (g + 1) * mg), slice(None)) + kk]
            y[:, g * mg:(g + 1) * mg] += np.einsum("nc...,mc->nm...", patch, wk)
    if b is not None:
        y += b.astype(np.float64).reshape([1, m] + [1] * nd)
    return y


def convt_ref(x, w, b, strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET",
              output_padding=None, output_shape=None):
    x, w = x.astype(np.float64), w.astype(np.float64)
    nd = x.ndim - 2
    n, c = x.shape[:2]
    in_sp, k = x.shape[2:], w.shape[2:]
    s = strides or [1] * nd
    d = dilations or [1] * nd
    op = output_padding or [0] * nd
    full = [s[i] * (in_sp[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1 for i in range(nd)]
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = list(output_shape) if output_shape is not None else [v * t for v, t in zip(in_sp, s)]
        total = [max(0, full[i] - out[i]) for i in range(nd)]
        pb = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in total]
    else:
        p = pads if (pads is not None and auto_pad != "VALID") else [0] * (2 * nd)
        pb = list(p[:nd])
        out = [full[i] - p[i] - p[i + nd] for i in range(nd)]
    cg, mg = c // group, w.shape[1]
    big = [max(full[i], pb[i] + out[i]) for i in range(nd)]
    yfull = np.zeros([n, mg * group] + big)
    for g in range(group):
        for kk in itertools.product(*[range(v) for v in k]):
            sl = tuple(slice(kk[i] * d[i], kk[i] * d[i] + s[i] * (in_sp[i] - 1) + 1, s[i])
                       for i in range(nd))
            wk = w[(slice(g * cg, (g + 1) * cg), slice(None)) + kk]
            contrib = np.einsum("nc...,cm->nm...", x[:, g * cg:(g + 1) * cg], wk)
            yfull[(slice(None), slice(g * mg, (g + 1) * mg)) + sl] += contrib
    y = yfull[(slice(None), slice(None)) + tuple(slice(pb[i], pb[i] + out[i])
                                                 for i in range(nd))]
    if b is not None:
        y = y + b.astype(np.float64).reshape([1, mg * group] + [1] * nd)
    return y


def _conv_case(rng, name, xs, ws, bias=True, opset=17, init_w=False, **attrs):
    x, w = _f32(rng, *xs), _f32(rng, *ws)
    b = _f32(rng, ws[0]) if bias else None
    y = conv_ref(x, w, b, attrs.get("strides"), attrs.get("pads"), attrs.get("dilations"),
                 attrs.get("group", 1), attrs.get("auto_pad", "NOTSET")).astype(np.float32)
    inputs = [("X", x), ("W", w)] + ([("B", b)] if bias else [])
    init = ("W", "B") if init_w else ()
    return opcase.node_case(name, "Conv", inputs, [("Y", y)], attrs, opset=opset,
                            initializers=init)


def _convt_case(rng, name, xs, ws, group=1, bias=True, opset=17, **attrs):
    x, w = _f32(rng, *xs), _f32(rng, *ws)
    b = _f32(rng, ws[1] * group) if bias else None
    y = convt_ref(x, w, b, attrs.get("strides"), attrs.get("pads"), attrs.get("dilations"),
                  group, attrs.get("auto_pad", "NOTSET"), attrs.get("output_padding"),
                  attrs.get("output_shape")).astype(np.float32)
    if group != 1:
        attrs["group"] = group
    inputs = [("X", x), ("W", w)] + ([("B", b)] if bias else [])
    return opcase.node_case(name, "ConvTranspose", inputs, [("Y", y)], attrs, opset=opset)


def conv_cases(rng):
    yield _conv_case(rng, "conv_2d_basic", (2, 3, 11, 13), (5, 3, 3, 3))
    yield _conv_case(rng, "conv_2d_opset1_no_bias", (1, 3, 7, 9), (4, 3, 2, 3), bias=False,
                     opset=1)
    yield _conv_case(rng, "conv_2d_strides_asym_pads", (2, 3, 11, 13), (5, 3, 3, 4),
                     strides=[2, 3], pads=[1, 0, 2, 1])
    yield _conv_case(rng, "conv_2d_dilations", (1, 2, 13, 12), (3, 2, 3, 3),
                     dilations=[2, 3], pads=[2, 1, 1, 3], kernel_shape=[3, 3])
    yield _conv_case(rng, "conv_2d_groups", (2, 6, 9, 7), (9, 2, 3, 3), group=3,
                     pads=[1, 1, 1, 1])
    yield _conv_case(rng, "conv_2d_depthwise", (2, 8, 15, 11), (8, 1, 3, 3), group=8,
                     pads=[1, 1, 1, 1], init_w=True)
    yield _conv_case(rng, "conv_2d_depthwise_strided", (1, 6, 16, 13), (6, 1, 5, 3),
                     group=6, strides=[2, 2], pads=[2, 1, 1, 0])
    yield _conv_case(rng, "conv_2d_depthwise_multiplier", (1, 4, 9, 10), (12, 1, 3, 3),
                     group=4, dilations=[2, 1], pads=[0, 1, 2, 1])
    for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        yield _conv_case(rng, f"conv_2d_autopad_{mode.lower()}", (1, 3, 11, 10), (4, 3, 4, 3),
                         strides=[2, 3], auto_pad=mode)
    yield _conv_case(rng, "conv_2d_autopad_same_upper_dilated", (1, 2, 9, 8), (3, 2, 3, 2),
                     dilations=[2, 3], auto_pad="SAME_UPPER")
    yield _conv_case(rng, "conv_1d", (2, 4, 23), (6, 4, 5), strides=[2], pads=[3, 1],
                     dilations=[2])
    yield _conv_case(rng, "conv_1d_groups_same_lower", (1, 6, 17), (4, 3, 4), group=2,
                     auto_pad="SAME_LOWER")
    yield _conv_case(rng, "conv_3d", (1, 2, 5, 7, 6), (3, 2, 3, 2, 3), strides=[1, 2, 1],
                     pads=[1, 0, 1, 0, 1, 2], dilations=[1, 1, 2])
    yield _conv_case(rng, "conv_3d_depthwise", (2, 3, 4, 5, 6), (3, 1, 2, 3, 3), group=3,
                     pads=[0, 1, 1, 1, 1, 0])
    yield _conv_case(rng, "conv_1x1_batched", (3, 8, 7, 9), (16, 8, 1, 1))
    yield _conv_case(rng, "conv_1x1_strided", (2, 8, 9, 11), (12, 8, 1, 1), strides=[2, 2])
    yield _conv_case(rng, "conv_1x1_large_tiled", (1, 64, 20, 21), (96, 64, 1, 1), init_w=True)
    yield _conv_case(rng, "conv_3x3_large_tiled", (1, 32, 29, 31), (48, 32, 3, 3),
                     pads=[1, 1, 1, 1], init_w=True)
    # 3x3 stride-1 convs with enough channels and pixels run as Winograd F(2x2, 3x3).
    yield _conv_case(rng, "conv_wino_batch2_asym_pads", (2, 16, 15, 18), (16, 16, 3, 3),
                     pads=[0, 2, 1, 1])
    yield _conv_case(rng, "conv_wino_no_bias_valid", (1, 20, 21, 20), (17, 20, 3, 3),
                     bias=False)
    yield _conv_case(rng, "conv_wino_wide_same", (1, 16, 5, 301), (24, 16, 3, 3),
                     auto_pad="SAME_UPPER", init_w=True)
    yield _conv_case(rng, "conv_3x3_large_m_tiled", (1, 64, 7, 7), (160, 64, 3, 3),
                     pads=[1, 1, 1, 1])
    yield _conv_case(rng, "conv_7x7_stem", (1, 3, 45, 47), (16, 3, 7, 7), strides=[2, 2],
                     pads=[3, 3, 3, 3])
    yield _conv_case(rng, "conv_batched_many_units", (9, 5, 12, 11), (7, 5, 3, 3),
                     pads=[1, 0, 1, 0])
    yield _conv_case(rng, "conv_groups_tiled", (1, 32, 24, 25), (64, 16, 3, 3), group=2,
                     pads=[1, 1, 1, 1])


def convt_cases(rng):
    yield _convt_case(rng, "convt_2d_basic", (2, 3, 5, 6), (3, 4, 3, 3))
    yield _convt_case(rng, "convt_2d_no_bias_opset1", (1, 2, 4, 5), (2, 3, 2, 3), bias=False,
                      opset=1)
    yield _convt_case(rng, "convt_2d_strides_output_padding", (1, 3, 5, 4), (3, 2, 3, 3),
                      strides=[3, 2], output_padding=[1, 1])
    yield _convt_case(rng, "convt_2d_pads", (2, 2, 6, 5), (2, 3, 4, 3), strides=[2, 2],
                      pads=[1, 2, 2, 0])
    yield _convt_case(rng, "convt_2d_dilations", (1, 3, 5, 5), (3, 2, 3, 2), dilations=[2, 3],
                      strides=[1, 2])
    yield _convt_case(rng, "convt_2d_groups", (2, 4, 5, 6), (4, 3, 3, 3), group=2,
                      strides=[2, 1], pads=[1, 0, 0, 1])
    yield _convt_case(rng, "convt_2d_depthwise", (1, 6, 7, 5), (6, 1, 3, 3), group=6,
                      strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 0])
    yield _convt_case(rng, "convt_2d_output_shape", (1, 2, 4, 5), (2, 3, 3, 3),
                      strides=[2, 3], output_shape=[10, 15])
    yield _convt_case(rng, "convt_2d_output_shape_odd", (1, 2, 4, 5), (2, 3, 3, 3),
                      strides=[2, 2], output_shape=[8, 10])
    for mode in ("SAME_UPPER", "SAME_LOWER"):
        yield _convt_case(rng, f"convt_2d_autopad_{mode.lower()}", (1, 3, 5, 4), (3, 2, 4, 3),
                          strides=[2, 3], auto_pad=mode)
    yield _convt_case(rng, "convt_2d_autopad_valid", (1, 2, 3, 4), (2, 2, 3, 3),
                      strides=[2, 2], auto_pad="VALID")
    yield _convt_case(rng, "convt_1d", (2, 3, 9), (3, 4, 4), strides=[3], pads=[1, 2],
                      dilations=[2])
    yield _convt_case(rng, "convt_3d", (1, 2, 3, 4, 3), (2, 3, 2, 3, 2), strides=[2, 1, 2],
                      pads=[0, 1, 1, 1, 0, 0], output_padding=[1, 0, 0])
    yield _convt_case(rng, "convt_2d_large", (1, 32, 12, 13), (32, 24, 4, 4), strides=[2, 2],
                      pads=[1, 1, 1, 1])




def conv_bn_case(rng, name, xs, ws, bias, eps, opset=15, **attrs):
    """Conv -> BatchNormalization with constant weights: exercises the load-time fold."""
    from onnx import helper, numpy_helper, TensorProto
    x, w = _f32(rng, *xs), _f32(rng, *ws)
    m = ws[0]
    b = _f32(rng, m) if bias else None
    scale, bnb, mean = _f32(rng, m), _f32(rng, m), _f32(rng, m)
    var = rng.uniform(0.1, 2.0, m).astype(np.float32)
    t = conv_ref(x, w, b, attrs.get("strides"), attrs.get("pads"), attrs.get("dilations"),
                 attrs.get("group", 1))
    sh = [1, m] + [1] * (x.ndim - 2)
    y = ((t - mean.astype(np.float64).reshape(sh)) /
         np.sqrt(var.astype(np.float64).reshape(sh) + np.float64(np.float32(eps))) *
         scale.astype(np.float64).reshape(sh) + bnb.astype(np.float64).reshape(sh))
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "W"), (scale, "s"), (bnb, "bb"), (mean, "mu"), (var, "var")]]
    conv_in = ["X", "W"]
    if bias:
        inits.append(numpy_helper.from_array(b, "B"))
        conv_in.append("B")
    nodes = [helper.make_node("Conv", conv_in, ["T"], **attrs),
             helper.make_node("BatchNormalization", ["T", "s", "bb", "mu", "var"], ["Y"],
                              epsilon=eps)]
    graph = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, xs)],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return opcase.Case(name, model, [("X", x)], [("Y", y.astype(np.float32))])


def conv_bn_cases(rng):
    yield conv_bn_case(rng, "conv_bn_fold", (2, 3, 9, 8), (5, 3, 3, 3), True, 1e-3,
                       pads=[1, 1, 1, 1])
    yield conv_bn_case(rng, "conv_bn_fold_no_bias_groups", (1, 4, 7, 7), (6, 2, 3, 1), False,
                       1e-5, opset=9, group=2, strides=[2, 1])


def conv_int_case(rng, name, xs, ws, dt_x, dt_w, zw_per_channel=False, **attrs):
    lo_x, hi_x = (0, 256) if dt_x == np.uint8 else (-128, 128)
    lo_w, hi_w = (0, 256) if dt_w == np.uint8 else (-128, 128)
    x = rng.integers(lo_x, hi_x, xs).astype(dt_x)
    w = rng.integers(lo_w, hi_w, ws).astype(dt_w)
    zx = np.array(rng.integers(lo_x, hi_x), dtype=dt_x)
    zw = rng.integers(lo_w, hi_w, ws[0] if zw_per_channel else ()).astype(dt_w)
    xf = x.astype(np.float64) - np.float64(zx)
    wf = w.astype(np.float64) - zw.astype(np.float64).reshape([-1] + [1] * (w.ndim - 1))
    y = conv_ref(xf, wf, None, attrs.get("strides"), attrs.get("pads"), attrs.get("dilations"),
                 attrs.get("group", 1), attrs.get("auto_pad", "NOTSET"))
    return opcase.node_case(name, "ConvInteger", [("x", x), ("w", w), ("xz", zx), ("wz", zw)],
                            [("y", np.rint(y).astype(np.int32))], attrs, opset=10)


def conv_int_cases(rng):
    yield conv_int_case(rng, "convinteger_u8_pads_strides", (2, 3, 9, 8), (4, 3, 3, 2),
                        np.uint8, np.uint8, pads=[1, 0, 2, 1], strides=[2, 1])
    yield conv_int_case(rng, "convinteger_i8_per_channel_groups", (1, 4, 7, 6), (6, 2, 2, 3),
                        np.int8, np.int8, zw_per_channel=True, group=2, dilations=[2, 1],
                        auto_pad="SAME_UPPER")
    yield conv_int_case(rng, "convinteger_u8_i8_1d", (2, 3, 11), (5, 3, 3), np.uint8, np.int8,
                        pads=[1, 1])


def cases(rng):
    yield from conv_cases(rng)
    yield from convt_cases(rng)
    yield from conv_bn_cases(rng)
    yield from conv_int_cases(rng)
