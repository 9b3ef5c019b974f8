// ONNX Runtime reference for examples/bench: the embedding measure only (ONNX
// Runtime does inference, not training), on the network of
// bench/pytorch_bench.py exported by bench/export_onnx.py, and one JSON object
// with the same keys as `go run ./examples/bench`:
//
//	node bench/ort_bench.js [-depth 50] [-size 64] [-batch 32] [-iters 5] [-threads 2]
//
// onnxruntime-node is loaded from $ORT_DIR/node_modules (default bench/.ort,
// ignored by git), where bench/compare.sh installs it with
//
//	npm install --ignore-scripts --prefix bench/.ort onnxruntime-node@1.30.0
//
// The model is read from $ORT_DIR/resnet<depth>_<size>.onnx, which is exported
// with Debian's /usr/bin/python3 when missing. The session runs on the CPU
// with intraOpNumThreads = -threads, one inter-op thread and every graph
// optimisation. -train-batch and -train-iters are accepted and ignored, so
// that the arguments of the other two programs can be passed unchanged.
// embed_images_per_s is batch * iters over the time of iters runs after one
// warm-up run; peak_rss_mib is VmHWM from /proc/self/status at the end (the
// node process and the runtime it loaded).
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const { createRequire } = require("module");

const root = path.join(__dirname, "..");

function parseArgs(argv) {
  const opts = { depth: 50, size: 64, batch: 32, iters: 5, threads: 2, "train-batch": 0, "train-iters": 0 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in opts)) throw new Error(`ort_bench: unknown argument ${argv[i]}`);
    const v = m[2] !== undefined ? m[2] : argv[++i];
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) throw new Error(`ort_bench: -${m[1]} needs a non-negative integer, got ${v}`);
    opts[m[1]] = n;
  }
  return opts;
}

// uniform fills n values in [lo, hi) from a fixed seed (mulberry32), so that
// every run sees the same input.
function uniform(n, lo, hi) {
  const out = new Float32Array(n);
  let s = 0x5eed;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

function procStatus(key) {
  try {
    for (const l of fs.readFileSync("/proc/self/status", "utf8").split("\n")) {
      if (l.startsWith(key + ":")) return round(parseInt(l.slice(key.length + 1), 10) / 1024);
    }
  } catch (e) {
    // not Linux: no figure
  }
  return -1;
}

function round(v) {
  return Math.round(v * 100) / 100;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const dir = path.resolve(process.env.ORT_DIR || path.join(root, "bench", ".ort"));
  const req = createRequire(path.join(dir, "node_modules", "_"));
  let ort, version;
  try {
    ort = req("onnxruntime-node");
    version = req("onnxruntime-node/package.json").version;
  } catch (e) {
    throw new Error(`ort_bench: onnxruntime-node not found under ${dir}/node_modules (npm install --ignore-scripts --prefix ${dir} onnxruntime-node@1.30.0): ${e.message}`);
  }
  const arch = `resnet${a.depth}`;
  const res = { impl: `onnxruntime ${version}`, arch, size: a.size, threads: a.threads };
  if (a.batch > 0) {
    const model = path.join(dir, `${arch}_${a.size}.onnx`);
    if (!fs.existsSync(model)) {
      execFileSync("/usr/bin/python3", [path.join(root, "bench", "export_onnx.py"),
        "--depth", String(a.depth), "--size", String(a.size), "--out", model], { stdio: ["ignore", "ignore", "inherit"] });
    }
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: a.threads,
      interOpNumThreads: 1,
    });
    const x = new ort.Tensor("float32", uniform(a.batch * 3 * a.size * a.size, -2, 2), [a.batch, 3, a.size, a.size]);
    const feeds = { [session.inputNames[0]]: x };
    await session.run(feeds); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < a.iters; i++) await session.run(feeds);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    res.embed_batch = a.batch;
    res.embed_images_per_s = round((a.batch * a.iters) / dt);
    await session.release();
  }
  res.peak_rss_mib = procStatus("VmHWM");
  console.log(JSON.stringify(res));
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
