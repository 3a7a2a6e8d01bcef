#!/usr/bin/python3
"""Models stored in 16-bit floats (src/ir/float_compute.c) against ONNX Runtime.

Each zoo model is converted here the way fp16 converters for GPU deployment do it: float
initializers, Constant tensors, Cast(to=float) targets and ConstantOfShape values become fp16
(or bf16), and so do the graph's float inputs and outputs (fp16; for bf16, which .npy cannot
hold, the graph keeps float inputs and outputs around Casts to bf16). cinfer computes such a
model in float, so the reference is ONNX Runtime on the float model whose weights were rounded
through the same 16-bit type, fed the same (rounded) inputs: the two then differ by float
arithmetic only, plus the one rounding of each fp16 output. Tolerances (max|got - ref| <=
atol + rtol * max|ref|): fp16 outputs 2e-3 / 1e-4 (the output's rounding, 2^-11 of its value,
and the float model's 1e-4); bf16 (float outputs) DESIGN.md's float model row, 1e-4 / 1e-5.
Also: the float mlp rounding its input through fp16 (bf16) on purpose, a float model with
16-bit values inside, against ONNX Runtime on the same file at the float model tolerance (the
load must keep that rounding). The CPU in CI; the same models run on CUDA with --device cuda,
at --precision fp32 unless another is given (the tolerances above are float compute's; the
runtime's own default, stored, would compute the converted models in 16 bits).

usage: test_half_models.py CINFER --zoo DIR --ort-node-modules DIR [--device cpu|cuda]
                           [--precision P] [--seed N]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run_e2e  # noqa: E402  (the catalog, input drawing, comparison)

MODELS = ["mlp_op17", "bert_small_op17", "resnet18_op17"]


def round_bf16(a):
    """float32 values rounded to the nearest bfloat16 (ties to even), as float32."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32)


def bf16_bits(a):
    return (round_bf16(a).view(np.uint32) >> 16).astype(np.uint16)


def rounded(a, kind):
    return a.astype(np.float16).astype(np.float32) if kind == "fp16" else round_bf16(a)


def float_tensors(m):
    """(container, index, TensorProto) of every float tensor: initializers, Constant values."""
    out = [(m.graph.initializer, i, t) for i, t in enumerate(m.graph.initializer)
           if t.data_type == TensorProto.FLOAT]
    for n in m.graph.node:
        if n.op_type in ("Constant", "ConstantOfShape"):
            for a in n.attribute:
                if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                    out.append((a, None, a.t))
    return out


def half_tensor(t, kind):
    a = numpy_helper.to_array(t)
    if kind == "fp16":
        return numpy_helper.from_array(a.astype(np.float16), t.name)
    return helper.make_tensor(t.name, TensorProto.BFLOAT16, a.shape, bf16_bits(a).tobytes(),
                              raw=True)


def convert(m, kind):
    """(half model, float model with the same rounded weights)."""
    half, ref = onnx.ModelProto(), onnx.ModelProto()
    half.CopyFrom(m)
    ref.CopyFrom(m)
    dt = TensorProto.FLOAT16 if kind == "fp16" else TensorProto.BFLOAT16
    for (cont, i, t), (rcont, ri, rt) in zip(float_tensors(half), float_tensors(ref)):
        h = half_tensor(t, kind)
        r = numpy_helper.from_array(rounded(numpy_helper.to_array(rt), kind), rt.name)
        if i is None:
            cont.t.CopyFrom(h)
            rcont.t.CopyFrom(r)
        else:
            cont[i].CopyFrom(h)
            rcont[ri].CopyFrom(r)
    for n in half.graph.node:
        if n.op_type == "Cast":
            for a in n.attribute:
                if a.name == "to" and a.i == TensorProto.FLOAT:
                    a.i = dt
    del half.graph.value_info[:]
    if kind == "fp16":
        for v in list(half.graph.input) + list(half.graph.output):
            if v.type.tensor_type.elem_type == TensorProto.FLOAT:
                v.type.tensor_type.elem_type = dt
        return half, ref
    # bf16: float at the boundary, bf16 inside
    g = half.graph
    for v in g.input:
        if v.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = v.name + "_bf16"
        for n in g.node:
            n.input[:] = [inner if x == v.name else x for x in n.input]
        g.node.insert(0, helper.make_node("Cast", [v.name], [inner], to=dt, name=inner + "_cast"))
    for v in g.output:
        inner = v.name + "_bf16"
        for n in g.node:
            n.output[:] = [inner if x == v.name else x for x in n.output]
            n.input[:] = [inner if x == v.name else x for x in n.input]
        g.node.append(helper.make_node("Cast", [inner], [v.name], to=TensorProto.FLOAT,
                                       name=v.name + "_cast"))
    return half, ref


def run(cmd, timeout=600):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (os.path.basename(cmd[0]), p.returncode,
                                                    p.stdout.strip()[-2000:]))


