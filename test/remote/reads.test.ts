import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "../helpers.js";
import { sparseSafetensors } from "./file-server.js";
import { overlappingReads, remoteEnv, runCliAsync, startProxy, startS3, type Proxy, type S3Server } from "./harness.js";

// What default mode and --deep fetch, counted by the proxy in front of the server. Byte counts are
// deterministic (timings are never asserted; `npm run bench` with BENCH_S3=1 times them).

/** The big folder is weights alone (no optimizer state): its one error is RESUME_WEIGHTS_ONLY, whatever was read. */
function onlyWeightsOnly(r: { code: number | null; stdout: string; stderr: string }): void {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const errors = (JSON.parse(r.stdout) as { checks: { findings: { level: string; code: string }[] }[] }).checks.flatMap((c) => c.findings).filter((f) => f.level === "error");
  assert.deepEqual(errors.map((f) => f.code), ["RESUME_WEIGHTS_ONLY"]);
}

describe("remote reads are few", () => {
  const dir = mkdtempSync(join(tmpdir(), "vc-reads-"));
  let s3: S3Server;
  let proxy: Proxy;
  const MIB = 64;

  before(async () => {
    s3 = await startS3(["ckpt"]);
    proxy = await startProxy(s3.port);
    mkdirSync(join(dir, "big"));
    sparseSafetensors(join(dir, "big", "model.safetensors"), MIB);
    await s3.upload("ckpt", join(dir, "big"), "big/");
    await s3.upload("ckpt", fixture("checkpoints", "training-state", "ok"), "ok/");
  });

  after(async () => {
    await proxy.close();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`default mode reads under 1% of a ${MIB} MiB checkpoint; --deep reads every byte exactly once`, async () => {
    const size = statSync(join(dir, "big", "model.safetensors")).size;
    proxy.reset();
    const shallow = await runCliAsync(["s3://ckpt/big", "--json"], remoteEnv(proxy.endpoint));
    onlyWeightsOnly(shallow);
    assert.ok(proxy.objectBytes() <= size / 100, `default mode read ${proxy.objectBytes()} of ${size} bytes`);
    proxy.reset();
    const deep = await runCliAsync(["s3://ckpt/big", "--json", "--deep"], remoteEnv(proxy.endpoint));
    onlyWeightsOnly(deep);
    assert.equal(proxy.objectBytes(), size, "--deep fetched some bytes twice, or missed some");
    assert.deepEqual(overlappingReads(proxy.log), []);
  });

  it("--deep --shard i/3 over the server: each process streams about a third of the bytes, and merge gives the single run's report", async () => {
    const size = statSync(join(dir, "big", "model.safetensors")).size;
    const streamed: number[] = [];
    for (const i of [0, 1, 2]) {
      proxy.reset();
      const r = await runCliAsync(["s3://ckpt/big", "--deep", "--shard", `${i}/3`, "--json", "--output", join(dir, `report-${i}.json`)], remoteEnv(proxy.endpoint));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      streamed.push(proxy.objectBytes());
    }
    // A third, give or take one 1 MiB tensor, plus the metadata every shard reads (the head and tail: 192 KiB).
    for (const n of streamed) assert.ok(Math.abs(n - size / 3) <= 1.25 * 1024 * 1024, `shards read ${streamed.join(", ")} of ${size}`);
    const merged = await runCliAsync(["merge", ...[0, 1, 2].map((i) => join(dir, `report-${i}.json`)), "--json"], remoteEnv(proxy.endpoint));
    const single = await runCliAsync(["s3://ckpt/big", "--deep", "--json"], remoteEnv(proxy.endpoint));
    onlyWeightsOnly(merged);
    assert.deepEqual(JSON.parse(merged.stdout), JSON.parse(single.stdout));
  });

  it("a small checkpoint folder: one listing, then one range request per file", async () => {
    proxy.reset();
    const r = await runCliAsync(["s3://ckpt/ok", "--json"], remoteEnv(proxy.endpoint));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const reads = proxy.log.filter((e) => e.range);
    assert.deepEqual(reads.map((e) => e.key).sort(), ["ok/config.json", "ok/model.safetensors", "ok/training_state.pth"]);
    assert.equal(proxy.log.filter((e) => e.method === "GET" && !e.range && e.key === "").length, 1, "one listing");
  });
});
