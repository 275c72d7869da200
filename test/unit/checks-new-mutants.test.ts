// The seven checks first run through Stryker here (docs/mutation.md, "Stryker: the resume checks"):
// weight-keys, optimizer-health, rank-state, torch-load, recorded-paths, ranks, fast-forward.
// Every expectation is a literal written from the check's documented rule (the share thresholds
// of research b7, PEFT's and transformers' behaviour as the sources quote it, torch's
// add_safe_globals line), never from the check's own output; each verdict boundary has a case on
// each side.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { baseCheckpoint } from "../../src/layouts/common.js";
import type { AdapterConfig, NormalisedCheckpoint, OptimizerView, RankFinding, RecordedPath, ShardedSave, TorchLoad, WeightsFile } from "../../src/layouts/types.js";
import type { IntegrityResult } from "../../src/integrity/scan.js";
import type { PyValue } from "../../src/formats/pickle/values.js";
import { weightKeysCheck } from "../../src/checks/weight-keys.js";
import { optimizerHealthCheck } from "../../src/checks/optimizer-health.js";
import { rankStateCheck } from "../../src/checks/rank-state.js";
import { torchLoadCheck } from "../../src/checks/torch-load.js";
import { recordedPathsCheck } from "../../src/checks/recorded-paths.js";
import { ranksCheck } from "../../src/checks/ranks.js";
import { fastForwardCheck } from "../../src/checks/fast-forward.js";
import { codes, found } from "./check-run.js";


