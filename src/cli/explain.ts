import { codeEntries, findCode, renderExplain } from "../report/codes-doc.js";

export interface ExplainIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const EXPLAIN_HELP = `
Examples:
  verify-checkpoint explain SCALER_STATE_MISSING
  verify-checkpoint explain scaler-state-missing   (case and - / _ do not matter)
  verify-checkpoint explain                        (list every code)

The same text is in docs/codes.md.`;

/**
 * `explain CODE`: the documentation of one finding code; without CODE, the
 * list of all codes. An unknown code is a usage error (exit 2) that suggests
 * the nearest codes, because it is almost always a typo.
 */
export function runExplain(name: string | undefined, io: ExplainIo): number {
  if (name === undefined) {
    const entries = codeEntries();
    const width = Math.max(...entries.map((e) => e.code.length));
    const out: string[] = [];
    let check = "";
    for (const e of entries) {
      const id = e.check?.id ?? "other";
      if (id !== check) out.push(`${check ? "\n" : ""}${id}:`);
      check = id;
      out.push(`  ${e.code.padEnd(width)}  ${e.message}`);
    }
    out.push("", "Run verify-checkpoint explain CODE for what a code means and what to do.", "");
    // One write: the list is often piped into grep or head.
    io.stdout(out.join("\n"));
    return 0;
  }
  const entry = findCode(name);
  if (entry) {
    io.stdout(renderExplain(entry));
    return 0;
  }
  const near = nearest(name.trim().toUpperCase().replace(/-/g, "_"));
  io.stderr(`error: unknown finding code '${name}'${near.length ? `; did you mean ${near.join(", ")}?` : ""}\n(run verify-checkpoint explain to list every code)\n`);
  return 2;
}

/** Codes that hold every word of the input, or else are within a few edits of it. */
function nearest(input: string): string[] {
  const codes = codeEntries().map((e) => e.code as string);
  // SCALER_MISSING finds SCALER_STATE_MISSING: every word of the input is in the code.
  const words = input.split("_").filter((w) => w.length >= 2);
  const containing = words.length > 0 ? codes.filter((c) => words.every((w) => c.split("_").some((p) => p.startsWith(w)))) : [];
  if (containing.length > 0) return containing.slice(0, 5);
  return codes
    .map((c) => [c, distance(input, c)] as const)
    .filter(([, d]) => d <= Math.max(2, Math.floor(input.length / 4)))
    .sort((a, b) => a[1] - b[1])
    .slice(0, 3)
    .map(([c]) => c);
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
