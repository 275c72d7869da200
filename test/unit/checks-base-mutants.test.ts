// The base checks first run through Stryker here (docs/mutation.md, "Stryker: the base checks"):
// directory, required-files, training-state, weights, config, integrity and the two helpers
// (helpers/part.ts, helpers/globals.ts). Every expectation is a literal written from the check's
// documented rule (docs/codes.md, the comments in the checks, Python's own json error text),
// never from the check's own output; each verdict boundary has a case on each side.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { reporter } from "../../src/checks/define.js";
import { baseCheckpoint } from "../../src/layouts/common.js";
import type { NormalisedCheckpoint, Part, StateFile, WeightsFile, WeightsView } from "../../src/layouts/types.js";
import type { IntegrityResult } from "../../src/integrity/scan.js";
import type { GlobalVerdict } from "../../src/safety/globals.js";
import { directoryCheck } from "../../src/checks/directory.js";
import { requiredFilesCheck } from "../../src/checks/required-files.js";
import { trainingStateCheck } from "../../src/checks/training-state.js";
import { weightsCheck } from "../../src/checks/weights.js";
import { configCheck } from "../../src/checks/config.js";
import { integrityCheck } from "../../src/checks/integrity.js";
import { presentOr } from "../../src/checks/helpers/part.js";
import { globalFindings } from "../../src/checks/helpers/globals.js";
import { codes, found } from "./check-run.js";


const base = (layout = "training-state") => baseCheckpoint(layout, "ckpt", "test");
function notFound(c: NormalisedCheckpoint): NormalisedCheckpoint {
  c.pathStatus = { ok: false, problem: { code: "PATH_NOT_FOUND", data: { path: "ckpt" } } };
  return c;
}
const verdict = (qualname: string, tier: GlobalVerdict["tier"], count = 1, offset = 2): GlobalVerdict => ({ qualname, module: qualname.split(".")[0]!, name: qualname.split(".").slice(1).join("."), tier, reason: `${tier} because`, offset, count });

