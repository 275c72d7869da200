import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PyCall, PyDict, PyGlobal, PyList, StorageRef, Tensor } from "../../src/formats/pickle/values.js";
import { FileLoader } from "../../src/layouts/file-loader.js";
import { MAX_RANK, parseRankFile, type RankFile } from "../../src/layouts/deepspeed/names.js";
import { partitionFindings } from "../../src/layouts/deepspeed/partitions.js";
import { readPointer } from "../../src/layouts/deepspeed/pointer.js";
import { completeness, counters, type Dims } from "../../src/layouts/deepspeed/rules.js";
import type { ModelInfo, OptimInfo, TagSummary } from "../../src/layouts/deepspeed/summary.js";
import type { RankEntry } from "../../src/layouts/deepspeed/tag.js";
import { zeroStageOf } from "../../src/layouts/deepspeed/values.js";
import { LocalStorage } from "../../src/storage/local.js";
import type { ByteSource, Storage } from "../../src/storage/types.js";

describe("DeepSpeed rank file names", () => {
  const table: [string, RankFile | "bad" | undefined][] = [
    ["mp_rank_00_model_states.pt", { kind: "model", mp: 0 }],
    ["mp_rank_13_model_states.pt", { kind: "model", mp: 13 }],
    ["zero_pp_rank_7_mp_rank_01_model_states.pt", { kind: "zero-model", dp: 7, mp: 1 }],
    ["zero_pp_rank_3_mp_rank_00_optim_states.pt", { kind: "optim", dp: 3, mp: 0, prefix: "" }],
    ["bf16_zero_pp_rank_12_mp_rank_02_optim_states.pt", { kind: "optim", dp: 12, mp: 2, prefix: "bf16_" }],
    ["fp16_zero_pp_rank_0_mp_rank_00_optim_states.pt", { kind: "optim", dp: 0, mp: 0, prefix: "fp16_" }],
    ["zero_pp_rank_0_mp_rank_00optim_states.pt", { kind: "optim", dp: 0, mp: 0, prefix: "" }], // legacy, no underscore
    ["layer_05-model_01-model_states.pt", { kind: "layer", layer: 5, tp: 1 }],
    ["layer_05-model_states.pt", { kind: "layer", layer: 5 }],
    ["layer_2_expert_7_mp_rank_00_model_states.pt", { kind: "expert", layer: 2, expert: 7, mp: 0 }],
    ["expert_3_mp_rank_00_model_states.pt", { kind: "expert", layer: 0, expert: 3, mp: 0 }],
    ["expp_rank_1_mp_rank_00_optim_states.pt", { kind: "expert-optim", ep: 1, mp: 0 }],
    [`zero_pp_rank_${MAX_RANK}_mp_rank_00_optim_states.pt`, { kind: "optim", dp: MAX_RANK, mp: 0, prefix: "" }],
    [`zero_pp_rank_${MAX_RANK + 1}_mp_rank_00_optim_states.pt`, "bad"],
    ["zero_pp_rank_18446744073709551617_mp_rank_00_optim_states.pt", "bad"],
    ["mp_rank_00_model_states.pt.tmp", undefined],
    ["latest", undefined],
    ["zero_to_fp32.py", undefined],
  ];
  for (const [name, want] of table) {
    it(name, () => {
      const got = parseRankFile(name);
      if (want === "bad") assert.ok(got && "badNumber" in got);
      else assert.deepEqual(got && "file" in got ? got.file : got, want);
    });
  }
});

describe("zero_stage as pickled", () => {
  const enumClass = new PyGlobal("deepspeed.runtime.zero.config", "ZeroStageEnum", 0);
  it("getattr(ZeroStageEnum, 'NAME') (Python 3.11+)", () => {
    for (const [name, stage] of [["optimizer_states", 1], ["gradients", 2], ["weights", 3]] as const) {
      assert.equal(zeroStageOf(new PyCall(new PyGlobal("builtins", "getattr", 0), [enumClass, name], "reduce", 0)), stage);
    }
    assert.equal(zeroStageOf(new PyCall(new PyGlobal("builtins", "getattr", 0), [enumClass, "__class__"], "reduce", 0)), undefined);
  });
  it("ZeroStageEnum(2) (older Pythons) and a plain int", () => {
    assert.equal(zeroStageOf(new PyCall(enumClass, [2], "reduce", 0)), 2);
    assert.equal(zeroStageOf(3), 3);
  });
});

