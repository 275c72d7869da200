import { readFile, stat } from "node:fs/promises";
import { isFormatError } from "../formats/errors.js";
import { decodePickleStreams } from "../formats/pickle/decoder.js";
import { PickleError } from "../formats/pickle/decoder.js";
import { Tensor, type PyValue } from "../formats/pickle/values.js";
import { readSafetensors, type SafetensorsFile } from "../formats/safetensors/index.js";
import { openTorchFile, sniffFileKind } from "../formats/torch/reader.js";
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
  const base = { file: path, values: new Map() as TensorValues, verdicts: [] as GlobalVerdict[] };
  let kind: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) return fail({ ...base, format: "unknown" }, "NOT_A_REGULAR_FILE", `${path} is not a regular file`);
    const sniff = await sniffFileKind(path);
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
      return { ...base, format: "safetensors", safetensors: await readSafetensors(path), exitCode: 0 };
    } catch (e) {
      return fail({ ...base, format: "safetensors" }, code(e), message(e));
    }
  }
  if (kind === "pickle") {
    const size = (await stat(path)).size;
    if (size > MAX_RAW_PICKLE) return fail({ ...base, format: "pickle" }, "PICKLE_TOO_LARGE", `raw pickle of ${size} bytes is over the limit`);
    const streams = decodePickleStreams(await readFile(path));
    const verdicts = [...streams.streams.flatMap((s) => judge(s)), ...(streams.error ? judge(streams.error.partial) : [])];
    const result: InspectResult = { ...base, format: "pickle", value: streams.streams[0]?.value, verdicts, streams: streams.streams.length, exitCode: 0 };
    if (streams.error) return fail(result, streams.error.code, streams.error.message);
    return withExit(result);
  }
  try {
    const file = await openTorchFile(path);
    try {
      const values: TensorValues = new Map();
      const scalars = collectTensorObjects(file.value).filter((t: Tensor) => t.numel === 1).slice(0, MAX_SCALARS);
      // Issued together, the small reads overlap on libuv's thread pool; a storage that cannot be read shows no value (the verifier reports it).
      const read = await Promise.all(scalars.map((t) => file.readValues(t, 1).then((v) => v[0], () => undefined)));
      scalars.forEach((t, i) => read[i] !== undefined && values.set(t, read[i]));
      return withExit({ ...base, format: file.format === "zip" ? "torch-zip" : file.container === "tar" ? "torch-tar" : "torch-legacy", value: file.value, values, verdicts: judge(file.pickle) });
    } finally {
      await file.close();
    }
  } catch (e) {
    if (isFormatError(e) && e.code === "TORCH_NO_DATA_PKL") {
      // Not a torch archive, but a member under any name may still be a pickle some loader opens.
      const z = await scanZipMembers(path, judge);
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
