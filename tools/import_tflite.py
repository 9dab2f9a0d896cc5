#!/usr/bin/env python3
"""Imports an int8 TFLite model into accsim's network description (docs/import.md,
design: the accsim-network manifest, version 1).

    import_tflite.py MODEL.tflite --out DIR [--name NAME] [--input-mean M,M,M --input-std S,S,S]

Reads the flatbuffer with the `tflite` schema package (tools/setup-python-tools.sh
makes an environment that has it) and writes DIR/network.json plus .npy tensors.

Supported operators (int8 activations, int8 symmetric weights, int32 biases):
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D,
RESHAPE, and a final SOFTMAX, which is dropped (the prediction is the argmax of
its input, the int8 logits). Fused activations NONE, RELU, RELU6, RELU_N1_TO_1
become clamps in quantized terms.

Requantization parameters are computed as TFLite computes them at Prepare time
(kernel_util.cc PopulateConvolutionQuantizationParams, quantization_util.cc
QuantizeMultiplier, add.cc Prepare for int8, kernel_util.cc
CalculateActivationRangeQuantized), in the default double-rounding build
(TFLITE_SINGLE_ROUNDING unset). FULLY_CONNECTED is the exception: its int8
reference kernels requantize in double (round(acc * s_in * s_w / s_out), halves
away from zero), so it is imported as float requantization with "rounding":
"half_away" (docs/import.md).

The output directory is written atomically: built in a temporary sibling
directory and renamed into place. An existing non-empty DIR is replaced only
when it holds a previous network.json.

Exit status: 0 done, 1 the model cannot be imported (unsupported, malformed,
truncated), 2 usage error, 77 the tflite package is missing.
"""
import math
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import import_cli  # noqa: E402  (the command line shared with import_onnx.py)

try:
    import numpy as np
    import tflite
    from tflite.ActivationFunctionType import ActivationFunctionType as AFT
    from tflite.BuiltinOperator import BuiltinOperator as BO
    from tflite.Padding import Padding
    from tflite.TensorType import TensorType as TT
except ImportError as _e:
    import_cli.missing_package(_e)
import netdesc_write  # noqa: E402  (the description writer shared with import_onnx.py)

FORMAT_VERSION = 1
OP_NAMES = {v: k for k, v in vars(BO).items() if not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(TT).items() if not k.startswith("_")}
ACT_NAMES = {v: k for k, v in vars(AFT).items() if not k.startswith("_")}
NP_TYPES = {TT.INT8: np.int8, TT.INT32: np.int32, TT.UINT8: np.uint8,
            TT.FLOAT32: np.float32, TT.INT16: np.int16, TT.INT64: np.int64,
            TT.FLOAT16: np.float16}
SUPPORTED = ("CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, "
             "MAX_POOL_2D, RESHAPE, SOFTMAX (final)")


class ImportError_(Exception):
    """The model cannot be imported; the message says why."""


# --- TFLite's arithmetic, exactly -------------------------------------------------

def tflite_round(x):
    """TfLiteRound = std::round: half away from zero (x is a Python float)."""
    r = math.floor(abs(x) + 0.5)
    # floor(|x| + 0.5) is exact for the magnitudes used here (|x| < 2^52).
    return int(r) if x >= 0 else -int(r)


def quantize_multiplier(m):
    """quantization_util.cc QuantizeMultiplier (double rounding build):
    returns (quantized_multiplier, shift), m ~= qm * 2^(shift - 31)."""
    if m == 0.0:
        return 0, 0
    if not math.isfinite(m) or m < 0:
        raise ImportError_("requantization multiplier %r is not a finite positive number" % m)
    q, shift = math.frexp(m)            # std::frexp: q in [0.5, 1)
    q_fixed = tflite_round(q * (1 << 31))
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):            # q rounded up to 1.0
        q_fixed //= 2
        shift += 1
    assert q_fixed <= 2**31 - 1
    if shift < -31:                     # flushed to zero, as TFLite does
        shift = 0
        q_fixed = 0
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one_exp(m, what):
    if not (0.0 < m < 1.0):
        raise ImportError_("%s: real multiplier %r is not in (0, 1) (TFLite rejects it too)"
                           % (what, m))
    qm, shift = quantize_multiplier(m)
    if shift > 0:
        raise ImportError_("%s: shift %d > 0" % (what, shift))
    return qm, shift


def f32(x):
    return np.float32(x)