describe("directory", () => {
  const resolved = { from: "run", to: "run/checkpoint-500", layout: "hf-trainer", framework: "transformers Trainer", rule: "highest checkpoint-N", others: ["checkpoint-400"] };
  const resolvedFinding = { check: "directory", level: "info", code: "RUN_FOLDER_RESOLVED", data: { from: "run", to: "run/checkpoint-500", framework: "transformers Trainer", rule: "highest checkpoint-N", others: ["checkpoint-400"] } };

  it("a path that is not usable is the problem's error, after the run folder it was resolved from", async () => {
    assert.deepEqual(await found(directoryCheck, notFound(base())), [{ check: "directory", level: "error", code: "PATH_NOT_FOUND", data: { path: "ckpt" } }]);
    const c = notFound(base());
    c.resolved = resolved;
    assert.deepEqual(await found(directoryCheck, c), [resolvedFinding, { check: "directory", level: "error", code: "PATH_NOT_FOUND", data: { path: "ckpt" } }]);
  });
  it("a usable path: the resolution, PATH_OK, each remote read failure, the layout", async () => {
    const c = base("hf-trainer");
    c.reason = "trainer_state.json";
    c.pathStatus = { ok: true, kind: "a file" };
    c.resolved = resolved;
    c.readFailures = [{ object: "s3://b/a", reason: "timeout" }, { object: "s3://b/c", reason: "403" }];
    assert.deepEqual(await found(directoryCheck, c), [
      resolvedFinding,
      { check: "directory", level: "pass", code: "PATH_OK", data: { path: "ckpt", kind: "a file" } },
      { check: "directory", level: "error", code: "REMOTE_READ_FAILED", data: { object: "s3://b/a", reason: "timeout" } },
      { check: "directory", level: "error", code: "REMOTE_READ_FAILED", data: { object: "s3://b/c", reason: "403" } },
      { check: "directory", level: "info", code: "LAYOUT_DETECTED", data: { layout: "hf-trainer", reason: "trainer_state.json" } },
    ]);
  });
  it("no resolution and no read failures: PATH_OK and the layout only", async () => {
    assert.deepEqual(await codes(directoryCheck, base("hf-trainer")), ["pass PATH_OK", "info LAYOUT_DETECTED"]);
  });
  it("the generic layout with no file it could validate is NO_CHECKPOINT_FILES; with one, it is not", async () => {
    for (const count of [0, undefined]) {
      const c = base("generic");
      c.genericCount = count;
      assert.deepEqual((await found(directoryCheck, c)).at(-1), { check: "directory", level: "error", code: "NO_CHECKPOINT_FILES", data: { path: "ckpt" } }, String(count));
    }
    const one = base("generic");
    one.genericCount = 1;
    assert.deepEqual(await codes(directoryCheck, one), ["pass PATH_OK", "info LAYOUT_DETECTED"]);
    const other = base("hf-trainer");
    other.genericCount = 0;
    assert.deepEqual(await codes(directoryCheck, other), ["pass PATH_OK", "info LAYOUT_DETECTED"]);
  });
  it("a layout that names no optimizer file but tensor files cannot resume: RESUME_WEIGHTS_ONLY, at most five files named", async () => {
    const cases: [string[], string][] = [
      [["a.pt"], "a.pt"],
      [["a", "b", "c", "d", "e"], "a, b, c, d, e"],
      [["a", "b", "c", "d", "e", "f"], "a, b, c, d, e, ..."],
    ];
    for (const [tensorFiles, files] of cases) {
      const c = base("generic");
      c.genericCount = 2;
      c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], optimizerFiles: [], tensorFiles };
      assert.deepEqual((await found(directoryCheck, c)).at(-1), { check: "directory", level: "error", code: "RESUME_WEIGHTS_ONLY", data: { path: "ckpt", files } }, files);
    }
  });
  it("an optimizer file, or no tensor file at all: LAYOUT_UNRECOGNISED with the count of files validated", async () => {
    const cases: [string[], string[] | undefined, number | undefined, number][] = [
      [["opt.pt"], ["a.pt"], 3, 3],
      [[], [], 2, 2],
      [[], undefined, 2, 2],
      [[], undefined, undefined, 0],
    ];
    for (const [optimizerFiles, tensorFiles, genericCount, count] of cases) {
      const c = base(genericCount === undefined ? "hf-trainer" : "generic");
      c.genericCount = genericCount;
      c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], optimizerFiles, ...(tensorFiles ? { tensorFiles } : {}) };
      assert.deepEqual((await found(directoryCheck, c)).at(-1), { check: "directory", level: "warn", code: "LAYOUT_UNRECOGNISED", data: { path: "ckpt", count } }, JSON.stringify([optimizerFiles, tensorFiles]));
    }
  });
  it("a layout that says nothing about optimizer files adds nothing", async () => {
    const c = base("generic");
    c.genericCount = 2;
    c.resume = { torchLoads: [], loggedNonFinite: [], recordedPaths: [], tensorFiles: ["a.pt"] };
    assert.deepEqual(await codes(directoryCheck, c), ["pass PATH_OK", "info LAYOUT_DETECTED"]);
  });
});

