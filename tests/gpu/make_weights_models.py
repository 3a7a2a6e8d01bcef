"""Writes the model of test_cuda_weights.c into DIR: GEMMs on a symbolic batch that share their
weights (w1 is read by a MatMul and by a FusedMatMul with bias and GELU; w2 by a Gemm with
transB and a bias row), K = 512. Weights are seeded random in +-[0.1, 1), never zeros.
Usage: make_weights_models.py DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1128)
F = TensorProto.FLOAT
K = 512


def w(name, *shape):
    a = RNG.uniform(0.1, 1.0, shape) * RNG.choice([-1.0, 1.0], shape)
    return numpy_helper.from_array(a.astype(np.float32), name)


def vi(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def shared(d):
    n = helper.make_node
    g = helper.make_graph([
        n("MatMul", ["x", "w1"], ["y1"], name="matmul"),
        n("FusedMatMul", ["x", "w1", "b1"], ["y2"], name="fused", domain="cinfer",
          activation="gelu"),
        n("Gemm", ["x", "w2", "c_row"], ["y3"], name="gemm", transB=1),
    ], "shared", [vi("x", ["batch", K])],
        [vi("y1", ["batch", 64]), vi("y2", ["batch", 64]), vi("y3", ["batch", 48])],
        [w("w1", K, 64), w("b1", 64), w("w2", 48, K), w("c_row", 48)])
    ops = [helper.make_opsetid("", 17), helper.make_opsetid("cinfer", 1)]
    m = helper.make_model(g, opset_imports=ops, producer_name="cinfer-tests")
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "shared.onnx"))


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    shared(d)


if __name__ == "__main__":
    main()
