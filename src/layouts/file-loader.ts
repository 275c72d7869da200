import { errorMessage, FormatError, isFormatError } from "../core/errors.js";
import { decodePickleStreams, PickleError } from "../formats/pickle/decoder.js";
import type { PyValue, Tensor } from "../formats/pickle/values.js";
import type { StorageTable } from "../formats/torch/storage-table.js";
import { readSafetensorsFrom } from "../formats/safetensors/index.js";
import { openTorchFile, type FileKind, type TorchFile } from "../formats/torch/reader.js";
import { sniffOpen } from "../formats/torch/sniff.js";
import type { ByteSource, DirEntry, EntryStat, Storage } from "../storage/types.js";
import { judgePickle, type GlobalVerdict } from "../safety/globals.js";
import { planSafetensors, planTorchFile, runPlans, type IntegrityResult, type ScanPlan } from "../integrity/scan.js";
import { shardSelectors, type Shard } from "../integrity/shard.js";
import type { SafetensorsFile } from "../formats/safetensors/index.js";
import type { ExpectedFile, Problem, StateFile, WeightsFile } from "./types.js";
import { collectTensors, summarise } from "./walk.js";
import { scanZipMembers } from "../safety/zip-members.js";
import { parsePythonJson } from "../formats/json/python-json.js";
import { weightsOnlyVerdict, type WeightsOnlyVerdict } from "../safety/weights-only.js";
import { sliceSource } from "../storage/slice.js";

/** Raw pickles are read whole; anything bigger is not a pickle we can judge cheaply. */
const MAX_RAW_PICKLE = 512 * 1024 * 1024;
/** JSON state files are read whole: a trainer_state.json with a long log_history is a few MiB. */
const MAX_JSON = 64 * 1024 * 1024;

export interface DecodedState {
  state: StateFile;
  value?: PyValue;
  /**
   * Reads one element of a small tensor (an optimizer's step); undefined when unreadable. Calls made
   * in one go (before the caller awaits) are read as one batch, so the `step` of every parameter
   * costs one pass over the file's small records rather than a read each.
   */
  scalar: ScalarReader;
  /** torch.save files: what torch.load(weights_only=True) would make of it. */
  weightsOnly?: WeightsOnlyVerdict;
  /** torch.save files: every storage the pickle referenced, by key (its dtype and saved location). */
  storages?: StorageTable;
}

/** One value per call; `many`, when present, reads a list in one batch without a promise each (tens of thousands of `step` tensors). */
export type ScalarReader = ((t: Tensor) => Promise<number | undefined>) & { many?: (ts: Tensor[]) => Promise<(number | undefined)[]> };

/**
 * All file access of a layout goes through here: the look at a file's first
 * bytes, decoding torch and pickle files once, reading JSON and safetensors
 * headers. Torch files stay open until `close` so small tensor values can be
 * read on demand.
 */
export class FileLoader {
  /** Decoded files by path, for the --deep scan. */
  private readonly torchByRel = new Map<string, TorchFile>();
  private readonly safetensorsByRel = new Map<string, SafetensorsFile>();
  private readonly decoded = new Map<string, Promise<DecodedState>>();
  /** The first-bytes look is taken once per file: examine() and decode() both need it. */
  private readonly sniffed = new Map<string, Promise<{ kind: FileKind; detail: string }>>();
  /** Slices decoded from inside a larger file: label -> that file, so --deep reports per file. */
  private readonly sliceOf = new Map<string, string>();
  /** One handle per file for the sniff and the decode, so a zip's central directory is parsed once. */
  private readonly handles = new Map<string, Promise<ByteSource>>();
  private readonly jsonByRel = new Map<string, Promise<{ text?: string; value?: unknown; problem?: Problem }>>();

  constructor(
    readonly storage: Storage,
    readonly allowGlobals: string[],
    /** A --deep run. Both modes locate a storage record when it is read: --deep reads them all, checking each local header as it goes. */
    readonly deep = false,
    /**
     * Read `step` values across records, the bytes between them included (TorchFile.readFirstValues):
     * a whole --deep run reads those bytes anyway; a `--shard` part reads only its share, so not there.
     */
    private readonly readAcross = deep,
  ) {}

