// Multi-rank saves in the benchmark: a folder of many small rank files, where the cost is one
// decode per rank file rather than bytes. Each case is generated under /tmp with real torch by its
// own script and timed in default mode and --deep against Node's own start (`node -e 0`).
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface ShardedCase {
  /** How the table names it: "DeepSpeed ZeRO-2, 64 ranks". */
  name: string;
  /** Folder under the cache. */
  folder: string;
  /** The generator script (relative to the repository) and its arguments after OUT_DIR. */
  script: string;
  args: string[];
}

export const SHARDED: ShardedCase[] = [
  { name: "DeepSpeed ZeRO-2, 64 ranks", folder: "deepspeed-64-zero2", script: "bench/generate_deepspeed.py", args: ["64", "2"] },
  { name: "DeepSpeed ZeRO-3, 64 ranks", folder: "deepspeed-64-zero3", script: "bench/generate_deepspeed.py", args: ["64", "3"] },
];

interface Env {
  root: string;
  python: string;
  cache: string;
  bin: string;
  runs: number;
  keep: boolean;
}

function time(cmd: string, args: string[]): { ms: number; exit: number | null } {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "ignore"] });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, exit: r.status };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times every case; returns the table and notes as lines. */
export function benchSharded(env: Env): string[] {
  const lines = ["| save | mode | median ms | range ms | x node -e 0 | exit |", "|---|---|--:|--:|--:|---|"];
  for (const c of SHARDED) {
    const dir = join(env.cache, c.folder);
    const existed = existsSync(join(dir, "latest"));
    if (!existed) {
      const r = spawnSync(env.python, [join(env.root, c.script), dir, ...c.args], { stdio: "inherit" });
      if (r.status !== 0) {
        lines.push(`| ${c.name} | generator failed (exit ${r.status}) | | | | |`);
        continue;
      }
    }
    const modes: [string, string, string[]][] = [
      ["floor: node -e 0", process.execPath, ["-e", "0"]],
      ["default (--json)", process.execPath, [env.bin, dir, "--json"]],
      ["--deep --json", process.execPath, [env.bin, dir, "--json", "--deep"]],
    ];
    const samples = modes.map(() => [] as { ms: number; exit: number | null }[]);
    modes.forEach(([, cmd, args]) => time(cmd, args)); // warm-up, untimed
    for (let i = 0; i < env.runs; i++) modes.forEach(([, cmd, args], m) => samples[m]!.push(time(cmd, args)));
    const floor = median(samples[0]!.map((s) => s.ms));
    modes.forEach(([mode], m) => {
      const ms = samples[m]!.map((s) => s.ms);
      const exits = [...new Set(samples[m]!.map((s) => String(s.exit)))].join(",");
      lines.push(`| ${c.name} | ${mode} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} | ${(median(ms) / floor).toFixed(1)} | ${exits} |`);
    });
    if (!existed && !env.keep) rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
