import { CHECKS } from "../checks/index.js";
import { DEFAULT_OPTIONS, type VerifyOptions } from "../core/options.js";
import type { Check, CheckContext, CheckOutcome } from "../checks/define.js";
import { renderMessage } from "../findings/finding.js";
import { loadCheckpoint } from "../layouts/load.js";
import { displayPath } from "../storage/index.js";
import { SCHEMA_VERSION, type CheckResult, type Report } from "./schema.js";
import { VERSION } from "../version.js";
import { factsOf } from "./facts.js";
import { checkStatus, decideStatus, exitCodeFor, summarise } from "./policy.js";

/**
 * The library entry point, and all the CLI does: detect the layout,
 * normalise the checkpoint, run every check, apply the policy. Never throws
 * for a bad checkpoint: every problem with the input is a finding.
 */
export async function verifyCheckpoint(path: string, options: Partial<VerifyOptions> = {}): Promise<Report> {
  const opts: VerifyOptions = { ...DEFAULT_OPTIONS, ...options };
  const { checkpoint, close } = await loadCheckpoint(path, opts);
  try {
    // A presigned URL's query string holds its signature: the report shows the path without it.
    const shown = displayPath(path);
    const verifiedPath = checkpoint.resolved?.to ?? shown;
    const ctx: CheckContext = { path: verifiedPath, options: opts, checkpoint };
    const checks: CheckResult[] = [];
    for (const check of CHECKS) checks.push(checkResult(check, await check.run(ctx)));
    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: "verify-checkpoint", version: VERSION },
      checkpoint: shown,
      verifiedPath,
      ...(checkpoint.resolved ? { resolvedFrom: { path: checkpoint.resolved.from, layout: checkpoint.resolved.layout, rule: checkpoint.resolved.rule, others: checkpoint.resolved.others } } : {}),
      layout: checkpoint.layout,
      strict: opts.strict,
      ...verdict(checks, opts.strict),
      checks,
      facts: factsOf(checkpoint),
      ...(opts.shard && opts.deep ? { shard: { ...opts.shard, integrity: checkpoint.integrity ?? [] } } : {}),
    };
  } finally {
    await close();
  }
}

/** A check's outcome as the report shows it: messages rendered, data as plain JSON. */
export function checkResult(check: Pick<Check, "id" | "title">, outcome: CheckOutcome): CheckResult {
  if ("skip" in outcome) return { id: check.id, title: check.title, status: "skip", skipReason: outcome.skip, findings: [] };
  const findings = outcome.findings.map((f) => ({
    level: f.level,
    code: f.code,
    message: renderMessage(f),
    ...(f.file !== undefined ? { file: f.file } : {}),
    data: jsonSafe(f.data),
  }));
  return { id: check.id, title: check.title, status: checkStatus(findings.map((f) => f.level)), findings };
}

/** The summary, status and exit code of a list of check results: the policy, applied once. */
export function verdict(checks: CheckResult[], strict: boolean): Pick<Report, "summary" | "status" | "exitCode"> {
  const summary = summarise(checks);
  const status = decideStatus(summary, strict);
  // In the schema's order: the JSON report is written as built (report/json.ts).
  return { status, exitCode: exitCodeFor(status), summary };
}

/** Finding data as plain JSON: bigints as strings, non-finite numbers as the contract's strings. */
export function jsonSafe(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue;
    out[k] = typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity") : v;
  }
  return out;
}
