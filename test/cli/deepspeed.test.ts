import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { LAYOUT_NAMES } from "../../src/layouts/index.js";
import { entryDataOffset, readZip } from "../../src/formats/zip/index.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { ReportSchema, type Report } from "../../src/verify/schema.js";
import { fixture, runCli } from "../helpers.js";

/** The verdict a case must get; `file` is where the rule's finding must point (relative to the checkpoint). */
type Want = { exit: 0 | 1; strict: 0 | 1; codes: string[]; file?: string };

const DS = (...parts: string[]) => fixture("checkpoints", "deepspeed", ...parts);

function report(path: string, extra: string[] = []): { code: number | null; report: Report } {
  const run = runCli([path, "--json", ...extra]);
  assert.equal(run.stderr, "", run.stderr);
  return { code: run.code, report: ReportSchema.parse(JSON.parse(run.stdout)) };
}

function problems(r: Report) {
  return r.checks.flatMap((c) => c.findings).filter((f) => f.level === "warn" || f.level === "error");
}

/** Spawned CLI, default and --strict: exit codes, the layout, exactly these problem codes, and the file the rule names. */
function expectVerdict(path: string, want: Want, layout: string, extra: string[] = []): Report {
  const { code, report: r } = report(path, extra);
  assert.equal(r.layout, layout);
  assert.equal(code, want.exit, JSON.stringify(problems(r), null, 1));
  assert.deepEqual([...new Set(problems(r).map((f) => f.code))].sort(), [...want.codes].sort());
  if (want.file) {
    const named = problems(r).filter((f) => f.code === want.codes[0]).map((f) => f.file);
    assert.ok(named.some((f) => f?.endsWith(want.file!)), `${want.codes[0]} should name ${want.file}, named ${named.join(", ")}`);
  }
  assert.equal(runCli([path, "--json", "--strict", ...extra]).code, want.strict);
  return r;
}

const STANDALONE: Record<string, Want> = {
  "ok-zero2-fp16": { exit: 0, strict: 0, codes: [] },
  "ok-zero3-bf16": { exit: 0, strict: 0, codes: [] },
  "ok-zero1-bf16-pipeline": { exit: 0, strict: 0, codes: [] },
  "ok-moe": { exit: 0, strict: 0, codes: [] },
  "ok-universal": { exit: 0, strict: 0, codes: [] },
  "warn-latest-not-newest": { exit: 0, strict: 1, codes: ["DS_LATEST_NOT_NEWEST"], file: "latest" },
  "warn-tag-step-mismatch": { exit: 0, strict: 1, codes: ["DS_TAG_STEP_MISMATCH"], file: "global_step10/mp_rank_00_model_states.pt" },
  "warn-samples-mismatch": { exit: 0, strict: 1, codes: ["DS_SAMPLES_MISMATCH"], file: "global_step10/mp_rank_00_model_states.pt" },
  "ok-zero3-shared-params": { exit: 0, strict: 0, codes: [] },
  "warn-shared-params-unknown": { exit: 0, strict: 1, codes: ["DS_SHARED_PARAM_UNKNOWN"], file: "global_step10/zero_pp_rank_0_mp_rank_00_model_states.pt" },
  "warn-loss-scaler": { exit: 0, strict: 1, codes: ["DS_LOSS_SCALER_INCONSISTENT"], file: "global_step10/zero_pp_rank_0_mp_rank_00_optim_states.pt" },
  "error-latest-missing": { exit: 1, strict: 1, codes: ["DS_LATEST_MISSING"], file: "latest" },
  "error-latest-dangling": { exit: 1, strict: 1, codes: ["DS_LATEST_TAG_MISSING"], file: "latest" },
  "error-missing-rank": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "global_step10/zero_pp_rank_1_mp_rank_00_optim_states.pt" },
  "error-zero3-missing-model-states": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "global_step10/zero_pp_rank_1_mp_rank_00_model_states.pt" },
  "error-pipeline-missing-stage": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "global_step10/mp_rank_01_model_states.pt" },
  "error-moe-missing-expert": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "global_step10/layer_0_expert_1_mp_rank_00_model_states.pt" },
  "error-extra-rank": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_EXTRA", "DS_RANKS_DISAGREE"], file: "global_step10/zero_pp_rank_2_mp_rank_00_optim_states.pt" },
  "error-rank-stale": { exit: 1, strict: 1, codes: ["DS_RANK_STEPS_DISAGREE"], file: "global_step10/zero_pp_rank_1_mp_rank_00_optim_states.pt" },
  "error-partition-mismatch": { exit: 1, strict: 1, codes: ["DS_PARTITION_MISMATCH"], file: "global_step10/mp_rank_00_model_states.pt" },
  "error-truncated-shard": { exit: 1, strict: 1, codes: ["STATE_UNREADABLE"], file: "global_step10/zero_pp_rank_1_mp_rank_00_optim_states.pt" },
  "error-universal-incomplete": { exit: 1, strict: 1, codes: ["DS_UNIVERSAL_INCOMPLETE"], file: "global_step10_universal/zero/2.bias/exp_avg.pt" },
  run: { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "global_step10/zero_pp_rank_1_mp_rank_00_optim_states.pt" },
};

