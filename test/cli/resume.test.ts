import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ReportSchema, type Report } from "../../src/verify/schema.js";
import { fixture, runCli } from "../helpers.js";

/** What the resume will do (issue 13): each case is a torch-written fixture, run through the CLI as users run it. */

type Finding = Report["checks"][number]["findings"][number];

function run(path: string, ...flags: string[]): { code: number | null; report: Report; findings: Finding[] } {
  const r = runCli([path, "--json", ...flags]);
  assert.equal(r.stderr, "");
  const report = ReportSchema.parse(JSON.parse(r.stdout));
  return { code: r.code, report, findings: report.checks.flatMap((c) => c.findings) };
}

const problems = (fs: Finding[]) => fs.filter((f) => f.level === "warn" || f.level === "error").map((f) => `${f.level} ${f.code}`).sort();
const one = (fs: Finding[], code: string) => {
  const found = fs.filter((f) => f.code === code);
  assert.equal(found.length, 1, `one ${code} in ${fs.map((f) => f.code).join(", ")}`);
  return found[0]!;
};
const expected = (...parts: string[]) => JSON.parse(readFileSync(fixture("checkpoints", ...parts), "utf8")) as Record<string, unknown>;

/** The verdict both ways: the problems (level and code, nothing else), the exit code, and --strict's. */
function verdict(path: string, want: string[], flags: string[] = []): Finding[] {
  const plain = run(path, ...flags);
  assert.deepEqual(problems(plain.findings), [...want].sort(), `${path}: ${problems(plain.findings).join(", ")}`);
  const hasError = want.some((w) => w.startsWith("error"));
  assert.equal(plain.code, hasError ? 1 : 0);
  assert.equal(runCli([path, "--json", "--strict", ...flags]).code, want.length > 0 ? 1 : 0);
  return plain.findings;
}

const ts = (c: string) => fixture("checkpoints", "training-state", c);
const hf = (c: string, n = 500) => fixture("checkpoints", "hf-trainer", "cases", c, `checkpoint-${n}`);
const pl = (c: string) => fixture("checkpoints", "lightning", `${c}.ckpt`);

describe("resumability: which checkpoint, and can it resume at all", () => {
  it("config.json + model.safetensors alone cannot resume: an error that says what it can be used for", () => {
    const fs = verdict(fixture("checkpoints", "generic", "weights-only"), ["error RESUME_WEIGHTS_ONLY"]);
    assert.match(one(fs, "RESUME_WEIGHTS_ONLY").message, /holds model weights \(model\.safetensors\) but no optimizer or training state anywhere: it can be used for inference or to start a fine-tuning run, not to resume one/);
  });
  it("a folder of unknown layout that holds an optimizer state stays a warning", () => {
    verdict(fixture("checkpoints", "generic", "some-folder"), ["warn LAYOUT_UNRECOGNISED"]);
  });
  it("a Trainer output_dir resolves to its highest checkpoint-N, named first in text and JSON", () => {
    const dir = fixture("checkpoints", "hf-trainer", "run-complete");
    const { code, report, findings } = run(dir);
    assert.equal(code, 0);
    assert.equal(report.checkpoint, dir);
    assert.equal(report.verifiedPath, `${dir}/${expected("hf-trainer", "run-complete.expected.json")["resolves_to"]}`);
    assert.equal(report.layout, "hf-trainer");
    assert.deepEqual(report.resolvedFrom, { path: dir, layout: "hf-trainer", rule: "the highest checkpoint-N, as Trainer's get_last_checkpoint picks it", others: ["checkpoint-250"] });
    assert.equal(findings[0]!.code, "RUN_FOLDER_RESOLVED");
    const text = runCli([dir]).stdout.split("\n");
    assert.equal(text[1], `Checkpoint: ${dir}/checkpoint-500`);
    assert.match(text[2]!, /resolved from .*run-complete: the highest checkpoint-N/);
  });
  it("Trainer picks the highest checkpoint-N even when it is the one a crash left incomplete, as get_last_checkpoint does", () => {
    const dir = fixture("checkpoints", "hf-trainer", "run");
    const { code, report } = run(dir);
    assert.equal(code, 1);
    assert.equal(report.verifiedPath, `${dir}/checkpoint-1500`);
    assert.deepEqual(report.resolvedFrom?.others, ["checkpoint-1000", "checkpoint-500"]);
    assert.match(runCli([dir, "--quiet"]).stdout, /^Checkpoint: .*checkpoint-1500 \(resolved from .*run\)\n/);
    // CI annotations point at the files of the checkpoint verified, not of the run folder
    assert.match(runCli([dir, "--format", "github"]).stdout, /^::error file=.*\/run\/checkpoint-1500\/trainer_state\.json,/m);
  });
  it("a Lightning version folder resolves to checkpoints/last.ckpt", () => {
    const dir = fixture("checkpoints", "lightning", "run");
    const { code, report } = run(dir);
    assert.equal(code, 0);
    assert.equal(report.verifiedPath, `${dir}/${expected("lightning", "run.expected.json")["resolves_to"]}`);
    assert.equal(report.layout, "lightning");
    assert.equal(report.facts.globalStep, (expected("lightning", "run.expected.json")["last"] as { global_step: number }).global_step);
  });
  it("a checkpoint folder is never resolved further", () => {
    const { report } = run(hf("ok"));
    assert.equal(report.verifiedPath, hf("ok"));
    assert.equal(report.resolvedFrom, undefined);
  });
});

