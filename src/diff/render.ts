import type { CheckpointDiff } from "./diff.js";

const MAX_LISTED = 50;

export function renderDiffText(d: CheckpointDiff): string {
  const lines = [`A: ${d.a} (${d.layouts[0]})`, `B: ${d.b} (${d.layouts[1]})`, ""];
  if (d.changed.length === 0) lines.push("Counters, learning rate and optimizer settings: no change");
  else {
    lines.push("Changed:");
    const width = Math.max(...d.changed.map((c) => c.what.length));
    for (const c of d.changed) lines.push(`  ${c.what.padEnd(width)}  ${c.a} -> ${c.b}`);
  }
  lines.push("", `Tensors: ${d.tensorsCompared} in both, ${d.tensorsChanged.length} changed shape or dtype, ${d.onlyInA.length} only in A, ${d.onlyInB.length} only in B`);
  for (const c of d.tensorsChanged.slice(0, MAX_LISTED)) lines.push(`  ~ ${c.what}: ${c.a} -> ${c.b}`);
  for (const n of d.onlyInA.slice(0, MAX_LISTED)) lines.push(`  - ${n}`);
  for (const n of d.onlyInB.slice(0, MAX_LISTED)) lines.push(`  + ${n}`);
  const hidden = Math.max(0, d.tensorsChanged.length - MAX_LISTED) + Math.max(0, d.onlyInA.length - MAX_LISTED) + Math.max(0, d.onlyInB.length - MAX_LISTED);
  if (hidden > 0) lines.push(`  … ${hidden} more (use --json)`);
  return lines.join("\n") + "\n";
}

export function renderDiffJson(d: CheckpointDiff): string {
  return JSON.stringify(d, null, 2) + "\n";
}
