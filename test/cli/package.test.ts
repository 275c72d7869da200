import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Script } from "node:vm";
import { fixture, ROOT } from "../helpers.js";

/**
 * The package as a user gets it: `npm pack`, then `npm install -g` of the
 * tarball into an empty prefix (a clean machine, as far as npm can tell),
 * then the installed CLI and library. Dependencies come from the npm cache
 * when it has them (--prefer-offline), else from the registry; when the
 * registry cannot be reached the install test is skipped with the reason,
 * any other install failure fails it.
 */
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; files: string[]; engines: { node: string }; bin: Record<string, string> };
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED|socket hang up|network/i;
const OK = fixture("checkpoints", "training-state", "warn-no-scaler");

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  // The parent `npm test` exports its project and lifecycle as npm_* variables; the install must not inherit
  // those, but keeps the user's settings (registry, cafile, proxy) that arrive the same way.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(lifecycle_|package_|command$|config_(call|yes|local_prefix|prefix|global_prefix|global)$)/i.test(k)));
  return spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000, env: { ...env, NO_COLOR: "1", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" } });
}

describe("package.json", () => {
  it("bin points at built JavaScript with a shebang; engines, exports with types, files", () => {
    const bin = join(ROOT, pkg.bin["verify-checkpoint"]!);
    assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
    assert.match(readFileSync(bin, "utf8"), /join\(__dirname, "\.\.", "dist", "bundle"\)/, "the bin runs the built code");
    assert.equal(pkg.engines.node, ">=20");
    const exp = (pkg as unknown as { exports: Record<string, { types: string; import: string }> }).exports["."]!;
    assert.ok(existsSync(join(ROOT, exp.types)) && existsSync(join(ROOT, exp.import)), "run npm run build first");
    for (const f of ["src", "test", "fixtures", "dist-test"]) assert.ok(!pkg.files.includes(f), f);
  });

  it("the bundle's code cache is the one for this Node: V8 accepts it (else every run compiles the bundle again)", () => {
    const file = join(ROOT, "dist", "bundle", "cli.js");
    const source = readFileSync(file, "utf8");
    const accepted = new Script(source, { filename: file, cachedData: readFileSync(join(ROOT, "dist", "bundle", "cli.cache")) });
    assert.equal(accepted.cachedDataRejected, false);
    // And a cache that does not belong to the source is refused, so a stale one costs time, never correctness.
    const other = new Script(source + " ", { filename: file, cachedData: readFileSync(join(ROOT, "dist", "bundle", "cli.cache")) });
    assert.equal(other.cachedDataRejected, true);
  });

  it("npx verify-checkpoint works from the repository", () => {
    // --offline: the repository's own bin, never a package of that name from the registry.
    const r = run(NPM, ["exec", "--offline", "--", "verify-checkpoint", "--version"], ROOT);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });
});

describe("npm pack and npm install -g from the tarball", () => {
  let tmp = "";
  let tarball = "";
  let packed: string[] = [];
  let skipReason: string | false = false;
  const prefix = () => join(tmp, "prefix");
  const cli = () => join(prefix(), "bin", "verify-checkpoint");

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "vc-pack-"));
    // --ignore-scripts: `npm test` has just built dist/; prepack would rebuild it under other tests' feet.
    const pack = run(NPM, ["pack", "--json", "--ignore-scripts", "--pack-destination", tmp], ROOT);
    assert.equal(pack.status, 0, pack.stderr);
    const info = (JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    tarball = join(tmp, info.filename);
    packed = info.files.map((f) => f.path);
    const install = run(NPM, ["install", "-g", "--prefix", prefix(), "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], tmp);
    if (install.status !== 0) {
      if (NETWORK.test(install.stderr)) skipReason = `the npm registry is unreachable and the cache lacks a dependency: ${install.stderr.split("\n").find((l) => NETWORK.test(l))}`;
      else assert.fail(`npm install -g of the tarball failed:\n${install.stderr}`);
    }
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("the tarball ships the built code, types, docs and the Python helper, and nothing of the sources", () => {
    for (const f of ["package.json", "bin/verify-checkpoint.js", "bin/package.json", "dist/bundle/cli.js", "dist/bundle/cli.cache", "dist/bundle/worker.js", "dist/index.js", "dist/index.d.ts", "dist/cli/main.js", "docs/codes.md", "python/verify_checkpoint.py"]) assert.ok(packed.includes(f), f);
    const stray = packed.filter((f) => /^(src|test|fixtures|dist-test|bench|scripts|\.build-[^/]*)\//.test(f) || f.endsWith(".tgz") || f.includes("test_verify_checkpoint"));
    assert.deepEqual(stray, []);
  });

  it("the installed CLI prints the version and verifies a checkpoint", (t) => {
    if (skipReason) return t.skip(skipReason);
    const version = run(cli(), ["--version"], tmp);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
    const verify = run(cli(), [OK], tmp);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /PASSED WITH WARNINGS/);
  });

  it("import { verifyCheckpoint } from \"verify-checkpoint\" returns the report the CLI prints as JSON", (t) => {
    if (skipReason) return t.skip(skipReason);
    // Resolved by package name from a file next to the prefix's node_modules, through "exports".
    const probe = join(prefix(), "lib", "probe.mjs");
    writeFileSync(probe, 'import { verifyCheckpoint } from "verify-checkpoint";\nprocess.stdout.write(JSON.stringify(await verifyCheckpoint(process.argv[2])));\n');
    const lib = run(process.execPath, [probe, OK], tmp);
    assert.equal(lib.status, 0, lib.stderr);
    const json = run(cli(), [OK, "--json"], tmp);
    assert.deepEqual(JSON.parse(lib.stdout), JSON.parse(json.stdout));
  });

  // A consumer as `tsc --init` makes one (strict, skipLibCheck), with @types/node as any Node project has: the public
  // types mention Buffer. skipLibCheck off would also check zod's and node's own .d.ts files: 4 times slower for nothing of ours.
  it("the installed package's types type-check a consumer", (t) => {
    if (skipReason) return t.skip(skipReason);
    const dir = join(prefix(), "lib");
    writeFileSync(join(dir, "package.json"), '{ "type": "module", "private": true }\n');
    writeFileSync(
      join(dir, "consumer.ts"),
      [
        'import { verifyCheckpoint, renderJunit, type Report } from "verify-checkpoint";',
        "export async function check(path: string): Promise<string> {",
        "  const report: Report = await verifyCheckpoint(path, { strict: true });",
        "  // @ts-expect-error status is a string union: proves the types are real, not any",
        "  const wrong: number = report.status;",
        "  return renderJunit(report) + String(wrong);",
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")], skipLibCheck: true }, files: ["consumer.ts"] }));
    const tsc = run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir], dir);
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});
