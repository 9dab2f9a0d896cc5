#!/usr/bin/python3
"""Train the LeNet-5 of SPEC.md section 2 on CIFAR-10 and export it, quantized the
way the CS5120 course did, in the course's model format (SPEC.md section 3).

Network: conv1 3->6 5x5, ReLU, maxpool 2; conv2 6->16 5x5, ReLU, maxpool 2;
flatten (channel-major); fc1 400->120 ReLU; fc2 120->84 ReLU; fc3 84->10 (+bias).
No biases except fc3's, so the integer model needs no other bias.

Quantization (see data/lenet5-cifar10/README.md for the reasoning):
- weights: per tensor, symmetric, scale_w = 128 / max|w|,
  q = clamp(round_half_even(w * scale_w), -128, 127);
- input_scale = 128 (x in [-1, 1] -> [-128, 127]);
- each layer's output scale is calibrated on training images with the integer model
  itself, layer by layer: output_scale = 127 / (largest accumulator the layer produced,
  after ReLU and max-pool for conv1/conv2, after ReLU for fc1/fc2, largest |acc|
  for fc3 bias included), so the largest observed activation maps to 127;
- fc3's bias is added in fc3's accumulator, whose unit is
  1 / (act_scale_fc2 * scale_w_fc3), where act_scale_fc2 is the factor that maps
  fc2's real output to its int8 value:
  act_scale_fc2 = input_scale * prod over conv1, conv2, fc1, fc2 of
                  (scale_w_layer * layer_output_scale),
  so bias_int = round_half_even(b * act_scale_fc2 * scale_w_fc3).
"""
import argparse
import json
import math
import os
import random
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as _e:  # Debian's python3-torch / python3-numpy, for /usr/bin/python3
    print("%s: %s (run with /usr/bin/python3; apt-get install python3-torch python3-numpy)"
          % ("SKIP" if "--skip-missing" in sys.argv else "error", _e))
    sys.exit(77 if "--skip-missing" in sys.argv else 2)
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar10  # noqa: E402


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5, bias=False)
        self.conv2 = nn.Conv2d(6, 16, 5, bias=False)
        self.fc1 = nn.Linear(400, 120, bias=False)
        self.fc2 = nn.Linear(120, 84, bias=False)
        self.fc3 = nn.Linear(84, 10, bias=True)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def augment(pixels_u8, rng, pad=4):
    """Random crop 32 with zero padding `pad` (black pixels, as torchvision's RandomCrop
    pads the PIL image; pad 0: no crop) and a horizontal flip with probability 1/2,
    on uint8."""
    n = pixels_u8.shape[0]
    size = 32 + 2 * pad
    padded = np.zeros((n, 3, size, size), dtype=np.uint8)
    padded[:, :, pad:pad + 32, pad:pad + 32] = pixels_u8
    dy = rng.integers(0, 2 * pad + 1, size=n)
    dx = rng.integers(0, 2 * pad + 1, size=n)
    flip = rng.random(n) < 0.5
    out = np.empty_like(pixels_u8)
    for i in range(n):
        img = padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = img[:, :, ::-1] if flip[i] else img
    return out


def float_accuracy(model, pixels, labels, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, labels.shape[0], batch):
            x = cifar10.normalize(pixels[i:i + batch])
            pred = model(x).argmax(1).numpy()
            correct += int((pred == labels[i:i + batch]).sum())
    return 100.0 * correct / max(labels.shape[0], 1)


def quantize_weight(w):
    w = w.detach().to(torch.float64)
    scale = 128.0 / float(w.abs().max())
    q = torch.clamp(torch.round(w * scale), -128, 127)
    return q, scale


def calib_peak(acc, percentile):
    """The value that maps to 127: the largest one (percentile 100, the default and the
    course's choice) or a percentile of all the values."""
    if percentile >= 100.0:
        v = float(acc.max())
    else:
        v = float(np.percentile(acc.numpy().reshape(-1), percentile))
    return max(v, 1.0)