const expected = (...parts: string[]) => JSON.parse(readFileSync(`${DS(...parts)}.expected.json`, "utf8"));

describe("deepspeed save folders", () => {
  for (const [name, want] of Object.entries(STANDALONE)) {
    it(`${name}: exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => void expectVerdict(DS(name), want, "deepspeed"));
  }
  it("every case of the generator is in the table", () => {
    const cases = readdirSync(DS()).filter((n) => n.endsWith(".expected.json")).map((n) => n.replace(".expected.json", ""));
    assert.deepEqual(cases.sort(), Object.keys(STANDALONE).sort());
  });
  for (const name of ["ok-zero2-fp16", "ok-zero3-bf16", "ok-zero1-bf16-pipeline", "ok-universal"]) {
    it(`${name}: facts as the generator wrote them and torch read them back`, () => {
      const e = expected(name);
      const { report: r } = report(DS(name));
      assert.equal(r.facts.globalStep, e.global_steps);
      assert.equal(r.facts.worldSize, e.dp_world_size * e.mp_world_size);
      assert.equal(r.facts.dataParallel, e.dp_world_size);
      assert.equal(r.facts.pipelineParallel, e.mp_world_size);
      assert.equal(r.facts.zeroStage, e.zero_stage);
      const rank0 = Object.entries(e.optim_steps as Record<string, number[]>).find(([f]) => f.includes("zero_pp_rank_0_mp_rank_00"))![1];
      assert.equal(r.facts.optimizerSteps, rank0[0]);
      assert.equal(r.facts.expectedOptimizerSteps, e.global_steps - e.skipped_steps);
    });
  }
  it("the text report says the save in one line", () => {
    const run = runCli([DS("ok-zero2-fp16")]);
    assert.equal(run.code, 0);
    const e = expected("ok-zero2-fp16");
    const line = run.stdout.split("\n").find((l) => l.includes("deepspeed save in"));
    assert.equal(line?.trim(), `ℹ deepspeed save in ${e.tag}: ZeRO-${e.zero_stage}, ${e.precision}, ${e.dp_world_size} data-parallel x 1 model-parallel = ${e.dp_world_size} ranks, tag ${e.tag}, global_steps ${e.global_steps} (${e.skipped_steps} skipped)`);
  });
  it("a tag folder given directly is checked without latest", () => {
    expectVerdict(DS("ok-zero2-fp16", "global_step10"), { exit: 0, strict: 0, codes: [] }, "deepspeed");
    // Both tags of warn-latest-not-newest are complete saves of their own step: the warning is only about latest.
    for (const tag of ["global_step5", "global_step10"]) {
      const r = expectVerdict(DS("warn-latest-not-newest", tag), { exit: 0, strict: 0, codes: [] }, "deepspeed");
      assert.equal(r.facts.globalStep, Number(tag.slice("global_step".length)));
    }
    expectVerdict(DS("run", "global_step10"), { ...STANDALONE["run"]!, file: "zero_pp_rank_1_mp_rank_00_optim_states.pt" }, "deepspeed");
  });
  it("shared_params: the tie the generator recorded is named, and its target is none of the recorded parameter names", () => {
    const file = "zero_pp_rank_0_mp_rank_00_model_states.pt";
    const bad = expected("warn-shared-params-unknown").model_states[file];
    const [[name, target]] = Object.entries(bad.shared_params as Record<string, string>);
    assert.ok(!bad.param_names.includes(target));
    const f = problems(report(DS("warn-shared-params-unknown")).report).find((x) => x.code === "DS_SHARED_PARAM_UNKNOWN");
    assert.deepEqual([f?.data["name"], f?.data["target"], f?.data["count"]], [name, target, 1]);
    // The other side of the boundary: the same save whose tie names a recorded parameter passes.
    const good = expected("ok-zero3-shared-params").model_states[file];
    assert.ok(good.param_names.includes(Object.values(good.shared_params as Record<string, string>)[0]));
    assert.equal(problems(report(DS("ok-zero3-shared-params")).report).length, 0);
  });
  it("fp16 runs report the loss scale, bf16 runs have none", () => {
    assert.equal(report(DS("ok-zero2-fp16")).report.facts.lossScale, 32768);
    assert.equal(report(DS("ok-zero3-bf16")).report.facts.lossScale, undefined);
  });
});

const HF: Record<string, Want> = {
  "ok-zero3-bf16": { exit: 0, strict: 0, codes: [] },
  "ok-zero2-ds-scheduler": { exit: 0, strict: 0, codes: [] },
  "error-latest-missing": { exit: 1, strict: 1, codes: ["DS_LATEST_MISSING"], file: "latest" },
  "error-trainer-step-mismatch": { exit: 1, strict: 1, codes: ["DS_TRAINER_STEP_MISMATCH"], file: "trainer_state.json" },
  "error-no-scheduler": { exit: 1, strict: 1, codes: ["FILE_MISSING"], file: "scheduler.pt" },
};

describe("DeepSpeed inside a Trainer checkpoint-N (layout hf-trainer)", () => {
  for (const [name, want] of Object.entries(HF)) {
    it(`${name}: exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => {
      expectVerdict(DS("hf-trainer", name, expected("hf-trainer", name).folder), want, "hf-trainer");
    });
  }
  it("no optimizer.pt is required: the optimizer is DeepSpeed's; facts from both", () => {
    const e = expected("hf-trainer", "ok-zero3-bf16");
    const r = expectVerdict(DS("hf-trainer", "ok-zero3-bf16", e.folder), HF["ok-zero3-bf16"]!, "hf-trainer");
    assert.equal(r.facts.globalStep, e.trainer_global_step);
    assert.equal(r.facts.zeroStage, 3);
    assert.equal(r.facts.worldSize, e.dp_world_size);
    assert.equal(r.facts.optimizerSteps, e.adam_step);
    assert.ok(!r.checks.flatMap((c) => c.findings).some((f) => f.file === "optimizer.pt"));
  });
  it("a DeepSpeed scheduler means no scheduler.pt, and DeepSpeed's loss scale stands in for scaler.pt", () => {
    const r = report(DS("hf-trainer", "ok-zero2-ds-scheduler", "checkpoint-10")).report;
    assert.equal(r.facts.schedulerLastEpoch, expected("hf-trainer", "ok-zero2-ds-scheduler").adam_step);
    assert.equal(r.facts.lossScale, 65536);
  });
});

