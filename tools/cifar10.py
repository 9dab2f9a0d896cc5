#!/usr/bin/python3
"""Shared helpers for the Python tools: CIFAR-10 binary batches, the course's
model format (SPEC.md section 3) and the integer LeNet-5 forward pass in PyTorch.

Written independently of the C code: it follows SPEC.md only, so that
tools/torch_parity.py is a real cross-check of accsim.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

RECORD = 3073
PER_BATCH = 10000
LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")
SCALE_KEYS = ("input_scale", "conv1_output_scale", "conv2_output_scale",
              "fc1_output_scale", "fc2_output_scale", "fc3_output_scale")
SHAPES = {
    "conv1": (6, 3, 5, 5),
    "conv2": (16, 6, 5, 5),
    "fc1": (120, 400),
    "fc2": (84, 120),
    "fc3": (10, 84),
}


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_data_dir():
    env = os.environ.get("ACCSIM_DATA")
    if env:
        return env
    return os.path.join(repo_root(), "..", "shared", "cifar10")


def _read_file(path):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % RECORD != 0:
        raise ValueError("%s: size %d is not a multiple of %d" % (path, raw.size, RECORD))
    return raw.reshape(-1, RECORD)


def load_split(data_dir, split, limit=None):
    """Returns (pixels uint8 [N,3,32,32], labels int64 [N]) for 'test' or 'train'.
    Train index i is record i % 10000 of data_batch_(i // 10000 + 1).bin."""
    if split == "test":
        files = ["test_batch.bin"]
    elif split == "train":
        files = ["data_batch_%d.bin" % i for i in range(1, 6)]
    else:
        raise ValueError("split must be test or train, not %r" % split)
    recs = []
    have = 0
    for name in files:
        if limit is not None and have >= limit:
            break
        r = _read_file(os.path.join(data_dir, name))
        recs.append(r)
        have += r.shape[0]
    recs = np.concatenate(recs, axis=0)
    if limit is not None:
        recs = recs[:limit]
    labels = recs[:, 0].astype(np.int64)
    if labels.max(initial=0) > 9:
        raise ValueError("label out of range in %s" % data_dir)
    pixels = recs[:, 1:].reshape(-1, 3, 32, 32).copy()
    return pixels, labels


def normalize(pixels_u8):
    """torchvision ToTensor() + Normalize((0.5,)*3, (0.5,)*3), in float32."""
    x = torch.from_numpy(np.ascontiguousarray(pixels_u8)).to(torch.float32)
    return (x / torch.tensor(255.0, dtype=torch.float32) - torch.tensor(0.5, dtype=torch.float32)) \
        / torch.tensor(0.5, dtype=torch.float32)


def quantize_input(pixels_u8, input_scale):
    """SPEC section 4: float32 arithmetic, round half to even, clamp to int8.
    Returns float64 tensor holding integers."""
    x = normalize(pixels_u8)
    q = torch.round(x * torch.tensor(float(np.float32(input_scale)), dtype=torch.float32))
    return torch.clamp(q, -128, 127).to(torch.float64)


def quantize_input_double(x, input_scale):
    """input.csv images: the parsed doubles, quantized in double."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return torch.clamp(torch.round(x * float(input_scale)), -128, 127)


def requant(v, scale):
    """SPEC section 6: clamp(round_half_even(v * scale), -128, 127), in double."""
    return torch.clamp(torch.round(v * float(scale)), -128, 127)


def _load_csv(path, count):
    a = np.loadtxt(path, dtype=np.float64, ndmin=1)
    if a.size != count:
        raise ValueError("%s: %d numbers, expected %d" % (path, a.size, count))
    return a


def load_model(model_dir):
    """Reads a course-format model directory. Returns dict with float64 tensors
    (integers) for weights, 'fc3.bias' and 'scales'."""
    m = {}
    for name in LAYERS:
        shape = SHAPES[name]
        a = _load_csv(os.path.join(model_dir, name + ".weight.csv"), int(np.prod(shape)))
        if np.any(a != np.round(a)) or a.min() < -128 or a.max() > 127:
            raise ValueError("%s.weight.csv: weights must be integers in [-128,127]" % name)
        m[name] = torch.from_numpy(a.reshape(shape).copy())
    b = _load_csv(os.path.join(model_dir, "fc3.bias.csv"), 10)
    if np.any(b != np.round(b)) or b.min() < -2**31 or b.max() > 2**31 - 1:
        raise ValueError("fc3.bias.csv: bias must be int32 integers")
    m["fc3.bias"] = torch.from_numpy(b.copy())
    with open(os.path.join(model_dir, "scale.json")) as f:
        s = json.load(f)
    for k in SCALE_KEYS:
        if k not in s or not float(s[k]) > 0:
            raise ValueError("scale.json: missing or non-positive %s" % k)
    m["scales"] = {k: float(s[k]) for k in SCALE_KEYS}
    return m


def forward_int(m, q, return_acc=False):
    """Integer LeNet-5 forward pass (SPEC section 2) with exact (unsaturated)
    accumulators: float64 tensors hold the integers exactly (|acc| < 2^53).
    q: [N,3,32,32] float64 quantized input. Returns [N,10] float64 outputs,
    and with return_acc also a dict of the accumulators per layer (before relu)."""
    s = m["scales"]
    accs = {}
    a = F.conv2d(q, m["conv1"])
    accs["conv1"] = a
    a = requant(F.max_pool2d(F.relu(a), 2), s["conv1_output_scale"])
    a = F.conv2d(a, m["conv2"])
    accs["conv2"] = a
    a = requant(F.max_pool2d(F.relu(a), 2), s["conv2_output_scale"])
    a = a.reshape(a.shape[0], -1)  # channel-major: c*25 + y*5 + x
    a = F.linear(a, m["fc1"])
    accs["fc1"] = a
    a = requant(F.relu(a), s["fc1_output_scale"])
    a = F.linear(a, m["fc2"])
    accs["fc2"] = a
    a = requant(F.relu(a), s["fc2_output_scale"])
    a = F.linear(a, m["fc3"], m["fc3.bias"])
    accs["fc3"] = a
    out = requant(a, s["fc3_output_scale"])
    if return_acc:
        return out, accs
    return out


def forward_int_batched(m, q_all, batch=1000, return_acc=False):
    outs = []
    maxabs = {k: 0.0 for k in LAYERS}
    for i in range(0, q_all.shape[0], batch):
        o, accs = forward_int(m, q_all[i:i + batch], return_acc=True)
        outs.append(o)
        for k, v in accs.items():
            if v.numel():
                maxabs[k] = max(maxabs[k], float(v.abs().max()))
    out = torch.cat(outs, 0) if outs else torch.zeros(0, 10, dtype=torch.float64)
    if return_acc:
        return out, maxabs
    return out


def predict(outputs):
    """argmax with the lowest index winning ties (torch.argmax does not promise that)."""
    o = outputs
    best = o.max(dim=1, keepdim=True).values
    idx = torch.arange(o.shape[1]).expand_as(o)
    masked = torch.where(o == best, idx, torch.full_like(idx, o.shape[1]))
    return masked.min(dim=1).values


def die(msg, code=2):
    print("error: " + msg, file=sys.stderr)
    sys.exit(code)
