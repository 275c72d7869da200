import { readFileSync, statSync } from "node:fs";
import { mergeShardReports } from "../merge/merge.js";
import { writeReport, type OutputOptions } from "./output.js";

/** A shard report is a few KiB to a few MiB; anything far bigger is not one. */
const MAX_REPORT = 64 * 1024 * 1024;

/**
 * `merge report-*.json`: the shard reports of a `--deep --shard i/n` run as
 * one report, exit code as if one process had read everything. Reports that
 * cannot be merged (missing, unreadable, not shards, from different runs)
 * are exit 1 with the reason on stderr: an incomplete scan must not pass.
 */
export function runMerge(files: string[], output: Omit<OutputOptions, "stepSummary"> & { stepSummary?: string }, stderr: (s: string) => void): number {
  const inputs: { name: string; value: unknown }[] = [];
  for (const name of files) {
    try {
      if (statSync(name).size > MAX_REPORT) throw new Error(`over ${MAX_REPORT} bytes`);
      inputs.push({ name, value: JSON.parse(readFileSync(name, "utf8")) as unknown });
    } catch (e) {
      stderr(`verify-checkpoint merge: ${name} cannot be read as a JSON report: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const merged = mergeShardReports(inputs);
  if ("problem" in merged) {
    stderr(`verify-checkpoint merge: ${merged.problem}\n`);
    return 1;
  }
  writeReport(merged.report, output);
  return merged.report.exitCode;
}