const LIGHTNING: Record<string, Want> = {
  ok: { exit: 0, strict: 0, codes: [] },
  "warn-step-mismatch": { exit: 0, strict: 1, codes: ["DS_LIGHTNING_STEP_MISMATCH"], file: "checkpoint/mp_rank_00_model_states.pt" },
  "error-missing-rank": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "checkpoint/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt" },
};

describe("DeepSpeed inside a Lightning .ckpt folder (layout lightning)", () => {
  for (const [name, want] of Object.entries(LIGHTNING)) {
    it(`${name}: exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => {
      const e = expected("lightning", name);
      const r = expectVerdict(DS("lightning", name, e.folder), want, "lightning");
      assert.equal(r.facts.globalStep, e.lightning_global_step);
    });
  }
});

describe("copies of one save that disagree with its config", () => {
  it("optimizer files without the bf16_ prefix in a bf16 run: resumes (the loader tries both names), warns", () => {
    withCopy("ok-zero3-bf16", (dir) => {
      const tag = join(dir, "global_step10");
      for (const n of readdirSync(tag).filter((x) => x.startsWith("bf16_"))) cpSync(join(tag, n), join(tag, n.slice(5)));
      for (const n of readdirSync(tag).filter((x) => x.startsWith("bf16_"))) rmSync(join(tag, n));
      expectVerdict(dir, { exit: 0, strict: 1, codes: ["DS_PREFIX_MISMATCH"] }, "deepspeed");
    });
  });
  it("Trainer's scheduler.pt from another step than DeepSpeed's copy", () => {
    const root = mkdtempSync(join(tmpdir(), "vc-ds-hf-"));
    try {
      const dir = join(root, "checkpoint-10");
      cpSync(DS("hf-trainer", "ok-zero3-bf16", "checkpoint-10"), dir, { recursive: true });
      cpSync(DS("hf-trainer", "error-trainer-step-mismatch", "checkpoint-10", "scheduler.pt"), join(dir, "scheduler.pt"));
      const r = report(dir).report;
      assert.equal(r.exitCode, 0);
      const f = problems(r).find((x) => x.code === "DS_SCHEDULER_COPIES_DISAGREE");
      assert.equal(f?.file, "scheduler.pt");
      assert.deepEqual([f?.data["hostEpoch"], f?.data["dsEpoch"]], [expected("hf-trainer", "error-trainer-step-mismatch").adam_step, expected("hf-trainer", "ok-zero3-bf16").adam_step]);
      assert.equal(runCli([dir, "--json", "--strict"]).code, 1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("a Lightning DeepSpeed folder without latest", () => {
  it("fails on latest (Lightning's ds_checkpoint_dir raises) and still checks the checkpoint/ tag", () => {
    const root = mkdtempSync(join(tmpdir(), "vc-ds-lightning-"));
    try {
      const dir = join(root, "epoch=1-step=10.ckpt");
      cpSync(DS("lightning", "ok", "epoch=1-step=10.ckpt"), dir, { recursive: true });
      rmSync(join(dir, "latest"));
      const r = expectVerdict(dir, { exit: 1, strict: 1, codes: ["DS_LATEST_MISSING"], file: "latest" }, "lightning");
      assert.equal(r.facts.globalStep, 10);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

const ACCELERATE: Record<string, Want> = {
  ok: { exit: 0, strict: 0, codes: [] },
  "error-missing-rank": { exit: 1, strict: 1, codes: ["DS_RANK_FILES_MISSING"], file: "pytorch_model/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt" },
};

describe("DeepSpeed inside Accelerate's save_state folder (tag pytorch_model)", () => {
  for (const [name, want] of Object.entries(ACCELERATE)) {
    it(`${name} read as a DeepSpeed save (--layout deepspeed)`, () => void expectVerdict(DS("accelerate", name), want, "deepspeed", ["--layout", "deepspeed"]));
  }
  it("is left to the accelerate layout: random_states_N.pkl are Accelerate's", () => {
    assert.notEqual(report(DS("accelerate", "ok")).report.layout, "deepspeed");
  });
  const accelerate = LAYOUT_NAMES.includes("accelerate");
  for (const [name, want] of Object.entries(ACCELERATE)) {
    it(`${name} detected as accelerate`, { skip: !accelerate && "the accelerate layout is not in this build (it comes from the DCP/Accelerate branch)" }, () => {
      expectVerdict(DS("accelerate", name), want, "accelerate");
    });
  }
});

describe("latest DIR on a DeepSpeed save folder", () => {
  it("tries the tag latest names first, as load_checkpoint does, then older tags", () => {
    const run = runCli(["latest", DS("run")]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${DS("run", expected("run").latest)}\n`);
    assert.match(run.stderr, /global_step10: DS_RANK_FILES_MISSING/);
  });
  it("prints the tag latest names even when a newer one exists", () => {
    assert.equal(runCli(["latest", DS("warn-latest-not-newest")]).stdout, `${DS("warn-latest-not-newest", "global_step5")}\n`);
  });
});

