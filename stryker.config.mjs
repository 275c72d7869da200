// Mutation testing of the code that decides verdicts: `npm run mutate` (see docs/mutation.md).
// Stryker copies the project to .stryker-tmp/, writes every mutant into the TypeScript at once
// (mutation switching), compiles it once with our own tsc build, then runs the in-process test
// files with each mutant switched on by an environment variable. The spawned-CLI suites run the
// bundled dist/, which holds no mutants, and the fuzz campaign is slow: neither is listed.
import { FAST_TESTS } from "./scripts/fast-tests.mjs";

const only = process.env.MUTATE; // e.g. MUTATE=src/checks/optimizer.ts npm run mutate
const tests = process.env.MUTATE_TESTS; // e.g. MUTATE_TESTS=dist-test/test/unit/*.test.js: fewer files, faster survivors

export default {
  testRunner: "tap",
  plugins: ["@stryker-mutator/tap-runner"],
  mutate: only ? only.split(",") : ["src/checks/**/*.ts", "src/verify/**/*.ts", "src/safety/**/*.ts"],
  buildCommand: "tsc -p tsconfig.test.json",
  tap: { testFiles: tests ? tests.split(",") : FAST_TESTS },
  // dist-test is rebuilt in the sandbox; dist stays for the few tests that spawn the (unmutated) CLI.
  ignorePatterns: ["dist-test", "reports", ".planted", ".build-*"],
  // A "test" of the tap runner is a whole file, so coverage says which files import a mutant's code,
  // and module-level tables are covered like any other code (no mutant is static here).
  coverageAnalysis: "perTest",
  // Two shared cores: one mutant at a time unless MUTATE_CONCURRENCY says otherwise.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 20000,
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
