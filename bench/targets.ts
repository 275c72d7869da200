// The targets of the speed issue and of issue 11 (cost flat in the tensor count), judged on one run's
// medians and peaks. Printed under the table; docs/performance.md quotes them. Never used by a test.
import type { BenchCase } from "./cases.js";

export interface CaseResult {
  bench: BenchCase;
  /** Median ms and peak MB by mode name; absent when the mode was not run or failed to report. */
  ms: Map<string, number>;
  mb: Map<string, number>;
}

export const MODE = {
  default: "default (--json)",
  deep: "--deep --json",
  torch: "torch.load (Python)",
  limit: "native limit: read+crc32",
  node: "floor: node -e 0",
} as const;

interface Target {
  target: string;
  measured: string;
  met: boolean;
}

const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

export function judgeTargets(results: CaseResult[]): Target[] {
  const out: Target[] = [];
  const byTensors = (n: number) => results.find((r) => r.bench.kind === "tensors" && r.bench.tensors === n);
  const bySize = (gb: number) => results.find((r) => r.bench.kind === "size" && Math.abs(r.bench.bytes / 1e9 - gb) < 0.5);
  const tiny = results.find((r) => r.bench.kind === "tiny");
  for (const [n, times, mb] of [[20000, 4, 150], [70000, 10, 250]] as const) {
    const r = byTensors(n);
    const d = r?.ms.get(MODE.default);
    const floor = r?.ms.get(MODE.node);
    const peak = r?.mb.get(MODE.default);
    if (r === undefined || d === undefined || floor === undefined) continue;
    out.push({ target: `${r.bench.label}: default at most ${times}× node -e 0`, measured: `${d.toFixed(0)} ms = ${x(d, floor)} of ${floor.toFixed(0)} ms`, met: d <= times * floor });
    if (peak !== undefined) out.push({ target: `${r.bench.label}: default at most ${mb} MB`, measured: `${peak.toFixed(0)} MB`, met: peak <= mb });
    const torch = r.ms.get(MODE.torch);
    if (n === 70000 && torch !== undefined) out.push({ target: `${r.bench.label}: at least 10× faster than torch.load`, measured: `${x(torch, d)} (${torch.toFixed(0)} ms)`, met: torch >= 10 * d });
    const deep = r.ms.get(MODE.deep);
    const limit = r.ms.get(MODE.limit);
    if (n === 70000 && deep !== undefined && limit !== undefined) {
      out.push({ target: `${r.bench.label}: --deep within default + 2 × the read+CRC32 limit`, measured: `${deep.toFixed(0)} ms ≤ ${d.toFixed(0)} + 2 × ${limit.toFixed(0)} = ${(d + 2 * limit).toFixed(0)} ms`, met: deep <= d + 2 * limit });
    }
  }
  const big = bySize(3);
  const d3 = big?.ms.get(MODE.default);
  if (big && d3 !== undefined) {
    const floor = big.ms.get(MODE.node);
    if (floor !== undefined) out.push({ target: `${big.bench.label}: default at most 1.5× node -e 0`, measured: `${d3.toFixed(0)} ms = ${x(d3, floor)} of ${floor.toFixed(0)} ms`, met: d3 <= 1.5 * floor });
    const dt = tiny?.ms.get(MODE.default);
    if (dt !== undefined) out.push({ target: `${big.bench.label}: default at most 1.2× the tiny checkpoint's`, measured: `${x(d3, dt)} (${dt.toFixed(0)} ms)`, met: d3 <= 1.2 * dt });
    const peak = big.mb.get(MODE.default);
    if (peak !== undefined) out.push({ target: `${big.bench.label}: default at most 80 MB`, measured: `${peak.toFixed(0)} MB`, met: peak <= 80 });
  }
  return out;
}

/** Time and memory per 10,000 tensors, from the two tensor-count cases furthest apart. */
export function growthLine(results: CaseResult[]): string | undefined {
  const cases = results.filter((r) => r.bench.kind === "tensors" && r.ms.has(MODE.default)).sort((a, b) => a.bench.tensors! - b.bench.tensors!);
  if (cases.length < 2) return undefined;
  const [a, b] = [cases[0]!, cases[cases.length - 1]!];
  const per = (b.bench.tensors! - a.bench.tensors!) / 10000;
  const ms = (b.ms.get(MODE.default)! - a.ms.get(MODE.default)!) / per;
  const mb = a.mb.has(MODE.default) && b.mb.has(MODE.default) ? (b.mb.get(MODE.default)! - a.mb.get(MODE.default)!) / per : undefined;
  return `Default mode grows by ${ms.toFixed(0)} ms${mb === undefined ? "" : ` and ${mb.toFixed(0)} MB`} per 10,000 tensors (from ${a.bench.label} to ${b.bench.label}).`;
}

export function renderTargets(targets: Target[]): string {
  const rows = [["target", "measured", "met?"], ...targets.map((t) => [t.target, t.measured, t.met ? "yes" : "**no**"])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  return [line(rows[0]!), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}
