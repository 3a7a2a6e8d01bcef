"""Writes the models of test_cuda_precision.c into DIR: GEMMs with K = 768 (MatMul with a weight,
batched MatMul of two inputs, Gemm with a bias row and with a full C, FusedMatMul with bias and
GELU) and one Conv with 576 products per output. Weights are seeded random in +-[0.1, 1), never
zeros. Usage: make_precision_models.py DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1127)
F = TensorProto.FLOAT
K = 768


def w(name, *shape):
    a = RNG.uniform(0.1, 1.0, shape) * RNG.choice([-1.0, 1.0], shape)
    return numpy_helper.from_array(a.astype(np.float32), name)


def vi(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def save(out_dir, name, nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    ops = [helper.make_opsetid("", 17), helper.make_opsetid("cinfer", 1)]
    m = helper.make_model(g, opset_imports=ops, producer_name="cinfer-tests")
    m.ir_version = 8
    onnx.save(m, os.path.join(out_dir, name + ".onnx"))


def gemms(d):
    n = helper.make_node
    save(d, "gemms", [
        n("MatMul", ["x", "w1"], ["y1"], name="matmul_weight"),
        n("MatMul", ["a", "b"], ["y2"], name="matmul_inputs"),
        n("Gemm", ["x", "w2", "c_row"], ["y3"], name="gemm_bias", transB=1),
        n("Gemm", ["x", "w2", "c_full"], ["y4"], name="gemm_c", transB=1, alpha=0.5, beta=2.0),
        n("FusedMatMul", ["x", "w1", "b1"], ["y5"], name="fused", domain="cinfer",
          activation="gelu"),
    ], [vi("x", [16, K]), vi("a", [4, 16, K]), vi("b", [4, K, 24])],
        [vi("y1", [16, 64]), vi("y2", [4, 16, 24]), vi("y3", [16, 48]), vi("y4", [16, 48]),
         vi("y5", [16, 64])],
        [w("w1", K, 64), w("w2", 48, K), w("c_row", 48), w("c_full", 16, 48), w("b1", 64)])


def conv(d):
    n = helper.make_node
    save(d, "conv", [n("Conv", ["x", "w", "bias"], ["y"], name="conv", pads=[1, 1, 1, 1])],
         [vi("x", [2, 64, 12, 12])], [vi("y", [2, 32, 12, 12])],
         [w("w", 32, 64, 3, 3), w("bias", 32)])


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    gemms(d)
    conv(d)


if __name__ == "__main__":
    main()