describe("required-files", () => {
  it("skips when the path is not usable", async () => {
    assert.deepEqual(await codes(requiredFilesCheck, notFound(base())), ["skip: the checkpoint path is not usable"]);
  });
  it("a missing file is an error when required and a warning when not; any other problem is an error either way", async () => {
    const c = base();
    c.expectedFiles = [
      { rel: "optimizer.pt", role: "optimizer state", required: true, expect: "torch", problem: { code: "FILE_MISSING", data: { extra: 1 } } },
      { rel: "scaler.pt", role: "AMP scaler", required: false, expect: "torch", problem: { code: "FILE_MISSING", data: {} } },
      { rel: "rng.pth", role: "RNG state", required: false, expect: "torch", problem: { code: "FILE_EMPTY", data: {} } },
      { rel: "model.safetensors", role: "weights", required: true, expect: "safetensors", problem: { code: "FILE_IS_LFS_POINTER", data: { oid: "abc" } } },
    ];
    assert.deepEqual(await found(requiredFilesCheck, c), [
      { check: "required-files", level: "error", code: "FILE_MISSING", data: { file: "optimizer.pt", role: "optimizer state", extra: 1 }, file: "optimizer.pt" },
      { check: "required-files", level: "warn", code: "FILE_MISSING", data: { file: "scaler.pt", role: "AMP scaler" }, file: "scaler.pt" },
      { check: "required-files", level: "error", code: "FILE_EMPTY", data: { file: "rng.pth", role: "RNG state" }, file: "rng.pth" },
      { check: "required-files", level: "error", code: "FILE_IS_LFS_POINTER", data: { file: "model.safetensors", role: "weights", oid: "abc" }, file: "model.safetensors" },
    ]);
  });
  it("a present file is FILE_PRESENT with its size for people (no size: 0 bytes)", async () => {
    const c = base();
    c.expectedFiles = [
      { rel: "a.pt", role: "r", required: true, expect: "torch", size: 1536 },
      { rel: "b.json", role: "r", required: false, expect: "json" },
    ];
    assert.deepEqual(await found(requiredFilesCheck, c), [
      { check: "required-files", level: "pass", code: "FILE_PRESENT", data: { file: "a.pt", size: "1.5 KiB" }, file: "a.pt" },
      { check: "required-files", level: "pass", code: "FILE_PRESENT", data: { file: "b.json", size: "0 bytes" }, file: "b.json" },
    ]);
  });
  it("WEIGHTS_MISSING only when no weights file was found, none was unusable, no index, and candidates were looked for", async () => {
    const w = (over: Partial<WeightsView>): WeightsView => ({ candidates: ["model.safetensors", "pytorch_model.bin"], files: [], unusable: [], missingShards: [], ...over });
    const c = base();
    c.weights = w({});
    assert.deepEqual(await found(requiredFilesCheck, c), [{ check: "required-files", level: "error", code: "WEIGHTS_MISSING", data: { candidates: "model.safetensors, pytorch_model.bin" } }]);
    const file: WeightsFile = { rel: "model.safetensors", kind: "safetensors", tensors: [], size: 1, verdicts: [], torchProblems: [] };
    const others: [string, WeightsView | undefined][] = [
      ["a file", w({ files: [file] })],
      ["an unusable file", w({ unusable: ["model.safetensors"] })],
      ["an index", w({ index: { rel: "model.safetensors.index.json", weightMap: new Map() } })],
      ["no candidates", w({ candidates: [] })],
      ["no weights view", undefined],
    ];
    for (const [what, weights] of others) {
      const d = base();
      d.weights = weights;
      assert.deepEqual(await codes(requiredFilesCheck, d), [], what);
    }
  });
  it("leftovers of a partial save: TEMP_FILES_PRESENT naming them; none, nothing; findings in order", async () => {
    const c = base();
    c.expectedFiles = [{ rel: "a.pt", role: "r", required: true, expect: "torch", size: 1 }];
    c.weights = { candidates: ["model.safetensors"], files: [], unusable: [], missingShards: [] };
    c.leftovers = ["a.pt.tmp", "b.partial"];
    assert.deepEqual(await codes(requiredFilesCheck, c), ["pass FILE_PRESENT", "error WEIGHTS_MISSING", "warn TEMP_FILES_PRESENT"]);
    assert.deepEqual((await found(requiredFilesCheck, c))[2], { check: "required-files", level: "warn", code: "TEMP_FILES_PRESENT", data: { files: "a.pt.tmp, b.partial" } });
    c.leftovers = [];
    assert.deepEqual(await codes(requiredFilesCheck, c), ["pass FILE_PRESENT", "error WEIGHTS_MISSING"]);
  });
});

