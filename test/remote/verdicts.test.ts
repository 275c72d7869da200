import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryDataOffset, readZip } from "../../src/formats/zip/index.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { fixture, type CliRun } from "../helpers.js";
import { overlappingReads, remoteEnv, runCliAsync, SECRET, startProxy, startS3, type Proxy, type S3Server } from "./harness.js";

// The same checkpoints verified from a local folder and from the loopback S3 server must get the
// same report, default and --strict (and --deep where the difference is in tensor bytes).

interface Case {
  name: string;
  /** A local folder holding the checkpoint. */
  dir: string;
  /** What the local run says (a literal: the fixture's README and the local tests say the same). */
  exit: { default: number; strict: number; deep?: number };
  codes: string[];
}

const work = mkdtempSync(join(tmpdir(), "vc-remote-verdicts-"));

/** ok with model.safetensors's header saying 0.weight ends at byte 61, where 2.bias starts at 60. */
function brokenHeader(): string {
  const dir = join(work, "broken-header");
  cpSync(fixture("checkpoints", "training-state", "ok"), dir, { recursive: true });
  const path = join(dir, "model.safetensors");
  const bytes = readFileSync(path);
  const header = bytes.toString("latin1");
  const at = header.indexOf('"data_offsets":[12,60]');
  assert.ok(at > 0, "the fixture's header changed");
  bytes.write('"data_offsets":[12,61]', at, "latin1");
  writeFileSync(path, bytes);
  return dir;
}

/** ok with one bit flipped in the middle of the largest storage record of training_state.pth. */
async function flippedBit(): Promise<string> {
  const dir = join(work, "flipped-bit");
  cpSync(fixture("checkpoints", "training-state", "ok"), dir, { recursive: true });
  const path = join(dir, "training_state.pth");
  const f = await RandomAccessFile.open(path);
  let target: { offset: number; length: number };
  try {
    const zip = await readZip(f);
    const records = zip.entries.filter((e) => /\/data\/\d+$/.test(e.name)).sort((a, b) => b.compressedSize - a.compressedSize);
    target = { offset: await entryDataOffset(zip, records[0]!), length: records[0]!.compressedSize };
  } finally {
    await f.close();
  }
  const bytes = readFileSync(path);
  bytes[target.offset + (target.length >> 1)]! ^= 0x04;
  writeFileSync(path, bytes);
  return dir;
}

