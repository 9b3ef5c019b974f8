#!/usr/bin/env bash
# Times a pretraining step of the oneshot recipe (ResNet-50, 32x32 grey,
# batch 64, 872 classes, Adam) here (BenchmarkPretrain in package train)
# and in PyTorch (bench/pytorch_pretrain.py), alternating, ROUNDS times each
# (default 2), and prints the best images/s of each side and their ratio.
#
#   bench/compare_pretrain.sh                 # STEPS=20 steps per round
#
# Both use 2 threads. PyTorch runs with Debian's /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=2 GOMAXPROCS=2
rounds=${ROUNDS:-2}
steps=${STEPS:-20}
bin=$(mktemp -d)/train.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./train
ours=() theirs=()
for ((r = 0; r < rounds; r++)); do
	o=$(cd train && "$bin" -test.run XXX -test.bench 'Pretrain$' -test.benchtime "${steps}x" | awk '/images\/s/ {for (i = 1; i < NF; i++) if ($(i+1) == "images/s") print $i}')
	t=$(/usr/bin/python3 bench/pytorch_pretrain.py --steps "$steps" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["images_per_s"])')
	echo "round $((r + 1)): ours $o images/s, pytorch $t images/s"
	ours+=("$o") theirs+=("$t")
done
/usr/bin/python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import sys
o = max(map(float, sys.argv[1].split()))
t = max(map(float, sys.argv[2].split()))
print("pretraining step, best of rounds: ours %.1f images/s, pytorch %.1f images/s, ratio %.2f" % (o, t, o / t))
PY
