#!/usr/bin/env python3
"""Unit checks of tools/import_onnx.py on small hand-made graphs (onnx helper API):
the requantization it records (onnxruntime's float32 arithmetic), padding,
uint8 tensors, QCDQ weights, and the refusals (each names the node).
Prints 'N passed, N failed' and exits 1 on any failure; 77 without onnx."""
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print("SKIP: %s" % e)
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import import_onnx as io  # noqa: E402
import netdesc_ref as nr  # noqa: E402

passed = failed = 0
F32 = np.float32


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print("FAIL %s: got %r, want %r" % (name, got, want))


def model(nodes, inits, out="y"):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def conv_graph(act=np.int8, extra=None, conv_kw=None, w=None, wname="wq"):
    """x -Q-> DQ -> Conv(DQ(w), DQ(b)) -> Q -> DQ -> y."""
    zp = act(0 if act == np.uint8 else -3)
    inits = {"s_in": np.array(0.02, F32), "z_in": np.array(zp, act),
             "wq": w if w is not None else np.arange(-40, 41, 3, dtype=np.int8)[:27].reshape(1, 3, 3, 3),
             "sw": np.array(0.01, F32), "zw": np.array(0, np.int8),
             "bq": np.array([123], np.int32), "sb": np.array(F32(0.02) * F32(0.01), F32),
             "zb": np.array(0, np.int32), "s_out": np.array(0.07, F32), "z_out": np.array(act(5), act)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"], name="qin"),
             helper.make_node("DequantizeLinear", ["xq", "s_in", "z_in"], ["xf"], name="dqin"),
             helper.make_node("DequantizeLinear", [wname, "sw", "zw"], ["wf"], name="dqw"),
             helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bf"], name="dqb"),
             helper.make_node("Conv", ["xf", "wf", "bf"], ["c"], name="myconv", **(conv_kw or {})),
             helper.make_node("QuantizeLinear", ["c", "s_out", "z_out"], ["cq"], name="qout"),
             helper.make_node("DequantizeLinear", ["cq", "s_out", "z_out"], ["y"], name="dqout")]
    for n in extra or []:
        nodes.insert(-2, n)
    return nodes, inits


def run(m, precision="float32"):
    return io.Importer(m, "t", None, None, precision).run_and_files()


def refuses(name, m, pattern):
    try:
        run(m)
    except io.ImportError_ as e:
        check(name, pattern in str(e), True)
        if pattern not in str(e):
            print("   message: %s" % e)
        return
    check(name + " (not refused)", False, True)


# Conv: scale = (float)(s_in * s_w) / s_out in float32, stored exactly as a double.
nodes, inits = conv_graph(conv_kw={"pads": [1, 1, 1, 1]})
man, files = run(model(nodes, inits))
op = man["ops"][0]
want = float(F32(F32(0.02) * F32(0.01)) / F32(0.07))
check("conv float32 scale", op["requantize"], {"kind": "float", "scale": want, "precision": "float32"})
check("conv padding", op["padding"], [1, 1, 1, 1])
check("conv zero points", (man["input"]["zero_point"], op["output_zero_point"]), (-3, 5))
check("conv bias", files[op["bias"]].tolist(), [123])
check("conv name", op["name"], "myconv")
man64, _ = run(model(nodes, inits), "float64")
check("conv float64 scale", man64["ops"][0]["requantize"],
      {"kind": "float", "scale": float(F32(0.02)) * float(F32(0.01)) / float(F32(0.07))})
check("input affine", man["input"]["quantize"]["kind"], "affine")

# The arithmetic itself: netdesc_ref's float32 product, rounded half to even.
acc = np.array([0, 1, 349, 350, -350, 10 ** 7 + 1], dtype=np.int64)
sc = F32(0.5)
r = np.rint(acc.astype(F32) * sc)
check("float32 requant ties to even", r.tolist(), [0.0, 0.0, 174.0, 175.0, -175.0, 5000000.0])

