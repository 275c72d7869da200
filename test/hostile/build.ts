/**
 * Builders for the hostile-input tests: pickle opcodes, torch-like zips and
 * legacy files, safetensors files, checkpoint folders in a temp dir, and the
 * fixture hash that proves nothing under fixtures/ was changed.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { BIN, FIXTURES, fixture } from "../helpers.js";
import { buildZip, type TestEntry, type ZipOptions } from "../unit/zip-writer.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import type { Report } from "../../src/verify/schema.js";

/** sha256 of every file under fixtures/ (path and content), to prove the tool never writes to a checkpoint. */
/** Inside a describe(): hash every fixture before the suite, and after it assert nothing changed (and clean the scratch dirs). */
export function keepFixturesUnchanged(): void {
  let hash = "";
  before(() => (hash = hashFixtures()));
  after(() => {
    cleanupScratch();
    assert.equal(hashFixtures(), hash, "a fixture file changed");
  });
}

export function hashFixtures(): string {
  const h = createHash("sha256");
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(p).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  walk(FIXTURES);
  return h.digest("hex");
}

/** Pickle assembly: strings are latin1 opcode text, numbers single bytes, buffers raw. */
export function pk(...parts: (string | number | Uint8Array)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : typeof p === "number" ? Buffer.from([p]) : Buffer.from(p))));
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** SHORT_BINUNICODE (protocol 4). */
export function str4(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return pk(0x8c, b.length, b);
}

/** BINUNICODE (protocol 2/3). */
export function str2(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return pk("X", u32(b.length), b);
}

/** `module.name(arg)` with protocol-2 opcodes: GLOBAL, a one-string tuple, REDUCE, STOP. */
export function callPickle(module: string, name: string, arg = "id"): Buffer {
  return pk(0x80, 2, `c${module}\n${name}\n`, str2(arg), 0x85, "R.");
}

/** A torch-style zip: `<prefix>/data.pkl`, `<prefix>/version`, extra records. */
export function torchZip(dataPkl: Uint8Array, prefix = "archive", extra: TestEntry[] = [], opts: ZipOptions = {}, deflate = false): Buffer {
  return buildZip([{ name: `${prefix}/data.pkl`, data: dataPkl, deflate }, ...extra, { name: `${prefix}/version`, data: Buffer.from("3\n") }], { zip64: true, ...opts });
}

/** The legacy magic number, protocol version and sys info, as torch's legacy writer emits them. */
export function legacyPrelude(): Buffer {
  const magic = pk(0x80, 2, 0x8a, 10, Buffer.from("6c fc 9c 46 f9 20 6a a8 50 19".replace(/ /g, ""), "hex"), ".");
  const proto = pk(0x80, 2, "M", Buffer.from([0xe9, 0x03]), ".");
  const sys = pk(0x80, 2, "}", "(", str2("protocol_version"), "M", Buffer.from([0xe9, 0x03]), str2("little_endian"), 0x88, "u.");
  return Buffer.concat([magic, proto, sys]);
}

/** A safetensors file from a header object (tensor data zero-filled to the largest end offset). */
export function safetensors(header: unknown, dataBytes?: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  let end = 0;
  for (const v of Object.values(header as Record<string, { data_offsets?: number[] }>)) {
    const o = v?.data_offsets;
    if (Array.isArray(o) && typeof o[1] === "number" && o[1] < 1e7) end = Math.max(end, o[1]);
  }
  return Buffer.concat([u64(json.length), json, Buffer.alloc(dataBytes ?? end)]);
}

let scratch: string | undefined;
let n = 0;

/** A fresh directory under the test's scratch folder in os.tmpdir(). */
export function tempDir(name = "case"): string {
  scratch ??= mkdtempSync(join(tmpdir(), "vc-hostile-"));
  const d = join(scratch, `${n++}`, name);
  mkdirSync(d, { recursive: true });
  return d;
}

export function tempFile(name: string, bytes: Uint8Array | string): string {
  const p = join(tempDir(), name);
  writeFileSync(p, bytes);
  return p;
}

/** A copy of fixtures/checkpoints/<kind>/<case> in a temp dir (same folder name). */
export function copyCase(kind: string, name: string): string {
  const src = fixture("checkpoints", kind, name);
  const d = join(tempDir(), name.split("/").pop()!);
  rmSync(d, { recursive: true, force: true });
  cpSync(src, d, { recursive: true });
  return d;
}

export function cleanupScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/** Every finding of a report, flattened. */
export function findings(r: Report): { level: string; code: string; message: string; file?: string }[] {
  return r.checks.flatMap((c) => c.findings);
}

export function errorCodes(r: Report): string[] {
  return findings(r).filter((f) => f.level === "error").map((f) => f.code);
}

/** verifyCheckpoint, asserting it returned inside `limitMs`: a hang guard, far above a slow run on a loaded machine. */
export async function verifyTimed(path: string, limitMs = 60_000, deep = false): Promise<Report> {
  const t0 = performance.now();
  const r = await verifyCheckpoint(path, { deep });
  const ms = performance.now() - t0;
  if (ms > limitMs) throw new Error(`verifyCheckpoint(${path}) took ${ms.toFixed(0)} ms, over ${limitMs}`);
  return r;
}

/** The CLI as a user runs it, with a hard timeout: a blocked read shows as status null. */
export function cli(args: string[], timeoutMs = 20_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
