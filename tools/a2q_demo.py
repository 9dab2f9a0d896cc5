#!/usr/bin/env python3
"""Trains a small CIFAR-10 CNN with Brevitas's A2Q weight quantizer (accumulator-aware
quantization: every output channel's integer weights have an l1 norm small enough that a
P-bit signed accumulator cannot overflow on any input of the layer's input bit width) and
exports it as QCDQ ONNX, for accsim to check the guarantee image by image.

    build/a2q-venv/bin/python tools/a2q_demo.py --data ../shared/cifar10 --acc-bits 16 \
        --out out/a2q16.onnx [--epochs 2] [--train-limit N]

The network (no biases, so that the accumulator holds only the products, which is what
A2Q bounds; no batch norm, which would change the weights after training):

    x = pixels / 255 -> uint8 input quantizer, fixed scale 1/255 (so the integer input is
    the pixel byte itself) -> [conv 3x3 pad 1 -> ReLU -> uint8 -> max pool 2] x 3 with
    8, 16, 32 channels -> flatten -> linear 512 -> 10 -> int8 logits.

Every conv and linear layer uses Int8AccumulatorAwareWeightQuant with
weight_accumulator_bit_width = P; every activation is 8 bits (unsigned after ReLU).
Brevitas's bound (brevitas.function.ops.get_upper_bound_on_l1_norm) is
||w_c||_1 <= (2^(P-1) - 1) * 2^(signed - N) for N-bit inputs, so for unsigned 8-bit inputs
the largest reachable |sum| is ||w_c||_1 * 255 < 2^(P-1) - 1: no partial sum, in any order,
leaves the P-bit range. After training the script recomputes ||w_c||_1 from the exported
integer weights and refuses to write the model if any channel breaks that bound.

Needs Brevitas (PyPI brevitas==0.13.4), onnx, onnxoptimizer and torch (Debian's
python3-torch 1.13 works): tools/a2q_demo.sh makes the environment. Exit status: 0 done,
1 a bound broken, 2 usage, 77 a package or the data set missing (with --skip-missing).
"""
import argparse
import json
import os
import sys
import time

SKIP = 77


def _missing(what, skip_missing):
    print("%s: %s (run tools/a2q_demo.sh, which makes build/a2q-venv)"
          % ("SKIP" if skip_missing else "error", what), file=sys.stderr)
    sys.exit(SKIP if skip_missing else 2)


try:
    import numpy as np
    import torch
    import torch.nn as nn
    import brevitas
    import brevitas.nn as qnn
    from brevitas.core.scaling import ScalingImplType
    from brevitas.quant import (Int8AccumulatorAwareWeightQuant, Int8ActPerTensorFloat,
                                Uint8ActPerTensorFloat)
    from brevitas.export import export_onnx_qcdq
except ImportError as _e:  # noqa: E722 -- the message says which package
    _missing(str(_e), "--skip-missing" in sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar10  # noqa: E402


class PixelInputQuant(Uint8ActPerTensorFloat):
    """The network's input x = p / 255 quantized at the fixed scale 1/255 (Brevitas's
    unsigned 8-bit scale is threshold / 255), zero point 0: the integer is p itself."""
    scaling_impl_type = ScalingImplType.CONST
    min_val = 0.0
    max_val = 1.0


CHANNELS = (8, 16, 32)


class A2QNet(nn.Module):
    def __init__(self, acc_bits):
        super().__init__()
        wq = dict(weight_quant=Int8AccumulatorAwareWeightQuant,
                  weight_accumulator_bit_width=acc_bits, bias=False,
                  return_quant_tensor=True)
        self.inp = qnn.QuantIdentity(act_quant=PixelInputQuant, return_quant_tensor=True)
        convs, relus = [], []
        c_in = 3
        for c_out in CHANNELS:
            convs.append(qnn.QuantConv2d(c_in, c_out, 3, padding=1, **wq))
            relus.append(qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat,
                                       return_quant_tensor=True))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.relus = nn.ModuleList(relus)
        self.pool = nn.MaxPool2d(2)  # on a QuantTensor: Brevitas keeps its scale
        side = 32 // (2 ** len(CHANNELS))
        self.fc = qnn.QuantLinear(c_in * side * side, 10, output_quant=Int8ActPerTensorFloat,
                                  **wq)

    def forward(self, x):
        x = self.inp(x)
        for conv, relu in zip(self.convs, self.relus):
            x = self.pool(relu(conv(x)))
        x = x.flatten(1)
        return self.fc(x)

    def mac_layers(self):
        """(name, module, input bits, input signed) in execution order."""
        out = [("conv%d" % (i + 1), c, 8, False) for i, c in enumerate(self.convs)]
        out.append(("fc", self.fc, 8, False))
        return out


