import type { Finding } from "../../findings/finding.js";
import type { GlobalVerdict } from "../../safety/globals.js";
import type { reporter } from "../define.js";

/** One finding per distinct global outside the allow-list, and one pass line when everything is allowed. */
export function globalFindings(r: ReturnType<typeof reporter>, file: string, verdicts: GlobalVerdict[]): Finding[] {
  const out: Finding[] = [];
  let allowed = 0;
  for (const v of verdicts) {
    const data = { file, global: v.qualname, reason: v.reason, offset: v.offset, count: v.count };
    if (v.tier === "allowed") allowed += v.count;
    else if (v.tier === "harmless") out.push(r.info("GLOBAL_HARMLESS", data, file));
    else if (v.tier === "unknown") out.push(r.warn("GLOBAL_UNKNOWN", data, file));
    else out.push(r.error("GLOBAL_UNSAFE", data, file));
  }
  if (out.length === 0) out.push(r.pass("GLOBALS_ALLOWED", { file, count: allowed }, file));
  return out;
}