def quantize_model(model, calib_pixels, batch=1000, percentile=100.0):
    """Returns (course-format model dict for cifar10.forward_int, info dict)."""
    m = {}
    wscale = {}
    for name in cifar10.LAYERS:
        q, s = quantize_weight(getattr(model, name).weight)
        m[name] = q
        wscale[name] = s
    input_scale = 128.0
    scales = {"input_scale": input_scale}
    q_in = cifar10.quantize_input(calib_pixels, input_scale)

    def run_batches(fn, a):
        return torch.cat([fn(a[i:i + batch]) for i in range(0, a.shape[0], batch)], 0)

    # conv1, conv2: calibrate on the accumulator after ReLU and max-pool.
    a = q_in
    for name in ("conv1", "conv2"):
        acc = run_batches(lambda t: F.max_pool2d(F.relu(F.conv2d(t, m[name])), 2), a)
        s = 127.0 / calib_peak(acc, percentile)
        scales[name + "_output_scale"] = s
        a = cifar10.requant(acc, s)
    a = a.reshape(a.shape[0], -1)
    for name in ("fc1", "fc2"):
        acc = F.relu(F.linear(a, m[name]))
        s = 127.0 / calib_peak(acc, percentile)
        scales[name + "_output_scale"] = s
        a = cifar10.requant(acc, s)
    # fc3: bias in the accumulator's unit, then a symmetric scale (no ReLU).
    act_scale = input_scale
    for name in ("conv1", "conv2", "fc1", "fc2"):
        act_scale *= wscale[name] * scales[name + "_output_scale"]
    bias_unit = act_scale * wscale["fc3"]
    b = model.fc3.bias.detach().to(torch.float64)
    bias_int = torch.round(b * bias_unit)
    if float(bias_int.abs().max()) > 2**31 - 1:
        raise ValueError("fc3 bias does not fit in int32")
    m["fc3.bias"] = bias_int
    acc = F.linear(a, m["fc3"], bias_int)
    scales["fc3_output_scale"] = 127.0 / calib_peak(acc.abs(), percentile)
    m["scales"] = scales
    info = {"weight_scales": wscale, "fc2_activation_scale": act_scale,
            "fc3_bias_unit": bias_unit, "fc3_bias_float": b.tolist()}
    return m, info


def int_accuracy(m, pixels, labels):
    q = cifar10.quantize_input(pixels, m["scales"]["input_scale"])
    out = cifar10.forward_int_batched(m, q)
    pred = cifar10.predict(out).numpy()
    return 100.0 * float((pred == labels).sum()) / max(labels.shape[0], 1)


