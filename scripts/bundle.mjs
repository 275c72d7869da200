// `npm run bundle` (part of `npm run build`): the CLI as one script plus a V8 code cache for it.
//
// 1. dist/cli/main.js and everything it imports (commander, chalk, zod, fflate) become one
//    CommonJS bundle wrapped as a function expression, dist/bundle/cli.js, which
//    bin/verify-checkpoint.js compiles with vm.Script. The --deep worker is bundled on its own.
// 2. The bundle is compiled here and run in this process on shipped fixtures of each layout, so
//    V8 compiles the functions a verification uses; the bytecode is saved as dist/bundle/cli.cache.
//    The bin hands it to vm.Script; V8 rejects it (and compiles as usual) unless the source, the
//    V8 version and the V8 flags are the ones it was made with. See docs/decisions.md.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "dist", "bundle");
const SCRIPT = join(OUT, "cli.js");
const CACHE = join(OUT, "cli.cache");

// commander requires node:child_process at load time for executable subcommands, which this CLI
// does not have; loading it (and net, dgram, streams) costs ~2 ms of every run. Its require gets
// a stand-in that loads the real module on first use.
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (args.importer.includes("commander") ? { path: "child_process", namespace: "lazy-builtin" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({
      contents: 'let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require("node:child_process"))[k] });',
      loader: "js",
    }));
  },
};

const common = { bundle: true, platform: "node", target: "node20", minifyWhitespace: true, minifySyntax: true, logLevel: "warning" };

// The wrapper's parameters are what the bin passes; import.meta.url (the worker's URL, the
// package.json lookup) becomes the bundle's own file URL.
// The AWS SDK is required on the first s3:// path (storage/remote/s3-client.ts), from node_modules:
// it must never be in the start-up bundle, which every local run loads.
const cli = await build({
  ...common,
  entryPoints: [join(ROOT, "dist", "cli", "main.js")],
  outfile: SCRIPT,
  format: "cjs",
  external: ["@aws-sdk/*", "@smithy/*"],
  metafile: true,
  plugins: [lazyChildProcess],
  define: { "import.meta.url": "__vcMetaUrl" },
  banner: { js: '(function (exports, require, module, __filename, __dirname) {var __vcMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  footer: { js: "\n})" },
});
await build({
  ...common,
  entryPoints: [join(ROOT, "dist", "integrity", "worker.js")],
  outfile: join(OUT, "worker.js"),
  format: "esm",
  banner: { js: "import { createRequire as __vcRequire } from 'node:module'; const require = __vcRequire(import.meta.url);" },
});

const sdkInside = Object.keys(cli.metafile.inputs).find((p) => /node_modules\/@(aws-sdk|smithy)\//.test(p));
if (sdkInside) throw new Error(`dist/bundle/cli.js includes ${sdkInside}: the AWS SDK must stay outside the start-up bundle`);

// vm.Script code has no module loader: an import() left in the bundle would fail only when reached
// (the --deep thread pool once did, on checkpoints over 256 MiB). Refuse to build such a bundle.
const leftover = /\bimport\(\s*["'`]([^"'`]+)/.exec(readFileSync(SCRIPT, "utf8"));
if (leftover) throw new Error(`dist/bundle/cli.js still has import("${leftover[1]}"): load it with require (createRequire) instead`);

// The same steps as the bin, then a few representative runs with the output discarded.
const script = new vm.Script(readFileSync(SCRIPT, "utf8"), { filename: SCRIPT });
const loaded = { exports: {} };
script.runInThisContext()(loaded.exports, createRequire(SCRIPT), loaded, SCRIPT, dirname(SCRIPT));
const silent = { stdout: () => {}, stderr: () => {}, colorLevel: 0, stderrIsTTY: false, env: {} };
const fixture = (rel) => join(ROOT, "fixtures", "checkpoints", rel);
const runs = [
  ["--checkpoint_path", fixture("training-state/ok"), "--json"],
  ["--checkpoint_path", fixture("training-state/ok")],
  ["--checkpoint_path", fixture("hf-trainer/cases/ok-fp16-scaler"), "--json"],
  ["--checkpoint_path", fixture("lightning/ok.ckpt"), "--json"],
  ["--checkpoint_path", fixture("generic/some-folder"), "--json"],
  ["--checkpoint_path", fixture("dcp/torchtitan/checkpoint/step-1000"), "--json"],
  ["--checkpoint_path", fixture("megatron/ok-torch-dist/checkpoints"), "--json"],
  ["--checkpoint_path", fixture("accelerate/cases/ok-ddp-2proc/step_500"), "--json"],
];
for (const args of runs) {
  const code = await loaded.exports.main([process.execPath, SCRIPT, ...args], silent);
  if (code !== 0) throw new Error(`code-cache run ${args.join(" ")} exited ${code}`);
}
const data = script.createCachedData();
writeFileSync(CACHE, data);
console.log(`dist/bundle/cli.js ${(readFileSync(SCRIPT).length / 1024).toFixed(0)} KiB, code cache ${(data.length / 1024).toFixed(0)} KiB`);
