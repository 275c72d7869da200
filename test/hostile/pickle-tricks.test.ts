/**
 * Unsafe-global detection against the tricks of pickle-scanner advisories,
 * each in a raw pickle, a torch zip and a checkpoint folder, plus the
 * picklescan test corpus: every file it calls dangerous is flagged with the
 * global named; nothing benign there is called unsafe.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspectFile } from "../../src/inspect/inspect.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { HAS_REALWORLD, REALWORLD } from "../helpers.js";
import { callPickle, copyCase, findings, keepFixturesUnchanged, legacyPrelude, pk, str2, str4, tempFile, torchZip } from "./build.js";

/** Unsafe names reported by inspect. */
async function unsafeIn(path: string): Promise<{ exit: 0 | 1; unsafe: string[] }> {
  const r = await inspectFile(path);
  return { exit: r.exitCode, unsafe: r.verdicts.filter((v) => v.tier === "unsafe").map((v) => v.qualname) };
}

/** The pickle must be flagged naming `global`: raw, inside a torch zip, and as a checkpoint folder's training state. */
async function expectFlagged(bytes: Uint8Array, global: string): Promise<void> {
  for (const [name, data] of [["raw.pkl", bytes], ["model.pt", torchZip(bytes)]] as const) {
    const r = await unsafeIn(tempFile(name, data));
    assert.equal(r.exit, 1, `${name}: ${global}`);
    assert.ok(r.unsafe.some((u) => u.includes(global)), `${name}: expected ${global} among ${JSON.stringify(r.unsafe)}`);
  }
  const dir = copyCase("training-state", "ok");
  writeFileSync(join(dir, "training_state.pth"), torchZip(bytes, "training_state"));
  const v = await verifyCheckpoint(dir);
  assert.equal(v.exitCode, 1);
  assert.ok(findings(v).some((f) => f.code === "GLOBAL_UNSAFE" && f.message.includes(global)), `verify: ${global} not named: ${JSON.stringify(findings(v).filter((f) => f.level === "error").map((f) => f.message))}`);
}


