/**
 * One pass over a header in the plain form every writer produces: an object of
 * tensor entries `{"dtype":"F32","shape":[15,16],"data_offsets":[0,960]}` and
 * an optional `__metadata__` of strings, with no escapes, no duplicate keys, no
 * other fields and integers that are plain digits. Anything else (including
 * anything invalid) returns undefined, and the header goes through JSON.parse,
 * the structural scan and zod, which say exactly what is wrong. What this
 * accepts is valid JSON that those accept too, read the same way; it only
 * avoids building a value tree and a Set per object for a sharded
 * mixture-of-experts checkpoint's tens of thousands of entries.
 */

export interface PlainHeader<T> {
  metadata: Record<string, string> | null;
  entries: T[];
}

/** Makes the caller's entry object directly: one object per tensor, not two. */
export type MakeEntry<T> = (name: string, dtype: string, shape: number[], begin: number, end: number) => T;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function parsePlainHeader<T>(text: string, dtypes: ReadonlySet<string>, make: MakeEntry<T>): PlainHeader<T> | undefined {
  const p = new PlainParser(text, dtypes, make);
  try {
    return p.header();
  } catch (e) {
    if (e === NOT_PLAIN) return undefined;
    throw e;
  }
}

const NOT_PLAIN = new Error("not a plain header");

/** An entry's field, recognised in place (no string made for it): see PlainParser.field. */
const enum Field { Dtype, Shape, Offsets, Other }

class PlainParser<T> {
  private i = 0;
  /** The last few shapes, shared between entries (a model repeats a handful of shapes). */
  private readonly shapes: number[][] = [];
  /** Scratch for a shape's dimensions, copied only when it is a new shape. */
  private readonly dims: number[] = [];
  /** The last dtype read: the next entry's is usually the same string. */
  private lastDtype = "";
  /**
   * Names seen so far, made only once a name does not sort after the one before it: writers emit
   * names in sorted order, where every name is new by construction (a Set of tens of thousands of
   * names was a third of the parse).
   */
  private names: Set<string> | undefined = undefined;
  private readonly seen: string[] = [];

  constructor(
    private readonly s: string,
    private readonly dtypes: ReadonlySet<string>,
    private readonly make: MakeEntry<T>,
  ) {}

  header(): PlainHeader<T> {
    const out: PlainHeader<T> = { metadata: null, entries: [] };
    let metadataSeen = false;
    this.expect(0x7b);
    if (!this.take(0x7d)) {
      do {
        const name = this.string();
        this.expect(0x3a);
        if (name === "__metadata__") {
          if (metadataSeen) throw NOT_PLAIN;
          metadataSeen = true;
          out.metadata = this.metadata();
          continue;
        }
        this.newName(name);
        out.entries.push(this.entry(name));
      } while (this.take(0x2c));
      this.expect(0x7d);
    }
    this.ws();
    if (this.i !== this.s.length) throw NOT_PLAIN;
    return out;
  }

  /** Refuses a name seen before. */
  private newName(name: string): void {
    const seen = this.seen;
    if (!this.names) {
      if (seen.length === 0 || name > seen[seen.length - 1]!) {
        seen.push(name);
        return;
      }
      this.names = new Set(seen);
    }
    if (this.names.has(name)) throw NOT_PLAIN;
    this.names.add(name);
  }

  private entry(name: string): T {
    let dtype: string | undefined;
    let shape: number[] | undefined;
    let begin = -1;
    let end = -1;
    this.expect(0x7b);
    do {
      const field = this.field();
      this.expect(0x3a);
      if (field === Field.Dtype && dtype === undefined) {
        dtype = this.dtype();
      } else if (field === Field.Shape && shape === undefined) {
        shape = this.shape();
      } else if (field === Field.Offsets && begin < 0) {
        this.expect(0x5b);
        begin = this.uint();
        this.expect(0x2c);
        end = this.uint();
        this.expect(0x5d);
      } else throw NOT_PLAIN;
    } while (this.take(0x2c));
    this.expect(0x7d);
    if (dtype === undefined || shape === undefined || begin < 0) throw NOT_PLAIN;
    return this.make(name, dtype, shape, begin, end);
  }

