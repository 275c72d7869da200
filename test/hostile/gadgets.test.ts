/**
 * Issue 14: the five gadget classes of newer advisories against pickle
 * scanners (a standard-library file handler, a test-support runner, a
 * grammar/pickle loader, a torch datapipe decoder, a torch config loader).
 * Each is a single call with harmless-looking arguments that an unknown-global
 * warning let through (exit 0). The generator writes each as a protocol 4
 * pickle and as a torch zip (fixtures/gen_globals.py); here each must fail
 * with exit 1 naming the global, through `inspect` and through `verify` of a
 * checkpoint folder holding it, default and --strict, as a user runs the CLI.
 * The benign side: whole-model and standard-library pickles torch wrote pass.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspectFile } from "../../src/inspect/inspect.js";
import { fixture, runCli } from "../helpers.js";
import { copyCase, keepFixturesUnchanged, pk, tempFile } from "./build.js";

const DIR = fixture("readers");
const expected = (stem: string) => JSON.parse(readFileSync(join(DIR, `${stem}.expected.json`), "utf8"));
const stems = (prefix: string) => readdirSync(DIR).filter((f) => f.startsWith(prefix) && f.endsWith(".expected.json")).map((f) => f.replace(".expected.json", ""));

/** The five classes, each as a raw pickle and as a torch zip: the generator's names, listed here so a missing one fails. */
const GADGETS: [string, string][] = [
  ["gadget_logging_file_handler", "logging.FileHandler"],
  ["gadget_test_support_runner", "test.support.script_helper.assert_python_ok"],
  ["gadget_grammar_loader", "lib2to3.pgen2.grammar.Grammar.loads"],
  ["gadget_datapipe_decoder", "torch.utils.data.datapipes.utils.decoder.basichandlers"],
  ["gadget_config_loader", "torch.utils._config_module.ConfigModule.load_config"],
];

describe("gadget classes of the newer advisories: exit 1 naming the global", () => {
  keepFixturesUnchanged();

  it("the generator wrote each class as a protocol 4 pickle and as a torch zip", () => {
    assert.deepEqual(stems("gadget_").sort(), GADGETS.flatMap(([s]) => [s, `${s}_torch`]).sort());
    for (const [stem, global] of GADGETS) {
      for (const s of [stem, `${stem}_torch`]) {
        const e = expected(s);
        assert.deepEqual([e.hostile, e.globals, e.pickle_protocol, e.format], [true, [global], 4, s === stem ? "pickle" : "zip"], s);
      }
    }
  });

  for (const [stem, global] of GADGETS) {
    for (const s of [stem, `${stem}_torch`]) {
      const file = expected(s).file as string;
      it(`${file}: ${global}`, () => {
        const inspect = runCli(["inspect", join(DIR, file), "--json"]);
        assert.equal(inspect.code, 1, inspect.stderr);
        const out = JSON.parse(inspect.stdout);
        assert.equal(out.unsafe, true);
        assert.ok(out.globals.some((g: { name: string; tier: string }) => g.name === global && g.tier === "unsafe"), JSON.stringify(out.globals));

        const dir = copyCase("training-state", "ok");
        writeFileSync(join(dir, "training_state.pth"), readFileSync(join(DIR, file)));
        for (const strict of [[], ["--strict"]]) {
          const run = runCli(["--checkpoint_path", dir, ...strict]);
          assert.equal(run.code, 1, `${strict.join(" ")}: ${run.stdout}`);
          assert.match(run.stdout, new RegExp(`unsafe pickle global ${global.replace(/\./g, "\\.")} at byte \\d+ .*\\(GLOBAL_UNSAFE\\)`));
          assert.equal(run.stderr, "");
        }
      });
    }
  }
});

describe("--allow-global lifts the default deny, never the unsafe list", () => {
  keepFixturesUnchanged();

  it("a standard-library enum nobody listed: an error by default, accepted when allowed by name", () => {
    const file = tempFile("sortkey.pkl", pk(0x80, 2, "cpstats\nSortKey\n", "."));
    const denied = runCli(["inspect", file]);
    assert.equal(denied.code, 1);
    assert.match(denied.stdout, /pstats\.SortKey: standard-library callable outside the known-harmless list/);
    assert.equal(runCli(["inspect", file, "--allow-global", "pstats.SortKey"]).code, 0);
  });

  it("the gadgets stay errors when allowed by name, in inspect and in verify", () => {
    const [stem, global] = GADGETS[0]!;
    assert.equal(runCli(["inspect", join(DIR, `${stem}.pkl`), "--allow-global", global]).code, 1);
    const dir = copyCase("training-state", "ok");
    writeFileSync(join(dir, "training_state.pth"), readFileSync(join(DIR, `${stem}_torch.pt`)));
    const run = runCli([dir, "--allow-global", global]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /unsafe pickle global logging\.FileHandler/);
  });
});

describe("benign standard-library and torch globals written by torch pass", () => {
  for (const stem of ["whole_model", "stdlib_values_p2", "stdlib_values_p4"]) {
    it(stem, async () => {
      const e = expected(stem);
      const r = await inspectFile(join(DIR, e.file));
      assert.equal(r.exitCode, 0, JSON.stringify(r.verdicts.filter((v) => v.tier !== "allowed" && v.tier !== "harmless")));
      // one verdict per distinct global the generator's pickletools saw, every one allowed or known harmless
      assert.equal(r.verdicts.length, e.benign_globals.length, JSON.stringify(r.verdicts.map((v) => v.qualname)));
      assert.ok(r.verdicts.every((v) => v.tier === "allowed" || v.tier === "harmless"));
      const cli = runCli(["inspect", join(DIR, e.file)]);
      assert.equal(cli.code, 0, cli.stdout);
    });
  }
});
