import { PyDict, PyList, StorageRef, Tensor, type PyValue } from "../../formats/pickle/values.js";
import { worstTier, type GlobalVerdict } from "../../safety/globals.js";
import type { FileLoader } from "../file-loader.js";
import type { RankFinding, StateFile } from "../types.js";
import type { FileFacts } from "./files.js";
import type { DcpMetadata, StorageEntry } from "./metadata.js";

/** Non-tensor items are decoded (their pickles are what a resume would run); beyond these limits they are counted, not read. */
const MAX_BYTES_ITEMS = 20_000;
const MAX_ITEM_BYTES = 64 * 1024 * 1024;
const MAX_PATH = 64;
const MAX_LIST_INDEX = 100_000;

export interface DcpValues {
  /**
   * The state dict as the saver had it before flattening: non-tensor items
   * decoded, tensors as inert placeholders with their global shape (no bytes read).
   */
  tree: PyDict;
  /** Reads a one-element tensor item (an optimizer's step) from its slice. */
  scalar: (t: Tensor) => Promise<number | undefined>;
  judged: JudgedSlices;
}

type Usable = FileFacts["usable"][number];

/**
 * Decodes every non-tensor item (each a torch.save archive inside a rank
 * file, loaded by torch with weights_only=False) and rebuilds the nested state
 * dict from planner_data. Items whose globals are all allowed, or all known
 * harmless, are reported as one state file each; any other item on its own.
 */
export async function readValues(loader: FileLoader, folder: string, md: DcpMetadata, usable: Usable[], add: (f: RankFinding) => void): Promise<DcpValues> {
  const entries = new Map<string, Usable[]>();
  for (const e of usable) {
    const list = entries.get(e.fqn);
    if (list) list.push(e);
    else entries.set(e.fqn, [e]);
  }
  const tree = new PyDict();
  const placeholders = new Map<Tensor, Usable>();
  // Tensors inside decoded items (the 1.13 prototype saved a whole optimizer state as one item) are read through their item.
  const inner = new Map<Tensor, (t: Tensor) => Promise<number | undefined>>();
  const judged = new JudgedSlices(folder);
  let decoded = 0;
  let skipped = 0;
  const prefetched = await prefetch(loader, md, usable);
  for (const item of md.items.values()) {
    const path = pathOf(md, item.fqn);
    if (item.kind === "tensor") {
      const t = placeholder(item.fqn, item.dtype, item.size);
      const only = item.chunks.length === 1 ? entries.get(item.fqn)?.find((e) => e.offset) : undefined;
      if (only) placeholders.set(t, only);
      place(tree, path, t);
      continue;
    }
    const e = entries.get(item.fqn)?.find((x) => !x.offset);
    if (!e || e.transformed) continue;
    if (decoded >= MAX_BYTES_ITEMS || e.length > MAX_ITEM_BYTES) {
      skipped++;
      continue;
    }
    decoded++;
    const d = await loader.decodeSlice(e.path, e.start, e.length, sliceLabel(e), prefetched.get(e));
    if (d.state.problem) {
      add({ level: "error", code: "DCP_BYTES_ITEM_UNREADABLE", data: { fqn: item.fqn, file: e.path, reason: String(d.state.problem.data["reason"] ?? "") }, file: e.path });
    }
    judged.add(d.state);
    if (d.value !== undefined) {
      place(tree, path, d.value);
      for (const t of tensorsIn(d.value)) inner.set(t, d.scalar);
    }
  }
  if (skipped > 0) add({ level: "warn", code: "DCP_ITEMS_NOT_JUDGED", data: { count: skipped, limit: MAX_BYTES_ITEMS, maxBytes: MAX_ITEM_BYTES } });
  const scalar = async (t: Tensor): Promise<number | undefined> => {
    const own = inner.get(t);
    if (own) return own(t);
    const e = placeholders.get(t);
    if (!e || e.transformed) return undefined;
    const d = await loader.decodeSlice(e.path, e.start, e.length, sliceLabel(e));
    return d.value instanceof Tensor && d.value.numel === 1 ? d.scalar(d.value) : undefined;
  };
  return { tree, scalar, judged };
}

/** Per file, the non-tensor items' span is read once when it is small and dense (torch writes them first, back to back). */
const MAX_PREFETCH = 16 * 1024 * 1024;

async function prefetch(loader: FileLoader, md: DcpMetadata, usable: Usable[]): Promise<Map<Usable, Buffer>> {
  const byFile = new Map<string, Usable[]>();
  for (const e of usable) {
    if (e.offset || e.transformed || md.items.get(e.fqn)?.kind !== "bytes") continue;
    const list = byFile.get(e.path);
    if (list) list.push(e);
    else byFile.set(e.path, [e]);
  }
  const out = new Map<Usable, Buffer>();
  for (const [path, list] of byFile) {
    const start = Math.min(...list.map((e) => e.start));
    const end = Math.max(...list.map((e) => e.start + e.length));
    const used = list.reduce((n, e) => n + e.length, 0);
    if (list.length < 2 || end - start > MAX_PREFETCH || used * 2 < end - start) continue;
    try {
      const span = await (await loader.handle(path)).read(start, end - start, `non-tensor items of ${path}`);
      for (const e of list) out.set(e, span.subarray(e.start - start, e.start - start + e.length));
    } catch {
      // Read one by one instead; each read reports its own problem.
    }
  }
  return out;
}