/** A LocalStorage that counts the bytes read from each file. */
function countingStorage(root: string): { storage: Storage; read: Map<string, number> } {
  const local = new LocalStorage(root);
  const read = new Map<string, number>();
  const storage: Storage = {
    root,
    remote: false,
    stat: (rel) => local.stat(rel),
    list: (rel) => local.list(rel),
    display: (rel) => local.display(rel),
    async open(rel) {
      const f = await local.open(rel);
      const wrapped: ByteSource = {
        name: f.name,
        size: f.size,
        bytesRead: 0,
        async read(offset, length, what) {
          read.set(rel, (read.get(rel) ?? 0) + length);
          return f.read(offset, length, what);
        },
        close: () => f.close(),
      };
      return wrapped;
    },
  };
  return { storage, read };
}

describe("latest", () => {
  const withDir = async (latest: string | Buffer, fn: (loader: FileLoader, read: Map<string, number>) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), "vc-ds-latest-"));
    try {
      writeFileSync(join(dir, "latest"), latest);
      mkdirSync(join(dir, "global_step10"));
      const { storage, read } = countingStorage(dir);
      await fn(new FileLoader(storage, []), read);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const pointer = (loader: FileLoader) => loader.list("").then((entries) => readPointer(loader, "", "latest", entries));
  it("10 MB of garbage is refused without reading a byte", async () => {
    await withDir(Buffer.alloc(10 * 1024 * 1024, 0xff), async (loader, read) => {
      const p = await pointer(loader);
      assert.equal(p.state, "invalid");
      assert.equal(read.get("latest") ?? 0, 0);
    });
  });
  it("4096 bytes are read; 4097 are not", async () => {
    await withDir(`global_step10${" ".repeat(4096 - 13)}`, async (loader) => assert.deepEqual(await pointer(loader), { state: "ok", tag: "global_step10", exists: true }));
    await withDir(`global_step10${" ".repeat(4097 - 13)}`, async (loader) => assert.equal((await pointer(loader)).state, "invalid"));
  });
  it("the tag is stripped as DeepSpeed strips it, and must name a folder beside it", async () => {
    await withDir("  global_step10\n", async (loader) => assert.deepEqual(await pointer(loader), { state: "ok", tag: "global_step10", exists: true }));
    await withDir("global_step20", async (loader) => assert.deepEqual(await pointer(loader), { state: "ok", tag: "global_step20", exists: false }));
  });
  for (const [text, why] of [["", "empty"], ["../global_step10", "a path"], ["..", "a path"], ["global\u0000step", "not one line"], ["a\nb", "not one line"], [Buffer.from([0xff, 0xfe, 0x41]), "not one line"]] as const) {
    it(`refuses ${JSON.stringify(String(text))}: ${why}`, async () => {
      await withDir(text, async (loader) => {
        const p = await pointer(loader);
        assert.equal(p.state, "invalid");
        assert.match((p as { reason: string }).reason, new RegExp(why));
      });
    });
  }
});

// ---- rules on in-memory summaries: each boundary on both sides --------------------------------------------

const storage = (numel: number) => new StorageRef("0", "float32", 4, "cpu", numel, "FloatStorage");
const tensor = (numel: number) => new Tensor("float32", [numel], [1], 0, storage(numel), false);

function entry(name: string, file: RankFile): RankEntry {
  return { name, rel: `global_step10/${name}`, file, spec: { rel: `global_step10/${name}`, role: "", required: true, expect: "torch", size: 100 } };
}

