import { Chalk, type ChalkInstance } from "chalk";
import { failedByStrictness } from "../verify/policy.js";
import type { CheckResult, Report, ReportFinding } from "../verify/schema.js";

export interface TextOptions {
  /** chalk colour level: 0 = none. The CLI passes chalk's own detection (NO_COLOR, FORCE_COLOR, TTY). */
  colorLevel: 0 | 1 | 2 | 3;
  quiet: boolean;
}

const SYMBOL = { pass: "✔", warn: "⚠", error: "✖", info: "ℹ", skip: "-" } as const;

/** The report for people: a header, one block per check, the summary and the verdict. Returns a string; the CLI prints it. */
export function renderText(report: Report, options: TextOptions): string {
  const c = new Chalk({ level: options.colorLevel });
  const lines: string[] = [];
  if (!options.quiet) {
    lines.push(c.bold(`verify-checkpoint ${report.tool.version}`));
    lines.push(`Checkpoint: ${report.verifiedPath}`);
    if (report.resolvedFrom) lines.push(`            (resolved from ${report.resolvedFrom.path}: ${report.resolvedFrom.rule})`);
    lines.push(`Layout:     ${report.layout}${report.strict ? "   (strict mode)" : ""}`);
    lines.push("");
    for (const check of report.checks) lines.push(...checkBlock(check, c));
    lines.push("");
  } else {
    // Quiet still says which checkpoint the problems are about when a run folder was resolved.
    if (report.resolvedFrom) lines.push(`Checkpoint: ${report.verifiedPath} (resolved from ${report.resolvedFrom.path})`);
    for (const check of report.checks) {
      for (const f of check.findings.filter((x) => x.level === "warn" || x.level === "error")) lines.push(findingLine(f, c, `${check.id}: `));
    }
  }
  const s = report.summary;
  lines.push(`Passed: ${s.passed}, Warnings: ${s.warnings}, Errors: ${s.errors}`);
  lines.push(verdict(report, c));
  return lines.join("\n") + "\n";
}

function checkBlock(check: CheckResult, c: ChalkInstance): string[] {
  const head = `${paint(check.status, SYMBOL[check.status], c)} ${c.bold(check.title)} ${c.dim(`[${check.id}]`)}`;
  if (check.status === "skip") return [`${head} ${c.dim(`skipped: ${check.skipReason ?? ""}`)}`];
  return [head, ...check.findings.map((f) => "    " + findingLine(f, c, ""))];
}

function findingLine(f: ReportFinding, c: ChalkInstance, prefix: string): string {
  const code = f.level === "warn" || f.level === "error" ? c.dim(` (${f.code})`) : "";
  return `${paint(f.level, SYMBOL[f.level], c)} ${prefix}${f.message}${code}`;
}

function paint(level: keyof typeof SYMBOL, text: string, c: ChalkInstance): string {
  switch (level) {
    case "pass":
      return c.green(text);
    case "warn":
      return c.yellow(text);
    case "error":
      return c.red(text);
    case "info":
      return c.cyan(text);
    default:
      return c.dim(text);
  }
}

function verdict(report: Report, c: ChalkInstance): string {
  if (report.status === "passed") return c.green.bold("✔ PASSED");
  if (report.status === "passed_with_warnings") return c.yellow.bold("⚠ PASSED WITH WARNINGS");
  return c.red.bold(failedByStrictness(report) ? "✖ FAILED (strict mode: warnings count as failures)" : "✖ FAILED");
}