# auto_pad SAME_LOWER: the extra pad at the start, written explicitly.
nodes, inits = conv_graph(conv_kw={"auto_pad": "SAME_LOWER", "strides": [2, 2]},
                          w=np.ones((1, 3, 2, 2), np.int8))
man, _ = run(model(nodes, inits))
check("SAME_LOWER pads", (man["ops"][0]["padding"], man["ops"][0]["output_shape"]), ([0, 0, 0, 0], [1, 16, 16]))
nodes, inits = conv_graph(conv_kw={"auto_pad": "SAME_UPPER"})
man, _ = run(model(nodes, inits))
check("SAME_UPPER", man["ops"][0]["padding"], "same")

# uint8 activations: zero points 128 lower; input offset kind with scale 1.
nodes, inits = conv_graph(act=np.uint8)
inits["s_in"] = np.array(1.0, F32)
inits["sb"] = np.array(0.01, F32)
man, _ = run(model(nodes, inits))
check("uint8 input", man["input"]["quantize"], {"kind": "offset", "offset": -128})
check("uint8 output zero point", man["ops"][0]["output_zero_point"], 5 - 128)

# Relu then Clip(0, 6) before the QuantizeLinear: clamp [Q(0), Q(6)].
extra = [helper.make_node("Relu", ["c0"], ["c1"], name="r"),
         helper.make_node("Clip", ["c1", "lo", "hi"], ["c"], name="cl")]
nodes, inits = conv_graph(extra=extra)
nodes[4].output[0] = "c0"
inits.update({"lo": np.array(0.0, F32), "hi": np.array(6.0, F32)})
man, _ = run(model(nodes, inits))
check("relu6 clamp", man["ops"][0]["clamp"], [5, 5 + int(np.rint(F32(6.0) / F32(0.07)))])

# QCDQ weights: Q(float W) -> Clip(int8) -> DQ narrows the weights.
w = np.arange(-40, 41, 3, dtype=np.int8)[:27].reshape(1, 3, 3, 3)
nodes, inits = conv_graph(wname="wclip")
inits.pop("wq")
inits.update({"wfl": (w.astype(F32) * F32(0.01)), "clo": np.array(-8, np.int8), "chi": np.array(7, np.int8)})
nodes[2:2] = [helper.make_node("QuantizeLinear", ["wfl", "sw", "zw"], ["wq2"], name="qw"),
              helper.make_node("Clip", ["wq2", "clo", "chi"], ["wclip"], name="clipw")]
man, files = run(model(nodes, inits))
check("QCDQ weights", files[man["ops"][0]["weights"]].reshape(-1).tolist(),
      np.clip(w, -8, 7).reshape(-1).tolist())

# MatMul [N_in, C_out] weights (transposed into the description's [C_out, N_in]),
# per-channel scales along axis 1, then an Add of an int32 bias, then Relu.
def matmul_graph():
    wq = np.array([[1, -2, 3], [4, 5, -6]], np.int8)          # [N_in = 2, C_out = 3]
    inits = {"s_in": np.array(0.5, F32), "z_in": np.array(1, np.int8),
             "shape": np.array([1, -1], np.int64), "wq": wq,
             "sw": np.array([0.25, 0.5, 0.125], F32), "zw": np.zeros(3, np.int8),
             "bq": np.array([7, -8, 9], np.int32),
             "sb": (F32(0.5) * np.array([0.25, 0.5, 0.125], F32)).astype(F32),
             "zb": np.zeros(3, np.int32), "s_out": np.array(0.3, F32), "z_out": np.array(-4, np.int8)}
    g = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"], name="qin"),
         helper.make_node("DequantizeLinear", ["xq", "s_in", "z_in"], ["xf"], name="dqin"),
         helper.make_node("Reshape", ["xf", "shape"], ["flat"], name="flat"),
         helper.make_node("DequantizeLinear", ["wq", "sw", "zw"], ["wf"], name="dqw", axis=1),
         helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bf"], name="dqb", axis=0),
         helper.make_node("MatMul", ["flat", "wf"], ["mm"], name="mm"),
         helper.make_node("Add", ["mm", "bf"], ["mmb"], name="bias_add"),
         helper.make_node("Relu", ["mmb"], ["r"], name="relu"),
         helper.make_node("QuantizeLinear", ["r", "s_out", "z_out"], ["yq"], name="qout"),
         helper.make_node("DequantizeLinear", ["yq", "s_out", "z_out"], ["y"], name="dqout")],
        "mm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


