import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fixture, type CliRun } from "../helpers.js";
import { ACCESS_KEY, closedPort, remoteEnv, runCliAsync, SECRET, startProxy, startS3, type Proxy, type S3Server } from "./harness.js";

// Every way a remote read fails ends in exit 1 with a finding that names the object, never a
// crash (exit 3), a stack trace, a hang or a printed credential.

interface Finding {
  level: string;
  code: string;
  message: string;
}

function findingsOf(run: CliRun): Finding[] {
  assert.ok(run.stdout.trim().startsWith("{"), `not JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
  const report = JSON.parse(run.stdout) as { checks: { findings: Finding[] }[] };
  return report.checks.flatMap((c) => c.findings);
}

/** Exit 1, and an error finding with `code` whose message names `object` and matches `what`. */
function assertFails(run: CliRun, code: string, object: string, what: RegExp): void {
  assert.equal(run.code, 1, `exit ${run.code}: ${run.stdout}${run.stderr}`);
  const hit = findingsOf(run).find((f) => f.level === "error" && f.code === code);
  assert.ok(hit, `no ${code} in ${findingsOf(run).map((f) => `${f.code}: ${f.message}`).join("\n")}`);
  assert.ok(hit.message.includes(object), `${hit.message} does not name ${object}`);
  assert.match(hit.message, what);
}

describe("remote failures are findings", () => {
  let s3: S3Server;
  let proxy: Proxy;
  const runs: CliRun[] = [];
  const ok = fixture("checkpoints", "training-state", "ok");

  before(async () => {
    s3 = await startS3(["ckpt"]);
    proxy = await startProxy(s3.port);
    await s3.upload("ckpt", ok, "ok/");
  });

  after(async () => {
    await proxy.close();
    await s3.close();
    for (const r of runs) {
      const out = r.stdout + r.stderr;
      assert.ok(!out.includes(SECRET) && !out.includes(ACCESS_KEY), `a credential was printed:\n${out}`);
      assert.ok(!/\n\s+at .+:\d+:\d+\)?\n/.test(out), `a stack trace was printed:\n${out}`);
      assert.notEqual(r.code, 3, out);
    }
  });

  const run = async (args: string[], env: Record<string, string>) => {
    const r = await runCliAsync(args, env);
    runs.push(r);
    return r;
  };
  const viaProxy = (extra: Record<string, string> = {}) => remoteEnv(proxy.endpoint, extra);

  it("a prefix with no objects does not exist; a missing bucket says so", async () => {
    const none = await run(["s3://ckpt/no/such/checkpoint", "--json"], viaProxy());
    assertFails(none, "PATH_NOT_FOUND", "s3://ckpt/no/such/checkpoint", /does not exist/);
    const bucket = await run(["s3://no-such-bucket/run/checkpoint-1", "--json"], viaProxy());
    assertFails(bucket, "PATH_UNREADABLE", "s3://no-such-bucket/run/checkpoint-1", /bucket does not exist/);
    const file = await run(["inspect", "s3://ckpt/ok/no-such.pt"], viaProxy());
    assert.equal(file.code, 1);
    assert.match(file.stdout + file.stderr, /s3:\/\/ckpt\/ok\/no-such\.pt does not exist/);
  });

  it("access denied: a key the server does not know", async () => {
    const r = await run(["s3://ckpt/ok", "--json"], viaProxy({ AWS_ACCESS_KEY_ID: "AKIAUNKNOWNKEY000000" }));
    assertFails(r, "PATH_UNREADABLE", "s3://ckpt/ok", /access denied \(HTTP 403 InvalidAccessKeyId\)/);
    assert.ok(!(r.stdout + r.stderr).includes("AKIAUNKNOWNKEY000000"), "the access key id was printed");
  });

  it("a server that checks every signature: the right secret passes, a wrong one is denied", async () => {
    const strict = await startS3(["signed"], { verifySignatures: true });
    try {
      await strict.upload("signed", ok, "ok/");
      const env = (secret: string) => remoteEnv(strict.endpoint, { AWS_SECRET_ACCESS_KEY: secret });
      const good = await run(["s3://signed/ok/training_state.pth", "--json", "--layout", "generic"], env("S3RVER"));
      assert.equal(good.code, 0, good.stdout + good.stderr);
      const bad = await run(["s3://signed/ok/training_state.pth", "--json", "--layout", "generic"], env(SECRET));
      assertFails(bad, "PATH_UNREADABLE", "s3://signed/ok/training_state.pth", /access denied \(HTTP 403 SignatureDoesNotMatch\)/);
    } finally {
      await strict.close();
    }
  });

  it("no credentials anywhere (instance metadata turned off for the test): a finding", async () => {
    const env = viaProxy();
    delete env["AWS_ACCESS_KEY_ID"];
    delete env["AWS_SECRET_ACCESS_KEY"];
    const r = await run(["s3://ckpt/ok", "--json"], env);
    assertFails(r, "PATH_UNREADABLE", "s3://ckpt/ok", /no AWS credentials were found/);
  });

  it("an endpoint that refuses connections", async () => {
    const port = await closedPort();
    const r = await run(["s3://ckpt/ok", "--json"], remoteEnv(`http://127.0.0.1:${port}`, { AWS_MAX_ATTEMPTS: "2" }));
    assertFails(r, "PATH_UNREADABLE", "s3://ckpt/ok", new RegExp(`connection was refused \\(127\\.0\\.0\\.1:${port}\\)`));
  });

  it("a server that stalls, before the response or in the middle of the body, ends in a finding", async () => {
    for (const faults of [{ stallHeaders: true }, { stallBody: true }]) {
      proxy.faults = faults;
      const r = await run(["s3://ckpt/ok", "--json"], viaProxy({ VERIFY_CHECKPOINT_TIMEOUT: "1", AWS_MAX_ATTEMPTS: "2" }));
      proxy.faults = {};
      assertFails(r, "REMOTE_READ_FAILED", "s3://ckpt/ok/", /no (progress|data) for 1 s/);
    }
  });

  it("throttling is retried with backoff; throttling that does not stop is a finding", async () => {
    proxy.reset();
    proxy.faults = { throttle: 2 };
    const passes = await run(["s3://ckpt/ok", "--json"], viaProxy());
    assert.equal(passes.code, 0, passes.stdout + passes.stderr);
    assert.equal(proxy.log.filter((e) => e.status === 503).length, 2);
    proxy.faults = { throttle: 1_000_000 };
    const fails = await run(["s3://ckpt/ok", "--json"], viaProxy());
    proxy.faults = {};
    assertFails(fails, "REMOTE_READ_FAILED", "s3://ckpt/ok/", /throttled the reads \(HTTP 503 SlowDown\) after 3 attempts/);
    proxy.faults = { throttle: 1_000_000 };
    const latest = await run(["latest", "s3://ckpt"], viaProxy());
    const inspect = await run(["inspect", "s3://ckpt/ok/training_state.pth"], viaProxy());
    const diff = await run(["diff", "s3://ckpt/ok", "s3://ckpt/ok"], viaProxy());
    proxy.faults = {};
    assert.equal(inspect.code, 1, inspect.stdout);
    assert.match(inspect.stdout, /s3:\/\/ckpt\/ok\/training_state\.pth could not be read: the server throttled the reads/);
    assert.equal(diff.code, 1, diff.stdout);
    assert.equal(diff.stdout, "", "diff showed values it did not read");
    assert.match(diff.stderr, /could not be read: the server throttled the reads/);
    assert.equal(latest.code, 1);
    assert.equal(latest.stdout, "", "latest chose a checkpoint it could not read");
    assert.match(latest.stderr, /could not read s3:\/\/ckpt\/ok .*no older checkpoint was chosen/);
  });

  it("an object that changes after it was listed: If-Match refused (as S3 does), or a server that ignores If-Match", async () => {
    for (const enforceIfMatch of [true, false]) {
      const prefix = `changing-${enforceIfMatch}/`;
      await s3.upload("ckpt", ok, prefix);
      proxy.faults = {
        enforceIfMatch,
        beforeRead: async (key, n) => {
          if (key === `${prefix}training_state.pth` && n === 1) await s3.put("ckpt", key, Buffer.concat([Buffer.from("changed"), Buffer.alloc(5000)]));
        },
      };
      const r = await run([`s3://ckpt/${prefix}`, "--json"], viaProxy());
      proxy.faults = {};
      assertFails(r, "REMOTE_READ_FAILED", `s3://ckpt/${prefix}training_state.pth`, /changed while it was read/);
    }
  });
});
