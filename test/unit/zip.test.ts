import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { FormatError } from "../../src/core/errors.js";
import { readZip, readEntry, entryDataOffset, isZipSignature, type ZipArchive } from "../../src/formats/zip/index.js";
import { buildZip, cleanupTemp, writeTemp, type TestEntry } from "./zip-writer.js";
import { HAS_REALWORLD, REALWORLD } from "../helpers.js";

after(cleanupTemp);

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function open(bytes: Uint8Array): Promise<{ f: RandomAccessFile; zip: ZipArchive }> {
  const f = await RandomAccessFile.open(writeTemp(bytes));
  try {
    return { f, zip: await readZip(f) };
  } catch (e) {
    await f.close();
    throw e;
  }
}

async function readAll(bytes: Uint8Array): Promise<Map<string, string>> {
  const { f, zip } = await open(bytes);
  try {
    const out = new Map<string, string>();
    for (const e of zip.entries) out.set(e.name, dec(await readEntry(zip, e)));
    return out;
  } finally {
    await f.close();
  }
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<FormatError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected FormatError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

const torchLike: TestEntry[] = [
  { name: "archive/data.pkl", data: enc("pickle-bytes"), localExtra: 40 },
  { name: "archive/byteorder", data: enc("little") },
  { name: "archive/data/0", data: new Uint8Array(24).fill(7), localExtra: 50 },
  { name: "archive/version", data: enc("3\n") },
];

test("reads a classic zip and a ZIP64 one the same way", async () => {
  for (const zip64 of [false, true]) {
    const m = await readAll(buildZip(torchLike, { zip64 }));
    assert.deepEqual([...m.keys()], ["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"]);
    assert.equal(m.get("archive/byteorder"), "little");
    assert.equal(m.get("archive/version"), "3\n");
  }
});

test("data offset honours a local extra field the central directory does not have", async () => {
  const bytes = buildZip(torchLike, { zip64: true });
  const { f, zip } = await open(bytes);
  try {
    const e = zip.byName.get("archive/data/0")!;
    const off = await entryDataOffset(zip, e);
    assert.equal(off, e.localHeaderOffset + 30 + e.name.length + 50);
    assert.equal(bytes[off], 7);
    assert.equal(bytes[off - 1], 0x5a);
  } finally {
    await f.close();
  }
});

test("prefix is whatever the writer chose, and the comment is kept", async () => {
  const { f, zip } = await open(buildZip([{ name: "model/data.pkl", data: enc("x") }], { comment: "hello" }));
  assert.equal(zip.entries[0]!.name, "model/data.pkl");
  assert.equal(zip.comment, "hello");
  await f.close();
});

test("deflated entries inflate", async () => {
  const text = "abc".repeat(5000);
  const m = await readAll(buildZip([{ name: "a/data.pkl", data: enc(text), deflate: true }]));
  assert.equal(m.get("a/data.pkl"), text);
});

test("local name different from the central-directory name -> ZIP_NAME_MISMATCH", async () => {
  const { f, zip } = await open(buildZip([{ name: "data.pkl", localName: "datap.kl", data: enc("x") }]));
  await rejectsCode(readEntry(zip, zip.entries[0]!), "ZIP_NAME_MISMATCH");
  await f.close();
});

test("encrypted and unsupported flags are refused on read, not on listing", async () => {
  const cases: [number, string][] = [[0x1, "ZIP_ENCRYPTED"], [0x20, "ZIP_UNSUPPORTED"], [0x40, "ZIP_ENCRYPTED"]];
  for (const [flags, code] of cases) {
    const { f, zip } = await open(buildZip([{ name: "m/config.pkl", data: enc("x"), flags }]));
    assert.equal(zip.entries.length, 1);
    await rejectsCode(readEntry(zip, zip.entries[0]!), code);
    await f.close();
  }
});

test("absurd entry counts are errors, not long loops", async () => {
  for (const zip64 of [false, true]) {
    const count = zip64 ? 1_000_000 : 60000;
    const e = await rejectsCode(open(buildZip(torchLike, { zip64, entryCount: count })), "ZIP_BAD_CENTRAL_DIRECTORY");
    // Refused from the end record's numbers, before any entry is parsed.
    assert.match(e.message, new RegExp(`^the end record claims ${count} entries but the central directory is only \\d+ bytes`));
  }
});

test("a 2^63 ZIP64 size is an error", async () => {
  const bytes = buildZip(torchLike, { zip64: true });
  // The ZIP64 end record's central-directory size field sits 40 bytes into the record.
  const rec = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
  bytes.writeBigUInt64LE(1n << 63n, rec + 40);
  await rejectsCode(open(bytes), "ZIP_BAD_CENTRAL_DIRECTORY");
});

test("duplicate names are refused", async () => {
  await rejectsCode(open(buildZip([{ name: "a/data.pkl", data: enc("1") }, { name: "a/data.pkl", data: enc("2") }])), "ZIP_DUPLICATE_NAME");
});

test("zip bombs: declared size over the limit, impossible ratio, output past the declared size", async () => {
  const big = new Uint8Array(3_000_000);
  {
    const { f, zip } = await open(buildZip([{ name: "a/data.pkl", data: big, deflate: true }]));
    await rejectsCode(readEntry(zip, zip.entries[0]!, 1_000_000), "ZIP_BOMB");
    await f.close();
  }
  {
    const { f, zip } = await open(buildZip([{ name: "a/data.pkl", data: enc("tiny"), deflate: true, cdUncompressedSize: 500_000_000 }]));
    await rejectsCode(readEntry(zip, zip.entries[0]!), "ZIP_BOMB");
    await f.close();
  }
  {
    // Declares 1000 bytes but inflates to 3 MB: stopped at the declared size.
    const { f, zip } = await open(buildZip([{ name: "a/data.pkl", data: big, deflate: true, cdUncompressedSize: 1000 }]));
    await rejectsCode(readEntry(zip, zip.entries[0]!), "ZIP_BOMB");
    await f.close();
  }
});

test("CRC mismatch is reported; CRC 0 (torch without CRCs) is accepted", async () => {
  {
    const { f, zip } = await open(buildZip([{ name: "a/x", data: enc("abc"), crc: 1234 }]));
    await rejectsCode(readEntry(zip, zip.entries[0]!), "ZIP_CRC_MISMATCH");
    await f.close();
  }
  const m = await readAll(buildZip([{ name: "a/x", data: enc("abc"), crc: 0 }]));
  assert.equal(m.get("a/x"), "abc");
});

test("truncating at any point gives a FormatError, never a crash", async () => {
  for (const zip64 of [false, true]) {
    const bytes = buildZip([...torchLike, { name: "archive/data/1", data: enc("z".repeat(300)), deflate: true }], { zip64 });
    const codes = new Set<string>();
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        await readAll(bytes.subarray(0, cut));
        assert.fail(`cut at ${cut} of ${bytes.length} read fine`);
      } catch (e) {
        assert.ok(e instanceof FormatError, `cut at ${cut}: ${String(e)}`);
        codes.add(e.code);
      }
    }
    assert.ok(codes.has("ZIP_NO_END_RECORD"));
    assert.ok([...codes].every((c) => c.startsWith("ZIP_")), [...codes].join(","));
  }
});