# The graph input must be an image [N, 3, 32, 32]: refused here, which checks the
# message; the MatMul path itself is checked with an image input below.
refuses("input shape", matmul_graph(), "want [N, 3, 32, 32]")
mm = matmul_graph()
mm.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32]))
mm.graph.initializer.append(numpy_helper.from_array(
    np.tile(np.array([[1, -2, 3], [4, 5, -6]], np.int8), (1536, 1)), "wbig"))
for n in mm.graph.node:
    if n.name == "dqw":
        n.input[0] = "wbig"
man, files = run(mm)
op = man["ops"][-1]
check("matmul op", (op["op"], op["output_shape"]), ("fully_connected", [3]))
check("matmul weights transposed", files[op["weights"]].shape, (3, 3072))
check("matmul bias", files[op["bias"]].tolist(), [7, -8, 9])
check("matmul relu clamp", op["clamp"], [-4, 127])
check("matmul per-channel scales", files[op["requantize"]["scale"]].tolist(),
      [float(F32(F32(0.5) * F32(v)) / F32(0.3)) for v in (0.25, 0.5, 0.125)])

# Refusals name the node.
nodes, inits = conv_graph()
inits["zw"] = np.array(3, np.int8)
refuses("asymmetric weights", model(nodes, inits), "node 'myconv' (Conv): weights have a non-zero zero point")
nodes, inits = conv_graph(conv_kw={"dilations": [2, 2]})
refuses("dilation", model(nodes, inits), "node 'myconv' (Conv): dilations")
nodes, inits = conv_graph()
inits["sb"] = np.array(0.5, F32)
refuses("bias scale", model(nodes, inits), "bias scale is not input scale x weight scale")
nodes, inits = conv_graph()
nodes.insert(5, helper.make_node("Sigmoid", ["c"], ["c2"], name="sig"))
nodes[6].input[0] = "c2"
refuses("float op between conv and Q", model(nodes, inits), "its float output goes to node 'sig' (Sigmoid)")
nodes, inits = conv_graph()
m = model(nodes[:5], inits, out="c")
refuses("unquantized output", m, "is a graph output")
nodes, inits = conv_graph()
inits["wq"] = inits["wq"].astype(np.float32)
nodes[2] = helper.make_node("Identity", ["wq"], ["wf"], name="idw")
refuses("float weights", model(nodes, inits), "node 'idw' (Identity)")

# netdesc_ref's float32 add (fmaf twice, correctly rounded) on a hand-checked case:
# 3 * 0.5 + 0.25 = 1.75, then 2 * 1.0 + 1.75 = 3.75 -> 4.
check("fma32", float(nr.fma32(np.array([2.0]), F32(1.0), nr.fma32(np.array([3.0]), F32(0.5), F32(0.25)))[0]), 3.75)
# A float32 tie decided by a part of the exact sum that a double sum loses:
# 16777217 (= 2^24 + 1, halfway between the floats 2^24 and 2^24 + 2) + 2^-40
# rounds up; - 2^-40 rounds down; exactly 16777217 rounds to even (2^24).
for c, want in ((2.0 ** -40, 2 ** 24 + 2), (-(2.0 ** -40), 2 ** 24), (0.0, 2 ** 24)):
    x = nr.fma32(np.array([2.0 ** 24 + 1]), F32(1.0), F32(c))[0]
    check("fma32 exact rounding %g" % c, float(x), float(want))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
