/**
 * Issue 16 (mutation testing of src/safety/zip-members.ts): which members are
 * looked at, and how verdicts of several members are merged and ordered. The
 * judge is a stub returning literal verdicts, so the merge is seen alone.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { judgePickle, type GlobalVerdict, type PickleReferences } from "../../src/safety/globals.js";
import { scanZipMembers } from "../../src/safety/zip-members.js";
import { withFile } from "../../src/storage/local-file.js";
import { buildZip, cleanupTemp, writeTemp, type TestEntry } from "./zip-writer.js";

after(cleanupTemp);

const u8 = (...parts: (string | number[] | Uint8Array)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const short = (s: string) => u8([0x8c, s.length], s);
/** builtins.eval("1+1") after a PROTO header of the given protocol. */
const evalPickle = (protocol: number) => u8([0x80, protocol], short("builtins"), short("eval"), [0x93], short("1+1"), [0x85], "R.");
const scan = (entries: TestEntry[], judge: (p: PickleReferences) => GlobalVerdict[] = (p) => judgePickle(p)) =>
  withFile(writeTemp(buildZip(entries), "order.zip"), (f) => scanZipMembers(f, judge));

test("verdicts across members: the most severe first, then by offset; the same name and tier counted once", async () => {
  const v = (qualname: string, tier: GlobalVerdict["tier"], offset: number, count = 1): GlobalVerdict => ({ qualname, module: "m", name: qualname, tier, reason: "r", offset, count });
  let member = 0;
  const stub = () => (member++ === 0 ? [v("a", "harmless", 1), v("b", "unsafe", 9, 2), v("c", "unsafe", 3)] : [v("b", "unsafe", 2, 3), v("d", "unknown", 0)]);
  const r = await scan([{ name: "one.pkl", data: evalPickle(2) }, { name: "two.pkl", data: evalPickle(2) }], stub);
  assert.deepEqual(r.pickles, ["one.pkl", "two.pkl"]);
  assert.deepEqual(r.verdicts.map((x) => [x.qualname, x.tier, x.offset, x.count]), [["c", "unsafe", 3, 1], ["b", "unsafe", 9, 5], ["d", "unknown", 0, 1], ["a", "harmless", 1, 1]]);
  assert.equal(r.verdicts[1]!.reason, 'r (zip member "one.pkl")');
});

test("a PROTO header of protocol 0 to 5 starts a pickle, 6 does not; a folder entry is never read", async () => {
  const r = await scan([
    { name: "p5", data: evalPickle(5) },
    { name: "p6", data: evalPickle(6) },
    { name: "dir/", data: evalPickle(2) },
  ]);
  assert.deepEqual(r.pickles, ["p5"]);
  assert.equal(r.error, undefined);
});

test("the size limits: a 1 MiB pickle member is read; a 65 MiB member that is no pickle is skipped without a word", async () => {
  const padded = (n: number) => Buffer.concat([evalPickle(2), Buffer.alloc(n)]);
  const r = await scan([{ name: "a.pkl", data: padded(600 * 1024), deflate: true }, { name: "b.pkl", data: padded(600 * 1024), deflate: true }]);
  assert.deepEqual([r.pickles, r.error], [["a.pkl", "b.pkl"], undefined]);
  const big = await scan([
    { name: "doc.pdf", data: Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(65 * 1024 * 1024)]), deflate: true },
    { name: "lorem.txt", data: Buffer.concat([Buffer.from("Lorem ipsum dolor sit amet\n"), Buffer.alloc(65 * 1024 * 1024)]), deflate: true },
  ]);
  assert.deepEqual([big.pickles, big.verdicts, big.error], [[], [], undefined]);
  const large = await scan([{ name: "big.pkl", data: padded(65 * 1024 * 1024), deflate: true }]);
  assert.deepEqual(large.error, { code: "ZIP_ENTRY_TOO_LARGE", message: `zip member "big.pkl" looks like a pickle but is ${65 * 1024 * 1024 + evalPickle(2).length} bytes, over the scanning limit: it was not checked` });
});

test("the first pickle member's value is kept; members past the first 1,000 are not looked at, and the report says so", async () => {
  const dict = (k: string) => u8([0x80, 0x02], "}q\x00X\x01\x00\x00\x00", k, "K\x01s.");
  const r = await scan([{ name: "a.pkl", data: dict("a") }, { name: "b.pkl", data: dict("b") }]);
  assert.deepEqual([...(r.value as { map: Map<unknown, unknown> }).map.keys()], ["a"]);
  const exactly: TestEntry[] = Array.from({ length: 1000 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from("x") }));
  exactly[999] = { name: "last.pkl", data: evalPickle(2) };
  const full = await scan(exactly);
  assert.deepEqual([full.pickles, full.error], [["last.pkl"], undefined]);
  const over = [...exactly.slice(0, 999), { name: "f999.txt", data: Buffer.from("x") }, { name: "extra.pkl", data: evalPickle(2) }];
  const cut = await scan(over);
  assert.deepEqual([cut.pickles, cut.verdicts], [[], []]);
  assert.deepEqual(cut.error, { code: "ZIP_TOO_MANY_MEMBERS", message: "the zip has 1001 members; only the first 1000 were checked for pickles" });
});

test("a member that cannot be read is reported, and the members before it keep their verdicts; a zip that cannot be read has none", async () => {
  const r = await scan([{ name: "a.pkl", data: evalPickle(2) }, { name: "secret.pkl", data: evalPickle(2), flags: 0x1 }]);
  assert.deepEqual(r.pickles, ["a.pkl"]);
  assert.ok(r.verdicts.some((v) => v.qualname === "builtins.eval" && v.tier === "unsafe"));
  assert.equal(r.error?.code, "ZIP_ENCRYPTED");
  assert.match(r.error!.message, /^zip member "secret\.pkl" cannot be checked: /);
  const bytes = buildZip([{ name: "data.txt", data: evalPickle(2) }]);
  const cut = await withFile(writeTemp(bytes.subarray(0, bytes.length - 10), "cut.zip"), (f) => scanZipMembers(f, (p) => judgePickle(p)));
  assert.deepEqual([cut.pickles, cut.verdicts, typeof cut.error?.code, typeof cut.error?.message], [[], [], "string", "string"]);
  assert.match(cut.error!.code, /^ZIP_/);
});
