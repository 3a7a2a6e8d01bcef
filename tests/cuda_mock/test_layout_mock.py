"""Channels last (docs/cuda-backend.md) on any machine, through the host-memory mock module
(mock_module.c): at fp16/bf16 the mock's Conv is NHWC, its Relu, same-shape or per-channel
Add/Mul and GlobalAveragePool EITHER. The core stores a 4-D 16-bit activation with C > 1 and
H*W > 1 NHWC when every step touching it is EITHER or NHWC and its component (values joined
through EITHER steps' 4-D slots with C > 1 and H*W > 1) holds only such values and touches an
NHWC step. The mock reads and writes
each slot in the layout the core names (and refuses mixed layouts in an EITHER step or an NHWC
slot in a FIXED one), so a wrong choice shows as a wrong output or a failed run. Checked:
`inspect`'s "channels last: N values (B bytes)" count against the rule, `run` outputs against
`--device cpu`, MOCK_REPORT's per-slot layouts, fp32 and --no-nhwc (nothing NHWC). Models: a
conv/relu chain with a pooled branch (a; fused and --no-fusion; a step demoted to fp32), a CPU
step between convolutions (b), a model input joined by an Add (c), values with views (e), EITHER
steps with no convolution (f), a 4-D view of a 2-D value read by an EITHER step (g), a
per-channel [N, C, 1, 1] gate multiplied into a channels-last value (h), a Concat of two
convolutions along the channels and along the rows (i). The counts
are with --no-fusion (one step per node) unless said otherwise.
Usage: test_layout_mock.py CINFER MOCK_SO"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 2611
# Unit roundoff of the 16-bit storage types: a stored activation is off by at most u relative.
UNIT = {"fp16": 2.0 ** -11, "bf16": 2.0 ** -8}
# The mock computes in double and rounds only its 16-bit stores (weights and model inputs stay
# float), so an output is off by a few roundings of u carried through the convolutions after
# them: measured at most about 1.1 u of the output's largest magnitude at this seed, hence a
# bound of 16 u. A layout mistake moves whole elements (channel c of pixel p read as channel c'
# or pixel p'), an error of the order of the values themselves: about 390 u (bf16) and 3100 u
# (fp16) for conv1's output read in the wrong layout; check_tolerance() checks that such a
# simulated mix-up fails the bound at each precision.
TOL_UNITS = 16


def run(cinfer, args, env=None):
    return subprocess.run([cinfer] + args, capture_output=True, text=True, env=env, timeout=300)


class Checker:
    def __init__(self):
        self.failures = 0

    def fail(self, what, r=None):
        print(f"FAIL {what} (seed {SEED})" +
              (f": exit {r.returncode}\n{r.stdout}{r.stderr}" if r else ""))
        self.failures += 1

    def expect(self, ok, what, r=None):
        if not ok:
            self.fail(what, r)


def weights(rng, shape):
    """Normal weights scaled by 1/sqrt(fan-in), never zero (activations stay of order 1)."""
    w = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
    w[np.abs(w) < 1e-3] = 1e-3
    return w.astype(np.float32)


def save(path, nodes, inputs, outputs, inits):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(a, n) for n, a in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def conv(x, w, b=None, stride=1, pad=0):
    """NCHW convolution in float64 (group 1, dilation 1, symmetric pads)."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    w = w.astype(np.float64)
    kh, kw = w.shape[2:]
    oh = (x.shape[2] - kh) // stride + 1
    ow = (x.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            y += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    return y if b is None else y + b.astype(np.float64)[None, :, None, None]


def model_a(path, rng):
    """x -> Conv1 (3->8, 3x3, pad 1, bias) -> Relu -> Conv2 (8->8, 3x3, stride 2, pad 1) -> Relu
    -> Conv3 (8->4, 1x1) -> y1, and the second Relu -> GlobalAveragePool -> y2."""
    p = {"w1": weights(rng, (8, 3, 3, 3)), "b1": weights(rng, (8, 1))[:, 0].copy(),
         "w2": weights(rng, (8, 8, 3, 3)), "w3": weights(rng, (4, 8, 1, 1))}
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1",
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("Conv", ["r2", "w3"], ["y1"], name="conv3"),
             helper.make_node("GlobalAveragePool", ["r2"], ["y2"], name="gap")]
    save(path, nodes, [("x", [2, 3, 10, 10])], [("y1", [2, 4, 5, 5]), ("y2", [2, 8, 1, 1])], p)

    def ref(x, mix=False):
        c1 = conv(x, p["w1"], p["b1"], pad=1)
        if mix:  # the NHWC bytes of c1 read as NCHW ones: what a lost layout would do
            c1 = c1.transpose(0, 2, 3, 1).reshape(c1.shape)
        r2 = np.maximum(conv(np.maximum(c1, 0), p["w2"], stride=2, pad=1), 0)
        return {"y1": conv(r2, p["w3"]), "y2": r2.mean(axis=(2, 3), keepdims=True)}
    return ref


