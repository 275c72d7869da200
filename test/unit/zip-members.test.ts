import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { judgePickle } from "../../src/safety/globals.js";
import { inspectFile } from "../../src/inspect/inspect.js";
import { MAX_MEMBERS, scanZipMembers } from "../../src/safety/zip-members.js";
import { withFile } from "../../src/storage/local-file.js";
import { HAS_REALWORLD, REALWORLD } from "../helpers.js";
import { buildZip, cleanupTemp, writeTemp, type TestEntry } from "./zip-writer.js";

after(cleanupTemp);

const u8 = (...parts: (string | number[] | Uint8Array)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const short = (s: string) => u8([0x8c, s.length], s);
/** builtins.eval("1+1") without a PROTO header (Python's unpickler does not need one). */
const EVAL_HEADERLESS = u8(short("builtins"), short("eval"), [0x93], short("1+1"), [0x85], "R.");
const EVAL_P4 = u8([0x80, 0x04], EVAL_HEADERLESS);
const SYSTEM_P0 = u8("cos\nsystem\n(S'echo hi'\ntR.");
/** A protocol 0 pickle that calls exec and then breaks (no STOP): the call must still be named. */
const BROKEN_EXEC = u8("cbuiltins\nexec\n(S'import os'\ntR(");
const BENIGN_P2 = u8([0x80, 0x02], "}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02u.");

const judge = (p: Parameters<typeof judgePickle>[0]) => judgePickle(p);
const scanPath = (path: string) => withFile(path, (f) => scanZipMembers(f, judge));
const zipFile = (entries: TestEntry[], name = "t.zip") => writeTemp(buildZip(entries), name);
const unsafe = (vs: { tier: string; qualname: string }[]) => vs.filter((v) => v.tier === "unsafe").map((v) => v.qualname);

describe("pickles hidden in zips that are not torch archives", () => {
  test("every member that decodes as a pickle is judged, under any name and compression", async () => {
    const p = zipFile([
      { name: "README.txt", data: Buffer.from("Copyright (c) nobody\nThis archive holds data.\n") },
      { name: "config.json", data: Buffer.from('{"a": 1}') },
      { name: "data.txt", data: EVAL_P4 },
      { name: "weights.bin", data: SYSTEM_P0, deflate: true },
      { name: "more/blob", data: EVAL_HEADERLESS },
      { name: "stats.pkl", data: BENIGN_P2 },
      { name: "broken.pkl", data: BROKEN_EXEC },
      { name: "empty/", data: new Uint8Array(0) },
    ]);
    const scan = await scanPath(p);
    assert.deepEqual(scan.pickles, ["data.txt", "weights.bin", "more/blob", "stats.pkl", "broken.pkl"]);
    assert.equal(scan.error, undefined);
    const bad = unsafe(scan.verdicts);
    assert.ok(bad.includes("builtins.eval"), bad.join(", "));
    assert.ok(bad.some((q) => q.endsWith(".system")), bad.join(", "));
    assert.ok(bad.includes("builtins.exec"), bad.join(", "));
    // eval appears in two members: one verdict, both counted, the member named.
    const evalVerdict = scan.verdicts.find((v) => v.qualname === "builtins.eval" && v.tier === "unsafe")!;
    assert.equal(evalVerdict.count, 2);
    assert.match(evalVerdict.reason, /zip member "data.txt"/);

    const r = await inspectFile(p);
    assert.equal(r.exitCode, 1);
    assert.equal(r.error?.code, "TORCH_NO_DATA_PKL");
    assert.ok(unsafe(r.verdicts).includes("builtins.eval"));
  });

  test("a zip of plain files has no verdicts; it is still not a checkpoint", async () => {
    const p = zipFile([
      { name: "notes.txt", data: Buffer.from("Some notes (really)\n") },
      { name: "Lorem.md", data: Buffer.from("Lorem ipsum dolor sit amet\n"), deflate: true },
      { name: "image.png", data: u8([0x89], "PNG\r\n\x1a\n", "\0".repeat(64)) },
    ]);
    const scan = await scanPath(p);
    assert.deepEqual(scan.pickles, []);
    assert.deepEqual(scan.verdicts, []);
    assert.equal(scan.error, undefined);
    const r = await inspectFile(p);
    assert.equal(r.exitCode, 1);
    assert.equal(r.error?.code, "TORCH_NO_DATA_PKL");
    assert.deepEqual(r.verdicts, []);
  });

  test("members that cannot be read are reported: encrypted, too many, too large", async () => {
    const enc = zipFile([{ name: "secret.pkl", data: EVAL_P4, flags: 0x801 }]);
    const r = await inspectFile(enc);
    assert.equal(r.exitCode, 1);
    assert.equal(r.error?.code, "ZIP_ENCRYPTED");

    const many: TestEntry[] = Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from("x") }));
    many[MAX_MEMBERS] = { name: "last.pkl", data: EVAL_P4 };
    const scan = await scanPath(zipFile(many));
    assert.equal(scan.error?.code, "ZIP_TOO_MANY_MEMBERS");

    // A pickle with 65 MiB behind its STOP: deflated it is small, but it is over the per-member limit.
    const big = Buffer.concat([EVAL_P4, Buffer.alloc(65 * 1024 * 1024)]);
    const large = await scanPath(zipFile([{ name: "big.pkl", data: big, deflate: true }]));
    assert.equal(large.error?.code, "ZIP_ENTRY_TOO_LARGE");
    assert.deepEqual(large.pickles, []);
  });

  test("an unreadable zip is an error, not a crash", async () => {
    const bytes = buildZip([{ name: "data.txt", data: EVAL_P4 }]);
    const scan = await scanPath(writeTemp(bytes.subarray(0, bytes.length - 10), "cut.zip"));
    assert.ok(scan.error, "a cut zip reports an error");
    assert.deepEqual(scan.verdicts, []);
  });
});

describe("picklescan's zips", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, () => {
  const dir = join(REALWORLD, "picklescan/tests/data");
  test("malicious1_wrong_ext.zip names builtins.eval in data.txt", async () => {
    const r = await inspectFile(join(dir, "malicious1_wrong_ext.zip"));
    assert.equal(r.exitCode, 1);
    assert.ok(r.verdicts.some((v) => v.tier === "unsafe" && v.qualname === "builtins.eval" && v.reason.includes("data.txt")), JSON.stringify(r.verdicts));
  });
  test("malicious1.zip (data.pkl, no folder) names builtins.eval", async () => {
    const r = await inspectFile(join(dir, "malicious1.zip"));
    assert.equal(r.exitCode, 1);
    assert.ok(unsafe(r.verdicts).includes("builtins.eval"));
  });
  test("encrypted members cannot be inspected", async () => {
    for (const name of ["malicious1_0x1.zip", "malicious1_0x40.zip", "benign_password_protected.zip"]) {
      const r = await inspectFile(join(dir, name));
      assert.equal(r.exitCode, 1, name);
      assert.equal(r.error?.code, "ZIP_ENCRYPTED", name);
    }
  });
});
