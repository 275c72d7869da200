#!/usr/bin/env node
"use strict";
// Loads the bundled CLI (dist/bundle/cli.js, one function expression) with the V8 code cache
// `npm run build` made for it: start-up is most of what a default-mode run costs. A cache made by
// another Node or V8 version is rejected by V8, which then compiles the bundle as usual.
// CommonJS (bin/package.json says so), so starting the CLI does not start Node's ES module loader.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { Script } = require("node:vm");

const dir = join(__dirname, "..", "dist", "bundle");
const file = join(dir, "cli.js");
let cachedData;
try {
  cachedData = readFileSync(join(dir, "cli.cache"));
} catch {
  // no cache: compile from source
}
const cli = { exports: {} };
new Script(readFileSync(file, "utf8"), { filename: file, cachedData }).runInThisContext()(cli.exports, require, cli, file, dir);

// `verify-checkpoint ... | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
cli.exports.main(process.argv).then((code) => {
  process.exitCode = code;
});
