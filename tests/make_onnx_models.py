#!/usr/bin/env python3
"""Makes small int8 ONNX models for the ONNX importer's tests (tests/import_onnx.cmake).

    make_onnx_models.py OUT_DIR [--data CIFAR_DIR]

Models (written to OUT_DIR):
- resnet_qdq.onnx: a small residual CNN built with the onnx helper API (conv
  with padding and bias, depthwise conv with stride 2 and auto_pad SAME_UPPER,
  1x1 conv, residual Add, MaxPool, grouped conv with asymmetric pads,
  GlobalAveragePool, Flatten, Gemm), random weights, quantized by
  onnxruntime.quantization.quantize_static in QDQ format: int8 asymmetric
  activations, int8 symmetric per-channel weights, int32 biases; calibrated on
  CIFAR-10 training images (random images without the data set).
- resnet_qop.onnx: the same in QOperator format (QLinearConv, QLinearAdd,
  QLinearGlobalAveragePool, QGemm, int8 MaxPool and Flatten).
- resnet_qcdq.onnx: resnet_qdq with every conv weight as Brevitas writes it:
  QuantizeLinear(float) -> Clip(int8 [-64, 63]) -> DequantizeLinear (7-bit weights).
- lenet5_qdq.onnx: the course LeNet-5 (../shared/models/cs5120-2021-lenet5) as a
  PyTorch QDQ export (torch.onnx, opset 13; fake-quant modules; Debian's
  python3-torch for /usr/bin/python3), when torch and the model are there.
- Refusals: unsupported.onnx (a Tanh node between a DequantizeLinear and a
  QuantizeLinear, named 'the_tanh'), float.onnx (the float model), truncated.onnx
  (resnet_qdq cut in half), empty.onnx, notonnx.onnx (text), batchnorm.onnx.

Exit 77 when onnx / onnxruntime are missing.
"""
import argparse
import atexit
import logging
import os
import shutil
import subprocess
import sys
import tempfile

# onnxruntime's library leaves a file (.ses) in $TMPDIR: give it a scratch one.
_scratch = tempfile.mkdtemp(prefix="make-onnx-models-")
atexit.register(shutil.rmtree, _scratch, True)
os.environ["TMPDIR"] = _scratch
try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
except ImportError as _e:
    print("SKIP: %s (run tools/setup-python-tools.sh and use its python)" % _e)
    sys.exit(77)

logging.getLogger().setLevel(logging.ERROR)   # quantize_static's advice
HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13


def he(rng, *shape):
    fan_in = int(np.prod(shape[1:]))
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def float_resnet(seed=5):
    """The float residual CNN; input: pixels / 255 as float [1, 3, 32, 32]."""
    rng = np.random.default_rng(seed)
    inits = []

    def init(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    N = []
    N.append(helper.make_node("Conv", ["x", init("w1", he(rng, 8, 3, 3, 3)), init("b1", (rng.standard_normal(8) * 0.1).astype(np.float32))],
                              ["c1"], name="conv1", pads=[1, 1, 1, 1]))
    N.append(helper.make_node("Relu", ["c1"], ["r1"], name="relu1"))
    N.append(helper.make_node("Conv", ["r1", init("w2", he(rng, 8, 1, 3, 3)), init("b2", (rng.standard_normal(8) * 0.1).astype(np.float32))],
                              ["c2"], name="dw2", group=8, strides=[2, 2], auto_pad="SAME_UPPER"))
    N.append(helper.make_node("Conv", ["c2", init("w3", he(rng, 8, 8, 1, 1)), init("b3", (rng.standard_normal(8) * 0.1).astype(np.float32))],
                              ["c3"], name="pw3"))
    N.append(helper.make_node("Relu", ["c3"], ["r3"], name="relu3"))
    N.append(helper.make_node("Add", ["c2", "r3"], ["a1"], name="residual"))
    N.append(helper.make_node("MaxPool", ["a1"], ["m1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    N.append(helper.make_node("Conv", ["m1", init("w4", he(rng, 16, 4, 3, 3)), init("b4", (rng.standard_normal(16) * 0.1).astype(np.float32))],
                              ["c4"], name="gconv4", group=2, pads=[0, 0, 1, 1]))
    N.append(helper.make_node("Relu", ["c4"], ["r4"], name="relu4"))
    N.append(helper.make_node("GlobalAveragePool", ["r4"], ["g"], name="gap"))
    N.append(helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1))
    N.append(helper.make_node("Gemm", ["f", init("wf", he(rng, 10, 16)), init("bf", (rng.standard_normal(10) * 0.1).astype(np.float32))],
                              ["logits"], name="fc", transB=1))
    g = helper.make_graph(N, "resnet_small",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def calibration_images(data_dir, count=64, seed=1):
    path = os.path.join(data_dir, "data_batch_1.bin") if data_dir else ""
    if path and os.path.exists(path):
        raw = np.fromfile(path, dtype=np.uint8, count=3073 * count).reshape(-1, 3073)
        return raw[:, 1:].reshape(-1, 1, 3, 32, 32).astype(np.float32) / np.float32(255)
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 1, 3, 32, 32)).astype(np.float32) / np.float32(255)


