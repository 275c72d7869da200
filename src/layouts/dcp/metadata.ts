import { PyCall, PyDict, PyGlobal, PyTuple, isDict, seqItems, type PyValue } from "../../formats/pickle/values.js";

/**
 * A torch.distributed.checkpoint `.metadata`, read from the inert values its
 * pickle decodes to (research/distributed-layouts.md section 2.2): dataclasses
 * are NEWOBJ + BUILD(dict), TensorProperties is BUILD(tuple), torch.Size a
 * tuple, and storage_data's keys are MetadataIndex objects. Every field is
 * treated as optional and every number is checked before it is used.
 */
export interface Chunk {
  offsets: number[];
  sizes: number[];
}

export interface TensorItem {
  kind: "tensor";
  fqn: string;
  dtype?: string;
  size: number[];
  chunks: Chunk[];
}

export interface BytesItem {
  kind: "bytes";
  fqn: string;
}

export type Item = TensorItem | BytesItem;

/** One storage_data entry: where an item (a tensor chunk at `offset`, or a bytes item) lives. */
export interface StorageEntry {
  fqn: string;
  /** The chunk's offsets; undefined for a bytes item. */
  offset?: number[];
  file: string;
  start: number;
  length: number;
  /** transform_descriptors present: the bytes are encoded (compressed...), not a plain torch.save zip. */
  transformed: boolean;
}

export interface DcpMetadata {
  /** The module Metadata was pickled from: torch.distributed.checkpoint.metadata, or the 1.13 prototype's. */
  module: string;
  items: Map<string, Item>;
  storage: StorageEntry[];
  /** flat key -> path, when the save planner flattened the state dict. */
  plannerData?: Map<string, (string | number)[]>;
  version?: string;
  /** Problems with single items or entries: the rest of the metadata is still usable. */
  problems: string[];
}

/** Not a usable Metadata at all. */
export class MetadataShapeError extends Error {}

/** Dimensions of a tensor beyond this are not a real tensor. */
const MAX_DIMS = 64;
/** Item problems listed one by one; the rest are counted. */
const MAX_PROBLEMS = 20;

export function parseMetadata(root: PyValue | undefined): DcpMetadata {
  const cls = classOf(root);
  if (!cls || cls.name !== "Metadata") throw new MetadataShapeError(`it holds ${cls ? cls.qualname : describe(root)}, not a DCP Metadata object`);
  const state = stateDict(root);
  if (!state) throw new MetadataShapeError("its Metadata object has no field values");
  const sdm = state.get("state_dict_metadata");
  if (!isDict(sdm)) throw new MetadataShapeError("state_dict_metadata is not a dict");
  const out: DcpMetadata = { module: cls.module, items: new Map(), storage: [], problems: [] };
  const problem = (p: string) => {
    if (out.problems.length < MAX_PROBLEMS) out.problems.push(p);
    else if (out.problems.length === MAX_PROBLEMS) out.problems.push("further problems not listed");
  };
  for (const [key, value] of sdm.entries()) {
    if (typeof key !== "string") {
      problem(`a state_dict_metadata key is ${describe(key)}, not a string`);
      continue;
    }
    const item = parseItem(key, value, problem);
    if (item) out.items.set(key, item);
  }
  const sd = state.get("storage_data");
  if (isDict(sd)) for (const [k, v] of sd.entries()) parseEntry(k, v, problem, out.storage);
  else if (sd !== undefined && sd !== null) problem(`storage_data is ${describe(sd)}, not a dict`);
  const planner = state.get("planner_data");
  if (isDict(planner)) out.plannerData = parsePlannerData(planner, problem);
  const version = state.get("version");
  if (typeof version === "string") out.version = version;
  return out;
}

