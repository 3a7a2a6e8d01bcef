#!/usr/bin/python3
"""The fusion passes (docs/fusion.md): each pattern, built unfused with onnx.helper, must be
rewritten (`cinfer inspect` reports the fusion), and the fused run must match both NumPy in
float64 and the same model run with --no-fusion. Near misses (an intermediate read twice, a
bias that is not one row, a wrong constant) must be left alone and still compute right.

usage: test_fusion.py CINFER [--device cpu|cuda] [--seed N]
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# DESIGN.md: CPU op vs NumPy float64 is 1e-5 / 1e-6; these are short chains of ops whose
# float32 roundings add up (a GEMM of K=33, a LayerNorm row), so the model row applies.
RTOL, ATOL = 1e-4, 1e-5

ERF = np.vectorize(math.erf)


def conv2d(x, w, b=None, stride=1, pad=0, group=1):
    """NCHW convolution in float64 by explicit sums (the reference for the Conv cases)."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // group
    for o in range(m):
        g = o // mg
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
                y[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j])
        if b is not None:
            y[:, o] += b[o]
    return y


def gelu(x):
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def layernorm(x, scale, bias, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


class Case:
    """One model: nodes over input x (and more inputs), constants, the expected fusions."""

    def __init__(self, name, expect, rng, opset=17):
        self.name, self.expect, self.rng, self.opset = name, expect, rng, opset
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], {}
        self.outputs = []

    def input(self, name, shape):
        a = self.rng.uniform(-2, 2, shape).astype(np.float32)
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        self.feeds[name] = a
        return a.astype(np.float64)

    def input_sym(self, name, shape, names):
        """An input whose dims named in `names` (None where fixed) are symbolic in the file."""
        a = self.rng.uniform(-2, 2, shape).astype(np.float32)
        dims = [nm if nm else d for d, nm in zip(shape, names)]
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
        self.feeds[name] = a
        return a.astype(np.float64)

    def iconst(self, name, values):
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))

    def const(self, name, value):
        a = np.asarray(value, dtype=np.float32)
        self.inits.append(numpy_helper.from_array(a, name))
        return a.astype(np.float64)

    def node(self, op, ins, outs, **attrs):
        self.nodes.append(helper.make_node(op, ins, outs, name=outs[0] + "_node", **attrs))

    def output(self, name, ref):
        self.outputs.append((name, ref))

    def save(self, path):
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n, _ in self.outputs]
        g = helper.make_graph(self.nodes, self.name, self.inputs, outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)])
        m.ir_version = 8
        onnx.save(m, path)


def gelu_chain(c, x, xv, order, prefix="g"):
    """The erf GELU as exporters write it, in one of three orders; returns (name, ref)."""
    c.const(prefix + "_sqrt2", math.sqrt(2.0))
    c.const(prefix + "_one", 1.0)
    c.const(prefix + "_half", 0.5)
    c.node("Div", [x, prefix + "_sqrt2"], [prefix + "_d"])
    c.node("Erf", [prefix + "_d"], [prefix + "_e"])
    c.node("Add", [prefix + "_one", prefix + "_e"], [prefix + "_a"])
    if order == 0:    # (x * (1 + erf)) * 0.5
        c.node("Mul", [x, prefix + "_a"], [prefix + "_m"])
        c.node("Mul", [prefix + "_m", prefix + "_half"], [prefix + "_y"])
    elif order == 1:  # (x * 0.5) * (1 + erf)
        c.node("Mul", [x, prefix + "_half"], [prefix + "_h"])
        c.node("Mul", [prefix + "_h", prefix + "_a"], [prefix + "_y"])
    else:             # x * ((1 + erf) * 0.5)
        c.node("Mul", [prefix + "_a", prefix + "_half"], [prefix + "_h"])
        c.node("Mul", [x, prefix + "_h"], [prefix + "_y"])
    return prefix + "_y", gelu(xv)


