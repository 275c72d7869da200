import { isFormatError } from "../core/errors.js";
import { decodePickleStreams } from "../formats/pickle/decoder.js";
import { PickleError } from "../formats/pickle/decoder.js";
import { Tensor, type PyValue } from "../formats/pickle/values.js";
import { readSafetensorsFrom, type SafetensorsFile } from "../formats/safetensors/index.js";
import { openTorchFile } from "../formats/torch/reader.js";
import { sniffOpen } from "../formats/torch/sniff.js";
import { displayPath, locate, type ByteSource, type Location } from "../storage/index.js";
import { collectTensorObjects } from "./tensors.js";
import { scanZipMembers } from "../safety/zip-members.js";
import { judgePickle, type GlobalVerdict } from "../safety/globals.js";
import type { TensorValues } from "./to-json.js";

const MAX_RAW_PICKLE = 512 * 1024 * 1024;
const IMPOSTOR_CODES: Record<string, string | undefined> = { "git-lfs-pointer": "FILE_IS_LFS_POINTER", html: "FILE_IS_HTML", zeros: "FILE_ALL_ZEROS" };
/** Values are shown for one-element tensors; reading more would mean reading tensor bytes. */
const MAX_SCALARS = 10_000;

export interface InspectResult {
  file: string;
  format: string;
  value?: PyValue;
  values: TensorValues;
  safetensors?: SafetensorsFile;
  verdicts: GlobalVerdict[];
  error?: { code: string; message: string };
  streams?: number;
  exitCode: 0 | 1;
}

/** Decodes one file safely for `inspect`: never executes, reads only metadata and one-element tensors. */
export async function inspectFile(path: string, options: { allowGlobals?: string[] } = {}): Promise<InspectResult> {
  const base = { file: displayPath(path), values: new Map() as TensorValues, verdicts: [] as GlobalVerdict[] };
  let source: ByteSource;
  let where: Location;
  try {
    where = await locate(path);
    if (!where.stat) return fail({ ...base, format: "unknown" }, "FILE_NOT_FOUND", `${base.file} does not exist`);
    if (where.stat.kind !== "file") return fail({ ...base, format: "unknown" }, "NOT_A_REGULAR_FILE", `${base.file} is not a regular file`);
    source = await where.storage.open(where.rel);
  } catch (e) {
    return fail({ ...base, format: "unknown" }, code(e), message(e));
  }
  try {
    const result = await inspectSource(source, base, options);
    // A value that could not be read over the network is not shown; the run must not pass for it.
    const failed = where.storage.failures?.list()[0];
    return failed ? fail(result, "REMOTE_READ_FAILED", `${failed.object} could not be read: ${failed.reason}`) : result;
  } finally {
    await source.close();
  }
}

async function inspectSource(source: ByteSource, base: Omit<InspectResult, "format" | "exitCode">, options: { allowGlobals?: string[] }): Promise<InspectResult> {
  const path = base.file;
  let kind: string;
  try {
    const sniff = await sniffOpen(source);
    kind = sniff.kind;
    // What people find in place of a checkpoint is named as what it is, not as a broken torch file.
    const impostor = IMPOSTOR_CODES[kind];
    if (impostor) return fail({ ...base, format: kind }, impostor, `${path} is ${sniff.detail}`);
  } catch (e) {
    return fail({ ...base, format: "unknown" }, code(e), message(e));
  }
  const judge = (p: Parameters<typeof judgePickle>[0]) => judgePickle(p, { allowGlobals: options.allowGlobals ?? [] });
  if (kind === "safetensors") {
    try {
      return { ...base, format: "safetensors", safetensors: await readSafetensorsFrom(source), exitCode: 0 };
    } catch (e) {
      return fail({ ...base, format: "safetensors" }, code(e), message(e));
    }
  }
  if (kind === "pickle") {
    if (source.size > MAX_RAW_PICKLE) return fail({ ...base, format: "pickle" }, "PICKLE_TOO_LARGE", `raw pickle of ${source.size} bytes is over the limit`);
    let bytes: Buffer;
    try {
      bytes = await source.read(0, source.size, "pickle");
    } catch (e) {
      return fail({ ...base, format: "pickle" }, code(e), message(e));
    }
    const streams = decodePickleStreams(bytes);
    const verdicts = [...streams.streams.flatMap((s) => judge(s)), ...(streams.error ? judge(streams.error.partial) : [])];
    const result: InspectResult = { ...base, format: "pickle", value: streams.streams[0]?.value, verdicts, streams: streams.streams.length, exitCode: 0 };
    if (streams.error) return fail(result, streams.error.code, streams.error.message);
    return withExit(result);
  }
  try {
    // The handle stays the caller's: the torch file's close() is not called here.
    const file = await openTorchFile(path, { file: source });
    const values: TensorValues = new Map();
    const scalars = collectTensorObjects(file.value).filter((t: Tensor) => t.numel === 1).slice(0, MAX_SCALARS);
    // A storage that cannot be read shows no value (the verifier reports it).
    const read = await Promise.all(scalars.map((t) => file.readValues(t, 1).then((v) => v[0], () => undefined)));
    scalars.forEach((t, i) => read[i] !== undefined && values.set(t, read[i]));
    return withExit({ ...base, format: file.format === "zip" ? "torch-zip" : file.container === "tar" ? "torch-tar" : "torch-legacy", value: file.value, values, verdicts: judge(file.pickle) });
  } catch (e) {
    if (isFormatError(e) && e.code === "TORCH_NO_DATA_PKL") {
      // Not a torch archive, but a member under any name may still be a pickle some loader opens.
      const z = await scanZipMembers(source, judge);
      return withExit({ ...base, format: kind, value: z.value, verdicts: z.verdicts, error: z.error ?? { code: e.code, message: e.message } });
    }
    const verdicts = e instanceof PickleError ? judge(e.partial) : [];
    return fail({ ...base, format: kind, verdicts }, code(e), message(e));
  }
}

function withExit(r: Omit<InspectResult, "exitCode"> & { exitCode?: 0 | 1 }): InspectResult {
  const unsafe = r.verdicts.some((v) => v.tier === "unsafe");
  return { ...r, exitCode: unsafe || r.error ? 1 : 0 };
}

function fail(r: Omit<InspectResult, "exitCode">, errCode: string, msg: string): InspectResult {
  return { ...r, error: { code: errCode, message: msg }, exitCode: 1 };
}

function code(e: unknown): string {
  return isFormatError(e) ? e.code : "UNREADABLE";
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