/** A temp copy of a fixture case, removed after `fn`. */
function withCopy(name: string, fn: (dir: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "vc-ds-"));
  const dir = join(root, name);
  cpSync(DS(name), dir, { recursive: true });
  try {
    fn(dir);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe("bad input in a DeepSpeed save", () => {
  it("a latest of 10 MB of garbage: a finding, the newest tag still checked", () => {
    withCopy("ok-zero2-fp16", (dir) => {
      writeFileSync(join(dir, "latest"), Buffer.alloc(10 * 1024 * 1024, 0xa7));
      expectVerdict(dir, { exit: 1, strict: 1, codes: ["DS_LATEST_INVALID"], file: "latest" }, "deepspeed");
    });
  });
  it("a latest naming a path outside the folder is not followed", () => {
    withCopy("ok-zero2-fp16", (dir) => {
      writeFileSync(join(dir, "latest"), "../../global_step10");
      expectVerdict(dir, { exit: 1, strict: 1, codes: ["DS_LATEST_INVALID"], file: "latest" }, "deepspeed");
    });
  });
  it("a rank number that overflows", () => {
    withCopy("ok-zero2-fp16", (dir) => {
      const tag = join(dir, "global_step10");
      cpSync(join(tag, "zero_pp_rank_1_mp_rank_00_optim_states.pt"), join(tag, "zero_pp_rank_18446744073709551617_mp_rank_00_optim_states.pt"));
      expectVerdict(dir, { exit: 1, strict: 1, codes: ["DS_RANK_NUMBER_INVALID"], file: "zero_pp_rank_18446744073709551617_mp_rank_00_optim_states.pt" }, "deepspeed");
    });
  });
  it("a model-states file cut short", () => {
    withCopy("ok-zero2-fp16", (dir) => {
      const f = join(dir, "global_step10", "mp_rank_00_model_states.pt");
      writeFileSync(f, readFileSync(f).subarray(0, 700));
      const r = expectVerdict(dir, { exit: 1, strict: 1, codes: ["STATE_UNREADABLE"], file: "global_step10/mp_rank_00_model_states.pt" }, "deepspeed");
      assert.equal(r.facts.globalStep, undefined);
    });
  });
  it("a FIFO named latest is never opened", { skip: process.platform === "win32" && "no mkfifo" }, () => {
    withCopy("ok-zero2-fp16", (dir) => {
      rmSync(join(dir, "latest"));
      const made = spawnSync("mkfifo", [join(dir, "latest")]);
      if (made.status !== 0) return;
      const r = expectVerdict(dir, { exit: 1, strict: 1, codes: ["DS_LATEST_INVALID", "FILE_NOT_REGULAR"], file: "latest" }, "deepspeed");
      assert.ok(existsSync(join(dir, "latest")));
      assert.equal(r.facts.globalStep, 10);
    });
  });
});

/** Overwrites every tensor storage record (`<prefix>/data/<key>`) of a torch zip with 0x5a bytes, leaving the CRCs stale. */
async function scribbleStorages(path: string): Promise<number> {
  const f = await RandomAccessFile.open(path);
  const spans: [number, number][] = [];
  try {
    const zip = await readZip(f);
    for (const e of zip.entries.filter((x) => /\/data\/[^/]+$/.test(x.name))) spans.push([await entryDataOffset(zip, e), e.compressedSize]);
  } finally {
    await f.close();
  }
  const fd = openSync(path, "r+");
  for (const [offset, length] of spans) writeSync(fd, Buffer.alloc(length, 0x5a), 0, length, offset);
  closeSync(fd);
  return spans.length;
}

describe("default mode reads no partition bytes; --deep reads and CRC-checks every shard", () => {
  it("every tensor record of every rank file scribbled over: default passes, --deep names each file", async () => {
    const root = mkdtempSync(join(tmpdir(), "vc-ds-deep-"));
    try {
      const dir = join(root, "ok-zero2-fp16");
      cpSync(DS("ok-zero2-fp16"), dir, { recursive: true });
      const files = readdirSync(join(dir, "global_step10")).map((n) => `global_step10/${n}`);
      for (const f of files) assert.ok((await scribbleStorages(join(dir, f))) > 0, f);
      expectVerdict(dir, { exit: 0, strict: 0, codes: [] }, "deepspeed");
      const deep = report(dir, ["--deep"]).report;
      assert.equal(deep.exitCode, 1);
      const crc = problems(deep).filter((f) => f.code === "CRC_MISMATCH").map((f) => f.file);
      assert.deepEqual([...new Set(crc)].sort(), files.sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it("--deep on a complete save reads every rank file and the universal checkpoint's", () => {
    const deep = report(DS("ok-universal"), ["--deep"]).report;
    assert.equal(deep.exitCode, 0);
    const read = deep.checks.find((c) => c.id === "integrity")!.findings.filter((f) => f.code === "BYTES_OK").map((f) => f.file);
    const e = expected("ok-universal");
    for (const f of Object.keys(e.optim_steps)) assert.ok(read.includes(`global_step10/${f}`), f);
    assert.ok(read.includes("global_step10_universal/zero/2.bias/exp_avg_sq.pt"));
    assert.equal(read.length, 3 + 2 + 4 * 4);
  });
});
