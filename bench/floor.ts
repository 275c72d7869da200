// `npm run bench`'s "floor: least work" row: the data work a default-mode run on a bench
// checkpoint cannot avoid, done as leanly as we know how, so the table shows how much of our time
// is the checkpoint and how much is our code. NOT a reader: no safety judgement, no limits, no
// findings, no report; it trusts the file's shape (torch's zip as torch 1.13 writes it, protocol-2
// pickle, plain safetensors headers) and throws on anything else. Never used by the CLI.
//
// What it does, cold, in one process: the zip's end records (ZIP64 included) and its central
// directory in one read, into typed arrays; data.pkl skimmed in one pass into per-tensor typed
// arrays (storage key, element count, shape) with no object per tensor; one read per 0-dim tensor
// (the optimizer's `step` values) with its local header checked; the shard index and every
// safetensors header (JSON.parse), each tensor's byte range checked against its dtype and shape
// and the next; every index name looked up in its shard; every optimizer moment's shape looked up
// among the weights' shapes. Prints one line of counts.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) throw new Error("usage: node dist-test/bench/floor.js CHECKPOINT_DIR");

const fd = openSync(join(dir, "training_state.pth"), "r");
const size = fstatSync(fd).size;
function read(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let got = 0; got < length; ) {
    const n = readSync(fd, b, got, length - got, offset + got);
    if (n === 0) throw new Error("short read");
    got += n;
  }
  return b;
}

// 1. End records and central directory.
const tailLength = Math.min(size, 65_557);
const tail = read(size - tailLength, tailLength);
const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
if (eocd < 0) throw new Error("no end of central directory");
let count = tail.readUInt16LE(eocd + 10);
let cdSize = tail.readUInt32LE(eocd + 12);
let cdOffset = tail.readUInt32LE(eocd + 16);
if (count === 0xffff || cdOffset === 0xffffffff) {
  const z = read(Number(tail.readBigUInt64LE(eocd - 20 + 8)), 56);
  if (z.readUInt32LE(0) !== 0x06064b50) throw new Error("no ZIP64 end record");
  count = Number(z.readBigUInt64LE(32));
  cdSize = Number(z.readBigUInt64LE(40));
  cdOffset = Number(z.readBigUInt64LE(48));
}
const cd = read(cdOffset, cdSize);
const headerAt = new Float64Array(count);
const storedSize = new Float64Array(count);
const recordOfKey = new Int32Array(count + 1).fill(-1);
let pickleRecord = -1;
for (let i = 0, p = 0; i < count; i++) {
  if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`central directory entry ${i}: bad signature`);
  let compressed = cd.readUInt32LE(p + 20);
  const uncompressed = cd.readUInt32LE(p + 24);
  const nameLength = cd.readUInt16LE(p + 28);
  const extraLength = cd.readUInt16LE(p + 30);
  const commentLength = cd.readUInt16LE(p + 32);
  let offset = cd.readUInt32LE(p + 42);
  const name = p + 46;
  const end = name + nameLength;
  if (offset === 0xffffffff || compressed === 0xffffffff || uncompressed === 0xffffffff) {
    for (let q = end; q < end + extraLength; q += 4 + cd.readUInt16LE(q + 2)) {
      if (cd.readUInt16LE(q) !== 1) continue;
      let r = q + 4;
      if (uncompressed === 0xffffffff) r += 8;
      if (compressed === 0xffffffff) (compressed = Number(cd.readBigUInt64LE(r))), (r += 8);
      if (offset === 0xffffffff) offset = Number(cd.readBigUInt64LE(r));
    }
  }
  headerAt[i] = offset;
  storedSize[i] = compressed;
  // ".../data/<digits>" (its number parsed from the bytes) or ".../data.pkl".
  let slash = -1;
  for (let q = name; q < end; q++) if (cd[q] === 0x2f) slash = q;
  if (slash >= name + 5 && cd.toString("latin1", slash - 5, slash) === "/data") {
    let key = 0;
    for (let q = slash + 1; q < end; q++) key = key * 10 + cd[q]! - 0x30;
    if (key <= count) recordOfKey[key] = i;
  } else if (cd.toString("latin1", Math.max(name, end - 9), end) === "/data.pkl") pickleRecord = i;
  p = end + extraLength + commentLength;
}
if (pickleRecord < 0) throw new Error("no data.pkl");
const dataStart = (i: number) => {
  const h = read(headerAt[i]!, 30);
  return headerAt[i]! + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
};