describe("hostile input: unsafe globals behind scanner-evasion tricks", () => {
  keepFixturesUnchanged();

  it("STACK_GLOBAL whose module and name strings come from the memo (memoized inside a popped decoy)", async () => {
    const bytes = pk(0x80, 4, "]", 0x94, str4("builtins"), 0x94, "a", str4("eval"), 0x94, "a", "0", "h", 1, "h", 2, 0x93, str4("1+1"), 0x85, "R.");
    await expectFlagged(bytes, "builtins.eval");
  });

  it("STACK_GLOBAL whose module and name are computed while loading (builtins.str of bytes): any global, so unsafe", async () => {
    // str(b'posix', 'ascii') and str(b'system', 'ascii') are calls of a harmless value type; what they name is not known before loading.
    const computed = (s: string) => pk("cbuiltins\nstr\n", "C", s.length, s, str4("ascii"), 0x86, "R");
    const bytes = pk(0x80, 4, computed("posix"), computed("system"), 0x93, str4("echo pwned"), 0x85, "R.");
    await expectFlagged(bytes, "__dynamic__");
  });

  it("builtins.getattr chains: on an __import__ result, and getattr of getattr", async () => {
    const onImport = pk(0x80, 2, "c__builtin__\ngetattr\n(c__builtin__\n__import__\n", str2("os"), 0x85, "R", str2("system"), "tR", str2("id"), 0x85, "R.");
    await expectFlagged(onImport, "getattr");
    const chain = pk(0x80, 2, "cbuiltins\ngetattr\n(cbuiltins\ngetattr\n(ccollections\nOrderedDict\n", str2("__init__"), "tR", str2("__globals__"), "tR.");
    await expectFlagged(chain, "getattr");
  });

  it("__reduce__ through copyreg / copy_reg and _reconstructor", async () => {
    // _reconstructor(cls, base, state) calls base.__init__(obj, state): Popen.__init__(obj, ['id']) runs a command
    const recon = pk(0x80, 2, "ccopy_reg\n_reconstructor\n(csubprocess\nPopen\ncsubprocess\nPopen\n]", str2("id"), "atR.");
    await expectFlagged(recon, "subprocess.Popen");
    const modern = pk(0x80, 2, "ccopyreg\n_reconstructor\n(cposix\nsystem\ncbuiltins\nobject\nNtR.");
    await expectFlagged(modern, "posix.system");
    const newobj = pk(0x80, 2, "ccopyreg\n__newobj__\n(cos\nsystem\n", str2("id"), "tR.");
    await expectFlagged(newobj, "os.system");
  });

  it("a second pickle stream after the first STOP", async () => {
    const bytes = Buffer.concat([pk(0x80, 2, "]", "K", 1, "a."), callPickle("subprocess", "run", "id")]);
    const r = await unsafeIn(tempFile("two.pkl", bytes));
    assert.equal(r.exit, 1);
    assert.ok(r.unsafe.includes("subprocess.run"), JSON.stringify(r.unsafe));
    const dir = copyCase("training-state", "ok");
    writeFileSync(join(dir, "training_state.pth"), bytes);
    const v = await verifyCheckpoint(dir);
    assert.ok(findings(v).some((f) => f.code === "GLOBAL_UNSAFE" && f.message.includes("subprocess.run")));
  });

  it("module aliases: posix, nt, __builtin__, builtins", async () => {
    for (const [mod, name, shown] of [
      ["posix", "system", "posix.system"],
      ["nt", "system", "nt.system"],
      ["__builtin__", "eval", "builtins.eval"],
      ["builtins", "exec", "builtins.exec"],
      ["__builtin__", "__import__", "builtins.__import__"],
      ["builtins", "compile", "builtins.compile"],
    ] as const) {
      await expectFlagged(callPickle(mod, name, "id"), shown);
    }
  });

  it("a torch.load-looking file with a malicious data.pkl: as inspect input, as weights, as optimizer", async () => {
    const evil = pk(0x80, 2, "}", str2("weight"), "cposix\nsystem\n", str2("id"), 0x85, "Rs.");
    const i = await unsafeIn(tempFile("pytorch_model.bin", torchZip(evil, "pytorch_model", [{ name: "pytorch_model/data/0", data: Buffer.alloc(16) }])));
    assert.deepEqual([i.exit, i.unsafe.includes("posix.system")], [1, true]);
    const dir = copyCase("training-state", "ok-pytorch-model-bin");
    writeFileSync(join(dir, "pytorch_model.bin"), torchZip(evil, "pytorch_model"));
    const v = await verifyCheckpoint(dir);
    assert.equal(v.exitCode, 1);
    assert.ok(findings(v).some((f) => f.code === "GLOBAL_UNSAFE" && f.file === "pytorch_model.bin" && f.message.includes("posix.system")), JSON.stringify(findings(v).filter((f) => f.level === "error")));
    const hf = copyCase("hf-trainer", "cases/ok/checkpoint-500");
    writeFileSync(join(hf, "optimizer.pt"), torchZip(evil, "optimizer"));
    const h = await verifyCheckpoint(hf);
    assert.equal(h.exitCode, 1);
    assert.ok(findings(h).some((f) => f.code === "GLOBAL_UNSAFE" && f.message.includes("posix.system")));
  });

  it("legacy-format files with a malicious pickle after the magic, or in the magic's place", async () => {
    const evil = callPickle("builtins", "exec", "import os");
    const keys = pk(0x80, 2, "].");
    const afterMagic = Buffer.concat([legacyPrelude(), evil, keys]);
    const r = await unsafeIn(tempFile("legacy.pt", afterMagic));
    assert.deepEqual([r.exit, r.unsafe.includes("builtins.exec")], [1, true], JSON.stringify(r.unsafe));
    const inMagic = Buffer.concat([callPickle("posix", "system", "id"), legacyPrelude().subarray(0)]);
    const m = await unsafeIn(tempFile("magic.pt", inMagic));
    assert.deepEqual([m.exit, m.unsafe.includes("posix.system")], [1, true], JSON.stringify(m.unsafe));
    for (const bytes of [afterMagic, inMagic]) {
      const dir = copyCase("training-state", "ok");
      writeFileSync(join(dir, "training_state.pth"), bytes);
      const v = await verifyCheckpoint(dir);
      assert.equal(v.exitCode, 1);
      assert.ok(findings(v).some((f) => f.code === "GLOBAL_UNSAFE"), JSON.stringify(findings(v).filter((f) => f.level === "error")));
    }
  });

  it("picklescan's corpus: every dangerous file flagged with its global named, nothing benign called unsafe", { skip: !HAS_REALWORLD && "../shared/realworld is not present" }, async (t) => {
    const rows = readFileSync(join(REALWORLD, "README.md"), "utf8")
      .split("\n")
      .filter((l) => /^\| \d+ \| picklescan\//.test(l))
      .map((l) => l.split("|").slice(1, -1).map((c) => c.trim()))
      .map((c) => ({ rel: c[1]!, contents: c[5]!, verdict: c[7]!, intent: c[8]! }));
    assert.ok(rows.length >= 45, `${rows.length} picklescan rows`);
    // Python 3's unpickler maps Python 2 names (fix_imports): the tool reports what would be imported
    const norm = (g: string) => g.replace(/^__builtin__\./, "builtins.").replace(/^httplib\./, "http.client.").replace(/^copy_reg\./, "copyreg.");
    let named = 0;
    const exitOnly: string[] = [];
    for (const row of rows) {
      const path = join(REALWORLD, row.rel);
      const r = await unsafeIn(path);
      const v = await verifyCheckpoint(path);
      if (row.intent.startsWith("benign")) {
        assert.deepEqual(r.unsafe, [], `${row.rel} is benign`);
        assert.ok(!findings(v).some((f) => f.code === "GLOBAL_UNSAFE"), `${row.rel} is benign (verify)`);
        continue;
      }
      assert.equal(r.exit, 1, `${row.rel} (${row.intent}) must be flagged by inspect`);
      assert.equal(v.exitCode, 1, `${row.rel} (${row.intent}) must fail verify`);
      const dangerous = [...row.contents.matchAll(/([\w.]+) \[DANGEROUS\]/g)].map((m) => norm(m[1]!));
      // Not malicious by intent, or 7z, encrypted or unreadable members: exit 1 with a finding is all a static reader can give.
      if (!row.intent.startsWith("malicious") || dangerous.length === 0) {
        exitOnly.push(`${row.rel} (${row.intent})`);
        continue;
      }
      assert.ok(dangerous.some((g) => r.unsafe.includes(g)), `${row.rel}: expected one of ${dangerous.join(", ")} among ${JSON.stringify(r.unsafe)}`);
      assert.ok(findings(v).some((f) => f.code === "GLOBAL_UNSAFE" && dangerous.some((g) => f.message.includes(g))), `${row.rel}: verify does not name ${dangerous.join(", ")}`);
      named++;
    }
    assert.ok(named >= 30, `${named} dangerous files named`);
    t.diagnostic(`${named} files flagged with their global named; ${exitOnly.length} checked for exit 1 only: ${exitOnly.join(", ")}`);
  });
});
