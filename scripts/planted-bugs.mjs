// `npm run mutate:planted`: plants each bug below in a copy of the compiled code, runs the fast
// (in-process) tests against it, and lists the tests that fail. A bug no test catches fails the
// run. These are the bugs issue 16 named plus the other verdict boundaries of the contract; the
// broad search for untested code is Stryker's (npm run mutate, docs/mutation.md).
//
// The bug is written into dist-test's JavaScript, which tsc emits expression for expression from
// the TypeScript, so no build per bug is needed; each replacement must match exactly once.
// Run `npm run build:test` first (npm run mutate:planted does).
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fastTestFiles } from "./fast-tests.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** [what, compiled file, correct code, planted bug] */
export const BUGS = [
  ["optimizer: diff <= tolerance becomes diff < tolerance", "src/checks/optimizer.js", "if (diff <= options.tolerance)", "if (diff < options.tolerance)"],
  ["scheduler: diff <= tolerance becomes diff < tolerance", "src/checks/scheduler.js", "return diff <= options.tolerance ?", "return diff < options.tolerance ?"],
  ["accumulation hint: k = 2 no longer suggested", "src/checks/helpers/steps.js", "if (k < 2)", "if (k <= 2)"],
  ["expected steps: floor(batches / k) + 1", "src/layouts/training-state.js", "expectedOptimizerSteps: Math.floor(batches / gradAccum),", "expectedOptimizerSteps: Math.floor(batches / gradAccum) + 1,"],
  ["expected steps: rounded up instead of down", "src/layouts/training-state.js", "expectedOptimizerSteps: Math.floor(batches / gradAccum),", "expectedOptimizerSteps: Math.ceil(batches / gradAccum),"],
  ["expected steps: one batch too many", "src/layouts/training-state.js", "const batches = epoch * total + step;", "const batches = epoch * total + step + 1;"],
  ["metadata: step == total_batches is an error", "src/checks/metadata.js", "? step > total", "? step >= total"],
  ["metadata: a metric of exactly 1 is out of range", "src/checks/metadata.js", "m.value <= 1", "m.value < 1"],
  ["metadata: a metric of exactly 0 is out of range", "src/checks/metadata.js", "m.value >= 0", "m.value > 0"],
  ["strict mode: one warning is not enough to fail", "src/verify/policy.js", "strict && summary.warnings > 0", "strict && summary.warnings > 1"],
  ["scheduler: a resume LR of exactly 1e-8 is too small", "src/checks/scheduler.js", "lr < 1e-8", "lr <= 1e-8"],
  ["scaler: a scale of 0 is accepted", "src/checks/scaler.js", "v.scale <= 0", "v.scale < 0"],
  ["scaler: an infinite scale is accepted", "src/checks/scaler.js", "!Number.isFinite(v.scale) || ", ""],
];

const WORK = join(ROOT, ".planted");

function main() {
  if (!existsSync(join(ROOT, "dist-test", "src"))) throw new Error("no dist-test/: run npm run build:test first");
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK);
  // The corpus tests find the shared corpus as ../shared from the repository: give the copy one.
  if (existsSync(join(ROOT, "..", "shared"))) symlinkSync(join(ROOT, "..", "shared"), join(WORK, "shared"));
  const lines = ["| planted bug | where | tests that fail |", "| --- | --- | --- |"];
  let survivors = 0;
  try {
    for (const [what, file, good, bad] of BUGS) {
      const copy = plant(file, good, bad);
      const failed = runFastTests(copy);
      if (failed.length === 0) survivors++;
      console.log(`${failed.length === 0 ? "SURVIVED" : "caught  "} ${what}: ${failed.length} failing test(s)`);
      for (const f of failed.slice(0, 4)) console.log(`           ${f}`);
      const shown = failed.slice(0, 3).map((f) => f.replace(/\|/g, "\\|")).join("<br>");
      lines.push(`| ${what} | \`${file.replace(/\.js$/, ".ts")}\` | ${failed.length === 0 ? "**none: survives**" : `${failed.length}: ${shown}${failed.length > 3 ? "<br>…" : ""}`} |`);
      rmSync(copy, { recursive: true, force: true });
    }
  } finally {
    rmSync(WORK, { recursive: true, force: true });
  }
  mkdirSync(join(ROOT, "reports"), { recursive: true });
  writeFileSync(join(ROOT, "reports", "planted-bugs.md"), `${lines.join("\n")}\n`);
  console.log(`\n${BUGS.length - survivors} of ${BUGS.length} planted bugs caught; table in reports/planted-bugs.md`);
  process.exitCode = survivors === 0 ? 0 : 1;
}

/** A copy of the project whose dist-test holds the bug; everything else is linked. */
function plant(file, good, bad) {
  const copy = join(WORK, "copy");
  mkdirSync(copy);
  for (const entry of readdirSync(ROOT)) {
    if (entry === "dist-test" || entry === ".planted" || entry === ".git" || entry === ".stryker-tmp") continue;
    symlinkSync(join(ROOT, entry), join(copy, entry));
  }
  cpSync(join(ROOT, "dist-test"), join(copy, "dist-test"), { recursive: true });
  const path = join(copy, "dist-test", file);
  const code = readFileSync(path, "utf8");
  const count = code.split(good).length - 1;
  if (count !== 1) throw new Error(`${file}: expected one "${good}", found ${count}; update BUGS in scripts/planted-bugs.mjs`);
  writeFileSync(path, code.replace(good, bad));
  return copy;
}

/** Runs the fast tests in `copy`; returns the failing leaf tests as "file: suite › test". */
function runFastTests(copy) {
  const files = fastTestFiles(copy);
  const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", "--test-concurrency=1", ...files], { cwd: copy, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return failingLeaves(r.stdout);
}

/** Leaf "not ok" results of node's TAP output, with their suite path and file. */
export function failingLeaves(tap) {
  const stack = [];
  const failures = [];
  const lines = tap.split("\n");
  lines.forEach((line, i) => {
    const subtest = /^( *)# Subtest: (.*)$/.exec(line);
    if (subtest) {
      stack.length = subtest[1].length / 4;
      stack.push(subtest[2]);
      return;
    }
    const notOk = /^( *)not ok \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
    if (!notOk || notOk[3]) return;
    const depth = notOk[1].length / 4;
    const location = lines.slice(i + 1, i + 8).map((l) => /location: '([^']*?)(?::\d+:\d+)?'/.exec(l)?.[1]).find(Boolean) ?? "";
    failures.push({ depth, name: [...stack.slice(0, depth), notOk[2]].join(" › "), file: location.replace(/^.*\/dist-test\//, "") });
  });
  // A suite fails when a test in it does: its result follows that test's. Keep the tests.
  return failures.filter((f, i) => !(i > 0 && failures[i - 1].depth > f.depth)).map((f) => `${f.file}: ${f.name}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
