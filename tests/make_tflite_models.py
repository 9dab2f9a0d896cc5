#!/usr/bin/env python3
"""Writes small int8 TFLite models for the importer's tests, built with the
`tflite` schema package's flatbuffer builders (no TensorFlow needed).

    make_tflite_models.py OUT_DIR

Writes into OUT_DIR:
  mixed.tflite      32x32x3 int8 input (scale 1, zero point -128): CONV_2D (stride 2,
                    SAME, RELU6), DEPTHWISE_CONV_2D (multiplier 2, VALID, RELU),
                    CONV_2D 1x1 with per-tensor weights, CONV_2D 3x3, ADD (RELU),
                    MAX_POOL_2D, AVERAGE_POOL_2D (3x3 stride 2 SAME: edge windows
                    with fewer taps), RESHAPE, FULLY_CONNECTED per channel
                    (RELU_N1_TO_1), FULLY_CONNECTED per tensor, SOFTMAX.
  affine.tflite     input scale 2/255 (the affine input form), CONV_2D, FULLY_CONNECTED.
  ties.tflite       AVERAGE_POOL_2D, RESHAPE and two FULLY_CONNECTED layers (per channel,
                    per tensor) whose requantization scales are powers of two, so that
                    1 in 2^k accumulators is an exact tie (TFLite rounds those away
                    from zero; the import records "rounding": "half_away").
  unsupported.tflite  an int8 TANH, which the importer must reject by name.
  float.tflite      a float32 CONV_2D model, which the importer must reject.
  notflatbuffer.tflite  text.
  truncated.tflite  mixed.tflite cut in the middle of its weights.
  empty.tflite      no bytes.
Weights are random (fixed seed); output scales follow a rough magnitude
estimate so that activations spread over the int8 range.
"""
import os
import sys

import numpy as np
import flatbuffers
import importlib

import tflite  # noqa: F401  (the package; its modules are fetched below)
from tflite.ActivationFunctionType import ActivationFunctionType as AFT
from tflite.BuiltinOperator import BuiltinOperator as BO
from tflite.BuiltinOptions import BuiltinOptions as BOpt
from tflite.Padding import Padding
from tflite.TensorType import TensorType as TT


def _module(name):
    # tflite/__init__.py star-imports every module, so the attribute tflite.X is
    # the class X; the module itself is in sys.modules.
    return importlib.import_module("tflite." + name)


AddOptions = _module("AddOptions")
Buffer = _module("Buffer")
Conv2DOptions = _module("Conv2DOptions")
DepthwiseConv2DOptions = _module("DepthwiseConv2DOptions")
FullyConnectedOptions = _module("FullyConnectedOptions")
Model = _module("Model")
Operator = _module("Operator")
OperatorCode = _module("OperatorCode")
Pool2DOptions = _module("Pool2DOptions")
QP = _module("QuantizationParameters")
ReshapeOptions = _module("ReshapeOptions")
SoftmaxOptions = _module("SoftmaxOptions")
SubGraph = _module("SubGraph")
Tensor = _module("Tensor")


