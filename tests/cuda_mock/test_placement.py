"""The core's CUDA path on any machine: with CINFER_CUDA_MODULE pointing at the host-memory mock
module (mock_module.c), `cinfer run --device cuda` of models mixing "GPU" steps (Add, Mul, Relu,
MatMul) with CPU-only ones must match `--device cpu` (the mock's MatMul sums in float64, hence
the tolerance); `inspect --device cuda` must show the placement with reasons; a failed context
creation must fail the run with exit 1 and a message. Usage: test_placement.py CINFER MOCK_SO"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "4242"


def run(cinfer, args, env=None):
    return subprocess.run([cinfer] + args, capture_output=True, text=True, env=env, timeout=300)


def main():
    cinfer, mock = sys.argv[1], sys.argv[2]
    env = dict(os.environ, CINFER_CUDA_MODULE=mock, CINFER_GUARD_BYTES="1")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "gpu", "make_models.py"), tmp],
                       check=True)
        for model, extra in [("mixed", ["--dim", "batch=5"]), ("linalg", []),
                             ("elementwise", []), ("misc", []), ("conv", [])]:
            path = os.path.join(tmp, model + ".onnx")
            outs = {}
            for dev in ("cuda", "cpu"):
                out = os.path.join(tmp, f"{model}_{dev}")
                r = run(cinfer, ["run", path, "--device", dev, "--seed", SEED, "-o", out] + extra,
                        env)
                if r.returncode != 0:
                    print(f"FAIL {model} on {dev}: {r.stderr.strip()}")
                    failures += 1
                outs[dev] = out
            for name in sorted(os.listdir(outs["cpu"])) if os.path.isdir(outs["cpu"]) else []:
                ref = np.load(os.path.join(outs["cpu"], name))
                got = np.load(os.path.join(outs["cuda"], name))
                tol = 1e-6 + 1e-5 * float(np.abs(ref).max()) if ref.size else 0
                if ref.shape != got.shape or not np.all(np.abs(got - ref) <= tol):
                    print(f"FAIL {model}/{name}: cuda (mock) differs from cpu (seed {SEED})")
                    failures += 1
        mixed = os.path.join(tmp, "mixed.onnx")
        r = run(cinfer, ["inspect", mixed, "--device", "cuda"], env)
        want = ["placement (cuda): 4 of 6 steps on the GPU, 2 on the CPU",
                "CumSum                 cpu  (no CUDA kernel yet for CumSum (mock))",
                "MatMul                 cuda"]
        for w in want:
            if w not in r.stdout:
                print(f"FAIL inspect --device cuda: no line with '{w}':\n{r.stdout}{r.stderr}")
                failures += 1
        r = run(cinfer, ["run", mixed, "--device", "cuda"], dict(env, MOCK_FAIL_CONTEXT="1"))
        if r.returncode != 1 or "out of memory (injected)" not in r.stderr:
            print(f"FAIL injected context failure: exit {r.returncode}, {r.stderr.strip()}")
            failures += 1
    print("FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
