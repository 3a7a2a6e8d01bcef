#!/usr/bin/python3
"""`cinfer bench` load generator: closed and open loop, CSV columns, JSON levels, usage errors.

usage: test_bench_load.py CINFER
Builds a small MLP with a symbolic batch dimension (onnx.helper, seeded weights) in a temporary
directory and runs the load modes on it with short windows.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CSV_COLUMNS = ["Concurrency", "Inferences/Second", "Client Send", "Network+Server Send/Recv",
               "Server Queue", "Server Compute Input", "Server Compute Infer",
               "Server Compute Output", "Client Recv", "p50 latency", "p90 latency",
               "p95 latency", "p99 latency"]


def make_mlp(path):
    rng = np.random.default_rng(5)
    w1 = numpy_helper.from_array(rng.uniform(-1, 1, (16, 32)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.uniform(-1, 1, (32, 4)).astype(np.float32), "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    g = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
                          [w1, w2])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += not ok


def run(cinfer, *args):
    p = subprocess.run([cinfer, "bench", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def main():
    cinfer = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="cinfer-bench-load-")
    model, out_csv = os.path.join(tmp, "mlp.onnx"), os.path.join(tmp, "levels.csv")
    make_mlp(model)
    short = ["--measurement-interval", "100", "--max-trials", "3", "--seed", "1", "--threads", "2"]

    rc, out, err = run(cinfer, model, "--concurrency", "1:4", "--max-batch-size", "1,4",
                       "--max-queue-delay-us", "200", "--csv", out_csv, "--json", *short)
    check(rc == 0, f"closed loop runs (rc {rc}: {err.strip()[-300:]})")
    if rc == 0:
        j = json.loads(out)
        for k in ("model", "device", "batch", "threads", "iterations", "throughput_per_s",
                  "latency_ms", "levels"):
            check(k in j, f"--json keeps '{k}'")
        lv = j["levels"]
        check([(x["max_batch_size"], x["concurrency"]) for x in lv] ==
              [(1, 1), (1, 2), (1, 4), (4, 1), (4, 2), (4, 4)], "one level per setting and level")
        check(all(x["throughput_per_s"] > 0 and x["failed"] == 0 for x in lv), "levels ran")
        check(all(x["avg_batch_rows"] <= x["max_batch_size"] + 1e-9 for x in lv),
              "batches stay within max_batch_size")
        check(all(0 < x["latency_ms"]["p50"] <= x["latency_ms"]["p90"] <= x["latency_ms"]["p95"]
                  <= x["latency_ms"]["p99"] for x in lv), "percentiles are ordered")
        rows = list(csv.reader(open(out_csv)))
        check(rows[0][:13] == CSV_COLUMNS, f"CSV has perf_analyzer's columns: {rows[0][:13]}")
        check(len(rows) == 7, "one CSV row per level")

    rc, out, err = run(cinfer, model, "--request-rate", "200,400", "--arrival", "poisson",
                       "--max-batch-size", "8", *short)
    check(rc == 0 and "request/s" in out and "p95 ms" in out,
          f"open loop prints a table (rc {rc}: {err.strip()[-300:]})")

    for bad in (["--max-batch-size", "4"], ["--concurrency", "2", "--iterations", "5"],
                ["--concurrency", "0"], ["--concurrency", "1", "--request-rate", "5"],
                ["--request-rate", "10", "--arrival", "bursty"]):
        rc, _, err = run(cinfer, model, *bad)
        check(rc == 2 and "error" in err, f"usage error for {' '.join(bad)} (rc {rc})")
    rc, _, err = run(cinfer, model, "--concurrency", "1", "--batch", "4", "--max-batch-size", "2")
    check(rc == 2 and "max-batch-size" in err, "requests larger than max_batch_size are refused")

    print(f"test_bench_load.py: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