describe("training-state", () => {
  const state = (rel: string, over: Partial<StateFile> = {}): StateFile => ({ rel, verdicts: [], torchProblems: [], ...over });
  it("skips: an unusable path, no state files, every state file unusable (their reasons joined)", async () => {
    assert.deepEqual(await codes(trainingStateCheck, notFound(base())), ["skip: the checkpoint path is not usable"]);
    assert.deepEqual(await codes(trainingStateCheck, base()), ["skip: this layout has no training-state files"]);
    const c = base();
    c.stateFiles = [state("a.pt", { unusable: "a.pt is missing" }), state("b.pt", { unusable: "b.pt is empty" })];
    assert.deepEqual(await codes(trainingStateCheck, c), ["skip: a.pt is missing; b.pt is empty"]);
  });
  it("each usable file: decoded or its problem, its torch problems, its globals (not for JSON); unusable files left out", async () => {
    const c = base();
    c.stateFiles = [
      state("gone.pt", { unusable: "missing" }),
      state("a.pt", { summary: "dict of 3 keys", torchProblems: [{ code: "TORCH_FILE_PROBLEM", data: { reason: "short" } }], verdicts: [verdict("torch._utils._rebuild_tensor_v2", "allowed", 4)] }),
      state("b.pt", { problem: { code: "STATE_UNREADABLE", data: { reason: "truncated" } } }),
      state("trainer_state.json", { json: true, verdicts: [verdict("posix.system", "unsafe")] }),
    ];
    assert.deepEqual(await found(trainingStateCheck, c), [
      { check: "training-state", level: "pass", code: "STATE_DECODED", data: { file: "a.pt", summary: "dict of 3 keys" }, file: "a.pt" },
      { check: "training-state", level: "error", code: "TORCH_FILE_PROBLEM", data: { file: "a.pt", reason: "short" }, file: "a.pt" },
      { check: "training-state", level: "pass", code: "GLOBALS_ALLOWED", data: { file: "a.pt", count: 4 }, file: "a.pt" },
      { check: "training-state", level: "error", code: "STATE_UNREADABLE", data: { file: "b.pt", reason: "truncated" }, file: "b.pt" },
      { check: "training-state", level: "pass", code: "GLOBALS_ALLOWED", data: { file: "b.pt", count: 0 }, file: "b.pt" },
      { check: "training-state", level: "pass", code: "STATE_DECODED", data: { file: "trainer_state.json", summary: "" }, file: "trainer_state.json" },
    ]);
  });
  it("schema problems are errors, with their file when they have one", async () => {
    const c = base();
    c.stateFiles = [state("a.pt")];
    c.schemaKeys = ["epoch"];
    c.schemaProblems = [{ code: "STATE_KEY_MISSING", data: { key: "epoch" }, file: "a.pt" }, { code: "STATE_KEY_TYPE", data: { key: "step" } }];
    assert.deepEqual((await found(trainingStateCheck, c)).slice(2), [
      { check: "training-state", level: "error", code: "STATE_KEY_MISSING", data: { key: "epoch" }, file: "a.pt" },
      { check: "training-state", level: "error", code: "STATE_KEY_TYPE", data: { key: "step" } },
    ]);
  });
  it("STATE_KEYS_OK: no schema problem, keys checked, and the first usable file decoded; each condition's other side", async () => {
    const ok = base();
    ok.stateFiles = [state("gone.pt", { unusable: "missing" }), state("main.pt"), state("other.pt", { problem: { code: "STATE_UNREADABLE", data: {} } })];
    ok.schemaKeys = ["epoch", "global_step"];
    assert.deepEqual((await found(trainingStateCheck, ok)).at(-1), { check: "training-state", level: "pass", code: "STATE_KEYS_OK", data: { file: "main.pt", keys: "epoch, global_step" }, file: "main.pt" });

    const problem = base();
    problem.stateFiles = [state("main.pt")];
    problem.schemaKeys = ["epoch"];
    problem.schemaProblems = [{ code: "STATE_KEY_MISSING", data: {} }];
    const noKeys = base();
    noKeys.stateFiles = [state("main.pt")];
    const mainBroken = base();
    mainBroken.stateFiles = [state("main.pt", { problem: { code: "STATE_UNREADABLE", data: {} } }), state("other.pt")];
    mainBroken.schemaKeys = ["epoch"];
    for (const [what, c] of [["a schema problem", problem], ["no keys", noKeys], ["the first usable file undecoded", mainBroken]] as const) {
      assert.ok(!(await codes(trainingStateCheck, c)).includes("pass STATE_KEYS_OK"), what);
    }
  });
});

