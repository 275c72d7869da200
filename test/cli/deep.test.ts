import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeSync, cpSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readZip, entryDataOffset } from "../../src/formats/zip/index.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { readSafetensors } from "../../src/formats/safetensors/index.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { fixture, runCli } from "../helpers.js";

/** A temp copy of a fixture folder, removed after `fn`. */
async function withCopy(name: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vc-deep-"));
  cpSync(fixture("checkpoints", "training-state", name), dir, { recursive: true });
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Absolute [offset, length] of every storage record (`<prefix>/data/<key>`) of a torch zip. */
async function storageRecords(path: string): Promise<{ name: string; offset: number; length: number }[]> {
  const f = await RandomAccessFile.open(path);
  try {
    const zip = await readZip(f);
    const out = [];
    for (const e of zip.entries.filter((x) => /\/data\/[^/]+$/.test(x.name))) out.push({ name: e.name, offset: await entryDataOffset(zip, e), length: e.compressedSize });
    return out;
  } finally {
    await f.close();
  }
}

const codesOfJson = (stdout: string) =>
  (JSON.parse(stdout) as { checks: { findings: { level: string; code: string }[] }[] }).checks.flatMap((c) => c.findings).filter((f) => f.level === "error").map((f) => f.code);
const codesOf = (r: Awaited<ReturnType<typeof verifyCheckpoint>>) => r.checks.flatMap((c) => c.findings).filter((f) => f.level === "error").map((f) => f.code);

describe("--deep", () => {
  it("the bundled CLI runs its thread pool on a checkpoint over 256 MiB and finds a NaN at the far end", () => {
    // Two sparse 136 MiB float32 tensors of zeros, one NaN in the last element of the second: the smallest
    // input that takes the threaded path (256 MiB in at least two jobs), through the bin as users run it
    // (a vm.Script bundle once could not load worker_threads there, and only the benchmark noticed).
    const dir = mkdtempSync(join(tmpdir(), "vc-deep-big-"));
    try {
      const n = (136 * 1024 * 1024) / 4;
      let header = JSON.stringify({ a: { dtype: "F32", shape: [n], data_offsets: [0, n * 4] }, b: { dtype: "F32", shape: [n], data_offsets: [n * 4, n * 8] } });
      header += " ".repeat((8 - (header.length % 8)) % 8);
      const fd = openSync(join(dir, "model.safetensors"), "w");
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      writeSync(fd, len);
      writeSync(fd, header);
      ftruncateSync(fd, 8 + header.length + n * 8);
      const nan = Buffer.alloc(4);
      nan.writeFloatLE(NaN);
      writeSync(fd, nan, 0, 4, 8 + header.length + (2 * n - 1) * 4);
      closeSync(fd);
      // Weights alone cannot resume (RESUME_WEIGHTS_ONLY); default mode sees nothing else wrong.
      const plain = runCli([dir, "--json"]);
      assert.deepEqual(codesOfJson(plain.stdout), ["RESUME_WEIGHTS_ONLY"], plain.stderr);
      const deep = runCli([dir, "--deep", "--json"]);
      assert.equal(deep.code, 1, deep.stderr);
      const report = JSON.parse(deep.stdout) as { checks: { id: string; findings: { code: string; data: Record<string, unknown> }[] }[] };
      const nonFinite = report.checks.find((c) => c.id === "integrity")!.findings.filter((f) => f.code === "NON_FINITE_VALUES");
      assert.deepEqual(nonFinite.map((f) => [f.data["tensor"], f.data["count"]]), [["b", 1]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("passes the good fixture and says how much it read", async () => {
    const report = await verifyCheckpoint(fixture("checkpoints", "training-state", "ok"), { deep: true });
    assert.equal(report.exitCode, 0);
    const integrity = report.checks.find((c) => c.id === "integrity")!;
    assert.equal(integrity.status, "pass");
    assert.deepEqual(integrity.findings.map((f) => f.file).sort(), ["model.safetensors", "training_state.pth"]);
  });

  it("finds a single flipped bit at the start, middle and end of every storage record; default mode does not read them", async () => {
    const records = await storageRecords(fixture("checkpoints", "training-state", "ok", "training_state.pth"));
    assert.ok(records.length >= 8, `only ${records.length} records`);
    let cases = 0;
    for (const rec of records) {
      for (const at of [0, Math.floor(rec.length / 2), rec.length - 1]) {
        await withCopy("ok", async (dir) => {
          const path = join(dir, "training_state.pth");
          const bytes = readFileSync(path);
          bytes[rec.offset + at]! ^= 0x10;
          writeFileSync(path, bytes);
          const deep = await verifyCheckpoint(dir, { deep: true });
          assert.equal(deep.exitCode, 1, `${rec.name}+${at}`);
          const crc = deep.checks.find((c) => c.id === "integrity")!.findings.find((f) => f.code === "CRC_MISMATCH");
          assert.ok(crc, `${rec.name}+${at}: ${codesOf(deep).join(", ")}`);
          assert.equal(crc.data["record"], rec.name);
          // The step tensors are the only storages default mode reads; a flipped bit there changes a value, not a crash.
          const shallow = await verifyCheckpoint(dir);
          assert.ok(!codesOf(shallow).includes("CRC_MISMATCH"));
        });
        cases++;
      }
    }
    assert.equal(cases, records.length * 3);
  });

  it("a checkpoint whose tensor records are garbage passes default mode and fails --deep", async () => {
    await withCopy("ok-pytorch-model-bin", async (dir) => {
      const path = join(dir, "pytorch_model.bin");
      const bytes = readFileSync(path);
      for (const rec of await storageRecords(path)) bytes.fill(0xff, rec.offset, rec.offset + rec.length);
      writeFileSync(path, bytes);
      const shallow = runCli([dir, "--json"]);
      assert.equal(shallow.code, 0, shallow.stdout);
      const deep = runCli([dir, "--deep", "--json"]);
      assert.equal(deep.code, 1);
      const codes = JSON.parse(deep.stdout).checks.find((c: { id: string }) => c.id === "integrity").findings.map((f: { code: string }) => f.code);
      assert.ok(codes.includes("CRC_MISMATCH"));
      // 0xffffffff is a NaN in float32: the scan names the tensor too.
      assert.ok(codes.includes("NON_FINITE_VALUES"));
    });
  });

  it("a storage record whose local header names another record passes default mode (not read) and fails --deep", async () => {
    await withCopy("ok", async (dir) => {
      const path = join(dir, "training_state.pth");
      const f = await RandomAccessFile.open(path);
      let target;
      try {
        const zip = await readZip(f);
        // The largest record, a moment tensor's: default mode reads only one-element ones (`step`, the scaler's).
        target = zip.entries.filter((e) => /\/data\/\d+$/.test(e.name)).sort((a, b) => b.uncompressedSize - a.uncompressedSize)[0]!;
      } finally {
        await f.close();
      }
      const bytes = readFileSync(path);
      const lastNameByte = target.localHeaderOffset + 30 + Buffer.byteLength(target.name) - 1;
      bytes[lastNameByte] = bytes[lastNameByte] === 0x39 ? 0x38 : 0x39; // the last digit of ".../data/N"
      writeFileSync(path, bytes);
      const shallow = await verifyCheckpoint(dir);
      assert.equal(shallow.exitCode, 0, JSON.stringify(codesOf(shallow)));
      const deep = await verifyCheckpoint(dir, { deep: true });
      assert.equal(deep.exitCode, 1);
      const messages = deep.checks.flatMap((c) => c.findings).filter((x) => x.level === "error").map((x) => x.message);
      assert.ok(messages.some((m) => m.includes(target.name) && /local header/.test(m)), messages.join("\n"));
    });
  });

  it("names the tensor and the count of NaN/Inf values in safetensors weights", async () => {
    await withCopy("ok", async (dir) => {
      const path = join(dir, "model.safetensors");
      const st = await readSafetensors(path);
      const t = st.tensors.find((x) => x.torchDtype === "float32" && x.shape.length === 2)!;
      const bytes = readFileSync(path);
      const at = st.dataStart + t.dataOffsets[0];
      bytes.writeFloatLE(NaN, at);
      bytes.writeFloatLE(Infinity, at + 4);
      writeFileSync(path, bytes);
      assert.equal((await verifyCheckpoint(dir)).exitCode, 0);
      const deep = await verifyCheckpoint(dir, { deep: true });
      const f = deep.checks.find((c) => c.id === "integrity")!.findings.find((x) => x.code === "NON_FINITE_VALUES")!;
      assert.deepEqual([f.data["tensor"], f.data["count"], f.file], [t.name, 2, "model.safetensors"]);
      assert.equal(deep.exitCode, 1);
    });
  });

  it("a storage cut short is an error in both modes", async () => {
    await withCopy("ok-legacy-format", async (dir) => {
      const path = join(dir, "training_state.pth");
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.length - 10));
      for (const deep of [false, true]) {
        const r = await verifyCheckpoint(dir, { deep });
        assert.equal(r.exitCode, 1);
        assert.ok(codesOf(r).includes("TORCH_FILE_PROBLEM") || codesOf(r).includes("STATE_UNREADABLE"), codesOf(r).join(", "));
      }
    });
  });

  it("default mode reports --deep as skipped", async () => {
    const report = await verifyCheckpoint(fixture("checkpoints", "training-state", "ok"));
    assert.equal(report.checks.find((c) => c.id === "integrity")!.status, "skip");
  });
});
