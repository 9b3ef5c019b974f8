#!/usr/bin/env bash
# Installs ONNX Runtime for Node (npm's onnxruntime-node, the version below)
# into $ORT_DIR (default bench/.ort, ignored by git) unless it is there,
# with --ignore-scripts: the package ships its CPU binaries, and its install
# script would only fetch GPU ones. bench/compare.sh, bench/ort_bench.js and
# the onnx package's tests load it from $ORT_DIR/node_modules.
#
#   bench/ort_install.sh            # exit status 0: installed or already there
#
# Without node or npm, or when npm fails, it says why on stderr and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ort_version=1.30.0
ORT_DIR=${ORT_DIR:-$PWD/bench/.ort}
[[ -d $ORT_DIR/node_modules/onnxruntime-node ]] && exit 0
if ! command -v node >/dev/null; then
	echo "onnxruntime: node is not installed" >&2
	exit 1
fi
if ! command -v npm >/dev/null; then
	echo "onnxruntime: npm is not installed" >&2
	exit 1
fi
if ! { mkdir -p "$ORT_DIR" && npm install --ignore-scripts --no-audit --no-fund --prefix "$ORT_DIR" "onnxruntime-node@$ort_version" >&2; }; then
	echo "onnxruntime: npm install onnxruntime-node@$ort_version into $ORT_DIR failed" >&2
	exit 1
fi