class Reader(CalibrationDataReader):
    def __init__(self, images):
        self.it = iter([{"x": im} for im in images])

    def get_next(self):
        return next(self.it, None)


def quantize(float_path, out_path, images, fmt, act=QuantType.QUInt8):
    quantize_static(float_path, out_path, Reader(images), quant_format=fmt, per_channel=True,
                    activation_type=act, weight_type=QuantType.QInt8,
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})


def to_qcdq(m, lo=-64, hi=63):
    """Rewrites every conv weight DequantizeLinear(int8 W) as Brevitas's QCDQ:
    DequantizeLinear(Clip(QuantizeLinear(W_float)))."""
    inits = {t.name: t for t in m.graph.initializer}
    conv_w = {n.input[1] for n in m.graph.node if n.op_type == "Conv"}
    new_nodes = []
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] in conv_w and n.input[0] in inits:
            q = numpy_helper.to_array(inits[n.input[0]])
            s = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            shp = [1] * q.ndim
            shp[axis] = -1
            wf = (q.astype(np.float32) * s.reshape(shp)).astype(np.float32)
            base = n.input[0]
            m.graph.initializer.append(numpy_helper.from_array(wf, base + "_float"))
            m.graph.initializer.append(numpy_helper.from_array(np.array(lo, np.int8), base + "_lo"))
            m.graph.initializer.append(numpy_helper.from_array(np.array(hi, np.int8), base + "_hi"))
            new_nodes.append(helper.make_node("QuantizeLinear", [base + "_float", n.input[1], n.input[2]],
                                              [base + "_q"], name=base + "_quant", axis=axis))
            new_nodes.append(helper.make_node("Clip", [base + "_q", base + "_lo", base + "_hi"],
                                              [base + "_clip"], name=base + "_clip"))
            n.input[0] = base + "_clip"
        new_nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(new_nodes)
    used = {i for n in m.graph.node for i in n.input}
    keep = [t for t in m.graph.initializer if t.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    onnx.checker.check_model(m)
    return m


def with_unsupported(m):
    """Inserts DequantizeLinear -> Tanh ('the_tanh') -> QuantizeLinear after the first
    QuantizeLinear of an activation."""
    nodes = list(m.graph.node)
    for i, n in enumerate(nodes):
        if n.op_type == "QuantizeLinear" and n.input[0] == "x":
            q = n.output[0]
            new = [helper.make_node("DequantizeLinear", [q, n.input[1], n.input[2]], ["t_dq"], name="t_dq"),
                   helper.make_node("Tanh", ["t_dq"], ["t_f"], name="the_tanh"),
                   helper.make_node("QuantizeLinear", ["t_f", n.input[1], n.input[2]], ["t_q"], name="t_q")]
            for later in nodes[i + 1:]:
                for k, name in enumerate(later.input):
                    if name == q:
                        later.input[k] = "t_q"
            del m.graph.node[:]
            m.graph.node.extend(nodes[:i + 1] + new + nodes[i + 1:])
            return m
    raise RuntimeError("no input QuantizeLinear")


def with_batchnorm(m):
    """Replaces the first Relu of the float model by a BatchNormalization."""
    for n in m.graph.node:
        if n.op_type == "Relu":
            c = 8
            names = []
            for k, v in (("s", 1.5), ("b", 0.1), ("m", 0.2), ("v", 2.0)):
                names.append("bn_" + k)
                m.graph.initializer.append(numpy_helper.from_array(np.full(c, v, np.float32), names[-1]))
            n.op_type = "BatchNormalization"
            n.name = "bn1"
            n.input.extend(names)
            return m
    raise RuntimeError("no Relu")


def const_values(m):
    vals = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            vals[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return vals


def int32_gemm_bias(m):
    """Rewrites a Gemm's float bias C as DequantizeLinear(int32 round(C / (s_x * s_w)))
    with scale s_x * s_w, as onnxruntime.quantization writes biases (the PyTorch export
    keeps the float bias)."""
    vals = const_values(m)
    prod = {o: n for n in m.graph.node for o in n.output}
    for g in [n for n in m.graph.node if n.op_type == "Gemm" and len(n.input) > 2]:
        sx = np.float32(vals[prod[g.input[0]].input[1]].reshape(-1)[0])
        wdq = prod[g.input[1]]
        sw = np.float32(vals[wdq.input[1]].reshape(-1)[0])
        sb = np.float32(sx * sw)
        b = vals[g.input[2]].astype(np.float64)
        q = np.rint(b / float(sb)).astype(np.int32)
        base = g.name.strip("/").replace("/", "_") + "_bias"
        m.graph.initializer.extend([numpy_helper.from_array(q, base + "_int32"),
                                    numpy_helper.from_array(np.array(sb, np.float32), base + "_scale"),
                                    numpy_helper.from_array(np.array(0, np.int32), base + "_zp")])
        dq = helper.make_node("DequantizeLinear", [base + "_int32", base + "_scale", base + "_zp"],
                              [base + "_dq"], name=base + "_dq")
        g.input[2] = base + "_dq"
        nodes = list(m.graph.node)
        i = nodes.index(g)
        del m.graph.node[:]
        m.graph.node.extend(nodes[:i] + [dq] + nodes[i:])
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--data", default=os.environ.get("ACCSIM_DATA") or
                    os.path.join(HERE, "..", "..", "shared", "cifar10"))
    ap.add_argument("--lenet", default=os.path.join(HERE, "..", "..", "shared", "models",
                                                    "cs5120-2021-lenet5"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    fm = float_resnet()
    onnx.save(fm, out("float.onnx"))
    images = calibration_images(args.data)
    quantize(out("float.onnx"), out("resnet_qdq.onnx"), images, QuantFormat.QDQ)
    quantize(out("float.onnx"), out("resnet_qdq_s8.onnx"), images, QuantFormat.QDQ, QuantType.QInt8)
    quantize(out("float.onnx"), out("resnet_qop.onnx"), images, QuantFormat.QOperator)
    quantize(out("float.onnx"), out("resnet_qop_s8.onnx"), images, QuantFormat.QOperator,
             QuantType.QInt8)
    onnx.save(to_qcdq(onnx.load(out("resnet_qdq.onnx"))), out("resnet_qcdq.onnx"))
    onnx.save(with_unsupported(onnx.load(out("resnet_qdq.onnx"))), out("unsupported.onnx"))
    bn = with_batchnorm(float_resnet())
    onnx.save(bn, out("float_bn.onnx"))
    quantize(out("float_bn.onnx"), out("batchnorm.onnx"), images, QuantFormat.QDQ)
    data = open(out("resnet_qdq.onnx"), "rb").read()
    open(out("truncated.onnx"), "wb").write(data[:len(data) // 2])
    open(out("empty.onnx"), "wb").close()
    with open(out("notonnx.onnx"), "w") as f:
        f.write("this is not an ONNX model\n")
    # The PyTorch export needs Debian's torch (system python), not this environment.
    script = os.path.join(HERE, "make_onnx_lenet5.py")
    rc = subprocess.call(["/usr/bin/python3", script, args.lenet, out("lenet5_qdq.onnx")])
    if rc == 0:
        onnx.save(int32_gemm_bias(onnx.load(out("lenet5_qdq.onnx"))), out("lenet5_qdq.onnx"))
    elif rc == 77:
        print("make_onnx_models: lenet5_qdq.onnx not made (torch or the course model missing)")
    elif rc != 0:
        print("make_onnx_models: the LeNet-5 export failed (exit %d)" % rc, file=sys.stderr)
        return 1
    print("make_onnx_models: models in %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
