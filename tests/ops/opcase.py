"""Builds single-node ONNX test cases whose expected outputs come from NumPy in float64.

Each case is written in the layout of ONNX's backend test data (model.onnx and
test_data_set_0/{input,output}_N.pb), so one runner (tests/onnx_backend_runner) checks both
ONNX's own data and ours. A case may carry a looser tolerance, with the reason, in
tolerance.txt ("rtol atol # why"), and the 16-bit precisions at which its float64 reference
cannot be met by any engine (outputs beyond float16's range, inputs whose 16-bit rounding
alone moves the result past the tolerance) in not16.txt ("fp16 bf16 # why"): the runner
reports it SKIPPED there, never passed.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

_NP_TO_ONNX = {
    np.dtype(np.float32): onnx.TensorProto.FLOAT,
    np.dtype(np.float64): onnx.TensorProto.DOUBLE,
    np.dtype(np.float16): onnx.TensorProto.FLOAT16,
    np.dtype(np.int64): onnx.TensorProto.INT64,
    np.dtype(np.int32): onnx.TensorProto.INT32,
    np.dtype(np.int8): onnx.TensorProto.INT8,
    np.dtype(np.uint8): onnx.TensorProto.UINT8,
    np.dtype(np.bool_): onnx.TensorProto.BOOL,
}


class Case:
    def __init__(self, name, model, inputs, outputs, tolerance=None, not16=None):
        self.name, self.model, self.inputs, self.outputs = name, model, inputs, outputs
        self.tolerance = tolerance  # (rtol, atol, "why") or None for the default
        self.not16 = not16  # (("fp16", "bf16"), "why") or None

    def write(self, root):
        d = os.path.join(root, self.name)
        data = os.path.join(d, "test_data_set_0")
        os.makedirs(data, exist_ok=True)
        onnx.save(self.model, os.path.join(d, "model.onnx"))
        for i, (name, arr) in enumerate(self.inputs):
            t = numpy_helper.from_array(np.asarray(arr), name)
            with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
                f.write(t.SerializeToString())
        for i, (name, arr) in enumerate(self.outputs):
            t = numpy_helper.from_array(np.asarray(arr), name)
            with open(os.path.join(data, f"output_{i}.pb"), "wb") as f:
                f.write(t.SerializeToString())
        if self.tolerance:
            rtol, atol, why = self.tolerance
            with open(os.path.join(d, "tolerance.txt"), "w") as f:
                f.write(f"{rtol} {atol} # {why}\n")
        if self.not16:
            formats, why = self.not16
            with open(os.path.join(d, "not16.txt"), "w") as f:
                f.write(f"{' '.join(formats)} # {why}\n")


def node_case(name, op_type, inputs, outputs, attrs=None, opset=17, initializers=(),
              domain="", tolerance=None, output_dtypes=None, not16=None):
    """One node of op_type.

    inputs: list of (name, ndarray); a name of "" stands for an omitted optional input
            (its array is ignored). Names listed in `initializers` become initializers
            instead of graph inputs.
    outputs: list of (name, expected ndarray computed in float64 and cast to the output's
             dtype by the caller).
    """
    init, graph_inputs, in_names, feeds = [], [], [], []
    for n, arr in inputs:
        in_names.append(n)
        if not n:
            continue
        arr = np.asarray(arr)
        if n in initializers:
            init.append(numpy_helper.from_array(arr, n))
        else:
            graph_inputs.append(helper.make_tensor_value_info(n, _NP_TO_ONNX[arr.dtype], arr.shape))
            feeds.append((n, arr))
    graph_outputs = []
    for n, arr in outputs:
        arr = np.asarray(arr)
        graph_outputs.append(helper.make_tensor_value_info(n, _NP_TO_ONNX[arr.dtype], None))
    node = helper.make_node(op_type, in_names, [n for n, _ in outputs], domain=domain or None,
                            **(attrs or {}))
    graph = helper.make_graph([node], name, graph_inputs, graph_outputs, initializer=init)
    opsets = [helper.make_opsetid("", opset)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="cinfer-opcase")
    model.ir_version = 8
    return Case(name, model, feeds, [(n, np.asarray(a)) for n, a in outputs], tolerance,
                not16)
