/**
 * What the object-building opcodes do to inert values: globals are recorded,
 * calls are recorded (then maybe turned into data by a hook), mutations land
 * on the value they target. Nothing is ever resolved or called.
 */
import { builtinReduce } from "./hooks.js";
import { normaliseGlobal } from "./globals.js";
import type { Machine } from "./machine.js";
import { PyCall, PyDict, PyFloat, PyGlobal, PyList, PyPersistent, PySet, PyTuple, StorageRef, Tensor, pyTypeName } from "./values.js";
import type { PyValue } from "./values.js";

/**
 * Records `module.name` and returns what a lookup of it yields: the global,
 * or what an earlier BUILD on its parent assigned to it (see build()).
 */
export function global(m: Machine, module: string, name: string): PyValue {
  const [mod, nm] = normaliseGlobal(module, name);
  const g = new PyGlobal(mod, nm, m.op);
  m.globals.push(g);
  const assigned = m.attributes.size > 0 ? m.attributes.get(g.qualname) : undefined;
  return assigned === undefined ? g : assigned;
}

/**
 * STACK_GLOBAL whose operands are not both str. CPython requires str at run
 * time, so a literal of another type is an error; but an operand that is a
 * call result or an attribute could be a str when run, naming any global at
 * all. That is recorded as a global of the pseudo-module "__dynamic__".
 */
export function dynamicGlobal(m: Machine, module: PyValue, name: PyValue): PyGlobal {
  const opaque = (v: PyValue): boolean => typeof v === "string" || v instanceof PyGlobal || v instanceof PyCall || v instanceof PyPersistent;
  if (!opaque(module) || !opaque(name)) {
    throw m.fail("PICKLE_BAD_VALUE", `STACK_GLOBAL requires str module and name, got ${pyTypeName(module)} and ${pyTypeName(name)}`);
  }
  const describe = (v: PyValue): string => (typeof v === "string" ? v : v instanceof PyCall ? `${pyTypeName(v)}(...)` : pyTypeName(v));
  const g = new PyGlobal("__dynamic__", `${describe(module)}.${describe(name)}`, m.op);
  m.globals.push(g);
  return g;
}

/**
 * Records callee(*args) and returns what stands for its result. A call that the built-in hook or the
 * reader's `rebuild` hook turns into data (an OrderedDict, a torch tensor) is recorded only when its
 * arguments hold something to look into (a string, bytes, a call, a non-empty container): its callee
 * is among the globals already, and a checkpoint holds hundreds of thousands of such calls whose
 * records would only cost memory. Every other call is recorded, as is one whose hook failed.
 */
export function call(m: Machine, callee: PyValue, args: PyValue[], kind: PyCall["kind"], kwargs?: PyDict): PyValue {
  // Hooks know nothing of keyword arguments; a call with some stays a call.
  if (kwargs === undefined || kwargs.size === 0) {
    let data: PyValue | undefined;
    try {
      data = builtinReduce(callee, args, m.spend) ?? m.options.rebuild?.(callee, args, m.op);
    } catch (e) {
      m.calls.push(new PyCall(callee, args, kind, m.op, kwargs));
      throw e;
    }
    if (data !== undefined) {
      if (!inertArguments(args)) m.calls.push(new PyCall(callee, args, kind, m.op, kwargs));
      return data;
    }
  }
  const c = new PyCall(callee, args, kind, m.op, kwargs);
  m.calls.push(c);
  if (kwargs !== undefined && kwargs.size > 0) return c;
  const hook = m.options.reduce;
  if (hook) {
    const v = hook(callee, args, m.op);
    if (v !== undefined) return v;
  }
  return c;
}

/** Numbers, booleans, None, globals, tensors, storages, flat tuples of numbers and empty containers: nothing a judge reads. */
function inertArguments(args: PyValue[]): boolean {
  // Indexed loops: this runs for every tensor, often before the optimizing compiler has seen it.
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === "string") return false;
    if (a === null || typeof a !== "object" || a instanceof PyFloat || a instanceof Tensor || a instanceof StorageRef || a instanceof PyGlobal) continue;
    if (a instanceof PyTuple || a instanceof PyList) {
      const items = a.items;
      for (let j = 0; j < items.length; j++) {
        const x = items[j];
        if (!(typeof x === "number" || typeof x === "bigint" || typeof x === "boolean" || x === null || x instanceof PyFloat)) return false;
      }
      continue;
    }
    if ((a instanceof PyDict && a.size === 0) || (a instanceof PySet && a.items.length === 0)) continue;
    return false;
  }
  return true;
}

export function appendTo(m: Machine, target: PyValue, items: PyValue[]): void {
  if (items.length === 0) return; // CPython does nothing here, whatever the target
  let list: PyValue[];
  if (target instanceof PyList) list = target.items;
  else if (target instanceof PyCall) list = target.listItems;
  else throw m.fail("PICKLE_BAD_VALUE", `${m.opName()} to a ${pyTypeName(target)}`);
  m.checkItems(list.length + items.length, "list");
  for (let i = 0; i < items.length; i++) list.push(items[i]!);
}

export function setItems(m: Machine, target: PyValue, items: PyValue[]): void {
  if (items.length === 0) return;
  if (items.length % 2 !== 0) throw m.fail("PICKLE_BAD_VALUE", "odd number of items for SETITEMS");
  if (target instanceof PyDict) {
    target.setMany(items, true); // SETITEM and SETITEMS make `items` for this call
    m.checkItems(target.size, "dict");
  } else if (target instanceof PyCall) {
    m.checkItems(target.dictItems.length + items.length / 2, "dict");
    for (let i = 0; i < items.length; i += 2) target.dictItems.push([items[i]!, items[i + 1]!]);
  } else {
    throw m.fail("PICKLE_BAD_VALUE", `${m.opName()} on a ${pyTypeName(target)}`);
  }
}

export function addTo(m: Machine, target: PyValue, items: PyValue[]): void {
  if (items.length === 0) return;
  let list: PyValue[];
  if (target instanceof PySet && !target.frozen) list = target.items;
  else if (target instanceof PyCall) list = target.listItems; // a set subclass: its add() calls
  else throw m.fail("PICKLE_BAD_VALUE", `ADDITEMS to a ${pyTypeName(target)}`);
  m.checkItems(list.length + items.length, "set");
  for (let i = 0; i < items.length; i++) list.push(items[i]!);
}

/**
 * Recorded always; applied to a call as its state. BUILD on a global sets
 * attributes of a module or class, which later lookups then see: picklescan's
 * sys_module_override exploit rewrites `torch._utils._rebuild_tensor` into the
 * strings "builtins" and "eval" and feeds them to STACK_GLOBAL. Tensors and
 * dicts keep what they are.
 */
export function build(m: Machine, target: PyValue, state: PyValue): void {
  m.builds.push({ target, state, offset: m.op });
  if (target instanceof PyCall) target.state = state;
  else if (target instanceof PyGlobal) {
    // state is a dict of attributes, or (dict | None, slot dict)
    const parts = state instanceof PyTuple && state.items.length === 2 ? state.items : [state];
    for (const part of parts) {
      if (!(part instanceof PyDict)) continue;
      for (const [k, v] of part.entries()) if (typeof k === "string") m.attributes.set(`${target.qualname}.${k}`, v);
    }
  }
}

export function persistent(m: Machine, pid: PyValue): PyValue {
  const load = m.options.persistentLoad;
  return load ? load(pid, m.op) : new PyPersistent(pid);
}
