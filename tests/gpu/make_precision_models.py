"""Writes the models of test_cuda_precision.c into DIR: GEMMs with K = 768 (MatMul with a weight,
batched MatMul of two inputs, Gemm with a bias row and with a full C, FusedMatMul with bias and
GELU), one Conv with 576 products per output, and small CNNs whose fp16/bf16 plans store the
activations between their convolutions channels last:
- convnet: Conv+Relu, MaxPool, a residual pair of Convs, Relu, BatchNormalization, then
  GlobalAveragePool and a last Conv as outputs;
- convnet_scalar: convolutions joined by Mul(0.5, x) (a scalar first input) and by a
  per-channel gate Mul(r, GlobalAveragePool(r)), with a GlobalMaxPool output;
- convnet_z3: a FusedConv whose residual is [C, H, W] at batch 1 (its convolution must stay
  NCHW);
- convnet_bcast: convolutions joined by broadcasts in every form channels last takes:
  Mul([N, C, 1, 1], x) (the per-channel operand first), Add(x, [C, 1, 1]) and
  Where([W] bool, x, scalar);
- convnet_concat: two convolutions concatenated along the channels feed a third;
- convnet_up: a ConvTranspose (stride 2, with bias) between two convolutions;
- convnet_resize: a nearest Resize (x2, asymmetric, floor: PP-OCR's neck) between two
  convolutions;
- convnet_same: convolutions with TensorFlow-style asymmetric pads (auto_pad SAME_UPPER at
  stride 2, explicit 1/1 and 0/2).
Weights are seeded random in +-[0.1, 1), never zeros (the CNN's scaled by 1/sqrt(fan-in) so
activations stay of order 1). Usage: make_precision_models.py DIR"""
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


def conv_w(name, k, c, r):
    a = RNG.uniform(0.1, 1.0, (k, c, r, r)) * RNG.choice([-1.0, 1.0], (k, c, r, r))
    return numpy_helper.from_array((a / np.sqrt(c * r * r)).astype(np.float32), name)


def convnet(d):
    n = helper.make_node
    c = 32
    bn = [numpy_helper.from_array(RNG.uniform(lo, hi, c).astype(np.float32), name)
          for name, lo, hi in [("scale", 0.5, 1.5), ("shift", -0.5, 0.5), ("mean", -0.2, 0.2),
                               ("var", 0.5, 2.0)]]
    save(d, "convnet", [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="c1", pads=[1, 1, 1, 1]),
        n("Relu", ["c1"], ["r1"]),
        n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2"], ["c2"], name="c2", pads=[1, 1, 1, 1]),
        n("Conv", ["p1", "w3"], ["c3"], name="c3"),
        n("Add", ["c2", "c3"], ["s"]),
        n("Relu", ["s"], ["r2"]),
        n("BatchNormalization", ["r2", "scale", "shift", "mean", "var"], ["bn"]),
        n("GlobalAveragePool", ["bn"], ["y1"]),
        n("Conv", ["bn", "w4"], ["y2"], name="c4", pads=[1, 1, 1, 1]),
    ], [vi("x", [2, 16, 12, 12])], [vi("y1", [2, c, 1, 1]), vi("y2", [2, 8, 6, 6])],
        [conv_w("w1", c, 16, 3), w("b1", c), conv_w("w2", c, c, 3), conv_w("w3", c, c, 1),
         conv_w("w4", 8, c, 3)] + bn)


def scalar(name, v):
    return numpy_helper.from_array(np.array(v, dtype=np.float32), name)


def convnet_scalar(d):
    n = helper.make_node
    save(d, "convnet_scalar", [
        n("Conv", ["x", "w1"], ["a"], name="a", pads=[1, 1, 1, 1]),
        n("Mul", ["half", "a"], ["m"]),
        n("Conv", ["m", "w2"], ["b"], name="b", pads=[1, 1, 1, 1]),
        n("Relu", ["b"], ["r"]),
        n("GlobalMaxPool", ["r"], ["y1"]),
        n("GlobalAveragePool", ["r"], ["q"]),
        n("Mul", ["r", "q"], ["gated"]),
        n("Conv", ["gated", "w3"], ["y2"], name="c", pads=[1, 1, 1, 1]),
    ], [vi("x", [2, 16, 8, 8])], [vi("y1", [2, 16, 1, 1]), vi("y2", [2, 8, 8, 8])],
        [conv_w("w1", 16, 16, 3), scalar("half", 0.5), conv_w("w2", 16, 16, 3),
         conv_w("w3", 8, 16, 3)])


def convnet_z3(d):
    n = helper.make_node
    save(d, "convnet_z3", [
        n("Conv", ["x", "w1"], ["c"], name="c", pads=[1, 1, 1, 1]),
        n("Relu", ["c"], ["r"]),
        n("Conv", ["r", "w2"], ["f"], name="f", pads=[1, 1, 1, 1]),
        n("Add", ["f", "z"], ["s"]),
        n("Conv", ["s", "w3"], ["y"], name="g", pads=[1, 1, 1, 1]),
    ], [vi("x", [1, 16, 8, 8]), vi("z", [16, 8, 8])], [vi("y", [1, 8, 8, 8])],
        [conv_w("w1", 16, 16, 3), conv_w("w2", 16, 16, 3), conv_w("w3", 8, 16, 3)])


