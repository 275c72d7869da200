import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePickle } from "../../src/formats/pickle/decoder.js";
import { judgePickle } from "../../src/safety/judge.js";
import { addSafeGlobalsLine, weightsOnlyVerdict } from "../../src/safety/weights-only.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { b, cat, dict, glob, pickle, reduce, str, tup } from "./pickle-emitter.js";

/** What torch/_weights_only_unpickler.py does with each pickle: the allow-list it needs, or why none helps. */
function verdictOf(bytes: Buffer) {
  const p = decodePickle(bytes);
  return weightsOnlyVerdict(p, judgePickle(p));
}

describe("weights_only: what torch.load(weights_only=True) needs", () => {
  it("plain containers and an OrderedDict need nothing", () => {
    assert.deepEqual(verdictOf(pickle(reduce(glob("collections", "OrderedDict")))), { allow: [], blockers: [] });
  });
  it("a class outside the allow-list is named by its dotted path; a builtin by its bare name, as torch's message does", () => {
    const v = verdictOf(pickle(dict(["a", reduce(glob("argparse", "Namespace"))], ["b", reduce(glob("__builtin__", "getattr"), glob("datetime", "date"), str("today"))])));
    assert.deepEqual(v.allow, ["argparse.Namespace", "getattr", "datetime.date"]);
    assert.equal(addSafeGlobalsLine(v.allow), "torch.serialization.add_safe_globals([argparse.Namespace, getattr, datetime.date])");
  });
  it("BUILD on a numpy dtype needs the dtype's own class, which the pickle never names", () => {
    const dtype = cat(reduce(glob("numpy", "dtype"), str("u4"), [0x89], [0x88]), tup(b("K\x03"), str("<")), [0x62]);
    assert.deepEqual(verdictOf(pickle(dtype)).allow, ["numpy.dtype", 'type(numpy.dtype("u4"))']);
  });
  it("torch's blocked modules and our unsafe globals are blockers, never allow-list entries", () => {
    const v = verdictOf(pickle(reduce(glob("posix", "system"), str("id"))));
    assert.deepEqual(v.allow, []);
    assert.match(v.blockers[0]!, /posix\.system: torch blocks module posix/);
    const w = verdictOf(pickle(reduce(glob("subprocess", "run"), str("id"))));
    assert.match(w.blockers[0]!, /subprocess\.run: unsafe, never allowlist it/);
  });
  it("pickle protocol 4 opcodes are not implemented by the weights_only unpickler", () => {
    const v = verdictOf(Buffer.from([0x80, 0x04, 0x4e, 0x2e]));
    assert.match(v.blockers[0]!, /pickle protocol 4/);
  });
});

describe("run folders resolve as the framework picks", () => {
  it("Trainer: the numerically highest checkpoint-N folder; files and other names are not candidates", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-run-"));
    try {
      for (const d of ["checkpoint-9", "checkpoint-10", "checkpoint-abc", "checkpoint-10-old"]) mkdirSync(join(dir, d));
      writeFileSync(join(dir, "checkpoint-99"), "a file, not a folder");
      const report = await verifyCheckpoint(dir);
      assert.equal(report.verifiedPath, join(dir, "checkpoint-10"));
      assert.deepEqual(report.resolvedFrom?.others, ["checkpoint-9"]);
      assert.equal(report.layout, "hf-trainer");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a folder with no checkpoint-N and no last*.ckpt is verified as it is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-run-"));
    try {
      mkdirSync(join(dir, "checkpoint-x"));
      const report = await verifyCheckpoint(dir);
      assert.equal(report.verifiedPath, dir);
      assert.equal(report.resolvedFrom, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("per-rank RNG files, judged as data", () => {
  const expect = { framework: "Trainer", keys: ["python"], onMissingFile: "gone", onMissingKeys: () => ({ level: "warn" as const, consequence: "c" }) };
  it("a gap is named; a rank number a file name makes huge is counted, not enumerated", async () => {
    const { judgeRngFiles } = await import("../../src/layouts/rng-state.js");
    const gap = judgeRngFiles([{ rel: "a", rank: 0 }, { rel: "b", rank: 2 }], expect);
    assert.deepEqual(gap.map((f) => [f.code, f.data["missing"]]), [["RNG_RANKS_NOT_CONTIGUOUS", "1"]]);
    const huge = judgeRngFiles([{ rel: "a", rank: 0 }, { rel: "b", rank: 1e12 }], expect);
    assert.equal(huge[0]!.data["missing"], `1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (${1e12 - 1} in all)`);
  });
});
