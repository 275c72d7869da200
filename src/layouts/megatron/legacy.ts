import { posix } from "node:path";
import { isDict, type PyDict, type PyValue } from "../../formats/pickle/values.js";
import { examineAll } from "../common.js";
import type { FileLoader } from "../file-loader.js";
import type { ExpectedFile, RankFinding, StateFile, WeightsFile } from "../types.js";
import { collectTensors } from "../walk.js";
import { iterationOf, readArgs, type MegatronArgs } from "./args.js";
import { checkCounters, megatronParts, type MegatronParts } from "./state.js";

/** mp_rank_{tp:02d}[_{pp:03d}][_{ep:03d}]: a rank number of more than 6 digits is not a rank. */
const RANK_DIR = /^mp_rank_(\d{2,6})(?:_(\d{3,6}))?(?:_(\d{3,6}))?$/;
/** More rank folders than this is not a real save: they are not enumerated. */
const MAX_RANK_DIRS = 4096;
/** Fields every rank file of one save records alike. */
const AGREE = ["checkpoint_version", "tensor_model_parallel_size", "pipeline_model_parallel_size", "expert_model_parallel_size", "world_size", "num_layers", "hidden_size", "global_batch_size", "consumed_train_samples"];

export interface LegacyRead {
  parts?: MegatronParts;
  args?: MegatronArgs;
  expectedFiles: ExpectedFile[];
  stateFiles: StateFile[];
  weights: WeightsFile[];
  rankDirs: number;
}

/**
 * A legacy (`--ckpt-format torch`) iteration folder (section 4.1): one
 * mp_rank_* folder per tensor x pipeline (x expert) rank, each with
 * model_optim_rng.pt and, with the distributed optimizer, distrib_optim.pt;
 * every file agrees on the iteration and the run's arguments.
 */
export async function readLegacyIteration(loader: FileLoader, rel: string, expected: { iteration: number; source: string } | undefined, add: (f: RankFinding) => void): Promise<LegacyRead> {
  const dirs = (await loader.list(rel)).filter((e) => e.kind === "directory" && e.name.startsWith("mp_rank_")).map((e) => e.name);
  const out: LegacyRead = { expectedFiles: [], stateFiles: [], weights: [], rankDirs: dirs.length };
  const named = dirs.filter((n) => RANK_DIR.test(n)).slice(0, MAX_RANK_DIRS);
  const specs = await examineAll(loader, named.map((n) => ({ rel: posix.join(rel, n, "model_optim_rng.pt"), role: "the rank's model, optimizer and RNG state", required: true, expect: "torch" as const })));
  out.expectedFiles.push(...specs);
  const states = new Map<string, PyDict>();
  let first: { name: string; dict: PyDict; scalar: Parameters<typeof megatronParts>[2] } | undefined;
  for (const [i, spec] of specs.entries()) {
    const d = await loader.decode(spec.rel, spec.problem && `${spec.rel} is unusable (see required-files)`);
    out.stateFiles.push(d.state);
    const dict = d.value;
    if (!isDict(dict)) continue;
    states.set(named[i]!, dict);
    first ??= { name: named[i]!, dict, scalar: d.scalar };
    // Virtual pipeline stages save model0, model1, ...
    const tensors = ["model", ...dict.keys().filter((k): k is string => typeof k === "string" && /^model\d+$/.test(k))].flatMap((k) => collectTensors(dict.get(k) ?? null));
    if (tensors.length > 0) out.weights.push({ rel: `${spec.rel}: model`, kind: "embedded", tensors, size: spec.size ?? 0, verdicts: [], torchProblems: [] });
  }
  if (!first) return out;
  const file = posix.join(rel, first.name, "model_optim_rng.pt");
  out.args = readArgs(first.dict.get("args"));
  out.parts = await megatronParts(first.dict, file, first.scalar);
  const wanted = out.args ? checkRankDirs(rel, dirs, out.args, add) : new Set(named);
  if (out.args?.distributedOptimizer && !out.args.noSaveOptim) {
    const optim = await examineAll(loader, named.filter((n) => wanted.has(n)).map((n) => ({ rel: posix.join(rel, n, "distrib_optim.pt"), role: "the rank's distributed-optimizer state (--use-distributed-optimizer)", required: true, expect: "torch" as const })));
    out.expectedFiles.push(...optim);
    for (const spec of optim) if (!spec.problem) out.stateFiles.push((await loader.decode(spec.rel)).state);
  }
  checkAgreement(rel, states, expected, add);
  checkCounters(first.dict, file, add);
  return out;
}

