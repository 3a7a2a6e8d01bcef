#!/usr/bin/env python3
"""cinfer against PyTorch and ONNX Runtime on the same GPU, in the same run, on the same weights.

For each zoo model (tools/zoo/gen_zoo.py) it builds the PyTorch module with the zoo's seed,
exports it with this torch (legacy exporter, dynamo=False), so both engines hold identical
weights; checks cinfer's outputs against PyTorch fp32 (a disagreement is printed as an error and
no time is reported for that engine); then times PyTorch eager (fp32, and fp16 via .half(),
channels_last for CNNs, cudnn.benchmark on), torch.compile (default mode; max-autotune with
--full) and cinfer (`cinfer bench --json`, at each precision this cinfer offers; for CNNs
outside --quick also "fp16-nchw", fp16 with --no-nhwc, to show what channels last gives). Prints
throughput, p50/p99 latency, achieved TFLOP/s against the GEMM peak measured at the start, and
the speedup against eager fp16 (fp32 on the CPU); writes CSV. ONNX Runtime (the onnxruntime
module, where this Python has it) runs the same exported file: on a GPU through its CUDA
provider (rows "ort fp32" and, on the model converted to fp16 as ORT users convert it, "ort
fp16"; inputs and outputs bound on the device with IOBinding), on a CPU through its CPU
provider; its outputs are checked against PyTorch fp32 like cinfer's. Without the module, or
on a GPU without ORT's CUDA provider, it says so once and leaves those rows out; --no-ort
skips it.

usage: bench/compare.py --cinfer build-gpu/bin/cinfer [--quick | --full] [--device cuda|cpu]
                        [--models resnet50,bert_base,recsys] [--csv out.csv]
                        [--precisions fp16,...] [--compile all|largest|none] [--duration S]
                        [--no-ort]
--quick fits in about 4 minutes on an H100; --device cpu runs the same flow on a laptop.
--precisions keeps only those cinfer rows (and PyTorch's fp32 eager row only when fp32 is
among them); --compile largest compiles with torch.compile at each model's largest batch
only (each new batch size costs torch.compile a recompile of tens of seconds); --duration is
each cinfer bench's (2 s with --quick, 5 otherwise). The issue-4 table in a short lease:
--precisions fp16 --compile largest --duration 2.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "zoo"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import gen_zoo  # noqa: E402  (the zoo's definitions, seed and exporter settings)

# model -> (zoo family, batches, quick batches, extra symbol values, is a CNN)
MODELS = {
    "resnet50": ("resnet50", [1, 32, 256], [1, 32], {}, True),
    "bert_base": ("bert_base", [1, 8, 64], [1, 8], {"seq": 128}, False),
    "recsys": ("recsys", [1, 1024], [1, 1024], {}, False),
    # Small ones, to try the script on a laptop (--device cpu --models bert_small).
    "bert_small": ("bert_small", [1, 16], [1], {"seq": 128}, False),
    "resnet18": ("resnet18", [1, 16], [1], {}, True),
}
RTOL, ATOL = 1e-4, 1e-5  # DESIGN.md: fp32 model vs its reference


def inputs_for(fam, batch, sym, torch, device, seed):
    """Seeded inputs as the zoo's e2e tests draw them (ints for ids, a 1/0 mask)."""
    g = torch.Generator().manual_seed(seed)
    vals = dict(sym, batch=batch)
    out = []
    for inp in gen_zoo.FAMILIES[fam]["inputs"]:
        shape = [vals[d] if isinstance(d, str) else d for d in inp["shape"]]
        dist = inp["dist"]
        if dist.startswith("int:"):
            lo, hi = map(int, dist.split(":")[1:])
            t = torch.randint(lo, hi, shape, generator=g)
        elif dist == "mask":
            t = torch.ones(shape, dtype=torch.int64)
            if len(shape) == 2 and shape[1] > 4:
                t[1:, -shape[1] // 4:] = 0
        elif dist == "normal":
            t = torch.randn(shape, generator=g)
        else:
            t = torch.rand(shape, generator=g)
        out.append(t.to(device))
    return out


def time_torch(fn, args_sets, torch, device, iters, warmup):
    """Median and p99 latency (ms) of fn over rotated input sets, with CUDA events on a GPU."""
    for i in range(warmup):
        fn(*args_sets[i % len(args_sets)])
    times = []
    for i in range(iters):
        args = args_sets[i % len(args_sets)]
        if device == "cuda":
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn(*args)
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e))
        else:
            t0 = time.perf_counter()
            fn(*args)
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def gemm_peak(torch, device, dtype):
    """Measured dense GEMM peak (TFLOP/s) for this dtype on this device."""
    n = 8192 if device == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    med, _ = time_torch(lambda x, y: torch.matmul(x, y), [(a, b)], torch, device,
                        iters=10 if device == "cuda" else 3, warmup=2)
    return 2 * n ** 3 / (med * 1e-3) / 1e12