def model_h(path, rng):
    """A squeeze-and-excitation-like gate: x -> Conv1 -> Relu -> r; g = GlobalAveragePool(r)
    [2, 8, 1, 1]; Mul(r, g) -> Conv2 -> y. The Mul's per-channel b has the same bytes in both
    layouts, so the Mul is EITHER and ties Conv1's output, r and its own output into one NHWC
    component (3 values); g is layout-free."""
    p = {"w1": weights(rng, (8, 3, 3, 3)), "w2": weights(rng, (4, 8, 3, 3))}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
             helper.make_node("Mul", ["r", "g"], ["m"], name="gate"),
             helper.make_node("Conv", ["m", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1])]
    save(path, nodes, [("x", [2, 3, 10, 10])], [("y", [2, 4, 10, 10])], p)


def model_i(path, rng, axis):
    """Two convolutions of x concatenated along `axis` (1: channels 8 + 8; 2: rows) -> Conv3 ->
    y. Concat is EITHER (it runs on NHWC-ordered views along the remapped axis), so both
    convolutions' outputs and the Concat's are NHWC: 3 values."""
    p = {"w1": weights(rng, (8, 3, 3, 3)), "w2": weights(rng, (8, 3, 3, 3)),
         "w3": weights(rng, (4, 16 if axis == 1 else 8, 3, 3))}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["c1", "c2"], ["cat"], name="cat", axis=axis),
             helper.make_node("Conv", ["cat", "w3"], ["y"], name="conv3", pads=[1, 1, 1, 1])]
    rows = 10 if axis == 1 else 20
    save(path, nodes, [("x", [2, 3, 10, 10])], [("y", [2, 4, rows, 10])], p)


