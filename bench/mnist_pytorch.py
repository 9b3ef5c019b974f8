#!/usr/bin/python3
"""The task of examples/mnist with Debian's PyTorch, for a side-by-side timing.

Same data (the MNIST idx files of the GoMNIST Go module, or any folder with
them), same model shape (torchvision ResNet with a 1-channel stem, per tower
Dense 1024 + ReLU + Dropout 0.2, Dense 512 + ReLU + Dropout 0.2, |a - b|,
Dense(1), sigmoid), same input size, batch, pairs per epoch, Adam learning
rate and test pairs. Pairs are drawn with numpy's generator, so the exact
pairs differ from the Go run; the figures to compare are time per epoch and
the accuracy reached.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/mnist_pytorch.py DIR [--arch resnet50]
        [--epochs 3] [--pairs 3200] [--batch 32] [--size 32] [--lr 1e-3] [--test-pairs 1000]

Prints one JSON object per epoch.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic == 0x803:
        n, r, c = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r, c)
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, np.uint8, offset=8)


def find(d, base):
    for p in (base + ".gz", base):
        if os.path.exists(os.path.join(d, p)):
            return os.path.join(d, p)
    raise FileNotFoundError(os.path.join(d, base))


class Tower(nn.Module):
    def __init__(self, arch):
        super().__init__()
        m = getattr(torchvision.models, arch)(weights=None)
        m.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        m.fc = nn.Identity()
        self.enc = m
        feats = 2048 if arch in ("resnet50", "resnet101", "resnet152") else 512
        self.head = nn.Sequential(nn.Linear(feats, 1024), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(1024, 512), nn.ReLU(), nn.Dropout(0.2))

    def forward(self, x):
        return self.head(self.enc(x))


class Siamese(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.tower = Tower(arch)
        self.out = nn.Linear(512, 1)

    def forward(self, a, b):
        n = a.shape[0]
        e = self.tower(torch.cat([a, b]))
        return self.out((e[:n] - e[n:]).abs()).squeeze(1)


def prep(imgs, size):
    x = torch.from_numpy(imgs.astype(np.float32) / 255.0).unsqueeze(1)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x - 0.449) / 0.226


def pairs(labels, n, rng):
    by = [np.flatnonzero(labels == c) for c in range(10)]
    a, b, y = [], [], []
    for k in range(n):
        if k % 2 == 0:
            c = rng.integers(10)
            i, j = rng.choice(by[c], 2, replace=False)
            y.append(1.0)
        else:
            c1, c2 = rng.choice(10, 2, replace=False)
            i, j = rng.choice(by[c1]), rng.choice(by[c2])
            y.append(0.0)
        a.append(i)
        b.append(j)
    return np.array(a), np.array(b), np.array(y, np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=3200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--test-pairs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    xtr = read_idx(find(args.dir, "train-images-idx3-ubyte"))
    ytr = read_idx(find(args.dir, "train-labels-idx1-ubyte"))
    xte = read_idx(find(args.dir, "t10k-images-idx3-ubyte"))
    yte = read_idx(find(args.dir, "t10k-labels-idx1-ubyte"))
    ta, tb, ty = pairs(yte, args.test_pairs, np.random.default_rng(args.seed + 1))
    model = Siamese(args.arch)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.pairs // args.batch
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.time()
        total = 0.0
        for _ in range(steps):
            a, b, y = pairs(ytr, args.batch, rng)
            logits = model(prep(xtr[a], args.size), prep(xtr[b], args.size))
            loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss)
        train_s = time.time() - t0
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(ta), 250):
                z = model(prep(xte[ta[s:s + 250]], args.size), prep(xte[tb[s:s + 250]], args.size))
                correct += int(((z >= 0).float() == torch.from_numpy(ty[s:s + 250])).sum())
        print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "arch": args.arch, "epoch": epoch,
                          "train_seconds": round(train_s, 2), "pairs_per_s": round(steps * args.batch / train_s, 2),
                          "train_loss": round(total / steps, 4), "test_accuracy": correct / len(ta)}), flush=True)


if __name__ == "__main__":
    main()