describe("weights", () => {
  const wfile = (rel: string, names: [string, string][], over: Partial<WeightsFile> = {}): WeightsFile => ({ rel, kind: "safetensors", size: 2048, verdicts: [], torchProblems: [], tensors: names.map(([name, dtype]) => ({ name, dtype, shape: [1] })), ...over });
  const view = (files: WeightsFile[], over: Partial<WeightsView> = {}): NormalisedCheckpoint => {
    const c = base();
    c.weights = { candidates: [], files, unusable: [], missingShards: [], ...over };
    return c;
  };
  const index = (entries: [string, string][], over: object = {}) => ({ rel: "model.safetensors.index.json", weightMap: new Map(entries), ...over });

  it("skips: no weights view; no file and no index (naming the unusable files, or none)", async () => {
    assert.deepEqual(await codes(weightsCheck, base()), ["skip: this layout has no separate weights"]);
    assert.deepEqual(await codes(weightsCheck, view([])), ["skip: no weights file (see required-files)"]);
    assert.deepEqual(await codes(weightsCheck, view([], { unusable: ["a.bin", "b.bin"] })), ["skip: a.bin, b.bin could not be read (see required-files)"]);
  });
  it("a file: WEIGHTS_FILE_OK with its tensor count, distinct dtypes in order, size; none without tensors", async () => {
    const c = view([wfile("a.safetensors", [["x", "F16"], ["y", "F32"], ["z", "F16"]]), wfile("b.safetensors", [], { size: 3 })]);
    assert.deepEqual(await found(weightsCheck, c), [
      { check: "weights", level: "pass", code: "WEIGHTS_FILE_OK", data: { file: "a.safetensors", tensors: 3, dtypes: "F16, F32", size: "2.0 KiB" }, file: "a.safetensors" },
      { check: "weights", level: "pass", code: "WEIGHTS_FILE_OK", data: { file: "b.safetensors", tensors: 0, dtypes: "none", size: "3 bytes" }, file: "b.safetensors" },
    ]);
  });
  it("a file with a problem is that error only; torch problems follow the pass; globals only for torch files", async () => {
    const unsafe = [verdict("posix.system", "unsafe", 1, 9)];
    const c = view([
      wfile("bad.safetensors", [["x", "F16"]], { problem: { code: "WEIGHTS_FILE_INVALID", data: { reason: "header" } }, verdicts: unsafe }),
      wfile("p.bin", [["x", "F16"]], { kind: "torch", torchProblems: [{ code: "TORCH_FILE_PROBLEM", data: { reason: "bounds" } }], verdicts: unsafe }),
      wfile("s.safetensors", [["x", "F16"]], { verdicts: unsafe }),
      wfile("e.pt", [["x", "F16"]], { kind: "embedded", verdicts: unsafe }),
    ]);
    assert.deepEqual(await found(weightsCheck, c), [
      { check: "weights", level: "error", code: "WEIGHTS_FILE_INVALID", data: { file: "bad.safetensors", reason: "header" }, file: "bad.safetensors" },
      { check: "weights", level: "pass", code: "WEIGHTS_FILE_OK", data: { file: "p.bin", tensors: 1, dtypes: "F16", size: "2.0 KiB" }, file: "p.bin" },
      { check: "weights", level: "error", code: "TORCH_FILE_PROBLEM", data: { file: "p.bin", reason: "bounds" }, file: "p.bin" },
      { check: "weights", level: "error", code: "GLOBAL_UNSAFE", data: { file: "p.bin", global: "posix.system", reason: "unsafe because", offset: 9, count: 1 }, file: "p.bin" },
      { check: "weights", level: "pass", code: "WEIGHTS_FILE_OK", data: { file: "s.safetensors", tensors: 1, dtypes: "F16", size: "2.0 KiB" }, file: "s.safetensors" },
      { check: "weights", level: "pass", code: "WEIGHTS_FILE_OK", data: { file: "e.pt", tensors: 1, dtypes: "F16", size: "2.0 KiB" }, file: "e.pt" },
    ]);
  });
  it("an index that could not be read: SHARD_INDEX_INVALID and nothing else of the index", async () => {
    const c = view([], { index: index([["x", "s1"]], { problem: { code: "SHARD_INDEX_INVALID", data: { reason: "not JSON" } } }) });
    assert.deepEqual(await found(weightsCheck, c), [{ check: "weights", level: "error", code: "SHARD_INDEX_INVALID", data: { file: "model.safetensors.index.json", reason: "not JSON" }, file: "model.safetensors.index.json" }]);
  });
  it("a complete index: SHARDS_OK with the distinct shards and the tensors it maps", async () => {
    const c = view([wfile("s1", [["a", "F16"], ["b", "F16"]]), wfile("s2", [["c", "F16"]])], { index: index([["a", "s1"], ["b", "s1"], ["c", "s2"]]) });
    assert.deepEqual((await found(weightsCheck, c)).slice(2), [{ check: "weights", level: "pass", code: "SHARDS_OK", data: { file: "model.safetensors.index.json", shards: 2, tensors: 3 }, file: "model.safetensors.index.json" }]);
  });
  it("missing shards, then per shard the tensors it lacks (count, first); a shard with a problem or absent is not searched", async () => {
    const c = view(
      [wfile("s1", [["a", "F16"]]), wfile("s2", [["c", "F16"]]), wfile("s3", [["e", "F16"]], { problem: { code: "WEIGHTS_FILE_INVALID", data: {} } })],
      { missingShards: ["s4", "s5"], index: index([["a", "s1"], ["b1", "s1"], ["b2", "s1"], ["c", "s2"], ["d", "s2"], ["f", "s3"], ["g", "s4"]]) },
    );
    assert.deepEqual((await found(weightsCheck, c)).slice(3), [
      { check: "weights", level: "error", code: "SHARD_MISSING", data: { shard: "s4", file: "model.safetensors.index.json" }, file: "s4" },
      { check: "weights", level: "error", code: "SHARD_MISSING", data: { shard: "s5", file: "model.safetensors.index.json" }, file: "s5" },
      { check: "weights", level: "error", code: "SHARD_TENSOR_MISSING", data: { file: "model.safetensors.index.json", shard: "s1", count: 2, example: "b1" }, file: "s1" },
      { check: "weights", level: "error", code: "SHARD_TENSOR_MISSING", data: { file: "model.safetensors.index.json", shard: "s2", count: 1, example: "d" }, file: "s2" },
    ]);
  });
  it("SHARDS_OK needs every file readable, even one the index does not name", async () => {
    const c = view([wfile("s1", [["a", "F16"]]), wfile("extra", [], { problem: { code: "WEIGHTS_FILE_INVALID", data: {} } })], { index: index([["a", "s1"]]) });
    assert.deepEqual(await codes(weightsCheck, c), ["pass WEIGHTS_FILE_OK", "error WEIGHTS_FILE_INVALID"]);
  });
  it("an index with no file read yet still reports its missing shards", async () => {
    const c = view([], { missingShards: ["s1"], index: index([["a", "s1"]]) });
    assert.deepEqual(await codes(weightsCheck, c), ["error SHARD_MISSING"]);
  });
  it("a file listed twice: the first one's tensors are the shard's", async () => {
    const c = view([wfile("s1", [["a", "F16"]]), wfile("s1", [["b", "F16"]])], { index: index([["a", "s1"]]) });
    assert.deepEqual((await codes(weightsCheck, c)).at(-1), "pass SHARDS_OK");
    const d = view([wfile("s1", [["b", "F16"]]), wfile("s1", [["a", "F16"]])], { index: index([["a", "s1"]]) });
    assert.deepEqual((await found(weightsCheck, d)).at(-1), { check: "weights", level: "error", code: "SHARD_TENSOR_MISSING", data: { file: "model.safetensors.index.json", shard: "s1", count: 1, example: "a" }, file: "s1" });
  });
});