  get root(): string {
    return this.storage.root;
  }

  /** How a file is shown to the user (a path or a URL). */
  abs(rel: string): string {
    return this.storage.display(rel);
  }

  async exists(rel: string): Promise<boolean> {
    return this.storage.stat(rel).then(
      (s) => s !== undefined,
      () => false,
    );
  }

  async stat(rel: string): Promise<EntryStat | undefined> {
    return this.storage.stat(rel).catch(() => undefined);
  }

  /** The entries of a folder of the checkpoint ("" = its root), sorted by name. */
  list(rel = ""): Promise<DirEntry[]> {
    return this.storage.list(rel);
  }

  /** The required-files look: present, regular, not empty, and what its first bytes say it is. */
  async examine(spec: ExpectedFile): Promise<ExpectedFile> {
    let info;
    try {
      info = await this.storage.stat(spec.rel);
    } catch (e) {
      return { ...spec, problem: { code: "FILE_UNREADABLE", data: { reason: errorMessage(e) } } };
    }
    if (!info) return { ...spec, problem: { code: "FILE_MISSING", data: { reason: `${spec.rel} does not exist` } } };
    if (info.kind !== "file") {
      const kind = info.kind === "directory" ? "a directory" : info.kind === "fifo" ? "a FIFO" : "a special file";
      return { ...spec, problem: { code: "FILE_NOT_REGULAR", data: { kind } } };
    }
    if (info.size === 0) return { ...spec, problem: { code: "FILE_EMPTY", data: {} } };
    if (spec.expect === "any" || spec.expect === "json") return { ...spec, size: info.size };
    let sniff;
    try {
      sniff = await this.sniff(spec.rel);
    } catch (e) {
      return { ...spec, problem: { code: "FILE_UNREADABLE", data: { reason: errorMessage(e) } } };
    }
    const problem = kindProblem(spec.expect, sniff.kind, sniff.detail, info.size);
    return problem ? { ...spec, problem } : { ...spec, size: info.size };
  }

  private sniff(rel: string): Promise<{ kind: FileKind; detail: string }> {
    let p = this.sniffed.get(rel);
    if (!p) {
      p = this.handle(rel).then(sniffOpen);
      this.sniffed.set(rel, p);
    }
    return p;
  }

  /** One open handle per file, shared by the sniff, the decode and --deep. */
  handle(rel: string): Promise<ByteSource> {
    let h = this.handles.get(rel);
    if (!h) {
      h = this.storage.open(rel);
      this.handles.set(rel, h);
    }
    return h;
  }

  /** Decodes a torch (zip or legacy) or raw pickle file once; judges its globals. */
  decode(rel: string, unusable?: string): Promise<DecodedState> {
    const key = `${rel}\0${unusable ?? ""}`;
    let p = this.decoded.get(key);
    if (!p) {
      p = unusable ? Promise.resolve(unusableState(rel, unusable)) : this.decodeNow(rel);
      this.decoded.set(key, p);
    }
    return p;
  }

  /**
   * A torch.save zip stored at bytes [offset, offset + length) of `rel` (a DCP slice), decoded once
   * and shown as `label`; --deep scans its records in place.
   */
  decodeSlice(rel: string, offset: number, length: number, label: string, prefetched?: Buffer): Promise<DecodedState> {
    const key = `${rel}\0${offset}\0${length}`;
    let p = this.decoded.get(key);
    if (!p) {
      this.sliceOf.set(label, rel);
      p = this.decodeTorch(label, async () => sliceSource(await this.handle(rel), offset, length, label, prefetched));
      this.decoded.set(key, p);
    }
    return p;
  }

  private async decodeNow(rel: string): Promise<DecodedState> {
    try {
      if ((await this.sniff(rel)).kind === "pickle") return await this.decodeRawPickle(rel);
    } catch (e) {
      return { state: { rel, problem: { code: "STATE_UNREADABLE", data: { reason: errorMessage(e) } }, verdicts: [], torchProblems: [] }, scalar: async () => undefined };
    }
    return this.decodeTorch(rel, () => this.handle(rel));
  }

