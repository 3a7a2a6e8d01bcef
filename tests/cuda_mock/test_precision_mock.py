"""--precision and --fp32-ops on any machine: bad values exit 2 naming the flag (run, bench,
inspect); a CPU runtime warns once and computes in fp32 (outputs against NumPy float64); through
the host-memory mock module (mock_module.c, MOCK_REPORT=1 prints each step's precision at
prepare) the core asks for fp16 on Gemm and fp32 on MatMul with --precision fp16
--fp32-ops MatMul; inspect shows the precision per GPU step and bench --json reports it.
Half activations: at fp16/bf16 the value between two half_io GPU steps is stored in 16 bits
(MOCK_REPORT's "io" types; the mock rounds it, so the output meets DESIGN.md's fp16 model
tolerance, not fp32's), while model inputs, outputs and values a CPU step reads stay float.
Usage: test_precision_mock.py CINFER MOCK_SO"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 1127


def make_model(path, rng):
    """x [4,8] -> MatMul W1 [8,8] -> Gemm W2 [8,6] -> y: one step of each GEMM op."""
    w1 = rng.standard_normal((8, 8)).astype(np.float32)
    w2 = rng.standard_normal((8, 6)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="mm"),
             helper.make_node("Gemm", ["h", "w2"], ["y"], name="gemm")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return w1.astype(np.float64), w2.astype(np.float64)


def save_stored(model_path, out_path, elem):
    """model_path's model with its initializers and its input and output in `elem` (FLOAT16 or
    BFLOAT16): a model stored in 16-bit floats."""
    m = onnx.load(model_path)
    for init in m.graph.initializer:
        a = numpy_helper.to_array(init).astype(np.float32)
        if elem == TensorProto.FLOAT16:
            init.CopyFrom(numpy_helper.from_array(a.astype(np.float16), init.name))
        else:  # bfloat16: the top 16 bits of the float, as raw data
            t = helper.make_tensor(init.name, TensorProto.BFLOAT16, a.shape,
                                   (a.view(np.uint32) >> 16).astype(np.uint16).tobytes(), raw=True)
            init.CopyFrom(t)
    for v in list(m.graph.input) + list(m.graph.output):
        v.type.tensor_type.elem_type = elem
    onnx.save(m, out_path)


def save_with_fp16_cast(model_path, out_path):
    """model_path's float model with its input rounded through fp16 (Cast to fp16 and back)
    first: 16-bit values inside, but a float model (its weights are float)."""
    m = onnx.load(model_path)
    x = m.graph.input[0].name
    for node in m.graph.node:
        node.input[:] = [x + "_r" if i == x else i for i in node.input]
    casts = [helper.make_node("Cast", [x], [x + "_h"], to=TensorProto.FLOAT16),
             helper.make_node("Cast", [x + "_h"], [x + "_r"], to=TensorProto.FLOAT)]
    nodes = casts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, out_path)


def run(cinfer, args, env=None):
    return subprocess.run([cinfer] + args, capture_output=True, text=True, env=env, timeout=300)


def run_cuda(cinfer, model, precision, x, out, env, extra=()):
    """`cinfer run` of model on the (stand-in) CUDA device at precision, input x, outputs in out."""
    return run(cinfer, ["run", model, "--device", "cuda", "--precision", precision, "-i", x,
                        "-o", out, *extra], env)


class Checker:
    def __init__(self):
        self.failures = 0

    def fail(self, what, r=None):
        print(f"FAIL {what}" + (f": exit {r.returncode}\n{r.stdout}{r.stderr}" if r else ""))
        self.failures += 1

    def expect(self, ok, what, r=None):
        if not ok:
            self.fail(what, r)


def check_flags(c, cinfer, model):
    for cmd in ("run", "bench", "inspect"):
        r = run(cinfer, [cmd, model, "--device", "cpu", "--precision", "fp8"])
        c.expect(r.returncode == 2 and "--precision 'fp8'" in r.stderr,
                 f"{cmd} --precision fp8 must exit 2 naming the flag", r)
        r = run(cinfer, [cmd, model, "--device", "cpu", "--fp32-ops", "MatMul,,Gemm"])
        c.expect(r.returncode == 2 and "--fp32-ops" in r.stderr,
                 f"{cmd} --fp32-ops MatMul,,Gemm must exit 2 naming the flag", r)
    r = run(cinfer, ["inspect", model, "--device", "cpu", "--precision=tf32",
                     "--fp32-ops=MatMul"])
    c.expect(r.returncode == 0, "inspect --precision=tf32 --fp32-ops=MatMul on the CPU", r)


def make_viewed(path, w1, w2):
    """The gemms model with two Reshapes (views, not steps) between MatMul and Gemm."""
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="mm"),
             helper.make_node("Reshape", ["h", "flat"], ["hf"], name="flatten"),
             helper.make_node("Reshape", ["hf", "back"], ["hb"], name="unflatten"),
             helper.make_node("Gemm", ["hb", "w2"], ["y"], name="gemm")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])],
        [numpy_helper.from_array(w1.astype(np.float32), "w1"),
         numpy_helper.from_array(w2.astype(np.float32), "w2"),
         numpy_helper.from_array(np.array([32], np.int64), "flat"),
         numpy_helper.from_array(np.array([4, 8], np.int64), "back")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def make_mixed(path, rng):
    """x [4,8] -> MatMul W [8,8] -> CumSum (no mock kernel: CPU) -> Relu -> y."""
    w = rng.standard_normal((8, 8)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("CumSum", ["h", "axis"], ["c"], name="cumsum"),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(1, np.int64), "axis")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return w.astype(np.float64)


def check_output(c, path, ref, what, half=False):
    if not os.path.exists(path):
        c.fail(f"{what}: no output {path}")
        return
    got = np.load(path).astype(np.float64)
    tol = 1e-6 + 1e-5 * np.abs(ref)  # fp32 op tolerance: the CPU and the mock compute fp32+
    if half:  # DESIGN.md "CUDA fp16/bf16 model vs CPU fp32"
        tol = 1e-2 + 2e-2 * np.abs(ref)
    c.expect(got.shape == ref.shape and bool(np.all(np.abs(got - ref) <= tol)),
             f"{what}: output differs from NumPy float64 (seed {SEED})")


def main():
    cinfer, mock = sys.argv[1], sys.argv[2]
    c = Checker()
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "gemms.onnx")
        w1, w2 = make_model(model, rng)
        x = rng.standard_normal((4, 8)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        ref = x.astype(np.float64) @ w1 @ w2
        check_flags(c, cinfer, model)

        out = os.path.join(tmp, "cpu")
        r = run(cinfer, ["run", model, "--device", "cpu", "--precision", "bf16", "-i",
                         os.path.join(tmp, "x.npy"), "-o", out])
        warn = "the CPU backend computes in fp32: precision bf16 ignored"
        c.expect(r.returncode == 0 and r.stderr.count(warn) == 1,
                 "cpu run --precision bf16: one warning", r)
        check_output(c, os.path.join(out, "y.npy"), ref, "cpu --precision bf16")

        env = dict(os.environ, CINFER_CUDA_MODULE=mock, MOCK_REPORT="1")
        for extra, mm, gemm, h in [([], "fp16", "fp16", "f16"),
                                   (["--fp32-ops", "MatMul"], "fp32", "fp16", "f32"),
                                   (["--fp32-ops", "Gemm, MatMul"], "fp32", "fp32", "f32")]:
            out = os.path.join(tmp, "mock" + str(len(extra) and len(extra[1])))
            r = run_cuda(cinfer, model, "fp16", os.path.join(tmp, "x.npy"), out, env, extra)
            for name, op, want, io in [("mm", "MatMul", mm, f"io f32,f32->{h}"),
                                       ("gemm", "Gemm", gemm, f"io {h},f32->f32")]:
                line = f"mock: prepare {name} ({op}) precision {want} {io}"
                c.expect(r.returncode == 0 and line in r.stderr,
                         f"run --precision fp16 {' '.join(extra)}: no '{line}'", r)
            c.expect("CPU backend" not in r.stderr, "a CUDA runtime must not warn", r)
            check_output(c, os.path.join(out, "y.npy"), ref, f"mock fp16 {' '.join(extra)}",
                         half=h != "f32")

        # bf16: h in bfloat16; inspect counts it.
        out = os.path.join(tmp, "bf16")
        r = run_cuda(cinfer, model, "bf16", os.path.join(tmp, "x.npy"), out, env)
        c.expect(r.returncode == 0 and "precision bf16 io f32,f32->bf16" in r.stderr and
                 "precision bf16 io bf16,f32->f32" in r.stderr, "bf16: h stored in bf16", r)
        check_output(c, os.path.join(out, "y.npy"), ref, "mock bf16", half=True)
        r = run(cinfer, ["inspect", model, "--device", "cuda", "--precision", "bf16"], env)
        c.expect(r.returncode == 0 and
                 "half activations: 1 values (64 bytes) stored in bf16 on the device" in r.stdout,
                 "inspect --precision bf16: one 16-bit value of 4x8", r)

        # A step whose prepare finds no 16-bit algorithm runs in fp32 on the GPU (not on the
        # CPU), and the value it shares with the MatMul stays float.
        fenv = dict(env, MOCK_FAIL_HALF_PREPARE="Gemm")
        out = os.path.join(tmp, "nohalf")
        r = run_cuda(cinfer, model, "fp16", os.path.join(tmp, "x.npy"), out, fenv)
        c.expect(r.returncode == 0 and "prepare gemm (Gemm) precision fp32 io f32,f32->f32" in
                 r.stderr and "prepare mm (MatMul) precision fp16 io f32,f32->f32" in r.stderr,
                 "fp16 with no 16-bit Gemm algorithm: Gemm in fp32 on the GPU, h float", r)
        check_output(c, os.path.join(out, "y.npy"), ref, "mock fp16, Gemm demoted")
        r = run(cinfer, ["inspect", model, "--device", "cuda", "--precision", "fp16"], fenv)
        c.expect(r.returncode == 0 and any(ln.split()[:2] == ["gemm", "Gemm"] and
                                           ln.rstrip().endswith("cuda fp32")
                                           for ln in r.stdout.splitlines()),
                 "inspect: the demoted Gemm must say 'cuda fp32'", r)

        # Through views: the value keeps its 16-bit storage, and the Gemm reads it as fp16.
        viewed = os.path.join(tmp, "viewed.onnx")
        make_viewed(viewed, w1, w2)
        out = os.path.join(tmp, "viewed")
        r = run_cuda(cinfer, viewed, "fp16", os.path.join(tmp, "x.npy"), out, env)
        c.expect(r.returncode == 0 and "prepare mm (MatMul) precision fp16 io f32,f32->f16" in
                 r.stderr and "prepare gemm (Gemm) precision fp16 io f16,f32->f32" in r.stderr,
                 "fp16 through two Reshape views: h stored in fp16, read so by the Gemm", r)
        check_output(c, os.path.join(out, "y.npy"), ref, "mock fp16 through views", half=True)

        # A value a CPU step reads stays float, and so does the model output.
        mixed = os.path.join(tmp, "mixed.onnx")
        w = make_mixed(mixed, rng)
        out = os.path.join(tmp, "mixed")
        r = run_cuda(cinfer, mixed, "fp16", os.path.join(tmp, "x.npy"), out, env)
        c.expect(r.returncode == 0 and "prepare mm (MatMul) precision fp16 io f32,f32->f32" in
                 r.stderr and "prepare relu (Relu) precision fp16 io f32,-->f32" in r.stderr,
                 "fp16 with a CPU step between: every activation stays float", r)
        check_output(c, os.path.join(out, "y.npy"),
                     np.maximum(np.cumsum(x.astype(np.float64) @ w, axis=1), 0), "mock mixed")

        r = run(cinfer, ["inspect", model, "--device", "cuda", "--precision", "fp16",
                         "--fp32-ops", "MatMul"], env)
        lines = r.stdout.splitlines()
        c.expect(r.returncode == 0 and any(ln.startswith("precision: fp16") for ln in lines),
                 "inspect --device cuda: no 'precision: fp16' line", r)
        for op, want in [("MatMul", "fp32"), ("Gemm", "fp16")]:
            c.expect(any(op in ln.split() and ln.rstrip().endswith("cuda " + want)
                         for ln in lines), f"inspect: {op} step must say 'cuda {want}'", r)

        # stored (the default): the file's 16-bit type on the GPU, fp32 for a float model or
        # on the CPU; the JSON reports what the load chose.
        stored = {}
        for name, elem in [("fp16", TensorProto.FLOAT16), ("bf16", TensorProto.BFLOAT16)]:
            stored[name] = os.path.join(tmp, f"gemms_{name}.onnx")
            save_stored(model, stored[name], elem)
        cast_inside = os.path.join(tmp, "gemms_cast16.onnx")
        save_with_fp16_cast(model, cast_inside)
        for path, dev, prec, want in [
                (model, "cuda", "tf32", "tf32"), (model, "cpu", "tf32", "fp32"),
                (model, "cuda", "stored", "fp32"), (model, "cuda", None, "fp32"),
                (stored["fp16"], "cuda", None, "fp16"), (stored["bf16"], "cuda", None, "bf16"),
                (stored["bf16"], "cuda", "stored", "bf16"),
                (stored["fp16"], "cuda", "fp32", "fp32"), (stored["fp16"], "cpu", None, "fp32"),
                (cast_inside, "cuda", None, "fp32")]:
            r = run(cinfer, ["bench", path, "--device", dev, "--json", "--warmup", "0",
                             "--iterations", "2"] + (["--precision", prec] if prec else []), env)
            try:
                got = json.loads(r.stdout).get("precision")
            except ValueError:
                got = None
            c.expect(r.returncode == 0 and got == want,
                     f"bench {os.path.basename(path)} --device {dev} --precision {prec} --json: "
                     f"precision {got!r}, want {want!r}", r)
    print("FAILED" if c.failures else "ok")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
