import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReportSchema, type Report } from "../../src/verify/schema.js";
import { renderJunit } from "../../src/report/junit.js";
import { renderGithub, renderGithubSummary } from "../../src/report/github.js";
import { CODES } from "../../src/findings/codes.js";
import { BIN, expectedVerdict, fixture, recordedFixtures, ROOT, runCli, VERDICT_OUTCOMES } from "../helpers.js";

const XSD = join(ROOT, "test", "schemas", "junit.xsd");
const HAS_XMLLINT = spawnSync("xmllint", ["--version"]).status === 0;
const NO_XMLLINT = HAS_XMLLINT ? false : "xmllint is not installed (Debian: apt-get install -y libxml2-utils)";

/** Runs xmllint once over many files; returns the files that did not validate, with its messages. */
function xmllintInvalid(files: string[]): string[] {
  const r = spawnSync("xmllint", ["--noout", "--schema", XSD, ...files], { encoding: "utf8" });
  return files.filter((f) => !r.stderr.includes(`${f} validates`)).map((f) => `${f}:\n${r.stderr.split("\n").filter((l) => l.includes(f)).join("\n")}`);
}

// GitHub's workflow command syntax, with properties escaped as @actions/core escapes them.
const PROPERTY = "[a-z]+=(?:[^%,:\\r\\n]|%25|%0D|%0A|%3A|%2C)*";
const COMMAND = new RegExp(`^::(error|warning|notice)(?: ${PROPERTY}(?:,${PROPERTY})*)?::((?:[^%\\r\\n]|%25|%0D|%0A)*)$`);
const unescape = (s: string) => s.replace(/%3A/g, ":").replace(/%2C/g, ",").replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");

function problems(report: Report) {
  return report.checks.flatMap((c) => c.findings.filter((f) => f.level === "error" || f.level === "warn").map((f) => ({ check: c, f })));
}

/**
 * The original layouts' fixtures all, and of each multi-rank layout's (about 120 more) the first
 * of each verdict: the renderers see every layout and every verdict without spawning the CLI
 * twice for each of ~170 fixtures. The in-process test/fixtures/recorded.test.ts holds every
 * fixture to its verdict.
 */
