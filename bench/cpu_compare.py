"""cinfer vs ONNX Runtime on the CPU, side by side in one run.

For each model and batch size: `cinfer bench --json` and bench/ort_bench.js (onnxruntime-node,
default graph optimizations, intra-op threads = --threads) on the same model file, one after
the other; then cinfer's own 1 -> N thread scaling. Prints a Markdown table (throughput in
samples/s, p50 latency, ratio cinfer/ORT) and writes it to --out if given.

usage: cpu_compare.py --cinfer build/cinfer --models DIR [--ort-node-modules build/ort/node_modules]
                      [--threads 2] [--duration 5] [--only recsys,resnet18,bert_small] [--out FILE]
"""
import argparse
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# model key -> (file, ORT inputs with "{B}" for the batch, cinfer extra args, batches)
MODELS = {
    "recsys": ("recsys_op17.onnx", ["dense:float32:{B}x13", "sparse:int64:{B}x8"], [], [1, 16]),
    "resnet18": ("resnet18_op17.onnx", ["input:float32:{B}x3x224x224"], [], [1, 16]),
    "bert_small": ("bert_small_op17.onnx",
                   ["input_ids:int64:{B}x128", "attention_mask:int64:{B}x128"],
                   ["--dim", "seq=128"], [1, 16]),
}


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def input_names(model_path):
    import onnx
    m = onnx.load(model_path, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in init]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cinfer", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--ort-node-modules", default=os.path.join(HERE, "..", "build", "ort",
                                                               "node_modules"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--out")
    a = ap.parse_args()
    env = dict(os.environ, NODE_PATH=os.path.abspath(a.ort_node_modules))
    keys = [k for k in MODELS if not a.only or k in a.only.split(",")]
    rows = []
    for key in keys:
        fname, ort_inputs, extra, batches = MODELS[key]
        path = os.path.join(a.models, fname)
        names = input_names(path)
        for spec in ort_inputs:
            if spec.split(":")[0] not in names:
                sys.exit(f"{fname}: input {spec.split(':')[0]} not in model inputs {names}")
        for b in batches:
            common = ["--threads", str(a.threads), "--duration", str(a.duration)]
            c = run_json([a.cinfer, "bench", path, "--batch", str(b), "--json"] + common + extra)
            o = run_json(["node", os.path.join(HERE, "ort_bench.js"), path, "--batch", str(b)] +
                         common + [s.replace("{B}", str(b)) for s in ort_inputs], env)
            rows.append((key, b, c, o))
            print(f"{key} batch {b}: cinfer {c['throughput_per_s']:.1f}/s, "
                  f"ORT {o['throughput_per_s']:.1f}/s", file=sys.stderr)
    scaling = []
    if "resnet18" in keys:
        fname, _, extra, _ = MODELS["resnet18"]
        path = os.path.join(a.models, fname)
        for t in (1, a.threads):
            c = run_json([a.cinfer, "bench", path, "--batch", "16", "--threads", str(t),
                          "--duration", str(a.duration), "--json"])
            scaling.append((t, c["throughput_per_s"]))
    lines = [
        f"Machine: {platform.node()} ({os.cpu_count()} cores, {platform.processor() or platform.machine()}); "
        f"threads {a.threads} for both engines; duration {a.duration} s per point.",
        "",
        "| model | batch | cinfer samples/s | ORT samples/s | cinfer/ORT | cinfer p50 ms | ORT p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, b, c, o in rows:
        lines.append(f"| {key} | {b} | {c['throughput_per_s']:.1f} | {o['throughput_per_s']:.1f} | "
                     f"{c['throughput_per_s'] / o['throughput_per_s']:.2f}x | "
                     f"{c['latency_ms']['p50']:.2f} | {o['latency_ms']['p50']:.2f} |")
    if len(scaling) == 2:
        lines += ["", f"cinfer thread scaling, resnet18 batch 16: 1 thread {scaling[0][1]:.1f}/s, "
                      f"{scaling[1][0]} threads {scaling[1][1]:.1f}/s = "
                      f"{scaling[1][1] / scaling[0][1]:.2f}x"]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
