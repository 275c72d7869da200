import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkStatus, decideStatus, exitCodeFor, failedByStrictness, summarise } from "../../src/verify/policy.js";
import type { CheckResult, Status } from "../../src/verify/schema.js";

const check = (levels: ("pass" | "warn" | "error" | "info")[]): CheckResult => ({
  id: "x",
  title: "x",
  status: "pass",
  findings: levels.map((level) => ({ level, code: "X", message: "m", data: {} })),
});

describe("policy", () => {
  it("counts findings by level; information is not counted", () => {
    assert.deepEqual(summarise([check(["pass", "pass", "warn"]), check(["error", "info", "pass"])]), { passed: 3, warnings: 1, errors: 1 });
    assert.deepEqual(summarise([check(["info", "info"]), check([])]), { passed: 0, warnings: 0, errors: 0 });
    assert.deepEqual(summarise([check(["warn", "warn", "error", "error", "error"])]), { passed: 0, warnings: 2, errors: 3 });
  });

  // The contract: 0 passed (warnings allowed unless --strict), 1 failed. [warnings, errors, strict, status, exit, blamed on strictness]
  const table: [number, number, boolean, Status, 0 | 1, boolean][] = [
    [0, 0, false, "passed", 0, false],
    [0, 0, true, "passed", 0, false],
    [1, 0, false, "passed_with_warnings", 0, false], // exactly one warning
    [1, 0, true, "failed", 1, true], // exactly one warning, strict
    [5, 0, false, "passed_with_warnings", 0, false],
    [5, 0, true, "failed", 1, true],
    [0, 1, false, "failed", 1, false], // exactly one error
    [0, 1, true, "failed", 1, false],
    [1, 1, false, "failed", 1, false],
    [1, 1, true, "failed", 1, false],
  ];
  for (const [warnings, errors, strict, status, exit, blamed] of table) {
    it(`${warnings} warning(s), ${errors} error(s)${strict ? ", --strict" : ""}: ${status}, exit ${exit}`, () => {
      const summary = { passed: 18, warnings, errors };
      assert.equal(decideStatus(summary, strict), status);
      assert.equal(exitCodeFor(status), exit);
      assert.equal(failedByStrictness({ status, strict, summary }), blamed);
    });
  }

  it("exit codes by status", () => {
    assert.deepEqual((["passed", "passed_with_warnings", "failed"] as const).map(exitCodeFor), [0, 0, 1]);
  });

  it("a failure outside strict mode is never blamed on strictness", () => {
    assert.equal(failedByStrictness({ status: "failed", strict: false, summary: { passed: 0, warnings: 1, errors: 0 } }), false);
    assert.equal(failedByStrictness({ status: "passed_with_warnings", strict: true, summary: { passed: 0, warnings: 1, errors: 0 } }), false);
  });

  it("a check's status is its worst finding; information and no findings are a pass", () => {
    const table: [string[], CheckResult["status"]][] = [
      [[], "pass"],
      [["info"], "pass"],
      [["pass", "info"], "pass"],
      [["pass", "warn"], "warn"],
      [["warn", "info"], "warn"],
      [["error"], "error"],
      [["warn", "error", "pass"], "error"],
    ];
    for (const [levels, status] of table) assert.equal(checkStatus(levels), status, levels.join(","));
  });
});
