/**
 * What people actually find in place of a checkpoint: a Git LFS pointer, an
 * HTML error page, a file of zeros, a .tmp or partial file left by an
 * interrupted save, a directory where a file should be. Each is named as
 * what it is, by verify and by inspect.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { inspectFile } from "../../src/inspect/inspect.js";
import { copyCase, findings, keepFixturesUnchanged, tempFile } from "./build.js";

const LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 2147483648\n";
const HTML = "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n";

/** Replaces `name` in a copy of a fixture case and returns the error findings about that file. */
async function withFile(kind: string, caseName: string, name: string, content: Uint8Array | string) {
  const dir = copyCase(kind, caseName);
  writeFileSync(join(dir, name), content);
  const r = await verifyCheckpoint(dir);
  return { r, errors: findings(r).filter((f) => f.level === "error" && f.file === name) };
}


describe("hostile input: what people find instead of a checkpoint", () => {
  keepFixturesUnchanged();

  it("a Git LFS pointer under a weights, training-state or optimizer name", async () => {
    for (const [kind, c, name] of [
      ["training-state", "ok", "model.safetensors"],
      ["training-state", "ok", "training_state.pth"],
      ["hf-trainer", "cases/ok/checkpoint-500", "optimizer.pt"],
    ] as const) {
      const { r, errors } = await withFile(kind, c, name, LFS);
      assert.equal(r.exitCode, 1, name);
      assert.ok(errors.some((f) => f.code === "FILE_IS_LFS_POINTER" && /LFS/i.test(f.message)), `${name}: ${JSON.stringify(errors)}`);
    }
    const i = await inspectFile(tempFile("model.safetensors", LFS));
    assert.equal(i.exitCode, 1);
    assert.match(`${i.error?.code} ${i.error?.message}`, /LFS/i);
  });

  it("an HTML error page saved under a checkpoint name", async () => {
    for (const name of ["model.safetensors", "training_state.pth"]) {
      const { r, errors } = await withFile("training-state", "ok", name, HTML);
      assert.equal(r.exitCode, 1, name);
      assert.ok(errors.some((f) => f.code === "FILE_IS_HTML" && /HTML/.test(f.message)), `${name}: ${JSON.stringify(errors)}`);
    }
    const i = await inspectFile(tempFile("pytorch_model.bin", "\n  " + HTML));
    assert.equal(i.exitCode, 1);
    assert.match(`${i.error?.code} ${i.error?.message}`, /HTML/i);
  });

  it("a file of zeros (preallocated, never written)", async () => {
    for (const [name, size] of [["model.safetensors", 4096], ["training_state.pth", 1 << 20], ["training_state.pth", 7]] as const) {
      const { r, errors } = await withFile("training-state", "ok", name, Buffer.alloc(size));
      assert.equal(r.exitCode, 1, name);
      assert.ok(errors.some((f) => f.code === "FILE_ALL_ZEROS" && /zero/i.test(f.message)), `${name} (${size}): ${JSON.stringify(errors)}`);
    }
    const i = await inspectFile(tempFile("training_state.pth", Buffer.alloc(8192)));
    assert.equal(i.exitCode, 1);
    assert.match(`${i.error?.code} ${i.error?.message}`, /zero/i);
  });

  it("a .tmp or partial file left by an interrupted save", async () => {
    for (const [kind, c, name, left] of [
      ["training-state", "ok", "training_state.pth", "training_state.pth.tmp"],
      ["training-state", "ok", "model.safetensors", "model.safetensors.partial"],
      ["hf-trainer", "cases/ok/checkpoint-500", "optimizer.pt", "optimizer.pt.tmp"],
    ] as const) {
      // the interrupted save: the temp file is there (cut short), the final name never appeared
      const dir = copyCase(kind, c);
      renameSync(join(dir, name), join(dir, left));
      const r = await verifyCheckpoint(dir);
      assert.equal(r.exitCode, 1, left);
      const all = findings(r);
      assert.ok(all.some((f) => f.level === "error" && /FILE_MISSING|WEIGHTS_MISSING/.test(f.code) && f.message.includes(name)), `${left}: ${JSON.stringify(all.filter((f) => f.level === "error"))}`);
      assert.ok(all.some((f) => f.message.includes(left)), `the leftover ${left} is named: ${JSON.stringify(all.map((f) => f.code))}`);
    }
    // a leftover beside a complete save is still reported
    const dir = copyCase("training-state", "ok");
    writeFileSync(join(dir, "tmpab12cd"), Buffer.alloc(100));
    const r = await verifyCheckpoint(dir);
    assert.ok(findings(r).some((f) => f.message.includes("tmpab12cd")), JSON.stringify(findings(r).map((f) => f.code)));
    // inspect of the partial file itself: a cut zip is named as such
    const cut = copyCase("training-state", "error-truncated-zip");
    const i = await inspectFile(join(cut, "training_state.pth"));
    assert.equal(i.exitCode, 1);
    assert.match(`${i.error?.code} ${i.error?.message}`, /ZIP|truncat|central directory|end record/i);
  });

  it("a directory where a file should be", async () => {
    for (const name of ["training_state.pth", "model.safetensors", "config.json"]) {
      const dir = copyCase("training-state", "ok");
      rmSync(join(dir, name));
      mkdirSync(join(dir, name));
      const r = await verifyCheckpoint(dir);
      assert.equal(r.exitCode, 1, name);
      assert.ok(findings(r).some((f) => f.level === "error" && f.code === "FILE_NOT_REGULAR" && /directory/.test(f.message)), `${name}: ${JSON.stringify(findings(r).filter((f) => f.level === "error"))}`);
      const i = await inspectFile(join(dir, name));
      assert.equal(i.error?.code, "NOT_A_REGULAR_FILE");
    }
    // an empty folder named like a Lightning checkpoint: a sharded save whose state (meta.pt, written last) never came
    const dir = join(copyCase("training-state", "ok"), "last.ckpt");
    mkdirSync(dir);
    const r = await verifyCheckpoint(dir);
    assert.equal(r.layout, "lightning");
    assert.equal(r.exitCode, 1);
    assert.ok(findings(r).some((f) => f.level === "error" && f.code === "FILE_MISSING" && f.file === "meta.pt"), JSON.stringify(findings(r).filter((f) => f.level === "error")));
    // a file where --layout wants a folder
    const file = await verifyCheckpoint(join(copyCase("training-state", "ok"), "training_state.pth"), { layout: "training-state" });
    assert.equal(file.exitCode, 1);
    assert.ok(findings(file).some((f) => f.code === "PATH_NOT_DIRECTORY" && /a file/.test(f.message)));
  });
});