def activation_range(act, scale, zero_point, what):
    """kernel_util.cc CalculateActivationRangeQuantized for int8 outputs."""
    qmin, qmax = -128, 127

    def quantize(f):
        # float tmp = TfLiteRound(f / scale), in float32; zero_point + (int32)tmp.
        with np.errstate(all="ignore"):
            t = f32(f) / f32(scale)
        return zero_point + tflite_round(float(t))   # std::round(float), exact in double

    if act == AFT.NONE:
        return qmin, qmax
    if act == AFT.RELU:
        return max(qmin, quantize(0.0)), qmax
    if act == AFT.RELU6:
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if act == AFT.RELU_N1_TO_1:
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ImportError_("%s: fused activation %s is not supported (NONE, RELU, RELU6, "
                       "RELU_N1_TO_1 are)" % (what, ACT_NAMES.get(act, act)))


# --- Reading the flatbuffer --------------------------------------------------------

class Model:
    def __init__(self, path):
        self.path = path
        try:
            with open(path, "rb") as f:
                self.buf = f.read()
        except OSError as e:
            raise ImportError_("%s: %s" % (path, e.strerror or e))
        if len(self.buf) < 8:
            raise ImportError_("%s: %d bytes: not a TFLite flatbuffer (too short)"
                               % (path, len(self.buf)))
        if self.buf[4:8] != b"TFL3":
            raise ImportError_("%s: not a TFLite flatbuffer (file identifier %r, want 'TFL3')"
                               % (path, bytes(self.buf[4:8])))
        root = int.from_bytes(self.buf[0:4], "little")
        if root + 4 > len(self.buf):
            raise ImportError_("%s: malformed or truncated flatbuffer (root table at %d, "
                               "file has %d bytes)" % (path, root, len(self.buf)))
        self.m = tflite.Model.GetRootAsModel(self.buf, 0)

    def buffer_bytes(self, index, what):
        n = len(self.buf)
        if not (0 <= index < self.m.BuffersLength()):
            raise ImportError_("%s: buffer index %d out of range" % (what, index))
        b = self.m.Buffers(index)
        off = b.Offset()
        if off > 1:  # data stored after the flatbuffer (large-model layout)
            size = b.Size()
            if off + size > n:
                raise ImportError_("%s: buffer %d lies past the end of the file "
                                   "(truncated file?)" % (what, index))
            return self.buf[off:off + size]
        if b.DataIsNone() or b.DataLength() == 0:
            return b""
        # Bounds of the vector: its length word and data must lie in the file.
        o = b._tab.Offset(4)
        start = b._tab.Vector(o)
        length = b._tab.VectorLen(o)
        if start < 0 or start + length > n:
            raise ImportError_("%s: buffer %d lies past the end of the file "
                               "(truncated file?)" % (what, index))
        return self.buf[start:start + length]


