/**
 * Format-aware mutations: pickle opcodes and length fields, zip header
 * fields (and the pickle inside a torch zip, with CRC and offsets fixed up so
 * the mutation reaches the decoder), the safetensors header length and JSON.
 */
import { crc32 } from "node:zlib";
import { deflateSync, inflateSync } from "fflate";
import type { Rng } from "./prng.js";
import { PICKLE_OPCODES, pickleOps, pickleStreams, STOP, zipStructure, type Field, type PickleOp, type ZipStructure } from "./structure.js";

export interface Mutant {
  bytes: Buffer;
  desc: string;
}

const BIG64 = [2n ** 63n, 2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 32n, 1_000_000n, 99_999_999n, 2n ** 40n];

/** A value for a header field: boundary values, off-by-one, doubling, random. */
export function interestingValue(rng: Rng, size: Field["size"], current: bigint, fileSize: number): bigint {
  const max = (1n << BigInt(size * 8)) - 1n;
  const choices = [0n, 1n, max, max - 1n, current + 1n, current - 1n, current * 2n, BigInt(fileSize), BigInt(fileSize) + 1n, 1_000_000n, BigInt(rng.u32())];
  if (size === 8) choices.push(...BIG64);
  if (size >= 4) choices.push(0x7fffffffn, 0x80000000n, 0xffffffffn);
  const v = rng.pick(choices);
  return ((v % (max + 1n)) + (max + 1n)) % (max + 1n);
}

export function readField(b: Buffer, f: Field): bigint {
  return f.size === 1 ? BigInt(b[f.offset]!) : f.size === 2 ? BigInt(b.readUInt16LE(f.offset)) : f.size === 4 ? BigInt(b.readUInt32LE(f.offset)) : b.readBigUInt64LE(f.offset);
}

export function writeField(b: Buffer, f: Field, v: bigint): void {
  if (f.offset + f.size > b.length) return;
  if (f.size === 1) b[f.offset] = Number(v & 0xffn);
  else if (f.size === 2) b.writeUInt16LE(Number(v & 0xffffn), f.offset);
  else if (f.size === 4) b.writeUInt32LE(Number(v & 0xffffffffn), f.offset);
  else b.writeBigUInt64LE(v & (2n ** 64n - 1n), f.offset);
}

/** A random opcode with a plausible argument. */
function randomOp(rng: Rng): Buffer {
  const op = rng.pick(PICKLE_OPCODES);
  const strArg = (): Buffer => Buffer.from(rng.pick(["os\nsystem\n", "builtins\neval\n", "torch._utils\n_rebuild_tensor_v2\n", "0\n", "x\n", "\n"]), "latin1");
  switch (op) {
    case 0x63: // GLOBAL
    case 0x69: // INST
      return Buffer.concat([Buffer.from([op]), strArg()]);
    case 0x49: case 0x4c: case 0x46: case 0x53: case 0x56: case 0x67: case 0x70: case 0x50:
      return Buffer.concat([Buffer.from([op]), Buffer.from(rng.pick(["0\n", "1\n", "-1\n", "99999999999999999999\n", "'x'\n", "abc\n", "1e309\n", "\n"]), "latin1")]);
    default: {
      const n = rng.pick([0, 1, 2, 4, 8]);
      return Buffer.concat([Buffer.from([op]), rng.bytes(n)]);
    }
  }
}

