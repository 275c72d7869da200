import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fixture, ROOT, runCli } from "../helpers.js";

const ok = fixture("checkpoints", "training-state", "ok");

describe("command line", () => {
  it("accepts --checkpoint_path, --checkpoint-path and a positional path alike", () => {
    for (const args of [["--checkpoint_path", ok], ["--checkpoint-path", ok], [ok]]) {
      const run = runCli([...args, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).checkpoint, ok);
    }
  });
  it("usage errors exit 2: unknown flag, missing path, bad numbers, bad format", () => {
    for (const args of [["--bogus", ok], [], ["--tolerance", "abc", ok], ["--tolerance", "-1", ok], ["--gradient-accumulation-steps", "0", ok], ["--format", "xml", ok], ["--layout", "nope", ok]]) {
      const run = runCli(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
      assert.notEqual(run.stderr, "");
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    }
  });
  it("--version prints the package version, --help lists every flag with examples", () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8"));
    assert.equal(runCli(["--version"]).stdout.trim(), pkg.version);
    const help = runCli(["--help"]);
    assert.equal(help.code, 0);
    for (const flag of ["--checkpoint_path", "--strict", "--tolerance", "--gradient-accumulation-steps", "--format", "--json", "--quiet", "--deep", "--layout", "--allow-global", "Examples:"]) assert.ok(help.stdout.includes(flag), flag);
  });
  it("a path that does not exist is a failed verification (exit 1), not a usage error", () => {
    const run = runCli(["--checkpoint_path", "/nonexistent/checkpoint", "--json"]);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout);
    assert.equal(report.checks[0].findings[0].code, "PATH_NOT_FOUND");
    assert.equal(report.checks[1].status, "skip");
  });
});

describe("text report", () => {
  it("shows the header, the checks, the summary and the verdict, without colour when NO_COLOR is set", () => {
    const run = runCli([fixture("checkpoints", "training-state", "warn-no-scaler")]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^verify-checkpoint \d+\.\d+\.\d+\nCheckpoint: .*warn-no-scaler\nLayout:     training-state\n/);
    assert.match(run.stdout, /✔ Optimizer step count \[optimizer\]\n    ✔ optimizer steps 2532, expected 2540 = 2 epochs × 1270 batches \+ 0, diff 8 within tolerance 20/);
    assert.match(run.stdout, /⚠ no AMP scaler state \(training_state.pth: scaler_state_dict\) \(SCALER_STATE_MISSING\)/);
    assert.match(run.stdout, /Passed: \d+, Warnings: 1, Errors: 0\n⚠ PASSED WITH WARNINGS\n$/);
    assert.doesNotMatch(run.stdout, /\x1b\[/);
  });
  it("strict mode says that warnings failed it", () => {
    const run = runCli([fixture("checkpoints", "training-state", "warn-no-scaler"), "--strict"]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /✖ FAILED \(strict mode: warnings count as failures\)\n$/);
  });
  it("--quiet prints only the problems and the verdict", () => {
    const run = runCli([fixture("checkpoints", "training-state", "warn-no-scaler"), "--quiet"]);
    assert.equal(run.stdout, "⚠ scaler: no AMP scaler state (training_state.pth: scaler_state_dict) (SCALER_STATE_MISSING)\n" + run.stdout.split("\n").slice(1).join("\n"));
    assert.equal(run.stdout.split("\n").length, 4);
  });
  it("FORCE_COLOR colours the output", () => {
    const run = runCli([ok], { NO_COLOR: "", FORCE_COLOR: "1" });
    assert.match(run.stdout, /\x1b\[32m✔/);
  });
});

describe("internal errors", () => {
  it("exit 3 with one line and a hint to report it; the stack only with --debug", async () => {
    const { main } = await import("../../src/cli/main.js");
    const run = async (extra: string[]) => {
      const err: string[] = [];
      const io = { stdout: () => { throw new Error("boom in a reporter"); }, stderr: (s: string) => void err.push(s), colorLevel: 0 as const, stderrIsTTY: false };
      const code = await main(["node", "verify-checkpoint", ok, ...extra], io);
      return { code, stderr: err.join("") };
    };
    const plain = await run([]);
    assert.equal(plain.code, 3);
    assert.match(plain.stderr, /^verify-checkpoint: internal error: boom in a reporter\nThis is a bug in verify-checkpoint, not a problem with your checkpoint: please report it .*\(add --debug for the stack trace\)\.\n$/);
    const debug = await run(["--debug"]);
    assert.equal(debug.code, 3);
    assert.match(debug.stderr, /\n\s+at /);
  });
});