function model(dp: number, shapes: number[][]): ModelInfo {
  const e = entry("mp_rank_00_model_states.pt", { kind: "model", mp: 0 });
  return { entry: e, dict: new PyDict(), dp, mp: 1, shapes: shapes.map((g) => g.map((numel, i) => ({ name: `p${i}`, numel }))) };
}

function optim(dp: number, parts: number[], paddings: number[], moments: number[]): OptimInfo {
  const osd = new PyDict();
  osd.set("single_partition_of_fp32_groups", new PyList(parts.map(tensor)));
  osd.set("group_paddings", new PyList(paddings));
  const state = new PyDict();
  moments.forEach((m, g) => {
    const s = new PyDict();
    s.set("exp_avg", tensor(m));
    state.set(g, s);
  });
  const base = new PyDict();
  base.set("state", state);
  return { entry: entry(`zero_pp_rank_${dp}_mp_rank_00_optim_states.pt`, { kind: "optim", dp, mp: 0, prefix: "" }), osd, stage: 2, bf16Optimizer: false, partitionCount: 2, base, steps: [] };
}

function summary(models: ModelInfo[], optims: OptimInfo[]): TagSummary {
  return { tag: { name: "global_step10", rel: "global_step10", entries: [...models.map((m) => m.entry), ...optims.map((o) => o.entry)], badNames: [] }, models, optims };
}

describe("ZeRO-1/2 partition sums (zero_to_fp32's check: both padded to a multiple of 2 x dp)", () => {
  const codes = (s: TagSummary, d: Dims) => partitionFindings(s, d).map((f) => f.code);
  const dims = (m: ModelInfo): Dims => ({ dp: 2, mp: 1, zeroStage: 2, ref: m });
  it("18 elements in 10 + 8 (padding 2 on the last rank): agree", () => {
    const m = model(2, [[12, 6]]);
    assert.deepEqual(codes(summary([m], [optim(0, [10], [0], [10]), optim(1, [8], [2], [10])]), dims(m)), []);
  });
  it("18 elements against 10 + 10 unpadded: 20 = 20 after padding, agree", () => {
    const m = model(2, [[12, 6]]);
    assert.deepEqual(codes(summary([m], [optim(0, [10], [0], [10]), optim(1, [10], [0], [10])]), dims(m)), []);
  });
  it("18 elements against 12 + 10: 24 != 20, the files are another model's", () => {
    const m = model(2, [[12, 6]]);
    assert.deepEqual(codes(summary([m], [optim(0, [12], [0], [12]), optim(1, [10], [0], [10])]), dims(m)), ["DS_PARTITION_MISMATCH"]);
  });
  it("per rank: exp_avg = partition + padding, one element off either way is a mismatch", () => {
    const m = model(2, [[12, 6]]);
    for (const [moment, want] of [[10, []], [9, ["DS_PARTITION_MISMATCH"]], [11, ["DS_PARTITION_MISMATCH"]]] as const) {
      assert.deepEqual(codes(summary([m], [optim(0, [10], [0], [10]), optim(1, [8], [2], [moment])]), dims(m)), want);
    }
  });
});