def export(m, out_dir, test_pixels, vector_index):
    os.makedirs(out_dir, exist_ok=True)
    for name in cifar10.LAYERS:
        np.savetxt(os.path.join(out_dir, name + ".weight.csv"),
                   m[name].numpy().reshape(-1))
    np.savetxt(os.path.join(out_dir, "fc3.bias.csv"), m["fc3.bias"].numpy().reshape(-1))
    with open(os.path.join(out_dir, "scale.json"), "w") as f:
        json.dump({k: m["scales"][k] for k in cifar10.SCALE_KEYS}, f)
        f.write("\n")
    # Test vector: one normalized test image (float32 values, written as doubles)
    # and its 10 outputs, computed from the values as read back from input.csv.
    x = cifar10.normalize(test_pixels[vector_index:vector_index + 1]).numpy()
    inp = os.path.join(out_dir, "input.csv")
    np.savetxt(inp, x.astype(np.float64).reshape(-1))
    xr = np.loadtxt(inp, dtype=np.float64).reshape(1, 3, 32, 32)
    q = cifar10.quantize_input_double(xr, m["scales"]["input_scale"])
    out = cifar10.forward_int(m, q)[0]
    np.savetxt(os.path.join(out_dir, "output.csv"), out.numpy())
    return out.numpy().astype(int).tolist()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None,
                    help="CIFAR-10 binary directory (default $ACCSIM_DATA, else ../shared/cifar10)")
    ap.add_argument("--out", required=True, help="output model directory")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=None,
                    help="train on the first N training images only (smoke test)")
    ap.add_argument("--test-limit", type=int, default=None,
                    help="evaluate on the first N test images only")
    ap.add_argument("--calib-images", type=int, default=10000,
                    help="training images used to calibrate the output scales")
    ap.add_argument("--calib-percentile", type=float, default=100.0,
                    help="map this percentile of each layer's calibration values to 127 "
                         "(default 100: the maximum, as the course did)")
    ap.add_argument("--crop-pad", type=int, default=4,
                    help="random-crop padding in pixels (0: flip only)")
    ap.add_argument("--init-float", default=None,
                    help="start training from this saved float state_dict (fine-tuning)")
    ap.add_argument("--load-float", default=None,
                    help="skip training: quantize this saved float state_dict (--save-float)")
    ap.add_argument("--vector-index", type=int, default=0,
                    help="test image written as input.csv/output.csv")
    ap.add_argument("--save-float", default=None, help="also save the float state_dict here")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (skip) when the CIFAR-10 files are missing")
    args = ap.parse_args()
    if args.data is None:
        args.data = cifar10.default_data_dir()

    files = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
    if args.train_limit is not None:
        files = ["data_batch_1.bin", "test_batch.bin"] if args.train_limit <= 10000 else files
    missing = [f for f in files if not os.path.isfile(os.path.join(args.data, f))]
    if missing:
        print("%s: missing CIFAR-10 files in %s: %s"
              % ("SKIP" if args.skip_missing else "error", args.data, " ".join(missing)))
        return 77 if args.skip_missing else 2

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    t0 = time.time()
    train_px, train_lab = cifar10.load_split(args.data, "train", args.train_limit)
    test_px, test_lab = cifar10.load_split(args.data, "test", args.test_limit)
    n = train_lab.shape[0]
    print("data: %d train, %d test images from %s" % (n, test_lab.shape[0], args.data))

    model = LeNet5()
    if args.init_float:
        model.load_state_dict(torch.load(args.init_float))
    if args.load_float:
        model.load_state_dict(torch.load(args.load_float))
        args.epochs = 0
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                          weight_decay=args.weight_decay)
    steps_per_epoch = (n + args.batch - 1) // args.batch
    total_steps = max(1, args.epochs * steps_per_epoch)
    # Cosine decay from lr to 0, stepped per batch.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps)))
    labels_t = torch.from_numpy(train_lab)
    for epoch in range(args.epochs):
        model.train()
        te = time.time()
        perm = rng.permutation(n)
        loss_sum = 0.0
        correct = 0
        for k in range(steps_per_epoch):
            idx = perm[k * args.batch:(k + 1) * args.batch]
            x = cifar10.normalize(augment(train_px[idx], rng, args.crop_pad))
            y = labels_t[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * idx.shape[0]
            correct += int((logits.argmax(1) == y).sum())
        msg = "epoch %2d/%d: loss %.4f, train acc %.2f%%, lr %.5f, %.1f s" % (
            epoch + 1, args.epochs, loss_sum / n, 100.0 * correct / n,
            opt.param_groups[0]["lr"], time.time() - te)
        if epoch + 1 == args.epochs or (epoch + 1) % 5 == 0:
            msg += ", test acc %.2f%%" % float_accuracy(model, test_px, test_lab)
        print(msg, flush=True)
    t_train = time.time() - t0

    facc = float_accuracy(model, test_px, test_lab)
    print("float test accuracy: %.2f%%" % facc)
    if args.save_float:
        torch.save(model.state_dict(), args.save_float)

    calib_n = min(args.calib_images, n)
    m, info = quantize_model(model, train_px[:calib_n], percentile=args.calib_percentile)
    qacc = int_accuracy(m, test_px, test_lab)
    print("quantized (integer, exact = 32-bit accumulators) test accuracy: %.2f%%" % qacc)
    print("calibration: first %d training images, percentile %g"
          % (calib_n, args.calib_percentile))
    print("weight scales: " + ", ".join("%s %.6g" % (k, v) for k, v in info["weight_scales"].items()))
    print("scale.json: " + json.dumps(m["scales"]))
    print("fc3 bias: float %s -> int %s (unit %.6g)" % (
        ["%.4f" % v for v in info["fc3_bias_float"]],
        m["fc3.bias"].numpy().astype(int).tolist(), info["fc3_bias_unit"]))
    vec = export(m, args.out, test_px, min(args.vector_index, test_lab.shape[0] - 1))
    print("test vector: test image %d -> %s" % (args.vector_index, vec))
    print("wrote %s; training %.1f s, total %.1f s" % (args.out, t_train, time.time() - t0))
    summary = {"float_test_accuracy": facc, "quantized_test_accuracy": qacc,
               "train_seconds": round(t_train, 1), "epochs": args.epochs, "seed": args.seed,
               "train_images": n, "test_images": int(test_lab.shape[0]),
               "calibration_images": calib_n, "calib_percentile": args.calib_percentile,
               "weight_scales": info["weight_scales"]}
    print("summary: " + json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