class Graph:
    """Collects tensors, buffers and operators, then serializes a model."""

    def __init__(self):
        self.buffers = [b""]          # buffer 0: empty, by convention
        self.tensors = []
        self.ops = []
        self.opcodes = []
        self.inputs = []
        self.outputs = []

    def tensor(self, name, shape, ttype, scale=None, zero_point=None, data=None, qdim=0):
        buf = 0
        if data is not None:
            self.buffers.append(np.ascontiguousarray(data).tobytes())
            buf = len(self.buffers) - 1
        else:
            self.buffers.append(b"")
            buf = len(self.buffers) - 1
        q = None
        if scale is not None:
            q = (np.atleast_1d(np.asarray(scale, dtype=np.float32)),
                 np.atleast_1d(np.asarray(zero_point, dtype=np.int64)), qdim)
        self.tensors.append((name, list(shape), ttype, buf, q))
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, opt_type=0, opt_fn=None):
        if code not in self.opcodes:
            self.opcodes.append(code)
        self.ops.append((self.opcodes.index(code), inputs, outputs, opt_type, opt_fn))

    def serialize(self):
        b = flatbuffers.Builder(1 << 16)

        def ivec(vals, start):
            start(b, len(vals))
            for v in reversed(vals):
                b.PrependInt32(int(v))
            return b.EndVector()

        def ovec(offs, start):
            start(b, len(offs))
            for o in reversed(offs):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        buf_offs = []
        for data in self.buffers:
            dvec = None
            if data:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                b.vectorNumElems = len(data)
                dvec = b.EndVector()
            Buffer.Start(b)
            if dvec is not None:
                Buffer.AddData(b, dvec)
            buf_offs.append(Buffer.End(b))

        t_offs = []
        for name, shape, ttype, buf, q in self.tensors:
            n = b.CreateString(name)
            sh = ivec(shape, Tensor.StartShapeVector)
            qo = None
            if q is not None:
                sc = b.CreateNumpyVector(q[0].astype("<f4"))
                zp = b.CreateNumpyVector(q[1].astype("<i8"))
                QP.Start(b)
                QP.AddScale(b, sc)
                QP.AddZeroPoint(b, zp)
                QP.AddQuantizedDimension(b, q[2])
                qo = QP.End(b)
            Tensor.Start(b)
            Tensor.AddShape(b, sh)
            Tensor.AddType(b, ttype)
            Tensor.AddBuffer(b, buf)
            Tensor.AddName(b, n)
            if qo is not None:
                Tensor.AddQuantization(b, qo)
            t_offs.append(Tensor.End(b))

        op_offs = []
        for opcode, ins, outs, opt_type, opt_fn in self.ops:
            iv = ivec(ins, Operator.StartInputsVector)
            ov = ivec(outs, Operator.StartOutputsVector)
            oo = opt_fn(b) if opt_fn else None
            Operator.Start(b)
            Operator.AddOpcodeIndex(b, opcode)
            Operator.AddInputs(b, iv)
            Operator.AddOutputs(b, ov)
            if oo is not None:
                Operator.AddBuiltinOptionsType(b, opt_type)
                Operator.AddBuiltinOptions(b, oo)
            op_offs.append(Operator.End(b))

        oc_offs = []
        for code in self.opcodes:
            OperatorCode.Start(b)
            OperatorCode.AddDeprecatedBuiltinCode(b, min(code, 127))
            OperatorCode.AddBuiltinCode(b, code)
            OperatorCode.AddVersion(b, 1)
            oc_offs.append(OperatorCode.End(b))

        tv = ovec(t_offs, SubGraph.StartTensorsVector)
        inv = ivec(self.inputs, SubGraph.StartInputsVector)
        outv = ivec(self.outputs, SubGraph.StartOutputsVector)
        opv = ovec(op_offs, SubGraph.StartOperatorsVector)
        gname = b.CreateString("main")
        SubGraph.Start(b)
        SubGraph.AddTensors(b, tv)
        SubGraph.AddInputs(b, inv)
        SubGraph.AddOutputs(b, outv)
        SubGraph.AddOperators(b, opv)
        SubGraph.AddName(b, gname)
        sg = SubGraph.End(b)

        sgv = ovec([sg], Model.StartSubgraphsVector)
        ocv = ovec(oc_offs, Model.StartOperatorCodesVector)
        bv = ovec(buf_offs, Model.StartBuffersVector)
        desc = b.CreateString("accsim importer test model")
        Model.Start(b)
        Model.AddVersion(b, 3)
        Model.AddOperatorCodes(b, ocv)
        Model.AddSubgraphs(b, sgv)
        Model.AddDescription(b, desc)
        Model.AddBuffers(b, bv)
        m = Model.End(b)
        b.Finish(m, file_identifier=b"TFL3")
        return bytes(b.Output())


def conv_opts(padding, stride, act, depth_multiplier=None):
    def fn(b):
        mod = DepthwiseConv2DOptions if depth_multiplier else Conv2DOptions
        mod.Start(b)
        mod.AddPadding(b, padding)
        mod.AddStrideW(b, stride)
        mod.AddStrideH(b, stride)
        if depth_multiplier:
            mod.AddDepthMultiplier(b, depth_multiplier)
        mod.AddFusedActivationFunction(b, act)
        mod.AddDilationWFactor(b, 1)
        mod.AddDilationHFactor(b, 1)
        return mod.End(b)
    return fn


