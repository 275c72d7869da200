/**
 * Runs the verifier and `inspect` on one mutant, in-process and (for a
 * sample) as the CLI a user runs, and lists every way it failed the
 * contract: an exception escaping, exit code 3 (or anything but 0/1), a
 * stack trace, stdout that is not JSON, a run over the time limit.
 */
import { spawnSync } from "node:child_process";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { inspectFile } from "../../src/inspect/inspect.js";
import { renderJson } from "../../src/report/json.js";
import { renderText } from "../../src/report/text.js";
import { renderInspectJson, renderInspectText } from "../../src/inspect/render.js";
import { fileURLToPath } from "node:url";
import { BIN } from "../helpers.js";

/** What the spawned sample runs: this build's CLI (default) or bin/verify-checkpoint.js (uses dist/). */
let cliEntry = fileURLToPath(new URL("./cli-entry.js", import.meta.url));

export function useBin(): void {
  cliEntry = BIN;
}

/**
 * A single in-process verify or inspect taking longer than this is a failure. The campaign
 * (`npm run fuzz`) holds every mutant to 5 s; the slice in `npm test` only guards against a
 * hang (tests never assert timings: a loaded CI machine is not a slow tool).
 */
let timeLimitMs = 5_000;

export function setTimeLimit(ms: number): void {
  timeLimitMs = ms;
}

export interface RunOutcome {
  failures: string[];
  /** The slowest single in-process call. */
  maxMs: number;
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

async function timed<T>(what: string, failures: string[], fn: () => Promise<T>): Promise<{ value?: T; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    if (ms > timeLimitMs) failures.push(`${what} took ${ms.toFixed(0)} ms (limit ${timeLimitMs})`);
    return { value, ms };
  } catch (e) {
    failures.push(`${what} threw: ${describeError(e)}`);
    return { ms: performance.now() - t0 };
  }
}

/** In-process: verifyCheckpoint on the path (folder or file), inspectFile on the mutated file; both rendered. */
export async function runInProcess(verifyPath: string, filePath: string, deep: boolean, inspect: boolean): Promise<RunOutcome> {
  const failures: string[] = [];
  const v = await timed("verifyCheckpoint", failures, () => verifyCheckpoint(verifyPath, { deep }));
  if (v.value) {
    if (v.value.exitCode !== 0 && v.value.exitCode !== 1) failures.push(`verifyCheckpoint exit code ${v.value.exitCode}`);
    try {
      JSON.parse(renderJson(v.value));
      renderText(v.value, { colorLevel: 0, quiet: false });
    } catch (e) {
      failures.push(`rendering the report threw: ${describeError(e)}`);
    }
  }
  let maxMs = v.ms;
  if (inspect) {
    const i = await timed("inspectFile", failures, () => inspectFile(filePath));
    maxMs = Math.max(maxMs, i.ms);
    if (i.value) {
      try {
        JSON.parse(renderInspectJson(i.value));
        renderInspectText(i.value);
      } catch (e) {
        failures.push(`rendering inspect output threw: ${describeError(e)}`);
      }
    }
  }
  return { failures, maxMs };
}

function checkSpawn(what: string, args: string[], failures: string[]): void {
  const r = spawnSync(process.execPath, [cliEntry, ...args], {
    encoding: "utf8",
    // NODE_TEST_CONTEXT (set under node --test) would make cli-entry.js do nothing
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", NODE_TEST_CONTEXT: "" },
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) failures.push(`${what}: could not run: ${r.error.message}`);
  if (r.status !== 0 && r.status !== 1) failures.push(`${what}: exit code ${r.status}${r.signal ? ` (signal ${r.signal})` : ""}: ${r.stderr.slice(0, 2000)}`);
  if (/^ {4}at /m.test(r.stderr)) failures.push(`${what}: stack trace on stderr: ${r.stderr.slice(0, 2000)}`);
  try {
    JSON.parse(r.stdout);
  } catch {
    failures.push(`${what}: stdout is not JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/** As a user runs it: `verify-checkpoint PATH --json` and `verify-checkpoint inspect FILE --json`. */
export function runSpawned(verifyPath: string, filePath: string, deep: boolean, inspect: boolean): string[] {
  const failures: string[] = [];
  checkSpawn("cli verify", [verifyPath, "--json", ...(deep ? ["--deep"] : [])], failures);
  if (inspect) checkSpawn("cli inspect", ["inspect", filePath, "--json"], failures);
  return failures;
}