describe("loader compatibility: torch.load(weights_only=True)", () => {
  it("an argparse.Namespace in training_state.pth: information by default, a warning with --torch-load weights-only, with the add_safe_globals line", () => {
    const globals = expected("training-state", "ok-argparse-namespace.expected.json")["globals"] as string[];
    assert.ok(globals.includes("argparse.Namespace"));
    const fs = verdict(ts("ok-argparse-namespace"), []);
    const f = one(fs, "TORCH_LOAD_NEEDS_SAFE_GLOBALS");
    assert.equal(f.level, "info");
    assert.deepEqual(f.data["globals"], ["argparse.Namespace"]);
    assert.equal(f.data["code"], "torch.serialization.add_safe_globals([argparse.Namespace])");
    verdict(ts("ok-argparse-namespace"), ["warn TORCH_LOAD_NEEDS_SAFE_GLOBALS"], ["--torch-load", "weights-only"]);
  });
  it("a numpy array in Lightning hyper_parameters needs numpy's globals and its dtype's class", () => {
    const fs = verdict(pl("ok-hparams-numpy"), []);
    assert.deepEqual(one(fs, "TORCH_LOAD_NEEDS_SAFE_GLOBALS").data["globals"], ["numpy.core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype", 'type(numpy.dtype("f8"))']);
    verdict(pl("ok-hparams-numpy"), ["warn TORCH_LOAD_NEEDS_SAFE_GLOBALS"], ["--torch-load", "weights-only"]);
  });
  it("Trainer's RNG file needs numpy's globals, which transformers allowlists itself; optimizer and scheduler load as they are", () => {
    const fs = verdict(hf("ok"), [], ["--torch-load", "weights-only"]);
    const byFile = Object.fromEntries(fs.filter((f) => f.code.startsWith("TORCH_LOAD")).map((f) => [f.file, f.code]));
    assert.deepEqual(byFile, { "optimizer.pt": "TORCH_LOAD_OK", "scheduler.pt": "TORCH_LOAD_OK", "rng_state.pth": "TORCH_LOAD_FRAMEWORK_ALLOWS" });
  });
  it("a file with an unsafe global cannot be allowlisted into loading", () => {
    const f = run(ts("error-hostile-pickle")).findings.find((x) => x.code === "TORCH_LOAD_REFUSED")!;
    assert.match(String(f.data["reasons"]), /posix\.system: torch blocks module posix/);
  });
});