def pool_opts(padding, stride, k, act=AFT.NONE):
    def fn(b):
        Pool2DOptions.Start(b)
        Pool2DOptions.AddPadding(b, padding)
        Pool2DOptions.AddStrideW(b, stride)
        Pool2DOptions.AddStrideH(b, stride)
        Pool2DOptions.AddFilterWidth(b, k)
        Pool2DOptions.AddFilterHeight(b, k)
        Pool2DOptions.AddFusedActivationFunction(b, act)
        return Pool2DOptions.End(b)
    return fn


def act_opts(mod, act):
    def fn(b):
        mod.Start(b)
        mod.AddFusedActivationFunction(b, act)
        return mod.End(b)
    return fn


class Maker:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.g = Graph()
        self.k = 0

    def name(self, base):
        self.k += 1
        return "model/%s_%d/op" % (base, self.k)

    def act(self, shape, scale, zp, base="act"):
        return self.g.tensor(self.name(base), [1] + list(shape), TT.INT8, scale, zp)

    def weights(self, shape, cout, qdim, per_channel, base, wscale=0.01):
        w = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        if per_channel:
            ws = (self.rng.uniform(0.5, 1.5, cout) * wscale).astype(np.float32)
        else:
            ws = np.array([wscale], dtype=np.float32)
        t = self.g.tensor(self.name(base), shape, TT.INT8, ws, np.zeros(ws.size, np.int64), w, qdim)
        return t, ws

    def bias(self, in_s, ws, cout, base):
        bs = (np.float32(in_s) * ws).astype(np.float32)   # one scale when weights have one
        b = self.rng.integers(-20000, 20000, size=cout).astype(np.int32)
        return self.g.tensor(self.name(base), [cout], TT.INT32, bs, np.zeros(bs.size, np.int64), b)

    @staticmethod
    def out_scale(in_s, ws, k):
        # acc ~ sqrt(k) * 40 * 73 in quantized units; aim at ~25 output steps.
        return float(np.float32(73.0 * np.sqrt(k) * in_s * float(np.median(ws)) * 40 / 25))

    def conv(self, x, in_s, in_shape, cout, k, stride, padding, act, out_zp, per_channel=True,
             depthwise=False, out_scale=None, wscale=0.01):
        H, W, C = in_shape
        if depthwise:
            mult = cout // C
            w, ws = self.weights([1, k, k, cout], cout, 3, per_channel, "depthwise", wscale)
            kk = k * k
        else:
            w, ws = self.weights([cout, k, k, C], cout, 0, per_channel, "conv2d", wscale)
            kk = k * k * C
        bias = self.bias(in_s, ws, cout, "bias")
        if padding == Padding.SAME:
            oh, ow = -(-H // stride), -(-W // stride)
        else:
            oh, ow = (H - k) // stride + 1, (W - k) // stride + 1
        s = out_scale or self.out_scale(in_s, ws, kk)
        y = self.act([oh, ow, cout], s, out_zp)
        if depthwise:
            self.g.op(BO.DEPTHWISE_CONV_2D, [x, w, bias], [y], BOpt.DepthwiseConv2DOptions,
                      conv_opts(padding, stride, act, mult))
        else:
            self.g.op(BO.CONV_2D, [x, w, bias], [y], BOpt.Conv2DOptions,
                      conv_opts(padding, stride, act))
        return y, s, [oh, ow, cout]

    def fc(self, x, in_s, n_in, cout, act, out_zp, per_channel, out_scale=None, wscale=0.01):
        w, ws = self.weights([cout, n_in], cout, 0, per_channel, "dense", wscale)
        bias = self.bias(in_s, ws, cout, "bias")
        s = out_scale or self.out_scale(in_s, ws, n_in)
        y = self.act([cout], s, out_zp)
        self.g.op(BO.FULLY_CONNECTED, [x, w, bias], [y], BOpt.FullyConnectedOptions,
                  act_opts(FullyConnectedOptions, act))
        return y, s


def make_mixed():
    m = Maker(1)
    g = m.g
    x = g.tensor("input", [1, 32, 32, 3], TT.INT8, 1.0, -128)
    g.inputs = [x]
    # RELU6 with a scale that makes 6.0 land inside the int8 range.
    # Real values of a few units, so that RELU6 (6.0 is step 120) clamps some.
    t1, s1, sh1 = m.conv(x, 1.0, [32, 32, 3], 8, 3, 2, Padding.SAME, AFT.RELU6, -128,
                         out_scale=0.05, wscale=2.5e-4)
    t2, s2, sh2 = m.conv(t1, s1, sh1, 16, 3, 1, Padding.VALID, AFT.RELU, -128, depthwise=True)
    t3, s3, sh3 = m.conv(t2, s2, sh2, 16, 1, 1, Padding.VALID, AFT.NONE, 5, per_channel=False)
    t4, s4, sh4 = m.conv(t2, s2, sh2, 16, 3, 1, Padding.SAME, AFT.NONE, -7)
    s5 = float(np.float32(max(s3, s4) * 1.2))
    t5 = m.act(sh4, s5, -128)
    g.op(BO.ADD, [t3, t4], [t5], BOpt.AddOptions, act_opts(AddOptions, AFT.RELU))
    t6 = m.act([7, 7, 16], s5, -128)
    g.op(BO.MAX_POOL_2D, [t5], [t6], BOpt.Pool2DOptions, pool_opts(Padding.VALID, 2, 2))
    t7 = m.act([4, 4, 16], s5, -128)
    g.op(BO.AVERAGE_POOL_2D, [t6], [t7], BOpt.Pool2DOptions, pool_opts(Padding.SAME, 2, 3))
    shape_t = g.tensor("model/flatten/Const", [2], TT.INT32, data=np.array([-1, 256], np.int32))
    t8 = m.act([256], s5, -128)

    def reshape_opts(b):
        ReshapeOptions.StartNewShapeVector(b, 2)
        b.PrependInt32(256)
        b.PrependInt32(-1)
        v = b.EndVector()
        ReshapeOptions.Start(b)
        ReshapeOptions.AddNewShape(b, v)
        return ReshapeOptions.End(b)
    g.op(BO.RESHAPE, [t7, shape_t], [t8], BOpt.ReshapeOptions, reshape_opts)
    # Real values around +-1 for RELU_N1_TO_1 (the clamp is [-64, 64]).
    t9, s9 = m.fc(t8, s5, 256, 32, AFT.RELU_N1_TO_1, 0, True, out_scale=1.0 / 64,
                  wscale=float(0.8 / (16 * 40 * 73 * s5)))
    t10, s10 = m.fc(t9, s9, 32, 10, AFT.NONE, 3, False)
    t11 = g.tensor("Identity_int8", [1, 10], TT.INT8, 1.0 / 256, -128)

    def softmax_opts(b):
        SoftmaxOptions.Start(b)
        SoftmaxOptions.AddBeta(b, 1.0)
        return SoftmaxOptions.End(b)
    g.op(BO.SOFTMAX, [t10], [t11], BOpt.SoftmaxOptions, softmax_opts)
    g.outputs = [t11]
    return g.serialize()


def make_affine():
    m = Maker(2)
    g = m.g
    in_s = float(np.float32(2.0 / 255.0))
    x = g.tensor("input", [1, 32, 32, 3], TT.INT8, in_s, -128)
    g.inputs = [x]
    t1, s1, sh1 = m.conv(x, in_s, [32, 32, 3], 4, 5, 4, Padding.VALID, AFT.RELU, -128)
    shape_t = g.tensor("shape", [2], TT.INT32, data=np.array([1, 7 * 7 * 4], np.int32))
    t2 = m.act([7 * 7 * 4], s1, -128)
    g.op(BO.RESHAPE, [t1, shape_t], [t2])
    t3, _ = m.fc(t2, s1, 7 * 7 * 4, 10, AFT.NONE, 0, False)
    g.outputs = [t3]
    return g.serialize()


def make_ties():
    m = Maker(4)
    g = m.g
    rng = m.rng
    x = g.tensor("input", [1, 32, 32, 3], TT.INT8, 1.0, -128)
    g.inputs = [x]
    # 8x8 means: 48 inputs of magnitude ~100 above the zero point.
    t1 = m.act([4, 4, 3], 1.0, -128)
    g.op(BO.AVERAGE_POOL_2D, [x], [t1], BOpt.Pool2DOptions, pool_opts(Padding.VALID, 8, 8))
    shape_t = g.tensor("shape", [2], TT.INT32, data=np.array([1, 48], np.int32))
    t2 = m.act([48], 1.0, -128)
    g.op(BO.RESHAPE, [t1, shape_t], [t2])

    def fc(xt, n_in, cout, wmax, ws, out_s, out_zp):
        # Input scale 1 and power-of-two weight and output scales: the
        # requantization scale 1 * ws / out_s is a power of two, exactly.
        w = rng.integers(-wmax, wmax + 1, size=(cout, n_in)).astype(np.int8)
        ws = np.asarray(ws, dtype=np.float32)
        wt = g.tensor(m.name("dense"), [cout, n_in], TT.INT8, ws, np.zeros(ws.size, np.int64), w)
        b = rng.integers(-64, 65, size=cout).astype(np.int32)
        bt = g.tensor(m.name("bias"), [cout], TT.INT32, ws, np.zeros(ws.size, np.int64), b)
        y = m.act([cout], out_s, out_zp)
        g.op(BO.FULLY_CONNECTED, [xt, wt, bt], [y], BOpt.FullyConnectedOptions,
             act_opts(FullyConnectedOptions, AFT.NONE))
        return y
    # Accumulators ~ sqrt(48) * 2.6 * 130 ~ 2300; scales 2^-5, 2^-6: outputs ~ 36..72.
    t3 = fc(t2, 48, 16, 4, 2.0 ** -rng.integers(5, 7, size=16), 1.0, 0)
    # ~ sqrt(16) * 4.9 * 50 ~ 1000; scale 2^-3 / 2 = 2^-4.
    t4 = fc(t3, 16, 10, 8, [2.0 ** -3], 2.0, -3)
    g.outputs = [t4]
    return g.serialize()


def make_unsupported():
    g = Graph()
    x = g.tensor("input", [1, 32, 32, 3], TT.INT8, 1.0, -128)
    y = g.tensor("tanh_out", [1, 32, 32, 3], TT.INT8, 1.0 / 128, 0)
    g.op(BO.TANH, [x], [y])
    g.inputs, g.outputs = [x], [y]
    return g.serialize()


def make_float():
    g = Graph()
    rng = np.random.default_rng(3)
    x = g.tensor("input", [1, 32, 32, 3], TT.FLOAT32)
    w = g.tensor("w", [4, 3, 3, 3], TT.FLOAT32,
                 data=rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    bb = g.tensor("b", [4], TT.FLOAT32, data=np.zeros(4, np.float32))
    y = g.tensor("y", [1, 32, 32, 4], TT.FLOAT32)
    g.op(BO.CONV_2D, [x, w, bb], [y], BOpt.Conv2DOptions, conv_opts(Padding.SAME, 1, AFT.NONE))
    g.inputs, g.outputs = [x], [y]
    return g.serialize()


def main():
    if len(sys.argv) != 2:
        print("usage: make_tflite_models.py OUT_DIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    mixed = make_mixed()
    files = {
        "mixed.tflite": mixed,
        "affine.tflite": make_affine(),
        "ties.tflite": make_ties(),
        "unsupported.tflite": make_unsupported(),
        "float.tflite": make_float(),
        "notflatbuffer.tflite": b"This is not a TFLite model, just some text.\n" * 4,
        "truncated.tflite": mixed[:len(mixed) // 2],
        "empty.tflite": b"",
    }
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("make_tflite_models: wrote %s to %s" % (", ".join(sorted(files)), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
