import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, ROOT } from "../helpers.js";

// action.yml, run as the runner runs a composite action: each step's `run` script in bash, with its
// `env` (inputs substituted), GITHUB_ACTION_PATH at the repository and a job summary file.

interface Step {
  name: string;
  run: string;
  env: Record<string, string>;
}

/** The inputs (name -> default) and steps of action.yml; only the shapes this file uses are read. */
function readAction(): { inputs: Record<string, string | undefined>; steps: Step[] } {
  const lines = readFileSync(join(ROOT, "action.yml"), "utf8").split("\n");
  const inputs: Record<string, string | undefined> = {};
  const steps: Step[] = [];
  let section = "";
  let input = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\S/.test(line)) section = line.replace(/:.*/, "");
    if (section === "inputs") {
      const name = /^ {2}(\w+):$/.exec(line);
      if (name) inputs[(input = name[1]!)] = undefined;
      const def = /^ {4}default: (.*)$/.exec(line);
      if (def) inputs[input] = JSON.parse(def[1]!.replace(/^(\w+)$/, '"$1"')) as string;
    }
    const step = /^ {4}- name: (.*)$/.exec(line);
    if (step) steps.push({ name: step[1]!, run: "", env: {} });
    const current = steps[steps.length - 1];
    if (current && /^ {6}env:$/.test(line)) {
      for (i++; /^ {8}\w+: /.test(lines[i]!); i++) {
        const [, k, v] = /^ {8}(\w+): (.*)$/.exec(lines[i]!)!;
        current.env[k!] = v!;
      }
      i--;
    }
    if (current && /^ {6}run: \|$/.test(line)) {
      const body: string[] = [];
      for (i++; i < lines.length && (/^ {8}/.test(lines[i]!) || lines[i] === ""); i++) body.push(lines[i]!.slice(8));
      i--;
      current.run = body.join("\n");
    }
  }
  return { inputs, steps };
}

/** Runs every step in order with these inputs, as the runner does; stops at the first that fails. */
function runAction(given: Record<string, string>): { code: number | null; stdout: string; summary: string } {
  const { inputs, steps } = readAction();
  const values = { ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v ?? ""])), ...given };
  const dir = mkdtempSync(join(tmpdir(), "vc-action-"));
  const summaryFile = join(dir, "summary.md");
  let stdout = "";
  try {
    for (const step of steps) {
      const env = Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, v.replace(/\$\{\{ inputs\.(\w+) \}\}/g, (_, name: string) => values[name] ?? "")]));
      const r = spawnSync("bash", ["-e", "-c", step.run], { encoding: "utf8", env: { ...process.env, ...env, NO_COLOR: "1", GITHUB_ACTION_PATH: ROOT, GITHUB_STEP_SUMMARY: summaryFile }, timeout: 120_000 });
      stdout += r.stdout;
      if (r.status !== 0) return { code: r.status, stdout: stdout + r.stderr, summary: existsSync(summaryFile) ? readFileSync(summaryFile, "utf8") : "" };
    }
    return { code: 0, stdout, summary: existsSync(summaryFile) ? readFileSync(summaryFile, "utf8") : "" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("action.yml (composite GitHub Action)", () => {
  it("declares the inputs path, strict, format and deep, and runs in bash steps", () => {
    const { inputs, steps } = readAction();
    assert.deepEqual(inputs, { path: undefined, strict: "false", format: "github", deep: "false" });
    assert.deepEqual(steps.map((s) => s.name), ["Build verify-checkpoint", "Verify checkpoint"]);
    for (const s of steps) assert.equal(spawnSync("bash", ["-n", "-c", s.run]).status, 0, `${s.name} is not valid bash`);
    assert.ok(!/\$\{\{/.test(steps.map((s) => s.run).join("\n")), "inputs are pasted into a script");
  });

  it("passes a good checkpoint with annotations and a job summary; fails a broken one", () => {
    const ok = runAction({ path: fixture("checkpoints", "training-state", "ok") });
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.summary, /verify-checkpoint/);
    const bad = runAction({ path: fixture("checkpoints", "training-state", "error-truncated-zip") });
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout, /^::error /m);
  });

  it("strict makes warnings fail; deep reads every byte; format text", () => {
    const warn = fixture("checkpoints", "training-state", "warn-no-scaler");
    assert.equal(runAction({ path: warn }).code, 0);
    assert.equal(runAction({ path: warn, strict: "true" }).code, 1);
    const deep = runAction({ path: fixture("checkpoints", "training-state", "ok"), deep: "true", format: "text" });
    assert.equal(deep.code, 0, deep.stdout);
    assert.match(deep.stdout, /✔ Every byte read \(--deep\) \[integrity\]/);
  });

  it("a path input is a path, never shell code", () => {
    const marker = join(tmpdir(), `vc-action-injected-${process.pid}`);
    const r = runAction({ path: `$(touch ${marker})`, format: "text" });
    assert.equal(r.code, 1);
    assert.ok(!existsSync(marker), "the input was executed");
    assert.match(r.stdout, /does not exist/);
  });
});
