// BENCH_S3=1 npm run bench (or: node dist-test/bench/s3.js DIR [RUNS]): default mode on a checkpoint
// in a loopback S3 server (s3rver, as the tests use) against the same checkpoint on local disk, with
// the bytes and requests the server answered. Loopback has no network latency: the time shows what
// the remote path costs the tool itself (SDK start-up, signing, HTTP), not a real region's round trips.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { remoteEnv, runCliAsync, startProxy, startS3 } from "../test/remote/harness.js";

export interface S3BenchRow {
  mode: string;
  medianMs: number;
  rangeMs: string;
  bytes: string;
  requests: string;
  exit: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function benchS3(dir: string, runs: number): Promise<{ rows: S3BenchRow[]; total: number; notes: string[] }> {
  const total = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  const s3 = await startS3(["bench"]);
  const proxy = await startProxy(s3.port);
  const notes: string[] = [];
  try {
    const t0 = Date.now();
    await s3.upload("bench", dir, "ckpt/");
    notes.push(`uploaded ${(total / 1e9).toFixed(2)} GB to s3rver in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const env = remoteEnv(proxy.endpoint);
    const modes = [
      { name: "default (--json), local disk", args: [dir, "--json"], remote: false },
      { name: "default (--json), s3:// on loopback", args: ["s3://bench/ckpt", "--json"], remote: true },
      { name: "floor: --version with the S3 environment", args: ["--version"], remote: false },
    ];
    const samples = new Map(modes.map((m) => [m.name, [] as { ms: number; bytes: number; requests: number; exit: number | null }[]]));
    for (let i = 0; i <= runs; i++) {
      for (const m of modes) {
        proxy.reset();
        const start = process.hrtime.bigint();
        const r = await runCliAsync(m.args, env);
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (i > 0) samples.get(m.name)!.push({ ms, bytes: proxy.objectBytes(), requests: proxy.log.length, exit: r.code }); // run 0 warms up
      }
    }
    const rows = modes.map((m) => {
      const ss = samples.get(m.name)!;
      const bytes = Math.max(...ss.map((s) => s.bytes));
      return {
        mode: m.name,
        medianMs: median(ss.map((s) => s.ms)),
        rangeMs: `${Math.min(...ss.map((s) => s.ms)).toFixed(0)}–${Math.max(...ss.map((s) => s.ms)).toFixed(0)}`,
        bytes: m.remote ? `${(bytes / 1024).toFixed(0)} KiB (${((bytes / total) * 100).toFixed(3)}%)` : "",
        requests: m.remote ? [...new Set(ss.map((s) => s.requests))].join(",") : "",
        exit: [...new Set(ss.map((s) => String(s.exit)))].join(","),
      };
    });
    return { rows, total, notes };
  } finally {
    await proxy.close();
    await s3.close();
  }
}

export function s3Table(size: string, rows: S3BenchRow[]): string {
  const cells = [["size", "mode", "median ms", "range ms", "bytes from the server", "requests", "exit"], ...rows.map((r) => [size, r.mode, r.medianMs.toFixed(0), r.rangeMs, r.bytes, r.requests, r.exit])];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(cells[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.slice(1).map(line)].join("\n");
}

// Run directly: node dist-test/bench/s3.js DIR [RUNS]
if (process.argv[1]?.endsWith("s3.js") && process.argv[2]) {
  const dir = process.argv[2];
  const { rows, total, notes } = await benchS3(dir, Number(process.argv[3] ?? 5));
  console.log(s3Table(`${(total / 1e9).toFixed(2)} GB`, rows));
  for (const n of notes) console.log(`note: ${n}`);
}
