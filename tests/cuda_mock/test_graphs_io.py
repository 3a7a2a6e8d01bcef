"""CUDA graphs and device-resident I/O in the core, on any machine, through the host-memory mock
module (mock_module.c, which records captured run calls and replays them, and checks that every
copy and launch gets pointers on the side it claims). Checks: `inspect --device cuda` counts the
graph segments; a context runs eagerly once, then captures each segment once and replays it
(the mock's counts), and --no-cuda-graphs, CINFER_CUDA_GRAPHS=0 and CINFER_CUDA_SYNC=1 keep it
eager; graph outputs (with device I/O) equal eager host-I/O outputs bitwise and the CPU's within
DESIGN.md's op tolerance; an injected capture failure logs one warning naming the node and the
run still succeeds eagerly with the same outputs; a device input on a CPU runtime is an error
naming the input.
Usage: test_graphs_io.py CINFER MOCK_SO"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "777"
FAILURES = []


def fail(msg):
    print("FAIL " + msg)
    FAILURES.append(msg)


def chain_model(path):
    """MatMul -> Add -> Relu -> Mul, all ops the mock runs: one graph segment (run with
    --no-fusion, which would make MatMul + Add a FusedMatMul that the mock leaves on the CPU)."""
    rng = np.random.default_rng(20261127)
    def w(name, *shape):
        a = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
        return numpy_helper.from_array(a.astype(np.float32), name)
    n = helper.make_node
    g = helper.make_graph(
        [n("MatMul", ["x", "w"], ["h"]), n("Add", ["h", "b"], ["h2"]), n("Relu", ["h2"], ["r"]),
         n("Mul", ["r", "s"], ["y"])], "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 11])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 7])],
        [w("w", 11, 7), w("b", 7), w("s", 7)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def run(cinfer, args, env):
    return subprocess.run([cinfer] + args, capture_output=True, text=True, env=env, timeout=300)


def outputs(d):
    if not os.path.isdir(d):
        return {}
    return {f: np.load(os.path.join(d, f)) for f in sorted(os.listdir(d))}


def same_bits(a, b, what):
    if not a or a.keys() != b.keys():
        fail(f"{what}: output sets differ ({sorted(a)} vs {sorted(b)})")
        return
    for k in a:
        if a[k].shape != b[k].shape or a[k].tobytes() != b[k].tobytes():
            fail(f"{what}: {k} differs bitwise (seed {SEED})")


def cinfer_run(cinfer, model, out, env, extra=(), device="cuda"):
    r = run(cinfer, ["run", model, "--device", device, "--seed", SEED, "-o", out,
                     "--no-fusion"] + list(extra), env)
    if r.returncode != 0:
        fail(f"run {os.path.basename(model)} {' '.join(extra)}: exit {r.returncode}: "
             f"{r.stderr.strip()}")
    return r, outputs(out)


def main():
    cinfer, mock = sys.argv[1], sys.argv[2]
    env = dict(os.environ, CINFER_CUDA_MODULE=mock, CINFER_GUARD_BYTES="1", MOCK_REPORT="1")
    for k in ("CINFER_CUDA_GRAPHS", "CINFER_CUDA_SYNC", "MOCK_FAIL_CAPTURE"):
        env.pop(k, None)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "gpu", "make_models.py"), tmp],
                       check=True)
        chain = os.path.join(tmp, "chain.onnx")
        chain_model(chain)
        mixed = os.path.join(tmp, "mixed.onnx")

        r = run(cinfer, ["inspect", chain, "--device", "cuda", "--no-fusion"], env)
        if "cuda graphs: 1 segment," not in r.stdout:
            fail(f"inspect chain: no 'cuda graphs: 1 segment,':\n{r.stdout}{r.stderr}")
        r = run(cinfer, ["inspect", mixed, "--device", "cuda", "--no-fusion"], env)
        if "cuda graphs: 3 segments," not in r.stdout:  # GPU runs split by CPU steps
            fail(f"inspect mixed: no 'cuda graphs: 3 segments':\n{r.stdout}{r.stderr}")

        # bench: one run for the output shapes, one warm-up, three timed, all on one context;
        # graphs are captured at its second run, the first being an eager warm-up.
        bench = ["--device", "cuda", "--no-fusion", "--iterations", "3", "--warmup", "1"]
        for name, model, segs, steps in (("chain", chain, 1, 4), ("mixed", mixed, 3, 4)):
            counts = lambda c, l, e: (f"mock: context: {c} captures, {l} graph launches, "
                                      f"{e} eager")
            for io in ("host", "device"):
                r = run(cinfer, ["bench", model, "--io", io] + bench, env)
                want = counts(segs, 4 * segs, steps)
                if r.returncode != 0 or want not in r.stderr:
                    fail(f"{name}: bench --io {io}: exit {r.returncode}, want '{want}':\n"
                         f"{r.stderr}")
            eager_counts = counts(0, 0, 5 * steps)
            for label, extra, e in (("--no-cuda-graphs", ["--no-cuda-graphs"], env),
                                    ("CINFER_CUDA_GRAPHS=0", [], dict(env, CINFER_CUDA_GRAPHS="0")),
                                    ("CINFER_CUDA_SYNC=1", [], dict(env, CINFER_CUDA_SYNC="1"))):
                r = run(cinfer, ["bench", model] + bench + extra, e)
                if r.returncode != 0 or eager_counts not in r.stderr:
                    fail(f"{name}: bench with {label}: exit {r.returncode}, want "
                         f"'{eager_counts}':\n{r.stderr}")

            # run --io device: a warm-up run, then the run that captures and launches the graphs
            o = lambda tag: os.path.join(tmp, f"{name}_{tag}")
            _, host = cinfer_run(cinfer, model, o("host"), env)
            r, graphs = cinfer_run(cinfer, model, o("graphs"), env, ["--io", "device"])
            want = counts(segs, segs, steps)
            if want not in r.stderr:
                fail(f"{name}: run --io device: want '{want}' on stderr:\n{r.stderr}")
            if "GUARD BROKEN" in r.stderr:
                fail(f"{name}: --io device wrote past a device buffer:\n{r.stderr}")
            same_bits(host, graphs, f"{name}: graphs + device I/O vs eager + host I/O")
            _, eager = cinfer_run(cinfer, model, o("eager"), env,
                                  ["--io", "device", "--no-cuda-graphs"])
            same_bits(host, eager, f"{name}: eager + device I/O vs eager + host I/O")
            _, cpu = cinfer_run(cinfer, model, o("cpu"), env, device="cpu")
            for k in cpu:
                ref, got = cpu[k], graphs.get(k)
                tol = 1e-6 + 1e-5 * float(np.abs(ref).max()) if ref.size else 0
                if got is None or got.shape != ref.shape or not np.all(np.abs(got - ref) <= tol):
                    fail(f"{name}/{k}: graphs (mock) differ from the CPU (seed {SEED})")

            r, fb = cinfer_run(cinfer, model, o("fallback"), dict(env, MOCK_FAIL_CAPTURE="1"),
                               ["--io", "device"])
            lines = [l for l in r.stderr.splitlines() if "CUDA graph capture of the segment" in l]
            if len(lines) != 1 or "'MatMul_0'" not in lines[0] or "injected" not in lines[0]:
                fail(f"{name}: injected capture failure: want one warning naming MatMul_0 and "
                     f"the error, got:\n{r.stderr}")
            if counts(0, 0, 2 * steps) not in r.stderr:
                fail(f"{name}: after a failed capture the context should run eagerly:\n{r.stderr}")
            same_bits(host, fb, f"{name}: eager after a failed capture vs host I/O")

        r = run(cinfer, ["run", chain, "--device", "cpu", "--io", "device", "--no-fusion"], env)
        if r.returncode == 0 or "runs on the CPU" not in r.stderr:
            fail(f"--io device on the CPU: want an error, got exit {r.returncode}: {r.stderr}")
    print("FAILED" if FAILURES else "ok")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
