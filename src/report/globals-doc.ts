import { HARMLESS_GLOBALS, HARMLESS_PATTERNS } from "../safety/harmless.js";
import type { HarmlessUse } from "../safety/types.js";
import { UNSAFE_GROUPS, UNSAFE_NAME_PATTERNS } from "../safety/unsafe.js";

/**
 * The lists of docs/globals.md, rendered from src/safety so the page cannot
 * drift from what the tool does. `npm run docs:codes` splices them between
 * the page's markers; a test fails when the committed page is stale.
 */

const USE_TEXT: Record<HarmlessUse, string> = {
  any: "referenced, rebuilt or called",
  rebuild: "referenced or rebuilt without `__init__`",
  reference: "only referenced (a stored value)",
};

/** The known-harmless table: consecutive entries of one module, reason and use share a row. */
export function renderHarmlessTable(): string {
  const rows: { module: string; names: string[]; reason: string; use: HarmlessUse }[] = [];
  const seen = new Set<string>();
  for (const e of HARMLESS_GLOBALS) {
    if (seen.has(e.qualname)) continue; // a name two plug-in files both list is shown once
    seen.add(e.qualname);
    const dot = e.qualname.lastIndexOf(".");
    const module = e.qualname.slice(0, dot);
    const use = e.use ?? "any";
    const last = rows[rows.length - 1];
    if (last && last.module === module && last.reason === e.reason && last.use === use) last.names.push(e.qualname.slice(dot + 1));
    else rows.push({ module, names: [e.qualname.slice(dot + 1)], reason: e.reason, use });
  }
  const lines = ["| Global | Harmless when | Why |", "|---|---|---|"];
  for (const r of rows) {
    const names = r.names.length === 1 ? `\`${r.module}.${r.names[0]}\`` : `\`${r.module}\`: ${r.names.map((n) => `\`${n}\``).join(", ")}`;
    lines.push(`| ${names} | ${USE_TEXT[r.use]} | ${escape(r.reason)} |`);
  }
  for (const p of HARMLESS_PATTERNS) lines.push(`| \`${p.label}\` | ${USE_TEXT[p.use ?? "any"]} | ${escape(p.reason)} |`);
  return lines.join("\n");
}

/** The unsafe list: one row per reason with its names, then the names that carry a reason of their own. */
export function renderUnsafeTable(): string {
  const rows: { reason: string; names: string[] }[] = [];
  const own: { reason: string; names: string[] }[] = [];
  const add = (list: typeof rows, reason: string, name: string) => {
    const last = list[list.length - 1];
    if (last?.reason === reason) last.names.push(name);
    else list.push({ reason, names: [name] });
  };
  for (const g of UNSAFE_GROUPS) {
    for (const e of g.entries) {
      if (typeof e === "string") add(rows, g.reason, `\`${e}\``);
      else add(own, e[1], `\`${e[0]}\``);
    }
  }
  for (const p of UNSAFE_NAME_PATTERNS) add(own, p.reason, `\`${p.label}\` (any module)`);
  const lines = ["| Why | Modules and functions |", "|---|---|"];
  for (const r of [...rows, ...own]) lines.push(`| ${escape(r.reason)} | ${r.names.join(", ")} |`);
  return lines.join("\n");
}

function escape(s: string): string {
  return s.replace(/\|/g, "\\|");
}

const SECTIONS: Record<string, () => string> = { harmless: renderHarmlessTable, unsafe: renderUnsafeTable };

/** docs/globals.md with every `<!-- generated:NAME -->` ... `<!-- end generated:NAME -->` section rendered afresh. */
export function updateGlobalsDoc(page: string): string {
  return page.replace(/(<!-- generated:(\w+) -->)[\s\S]*?(<!-- end generated:\2 -->)/g, (all, open: string, name: string, close: string) => {
    const render = SECTIONS[name];
    return render ? `${open}\n${render()}\n${close}` : all;
  });
}
