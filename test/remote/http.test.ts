import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, type CliRun } from "../helpers.js";
import { sparseSafetensors, startFileServer, type FileServer } from "./file-server.js";
import { remoteEnv, runCliAsync } from "./harness.js";

// A single file behind an https:// URL (plain http on loopback here): presigned URLs, redirects,
// servers without range support, and files that change while they are read.

const SIGNATURE = "PRESIGNED-SIGNATURE-SECRET";

describe("http(s) files", () => {
  const dir = mkdtempSync(join(tmpdir(), "vc-http-"));
  let files: FileServer;
  const env = remoteEnv(undefined);
  const runs: CliRun[] = [];
  const run = async (args: string[]) => {
    const r = await runCliAsync(args, env);
    runs.push(r);
    return r;
  };

  before(async () => {
    cpSync(fixture("checkpoints", "lightning", "ok.ckpt"), join(dir, "ok.ckpt"));
    cpSync(fixture("checkpoints", "lightning", "error-truncated.ckpt"), join(dir, "error-truncated.ckpt"));
    sparseSafetensors(join(dir, "big.safetensors"), 2);
    files = await startFileServer(dir);
  });

  after(async () => {
    await files.close();
    rmSync(dir, { recursive: true, force: true });
    for (const r of runs) {
      const out = r.stdout + r.stderr;
      assert.ok(!out.includes(SIGNATURE) && !out.includes("REDIRECT-SIGNATURE-SECRET") && !out.includes("AKIAEXAMPLE"), `a signature was printed:\n${out}`);
      assert.notEqual(r.code, 3, out);
    }
  });

  const presigned = (name: string) => `${files.origin}/files/${name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=${SIGNATURE}`;

  it("a presigned URL gets the local verdict, and the report shows it without its query", async () => {
    for (const [name, exit] of [["ok.ckpt", 0], ["error-truncated.ckpt", 1]] as const) {
      const local = await run([fixture("checkpoints", "lightning", name), "--json"]);
      const remote = await run([presigned(name), "--json"]);
      assert.equal(local.code, exit);
      assert.equal(remote.code, exit, remote.stdout + remote.stderr);
      const shown = `${files.origin}/files/${name}?…`;
      const report = JSON.parse(remote.stdout) as { checkpoint: string };
      assert.equal(report.checkpoint, shown);
      assert.deepEqual(JSON.parse(remote.stdout.split(shown).join("<ROOT>")), JSON.parse(local.stdout.split(fixture("checkpoints", "lightning", name)).join("<ROOT>")));
    }
    const text = await run([presigned("ok.ckpt")]);
    assert.equal(text.code, 0);
    const inspect = await run(["inspect", presigned("ok.ckpt")]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /ok\.ckpt\?…: torch-zip/);
  });

  it("a redirect to a signed location is followed, and neither URL's query is printed", async () => {
    const r = await run([`${files.origin}/redirect/ok.ckpt?token=${SIGNATURE}`, "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it("missing, forbidden, plain http beyond loopback, a folder URL: findings, no request where none is needed", async () => {
    const missing = await run([`${files.origin}/files/none.ckpt`, "--json"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /PATH_NOT_FOUND/);
    files.options = { status: 403 };
    const denied = await run([presigned("ok.ckpt"), "--json"]);
    files.options = {};
    assert.equal(denied.code, 1);
    assert.match(denied.stdout, /access denied \(HTTP 403\)/);
    const before = files.log.length;
    const plain = await run(["http://checkpoints.example.invalid/ok.ckpt", "--json"]);
    assert.equal(plain.code, 1);
    assert.match(plain.stdout, /plain http:\/\/ is accepted only for loopback hosts/);
    const folder = await run([`${files.origin}/files/`, "--json"]);
    assert.equal(folder.code, 1);
    assert.match(folder.stdout, /must name one file/);
    assert.equal(files.log.length, before);
  });

  it("a server without range support: a small file is read once, whole", async () => {
    files.options = { noRanges: true };
    files.log.length = 0;
    const r = await run([presigned("ok.ckpt"), "--json"]);
    files.options = {};
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(files.log.length, 1);
  });

  it("a file that changes while --deep reads it is a finding that names it", async () => {
    files.log.length = 0;
    files.options = {
      afterResponse: (name, n) => {
        if (name === "big.safetensors" && n === 1) {
          writeFileSync(join(dir, "big.safetensors"), Buffer.alloc(10));
          sparseSafetensors(join(dir, "big.safetensors"), 2);
          utimesSync(join(dir, "big.safetensors"), new Date(0), new Date(1_000_000));
        }
      },
    };
    const r = await run([`${files.origin}/files/big.safetensors`, "--json", "--deep"]);
    files.options = {};
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /big\.safetensors: the file changed while it was read \(HTTP 412/);
    assert.ok(files.log.some((e) => e.status === 412));
  });
});
