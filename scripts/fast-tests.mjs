// The in-process test files: they import the compiled src/ from dist-test/, so a change planted
// there reaches them. The spawned-CLI suites run the bundled dist/ and the fuzz campaign is slow;
// neither is here. Used by stryker.config.mjs (npm run mutate) and scripts/planted-bugs.mjs.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export const FAST_TESTS = [
  "dist-test/test/unit/*.test.js",
  "dist-test/test/fixtures/*.test.js",
  "dist-test/test/hostile/impostors.test.js",
  "dist-test/test/hostile/pickle-tricks.test.js",
];

/** The files FAST_TESTS names under `root` (a `*` matches within one folder). */
export function fastTestFiles(root) {
  return FAST_TESTS.flatMap((pattern) => {
    const dir = pattern.slice(0, pattern.lastIndexOf("/"));
    const name = new RegExp(`^${pattern.slice(dir.length + 1).replace(/\./g, "\\.").replace("*", ".*")}$`);
    return readdirSync(join(root, dir)).filter((f) => name.test(f)).sort().map((f) => `${dir}/${f}`);
  });
}
