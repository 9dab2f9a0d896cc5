#!/usr/bin/python3
"""Exports the course LeNet-5 (../shared/models/cs5120-2021-lenet5: int8 weights,
int32 fc3 bias, per-layer output scales) as a QDQ ONNX model with PyTorch
(Debian's python3-torch, run by tests/make_onnx_models.py).

    make_onnx_lenet5.py MODEL_DIR OUT.onnx

The network is the course's (conv 5x5 -> ReLU -> 2x2 max-pool, twice; fc 400-120-84-10),
written with fake-quant ops, which torch.onnx exports (opset 13) as
QuantizeLinear/DequantizeLinear pairs:
- activations are uint8 (onnxruntime fuses uint8 x int8 QDQ convolutions into
  QLinearConv on x86-64; with int8 activations it keeps them in float);
- input: x = (p / 255 - 0.5) / 0.5 (import with --input-mean 0.5,0.5,0.5
  --input-std 0.5,0.5,0.5), quantized with scale 2^-7 and zero point 128, so that
  q - 128 = round(128 x), the course's input;
- weights: the course's int8 values with scale 2^-7 (any scale would do);
- each layer's output: scale s_in * s_w / course_output_scale, so that
  q = round(acc * course_output_scale) + zero point as in the course; after a ReLU
  the zero point is 0 and the range 0..255 (the course clamps at 127); the logits
  have zero point 128.
The fc3 bias stays float here; tests/make_onnx_models.py rewrites it as a
DequantizeLinear of the int32 bias (as onnxruntime.quantization writes biases).

Exit 77 when torch or the model is missing.
"""
import json
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print("SKIP: %s" % e)
    sys.exit(77)

W_SCALE = 2.0 ** -7
IN_SCALE = 2.0 ** -7   # the course's input: round(128 * x), x = 2p/255 - 1 in [-1, 1]


def load(model_dir):
    def csv(name, shape):
        return np.loadtxt(os.path.join(model_dir, name), dtype=np.float64).reshape(shape)
    w = {"conv1": csv("conv1.weight.csv", (6, 3, 5, 5)), "conv2": csv("conv2.weight.csv", (16, 6, 5, 5)),
         "fc1": csv("fc1.weight.csv", (120, 400)), "fc2": csv("fc2.weight.csv", (84, 120)),
         "fc3": csv("fc3.weight.csv", (10, 84))}
    bias = csv("fc3.bias.csv", (10,))
    with open(os.path.join(model_dir, "scale.json")) as f:
        scales = json.load(f)
    return w, bias, scales


class QLeNet5(torch.nn.Module):
    def __init__(self, w, bias, scales):
        super().__init__()
        self.names = ["conv1", "conv2", "fc1", "fc2", "fc3"]
        for n in self.names:
            self.register_buffer(n, torch.tensor(w[n] * W_SCALE, dtype=torch.float32))
        s = [IN_SCALE]
        for n in self.names:   # s_out = s_in * s_w / course_output_scale
            s.append(float(np.float32(s[-1] * W_SCALE / scales[n + "_output_scale"])))
        self.s = s
        self.register_buffer("b3", torch.tensor(bias * s[4] * W_SCALE, dtype=torch.float32))

    @staticmethod
    def fq(x, scale, zp):
        """uint8 activations (what onnxruntime runs on integer kernels on x86-64)."""
        return torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 255)

    def wq(self, name):
        return torch.fake_quantize_per_tensor_affine(getattr(self, name), W_SCALE, 0, -128, 127)

    def forward(self, x):
        s = self.s
        x = self.fq(x, IN_SCALE, 128)
        x = self.fq(F.relu(F.conv2d(x, self.wq("conv1"))), s[1], 0)
        x = self.fq(F.max_pool2d(x, 2), s[1], 0)
        x = self.fq(F.relu(F.conv2d(x, self.wq("conv2"))), s[2], 0)
        x = self.fq(F.max_pool2d(x, 2), s[2], 0)
        x = torch.flatten(x, 1)
        x = self.fq(F.relu(F.linear(x, self.wq("fc1"))), s[3], 0)
        x = self.fq(F.relu(F.linear(x, self.wq("fc2"))), s[4], 0)
        return self.fq(F.linear(x, self.wq("fc3"), self.b3), s[5], 128)


def main():
    if len(sys.argv) != 3:
        print("usage: make_onnx_lenet5.py MODEL_DIR OUT.onnx", file=sys.stderr)
        return 2
    model_dir, out = sys.argv[1:]
    if not os.path.exists(os.path.join(model_dir, "scale.json")):
        print("SKIP: %s: no course model" % model_dir)
        return 77
    m = QLeNet5(*load(model_dir)).eval()
    x = torch.zeros(1, 3, 32, 32)
    torch.onnx.export(m, x, out, opset_version=13, input_names=["x"], output_names=["logits"],
                      do_constant_folding=True)
    print("make_onnx_lenet5: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
