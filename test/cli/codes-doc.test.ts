import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { CODES } from "../../src/findings/codes.js";
import { CHECKS } from "../../src/checks/index.js";
import { ALSO_REPORTED_BY, CHECK_CODES, codeEntries, renderCodesDoc } from "../../src/report/codes-doc.js";
import { verifyCheckpoint } from "../../src/verify/verify.js";
import { renderReportJsonSchema } from "../../src/report/json-schema.js";
import { updateGlobalsDoc } from "../../src/report/globals-doc.js";
import { HARMLESS_GLOBALS, UNSAFE_PREFIXES } from "../../src/safety/globals.js";
import { fixture, ROOT, runCli } from "../helpers.js";

const DOC = join(ROOT, "docs", "codes.md");
const CHECKS_DIR = join(ROOT, "src", "checks");
const REGENERATE = "run `npm run docs:codes` and commit docs/codes.md";
const NO_BASH = spawnSync("bash", ["--version"]).error ? "bash is not installed: nothing to run the completion script with" : false;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/**
 * Code-shaped string literals in src/checks: those passed to r.pass/warn/
 * error/info/at(...)(...) and those handed to helpers (presentOr(r, x,
 * "SCALER_STATE_MISSING", ...)). Any SCREAMING_SNAKE literal with an
 * underscore counts, so a new way of emitting a code is still seen; its
 * first word has two letters or more, so `T_0` (a scheduler argument) is not.
 */