const base = (layout = "training-state") => baseCheckpoint(layout, "x", "test");
const file = (rel: string, names: string[], over: Partial<WeightsFile> = {}): WeightsFile => ({ rel, kind: "safetensors", size: 1, verdicts: [], torchProblems: [], tensors: names.map((name) => ({ name, dtype: "float32", shape: [1] })), ...over });
function withFiles(...files: WeightsFile[]): NormalisedCheckpoint {
  const c = base();
  c.weights = { candidates: [], files, unusable: [], missingShards: [] };
  return c;
}
const keys = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}layer${from + i}.weight`);

describe("weight-keys: wrapper prefixes", () => {
  it("skips without a readable file holding tensors", async () => {
    assert.deepEqual(await codes(weightKeysCheck, base()), ["skip: no readable weights"]);
    assert.deepEqual(await codes(weightKeysCheck, withFiles(file("a.safetensors", []))), ["skip: no readable weights"]);
    assert.deepEqual(await codes(weightKeysCheck, withFiles(file("a.safetensors", keys("module.", 3), { problem: { code: "DCP_SAFETENSORS_INVALID", data: {} } }))), ["skip: no readable weights"]);
  });
  it("a file with a problem or no tensors is left out; the others are judged", async () => {
    const c = withFiles(file("bad.safetensors", keys("module.", 3), { problem: { code: "DCP_SAFETENSORS_INVALID", data: {} } }), file("empty.safetensors", []), file("good.safetensors", ["a.weight"]));
    assert.deepEqual(await found(weightKeysCheck, c), [{ check: "weight-keys", level: "pass", code: "WEIGHT_KEYS_OK", data: { file: "good.safetensors", count: 1 }, file: "good.safetensors" }]);
  });
  it("each wrapper's prefix on every key names the wrapper", async () => {
    const table: [string, string][] = [
      ["base_model.model.", "PEFT's PeftModel"],
      ["model.module.", "DDP or DataParallel inside a `model` attribute"],
      ["_orig_mod.", "torch.compile's OptimizedModule"],
      ["module.", "DistributedDataParallel, DataParallel or a DeepSpeed engine"],
    ];
    for (const [prefix, wrapper] of table) {
      assert.deepEqual(await found(weightKeysCheck, withFiles(file("model.safetensors", keys(prefix, 4)))), [
        { check: "weight-keys", level: "warn", code: "WEIGHT_KEYS_WRAPPER_PREFIX", data: { file: "model.safetensors", prefix, wrapper, prefixed: 4, count: 4 }, file: "model.safetensors" },
      ], prefix);
    }
  });
  it("one finding per file", async () => {
    const c = withFiles(file("a.safetensors", keys("module.", 2)), file("b.safetensors", keys("", 2)));
    assert.deepEqual(await codes(weightKeysCheck, c), ["warn WEIGHT_KEYS_WRAPPER_PREFIX", "pass WEIGHT_KEYS_OK"]);
  });
  it("the 90 % and 10 % shares, each side (no key twice)", async () => {
    const cases: [string, string[], string][] = [
      ["90 of 100", [...keys("_orig_mod.", 90), ...keys("", 10, 90)], "warn WEIGHT_KEYS_WRAPPER_PREFIX"],
      ["89 of 100", [...keys("_orig_mod.", 89), ...keys("", 11, 89)], "error WEIGHT_KEYS_MIXED_PREFIX"],
      ["1 of 10", [...keys("_orig_mod.", 1), ...keys("", 9, 1)], "error WEIGHT_KEYS_MIXED_PREFIX"],
      ["1 of 11", [...keys("_orig_mod.", 1), ...keys("", 10, 1)], "pass WEIGHT_KEYS_OK"],
      ["module.: 89 of 100 is a submodule called module", [...keys("module.", 89), ...keys("", 11, 89)], "pass WEIGHT_KEYS_OK"],
      ["module.: 90 of 100", [...keys("module.", 90), ...keys("", 10, 90)], "warn WEIGHT_KEYS_WRAPPER_PREFIX"],
    ];
    for (const [what, names, want] of cases) assert.deepEqual(await codes(weightKeysCheck, withFiles(file("m", names))), [want], what);
  });
  it("a key both ways is an error however few or many are prefixed; the data names it", async () => {
    const all = [...keys("_orig_mod.", 10), "layer3.weight"];
    assert.deepEqual(await found(weightKeysCheck, withFiles(file("m", all))), [
      { check: "weight-keys", level: "error", code: "WEIGHT_KEYS_MIXED_PREFIX", data: { file: "m", prefix: "_orig_mod.", wrapper: "torch.compile's OptimizedModule", prefixed: 10, count: 11, plain: 1, both: 1, example: "_orig_mod.layer3.weight" }, file: "m" },
    ]);
    const few = ["module.head.weight", ...keys("", 30), "head.weight"];
    assert.deepEqual(await found(weightKeysCheck, withFiles(file("m", few))), [
      { check: "weight-keys", level: "error", code: "WEIGHT_KEYS_MIXED_PREFIX", data: { file: "m", prefix: "module.", wrapper: "DistributedDataParallel, DataParallel or a DeepSpeed engine", prefixed: 1, count: 32, plain: 31, both: 1, example: "module.head.weight" }, file: "m" },
    ]);
  });
  it("a mix without a key both ways names the first prefixed key", async () => {
    const names = ["x.a", "_orig_mod.b", "_orig_mod.c", "y.d"];
    assert.deepEqual((await found(weightKeysCheck, withFiles(file("m", names))))[0]!.data, { file: "m", prefix: "_orig_mod.", wrapper: "torch.compile's OptimizedModule", prefixed: 2, count: 4, plain: 2, both: 0, example: "_orig_mod.b" });
  });
  it("a stray prefixed key does not stop the next prefix from being judged", async () => {
    // _orig_mod. (1 of 20) is tried before module. (19 of 20)
    const names = ["_orig_mod.x.weight", ...keys("module.", 19)];
    assert.deepEqual((await found(weightKeysCheck, withFiles(file("m", names))))[0]!.data, { file: "m", prefix: "module.", wrapper: "DistributedDataParallel, DataParallel or a DeepSpeed engine", prefixed: 19, count: 20 });
  });
  it("base_model.model.model.module. is PEFT's prefix, longest first", async () => {
    assert.equal((await found(weightKeysCheck, withFiles(file("m", keys("base_model.model.module.", 3)))))[0]!.data["prefix"], "base_model.model.");
  });
  it("an adapter file's base_model.model. is PEFT's own naming, not a wrapper; other files' is", async () => {
    const lora = ["base_model.model.q.lora_A.weight", "base_model.model.q.lora_B.weight"];
    for (const rel of ["adapter_model.safetensors", "adapter_model.bin", "run/adapter_model.safetensors", "adapter_model"]) {
      assert.deepEqual(await codes(weightKeysCheck, withFiles(file(rel, lora))), ["pass WEIGHT_KEYS_OK"], rel);
    }
    for (const rel of ["my_adapter_model.safetensors", "adapter_model/model.safetensors", "model.safetensors"]) {
      assert.deepEqual(await codes(weightKeysCheck, withFiles(file(rel, lora))), ["warn WEIGHT_KEYS_WRAPPER_PREFIX"], rel);
    }
  });
  it("an adapter file's other prefixes are still judged", async () => {
    assert.deepEqual(await codes(weightKeysCheck, withFiles(file("adapter_model.safetensors", keys("module.", 2)))), ["warn WEIGHT_KEYS_WRAPPER_PREFIX"]);
  });
});

const ADAPTER_REL = "adapter_config.json";
const adapterConfig = (over: Partial<AdapterConfig> = {}): AdapterConfig => ({ rel: ADAPTER_REL, rankPattern: new Map(), ...over });
const tensor = (name: string, shape: number[]) => ({ name, dtype: "float32", shape });
/** An adapter file (its own keys pass) and the adapter config; the adapter findings come after the file's pass. */
function withAdapter(a: AdapterConfig, tensors: { name: string; dtype: string; shape: number[] }[]): NormalisedCheckpoint {
  const c = withFiles({ ...file("adapter_model.safetensors", []), tensors });
  c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], adapter: a };
  return c;
}
const pair = (module: string, r: number, inner = 16) => [tensor(`base_model.model.${module}.lora_A.weight`, [r, inner]), tensor(`base_model.model.${module}.lora_B.weight`, [inner, r])];
async function adapterOnly(a: AdapterConfig, tensors: { name: string; dtype: string; shape: number[] }[]) {
  const all = await found(weightKeysCheck, withAdapter(a, tensors));
  assert.deepEqual(all[0]!.code, "WEIGHT_KEYS_OK");
  return all.slice(1);
}

describe("weight-keys: a PEFT adapter against its adapter_config.json", () => {
  it("an unreadable config is an error with its reason", async () => {
    assert.deepEqual(await adapterOnly(adapterConfig({ problem: "not JSON" }), pair("q", 8)), [
      { check: "weight-keys", level: "error", code: "ADAPTER_CONFIG_INVALID", data: { file: ADAPTER_REL, reason: "not JSON" }, file: ADAPTER_REL },
    ]);
  });
  it("ranks and targets that fit: one pass counting every LoRA tensor", async () => {
    assert.deepEqual(await adapterOnly(adapterConfig({ r: 8, targetModules: ["q_proj", "v_proj"] }), [...pair("layers.0.q_proj", 8), ...pair("layers.0.v_proj", 8)]), [
      { check: "weight-keys", level: "pass", code: "ADAPTER_CONFIG_OK", data: { file: ADAPTER_REL, r: 8, targets: ["q_proj", "v_proj"], count: 4 }, file: ADAPTER_REL },
    ]);
  });
  it("the targets as recorded: a pattern is shown, not run; none recorded", async () => {
    const [p] = await adapterOnly(adapterConfig({ r: 8, targetModules: ".*q_proj" }), pair("q_proj", 8));
    assert.deepEqual(p!.data, { file: ADAPTER_REL, r: 8, targets: "/.*q_proj/ (a pattern, not checked)", count: 2 });
    const [n] = await adapterOnly(adapterConfig({ r: 8 }), pair("q_proj", 8));
    assert.deepEqual(n!.data, { file: ADAPTER_REL, r: 8, targets: "(none recorded)", count: 2 });
    const [x] = await adapterOnly(adapterConfig({ rankPattern: new Map([["q_proj", 4]]) }), pair("q_proj", 4));
    assert.deepEqual(x!.data, { file: ADAPTER_REL, r: "per rank_pattern", targets: "(none recorded)", count: 2 });
  });
  it("the rank: lora_A's first dimension, lora_B's second; one finding per module", async () => {
    assert.deepEqual(await adapterOnly(adapterConfig({ r: 8 }), pair("layers.0.q_proj", 4)), [
      { check: "weight-keys", level: "error", code: "ADAPTER_RANK_MISMATCH", data: { file: ADAPTER_REL, r: 8, module: "layers.0.q_proj", tensor: "base_model.model.layers.0.q_proj.lora_A.weight", actual: 4 }, file: ADAPTER_REL },
    ]);
    // lora_B alone: its second dimension is the rank, the first is the module's width
    assert.deepEqual(
      (await adapterOnly(adapterConfig({ r: 8 }), [tensor("base_model.model.k.lora_B.weight", [8, 4])])).map((f) => f.data["actual"]),
      [4],
    );
    assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor("base_model.model.k.lora_B.weight", [4, 8])])), ["pass WEIGHT_KEYS_OK", "pass ADAPTER_CONFIG_OK"]);
    // lora_A with the rank second is a mismatch
    assert.deepEqual((await adapterOnly(adapterConfig({ r: 8 }), [tensor("base_model.model.k.lora_A.weight", [16, 8])])).map((f) => f.data["actual"]), [16]);
  });
  it("names PEFT writes: with or without base_model.model., with an adapter name; other names are not LoRA tensors", async () => {
    const lora = ["base_model.model.q.lora_A.weight", "q.lora_A.weight", "base_model.model.q.lora_A.default.weight", "a.b.q.lora_B.weight"];
    for (const name of lora) {
      const shape = name.includes("lora_A") ? [4, 16] : [16, 4];
      assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor(name, shape)])), ["pass WEIGHT_KEYS_OK", "error ADAPTER_RANK_MISMATCH"], name);
    }
    const module = (name: string) => adapterOnly(adapterConfig({ r: 8 }), [tensor(name, [4, 16])]).then((f) => f.map((x) => x.data["module"]));
    assert.deepEqual(await module("base_model.model.layers.0.q.lora_A.default.weight"), ["layers.0.q"]);
    assert.deepEqual(await module("q.lora_A.weight"), ["q"]);
    const other = ["q.lora_A.bias", "q.lora_C.weight", "lora_A.weight", "q.lora_A.a.b.weight", "q.lora_A.weightx", "xq.lora_Ax.weight", "q.lora_a.weight", "q.lora_embedding_A"];
    for (const name of other) assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor(name, [4, 16])])), ["pass WEIGHT_KEYS_OK"], name);
  });
  it("only 2-D tensors count", async () => {
    for (const shape of [[4], [4, 16, 1], []]) assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor("q.lora_A.weight", shape)])), ["pass WEIGHT_KEYS_OK"], String(shape));
  });
  it("names up to 1024 characters are read, longer ones are not", async () => {
    const name = (n: number) => `${"m".repeat(n - "q.lora_A.weight".length)}q.lora_A.weight`;
    assert.equal(name(1024).length, 1024);
    assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor(name(1024), [4, 16])])), ["pass WEIGHT_KEYS_OK", "error ADAPTER_RANK_MISMATCH"]);
    assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor(name(1025), [4, 16])])), ["pass WEIGHT_KEYS_OK"]);
  });
  it("rank_pattern: the module's name or a dotted suffix of it wins over r; a bare substring does not", async () => {
    const a = adapterConfig({ r: 8, rankPattern: new Map([["q_proj", 4], ["layers.1.k", 2]]) });
    const actual = async (module: string, rank: number) => (await adapterOnly(a, pair(module, rank))).map((f) => [f.code, f.data["r"]]);
    assert.deepEqual(await actual("q_proj", 4), [["ADAPTER_CONFIG_OK", 8]]);
    assert.deepEqual(await actual("layers.0.q_proj", 4), [["ADAPTER_CONFIG_OK", 8]]);
    assert.deepEqual(await actual("layers.0.xq_proj", 4), [["ADAPTER_RANK_MISMATCH", 8]]);
    assert.deepEqual(await actual("layers.0.xq_proj", 8), [["ADAPTER_CONFIG_OK", 8]]);
    assert.deepEqual(await actual("layers.1.k", 2), [["ADAPTER_CONFIG_OK", 8]]);
    assert.deepEqual(await actual("layers.1.k", 8), [["ADAPTER_RANK_MISMATCH", 2]]);
  });
  it("no r and no pattern for a module: its rank is not judged", async () => {
    assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig(), pair("q", 5))), ["pass WEIGHT_KEYS_OK", "pass ADAPTER_CONFIG_OK"]);
  });
  it("target_modules as a list: the module's name or its last dotted parts; every finding of a module", async () => {
    const a = adapterConfig({ r: 8, targetModules: ["q_proj", "attn.k"] });
    const of = async (module: string, rank = 8) => (await adapterOnly(a, pair(module, rank))).map((f) => f.code);
    assert.deepEqual(await of("q_proj"), ["ADAPTER_CONFIG_OK"]);
    assert.deepEqual(await of("layers.0.q_proj"), ["ADAPTER_CONFIG_OK"]);
    assert.deepEqual(await of("layers.0.attn.k"), ["ADAPTER_CONFIG_OK"]);
    assert.deepEqual(await of("layers.0.xq_proj"), ["ADAPTER_UNTARGETED"]);
    assert.deepEqual(await of("layers.0.xq_proj", 4), ["ADAPTER_RANK_MISMATCH", "ADAPTER_UNTARGETED"]);
    assert.deepEqual(await adapterOnly(a, pair("v", 8)), [
      { check: "weight-keys", level: "warn", code: "ADAPTER_UNTARGETED", data: { file: ADAPTER_REL, tensor: "base_model.model.v.lora_A.weight", module: "v", targets: ["q_proj", "attn.k"] }, file: ADAPTER_REL },
    ]);
  });
  it("target_modules as a pattern: nothing is untargeted", async () => {
    assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8, targetModules: "q" }), pair("v", 8))), ["pass WEIGHT_KEYS_OK", "pass ADAPTER_CONFIG_OK"]);
  });
  it("no LoRA tensor: no adapter finding", async () => {
    assert.deepEqual(await codes(weightKeysCheck, withAdapter(adapterConfig({ r: 8 }), [tensor("x.weight", [4, 16])])), ["pass WEIGHT_KEYS_OK"]);
  });
  it("LoRA tensors across files are judged together", async () => {
    const c = withFiles({ ...file("adapter_model-1.safetensors", []), tensors: [pair("q", 8)[0]!] }, { ...file("adapter_model-2.safetensors", []), tensors: [pair("q", 8)[1]!, ...pair("v", 8)] });
    c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], adapter: adapterConfig({ r: 8 }) };
    assert.deepEqual((await found(weightKeysCheck, c)).at(-1)!.data, { file: ADAPTER_REL, r: 8, targets: "(none recorded)", count: 4 });
  });
});

const optimizerView = (over: Partial<OptimizerView> = {}): OptimizerView => ({
  ref: { where: "optimizer.pt", required: true },
  steps: [{ param: "0", step: 100 }, { param: "1", step: 100 }],
  stateCount: 2,
  paramCount: 2,
  hyper: new Map(),
  momentShapes: [],
  moments: [{ param: "0", key: "exp_avg", dtype: "float32" }, { param: "0", key: "exp_avg_sq", dtype: "float32" }],
  ...over,
});
function withOptimizer(o: OptimizerView | undefined, weightDtypes?: string[], integrity?: IntegrityResult[]): NormalisedCheckpoint {
  const c = base();
  if (o) c.optimizer = { state: "present", view: o };
  if (weightDtypes) c.weights = { candidates: [], unusable: [], missingShards: [], files: [{ ...file("model.safetensors", []), tensors: weightDtypes.map((dtype, i) => ({ name: `t${i}`, dtype, shape: [1] })) }] };
  if (integrity) c.integrity = integrity;
  return c;
}
const scan = (rel: string, allZero: string[]): IntegrityResult => ({ rel, bytesRead: 0, recordsChecked: 0, crcNotRecorded: 0, crcMismatches: [], nonFinite: [], allZero, readErrors: [] });
const half = (dtype: string) => optimizerView({ moments: [{ param: "layer.w", key: "exp_avg", dtype }, { param: "layer.w", key: "exp_avg_sq", dtype }, { param: "b", key: "exp_avg", dtype: "float32" }] });

describe("optimizer-health", () => {
  it("skips without an optimizer state, or without moments", async () => {
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(undefined)), ["skip: no readable optimizer state"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(optimizerView({ moments: [] }))), ["skip: the optimizer holds no per-parameter moment tensors"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(optimizerView({ moments: undefined }))), ["skip: the optimizer holds no per-parameter moment tensors"]);
  });
  it("healthy: the moments, their dtypes once each, the parameters with state", async () => {
    const o = optimizerView({ stateCount: 2, paramCount: 2, moments: [{ param: "0", key: "exp_avg", dtype: "float32" }, { param: "0", key: "exp_avg_sq", dtype: "float32" }, { param: "1", key: "momentum_buffer", dtype: "float64" }] });
    assert.deepEqual(await found(optimizerHealthCheck, withOptimizer(o, ["float32"])), [
      { check: "optimizer-health", level: "pass", code: "OPTIMIZER_HEALTH_OK", data: { moments: 3, dtypes: "float32, float64", withState: 2, params: 2 } },
    ]);
  });
  it("16-bit moments against float32 weights: a warning, no pass", async () => {
    for (const dtype of ["float16", "bfloat16"]) {
      assert.deepEqual(await found(optimizerHealthCheck, withOptimizer(half(dtype), ["float32", "int64"])), [
        { check: "optimizer-health", level: "warn", code: "OPTIMIZER_MOMENTS_LOW_PRECISION", data: { count: 2, dtypes: dtype, example: "layer.w.exp_avg", weights: "float32" } },
      ], dtype);
    }
  });
  it("16-bit moments with 16-bit weights only: information (a pure 16-bit run)", async () => {
    assert.deepEqual(await found(optimizerHealthCheck, withOptimizer(half("bfloat16"), ["bfloat16", "float16", "int64", "bool"])), [
      { check: "optimizer-health", level: "info", code: "OPTIMIZER_MOMENTS_LOW_PRECISION", data: { count: 2, dtypes: "bfloat16", example: "layer.w.exp_avg", weights: "bfloat16, float16" } },
    ]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(half("float16"), ["float16", "float32"])), ["warn OPTIMIZER_MOMENTS_LOW_PRECISION"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(half("float16"), ["float16", "float64"])), ["warn OPTIMIZER_MOMENTS_LOW_PRECISION"]);
  });
  it("16-bit moments without readable float weights: a warning naming that", async () => {
    for (const weights of [undefined, ["int64", "uint8"]]) {
      const [f] = await found(optimizerHealthCheck, withOptimizer(half("float16"), weights));
      assert.deepEqual([f!.level, f!.data["weights"]], ["warn", "not readable"], String(weights));
    }
  });
  it("the 16-bit dtypes, once each", async () => {
    const o = optimizerView({ moments: [{ param: "a", key: "exp_avg", dtype: "bfloat16" }, { param: "a", key: "exp_avg_sq", dtype: "float16" }, { param: "b", key: "exp_avg", dtype: "bfloat16" }] });
    assert.deepEqual((await found(optimizerHealthCheck, withOptimizer(o, ["float32"])))[0]!.data, { count: 3, dtypes: "bfloat16, float16", example: "a.exp_avg", weights: "float32" });
  });
  it("parameters without state while the others stepped: information; each side", async () => {
    const partial = (stateCount: number, paramCount: number, steps: (number | undefined)[]) => optimizerView({ stateCount, paramCount, steps: steps.map((step, i) => ({ param: String(i), step })) });
    assert.deepEqual(await found(optimizerHealthCheck, withOptimizer(partial(2, 5, [100, 100]), ["float32"])), [
      { check: "optimizer-health", level: "pass", code: "OPTIMIZER_HEALTH_OK", data: { moments: 2, dtypes: "float32", withState: 2, params: 5 } },
      { check: "optimizer-health", level: "info", code: "OPTIMIZER_STATE_PARTIAL", data: { missing: 3, params: 5, steps: 100 } },
    ]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(partial(4, 5, [7]), ["float32"])), ["pass OPTIMIZER_HEALTH_OK", "info OPTIMIZER_STATE_PARTIAL"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(partial(5, 5, [100]), ["float32"])), ["pass OPTIMIZER_HEALTH_OK"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(partial(6, 5, [100]), ["float32"])), ["pass OPTIMIZER_HEALTH_OK"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(partial(0, 5, [100]), ["float32"])), ["pass OPTIMIZER_HEALTH_OK"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(partial(2, 5, [undefined, undefined]), ["float32"])), ["pass OPTIMIZER_HEALTH_OK"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(partial(2, 5, [0, 0]), ["float32"])), ["pass OPTIMIZER_HEALTH_OK"]);
  });
  it("--deep: an all-zero exp_avg_sq beside a non-zero exp_avg is an error; both zero is not", async () => {
    const integrity = [scan("optimizer.pt", ["state.0.exp_avg_sq", "state.1.exp_avg_sq", "state.1.exp_avg", "state.2.max_exp_avg_sq", "exp_avg_sq", "state.3.exp_avg_sq.x", "state.4.myexp_avg_sq"]), scan("other.pt", [])];
    assert.deepEqual(await found(optimizerHealthCheck, withOptimizer(optimizerView(), ["float32"], integrity), { deep: true }), [
      { check: "optimizer-health", level: "pass", code: "OPTIMIZER_HEALTH_OK", data: { moments: 2, dtypes: "float32", withState: 2, params: 2 } },
      { check: "optimizer-health", level: "error", code: "OPTIMIZER_SECOND_MOMENT_ZERO", data: { file: "optimizer.pt", tensor: "state.0.exp_avg_sq", firstMoment: "state.0.exp_avg" }, file: "optimizer.pt" },
      { check: "optimizer-health", level: "error", code: "OPTIMIZER_SECOND_MOMENT_ZERO", data: { file: "optimizer.pt", tensor: "exp_avg_sq", firstMoment: "exp_avg" }, file: "optimizer.pt" },
    ]);
  });
  it("--deep: only the name's last exp_avg_sq becomes exp_avg (a module may be called exp_avg_sq_...)", async () => {
    // p.exp_avg_sq_gate's first moment is p.exp_avg_sq_gate.exp_avg (not zero); p.exp_avg_gate's is p.exp_avg_gate.exp_avg (not zero)
    const integrity = [scan("o", ["p.exp_avg_sq_gate.exp_avg_sq", "p.exp_avg_gate.exp_avg_sq"])];
    assert.deepEqual((await found(optimizerHealthCheck, withOptimizer(undefined, undefined, integrity), { deep: true })).map((f) => [f.data["tensor"], f.data["firstMoment"]]), [
      ["p.exp_avg_sq_gate.exp_avg_sq", "p.exp_avg_sq_gate.exp_avg"],
      ["p.exp_avg_gate.exp_avg_sq", "p.exp_avg_gate.exp_avg"],
    ]);
  });
  it("without --deep the scan's zeros are not read", async () => {
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(optimizerView(), ["float32"], [scan("o", ["state.0.exp_avg_sq"])])), ["pass OPTIMIZER_HEALTH_OK"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(undefined, undefined, [scan("o", ["state.0.exp_avg_sq"])])), ["skip: no readable optimizer state"]);
  });
  it("--deep zeros are reported without an optimizer view, and without moments (no pass then)", async () => {
    const integrity = [scan("o", ["state.0.exp_avg_sq"])];
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(undefined, undefined, integrity), { deep: true }), ["error OPTIMIZER_SECOND_MOMENT_ZERO"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(optimizerView({ moments: [] }), undefined, integrity), { deep: true }), ["error OPTIMIZER_SECOND_MOMENT_ZERO"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(undefined, undefined, [scan("o", [])]), { deep: true }), ["skip: no readable optimizer state"]);
    assert.deepEqual(await codes(optimizerHealthCheck, withOptimizer(undefined), { deep: true }), ["skip: no readable optimizer state"]);
  });
});

const rngFinding: RankFinding = { level: "warn", code: "RNG_RANKS_NOT_CONTIGUOUS", data: { missing: "1" }, file: "rng_state_2.pth" };
function withRng(ranks: number, files: string[], findings: RankFinding[] = [rngFinding], layout = "hf-trainer"): NormalisedCheckpoint {
  const c = base(layout);
  c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], rng: { ranks, files, findings } };
  return c;
}
const save = (over: Partial<ShardedSave> = {}): ShardedSave => ({ format: "deepspeed", rel: "global_step10", describe: "d", findings: [], ...over });
const load = (devices: [string, number][], mapsLocation = false): TorchLoad => ({ rel: "f.pt", by: "your training script", mapsLocation, weightsOnly: { allow: [], blockers: [] }, devices: new Map(devices) });

describe("rank-state", () => {
  it("skips: nothing per-rank, or nothing to compare", async () => {
    assert.deepEqual(await codes(rankStateCheck, base()), ["skip: no per-rank files; --world-size and --gpus compare the checkpoint with the resume"]);
    assert.deepEqual(await codes(rankStateCheck, withRng(1, ["rng_state.pth"], [])), ["skip: nothing per-rank to compare"]);
    assert.deepEqual(await codes(rankStateCheck, base(), { worldSize: 2 }), ["skip: nothing per-rank to compare"]);
    assert.deepEqual(await codes(rankStateCheck, base(), { gpus: 1 }), ["skip: nothing per-rank to compare"]);
  });
  it("the layout's RNG findings are reported as judged, file included", async () => {
    const info = { level: "info" as const, code: "RNG_STATE_OK" as const, data: { n: 2 } };
    assert.deepEqual(await found(rankStateCheck, withRng(2, ["a", "b"], [rngFinding, info])), [
      { check: "rank-state", level: "warn", code: "RNG_RANKS_NOT_CONTIGUOUS", data: { missing: "1" }, file: "rng_state_2.pth" },
      { check: "rank-state", level: "info", code: "RNG_STATE_OK", data: { n: 2 } },
    ]);
  });
  it("Trainer's RNG files against --world-size: each consequence", async () => {
    const changed = async (saved: number, n: number, files: string[]) => (await found(rankStateCheck, withRng(saved, files, []), { worldSize: n }))[0]!;
    const what2 = "hf-trainer RNG state (2 file(s))";
    assert.deepEqual(await found(rankStateCheck, withRng(2, ["rng_state_0.pth", "rng_state_1.pth"], []), { worldSize: 2 }), [{ check: "rank-state", level: "pass", code: "WORLD_SIZE_MATCHES", data: { what: what2, saved: 2 } }]);
    assert.deepEqual(await changed(2, 1, ["rng_state_0.pth", "rng_state_1.pth"]), {
      check: "rank-state",
      level: "warn",
      code: "WORLD_SIZE_CHANGED",
      data: { what: what2, saved: 2, resume: 1, consequence: "Trainer looks for rng_state.pth, which a multi-process save does not write: the resumed process gets no RNG state; the global batch changes by 1/2, so Trainer's fast-forward (computed for the new size) does not land where the run stopped" },
    });
    assert.equal((await changed(1, 4, ["rng_state.pth"])).data["consequence"], "Trainer looks for rng_state_<rank>.pth, which a single-process save does not write: no process gets its RNG state; the global batch changes by 4/1, so Trainer's fast-forward (computed for the new size) does not land where the run stopped");
    assert.equal((await changed(2, 4, ["a", "b"])).data["consequence"], "ranks 2..3 find no RNG file and start with fresh random state; the global batch changes by 4/2, so Trainer's fast-forward (computed for the new size) does not land where the run stopped");
    assert.equal((await changed(4, 3, ["a", "b", "c", "d"])).data["consequence"], "the RNG files of ranks 3..3 go unused; the global batch changes by 3/4, so Trainer's fast-forward (computed for the new size) does not land where the run stopped");
    assert.equal((await changed(4, 2, ["a", "b", "c", "d"])).data["consequence"], "the RNG files of ranks 2..3 go unused; the global batch changes by 2/4, so Trainer's fast-forward (computed for the new size) does not land where the run stopped");
    assert.equal((await changed(1, 1, ["rng_state.pth"])).code, "WORLD_SIZE_MATCHES");
  });
  it("a multi-rank save compares its own recorded world size, not the RNG files'", async () => {
    const c = withRng(2, ["a", "b"], []);
    c.sharded = [save({ worldSize: 4, reshards: false }), save({ format: "dcp", worldSize: undefined })];
    assert.deepEqual(await found(rankStateCheck, c, { worldSize: 2 }), [
      { check: "rank-state", level: "error", code: "WORLD_SIZE_CHANGED", data: { what: "the deepspeed save", saved: 4, resume: 2, consequence: "deepspeed refuses to load a save of 4 ranks into 2" } },
    ]);
    c.sharded = [save({ worldSize: undefined })];
    assert.deepEqual(await codes(rankStateCheck, c, { worldSize: 2 }), ["skip: nothing per-rank to compare"]);
  });
  it("a multi-rank save's consequences", async () => {
    const consequence = async (reshards: boolean | undefined) => {
      const c = base();
      c.sharded = [save({ worldSize: 4, ...(reshards === undefined ? {} : { reshards }) })];
      const [f] = await found(rankStateCheck, c, { worldSize: 8 });
      return [f!.level, f!.data["consequence"]];
    };
    assert.deepEqual(await consequence(true), ["info", "deepspeed reshards on load"]);
    assert.deepEqual(await consequence(false), ["error", "deepspeed refuses to load a save of 4 ranks into 8"]);
    assert.deepEqual(await consequence(undefined), ["warn", "check that deepspeed can load a save of 4 ranks into 8 (see the ranks check)"]);
    const c = base();
    c.sharded = [save({ worldSize: 4, reshards: false })];
    assert.deepEqual(await found(rankStateCheck, c, { worldSize: 4 }), [{ check: "rank-state", level: "pass", code: "WORLD_SIZE_MATCHES", data: { what: "the deepspeed save", saved: 4 } }]);
  });
  it("--gpus: storages on cuda:K need K + 1 GPUs; cuda alone is cuda:0; other devices are not GPUs", async () => {
    const withLoads = (...loads: TorchLoad[]) => {
      const c = base();
      c.resume = { torchLoads: loads, loggedNonFinite: [], recordedPaths: [] };
      return c;
    };
    const c = withLoads(load([["cuda:1", 3], ["cpu", 2], ["cuda", 1], ["xcuda:5", 1], ["cuda:5x", 1], ["mps", 1], ["cuda:", 1]]));
    assert.deepEqual(await found(rankStateCheck, c, { gpus: 1 }), [{ check: "rank-state", level: "warn", code: "CUDA_DEVICE_OUT_OF_RANGE", data: { file: "f.pt", count: 3, device: "cuda:1", gpus: 1, by: "your training script" }, file: "f.pt" }]);
    assert.deepEqual(await codes(rankStateCheck, c, { gpus: 2 }), ["skip: nothing per-rank to compare"]);
    assert.deepEqual(await codes(rankStateCheck, withLoads(load([["cuda", 1]])), { gpus: 0 }), ["warn CUDA_DEVICE_OUT_OF_RANGE"]);
    assert.deepEqual(await found(rankStateCheck, withLoads(load([["cuda:12", 1]], true), load([["cuda:11", 2]])), { gpus: 12 }), [
      { check: "rank-state", level: "info", code: "CUDA_DEVICES_MAPPED", data: { file: "f.pt", count: 1, device: "cuda:12", gpus: 12, by: "your training script" }, file: "f.pt" },
    ]);
  });
  it("without --gpus, storages on any cuda device are not judged", async () => {
    const c = base();
    c.resume = { torchLoads: [load([["cuda:7", 1], ["cuda", 1]])], loggedNonFinite: [], recordedPaths: [] };
    assert.deepEqual(await codes(rankStateCheck, c), ["skip: no per-rank files; --world-size and --gpus compare the checkpoint with the resume"]);
    assert.deepEqual(await codes(rankStateCheck, c, { worldSize: 1 }), ["skip: nothing per-rank to compare"]);
  });
  it("--world-size and --gpus together, after the RNG findings", async () => {
    const c = withRng(2, ["a", "b"]);
    c.resume!.torchLoads = [load([["cuda:1", 1]])];
    assert.deepEqual(await codes(rankStateCheck, c, { worldSize: 2, gpus: 1 }), ["warn RNG_RANKS_NOT_CONTIGUOUS", "pass WORLD_SIZE_MATCHES", "warn CUDA_DEVICE_OUT_OF_RANGE"]);
  });
});

const loadOf = (allow: string[], blockers: string[] = [], frameworkAllows?: TorchLoad["frameworkAllows"]): TorchLoad => ({ rel: "rng_state.pth", by: "Trainer._load_rng_state", mapsLocation: false, weightsOnly: { allow, blockers }, devices: new Map(), ...(frameworkAllows ? { frameworkAllows } : {}) });
function withTorchLoads(...loads: TorchLoad[]): NormalisedCheckpoint {
  const c = base();
  c.resume = { torchLoads: loads, loggedNonFinite: [], recordedPaths: [] };
  return c;
}
const who = { file: "rng_state.pth", by: "Trainer._load_rng_state" };

describe("torch-load", () => {
  it("skips when the resume torch.loads nothing decodable", async () => {
    assert.deepEqual(await codes(torchLoadCheck, base()), ["skip: the resume torch.loads no file that could be decoded"]);
    assert.deepEqual(await codes(torchLoadCheck, withTorchLoads()), ["skip: the resume torch.loads no file that could be decoded"]);
  });
  it("loads as it is", async () => {
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(loadOf([]))), [{ check: "torch-load", level: "pass", code: "TORCH_LOAD_OK", data: who, file: "rng_state.pth" }]);
  });
  it("loads because the framework allowlists everything it needs", async () => {
    const l = loadOf(["numpy.core.multiarray._reconstruct", "numpy.ndarray"], [], { names: ["numpy.ndarray", "numpy.core.multiarray._reconstruct", "numpy.dtype"], how: "safe_globals()" });
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(l)), [
      { check: "torch-load", level: "pass", code: "TORCH_LOAD_FRAMEWORK_ALLOWS", data: { ...who, globals: ["numpy.core.multiarray._reconstruct", "numpy.ndarray"], how: "safe_globals()", code: "torch.serialization.add_safe_globals([numpy.core.multiarray._reconstruct, numpy.ndarray])" }, file: "rng_state.pth" },
    ]);
  });
  it("needs what the framework does not allow: information, a warning under --torch-load weights-only", async () => {
    const l = loadOf(["argparse.Namespace", "numpy.ndarray"], [], { names: ["numpy.ndarray"], how: "h" });
    const want = (level: string) => [{ check: "torch-load", level, code: "TORCH_LOAD_NEEDS_SAFE_GLOBALS", data: { ...who, globals: ["argparse.Namespace"], code: "torch.serialization.add_safe_globals([argparse.Namespace])" }, file: "rng_state.pth" }];
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(l)), want("info"));
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(l), { torchLoad: "any" }), want("info"));
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(l), { torchLoad: "weights-only" }), want("warn"));
    assert.deepEqual(await codes(torchLoadCheck, withTorchLoads(loadOf(["a.B"]))), ["info TORCH_LOAD_NEEDS_SAFE_GLOBALS"]);
  });
  it("100 globals are listed with their line; 101 are cut, with no line", async () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `m.G${i}`);
    const [hundred] = await found(torchLoadCheck, withTorchLoads(loadOf(names(100))));
    assert.deepEqual(hundred!.data["globals"], names(100));
    assert.equal(hundred!.data["code"], `torch.serialization.add_safe_globals([${names(100).join(", ")}])`);
    const [more] = await found(torchLoadCheck, withTorchLoads(loadOf(names(102))));
    assert.deepEqual(more!.data["globals"], [...names(100), "... 2 more"]);
    assert.equal(more!.data["code"], "(102 globals: too many to allowlist one by one)");
  });
  it("a blocker refuses the load whatever is allowed; at most 100 reasons", async () => {
    const l = loadOf(["a.B"], ["posix.system: torch blocks module posix"], { names: ["a.B"], how: "h" });
    const want = (level: string) => [{ check: "torch-load", level, code: "TORCH_LOAD_REFUSED", data: { ...who, reasons: ["posix.system: torch blocks module posix"] }, file: "rng_state.pth" }];
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(l)), want("info"));
    assert.deepEqual(await found(torchLoadCheck, withTorchLoads(l), { torchLoad: "weights-only" }), want("warn"));
    const reasons = Array.from({ length: 101 }, (_, i) => `r${i}`);
    assert.deepEqual((await found(torchLoadCheck, withTorchLoads(loadOf([], reasons))))[0]!.data["reasons"], reasons.slice(0, 100));
  });
  it("one finding per load, in order", async () => {
    assert.deepEqual(await codes(torchLoadCheck, withTorchLoads(loadOf([]), loadOf(["a.B"]), loadOf([], ["x"]))), ["pass TORCH_LOAD_OK", "info TORCH_LOAD_NEEDS_SAFE_GLOBALS", "info TORCH_LOAD_REFUSED"]);
  });
});

const path = (over: Partial<RecordedPath> = {}): RecordedPath => ({ where: "trainer_state.json: best_model_checkpoint", path: "out/checkpoint-250", exists: true, consequence: "c", ...over });
function withPaths(...recordedPaths: RecordedPath[]): NormalisedCheckpoint {
  const c = base();
  c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths };
  return c;
}

describe("recorded-paths", () => {
  it("skips when the state records no paths", async () => {
    assert.deepEqual(await codes(recordedPathsCheck, base()), ["skip: the state records no paths to other checkpoints"]);
    assert.deepEqual(await codes(recordedPathsCheck, withPaths()), ["skip: the state records no paths to other checkpoints"]);
  });
  it("the paths there: one pass, each place named once", async () => {
    const c = withPaths(path(), path({ path: "b" }), path({ where: "last.ckpt: callbacks.ModelCheckpoint.best_model_path" }));
    assert.deepEqual(await found(recordedPathsCheck, c), [
      { check: "recorded-paths", level: "pass", code: "RECORDED_PATHS_OK", data: { count: 3, where: "trainer_state.json: best_model_checkpoint, last.ckpt: callbacks.ModelCheckpoint.best_model_path" } },
    ]);
  });
  it("a missing path: a warning, or information when nothing reads it; beside the checkpoint named", async () => {
    const c = withPaths(path({ path: "gone", exists: false, nextToCheckpoint: "/runs/checkpoint-250", consequence: "load_best_model_at_end fails" }), path({ exists: false, unused: true }), path({ where: "w", exists: true }));
    assert.deepEqual(await found(recordedPathsCheck, c), [
      { check: "recorded-paths", level: "pass", code: "RECORDED_PATHS_OK", data: { count: 1, where: "w" } },
      { check: "recorded-paths", level: "warn", code: "RECORDED_PATH_MISSING", data: { where: "trainer_state.json: best_model_checkpoint", path: "gone", beside: " (one of that name is next to this checkpoint, /runs/checkpoint-250: the run folder moved?)", nextToCheckpoint: "/runs/checkpoint-250", consequence: "load_best_model_at_end fails" } },
      { check: "recorded-paths", level: "info", code: "RECORDED_PATH_MISSING", data: { where: "trainer_state.json: best_model_checkpoint", path: "out/checkpoint-250", beside: "", nextToCheckpoint: undefined, consequence: "c" } },
    ]);
  });
  it("every path missing: no pass", async () => {
    assert.deepEqual(await codes(recordedPathsCheck, withPaths(path({ exists: false }), path({ exists: false, unused: false }))), ["warn RECORDED_PATH_MISSING", "warn RECORDED_PATH_MISSING"]);
  });
});

function withSaves(...saves: ShardedSave[]): NormalisedCheckpoint {
  const c = base("deepspeed");
  c.sharded = saves;
  return c;
}

describe("ranks", () => {
  it("skips a save that is not multi-rank", async () => {
    assert.deepEqual(await codes(ranksCheck, base()), ["skip: not a multi-rank save"]);
  });
  it("a save at the root: its summary and a pass, with no file", async () => {
    assert.deepEqual(await found(ranksCheck, withSaves(save({ rel: "", describe: "ZeRO-2, 2 ranks" }))), [
      { check: "ranks", level: "info", code: "RANKS_SUMMARY", data: { format: "deepspeed", where: "the checkpoint folder", describe: "ZeRO-2, 2 ranks" } },
      { check: "ranks", level: "pass", code: "RANKS_CONSISTENT", data: { format: "deepspeed", where: "the checkpoint folder" } },
    ]);
  });
  it("a save in a folder: the folder is the file; information findings leave it consistent", async () => {
    const info: RankFinding = { level: "info", code: "DS_LATEST_NOT_NEWEST", data: { stage: 2 } };
    const s = save({ rel: "global_step10", findings: [info] });
    assert.deepEqual(await found(ranksCheck, withSaves(s)), [
      { check: "ranks", level: "info", code: "RANKS_SUMMARY", data: { format: "deepspeed", where: "global_step10", describe: "d" }, file: "global_step10" },
      { check: "ranks", level: "info", code: "DS_LATEST_NOT_NEWEST", data: { stage: 2 } },
      { check: "ranks", level: "pass", code: "RANKS_CONSISTENT", data: { format: "deepspeed", where: "global_step10" }, file: "global_step10" },
    ]);
  });
  it("a warning or an error among the layout's findings: no pass", async () => {
    for (const level of ["warn", "error"] as const) {
      const s = save({ findings: [{ level: "info", code: "DS_LATEST_NOT_NEWEST", data: {} }, { level, code: "DS_TAG_NO_FILES", data: { rank: 1 }, file: "global_step10/zero_pp_rank_1_mp_rank_00_optim_states.pt" }] });
      assert.deepEqual(await found(ranksCheck, withSaves(s)), [
        { check: "ranks", level: "info", code: "RANKS_SUMMARY", data: { format: "deepspeed", where: "global_step10", describe: "d" }, file: "global_step10" },
        { check: "ranks", level: "info", code: "DS_LATEST_NOT_NEWEST", data: {} },
        { check: "ranks", level, code: "DS_TAG_NO_FILES", data: { rank: 1 }, file: "global_step10/zero_pp_rank_1_mp_rank_00_optim_states.pt" },
      ], level);
    }
  });
  it("each save on its own", async () => {
    const bad = save({ format: "dcp", rel: "b", findings: [{ level: "error", code: "DS_TAG_NO_FILES", data: {} }] });
    assert.deepEqual(await codes(ranksCheck, withSaves(save(), bad)), ["info RANKS_SUMMARY", "pass RANKS_CONSISTENT", "info RANKS_SUMMARY", "error DS_TAG_NO_FILES"]);
  });
});

function resumed(over: { stepsToSkip?: number; skipFormula?: string; globalStep?: number; end?: NonNullable<NormalisedCheckpoint["resume"]>["end"] } = {}): NormalisedCheckpoint {
  const c = base("hf-trainer");
  c.progress = { state: "present", view: { gradAccum: 1, gradAccumRecorded: true, metrics: [], describe: "", ...(over.stepsToSkip === undefined ? {} : { stepsToSkip: over.stepsToSkip, skipFormula: over.skipFormula }), ...(over.globalStep === undefined ? {} : { globalStep: over.globalStep }) } };
  c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], ...(over.end ? { end: over.end } : {}) };
  return c;
}
const oneCycle = (lastEpoch: number | undefined, totalSteps: PyValue | undefined, kind = "OneCycleLR") => ({
  state: "present" as const,
  view: { ref: { where: "scheduler.pt", required: false }, kind, lastLr: [], baseLrs: [], fields: new Map<string, PyValue>(totalSteps === undefined ? [] : [["total_steps", totalSteps]]), ...(lastEpoch === undefined ? {} : { lastEpoch }) },
});

describe("fast-forward", () => {
  it("skips without progress counters", async () => {
    assert.deepEqual(await codes(fastForwardCheck, base()), ["skip: no progress counters to fast-forward from"]);
    assert.deepEqual(await codes(fastForwardCheck, resumed()), ["skip: no progress counters to fast-forward from"]);
  });
  it("the steps to skip, 0 included, with the LR the run starts from and resumes at", async () => {
    const c = resumed({ stepsToSkip: 0, skipFormula: "0 × 4" });
    assert.deepEqual(await found(fastForwardCheck, c), [{ check: "fast-forward", level: "info", code: "FAST_FORWARD", data: { steps: 0, formula: "0 × 4", startLr: undefined, resumeLr: undefined } }]);
    c.optimizer = { state: "present", view: optimizerView({ lr: 2e-5, initialLr: 5e-5 }) };
    c.scheduler = { state: "present", view: { ref: { where: "s", required: false }, lastLr: [3e-5, 1], baseLrs: [4e-5, 1], fields: new Map() } };
    assert.deepEqual((await found(fastForwardCheck, c))[0]!.data, { steps: 0, formula: "0 × 4", startLr: 5e-5, resumeLr: 3e-5 });
    c.optimizer = { state: "present", view: optimizerView({ lr: 2e-5 }) };
    c.scheduler = { state: "present", view: { ref: { where: "s", required: false }, lastLr: [], baseLrs: [4e-5], fields: new Map() } };
    assert.deepEqual((await found(fastForwardCheck, c))[0]!.data, { steps: 0, formula: "0 × 4", startLr: 4e-5, resumeLr: 2e-5 });
  });
  it("max_steps: one short trains, at max_steps nothing is left; the reason", async () => {
    assert.deepEqual(await codes(fastForwardCheck, resumed({ globalStep: 99, end: { maxSteps: 100, where: "trainer_state.json" } })), ["skip: no progress counters to fast-forward from"]);
    assert.deepEqual(await found(fastForwardCheck, resumed({ globalStep: 101, end: { maxSteps: 100, where: "trainer_state.json" } })), [
      { check: "fast-forward", level: "warn", code: "NOTHING_LEFT_TO_TRAIN", data: { reason: "global_step 101 >= max_steps 100 (trainer_state.json)", globalStep: 101, maxSteps: 100 } },
    ]);
  });
  it("a max_steps under the limit wins over finished epochs; max_steps 0 or less defers to the epochs", async () => {
    assert.deepEqual(await codes(fastForwardCheck, resumed({ globalStep: 10, end: { maxSteps: 100, numTrainEpochs: 3, epoch: 3, where: "t" } })), ["skip: no progress counters to fast-forward from"]);
    for (const maxSteps of [0, -1]) {
      assert.deepEqual(await found(fastForwardCheck, resumed({ globalStep: 10, end: { maxSteps, numTrainEpochs: 3, epoch: 3.5, where: "t" } })), [
        { check: "fast-forward", level: "warn", code: "NOTHING_LEFT_TO_TRAIN", data: { reason: "epoch 3.5 >= num_train_epochs 3 (t)", epoch: 3.5, numTrainEpochs: 3 } },
      ], String(maxSteps));
    }
    assert.deepEqual(await codes(fastForwardCheck, resumed({ globalStep: 100, end: { maxSteps: 0, where: "t" } })), ["skip: no progress counters to fast-forward from"]);
  });
  it("epochs: num_train_epochs 0 or unset, or no epoch, decides nothing", async () => {
    for (const end of [{ numTrainEpochs: 0, epoch: 1, where: "t" }, { epoch: 1, where: "t" }, { numTrainEpochs: 1, where: "t" }, { numTrainEpochs: -1, epoch: 0, where: "t" }]) {
      assert.deepEqual(await codes(fastForwardCheck, resumed({ globalStep: 10, end })), ["skip: no progress counters to fast-forward from"], JSON.stringify(end));
    }
  });
  it("no global_step or no recorded end: nothing to compare", async () => {
    assert.deepEqual(await codes(fastForwardCheck, resumed({ end: { maxSteps: 1, where: "t" } })), ["skip: no progress counters to fast-forward from"]);
    // the epochs alone are not judged without the step counter the loop resumes from
    assert.deepEqual(await codes(fastForwardCheck, resumed({ end: { numTrainEpochs: 3, epoch: 3, where: "t" } })), ["skip: no progress counters to fast-forward from"]);
    assert.deepEqual(await codes(fastForwardCheck, resumed({ globalStep: 10 })), ["skip: no progress counters to fast-forward from"]);
  });
  it("OneCycleLR at or past total_steps warns; one step before does not; other kinds are not judged", async () => {
    const withSched = (s: ReturnType<typeof oneCycle>) => {
      const c = resumed();
      c.scheduler = s;
      return c;
    };
    assert.deepEqual(await codes(fastForwardCheck, withSched(oneCycle(99, 100))), ["skip: no progress counters to fast-forward from"]);
    assert.deepEqual(await found(fastForwardCheck, withSched(oneCycle(100, 100))), [
      { check: "fast-forward", level: "warn", code: "SCHEDULER_PAST_END", data: { kind: "OneCycleLR", horizon: 100, field: "total_steps", lastEpoch: 100 } },
    ]);
    assert.deepEqual(await codes(fastForwardCheck, withSched(oneCycle(101, 100))), ["warn SCHEDULER_PAST_END"]);
    assert.deepEqual(await codes(fastForwardCheck, withSched(oneCycle(101, 100, "CosineAnnealingLR"))), ["skip: no progress counters to fast-forward from"]);
    assert.deepEqual(await codes(fastForwardCheck, withSched(oneCycle(undefined, 100))), ["skip: no progress counters to fast-forward from"]);
    assert.deepEqual(await codes(fastForwardCheck, withSched(oneCycle(101, undefined))), ["skip: no progress counters to fast-forward from"]);
  });
  it("all three, in order", async () => {
    const c = resumed({ stepsToSkip: 5, skipFormula: "f", globalStep: 100, end: { maxSteps: 100, where: "t" } });
    c.scheduler = oneCycle(100, 100);
    assert.deepEqual(await codes(fastForwardCheck, c), ["info FAST_FORWARD", "warn NOTHING_LEFT_TO_TRAIN", "warn SCHEDULER_PAST_END"]);
  });
});
