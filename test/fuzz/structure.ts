/**
 * Just enough of each format's structure for the mutators to aim at: pickle
 * opcodes and their length fields, zip records and their fields, the
 * safetensors header. Written independently of src/ (the fuzzer must not
 * share the readers' bugs) and tolerant: a fixture it cannot parse simply
 * gets fewer structural mutations.
 */

export interface Field {
  offset: number;
  size: 1 | 2 | 4 | 8;
  what: string;
}

export interface PickleOp {
  offset: number;
  op: number;
  /** Where the next opcode starts. */
  end: number;
  /** The opcode's length prefix, for opcodes that have one. */
  lenField?: Field;
}

type Arg = number | "line" | "line2" | ["len", 1 | 4 | 8];

/** Argument shape of every opcode of protocols 0-5. */
const ARGS: Record<number, Arg> = {};
for (const c of "(.012NRabd}el]ost)uQ") ARGS[c.charCodeAt(0)] = 0;
for (const op of [0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98]) ARGS[op] = 0;
for (const c of "Khq") ARGS[c.charCodeAt(0)] = 1;
ARGS[0x80] = 1;
ARGS[0x82] = 1;
ARGS["M".charCodeAt(0)] = 2;
ARGS[0x83] = 2;
for (const c of "Jjr") ARGS[c.charCodeAt(0)] = 4;
ARGS[0x84] = 4;
ARGS["G".charCodeAt(0)] = 8;
ARGS[0x95] = 8; // FRAME: its length frames opcodes, it does not precede data
for (const c of "ILFSVgpP") ARGS[c.charCodeAt(0)] = "line";
for (const c of "ci") ARGS[c.charCodeAt(0)] = "line2";
for (const op of ["U".charCodeAt(0), "C".charCodeAt(0), 0x8c, 0x8a]) ARGS[op] = ["len", 1];
for (const op of ["T".charCodeAt(0), "X".charCodeAt(0), "B".charCodeAt(0), 0x8b]) ARGS[op] = ["len", 4];
for (const op of [0x8d, 0x8e, 0x96]) ARGS[op] = ["len", 8];

export const PICKLE_OPCODES: number[] = Object.keys(ARGS).map(Number);
export const STOP = 0x2e;

/** Opcodes of one pickle stream from `start`, up to and including STOP (or as far as they parse). */
export function pickleOps(b: Uint8Array, start = 0, max = 200_000): PickleOp[] {
  const out: PickleOp[] = [];
  let p = start;
  while (p < b.length && out.length < max) {
    const op = b[p]!;
    const arg = ARGS[op];
    if (arg === undefined) break;
    let end: number;
    let lenField: Field | undefined;
    if (typeof arg === "number") end = p + 1 + arg;
    else if (arg === "line" || arg === "line2") {
      let q = p + 1;
      for (let k = 0; k < (arg === "line" ? 1 : 2); k++) {
        while (q < b.length && b[q] !== 0x0a) q++;
        q++;
      }
      end = q;
    } else {
      const size = arg[1];
      if (p + 1 + size > b.length) break;
      const dv = new DataView(b.buffer, b.byteOffset + p + 1, size);
      const n = size === 1 ? dv.getUint8(0) : size === 4 ? dv.getUint32(0, true) : Number(dv.getBigUint64(0, true));
      lenField = { offset: p + 1, size, what: `length of opcode 0x${op.toString(16)}` };
      end = p + 1 + size + n;
    }
    if (end > b.length) break;
    out.push({ offset: p, op, end, ...(lenField ? { lenField } : {}) });
    p = end;
    if (op === STOP) break;
  }
  return out;
}

/** Consecutive pickle streams from `start` (a legacy torch file is five of them, then storage bytes). */
export function pickleStreams(b: Uint8Array, start = 0, maxStreams = 6): PickleOp[][] {
  const streams: PickleOp[][] = [];
  let p = start;
  while (p < b.length && streams.length < maxStreams) {
    const ops = pickleOps(b, p);
    if (ops.length === 0 || ops[ops.length - 1]!.op !== STOP) break;
    streams.push(ops);
    p = ops[ops.length - 1]!.end;
  }
  return streams;
}

export interface ZipRecord {
  name: string;
  localOffset: number;
  dataOffset: number;
  compressedSize: number;
  method: number;
  /** Offset of this entry's central directory header. */
  cdOffset: number;
}

export interface ZipStructure {
  records: ZipRecord[];
  fields: Field[];
  boundaries: number[];
  cdStart: number;
  eocd: number;
  eocd64?: number;
  locator?: number;
}

