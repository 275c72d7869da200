import { FormatError } from "../../core/errors.js";

/**
 * JSON as Python's `json` module writes and reads it. `json.dumps` writes the
 * bare tokens `NaN`, `Infinity` and `-Infinity` for non-finite floats
 * (allow_nan=True is its default, and transformers' TrainerState.save_to_json
 * relies on it), which JSON.parse rejects: a trainer_state.json whose last
 * losses diverged would read as "not JSON" instead of as the NaN it holds.
 * This reader accepts exactly what `json.loads` accepts (strict mode: no
 * control characters inside strings), returns those tokens as the numbers
 * they are, and words errors the way Python does ("Expecting value: line 1
 * column 5 (char 4)").
 *
 * Standard JSON, a strict subset of what Python reads, goes through
 * JSON.parse, which V8 implements without recursion and which is about five
 * times faster; only a text JSON.parse refuses (the three tokens, or a real
 * error) goes through the reader below. It never recurses either: containers
 * live on an explicit stack, bounded by MAX_DEPTH. Object keys are own
 * properties, so a "__proto__" key is data, as JSON.parse treats it, never
 * the prototype setter.
 */

/** Python's json.dumps hits RecursionError before this depth (the default recursion limit is 1000). */
export const MAX_DEPTH = 1000;

type Frame = { array: unknown[] } | { object: Record<string, unknown>; key: string };

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const PLAIN_CHARS = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

export function parsePythonJson(text: string, maxDepth = MAX_DEPTH): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseSlowly(text, maxDepth);
  }
}

/** Exported for tests: the reader that also takes NaN, Infinity and -Infinity, and words errors as Python does. */
export function parseSlowly(text: string, maxDepth = MAX_DEPTH): unknown {
  const r = new Reader(text);
  const stack: Frame[] = [];
  for (;;) {
    r.ws();
    let value: unknown;
    const c = text[r.i];
    if (c === "{" || c === "[") {
      r.i++;
      r.ws();
      if (text[r.i] === (c === "{" ? "}" : "]")) {
        r.i++;
        value = c === "{" ? {} : [];
      } else {
        if (stack.length >= maxDepth) throw r.fail(`Nested deeper than ${maxDepth} levels`);
        stack.push(c === "{" ? { object: {}, key: r.key() } : { array: [] });
        continue;
      }
    } else value = r.scalar();
    // Place the value in its container; close every container that ends here.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) {
        r.ws();
        if (r.i < text.length) throw r.fail("Extra data");
        return value;
      }
      if ("array" in top) top.array.push(value);
      else if (top.key === "__proto__") Object.defineProperty(top.object, top.key, { value, writable: true, enumerable: true, configurable: true });
      else top.object[top.key] = value;
      r.ws();
      const d = text[r.i];
      if (d === ",") {
        r.i++;
        if (!("array" in top)) {
          r.ws();
          top.key = r.key();
        }
        break;
      }
      if (d !== ("array" in top ? "]" : "}")) throw r.fail("Expecting ',' delimiter");
      r.i++;
      stack.pop();
      value = "array" in top ? top.array : top.object;
    }
  }
}

class Reader {
  i = 0;
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    for (let c = t.charCodeAt(this.i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = t.charCodeAt(++this.i));
  }

  /** An object key and its colon. */
  key(): string {
    if (this.text[this.i] !== '"') throw this.fail("Expecting property name enclosed in double quotes");
    this.i++;
    const key = this.string();
    this.ws();
    if (this.text[this.i] !== ":") throw this.fail("Expecting ':' delimiter");
    this.i++;
    return key;
  }

  scalar(): unknown {
    const t = this.text;
    const c = t[this.i];
    if (c === '"') {
      this.i++;
      return this.string();
    }
    const word = c === "-" && t[this.i + 1] === "I" ? MINUS_INFINITY : c === undefined ? undefined : WORDS[c];
    if (word && t.startsWith(word[0], this.i)) {
      this.i += word[0].length;
      return word[1];
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(t);
    if (m) {
      this.i += m[0].length;
      return Number(m[0]);
    }
    throw this.fail("Expecting value");
  }

  /** The rest of a string after its opening quote. */
  private string(): string {
    const t = this.text;
    const start = this.i - 1;
    let out = "";
    for (;;) {
      PLAIN_CHARS.lastIndex = this.i;
      const run = PLAIN_CHARS.exec(t)![0];
      out += run;
      this.i += run.length;
      const c = t[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === undefined) throw this.fail("Unterminated string starting at", start);
      if (c !== "\\") throw this.fail("Invalid control character at");
      const e = t[this.i + 1];
      if (e === "u") {
        const hex = t.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.fail("Invalid \\uXXXX escape", this.i + 1);
        // Surrogate pairs need no joining: JavaScript strings are UTF-16 code units already.
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.i += 2;
      } else throw this.fail("Invalid \\escape");
    }
  }

  fail(what: string, at = this.i): FormatError {
    const before = this.text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    return new FormatError("JSON_INVALID", `${what}: line ${line} column ${column} (char ${at})`);
  }
}

/** Literal tokens by first character; Python's json also reads NaN, Infinity and -Infinity (tried before a number). */
const WORDS: Record<string, [string, unknown]> = {
  t: ["true", true],
  f: ["false", false],
  n: ["null", null],
  N: ["NaN", NaN],
  I: ["Infinity", Infinity],
};
const MINUS_INFINITY: [string, unknown] = ["-Infinity", -Infinity];
