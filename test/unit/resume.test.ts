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
import { baseCheckpoint } from "../../src/layouts/common.js";
import { DEFAULT_OPTIONS, type VerifyOptions } from "../../src/core/options.js";
import type { NormalisedCheckpoint, ShardedSave, TorchLoad } from "../../src/layouts/types.js";
import type { Check } from "../../src/checks/define.js";
import { weightKeysCheck } from "../../src/checks/weight-keys.js";
import { fastForwardCheck } from "../../src/checks/fast-forward.js";
import { rankStateCheck } from "../../src/checks/rank-state.js";
import { lookUpPath } from "../../src/layouts/recorded-paths.js";
import { judgeRngFiles } from "../../src/layouts/rng-state.js";

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
  it("a gap is named; a rank number a file name makes huge is counted, not enumerated", () => {
    const gap = judgeRngFiles([{ rel: "a", rank: 0 }, { rel: "b", rank: 2 }], expect);
    assert.deepEqual(gap.map((f) => [f.code, f.data["missing"]]), [["RNG_RANKS_NOT_CONTIGUOUS", "1"]]);
    const huge = judgeRngFiles([{ rel: "a", rank: 0 }, { rel: "b", rank: 1e12 }], expect);
    assert.equal(huge[0]!.data["missing"], `1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (${1e12 - 1} in all)`);
  });
});


async function codesOf(check: Check, c: NormalisedCheckpoint, options: Partial<VerifyOptions> = {}): Promise<string[]> {
  const out = await check.run({ path: "x", options: { ...DEFAULT_OPTIONS, ...options }, checkpoint: c });
  return "skip" in out ? ["skip"] : out.findings.map((f) => `${f.level} ${f.code}`);
}

function withWeights(names: string[]): NormalisedCheckpoint {
  const c = baseCheckpoint("training-state", "x", "test");
  c.weights = { candidates: [], files: [{ rel: "model.safetensors", kind: "safetensors", tensors: names.map((name) => ({ name, dtype: "float32", shape: [1] })), size: 1, verdicts: [], torchProblems: [] }], unusable: [], missingShards: [] };
  return c;
}

const names = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}layer${from + i}.weight`);

describe("wrapper prefix thresholds (research b7)", () => {
  const cases: [string, string[], string][] = [
    ["all prefixed", names("_orig_mod.", 10), "warn WEIGHT_KEYS_WRAPPER_PREFIX"],
    ["9 of 10 prefixed", [...names("_orig_mod.", 9), "head.weight"], "warn WEIGHT_KEYS_WRAPPER_PREFIX"],
    ["5 of 10 prefixed, no duplicates", [...names("_orig_mod.", 5), ...names("", 5, 5)], "error WEIGHT_KEYS_MIXED_PREFIX"],
    ["1 of 20 prefixed: a stray key", [...names("_orig_mod.", 1), ...names("", 19, 1)], "pass WEIGHT_KEYS_OK"],
    ["module. on half the keys, no duplicates: a submodule called module", [...names("module.", 5), ...names("", 5, 5)], "pass WEIGHT_KEYS_OK"],
    ["module. on half the keys, the same tensors both ways", [...names("module.", 5), ...names("", 5)], "error WEIGHT_KEYS_MIXED_PREFIX"],
  ];
  for (const [what, keys, want] of cases) it(what, async () => assert.deepEqual(await codesOf(weightKeysCheck, withWeights(keys)), [want]));
});

describe("nothing left to train", () => {
  function hf(end: NonNullable<NormalisedCheckpoint["resume"]>["end"], globalStep: number) {
    const c = baseCheckpoint("hf-trainer", "x", "test");
    c.progress = { state: "present", view: { globalStep, gradAccum: 1, gradAccumRecorded: true, metrics: [], describe: "" } };
    c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], end };
    return c;
  }
  it("global_step one short of max_steps trains; at max_steps it does not", async () => {
    assert.deepEqual(await codesOf(fastForwardCheck, hf({ maxSteps: 1500, where: "t" }, 1499)), ["skip"]);
    assert.deepEqual(await codesOf(fastForwardCheck, hf({ maxSteps: 1500, where: "t" }, 1500)), ["warn NOTHING_LEFT_TO_TRAIN"]);
  });
  it("without max_steps, the epoch against num_train_epochs", async () => {
    assert.deepEqual(await codesOf(fastForwardCheck, hf({ numTrainEpochs: 3, epoch: 2.99, where: "t" }, 10)), ["skip"]);
    assert.deepEqual(await codesOf(fastForwardCheck, hf({ numTrainEpochs: 3, epoch: 3, where: "t" }, 10)), ["warn NOTHING_LEFT_TO_TRAIN"]);
  });
});

describe("world size and devices against the resume", () => {
  const load = (mapsLocation: boolean): TorchLoad => ({ rel: "f.pt", by: "b", mapsLocation, weightsOnly: { allow: [], blockers: [] }, devices: new Map([["cuda:3", 2], ["cpu", 1]]) });
  const withLoads = (...loads: TorchLoad[]) => {
    const c = baseCheckpoint("generic", "x", "test");
    c.resume = { torchLoads: loads, loggedNonFinite: [], recordedPaths: [] };
    return c;
  };
  it("cuda:3 needs 4 GPUs; a loader with map_location does not care", async () => {
    assert.deepEqual(await codesOf(rankStateCheck, withLoads(load(false)), { gpus: 4 }), ["skip"]);
    assert.deepEqual(await codesOf(rankStateCheck, withLoads(load(false)), { gpus: 3 }), ["warn CUDA_DEVICE_OUT_OF_RANGE"]);
    assert.deepEqual(await codesOf(rankStateCheck, withLoads(load(true)), { gpus: 3 }), ["info CUDA_DEVICES_MAPPED"]);
  });
  it("a multi-rank save's recorded world size, and whether its format reshards", async () => {
    const sharded = (reshards?: boolean): NormalisedCheckpoint => {
      const c = withLoads();
      const save: ShardedSave = { format: "fmt", rel: "", worldSize: 4, describe: "", findings: [], ...(reshards === undefined ? {} : { reshards }) };
      c.sharded = [save];
      return c;
    };
    assert.deepEqual(await codesOf(rankStateCheck, sharded(), { worldSize: 4 }), ["pass WORLD_SIZE_MATCHES"]);
    assert.deepEqual(await codesOf(rankStateCheck, sharded(), { worldSize: 8 }), ["warn WORLD_SIZE_CHANGED"]);
    assert.deepEqual(await codesOf(rankStateCheck, sharded(true), { worldSize: 8 }), ["info WORLD_SIZE_CHANGED"]);
    assert.deepEqual(await codesOf(rankStateCheck, sharded(false), { worldSize: 8 }), ["error WORLD_SIZE_CHANGED"]);
  });
});

describe("recorded paths are looked up as Python would", () => {
  it("a relative path from the working directory; a missing one found beside the checkpoint is named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-paths-"));
    try {
      mkdirSync(join(dir, "checkpoint-250"));
      const gone = await lookUpPath("w", "outputs/run/checkpoint-250", dir, "c");
      assert.deepEqual([gone.exists, gone.nextToCheckpoint], [false, join(dir, "checkpoint-250")]);
      const there = await lookUpPath("w", join(dir, "checkpoint-250"), dir, "c");
      assert.equal(there.exists, true);
      const nothing = await lookUpPath("w", "outputs/run/checkpoint-999", dir, "c");
      assert.deepEqual([nothing.exists, nothing.nextToCheckpoint], [false, undefined]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