/** The records of a zip, found through its end record and central directory. */
export function zipStructure(b: Buffer): ZipStructure | undefined {
  if (b.length < 22 || b.readUInt32LE(0) !== 0x04034b50) return undefined;
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const fields: Field[] = [
    { offset: eocd + 8, size: 2, what: "EOCD entries on disk" },
    { offset: eocd + 10, size: 2, what: "EOCD entry count" },
    { offset: eocd + 12, size: 4, what: "EOCD central directory size" },
    { offset: eocd + 16, size: 4, what: "EOCD central directory offset" },
    { offset: eocd + 20, size: 2, what: "EOCD comment length" },
  ];
  let cdStart = b.readUInt32LE(eocd + 16);
  let count = b.readUInt16LE(eocd + 10);
  const s: ZipStructure = { records: [], fields, boundaries: [eocd], cdStart, eocd };
  const loc = eocd - 20;
  if (loc >= 0 && b.readUInt32LE(loc) === 0x07064b50) {
    s.locator = loc;
    fields.push({ offset: loc + 8, size: 8, what: "ZIP64 locator record offset" });
    const rec = Number(b.readBigUInt64LE(loc + 8));
    if (rec + 56 <= loc && b.readUInt32LE(rec) === 0x06064b50) {
      s.eocd64 = rec;
      s.boundaries.push(loc, rec);
      fields.push(
        { offset: rec + 4, size: 8, what: "ZIP64 EOCD record size" },
        { offset: rec + 24, size: 8, what: "ZIP64 entries on disk" },
        { offset: rec + 32, size: 8, what: "ZIP64 entry count" },
        { offset: rec + 40, size: 8, what: "ZIP64 central directory size" },
        { offset: rec + 48, size: 8, what: "ZIP64 central directory offset" },
      );
      cdStart = Number(b.readBigUInt64LE(rec + 48));
      count = Number(b.readBigUInt64LE(rec + 32));
    }
  }
  s.cdStart = cdStart;
  s.boundaries.push(cdStart);
  let p = cdStart;
  for (let i = 0; i < count && p + 46 <= b.length && b.readUInt32LE(p) === 0x02014b50; i++) {
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    const name = b.toString("utf8", p + 46, p + 46 + nameLen);
    const localOffset = b.readUInt32LE(p + 42);
    fields.push(
      { offset: p + 8, size: 2, what: `CD flags of ${name}` },
      { offset: p + 10, size: 2, what: `CD method of ${name}` },
      { offset: p + 16, size: 4, what: `CD crc of ${name}` },
      { offset: p + 20, size: 4, what: `CD compressed size of ${name}` },
      { offset: p + 24, size: 4, what: `CD uncompressed size of ${name}` },
      { offset: p + 28, size: 2, what: `CD name length of ${name}` },
      { offset: p + 30, size: 2, what: `CD extra length of ${name}` },
      { offset: p + 32, size: 2, what: `CD comment length of ${name}` },
      { offset: p + 34, size: 2, what: `CD disk start of ${name}` },
      { offset: p + 42, size: 4, what: `CD local header offset of ${name}` },
    );
    s.boundaries.push(p);
    if (localOffset + 30 <= b.length && b.readUInt32LE(localOffset) === 0x04034b50) {
      const lNameLen = b.readUInt16LE(localOffset + 26);
      const lExtraLen = b.readUInt16LE(localOffset + 28);
      const dataOffset = localOffset + 30 + lNameLen + lExtraLen;
      const compressedSize = b.readUInt32LE(p + 20);
      fields.push(
        { offset: localOffset + 6, size: 2, what: `local flags of ${name}` },
        { offset: localOffset + 8, size: 2, what: `local method of ${name}` },
        { offset: localOffset + 14, size: 4, what: `local crc of ${name}` },
        { offset: localOffset + 18, size: 4, what: `local compressed size of ${name}` },
        { offset: localOffset + 22, size: 4, what: `local uncompressed size of ${name}` },
        { offset: localOffset + 26, size: 2, what: `local name length of ${name}` },
        { offset: localOffset + 28, size: 2, what: `local extra length of ${name}` },
      );
      s.boundaries.push(localOffset, localOffset + 30, dataOffset, dataOffset + compressedSize);
      s.records.push({ name, localOffset, dataOffset, compressedSize, method: b.readUInt16LE(p + 10), cdOffset: p });
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  s.boundaries = [...new Set(s.boundaries)].filter((x) => x >= 0 && x <= b.length).sort((x, y) => x - y);
  return s;
}

export interface SafetensorsStructure {
  headerLen: number;
  header: Record<string, unknown>;
  boundaries: number[];
}

export function safetensorsStructure(b: Buffer): SafetensorsStructure | undefined {
  if (b.length < 10 || b[8] !== 0x7b) return undefined;
  const n = b.readBigUInt64LE(0);
  if (n + 8n > BigInt(b.length)) return undefined;
  const headerLen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(b.toString("utf8", 8, 8 + headerLen));
  } catch {
    return undefined;
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) return undefined;
  const boundaries = [8, 8 + headerLen];
  for (const v of Object.values(header as Record<string, unknown>)) {
    const offs = (v as { data_offsets?: unknown })?.data_offsets;
    if (Array.isArray(offs)) for (const o of offs) if (typeof o === "number") boundaries.push(8 + headerLen + o);
  }
  return { headerLen, header: header as Record<string, unknown>, boundaries: [...new Set(boundaries)].filter((x) => x <= b.length).sort((x, y) => x - y) };
}