def cinfer_cli(cinfer, *args, timeout=600):
    p = subprocess.run([cinfer, *args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("cinfer %s: %s" % (args[0], (p.stderr.strip().splitlines() or ["?"])[0]))
    return p.stdout


def shape_args(fam, batch, sym, path):
    """cinfer bench's options for this batch and these symbol values."""
    args = ["--batch", str(batch)]
    for k, v in sym.items():
        args += ["--dim", "%s=%d" % (k, v)]
    return args


def flops_per_run(cinfer, path, fam, batch, sym, device):
    """FLOPs of one run at this batch, as `cinfer inspect` counts them (2 per multiply-add)."""
    dims = ["--dim", "batch=%d" % batch]
    for k, v in sym.items():
        dims += ["--dim", "%s=%d" % (k, v)]
    try:
        out = cinfer_cli(cinfer, "inspect", path, "--device", device, *dims)
    except RuntimeError:
        return None
    for line in out.splitlines():
        if line.strip().startswith("FLOPs:") and "(" in line:
            return float(line.split("(")[-1].rstrip(")"))
    return None


def check_cinfer(cinfer, path, fam, ref_out, inputs, device, tmp, prec="fp32"):
    """cinfer's outputs for `inputs` against PyTorch fp32's; returns (ok, max error). Below
    fp32 the tolerance is DESIGN.md's fp16/bf16 model row (TF32 takes it too)."""
    import numpy as np
    rtol, atol = (RTOL, ATOL) if prec == "fp32" else (2e-2, 1e-2)
    args = ["run", path, "--device", device, "-o", tmp] + precision_args(prec)
    for spec, t in zip(gen_zoo.FAMILIES[fam]["inputs"], inputs):
        f = os.path.join(tmp, "in_%s.npy" % spec["name"])
        np.save(f, t.cpu().numpy())
        args += ["-i", "%s=%s" % (spec["name"], f)]
    cinfer_cli(cinfer, *args)
    worst, ok = 0.0, True
    for name, ref in zip(gen_zoo.FAMILIES[fam]["outputs"], ref_out):
        got = np.load(os.path.join(tmp, name + ".npy")).astype(np.float64)
        r = ref.detach().float().cpu().numpy().astype(np.float64)
        err = float(np.max(np.abs(got - r))) if r.size else 0.0
        ok = ok and got.shape == r.shape and np.all(np.isfinite(got)) and \
            err <= atol + rtol * float(np.max(np.abs(r)))
        worst = max(worst, err)
    return ok, worst


def cinfer_precisions(cinfer, cnn=False, quick=False, only=None):
    """The precisions to time; for CNNs outside --quick also "fp16-nchw": fp16 with the
    activations kept NCHW (--no-nhwc), so the table shows what channels last is worth."""
    out = subprocess.run([cinfer, "bench", "--help"], capture_output=True, text=True).stdout
    if "--precision" not in out:
        return ["fp32"]
    extra = ["fp16-nchw"] if cnn and not quick and "--no-nhwc" in out else []
    offered = ["fp32", "tf32", "fp16"] + extra + ["bf16"]
    if only:  # --precisions: in the order asked, those this cinfer has (fp16-nchw: CNNs only)
        return [p for p in only if p in offered or (p == "fp16-nchw" and cnn and
                                                     "--no-nhwc" in out)]
    return offered


def precision_args(prec):
    """cinfer options for a row of cinfer_precisions."""
    if prec == "fp32":
        return []
    if prec.endswith("-nchw"):
        return ["--precision", prec[:-len("-nchw")], "--no-nhwc"]
    return ["--precision", prec]


def ort_sessions(a, key, path, dev, tmp):
    """[(row name, InferenceSession, fp16 inputs)] for this model, or [] with the reason printed
    once: ORT's CUDA provider on a GPU (fp32, and fp16 on the model converted to fp16 with
    tests/e2e/test_half_models.py), its CPU provider on a CPU."""
    if a.no_ort:
        return []
    try:
        import onnxruntime as ort
    except ImportError as e:
        if not getattr(ort_sessions, "said", False):
            print("  ort: not timed (%s)" % e)
            ort_sessions.said = True
        return []
    providers = ort.get_available_providers()
    if dev == "cuda" and "CUDAExecutionProvider" not in providers:
        if not getattr(ort_sessions, "said", False):
            print("  ort %s: not timed, no CUDAExecutionProvider (has %s)"
                  % (ort.__version__, ", ".join(providers)))
            ort_sessions.said = True
        return []
    use = ["CUDAExecutionProvider", "CPUExecutionProvider"] if dev == "cuda" \
        else ["CPUExecutionProvider"]
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    out = []
    wanted = a.precisions or ["fp32", "fp16"]
    try:
        if "fp32" in wanted:
            out.append(("ort fp32", ort.InferenceSession(path, so, providers=use), False))
        if dev == "cuda" and "fp16" in wanted:
            import onnx
            import test_half_models
            half, _ = test_half_models.convert(onnx.load(path), "fp16")
            hp = os.path.join(tmp, key + "_fp16.onnx")
            onnx.save(half, hp)
            out.append(("ort fp16", ort.InferenceSession(hp, so, providers=use), True))
    except Exception as e:  # a model ORT cannot load: report, time the rest
        print("  ort: ERROR creating a session: %s" % str(e).splitlines()[0])
    return out


def ort_rows(key, fam, batch, sets, ref, sessions, dev, iters, warmup, flops, peak_of, rows):
    """Checks and times each ORT session at this batch (device-resident on a GPU)."""
    import numpy as np
    import onnxruntime as ort
    names = [s["name"] for s in gen_zoo.FAMILIES[fam]["inputs"]]
    for name, sess, half in sessions:
        def feed(ts):
            d = {}
            for n, t in zip(names, ts):
                v = t.cpu().numpy()
                d[n] = v.astype(np.float16) if half and v.dtype == np.float32 else v
            return d
        feeds = [feed(s) for s in sets]
        rtol, atol = (2e-2, 1e-2) if half else (RTOL, ATOL)
        try:
            got = sess.run(None, feeds[0])
            worst, ok = 0.0, True
            for g, r in zip(got, ref):
                g = np.asarray(g, dtype=np.float64)
                r = r.detach().float().cpu().numpy().astype(np.float64)
                err = float(np.max(np.abs(g - r))) if r.size else 0.0
                ok = ok and g.shape == r.shape and bool(np.all(np.isfinite(g))) and \
                    err <= atol + rtol * float(np.max(np.abs(r)))
                worst = max(worst, err)
            if not ok:
                print("  %-22s batch %4d: ERROR outputs differ from PyTorch fp32 (max %.3g)"
                      % (name, batch, worst))
                continue
            if dev == "cuda":  # inputs and outputs on the device, as cinfer's device-io rows
                bindings = []
                for f in feeds:
                    io = sess.io_binding()
                    for n, v in f.items():
                        io.bind_ortvalue_input(n, ort.OrtValue.ortvalue_from_numpy(v, "cuda", 0))
                    for o in sess.get_outputs():
                        io.bind_output(o.name, "cuda")
                    bindings.append(io)
                def run(i):
                    sess.run_with_iobinding(bindings[i % len(bindings)])
            else:
                def run(i):
                    sess.run(None, feeds[i % len(feeds)])
            for i in range(warmup):
                run(i)
            times = []
            for i in range(iters):  # Run returns once ORT has synchronized its stream
                t0 = time.perf_counter()
                run(i)
                times.append((time.perf_counter() - t0) * 1e3)
        except Exception as e:
            print("  %-22s batch %4d: ERROR %s" % (name, batch, str(e).splitlines()[0]))
            continue
        times.sort()
        med = statistics.median(times)
        rows.append(dict(model=key, batch=batch,
                         engine=name + (" device-io" if dev == "cuda" else ""), p50_ms=med,
                         p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))],
                         throughput=batch / (med * 1e-3),
                         tflops=flops / (med * 1e-3) / 1e12 if flops else None,
                         peak=peak_of(half)))


