import type { GlobalVerdict } from "../safety/globals.js";
import type { InspectResult } from "./inspect.js";
import { toJson, type Json } from "./to-json.js";
import { toTextTree } from "./to-text.js";

export function renderInspectText(r: InspectResult): string {
  const lines = [`${r.file}: ${r.format}${r.streams && r.streams > 1 ? ` (${r.streams} pickle streams)` : ""}`];
  if (r.safetensors) {
    const st = r.safetensors;
    lines.push(`header ${st.headerLength} bytes, ${st.tensors.length} tensors, ${st.fileSize} bytes in all`);
    if (st.metadata) lines.push(`__metadata__: ${JSON.stringify(st.metadata)}`);
    for (const t of st.tensors) lines.push(`  ${t.name}: ${t.torchDtype}[${t.shape.join(", ")}]`);
  }
  if (r.value !== undefined) lines.push(...toTextTree(r.value, r.values));
  const notable = r.verdicts.filter((v) => v.tier !== "allowed");
  if (notable.length > 0) {
    lines.push("", "Globals outside torch's weights_only allow-list:");
    for (const v of notable) lines.push(`  ${tierLabel(v)} ${v.qualname}: ${v.reason}`);
  }
  if (r.error) lines.push("", `✖ ${r.error.code}: ${r.error.message}`);
  if (r.verdicts.some((v) => v.tier === "unsafe")) lines.push("", "✖ UNSAFE: loading this file with pickle or torch.load(weights_only=False) runs code");
  return lines.join("\n") + "\n";
}

function tierLabel(v: GlobalVerdict): string {
  return v.tier === "unsafe" ? "✖ unsafe " : v.tier === "unknown" ? "⚠ unknown" : "ℹ harmless";
}

export function renderInspectJson(r: InspectResult): string {
  const out: { [k: string]: Json } = { file: r.file, format: r.format };
  if (r.safetensors) {
    const tensors: { [k: string]: Json } = Object.create(null) as { [k: string]: Json };
    for (const t of r.safetensors.tensors) tensors[t.name] = { dtype: t.torchDtype, safetensorsDtype: t.dtype, shape: t.shape, dataOffsets: t.dataOffsets };
    out["metadata"] = r.safetensors.metadata ?? null;
    out["tensors"] = tensors;
  }
  if (r.value !== undefined) out["value"] = toJson(r.value, r.values);
  out["globals"] = r.verdicts.map((v) => ({ name: v.qualname, tier: v.tier, reason: v.reason, count: v.count, offset: v.offset }));
  out["unsafe"] = r.verdicts.some((v) => v.tier === "unsafe");
  if (r.error) out["error"] = r.error;
  out["exitCode"] = r.exitCode;
  return JSON.stringify(out, null, 2) + "\n";
}