def convnet_bcast(d):
    n = helper.make_node
    cond = numpy_helper.from_array(np.array([True, False] * 4), "keep")
    save(d, "convnet_bcast", [
        n("Conv", ["x", "w1"], ["a"], name="a", pads=[1, 1, 1, 1]),
        n("GlobalAveragePool", ["a"], ["g"]),
        n("Mul", ["g", "a"], ["m"]),
        n("Add", ["m", "cb"], ["b"]),
        n("Conv", ["b", "w2"], ["c"], name="c", pads=[1, 1, 1, 1]),
        n("Where", ["keep", "c", "zero"], ["w"]),
        n("Conv", ["w", "w3"], ["y"], name="e", pads=[1, 1, 1, 1]),
    ], [vi("x", [2, 16, 8, 8])], [vi("y", [2, 8, 8, 8])],
        [conv_w("w1", 16, 16, 3), w("cb", 16, 1, 1), conv_w("w2", 16, 16, 3), cond,
         scalar("zero", 0.0), conv_w("w3", 8, 16, 3)])


def convnet_concat(d):
    n = helper.make_node
    save(d, "convnet_concat", [
        n("Conv", ["x", "w1"], ["a"], name="a", pads=[1, 1, 1, 1]),
        n("Conv", ["x", "w2"], ["b"], name="b", pads=[1, 1, 1, 1]),
        n("Concat", ["a", "b"], ["cat"], axis=1),
        n("Conv", ["cat", "w3"], ["y"], name="c", pads=[1, 1, 1, 1]),
    ], [vi("x", [2, 16, 8, 8])], [vi("y", [2, 8, 8, 8])],
        [conv_w("w1", 16, 16, 3), conv_w("w2", 8, 16, 3), conv_w("w3", 8, 24, 3)])


def convnet_up(d):
    n = helper.make_node
    b = numpy_helper.from_array(RNG.uniform(-0.5, 0.5, 8).astype(np.float32), "bt")
    save(d, "convnet_up", [
        n("Conv", ["x", "w1"], ["a"], name="a", pads=[1, 1, 1, 1]),
        n("ConvTranspose", ["a", "wt", "bt"], ["up"], name="up", strides=[2, 2]),
        n("Conv", ["up", "w2"], ["y"], name="c", pads=[1, 1, 1, 1]),
    ], [vi("x", [2, 16, 8, 8])], [vi("y", [2, 8, 16, 16])],
        [conv_w("w1", 16, 16, 3), conv_w("wt", 16, 8, 2), b, conv_w("w2", 8, 8, 3)])


def convnet_resize(d):
    n = helper.make_node
    sc = numpy_helper.from_array(np.array([1.0, 1.0, 2.0, 2.0], np.float32), "sc")
    save(d, "convnet_resize", [
        n("Conv", ["x", "w1"], ["a"], name="a", pads=[1, 1, 1, 1]),
        n("Resize", ["a", "", "sc"], ["up"], name="up", mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        n("Conv", ["up", "w2"], ["y"], name="c", pads=[1, 1, 1, 1]),
    ], [vi("x", [2, 16, 8, 8])], [vi("y", [2, 8, 16, 16])],
        [conv_w("w1", 16, 16, 3), sc, conv_w("w2", 8, 16, 3)])


def convnet_same(d):
    """TensorFlow-style padding (tf2onnx's BlazeFace and MobileNets): auto_pad SAME_UPPER at
    stride 2 (pads 1/1 on the odd height, 0/1 on the even width), explicit pads 1/1 and 0/2,
    and SAME_LOWER with a 2x2 kernel (1/0 on both axes): cuDNN pads both ends alike, so these
    run on a zero-bordered copy of their input."""
    n = helper.make_node
    save(d, "convnet_same", [
        n("Conv", ["x", "w1"], ["a"], name="a", auto_pad="SAME_UPPER", strides=[2, 2]),
        n("Relu", ["a"], ["r"]),
        n("Conv", ["r", "w2"], ["b"], name="b", pads=[1, 0, 1, 2]),
        n("Conv", ["b", "w3"], ["y"], name="c", auto_pad="SAME_LOWER"),
    ], [vi("x", [2, 16, 9, 8])], [vi("y", [2, 8, 5, 4])],
        [conv_w("w1", 16, 16, 3), conv_w("w2", 16, 16, 3), conv_w("w3", 8, 16, 2)])


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    gemms(d)
    conv(d)
    convnet(d)
    convnet_scalar(d)
    convnet_z3(d)
    convnet_bcast(d)
    convnet_concat(d)
    convnet_up(d)
    convnet_resize(d)
    convnet_same(d)


if __name__ == "__main__":
    main()
