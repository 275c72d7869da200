// One value referenced from many places (the pickle memo) must not unfold without bound when
// `inspect --json` writes it out: the fuzzer found a DCP `.metadata` mutant (seed 1, mutant 92714,
// one inserted opcode) whose `inspect --json` grew without end until the process was killed.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodePickle } from "../../src/formats/pickle/decoder.js";
import { inspectFile } from "../../src/inspect/inspect.js";
import { renderInspectJson } from "../../src/inspect/render.js";
import { keyString, MAX_REPEATS, toJson } from "../../src/inspect/to-json.js";
import { runCli } from "../helpers.js";
import { pk, tempFile } from "./build.js";

const PROTO2 = "\x80\x02";
/** Counts the values a rendering wrote (markers included). */
function count(j: unknown): number {
  if (Array.isArray(j)) return 1 + j.reduce((n: number, x) => n + count(x), 0);
  if (j !== null && typeof j === "object") return 1 + Object.values(j).reduce((n: number, x) => n + count(x), 0);
  return 1;
}

describe("inspect --json: values the pickle shares", () => {
  it("a list holding itself twice (2^64 paths within the depth limit) is written with markers, not unfolded", () => {
    // EMPTY_LIST, BINPUT 0, MARK, BINGET 0, BINGET 0, APPENDS, STOP
    const bytes = pk(PROTO2, "]", "q", 0, "(", "h", 0, "h", 0, "e", ".");
    const json = toJson(decodePickle(bytes).value, new Map());
    const text = JSON.stringify(json);
    assert.ok(text.includes(`references it from more than ${MAX_REPEATS} places`), text.slice(0, 300));
    // The list written out at most MAX_REPEATS times, each time with two children (a marker counts its
    // own two fields here): 2 x MAX_REPEATS + 1 renderings at most, nowhere near 2^64.
    assert.ok(count(json) <= (2 * MAX_REPEATS + 1) * 3, `wrote ${count(json)} values`);
  });

  it("a chain of 40 lists, each holding the next twice, stays within lists x repeats", () => {
    // l0 = [l1, l1], l1 = [l2, l2], ...: built innermost first with BINPUT/BINGET.
    const parts: (string | number)[] = [PROTO2, "]", "q", 0]; // l39 = []
    for (let i = 1; i < 40; i++) parts.push("(", "h", i - 1, "h", i - 1, "l", "q", i); // MARK, GET, GET, LIST, PUT
    parts.push(".");
    const json = toJson(decodePickle(pk(...parts)).value, new Map());
    assert.ok(count(json) <= 40 * (2 * MAX_REPEATS + 1) * 3, `wrote ${count(json)} values`);
  });

  it("a value shared a few times is written out in full each time (the other side of the limit)", () => {
    // d = {"a": 1}; [d, d, d]: three full copies, no marker
    const bytes = pk(PROTO2, "(", "}", "q", 0, "X", 1, 0, 0, 0, "a", "K", 1, "s", "h", 0, "h", 0, "l", ".");
    const json = toJson(decodePickle(bytes).value, new Map());
    assert.deepEqual(JSON.parse(JSON.stringify(json)), [{ a: 1 }, { a: 1 }, { a: 1 }]);
  });

  it("a tuple key holding one tuple twice per level is written to 256 characters", () => {
    // t0 = (1,), t1 = (t0, t0), ..., t39: 2^39 ones if written out
    const parts: (string | number)[] = [PROTO2, "K", 1, "\x85", "q", 0];
    for (let i = 1; i < 40; i++) parts.push("h", i - 1, "h", i - 1, "\x86", "q", i); // GET, GET, TUPLE2, PUT
    parts.push(".");
    const key = keyString(decodePickle(pk(...parts)).value);
    assert.ok(key.length <= 257 && key.endsWith("…"), `${key.length} characters`);
  });

  it("the CLI: inspect --json on a file holding such a list exits promptly with the markers in its output", async () => {
    const file = tempFile("shared.pkl", pk(PROTO2, "]", "q", 0, "(", "h", 0, "h", 0, "e", "."));
    const r = runCli(["inspect", file, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`references it from more than ${MAX_REPEATS} places`));
    const direct = renderInspectJson(await inspectFile(file));
    assert.equal(direct, r.stdout);
  });
});