test("cutting bytes out of the middle -> ZIP_TRUNCATED / bad directory", async () => {
  const bytes = buildZip(torchLike, { zip64: false });
  const cut = Buffer.concat([bytes.subarray(0, 20), bytes.subarray(60)]);
  const e = await rejectsCode(open(cut), "ZIP_BAD_CENTRAL_DIRECTORY").catch(() => undefined);
  if (!e) await rejectsCode(open(cut), "ZIP_TRUNCATED");
});

test("isZipSignature", () => {
  assert.ok(isZipSignature(Uint8Array.from([0x50, 0x4b, 3, 4])));
  assert.ok(!isZipSignature(Uint8Array.from([0x50, 0x4b, 5, 6])));
  assert.ok(!isZipSignature(Uint8Array.from([0x50])));
});

const RW = join(REALWORLD, "picklescan/tests/data");
test("real-world hostile zips from picklescan", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, async () => {
  const expect: [string, string][] = [
    ["malicious1_0x1.zip", "ZIP_ENCRYPTED"],
    ["malicious1_0x20.zip", "ZIP_UNSUPPORTED"],
    ["malicious1_0x40.zip", "ZIP_ENCRYPTED"],
    ["malicious1_central_directory.zip", "ZIP_NAME_MISMATCH"],
    ["benign_password_protected.zip", "ZIP_ENCRYPTED"],
  ];
  for (const [name, code] of expect) {
    const f = await RandomAccessFile.open(`${RW}/${name}`);
    try {
      const zip = await readZip(f);
      await rejectsCode(readEntry(zip, zip.entries[0]!), code);
    } finally {
      await f.close();
    }
  }
});