describe("weights against the model the trainer builds", () => {
  for (const [c, prefix, file] of [
    ["warn-compiled-prefix", "_orig_mod.", "model.safetensors"],
    ["warn-ddp-prefix", "module.", "pytorch_model.bin"],
  ] as const) {
    it(`${c}: every key starts with ${prefix}`, () => {
      const keys = Object.keys(expected("training-state", `${c}.expected.json`)["weights_tensors"] as object);
      const f = one(verdict(ts(c), ["warn WEIGHT_KEYS_WRAPPER_PREFIX"]), "WEIGHT_KEYS_WRAPPER_PREFIX");
      assert.equal(f.data["prefixed"], keys.filter((k) => k.startsWith(prefix)).length);
      assert.equal(f.data["count"], keys.length);
      assert.match(f.message, new RegExp(`^${file}: 4 of 4 tensor names start with '${prefix.replace(".", "\\.")}'`));
    });
  }
  it("a wrapped and an unwrapped state_dict merged is an error", () => {
    const f = one(verdict(ts("error-mixed-prefix"), ["error WEIGHT_KEYS_MIXED_PREFIX"]), "WEIGHT_KEYS_MIXED_PREFIX");
    assert.deepEqual([f.data["prefixed"], f.data["plain"], f.data["both"]], [4, 4, 4]);
  });
  it("PEFT: adapter_config.json's r against the saved LoRA shapes", () => {
    const exp = expected("hf-trainer", "cases", "error-adapter-rank-mismatch.expected.json");
    const rank = (exp["weights_tensors"] as Record<string, { shape: number[] }>)["base_model.model.0.lora_A.weight"]!.shape[0];
    const fs = verdict(hf("error-adapter-rank-mismatch"), ["error ADAPTER_RANK_MISMATCH", "error ADAPTER_RANK_MISMATCH"]);
    const f = fs.find((x) => x.code === "ADAPTER_RANK_MISMATCH")!;
    assert.deepEqual([f.data["r"], f.data["actual"]], [(exp["adapter_config"] as { r: number }).r, rank]);
  });
  it("PEFT: saved adapters on a module target_modules does not name", () => {
    const f = one(verdict(hf("warn-adapter-untargeted"), ["warn ADAPTER_UNTARGETED"]), "ADAPTER_UNTARGETED");
    assert.equal(f.data["module"], "2");
  });
  it("PEFT: a matching adapter passes, its base_model.model. prefix is not a wrapper", () => {
    const fs = verdict(hf("ok-peft-adapter"), []);
    assert.equal(one(fs, "ADAPTER_CONFIG_OK").data["count"], 4);
    assert.equal(one(fs, "WEIGHT_KEYS_OK").level, "pass");
  });
});

describe("optimizer health", () => {
  it("moments stored in float16 while the weights are float32", () => {
    assert.deepEqual(expected("training-state", "warn-moments-fp16.expected.json")["moment_dtypes"], ["float16"]);
    const f = one(verdict(ts("warn-moments-fp16"), ["warn OPTIMIZER_MOMENTS_LOW_PRECISION"]), "OPTIMIZER_MOMENTS_LOW_PRECISION");
    assert.deepEqual([f.data["count"], f.data["dtypes"], f.data["weights"]], [8, "float16", "float32"]);
  });
  it("16-bit moments with 16-bit weights: a pure bfloat16 run, information", () => {
    const exp = expected("training-state", "ok-bf16-run.expected.json");
    assert.deepEqual([exp["moment_dtypes"], Object.values(exp["weights_tensors"] as Record<string, { dtype: string }>)[0]!.dtype], [["bfloat16"], "bfloat16"]);
    assert.equal(one(verdict(ts("ok-bf16-run"), []), "OPTIMIZER_MOMENTS_LOW_PRECISION").level, "info");
  });
  it("param_groups listing more parameters than the weights hold", () => {
    const exp = expected("training-state", "error-param-groups-exceed-weights.expected.json");
    const f = one(verdict(ts("error-param-groups-exceed-weights"), ["error OPTIMIZER_PARAMS_EXCEED_WEIGHTS"]), "OPTIMIZER_PARAMS_EXCEED_WEIGHTS");
    assert.deepEqual([f.data["params"], f.data["tensors"]], [exp["optimizer_params"], Object.keys(exp["weights_tensors"] as object).length]);
  });
  it("frozen parameters without state: information", () => {
    const exp = expected("training-state", "ok-frozen-params.expected.json");
    const f = one(verdict(ts("ok-frozen-params"), []), "OPTIMIZER_STATE_PARTIAL");
    assert.deepEqual([f.level, f.data["missing"], f.data["params"]], ["info", (exp["optimizer_params"] as number) - (exp["optimizer_states"] as number), exp["optimizer_params"]]);
  });
  it("--deep: an exp_avg_sq of zeros while its exp_avg is not; default mode cannot see it", () => {
    verdict(ts("error-deep-zero-second-moment"), []);
    const f = one(verdict(ts("error-deep-zero-second-moment"), ["error OPTIMIZER_SECOND_MOMENT_ZERO"], ["--deep"]), "OPTIMIZER_SECOND_MOMENT_ZERO");
    assert.equal(f.data["tensor"], "optimizer_state_dict.state.0.exp_avg_sq");
    assert.equal(run(ts("ok"), "--deep").findings.some((x) => x.code === "OPTIMIZER_SECOND_MOMENT_ZERO"), false);
  });
});

