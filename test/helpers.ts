import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, from dist-test/test/ (compiled) or test/ (source). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
})();

export const FIXTURES = join(ROOT, "fixtures");
export const REALWORLD = resolve(ROOT, "..", "shared", "realworld");
export const HAS_REALWORLD = existsSync(REALWORLD);
export const BIN = join(ROOT, "bin", "verify-checkpoint.js");

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would, without colour. */
export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A checkpoint fixture and what the generator recorded about it (fixtures/checkpoints/**\/*.expected.json). */
export interface RecordedFixture {
  /** Relative to fixtures/checkpoints: "training-state/ok", "hf-trainer/run/checkpoint-500", "lightning/ok.ckpt". */
  name: string;
  path: string;
  layout: string;
  /** The verdict the generator meant the fixture to have in default mode; undefined when it records none. */
  verdict?: "ok" | "warn" | "error";
  /** The verdict under --deep, when the generator made the fixture to fail only there (a flipped bit, a zeroed moment). */
  deepVerdict?: "ok" | "warn" | "error";
  truth: Record<string, any>; // the generator's JSON, read as written
}

/**
 * Every checkpoint fixture the generator recorded truth for: `X.expected.json` describes
 * `X` (a folder or file) or `X.ckpt`; a Trainer case names its `folder` inside `X`; a run
 * lists its `checkpoints`. A fixture that is missing on disk is still listed, so the test
 * that opens it fails instead of skipping it.
 */
export function recordedFixtures(): RecordedFixture[] {
  const base = join(FIXTURES, "checkpoints");
  const out: RecordedFixture[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(base, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      if (!entry.isFile() || !entry.name.endsWith(".expected.json")) continue;
      const stem = rel.slice(0, -".expected.json".length);
      const truth = JSON.parse(readFileSync(join(base, rel), "utf8"));
      const target = existsSync(join(base, stem)) || !existsSync(join(base, `${stem}.ckpt`)) ? stem : `${stem}.ckpt`;
      if (truth.checkpoints && typeof truth.checkpoints === "object") {
        for (const [name, t] of Object.entries(truth.checkpoints as Record<string, Record<string, unknown>>)) {
          out.push({ name: `${target}/${name}`, path: join(base, target, name), layout: truth.layout, verdict: t["verdict"] as RecordedFixture["verdict"], truth: t });
        }
        continue;
      }
      // A save inside the case folder (Megatron's --save folder `checkpoints/`) is named by `path`.
      const inner = typeof truth.folder === "string" ? truth.folder : typeof truth.path === "string" ? truth.path : undefined;
      const name = inner ? `${target}/${inner}` : target;
      out.push({ name, path: join(base, name), layout: truth.layout, ...verdicts(truth), truth });
    }
  };
  walk("");
  return out;
}

/** "deep-error" (DCP) and `verdict_default_mode` (the resume fixtures) name a verdict that only --deep reaches. */
function verdicts(truth: Record<string, any>): Pick<RecordedFixture, "verdict" | "deepVerdict"> {
  if (truth.verdict === "deep-error") return { verdict: "ok", deepVerdict: "error" };
  if (typeof truth.verdict_default_mode === "string") return { verdict: truth.verdict_default_mode as RecordedFixture["verdict"], deepVerdict: truth.verdict };
  return { verdict: truth.verdict };
}

/** The contract's verdicts as a literal table: what a fixture's recorded verdict means for the report, default and --strict. */
export const VERDICT_OUTCOMES = {
  ok: { status: "passed", exit: 0, strictStatus: "passed", strictExit: 0 },
  warn: { status: "passed_with_warnings", exit: 0, strictStatus: "failed", strictExit: 1 },
  error: { status: "failed", exit: 1, strictStatus: "failed", strictExit: 1 },
} as const;

/**
 * The verdict a recorded fixture must get. The generic layout warns on every folder that
 * progress could not be checked (README, Layouts), so its "ok" is a warning.
 */
export function expectedVerdict(f: RecordedFixture): keyof typeof VERDICT_OUTCOMES | undefined {
  return f.layout === "generic" && f.verdict === "ok" ? "warn" : f.verdict;
}
