#!/usr/bin/python3
"""Golden parameter lists of torchvision's ResNets, for resnet/structure_test.go.

For each of resnet18, resnet34, resnet50, resnet101 and resnet152, built as
torchvision.models.<arch>(weights=None) (with its classifier top "fc",
num_classes=1000), this writes one line per state-dict entry, in state-dict
order:

    ARCH NAME DTYPE SHAPE

DTYPE is the safetensors spelling (F32, I64, ...); SHAPE is the dimensions
joined by commas ("64,3,7,7"), or "-" for a scalar (BatchNorm's
num_batches_tracked). Only names, dtypes and shapes are written: no weights
are downloaded and no values recorded.

Run with Debian's python3 (packages python3-torch, python3-torchvision:
PyTorch 1.13, torchvision 0.14), not a pyenv interpreter earlier on PATH:

    /usr/bin/python3 testdata/torchvision_state_dicts.py testdata/resnet_state_dicts.txt
"""
import sys

import torch
import torchvision

ARCHS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
}


def lines(arch):
    model = getattr(torchvision.models, arch)(weights=None)
    for name, t in model.state_dict().items():
        shape = ",".join(str(d) for d in t.shape) or "-"
        yield f"{arch} {name} {DTYPES[t.dtype]} {shape}\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUTPUT.txt")
    out = []
    for arch in ARCHS:
        out.extend(lines(arch))
    with open(sys.argv[1], "w") as f:
        f.writelines(out)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}: "
          f"{len(out)} entries written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
