#!/usr/bin/env python3
"""A small NumPy reference of accsim's network description (design version 1),
written from the design text only, for cross-checking the importers and the C
interpreter: exact integer arithmetic (no accumulator width: every register is
wide enough), so it stands for accsim at widths where nothing saturates.
It checks that claim: for each MAC layer it bounds every partial sum by the sum
of |products| plus |bias| and reports the largest bound seen.

    netdesc_ref.py --model DIR --data CIFAR_DIR [--limit N] [--dump-outputs CSV]

Supported: layout NHWC and NCHW, input quantize offset/affine (not course),
conv2d (groups, padding, stride), fully_connected, add (fixed and float),
avg_pool, max_pool, clamp, reshape; requantize fixed (double rounding) and float
(rounding half_even or half_away; precision float64, and float32 for MAC layers
and add).
Accumulator options do not change exact sums; folded zero points are honoured
(padding taps then count as x = z, which adds 0 after folding).
"""
import argparse
import json
import os
import sys

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int64 arrays holding int32 values."""
    a = a.astype(np.int64)
    b = np.int64(b) if np.isscalar(b) else b.astype(np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    s = ab + nudge
    # C++ integer division by 2^31 truncates toward zero.
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where(overflow, INT32_MAX, q)


def rdbpot(x, e):
    """gemmlowp RoundingDivideByPOT (e >= 0, array or scalar)."""
    e = np.asarray(e, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> e) + (remainder > threshold).astype(np.int64)


def wrap32(x):
    return ((x.astype(np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def mbqm(acc, m, s):
    """TFLite MultiplyByQuantizedMultiplier (double rounding), per channel on the last axis."""
    m = np.asarray(m, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    x = wrap32(acc.astype(np.int64) * (np.int64(1) << left))
    return rdbpot(srdhm(x, m), right)


def mbqm_smaller_than_one(x, m, s):
    return rdbpot(srdhm(x, m), -np.int64(s))


def round_half_even(x):
    return np.rint(x)


def fma32(a, b, c):
    """float32 fmaf(a, b, c), correctly rounded, for int-valued a (|a| < 2^29) and
    float32 b, c: a * b is exact in double; the double sum s = a*b + c and its error
    (TwoSum) give the exact value; s rounds to the right float32 unless s is itself
    a float32 midpoint, where the error's sign decides."""
    p = np.asarray(a, dtype=np.float64) * np.float64(b)
    c64 = np.asarray(c, dtype=np.float32).astype(np.float64)
    s = p + c64
    bb = s - p
    err = (p - (s - bb)) + (c64 - bb)
    f = s.astype(np.float32)
    toward = np.where(s > f.astype(np.float64), np.float32(np.inf), np.float32(-np.inf))
    nxt = np.nextafter(f, toward.astype(np.float32))
    mid = (f.astype(np.float64) != s) & (np.abs(s - f) == np.abs(nxt.astype(np.float64) - s))
    up = np.maximum(f, nxt)
    down = np.minimum(f, nxt)
    fixed = np.where(err > 0, up, np.where(err < 0, down, f))
    return np.where(mid, fixed, f).astype(np.float32)


def round_half_away(x):
    """C round() / TfLiteRound: halves away from zero. x - trunc(x) is exact, so
    no addition of 0.5 can round (floor(x + 0.5) fails just below 0.5)."""
    t = np.trunc(x)
    return t + np.where(np.abs(x - t) >= 0.5, np.sign(x), 0.0)


# The float requantization's "rounding" (default half_even).
FLOAT_ROUNDING = {"half_even": round_half_even, "half_away": round_half_away}


