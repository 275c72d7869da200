import { CHECKS } from "../checks/index.js";
import { DEFAULT_OPTIONS, type VerifyOptions } from "../core/options.js";
import type { CheckContext } from "../checks/define.js";
import { renderMessage } from "../findings/finding.js";
import { loadCheckpoint } from "../layouts/load.js";
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
    const ctx: CheckContext = { path, options: opts, checkpoint };
    const checks: CheckResult[] = [];
    for (const check of CHECKS) {
      const outcome = await check.run(ctx);
      if ("skip" in outcome) {
        checks.push({ id: check.id, title: check.title, status: "skip", skipReason: outcome.skip, findings: [] });
        continue;
      }
      const findings = outcome.findings.map((f) => ({
        level: f.level,
        code: f.code,
        message: renderMessage(f),
        ...(f.file !== undefined ? { file: f.file } : {}),
        data: jsonSafe(f.data),
      }));
      checks.push({ id: check.id, title: check.title, status: checkStatus(findings.map((f) => f.level)), findings });
    }
    const summary = summarise(checks);
    const status = decideStatus(summary, opts.strict);
    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: "verify-checkpoint", version: VERSION },
      checkpoint: path,
      layout: checkpoint.layout,
      strict: opts.strict,
      status,
      exitCode: exitCodeFor(status),
      summary,
      checks,
      facts: factsOf(checkpoint),
    };
  } finally {
    await close();
  }
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