describe("rank completeness", () => {
  const m = (dp: number) => model(dp, [[4]]);
  it("dp 3 with ranks 0 and 1 present: rank 2 missing, named", () => {
    const ref = m(3);
    const f = completeness(summary([ref], [optim(0, [2], [0], [2]), optim(1, [2], [0], [2])]), { dp: 3, mp: 1, zeroStage: 2, ref });
    assert.deepEqual(f.map((x) => x.code), ["DS_RANK_FILES_MISSING"]);
    assert.equal(f[0]!.data["files"], "zero_pp_rank_2_mp_rank_00_optim_states.pt");
    assert.equal(f[0]!.file, "global_step10/zero_pp_rank_2_mp_rank_00_optim_states.pt");
  });
  it("dp 1 with ranks 0 and 1 present: rank 1 is extra", () => {
    const ref = m(1);
    const f = completeness(summary([ref], [optim(0, [2], [0], [2]), optim(1, [2], [0], [2])]), { dp: 1, mp: 1, zeroStage: 2, ref });
    assert.deepEqual(f.map((x) => x.code), ["DS_RANK_FILES_EXTRA"]);
  });
  it("a recorded world size beyond any run is refused before anything is counted", () => {
    for (const [dp, mp] of [[2 ** 40, 1], [0, 1], [MAX_RANK, 2]]) {
      const ref = { ...m(dp), mp };
      const f = completeness(summary([ref], [optim(0, [2], [0], [2])]), { dp, mp, zeroStage: 2, ref });
      assert.deepEqual(f.map((x) => x.code), ["DS_WORLD_SIZE_INVALID"], `${dp} x ${mp}`);
    }
  });
  it("MAX_RANK ranks with one file: counted without listing them all", () => {
    const ref = m(MAX_RANK);
    const f = completeness(summary([ref], [optim(0, [2], [0], [2])]), { dp: MAX_RANK, mp: 1, zeroStage: 2, ref });
    assert.equal(f[0]!.data["count"], MAX_RANK - 1);
    assert.ok(String(f[0]!.data["files"]).length < 400);
  });
});

describe("the files against the config they were saved with", () => {
  const config = (stage: number) => {
    const zero = new PyDict();
    zero.set("stage", stage);
    const c = new PyDict();
    c.set("zero_optimization", zero);
    return c;
  };
  const codes = (configStage: number, o: OptimInfo) => {
    const m = { ...model(2, [[4]]), config: config(configStage) };
    return counters(summary([m], [o]), { dp: 2, mp: 1, zeroStage: o.stage ?? 1, ref: m, refOptim: o }, 20).map((f) => f.code);
  };
  it("zero_stage 2 in the files and stage 2 in ds_config agree; stage 3 in ds_config does not", () => {
    assert.deepEqual(codes(2, optim(0, [2], [0], [2])), []);
    assert.deepEqual(codes(3, optim(0, [2], [0], [2])), ["DS_ZERO_STAGE_MISMATCH"]);
  });
  it("BF16_Optimizer (no zero_stage) fits stage 0 or 1, not 2", () => {
    const bf16 = { ...optim(0, [2], [0], [2]), stage: undefined, bf16Optimizer: true };
    assert.deepEqual(codes(1, bf16), []);
    assert.deepEqual(codes(0, bf16), []);
    assert.deepEqual(codes(2, bf16), ["DS_ZERO_STAGE_MISMATCH"]);
  });
});

describe("ZeRO-3 partitions (each parameter split into ceil(numel / dp) per rank)", () => {
  const zero3 = (dp: number, flats: number[]): OptimInfo => {
    const osd = new PyDict();
    osd.set("fp32_flat_groups", new PyList(flats.map(tensor)));
    return { entry: entry(`zero_pp_rank_${dp}_mp_rank_00_optim_states.pt`, { kind: "optim", dp, mp: 0, prefix: "" }), osd, stage: 3, bf16Optimizer: false, partitionCount: 2, steps: [] };
  };
  const m = { ...model(2, [[12, 3], [6, 2]]), entry: entry("zero_pp_rank_0_mp_rank_00_model_states.pt", { kind: "zero-model", dp: 0, mp: 0 }) };
  const codes = (flats: number[]) => partitionFindings(summary([m], [zero3(0, flats), zero3(1, flats)]), { dp: 2, mp: 1, zeroStage: 3, ref: m }).map((f) => f.code);
  it("12, 3, 6, 2 elements at dp 2 need 6 + 2 + 3 + 1 = 12 per rank", () => {
    assert.deepEqual(codes([8, 4]), []);
    assert.deepEqual(codes([12]), []);
  });
  it("one element more or less on a rank is a mismatch", () => {
    assert.deepEqual(codes([8, 5]), ["DS_PARTITION_MISMATCH", "DS_PARTITION_MISMATCH"]);
    assert.deepEqual(codes([8, 3]), ["DS_PARTITION_MISMATCH", "DS_PARTITION_MISMATCH"]);
  });
});
