/**
 * The file system as it really is: FIFOs and devices (must not block),
 * unreadable files, symlink loops, a directory where a file should be,
 * read-only mounts, files that change size while being read. The result is
 * always exit 1 with a finding (or a clean pass), never a hang or a crash,
 * and nothing is ever written.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { inspectFile } from "../../src/inspect/inspect.js";
import { fixture } from "../helpers.js";
import { cli, copyCase, errorCodes, findings, keepFixturesUnchanged, safetensors, tempDir } from "./build.js";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

const IS_ROOT = process.getuid?.() === 0;

function hashDir(dir: string): string {
  const h = createHash("sha256");
  for (const name of readdirSync(dir).sort()) h.update(name).update(readFileSync(join(dir, name)));
  return h.digest("hex");
}

/** The CLI must come back (no blocking read), exit 1, and print a finding, not a stack trace. */
function expectCleanFailure(args: string[], pattern: RegExp): void {
  const r = cli([...args, "--json"]);
  assert.notEqual(r.code, null, `${args.join(" ")} did not finish: a read blocked`);
  assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^ {4}at /m);
  assert.match(r.stdout, pattern);
  JSON.parse(r.stdout);
}


describe("hostile input: the file system", () => {
  keepFixturesUnchanged();

  it("a FIFO as the checkpoint path, as a required file, and given to inspect: never blocks", { skip: spawnSync("mkfifo", ["--version"]).error ? "mkfifo is not available" : false }, () => {
    const fifo = join(tempDir(), "pipe.pth");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    expectCleanFailure([fifo], /PATH_NOT|NOT_A_REGULAR|FIFO|not a regular file/i);
    expectCleanFailure(["inspect", fifo], /NOT_A_REGULAR_FILE/);
    const dir = copyCase("training-state", "ok");
    rmSync(join(dir, "training_state.pth"));
    assert.equal(spawnSync("mkfifo", [join(dir, "training_state.pth")]).status, 0);
    expectCleanFailure([dir], /FILE_NOT_REGULAR/);
    const weights = copyCase("training-state", "ok");
    rmSync(join(weights, "model.safetensors"));
    assert.equal(spawnSync("mkfifo", [join(weights, "model.safetensors")]).status, 0);
    expectCleanFailure([weights, "--deep"], /FILE_NOT_REGULAR|WEIGHTS/);
  });

  for (const dev of ["/dev/zero", "/dev/urandom", "/dev/null"]) {
    it(`${dev} as the path, and given to inspect: never read`, { skip: !existsSync(dev) && `${dev} does not exist on this system` }, () => {
      expectCleanFailure([dev], /"exitCode": 1/);
      expectCleanFailure(["inspect", dev], /NOT_A_REGULAR_FILE/);
    });
  }

  it("a device behind a required file's symlink: never read", { skip: !existsSync("/dev/zero") && "/dev/zero does not exist on this system" }, () => {
    const dir = copyCase("training-state", "ok");
    rmSync(join(dir, "training_state.pth"));
    symlinkSync("/dev/zero", join(dir, "training_state.pth"));
    expectCleanFailure([dir], /FILE_NOT_REGULAR/);
  });

  it("a file without read permission", { skip: IS_ROOT ? "running as root: root bypasses file permissions, so chmod 000 cannot make a file unreadable" : false }, async () => {
    const dir = copyCase("training-state", "ok");
    chmodSync(join(dir, "training_state.pth"), 0o000);
    try {
      const r = await verifyCheckpoint(dir);
      assert.equal(r.exitCode, 1);
      assert.ok(findings(r).some((f) => f.level === "error" && /permission denied/i.test(f.message)), JSON.stringify(errorCodes(r)));
      const i = await inspectFile(join(dir, "training_state.pth"));
      assert.equal(i.exitCode, 1);
      assert.match(i.error!.message, /permission denied/i);
    } finally {
      chmodSync(join(dir, "training_state.pth"), 0o644);
    }
  });

  it("symlink loops: a required file, and the checkpoint path itself", async () => {
    const dir = copyCase("training-state", "ok");
    rmSync(join(dir, "training_state.pth"));
    symlinkSync("loop-b", join(dir, "training_state.pth"));
    symlinkSync("training_state.pth", join(dir, "loop-b"));
    const r = await verifyCheckpoint(dir);
    assert.equal(r.exitCode, 1);
    assert.ok(findings(r).some((f) => f.level === "error" && /symbolic link loop/i.test(f.message)), JSON.stringify(findings(r).filter((f) => f.level === "error")));
    const i = await inspectFile(join(dir, "training_state.pth"));
    assert.equal(i.exitCode, 1);
    const self = join(tempDir(), "self");
    symlinkSync(self, self);
    const s = await verifyCheckpoint(self);
    assert.equal(s.exitCode, 1);
    assert.ok(errorCodes(s).length > 0);
    expectCleanFailure([self], /loop/i);
    expectCleanFailure(["inspect", self], /SYMLINK_LOOP|loop/i);
  });

  it("a symlink to a directory (and a directory) where a file should be", async () => {
    for (const name of ["training_state.pth", "model.safetensors", "config.json"]) {
      const dir = copyCase("training-state", "ok");
      rmSync(join(dir, name));
      mkdirSync(join(dir, "elsewhere"));
      symlinkSync("elsewhere", join(dir, name));
      const r = await verifyCheckpoint(dir);
      assert.equal(r.exitCode, 1, name);
      assert.ok(findings(r).some((f) => f.code === "FILE_NOT_REGULAR" && /directory/.test(f.message)), `${name}: ${JSON.stringify(errorCodes(r))}`);
      assert.equal((await inspectFile(join(dir, name))).error?.code, "NOT_A_REGULAR_FILE");
    }
  });

  it("a checkpoint on a read-only mount (or, without mount privileges, read-only files in a read-only folder)", async (t) => {
    const mnt = tempDir("ro-mount");
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", mnt]).status === 0;
    let ro = false;
    try {
      if (mounted) {
        cpSync(fixture("checkpoints", "training-state", "ok"), join(mnt, "ok"), { recursive: true });
        ro = spawnSync("mount", ["-o", "remount,ro", mnt]).status === 0;
      }
      if (ro) {
        const before_ = hashDir(join(mnt, "ok"));
        const r = await verifyCheckpoint(join(mnt, "ok"), { deep: true });
        assert.equal(r.exitCode, 0, JSON.stringify(errorCodes(r)));
        assert.equal(cli([join(mnt, "ok"), "--json"]).code, 0);
        assert.equal(hashDir(join(mnt, "ok")), before_);
      } else {
        t.diagnostic("mount -t tmpfs / remount,ro needs privileges this run lacks: tested read-only files only");
      }
    } finally {
      if (mounted) spawnSync("umount", [mnt]);
    }
    const dir = copyCase("training-state", "ok");
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o444);
    chmodSync(dir, 0o555);
    try {
      const before_ = hashDir(dir);
      const r = await verifyCheckpoint(dir, { deep: true });
      assert.equal(r.exitCode, 0, JSON.stringify(errorCodes(r)));
      assert.equal(hashDir(dir), before_);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it("files that change size while being read: a finding or a clean pass, never a crash", async () => {
    const big = safetensors({ w: { dtype: "F32", shape: [16, 1024, 1024], data_offsets: [0, 64 * 1024 * 1024] } });
    const modes = ["append", "truncate-half", "truncate-zero", "grow-and-shrink"] as const;
    for (const target of ["model.safetensors", "training_state.pth"]) {
      for (const mode of modes) {
        const dir = copyCase("training-state", "ok");
        const file = join(dir, target);
        if (target === "model.safetensors") writeFileSync(file, big);
        const original = readFileSync(file);
        let tick = 0;
        const timer = setInterval(() => {
          tick++;
          if (mode === "append") appendFileSync(file, Buffer.alloc(4096, 0x41));
          else if (mode === "truncate-half") truncateSync(file, Math.floor(original.length / (tick + 1)));
          else if (mode === "truncate-zero") truncateSync(file, tick % 2 ? 0 : original.length);
          else writeFileSync(file, tick % 2 ? original.subarray(0, 100) : original);
        }, 1);
        try {
          for (let k = 0; k < 3; k++) {
            const r = await verifyCheckpoint(dir, { deep: true });
            assert.ok(r.exitCode === 0 || (r.exitCode === 1 && errorCodes(r).length > 0), `${target} ${mode}: exit ${r.exitCode}`);
            const i = await inspectFile(file);
            assert.ok(i.exitCode === 0 || i.error, `${target} ${mode}: inspect`);
          }
        } finally {
          clearInterval(timer);
        }
      }
    }
  });
});