def build_cases(rng):
    cases = []
    for order in range(3):
        c = Case("gelu_order%d" % order, {"GELU": 1}, rng)
        xv = c.input("x", (2, 5, 37))
        name, ref = gelu_chain(c, "x", xv, order)
        c.output(name, ref)
        cases.append(c)

    # The tanh GELU as torch exports it (x * x * x), and with Pow(x, 3) and another product order.
    for variant in ["torch", "pow"]:
        c = Case("gelu_tanh_" + variant, {"GELU": 1}, rng)
        xv = c.input("x", (3, 41))
        c.const("k3", 3.0)
        c.const("c1", 0.044715)
        c.const("c2", math.sqrt(2.0 / math.pi))
        c.const("one", 1.0)
        c.const("half", 0.5)
        if variant == "torch":
            c.node("Mul", ["x", "x"], ["sq"])
            c.node("Mul", ["x", "sq"], ["cube"])
        else:
            c.node("Pow", ["x", "k3"], ["cube"])
        c.node("Mul", ["c1", "cube"], ["t"])
        c.node("Add", ["x", "t"], ["s"])
        c.node("Mul", ["c2", "s"], ["u"])
        c.node("Tanh", ["u"], ["th"])
        c.node("Add", ["one", "th"], ["a"])
        if variant == "torch":
            c.node("Mul", ["x", "a"], ["m"])
            c.node("Mul", ["half", "m"], ["y"])
        else:
            c.node("Mul", ["x", "half"], ["h"])
            c.node("Mul", ["h", "a"], ["y"])
        c.output("y", gelu_tanh(xv))
        cases.append(c)

    # MatMul + bias (bias as either Add operand, as [N] or [1, N]) + activation.
    for act in ["none", "relu", "gelu", "gelu_chain", "gelu_tanh"]:
        c = Case("matmul_bias_" + act,
                 {"MatMul + bias": 1, "activation": 0 if act == "none" else 1,
                  "GELU": 1 if act == "gelu_chain" else 0}, rng,
                 opset=20 if act in ("gelu", "gelu_tanh") else 17)  # Gelu is opset 20
        xv = c.input("x", (3, 7, 33))
        w = c.const("w", rng.uniform(-1, 1, (33, 17)))
        b = c.const("b", rng.uniform(-1, 1, (1, 17) if act == "relu" else (17,)))
        c.node("MatMul", ["x", "w"], ["mm"])
        c.node("Add", ["b", "mm"] if act != "gelu" else ["mm", "b"], ["lin"])
        lin = xv @ w + b
        if act == "none":
            c.output("lin", lin)
        elif act == "relu":
            c.node("Relu", ["lin"], ["y"])
            c.output("y", np.maximum(lin, 0))
        elif act == "gelu_chain":
            name, ref = gelu_chain(c, "lin", lin, 0)
            c.output(name, ref)
        else:
            c.node("Gelu", ["lin"], ["y"], approximate="tanh" if act == "gelu_tanh" else "none")
            c.output("y", gelu_tanh(lin) if act == "gelu_tanh" else gelu(lin))
        cases.append(c)

    # MatMul + Relu without a bias; batched B broadcast over a 4-D A.
    c = Case("matmul_relu", {"activation": 1}, rng)
    xv = c.input("x", (2, 3, 5, 16))
    w = c.const("w", rng.uniform(-1, 1, (16, 9)))
    c.node("MatMul", ["x", "w"], ["mm"])
    c.node("Relu", ["mm"], ["y"])
    c.output("y", np.maximum(xv @ w, 0))
    cases.append(c)

    # Add + LayerNormalization: same shapes; a broadcast row; the sum also read elsewhere.
    for variant in ["same", "row", "col", "sum_used", "no_bias"]:
        c = Case("skip_layernorm_" + variant, {"Add + LayerNormalization": 1}, rng)
        av = c.input("a", (2, 3, 48))
        bv = c.input("b", {"row": (48,), "col": (3, 1)}.get(variant, (2, 3, 48)))
        s = c.const("scale", rng.uniform(0.5, 1.5, (48,)))
        bias = c.const("bias", rng.uniform(-1, 1, (48,)))
        c.node("Add", ["a", "b"], ["s"])
        ln_in = ["s", "scale"] + ([] if variant == "no_bias" else ["bias"])
        c.node("LayerNormalization", ln_in, ["y"], axis=-1, epsilon=1e-5)
        c.output("y", layernorm(av + bv, s, 0 if variant == "no_bias" else bias))
        if variant == "sum_used":
            c.const("two", 2.0)
            c.node("Mul", ["s", "two"], ["s2"])
            c.output("s2", (av + bv) * 2)
        cases.append(c)

    # LayerNorm spelled out as opset-14 exports write it (axes attribute), and as opset 18 would
    # (axes input); with the residual Add in front it then fuses on into SkipLayerNorm.
    for variant in ["op14", "op14_no_bias", "op18", "residual"]:
        expect = {"LayerNorm": 1}
        if variant == "residual":
            expect["Add + LayerNormalization"] = 1
        c = Case("layernorm_decomposed_" + variant, expect, rng,
                 opset=18 if variant == "op18" else 14)
        xv = c.input("x", (2, 5, 40))
        x = "x"
        if variant == "residual":
            rv = c.input("r", (2, 5, 40))
            c.node("Add", ["x", "r"], ["xr"])
            x, xv = "xr", xv + rv
        s_ = c.const("scale", rng.uniform(0.5, 1.5, (40,)))
        b_ = c.const("bias", rng.uniform(-1, 1, (40,)))
        c.const("two", 2.0)
        c.const("eps", 1e-5)
        if variant == "op18":
            c.inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes"))
            c.node("ReduceMean", [x, "axes"], ["mean"])
        else:
            c.node("ReduceMean", [x], ["mean"], axes=[-1])
        c.node("Sub", [x, "mean"], ["d"])
        c.node("Pow", ["d", "two"], ["d2"])
        if variant == "op18":
            c.node("ReduceMean", ["d2", "axes"], ["var"])
        else:
            c.node("ReduceMean", ["d2"], ["var"], axes=[-1])
        c.node("Add", ["var", "eps"], ["ve"])
        c.node("Sqrt", ["ve"], ["sd"])
        c.node("Div", ["d", "sd"], ["n"])
        c.node("Mul", ["n", "scale"], ["ns"])
        if variant == "op14_no_bias":
            c.output("ns", layernorm(xv, s_, 0))
        else:
            c.node("Add", ["ns", "bias"], ["y"])
            c.output("y", layernorm(xv, s_, b_))
        cases.append(c)

    # Attention: MatMul(Q, K) [/ c | * c] [+ mask] -> Softmax -> MatMul(., V), with masks of
    # several broadcast shapes and a Q broadcast over a batch dim K and V have.
    variants = [("div_mask4", (2, 3, 17, 8), (2, 3, 8, 19), (2, 1, 1, 19)),
                ("mul_nomask", (2, 3, 17, 8), (2, 3, 8, 19), None),
                ("div_mask2", (3, 17, 8), (2, 3, 8, 19), (17, 19)),
                ("plain_mask1", (5, 8), (8, 33), (33,))]
    for name, qs, ks, ms in variants:
        c = Case("attention_" + name, {"Attention": 1}, rng)
        qv, kv = c.input("q", qs), c.input("k", ks)
        vv = c.input("v", ks[:-2] + (ks[-1], 6))
        c.node("MatMul", ["q", "k"], ["sc"])
        scores, cur = qv @ kv, "sc"
        if name.startswith("div"):
            c.const("c", math.sqrt(8.0))
            c.node("Div", [cur, "c"], ["scd"])
            scores, cur = scores / math.sqrt(8.0), "scd"
        elif name.startswith("mul"):
            c.const("c", 0.125)
            c.node("Mul", ["c", cur], ["scm"])
            scores, cur = scores * 0.125, "scm"
        if ms:
            mv = c.input("mask", ms) * 5
            c.feeds["mask"] = (c.feeds["mask"] * 5).astype(np.float32)
            c.node("Add", [cur, "mask"], ["scmask"])
            scores, cur = scores + mv, "scmask"
        c.node("Softmax", [cur], ["p"], axis=-1)
        c.node("MatMul", ["p", "v"], ["y"])
        c.output("y", softmax(scores) @ vv)
        cases.append(c)

    # The head split and merge around it, as BERT exports write them: Q and V through
    # Transpose(0,2,1,3), K through Transpose(0,2,3,1) (or (0,2,1,3) then (0,1,3,2)), the output
    # through Transpose(0,2,1,3): Attention takes all of them in (packed heads).
    # Also the broadcasts the unfused graph allows: one K/V head for all (multi-query), K/V
    # of batch 1, a mask that widens the batch and the heads.
    for name, (b, sq, skv, h, d, dv), two_k, kvbh, mshape in [
            ("bert", (2, 17, 17, 3, 8, 8), False, None, None),
            ("cross_two_k", (2, 5, 11, 2, 8, 6), True, None, None),
            ("multi_query", (2, 5, 7, 3, 8, 8), False, (2, 1), None),
            ("kv_batch1", (2, 5, 7, 3, 8, 8), False, (1, 3), None),
            ("mask_widens", (1, 5, 7, 1, 8, 8), False, None, (2, 3, 5, 7))]:
        c = Case("attention_packed_" + name, {"Attention": 1, "heads": 1}, rng)
        kb, kh = kvbh or (b, h)
        q4, k4 = c.input("q4", (b, sq, h, d)), c.input("k4", (kb, skv, kh, d))
        v4 = c.input("v4", (kb, skv, kh, dv))
        mv = c.input("mask", mshape or (b, 1, 1, skv)) * 5
        c.feeds["mask"] = (c.feeds["mask"] * 5).astype(np.float32)
        c.node("Transpose", ["q4"], ["q"], perm=[0, 2, 1, 3])
        if two_k:
            c.node("Transpose", ["k4"], ["kh"], perm=[0, 2, 1, 3])
            c.node("Transpose", ["kh"], ["k"], perm=[0, 1, 3, 2])
        else:
            c.node("Transpose", ["k4"], ["k"], perm=[0, 2, 3, 1])
        c.node("Transpose", ["v4"], ["v"], perm=[0, 2, 1, 3])
        c.node("MatMul", ["q", "k"], ["sc"])
        c.const("c", math.sqrt(d))
        c.node("Div", ["sc", "c"], ["scd"])
        c.node("Add", ["scd", "mask"], ["scm"])
        c.node("Softmax", ["scm"], ["p"], axis=-1)
        c.node("MatMul", ["p", "v"], ["o"])
        c.node("Transpose", ["o"], ["y"], perm=[0, 2, 1, 3])
        qh, kh, vh = (t.transpose(0, 2, 1, 3) for t in (q4, k4, v4))
        scores = qh @ kh.transpose(0, 1, 3, 2) / math.sqrt(d) + mv
        c.output("y", (softmax(scores) @ vh).transpose(0, 2, 1, 3))
        cases.append(c)

    # Near misses, where the attention fuses but the heads stay: Q through two Transposes (only
    # K's split may take two); the merged output read by a Transpose of another order.
    for name, q_perms, out_perm in [("two_q", ([0, 2, 3, 1], [0, 1, 3, 2]), [0, 2, 1, 3]),
                                    ("out_perm", ([0, 2, 1, 3],), [0, 2, 3, 1])]:
        c = Case("miss_attention_packed_" + name, {"Attention": 1}, rng)
        q4, k4, v4 = (c.input(n, (2, 7, 2, 8)) for n in ("q4", "k4", "v4"))
        cur, qh = "q4", q4
        for i, perm in enumerate(q_perms):
            nxt = "q" if i == len(q_perms) - 1 else "q%d" % i
            c.node("Transpose", [cur], [nxt], perm=perm)
            cur, qh = nxt, qh.transpose(perm)
        c.node("Transpose", ["k4"], ["k"], perm=[0, 2, 3, 1])
        c.node("Transpose", ["v4"], ["v"], perm=[0, 2, 1, 3])
        c.node("MatMul", ["q", "k"], ["sc"])
        c.node("Softmax", ["sc"], ["p"], axis=-1)
        c.node("MatMul", ["p", "v"], ["o"])
        c.node("Transpose", ["o"], ["y"], perm=out_perm)
        o = softmax(qh @ k4.transpose(0, 2, 3, 1)) @ v4.transpose(0, 2, 1, 3)
        c.output("y", o.transpose(out_perm))
        cases.append(c)

    # Q, K and V cut from one fused projection (chunk(3) of a QKV MatMul), then split into
    # heads: Attention reads the projection's rows (row form) and the Slices go. "chunk" is the
    # torch export (bounds from Shape(qkv)[-1] / 3, the head split's target from the Slice's own
    # Shape, batch and sequence symbolic); "const" has constant bounds and a [0, 0, H, D] target.
    # "split" cuts them with Split (sizes as an input, opset 17), "split18" with Split's
    # num_outputs (opset 18, batch and seq symbolic).
    # Near misses keep the packed heads but not the rows: a step-2 Slice; a Reshape that does
    # not keep the batch and sequence dims in place.
    for name, expect_rows in [("chunk", 1), ("const", 1), ("split", 1), ("split18", 1),
                              ("miss_step2", 0), ("miss_reorder", 0)]:
        b, s, h, d = 2, 5, 3, 4
        e = h * d
        full = name == "miss_step2"
        c = Case(("miss_" if expect_rows == 0 else "") + "attention_rows_" +
                 name.replace("miss_", ""), {"Attention": 1, "heads": 1, "rows": expect_rows}, rng,
                 opset=18 if name == "split18" else 17)
        if name in ("chunk", "split18"):
            xv = c.input_sym("x", (b, s, e), ("batch", "seq", None))
        else:
            xv = c.input("x", (b, s, e))
        width = 6 * e if full else 3 * e
        w = c.const("w", rng.uniform(-0.5, 0.5, (e, width)))
        c.node("MatMul", ["x", "w"], ["qkv"])
        qkv = xv @ w
        parts = []
        if name == "split":
            c.iconst("sizes", [e, e, e])
            c.node("Split", ["qkv", "sizes"], ["q_cut", "k_cut", "v_cut"], axis=-1)
        elif name == "split18":
            c.node("Split", ["qkv"], ["q_cut", "k_cut", "v_cut"], axis=2, num_outputs=3)
        for i, part in enumerate("qkv"):
            if name.startswith("split"):
                cut = qkv[:, :, i * e:(i + 1) * e]
                c.iconst(part + "_target", [0, 0, h, d])
            elif name == "chunk":
                if i == 0:
                    c.node("Shape", ["qkv"], ["qkv_shape"])
                    c.iconst("last", -1)
                    c.node("Gather", ["qkv_shape", "last"], ["qkv_e"], axis=0)
                    c.iconst("two", [2])
                    c.iconst("three", [3])
                    c.node("Add", ["qkv_e", "two"], ["qkv_e2"])
                    c.node("Div", ["qkv_e2", "three"], ["chunk"])
                    c.iconst("zero1", [0])
                    c.iconst("axes_last", [-1])
                    for j in (1, 2, 3):
                        c.iconst("m%d" % j, [j])
                        c.node("Mul", ["chunk", "m%d" % j], ["end%d" % j])
                start = "zero1" if i == 0 else "end%d" % i
                c.node("Slice", ["qkv", start, "end%d" % (i + 1), "axes_last"], [part + "_cut"])
                c.node("Shape", [part + "_cut"], [part + "_shape"])
                c.iconst(part + "_i0", 0)
                c.iconst(part + "_i1", 1)
                c.node("Gather", [part + "_shape", part + "_i0"], [part + "_b"], axis=0)
                c.node("Gather", [part + "_shape", part + "_i1"], [part + "_s"], axis=0)
                c.iconst(part + "_ax0", [0])
                c.node("Unsqueeze", [part + "_b", part + "_ax0"], [part + "_bu"])
                c.node("Unsqueeze", [part + "_s", part + "_ax0"], [part + "_su"])
                c.iconst(part + "_hd", [h, d])
                c.node("Concat", [part + "_bu", part + "_su", part + "_hd"], [part + "_target"],
                       axis=0)
                cut = qkv[:, :, i * e:(i + 1) * e]
            else:
                step = 2 if full else 1
                c.iconst(part + "_st", [i * e * step])
                c.iconst(part + "_en", [(i + 1) * e * step])
                c.iconst(part + "_ax", [2])
                ins = ["qkv", part + "_st", part + "_en", part + "_ax"]
                if full:
                    c.iconst(part + "_sp", [2])
                    ins.append(part + "_sp")
                c.node("Slice", ins, [part + "_cut"])
                cut = qkv[:, :, i * e * step:(i + 1) * e * step:step]
                target = [s, b, h, d] if name == "miss_reorder" else [0, 0, h, d]
                c.iconst(part + "_target", target)
            c.node("Reshape", [part + "_cut", part + "_target"], [part + "4"])
            parts.append(cut.reshape((s, b, h, d) if name == "miss_reorder" else (b, s, h, d)))
        c.node("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3])
        c.node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1])
        c.node("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3])
        c.node("MatMul", ["qh", "kt"], ["sc"])
        c.const("c", math.sqrt(d))
        c.node("Div", ["sc", "c"], ["scd"])
        c.node("Softmax", ["scd"], ["p"], axis=-1)
        c.node("MatMul", ["p", "vh"], ["o"])
        c.node("Transpose", ["o"], ["y"], perm=[0, 2, 1, 3])
        qh, kh, vh = (t.transpose(0, 2, 1, 3) for t in parts)
        o = softmax(qh @ kh.transpose(0, 1, 3, 2) / math.sqrt(d)) @ vh
        c.output("y", o.transpose(0, 2, 1, 3))
        cases.append(c)

    c = Case("miss_attention_scores_read", {}, rng)
    qv, kv, vv = c.input("q", (4, 6)), c.input("k", (6, 7)), c.input("v", (7, 3))
    c.node("MatMul", ["q", "k"], ["sc"])
    c.node("Softmax", ["sc"], ["p"], axis=-1)
    c.node("MatMul", ["p", "v"], ["y"])
    c.output("y", softmax(qv @ kv) @ vv)
    c.output("sc", qv @ kv)
    cases.append(c)

    c = Case("miss_attention_softmax_axis0", {}, rng)
    qv, kv, vv = c.input("q", (4, 6)), c.input("k", (6, 7)), c.input("v", (7, 3))
    c.node("MatMul", ["q", "k"], ["sc"])
    c.node("Softmax", ["sc"], ["p"], axis=0)
    c.node("MatMul", ["p", "v"], ["y"])
    sc = qv @ kv
    e = np.exp(sc - sc.max(axis=0, keepdims=True))
    c.output("y", (e / e.sum(axis=0, keepdims=True)) @ vv)
    cases.append(c)

    # Conv + Add(residual) [+ Relu]: the Winograd path (3x3, 16 channels), the GEMM path (1x1
    # stride 2, the addend in the GEMM epilogue), depthwise, and an addend that broadcasts.
    conv_variants = [("wino_relu", 16, 16, 3, 1, 1, 1, "same", True),
                     ("gemm_1x1_s2", 8, 12, 1, 2, 0, 1, "same", True),
                     ("gemm_3x3_nobias", 5, 7, 3, 1, 1, 1, "same", False),
                     ("depthwise", 6, 6, 3, 1, 1, 6, "same", True),
                     ("bcast_channel", 16, 16, 3, 1, 1, 1, "channel", True)]
    for name, cin, cout, k, stride, pad, group, zkind, relu in conv_variants:
        expect = {"Conv + Add": 1, "activation": 1 if relu else 0}
        c = Case("conv_add_" + name, expect, rng)
        xv = c.input("x", (2, cin, 9, 11))
        wv = c.const("w", rng.uniform(-0.5, 0.5, (cout, cin // group, k, k)))
        bv = None if name.endswith("nobias") else c.const("b", rng.uniform(-1, 1, (cout,)))
        ref = conv2d(xv, wv, bv, stride, pad, group)
        zv = c.input("z", ref.shape if zkind == "same" else (cout, 1, 1))
        c.node("Conv", ["x", "w"] + ([] if bv is None else ["b"]), ["cv"], kernel_shape=[k, k],
               strides=[stride, stride], pads=[pad] * 4, group=group)
        c.node("Add", ["z", "cv"], ["s"])
        ref = ref + zv
        if relu:
            c.node("Relu", ["s"], ["y"])
            c.output("y", np.maximum(ref, 0))
        else:
            c.output("s", ref)
        cases.append(c)

    # Conv + Relu and Gemm + Relu: the activation moves into the kernel's epilogue.
    c = Case("conv_relu", {"activation": 1}, rng)
    xv = c.input("x", (1, 3, 9, 11))
    w = c.const("w", rng.uniform(-1, 1, (4, 3, 3, 3)))
    c.node("Conv", ["x", "w"], ["cv"], pads=[1, 1, 1, 1])
    c.node("Relu", ["cv"], ["y"])
    ref = np.zeros((1, 4, 9, 11))
    xp = np.pad(xv, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for o in range(4):
        for i in range(9):
            for j in range(11):
                ref[0, o, i, j] = (xp[0, :, i:i + 3, j:j + 3] * w[o]).sum()
    c.output("y", np.maximum(ref, 0))
    cases.append(c)

    c = Case("gemm_relu", {"activation": 1}, rng)
    xv = c.input("x", (6, 20))
    w = c.const("w", rng.uniform(-1, 1, (13, 20)))
    b = c.const("b", rng.uniform(-1, 1, (13,)))
    c.node("Gemm", ["x", "w", "b"], ["gm"], transB=1)
    c.node("Relu", ["gm"], ["y"])
    c.output("y", np.maximum(xv @ w.T + b, 0))
    cases.append(c)

    # Near misses: nothing may fuse, and the results stay right.
    c = Case("miss_matmul_read_twice", {}, rng)
    xv = c.input("x", (4, 8))
    w = c.const("w", rng.uniform(-1, 1, (8, 5)))
    b = c.const("b", rng.uniform(-1, 1, (5,)))
    c.node("MatMul", ["x", "w"], ["mm"])
    c.node("Add", ["mm", "b"], ["lin"])
    c.output("lin", xv @ w + b)
    c.output("mm", xv @ w)
    cases.append(c)

    c = Case("miss_bias_not_a_row", {}, rng)
    xv = c.input("x", (4, 8))
    w = c.const("w", rng.uniform(-1, 1, (8, 5)))
    b = c.const("b", rng.uniform(-1, 1, (4, 5)))
    c.node("MatMul", ["x", "w"], ["mm"])
    c.node("Add", ["mm", "b"], ["lin"])
    c.output("lin", xv @ w + b)
    cases.append(c)

    c = Case("miss_gelu_wrong_constant", {"chain": 1}, rng)  # not a GELU: a generic chain
    xv = c.input("x", (3, 11))
    c.const("g_sqrt2", 1.5)
    c.const("g_one", 1.0)
    c.const("g_half", 0.5)
    c.node("Div", ["x", "g_sqrt2"], ["g_d"])
    c.node("Erf", ["g_d"], ["g_e"])
    c.node("Add", ["g_one", "g_e"], ["g_a"])
    c.node("Mul", ["x", "g_a"], ["g_m"])
    c.node("Mul", ["g_m", "g_half"], ["g_y"])
    c.output("g_y", 0.5 * xv * (1 + ERF(xv / 1.5)))
    cases.append(c)

    # Runs of elementwise ops -> ElementwiseChain.
    c = Case("chain_silu", {"chain": 1}, rng)
    xv = c.input("x", (3, 7, 33))
    c.node("Sigmoid", ["x"], ["s"])
    c.node("Mul", ["x", "s"], ["y"])
    c.output("y", xv / (1 + np.exp(-xv)))
    cases.append(c)

    c = Case("chain_hardswish_decomposed", {"chain": 1}, rng)
    xv = c.input("x", (2, 5, 9, 11)) * 2
    c.feeds["x"] *= 2
    c.const("three", 3.0)
    c.const("zero", 0.0)
    c.const("six", 6.0)
    c.node("Add", ["x", "three"], ["a"])
    c.node("Max", ["a", "zero"], ["r"])
    c.node("Min", ["six", "r"], ["m"])
    c.node("Mul", ["x", "m"], ["p"])
    c.node("Div", ["p", "six"], ["y"])
    c.output("y", xv * np.minimum(np.maximum(xv + 3, 0), 6) / 6)
    cases.append(c)

    c = Case("chain_const_left_unaries", {"chain": 1}, rng)
    xv = c.input("x", (4, 1001))
    c.const("one", [1.0])  # shape [1]: broadcasts without changing x's shape
    c.const("half", 0.5)
    c.node("Sub", ["one", "x"], ["d"])
    c.node("Mul", ["d", "half"], ["h"])
    c.node("Exp", ["h"], ["e"])
    c.node("Neg", ["e"], ["n"])
    c.node("Abs", ["n"], ["a"])
    c.node("Sqrt", ["a"], ["q"])
    c.node("Tanh", ["q"], ["t"])
    c.node("Reciprocal", ["t"], ["y"])
    c.output("y", 1 / np.tanh(np.sqrt(np.abs(-np.exp((1 - xv) * 0.5)))))
    cases.append(c)

    c = Case("chain_scalar_input_rank1_const", {"chain": 1}, rng)
    xv = c.input("x", ())
    c.const("two", [2.0])
    c.node("Relu", ["x"], ["r"])
    c.node("Add", ["r", "two"], ["y"])
    c.output("y", np.maximum(xv, 0).reshape(1) + 2)
    cases.append(c)

    c = Case("chain_split_by_output", {"chain": 2}, rng)  # e is an output: the run splits there
    xv = c.input("x", (5, 13))
    c.const("k", 0.25)
    c.node("Mul", ["x", "k"], ["m"])
    c.node("Exp", ["m"], ["e"])
    c.node("Neg", ["e"], ["n"])
    c.node("Sigmoid", ["n"], ["y"])
    c.output("e", np.exp(xv * 0.25))
    c.output("y", 1 / (1 + np.exp(np.exp(xv * 0.25))))
    cases.append(c)

    c = Case("miss_chain_tensor_operand", {}, rng)  # Add of two tensors ends the run at once
    xv = c.input("x", (6, 10))
    zv = c.input("z", (6, 10))
    c.node("Add", ["x", "z"], ["a"])
    c.node("Relu", ["a"], ["y"])
    c.output("y", np.maximum(xv + zv, 0))
    cases.append(c)

    c = Case("miss_layernorm_mean_read", {}, rng)
    av = c.input("a", (2, 16))
    bv = c.input("b", (2, 16))
    s = c.const("scale", rng.uniform(0.5, 1.5, (16,)))
    c.node("Add", ["a", "b"], ["s"])
    c.node("LayerNormalization", ["s", "scale"], ["y", "mean"], axis=-1)
    c.output("y", layernorm(av + bv, s, 0))
    c.output("mean", (av + bv).mean(axis=-1, keepdims=True))
    cases.append(c)
    return cases


KIND_PATTERNS = {
    "GELU": r"GELU chain -> Gelu\s+(\d+)",
    "MatMul + bias": r"MatMul \+ bias -> FusedMatMul\s+(\d+)",
    "Conv + Add": r"Conv \+ Add \(residual\) -> FusedConv\s+(\d+)",
    "activation": r"MatMul/Conv/Gemm \+ Relu/Gelu -> epilogue\s+(\d+)",
    "Attention": r"Q K\^T, scale, mask, Softmax, \. V -> Attention\s+(\d+)",
    "LayerNorm": r"LayerNorm in elementwise ops -> LayerNormalization\s+(\d+)",
    "Add + LayerNormalization": r"Add \+ LayerNormalization -> SkipLayerNorm\s+(\d+)",
    "chain": r"elementwise ops -> ElementwiseChain\s+(\d+)",
    "heads": r"head Transposes -> Attention \(packed heads\)\s+(\d+)",
    "rows": r"QKV Slices -> Attention \(row form\)\s+(\d+)",
}


def fusions_reported(cinfer, model, device):
    p = subprocess.run([cinfer, "inspect", model, "--device", device], capture_output=True,
                       text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("inspect failed: " + p.stderr.strip())
    found = {}
    for kind, pat in KIND_PATTERNS.items():
        m = re.search(pat, p.stdout)
        found[kind] = int(m.group(1)) if m else 0
    return found


def run_model(cinfer, model, feeds, outdir, device, extra):
    args = [cinfer, "run", model, "-o", outdir, "--device", device] + extra
    for name, a in feeds.items():
        path = os.path.join(outdir, "in_" + name + ".npy")
        np.save(path, a)
        args += ["-i", name + "=" + path]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("run failed: " + p.stderr.strip())


def close(got, ref):
    if got.shape != ref.shape or not np.all(np.isfinite(got)):
        return False, float("inf")
    err = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
    bound = ATOL + RTOL * (float(np.max(np.abs(ref))) if ref.size else 0.0)
    return err <= bound, err


def check_case(cinfer, c, tmp, device):
    model = os.path.join(tmp, c.name + ".onnx")
    c.save(model)
    problems = []
    found = fusions_reported(cinfer, model, device)
    for kind in KIND_PATTERNS:
        want = c.expect.get(kind, 0)
        if found[kind] != want:
            problems.append("%s fused %d times, expected %d" % (kind, found[kind], want))
    results = {}
    for mode, extra in [("fused", []), ("unfused", ["--no-fusion"])]:
        out = os.path.join(tmp, c.name + "_" + mode)
        os.makedirs(out, exist_ok=True)
        run_model(cinfer, model, c.feeds, out, device, extra)
        results[mode] = {n: np.load(os.path.join(out, n + ".npy")) for n, _ in c.outputs}
        for name, ref in c.outputs:
            ok, err = close(results[mode][name], ref)
            if not ok:
                problems.append("%s output %s: max error %.3g vs NumPy float64" % (mode, name, err))
    for name, _ in c.outputs:
        ok, err = close(results["fused"][name], results["unfused"][name].astype(np.float64))
        if not ok:
            problems.append("fused vs unfused output %s: max error %.3g" % (name, err))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cinfer")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=20261126)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="cinfer-fusion-") as tmp:
        for c in build_cases(rng):
            try:
                problems = check_case(a.cinfer, c, tmp, a.device)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                problems = [str(e)]
            print(("FAIL " if problems else "ok   ") + c.name)
            for p in problems:
                print("     " + p)
            failed += bool(problems)
    if failed:
        print("test_fusion: %d case(s) failed (seed %d)" % (failed, a.seed))
        return 1
    print("test_fusion: all passed (seed %d)" % a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
