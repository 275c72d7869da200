import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { progressBar } from "../../src/cli/progress.js";

describe("--deep progress bar", () => {
  it("draws bytes, rate and time left, throttled, and clears its line", () => {
    const out: string[] = [];
    let t = 0;
    const bar = progressBar((s) => out.push(s), () => t);
    t = 1000;
    bar.update(512 * 1024 * 1024, 1024 * 1024 * 1024);
    t = 1050;
    bar.update(600 * 1024 * 1024, 1024 * 1024 * 1024); // within 100 ms: not drawn
    t = 2000;
    bar.update(1024 * 1024 * 1024, 1024 * 1024 * 1024);
    bar.finish();
    assert.equal(out.length, 3);
    assert.equal(out[0], `\r[${"#".repeat(15)}${"-".repeat(15)}]  50% 512.0 MiB / 1.0 GiB  512.0 MiB/s  1 s left `);
    assert.match(out[1]!, /100% 1\.0 GiB \/ 1\.0 GiB {2}512\.0 MiB\/s {2}0 s left/);
    assert.equal(out[2], "\r\x1b[2K");
  });
  it("prints nothing when never updated", () => {
    const out: string[] = [];
    progressBar((s) => out.push(s)).finish();
    assert.deepEqual(out, []);
  });
});