describe("config", () => {
  const withConfig = (cfg: NormalisedCheckpoint["config"]) => {
    const c = base();
    c.config = cfg;
    return c;
  };
  it("skips without a config, and when its text could not be read", async () => {
    assert.deepEqual(await codes(configCheck, base()), ["skip: this layout has no model config file"]);
    assert.deepEqual(await codes(configCheck, withConfig({ rel: "config.json" })), ["skip: config.json could not be read (see required-files)"]);
  });
  it("a config with a problem is that error", async () => {
    assert.deepEqual(await found(configCheck, withConfig({ rel: "config.json", text: "{}", problem: { code: "FILE_IS_HTML", data: { title: "404" } } })), [
      { check: "config", level: "error", code: "FILE_IS_HTML", data: { file: "config.json", title: "404" }, file: "config.json" },
    ]);
  });
  it("text Python's json.loads rejects is CONFIG_INVALID with Python's message", async () => {
    // python3 -c 'import json; json.loads(...)': the messages below are Python's.
    const cases: [string, string][] = [
      ['{"a": 1,}', "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"],
      ["[1] x", "Extra data: line 1 column 5 (char 4)"],
    ];
    for (const [text, reason] of cases) {
      assert.deepEqual(await found(configCheck, withConfig({ rel: "config.json", text })), [{ check: "config", level: "error", code: "CONFIG_INVALID", data: { file: "config.json", reason }, file: "config.json" }], text);
    }
  });
  it("valid JSON that is no object is CONFIG_NOT_OBJECT, naming what it is", async () => {
    const cases: [string, string][] = [["null", "null"], ["[1, 2]", "an array"], ["[]", "an array"], ["3", "number"], ['"s"', "string"], ["true", "boolean"]];
    for (const [text, type] of cases) {
      assert.deepEqual(await found(configCheck, withConfig({ rel: "config.json", text })), [{ check: "config", level: "error", code: "CONFIG_NOT_OBJECT", data: { file: "config.json", type }, file: "config.json" }], text);
    }
  });
  it("an object is CONFIG_OK with its key count (NaN allowed, as Python writes it)", async () => {
    for (const [text, keys] of [["{}", 0], ['{"a": NaN, "b": {"c": 1}}', 2]] as const) {
      assert.deepEqual(await found(configCheck, withConfig({ rel: "config.json", text })), [{ check: "config", level: "pass", code: "CONFIG_OK", data: { file: "config.json", keys }, file: "config.json" }], text);
    }
  });
});

