import { isDeepStrictEqual } from "node:util";
import { integrityCheck } from "../checks/integrity.js";
import { DEFAULT_OPTIONS } from "../core/options.js";
import type { IntegrityResult } from "../integrity/scan.js";
import { baseCheckpoint } from "../layouts/common.js";
import { ReportSchema, type Report } from "../verify/schema.js";
import { checkResult, verdict } from "../verify/verify.js";

export type MergeResult = { report: Report } | { problem: string };

/**
 * The reports of `--deep --shard i/n` runs, 0 to n-1, as the report one
 * `--deep` process would have written. Every shard ran the same default-mode
 * checks, which must agree (otherwise the checkpoint changed between the
 * runs, and no merged verdict is honest); the integrity check is run again on
 * what all the shards read together, and the policy decides the verdict.
 */
export function mergeShardReports(inputs: { name: string; value: unknown }[]): MergeResult {
  const reports: Report[] = [];
  for (const { name, value } of inputs) {
    const parsed = ReportSchema.safeParse(value);
    if (!parsed.success) return { problem: `${name} is not a verify-checkpoint JSON report (${parsed.error.issues[0]?.message ?? "invalid"})` };
    if (!parsed.data.shard) return { problem: `${name} is not the report of a --deep --shard run` };
    reports.push(parsed.data);
  }
  const first = reports[0];
  if (!first?.shard) return { problem: "no reports to merge" };
  const count = first.shard.count;
  const seen = new Map<number, string>();
  for (const [i, r] of reports.entries()) {
    const name = inputs[i]!.name;
    if (r.shard!.count !== count) return { problem: `${name} is shard ${r.shard!.index}/${r.shard!.count}, the others are of ${count}` };
    if (seen.has(r.shard!.index)) return { problem: `${name} and ${seen.get(r.shard!.index)} are both shard ${r.shard!.index}/${count}` };
    seen.set(r.shard!.index, name);
    const differs = disagreement(first, r);
    if (differs) return { problem: `${name} and ${inputs[0]!.name} disagree on ${differs}: the checkpoint or the options changed between the runs` };
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) return { problem: `shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} missing: every byte must have been read` };
  const ordered = [...reports].sort((a, b) => a.shard!.index - b.shard!.index);
  const integrity = combine(ordered.map((r) => r.shard!.integrity));
  const checkpoint = { ...baseCheckpoint(first.layout, first.checkpoint, ""), integrity };
  const outcome = integrityCheck.run({ path: first.checkpoint, options: { ...DEFAULT_OPTIONS, deep: true, strict: first.strict }, checkpoint });
  if (outcome instanceof Promise) return { problem: "the integrity check is not synchronous" };
  const checks = first.checks.map((c) => (c.id === integrityCheck.id ? checkResult(integrityCheck, outcome) : c));
  const { shard: _, ...rest } = first;
  return { report: { ...rest, ...verdict(checks, first.strict), checks } };
}

/** What two shard reports must share: everything but the integrity check, the verdict and the shard's own part. */
function disagreement(a: Report, b: Report): string | undefined {
  for (const key of ["tool", "checkpoint", "layout", "strict", "facts"] as const) if (!isDeepStrictEqual(a[key], b[key])) return key;
  const others = (r: Report) => r.checks.filter((c) => c.id !== integrityCheck.id);
  if (!isDeepStrictEqual(others(a), others(b))) return "the default-mode checks";
  const files = (r: Report) => r.shard!.integrity.map((f) => f.rel);
  if (!isDeepStrictEqual(files(a), files(b))) return "the files scanned";
  return undefined;
}

/** Per file, in the order the scan visits them: counts added, problems gathered (the check orders them). */
function combine(parts: IntegrityResult[][]): IntegrityResult[] {
  return parts[0]!.map((f, i) => {
    const all = parts.map((p) => p[i]!);
    return {
      rel: f.rel,
      bytesRead: sum(all.map((x) => x.bytesRead)),
      recordsChecked: sum(all.map((x) => x.recordsChecked)),
      crcNotRecorded: sum(all.map((x) => x.crcNotRecorded)),
      crcMismatches: all.flatMap((x) => x.crcMismatches),
      nonFinite: all.flatMap((x) => x.nonFinite),
      allZero: all.flatMap((x) => x.allZero),
      readErrors: all.flatMap((x) => x.readErrors),
    };
  });
}

const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
