import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePickleStreams } from "../../src/formats/pickle/decoder.js";
import { entryDataOffset, readZip } from "../../src/formats/zip/index.js";
import { parseMetadata } from "../../src/layouts/dcp/metadata.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { sliceSource } from "../../src/storage/slice.js";
import { ReportSchema } from "../../src/verify/schema.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { fixture, runCli } from "../helpers.js";

type Want = { exit: 0 | 1; strict: 0 | 1; codes: string[]; deep?: 0 | 1; deepCodes?: string[] };

/** Spawned CLI, default and --strict (and --deep when asked): exit codes, layout and the codes that name the rule. */
function expectVerdict(path: string, want: Want, layout = "dcp"): ReturnType<typeof ReportSchema.parse> {
  const run = runCli([path, "--json"]);
  assert.equal(run.stderr, "");
  assert.equal(run.code, want.exit, run.stdout);
  const report = ReportSchema.parse(JSON.parse(run.stdout));
  assert.equal(report.layout, layout);
  const all = report.checks.flatMap((c) => c.findings);
  const problems = all.filter((f) => f.level === "warn" || f.level === "error");
  for (const c of want.codes) assert.ok(problems.some((f) => f.code === c), `expected ${c} in ${problems.map((f) => f.code).join(", ")}`);
  if (want.codes.length === 0) assert.deepEqual(problems, []);
  assert.equal(runCli([path, "--json", "--strict"]).code, want.strict);
  if (want.deep !== undefined) {
    const deep = runCli([path, "--json", "--deep"]);
    assert.equal(deep.code, want.deep, deep.stdout);
    const codes = JSON.parse(deep.stdout).checks.flatMap((c: { findings: { code: string; level: string }[] }) => c.findings.filter((f) => f.level === "error").map((f) => f.code));
    for (const c of want.deepCodes ?? []) assert.ok(codes.includes(c), `--deep: expected ${c} in ${codes.join(", ")}`);
  }
  return report;
}

const caseDir = (name: string) => {
  const dir = fixture("checkpoints", "dcp", "cases", name);
  return join(dir, readdirSync(dir)[0]!);
};
const expected = (name: string) => JSON.parse(readFileSync(fixture("checkpoints", "dcp", "cases", `${name}.expected.json`), "utf8")) as Record<string, unknown>;