def model_b(path, rng):
    """x -> Conv1 -> Sigmoid (a CPU step: the mock has no Sigmoid) -> Conv2 -> Relu -> Conv3 -> y.
    Conv1's output and the Sigmoid's are touched by a CPU step: float, NCHW. Conv2's output and
    the Relu's are 16-bit between GPU steps: NHWC."""
    p = {"w1": weights(rng, (8, 3, 3, 3)), "w2": weights(rng, (8, 8, 3, 3)),
         "w3": weights(rng, (4, 8, 1, 1))}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c1"], ["s"], name="sigmoid"),
             helper.make_node("Conv", ["s", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu"),
             helper.make_node("Conv", ["r2", "w3"], ["y"], name="conv3")]
    save(path, nodes, [("x", [2, 3, 10, 10])], [("y", [2, 4, 10, 10])], p)


def model_c(path, rng):
    """x -> Conv1 -> Add(c1, x2) -> Conv2 -> Relu -> Conv3 -> y, x2 a model input of c1's shape.
    The Add (EITHER) joins c1, x2 and its output a in one component; x2 is a float model input,
    no candidate, so c1 and a stay NCHW (16-bit though). Conv2's output and the Relu's: NHWC."""
    p = {"w1": weights(rng, (8, 3, 3, 3)), "w2": weights(rng, (8, 8, 3, 3)),
         "w3": weights(rng, (4, 8, 1, 1))}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c1", "x2"], ["a"], name="add"),
             helper.make_node("Conv", ["a", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu"),
             helper.make_node("Conv", ["r2", "w3"], ["y"], name="conv3")]
    save(path, nodes, [("x", [2, 3, 10, 10]), ("x2", [2, 8, 10, 10])], [("y", [2, 4, 10, 10])],
         p)


def model_e(path, rng):
    """x -> Conv1 -> Reshape [2,8,100,1] -> Relu -> Reshape [2,8,10,10] -> Conv2 -> Relu -> Conv3
    -> y. The Reshapes are views: Conv1's output and the first Relu's have one each, so both
    stay NCHW (channels-last bytes seen through another shape would be other elements); Conv2's
    output and the second Relu's: NHWC."""
    p = {"w1": weights(rng, (8, 3, 3, 3)), "w2": weights(rng, (8, 8, 3, 3)),
         "w3": weights(rng, (4, 8, 1, 1)), "tall": np.array([2, 8, 100, 1], np.int64),
         "square": np.array([2, 8, 10, 10], np.int64)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c1", "tall"], ["v"], name="to_tall"),
             helper.make_node("Relu", ["v"], ["rv"], name="relu_view"),
             helper.make_node("Reshape", ["rv", "square"], ["r"], name="to_square"),
             helper.make_node("Conv", ["r", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu"),
             helper.make_node("Conv", ["r2", "w3"], ["y"], name="conv3")]
    save(path, nodes, [("x", [2, 3, 10, 10])], [("y", [2, 4, 10, 10])], p)


def model_f(path):
    """x -> Relu -> Mul(r, r) -> Relu -> y: 16-bit 4-D activations between EITHER steps only. No
    NHWC step (convolution) in their component: they stay NCHW (nothing to gain)."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu1"),
             helper.make_node("Mul", ["r", "r"], ["m"], name="square"),
             helper.make_node("Relu", ["m"], ["y"], name="relu2")]
    save(path, nodes, [("x", [2, 3, 10, 10])], [("y", [2, 3, 10, 10])], {})


def model_g(path, rng):
    """x [2,8] -> MatMul [8,800] -> h [2,800] -> Reshape [2,8,10,10] (a view of h) -> Relu -> Conv
    -> y. The Relu (EITHER) reads a 4-D H*W > 1 slot that is a view: a non-candidate in its
    component, although the view's root h is 2-D. So the Relu's output stays NCHW (else the
    Relu would be handed an NCHW input and an NHWC output)."""
    p = {"wm": (rng.standard_normal((8, 800)) / np.sqrt(8)).astype(np.float32),
         "shape": np.array([2, 8, 10, 10], np.int64), "w": weights(rng, (4, 8, 1, 1))}
    p["wm"][np.abs(p["wm"]) < 1e-3] = 1e-3
    nodes = [helper.make_node("MatMul", ["x", "wm"], ["h"], name="mm"),
             helper.make_node("Reshape", ["h", "shape"], ["v"], name="to4d"),
             helper.make_node("Relu", ["v"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "w"], ["y"], name="conv")]
    save(path, nodes, [("x", [2, 8])], [("y", [2, 4, 10, 10])], p)


def nhwc_count(r):
    """(values, bytes) of inspect's channels-last line; None when it has none (fp32 and tf32
    plans print none; at fp16/bf16 its absence is a failure of its own)."""
    m = re.search(r"^channels last: (\d+) values \((\d+) bytes\) stored NHWC on the device$",
                  r.stdout, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def close(got, ref, prec):
    """Within TOL_UNITS units of 16-bit roundoff of the output's largest magnitude."""
    tol = TOL_UNITS * UNIT[prec] * float(np.abs(ref).max())
    return got.shape == ref.shape and bool(np.all(np.abs(got - ref) <= tol))


def check_tolerance(c, ref, x):
    """The tolerance tells a layout mix-up from rounding: a simulated one fails it."""
    good, bad = ref(x), ref(x, mix=True)
    for prec in UNIT:
        c.expect(not close(bad["y1"], good["y1"], prec),
                 f"{prec} tolerance accepts a simulated NHWC/NCHW mix-up of conv1's output")


class Case:
    def __init__(self, c, cinfer, env, tmp, name, inputs):
        self.c, self.cinfer, self.env, self.tmp, self.name = c, cinfer, env, tmp, name
        self.model = os.path.join(tmp, name + ".onnx")
        self.args = []
        for k, a in inputs.items():
            f = os.path.join(tmp, f"{name}_{k}.npy")
            np.save(f, a)
            self.args += ["-i", f"{k}={f}"]
        self.ref = self.outputs("cpu", [])

    def outputs(self, dev, extra, env=None, expect_ok=True):
        """Runs the model on dev; {output name: array}, None when the run failed."""
        out = os.path.join(self.tmp, f"{self.name}_{dev}_{len(os.listdir(self.tmp))}")
        r = run(self.cinfer, ["run", self.model, "--device", dev, *self.args, "-o", out, *extra],
                env or self.env)
        self.last = r
        if r.returncode != 0:
            if expect_ok:
                self.c.fail(f"{self.name}: run --device {dev} {' '.join(extra)}", r)
            return None
        return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}

    def check(self, prec, extra, want, what):
        """inspect counts `want` NHWC values (count, bytes); run matches the CPU's outputs."""
        flags = ["--precision", prec, *extra]
        r = run(self.cinfer, ["inspect", self.model, "--device", "cuda", *flags], self.env)
        got = nhwc_count(r) if r.returncode == 0 else "no answer (inspect failed)"
        self.c.expect(got == want, f"{self.name} {what}: inspect says {got} NHWC (values, "
                      f"bytes), the rule gives {want}", r)
        outs = self.outputs("cuda", flags)
        if outs is None or self.ref is None:
            return self.last
        for k, ref in self.ref.items():
            tol_prec = prec if prec in UNIT else "fp16"  # fp32/tf32: the mock is exact-ish
            self.c.expect(k in outs and close(outs[k].astype(np.float64),
                                              ref.astype(np.float64), tol_prec),
                          f"{self.name} {what}: output {k} differs from --device cpu "
                          f"(max |diff| {np.abs(outs[k] - ref).max() if k in outs else '-'}, "
                          f"max |ref| {np.abs(ref).max()})")
        return self.last


def main():
    cinfer, mock = sys.argv[1], sys.argv[2]
    c = Checker()
    rng = np.random.default_rng(SEED)
    env = dict(os.environ, CINFER_CUDA_MODULE=mock)
    report = dict(env, MOCK_REPORT="1")
    nf = ["--no-fusion"]  # one step per node, so the counts below are the rule's per node
    with tempfile.TemporaryDirectory() as tmp:
        x = rng.standard_normal((2, 3, 10, 10)).astype(np.float32)
        ref_a = model_a(os.path.join(tmp, "a.onnx"), rng)
        check_tolerance(c, ref_a, x)
        a = Case(c, cinfer, env, tmp, "a", {"x": x})
        if a.ref is not None:  # the CPU agrees with NumPy (float64) to fp32 accuracy
            want = ref_a(x)
            for k in want:
                c.expect(np.allclose(a.ref[k], want[k], rtol=1e-4, atol=1e-5),
                         f"a: --device cpu output {k} differs from NumPy")
        # conv1 out, relu1 out [2,8,10,10] and conv2 out, relu2 out [2,8,5,5], 2 bytes each.
        four = (4, 2 * 2 * (2 * 8 * 10 * 10 + 2 * 8 * 5 * 5))
        a.check("fp16", nf, four, "fp16")
        a.check("bf16", nf, four, "bf16")
        a.check("fp32", nf, None, "fp32 (no channels-last line)")
        a.check("fp16", nf + ["--no-nhwc"], (0, 0), "fp16 --no-nhwc")
        # inspect marks each step that touches a channels-last value: all six here.
        for extra, mark in [([], " nhwc"), (["--no-nhwc"], "")]:
            r = run(cinfer, ["inspect", a.model, "--device", "cuda", "--precision", "fp16",
                             *nf, *extra], env)
            for node, op in [("conv1", "Conv"), ("relu1", "Relu"), ("conv2", "Conv"),
                             ("relu2", "Relu"), ("conv3", "Conv"), ("gap", "GlobalAveragePool")]:
                c.expect(re.search(rf"^  {node} +{op} +cuda fp16{mark}$", r.stdout, re.M),
                         f"a inspect {' '.join(extra)}: no step line '{node} {op} cuda "
                         f"fp16{mark}'", r)
        # Fused (the default): Conv+Relu are one step each, writing relu1's and relu2's outputs.
        a.check("fp16", [], (2, 2 * (2 * 8 * 10 * 10) + 2 * (2 * 8 * 5 * 5)), "fp16 fused")

        # What the mock was handed, slot by slot.
        a.env = report
        r = a.check("fp16", nf, four, "fp16 MOCK_REPORT")
        for line in ["mock: prepare conv1 (Conv) precision fp16 io f32,f32->f16 "
                     "layout nchw,nchw,-->nhwc",
                     "mock: prepare relu1 (Relu) precision fp16 io f16,-->f16 layout nhwc->nhwc",
                     "mock: prepare conv2 (Conv) precision fp16 io f16,f32->f16 "
                     "layout nhwc,nchw->nhwc",
                     "mock: prepare conv3 (Conv) precision fp16 io f16,f32->f32 "
                     "layout nhwc,nchw->nchw",
                     "mock: prepare gap (GlobalAveragePool) precision fp16 io f16,-->f32 "
                     "layout nhwc->nchw"]:
            c.expect(line in r.stderr, f"a fp16 MOCK_REPORT: no line '{line}'", r)
        for extra, what in [(["--no-nhwc"], "--no-nhwc"), ([], "fp32")]:
            r = a.check("fp32" if what == "fp32" else "fp16", nf + extra,
                        None if what == "fp32" else (0, 0),
                        f"MOCK_REPORT {what}")
            c.expect("nhwc" not in r.stderr and "layout nchw,nchw,-->nchw" in r.stderr,
                     f"a MOCK_REPORT {what}: every slot NCHW", r)
        # The GlobalAveragePool finds no fp16 algorithm at prepare and is demoted to fp32: relu2's
        # output, which it reads, becomes float, so the Relu (EITHER) ties conv2's output to a
        # non-candidate: conv2 out stays NCHW; conv1 out and relu1 out are still NHWC.
        a.env = dict(report, MOCK_FAIL_HALF_PREPARE="GlobalAveragePool")
        r = a.check("fp16", nf, (2, 2 * 2 * (2 * 8 * 10 * 10)), "fp16, GlobalAveragePool demoted")
        for line in ["mock: prepare relu2 (Relu) precision fp16 io f16,-->f32 layout nchw->nchw",
                     "mock: prepare gap (GlobalAveragePool) precision fp32 io f32,-->f32 "
                     "layout nchw->nchw",
                     "mock: prepare relu1 (Relu) precision fp16 io f16,-->f16 layout nhwc->nhwc"]:
            c.expect(line in r.stderr, f"a fp16, GlobalAveragePool demoted: no line '{line}'", r)
        a.env = env

        model_b(os.path.join(tmp, "b.onnx"), rng)
        b = Case(c, cinfer, env, tmp, "b", {"x": x})
        two = (2, 2 * 2 * (2 * 8 * 10 * 10))  # conv2 out, relu out
        b.check("fp16", nf, two, "fp16 (a CPU step between)")
        b.check("bf16", nf, two, "bf16 (a CPU step between)")

        model_c(os.path.join(tmp, "c.onnx"), rng)
        x2 = rng.standard_normal((2, 8, 10, 10)).astype(np.float32)
        cc = Case(c, cinfer, env, tmp, "c", {"x": x, "x2": x2})
        cc.env = report
        r = cc.check("fp16", nf, two, "fp16 (a model input in the Add's component)")
        c.expect("mock: prepare add (Add) precision fp16 io f16,f32->f16 layout nchw,nchw->nchw"
                 in r.stderr, "c: the Add must see c1, x2 and its output NCHW", r)
        c.expect("mock: prepare conv1 (Conv) precision fp16 io f32,f32->f16 layout nchw,nchw->nchw"
                 in r.stderr, "c: conv1 must write c1 NCHW", r)
        cc.env = env
        cc.check("bf16", nf, two, "bf16 (a model input in the Add's component)")

        model_e(os.path.join(tmp, "e.onnx"), rng)
        e = Case(c, cinfer, env, tmp, "e", {"x": x})
        e.env = report
        r = e.check("fp16", nf, two, "fp16 (values with views)")
        c.expect("mock: prepare relu_view (Relu) precision fp16 io f16,-->f16 layout nchw->nchw"
                 in r.stderr, "e: the Relu between views must see NCHW", r)
        e.env = env
        e.check("bf16", nf, two, "bf16 (values with views)")

        model_f(os.path.join(tmp, "f.onnx"))
        f = Case(c, cinfer, env, tmp, "f", {"x": x})
        f.check("fp16", nf, (0, 0), "fp16 (no convolution)")

        model_g(os.path.join(tmp, "g.onnx"), rng)
        g = Case(c, cinfer, env, tmp, "g", {"x": rng.standard_normal((2, 8)).astype(np.float32)})
        g.check("fp16", nf, (0, 0), "fp16 (a 4-D view of a 2-D value read by an EITHER step)")

        model_h(os.path.join(tmp, "h.onnx"), rng)
        h = Case(c, cinfer, env, tmp, "h", {"x": x})
        three = (3, 3 * 2 * (2 * 8 * 10 * 10))
        h.check("fp16", nf, three, "fp16 (a per-channel gate)")
        h.check("bf16", nf, three, "bf16 (a per-channel gate)")
        h.env = report
        r = h.check("fp16", nf, three, "fp16 per-channel gate, MOCK_REPORT")
        line = "mock: prepare gate (Mul) precision fp16 io f16,f16->f16 layout nhwc,nchw->nhwc"
        c.expect(line in r.stderr, f"h MOCK_REPORT: no line '{line}'", r)

        for axis in (1, 2):
            model_i(os.path.join(tmp, f"i{axis}.onnx"), rng, axis)
            i = Case(c, cinfer, env, tmp, f"i{axis}", {"x": x})
            conv_bytes = 2 * (2 * 8 * 10 * 10)
            three = (3, 2 * conv_bytes + 2 * conv_bytes)  # c1, c2 and the Concat's 2x
            i.check("fp16", nf, three, f"fp16 (Concat along axis {axis})")
            i.check("bf16", nf, three, f"bf16 (Concat along axis {axis})")
    print("FAILED" if c.failures else "ok")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
