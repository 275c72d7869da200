import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parsePythonJson, parseSlowly } from "../../src/formats/json/python-json.js";

/** What Python 3's json.loads returns or raises for each text (recorded from CPython 3.11). */
const ACCEPTED: [string, unknown][] = [
  ['{"a": NaN, "b": [Infinity, -Infinity, -1.5e3]}', { a: NaN, b: [Infinity, -Infinity, -1500] }],
  ['{"loss": NaN, "g": Infinity, "h": -Infinity}', { loss: NaN, g: Infinity, h: -Infinity }],
  ['  [true, false, null, 0, -0.5, 1e2, "x\\u00e9\\n"]  ', [true, false, null, 0, -0.5, 100, "x\u00e9\n"]],
  ['"\\ud83d\\ude00"', "\u{1F600}"],
  ['{"a": 1, "a": 2}', { a: 2 }],
];

const REFUSED: [string, string][] = [
  ["[1, 2", "Expecting ',' delimiter: line 1 column 6 (char 5)"],
  ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
  ["01", "Extra data: line 1 column 2 (char 1)"],
  ["[]  x", "Extra data: line 1 column 5 (char 4)"],
  ['{"a":"\u0001"}', "Invalid control character at: line 1 column 7 (char 6)"],
  ["-Inf", "Expecting value: line 1 column 1 (char 0)"],
  ['{"a": 1,}', "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"],
  ['"abc', "Unterminated string starting at: line 1 column 1 (char 0)"],
  ["[1,]", "Expecting value: line 1 column 4 (char 3)"],
  ['{"a":"\\q"}', "Invalid \\escape: line 1 column 7 (char 6)"],
  ['"\\u12"', "Invalid \\uXXXX escape: line 1 column 3 (char 2)"],
  ["  ", "Expecting value: line 1 column 3 (char 2)"],
  ['{"a": 1,\n "b" 2}', "Expecting ':' delimiter: line 2 column 6 (char 14)"],
];

describe("Python-written JSON", () => {
  for (const [text, want] of ACCEPTED) {
    it(`reads ${JSON.stringify(text)} as json.loads does`, () => {
      assert.deepEqual(parsePythonJson(text), want);
      assert.deepEqual(parseSlowly(text), want);
    });
  }
  for (const [text, message] of REFUSED) {
    it(`refuses ${JSON.stringify(text)} with Python's words`, () => assert.throws(() => parsePythonJson(text), { message }));
  }
  it("a __proto__ key is data, not the object's prototype", () => {
    const v = parseSlowly('{"__proto__": {"polluted": 1}, "x": NaN}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ["__proto__", "x"]);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });
  it("nesting is bounded without recursion", () => {
    const deep = (n: number) => "[".repeat(n) + "NaN" + "]".repeat(n);
    assert.equal(JSON.stringify(parseSlowly(deep(1000))).length, 2 * 1000 + 4);
    assert.throws(() => parseSlowly(deep(1001)), /Nested deeper than 1000 levels/);
    assert.throws(() => parseSlowly(deep(200_000)), /Nested deeper than 1000 levels/);
  });
});
