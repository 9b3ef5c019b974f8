"""PyTorch counterpart of BenchmarkPretrain (package train): one step of the
oneshot recipe's pretraining. ResNet-50 with a one-channel stem, 32x32
input, batch 64, a classifier over 872 classes, softmax cross-entropy with
label smoothing 0.1, Adam at 2e-3. Random images stand in for the distorted
characters.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/pytorch_pretrain.py [--steps 20]

Prints one JSON object: {"impl": ..., "images_per_s": ...}.
"""
import argparse
import json
import time

import torch
import torchvision


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--classes", type=int, default=872)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = torchvision.models.resnet50(num_classes=a.classes)
    m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    lossf = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.randn(a.batch, 1, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        lossf(m(x), y).backward()
        opt.step()

    step()
    step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch " + torch.__version__, "threads": torch.get_num_threads(),
                      "batch": a.batch, "size": a.size, "classes": a.classes,
                      "images_per_s": round(a.batch * a.steps / dt, 2)}))


if __name__ == "__main__":
    main()
