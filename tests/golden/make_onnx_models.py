#!/usr/bin/python3
"""make_onnx_models.py — writes tests/data/onnx/: the small ONNX models and tensor files
that tests/test_onnx.c, tests/test_alloc_fail.c and tests/cli/cli_onnx.sh load.

Run by hand with Debian's python3 (python3-onnx 1.12):
    /usr/bin/python3 tests/golden/make_onnx_models.py
CI never runs it (it has no onnx module): the written files are committed. Every model
is built with onnx.helper (no checker: some models are wrong on purpose, each to be
refused with one error), so the bytes are what ONNX's own serializer writes.

The numbers the C tests assert (weights, tensor values) are the literals below.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "onnx")
F, D, I64, I32, B, U8 = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64,
                         TensorProto.INT32, TensorProto.BOOL, TensorProto.UINT8)

# The MLP's weights: W f[3,4], B f[4] (the C tests repeat these literals).
W = [[0.5, -1.0, 0.25, 2.0], [1.5, 0.75, -0.5, -2.0], [-1.25, 1.0, 0.5, 0.125]]
BIAS = [0.1, -0.2, 0.3, -0.4]


def model(name, nodes, inputs, outputs, inits=(), opset=13, domains=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    m = helper.make_model(g, opset_imports=ops, producer_name="make_onnx_models.py",
                          producer_version="1")
    m.ir_version = 8
    return m


def save(m, name):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(m.SerializeToString())


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def mlp(t, np_t, name):
    """y = relu(x @ W + B) * 0.5: an input, two initializers, a Constant, four nodes."""
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
        helper.make_node("Add", ["xw", "B"], ["h"], name="add"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Constant", [], ["half"], name="half",
                         value=numpy_helper.from_array(np.array(0.5, np_t))),
        helper.make_node("Mul", ["r", "half"], ["y"], name="scale"),
    ]
    inits = [numpy_helper.from_array(np.array(W, np_t), "W"),
             numpy_helper.from_array(np.array(BIAS, np_t), "B")]
    save(model("mlp", nodes, [vi("x", t, [2, 3])], [vi("y", t, [2, 4])], inits), name)


def relu_model(name, x_type=F, x_shape=(2, 3), y_shape=(2, 3), opset=13, attrs=None,
               domain=None, op="Relu"):
    node = helper.make_node(op, ["x"], ["y"], name="n0", domain=domain, **(attrs or {}))
    y_type = x_type
    save(model(name, [node], [vi("x", x_type, list(x_shape))], [vi("y", y_type, list(y_shape))],
               opset=opset, domains=[domain] if domain else []), name + ".onnx")


def main():
    os.makedirs(OUT, exist_ok=True)
    mlp(F, np.float32, "mlp.onnx")
    mlp(D, np.float64, "mlp_f64.onnx")

    # An open dimension: the batch.
    relu_model("open_dim", x_shape=("N", 3), y_shape=("N", 3))
    # A shape given as a graph input: Reshape's shape must be known at load time.
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")]
    save(model("reshape_input", nodes, [vi("x", F, [2, 3]), vi("shape", I64, [2])],
               [vi("y", F, [3, 2])]), "reshape_input.onnx")

    # ---- models each refused with one error ----
    relu_model("unsupported_op", op="NoSuchOp")
    relu_model("unsupported_domain", domain="com.example")
    relu_model("unread_attr", attrs={"nosuch": 1})
    relu_model("opset5", opset=5)
    relu_model("opset18", opset=18)
    relu_model("uint8_input", x_type=U8, op="Identity")
    relu_model("bad_output_shape", y_shape=(3, 2))
    # Constant's value_float given as an INT attribute.
    bad = helper.make_node("Constant", [], ["c"], name="c")
    bad.attribute.append(helper.make_attribute("value_float", 3))
    save(model("wrong_attr_type", [bad, helper.make_node("Add", ["x", "c"], ["y"], name="add")],
               [vi("x", F, [2])], [vi("y", F, [2])]), "wrong_attr_type.onnx")
    # An INT64 constant outside the int32 range, added to an INT64 input.
    big = helper.make_node("Constant", [], ["c"], name="big",
                           value=numpy_helper.from_array(np.array([2**40, 1], np.int64)))
    save(model("int64_big", [big, helper.make_node("Add", ["x", "c"], ["y"], name="add")],
               [vi("x", I64, [2])], [vi("y", I64, [2])]), "int64_big.onnx")
    # A node reading a value nothing defines.
    save(model("undefined_input", [helper.make_node("Relu", ["nosuch"], ["y"], name="n0")],
               [vi("x", F, [2])], [vi("y", F, [2])]), "undefined_input.onnx")
    # Two nodes defining y.
    save(model("defined_twice", [helper.make_node("Relu", ["x"], ["y"], name="first"),
                                 helper.make_node("Relu", ["x"], ["y"], name="second")],
               [vi("x", F, [2])], [vi("y", F, [2])]), "defined_twice.onnx")
    # An input listed twice.
    save(model("input_twice", [helper.make_node("Relu", ["x"], ["y"], name="n0")],
               [vi("x", F, [2]), vi("x", F, [2])], [vi("y", F, [2])]), "input_twice.onnx")
    # An initializer whose data lives in another file.
    ext = numpy_helper.from_array(np.array([1, 2], np.float32), "w")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "w.bin"), ("offset", "0"), ("length", "8")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    save(model("external_data", [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
               [vi("x", F, [2])], [vi("y", F, [2])], [ext]), "external_data.onnx")

    # The MLP's test data in ONNX's backend test format (nabla onnx-test DIR, with
    # mlp.onnx copied in as model.onnx by tests/cli/cli_onnx.sh): y from numpy.
    x = np.array([[1, 2, 3], [-1, 0.5, 2]], np.float32)
    y = np.maximum(x.astype(np.float64) @ np.array(W) + np.array(BIAS), 0) * 0.5
    d = os.path.join(OUT, "mlp_test", "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    for name, t in (("input_0.pb", numpy_helper.from_array(x, "x")),
                    ("output_0.pb", numpy_helper.from_array(y.astype(np.float32), "y"))):
        with open(os.path.join(d, name), "wb") as f:
            f.write(t.SerializeToString())

    tensors()


def tensor_file(name, t):
    d = os.path.join(OUT, "tensors")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(t.SerializeToString())


def tensors():
    """One tensor per type and storage (raw_data, or the typed field), and damaged ones."""
    vals = {F: [1.5, -2.0, 0.25, 3.0, -0.0, 1e-3], D: [1.5, -2.0, 0.25, 3.0, -0.0, 1e-300],
            I64: [1, -2, 3, 2**40, -(2**53), 0], I32: [1, -2, 3, 2**31 - 1, -(2**31), 0],
            B: [1, 0, 1, 1, 0, 0]}
    names = {F: "float", D: "double", I64: "int64", I32: "int32", B: "bool"}
    for t, v in vals.items():
        tensor_file(names[t] + "_typed.pb", helper.make_tensor("t_" + names[t], t, [2, 3], v))
        tensor_file(names[t] + "_raw.pb",
                    helper.make_tensor("t_" + names[t], t, [2, 3],
                                       np.array(v, onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t]).tobytes(),
                                       raw=True))
    # A scalar (rank 0) and an empty tensor.
    tensor_file("scalar.pb", helper.make_tensor("s", F, [], [7.0]))
    tensor_file("empty.pb", helper.make_tensor("e", F, [0, 3], []))
    # raw_data one byte short; the typed field one value short; a type nabla refuses.
    # (make_tensor checks lengths: the fields are cut after it.)
    short = helper.make_tensor("short", F, [2, 3], np.zeros(6, np.float32).tobytes(), raw=True)
    short.raw_data = short.raw_data[:-1]
    tensor_file("raw_short.pb", short)
    short = helper.make_tensor("short", I64, [2, 3], [1, 2, 3, 4, 5, 6])
    del short.int64_data[-1]
    tensor_file("typed_short.pb", short)
    tensor_file("uint8.pb", helper.make_tensor("u", U8, [2], [1, 2]))


if __name__ == "__main__":
    main()