function sample(): ReturnType<typeof recordedFixtures> {
  const all = recordedFixtures().filter((f) => expectedVerdict(f) !== undefined);
  const original = new Set(["training-state", "hf-trainer", "lightning", "generic"]);
  const seen = new Set<string>();
  return all.filter((f) => {
    if (original.has(f.name.split("/")[0]!)) return true;
    const key = `${f.layout} ${expectedVerdict(f)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

describe("CI formats on every layout and verdict", () => {
  const fixtures = sample();
  // What the CLI printed for each fixture: [default, --strict]. The renderers are checked against these reports.
  const reports = new Map<string, [Report, Report]>();
  const runs = new Map<string, [number | null, number | null]>();
  let tmp = "";
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "vc-ci-formats-"));
    // Two spawned runs per fixture, four at a time on the two cores.
    const queue = [...fixtures];
    const worker = async () => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        const [run, strict] = [await runCliAsync([f.path, "--json"]), await runCliAsync([f.path, "--json", "--strict"])];
        reports.set(f.name, [ReportSchema.parse(JSON.parse(run.stdout)), ReportSchema.parse(JSON.parse(strict.stdout))]);
        runs.set(f.name, [run.code, strict.code]);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const all = () => [...reports.entries()].flatMap(([name, [base, strict]]) => [[name, base], [name, strict]] as const);

  it("covers every layout's fixtures", () => {
    assert.ok(fixtures.length >= 50, `only ${fixtures.length} fixtures found`);
    assert.deepEqual([...new Set([...reports.values()].map(([r]) => r.layout))].sort(), ["accelerate", "dcp", "deepspeed", "generic", "hf-trainer", "lightning", "megatron", "training-state"]);
  });

  it("JSON: every report parses against the zod schema and has the verdict the generator recorded, default and --strict", () => {
    assert.equal(reports.size, fixtures.length);
    for (const f of fixtures) {
      const want = VERDICT_OUTCOMES[expectedVerdict(f)!];
      const [base, strict] = reports.get(f.name)!;
      assert.deepEqual(
        { exit: runs.get(f.name), status: [base.status, strict.status], reported: [base.exitCode, strict.exitCode], strict: [base.strict, strict.strict] },
        { exit: [want.exit, want.strictExit], status: [want.status, want.strictStatus], reported: [want.exit, want.strictExit], strict: [false, true] },
        f.name,
      );
    }
  });

  it("JUnit: every report, normal and strict, validates against the JUnit schema", { skip: NO_XMLLINT }, () => {
    const files: string[] = [];
    for (const [name, report] of all()) {
      const file = join(tmp, `${name.replace(/[/.]/g, "_")}${report.strict ? "-strict" : ""}.xml`);
      writeFileSync(file, renderJunit(report));
      files.push(file);
    }
    assert.deepEqual(xmllintInvalid(files), []);
  });

  it("JUnit: one testcase per check; failures exactly when the exit code is 1; failure types are codes", () => {
    for (const [path, report] of all()) {
      const xml = renderJunit(report);
      const count = (attr: string) => Number(new RegExp(`<testsuite [^>]*\\b${attr}="(\\d+)"`).exec(xml)?.[1]);
      assert.equal(count("tests"), report.checks.length, path);
      assert.equal((xml.match(/<testcase /g) ?? []).length, report.checks.length, path);
      assert.equal(count("skipped"), report.checks.filter((c) => c.status === "skip").length, path);
      assert.equal(count("failures") > 0, report.exitCode === 1, `${path} strict=${report.strict}`);
      assert.equal(count("errors"), 0);
      for (const [, type] of xml.matchAll(/<failure [^>]*type="([^"]*)"/g)) assert.ok(type! in CODES, `${path}: failure type ${type}`);
    }
  });

  it("GitHub: every line is a well-formed workflow command, one annotation per problem, then the verdict", () => {
    for (const [path, report] of all()) {
      const lines = renderGithub(report).replace(/\n$/, "").split("\n");
      for (const line of lines) assert.match(line, COMMAND, `${path}: ${JSON.stringify(line)}`);
      const expected = problems(report);
      assert.equal(lines.length, expected.length + 1, path);
      expected.forEach(({ check, f }, i) => {
        const m = COMMAND.exec(lines[i]!)!;
        assert.equal(m[1], f.level === "error" || report.strict ? "error" : "warning", `${path}: ${f.code}`);
        assert.ok(unescape(m[2]!).startsWith(f.message), `${path}: ${lines[i]}`);
        assert.ok(lines[i]!.includes(`title=verify-checkpoint ${check.id}%3A ${f.code}`), lines[i]);
        assert.match(lines[i]!, /file=[^,:]+/, "every annotation names a file");
      });
      assert.match(lines.at(-1)!, report.exitCode === 1 ? /^::error title=verify-checkpoint::FAILED/ : /^::notice title=verify-checkpoint::PASSED/);
    }
  });

  it("GitHub step summary: a verdict heading, every problem's code, every check", () => {
    for (const [path, report] of all()) {
      const md = renderGithubSummary(report);
      assert.match(md, /^### (✅|⚠️|❌) verify-checkpoint: (PASSED|PASSED WITH WARNINGS|FAILED)/, path);
      for (const { f } of problems(report)) assert.ok(md.includes(`\`${f.code}\``), `${path}: ${f.code}`);
      for (const c of report.checks) assert.ok(md.includes(`(\`${c.id}\`)`), `${path}: ${c.id}`);
    }
  });
});

