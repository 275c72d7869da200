import { posix } from "node:path";
import type { VerifyOptions } from "../../core/options.js";
import { isDict, seqItems, type PyDict } from "../../formats/pickle/values.js";
import { readDcp, type DcpRead } from "../dcp/read.js";
import type { FileLoader } from "../file-loader.js";
import type { ExpectedFile, RankFinding, StateFile } from "../types.js";
import { readArgs, type MegatronArgs } from "./args.js";
import { checkCounters, megatronParts, type MegatronParts } from "./state.js";

const RNG_KEY = /^rng_state\/shard_(\d{1,6})\.(\d{1,6})_(\d{1,6})\.(\d{1,6})$/;

export interface DistRead {
  dcp: DcpRead;
  parts?: MegatronParts;
  args?: MegatronArgs;
  expectedFiles: ExpectedFile[];
  stateFiles: StateFile[];
}

/**
 * A `--ckpt-format torch_dist` iteration (section 4.2): a DCP save by every
 * global rank, metadata.json written after it, the common state in common.pt
 * (older) or a common_state item; the RNG ShardedObjects cover the (pipeline,
 * tensor) grid and the rank files number args.world_size.
 */
export async function readDistIteration(loader: FileLoader, rel: string, expected: { iteration: number; source: string } | undefined, options: VerifyOptions, add: (f: RankFinding) => void): Promise<DistRead> {
  const folder = rel || ".";
  const dcp = await readDcp(loader, rel, options, posix.basename(rel));
  const out: DistRead = { dcp, expectedFiles: [], stateFiles: [] };
  const names = new Set((await loader.list(rel)).map((e) => e.name));
  if (!names.has("metadata.json")) {
    add({ level: "error", code: "MEGATRON_NOT_DISTRIBUTED", data: { folder, reason: "no metadata.json: Megatron's verify_checkpoint says this is not a distributed checkpoint (it is written after the DCP files: the save did not finish)" }, file: posix.join(rel, "metadata.json") });
  } else {
    const json = await loader.json(posix.join(rel, "metadata.json"));
    const backend = isObject(json.value) ? json.value["sharded_backend"] : undefined;
    if (json.problem || (backend !== "torch_dist" && backend !== "torch")) {
      add({ level: "error", code: "MEGATRON_NOT_DISTRIBUTED", data: { folder, reason: json.problem ? `metadata.json is not valid JSON` : `metadata.json names sharded_backend ${JSON.stringify(backend ?? null)}, not torch_dist` }, file: posix.join(rel, "metadata.json") });
    }
  }
  const common = await commonState(loader, rel, names, dcp, out);
  if (!common) {
    add({ level: "error", code: "MEGATRON_COMMON_MISSING", data: { folder }, file: posix.join(rel, "common.pt") });
    return out;
  }
  const file = common.file;
  out.args = readArgs(common.dict.get("args"));
  out.parts = await megatronParts(common.dict, file, common.scalar);
  const it = out.parts.iteration;
  if (expected && it !== expected.iteration) add({ level: "error", code: "MEGATRON_ITERATION_MISMATCH", data: { file, iteration: it ?? "none", expected: expected.iteration, source: expected.source }, file });
  checkCounters(common.dict, file, add);
  if (out.args) {
    checkRng(rel, dcp, out.args, add);
    const ranks = dcp.save.worldSize;
    if (ranks !== undefined && out.args.worldSize !== undefined && ranks !== out.args.worldSize) add({ level: "error", code: "MEGATRON_WORLD_SIZE_MISMATCH", data: { folder, ranks, worldSize: out.args.worldSize } });
  }
  return out;
}

async function commonState(loader: FileLoader, rel: string, names: Set<string>, dcp: DcpRead, out: DistRead): Promise<{ dict: PyDict; file: string; scalar: Parameters<typeof megatronParts>[2] } | undefined> {
  if (names.has("common.pt")) {
    const file = posix.join(rel, "common.pt");
    const [spec] = await Promise.all([loader.examine({ rel: file, role: "the common (non-sharded) state: iteration, args, scheduler", required: true, expect: "torch" })]);
    out.expectedFiles.push(spec!);
    const d = await loader.decode(file, spec!.problem && `${file} is unusable (see required-files)`);
    out.stateFiles.push(d.state);
    return isDict(d.value) ? { dict: d.value, file, scalar: d.scalar } : undefined;
  }
  // Current Megatron keeps the common state as a ShardedObject: a non-tensor DCP item.
  const item = dcp.tree?.get("common_state/shard_0_1");
  const value = seqItems(item)?.[0] ?? item;
  return isDict(value) && dcp.scalar ? { dict: value, file: `${rel ? `${rel}/` : ""}.metadata: common_state`, scalar: dcp.scalar } : undefined;
}

/** rng_state/shard_{pp}.{tp}_{PP}.{TP}: one RNG state per (pipeline, tensor) rank. */
function checkRng(rel: string, dcp: DcpRead, args: MegatronArgs, add: (f: RankFinding) => void): void {
  const keys = [...(dcp.tree?.keys() ?? [])].filter((k): k is string => typeof k === "string" && k.startsWith("rng_state/"));
  if (keys.length === 0) return;
  const found = new Set<string>();
  for (const k of keys) {
    const m = RNG_KEY.exec(k);
    if (m && Number(m[3]) === args.pp && Number(m[4]) === args.tp) found.add(`${m[1]}.${m[2]}`);
  }
  const missing: string[] = [];
  for (let p = 0; p < args.pp && missing.length < 20; p++) for (let t = 0; t < args.tp && missing.length < 20; t++) if (!found.has(`${p}.${t}`)) missing.push(`(pp ${p}, tp ${t})`);
  if (missing.length > 0) add({ level: "error", code: "MEGATRON_RNG_SHARDS", data: { folder: rel || ".", found: found.size, expected: args.pp * args.tp, missing: missing.join(", ") } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