/** Mutates a pickle byte string (one or more streams) at opcode granularity. */
export function mutatePickle(rng: Rng, b: Buffer): Mutant {
  const ops: PickleOp[] = pickleStreams(b).flat();
  // A loop, not push(...): the ZIP64 fixture's pickle has two million opcodes, more arguments than a call takes.
  if (ops.length === 0) for (const op of pickleOps(b)) ops.push(op);
  if (ops.length === 0) return { bytes: Buffer.concat([randomOp(rng), b]), desc: "pickle: prepend opcode" };
  const op = rng.pick(ops);
  const kind = rng.int(9);
  const out = Buffer.from(b);
  switch (kind) {
    case 0: {
      out[op.offset] = rng.pick(PICKLE_OPCODES);
      return { bytes: out, desc: `pickle: opcode at ${op.offset} -> 0x${out[op.offset]!.toString(16)}` };
    }
    case 1: {
      const withLen = ops.filter((o) => o.lenField);
      const target = withLen.length ? rng.pick(withLen) : op;
      if (!target.lenField) break;
      const f = target.lenField;
      const v = interestingValue(rng, f.size, readField(out, f), out.length);
      writeField(out, f, v);
      return { bytes: out, desc: `pickle: ${f.what} at ${f.offset} -> ${v}` };
    }
    case 2: {
      const at = op.offset;
      return { bytes: Buffer.concat([out.subarray(0, at), randomOp(rng), out.subarray(at)]), desc: `pickle: insert opcode at ${at}` };
    }
    case 3:
      return { bytes: Buffer.concat([out.subarray(0, op.offset), out.subarray(op.end)]), desc: `pickle: delete opcode at ${op.offset}` };
    case 4: {
      const j = rng.int(ops.length);
      const a = ops[Math.min(j, ops.indexOf(op))]!;
      const z = ops[Math.max(j, ops.indexOf(op))]!;
      const chunk = out.subarray(a.offset, z.end);
      const times = rng.pick([1, 2, 10, 100]);
      return { bytes: Buffer.concat([out.subarray(0, z.end), ...Array<Buffer>(times).fill(chunk), out.subarray(z.end)]), desc: `pickle: repeat ops ${a.offset}..${z.end} x${times}` };
    }
    case 5:
      return { bytes: out.subarray(0, op.offset), desc: `pickle: truncate at opcode ${op.offset}` };
    case 6: {
      if (op.end - op.offset > 1) {
        const at = rng.range(op.offset + 1, op.end - 1);
        out[at] = out[at]! ^ (1 << rng.int(8));
        return { bytes: out, desc: `pickle: flip arg bit at ${at}` };
      }
      break;
    }
    case 7: {
      const stop = ops.filter((o) => o.op === STOP);
      if (stop.length) {
        const s = rng.pick(stop);
        return { bytes: Buffer.concat([out.subarray(0, s.end), out.subarray(0, s.end)]), desc: "pickle: append a second copy after STOP" };
      }
      break;
    }
    default: {
      const deep = rng.pick([100, 10_000, 100_000]);
      const open = rng.pick(["(", "]", "}(", "("]);
      return { bytes: Buffer.concat([out.subarray(0, op.offset), Buffer.from(open.repeat(deep), "latin1"), out.subarray(op.offset)]), desc: `pickle: ${deep} x '${open}' at ${op.offset}` };
    }
  }
  out[op.offset] = out[op.offset]! ^ 0xff;
  return { bytes: out, desc: `pickle: invert opcode at ${op.offset}` };
}

/** Mutates a header field of a zip. */
export function mutateZipField(rng: Rng, b: Buffer, zs: ZipStructure): Mutant {
  const out = Buffer.from(b);
  const f = rng.pick(zs.fields);
  const count = /entry count|entries on disk/.test(f.what) && rng.chance(0.3);
  const v = count ? (f.size === 2 ? 0xffffn : 1_000_000n) : interestingValue(rng, f.size, readField(out, f), out.length);
  writeField(out, f, v);
  return { bytes: out, desc: `zip: ${f.what} -> ${v}` };
}

