#!/usr/bin/python3
"""Load a gosiamese model in PyTorch, score, write it back, train it a few steps.

    /usr/bin/python3 python/roundtrip.py MODEL INPUTS OUTDIR [--steps 4] [--seed 1] [--lr 1e-3]

MODEL is a gosiamese model file; INPUTS a safetensors file with "a" and "b"
(N, C, S, S), preprocessed as the model's Input config says (Go's
preprocess.Batch), and "labels" (N,), 1 for same and 0 for different.
It writes to OUTDIR:

    loaded.json        what the loaded model gives in eval mode: embeddings of
                       a and b by the first tower (emb_a, emb_b), of b by the
                       second (emb_b2), the logits and scores of the pairs
    resaved.safetensors  the loaded model written back unchanged
    trained.safetensors  the model after --steps steps of Adam on the pairs
                       (BCE on the logits, train mode: batch statistics,
                       Dropout), seeded with --seed
    trained.json       what the trained model gives in eval mode, as loaded.json

python/roundtrip_test.go runs it and checks the files against the Go package.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gosiamese_torch as gt  # noqa: E402


def outputs(model, a, b):
    model.eval()
    with torch.no_grad():
        ea, eb = model.embed(a, 0), model.embed(b, 0)
        eb2 = model.embed(b, 1)
        z = model.logits_of_embeddings(ea, eb2)
    return {
        "emb_a": ea.tolist(), "emb_b": eb.tolist(), "emb_b2": eb2.tolist(),
        "logits": z.tolist(), "scores": torch.sigmoid(z).tolist(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("outdir")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    ins, _ = gt.read_safetensors(args.inputs)
    a, b, labels = ins["a"].float(), ins["b"].float(), ins["labels"].double()
    model, config = gt.load(args.model)

    with open(os.path.join(args.outdir, "loaded.json"), "w") as f:
        json.dump(outputs(model, a, b), f)
    gt.save(model, config, os.path.join(args.outdir, "resaved.safetensors"))

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    model.train()
    losses = []
    for _ in range(args.steps):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(a, b), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.info["trained_with"] = f"PyTorch {torch.__version__}: {args.steps} Adam steps at lr {args.lr}"
    gt.save(model, config, os.path.join(args.outdir, "trained.safetensors"))
    out = outputs(model, a, b)
    out["losses"] = losses
    with open(os.path.join(args.outdir, "trained.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
