// Runs an ONNX model with ONNX Runtime for the onnx package's tests:
//
//	node ort_run.js MODEL.onnx < feeds.json > outputs.json
//
// feeds.json maps each input name to {"dims": [...], "data": [...]}
// (float32 values); the output is {"version": ONNX Runtime's version,
// "outputs": {...}}, every output of the model written as the feeds are
// (float32 values as JSON numbers: exact, each is a double).
// onnxruntime-node is loaded from $ORT_DIR/node_modules, where it is
// installed with
//
//	npm install --ignore-scripts --prefix "$ORT_DIR" onnxruntime-node@1.30.0
//
// The session runs on the CPU with every graph optimisation, as a server
// would run it.
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

async function main() {
  const [model] = process.argv.slice(2);
  if (!model || !process.env.ORT_DIR) throw new Error("usage: ORT_DIR=DIR node ort_run.js MODEL.onnx < feeds.json");
  const req = createRequire(path.join(path.resolve(process.env.ORT_DIR), "node_modules", "_"));
  const ort = req("onnxruntime-node");
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
  });
  const feeds = {};
  for (const [name, t] of Object.entries(JSON.parse(fs.readFileSync(0, "utf8")))) {
    feeds[name] = new ort.Tensor("float32", Float32Array.from(t.data), t.dims);
  }
  const results = await session.run(feeds);
  const out = { version: req("onnxruntime-node/package.json").version, outputs: {} };
  for (const name of session.outputNames) {
    const r = results[name];
    out.outputs[name] = { dims: r.dims.map(Number), data: Array.from(r.data) };
  }
  await session.release();
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
