import type { CheckResult, Report, Status } from "./schema.js";

/** Counts findings by level, as the original pipeline's summary did. */
export function summarise(checks: CheckResult[]): Report["summary"] {
  const all = checks.flatMap((c) => c.findings);
  return {
    passed: all.filter((f) => f.level === "pass").length,
    warnings: all.filter((f) => f.level === "warn").length,
    errors: all.filter((f) => f.level === "error").length,
  };
}

/** Strict mode, in one place: warnings fail the verification. */
export function decideStatus(summary: Report["summary"], strict: boolean): Status {
  if (summary.errors > 0 || (strict && summary.warnings > 0)) return "failed";
  return summary.warnings > 0 ? "passed_with_warnings" : "passed";
}

export function exitCodeFor(status: Status): 0 | 1 {
  return status === "failed" ? 1 : 0;
}

/** True when only warnings failed it: the verdict line says "(strict mode)". */
export function failedByStrictness(report: Pick<Report, "status" | "strict" | "summary">): boolean {
  return report.status === "failed" && report.strict && report.summary.errors === 0;
}

export function checkStatus(levels: string[]): CheckResult["status"] {
  if (levels.includes("error")) return "error";
  if (levels.includes("warn")) return "warn";
  return "pass";
}
