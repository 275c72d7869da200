#!/usr/bin/env node
// Loads the bundled CLI (dist/bundle/cli.js, one function expression) with the V8 code cache
// `npm run build` made for it: start-up is most of what a default-mode run costs. A cache made by
// another Node or V8 version is rejected by V8, which then compiles the bundle as usual.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const file = fileURLToPath(new URL("../dist/bundle/cli.js", import.meta.url));
let cachedData;
try {
  cachedData = readFileSync(new URL("../dist/bundle/cli.cache", import.meta.url));
} catch {
  // no cache: compile from source
}
const cli = { exports: {} };
new Script(readFileSync(file, "utf8"), { filename: file, cachedData }).runInThisContext()(cli.exports, createRequire(file), cli, file, dirname(file));

// `verify-checkpoint ... | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await cli.exports.main(process.argv);
