#!/usr/bin/env python3
"""Zoo models on CUDA against the CPU backend (DESIGN.md: CUDA fp32 model vs CPU, 1e-4 / 1e-5;
with --precision fp16 or bf16 the CUDA run uses it: "CUDA fp16/bf16 model vs CPU fp32", 2e-2 /
1e-2, relative to max|ref|).

usage: zoo_cuda_vs_cpu.py CINFER ZOO_DIR [--models mlp_op17,bert_small_op17,resnet18_op17]
                          [--precision fp32|tf32|fp16|bf16] [--stored float|fp16|bf16] [--seed N]
                          [--real DIR [--real-models blazeface_front,...]]
--real DIR also compares the real models of tools/zoo/models.json (source npm: PaddleOCR,
BlazeFace) found in DIR, each at the first test shape the catalog gives, inputs drawn as it
declares them (tests/e2e/run_e2e.py); one missing from DIR is reported, not skipped silently.
--stored fp16 or bf16 first converts each model to one stored in that type (as
tests/e2e/test_half_models.py does: its weights, and for fp16 its float inputs and outputs), so
the CUDA run exercises the 16-bit-stored path (src/ir/float_compute.c) against the CPU's.
Generates what is missing with tools/zoo/gen_zoo.py (this machine's torch), draws each model's
inputs as the zoo declares them (tools/zoo/gen_zoo.py "dist": token ids in the vocabulary, a
1/0 attention mask, images in [0, 1)), runs them on --device cuda and --device cpu, and
compares every output. Prints one line per model and exits 1 on any mismatch, 77 when no CUDA
device is usable.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "zoo"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import test_half_models  # noqa: E402  (the 16-bit conversion)
import gen_zoo  # noqa: E402  (the families' inputs; torch only when it exports)
import run_e2e  # noqa: E402  (draw: one input as its "dist" says)

RTOL, ATOL = 1e-4, 1e-5
# Symbol values per model family (the zoo's dynamic axes); odd sizes on purpose.
DIMS = {"mlp": {"batch": 7}, "bert_small": {"batch": 3, "seq": 37},
        "bert_base": {"batch": 2, "seq": 77}, "resnet18": {"batch": 2}, "recsys_tiny": {"batch": 33},
        "resnet50": {"batch": 2}, "recsys": {"batch": 33}}


def write_inputs(fam, dims, seed, d):
    """The family's inputs, drawn as gen_zoo declares them (cinfer's own random data would
    give BERT a mask of 0..99, whose -10000 * (1 - mask) overflows float16); -i options."""
    rng = np.random.default_rng(seed)
    args = []
    for inp in gen_zoo.FAMILIES[fam]["inputs"]:
        arr = run_e2e.draw(rng, inp, run_e2e.concrete_shape(inp["shape"], dims))
        f = os.path.join(d, "in_%s.npy" % inp["name"])
        np.save(f, arr)
        args += ["-i", "%s=%s" % (inp["name"], f)]
    return args


def run(cinfer, model, device, outdir, inputs, precision):
    # Always explicit: the default (stored) would run a 16-bit-stored model at fp16.
    extra = ["--precision", precision] if device == "cuda" else []
    p = subprocess.run([cinfer, "run", model, "--device", device, "-o", outdir,
                        *inputs, *extra], capture_output=True, text=True, timeout=300)
    return p.returncode, (p.stderr.strip().splitlines() or [""])[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cinfer")
    ap.add_argument("zoo")
    ap.add_argument("--models", default="mlp_op17,bert_small_op17,resnet18_op17,recsys_tiny_op17")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "fp16", "bf16"])
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--stored", default="float", choices=["float", "fp16", "bf16"])
    ap.add_argument("--real", help="directory holding the npm models (tools/zoo/models.json)")
    ap.add_argument("--real-models", help="comma-separated catalog names (default: all real)")
    a = ap.parse_args()
    rtol, atol = (2e-2, 1e-2) if a.precision in ("fp16", "bf16") else (RTOL, ATOL)
    names = a.models.split(",")
    missing = [n for n in names if not os.path.exists(os.path.join(a.zoo, n + ".onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "tools", "zoo",
                                                     "gen_zoo.py"), a.zoo, "--only", *missing],
                       check=True)
    failed = 0
    cases = [(name, os.path.join(a.zoo, name + ".onnx"), None) for name in names]
    if a.real:
        real = [m for m in run_e2e.load_catalog()["models"] if m.get("source") == "npm"]
        if a.real_models:
            want = a.real_models.split(",")
            real = [m for m in real if m["name"] in want]
        for m in real:
            path = os.path.join(a.real, m["file"])
            if not os.path.exists(path):
                print("FAIL %-20s not in %s" % (m["name"], a.real))
                failed += 1
                continue
            cases.append((m["name"], path, m))
    for name, model, entry in cases:
        fam = name.rsplit("_op", 1)[0]
        with tempfile.TemporaryDirectory() as tmp:
            if entry:  # a real model: the catalog's first test shape and input distributions
                files = run_e2e.write_inputs(run_e2e.make_inputs(entry, entry["tests"][0], 0,
                                                                 a.seed), tmp)
                inputs = [arg for n, f in files.items() for arg in ("-i", "%s=%s" % (n, f))]
            else:
                inputs = write_inputs(fam, DIMS.get(fam, {}), a.seed, tmp)
            if a.stored != "float":
                import onnx
                half, _ = test_half_models.convert(onnx.load(model), a.stored)
                model = os.path.join(tmp, name + "_" + a.stored + ".onnx")
                onnx.save(half, model)
                if a.stored == "fp16":  # its float inputs are fp16 now
                    for k in range(1, len(inputs), 2):
                        f = inputs[k].split("=", 1)[1]
                        arr = np.load(f)
                        if arr.dtype == np.float32:
                            np.save(f, arr.astype(np.float16))
            outs = {}
            for dev in ("cpu", "cuda"):
                d = os.path.join(tmp, dev)
                os.makedirs(d)
                rc, first = run(a.cinfer, model, dev, d, inputs, a.precision)
                if rc != 0:
                    if dev == "cuda" and "no usable GPU" in first:
                        print("skipped: no CUDA device (%s)" % first)
                        return 77
                    print("FAIL %-20s %s run failed: %s" % (name, dev, first))
                    failed += 1
                    break
                outs[dev] = {f: np.load(os.path.join(d, f)) for f in sorted(os.listdir(d))}
            else:
                worst, ok = 0.0, True
                for f, ref in outs["cpu"].items():
                    got = outs["cuda"].get(f)
                    r = ref.astype(np.float64)
                    if got is None or got.shape != ref.shape or not np.all(np.isfinite(got)):
                        ok = False
                        continue
                    err = float(np.max(np.abs(got.astype(np.float64) - r))) if r.size else 0.0
                    worst = max(worst, err)
                    ok = ok and err <= atol + rtol * float(np.max(np.abs(r)) if r.size else 0)
                print("%s %-20s max |cuda - cpu| %.3g%s" % ("ok  " if ok else "FAIL", name, worst,
                                                          "" if ok else " (seed %d)" % a.seed))
                failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