function literalCodes(): { file: string; code: string }[] {
  return tsFiles(CHECKS_DIR).flatMap((file) => [...readFileSync(file, "utf8").matchAll(/["'`]([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)["'`]/g)].map((m) => ({ file, code: m[1]! })));
}

/** The documented codes: the `### CODE` headings of docs/codes.md. */
function documented(): Set<string> {
  return new Set([...readFileSync(DOC, "utf8").matchAll(/^### ([A-Z][A-Z0-9_]*)$/gm)].map((m) => m[1]!));
}

describe("finding code documentation", () => {
  it("docs/codes.md documents every code in CODES", () => {
    const missing = Object.keys(CODES).filter((c) => !documented().has(c));
    assert.deepEqual(missing, [], `codes without documentation: ${REGENERATE}`);
  });

  it("every code literal in src/checks is a documented code", () => {
    const found = literalCodes();
    assert.ok(found.length > 40, `the scan found only ${found.length} literals`);
    const bad = found.filter(({ code }) => !(code in CODES) || !documented().has(code)).map(({ file, code }) => `${relative(ROOT, file)}: ${code}`);
    assert.deepEqual(bad, [], "add these to src/findings/codes.ts, then regenerate docs/codes.md");
  });

  it("docs/codes.md is what the generator writes", () => {
    assert.equal(readFileSync(DOC, "utf8"), renderCodesDoc(), `docs/codes.md is stale: ${REGENERATE}`);
  });

  it("every code is placed under a check, under real check ids", () => {
    const ids = CHECKS.map((c) => c.id);
    assert.deepEqual(Object.keys(CHECK_CODES).filter((id) => !ids.includes(id)), [], "CHECK_CODES names a check that does not exist");
    for (const also of Object.values(ALSO_REPORTED_BY)) for (const id of also ?? []) assert.ok(ids.includes(id), id);
    const unplaced = codeEntries().filter((e) => !e.check).map((e) => e.code);
    assert.deepEqual(unplaced, [], "add these codes to CHECK_CODES in src/report/codes-doc.ts under the check that reports them");
  });

  it("a code literal in src/checks/<id>.ts is placed under <id> (or listed in ALSO_REPORTED_BY)", () => {
    const ids = new Set(CHECKS.map((c) => c.id));
    const wrong = literalCodes()
      .filter(({ file }) => ids.has(basename(file, ".ts")))
      .filter(({ file, code }) => {
        const id = basename(file, ".ts");
        return !(CHECK_CODES[id] ?? []).includes(code as never) && !(ALSO_REPORTED_BY[code as keyof typeof CODES] ?? []).includes(id);
      })
      .map(({ file, code }) => `${basename(file)}: ${code}`);
    assert.deepEqual(wrong, []);
  });

  it("on the fixtures, every finding comes from a check the documentation names for its code", async () => {
    const paths = [
      ...readdirSync(fixture("checkpoints", "training-state")).filter((n) => !n.endsWith(".json")).map((n) => fixture("checkpoints", "training-state", n)),
      ...readdirSync(fixture("checkpoints", "lightning")).filter((n) => n.endsWith(".ckpt")).map((n) => fixture("checkpoints", "lightning", n)),
      fixture("checkpoints", "hf-trainer", "cases", "error-hostile-training-args", "checkpoint-500"),
      fixture("checkpoints", "generic", "some-folder"),
    ];
    const wrong = new Set<string>();
    for (const path of paths) {
      for (const deep of [false, true]) {
        const report = await verifyCheckpoint(path, { deep });
        for (const c of report.checks) {
          for (const f of c.findings) {
            const entry = codeEntries().find((e) => e.code === f.code);
            if (entry?.check?.id !== c.id && !entry?.also.includes(c.id)) wrong.add(`${f.code} reported by ${c.id}, documented under ${entry?.check?.id}`);
          }
        }
      }
    }
    assert.deepEqual([...wrong], [], "fix CHECK_CODES / ALSO_REPORTED_BY in src/report/codes-doc.ts");
  });
});

describe("explain, completion and --help", () => {
  it("explain CODE prints the meaning, the why and the fix, whatever the case or separator", () => {
    const run = runCli(["explain", "scaler-state-missing"]);
    assert.equal(run.code, 0, run.stderr);
    for (const part of [CODES.SCALER_STATE_MISSING.why, "What to do:", "scaler check", "docs/codes.md#scaler_state_missing"]) assert.ok(run.stdout.replace(/\n  /g, " ").includes(part), part);
  });

  it("explain GLOBAL_UNSAFE and GLOBAL_UNKNOWN state the rule for pickle globals: default deny, the unsafe list, --allow-global", () => {
    for (const code of ["GLOBAL_UNSAFE", "GLOBAL_UNKNOWN"]) {
      const run = runCli(["explain", code]);
      assert.equal(run.code, 0, run.stderr);
      const text = run.stdout.replace(/\n  /g, " ");
      for (const part of ["standard library", "or from torch is denied by default", "the unsafe list", "are warnings", "--allow-global module.name", "never the unsafe list", "docs/globals.md"]) {
        assert.ok(text.includes(part), `${code}: ${part}`);
      }
    }
  });

  it("explain without a code lists every code; an unknown code is exit 2 with a suggestion", () => {
    const list = runCli(["explain"]);
    assert.equal(list.code, 0);
    for (const code of Object.keys(CODES)) assert.match(list.stdout, new RegExp(`^  ${code} `, "m"));
    const typo = runCli(["explain", "SCALER_MISSING"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /did you mean SCALER_STATE_MISSING/);
  });

  it("every code the text report shows can be looked up with explain", () => {
    const run = runCli([fixture("checkpoints", "training-state", "warn-no-scaler")]);
    const shown = [...run.stdout.matchAll(/\(([A-Z][A-Z0-9_]+)\)$/gm)].map((m) => m[1]!);
    assert.deepEqual(shown, ["SCALER_STATE_MISSING"]);
    assert.equal(runCli(["explain", shown[0]!]).code, 0);
  });

  it("completion bash prints a script bash accepts, completing subcommands, --format choices and codes", { skip: NO_BASH }, () => {
    const script = runCli(["completion", "bash"]);
    assert.equal(script.code, 0, script.stderr);
    const probe = [
      script.stdout,
      't() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _verify_checkpoint; echo "${COMPREPLY[*]}"; }',
      "t verify-checkpoint ex",
      "t verify-checkpoint --format j",
      "t verify-checkpoint explain SCALER_STATE_M",
    ].join("\n");
    const bash = spawnSync("bash", ["-c", probe], { encoding: "utf8" });
    assert.equal(bash.error, undefined);
    assert.equal(bash.stderr, "");
    assert.deepEqual(bash.stdout.trim().split("\n"), ["explain", "json junit", "SCALER_STATE_MISSING"]);
    assert.match(runCli(["completion", "zsh"]).stdout, /bashcompinit/);
    assert.equal(runCli(["completion", "fish"]).code, 2);
  });

  it("--help of every command has examples", () => {
    for (const args of [["--help"], ["inspect", "--help"], ["latest", "--help"], ["explain", "--help"], ["completion", "--help"]]) {
      const run = runCli(args);
      assert.equal(run.code, 0, args.join(" "));
      assert.match(run.stdout, /Examples?:\n {2}(verify-checkpoint|source|RESUME)/, args.join(" "));
    }
    assert.match(runCli(["--help"]).stdout.replace(/\s+/g, " "), /--format <format> report format \(choices: "text", "json", "junit", "github"/);
  });
});

describe("docs/report.schema.json", () => {
  it("is the zod report schema's JSON Schema export, up to date", async () => {
    const committed = readFileSync(`${ROOT}/docs/report.schema.json`, "utf8");
    assert.equal(committed, renderReportJsonSchema(), "run npm run docs:codes");
    const schema = JSON.parse(committed);
    assert.deepEqual(schema.properties.status.enum, ["passed", "passed_with_warnings", "failed"]);
    assert.ok(schema.required.includes("facts"));
  });
});

describe("docs/globals.md", () => {
  it("its harmless and unsafe tables are what src/safety holds, up to date", () => {
    const committed = readFileSync(join(ROOT, "docs", "globals.md"), "utf8");
    assert.equal(committed, updateGlobalsDoc(committed), "docs/globals.md is stale: run npm run docs:codes and commit it");
    for (const marker of ["<!-- generated:harmless -->", "<!-- generated:unsafe -->"]) assert.ok(committed.includes(marker), marker);
    // the generated tables name every listed global and every unsafe entry
    for (const { qualname: q } of HARMLESS_GLOBALS) {
      const dot = q.lastIndexOf(".");
      assert.ok(committed.includes(`\`${q}\``) || (committed.includes(`\`${q.slice(0, dot)}\`: `) && committed.includes(`\`${q.slice(dot + 1)}\``)), q);
    }
    for (const name of UNSAFE_PREFIXES.keys()) assert.ok(committed.includes(`\`${name}\``), name);
  });
});
