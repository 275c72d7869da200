import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryDataOffset, readZip } from "../../src/formats/zip/index.js";
import { shardSelectors } from "../../src/integrity/shard.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { fixture, runCli } from "../helpers.js";

// --deep --shard i/n on n machines plus `merge` must give the report of one --deep run.

/** A temp folder for `fn`, removed after. */
function withTemp(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-shard-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/**
 * A copy of ok-pytorch-model-bin whose tensor records over 8 bytes (in both torch files) are 0xff
 * bytes: a CRC mismatch and NaNs in each, spread over the whole checkpoint. The optimizer's
 * 4-byte step records stay intact, so default mode still passes.
 */
async function garbageTensors(dir: string): Promise<string> {
  const ckpt = join(dir, "ckpt");
  cpSync(fixture("checkpoints", "training-state", "ok-pytorch-model-bin"), ckpt, { recursive: true });
  for (const name of ["pytorch_model.bin", "training_state.pth"]) {
    const path = join(ckpt, name);
    const f = await RandomAccessFile.open(path);
    const bytes = readFileSync(path);
    try {
      const zip = await readZip(f);
      for (const e of zip.entries.filter((x) => /\/data\/\d+$/.test(x.name) && x.compressedSize > 8)) {
        const at = await entryDataOffset(zip, e);
        bytes.fill(0xff, at, at + e.compressedSize);
      }
    } finally {
      await f.close();
    }
    writeFileSync(path, bytes);
  }
  return ckpt;
}

/** The three shard runs of `dir` and their merge. */
function shardedRun(dir: string, out: string, extra: string[] = []): { codes: (number | null)[]; merged: ReturnType<typeof runCli> } {
  const codes = [0, 1, 2].map((i) => runCli([dir, "--deep", "--shard", `${i}/3`, "--json", "--output", join(out, `report-${i}.json`), ...extra]).code);
  const merged = runCli(["merge", ...[2, 0, 1].map((i) => join(out, `report-${i}.json`)), "--json"]);
  return { codes, merged };
}

describe("--shard and merge", () => {
  it("three shards merged give the report of one --deep run: a good checkpoint, one with a CRC mismatch and NaNs in every tensor", withTemp(async (tmp) => {
    const cases = [
      { dir: fixture("checkpoints", "training-state", "ok"), exit: 0 },
      { dir: await garbageTensors(tmp), exit: 1 },
    ];
    for (const c of cases) {
      for (const extra of [[], ["--strict"]]) {
        const single = runCli([c.dir, "--deep", "--json", ...extra]);
        assert.equal(single.code, c.exit, single.stdout);
        const { codes, merged } = shardedRun(c.dir, tmp, extra);
        assert.ok(codes.every((x) => x === 0 || x === 1), codes.join(","));
        assert.equal(merged.code, c.exit, merged.stderr);
        assert.deepEqual(JSON.parse(merged.stdout), JSON.parse(single.stdout));
      }
    }
    // The garbage case has an error in every tensor record: each shard alone saw only some of them.
    const parts = [0, 1, 2].map((i) => JSON.parse(readFileSync(join(tmp, `report-${i}.json`), "utf8")) as { shard: { integrity: { crcMismatches: unknown[] }[] } });
    const perShard = parts.map((p) => p.shard.integrity.reduce((n, f) => n + f.crcMismatches.length, 0));
    assert.ok(perShard.filter((n) => n > 0).length >= 2, `mismatches per shard: ${perShard.join(", ")}`);
  }));

  it("the merged text report is the single run's text report", withTemp((tmp) => {
    const dir = fixture("checkpoints", "training-state", "ok");
    for (const i of [0, 1, 2]) runCli([dir, "--deep", "--shard", `${i}/3`, "--json", "--output", join(tmp, `r${i}.json`)]);
    const merged = runCli(["merge", join(tmp, "r0.json"), join(tmp, "r1.json"), join(tmp, "r2.json")]);
    const single = runCli([dir, "--deep"]);
    assert.equal(merged.code, 0);
    assert.equal(merged.stdout, single.stdout);
  }));

  it("a missing, repeated or foreign shard, or reports from different checkpoints, cannot be merged (exit 1)", withTemp((tmp) => {
    const dir = fixture("checkpoints", "training-state", "ok");
    const other = fixture("checkpoints", "training-state", "warn-no-scaler");
    const part = (d: string, i: number, n: number, name: string) => {
      runCli([d, "--deep", "--shard", `${i}/${n}`, "--json", "--output", join(tmp, name)]);
      return join(tmp, name);
    };
    const [a0, a1, a2] = [part(dir, 0, 3, "a0"), part(dir, 1, 3, "a1"), part(dir, 2, 3, "a2")];
    const b2 = part(other, 2, 3, "b2");
    const c1 = part(dir, 1, 2, "c1");
    writeFileSync(join(tmp, "plain.json"), runCli([dir, "--deep", "--json"]).stdout);
    const cases: [string[], RegExp][] = [
      [[a0, a1], /shard 2\/3 missing/],
      [[a0, a1, a1, a2], /both shard 1\/3/],
      [[a0, a1, b2], /disagree on checkpoint/],
      [[a0, c1, a2], /is shard 1\/2, the others are of 3/],
      [[a0, a1, a2, join(tmp, "plain.json")], /not the report of a --deep --shard run/],
      [[a0, a1, join(tmp, "none.json")], /cannot be read/],
    ];
    for (const [files, why] of cases) {
      const r = runCli(["merge", ...files]);
      assert.equal(r.code, 1, `${files.join(" ")}: ${r.stdout}`);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, "");
    }
  }));

  it("--shard needs --deep and i/n with 0 <= i < n (usage errors, exit 2)", () => {
    const dir = fixture("checkpoints", "training-state", "ok");
    for (const args of [["--shard", "0/2"], ["--deep", "--shard", "2/2"], ["--deep", "--shard", "1"], ["--deep", "--shard", "0/0"]]) {
      const r = runCli([dir, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    }
  });

  it("parts are balanced by bytes, and every record is in exactly one", () => {
    // Files of 10, 70 and 20 bytes, records of 5 bytes: 100 bytes in 3 parts of about 33.
    const sizes = [10, 70, 20];
    const records = sizes.flatMap((size, file) => Array.from({ length: size / 5 }, (_, k) => ({ file, offset: k * 5, length: 5 })));
    const owners = records.map((r) => [0, 1, 2].filter((i) => shardSelectors(sizes, { index: i, count: 3 })[r.file]!(r.offset, r.length)));
    assert.ok(owners.every((o) => o.length === 1));
    const bytes = [0, 1, 2].map((i) => owners.filter((o) => o[0] === i).length * 5);
    assert.deepEqual(bytes, [35, 30, 35]);
  });
});