describe("progress and schedule", () => {
  it("global_step == max_steps: the resume trains 0 steps", () => {
    const st = expected("hf-trainer", "cases", "warn-schedule-exhausted.expected.json")["trainer_state"] as { global_step: number; max_steps: number };
    const f = one(verdict(hf("warn-schedule-exhausted", 1500), ["warn NOTHING_LEFT_TO_TRAIN", "warn LR_TOO_SMALL"]), "NOTHING_LEFT_TO_TRAIN");
    assert.equal(f.message, `global_step ${st.global_step} >= max_steps ${st.max_steps} (trainer_state.json): the resume trains 0 steps`);
  });
  it("OneCycleLR at its total_steps: the next scheduler.step() raises", () => {
    const total = expected("training-state", "warn-onecycle-past-end.expected.json")["total_steps"];
    const f = one(verdict(ts("warn-onecycle-past-end"), ["warn SCHEDULER_PAST_END", "warn LR_TOO_SMALL"]), "SCHEDULER_PAST_END");
    assert.equal(f.data["horizon"], total);
  });
  it("NaN and Infinity in the last logged losses (Python json's bare tokens) are read, and each is a warning naming its step", () => {
    const logs = expected("hf-trainer", "cases", "warn-nan-loss.expected.json")["last_training_logs"] as Record<string, unknown>[];
    const want = logs.flatMap((e) => ["loss", "grad_norm"].filter((k) => typeof e[k] === "string").map((k) => `${k}@${e["step"]}=${e[k]}`));
    const fs = verdict(hf("warn-nan-loss"), want.map(() => "warn LOGGED_VALUE_NOT_FINITE"));
    assert.deepEqual(fs.filter((f) => f.code === "LOGGED_VALUE_NOT_FINITE").map((f) => `${f.data["key"]}@${f.data["step"]}=${f.data["value"]}`), want);
  });
  it("Lightning: a NaN monitored score in ModelCheckpoint's state", () => {
    const f = one(verdict(pl("warn-nan-score"), ["warn LOGGED_VALUE_NOT_FINITE"]), "LOGGED_VALUE_NOT_FINITE");
    assert.equal(f.message, "val_loss is NaN at step 400 (warn-nan-score.ckpt: callbacks ModelCheckpoint current_score): the run was diverging when it saved");
  });
  it("the data loader replay: Trainer's (global_step mod steps per epoch) × accumulation, or none with ignore_data_skip", () => {
    const st = expected("hf-trainer", "cases", "ok.expected.json");
    const perEpoch = Math.round((st["global_step"] as number) / ((expected("hf-trainer", "cases", "warn-nan-loss.expected.json")["trainer_state"] as { epoch: number }).epoch));
    const batches = (st["global_step"] as number) % perEpoch;
    const ok = run(hf("ok"));
    assert.equal(ok.report.facts.stepsToSkip, batches);
    assert.match(one(ok.findings, "FAST_FORWARD").message, new RegExp(`\\(500 mod ${perEpoch} update steps per epoch\\) × 1 accumulation = ${batches} batches replayed into epoch 1`));
    const ignore = run(hf("ok-ignore-data-skip"));
    assert.equal(ignore.report.facts.stepsToSkip, 0);
    assert.match(one(ignore.findings, "FAST_FORWARD").message, new RegExp(`ignore_data_skip is set: epoch 1 starts again from its first batch, repeating the ${batches} batches`));
  });
});

describe("paths recorded in the state", () => {
  it("Trainer's best_model_checkpoint deleted by rotation, with load_best_model_at_end on", () => {
    const st = expected("hf-trainer", "cases", "warn-stale-best-checkpoint.expected.json")["trainer_state"] as { best_model_checkpoint: string; best_model_checkpoint_exists: boolean };
    assert.equal(st.best_model_checkpoint_exists, false);
    const f = one(verdict(hf("warn-stale-best-checkpoint"), ["warn RECORDED_PATH_MISSING"]), "RECORDED_PATH_MISSING");
    assert.equal(f.data["path"], st.best_model_checkpoint);
    assert.match(f.message, /which does not exist: Trainer loads it at the end of training/);
  });
  it("a recorded path that exists passes; one nothing reads is information", () => {
    assert.equal(one(run(hf("ok")).findings, "RECORDED_PATHS_OK").level, "pass");
    // checkpoint-600 holds global_step 500: its best (checkpoint-500) is not there, but load_best_model_at_end and save_total_limit are off
    assert.equal(one(run(hf("warn-folder-name-mismatch", 600)).findings, "RECORDED_PATH_MISSING").level, "info");
  });
  it("Lightning ModelCheckpoint paths recorded on another machine", () => {
    const mc = expected("lightning", "warn-stale-paths.expected.json")["model_checkpoint"] as Record<string, string>;
    const fs = verdict(pl("warn-stale-paths"), ["warn RECORDED_PATH_MISSING", "warn RECORDED_PATH_MISSING", "warn RECORDED_PATH_MISSING"]);
    assert.deepEqual(fs.filter((f) => f.code === "RECORDED_PATH_MISSING").map((f) => f.data["path"]).sort(), [mc["best_model_path"], mc["kth_best_model_path"], mc["dirpath"]].sort());
  });
});

