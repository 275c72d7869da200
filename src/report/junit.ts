import type { CheckResult, Report, ReportFinding } from "../verify/schema.js";

/**
 * JUnit XML for CI test reporters (GitLab `artifacts:reports:junit`,
 * Jenkins `junit`, GitHub test-reporter actions): one <testsuite> for the
 * checkpoint, one <testcase> per check.
 *
 * JUnit has no "warning", so the mapping follows the exit code: a check
 * fails the test case exactly when it fails the verification (errors, or
 * warnings in strict mode). Warnings of a passing run stay visible in
 * <system-out>, which every reader shows. <error> is never used: in JUnit it
 * means the test itself crashed, and the tool exits 3 instead of reporting
 * that. So `failures > 0` if and only if the exit code is 1.
 *
 * The report carries no timings, so `time` is 0 (the attribute is required
 * by the Jenkins schema); no timestamp, so the output is reproducible.
 */
export function renderJunit(report: Report): string {
  const cases = report.checks.map((check) => testcase(report, check));
  const failures = cases.filter((c) => c.failed).length;
  const skipped = cases.filter((c) => c.skipped).length;
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="0"`;
  const suiteName = `verify-checkpoint ${report.verifiedPath}`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="verify-checkpoint" ${counts}>`,
    `  <testsuite name="${attr(suiteName)}" ${counts}>`,
    `    <properties>`,
    ...properties(report).map(([name, value]) => `      <property name="${attr(name)}" value="${attr(value)}"/>`),
    `    </properties>`,
    ...cases.map((c) => c.xml),
    `  </testsuite>`,
    `</testsuites>`,
    "",
  ].join("\n");
}

interface Case {
  xml: string;
  failed: boolean;
  skipped: boolean;
}

function testcase(report: Report, check: CheckResult): Case {
  // Jenkins splits classname at its last dot into package and class; dots in
  // a path such as `last.ckpt` would make a bogus package, so they go.
  const classname = `verify-checkpoint.${report.verifiedPath.replace(/\./g, "_")}`;
  const open = `    <testcase name="${attr(`${check.title} [${check.id}]`)}" classname="${attr(classname)}" time="0"`;
  if (check.status === "skip") {
    return { xml: `${open}>\n      <skipped message="${attr(check.skipReason ?? "skipped")}"/>\n    </testcase>`, failed: false, skipped: true };
  }
  const failing = check.findings.filter((f) => f.level === "error" || (report.strict && f.level === "warn"));
  const body: string[] = [];
  if (failing.length > 0) {
    const first = failing[0]!;
    body.push(
      `      <failure message="${attr(line(first))}" type="${attr(first.code)}">${text(problems(check).map(line).join("\n"))}</failure>`,
    );
  }
  if (check.findings.length > 0) body.push(`      <system-out>${text(check.findings.map(line).join("\n"))}</system-out>`);
  const xml = body.length > 0 ? `${open}>\n${body.join("\n")}\n    </testcase>` : `${open}/>`;
  return { xml, failed: failing.length > 0, skipped: false };
}

function problems(check: CheckResult): ReportFinding[] {
  return check.findings.filter((f) => f.level === "error" || f.level === "warn");
}

/** The same words as the text report, with the code a reader can look up (`verify-checkpoint explain CODE`). */
function line(f: ReportFinding): string {
  return `${f.level}: ${f.message} (${f.code})${f.file !== undefined ? ` [${f.file}]` : ""}`;
}

/** What the run read, so the CI page shows where the resume starts without opening the JSON. */
function properties(report: Report): [string, string][] {
  const out: [string, string][] = [
    ["checkpoint", report.checkpoint],
    ...(report.resolvedFrom ? [["verifiedPath", report.verifiedPath] as [string, string]] : []),
    ["layout", report.layout],
    ["status", report.status],
    ["strict", String(report.strict)],
    ["tool.version", report.tool.version],
  ];
  for (const [key, value] of Object.entries(report.facts)) if (value !== undefined) out.push([`facts.${key}`, String(value)]);
  return out;
}

/**
 * XML 1.0 cannot carry most control characters or lone surrogates even as
 * references, and messages quote names decoded from untrusted pickles: such
 * characters become U+FFFD so the file always parses.
 */
function clean(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

function text(s: string): string {
  return clean(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");
}

/** Attribute values: newlines and tabs as references, or XML normalises them to spaces. */
function attr(s: string): string {
  return text(s).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\t/g, "&#9;");
}