describe("CI formats escape what a hostile checkpoint can put in a message", () => {
  const nasty = 'evil"<tag>&\'\u0001\u001b]]>%0A,:\r\nline2\t\ud800 end';
  const report = ReportSchema.parse({
    schemaVersion: 1,
    tool: { name: "verify-checkpoint", version: "0.0.0" },
    checkpoint: "runs/a,b:c%d/checkpoint-1",
    verifiedPath: "runs/a,b:c%d/checkpoint-1",
    layout: "training-state",
    strict: false,
    status: "failed",
    exitCode: 1,
    summary: { passed: 0, warnings: 1, errors: 1 },
    checks: [
      { id: "training-state", title: `Title ${nasty}`, status: "error", findings: [{ level: "error", code: "GLOBAL_UNSAFE", message: nasty, file: "x,y:z.pth", data: {} }] },
      { id: "scaler", title: "AMP", status: "warn", findings: [{ level: "warn", code: "SCALER_STATE_MISSING", message: "100% | pipe", data: {} }] },
      { id: "integrity", title: "Deep", status: "skip", skipReason: nasty, findings: [] },
    ],
    facts: { epoch: 1 },
  });

  it("JUnit stays valid XML", { skip: NO_XMLLINT }, () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-junit-"));
    try {
      const file = join(dir, "nasty.xml");
      writeFileSync(file, renderJunit(report));
      assert.deepEqual(xmllintInvalid([file]), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GitHub commands escape %, CR, LF in data and also , : in properties", () => {
    const lines = renderGithub(report).replace(/\n$/, "").split("\n");
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, COMMAND);
    assert.ok(lines[0]!.startsWith("::error file=runs/a%2Cb%3Ac%25d/checkpoint-1/x%2Cy%3Az.pth,title="), lines[0]);
    assert.equal(unescape(COMMAND.exec(lines[0]!)![2]!), `${nasty} (GLOBAL_UNSAFE)`);
    assert.ok(lines[1]!.startsWith("::warning "), "a warning stays a warning outside strict mode");
  });

  it("the Markdown summary keeps table rows intact", () => {
    const md = renderGithubSummary(report);
    for (const row of md.split("\n").filter((l) => l.startsWith("| "))) assert.ok(!/[^\\]\|[^|]*<tag>/.test(row) && !row.includes("\r"), row);
    assert.ok(md.includes("100% \\| pipe"));
  });
});

describe("--format and --output on the command line", () => {
  const ok = fixture("checkpoints", "training-state", "warn-no-scaler");
  let dir = "";
  before(() => (dir = mkdtempSync(join(tmpdir(), "vc-output-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--format junit --output FILE: JUnit in the file, the text report on stdout", () => {
    const file = join(dir, "report.xml");
    const run = runCli([ok, "--format", "junit", "--output", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /PASSED WITH WARNINGS/);
    assert.match(readFileSync(file, "utf8"), /^<\?xml .*\n<testsuites /);
  });

  it("--json --output FILE: JSON in the file, text on stdout; without --output, the format on stdout", () => {
    const file = join(dir, "report.json");
    const run = runCli([ok, "--json", "--output", file, "--strict"]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /FAILED \(strict mode/);
    assert.equal(ReportSchema.parse(JSON.parse(readFileSync(file, "utf8"))).status, "failed");
    assert.match(runCli([ok, "--format", "junit"]).stdout, /^<\?xml /);
    assert.match(runCli([ok, "--format", "github"]).stdout, /^::warning file=/);
  });

  it("--format github appends the Markdown summary to $GITHUB_STEP_SUMMARY, and only then", () => {
    const summary = join(dir, "summary.md");
    writeFileSync(summary, "earlier step\n");
    const run = runCli([ok, "--format", "github"], { GITHUB_STEP_SUMMARY: summary });
    assert.equal(run.code, 0, run.stderr);
    const md = readFileSync(summary, "utf8");
    assert.ok(md.startsWith("earlier step\n### ⚠️ verify-checkpoint: PASSED WITH WARNINGS"), md);
    assert.ok(md.includes("`SCALER_STATE_MISSING`"));
    runCli([ok, "--json"], { GITHUB_STEP_SUMMARY: summary });
    assert.equal(readFileSync(summary, "utf8"), md, "other formats leave the summary alone");
  });

  it("an unwritable --output is exit 1 with a message, not a crash", () => {
    const run = runCli([ok, "--format", "junit", "--output", join(dir, "no", "such", "dir.xml")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ENOENT|no such file/i);
  });
});

function runCliAsync(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.on("error", reject).on("close", (code) => resolve({ code, stdout }));
  });
}
