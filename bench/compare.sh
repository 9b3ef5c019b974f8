#!/usr/bin/env bash
# Runs examples/bench and bench/pytorch_bench.py with the same settings,
# alternating, ROUNDS times each (default 3), and prints every JSON line,
# then the best throughput of each side (the machine may be shared: the best
# of several rounds is the least disturbed), the largest peak RSS, and the
# ratios ours / PyTorch.
#
#   bench/compare.sh                                    # default build
#   GO_TAGS=openblas bench/compare.sh                   # OpenBLAS backend
#   GO_TAGS=openblas OPENBLAS_CORETYPE=Haswell bench/compare.sh
#   ROUNDS=5 bench/compare.sh -train-batch 32 -train-iters 20
#
# Extra arguments go to both programs (-batch, -iters, -train-batch,
# -train-iters, -size, -depth). Both use 2 threads (GOMAXPROCS=2,
# OMP_NUM_THREADS=2 and torch.set_num_threads(2)). PyTorch runs with Debian's
# /usr/bin/python3 (torch 1.13, torchvision 0.14).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=2 GOMAXPROCS=2
rounds=${ROUNDS:-3}
bin=$(mktemp -d)/bench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build ${GO_TAGS:+-tags "$GO_TAGS"} -o "$bin" ./examples/bench
py_args=()
for a in "$@"; do py_args+=("${a/#-/--}"); done
lines=()
for ((r = 0; r < rounds; r++)); do
	ours=$("$bin" "$@")
	theirs=$(/usr/bin/python3 bench/pytorch_bench.py "${py_args[@]}")
	echo "ours:    $ours"
	echo "pytorch: $theirs"
	lines+=("$ours" "$theirs")
done
/usr/bin/python3 - "${lines[@]}" <<'PY'
import json, sys
rs = [json.loads(l) for l in sys.argv[1:]]
ours = [r for r in rs if r["impl"] == "gosiamese"]
pt = [r for r in rs if r["impl"] != "gosiamese"]
print("backend: %s; %s %dx%d, best of %d rounds" % (ours[0]["backend"], ours[0]["arch"], ours[0]["size"], ours[0]["size"], len(ours)))
print("%-22s %10s %10s %7s" % ("measure", "ours", "pytorch", "ratio"))
for k, agg in (("embed_images_per_s", max), ("train_images_per_s", max), ("peak_rss_mib", max)):
    if all(k in r for r in rs):
        o, t = agg(r[k] for r in ours), agg(r[k] for r in pt)
        print("%-22s %10.2f %10.2f %7.2f" % (k, o, t, o / t))
PY