/** Literal table: what each torch-written case must give (fixtures/README.md says how each was made). */
const CASES: Record<string, Want> = {
  "ok-torchtitan-2ranks": { exit: 0, strict: 0, codes: [], deep: 0 },
  "ok-per-rank-metadata": { exit: 0, strict: 0, codes: [] },
  "ok-torch-1.13-prototype": { exit: 0, strict: 0, codes: [], deep: 0 },
  "error-metadata-missing": { exit: 1, strict: 1, codes: ["DCP_METADATA_MISSING"] },
  "error-metadata-tmp": { exit: 1, strict: 1, codes: ["DCP_METADATA_MISSING", "TEMP_FILES_PRESENT"] },
  "error-metadata-not-pickle": { exit: 1, strict: 1, codes: ["DCP_METADATA_INVALID"] },
  "error-shard-truncated": { exit: 1, strict: 1, codes: ["DCP_RANGE_OUTSIDE_FILE"] },
  "error-shard-missing": { exit: 1, strict: 1, codes: ["DCP_FILE_MISSING"] },
  "error-offset-past-end": { exit: 1, strict: 1, codes: ["DCP_RANGE_OUTSIDE_FILE"] },
  "error-chunks-overlap": { exit: 1, strict: 1, codes: ["DCP_CHUNKS_OVERLAP"] },
  "error-chunk-out-of-bounds": { exit: 1, strict: 1, codes: ["DCP_CHUNK_INVALID"] },
  "error-chunks-incomplete": { exit: 1, strict: 1, codes: ["DCP_CHUNKS_INCOMPLETE"] },
  "error-storage-entry-missing": { exit: 1, strict: 1, codes: ["DCP_STORAGE_MISSING"] },
  "error-trailing-bytes": { exit: 1, strict: 1, codes: ["DCP_FILE_TILING"] },
  "error-hostile-bytes-item": { exit: 1, strict: 1, codes: ["GLOBAL_UNSAFE"] },
  "warn-unreferenced-file": { exit: 0, strict: 1, codes: ["DCP_FILE_UNREFERENCED"] },
  "warn-step-mismatch": { exit: 0, strict: 1, codes: ["OPTIMIZER_STEP_MISMATCH", "SCHEDULER_STEP_MISMATCH"] },
  "warn-folder-step": { exit: 0, strict: 1, codes: ["FOLDER_STEP_MISMATCH"] },
  "warn-dataloader-ranks": { exit: 0, strict: 1, codes: ["DCP_DATALOADER_RANKS"] },
  "warn-safetensors-model-only": { exit: 0, strict: 1, codes: ["OPTIMIZER_STATE_MISSING"] },
  "error-safetensors-truncated": { exit: 1, strict: 1, codes: ["DCP_SAFETENSORS_INVALID"] },
  "warn-planner-data": { exit: 0, strict: 1, codes: ["DCP_PLANNER_DATA_MISMATCH"] },
  "error-storage-unknown-entry": { exit: 1, strict: 1, codes: ["DCP_STORAGE_UNKNOWN", "DCP_FILE_TILING"] },
  "deep-slice-shape": { exit: 0, strict: 0, codes: [], deep: 1, deepCodes: ["DCP_SLICE_INVALID"] },
  "deep-slice-bitflip": { exit: 0, strict: 0, codes: [], deep: 1, deepCodes: ["CRC_MISMATCH"] },
};

describe("dcp fixtures (spawned CLI)", () => {
  for (const [name, want] of Object.entries(CASES)) {
    it(`${name}: exit ${want.exit}, strict ${want.strict}${want.deep !== undefined ? `, --deep ${want.deep}` : ""} ${want.codes.join(", ")}`, () => {
      expectVerdict(caseDir(name), want);
    });
  }

  it("a torchtitan step-1000 of 4 ranks: layout dcp, globalStep and worldSize as the generator recorded them", () => {
    const truth = JSON.parse(readFileSync(fixture("checkpoints", "dcp", "torchtitan", "checkpoint.expected.json"), "utf8")).checkpoints["step-1000"];
    const report = expectVerdict(fixture("checkpoints", "dcp", "torchtitan", "checkpoint", "step-1000"), { exit: 0, strict: 0, codes: [], deep: 0 });
    assert.equal(report.facts.globalStep, truth.train_state_step);
    assert.equal(report.facts.worldSize, truth.world_size);
    assert.equal(report.facts.dataParallel, truth.dataloader_world_size);
    assert.equal(report.facts.schedulerLastEpoch, truth.lr_scheduler_last_epoch);
    assert.equal(report.facts.optimizerSteps, truth.scalars["optimizer.state.0.weight.step"]);
    const summary = report.checks.find((c) => c.id === "ranks")!.findings.find((f) => f.code === "RANKS_SUMMARY")!;
    assert.match(summary.message, /4 rank\(s\), 16 tensors in 52 chunks .*torchtitan step 1000/);
  });

  it("the per-rank and 1.13 saves report the world size of their rank files", async () => {
    for (const name of ["ok-per-rank-metadata", "ok-torch-1.13-prototype", "ok-torchtitan-2ranks", "warn-safetensors-model-only"]) {
      const report = await verifyCheckpoint(caseDir(name));
      assert.equal(report.facts.worldSize, expected(name)["world_size"], name);
    }
    assert.equal((await verifyCheckpoint(caseDir("ok-torchtitan-2ranks"))).facts.globalStep, 200);
  });

  it("names the file and the rule: a truncated shard and an offset past the end", async () => {
    const truncated = await verifyCheckpoint(caseDir("error-shard-truncated"));
    const f = truncated.checks.flatMap((c) => c.findings).find((x) => x.code === "DCP_RANGE_OUTSIDE_FILE")!;
    assert.equal(f.file, "__2_0.distcp");
    assert.equal(f.data["size"], expected("error-shard-truncated")["size"]);
    const past = await verifyCheckpoint(caseDir("error-offset-past-end"));
    const g = past.checks.flatMap((c) => c.findings).find((x) => x.code === "DCP_RANGE_OUTSIDE_FILE")!;
    assert.equal(g.data["fqn"], "0.weight");
    assert.equal(g.file, "__1_0.distcp");
  });

  it("the hostile item is named by its file, byte range and key", async () => {
    const report = await verifyCheckpoint(caseDir("error-hostile-bytes-item"));
    const unsafe = report.checks.flatMap((c) => c.findings).filter((f) => f.code === "GLOBAL_UNSAFE");
    assert.equal(unsafe.length, 1);
    assert.equal(unsafe[0]!.data["global"], "posix.system");
    assert.match(String(unsafe[0]!.file), /^__0_0\.distcp bytes \d+\.\.\d+ \(train_state\.ntokens_seen\)$/);
  });
});