class FloatNet(nn.Module):
    """A2QNet's float twin (same parameter names and shapes): trained first, because A2Q
    started from random weights leaves the l1-limited layers (most weights round to zero)
    with almost no gradient; A2Q then starts from these weights (A2Q's own recipe)."""

    def __init__(self):
        super().__init__()
        c_in, convs = 3, []
        for c_out in CHANNELS:
            convs.append(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.pool = nn.MaxPool2d(2)
        side = 32 // (2 ** len(CHANNELS))
        self.fc = nn.Linear(c_in * side * side, 10, bias=False)

    def forward(self, x):
        for conv in self.convs:
            x = self.pool(torch.relu(conv(x)))
        return self.fc(x.flatten(1))


@torch.no_grad()
def start_from(a2q, float_net, acc_bits):
    """Copies the float weights into the A2Q layers and re-initialises their quantizers
    (the norm g is set to ||v_c||_1 when a quantizer is made). The per-channel scale s is
    then set to ||v_c||_1 / T, T the l1 limit of the integer weights, so that the integer
    weights are round_to_zero(v * T / ||v_c||_1) and the quantized weights keep the float
    weights' magnitude. Brevitas's default s = max|v_c| / 127 would shrink every layer's
    output by about ||v_c||_1 / (T s), and after four layers the logits vanish under the
    activation quantizers' smallest scale."""
    pairs = list(zip(a2q.convs, float_net.convs)) + [(a2q.fc, float_net.fc)]
    in_bits = {name: (bits, signed) for name, _, bits, signed in a2q.mac_layers()}
    names = [name for name, _, _, _ in a2q.mac_layers()]
    for name, (q, f) in zip(names, pairs):
        bits, signed = in_bits[name]
        limit = (2 ** (acc_bits - 1) - 1) * 2.0 ** (int(signed) - bits)
        q.weight.copy_(f.weight)
        q.weight_quant.init_tensor_quant()
        l1 = f.weight.abs().reshape(f.weight.shape[0], -1).sum(1)
        scaling = q.weight_quant.tensor_quant.scaling_impl.value  # log2(s), per channel
        scaling.copy_(torch.log2(l1 / limit).reshape(scaling.shape))


def batches(pixels, labels, batch, rng=None):
    order = np.arange(len(labels)) if rng is None else rng.permutation(len(labels))
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        x = torch.from_numpy(pixels[idx].astype(np.float32) / 255.0)
        yield x, torch.from_numpy(labels[idx])


def flip(x, rng):
    """Horizontal flip of half the batch (the only augmentation: training is short)."""
    mask = torch.from_numpy(rng.random(x.shape[0]) < 0.5)
    x = x.clone()
    x[mask] = torch.flip(x[mask], dims=[3])
    return x


def train(model, pixels, labels, epochs, batch, lr, seed):
    """Adam with a one-cycle schedule. The loss sees the logits times a learned positive
    temperature (not exported: it changes no argmax), because A2Q's l1 limits shrink the
    float logits by orders of magnitude, which would flatten the softmax."""
    rng = np.random.default_rng(seed)
    log_temp = nn.Parameter(torch.zeros(()))
    opt = torch.optim.Adam(list(model.parameters()) + [log_temp], lr=lr)
    steps = epochs * ((len(labels) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    lossf = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        t0, total, correct, loss_sum = time.time(), 0, 0, 0.0
        for x, y in batches(pixels, labels, batch, rng):
            out = model(flip(x, rng))
            logits = out.value if hasattr(out, "value") else out
            loss = lossf(logits * log_temp.exp(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += len(y)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += float(loss) * len(y)
        print("epoch %d: loss %.3f, train accuracy %.2f %%, %.0f s"
              % (epoch + 1, loss_sum / total, 100.0 * correct / total, time.time() - t0))


@torch.no_grad()
def accuracy(model, pixels, labels, batch=500):
    model.eval()
    correct = 0
    for x, y in batches(pixels, labels, batch):
        out = model(x)
        logits = out.value if hasattr(out, "value") else out
        correct += int((logits.argmax(1) == y).sum())
    return correct / len(labels)


@torch.no_grad()
def quant_inputs(model):
    """Each MAC layer's input QuantTensor on one forward pass: A2Q's weight quantizer
    needs its input's bit width and sign to produce the integer weights."""
    seen, hooks = {}, []
    for name, layer, _, _ in model.mac_layers():
        hooks.append(layer.register_forward_hook(
            lambda mod, inp, out, name=name: seen.__setitem__(name, inp[0])))
    model.eval()
    model(torch.zeros(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    return seen


@torch.no_grad()
def l1_report(model, acc_bits):
    """Per MAC layer: the largest per-channel l1 norm of the integer weights, the worst
    |partial sum| it allows (l1 * largest |input|), and whether that fits P bits.
    Written from the definitions, not from Brevitas's helper, as a check of it."""
    limit = 2 ** (acc_bits - 1) - 1
    rows, ok = [], True
    inputs = quant_inputs(model)
    for name, layer, in_bits, in_signed in model.mac_layers():
        x = inputs[name]
        # The bound below assumes the input representation mac_layers() states.
        assert int(x.bit_width) == in_bits and bool(x.signed) == in_signed, name
        w = layer.quant_weight(quant_input=x).int().to(torch.int64)
        l1 = w.reshape(w.shape[0], -1).abs().sum(1)
        max_in = 2 ** (in_bits - 1) if in_signed else 2 ** in_bits - 1
        worst = int(l1.max()) * max_in
        fits = worst <= limit
        ok = ok and fits
        rows.append({"layer": name, "max_l1": int(l1.max()), "max_input": max_in,
                     "worst_abs_sum": worst, "limit": limit, "fits": fits,
                     "zero_weights": float((w == 0).float().mean())})
    return rows, ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=cifar10.default_data_dir(), help="CIFAR-10 binaries")
    ap.add_argument("--acc-bits", type=int, default=16, help="P, the accumulator width")
    ap.add_argument("--out", required=True, help="the QCDQ ONNX file to write")
    ap.add_argument("--float-epochs", type=int, default=2, help="float pre-training epochs")
    ap.add_argument("--epochs", type=int, default=2, help="A2Q training epochs")
    ap.add_argument("--train-limit", type=int, default=None, help="first N training images")
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the CPU is shared)")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 when the data set or a package is missing")
    args = ap.parse_args(argv)
    if not 4 <= args.acc_bits <= 32:
        ap.error("--acc-bits must be in 4..32, not %d" % args.acc_bits)
    if args.epochs < 1 or args.float_epochs < 0:
        ap.error("--epochs must be at least 1 and --float-epochs at least 0")
    if not os.path.isfile(os.path.join(args.data, "test_batch.bin")):
        _missing("CIFAR-10 not found in %s" % args.data, args.skip_missing)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_px, train_y = cifar10.load_split(args.data, "train", args.train_limit)
    test_px, test_y = cifar10.load_split(args.data, "test", args.test_limit)
    print("brevitas %s, torch %s, P = %d, %d training images, %d + %d epochs"
          % (brevitas.__version__, torch.__version__, args.acc_bits, len(train_y),
             args.float_epochs, args.epochs))
    float_net = FloatNet()
    if args.float_epochs:
        print("float pre-training:")
        train(float_net, train_px, train_y, args.float_epochs, args.batch, args.lr, args.seed)
        print("float test accuracy: %.2f %%" % (100 * accuracy(float_net, test_px, test_y)))
    model = A2QNet(args.acc_bits)
    start_from(model, float_net, args.acc_bits)
    print("A2Q training (P = %d):" % args.acc_bits)
    train(model, train_px, train_y, args.epochs, args.batch, args.lr, args.seed + 1)
    acc = accuracy(model, test_px, test_y)
    print("test accuracy (Brevitas fake-quant, %d images): %.2f %%" % (len(test_y), 100 * acc))

    rows, ok = l1_report(model, args.acc_bits)
    for r in rows:
        print("%-6s max ||w_c||_1 %6d x max input %3d = %9d %s %d (P = %d); %.0f %% zero weights"
              % (r["layer"], r["max_l1"], r["max_input"], r["worst_abs_sum"],
                 "<=" if r["fits"] else "> ", r["limit"], args.acc_bits,
                 100 * r["zero_weights"]))
    if not ok:
        print("error: a layer's weights break the A2Q bound for P = %d; no model written"
              % args.acc_bits, file=sys.stderr)
        return 1

    # Write beside the target, then rename: a failed export leaves no half-written file.
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp-%d.onnx" % os.getpid()
    model.eval()
    # A QuantTensor result would export its scale, zero point, bit width and sign as
    # four more graph outputs: the graph's one output is the dequantized int8 logits.
    model.fc.return_quant_tensor = False
    try:
        export_onnx_qcdq(model, torch.zeros(1, 3, 32, 32), export_path=tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    report = {"acc_bits": args.acc_bits, "test_accuracy": acc, "epochs": args.epochs,
              "float_epochs": args.float_epochs,
              "train_images": int(len(train_y)), "layers": rows,
              "brevitas": brevitas.__version__, "torch": torch.__version__}
    with open(out + ".json", "w") as f:
        json.dump(report, f, indent=1)
    print("wrote %s (QCDQ ONNX) and %s.json" % (out, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
