import { isRankFileName, tagStep } from "../layouts/deepspeed/names.js";
import { MAX_POINTER_BYTES } from "../layouts/deepspeed/pointer.js";
import type { Storage } from "../storage/types.js";

/**
 * A DeepSpeed save_dir (research/distributed-layouts.md §1.4): its tag
 * folders, the one `latest` names first (what load_checkpoint(tag=None)
 * reads), then the other tags newest first (each can be passed as the tag
 * explicitly). Undefined when DIR is not a DeepSpeed save_dir.
 */
export async function deepspeedCandidates(storage: Storage): Promise<string[] | undefined> {
  const entries = await storage.list("");
  const tags: { name: string; step: number; mtime: number }[] = [];
  for (const e of entries) {
    if (e.kind !== "directory" || e.name.startsWith(".")) continue;
    if (!(await storage.list(e.name)).some((f) => f.kind === "file" && isRankFileName(f.name))) continue;
    const info = await storage.stat(e.name).catch(() => undefined);
    tags.push({ name: e.name, step: tagStep(e.name) ?? -1, mtime: info?.mtimeMs ?? 0 });
  }
  if (tags.length === 0) return undefined;
  const named = entries.some((e) => e.name === "latest" && e.kind === "file") ? await pointer(storage) : undefined;
  tags.sort((a, b) => Number(b.name === named) - Number(a.name === named) || b.step - a.step || b.mtime - a.mtime);
  return tags.map((t) => storage.display(t.name));
}

async function pointer(storage: Storage): Promise<string | undefined> {
  const file = await storage.open("latest").catch(() => undefined);
  if (!file) return undefined;
  try {
    return file.size > MAX_POINTER_BYTES ? undefined : (await file.read(0, file.size, "latest")).toString("utf8").trim();
  } catch {
    return undefined;
  } finally {
    await file.close();
  }
}