  private async decodeTorch(rel: string, open: () => Promise<ByteSource>): Promise<DecodedState> {
    const none = async () => undefined;
    try {
      // Local headers are checked when a record is read: default mode reads a few, --deep all of them in one pass (integrity/inline.ts).
      const file = await openTorchFile(this.abs(rel), { file: await open(), storageHeaders: "on-read" });
      this.torchByRel.set(rel, file);
      const verdicts = judgePickle(file.pickle, { allowGlobals: this.allowGlobals });
      const torchProblems: Problem[] = file.problems.map((p) => ({ code: "TORCH_FILE_PROBLEM", data: { reason: p.message, key: p.key } }));
      const scalars = (ts: Tensor[]) => file.readFirstValues(ts, { across: this.readAcross }).then((vs) => vs.map(asNumber), () => ts.map(() => undefined));
      const scalar: ScalarReader = Object.assign(batched(scalars), { many: scalars });
      const state: StateFile = { rel, value: file.value, summary: `${file.format === "zip" ? "torch zip" : "torch legacy"}, ${summarise(file.value)}`, verdicts, torchProblems };
      return { state, value: file.value, scalar, weightsOnly: weightsOnlyVerdict(file.pickle, verdicts), storages: file.storages };
    } catch (e) {
      const judge = (p: Parameters<typeof judgePickle>[0]) => judgePickle(p, { allowGlobals: this.allowGlobals });
      let partial = e instanceof PickleError ? judge(e.partial) : [];
      // A zip without data.pkl can hide a pickle under another name (picklescan's malicious1_wrong_ext.zip): judge its members too.
      if (isFormatError(e) && e.code === "TORCH_NO_DATA_PKL") partial = (await scanZipMembers(await open(), judge)).verdicts;
      const state: StateFile = { rel, problem: { code: "STATE_UNREADABLE", data: { reason: errorMessage(e) } }, verdicts: partial, torchProblems: [] };
      return { state, scalar: none };
    }
  }

  private async decodeRawPickle(rel: string): Promise<DecodedState> {
    const file = await this.handle(rel);
    if (file.size > MAX_RAW_PICKLE) throw new FormatError("PICKLE_TOO_LARGE", `raw pickle of ${file.size} bytes is over the ${MAX_RAW_PICKLE}-byte limit`);
    const bytes = await file.read(0, file.size, "pickle");
    const result = decodePickleStreams(bytes);
    const verdicts: GlobalVerdict[] = [];
    for (const s of result.streams) verdicts.push(...judgePickle(s, { allowGlobals: this.allowGlobals }));
    if (result.error) verdicts.push(...judgePickle(result.error.partial, { allowGlobals: this.allowGlobals }));
    const merged = mergeVerdicts(verdicts);
    const first = result.streams[0];
    const problem: Problem | undefined = result.error
      ? { code: "STATE_UNREADABLE", data: { reason: result.error.message } }
      : first
        ? undefined
        : { code: "STATE_UNREADABLE", data: { reason: "no pickle stream" } };
    const extra = result.streams.length > 1 ? `, ${result.streams.length} pickle streams` : "";
    const state: StateFile = { rel, value: first?.value, problem, summary: `pickle${extra}, ${summarise(first?.value ?? null)}`, verdicts: merged, torchProblems: [] };
    return { state, value: problem ? undefined : first?.value, scalar: async () => undefined };
  }

  /** A small text file, whole (a JSON state, DeepSpeed's `latest`, Megatron's tracker); undefined text with a problem when it cannot be read. */
  async text(rel: string, max = MAX_JSON): Promise<{ text?: string; problem?: Problem }> {
    try {
      const file = await this.handle(rel);
      if (file.size > max) return { problem: { code: "FILE_UNREADABLE", data: { reason: `${file.size} bytes, over the ${max}-byte limit for this file` } } };
      return { text: (await file.read(0, file.size, rel)).toString("utf8") };
    } catch (e) {
      return { problem: { code: "FILE_UNREADABLE", data: { reason: errorMessage(e) } } };
    }
  }