describe("integrity", () => {
  const result = (rel: string, over: Partial<IntegrityResult> = {}): IntegrityResult => ({ rel, bytesRead: 3072, recordsChecked: 7, crcNotRecorded: 0, crcMismatches: [], nonFinite: [], allZero: [], readErrors: [], ...over });
  const withResults = (...list: IntegrityResult[]) => {
    const c = base();
    c.integrity = list;
    return c;
  };
  it("skips without --deep or without results, and with no file to scan", async () => {
    const msg = "skip: default mode reads metadata only; run with --deep to read every byte";
    assert.deepEqual(await codes(integrityCheck, withResults(result("a.pt"))), [msg]);
    assert.deepEqual(await codes(integrityCheck, base(), { deep: true }), [msg]);
    assert.deepEqual(await codes(integrityCheck, withResults(), { deep: true }), ["skip: no file could be decoded to scan"]);
  });
  it("a clean file: BYTES_OK with records and size; CRC_NOT_RECORDED (info) when any CRC is 0, not when none is", async () => {
    assert.deepEqual(await found(integrityCheck, withResults(result("a.pt"), result("b.pt", { crcNotRecorded: 1 })), { deep: true }), [
      { check: "integrity", level: "pass", code: "BYTES_OK", data: { file: "a.pt", records: 7, size: "3.0 KiB" }, file: "a.pt" },
      { check: "integrity", level: "info", code: "CRC_NOT_RECORDED", data: { file: "b.pt", count: 1 }, file: "b.pt" },
      { check: "integrity", level: "pass", code: "BYTES_OK", data: { file: "b.pt", records: 7, size: "3.0 KiB" }, file: "b.pt" },
    ]);
  });
  it("each kind of problem, in name order with numbers compared as numbers; the CRCs as 8 hex digits; no BYTES_OK", async () => {
    const r = result("a.pt", {
      crcMismatches: [{ record: "data/10", expected: 0xdeadbeef, actual: 0x1f }, { record: "data/2", expected: 0, actual: 0xffffffff }],
      nonFinite: [{ tensor: "w10", dtype: "float32", count: 3 }, { tensor: "w9", dtype: "bfloat16", count: 1 }],
      readErrors: [{ where: "data/11", reason: "inflate" }, { where: "data/3", reason: "short" }],
    });
    const f = (level: string, code: string, data: object) => ({ check: "integrity", level, code, data, file: "a.pt" });
    assert.deepEqual(await found(integrityCheck, withResults(r), { deep: true }), [
      f("error", "CRC_MISMATCH", { file: "a.pt", record: "data/2", expected: "0x00000000", actual: "0xffffffff" }),
      f("error", "CRC_MISMATCH", { file: "a.pt", record: "data/10", expected: "0xdeadbeef", actual: "0x0000001f" }),
      f("error", "NON_FINITE_VALUES", { file: "a.pt", tensor: "w9", dtype: "bfloat16", count: 1 }),
      f("error", "NON_FINITE_VALUES", { file: "a.pt", tensor: "w10", dtype: "float32", count: 3 }),
      f("error", "RECORD_UNREADABLE", { file: "a.pt", where: "data/3", reason: "short" }),
      f("error", "RECORD_UNREADABLE", { file: "a.pt", where: "data/11", reason: "inflate" }),
    ]);
    // The result's own lists are left in the order they came.
    assert.deepEqual(r.crcMismatches.map((m) => m.record), ["data/10", "data/2"]);
  });
  it("any one problem, or one of two kinds each, takes BYTES_OK away", async () => {
    const mismatch = [{ record: "data/0", expected: 1, actual: 2 }];
    const nonFinite = [{ tensor: "w", dtype: "float32", count: 1 }];
    const readErrors = [{ where: "data/0", reason: "x" }];
    const cases: [string, Partial<IntegrityResult>, string[]][] = [
      ["a CRC mismatch", { crcMismatches: mismatch }, ["error CRC_MISMATCH"]],
      ["non-finite values", { nonFinite }, ["error NON_FINITE_VALUES"]],
      ["a read error", { readErrors }, ["error RECORD_UNREADABLE"]],
      ["a mismatch and non-finite values", { crcMismatches: mismatch, nonFinite }, ["error CRC_MISMATCH", "error NON_FINITE_VALUES"]],
      ["non-finite values and a read error", { nonFinite, readErrors }, ["error NON_FINITE_VALUES", "error RECORD_UNREADABLE"]],
    ];
    for (const [what, over, want] of cases) assert.deepEqual(await codes(integrityCheck, withResults(result("a.pt", over)), { deep: true }), want, what);
  });
});

