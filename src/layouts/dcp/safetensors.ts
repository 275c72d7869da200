import { errorMessage } from "../../core/errors.js";
import { readSafetensorsFrom } from "../../formats/safetensors/index.js";
import { sliceSource } from "../../storage/slice.js";
import type { FileLoader } from "../file-loader.js";
import type { RankFinding } from "../types.js";
import type { FileFacts } from "./files.js";

/**
 * SerializationFormat.SAFETENSORS (newest torch, research/distributed-layouts.md
 * section 2.3): a rank file is one safetensors blob of its chunks keyed by FQN,
 * every item's offset is where the blob starts and its length the tensor's
 * bytes. The blob is validated as any safetensors file (header only), each
 * item must be a tensor of it with that many bytes, and DCP_SHARDING_INFO must
 * put it at the chunk's offsets.
 */
export async function checkSafetensorsFiles(loader: FileLoader, facts: FileFacts, add: (f: RankFinding) => void): Promise<void> {
  for (const { path, size, unlessSafetensors } of facts.safetensorsFiles) {
    const entries = facts.usable.filter((e) => e.path === path);
    const start = entries[0]?.start ?? 0;
    if (unlessSafetensors && !(await looksLikeSafetensors(loader, path, start, size))) {
      add(unlessSafetensors);
      continue;
    }
    const problem = (reason: string) => add({ level: "error", code: "DCP_SAFETENSORS_INVALID", data: { file: path, reason }, file: path });
    let st;
    try {
      st = await readSafetensorsFrom(sliceSource(await loader.handle(path), start, size - start, `${path} (safetensors from byte ${start})`));
    } catch (e) {
      problem(errorMessage(e));
      continue;
    }
    const tensors = new Map(st.tensors.map((t) => [t.name, t]));
    const sharding = shardingInfo(st.metadata?.["DCP_SHARDING_INFO"]);
    for (const e of entries) {
      const t = tensors.get(e.fqn);
      if (!t) problem(`it holds no tensor named ${e.fqn}`);
      else if (t.dataOffsets[1] - t.dataOffsets[0] !== e.length) problem(`${e.fqn} has ${t.dataOffsets[1] - t.dataOffsets[0]} bytes, the metadata says ${e.length}`);
      else if (sharding && e.offset && JSON.stringify(sharding[e.fqn]?.["saved_offsets"]) !== JSON.stringify(e.offset)) problem(`DCP_SHARDING_INFO puts ${e.fqn} at ${JSON.stringify(sharding[e.fqn]?.["saved_offsets"] ?? null)}, the metadata at [${e.offset.join(", ")}]`);
      else continue;
      break;
    }
  }
}

async function looksLikeSafetensors(loader: FileLoader, path: string, start: number, size: number): Promise<boolean> {
  if (size - start < 10) return false;
  try {
    const head = await (await loader.handle(path)).read(start, 9, "safetensors header length");
    const n = head.readBigUInt64LE(0);
    return n > 1n && BigInt(start) + 8n + n <= BigInt(size) && head[8] === 0x7b; // '{'
  } catch {
    return false;
  }
}

function shardingInfo(text: string | undefined): Record<string, Record<string, unknown>> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, Record<string, unknown>>) : undefined;
  } catch {
    return undefined;
  }
}
