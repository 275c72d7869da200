import type { FileLoader } from "../file-loader.js";
import type { RankFinding } from "../types.js";

export const TRACKER = "latest_checkpointed_iteration.txt";
/** The tracker holds a number or `release`: a few bytes. Anything longer is not read. */
const MAX_TRACKER = 4096;

/** The iteration folder of an iteration (`iter_0001000`) or of `release`. */
export function iterationFolder(it: number | "release"): string {
  return it === "release" ? "release" : `iter_${String(it).padStart(7, "0")}`;
}

/** megatron/training/checkpointing.py read_metadata: strip, then an int or "release". */
export async function readTracker(loader: FileLoader, add: (f: RankFinding) => void): Promise<number | "release" | undefined> {
  const read = await loader.text(TRACKER, MAX_TRACKER);
  if (read.text === undefined) {
    add({ level: "error", code: "MEGATRON_TRACKER_INVALID", data: { file: TRACKER, reason: String(read.problem?.data["reason"] ?? "it cannot be read") }, file: TRACKER });
    return undefined;
  }
  const text = read.text.trim();
  if (text === "release") return "release";
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const shown = text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}…` : JSON.stringify(text);
  add({ level: "error", code: "MEGATRON_TRACKER_INVALID", data: { file: TRACKER, reason: `it holds ${shown}, neither an iteration number nor "release"` }, file: TRACKER });
  return undefined;
}