describe("per-rank state", () => {
  it("RNG files with a missing rank", () => {
    assert.deepEqual(Object.keys(expected("hf-trainer", "cases", "warn-rng-rank-gap.expected.json")["rng_files"] as object), ["rng_state_0.pth", "rng_state_1.pth", "rng_state_3.pth"]);
    const f = one(verdict(hf("warn-rng-rank-gap"), ["warn RNG_RANKS_NOT_CONTIGUOUS"]), "RNG_RANKS_NOT_CONTIGUOUS");
    assert.equal(f.data["missing"], "2");
  });
  it("a GPU run's RNG file without 'cuda'", () => {
    const exp = expected("hf-trainer", "cases", "warn-rng-no-cuda.expected.json");
    assert.deepEqual([(exp["training_args"] as { _n_gpu: number })._n_gpu, (exp["rng_files"] as Record<string, string[]>)["rng_state.pth"]], [1, ["cpu", "numpy", "python"]]);
    const f = one(verdict(hf("warn-rng-no-cuda"), ["warn RNG_STATE_INCOMPLETE"]), "RNG_STATE_INCOMPLETE");
    assert.equal(f.message, "rng_state.pth lacks cuda (the run was on GPUs: training_args.bin: _n_gpu 1): a GPU resume raises KeyError in distributed (DDP) mode, and otherwise logs it at INFO level and keeps a fresh CUDA random state");
  });
  it("an RNG file without a key Trainer reads unguarded: an error, the resume raises KeyError", () => {
    assert.deepEqual((expected("hf-trainer", "cases", "error-rng-no-numpy.expected.json")["rng_files"] as Record<string, string[]>)["rng_state.pth"], ["cpu", "python"]);
    const f = one(verdict(hf("error-rng-no-numpy"), ["error RNG_STATE_INCOMPLETE"]), "RNG_STATE_INCOMPLETE");
    assert.match(f.message, /lacks numpy \(every Trainer save writes them\): Trainer\._load_rng_state raises KeyError/);
  });
  it("--world-size against the processes that saved", () => {
    const path = hf("ok-two-ranks");
    verdict(path, []);
    assert.equal(one(verdict(path, [], ["--world-size", "2"]), "WORLD_SIZE_MATCHES").data["saved"], 2);
    assert.match(one(verdict(path, ["warn WORLD_SIZE_CHANGED"], ["--world-size", "4"]), "WORLD_SIZE_CHANGED").message, /ranks 2\.\.3 find no RNG file/);
    assert.match(one(verdict(path, ["warn WORLD_SIZE_CHANGED"], ["--world-size", "1"]), "WORLD_SIZE_CHANGED").message, /Trainer looks for rng_state\.pth, which a multi-process save does not write/);
    assert.equal(run(path).report.facts.worldSize, 2);
  });
  it("--gpus against storages saved on cuda:1", () => {
    assert.deepEqual(expected("training-state", "ok-saved-on-cuda1.expected.json")["saved_locations"], ["cuda:1"]);
    verdict(ts("ok-saved-on-cuda1"), []);
    verdict(ts("ok-saved-on-cuda1"), [], ["--gpus", "2"]);
    const f = one(verdict(ts("ok-saved-on-cuda1"), ["warn CUDA_DEVICE_OUT_OF_RANGE"], ["--gpus", "1"]), "CUDA_DEVICE_OUT_OF_RANGE");
    assert.equal(f.data["device"], "cuda:1");
  });
  it("the new flags are usage errors when malformed", () => {
    assert.equal(runCli([ts("ok"), "--world-size", "0"]).code, 2);
    assert.equal(runCli([ts("ok"), "--gpus", "x"]).code, 2);
    assert.equal(runCli([ts("ok"), "--torch-load", "sometimes"]).code, 2);
  });
});
