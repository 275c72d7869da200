// `npm run mutate`: Stryker over src/checks, src/verify and src/safety with the fast tests
// (stryker.config.mjs). Its sandboxes live in .stryker-tmp/, so the corpus tests, which find the
// shared corpus as ../shared from the repository, look in .stryker-tmp/shared: link it there.
// MUTATE=src/checks/optimizer.ts narrows the run; MUTATE_CONCURRENCY=2 when the machine is idle.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TMP = join(ROOT, ".stryker-tmp");
mkdirSync(TMP, { recursive: true });
rmSync(join(TMP, "shared"), { force: true });
if (existsSync(join(ROOT, "..", "shared"))) symlinkSync(join(ROOT, "..", "shared"), join(TMP, "shared"));
const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js"), "run", ...process.argv.slice(2)], { cwd: ROOT, stdio: "inherit" });
process.exitCode = r.status ?? 1;