def check(a, entry, kind, tmp):
    m = onnx.load(os.path.join(a.zoo, entry["file"]))
    half, ref = convert(m, kind)
    hp, rp = os.path.join(tmp, "half.onnx"), os.path.join(tmp, "ref.onnx")
    onnx.save(half, hp)
    onnx.save(ref, rp)
    problems = []
    for ti, test in enumerate(entry["tests"]):
        inputs = run_e2e.make_inputs(entry, test, ti, a.seed)
        feed_ref = {k: rounded(v, kind) if v.dtype == np.float32 else v for k, v in inputs.items()}
        feed_half = {k: v.astype(np.float16) if kind == "fp16" and v.dtype == np.float32 else v
                     for k, v in feed_ref.items()}
        d = os.path.join(tmp, "t%d" % ti)
        rf = run_e2e.write_inputs(feed_ref, os.path.join(d, "in_ref"))
        hf = run_e2e.write_inputs(feed_half, os.path.join(d, "in_half"))
        run(["node", run_e2e.ORT_REF, "--node-modules", a.ort_node_modules, rp,
             os.path.join(d, "ref")] + ["%s=%s" % (n, f) for n, f in rf.items()])
        cmd = [a.cinfer, "run", hp, "--device", a.device, "-o", os.path.join(d, "got")]
        if a.precision or a.device == "cuda":
            cmd += ["--precision", a.precision or "fp32"]
        for n, f in hf.items():
            cmd += ["-i", "%s=%s" % (n, f)]
        run(cmd)
        for o, stem in zip(half.graph.output, run_e2e.file_stems([o.name for o in half.graph.output])):
            got = np.load(os.path.join(d, "got", stem + ".npy"))
            want = np.load(os.path.join(d, "ref", stem + ".npy"))
            if kind == "fp16":
                if got.dtype != np.float16:
                    problems.append("%s: dtype %s, the model declares float16" % (o.name, got.dtype))
                    continue
                got = got.astype(np.float32)  # exact; the reference stays unrounded
                rtol, atol = 2e-3, 1e-4
            else:
                rtol, atol = 1e-4, 1e-5
            ok, err, bound, msg = run_e2e.compare(got, want, rtol, atol)
            if not ok:
                problems.append("%s %s: %s (max error %.3g, bound %.3g)" % (test, o.name, msg, err,
                                                                           bound))
    return problems


def with_rounding(m, kind):
    """Float model m with its first float input rounded through `kind` on purpose (Cast to it
    and back to float): a float model with 16-bit values inside, which must keep the rounding
    (it is not a model stored in 16 bits, and ONNX Runtime rounds)."""
    x = next(i.name for i in m.graph.input if i.type.tensor_type.elem_type == TensorProto.FLOAT)
    for n in m.graph.node:
        n.input[:] = [x + "/rounded" if i == x else i for i in n.input]
    to = TensorProto.FLOAT16 if kind == "fp16" else TensorProto.BFLOAT16
    casts = [helper.make_node("Cast", [x], [x + "/16"], to=to),
             helper.make_node("Cast", [x + "/16"], [x + "/rounded"], to=TensorProto.FLOAT)]
    nodes = casts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


def check_rounding(a, entry, kind, tmp):
    """with_rounding's model on cinfer against ONNX Runtime on the same file and inputs, at the
    float model tolerance (1e-4 / 1e-5); dropping the rounding misses by ~1e-3 relative."""
    mp = os.path.join(tmp, "rounds.onnx")
    onnx.save(with_rounding(onnx.load(os.path.join(a.zoo, entry["file"])), kind), mp)
    problems = []
    for ti, test in enumerate(entry["tests"]):
        inputs = run_e2e.make_inputs(entry, test, ti, a.seed)
        d = os.path.join(tmp, "r%d" % ti)
        files = run_e2e.write_inputs(inputs, os.path.join(d, "in"))
        run(["node", run_e2e.ORT_REF, "--node-modules", a.ort_node_modules, mp,
             os.path.join(d, "ref")] + ["%s=%s" % (n, f) for n, f in files.items()])
        cmd = [a.cinfer, "run", mp, "--device", a.device, "-o", os.path.join(d, "got")]
        for n, f in files.items():
            cmd += ["-i", "%s=%s" % (n, f)]
        run(cmd)
        names = [o.name for o in onnx.load(mp).graph.output]
        for o, stem in zip(names, run_e2e.file_stems(names)):
            got = np.load(os.path.join(d, "got", stem + ".npy"))
            want = np.load(os.path.join(d, "ref", stem + ".npy"))
            ok, err, bound, msg = run_e2e.compare(got, want, 1e-4, 1e-5)
            if not ok:
                problems.append("%s %s: %s (max error %.3g, bound %.3g)" % (test, o, msg, err,
                                                                           bound))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cinfer")
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--ort-node-modules", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="")
    ap.add_argument("--seed", type=int, default=20261127)
    a = ap.parse_args()
    catalog = {e["name"]: e for e in run_e2e.load_catalog()["models"]}
    missing = [n for n in MODELS if not os.path.exists(os.path.join(a.zoo, catalog[n]["file"]))]
    if missing:
        run([sys.executable, os.path.join(ROOT, "tools", "zoo", "gen_zoo.py"), a.zoo, "--only"] +
            missing, timeout=1200)
    def report(label, fn, *args):
        """Runs one check in a scratch folder, prints PASS/FAIL and its problems; 1 if failed."""
        with tempfile.TemporaryDirectory(prefix="cinfer-half-") as tmp:
            try:
                problems = fn(*args, tmp)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                problems = [str(e)]
        print("%s %s" % ("FAIL" if problems else "PASS", label))
        for p in problems:
            print("     " + p)
        return int(bool(problems))

    failed = 0
    for name in MODELS:
        for kind in ("fp16", "bf16"):
            failed += report("%s %s" % (name, kind), check, a, catalog[name], kind)
    for kind in ("fp16", "bf16"):  # a float model rounding its input through 16 bits
        failed += report("mlp_op17 rounding its input through %s" % kind, check_rounding, a,
                         catalog["mlp_op17"], kind)
    if failed:
        print("test_half_models: %d failed (seed %d)" % (failed, a.seed))
        return 1
    print("test_half_models: all passed (seed %d)" % a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
