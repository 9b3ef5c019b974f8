#!/usr/bin/python3
"""Reference values from torchvision for the ResNet parity tests.

Run with Debian's python3 (packages python3-torch, python3-torchvision:
PyTorch 1.13, torchvision 0.14), not a pyenv interpreter earlier on PATH:

    /usr/bin/python3 testdata/torchvision_reference.py testdata/resnet_reference.safetensors

Weights and inputs are not random draws from torch: every tensor is rebuilt
from its name with the integer recipe of internal/detrand (written again
below), so the Go tests regenerate the same ResNet-50 without committing it.

With --weights-out DIR it also writes the deterministic ResNet-50 as a
torchvision state dict in safetensors form (DIR/resnet50.safetensors,
num_batches_tracked entries included), the test image as DIR/image.png and
torchvision's embedding of it as DIR/embedding.json, for checking
examples/embed by hand.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torchvision

MASK = (1 << 64) - 1


def fnv1a64(s):
    h = 14695981039346656037
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 1099511628211) & MASK
    return h


def uniform(name, n, lo, hi):
    """internal/detrand.Uniform: n float32 values in [lo, hi)."""
    seed = np.uint64(fnv1a64(name))
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = seed + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return (lo + (hi - lo) * u).astype(np.float32)


def param_range(name, shape):
    """The range each parameter is drawn from (resnet/parity_test.go: paramRange)."""
    if name.endswith("running_mean"):
        return -0.2, 0.2
    if name.endswith("running_var"):
        return 0.5, 2.0
    if len(shape) == 4:
        fan_in = shape[1] * shape[2] * shape[3]
        a = math.sqrt(6.0 / fan_in)
        return -a, a
    if name.startswith("fc."):
        a = 1.0 / math.sqrt(shape[-1] if name.endswith("weight") else 2048)
        return -a, a
    if name.endswith("weight"):  # BatchNorm gamma
        return 0.5, 1.5
    return -0.2, 0.2  # BatchNorm beta


def tensor(name, shape, lo, hi):
    n = int(np.prod(shape))
    return torch.from_numpy(uniform(name, n, lo, hi).reshape(shape))


def fill(model):
    sd = model.state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            if name.endswith("num_batches_tracked"):
                continue
            lo, hi = param_range(name, list(t.shape))
            t.copy_(tensor(name, list(t.shape), lo, hi))


def build(arch, in_channels=3):
    m = getattr(torchvision.models, arch)(weights=None)
    if in_channels != 3:
        m.conv1 = torch.nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    m.fc = torch.nn.Identity()
    fill(m)
    return m


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dt = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        b = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def image_u8():
    """A 64x64 RGB test image, HWC uint8, from the recipe (name "image")."""
    v = uniform("image", 64 * 64 * 3, 0, 256)
    return np.floor(v).astype(np.uint8).reshape(64, 64, 3)


def main():
    torch.set_num_threads(2)
    out_path = sys.argv[1]
    out = {}
    x = tensor("input", [2, 3, 64, 64], -2, 2)
    for arch in ["resnet50", "resnet18"]:
        m = build(arch).eval()
        with torch.no_grad():
            out[arch + ".pooled"] = m(x)
    # Greyscale input, max pooling (Keras pooling="max").
    m = build("resnet18", in_channels=1).eval()
    m.avgpool = torch.nn.AdaptiveMaxPool2d(1)
    with torch.no_grad():
        out["resnet18_gray_max.pooled"] = m(tensor("input_gray", [2, 1, 64, 64], -2, 2))

    # Training mode: BatchNorm on batch statistics, gradients of a scalar loss.
    m = build("resnet18").train()
    xt = tensor("train_input", [3, 3, 64, 64], -2, 2)
    r = tensor("train_weights", [3, 512], -1, 1)
    loss = (m(xt) * r).sum()
    loss.backward()
    p = dict(m.named_parameters())
    out["train.loss"] = loss.detach().reshape(1)
    out["train.grad.conv1.weight"] = p["conv1.weight"].grad
    out["train.grad.layer4.1.conv2.weight[:8]"] = p["layer4.1.conv2.weight"].grad[:8]
    out["train.grad.layer2.0.downsample.0.weight"] = p["layer2.0.downsample.0.weight"].grad
    out["train.grad.layer4.1.bn2.weight"] = p["layer4.1.bn2.weight"].grad
    out["train.grad.layer4.1.bn2.bias"] = p["layer4.1.bn2.bias"].grad
    sd = m.state_dict()
    for k in ["bn1.running_mean", "bn1.running_var", "layer4.1.bn2.running_mean", "layer4.1.bn2.running_var"]:
        out["train." + k] = sd[k]

    # torchvision's eval transform on a 64x64 image (no resize needed at 64).
    img = image_u8()
    from PIL import Image
    from torchvision import transforms
    tf = transforms.Compose([
        transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    pil = Image.fromarray(img, "RGB")
    m = build("resnet50").eval()
    with torch.no_grad():
        out["embed.resnet50"] = m(tf(pil).unsqueeze(0))

    write_safetensors(out_path, {k: v.detach().float().contiguous() for k, v in out.items()},
                      {"source": "testdata/torchvision_reference.py", "torch": torch.__version__,
                       "torchvision": torchvision.__version__})
    print("first values of uniform('conv1.weight', 3, -1, 1):", uniform("conv1.weight", 3, -1, 1).tolist())
    print("loss", float(loss))
    for k, v in out.items():
        print(k, tuple(v.shape), "max|v| = %.6g" % float(v.abs().max()))

    if "--weights-out" in sys.argv:
        d = sys.argv[sys.argv.index("--weights-out") + 1]
        full = torchvision.models.resnet50(weights=None)
        fill(full)
        write_safetensors(d + "/resnet50.safetensors", full.state_dict(), {"format": "pt"})
        pil.save(d + "/image.png")
        with open(d + "/embedding.json", "w") as f:
            json.dump({"image": d + "/image.png", "embedding": out["embed.resnet50"][0].tolist()}, f)


if __name__ == "__main__":
    main()
