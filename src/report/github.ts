import { failedByStrictness } from "../verify/policy.js";
import type { CheckResult, Report, ReportFinding } from "../verify/schema.js";

/**
 * GitHub Actions workflow commands: one annotation per problem, then the
 * verdict. Only problems are annotated because GitHub shows at most 10
 * annotations of each kind per step; passes and facts would crowd them out.
 *
 * A warning is annotated as `::error` in strict mode, because it is what
 * fails the job there: the annotation level follows the exit code, as the
 * JUnit report does.
 */
export function renderGithub(report: Report): string {
  const lines: string[] = [];
  for (const check of report.checks) {
    for (const f of check.findings) {
      if (f.level !== "error" && f.level !== "warn") continue;
      const kind = f.level === "error" || report.strict ? "error" : "warning";
      const props = { file: annotationFile(report, f), title: `verify-checkpoint ${check.id}: ${f.code}` };
      lines.push(command(kind, props, `${f.message} (${f.code})`));
    }
  }
  const s = report.summary;
  const counts = `passed ${s.passed}, warnings ${s.warnings}, errors ${s.errors}`;
  lines.push(command(report.status === "failed" ? "error" : "notice", { title: "verify-checkpoint" }, `${verdict(report)}: ${report.verifiedPath} (${counts})`));
  return lines.join("\n") + "\n";
}

/** The step summary: a verdict heading, the problems with their codes, every check's status, and the facts. */
export function renderGithubSummary(report: Report): string {
  const out: string[] = [`### ${ICON[report.status]} verify-checkpoint: ${verdict(report)}`, ""];
  out.push(`Checkpoint \`${code(report.verifiedPath)}\` (layout ${report.layout}${report.strict ? ", strict mode" : ""}): ${report.summary.passed} passed, ${report.summary.warnings} warnings, ${report.summary.errors} errors.`, "");
  const problems = report.checks.flatMap((c) => c.findings.filter((f) => f.level === "error" || f.level === "warn").map((f) => ({ c, f })));
  if (problems.length > 0) {
    out.push("| | Check | Problem | Code |", "| --- | --- | --- | --- |");
    for (const { c, f } of problems) out.push(`| ${f.level === "error" ? "❌" : "⚠️"} | ${cell(c.id)} | ${cell(f.message)} | \`${f.code}\` |`);
    out.push("");
  }
  out.push("<details><summary>All checks</summary>", "", "| Check | Status | Details |", "| --- | --- | --- |");
  for (const c of report.checks) out.push(`| ${cell(c.title)} (\`${c.id}\`) | ${STATUS[c.status]} | ${cell(details(c))} |`);
  out.push("", "</details>", "");
  const facts = Object.entries(report.facts).filter(([, v]) => v !== undefined);
  if (facts.length > 0) {
    out.push("| Fact | Value |", "| --- | --- |");
    for (const [k, v] of facts) out.push(`| ${k} | ${cell(String(v))} |`);
    out.push("");
  }
  return out.join("\n") + "\n";
}

const ICON = { passed: "✅", passed_with_warnings: "⚠️", failed: "❌" } as const;
const STATUS = { pass: "✅ pass", warn: "⚠️ warn", error: "❌ error", skip: "➖ skipped" } as const;

function verdict(report: Report): string {
  if (report.status === "passed") return "PASSED";
  if (report.status === "passed_with_warnings") return "PASSED WITH WARNINGS";
  return failedByStrictness(report) ? "FAILED (strict mode: warnings count as failures)" : "FAILED";
}

function details(c: CheckResult): string {
  if (c.status === "skip") return `skipped: ${c.skipReason ?? ""}`;
  const shown = c.findings.filter((f) => f.level !== "pass");
  return (shown.length > 0 ? shown : c.findings).map((f) => f.message).join("; ");
}

/**
 * Annotations point at files relative to the workspace, so a finding's file
 * (relative to the checkpoint folder) is joined to the checkpoint path as
 * given. A single-file checkpoint (a Lightning .ckpt) names itself, possibly
 * with a part after ": " (`last.ckpt: state_dict`): that is the checkpoint.
 */
export function annotationFile(report: Report, f: ReportFinding): string {
  // Findings' files are relative to the checkpoint verified, which a run folder resolves to.
  const ckpt = report.verifiedPath.replace(/\/+$/, "") || report.verifiedPath;
  if (f.file === undefined) return ckpt;
  const base = ckpt.slice(ckpt.lastIndexOf("/") + 1);
  if (f.file === base || f.file.startsWith(`${base}: `)) return ckpt;
  return `${ckpt}/${f.file}`;
}

/** `::kind key=value,...::message`, escaped as @actions/core escapes (escapeData / escapeProperty). */
export function command(kind: "error" | "warning" | "notice", props: Record<string, string>, message: string): string {
  const p = Object.entries(props)
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(",");
  return `::${kind}${p ? ` ${p}` : ""}::${escapeData(message)}`;
}

export function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** A table cell: pipes would end the cell, newlines the row, and `<` could open HTML. */
function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n|\r/g, " ").replace(/</g, "&lt;");
}

function code(s: string): string {
  return s.replace(/`/g, "'");
}
