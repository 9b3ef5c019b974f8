"""PyTorch reference for examples/bench: same model, sizes and measures.

Run with Debian's interpreter (torch 1.13, torchvision 0.14):
    OMP_NUM_THREADS=2 /usr/bin/python3 bench/pytorch_bench.py [--depth 50] [--size 64] ...
Prints one JSON object with the same keys as `go run ./examples/bench`.
"""
import argparse
import json
import time

import torch
import torchvision


def rss(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 2)
    return -1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, default=50)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--train-batch", type=int, default=16)
    p.add_argument("--train-iters", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    make = getattr(torchvision.models, "resnet%d" % a.depth)
    res = {"impl": "pytorch " + torch.__version__, "arch": "resnet%d" % a.depth,
           "size": a.size, "threads": torch.get_num_threads()}
    if a.batch > 0:
        m = make()
        m.fc = torch.nn.Identity()  # pooled features, as the Go encoder
        m.eval()
        x = torch.empty(a.batch, 3, a.size, a.size).uniform_(-2, 2)
        with torch.no_grad():
            m(x)
            t0 = time.perf_counter()
            for _ in range(a.iters):
                m(x)
            dt = time.perf_counter() - t0
        res["embed_batch"] = a.batch
        res["embed_images_per_s"] = round(a.batch * a.iters / dt, 2)
    if a.train_batch > 0:
        m = make()
        m.fc = torch.nn.Identity()
        m.train()
        x = torch.empty(a.train_batch, 3, a.size, a.size).uniform_(-2, 2)

        def step():
            m.zero_grad(set_to_none=True)
            m(x).sum().backward()

        step()
        t0 = time.perf_counter()
        for i in range(a.train_iters):
            step()
            if i == 0:
                res["rss_mib_after_first_train"] = rss("VmRSS")
        dt = time.perf_counter() - t0
        res["train_batch"] = a.train_batch
        res["train_images_per_s"] = round(a.train_batch * a.train_iters / dt, 2)
        res["rss_mib_after_train"] = rss("VmRSS")
    res["peak_rss_mib"] = rss("VmHWM")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
