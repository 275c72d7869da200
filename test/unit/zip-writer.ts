import { crc32 } from "node:zlib";
import { deflateSync } from "fflate";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Test-only zip writer: enough of the format to build torch-like and hostile archives. */
export interface TestEntry {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  flags?: number;
  /** Name written in the local header when it should differ from the central directory's. */
  localName?: string;
  /** Extra bytes in the local header only (torch pads data to 64 bytes this way). */
  localExtra?: number;
  /** Overrides written into the central directory. */
  cdUncompressedSize?: number;
  crc?: number;
}

export interface ZipOptions {
  zip64?: boolean;
  /** Overrides the entry count in the end records. */
  entryCount?: number;
  comment?: string;
}

function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; }
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; }
function u64(n: number | bigint): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; }

export function buildZip(entries: TestEntry[], opts: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = Buffer.from(e.deflate ? deflateSync(e.data) : e.data);
    const crc = e.crc ?? crc32(e.data);
    const method = e.deflate ? 8 : 0;
    const name = Buffer.from(e.name);
    const localName = Buffer.from(e.localName ?? e.name);
    const pad = Buffer.alloc(e.localExtra ?? 0, 0x5a);
    const extra = pad.length ? Buffer.concat([Buffer.from("FB"), u16(pad.length - 4 >= 0 ? pad.length - 4 : 0), pad.subarray(4)]) : Buffer.alloc(0);
    const flags = e.flags ?? 0x800;
    const local = Buffer.concat([u32(0x04034b50), u16(20), u16(flags), u16(method), u16(0), u16(0), u32(crc), u32(body.length), u32(e.data.length), u16(localName.length), u16(extra.length), localName, extra]);
    const usize = e.cdUncompressedSize ?? e.data.length;
    const z64 = opts.zip64;
    const cdExtra = z64 ? Buffer.concat([u16(1), u16(24), u64(usize), u64(body.length), u64(offset)]) : Buffer.alloc(0);
    central.push(Buffer.concat([
      u32(0x02014b50), u16(45), u16(45), u16(flags), u16(method), u16(0), u16(0), u32(crc),
      u32(z64 ? 0xffffffff : body.length), u32(z64 ? 0xffffffff : usize),
      u16(name.length), u16(cdExtra.length), u16(0), u16(0), u16(0), u32(0), u32(z64 ? 0xffffffff : offset),
      name, cdExtra,
    ]));
    parts.push(local, body);
    offset += local.length + body.length;
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  const count = opts.entryCount ?? entries.length;
  const tail: Buffer[] = [cd];
  if (opts.zip64) {
    const eocd64Offset = cdOffset + cd.length;
    tail.push(Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(cd.length), u64(cdOffset)]));
    tail.push(Buffer.concat([u32(0x07064b50), u32(0), u64(eocd64Offset), u32(1)]));
  }
  const comment = Buffer.from(opts.comment ?? "");
  const clamp16 = opts.zip64 ? 0xffff : count;
  tail.push(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(clamp16), u16(clamp16), u32(opts.zip64 ? 0xffffffff : cd.length), u32(opts.zip64 ? 0xffffffff : cdOffset), u16(comment.length), comment]));
  return Buffer.concat([...parts, ...tail]);
}

let dir: string | undefined;
let n = 0;
export function writeTemp(bytes: Uint8Array, name = "t.zip"): string {
  dir ??= mkdtempSync(join(tmpdir(), "vc-zip-test-"));
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

/** Removes the temporary files this process wrote. */
export function cleanupTemp(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}