/** A report with its root path replaced, so a local and a remote run compare. */
function normalised(run: CliRun, root: string): unknown {
  assert.ok(run.stdout.trim().startsWith("{"), `not JSON: ${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout.split(root).join("<ROOT>")) as unknown;
}

function errorCodes(run: CliRun): string[] {
  const report = JSON.parse(run.stdout) as { checks: { findings: { level: string; code: string }[] }[] };
  return report.checks.flatMap((c) => c.findings).filter((f) => f.level === "error" || f.level === "warn").map((f) => f.code);
}

describe("remote checkpoints get the verdicts of local ones", () => {
  let s3: S3Server;
  let proxy: Proxy;
  let env: Record<string, string>;
  const cases: Case[] = [];
  const runs: CliRun[] = [];

  before(async () => {
    s3 = await startS3(["ckpt"]);
    proxy = await startProxy(s3.port);
    env = remoteEnv(proxy.endpoint);
    cases.push(
      { name: "ok", dir: fixture("checkpoints", "training-state", "ok"), exit: { default: 0, strict: 0 }, codes: [] },
      { name: "truncated", dir: fixture("checkpoints", "training-state", "error-truncated-zip"), exit: { default: 1, strict: 1 }, codes: ["STATE_UNREADABLE"] },
      { name: "broken-header", dir: brokenHeader(), exit: { default: 1, strict: 1 }, codes: ["WEIGHTS_FILE_INVALID"] },
      { name: "trainer/checkpoint-500", dir: fixture("checkpoints", "hf-trainer", "cases", "ok", "checkpoint-500"), exit: { default: 0, strict: 0 }, codes: [] },
      { name: "trainer-warn/checkpoint-500", dir: fixture("checkpoints", "hf-trainer", "cases", "warn-step-mismatch", "checkpoint-500"), exit: { default: 0, strict: 1 }, codes: ["OPTIMIZER_STEP_MISMATCH"] },
      { name: "flipped-bit", dir: await flippedBit(), exit: { default: 0, strict: 0, deep: 1 }, codes: [] },
    );
    for (const c of cases) await s3.upload("ckpt", c.dir, `runs/${c.name}/`);
  });

  after(async () => {
    await proxy.close();
    await s3.close();
    rmSync(work, { recursive: true, force: true });
    // No run, whatever it printed, shows the secret key.
    for (const r of runs) assert.ok(!(r.stdout + r.stderr).includes(SECRET), "the secret key was printed");
  });

  const run = async (args: string[]) => {
    const r = await runCliAsync(args, env);
    runs.push(r);
    return r;
  };

  for (const mode of ["default", "strict"] as const) {
    it(`same report, ${mode} mode: a passing folder, a truncated training state, a broken safetensors header, Trainer folders, a flipped tensor bit`, async () => {
      const extra = mode === "strict" ? ["--strict"] : [];
      for (const c of cases) {
        const local = await run([c.dir, "--json", ...extra]);
        const remote = await run([`s3://ckpt/runs/${c.name}`, "--json", ...extra]);
        assert.equal(local.code, c.exit[mode], `${c.name} local: ${local.stdout}${local.stderr}`);
        assert.equal(remote.code, c.exit[mode], `${c.name} remote: ${remote.stdout}${remote.stderr}`);
        assert.deepEqual(normalised(remote, `s3://ckpt/runs/${c.name}`), normalised(local, c.dir), c.name);
        for (const code of c.codes) assert.ok(errorCodes(remote).includes(code), `${c.name}: ${code} in ${errorCodes(remote).join(", ")}`);
      }
    });
  }

  it("--deep finds the flipped bit remotely as it does locally, and passes the good folder", async () => {
    for (const c of cases.filter((x) => x.exit.deep !== undefined || x.name === "ok")) {
      const local = await run([c.dir, "--json", "--deep"]);
      proxy.reset();
      const remote = await run([`s3://ckpt/runs/${c.name}`, "--json", "--deep"]);
      const want = c.exit.deep ?? 0;
      assert.equal(local.code, want, local.stdout);
      assert.equal(remote.code, want, remote.stdout);
      assert.deepEqual(normalised(remote, `s3://ckpt/runs/${c.name}`), normalised(local, c.dir), c.name);
      if (want === 1) assert.ok(errorCodes(remote).includes("CRC_MISMATCH"), errorCodes(remote).join(", "));
      assert.deepEqual(overlappingReads(proxy.log), [], "a range of an object was fetched twice");
    }
  });

  it("a single object (s3://bucket/key) is a file: a Lightning .ckpt and inspect", async () => {
    await s3.put("ckpt", "lightning/ok.ckpt", readFileSync(fixture("checkpoints", "lightning", "ok.ckpt")));
    const local = await run([fixture("checkpoints", "lightning", "ok.ckpt"), "--json"]);
    const remote = await run(["s3://ckpt/lightning/ok.ckpt", "--json"]);
    assert.equal(remote.code, 0, remote.stdout + remote.stderr);
    assert.deepEqual(normalised(remote, "s3://ckpt/lightning/ok.ckpt"), normalised(local, fixture("checkpoints", "lightning", "ok.ckpt")));
    const inspectLocal = await run(["inspect", fixture("checkpoints", "training-state", "ok", "training_state.pth"), "--json"]);
    const inspectRemote = await run(["inspect", "s3://ckpt/runs/ok/training_state.pth", "--json"]);
    assert.equal(inspectRemote.code, 0, inspectRemote.stderr);
    assert.deepEqual(normalised(inspectRemote, "s3://ckpt/runs/ok/training_state.pth"), normalised(inspectLocal, fixture("checkpoints", "training-state", "ok", "training_state.pth")));
  });

  it("latest and diff work on s3:// folders", async () => {
    await s3.upload("ckpt", fixture("checkpoints", "hf-trainer", "run"), "hf-run/");
    const latest = await run(["latest", "s3://ckpt/hf-run"]);
    assert.equal(latest.code, 0, latest.stderr);
    // checkpoint-1500 was killed mid-save (fixtures/README.md): the newest complete one is 1000.
    assert.equal(latest.stdout, "s3://ckpt/hf-run/checkpoint-1000\n");
    assert.match(latest.stderr, /skipped s3:\/\/ckpt\/hf-run\/checkpoint-1500: FILE_MISSING/);
    const diff = await run(["diff", "s3://ckpt/hf-run/checkpoint-500", "s3://ckpt/hf-run/checkpoint-1000", "--json"]);
    const local = await run(["diff", fixture("checkpoints", "hf-trainer", "run", "checkpoint-500"), fixture("checkpoints", "hf-trainer", "run", "checkpoint-1000"), "--json"]);
    assert.equal(diff.code, 0, diff.stderr);
    const strip = (r: CliRun) => {
      const d = JSON.parse(r.stdout) as { a: string; b: string };
      return { ...d, a: "", b: "" };
    };
    assert.deepEqual(strip(diff), strip(local));
  });
});
