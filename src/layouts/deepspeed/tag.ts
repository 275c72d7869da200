import type { DecodedState, FileLoader } from "../file-loader.js";
import type { ExpectedFile, WeightsFile } from "../types.js";
import { parseRankFile, type RankFile } from "./names.js";

/** One rank file of a tag: what its name says, how it looked on disk, and what it decoded to. */
export interface RankEntry {
  name: string;
  rel: string;
  file: RankFile;
  spec: ExpectedFile;
  /** Model and optimizer files (training state); undefined when the file is unusable. */
  decoded?: DecodedState;
  /** Pipeline layer and MoE expert files hold weights. */
  weights?: WeightsFile;
}

/** A tag folder: its rank files, and names that look like rank files but carry impossible numbers. */
export interface TagRead {
  name: string;
  rel: string;
  entries: RankEntry[];
  badNames: { rel: string; number: string }[];
}

export function join(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

function roleOf(f: RankFile): string {
  switch (f.kind) {
    case "model":
      return `DeepSpeed model states (mp rank ${f.mp})`;
    case "zero-model":
      return `ZeRO-3 model states (dp rank ${f.dp}, mp rank ${f.mp})`;
    case "optim":
      return `ZeRO optimizer partition (dp rank ${f.dp}, mp rank ${f.mp})`;
    case "layer":
      return `pipeline layer ${f.layer}`;
    case "expert":
      return `MoE expert ${f.expert} of layer ${f.layer}`;
    case "expert-optim":
      return `MoE optimizer (expert-parallel rank ${f.ep})`;
  }
}

/**
 * Lists a tag, examines every rank file's first bytes and decodes its pickle
 * (metadata only: tensors are located and bounded, their bytes are not read).
 * Every file is decoded because every pickle a resume loads must be judged.
 */
export async function readTag(loader: FileLoader, rel: string, name: string): Promise<TagRead> {
  const listing = (await loader.list(rel)).filter((e) => e.kind === "file");
  const badNames: TagRead["badNames"] = [];
  const found: { name: string; rel: string; file: RankFile }[] = [];
  for (const e of listing) {
    const parsed = parseRankFile(e.name);
    if (!parsed) continue;
    if ("badNumber" in parsed) badNames.push({ rel: join(rel, e.name), number: parsed.badNumber });
    else found.push({ name: e.name, rel: join(rel, e.name), file: parsed.file });
  }
  const entries = await Promise.all(found.map((f) => readEntry(loader, f)));
  return { name, rel, entries, badNames };
}

async function readEntry(loader: FileLoader, f: { name: string; rel: string; file: RankFile }): Promise<RankEntry> {
  const spec = await loader.examine({ rel: f.rel, role: roleOf(f.file), required: true, expect: "torch" });
  const unusable = spec.problem && `${f.rel} is unusable (see required-files)`;
  if (f.file.kind === "layer" || f.file.kind === "expert") {
    return unusable ? { ...f, spec } : { ...f, spec, weights: await loader.weights(f.rel, spec.size ?? 0) };
  }
  return { ...f, spec, decoded: await loader.decode(f.rel, unusable) };
}