  /**
   * A JSON file as Python's json wrote it (NaN and Infinity included), read and parsed once. `keep`
   * false: not kept for later calls (a shard index is read once, into a map; its text and parsed
   * value, 15 MB at 70,000 tensors, need not live for the whole run).
   */
  json(rel: string, keep = true): Promise<{ text?: string; value?: unknown; problem?: Problem }> {
    let p = this.jsonByRel.get(rel);
    if (!p) {
      p = this.text(rel).then((read) => {
        if (read.text === undefined) return read;
        try {
          return { text: read.text, value: parsePythonJson(read.text) };
        } catch (e) {
          return { text: read.text, problem: { code: "STATE_JSON_INVALID", data: { reason: errorMessage(e) } } };
        }
      });
      if (keep) this.jsonByRel.set(rel, p);
    }
    return p;
  }

  /** A weights file: safetensors header or torch state_dict, never the tensor bytes. */
  async weights(rel: string, size: number): Promise<WeightsFile> {
    if (rel.endsWith(".safetensors")) {
      try {
        const st = await readSafetensorsFrom(await this.handle(rel));
        // Kept for the --deep scan only: default mode needs the three fields below, not an entry per tensor twice over.
        if (this.deep) this.safetensorsByRel.set(rel, st);
        const tensors = st.tensors.map((t) => ({ name: t.name, dtype: t.torchDtype, shape: t.shape }));
        return { rel, kind: "safetensors", tensors, size, verdicts: [], torchProblems: [] };
      } catch (e) {
        return { rel, kind: "safetensors", tensors: [], size, verdicts: [], torchProblems: [], problem: weightsProblem(e) };
      }
    }
    const d = await this.decode(rel);
    if (d.state.problem) return { rel, kind: "torch", tensors: [], size, verdicts: d.state.verdicts, torchProblems: [], problem: { code: "WEIGHTS_FILE_INVALID", data: d.state.problem.data } };
    return { rel, kind: "torch", tensors: collectTensors(d.value ?? null), size, verdicts: d.state.verdicts, torchProblems: d.state.torchProblems };
  }

  /** --deep: reads every byte of every decoded file once (CRC32 of zip records, NaN/Inf scan). */
  async deepScan(onProgress?: (done: number, total: number) => void, shard?: Shard): Promise<IntegrityResult[]> {
    // By name, not in the order the decodes finished (files decoded side by side finish in any order): the
    // report lists files the same way every run, and every --shard process splits the same list.
    const byName = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const torch = byName(this.torchByRel);
    const safetensors = byName(this.safetensorsByRel);
    const sizes = [...torch.map(([, f]) => f.size), ...safetensors.map(([, f]) => f.fileSize)];
    const mine = shardSelectors(sizes, shard ?? { index: 0, count: 1 });
    // With --shard the bar counts this part's share: about 1/n of the bytes.
    const total = sizes.reduce((n, s) => n + s, 0) / (shard?.count ?? 1);
    let done = 0;
    const progress = onProgress && ((bytes: number) => onProgress((done += bytes), total));
    // One pool for every file: a checkpoint of many shards keeps every core busy; with --shard each file scans only its share.
    const plans: ScanPlan[] = [];
    let i = 0;
    for (const [rel, tf] of torch) plans.push(await planTorchFile(rel, tf, progress, mine[i++]));
    for (const [rel, st] of safetensors) plans.push(planSafetensors(rel, await this.handle(rel), st, mine[i++]));
    return this.foldSlices(await runPlans(plans, progress));
  }

