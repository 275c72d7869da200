/**
 * The CLI entry the fuzzer spawns: bin/verify-checkpoint.js, but importing
 * main from this build, so the spawned sample runs the same code as the
 * in-process runs (dist/ may be mid-rebuild by someone else). `--bin` in
 * run.ts spawns bin/verify-checkpoint.js instead. Does nothing under node --test.
 */
import { main } from "../../src/cli/main.js";

if (!process.env["NODE_TEST_CONTEXT"]) process.exitCode = await main(process.argv);
