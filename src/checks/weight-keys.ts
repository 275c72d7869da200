import type { AdapterConfig, WeightsFile } from "../layouts/types.js";
import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("weight-keys");

/** Prefixes a wrapper adds to every key of the module it wraps, longest first. */
const WRAPPERS: [prefix: string, wrapper: string][] = [
  ["base_model.model.", "PEFT's PeftModel"],
  ["model.module.", "DDP or DataParallel inside a `model` attribute"],
  ["_orig_mod.", "torch.compile's OptimizedModule"],
  ["module.", "DistributedDataParallel, DataParallel or a DeepSpeed engine"],
];
/** research b7: a wrapper's state_dict has the prefix on (nearly) every key. */
const WRAPPED_SHARE = 0.9;
/** Below this share a prefix is a stray key, not a merge (except `module.`, a common submodule name: duplicates only). */
const MIXED_SHARE = 0.1;

/**
 * The weight names against the model the trainer will build: a wrapper's
 * prefix on every key, a mix of wrapped and unwrapped keys, and a PEFT
 * adapter's saved shapes against the adapter_config.json it will be built from.
 */
export const weightKeysCheck = defineCheck({
  id: "weight-keys",
  title: "Weight names fit the model the trainer builds",
  codes: ["WEIGHT_KEYS_OK", "WEIGHT_KEYS_WRAPPER_PREFIX", "WEIGHT_KEYS_MIXED_PREFIX", "ADAPTER_CONFIG_OK", "ADAPTER_CONFIG_INVALID", "ADAPTER_RANK_MISMATCH", "ADAPTER_UNTARGETED"],
  run({ checkpoint: c }) {
    const files = (c.weights?.files ?? []).filter((f) => !f.problem && f.tensors.length > 0);
    if (files.length === 0) return { skip: "no readable weights" };
    const adapter = c.resume?.adapter;
    return findings(
      files.map((f) => prefixFinding(f)),
      adapter && adapterFindings(adapter, files),
    );
  },
});

function prefixFinding(f: WeightsFile) {
  const names = f.tensors.map((t) => t.name);
  // An adapter file's keys start with base_model.model. by design: PEFT saves and loads them that way.
  const isAdapter = /(^|\/)adapter_model[^/]*$/.test(f.rel);
  for (const [prefix, wrapper] of WRAPPERS) {
    if (isAdapter && prefix === "base_model.model.") continue;
    const prefixed = names.filter((n) => n.startsWith(prefix));
    if (prefixed.length === 0) continue;
    const plain = new Set(names.filter((n) => !n.startsWith(prefix)));
    const both = plain.size === 0 ? [] : prefixed.filter((n) => plain.has(n.slice(prefix.length)));
    const share = prefixed.length / names.length;
    const data = { file: f.rel, prefix, wrapper, prefixed: prefixed.length, count: names.length };
    if (both.length > 0 || (prefix !== "module." && share >= MIXED_SHARE && share < WRAPPED_SHARE)) {
      return r.error("WEIGHT_KEYS_MIXED_PREFIX", { ...data, plain: plain.size, both: both.length, example: both[0] ?? prefixed[0] }, f.rel);
    }
    if (share >= WRAPPED_SHARE) return r.warn("WEIGHT_KEYS_WRAPPER_PREFIX", data, f.rel);
  }
  return r.pass("WEIGHT_KEYS_OK", { file: f.rel, count: names.length }, f.rel);
}

/** PEFT's LoRA tensor names: <module>.lora_A[.<adapter>].weight, with the PeftModel's base_model.model. in front. */
const LORA = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/;
/** Longer names are not real module paths; the pattern is not run on them. */
const MAX_NAME = 1024;

function adapterFindings(a: AdapterConfig, files: WeightsFile[]) {
  if (a.problem) return [r.error("ADAPTER_CONFIG_INVALID", { file: a.rel, reason: a.problem }, a.rel)];
  const out = [];
  const judged = new Set<string>();
  let count = 0;
  for (const t of files.flatMap((f) => f.tensors)) {
    const m = t.name.length <= MAX_NAME ? LORA.exec(t.name) : null;
    if (!m || t.shape.length !== 2) continue;
    count++;
    const module = m[1]!;
    // One finding per module: its lora_A and lora_B say the same thing.
    if (judged.has(module)) continue;
    judged.add(module);
    const rank = m[2] === "A" ? t.shape[0]! : t.shape[1]!;
    const expected = rankFor(a, module);
    if (expected !== undefined && rank !== expected) out.push(r.error("ADAPTER_RANK_MISMATCH", { file: a.rel, r: expected, module, tensor: t.name, actual: rank }, a.rel));
    if (Array.isArray(a.targetModules) && !targeted(a.targetModules, module)) out.push(r.warn("ADAPTER_UNTARGETED", { file: a.rel, tensor: t.name, module, targets: a.targetModules }, a.rel));
  }
  if (count === 0) return [];
  // A regular-expression target_modules is not evaluated: a pattern from a file must not run in our process.
  const targets = Array.isArray(a.targetModules) ? a.targetModules : typeof a.targetModules === "string" ? `/${a.targetModules}/ (a pattern, not checked)` : "(none recorded)";
  return out.length > 0 ? out : [r.pass("ADAPTER_CONFIG_OK", { file: a.rel, r: a.r ?? "per rank_pattern", targets, count }, a.rel)];
}

/** PEFT: rank_pattern entries by module-name suffix win over r. */
function rankFor(a: AdapterConfig, module: string): number | undefined {
  for (const [key, rank] of a.rankPattern) if (module === key || module.endsWith(`.${key}`)) return rank;
  return a.r;
}

/** PEFT's check_target_module_exists for a list: the module's name, or its last dotted parts. */
function targeted(targets: string[], module: string): boolean {
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}
