import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
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
