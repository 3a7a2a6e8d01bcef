#!/usr/bin/python3
"""Checks the reference pipeline itself: ort_ref.js (and its .npy reader/writer) against NumPy,
and ONNX Runtime against PyTorch on the zoo's small models.

Usage:
  /usr/bin/python3 tests/e2e/check_ort_ref.py --ort-node-modules DIR [--zoo DIR [--bench]]

It first checks that tools/zoo/models.json matches gen_zoo.py's table and run_e2e.compare() on
hand-made cases. Part 1 builds a tiny ONNX model by hand (MatMul, Add, Relu, Softmax, Gather,
Greater, Cast to int32/float16/float64, ReduceSum to a scalar) and compares ORT's outputs with
NumPy float64
(rtol 1e-5, atol 1e-6; integers and bools exact; float16 to 1e-3). Part 2 (with --zoo) rebuilds
each small zoo model in PyTorch with gen_zoo.py's seed and compares PyTorch's outputs with
ORT's on the exported file (fp32 model tolerance, rtol 1e-4, atol 1e-5). Exit 1 on a mismatch.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools", "zoo"))
import run_e2e  # noqa: E402


def ort_run(node_modules, model_path, inputs, tmp):
    files = run_e2e.write_inputs(inputs, os.path.join(tmp, "in"))
    out = os.path.join(tmp, "out")
    cmd = ["node", run_e2e.ORT_REF, "--node-modules", node_modules, model_path, out]
    cmd += ["%s=%s" % kv for kv in files.items()]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "outputs.json")) as f:
        return {o["name"]: np.load(os.path.join(out, o["file"])) for o in json.load(f)}


def tiny_model(path):
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper
    nodes = [
        h.make_node("MatMul", ["a", "b"], ["mm"]),
        h.make_node("Add", ["mm", "bias"], ["lin"]),
        h.make_node("Relu", ["lin"], ["r"]),
        h.make_node("Softmax", ["r"], ["y"], axis=-1),
        h.make_node("Gather", ["table", "idx"], ["g"], axis=0),
        h.make_node("Greater", ["a", "half"], ["gt"]),
        h.make_node("Cast", ["idx"], ["idx32"], to=T.INT32),
        h.make_node("Cast", ["a"], ["a16"], to=T.FLOAT16),
        h.make_node("Cast", ["a"], ["a64"], to=T.DOUBLE),
        h.make_node("ReduceSum", ["a"], ["total"], keepdims=0),
    ]
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bias"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    vi = h.make_tensor_value_info
    graph = h.make_graph(
        nodes, "tiny",
        [vi("a", T.FLOAT, [3, 5]), vi("b", T.FLOAT, [5, 4]), vi("table", T.FLOAT, [10, 4]),
         vi("idx", T.INT64, [6])],
        [vi("y", T.FLOAT, [3, 4]), vi("g", T.FLOAT, [6, 4]), vi("gt", T.BOOL, [3, 5]),
         vi("idx32", T.INT32, [6]), vi("a16", T.FLOAT16, [3, 5]), vi("a64", T.DOUBLE, [3, 5]),
         vi("total", T.FLOAT, [])],
        inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return {i.name: numpy_helper.to_array(i) for i in inits}


def numpy_ref(x, w):
    a, b, table, idx = (x[k].astype(np.float64) if x[k].dtype.kind == "f" else x[k]
                        for k in ("a", "b", "table", "idx"))
    lin = np.maximum(a @ b + w["bias"].astype(np.float64), 0.0)
    e = np.exp(lin - lin.max(axis=-1, keepdims=True))
    return {
        "y": (e / e.sum(axis=-1, keepdims=True)).astype(np.float32),
        "g": table[idx].astype(np.float32),
        "gt": x["a"] > np.float32(0.5),
        "idx32": x["idx"].astype(np.int32),
        "a16": x["a"].astype(np.float16),
        "a64": a,
        "total": np.array(a.sum(), dtype=np.float32),
    }


def check_numpy(node_modules, tmp):
    path = os.path.join(tmp, "tiny.onnx")
    w = tiny_model(path)
    rng = np.random.default_rng(11)
    x = {"a": rng.random((3, 5), dtype=np.float32),
         "b": rng.standard_normal((5, 4)).astype(np.float32),
         "table": rng.standard_normal((10, 4)).astype(np.float32),
         "idx": rng.integers(0, 10, 6).astype(np.int64)}
    got = ort_run(node_modules, path, x, tmp)
    ref = numpy_ref(x, w)
    ok = True
    for name, r in ref.items():
        rtol, atol = (1e-3, 1e-3) if r.dtype == np.float16 else (1e-5, 1e-6)
        good, err, bound, msg = run_e2e.compare(got[name], r, rtol, atol)
        print("%s numpy/%-6s %-8s %s max_err %.3g %s" % ("PASS" if good else "FAIL", name,
                                                         r.dtype, r.shape, err, msg))
        ok &= good
    return ok


def check_compare():
    """run_e2e.compare() on hand-made cases: each (got, ref, expected verdict)."""
    f = np.float32
    ref = np.array([1.0, -2.0, 3.0], f)
    bound = 1e-5 + 1e-4 * 3.0
    cases = [
        ("within bound", ref + f(0.9 * bound), ref, True),
        ("over bound", ref + np.array([0, 0, 1.1 * bound], f), ref, False),
        ("NaN in got", np.array([1.0, np.nan, 3.0], f), ref, False),
        ("Inf in got", np.array([1.0, np.inf, 3.0], f), ref, False),
        ("NaN matched", np.array([np.nan, 1.0], f), np.array([np.nan, 1.0], f), True),
        ("Inf sign differs", np.array([-np.inf, 1.0], f), np.array([np.inf, 1.0], f), False),
        ("shape differs", ref.reshape(3, 1), ref, False),
        ("dtype differs", ref.astype(np.float64), ref, False),
        ("int equal", np.arange(4), np.arange(4), True),
        ("int off by one", np.arange(4) + (np.arange(4) == 2), np.arange(4), False),
        ("bool differs", np.array([True, False]), np.array([True, True]), False),
        ("empty", np.zeros((0, 3), f), np.zeros((0, 3), f), True),
    ]
    ok = True
    for what, got, r, want in cases:
        verdict = run_e2e.compare(got, r, 1e-4, 1e-5)[0]
        if verdict != want:
            print("FAIL compare/%s: got %s, expected %s" % (what, verdict, want))
            ok = False
    print("%s compare: %d self-test cases" % ("PASS" if ok else "FAIL", len(cases)))
    return ok


def check_catalog():
    """tools/zoo/models.json must be what gen_zoo.py --write-json writes from its table."""
    import gen_zoo
    ok = run_e2e.load_catalog() == json.loads(gen_zoo._json_text(gen_zoo.models_json()))
    print("%s models.json matches gen_zoo.py's table%s" % (
        "PASS" if ok else "FAIL", "" if ok else
        " (run tools/zoo/gen_zoo.py --write-json tools/zoo/models.json)"))
    return ok


def check_torch(node_modules, zoo, tmp, classes):
    import torch
    import gen_zoo
    catalog = run_e2e.load_catalog()
    tol = catalog["tolerances"]["fp32_model"]
    ok = True
    for m in catalog["models"]:
        if m["source"] != "zoo" or m["cls"] not in classes:
            continue
        path = os.path.join(zoo, m["file"])
        if not os.path.exists(path):
            print("SKIP torch/%s: %s missing" % (m["name"], path))
            continue
        model = gen_zoo.build_seeded(m["family"])
        x = run_e2e.make_inputs(m, m["tests"][-1], len(m["tests"]) - 1, catalog["seed"])
        with torch.no_grad():
            t_out = model(*[torch.from_numpy(x[i["name"]]) for i in m["inputs"]])
        if isinstance(t_out, torch.Tensor):
            t_out = (t_out,)
        got = ort_run(node_modules, path, x, tmp)
        for name, t in zip(m["outputs"], t_out):
            good, err, bound, msg = run_e2e.compare(got[name], t.numpy(), tol["rtol"],
                                                    tol["atol"])
            print("%s torch/%s/%s max_err %.3g (bound %.3g) %s" % (
                "PASS" if good else "FAIL", m["name"], name, err, bound, msg))
            ok &= good
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ort-node-modules", default=os.environ.get("ORT_NODE_MODULES"),
                    required=not os.environ.get("ORT_NODE_MODULES"))
    ap.add_argument("--zoo", help="gen_zoo.py output directory: also compare PyTorch with ORT")
    ap.add_argument("--bench", action="store_true", help="with --zoo: the bench models too")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="check-ort-") as tmp:
        ok = check_catalog()
        ok &= check_compare()
        ok &= check_numpy(args.ort_node_modules, tmp)
        if args.zoo:
            classes = ("small", "bench") if args.bench else ("small",)
            ok &= check_torch(args.ort_node_modules, args.zoo, tmp, classes)
    print("check_ort_ref: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
