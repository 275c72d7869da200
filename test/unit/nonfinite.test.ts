/**
 * The NaN/Inf scan's fast test (four accumulators, then a tail of up to three elements) on each
 * side of its boundaries: a non-finite value in the tail, in the last of a group of four, and
 * just outside a range [from, to) of a shared view.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allFinite32At, countNonFinite } from "../../src/integrity/nonfinite.js";

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const f64 = (values: number[]) => new Uint8Array(Float64Array.from(values).buffer);

describe("countNonFinite: the tail after the groups of four", () => {
  const cases: [string, Uint8Array, string, number][] = [
    ["float32, NaN the fifth of five (the tail)", f32([1, 2, 3, 4, NaN]), "float32", 1],
    ["float32, Inf the seventh of seven", f32([1, 2, 3, 4, 5, 6, Infinity]), "float32", 1],
    ["float32, -Inf the fourth of four (no tail)", f32([1, 2, 3, -Infinity]), "float32", 1],
    ["float32, all finite, five", f32([1, 2, 3, 4, 5]), "float32", 0],
    ["float64, NaN the fifth of five", f64([1, 2, 3, 4, NaN]), "float64", 1],
    ["float64, all finite, five", f64([1, 2, 3, 4, 5]), "float64", 0],
  ];
  for (const [name, bytes, dtype, want] of cases) it(name, () => assert.equal(countNonFinite(bytes, dtype), want));
});

describe("allFinite32At: only elements [from, to) count", () => {
  // index:            0    1  2  3  4  5  6    7
  const v = Float32Array.from([NaN, 1, 2, 3, 4, 5, NaN, 7]);
  const cases: [string, number, number, boolean][] = [
    ["[1, 6): five finite, NaN on both sides outside", 1, 6, true],
    ["[1, 7): NaN the last, in the tail", 1, 7, false],
    ["[0, 5): NaN the first, in a group of four", 0, 5, false],
    ["[2, 6): exactly one group of four, finite", 2, 6, true],
    ["[3, 3): empty", 3, 3, true],
  ];
  for (const [name, from, to, want] of cases) it(name, () => assert.equal(allFinite32At(v, from, to), want));
});