/** How a slice is named in findings: its file, byte range and item. */
export function sliceLabel(e: StorageEntry & { path: string }): string {
  return `${e.path} bytes ${e.start}..${e.start + e.length} (${e.fqn}${e.offset && e.offset.length > 0 ? ` at [${e.offset.join(", ")}]` : ""})`;
}

/**
 * The decoded slices' state files, grouped: slices whose globals are all
 * allowed make one state file, those with known-harmless globals another;
 * a slice with any other global, or that failed to decode, is its own.
 */
export class JudgedSlices {
  private readonly groups = { allowed: [] as GlobalVerdict[][], harmless: [] as GlobalVerdict[][] };
  private readonly own: StateFile[] = [];

  constructor(
    private readonly folder: string,
    private readonly label = "rank-file slices",
  ) {}

  add(state: StateFile): void {
    const tier = worstTier(state.verdicts) ?? "allowed";
    if (state.problem || (tier !== "allowed" && tier !== "harmless")) this.own.push(state);
    else this.groups[tier].push(state.verdicts);
  }

  files(): StateFile[] {
    const grouped = (["allowed", "harmless"] as const).flatMap((tier): StateFile[] => {
      const list = this.groups[tier];
      if (list.length === 0) return [];
      const merged = new Map<string, GlobalVerdict>();
      for (const v of list.flat()) {
        const seen = merged.get(v.qualname + v.tier);
        if (seen) seen.count += v.count;
        else merged.set(v.qualname + v.tier, { ...v });
      }
      const rel = `${this.folder ? `${this.folder}/` : ""}${this.label}${tier === "harmless" ? " with known globals" : ""}`;
      return [{ rel, summary: `${list.length} file(s) or archive(s)`, verdicts: [...merged.values()], torchProblems: [] }];
    });
    return [...grouped, ...this.own];
  }
}

/**
 * Where a flat key sat in the saved state dict: its planner_data path; the key
 * itself when there is none (the 1.13 prototype did not flatten); its dotted
 * parts when planner_data disagrees with the key (reported as
 * DCP_PLANNER_DATA_MISMATCH: the key is what the loader looks up).
 */
function pathOf(md: DcpMetadata, fqn: string): (string | number)[] {
  if (!md.plannerData) return [fqn];
  const path = md.plannerData.get(fqn);
  return path && path.map(String).join(".") === fqn ? path : fqn.split(".");
}

/** The tensors a decoded item holds, a bounded walk. */
function tensorsIn(root: PyValue): Tensor[] {
  const out: Tensor[] = [];
  const stack: [PyValue, number][] = [[root, 0]];
  let visited = 0;
  while (stack.length > 0 && visited++ < 100_000) {
    const [v, depth] = stack.pop()!;
    if (v instanceof Tensor) out.push(v);
    else if (depth < 8 && v instanceof PyDict) for (const x of v.map.values()) stack.push([x, depth + 1]);
    else if (depth < 8 && v instanceof PyList) for (const x of v.items) stack.push([x, depth + 1]);
  }
  return out;
}

function placeholder(fqn: string, dtype: string | undefined, size: number[]): Tensor {
  const stride = size.map((_, i) => size.slice(i + 1).reduce((a, b) => a * b, 1));
  const numel = size.reduce((a, b) => a * b, 1);
  return new Tensor(dtype ?? "float32", size, stride, 0, new StorageRef(fqn, dtype ?? "float32", 0, "cpu", Number.isSafeInteger(numel) ? numel : 0, "dcp"), false);
}

/** Puts `value` at `path` (strings are dict keys, integers list indices), creating containers on the way. */
function place(root: PyDict, path: (string | number)[], value: PyValue): void {
  if (path.length === 0 || path.length > MAX_PATH) return;
  let cur: PyDict | PyList = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    const existing = get(cur, key);
    if (last) {
      set(cur, key, value);
      return;
    }
    let next = existing;
    if (!(next instanceof PyDict || next instanceof PyList)) {
      next = typeof path[i + 1] === "number" ? new PyList() : new PyDict();
      if (!set(cur, key, next)) return;
    }
    cur = next;
  }
}

function get(c: PyDict | PyList, key: string | number): PyValue | undefined {
  if (c instanceof PyDict) return c.get(key);
  return typeof key === "number" ? c.items[key] : undefined;
}

function set(c: PyDict | PyList, key: string | number, value: PyValue): boolean {
  if (c instanceof PyDict) {
    c.set(key, value);
    return true;
  }
  if (typeof key !== "number" || key > MAX_LIST_INDEX) return false;
  while (c.items.length <= key) c.items.push(null);
  c.items[key] = value;
  return true;
}