  /** A file's DCP slices are reported as that file, each record named by its slice. */
  private foldSlices(results: IntegrityResult[]): IntegrityResult[] {
    const out: IntegrityResult[] = [];
    const byFile = new Map<string, IntegrityResult>();
    for (const result of results) {
      const outer = this.sliceOf.get(result.rel);
      if (outer === undefined) {
        out.push(result);
        continue;
      }
      let into = byFile.get(outer);
      if (!into) byFile.set(outer, (into = { rel: outer, bytesRead: 0, recordsChecked: 0, crcNotRecorded: 0, crcMismatches: [], nonFinite: [], allZero: [], readErrors: [] }));
      mergeInto(into, result, result.rel.startsWith(`${outer} `) ? result.rel.slice(outer.length + 1) : result.rel);
    }
    out.push(...byFile.values());
    return out;
  }

  async close(): Promise<void> {
    // Every file this loader opened, decoded or only sniffed, went through handle().
    for (const h of this.handles.values()) await h.then((f) => f.close(), () => undefined);
  }
}

function asNumber(v: unknown): number | undefined {
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : typeof v === "boolean" ? Number(v) : undefined;
}

/**
 * One call per item for the caller, one call per batch for `read`: the items asked for before the
 * next microtask are read together. `read` must not reject (unreadable items are undefined).
 */
function batched<T, R>(read: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let queue: { item: T; resolve: (r: R) => void }[] | undefined;
  return (item) =>
    new Promise<R>((resolve) => {
      if (!queue) {
        const q: { item: T; resolve: (r: R) => void }[] = (queue = []);
        queueMicrotask(() => {
          queue = undefined;
          void read(q.map((x) => x.item)).then((rs) => q.forEach((x, i) => x.resolve(rs[i]!)));
        });
      }
      queue.push({ item, resolve });
    });
}

function unusableState(rel: string, reason: string): DecodedState {
  return { state: { rel, unusable: reason, verdicts: [], torchProblems: [] }, scalar: async () => undefined };
}

function weightsProblem(e: unknown): Problem {
  const rule = isFormatError(e) ? (e.data["rule"] as string | undefined) : undefined;
  return { code: "WEIGHTS_FILE_INVALID", data: { reason: errorMessage(e), ...(rule ? { rule } : {}) } };
}


function mergeInto(into: IntegrityResult, r: IntegrityResult, slice: string): void {
  into.bytesRead += r.bytesRead;
  into.recordsChecked += r.recordsChecked;
  into.crcNotRecorded += r.crcNotRecorded;
  into.crcMismatches.push(...r.crcMismatches.map((c) => ({ ...c, record: `${slice}: ${c.record}` })));
  into.nonFinite.push(...r.nonFinite.map((n) => ({ ...n, tensor: `${slice}: ${n.tensor}` })));
  into.allZero.push(...r.allZero.map((t) => `${slice}: ${t}`));
  into.readErrors.push(...r.readErrors.map((e) => ({ ...e, where: `${slice}: ${e.where}` })));
}

function mergeVerdicts(list: GlobalVerdict[]): GlobalVerdict[] {
  const byName = new Map<string, GlobalVerdict>();
  for (const v of list) {
    const seen = byName.get(v.qualname + v.tier);
    if (seen) seen.count += v.count;
    else byName.set(v.qualname + v.tier, { ...v });
  }
  return [...byName.values()];
}

const TORCH_KINDS = new Set(["torch-zip", "torch-legacy", "pickle", "zip"]);

function kindProblem(expect: ExpectedFile["expect"], kind: string, detail: string, size: number): Problem | undefined {
  const expected = expect === "weights" ? "safetensors or torch" : expect;
  if (kind === "git-lfs-pointer") return { code: "FILE_IS_LFS_POINTER", data: { size: `${size} bytes` } };
  if (kind === "html") return { code: "FILE_IS_HTML", data: { expected } };
  if (kind === "zeros") return { code: "FILE_ALL_ZEROS", data: { size: `${size} bytes` } };
  const ok =
    (expect === "torch" && TORCH_KINDS.has(kind)) ||
    // A safetensors file cut inside its header sniffs as unknown: its reader says exactly what is wrong.
    (expect === "safetensors" && (kind === "safetensors" || kind === "unknown")) ||
    (expect === "weights" && (kind === "safetensors" || TORCH_KINDS.has(kind)));
  return ok ? undefined : { code: "FILE_WRONG_FORMAT", data: { expected, detail } };
}
