"""Writes the small ONNX models of test_cuda_exec.c into DIR: one op family each, with odd sizes,
plus a model mixing GPU ops with CPU-only ones (CumSum, Hardmax); the conv model has Convs with
asymmetric pads and auto_pad SAME_* (on the GPU) and a ConvTranspose with output_shape (CPU).
Weights are seeded random, never zeros. Usage: make_models.py DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(20261127)
F = TensorProto.FLOAT


def w(name, *shape):
    a = RNG.uniform(0.1, 1.0, shape) * RNG.choice([-1.0, 1.0], shape)
    return numpy_helper.from_array(a.astype(np.float32), name)


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def save(out_dir, name, nodes, inputs, outputs, inits, opset=17, cinfer=False):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    ops = [helper.make_opsetid("", opset)]
    if cinfer:
        ops.append(helper.make_opsetid("cinfer", 1))
    m = helper.make_model(g, opset_imports=ops, producer_name="cinfer-tests")
    m.ir_version = 8
    onnx.save(m, os.path.join(out_dir, name + ".onnx"))


def linalg(d):
    n = helper.make_node
    save(d, "linalg", [
        n("MatMul", ["x", "w1"], ["h1"]), n("Add", ["h1", "b1"], ["h2"]), n("Relu", ["h2"], ["y1"]),
        n("Gemm", ["x", "w2", "c2"], ["y2"], transB=1, alpha=0.7, beta=1.3),
        n("MatMul", ["a", "bm"], ["y3"]),
        n("FusedMatMul", ["x", "w1", "b1"], ["y4"], domain="cinfer", activation="gelu"),
        n("FusedMatMul", ["x", "w1"], ["y5"], domain="cinfer", activation="gelu_tanh"),
    ], [vi("x", [3, 37]), vi("a", [2, 5, 7])],
        [vi("y1", [3, 29]), vi("y2", [3, 13]), vi("y3", [2, 5, 3]), vi("y4", [3, 29]),
         vi("y5", [3, 29])],
        [w("w1", 37, 29), w("b1", 29), w("w2", 13, 37), w("c2", 3, 13), w("bm", 2, 7, 3)],
        cinfer=True)


def conv(d):
    n = helper.make_node
    save(d, "conv", [
        n("Conv", ["x", "k1", "kb1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        n("Relu", ["c1"], ["y1"]),
        n("ConvTranspose", ["y1", "k2"], ["y2"], strides=[2, 2], pads=[1, 1, 1, 1],
          output_padding=[1, 1]),
        n("Conv", ["x", "k3"], ["y3"], group=3, pads=[2, 2, 2, 2], dilations=[2, 2]),
        n("Conv", ["x", "k1"], ["y4"], pads=[0, 1, 1, 0]),  # asymmetric: a padded copy of x
        n("Conv", ["x", "k4"], ["y5"], auto_pad="SAME_UPPER", strides=[2, 2]),  # 0/1 both axes
        n("Conv", ["x", "k4", "kb4"], ["y6"], auto_pad="SAME_LOWER"),  # 1/0 both axes
        # output_shape: stays on the CPU (the GPU's ConvTranspose takes pads only)
        n("ConvTranspose", ["y1", "k2"], ["y7"], strides=[2, 2], output_shape=[12, 14]),
    ], [vi("x", [2, 3, 11, 13])],
        [vi("y1", None), vi("y2", None), vi("y3", None), vi("y4", None), vi("y5", None),
         vi("y6", None), vi("y7", None)],
        [w("k1", 5, 3, 3, 3), w("kb1", 5), w("k2", 5, 4, 3, 3), w("k3", 6, 1, 3, 3),
         w("k4", 4, 3, 2, 2), w("kb4", 4)])


def elementwise(d):
    n = helper.make_node
    save(d, "elementwise", [
        n("Add", ["a", "b"], ["y1"]), n("Mul", ["a", "b"], ["y2"]), n("Sub", ["b", "a"], ["y3"]),
        n("Exp", ["b"], ["eb"]), n("Div", ["a", "eb"], ["y4"]),
        n("Sigmoid", ["a"], ["sa"]), n("Pow", ["sa", "b"], ["y5"]),
        n("Max", ["a", "b"], ["y6"]), n("Min", ["a", "b"], ["y7"]),
        n("Tanh", ["a"], ["y8"]), n("LeakyRelu", ["a"], ["y9"], alpha=0.13),
        n("Clip", ["a", "lo", "hi"], ["y10"]), n("Greater", ["a", "b"], ["gt"]),
        n("Where", ["gt", "a", "b"], ["y11"]), n("Cast", ["a"], ["ai"], to=TensorProto.INT64),
        n("Cast", ["ai"], ["y12"], to=F), n("Gelu", ["a"], ["y13"]),
        n("Erf", ["a"], ["y14"]), n("HardSwish", ["a"], ["y15"]),
    ], [vi("a", [3, 1, 5]), vi("b", [4, 5])],
        [vi(f"y{i}", None) for i in range(1, 16)],
        [numpy_helper.from_array(np.array(-0.3, np.float32), "lo"),
         numpy_helper.from_array(np.array(0.45, np.float32), "hi")], opset=20)


def misc(d):
    n = helper.make_node
    idx = numpy_helper.from_array(np.array([[4, 0], [2, -1]], np.int64), "idx")
    save(d, "misc", [
        n("Softmax", ["x"], ["y1"], axis=-1), n("LogSoftmax", ["x"], ["y2"], axis=-1),
        n("LayerNormalization", ["x", "g", "bt"], ["y3"], axis=-1, epsilon=1e-5),
        n("Transpose", ["x"], ["y4"], perm=[2, 0, 1]),
        n("Gather", ["x", "idx"], ["y5"], axis=1),
        n("Concat", ["x", "x"], ["y6"], axis=1),
        n("ReduceMean", ["x"], ["y7"], axes=[1], keepdims=1),
        n("ReduceMax", ["x"], ["y8"], axes=[2], keepdims=0),
        n("MaxPool", ["p"], ["y9"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        n("AveragePool", ["p"], ["y10"], kernel_shape=[2, 3], strides=[1, 2], pads=[0, 1, 1, 0]),
        n("GlobalAveragePool", ["p"], ["y11"]),
        n("BatchNormalization", ["p", "s", "bb", "mean", "var"], ["y12"], epsilon=1e-3),
        n("Slice", ["x", "st", "en", "ax", "sp"], ["y13"]),
        n("Split", ["x", "parts"], ["y14", "y15"], axis=2),
        n("Expand", ["x", "eshape"], ["y16"]),
        n("Tile", ["p", "reps"], ["y17"]),
        n("Pad", ["p", "pads1"], ["y18"], mode="reflect"),
        n("Pad", ["p", "pads2", "pval"], ["y19"]),
    ], [vi("x", [3, 7, 33]), vi("p", [2, 3, 9, 11])],
        [vi(f"y{i}", None) for i in range(1, 20)],
        [w("g", 33), w("bt", 33), idx, w("s", 3), w("bb", 3), w("mean", 3),
         numpy_helper.from_array(RNG.uniform(0.5, 2.0, 3).astype(np.float32), "var"),
         numpy_helper.from_array(np.array([-2, 1, 30], np.int64), "st"),
         numpy_helper.from_array(np.array([-100, 6, 2], np.int64), "en"),
         numpy_helper.from_array(np.array([1, 0, 2], np.int64), "ax"),
         numpy_helper.from_array(np.array([-2, 1, -3], np.int64), "sp"),
         numpy_helper.from_array(np.array([13, 20], np.int64), "parts"),
         numpy_helper.from_array(np.array([2, 1, 7, 33], np.int64), "eshape"),
         numpy_helper.from_array(np.array([1, 2, 1, 3], np.int64), "reps"),
         numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "pads1"),
         numpy_helper.from_array(np.array([0, 1, 0, -1, 0, 0, 2, 0], np.int64), "pads2"),
         numpy_helper.from_array(np.array(0.5, np.float32), "pval")], opset=17)


def mixed(d):
    n = helper.make_node
    axis = numpy_helper.from_array(np.array(1, np.int64), "axis")
    save(d, "mixed", [
        n("MatMul", ["x", "w1"], ["h1"]),
        n("CumSum", ["h1", "axis"], ["h2"]),          # CPU: copy to the host before
        n("Add", ["h2", "b1"], ["h3"]),               # GPU: copy back to the device
        n("Relu", ["h3"], ["y1"]),                    # output produced on the GPU
        n("Hardmax", ["h3"], ["y2"]),                 # output produced on the CPU
        n("Mul", ["h2", "x2"], ["y3"]),               # GPU reads a value already copied
    ], [vi("x", ["batch", 19]), vi("x2", ["batch", 23])],
        [vi("y1", None), vi("y2", None), vi("y3", None)],
        [w("w1", 19, 23), w("b1", 23), axis])


def mlp_batch(d):
    """All-GPU MLP with a symbolic batch (the scheduler's batches and CUDA graphs per bucket)."""
    n = helper.make_node
    save(d, "mlp_batch", [
        n("MatMul", ["x", "w1"], ["h1"]), n("Add", ["h1", "b1"], ["h2"]), n("Relu", ["h2"], ["h3"]),
        n("MatMul", ["h3", "w2"], ["h4"]), n("Add", ["h4", "b2"], ["h5"]),
        n("Sigmoid", ["h5"], ["y"]),
    ], [vi("x", ["batch", 48])], [vi("y", ["batch", 19])],
        [w("w1", 48, 67), w("b1", 67), w("w2", 67, 19), w("b2", 19)])


def seq(d):
    """Relu(x) * x with a symbolic non-batch dimension: under a scheduler each new length is
    planned on an instance's thread, at run time."""
    n = helper.make_node
    save(d, "seq", [n("Relu", ["x"], ["r"]), n("Mul", ["r", "x"], ["y"])],
         [vi("x", ["batch", "n"])], [vi("y", ["batch", "n"])], [])


def fold(d):
    """x [batch, 4] times a constant folded at plan time from x's shape (ConstantOfShape of
    Shape(x)[1:2], 2.0): a plan-folded constant that a GPU step reads, different per plan."""
    n = helper.make_node
    save(d, "fold", [
        n("Shape", ["x"], ["s"]),
        n("Slice", ["s", "one", "two"], ["s1"]),
        n("ConstantOfShape", ["s1"], ["c"],
          value=numpy_helper.from_array(np.array([2.0], np.float32))),
        n("Mul", ["x", "c"], ["y"]),
    ], [vi("x", ["batch", 4])], [vi("y", ["batch", 4])],
        [numpy_helper.from_array(np.array([1], np.int64), "one"),
         numpy_helper.from_array(np.array([2], np.int64), "two")])


def copy_heavy(d):
    """Wide input and output rows (64 KiB each) around GEMMs of similar cost, so that a batch's
    copies take about as long as its compute: the scheduler's copy/compute overlap test."""
    n = helper.make_node
    save(d, "copy_heavy", [
        n("MatMul", ["x", "w1"], ["h1"]), n("Relu", ["h1"], ["h2"]),
        n("MatMul", ["h2", "w2"], ["h3"]), n("Relu", ["h3"], ["h4"]),
        n("MatMul", ["h4", "w3"], ["y"]),
    ], [vi("x", ["batch", 16384])], [vi("y", ["batch", 16384])],
        [w("w1", 16384, 1024), w("w2", 1024, 1024), w("w3", 1024, 16384)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for f in (linalg, conv, elementwise, misc, mixed, mlp_batch, fold, seq):
        f(out)
    # 130 MB of weights: only where a GPU runs it (the stand-in module computes in double on
    # the host and has no copies to overlap).
    if os.environ.get("CINFER_TEST_MOCK_DEVICE") != "1":
        copy_heavy(out)


if __name__ == "__main__":
    main()