function parseItem(fqn: string, v: PyValue, problem: (p: string) => void): Item | undefined {
  const cls = classOf(v);
  if (cls?.name === "BytesStorageMetadata") return { kind: "bytes", fqn };
  if (cls?.name !== "TensorStorageMetadata") {
    problem(`${fqn}: ${cls ? cls.qualname : describe(v)} is neither TensorStorageMetadata nor BytesStorageMetadata`);
    return undefined;
  }
  const s = stateDict(v);
  const size = s && intList(s.get("size"));
  const chunkList = s && seqItems(s.get("chunks"));
  if (!size || !chunkList) {
    problem(`${fqn}: its size or chunk list is missing or not made of non-negative integers`);
    return undefined;
  }
  const chunks: Chunk[] = [];
  for (const [i, c] of chunkList.entries()) {
    const cs = stateDict(c);
    const offsets = cs && intList(cs.get("offsets"));
    const sizes = cs && intList(cs.get("sizes"));
    if (!offsets || !sizes) {
      problem(`${fqn}: chunk ${i} has offsets or sizes that are not lists of non-negative integers`);
      return undefined;
    }
    chunks.push({ offsets, sizes });
  }
  return { kind: "tensor", fqn, dtype: dtypeOf(s.get("properties")), size, chunks };
}

function parseEntry(key: PyValue, value: PyValue, problem: (p: string) => void, out: StorageEntry[]): void {
  const k = stateDict(key);
  const fqn = k?.get("fqn");
  if (typeof fqn !== "string") {
    problem(`a storage_data key is ${describe(key)}, not a MetadataIndex`);
    return;
  }
  const rawOffset = k!.get("offset");
  const offset = rawOffset === null || rawOffset === undefined ? undefined : intList(rawOffset);
  if (rawOffset !== null && rawOffset !== undefined && !offset) {
    problem(`${fqn}: its storage_data key has an offset that is not a list of non-negative integers`);
    return;
  }
  const v = stateDict(value);
  const file = v?.get("relative_path");
  const start = v?.get("offset");
  const length = v?.get("length");
  if (typeof file !== "string" || !isCount(start) || !isCount(length)) {
    problem(`${fqn}: its _StorageInfo is not (relative_path, offset, length) with non-negative integer offset and length`);
    return;
  }
  const transforms = v!.get("transform_descriptors");
  out.push({ fqn, offset, file, start, length, transformed: (seqItems(transforms)?.length ?? 0) > 0 });
}

function parsePlannerData(d: PyDict, problem: (p: string) => void): Map<string, (string | number)[]> {
  const out = new Map<string, (string | number)[]>();
  for (const [k, v] of d.entries()) {
    const path = seqItems(v);
    if (typeof k !== "string" || !path || !path.every((p) => typeof p === "string" || isCount(p))) {
      problem(`planner_data entry ${describe(k)} is not a key with a path of strings and integers`);
      continue;
    }
    out.set(k, path as (string | number)[]);
  }
  return out;
}

/** The class a dataclass object was rebuilt from. */
export function classOf(v: PyValue | undefined): PyGlobal | undefined {
  return v instanceof PyCall && v.callee instanceof PyGlobal ? v.callee : undefined;
}

/** A dataclass object's fields (its BUILD state). */
export function stateDict(v: PyValue | undefined): PyDict | undefined {
  return v instanceof PyCall && isDict(v.state) ? v.state : undefined;
}

function isCount(v: PyValue | undefined): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** A torch.Size (decoded as a tuple) or list of non-negative safe integers. */
function intList(v: PyValue | undefined): number[] | undefined {
  const items = seqItems(v);
  if (!items || items.length > MAX_DIMS || !items.every(isCount)) return undefined;
  return items as number[];
}

/** TensorProperties pickles its state as (dtype, layout, requires_grad, memory format, pin_memory). */
function dtypeOf(props: PyValue | undefined): string | undefined {
  const state = props instanceof PyCall ? props.state : undefined;
  const dtype = state instanceof PyTuple ? state.items[0] : isDict(state) ? state.get("dtype") : undefined;
  return dtype instanceof PyGlobal && dtype.module === "torch" ? dtype.name : undefined;
}

function describe(v: PyValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return `the value ${String(v)}`;
  const cls = classOf(v);
  if (cls) return `a ${cls.qualname} object`;
  return `a ${v.constructor.name.replace(/^Py/, "").toLowerCase()}`;
}