// 2. The pickle, skimmed into columns: per tensor (at BINPERSID) the storage key and element
// count of its persistent id, then the size tuple that follows.
const pkl = read(dataStart(pickleRecord), storedSize[pickleRecord]!);
const ARGS = new Int8Array(256).fill(-1);
for (const c of [0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x74, 0x5d, 0x6c, 0x7d, 0x64, 0x8f, 0x91, 0x61, 0x65, 0x73, 0x75, 0x90, 0x93, 0x52, 0x81, 0x92, 0x6f, 0x62]) ARGS[c] = 0;
for (const c of [0x80, 0x82, 0x68, 0x71]) ARGS[c] = 1;
ARGS[0x83] = 2;
for (const c of [0x84, 0x6a, 0x72]) ARGS[c] = 4;
for (const c of [0x47, 0x95]) ARGS[c] = 8;
const cap = count + 16;
const tensorKey = new Int32Array(cap);
const tensorNumel = new Float64Array(cap);
const tensorRank = new Int8Array(cap).fill(-1);
const tensorDims = new Int32Array(cap * 4);
const ints = new Int32Array(64);
let tensors = 0;
let nInts = 0;
let lastKey = -1;
for (let p = 2; p < pkl.length; ) {
  const c = pkl[p++]!;
  if (c === 0x4b) { ints[nInts++ & 63] = pkl[p]!; p += 1; continue; }
  if (c === 0x4d) { ints[nInts++ & 63] = pkl.readUInt16LE(p); p += 2; continue; }
  if (c === 0x4a) { ints[nInts++ & 63] = pkl.readInt32LE(p); p += 4; continue; }
  if (c === 0x51) { tensorKey[tensors] = lastKey; tensorNumel[tensors] = ints[(nInts - 1) & 63]!; nInts = 0; tensors++; continue; }
  if (c === 0x29 || c === 0x85 || c === 0x86 || c === 0x87) {
    if (tensors > 0 && tensorRank[tensors - 1] === -1) {
      const rank = c === 0x29 ? 0 : c - 0x84;
      tensorRank[tensors - 1] = rank;
      for (let k = 0; k < rank; k++) tensorDims[(tensors - 1) * 4 + k] = ints[(nInts - rank + k) & 63]!;
    }
    nInts = 0;
    continue;
  }
  if (c === 0x58 || c === 0x8c) {
    const length = c === 0x58 ? pkl.readUInt32LE(p) : pkl[p]!;
    const at = p + (c === 0x58 ? 4 : 1);
    let key = 0;
    let digits = length > 0 && length < 10;
    for (let k = 0; k < length && digits; k++) {
      const d = pkl[at + k]! - 0x30;
      if (d < 0 || d > 9) digits = false;
      else key = key * 10 + d;
    }
    if (digits) lastKey = key;
    p = at + length;
    continue;
  }
  if (c === 0x63) { p = pkl.indexOf(10, pkl.indexOf(10, p) + 1) + 1; continue; }
  const skip = ARGS[c]!;
  if (skip < 0) throw new Error(`opcode 0x${c.toString(16)} at ${p - 1}: not a bench pickle`);
  if (c === 0x2e) break;
  p += skip;
}

// 3. Every 0-dim tensor's value, one read each, its local header checked.
const buffer = Buffer.allocUnsafe(4096);
let steps = 0;
let stepSum = 0;
for (let t = 0; t < tensors; t++) {
  if (tensorRank[t] !== 0 || tensorNumel[t] !== 1) continue;
  const i = recordOfKey[tensorKey[t]!]!;
  if (i < 0) throw new Error(`storage ${tensorKey[t]} has no record`);
  const got = readSync(fd, buffer, 0, 30 + 256, headerAt[i]!);
  if (got < 30 || buffer.readUInt32LE(0) !== 0x04034b50) throw new Error(`record ${i}: bad local header`);
  const at = 30 + buffer.readUInt16LE(26) + buffer.readUInt16LE(28);
  if (at + 4 > got) throw new Error(`record ${i}: value past the bytes read`);
  stepSum += buffer.readFloatLE(at);
  steps++;
}
closeSync(fd);

// 4. The shard index and every safetensors header.
const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
let weightMap: Record<string, string> = {};
try {
  weightMap = (JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8")) as { weight_map: Record<string, string> }).weight_map;
} catch {
  weightMap = {};
}
const shards = [...new Set(Object.values(weightMap))];
if (shards.length === 0) shards.push("model.safetensors");
const headers = new Map<string, Record<string, Entry>>();
const weightShapes = new Map<string, number>();
let weights = 0;
for (const shard of shards) {
  const sfd = openSync(join(dir, shard), "r");
  const head = Buffer.allocUnsafe(8);
  readSync(sfd, head, 0, 8, 0);
  const length = Number(head.readBigUInt64LE(0));
  const text = Buffer.allocUnsafe(length);
  readSync(sfd, text, 0, length, 8);
  closeSync(sfd);
  const header = JSON.parse(text.toString("utf8")) as Record<string, Entry>;
  let last = 0;
  for (const name in header) {
    if (name === "__metadata__") continue;
    const e = header[name]!;
    let bytes = BYTES[e.dtype] ?? 0;
    for (const d of e.shape) bytes *= d;
    if (e.data_offsets[0] !== last || e.data_offsets[1] - e.data_offsets[0] !== bytes) throw new Error(`${shard}: ${name}: bad offsets`);
    last = e.data_offsets[1];
    const shape = e.shape.join(",");
    weightShapes.set(shape, (weightShapes.get(shape) ?? 0) + 1);
    weights++;
  }
  headers.set(shard, header);
}
let unmapped = 0;
for (const name in weightMap) if (!Object.hasOwn(headers.get(weightMap[name]!)!, name)) unmapped++;

// 5. Every moment's shape among the weights' shapes (the same amount of work as pairing them).
let unmatched = 0;
for (let t = 0; t < tensors; t++) {
  const rank = tensorRank[t]!;
  if (rank <= 0) continue;
  let shape = String(tensorDims[t * 4]);
  for (let k = 1; k < rank; k++) shape += "," + tensorDims[t * 4 + k];
  if (!weightShapes.has(shape)) unmatched++;
}

console.log(JSON.stringify({ records: count, tensors, steps, meanStep: steps ? stepSum / steps : null, weights, unmapped, unmatched }));
