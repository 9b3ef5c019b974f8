"""Exports the network of bench/pytorch_bench.py to ONNX for bench/ort_bench.js.

torchvision's ResNet with fc replaced by Identity (the pooled features, as the
Go encoder), weights drawn under torch.manual_seed(0), in inference mode, at
one image size with a dynamic batch dimension (opset 13). Run with Debian's
interpreter (torch 1.13, torchvision 0.14):
    /usr/bin/python3 bench/export_onnx.py --depth 50 --size 64 --out resnet50_64.onnx
The file is written to a temporary name and renamed, so a reader never sees a
partial file.
"""
import argparse
import os
import sys

import torch
import torchvision


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, default=50, choices=(18, 34, 50, 101, 152))
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if a.size < 1:
        sys.exit("export_onnx: --size must be positive")
    torch.manual_seed(0)
    m = getattr(torchvision.models, "resnet%d" % a.depth)()
    m.fc = torch.nn.Identity()
    m.eval()
    x = torch.zeros(1, 3, a.size, a.size)
    tmp = "%s.tmp%d" % (a.out, os.getpid())
    try:
        with torch.no_grad():
            torch.onnx.export(
                m, x, tmp, opset_version=13,
                input_names=["input"], output_names=["features"],
                dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}})
        os.replace(tmp, a.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


if __name__ == "__main__":
    main()
