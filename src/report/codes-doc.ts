import { CHECKS } from "../checks/index.js";
import { CODES, type Code } from "../findings/codes.js";

/**
 * Which check reports which code, for docs/codes.md and `explain`.
 *
 * Each check lists its codes (`codes`, and `alsoReports` for codes another
 * check documents) rather than a scan of src/checks: many codes reach a check
 * through a variable (a file loader's problem code), so only a person can
 * place them, and the built package has no sources to scan. The codes-doc
 * test scans src/checks and fails when a code is missing from those lists,
 * placed under a check that never emits it, or when docs/codes.md is stale.
 */
export const CHECK_CODES: Readonly<Record<string, readonly Code[]>> = Object.fromEntries(CHECKS.map((c) => [c.id, c.codes]));

/** Codes a second check reports too: the same file problem or pickle global, seen from the weights side. */
export const ALSO_REPORTED_BY: Readonly<Partial<Record<Code, readonly string[]>>> = (() => {
  const out: Partial<Record<Code, string[]>> = {};
  for (const c of CHECKS) for (const code of c.alsoReports ?? []) (out[code] ??= []).push(c.id);
  return out;
})();

export interface CodeEntry {
  code: Code;
  /** The check whose section documents it, or undefined for a code the table does not place yet. */
  check?: { id: string; title: string };
  also: readonly string[];
  message: string;
  why: string;
  fix: string;
}

/** Every code in CODES, in check order, unplaced ones last so a forgotten table entry is still documented. */
export function codeEntries(): CodeEntry[] {
  const placed = new Map<Code, { id: string; title: string }>();
  for (const check of CHECKS) for (const code of CHECK_CODES[check.id] ?? []) if (!placed.has(code)) placed.set(code, { id: check.id, title: check.title });
  const ordered = [...placed.keys(), ...(Object.keys(CODES) as Code[]).filter((c) => !placed.has(c))];
  return ordered.map((code) => ({ code, check: placed.get(code), also: ALSO_REPORTED_BY[code] ?? [], ...CODES[code] }));
}

export function findCode(name: string): CodeEntry | undefined {
  const wanted = name.trim().toUpperCase().replace(/-/g, "_");
  return codeEntries().find((e) => e.code === wanted);
}

/** docs/codes.md. Regenerate with `npm run docs:codes`; a test fails when the committed page is stale. */
export function renderCodesDoc(): string {
  const entries = codeEntries();
  const groups = new Map<string, CodeEntry[]>();
  for (const e of entries) {
    const key = e.check ? e.check.id : "";
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const out: string[] = [
    "# Finding codes",
    "",
    "<!-- Generated from src/findings/codes.ts by `npm run docs:codes`: edit the table there, not this page. -->",
    "",
    "Every finding verify-checkpoint reports has a stable code. The text report shows it next to each problem,",
    "the JSON report in `checks[].findings[].code`, JUnit in the failure `type`, GitHub annotations in the title.",
    "Look one up here or with `verify-checkpoint explain CODE`.",
    "",
    "Codes are grouped by the check that reports them, in the order the checks run. The message is a template:",
    "`{name}` is filled from the finding's `data`. Whether a code is a pass, a warning or an error is the check's",
    "decision (a missing optional file is a warning, a missing required one an error); `--strict` turns every",
    "warning into a failure.",
    "",
  ];
  for (const [id, list] of groups) {
    const title = list[0]!.check?.title;
    out.push(`- [${id || "other"}](#${anchor(id ? `${id}: ${title}` : "other findings")}): ${list.map((e) => `[${e.code}](#${e.code.toLowerCase()})`).join(", ")}`);
  }
  out.push("");
  for (const [id, list] of groups) {
    out.push(id ? `## ${id}: ${list[0]!.check!.title}` : "## other findings", "");
    for (const e of list) out.push(...entryMarkdown(e));
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

function entryMarkdown(e: CodeEntry): string[] {
  const also = e.also.length > 0 ? [`Also reported by: ${e.also.map((c) => `\`${c}\``).join(", ")}.`, ""] : [];
  const span = e.message.includes("`") ? `\`\` ${e.message} \`\`` : `\`${e.message}\``;
  return [`### ${e.code}`, "", `**What it means.** The report says ${span}.`, "", `**Why it matters for a resume.** ${e.why}`, "", `**What to do.** ${e.fix}`, "", ...also];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
}

/** `explain CODE` in the terminal: the same words as docs/codes.md, without Markdown. */
export function renderExplain(e: CodeEntry): string {
  const where = e.check ? `reported by the ${e.check.id} check (${e.check.title})${e.also.length ? `, also by ${e.also.join(", ")}` : ""}` : "not yet placed under a check";
  return [
    `${e.code}: ${where}`,
    "",
    `Message:  ${e.message}`,
    "",
    "Why it matters for a resume:",
    wrap(e.why),
    "",
    "What to do:",
    wrap(e.fix),
    "",
    `Documentation: docs/codes.md#${e.code.toLowerCase()}`,
    "",
  ].join("\n");
}

function wrap(s: string, width = 78): string {
  const lines: string[] = [];
  let cur = "";
  for (const word of s.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > width - 2) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines.map((l) => `  ${l}`).join("\n");
}