/** A temp copy of a DCP fixture folder, removed after `fn`. */
async function withCopy(src: string, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "vc-dcp-"));
  const dir = join(root, "step-1000");
  cpSync(src, dir, { recursive: true });
  try {
    await fn(dir);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const TITAN = fixture("checkpoints", "dcp", "torchtitan", "checkpoint", "step-1000");

describe("dcp: bad input gets a finding, exit 1, nothing read beyond limits", () => {
  it("default mode reads no tensor slice: every multi-element slice's data overwritten still passes; --deep finds each one", async () => {
    await withCopy(TITAN, async (dir) => {
      const md = parseMetadata(decodePickleStreams(readFileSync(join(dir, ".metadata"))).streams[0]!.value);
      let records = 0;
      for (const e of md.storage) {
        const item = md.items.get(e.fqn);
        if (!e.offset || item?.kind !== "tensor" || item.size.length === 0) continue; // 0-dim steps are read (one element each)
        const outer = await RandomAccessFile.open(join(dir, e.file));
        const zip = await readZip(sliceSource(outer, e.start, e.length));
        const data = zip.entries.find((x) => /\/data\/0$/.test(x.name))!;
        const at = e.start + (await entryDataOffset(zip, data));
        await outer.close();
        const fd = openSync(join(dir, e.file), "r+");
        writeSync(fd, Buffer.alloc(data.compressedSize, 0xff), 0, data.compressedSize, at);
        closeSync(fd);
        records++;
      }
      assert.equal(records, 48);
      const plain = runCli([dir, "--json"]);
      assert.equal(plain.code, 0, plain.stdout);
      const deep = runCli([dir, "--json", "--deep"]);
      assert.equal(deep.code, 1);
      const crc = JSON.parse(deep.stdout).checks.find((c: { id: string }) => c.id === "integrity").findings.filter((f: { code: string }) => f.code === "CRC_MISMATCH");
      assert.equal(crc.length, records);
    });
  });

  it("a rank file whose number overflows is a leftover, not a rank: the world size stays 4", async () => {
    await withCopy(TITAN, async (dir) => {
      writeFileSync(join(dir, "__99999999999999999999999_0.distcp"), readFileSync(join(dir, "__1_0.distcp")));
      writeFileSync(join(dir, "__4294967296_0.distcp"), Buffer.alloc(0));
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 0);
      const report = JSON.parse(run.stdout);
      assert.equal(report.facts.worldSize, 4);
      assert.ok(report.checks.flatMap((c: { findings: { code: string }[] }) => c.findings).some((f: { code: string }) => f.code === "DCP_FILE_UNREFERENCED"));
      assert.equal(runCli([dir, "--json", "--strict"]).code, 1);
    });
  });

  it("a .metadata.tmp beside .metadata: a later save into the folder died while writing its metadata", async () => {
    await withCopy(TITAN, (dir) => {
      writeFileSync(join(dir, ".metadata.tmp"), readFileSync(join(dir, ".metadata")).subarray(0, 100));
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
      assert.ok(JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string }[] }) => c.findings).some((f: { code: string }) => f.code === "DCP_METADATA_TMP"));
    });
  });

  it("per-rank metadata: a rank's __R.metadata missing is an error naming it", async () => {
    await withCopy(caseDir("ok-per-rank-metadata"), (dir) => {
      rmSync(join(dir, "__2.metadata"));
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1);
      const f = JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string; file?: string }[] }) => c.findings).find((x: { code: string }) => x.code === "DCP_RANK_METADATA_MISSING");
      assert.equal(f.file, "__2.metadata");
    });
  });

  it("a .metadata of 10 MB of garbage is invalid, not a hang", async () => {
    await withCopy(TITAN, (dir) => {
      const garbage = Buffer.alloc(10 * 1024 * 1024);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 2654435761) >>> 24;
      garbage[0] = 0x80;
      garbage[1] = 0x04;
      writeFileSync(join(dir, ".metadata"), garbage);
      const run = runCli([dir, "--json"]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, "");
      assert.ok(JSON.parse(run.stdout).checks.flatMap((c: { findings: { code: string }[] }) => c.findings).some((f: { code: string }) => f.code === "DCP_METADATA_INVALID"));
    });
  });
});

