import type { FileLoader } from "./file-loader.js";
import type { AdapterConfig } from "./types.js";

/** PEFT's adapter_config.json: the rank and the modules the trainer's PeftModel will put adapters on. */
export async function readAdapterConfig(loader: FileLoader, rel: string): Promise<AdapterConfig> {
  const json = await loader.json(rel);
  const out: AdapterConfig = { rel, rankPattern: new Map() };
  const v = json.value;
  if (json.problem || v === null || typeof v !== "object" || Array.isArray(v)) {
    out.problem = json.problem ? String(json.problem.data["reason"]) : "it is not a JSON object";
    return out;
  }
  const o = v as Record<string, unknown>;
  if (typeof o["r"] === "number" && Number.isInteger(o["r"]) && o["r"] > 0) out.r = o["r"];
  const pattern = o["rank_pattern"];
  if (pattern && typeof pattern === "object" && !Array.isArray(pattern)) {
    for (const [k, r] of Object.entries(pattern)) if (typeof r === "number" && Number.isInteger(r) && r > 0) out.rankPattern.set(k, r);
  }
  const targets = o["target_modules"];
  if (typeof targets === "string") out.targetModules = targets;
  else if (Array.isArray(targets) && targets.every((t) => typeof t === "string")) out.targetModules = targets as string[];
  if (out.r === undefined && out.rankPattern.size === 0) out.problem = "it records no rank r";
  return out;
}
