#!/usr/bin/env bash
# Runs examples/bench, bench/pytorch_bench.py and bench/ort_bench.js (ONNX
# Runtime, embedding only) with the same settings, alternating, ROUNDS times
# each (default 3), and prints the CPU, every JSON line, then the best
# throughput of each side (the machine may be shared: the best of several
# rounds is the least disturbed), the largest peak RSS, and the ratios
# ours / PyTorch and ours / ONNX Runtime.
#
#   bench/compare.sh                                    # default build
#   GO_TAGS=openblas bench/compare.sh                   # OpenBLAS backend
#   GO_TAGS=openblas OPENBLAS_CORETYPE=Haswell bench/compare.sh
#   ROUNDS=5 bench/compare.sh -train-batch 32 -train-iters 20
#   ORT=0 bench/compare.sh                              # without ONNX Runtime
#   ISA=avx2 bench/compare.sh                           # both sides held to AVX2
#
# Extra arguments go to all programs (-batch, -iters, -train-batch,
# -train-iters, -size, -depth). All use 2 threads (GOMAXPROCS=2,
# OMP_NUM_THREADS=2, torch.set_num_threads(2) and ONNX Runtime's
# intraOpNumThreads 2). PyTorch runs with Debian's /usr/bin/python3 (torch
# 1.13, torchvision 0.14). ONNX Runtime is npm's onnxruntime-node, installed on
# first use by bench/ort_install.sh (`npm install --ignore-scripts`) into $ORT_DIR (default
# bench/.ort, ignored by git), where the network is also kept, exported by
# bench/export_onnx.py; without node and npm it is left out with a message.
# Its peak RSS is that of inference alone, so its RSS ratio is printed only
# when ours ran inference alone (-train-batch 0).
#
# ISA=avx2 runs an AVX-512 machine as an AVX2-only CPU would be run, on
# both sides: ours with GODEBUG=cpu.avx512f=off (golang.org/x/sys/cpu then
# reports no AVX-512, so every kernel chooses its AVX2 form), PyTorch with
# oneDNN's DNNL_MAX_CPU_ISA=AVX2, ATen's ATEN_CPU_CAPABILITY=avx2 and
# OPENBLAS_CORETYPE=Haswell. ONNX Runtime has no such setting and is left
# out. The cores, caches and clocks stay those of this CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=2 GOMAXPROCS=2
rounds=${ROUNDS:-3}
export ORT_DIR=${ORT_DIR:-$PWD/bench/.ort}

# Every figure names its CPU.
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2 || true)
has=() lacks=()
for f in avx2 fma avx512f avx512_bf16 amx_tile amx_bf16 amx_int8; do
	if [[ " $flags " == *" $f "* ]]; then has+=("$f"); else lacks+=("$f"); fi
done
family=$(awk -F': *' '/^cpu family/ {f = $2} /^model[[:space:]]*:/ {m = $2} END {if (f != "") print "family " f " model " m}' /proc/cpuinfo 2>/dev/null || true)
echo "cpu: ${cpu:-unknown}${family:+ ($family)}, $(nproc) cores; has: ${has[*]:-none}; lacks: ${lacks[*]:-none}"

ort=${ORT:-1}
case ${ISA:-} in
"") ;;
avx2)
	export GODEBUG=${GODEBUG:+$GODEBUG,}cpu.avx512f=off DNNL_MAX_CPU_ISA=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell
	echo "isa: held to AVX2 on both sides (GODEBUG=$GODEBUG, DNNL_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2, OPENBLAS_CORETYPE=Haswell); onnxruntime left out"
	ort=0
	;;
*)
	echo "compare.sh: ISA=$ISA: want avx2 or nothing" >&2
	exit 2
	;;
esac
[[ $ort != 0 ]] || echo "onnxruntime: left out, ORT=0"
if [[ $ort != 0 ]] && ! bench/ort_install.sh; then
	echo "onnxruntime: left out"
	ort=0
fi

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
	if [[ $ort != 0 ]]; then
		if onnx=$(node bench/ort_bench.js "$@"); then
			echo "onnxruntime: $onnx"
			lines+=("$onnx")
		else
			echo "onnxruntime: failed, left out from here on"
			ort=0
		fi
	fi
done
/usr/bin/python3 - "${lines[@]}" <<'PY'
import json, sys
rs = [json.loads(l) for l in sys.argv[1:]]
ours = [r for r in rs if r["impl"] == "gosiamese"]
pt = [r for r in rs if r["impl"].startswith("pytorch")]
ort = [r for r in rs if r["impl"].startswith("onnxruntime")]
print("backend: %s; %s %dx%d, best of %d rounds" % (ours[0]["backend"], ours[0]["arch"], ours[0]["size"], ours[0]["size"], len(ours)))
print("%-22s %10s %10s %7s" % ("measure", "ours", "pytorch", "ratio") + (" %11s %9s" % ("onnxruntime", "ratio_ort") if ort else ""))
infer_only = not any("train_images_per_s" in r for r in ours)
for k, agg in (("embed_images_per_s", max), ("train_images_per_s", max), ("peak_rss_mib", max)):
    if all(k in r for r in ours + pt):
        o, t = agg(r[k] for r in ours), agg(r[k] for r in pt)
        line = "%-22s %10.2f %10.2f %7.2f" % (k, o, t, o / t)
        if ort and all(k in r for r in ort) and (k != "peak_rss_mib" or infer_only):
            n = agg(r[k] for r in ort)
            line += " %11.2f %9.2f" % (n, o / n)
        print(line)
if ort:
    print("ratios are ours / pytorch and ours / onnxruntime (%s, inference only)" % ort[0]["impl"])
PY
