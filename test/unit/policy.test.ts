import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decideStatus, exitCodeFor, failedByStrictness, summarise } from "../../src/verify/policy.js";
import type { CheckResult } from "../../src/verify/schema.js";

const check = (levels: ("pass" | "warn" | "error" | "info")[]): CheckResult => ({
  id: "x",
  title: "x",
  status: "pass",
  findings: levels.map((level) => ({ level, code: "X", message: "m", data: {} })),
});

describe("policy", () => {
  it("counts findings by level", () => {
    assert.deepEqual(summarise([check(["pass", "pass", "warn"]), check(["error", "info", "pass"])]), { passed: 3, warnings: 1, errors: 1 });
  });
  it("warnings pass by default and fail in strict mode", () => {
    const s = { passed: 18, warnings: 1, errors: 0 };
    assert.equal(decideStatus(s, false), "passed_with_warnings");
    assert.equal(decideStatus(s, true), "failed");
    assert.equal(exitCodeFor(decideStatus(s, false)), 0);
    assert.equal(exitCodeFor(decideStatus(s, true)), 1);
    assert.equal(failedByStrictness({ status: "failed", strict: true, summary: s }), true);
  });
  it("errors fail in both modes and are not blamed on strictness", () => {
    const s = { passed: 3, warnings: 1, errors: 1 };
    assert.equal(decideStatus(s, false), "failed");
    assert.equal(failedByStrictness({ status: "failed", strict: true, summary: s }), false);
  });
  it("no warnings and no errors is a clean pass", () => {
    assert.equal(decideStatus({ passed: 5, warnings: 0, errors: 0 }, true), "passed");
  });
});