/** The rank folders the saved degrees call for, against the ones present (section 4.3.2). */
function checkRankDirs(rel: string, present: string[], args: MegatronArgs, add: (f: RankFinding) => void): Set<string> {
  const folder = rel || ".";
  const ep = args.ep > 1 ? ` x ep ${args.ep}` : "";
  const total = args.tp * args.pp * args.ep;
  if (total > MAX_RANK_DIRS) {
    add({ level: "error", code: "MEGATRON_ARGS_INCONSISTENT", data: { file: folder, detail: `tp ${args.tp} x pp ${args.pp}${ep} = ${total} rank folders is beyond what this tool enumerates (${MAX_RANK_DIRS})` } });
    return new Set();
  }
  const wanted = new Set<string>();
  for (let t = 0; t < args.tp; t++) {
    for (let p = 0; p < args.pp; p++) {
      for (let e = 0; e < args.ep; e++) {
        wanted.add(`mp_rank_${String(t).padStart(2, "0")}${args.pp > 1 ? `_${String(p).padStart(3, "0")}` : ""}${args.ep > 1 ? `_${String(e).padStart(3, "0")}` : ""}`);
      }
    }
  }
  const have = new Set(present);
  const missing = [...wanted].filter((n) => !have.has(n));
  const extra = present.filter((n) => !wanted.has(n));
  const data = { folder, tp: args.tp, pp: args.pp, ep };
  if (missing.length > 0) add({ level: "error", code: "MEGATRON_RANK_MISSING", data: { ...data, count: missing.length, expected: wanted.size, missing: list(missing) }, file: posix.join(rel, missing[0]!) });
  if (extra.length > 0) add({ level: "error", code: "MEGATRON_RANK_EXTRA", data: { ...data, count: extra.length, extra: list(extra) }, file: posix.join(rel, extra[0]!) });
  return wanted;
}

/** Every rank file records the tracker's iteration and the same version and arguments. */
function checkAgreement(rel: string, states: Map<string, PyDict>, expected: { iteration: number; source: string } | undefined, add: (f: RankFinding) => void): void {
  const entries = [...states.entries()];
  if (entries.length === 0) return;
  const reference = expected ?? { iteration: iterationOf(entries[0]![1]) ?? -1, source: posix.join(rel, entries[0]![0], "model_optim_rng.pt") };
  for (const [name, d] of entries) {
    const it = iterationOf(d);
    const file = posix.join(rel, name, "model_optim_rng.pt");
    if (it !== reference.iteration) add({ level: "error", code: "MEGATRON_ITERATION_MISMATCH", data: { file, iteration: it ?? "none", expected: reference.iteration, source: reference.source }, file });
  }
  for (const field of AGREE) {
    const values = new Map<string, string[]>();
    for (const [name, d] of entries) {
      const v = field === "checkpoint_version" ? d.get(field) : readArgs(d.get("args"))?.fields.get(field);
      const key = text(v);
      values.set(key, [...(values.get(key) ?? []), name]);
    }
    if (values.size > 1) {
      const detail = [...values.entries()].map(([v, names]) => `${v} in ${list(names, 3)}`).join("; ");
      add({ level: "error", code: "MEGATRON_RANKS_DISAGREE", data: { field, detail } });
    }
  }
}

function text(v: PyValue | undefined): string {
  if (v === undefined) return "missing";
  if (v === null) return "None";
  if (typeof v === "object" && "value" in v && typeof v.value === "number") return String(v.value);
  return typeof v === "object" ? "an object" : String(v);
}

function list(names: string[], max = 5): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