def cinfer_io_modes(cinfer, device):
    """Device-resident inputs/outputs (compute only) and host ones (end to end), where cinfer
    has --io and the run is on a GPU."""
    out = subprocess.run([cinfer, "bench", "--help"], capture_output=True, text=True)
    return ["device", "host"] if device == "cuda" and "--io" in out.stdout + out.stderr \
        else ["host"]


def bench_model(a, key, torch, rows, peaks):
    fam, batches, quick, sym, cnn = MODELS[key]
    if a.quick:
        batches = quick
    dev = a.device
    tmp = tempfile.mkdtemp(prefix="cinfer-compare-")
    path = os.path.join(tmp, key + ".onnx")
    print("== %s: building and exporting (seed %d, torch %s)" % (key, gen_zoo.SEED,
                                                                  torch.__version__), flush=True)
    gen_zoo.export(fam, 17, path)
    model = gen_zoo.build_seeded(fam).to(dev)
    iters, warmup = (30, 5) if a.quick else (100, 10)
    sessions = ort_sessions(a, key, path, dev, tmp)
    for batch in batches:
        sets = [inputs_for(fam, batch, sym, torch, dev, s) for s in range(3)]
        with torch.no_grad():
            ref = model(*sets[0])
        ref = ref if isinstance(ref, (tuple, list)) else (ref,)
        flops = flops_per_run(a.cinfer, path, fam, batch, sym, dev)
        engines = [("torch eager fp32", model, torch.float32, False)] \
            if not a.precisions or "fp32" in a.precisions else []
        if dev == "cuda":
            torch.backends.cudnn.benchmark = True
            half = gen_zoo.build_seeded(fam).to(dev).half()
            if cnn:
                half = half.to(memory_format=torch.channels_last)
            engines.append(("torch eager fp16", half, torch.float16, False))
            if hasattr(torch, "compile") and (a.compile == "all" or (
                    a.compile == "largest" and batch == max(batches))):
                mode = "max-autotune" if a.full else None
                engines.append(("torch.compile fp16", torch.compile(half, mode=mode),
                                torch.float16, True))
        base = None
        for name, mod, dtype, compiled in engines:
            def cast(t, dtype=dtype):
                t = t.to(dtype) if t.is_floating_point() else t
                return t.to(memory_format=torch.channels_last) if cnn and t.dim() == 4 else t
            args_sets = [[cast(t) for t in s] for s in sets]
            try:
                with torch.no_grad():
                    med, p99 = time_torch(lambda *x: mod(*x), args_sets, torch, dev, iters,
                                          warmup + (10 if compiled else 0))
            except Exception as e:  # torch.compile can fail on a model: report, go on
                print("  %-22s batch %4d: ERROR %s" % (name, batch, str(e).splitlines()[0]))
                continue
            base = med if "eager" in name and (dev != "cuda" or "fp16" in name) else base
            rows.append(dict(model=key, batch=batch, engine=name, p50_ms=med, p99_ms=p99,
                             throughput=batch / (med * 1e-3),
                             tflops=flops / (med * 1e-3) / 1e12 if flops else None,
                             peak=peaks.get(dtype)))
        ort_rows(key, fam, batch, sets, ref, sessions, dev, iters, warmup, flops,
                 lambda half: peaks.get(torch.float16 if half else torch.float32), rows)
        io_modes = cinfer_io_modes(a.cinfer, dev)
        for prec in cinfer_precisions(a.cinfer, cnn, a.quick, a.precisions):
            try:
                ok, err = check_cinfer(a.cinfer, path, fam, ref, sets[0], dev, tmp, prec)
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
                print("  %-22s batch %4d: ERROR %s" % ("cinfer %s" % prec, batch, e))
                continue
            if not ok:
                print("  %-22s batch %4d: ERROR outputs differ from PyTorch fp32 (max %.3g)"
                      % ("cinfer %s" % prec, batch, err))
                continue
            for io in io_modes:
                name = "cinfer %s %s-io" % (prec, io) if len(io_modes) > 1 else "cinfer " + prec
                extra = precision_args(prec)
                if len(io_modes) > 1:
                    extra += ["--io", io]
                try:
                    out = cinfer_cli(a.cinfer, "bench", path, "--device", dev, "--json",
                                     "--duration", str(a.duration or (2 if a.quick else 5)),
                                     *shape_args(fam, batch, sym, path), *extra)
                    j = json.loads(out.strip().splitlines()[-1])
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
                    print("  %-22s batch %4d: ERROR %s" % (name, batch, e))
                    continue
                med = j["latency_ms"]["p50"]
                rows.append(dict(model=key, batch=batch, engine=name, p50_ms=med,
                                 p99_ms=j["latency_ms"]["p99"],
                                 throughput=j["throughput_per_s"],
                                 tflops=flops / (med * 1e-3) / 1e12 if flops else None,
                                 # the 16-bit GEMM peak for fp16 and bf16 (one tensor-core
                                 # rate on Hopper), fp32's otherwise (tf32 included)
                                 peak=peaks.get(torch.float16 if prec[:4] in ("fp16", "bf16")
                                                else torch.float32)))
        for r in rows:
            if r["model"] == key and r["batch"] == batch:
                r["vs_eager"] = base / r["p50_ms"] if base else None
                print("  %-22s batch %4d: %10.1f samples/s  p50 %8.3f ms  p99 %8.3f ms  %s  %s"
                      % (r["engine"], batch, r["throughput"], r["p50_ms"], r["p99_ms"],
                         "%.1f TFLOP/s" % r["tflops"] if r["tflops"] else "",
                         "%.2fx eager" % r["vs_eager"] if r.get("vs_eager") else ""), flush=True)