def quantize_pixels(manifest, pixels_chw):
    """pixels uint8 [N, C, H, W] (CIFAR order) -> the int8 input (int64 values, still
    [N, C, H, W]) as manifest's input quantization says; also tools/tflite_parity.py's."""
    q = manifest["input"]["quantize"]
    p = pixels_chw.astype(np.int64)
    if q["kind"] == "offset":
        return np.clip(p + int(q["offset"]), -128, 127)
    if q["kind"] == "affine":
        mean = np.asarray(q["mean"], dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(q["std"], dtype=np.float64).reshape(1, -1, 1, 1)
        v = ((p.astype(np.float64) / 255.0 - mean) / std) / float(q["scale"])
        return np.clip(round_half_even(v) + int(q["zero_point"]), -128, 127).astype(np.int64)
    raise ValueError("input quantize kind %r not supported here" % q["kind"])


class Net:
    def __init__(self, model_dir):
        self.dir = model_dir
        with open(os.path.join(model_dir, "network.json")) as f:
            self.m = json.load(f)
        m = self.m
        if m.get("format") != "accsim-network" or m.get("version") != 1:
            raise ValueError("not an accsim-network version 1 manifest")
        self.layout = m.get("layout", "NHWC")
        ops = m["ops"]
        # Order the ops: each after the tensors it reads.
        have = {m["input"]["tensor"]}
        order, pending = [], list(ops)
        while pending:
            ready = [o for o in pending if all(t in have for t in self.inputs(o))]
            if not ready:
                raise ValueError("cycle or unknown tensor among %s" % [o["name"] for o in pending])
            for o in ready:
                order.append(o)
                have.add(o["output"])
                pending.remove(o)
        self.ops = order

    @staticmethod
    def inputs(op):
        return op["inputs"] if "inputs" in op else [op["input"]]

    def npy(self, v, dtype=None):
        if isinstance(v, str):
            a = np.load(os.path.join(self.dir, v), allow_pickle=False)
        else:
            a = np.asarray(v)
        return a if dtype is None else a.astype(dtype)

    def quantize_input(self, pixels_chw):
        """pixels uint8 [N, C, H, W] (CIFAR order) -> int8 input in the layout's order."""
        x = quantize_pixels(self.m, pixels_chw)
        if self.layout == "NHWC":
            x = x.transpose(0, 2, 3, 1)
        return np.ascontiguousarray(x)

    def run(self, x, observe=None):
        """x: int64 [N, ...] in the layout's order. Returns (output [N, K], bounds).
        observe(op, y), when given, sees every op's output and may return an array
        of the same shape to use instead (e.g. another implementation's values,
        to find the first op that differs)."""
        m = self.m
        vals = {m["input"]["tensor"]: x}
        zps = {m["input"]["tensor"]: int(m["input"].get("zero_point", 0))}
        bounds = {}
        for op in self.ops:
            kind = op["op"]
            ins = [vals[t] for t in self.inputs(op)]
            zin = [zps[t] for t in self.inputs(op)]
            if kind == "conv2d":
                y, b = self.conv2d(op, ins[0], zin[0])
                bounds[op["name"]] = b
                zo = int(op.get("output_zero_point", 0))
            elif kind == "fully_connected":
                y, b = self.fc(op, ins[0], zin[0])
                bounds[op["name"]] = b
                zo = int(op.get("output_zero_point", 0))
            elif kind == "add":
                y = self.add(op, ins, zin)
                zo = int(op.get("output_zero_point", 0))
            elif kind in ("max_pool", "avg_pool"):
                y = self.pool(op, ins[0])
                zo = zin[0]
            elif kind == "clamp":
                y = np.clip(ins[0], int(op["min"]), int(op["max"]))
                zo = zin[0]
            elif kind == "reshape":
                y = ins[0].reshape((ins[0].shape[0],) + tuple(op["shape"]))
                zo = zin[0]
            else:
                raise ValueError("op %r not supported here" % kind)
            if "output_shape" in op and list(y.shape[1:]) != list(op["output_shape"]):
                raise ValueError("%s: shape %s, manifest says %s" % (op["name"], y.shape[1:],
                                                                    op["output_shape"]))
            if observe is not None:
                repl = observe(op, y)
                if repl is not None:
                    y = np.asarray(repl, dtype=np.int64).reshape(y.shape)
            vals[op["output"]] = y
            zps[op["output"]] = zo
        out = vals[m["output"]]
        return out.reshape(out.shape[0], -1), bounds

    def requantize(self, op, acc):
        rq = op["requantize"]
        zo = int(op.get("output_zero_point", 0))
        lo, hi = op.get("clamp", [-128, 127])
        if rq["kind"] == "fixed":
            if rq.get("rounding", "double") != "double":
                raise ValueError("rounding %r not supported here" % rq["rounding"])
            r = mbqm(acc, self.npy(rq["multiplier"], np.int64), self.npy(rq["shift"], np.int64))
        elif rq["kind"] == "float":
            rounding = rq.get("rounding", "half_even")
            if rounding not in FLOAT_ROUNDING:
                raise ValueError("requantize: rounding %r (want half_even or half_away)"
                                 % rounding)
            if rq.get("precision", "float64") == "float32":
                # (float)acc * (float)scale: one float32 product.
                sc = self.npy(rq["scale"], np.float64).astype(np.float32)
                prod = acc.astype(np.float32) * sc
            else:
                prod = acc.astype(np.float64) * self.npy(rq["scale"], np.float64)
            r = FLOAT_ROUNDING[rounding](prod).astype(np.int64)
        else:
            raise ValueError("requantize kind %r" % rq["kind"])
        return np.clip(r + zo, lo, hi)

    @staticmethod
    def pads(padding, size, k, s):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            out = (size + s - 1) // s
            total = max((out - 1) * s + k - size, 0)
            return total // 2, total - total // 2
        raise ValueError(padding)

    def padding4(self, op, H, W, KH, KW, sh, sw):
        p = op.get("padding", "valid")
        if isinstance(p, list):
            return p
        t, b = self.pads(p, H, KH, sh)
        l, r = self.pads(p, W, KW, sw)
        return [t, b, l, r]

    def windows(self, x, KH, KW, sh, sw, pad, fill):
        """x [N, H, W, C] -> patches [N, OH, OW, KH, KW, C] and a validity mask [OH, OW, KH, KW]."""
        N, H, W, C = x.shape
        t, b, l, r = pad
        xp = np.full((N, H + t + b, W + l + r, C), fill, dtype=x.dtype)
        xp[:, t:t + H, l:l + W, :] = x
        valid = np.zeros((H + t + b, W + l + r), dtype=bool)
        valid[t:t + H, l:l + W] = True
        OH = (H + t + b - KH) // sh + 1
        OW = (W + l + r - KW) // sw + 1
        sN, sH, sW, sC = xp.strides
        patches = np.lib.stride_tricks.as_strided(
            xp, (N, OH, OW, KH, KW, C), (sN, sH * sh, sW * sw, sH, sW, sC), writeable=False)
        vs = valid.strides
        vmask = np.lib.stride_tricks.as_strided(
            valid, (OH, OW, KH, KW), (vs[0] * sh, vs[1] * sw, vs[0], vs[1]), writeable=False)
        return patches, vmask

    def to_nhwc(self, x):
        return x if self.layout == "NHWC" else x.transpose(0, 2, 3, 1)

    def from_nhwc(self, y):
        return y if self.layout == "NHWC" else np.ascontiguousarray(y.transpose(0, 3, 1, 2))

    def conv2d(self, op, x, z):
        w = self.npy(op["weights"], np.int64)
        if self.layout == "NCHW":
            w = w.transpose(0, 2, 3, 1)          # -> [C_out, KH, KW, C_in/g]
        if int(op.get("weight_zero_point", 0)) != 0:
            raise ValueError("weight_zero_point must be 0")
        cout, KH, KW, cin_g = w.shape
        g = int(op.get("groups", 1))
        sh, sw = op.get("stride", [1, 1])
        xh = self.to_nhwc(x)
        N, H, W, C = xh.shape
        pad = self.padding4(op, H, W, KH, KW, sh, sw)
        # per_product: (x - z) * w, padding skipped == padding as x - z = 0.
        # folded: x * w with padding x = z, then -z * sum(w): the same exact sum.
        patches, _ = self.windows(xh - z, KH, KW, sh, sw, pad, 0)
        OH, OW = patches.shape[1], patches.shape[2]
        per = cout // g
        acc = np.zeros((N, OH, OW, cout), dtype=np.int64)
        bound = np.zeros((N, OH, OW, cout), dtype=np.float64)
        for gi in range(g):
            pg = patches[..., gi * cin_g:(gi + 1) * cin_g].reshape(N, OH, OW, -1).astype(np.float64)
            wg = w[gi * per:(gi + 1) * per].reshape(per, -1).astype(np.float64)
            acc[..., gi * per:(gi + 1) * per] = np.rint(pg @ wg.T).astype(np.int64)
            bound[..., gi * per:(gi + 1) * per] = np.abs(pg) @ np.abs(wg).T
        if "bias" in op:
            bias = self.npy(op["bias"], np.int64)
            acc += bias
            bound += np.abs(bias)
        y = self.requantize(op, acc)
        return self.from_nhwc(y), float(bound.max())

    def fc(self, op, x, z):
        w = self.npy(op["weights"], np.int64).astype(np.float64)
        xf = (x.reshape(x.shape[0], -1) - z).astype(np.float64)
        acc = np.rint(xf @ w.T).astype(np.int64)
        bound = np.abs(xf) @ np.abs(w).T
        if "bias" in op:
            bias = self.npy(op["bias"], np.int64)
            acc += bias
            bound += np.abs(bias)
        return self.requantize(op, acc), float(bound.max())

    def add(self, op, ins, zin):
        a, b = ins
        rq = op["requantize"]
        zo = int(op.get("output_zero_point", 0))
        lo, hi = op.get("clamp", [-128, 127])
        if rq["kind"] == "fixed":
            ls = int(rq["left_shift"])
            m1, m2 = rq["input_multipliers"]
            s1, s2 = rq["input_shifts"]
            v1 = mbqm_smaller_than_one((a - zin[0]) * (1 << ls), m1, s1)
            v2 = mbqm_smaller_than_one((b - zin[1]) * (1 << ls), m2, s2)
            r = mbqm_smaller_than_one(v1 + v2, rq["output_multiplier"], rq["output_shift"]) + zo
        elif rq.get("precision", "float64") == "float32":
            # fmaf(x1 + k, a1, fmaf(x2 + k, a2, offset)) - k on the values (k: the
            # value_offset, 128 for a uint8 model); the offset holds the zero points.
            a1, a2 = (np.float32(v) for v in rq["scales"])
            k = int(rq.get("value_offset", 0))
            t = fma32(a + k, a1, fma32(b + k, a2, np.float32(rq["offset"])))
            r = np.clip(np.rint(t) - k, -128, 127).astype(np.int64)
        else:
            a1, a2 = rq["scales"]
            r = round_half_even(a1 * (a - zin[0]) + a2 * (b - zin[1])).astype(np.int64) + zo
        return np.clip(r, lo, hi)

    def pool(self, op, x):
        KH, KW = op["kernel"]
        sh, sw = op.get("stride", [1, 1])
        xh = self.to_nhwc(x)
        N, H, W, C = xh.shape
        pad = self.padding4(op, H, W, KH, KW, sh, sw)
        patches, vmask = self.windows(xh, KH, KW, sh, sw, pad, 0)
        vm = vmask[None, :, :, :, :, None]
        if op["op"] == "max_pool":
            y = np.where(vm, patches, -(1 << 40)).max(axis=(3, 4))
        else:
            s = np.where(vm, patches, 0).sum(axis=(3, 4))
            cnt = vmask.sum(axis=(2, 3)).astype(np.int64)[None, :, :, None]
            # C integer division truncates: round half away from zero.
            num = np.where(s > 0, s + cnt // 2, s - cnt // 2)
            y = np.sign(num) * (np.abs(num) // cnt)
        lo, hi = op.get("clamp", [-128, 127])
        return self.from_nhwc(np.clip(y, lo, hi))


def load_cifar(path, limit=None):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        raise ValueError("%s: not CIFAR-10 records" % path)
    raw = raw.reshape(-1, 3073)
    if limit is not None:
        raw = raw[:limit]
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def run_images(net, pixels, batch=250):
    outs, worst = [], {}
    for i in range(0, len(pixels), batch):
        o, b = net.run(net.quantize_input(pixels[i:i + batch]))
        outs.append(o)
        for k, v in b.items():
            worst[k] = max(worst.get(k, 0.0), v)
    return np.concatenate(outs), worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="CIFAR-10 directory (test_batch.bin)")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--dump-outputs", help="CSV: split,index,label,prediction,out0,...")
    args = ap.parse_args()
    net = Net(args.model)
    pixels, labels = load_cifar(os.path.join(args.data, "test_batch.bin"), args.limit)
    out, worst = run_images(net, pixels)
    pred = out.argmax(axis=1)
    print("images %d, accuracy %.2f %%" % (len(labels), 100.0 * (pred == labels).mean()))
    for k, v in worst.items():
        print("  %-12s largest partial-sum bound %.0f (%.1f bits)" % (k, v, np.log2(max(v, 1)) + 1))
    if args.dump_outputs:
        with open(args.dump_outputs, "w") as f:
            f.write("split,index,label,prediction," +
                    ",".join("out%d" % i for i in range(out.shape[1])) + "\n")
            for i in range(len(labels)):
                f.write("test,%d,%d,%d,%s\n" % (i, labels[i], pred[i],
                                                ",".join(str(int(v)) for v in out[i])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