describe("helpers/part: presentOr", () => {
  const r = reporter("optimizer");
  it("present: the view", () => {
    const part: Part<number> = { state: "present", view: 42 };
    assert.deepEqual(presentOr(r, part, "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID"), { view: 42 });
  });
  it("unavailable: the check skips with the reason", () => {
    assert.deepEqual(presentOr(r, { state: "unavailable", reason: "not read" }, "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID"), { outcome: { skip: "not read" } });
  });
  it("missing: an error when required, a warning when not", () => {
    assert.deepEqual(presentOr(r, { state: "missing", ref: { where: "optimizer.pt", required: true } }, "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID"), {
      outcome: { findings: [{ check: "optimizer", level: "error", code: "OPTIMIZER_STATE_MISSING", data: { where: "optimizer.pt" } }] },
    });
    assert.deepEqual(presentOr(r, { state: "missing", ref: { where: "optimizer.pt", required: false } }, "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID"), {
      outcome: { findings: [{ check: "optimizer", level: "warn", code: "OPTIMIZER_STATE_MISSING", data: { where: "optimizer.pt" } }] },
    });
  });
  it("invalid: an error with the reason, required or not", () => {
    for (const required of [true, false]) {
      assert.deepEqual(presentOr(r, { state: "invalid", ref: { where: "optimizer.pt", required }, reason: "no state key" }, "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID"), {
        outcome: { findings: [{ check: "optimizer", level: "error", code: "OPTIMIZER_STATE_INVALID", data: { where: "optimizer.pt", reason: "no state key" } }] },
      });
    }
  });
});

describe("helpers/globals: globalFindings", () => {
  const r = reporter("weights");
  it("everything allowed: one pass line with the occurrences added up; nothing at all: a count of 0", () => {
    assert.deepEqual(globalFindings(r, "a.bin", [verdict("torch._utils._rebuild_tensor_v2", "allowed", 2), verdict("collections.OrderedDict", "allowed", 3)]), [
      { check: "weights", level: "pass", code: "GLOBALS_ALLOWED", data: { file: "a.bin", count: 5 }, file: "a.bin" },
    ]);
    assert.deepEqual(globalFindings(r, "a.bin", []), [{ check: "weights", level: "pass", code: "GLOBALS_ALLOWED", data: { file: "a.bin", count: 0 }, file: "a.bin" }]);
  });
  it("one finding per global outside the allow-list, by tier, in order; no pass line then", () => {
    const list = [verdict("collections.OrderedDict", "allowed", 3), verdict("numpy.dtype", "harmless", 2, 10), verdict("mylib.Model", "unknown", 1, 20), verdict("posix.system", "unsafe", 1, 30)];
    assert.deepEqual(globalFindings(r, "a.bin", list), [
      { check: "weights", level: "info", code: "GLOBAL_HARMLESS", data: { file: "a.bin", global: "numpy.dtype", reason: "harmless because", offset: 10, count: 2 }, file: "a.bin" },
      { check: "weights", level: "warn", code: "GLOBAL_UNKNOWN", data: { file: "a.bin", global: "mylib.Model", reason: "unknown because", offset: 20, count: 1 }, file: "a.bin" },
      { check: "weights", level: "error", code: "GLOBAL_UNSAFE", data: { file: "a.bin", global: "posix.system", reason: "unsafe because", offset: 30, count: 1 }, file: "a.bin" },
    ]);
  });
  it("a harmless global alone takes the pass line away", () => {
    assert.deepEqual(globalFindings(r, "a.bin", [verdict("numpy.dtype", "harmless")]).map((f) => f.code), ["GLOBAL_HARMLESS"]);
  });
});
