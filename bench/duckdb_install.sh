#!/usr/bin/env bash
# Installs DuckDB for Node (npm's @duckdb/node-api, the version below) into
# $DUCKDB_DIR (default bench/.duckdb, ignored by git) unless it is there,
# with --ignore-scripts: the package's platform bindings ship as npm
# packages of their own. The bulk package's TestDuckDBReads loads it from
# $DUCKDB_DIR/node_modules to read the Parquet files Run writes.
#
#   bench/duckdb_install.sh         # exit status 0: installed or already there
#
# Without node or npm, or when npm fails, it says why on stderr and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.5.6-r.1
DUCKDB_DIR=${DUCKDB_DIR:-$PWD/bench/.duckdb}
[[ -d $DUCKDB_DIR/node_modules/@duckdb/node-api ]] && exit 0
for tool in node npm; do
	if ! command -v $tool >/dev/null; then
		echo "duckdb: $tool is not installed" >&2
		exit 1
	fi
done
if ! { mkdir -p "$DUCKDB_DIR" && npm install --ignore-scripts --no-audit --no-fund --prefix "$DUCKDB_DIR" "@duckdb/node-api@$version" >&2; }; then
	echo "duckdb: npm install @duckdb/node-api@$version into $DUCKDB_DIR failed" >&2
	exit 1
fi
