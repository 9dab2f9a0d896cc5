#!/usr/bin/env python3
"""Imports an int8 ONNX model (QDQ or QOperator form) into accsim's network
description (docs/import.md, ONNX section; design: docs/network-format.md).

    import_onnx.py MODEL.onnx --out DIR [--name NAME] [--input-mean M,M,M --input-std S,S,S]
                   [--precision float32|float64] [--quiet]

The arithmetic recorded is onnxruntime's CPU integer kernels (MLAS, x86-64),
which is what the QDQ graph runs as after onnxruntime fuses it
(DequantizeLinear -> Conv -> QuantizeLinear becomes QLinearConv, ...):

- Conv, Gemm, MatMul (QLinearConv, QGemm, QLinearMatMul; MlasRequantizeOutput):
  acc = sum (x - z_x) * w + bias (int32); scale = (float)(s_x * s_w[c]) / s_y in
  float32; y = nearbyintf((float)acc * scale) + z_y, clamped. Recorded as
  {"kind": "float", "scale": .., "precision": "float32"}.
- Add (QLinearAdd, MlasQLinearAddS8KernelAvx2): a = s_a / s_c, b = s_b / s_c,
  c = (float)z_c - (a * z_a + b * z_b), all float32; y = nearbyintf(fmaf(x_a, a,
  fmaf(x_b, b, c))) on the raw int8 values. Recorded as {"kind": "float",
  "scales": [a, b], "precision": "float32", "offset": c}.
- GlobalAveragePool (QLinearGlobalAveragePool): acc = sum (x - z_x);
  scale = s_x / (s_y * (float)(H*W)) in float32, then as Conv. Recorded as a
  depthwise conv2d with all-ones weights (a MAC layer).
- MaxPool, Relu, Clip, Flatten, Reshape on int8 values (exact).

--precision float64 records instead the graph's mathematical QDQ semantics in
double (scale s_x*s_w/s_y, add scales s_a/s_c, s_b/s_c), to measure how many
outputs onnxruntime's float32 arithmetic changes.

The output directory is written atomically (tools/netdesc_write.py).

Exit status: 0 done, 1 the model cannot be imported (unsupported, malformed,
truncated, float-only), 2 usage error, 77 the onnx package is missing.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import import_cli  # noqa: E402  (the command line shared with import_tflite.py)

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as _e:
    import_cli.missing_package(_e)
import netdesc_write  # noqa: E402

FORMAT_VERSION = 1
MAX_NAME = 63
SUPPORTED = ("QuantizeLinear, DequantizeLinear, Conv, Gemm, MatMul (+ Add of an int32 "
             "bias), Add, MaxPool, GlobalAveragePool, Relu, Clip, Flatten, Reshape, "
             "Identity, Dropout, Softmax (final), QLinearConv, QLinearMatMul, "
             "QLinearAdd, QLinearGlobalAveragePool, QGemm")
F32 = np.float32


class ImportError_(Exception):
    """The model cannot be imported; the message says why."""


def f32(x):
    return F32(x)


def node_desc(n):
    return "node '%s' (%s)" % (n.name or (n.output[0] if n.output else "?"), n.op_type)


def sanitize(name):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")
    return name[:MAX_NAME - 8] or "op"


class QAct:
    """An int8 activation tensor of the description: name, float32 scale, zero
    point and per-image shape ([C, H, W] or [N], NCHW order)."""

    def __init__(self, name, scale, zp, shape, u8=False):
        self.name, self.scale, self.zp, self.shape = name, f32(scale), int(zp), list(shape)
        # uint8 in the model: the description holds x - 128 with zero point zp - 128
        # (every integer kernel is the same in that domain, except QLinearAdd's
        # float arithmetic on the raw values: see emit_add).
        self.u8 = u8


class Weight:
    """A dequantized constant: int8 (or int32 bias) values, per-axis float32
    scales and zero points, the DequantizeLinear axis."""

    def __init__(self, q, scale, zp, axis):
        self.q, self.scale, self.zp, self.axis = q, scale, zp, axis


def quantize_value(v, scale, zp):
    """ONNX QuantizeLinear of a float constant, as onnxruntime computes it:
    v / scale in float32, rounded half to even, + zp, saturated to int8."""
    with np.errstate(all="ignore"):
        r = np.rint(F32(v) / F32(scale))
    return int(np.clip(r + zp, -128, 127))


class Importer:
    def __init__(self, model, name, input_mean, input_std, precision):
        self.model = model
        self.g = model.graph
        self.name = name
        self.input_mean, self.input_std = input_mean, input_std
        self.precision = precision
        self.ops, self.files = [], {}
        self.op_names = {"input"}
        self.qact = {}     # ONNX name -> QAct (int8 tensor)
        self.fview = {}    # ONNX name -> QAct (float tensor = DequantizeLinear of it)
        self.qconst = {}   # ONNX name -> int8 constant (QuantizeLinear of a float constant)
        self.wview = {}    # ONNX name -> Weight (DequantizeLinear of an int8/int32 constant)
        self.consumed = set()
        self.consts = {}
        for t in self.g.initializer:
            self.consts[t.name] = self.to_array(t, "initializer '%s'" % t.name)
        # One list of node objects for the whole import: the consumed set holds
        # their ids, which must stay the same objects (protobuf makes new
        # wrappers on each iteration of g.node).
        self.nodes = list(self.g.node)
        self.consumers = {}
        for n in self.nodes:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in self.g.output}

    @staticmethod
    def to_array(t, what):
        try:
            return numpy_helper.to_array(t)
        except Exception as e:  # a cut raw_data shows up here
            raise ImportError_("%s: cannot read its data (%s: %s): malformed or truncated "
                               "file?" % (what, type(e).__name__, e))

    # --- small helpers -------------------------------------------------------

    def attr(self, n, key, default=None):
        for a in n.attribute:
            if a.name == key:
                return onnx.helper.get_attribute_value(a)
        return default

    def const(self, n, i, what):
        if len(n.input) <= i or not n.input[i]:
            return None
        name = n.input[i]
        if name not in self.consts:
            raise ImportError_("%s: %s '%s' must be a constant (an initializer or a "
                               "Constant node)" % (node_desc(n), what, name))
        return self.consts[name]

    def scalar_scale(self, n, i, what):
        s = self.const(n, i, what)
        if s is None or s.size != 1 or s.dtype != np.float32:
            raise ImportError_("%s: %s must be one float32 value (per-tensor), found %s"
                               % (node_desc(n), what, None if s is None else
                                  "%s %s" % (s.dtype, list(s.shape))))
        s = f32(s.reshape(-1)[0])
        if not (np.isfinite(s) and s > 0):
            raise ImportError_("%s: %s is %r" % (node_desc(n), what, float(s)))
        return s

    def scalar_zp(self, n, i, what):
        """(zero point in the int8 domain, whether the tensor is uint8)."""
        z = self.const(n, i, what)
        if z is None:
            return -128, True      # no zero point: ONNX's uint8 with zero point 0
        if z.dtype not in (np.int8, np.uint8):
            raise ImportError_("%s: %s is %s; int8 and uint8 activations are supported"
                               % (node_desc(n), what, z.dtype))
        if z.size != 1:
            raise ImportError_("%s: %s must be one value (per-tensor activations)" % (node_desc(n), what))
        u8 = z.dtype == np.uint8
        return int(z.reshape(-1)[0]) - (128 if u8 else 0), u8

    def new_name(self, n, base=None):
        base = sanitize(base or n.name or n.op_type.lower())
        name, k = base, 0
        while name in self.op_names:
            k += 1
            name = "%s_%d" % (base, k)
        self.op_names.add(name)
        return name

    def consume(self, n):
        self.consumed.add(id(n))

    def act(self, n, i, kind):
        """The QAct behind input i: kind 'f' (a dequantized int8 tensor) or 'q' (int8)."""
        name = n.input[i] if len(n.input) > i else ""
        table = self.fview if kind == "f" else self.qact
        if name in table:
            return table[name]
        other = self.qact if kind == "f" else self.fview
        if name in other:
            raise ImportError_("%s: input '%s' is %s, expected %s" % (
                node_desc(n), name, "an int8 tensor" if kind == "f" else "a float tensor",
                "the output of a DequantizeLinear of an int8 activation" if kind == "f"
                else "an int8 tensor"))
        raise ImportError_("%s: input '%s' is not %s (only quantized graphs are "
                           "supported: every float tensor an operator reads must come "
                           "from a DequantizeLinear)" % (node_desc(n), name,
                                                         "a dequantized int8 activation" if kind == "f"
                                                         else "an int8 activation"))

    def single_consumer(self, t, n):
        cons = self.consumers.get(t, [])
        if t in self.graph_outputs:
            raise ImportError_("%s: its float output '%s' is a graph output: it must be "
                               "quantized (QuantizeLinear) first" % (node_desc(n), t))
        if len(cons) != 1:
            raise ImportError_("%s: its float output '%s' has %d readers; expected one "
                               "QuantizeLinear (optionally after Relu/Clip)" % (node_desc(n), t, len(cons)))
        return cons[0]

    def float_bounds(self, c):
        """(min, max) of a float Clip node (inputs or, before opset 11, attributes)."""
        lo = self.const(c, 1, "min")
        hi = self.const(c, 2, "max")
        lo = float(lo.reshape(-1)[0]) if lo is not None else self.attr(c, "min", -np.inf)
        hi = float(hi.reshape(-1)[0]) if hi is not None else self.attr(c, "max", np.inf)
        return lo, hi

    def follow_to_quantize(self, n, t, allow_bias=False):
        """Follows the float output t of n through Relu / Clip (and, for MatMul,
        one Add of an int32 bias) to its QuantizeLinear. Returns (scale, zp,
        output ONNX name, clamp lo, clamp hi, bias Weight or None)."""
        flo, fhi, bias = -np.inf, np.inf, None
        while True:
            c = self.single_consumer(t, n)
            if c.op_type == "Relu":
                flo = max(flo, 0.0)
            elif c.op_type == "Clip":
                a, b = self.float_bounds(c)
                flo, fhi = max(flo, a), min(fhi, b)
            elif c.op_type == "Add" and allow_bias and bias is None:
                other = c.input[1] if c.input[0] == t else c.input[0]
                if other not in self.wview or self.wview[other].q.dtype != np.int32:
                    raise ImportError_("%s: the Add after %s must add a DequantizeLinear of "
                                       "an int32 bias" % (node_desc(c), node_desc(n)))
                bias = self.wview[other]
            elif c.op_type == "QuantizeLinear":
                s = self.scalar_scale(c, 1, "y_scale")
                z, u8 = self.scalar_zp(c, 2, "y_zero_point")
                self.consume(c)
                lo = -128 if flo == -np.inf else max(-128, quantize_value(flo, s, z))
                hi = 127 if fhi == np.inf else min(127, quantize_value(fhi, s, z))
                if lo > hi:
                    raise ImportError_("%s: the clip range quantizes to [%d, %d]" % (node_desc(c), lo, hi))
                return s, (z, u8), c.output[0], lo, hi, bias
            else:
                raise ImportError_("%s: its float output goes to %s; expected QuantizeLinear "
                                   "(optionally after Relu/Clip)" % (node_desc(n), node_desc(c)))
            self.consume(c)
            t = c.output[0]

    def save(self, fname, arr):
        self.files[fname] = arr
        return fname

    def scale_value(self, name, scales):
        """A number when every channel has the same scale, else NAME.scale.npy."""
        scales = np.asarray(scales, dtype=np.float64)
        if np.all(scales == scales[0]):
            return float(scales[0])
        return self.save(name + ".scale.npy", scales)

    def mac_requant(self, name, s_in, w_scale, s_out, cout):
        ws = np.broadcast_to(np.asarray(w_scale, dtype=np.float32).reshape(-1), (cout,))
        if self.precision == "float32":
            # QLinearConv / QGemm / QLinearMatMul: (X_scale * W_scale[i] / Y_scale) in float.
            sc = (f32(s_in) * ws.astype(F32)) / f32(s_out)
            return {"kind": "float", "scale": self.scale_value(name, sc.astype(np.float64)),
                    "precision": "float32"}
        sc = float(s_in) * ws.astype(np.float64) / float(s_out)
        return {"kind": "float", "scale": self.scale_value(name, sc)}

    def check_weight(self, n, w, axis_ok, what="weights"):
        if w.q.dtype != np.int8:
            raise ImportError_("%s: %s are %s, expected int8" % (node_desc(n), what, w.q.dtype))
        if np.any(w.zp != 0):
            raise ImportError_("%s: %s have a non-zero zero point (asymmetric weights are not "
                               "supported)" % (node_desc(n), what))
        if w.scale.size != 1 and w.axis != axis_ok:
            raise ImportError_("%s: %s are quantized per channel along axis %d; expected the "
                               "output-channel axis %d" % (node_desc(n), what, w.axis, axis_ok))

    def bias_array(self, n, b, s_in, w_scale, cout):
        if b is None:
            return None
        if b.q.dtype != np.int32 or b.q.size != cout:
            raise ImportError_("%s: bias must be int32 [%d], found %s %s"
                               % (node_desc(n), cout, b.q.dtype, list(b.q.shape)))
        if np.any(b.zp != 0):
            raise ImportError_("%s: bias has a non-zero zero point" % node_desc(n))
        # onnxruntime adds the int32 bias to the accumulator as is; that is the
        # graph's meaning only when its scale is s_x * s_w.
        want = np.broadcast_to(f32(s_in) * np.asarray(w_scale, dtype=F32).reshape(-1), (cout,))
        got = np.broadcast_to(b.scale.reshape(-1), (cout,))
        if np.any(np.abs(got.astype(np.float64) - want) > 1e-6 * np.abs(want)):
            raise ImportError_("%s: bias scale is not input scale x weight scale" % node_desc(n))
        return b.q.reshape(-1).astype(np.int32)

    # --- op emitters -----------------------------------------------------------

    def emit_mac(self, n, kind, x, w_q, w_scale, bias, s_out, z_out, lo, hi, out, extra):
        z_out, u8 = z_out if isinstance(z_out, tuple) else (z_out, False)
        cout = w_q.shape[0]
        name = self.new_name(n)
        d = {"op": kind, "name": name, "input": x.name, "output": name,
             "weights": self.save(name + ".weights.npy", np.ascontiguousarray(w_q, dtype=np.int8))}
        if bias is not None:
            d["bias"] = self.save(name + ".bias.npy", bias)
        d.update(extra)
        d["requantize"] = self.mac_requant(name, x.scale, w_scale, s_out, cout)
        d["output_zero_point"] = z_out
        d["clamp"] = [lo, hi]
        shape = d.pop("_shape")
        d["output_shape"] = shape
        self.ops.append(d)
        self.qact[out] = QAct(name, s_out, z_out, shape, u8)

    def conv_geometry(self, n, shape, kh, kw):
        if len(shape) != 3:
            raise ImportError_("%s: input shape %s; expected [C, H, W]" % (node_desc(n), shape))
        _, H, W = shape
        dil = self.attr(n, "dilations", [1, 1])
        if list(dil) != [1, 1]:
            raise ImportError_("%s: dilations %s are not supported" % (node_desc(n), list(dil)))
        sh, sw = self.attr(n, "strides", [1, 1])
        if self.attr(n, "ceil_mode", 0):
            raise ImportError_("%s: ceil_mode 1 is not supported" % node_desc(n))
        auto = self.attr(n, "auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            th = max((-(-H // sh) - 1) * sh + kh - H, 0)
            tw = max((-(-W // sw) - 1) * sw + kw - W, 0)
            if auto == "SAME_UPPER":   # the extra pad at the end: TensorFlow's SAME
                pad, p4 = "same", [th // 2, th - th // 2, tw // 2, tw - tw // 2]
            else:
                p4 = [th - th // 2, th // 2, tw - tw // 2, tw // 2]
                pad = p4
        elif auto == "VALID":
            pad, p4 = "valid", [0, 0, 0, 0]
        elif auto == "NOTSET":
            t, l, b, r = self.attr(n, "pads", [0, 0, 0, 0])
            p4 = [int(t), int(b), int(l), int(r)]
            pad = p4 if any(p4) else "valid"
        else:
            raise ImportError_("%s: auto_pad %s" % (node_desc(n), auto))
        oh = (H + p4[0] + p4[1] - kh) // sh + 1
        ow = (W + p4[2] + p4[3] - kw) // sw + 1
        if oh < 1 or ow < 1:
            raise ImportError_("%s: empty output" % node_desc(n))
        return [int(sh), int(sw)], pad, p4, oh, ow

    def conv(self, n, x, w, b, s_w_for_req, s_in, s_out, z_out, lo, hi, out):
        if w.q.ndim != 4:
            raise ImportError_("%s: only 2-D convolutions are supported (weights %s)"
                               % (node_desc(n), list(w.q.shape)))
        cout, cin_g, kh, kw = w.q.shape
        g = int(self.attr(n, "group", 1))
        C = x.shape[0] if len(x.shape) == 3 else -1
        if C != cin_g * g:
            raise ImportError_("%s: input has %d channels, weights expect %d x %d groups"
                               % (node_desc(n), C, cin_g, g))
        stride, pad, _, oh, ow = self.conv_geometry(n, x.shape, kh, kw)
        extra = {"stride": stride, "padding": pad, "_shape": [cout, oh, ow]}
        if g != 1:
            extra["groups"] = g
        bias = self.bias_array(n, b, s_in, s_w_for_req, cout)
        xr = QAct(x.name, s_in, x.zp, x.shape)
        self.emit_mac(n, "conv2d", xr, w.q, s_w_for_req, bias, s_out, z_out, lo, hi, out, extra)

    def fc(self, n, x, w_q, w_scale, b, s_in, s_out, z_out, lo, hi, out):
        if len(x.shape) != 1:
            raise ImportError_("%s: input shape %s; expected [N] (Flatten first)" % (node_desc(n), x.shape))
        cout, nin = w_q.shape
        if nin != x.shape[0]:
            raise ImportError_("%s: weights [%d, %d] for an input of %d" % (node_desc(n), cout, nin, x.shape[0]))
        bias = self.bias_array(n, b, s_in, w_scale, cout)
        xr = QAct(x.name, s_in, x.zp, x.shape)
        self.emit_mac(n, "fully_connected", xr, w_q, w_scale, bias, s_out, z_out, lo, hi, out,
                      {"_shape": [cout]})

    def emit_add(self, n, a, b, sa, sb, s_out, z_out, lo, hi, out):
        z_out, u8 = z_out if isinstance(z_out, tuple) else (z_out, False)
        if a.shape != b.shape:
            raise ImportError_("%s: inputs of shapes %s and %s: broadcasting is not supported"
                               % (node_desc(n), a.shape, b.shape))
        if not a.u8 == b.u8 == u8:
            raise ImportError_("%s: mixes int8 and uint8 tensors" % node_desc(n))
        name = self.new_name(n)
        if self.precision == "float32":
            # MlasQLinearAddKernelAvx2Helper: ratios and the fixed part in float32,
            # on the model's raw values (uint8: the description's + 128).
            k = 128 if u8 else 0
            r1, r2 = f32(sa) / f32(s_out), f32(sb) / f32(s_out)
            fixed = f32(f32(z_out + k) - f32(f32(r1 * f32(a.zp + k)) + f32(r2 * f32(b.zp + k))))
            rq = {"kind": "float", "scales": [float(r1), float(r2)], "precision": "float32",
                  "offset": float(fixed)}
            if k:
                rq["value_offset"] = k
        else:
            rq = {"kind": "float", "scales": [float(sa) / float(s_out), float(sb) / float(s_out)]}
        self.ops.append({"op": "add", "name": name, "inputs": [a.name, b.name], "output": name,
                         "requantize": rq, "output_zero_point": z_out, "clamp": [lo, hi],
                         "output_shape": a.shape})
        self.qact[out] = QAct(name, s_out, z_out, a.shape, u8)

    def emit_gap(self, n, x, s_in, s_out, z_out, lo, hi, out):
        z_out, u8 = z_out if isinstance(z_out, tuple) else (z_out, False)
        if len(x.shape) != 3:
            raise ImportError_("%s: input shape %s; expected [C, H, W]" % (node_desc(n), x.shape))
        C, H, W = x.shape
        name = self.new_name(n)
        ones = np.ones((C, 1, H, W), dtype=np.int8)
        if self.precision == "float32":
            # QLinearGlobalAveragePool: ScaleInput / (ScaleOutput * (float)ImageSize).
            sc = float(f32(s_in) / f32(f32(s_out) * f32(H * W)))
            rq = {"kind": "float", "scale": sc, "precision": "float32"}
        else:
            rq = {"kind": "float", "scale": float(s_in) / (float(s_out) * H * W)}
        self.ops.append({"op": "conv2d", "name": name, "input": x.name, "output": name,
                         "weights": self.save(name + ".weights.npy", ones), "groups": C,
                         "requantize": rq, "output_zero_point": z_out, "clamp": [lo, hi],
                         "output_shape": [C, 1, 1]})
        self.qact[out] = QAct(name, s_out, z_out, [C, 1, 1], u8)

    def emit_simple(self, n, x, d, shape):
        name = self.new_name(n)
        d.update({"name": name, "input": x.name, "output": name, "output_shape": shape})
        self.ops.append(d)
        return QAct(name, x.scale, x.zp, shape, x.u8)

    # --- node handlers ---------------------------------------------------------

    def quantize_linear(self, n):
        src = n.input[0]
        s = self.scalar_scale(n, 1, "y_scale") if src not in self.consts else None
        if src in self.consts:           # a weight quantized in the graph
            v = self.consts[src]
            sc = self.const(n, 1, "y_scale")
            zp = self.const(n, 2, "y_zero_point")
            if v.dtype != np.float32 or zp is None or zp.dtype != np.int8:
                raise ImportError_("%s: only float32 constants quantized to int8 are "
                                   "supported" % node_desc(n))
            axis = int(self.attr(n, "axis", 1))
            shp = [1] * v.ndim
            if sc.size > 1:
                shp[axis] = -1
            with np.errstate(all="ignore"):
                r = np.rint(v / sc.astype(F32).reshape(shp))
            q = np.clip(r + zp.astype(np.int64).reshape(shp), -128, 127).astype(np.int8)
            self.qconst[n.output[0]] = q
            self.consts[n.output[0]] = q
            return
        z, u8 = self.scalar_zp(n, 2, "y_zero_point")
        if src in self.fview:
            x = self.fview[src]
            if f32(x.scale) != s or x.zp != z or x.u8 != u8:
                raise ImportError_("%s: requantizes '%s' (scale %r, zero point %d) to scale %r, "
                                   "zero point %d: a QuantizeLinear after a DequantizeLinear must "
                                   "keep the parameters" % (node_desc(n), src, float(x.scale), x.zp,
                                                           float(s), z))
            self.qact[n.output[0]] = x
            return
        raise ImportError_("%s: its input '%s' is not produced by a supported pattern"
                           % (node_desc(n), src))

    def dequantize_linear(self, n):
        src = n.input[0]
        if self.attr(n, "block_size", 0):
            raise ImportError_("%s: blocked quantization is not supported" % node_desc(n))
        if src in self.qact:
            x = self.qact[src]
            s = self.scalar_scale(n, 1, "x_scale")
            z, u8 = self.scalar_zp(n, 2, "x_zero_point")
            if s != x.scale or z != x.zp or u8 != x.u8:
                raise ImportError_("%s: dequantizes '%s' with scale %r, zero point %d; it was "
                                   "quantized with %r, %d" % (node_desc(n), src, float(s), z,
                                                             float(x.scale), x.zp))
            self.fview[n.output[0]] = x
            return
        if src in self.consts:
            q = self.consts[src]
            if q.dtype not in (np.int8, np.int32):
                raise ImportError_("%s: constant '%s' is %s; int8 weights and int32 biases are "
                                   "supported" % (node_desc(n), src, q.dtype))
            sc = self.const(n, 1, "x_scale")
            zp = self.const(n, 2, "x_zero_point")
            if sc is None or sc.dtype != np.float32:
                raise ImportError_("%s: x_scale must be float32" % node_desc(n))
            zp = np.zeros(1, np.int64) if zp is None else zp.astype(np.int64)
            self.wview[n.output[0]] = Weight(q, sc.astype(F32).reshape(-1), zp.reshape(-1),
                                            int(self.attr(n, "axis", 1)) % max(q.ndim, 1))
            return
        raise ImportError_("%s: input '%s' is neither an int8 activation nor a constant"
                           % (node_desc(n), src))

    def weight_input(self, n, i, what="weights"):
        name = n.input[i] if len(n.input) > i else ""
        if name in self.wview:
            return self.wview[name]
        raise ImportError_("%s: %s '%s' are not a DequantizeLinear of an int8 constant "
                           "(float weights are not supported)" % (node_desc(n), what, name))

    def qdq_conv(self, n):
        x = self.act(n, 0, "f")
        w = self.weight_input(n, 1)
        self.check_weight(n, w, 0)
        b = None
        if len(n.input) > 2 and n.input[2]:
            b = self.weight_input(n, 2, "bias")
        s, z, out, lo, hi, _ = self.follow_to_quantize(n, n.output[0])
        self.conv(n, x, w, b, w.scale, x.scale, s, z, lo, hi, out)

    def qdq_gemm(self, n):
        x = self.act(n, 0, "f")
        w = self.weight_input(n, 1)
        if self.attr(n, "transA", 0) or self.attr(n, "alpha", 1.0) != 1.0 or \
                self.attr(n, "beta", 1.0) != 1.0:
            raise ImportError_("%s: only transA 0, alpha 1, beta 1 are supported" % node_desc(n))
        if w.q.ndim != 2:
            raise ImportError_("%s: weights of shape %s" % (node_desc(n), list(w.q.shape)))
        trans = bool(self.attr(n, "transB", 0))
        self.check_weight(n, w, 0 if trans else 1)
        wq = w.q if trans else w.q.T
        b = self.weight_input(n, 2, "bias") if len(n.input) > 2 and n.input[2] else None
        s, z, out, lo, hi, _ = self.follow_to_quantize(n, n.output[0])
        self.fc(n, x, wq, w.scale, b, x.scale, s, z, lo, hi, out)

    def qdq_matmul(self, n):
        x = self.act(n, 0, "f")
        w = self.weight_input(n, 1)
        if w.q.ndim != 2:
            raise ImportError_("%s: weights of shape %s" % (node_desc(n), list(w.q.shape)))
        self.check_weight(n, w, 1)
        s, z, out, lo, hi, b = self.follow_to_quantize(n, n.output[0], allow_bias=True)
        self.fc(n, x, w.q.T, w.scale, b, x.scale, s, z, lo, hi, out)

    def qdq_add(self, n):
        a, b = self.act(n, 0, "f"), self.act(n, 1, "f")
        s, z, out, lo, hi, _ = self.follow_to_quantize(n, n.output[0])
        self.emit_add(n, a, b, a.scale, b.scale, s, z, lo, hi, out)

    def qdq_gap(self, n):
        x = self.act(n, 0, "f")
        s, z, out, lo, hi, _ = self.follow_to_quantize(n, n.output[0])
        self.emit_gap(n, x, x.scale, s, z, lo, hi, out)

    def either(self, n, i=0):
        """(QAct, table) for input i: a dequantized view or an int8 tensor."""
        name = n.input[i]
        if name in self.fview:
            return self.fview[name], self.fview
        if name in self.qact:
            return self.qact[name], self.qact
        return self.act(n, i, "f"), None

    def max_pool(self, n):
        x, table = self.either(n)
        if len(n.output) > 1 and n.output[1]:
            raise ImportError_("%s: the Indices output is not supported" % node_desc(n))
        if self.attr(n, "storage_order", 0):
            raise ImportError_("%s: storage_order 1 is not supported" % node_desc(n))
        kh, kw = self.attr(n, "kernel_shape")
        stride, pad, p4, oh, ow = self.conv_geometry(n, x.shape, kh, kw)
        if max(p4[0], p4[1]) >= kh or max(p4[2], p4[3]) >= kw:
            raise ImportError_("%s: padding %s not smaller than the kernel" % (node_desc(n), p4))
        # max of dequantized values = dequantized max (the scale is positive).
        y = self.emit_simple(n, x, {"op": "max_pool", "kernel": [int(kh), int(kw)],
                                    "stride": stride, "padding": pad}, [x.shape[0], oh, ow])
        table[n.output[0]] = y

    def clamp_node(self, n, lo, hi):
        x, table = self.either(n)
        lo, hi = max(lo, -128), min(hi, 127)
        if lo > hi:
            raise ImportError_("%s: empty range [%d, %d]" % (node_desc(n), lo, hi))
        y = self.emit_simple(n, x, {"op": "clamp", "min": int(lo), "max": int(hi)}, x.shape)
        table[n.output[0]] = y

    def relu(self, n):
        x, _ = self.either(n)
        self.clamp_node(n, x.zp, 127)

    def clip(self, n):
        src = n.input[0]
        # QCDQ: Brevitas narrows the weights' range, on a QuantizeLinear of a float
        # constant or (Brevitas 0.13) directly on an int8 constant.
        int8_const = src in self.consts and self.consts[src].dtype == np.int8
        if src in self.qconst or int8_const:
            lo, hi = self.const(n, 1, "min"), self.const(n, 2, "max")
            q = self.qconst[src] if src in self.qconst else self.consts[src]
            lo = -128 if lo is None else int(lo.reshape(-1)[0])
            hi = 127 if hi is None else int(hi.reshape(-1)[0])
            q = np.clip(q, lo, hi).astype(np.int8)
            self.qconst[n.output[0]] = q
            self.consts[n.output[0]] = q
            return
        x, table = self.either(n)
        if table is self.qact:         # integer clip (QCDQ on activations)
            lo, hi = self.const(n, 1, "min"), self.const(n, 2, "max")
            k = 128 if x.u8 else 0     # a uint8 bound v is v - 128 in the description
            lo = -128 if lo is None else int(lo.reshape(-1)[0]) - k
            hi = 127 if hi is None else int(hi.reshape(-1)[0]) - k
        else:                           # float clip of a dequantized tensor
            a, b = self.float_bounds(n)
            lo = -128 if a == -np.inf else quantize_value(a, x.scale, x.zp)
            hi = 127 if b == np.inf else quantize_value(b, x.scale, x.zp)
        self.clamp_node(n, lo, hi)

    def reshape(self, n):
        x, table = self.either(n)
        count = int(np.prod(x.shape))
        if n.op_type == "Flatten":
            if int(self.attr(n, "axis", 1)) != 1:
                raise ImportError_("%s: only axis 1 is supported" % node_desc(n))
            shape = [count]
        else:
            sh = self.const(n, 1, "shape")
            sh = [int(v) for v in sh.reshape(-1)]
            if not sh or sh[0] not in (1, -1, 0):
                raise ImportError_("%s: the first dimension (the batch) must be kept" % node_desc(n))
            full = [1] + list(x.shape)
            rest = [full[i] if v == 0 else v for i, v in enumerate(sh)][1:]
            if rest.count(-1) > 1:
                raise ImportError_("%s: shape %s" % (node_desc(n), sh))
            if -1 in rest:
                known = int(np.prod([v for v in rest if v != -1])) or 1
                rest[rest.index(-1)] = count // known
            shape = rest
            if not 1 <= len(shape) <= 3 or int(np.prod(shape)) != count:
                raise ImportError_("%s: shape %s for %d elements" % (node_desc(n), sh, count))
        y = self.emit_simple(n, x, {"op": "reshape", "shape": shape}, shape)
        table[n.output[0]] = y

    def transpose(self, n):
        """Only of a 2-D dequantized weight (PyTorch exports Linear as
        DequantizeLinear -> Transpose -> MatMul); onnxruntime folds it."""
        src = n.input[0]
        perm = list(self.attr(n, "perm", [1, 0]))
        if src not in self.wview or self.wview[src].q.ndim != 2 or perm != [1, 0]:
            raise ImportError_("%s: only a [1, 0] transpose of a dequantized 2-D weight is "
                               "supported" % node_desc(n))
        w = self.wview[src]
        self.wview[n.output[0]] = Weight(w.q.T, w.scale, w.zp, 1 - w.axis)

    def alias(self, n):
        x, table = self.either(n)
        table[n.output[0]] = x

    # --- QOperator form ----------------------------------------------------------

    def qparams(self, n, si, zi, x, what):
        s = self.scalar_scale(n, si, what + "_scale")
        z, u8 = self.scalar_zp(n, zi, what + "_zero_point")
        if x is not None and (z != x.zp or u8 != x.u8):
            raise ImportError_("%s: %s zero point %d differs from the tensor's %d"
                               % (node_desc(n), what, z, x.zp))
        return s, (z, u8)

    def qweight(self, n, qi, si, zi):
        q = self.const(n, qi, "weights")
        sc = self.const(n, si, "weight scale")
        zp = self.const(n, zi, "weight zero point")
        if q is None or sc is None:
            raise ImportError_("%s: weights and their scale must be constants" % node_desc(n))
        return Weight(q, sc.astype(F32).reshape(-1),
                      np.zeros(1, np.int64) if zp is None else zp.astype(np.int64).reshape(-1), 0)

    def qlinear_conv(self, n):
        x = self.act(n, 0, "q")
        sx, _ = self.qparams(n, 1, 2, x, "x")
        w = self.qweight(n, 3, 4, 5)
        self.check_weight(n, w, 0)
        sy, zy = self.qparams(n, 6, 7, None, "y")
        b = None
        bq = self.const(n, 8, "bias")
        if bq is not None:
            b = Weight(bq, (sx * w.scale).astype(F32), np.zeros(1, np.int64), 0)
        self.conv(n, x, w, b, w.scale, sx, sy, zy, -128, 127, n.output[0])

    def qlinear_matmul(self, n):
        x = self.act(n, 0, "q")
        sx, _ = self.qparams(n, 1, 2, x, "a")
        w = self.qweight(n, 3, 4, 5)
        w.axis = 1
        if w.q.ndim != 2:
            raise ImportError_("%s: weights of shape %s" % (node_desc(n), list(w.q.shape)))
        self.check_weight(n, w, 1)
        sy, zy = self.qparams(n, 6, 7, None, "y")
        self.fc(n, x, w.q.T, w.scale, None, sx, sy, zy, -128, 127, n.output[0])

    def qgemm(self, n):
        """com.microsoft QGemm (onnxruntime's QOperator Gemm): A, a_scale, a_zp, B,
        b_scale, b_zp, C (int32 bias), y_scale, y_zp."""
        if self.attr(n, "transA", 0) or self.attr(n, "alpha", 1.0) != 1.0:
            raise ImportError_("%s: only transA 0, alpha 1 are supported" % node_desc(n))
        if len(n.input) < 9 or not n.input[7]:
            raise ImportError_("%s: a QGemm without y_scale (float output) is not supported"
                               % node_desc(n))
        x = self.act(n, 0, "q")
        sx, _ = self.qparams(n, 1, 2, x, "a")
        w = self.qweight(n, 3, 4, 5)
        if w.q.ndim != 2:
            raise ImportError_("%s: weights of shape %s" % (node_desc(n), list(w.q.shape)))
        trans = bool(self.attr(n, "transB", 0))
        w.axis = 0 if trans else 1
        self.check_weight(n, w, w.axis)
        sy, zy = self.qparams(n, 7, 8, None, "y")
        b = None
        bq = self.const(n, 6, "bias")
        if bq is not None:
            b = Weight(bq, (sx * w.scale).astype(F32), np.zeros(1, np.int64), 0)
        self.fc(n, x, w.q if trans else w.q.T, w.scale, b, sx, sy, zy, -128, 127, n.output[0])

    def qlinear_add(self, n):
        a, b = self.act(n, 0, "q"), self.act(n, 3, "q")
        sa, _ = self.qparams(n, 1, 2, a, "A")
        sb, _ = self.qparams(n, 4, 5, b, "B")
        sc, zc = self.qparams(n, 6, 7, None, "C")
        self.emit_add(n, a, b, sa, sb, sc, zc, -128, 127, n.output[0])

    def qlinear_gap(self, n):
        if self.attr(n, "channels_last", 0):
            raise ImportError_("%s: channels_last 1 is not supported" % node_desc(n))
        x = self.act(n, 0, "q")
        sx, _ = self.qparams(n, 1, 2, x, "x")
        sy, zy = self.qparams(n, 3, 4, None, "y")
        self.emit_gap(n, x, sx, sy, zy, -128, 127, n.output[0])

    # --- the graph -----------------------------------------------------------------

    def graph_input(self):
        inits = set(self.consts)
        ins = [i for i in self.g.input if i.name not in inits]
        if len(ins) != 1:
            raise ImportError_("the graph has %d inputs; want one (the image)" % len(ins))
        gi = ins[0]
        tt = gi.type.tensor_type
        if tt.elem_type != onnx.TensorProto.FLOAT:
            raise ImportError_("input '%s' has element type %s; want float (quantized by a "
                               "QuantizeLinear)" % (gi.name, onnx.TensorProto.DataType.Name(tt.elem_type)))
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        if len(dims) != 4 or dims[1:] != [3, 32, 32]:
            raise ImportError_("input '%s' has shape %s; want [N, 3, 32, 32] (CIFAR-10 images)"
                               % (gi.name, dims))
        cons = self.consumers.get(gi.name, [])
        if len(cons) != 1 or cons[0].op_type != "QuantizeLinear":
            raise ImportError_("input '%s' must be read by exactly one QuantizeLinear (found %s)"
                               % (gi.name, ", ".join(node_desc(c) for c in cons) or "none"))
        q = cons[0]
        s = self.scalar_scale(q, 1, "y_scale")
        z, u8 = self.scalar_zp(q, 2, "y_zero_point")
        self.consume(q)
        self.qact[q.output[0]] = QAct("input", s, z, [3, 32, 32], u8)
        if float(s) == 1.0 and self.input_mean is None and self.input_std is None:
            return s, z, {"kind": "offset", "offset": z}
        mean = self.input_mean if self.input_mean is not None else [0.0] * 3
        std = self.input_std if self.input_std is not None else [1.0] * 3
        if len(mean) != 3 or len(std) != 3:
            raise ImportError_("--input-mean/--input-std need 3 values")
        return s, z, {"kind": "affine", "mean": mean, "std": std, "scale": float(s),
                      "zero_point": z}

    def graph_output(self):
        if len(self.g.output) != 1:
            raise ImportError_("the graph has %d outputs; want one" % len(self.g.output))
        t = self.g.output[0].name
        prod = {o: n for n in self.nodes for o in n.output}
        seen = 0
        while t not in self.qact:
            n = prod.get(t)
            if n is None or seen > len(self.g.node):
                raise ImportError_("the graph output '%s' is not an int8 tensor of the "
                                   "imported graph" % self.g.output[0].name)
            if n.op_type in ("Softmax", "DequantizeLinear", "Identity"):
                t = n.input[0]       # the prediction is the argmax of the int8 logits
            else:
                raise ImportError_("the graph output '%s' comes from %s, not from a quantized "
                                   "tensor" % (self.g.output[0].name, node_desc(n)))
            seen += 1
        return self.qact[t].name

    def run(self):
        ops = {n.op_type for n in self.nodes}
        if not ops & {"QuantizeLinear", "QLinearConv", "QLinearMatMul"}:
            raise ImportError_("a float model: no QuantizeLinear, QLinearConv or QLinearMatMul "
                               "operator (quantize it first, e.g. onnxruntime.quantization."
                               "quantize_static in QDQ format)")
        for n in self.nodes:       # Constant nodes become constants
            if n.op_type == "Constant":
                t = self.attr(n, "value")
                if t is None:
                    raise ImportError_("%s: only 'value' constants are supported" % node_desc(n))
                self.consts[n.output[0]] = self.to_array(t, node_desc(n))
                self.consume(n)
        _, z_in, quant = self.graph_input()
        handlers = {
            "QuantizeLinear": self.quantize_linear, "DequantizeLinear": self.dequantize_linear,
            "Conv": self.qdq_conv, "Gemm": self.qdq_gemm, "MatMul": self.qdq_matmul,
            "Add": self.qdq_add, "GlobalAveragePool": self.qdq_gap, "MaxPool": self.max_pool,
            "Relu": self.relu, "Clip": self.clip, "Flatten": self.reshape, "Reshape": self.reshape,
            "Identity": self.alias, "Dropout": self.alias, "Transpose": self.transpose,
            "QLinearConv": self.qlinear_conv, "QLinearMatMul": self.qlinear_matmul,
            "QLinearAdd": self.qlinear_add, "QGemm": self.qgemm, "QLinearGlobalAveragePool": self.qlinear_gap,
        }
        out_names = {o.name for o in self.g.output}
        for n in self.nodes:
            if id(n) in self.consumed:
                continue
            if n.domain not in ("", "ai.onnx", "com.microsoft"):
                raise ImportError_("%s: domain '%s' is not supported; supported: %s"
                                   % (node_desc(n), n.domain, SUPPORTED))
            if n.op_type == "Softmax" and all(o in out_names for o in n.output):
                continue
            if n.op_type == "BatchNormalization":
                raise ImportError_("%s: BatchNormalization is not supported: between a "
                                   "DequantizeLinear and a QuantizeLinear onnxruntime runs it in "
                                   "float (it has no integer kernel), which no integer "
                                   "requantization reproduces exactly; fold it into the "
                                   "convolution before quantizing" % node_desc(n))
            h = handlers.get(n.op_type)
            if h is None:
                raise ImportError_("%s is not supported; supported: %s" % (node_desc(n), SUPPORTED))
            h(n)
            self.consume(n)
        out = self.graph_output()
        if out == "input":
            raise ImportError_("the model has no operators")
        self.prune(out)
        return {"format": "accsim-network", "version": FORMAT_VERSION, "name": self.name,
                "layout": "NCHW",
                "input": {"tensor": "input", "shape": [3, 32, 32], "zero_point": z_in,
                          "quantize": quant},
                "output": out, "ops": self.ops}

    def run_and_files(self):
        """(manifest, {file name: array}) of the import."""
        return self.run(), self.files

    def prune(self, out):
        """Drops ops whose outputs nothing reads (e.g. an int8 tensor that only
        fed a graph output through a DequantizeLinear elsewhere); the loader
        rejects unused tensors."""
        while True:
            used = {out}
            for d in self.ops:
                used.update(d.get("inputs") or [d["input"]])
            dead = [d for d in self.ops if d["output"] not in used]
            if not dead:
                return
            for d in dead:
                self.ops.remove(d)
                for k in ("weights", "bias"):
                    self.files.pop(d.get(k), None)
                rq = d.get("requantize", {})
                if isinstance(rq.get("scale"), str):
                    self.files.pop(rq["scale"], None)


def load_model(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImportError_("%s: %s" % (path, e.strerror or e))
    if len(data) == 0:
        raise ImportError_("%s: empty file: not an ONNX model" % path)
    try:
        m = onnx.load_model_from_string(data)
    except Exception as e:
        raise ImportError_("%s: not an ONNX model, or truncated (%s: %s)"
                           % (path, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
    if m.ir_version <= 0 or not m.HasField("graph") or len(m.graph.node) == 0:
        raise ImportError_("%s: not an ONNX model, or truncated (no graph or no nodes)" % path)
    try:
        onnx.checker.check_model(m)
    except Exception as e:
        raise ImportError_("%s: malformed ONNX model (onnx.checker: %s)"
                           % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
    return m


def import_model(path, out_dir, name=None, input_mean=None, input_std=None,
                 precision="float32"):
    try:
        netdesc_write.check_target(out_dir)
        model = load_model(path)
        if name is None:
            name = sanitize(os.path.splitext(os.path.basename(path))[0])
        manifest = Importer(model, name, input_mean, input_std, precision).run_and_files()
        netdesc_write.write_atomic(out_dir, manifest[0], manifest[1])
    except netdesc_write.WriteError as e:
        raise ImportError_(str(e))
    return manifest[0]



def main(argv=None):
    ap = import_cli.parser(__doc__, "the .onnx file")
    ap.add_argument("--precision", choices=("float32", "float64"), default="float32",
                    help="float32: onnxruntime's integer kernels (default); float64: the "
                    "graph's QDQ arithmetic in double")
    ap.add_argument("--allow-rounding-ties", action="store_true",
                    help="accepted for the same command line as import_tflite.py; no effect "
                    "(the float32 rounding recorded is onnxruntime's own)")

    def run(args, mean, std):
        return import_model(args.model, args.out, args.name, mean, std, args.precision)
    return import_cli.main(ap, argv, "import_onnx", ImportError_, run)


if __name__ == "__main__":
    sys.exit(main())