  /** A quoted field name, compared where it lies: "dtype", "shape", "data_offsets", or another (not plain). */
  private field(): Field {
    this.ws();
    const s = this.s;
    const i = this.i;
    if (s.charCodeAt(i) !== QUOTE) throw NOT_PLAIN;
    const f = s.startsWith('dtype"', i + 1) ? Field.Dtype : s.startsWith('shape"', i + 1) ? Field.Shape : s.startsWith('data_offsets"', i + 1) ? Field.Offsets : Field.Other;
    if (f === Field.Other) throw NOT_PLAIN;
    this.i = i + (f === Field.Offsets ? 14 : 7);
    return f;
  }

  /** A dtype string, one of `dtypes`: the previous entry's string when it is the same. */
  private dtype(): string {
    this.ws();
    const last = this.lastDtype;
    const i = this.i;
    const s = this.s;
    if (last !== "" && s.charCodeAt(i) === QUOTE && s.charCodeAt(i + 1 + last.length) === QUOTE && s.startsWith(last, i + 1)) {
      this.i = i + last.length + 2;
      return last;
    }
    const d = this.string();
    if (!this.dtypes.has(d)) throw NOT_PLAIN;
    this.lastDtype = d;
    return d;
  }

  private shape(): number[] {
    this.expect(0x5b);
    const dims = this.dims;
    let n = 0;
    if (!this.take(0x5d)) {
      do dims[n++] = this.uint();
      while (this.take(0x2c));
      this.expect(0x5d);
    }
    const shapes = this.shapes;
    for (let k = 0; k < shapes.length; k++) {
      const known = shapes[k]!;
      if (known.length !== n) continue;
      let same = true;
      for (let d = 0; d < n && same; d++) same = known[d] === dims[d];
      if (same) return known;
    }
    const made = dims.slice(0, n);
    if (shapes.length >= 16) shapes.shift();
    shapes.push(made);
    return made;
  }

  private metadata(): Record<string, string> | null {
    this.ws();
    if (this.s.startsWith("null", this.i)) {
      this.i += 4;
      return null;
    }
    const entries: [string, string][] = [];
    const keys = new Set<string>();
    this.expect(0x7b);
    if (!this.take(0x7d)) {
      do {
        const key = this.string();
        if (keys.has(key)) throw NOT_PLAIN;
        keys.add(key);
        this.expect(0x3a);
        entries.push([key, this.string()]);
      } while (this.take(0x2c));
      this.expect(0x7d);
    }
    // As header.ts does: own data properties, so a "__proto__" key stays a key.
    return Object.fromEntries(entries);
  }

  /** A string token with no escape and no control character. */
  private string(): string {
    this.expect(QUOTE);
    const s = this.s;
    const start = this.i;
    const close = s.indexOf('"', start);
    if (close < 0) throw NOT_PLAIN;
    for (let k = start; k < close; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x20 || c === BACKSLASH) throw NOT_PLAIN;
    }
    this.i = close + 1;
    return s.slice(start, close);
  }

  /** Digits only, no leading zero, at most 15 of them (below 2^53). */
  private uint(): number {
    this.ws();
    const s = this.s;
    const start = this.i;
    let v = 0;
    while (this.i < s.length) {
      const d = s.charCodeAt(this.i) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      this.i++;
    }
    const len = this.i - start;
    if (len === 0 || len > 15 || (len > 1 && s.charCodeAt(start) === 0x30)) throw NOT_PLAIN;
    const next = s.charCodeAt(this.i);
    if (next === 0x2e || next === 0x65 || next === 0x45) throw NOT_PLAIN; // 1.0, 1e3: not a plain integer
    return v;
  }

  private ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  /** Skips whitespace, then consumes `c` if it is next. */
  private take(c: number): boolean {
    this.ws();
    if (this.s.charCodeAt(this.i) !== c) return false;
    this.i++;
    return true;
  }

  private expect(c: number): void {
    if (!this.take(c)) throw NOT_PLAIN;
  }
}
