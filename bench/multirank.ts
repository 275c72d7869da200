// The multi-rank part of `npm run bench`: default mode on a 64-rank torch.distributed.checkpoint
// folder (bench/generate_dcp.py, real torch, small tensors) against Node's own start (`node -e 0`).
// Issue 12's target is default mode within 5x of that floor. Timings are printed, never asserted.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

interface Timed { name: string; ms: number[] }

function time(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  spawnSync(cmd, args, { stdio: "ignore", env: { ...process.env, NO_COLOR: "1" } });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Generates (once) and times the 64-rank DCP folder; returns the lines to print. */
export function benchMultiRank(root: string, cache: string, python: string, bin: string, runs: number): string[] {
  const ranks = 64;
  const dir = join(cache, `dcp-${ranks}-ranks`, "step-1000");
  if (!existsSync(join(dir, ".metadata"))) {
    mkdirSync(join(cache, `dcp-${ranks}-ranks`), { recursive: true });
    const r = spawnSync(python, [join(root, "bench", "generate_dcp.py"), dir, String(ranks)], { stdio: "inherit" });
    if (r.status !== 0) return [`multi-rank: the DCP generator failed (exit ${r.status}); skipped`];
  }
  const modes: (Timed & { cmd: string; args: string[] })[] = [
    { name: `default (--json), ${ranks}-rank DCP`, cmd: process.execPath, args: [bin, "--checkpoint_path", dir, "--json"], ms: [] },
    { name: `--deep --json, ${ranks}-rank DCP`, cmd: process.execPath, args: [bin, "--checkpoint_path", dir, "--json", "--deep"], ms: [] },
    { name: "floor: node -e 0", cmd: process.execPath, args: ["-e", "0"], ms: [] },
  ];
  for (const m of modes) time(m.cmd, m.args); // warm-up, untimed
  for (let i = 0; i < runs; i++) for (const m of modes) m.ms.push(time(m.cmd, m.args));
  const floor = median(modes[2]!.ms);
  const lines = ["", `Multi-rank (${runs} timed runs each, interleaved; ${dir}):`, "| mode | median ms | range ms | x node -e 0 |", "| --- | ---: | ---: | ---: |"];
  for (const m of modes) lines.push(`| ${m.name} | ${median(m.ms).toFixed(0)} | ${Math.min(...m.ms).toFixed(0)}–${Math.max(...m.ms).toFixed(0)} | ${(median(m.ms) / floor).toFixed(1)} |`);
  return lines;
}