class Tensor:
    def __init__(self, model, g, index):
        n = g.TensorsLength()
        if not (0 <= index < n):
            raise ImportError_("tensor index %d out of range (%d tensors)" % (index, n))
        t = g.Tensors(index)
        self.index = index
        self.name = (t.Name() or b"").decode("utf-8", "replace")
        self.type = t.Type()
        self.shape = [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []
        self.buffer = t.Buffer()
        self.model = model
        q = t.Quantization()
        self.scales = (np.array(q.ScaleAsNumpy(), dtype=np.float32)
                       if q is not None and q.ScaleLength() else None)
        self.zero_points = (np.array(q.ZeroPointAsNumpy(), dtype=np.int64)
                            if q is not None and q.ZeroPointLength() else None)
        self.qdim = q.QuantizedDimension() if q is not None else 0
        if t.Sparsity() is not None:
            raise ImportError_("tensor %s: sparse tensors are not supported" % self.desc())

    def desc(self):
        return "%d '%s'" % (self.index, self.name)

    def type_name(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    def data(self):
        raw = self.model.buffer_bytes(self.buffer, "tensor " + self.desc())
        if self.type not in NP_TYPES:
            raise ImportError_("tensor %s: type %s not supported" % (self.desc(), self.type_name()))
        dt = np.dtype(NP_TYPES[self.type]).newbyteorder("<")
        count = int(np.prod(self.shape)) if self.shape else 1
        if len(raw) != count * dt.itemsize:
            raise ImportError_("tensor %s: buffer holds %d bytes, shape %s of %s needs %d "
                               "(truncated or malformed file?)"
                               % (self.desc(), len(raw), self.shape, self.type_name(),
                                  count * dt.itemsize))
        return np.frombuffer(raw, dtype=dt).reshape(self.shape).astype(NP_TYPES[self.type])

    def is_constant(self):
        return len(self.model.buffer_bytes(self.buffer, "tensor " + self.desc())) > 0

    def per_tensor(self, what):
        """(scale float32, zero_point int) of an activation tensor."""
        if self.scales is None or self.zero_points is None or self.scales.size != 1 \
                or self.zero_points.size != 1:
            raise ImportError_("%s: tensor %s has no per-tensor quantization (scale %s, "
                               "zero point %s)" % (what, self.desc(), self.scales, self.zero_points))
        s = self.scales[0]
        z = int(self.zero_points[0])
        if not (np.isfinite(s) and s > 0):
            raise ImportError_("%s: tensor %s has scale %r" % (what, self.desc(), float(s)))
        if not (-128 <= z <= 127):
            raise ImportError_("%s: tensor %s has zero point %d outside int8" % (what, self.desc(), z))
        return s, z


# --- The importer -----------------------------------------------------------------

def padding_name(p, what):
    if p == Padding.SAME:
        return "same"
    if p == Padding.VALID:
        return "valid"
    raise ImportError_("%s: padding %d is not supported" % (what, p))


def same_or_valid_out(size, k, s, padding):
    if padding == "same":
        return (size + s - 1) // s
    return (size - k + s) // s


def sanitize(name):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")
    return name or "op"


class Importer:
    def __init__(self, model, name, input_mean=None, input_std=None):
        self.model = model
        m = model.m
        self.name = name
        self.input_mean = input_mean
        self.input_std = input_std
        if m.SubgraphsLength() != 1:
            raise ImportError_("the model has %d subgraphs; only single-subgraph models "
                               "are supported" % m.SubgraphsLength())
        self.g = m.Subgraphs(0)
        self.files = {}        # file name -> numpy array
        self.ops = []
        self.names = {}        # tflite tensor index -> description tensor name
        self.op_names = set()
        self.shapes = {}       # description tensor name -> per-image shape
        self.zps = {}          # description tensor name -> zero point
        self.scales = {}       # description tensor name -> float32 scale

    def tensor(self, i):
        return Tensor(self.model, self.g, int(i))

    def opcode(self, op):
        m = self.model.m
        idx = op.OpcodeIndex()
        if not (0 <= idx < m.OperatorCodesLength()):
            raise ImportError_("operator code index %d out of range" % idx)
        oc = m.OperatorCodes(idx)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        if code == BO.CUSTOM:
            cc = (oc.CustomCode() or b"?").decode("utf-8", "replace")
            return code, "CUSTOM '%s'" % cc
        return code, OP_NAMES.get(code, "builtin %d" % code)

    def unique_op_name(self, base, numbered=False):
        """base itself when free (numbered=False), else base_1, base_2, ..."""
        base = sanitize(base)
        k = 0
        name = base
        while numbered or name in self.op_names or name == "input":
            numbered = False
            k += 1
            name = "%s_%d" % (base, k)
        self.op_names.add(name)
        return name

    def mac_name(self, kind, weights):
        # "model/conv2d_3/Conv2D" -> "conv2d_3"; fall back to the op kind.
        first = weights.name.split(";")[0]
        parts = [p for p in first.split("/") if p]
        cand = parts[-2] if len(parts) >= 2 else ""
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", cand or ""):
            cand = kind
        return self.unique_op_name(cand)

    def act_input(self, t, what):
        """Description name of an activation tensor already produced."""
        if t.index not in self.names:
            if t.is_constant():
                raise ImportError_("%s: input tensor %s is a constant; only activations "
                                   "are supported there" % (what, t.desc()))
            raise ImportError_("%s: input tensor %s is not produced by an earlier supported "
                               "operator (operators must be in execution order)"
                               % (what, t.desc()))
        if t.type != TT.INT8:
            raise ImportError_("%s: tensor %s is %s, not INT8" % (what, t.desc(), t.type_name()))
        return self.names[t.index]

    def image_shape(self, t, what):
        s = t.shape
        if len(s) not in (2, 4) or s[0] not in (1, -1):
            raise ImportError_("%s: tensor %s has shape %s; want [1, H, W, C] or [1, N]"
                               % (what, t.desc(), s))
        return [int(d) for d in s[1:]]

    def define_output(self, t, op_name, what):
        if t.type != TT.INT8:
            if t.type == TT.FLOAT32:
                raise ImportError_("%s: output tensor %s is FLOAT32: float models are not "
                                   "supported (full-integer int8 models only)"
                                   % (what, t.desc()))
            raise ImportError_("%s: output tensor %s is %s, not INT8" % (what, t.desc(),
                                                                          t.type_name()))
        if t.index in self.names:
            raise ImportError_("%s: tensor %s produced twice" % (what, t.desc()))
        s, z = t.per_tensor(what)
        self.names[t.index] = op_name
        self.shapes[op_name] = self.image_shape(t, what)
        self.zps[op_name] = z
        self.scales[op_name] = s
        return s, z

    def save(self, fname, arr):
        assert fname not in self.files
        self.files[fname] = arr
        return fname

    def io(self, op):
        ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        return ins, outs

    def check_weights(self, w, what, qdim, cout):
        if w.type != TT.INT8:
            raise ImportError_("%s: weights %s are %s, not INT8%s" % (
                what, w.desc(), w.type_name(),
                " (float models are not supported)" if w.type == TT.FLOAT32 else ""))
        if not w.is_constant():
            raise ImportError_("%s: weights %s are not a constant tensor" % (what, w.desc()))
        if w.scales is None or w.scales.size not in (1, cout):
            raise ImportError_("%s: weights %s have %s scales for %d output channels"
                               % (what, w.desc(), None if w.scales is None else w.scales.size,
                                  cout))
        if w.scales.size > 1 and w.qdim != qdim:
            raise ImportError_("%s: weights %s are quantized along dimension %d, not %d"
                               % (what, w.desc(), w.qdim, qdim))
        if w.zero_points is not None and np.any(w.zero_points != 0):
            raise ImportError_("%s: weights %s have non-zero zero points (asymmetric "
                               "weights are not supported)" % (what, w.desc()))
        if not np.all(np.isfinite(w.scales)) or np.any(w.scales <= 0):
            raise ImportError_("%s: weights %s have non-positive scales" % (what, w.desc()))

    def bias(self, ins, cout, what):
        if len(ins) < 3 or ins[2] < 0:
            return None
        b = self.tensor(ins[2])
        if b.type != TT.INT32:
            raise ImportError_("%s: bias %s is %s, not INT32" % (what, b.desc(), b.type_name()))
        data = b.data().reshape(-1)
        if data.size != cout:
            raise ImportError_("%s: bias %s has %d values for %d output channels"
                               % (what, b.desc(), data.size, cout))
        return data.astype("<i4")

    def requant_per_channel(self, name, in_scale, w_scales, out_scale, cout):
        """PopulateConvolutionQuantizationParams: per channel, in double."""
        mults = np.zeros(cout, dtype="<i4")
        shifts = np.zeros(cout, dtype="<i4")
        for c in range(cout):
            fs = float(w_scales[c] if w_scales.size > 1 else w_scales[0])
            eff = float(in_scale) * fs / float(out_scale)
            mults[c], shifts[c] = quantize_multiplier(eff)
        return {"kind": "fixed",
                "multiplier": self.save(name + ".multiplier.npy", mults),
                "shift": self.save(name + ".shift.npy", shifts),
                "rounding": "double"}

    # -- operators --

    def conv(self, op, kind, depthwise):
        ins, outs = self.io(op)
        if len(ins) < 2 or len(outs) != 1:
            raise ImportError_("%s: want inputs (input, weights[, bias]) and one output" % kind)
        x, w, y = self.tensor(ins[0]), self.tensor(ins[1]), self.tensor(outs[0])
        what = "%s (output %s)" % (kind, y.desc())
        xin = self.act_input(x, what)
        if len(w.shape) != 4:
            raise ImportError_("%s: weights %s have shape %s, want 4-D" % (what, w.desc(), w.shape))
        opt_t = op.BuiltinOptions()
        if opt_t is None:
            raise ImportError_("%s: no options" % what)
        if depthwise:
            o = tflite.DepthwiseConv2DOptions()
        else:
            o = tflite.Conv2DOptions()
        o.Init(opt_t.Bytes, opt_t.Pos)
        if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
            raise ImportError_("%s: dilation %dx%d is not supported (the description has no "
                               "dilation)" % (what, o.DilationHFactor(), o.DilationWFactor()))
        in_shape = self.shapes[xin]
        if len(in_shape) != 3:
            raise ImportError_("%s: input %s is not [1, H, W, C]" % (what, x.desc()))
        H, W, C = in_shape
        wdata = w.data()
        if depthwise:
            _, KH, KW, cout = w.shape
            if w.shape[0] != 1 or cout % C != 0:
                raise ImportError_("%s: depthwise weights %s shape %s do not fit %d input "
                                   "channels" % (what, w.desc(), w.shape, C))
            self.check_weights(w, what, 3, cout)
            # [1, KH, KW, C_out] -> [C_out, KH, KW, 1]
            wdesc = np.ascontiguousarray(np.transpose(wdata, (3, 1, 2, 0)))
            groups = C
        else:
            cout, KH, KW, cin_g = w.shape
            if cin_g <= 0 or C % cin_g != 0:
                raise ImportError_("%s: weights %s shape %s do not fit %d input channels"
                                   % (what, w.desc(), w.shape, C))
            self.check_weights(w, what, 0, cout)
            wdesc = np.ascontiguousarray(wdata)
            groups = C // cin_g
            if cout % groups != 0:
                raise ImportError_("%s: %d output channels not divisible into %d groups"
                                   % (what, cout, groups))
        bias = self.bias(ins, cout, what)
        in_s, in_z = x.per_tensor(what)
        name = self.mac_name("dwconv2d" if depthwise else "conv2d", w)
        out_s, out_z = self.define_output(y, name, what)
        pad = padding_name(o.Padding(), what)
        sh, sw = o.StrideH(), o.StrideW()
        if sh < 1 or sw < 1:
            raise ImportError_("%s: stride %dx%d" % (what, sh, sw))
        want = [same_or_valid_out(H, KH, sh, pad), same_or_valid_out(W, KW, sw, pad), cout]
        if self.shapes[name] != want:
            raise ImportError_("%s: output shape %s, expected %s" % (what, self.shapes[name], want))
        lo, hi = activation_range(o.FusedActivationFunction(), out_s, out_z, what)
        d = {"op": "conv2d", "name": name, "input": xin, "output": name,
             "weights": self.save(name + ".weights.npy", wdesc.astype("<i1"))}
        if bias is not None:
            d["bias"] = self.save(name + ".bias.npy", bias)
        d.update({"stride": [sh, sw], "padding": pad})
        if groups != 1:
            d["groups"] = groups
        d["weight_zero_point"] = 0
        d["requantize"] = self.requant_per_channel(name, in_s, w.scales, out_s, cout)
        d["output_zero_point"] = out_z
        d["clamp"] = [lo, hi]
        d["accumulator"] = {"order": "hwc", "tile": 0, "bias": "last",
                            "zero_point": "per_product"}
        d["output_shape"] = self.shapes[name]
        self.ops.append(d)

    def fully_connected(self, op):
        ins, outs = self.io(op)
        if len(ins) < 2 or len(outs) != 1:
            raise ImportError_("FULLY_CONNECTED: want inputs (input, weights[, bias]) and "
                               "one output")
        x, w, y = self.tensor(ins[0]), self.tensor(ins[1]), self.tensor(outs[0])
        what = "FULLY_CONNECTED (output %s)" % y.desc()
        xin = self.act_input(x, what)
        opt_t = op.BuiltinOptions()
        o = tflite.FullyConnectedOptions()
        if opt_t is not None:
            o.Init(opt_t.Bytes, opt_t.Pos)
            if o.WeightsFormat() != 0:
                raise ImportError_("%s: shuffled weights format is not supported" % what)
            act = o.FusedActivationFunction()
        else:
            act = AFT.NONE
        if len(w.shape) != 2:
            raise ImportError_("%s: weights %s have shape %s, want 2-D" % (what, w.desc(), w.shape))
        cout, nin = w.shape
        self.check_weights(w, what, 0, cout)
        n_in = int(np.prod(self.shapes[xin]))
        if n_in != nin:
            raise ImportError_("%s: input %s has %d elements per image, weights want %d "
                               "(batched fully-connected rows are not supported)"
                               % (what, x.desc(), n_in, nin))
        bias = self.bias(ins, cout, what)
        in_s, in_z = x.per_tensor(what)
        name = self.mac_name("fc", w)
        if int(np.prod(y.shape)) != cout or (y.shape and y.shape[0] not in (1, -1)):
            raise ImportError_("%s: output shape %s, want [1, %d]" % (what, y.shape, cout))
        out_s, out_z = y.per_tensor(what)
        if y.type != TT.INT8:
            self.define_output(y, name, what)   # raises with the type
        self.names[y.index] = name
        self.shapes[name] = [cout]
        self.zps[name] = out_z
        self.scales[name] = out_s
        lo, hi = activation_range(act, out_s, out_z, what)
        d = {"op": "fully_connected", "name": name, "input": xin, "output": name,
             "weights": self.save(name + ".weights.npy", np.ascontiguousarray(w.data()).astype("<i1"))}
        if bias is not None:
            d["bias"] = self.save(name + ".bias.npy", bias)
        # The int8 reference kernel (reference_integer_ops::FullyConnected and
        # FullyConnectedPerChannel, called by fully_connected.cc for kReference)
        # requantizes in floating point, not with the fixed-point multiplier of
        # Prepare: acc_scaled = (int32) round((double)acc * eff), where
        # eff = (double)input_scale * (double)filter_scale / (double)output_scale
        # and round() rounds halves away from zero: the description's float
        # requantization with "rounding": "half_away", the same double product
        # rounded by the same rule, so every accumulator value (ties included)
        # requantizes as in TFLite.
        effs = []
        for c in range(cout):
            fs = float(w.scales[c] if w.scales.size > 1 else w.scales[0])
            effs.append(float(in_s) * fs / float(out_s))
        if w.scales.size > 1:
            scale = self.save(name + ".scale.npy", np.array(effs, dtype="<f8"))
        else:
            scale = effs[0]
        d["requantize"] = {"kind": "float", "scale": scale, "rounding": "half_away"}
        d["output_zero_point"] = out_z
        d["clamp"] = [lo, hi]
        d["accumulator"] = {"tile": 0, "bias": "last", "zero_point": "per_product"}
        d["output_shape"] = [cout]
        self.ops.append(d)

    def add(self, op):
        ins, outs = self.io(op)
        if len(ins) != 2 or len(outs) != 1:
            raise ImportError_("ADD: want two inputs and one output")
        a, b, y = self.tensor(ins[0]), self.tensor(ins[1]), self.tensor(outs[0])
        what = "ADD (output %s)" % y.desc()
        an, bn = self.act_input(a, what), self.act_input(b, what)
        if self.shapes[an] != self.shapes[bn]:
            raise ImportError_("%s: inputs of shapes %s and %s: broadcasting is not supported"
                               % (what, self.shapes[an], self.shapes[bn]))
        opt_t = op.BuiltinOptions()
        act = AFT.NONE
        if opt_t is not None:
            o = tflite.AddOptions()
            o.Init(opt_t.Bytes, opt_t.Pos)
            act = o.FusedActivationFunction()
        s1, _ = a.per_tensor(what)
        s2, _ = b.per_tensor(what)
        name = self.unique_op_name("add", numbered=True)
        out_s, out_z = self.define_output(y, name, what)
        if self.shapes[name] != self.shapes[an]:
            raise ImportError_("%s: output shape %s differs from the inputs' %s"
                               % (what, self.shapes[name], self.shapes[an]))
        # add.cc Prepare, int8: left_shift 20; twice_max_input_scale is
        # 2 * max(float, float) (a float), used as a double.
        left_shift = 20
        twice = float(f32(2) * max(f32(s1), f32(s2)))
        r1 = float(s1) / twice
        r2 = float(s2) / twice
        ro = twice / float(f32(1 << left_shift) * f32(out_s))
        m1, sh1 = quantize_multiplier_smaller_than_one_exp(r1, what + " input 1")
        m2, sh2 = quantize_multiplier_smaller_than_one_exp(r2, what + " input 2")
        mo, sho = quantize_multiplier_smaller_than_one_exp(ro, what + " output")
        lo, hi = activation_range(act, out_s, out_z, what)
        self.ops.append({
            "op": "add", "name": name, "inputs": [an, bn], "output": name,
            "requantize": {"kind": "fixed", "left_shift": left_shift,
                           "input_multipliers": [m1, m2], "input_shifts": [sh1, sh2],
                           "output_multiplier": mo, "output_shift": sho},
            "output_zero_point": out_z, "clamp": [lo, hi],
            "output_shape": self.shapes[name]})

    def pool(self, op, kind):
        ins, outs = self.io(op)
        if len(ins) != 1 or len(outs) != 1:
            raise ImportError_("%s: want one input and one output" % kind)
        x, y = self.tensor(ins[0]), self.tensor(outs[0])
        what = "%s (output %s)" % (kind, y.desc())
        xin = self.act_input(x, what)
        opt_t = op.BuiltinOptions()
        if opt_t is None:
            raise ImportError_("%s: no options" % what)
        o = tflite.Pool2DOptions()
        o.Init(opt_t.Bytes, opt_t.Pos)
        in_shape = self.shapes[xin]
        if len(in_shape) != 3:
            raise ImportError_("%s: input %s is not [1, H, W, C]" % (what, x.desc()))
        in_s, in_z = x.per_tensor(what)
        out_s, out_z = y.per_tensor(what)
        # The int8 kernels work on raw values: TFLite requires (DCHECK) equal scale
        # and zero point; the description's pools keep the input's zero point.
        if out_z != in_z or abs(float(in_s) - float(out_s)) > 1e-6:
            raise ImportError_("%s: input (scale %r, zero point %d) and output (scale %r, "
                               "zero point %d) quantization differ" %
                               (what, float(in_s), in_z, float(out_s), out_z))
        base = "avg_pool" if kind == "AVERAGE_POOL_2D" else "max_pool"
        name = self.unique_op_name(base, numbered=True)
        self.define_output(y, name, what)
        kh, kw, sh, sw = o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW()
        if min(kh, kw, sh, sw) < 1:
            raise ImportError_("%s: filter %dx%d stride %dx%d" % (what, kh, kw, sh, sw))
        pad = padding_name(o.Padding(), what)
        H, W, C = in_shape
        want = [same_or_valid_out(H, kh, sh, pad), same_or_valid_out(W, kw, sw, pad), C]
        if self.shapes[name] != want:
            raise ImportError_("%s: output shape %s, expected %s" % (what, self.shapes[name], want))
        # The activation range is computed with the output tensor's parameters.
        lo, hi = activation_range(o.FusedActivationFunction(), out_s, out_z, what)
        d = {"op": base, "name": name, "input": xin, "output": name,
             "kernel": [kh, kw], "stride": [sh, sw], "padding": pad}
        if (lo, hi) != (-128, 127):
            d["clamp"] = [lo, hi]
        d["output_shape"] = self.shapes[name]
        self.ops.append(d)

    def reshape(self, op):
        ins, outs = self.io(op)
        if len(ins) < 1 or len(outs) != 1:
            raise ImportError_("RESHAPE: want an input and one output")
        x, y = self.tensor(ins[0]), self.tensor(outs[0])
        what = "RESHAPE (output %s)" % y.desc()
        xin = self.act_input(x, what)
        in_s, in_z = x.per_tensor(what)
        out_s, out_z = y.per_tensor(what)
        if out_z != in_z or float(in_s) != float(out_s):
            raise ImportError_("%s: input and output quantization differ" % what)
        name = self.unique_op_name("reshape", numbered=True)
        self.define_output(y, name, what)
        if int(np.prod(self.shapes[name])) != int(np.prod(self.shapes[xin])):
            raise ImportError_("%s: %s elements to %s" % (what, self.shapes[xin], self.shapes[name]))
        self.ops.append({"op": "reshape", "name": name, "input": xin, "output": name,
                         "shape": self.shapes[name]})

    def float_wrappers(self, gin, gout, n):
        """A model converted with float input/output (TFLite's default) wraps its int8
        graph in a first QUANTIZE (float32 input -> int8) and a last DEQUANTIZE (int8
        output -> float32). Returns (input tensor, output tensor, first op, end op):
        the int8 tensors inside the wrappers and the range of operators to import.
        The QUANTIZE's output quantization is then the network's input quantization
        (the description quantizes pixels itself); the DEQUANTIZE changes no argmax."""
        g = self.g
        x_index, y_index, first, end = gin[0], gout[0], 0, n
        if n and self.opcode(g.Operators(0))[0] == BO.QUANTIZE:
            ins, outs = self.io(g.Operators(0))
            readers = [i for i in range(1, n) if x_index in self.io(g.Operators(i))[0]]
            if (ins == [x_index] and len(outs) == 1 and not readers and
                    self.tensor(x_index).type == TT.FLOAT32 and
                    self.tensor(outs[0]).type == TT.INT8):
                x_index, first = outs[0], 1
        if n > first and self.opcode(g.Operators(n - 1))[0] == BO.DEQUANTIZE:
            ins, outs = self.io(g.Operators(n - 1))
            if (outs == [y_index] and len(ins) == 1 and
                    self.tensor(y_index).type == TT.FLOAT32 and
                    self.tensor(ins[0]).type == TT.INT8):
                y_index, end = ins[0], n - 1
        return x_index, y_index, first, end

    def run(self):
        g = self.g
        gin = [int(i) for i in g.InputsAsNumpy()] if g.InputsLength() else []
        gout = [int(i) for i in g.OutputsAsNumpy()] if g.OutputsLength() else []
        if len(gin) != 1 or len(gout) != 1:
            raise ImportError_("the model has %d inputs and %d outputs; want one of each"
                               % (len(gin), len(gout)))
        n = g.OperatorsLength()
        x_index, output_index, first, end = self.float_wrappers(gin, gout, n)
        xt = self.tensor(x_index)
        if xt.type != TT.INT8:
            raise ImportError_("input tensor %s is %s: float (or non-int8) inputs are not "
                               "supported; convert with full-integer quantization and int8 "
                               "input/output" % (xt.desc(), xt.type_name()))
        in_s, in_z = xt.per_tensor("input")
        shape = self.image_shape(xt, "input")
        if len(shape) != 3:
            raise ImportError_("input tensor %s shape %s: want [1, H, W, C]" % (xt.desc(), xt.shape))
        self.names[xt.index] = "input"
        self.shapes["input"] = shape
        self.zps["input"] = in_z
        if float(in_s) == 1.0 and self.input_mean is None and self.input_std is None:
            quant = {"kind": "offset", "offset": in_z}
        else:
            C = shape[2]
            mean = self.input_mean if self.input_mean is not None else [0.0] * C
            std = self.input_std if self.input_std is not None else [1.0] * C
            if len(mean) != C or len(std) != C:
                raise ImportError_("--input-mean/--input-std need %d values" % C)
            quant = {"kind": "affine", "mean": mean, "std": std, "scale": float(in_s),
                     "zero_point": in_z}

        for i in range(first, end):
            op = g.Operators(i)
            code, opname = self.opcode(op)
            if code == BO.CONV_2D:
                self.conv(op, "CONV_2D", False)
            elif code == BO.DEPTHWISE_CONV_2D:
                self.conv(op, "DEPTHWISE_CONV_2D", True)
            elif code == BO.FULLY_CONNECTED:
                self.fully_connected(op)
            elif code == BO.ADD:
                self.add(op)
            elif code == BO.AVERAGE_POOL_2D:
                self.pool(op, "AVERAGE_POOL_2D")
            elif code == BO.MAX_POOL_2D:
                self.pool(op, "MAX_POOL_2D")
            elif code == BO.RESHAPE:
                self.reshape(op)
            elif code == BO.SOFTMAX:
                ins, outs = self.io(op)
                if i != end - 1 or len(outs) != 1 or outs[0] != output_index or len(ins) != 1:
                    raise ImportError_("operator %d SOFTMAX: only a final SOFTMAX that makes "
                                       "the model's output is supported (it is dropped)" % i)
                x = self.tensor(ins[0])
                self.act_input(x, "SOFTMAX")
                output_index = x.index          # the int8 logits
            else:
                ins, outs = self.io(op)
                out_desc = self.tensor(outs[0]).desc() if outs else "none"
                raise ImportError_("operator %d %s (output tensor %s) is not supported; "
                                   "supported: %s" % (i, opname, out_desc, SUPPORTED))
        if output_index not in self.names:
            raise ImportError_("the model's output tensor %s is not produced by an "
                               "imported operator" % self.tensor(output_index).desc())
        out_name = self.names[output_index]
        if out_name == "input":
            raise ImportError_("the model has no operators")
        # Drop nothing else: every op output must be used (the loader rejects
        # unused tensors), which holds for graphs whose only sink is the output.
        used = set()
        for d in self.ops:
            used.update(d.get("inputs") or [d["input"]])
        unused = [d["output"] for d in self.ops if d["output"] not in used and
                  d["output"] != out_name]
        if unused:
            raise ImportError_("tensors %s are computed but never used" % ", ".join(unused))
        return {
            "format": "accsim-network",
            "version": FORMAT_VERSION,
            "name": self.name,
            "layout": "NHWC",
            "input": {"tensor": "input", "shape": shape, "zero_point": in_z,
                      "quantize": quant},
            "output": out_name,
            "ops": self.ops,
        }


def import_model(path, out_dir, name=None, input_mean=None, input_std=None):
    model = Model(path)
    if name is None:
        name = sanitize(os.path.splitext(os.path.basename(path))[0])
    try:
        imp = Importer(model, name, input_mean, input_std)
        manifest = imp.run()
    except ImportError_:
        raise
    except (struct.error, IndexError, ValueError, TypeError, AttributeError, OverflowError,
            UnicodeDecodeError, MemoryError) as e:
        # The flatbuffers reader follows offsets without checking them: a cut or
        # corrupted file shows up as a read past the end or a nonsense value.
        raise ImportError_("%s: malformed or truncated flatbuffer (%s: %s)"
                           % (path, type(e).__name__, e))
    try:
        netdesc_write.write_atomic(out_dir, manifest, imp.files)
    except netdesc_write.WriteError as e:
        raise ImportError_(str(e))
    return manifest


def main(argv=None):
    ap = import_cli.parser(__doc__, "the .tflite file")
    # Accepted for old scripts: the description now rounds FULLY_CONNECTED's
    # ties as TFLite does ("rounding": "half_away"), so there is nothing to allow.
    ap.add_argument("--allow-rounding-ties", action="store_true",
                    help="no longer needed (ties are rounded as TFLite rounds them); "
                    "accepted and ignored")

    def run(args, mean, std):
        return import_model(args.model, args.out, args.name, mean, std)
    return import_cli.main(ap, argv, "import_tflite", ImportError_, run)


if __name__ == "__main__":
    sys.exit(main())