# Issue 4's targets (not gates): batch-1 latency at most half of eager's; the largest batch at
# least 1.3x eager's throughput and at least torch.compile's; two absolute rates.
ABSOLUTE = {("resnet50", 256): 30000, ("bert_base", 64): 20000}


def target_lines(rows, engine="cinfer fp16 device-io"):
    """Each target this run can judge, as 'met' / 'NOT met' lines (fp16 rows on a GPU)."""
    def row(model, batch, name):
        return next((r for r in rows if r["model"] == model and r["batch"] == batch and
                     r["engine"] == name), None)
    out = []
    for model in sorted({r["model"] for r in rows}):
        batches = sorted({r["batch"] for r in rows if r["model"] == model})
        eager, ours = row(model, 1, "torch eager fp16"), row(model, 1, engine)
        if eager and ours:
            ratio = ours["p50_ms"] / eager["p50_ms"]
            out.append("%-10s batch 1: latency %.2fx eager's (target <= 0.5): %s"
                       % (model, ratio, "met" if ratio <= 0.5 else "NOT met"))
        big = batches[-1] if batches else None
        if big and big > 1:
            ours = row(model, big, engine)
            for ref, want in (("torch eager fp16", 1.3), ("torch.compile fp16", 1.0)):
                other = row(model, big, ref)
                if ours and other:
                    ratio = ours["throughput"] / other["throughput"]
                    out.append("%-10s batch %d: throughput %.2fx %s's (target >= %.1f): %s"
                               % (model, big, ratio, ref, want,
                                  "met" if ratio >= want else "NOT met"))
            goal = ABSOLUTE.get((model, big))
            if ours and goal:
                out.append("%-10s batch %d: %.0f samples/s (target >= %d): %s"
                           % (model, big, ours["throughput"], goal,
                              "met" if ours["throughput"] >= goal else "NOT met"))
    return out


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["model", "batch", "engine", "throughput", "p50_ms",
                                          "p99_ms", "tflops", "peak", "vs_eager"])
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in w.fieldnames})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cinfer", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--models", default="resnet50,bert_base,recsys")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="torch.compile max-autotune too")
    ap.add_argument("--csv")
    ap.add_argument("--precisions", type=lambda v: [p for p in v.split(",") if p],
                    help="cinfer rows to time, e.g. fp16,bf16 (default: all it offers)")
    ap.add_argument("--compile", default="all", choices=["all", "largest", "none"])
    ap.add_argument("--duration", type=float, help="seconds of each cinfer bench")
    ap.add_argument("--no-ort", action="store_true", help="leave ONNX Runtime out")
    a = ap.parse_args()
    import torch
    if a.device == "cuda" and not torch.cuda.is_available():
        print("compare: no CUDA device for PyTorch; use --device cpu", file=sys.stderr)
        return 2
    card = torch.cuda.get_device_name() if a.device == "cuda" else "cpu"
    # fp32 means fp32 on both sides: PyTorch lets cuDNN convolutions use TF32 by default, which
    # moves ResNet-50's logits by ~0.3 and would make its reference (and its fp32 timing) TF32.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    peaks = {torch.float32: gemm_peak(torch, a.device, torch.float32)}
    if a.device == "cuda":
        peaks[torch.float16] = gemm_peak(torch, a.device, torch.float16)
    print("compare: %s, torch %s, GEMM peak %s" % (card, torch.__version__, ", ".join(
        "%s %.1f TFLOP/s" % (str(k).split(".")[-1], v) for k, v in peaks.items())))
    rows = []
    for key in a.models.split(","):
        if key not in MODELS:
            print("compare: unknown model %s (%s)" % (key, ", ".join(MODELS)), file=sys.stderr)
            return 2
        bench_model(a, key, torch, rows, peaks)
        if a.csv:  # after every model, so that a run cut short keeps what it measured
            write_csv(a.csv, rows)
    if a.device == "cuda":
        lines = target_lines(rows)
        if lines:
            print("== issue 4 targets (cinfer fp16, device-resident I/O)")
            for line in lines:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