/** Replaces one entry's data, fixing sizes, CRC and every offset after it, so readers get past the container. */
export function replaceZipEntry(b: Buffer, zs: ZipStructure, name: string, data: Uint8Array, deflate: boolean): Buffer | undefined {
  const rec = zs.records.find((r) => r.name === name);
  if (!rec) return undefined;
  const raw = Buffer.from(deflate ? deflateSync(data) : data);
  const delta = raw.length - rec.compressedSize;
  const out = Buffer.concat([b.subarray(0, rec.dataOffset), raw, b.subarray(rec.dataOffset + rec.compressedSize)]);
  const crc = crc32(data);
  const setSizes = (at: number, crcAt: number, sizeAt: number) => {
    out.writeUInt32LE(crc >>> 0, at + crcAt);
    if (out.readUInt32LE(at + sizeAt) !== 0xffffffff) out.writeUInt32LE(raw.length, at + sizeAt);
    if (out.readUInt32LE(at + sizeAt + 4) !== 0xffffffff) out.writeUInt32LE(data.length, at + sizeAt + 4);
  };
  setSizes(rec.localOffset, 14, 18);
  out.writeUInt16LE(deflate ? 8 : 0, rec.localOffset + 8);
  for (const r of zs.records) {
    const cd = r.cdOffset + (r.cdOffset > rec.dataOffset ? delta : 0);
    if (r.localOffset > rec.localOffset && out.readUInt32LE(cd + 42) !== 0xffffffff) out.writeUInt32LE(r.localOffset + delta, cd + 42);
    if (r === rec) {
      setSizes(cd, 16, 20);
      out.writeUInt16LE(deflate ? 8 : 0, cd + 10);
    }
  }
  const eocd = zs.eocd + delta;
  if (out.readUInt32LE(eocd + 16) !== 0xffffffff) out.writeUInt32LE(zs.cdStart + delta, eocd + 16);
  if (zs.eocd64 !== undefined && zs.locator !== undefined) {
    out.writeBigUInt64LE(BigInt(zs.eocd64 + delta), zs.locator + delta + 8);
    out.writeBigUInt64LE(BigInt(zs.cdStart + delta), zs.eocd64 + delta + 48);
  }
  return out;
}

const BOMB_SIZE = 64 * 1024 * 1024;
let bomb: Uint8Array | undefined;
let bombCrc: number | undefined;

/** The pickle (data.pkl) inside a torch zip, mutated and put back consistently; or a bomb in its place. */
export function mutateZipPickle(rng: Rng, b: Buffer): Mutant | undefined {
  const zs = zipStructure(b);
  const rec = zs?.records.find((r) => r.name.endsWith("data.pkl"));
  if (!zs || !rec) return undefined;
  const stored = b.subarray(rec.dataOffset, rec.dataOffset + rec.compressedSize);
  if (rng.chance(0.03)) {
    // A deflated record of 64 MiB of zeros (ratio ~1000:1), sizes declared truthfully.
    bomb ??= deflateSync(new Uint8Array(BOMB_SIZE), { level: 9 });
    bombCrc ??= crc32(new Uint8Array(BOMB_SIZE)) >>> 0;
    const out = replaceZipEntry(b, zs, rec.name, bomb, false);
    return out && { bytes: declareDeflated(out, rec.name, bombCrc), desc: `zip: ${rec.name} replaced by a 64 MiB deflate bomb` };
  }
  let data: Uint8Array;
  try {
    data = rec.method === 8 ? inflateSync(stored) : stored;
  } catch {
    return undefined;
  }
  const m = mutatePickle(rng, Buffer.from(data));
  const out = replaceZipEntry(b, zs, rec.name, m.bytes, rec.method === 8);
  return out && { bytes: out, desc: `zip ${rec.name}: ${m.desc}` };
}

/** Marks an entry written as STORED by replaceZipEntry as a deflated record of BOMB_SIZE bytes. */
function declareDeflated(out: Buffer, name: string, crc: number): Buffer {
  const rec = zipStructure(out)?.records.find((r) => r.name === name);
  if (!rec) return out;
  for (const at of [rec.localOffset + 8, rec.cdOffset + 10]) out.writeUInt16LE(8, at);
  out.writeUInt32LE(crc, rec.localOffset + 14);
  out.writeUInt32LE(crc, rec.cdOffset + 16);
  out.writeUInt32LE(BOMB_SIZE, rec.localOffset + 22);
  out.writeUInt32LE(BOMB_SIZE, rec.cdOffset + 24);
  return out;
}