describe("dcp inside other layouts: the host keeps its name, the DCP folders are judged", () => {
  const HOSTS: Record<string, Want & { layout: string }> = {
    "hf-trainer-fsdp": { exit: 0, strict: 0, codes: [], layout: "hf-trainer", deep: 0 },
    "hf-trainer-fsdp-no-optimizer-metadata": { exit: 1, strict: 1, codes: ["DCP_METADATA_MISSING"], layout: "hf-trainer" },
    "lightning-fsdp": { exit: 0, strict: 0, codes: [], layout: "lightning", deep: 0 },
    "lightning-fsdp-no-meta": { exit: 1, strict: 1, codes: ["FILE_MISSING"], layout: "lightning" },
  };
  for (const [name, want] of Object.entries(HOSTS)) {
    it(`${name}: ${want.layout}, exit ${want.exit}, strict ${want.strict} ${want.codes.join(", ")}`, () => {
      const truth = JSON.parse(readFileSync(fixture("checkpoints", "dcp", "hosts", `${name}.expected.json`), "utf8"));
      const report = expectVerdict(fixture("checkpoints", "dcp", "hosts", name, truth.folder), want, want.layout);
      if (want.exit === 0) {
        assert.equal(report.facts.globalStep, truth.global_step);
        assert.deepEqual([report.facts.optimizerSteps], truth.optimizer_steps);
        assert.equal(report.facts.worldSize, truth.world_size);
      }
    });
  }
  it("under FSDP the Trainer's weights and optimizer come from the DCP folders, not from files it never wrote", async () => {
    const report = await verifyCheckpoint(fixture("checkpoints", "dcp", "hosts", "hf-trainer-fsdp", "checkpoint-500"));
    const weights = report.checks.find((c) => c.id === "weights")!.findings.map((f) => f.file);
    assert.deepEqual(weights, ["pytorch_model_fsdp_0: model"]);
    assert.equal(report.checks.find((c) => c.id === "optimizer-weights")!.status, "pass");
    const broken = await verifyCheckpoint(fixture("checkpoints", "dcp", "hosts", "hf-trainer-fsdp-no-optimizer-metadata", "checkpoint-500"));
    assert.equal(broken.checks.find((c) => c.id === "optimizer")!.status, "skip");
    assert.equal(broken.checks.find((c) => c.id === "scheduler")!.status, "pass");
  });
});
