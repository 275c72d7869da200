/**
 * The opcode loop. One switch over the opcode byte; arguments are read
 * through Machine's bounds-checked primitives, so a length field is checked
 * against the remaining bytes before anything is allocated.
 */
import { ascii, decodeLong, latin1, utf8, utf8Strict } from "./bytes.js";
import type { Machine } from "./machine.js";
import { addTo, appendTo, build, call, dynamicGlobal, global, persistent, setItems } from "./ops.js";
import { decodeRawUnicodeEscape, decodeStringLiteral, parseFloatLine, parseIntLine, parseLongLine, parseMemoIndex } from "./text.js";
import { MAX_STACK } from "./types.js";
import { EMPTY_TUPLE, PyBytes, PyDict, PyFloat, PyGlobal, PyList, PySet, PyTuple, pyTypeName } from "./values.js";
import type { PyValue } from "./values.js";

// A LONG4 longer than this is no checkpoint's and would only cost memory converting it.
const MAX_LONG_BYTES = 1 << 20;

/** Runs from m.pos to STOP and returns what STOP pops. */
export function execute(m: Machine): PyValue {
  const bytes = m.bytes;
  const view = m.view;
  const stack = m.stack;
  const maxOps = m.limits.maxOpcodes;
  for (;;) {
    const p = m.pos;
    m.op = p;
    if (p >= bytes.length) {
      throw m.fail("PICKLE_NO_STOP", `the data ended after ${m.opcodes} opcodes without a STOP`);
    }
    if (++m.opcodes > maxOps) throw m.limit("maxOpcodes", maxOps, "opcode count");
    if (stack.length > MAX_STACK) throw m.limit("stack", MAX_STACK, "stack size");
    const code = bytes[p]!;
    m.pos = p + 1;
    switch (code) {
      // ---- stack and control ----
      case 0x28: m.pushMark(); break; // MARK
      case 0x2e: { // STOP
        const v = m.pop();
        if (m.badFrame) throw m.badFrame;
        return v;
      }
      case 0x30: // POP: like CPython, a MARK at the top is what gets popped
        if (m.marks.length > 0 && m.marks[m.marks.length - 1] === stack.length) m.popMark();
        else m.pop();
        break;
      case 0x31: stack.length = m.popMark(); break; // POP_MARK
      case 0x32: stack.push(m.top()); break; // DUP
      case 0x80: { // PROTO
        const v = bytes[m.need(1)]!;
        if (v > 5) throw m.fail("PICKLE_UNSUPPORTED", `unsupported pickle protocol ${v} (highest known is 5)`, { protocol: v });
        m.protocol ??= v;
        break;
      }
      case 0x95: { // FRAME: framing only groups reads, so check the length and read on
        const n = m.u64();
        const have = bytes.length - m.pos;
        // CPython fails here; we fail too, but only after reading what the frame holds, for the partial record
        if (n > have) m.badFrame ??= m.fail("PICKLE_BAD_FRAME", `FRAME of ${n} bytes but only ${have} remain`, { wanted: n, had: have });
        break;
      }

      // ---- constants and numbers ----
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(bytes[m.need(1)]!); break; // BININT1
      case 0x4d: stack.push(view.getUint16(m.need(2), true)); break; // BININT2
      case 0x4a: stack.push(view.getInt32(m.need(4), true)); break; // BININT
      case 0x8a: { // LONG1
        const n = bytes[m.need(1)]!;
        stack.push(decodeLong(bytes, m.need(n), n));
        break;
      }
      case 0x8b: { // LONG4
        const n = view.getInt32(m.need(4), true);
        if (n < 0) throw m.fail("PICKLE_BAD_VALUE", `LONG4 with negative byte count ${n}`);
        const at = m.need(n);
        if (n > MAX_LONG_BYTES) throw m.limit("intBytes", MAX_LONG_BYTES, `an int of ${n} bytes`);
        stack.push(decodeLong(bytes, at, n));
        break;
      }
      case 0x47: stack.push(new PyFloat(view.getFloat64(m.need(8), false))); break; // BINFLOAT
      case 0x49: stack.push(parseIntLine(lineText(m))); break; // INT
      case 0x4c: stack.push(parseLongLine(lineText(m))); break; // LONG
      case 0x46: stack.push(new PyFloat(parseFloatLine(lineText(m)))); break; // FLOAT

      // ---- strings and bytes ----
      case 0x8c: { // SHORT_BINUNICODE
        const n = bytes[m.need(1)]!;
        const at = m.need(n);
        stack.push(utf8(bytes, at, at + n));
        break;
      }
      case 0x58: { // BINUNICODE
        const n = view.getUint32(m.need(4), true);
        const at = m.need(n);
        stack.push(utf8(bytes, at, at + n));
        break;
      }
      case 0x8d: { // BINUNICODE8
        const n = m.u64();
        const at = m.needLong(n);
        stack.push(utf8(bytes, at, at + n));
        break;
      }
      case 0x56: { // UNICODE
        const [a, b] = m.line();
        stack.push(decodeRawUnicodeEscape(bytes, a, b));
        break;
      }
      // Python 2 str: latin-1 never fails, and is exact for the ASCII real files hold.
      case 0x55: { // SHORT_BINSTRING
        const n = bytes[m.need(1)]!;
        const at = m.need(n);
        stack.push(latin1(bytes, at, at + n));
        break;
      }
      case 0x54: { // BINSTRING
        const n = view.getInt32(m.need(4), true);
        if (n < 0) throw m.fail("PICKLE_BAD_VALUE", `BINSTRING with negative length ${n}`);
        const at = m.need(n);
        stack.push(latin1(bytes, at, at + n));
        break;
      }
      case 0x53: { // STRING
        const [a, b] = m.line();
        const codes = decodeStringLiteral(bytes, a, b);
        stack.push(latin1(Uint8Array.from(codes), 0, codes.length));
        break;
      }
      case 0x43: { // SHORT_BINBYTES
        const n = bytes[m.need(1)]!;
        const at = m.need(n);
        stack.push(new PyBytes(copy(bytes, at, n)));
        break;
      }
      case 0x42: { // BINBYTES
        const n = view.getUint32(m.need(4), true);
        const at = m.need(n);
        stack.push(new PyBytes(copy(bytes, at, n)));
        break;
      }
      case 0x8e: // BINBYTES8
      case 0x96: { // BYTEARRAY8
        const n = m.u64();
        const at = m.needLong(n);
        stack.push(new PyBytes(copy(bytes, at, n), code === 0x96 ? "bytearray" : "bytes"));
        break;
      }
      case 0x97: // NEXT_BUFFER
        throw m.fail("PICKLE_UNSUPPORTED", "NEXT_BUFFER refers to an out-of-band buffer, which a file cannot carry");
      case 0x98: // READONLY_BUFFER: harmless on bytes (CPython accepts it there), unsupported otherwise
        if (!(m.top() instanceof PyBytes)) throw m.fail("PICKLE_UNSUPPORTED", "READONLY_BUFFER on something that is not a buffer");
        break;

      // ---- containers ----
      case 0x29: stack.push(EMPTY_TUPLE); break; // EMPTY_TUPLE: one object, as in CPython
      case 0x85: stack.push(new PyTuple([m.pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = m.pop();
        stack.push(new PyTuple([m.pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = m.pop();
        const b = m.pop();
        stack.push(new PyTuple([m.pop(), b, c]));
        break;
      }
      case 0x74: stack.push(new PyTuple(containerItems(m, "tuple"))); break; // TUPLE
      case 0x5d: stack.push(new PyList()); break; // EMPTY_LIST
      case 0x6c: stack.push(new PyList(containerItems(m, "list"))); break; // LIST
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = containerItems(m, "dict");
        if (items.length % 2 !== 0) throw m.fail("PICKLE_BAD_VALUE", "odd number of items for DICT");
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) d.set(items[i]!, items[i + 1]!);
        stack.push(d);
        break;
      }
      case 0x8f: stack.push(new PySet()); break; // EMPTY_SET
      case 0x91: stack.push(new PySet(containerItems(m, "frozenset"), true)); break; // FROZENSET
      case 0x61: { // APPEND
        const v = m.pop();
        appendTo(m, m.top(), [v]);
        break;
      }
      case 0x65: appendTo(m, ...targetAndItems(m)); break; // APPENDS
      case 0x73: { // SETITEM
        const v = m.pop();
        const k = m.pop();
        setItems(m, m.top(), [k, v]);
        break;
      }
      case 0x75: setItems(m, ...targetAndItems(m)); break; // SETITEMS
      case 0x90: addTo(m, ...targetAndItems(m)); break; // ADDITEMS

      // ---- memo ----
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        m.memoGet(code === 0x68 ? bytes[m.need(1)]! : view.getUint32(m.need(4), true));
        const seq = m.options.sequence;
        const got = stack[stack.length - 1];
        if (seq && got instanceof PyGlobal && seq.starts(got)) seq.run(m);
        break;
      }
      case 0x67: m.memoGet(parseMemoIndex(lineText(m))); break; // GET
      case 0x71: m.memoPut(bytes[m.need(1)]!); break; // BINPUT
      case 0x72: m.memoPut(view.getUint32(m.need(4), true)); break; // LONG_BINPUT
      case 0x70: m.memoPut(parseMemoIndex(lineText(m))); break; // PUT
      case 0x94: m.memoPut(m.memo.size); break; // MEMOIZE

      // ---- globals, calls, objects ----
      case 0x63: { // GLOBAL
        const [ma, mb] = m.line();
        const module = utf8Strict(bytes, ma, mb);
        const [na, nb] = m.line();
        stack.push(global(m, module, utf8Strict(bytes, na, nb)));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = m.pop();
        const module = m.pop();
        stack.push(typeof module === "string" && typeof name === "string" ? global(m, module, name) : dynamicGlobal(m, module, name));
        break;
      }
      case 0x82: ext(m, bytes[m.need(1)]!); break; // EXT1
      case 0x83: ext(m, view.getUint16(m.need(2), true)); break; // EXT2
      case 0x84: ext(m, view.getInt32(m.need(4), true)); break; // EXT4
      case 0x52: { // REDUCE
        const args = m.pop();
        const callee = m.pop();
        stack.push(call(m, callee, tupleItems(m, args, "REDUCE"), "reduce"));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = m.pop();
        const cls = m.pop();
        stack.push(call(m, cls, tupleItems(m, args, "NEWOBJ"), "newobj"));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = m.pop();
        const args = m.pop();
        const cls = m.pop();
        if (!(kwargs instanceof PyDict)) throw m.fail("PICKLE_BAD_VALUE", "NEWOBJ_EX keyword arguments must be a dict");
        stack.push(call(m, cls, tupleItems(m, args, "NEWOBJ_EX"), "newobj_ex", kwargs));
        break;
      }
      case 0x69: { // INST
        const [ma, mb] = m.line();
        const module = ascii(bytes, ma, mb);
        const [na, nb] = m.line();
        const cls = global(m, module, ascii(bytes, na, nb));
        stack.push(call(m, cls, containerItems(m, "INST arguments"), "inst"));
        break;
      }
      case 0x6f: { // OBJ
        const items = containerItems(m, "OBJ arguments");
        if (items.length === 0) throw m.underflow();
        stack.push(call(m, items[0]!, items.slice(1), "obj"));
        break;
      }
      case 0x62: { // BUILD
        const state = m.pop();
        build(m, m.top(), state);
        break;
      }
      case 0x50: { // PERSID
        const [a, b] = m.line();
        stack.push(persistent(m, ascii(bytes, a, b)));
        break;
      }
      case 0x51: stack.push(persistent(m, m.pop())); break; // BINPERSID

      default:
        throw m.fail("PICKLE_UNKNOWN_OPCODE", `unknown opcode 0x${code.toString(16).padStart(2, "0")}`, { byte: code });
    }
  }
}

/** A plain Uint8Array copy (Buffer#slice would share memory with the file). */
function copy(bytes: Uint8Array, at: number, n: number): Uint8Array {
  return new Uint8Array(bytes.subarray(at, at + n));
}

function lineText(m: Machine): string {
  const [a, b] = m.line();
  return latin1(m.bytes, a, b);
}

function containerItems(m: Machine, what: string): PyValue[] {
  const k = m.popMark();
  m.checkItems(m.stack.length - k, what);
  return m.takeFrom(k);
}

/**
 * APPENDS / SETITEMS / ADDITEMS: the items above the innermost MARK and the
 * target just below it, which must lie above the next MARK out.
 */
function targetAndItems(m: Machine): [PyValue, PyValue[]] {
  const k = m.popMark();
  if (k <= m.fence) throw m.underflow();
  return [m.stack[k - 1] as PyValue, m.takeFrom(k)];
}

function tupleItems(m: Machine, args: PyValue, op: string): PyValue[] {
  if (!(args instanceof PyTuple)) throw m.fail("PICKLE_BAD_VALUE", `${op} arguments must be a tuple, not ${pyTypeName(args)}`);
  return args.items;
}

function ext(m: Machine, code: number): void {
  if (code <= 0) throw m.fail("PICKLE_BAD_VALUE", `extension code ${code} is not positive`);
  // The extension registry is process state we cannot see: record it as a global nobody allows.
  const g = new PyGlobal("__extension__", String(code), m.op);
  m.globals.push(g);
  m.stack.push(g);
}
