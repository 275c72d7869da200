import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { supportsColor } from "chalk";
import { LAYOUT_NAMES } from "../layouts/index.js";
import { VERSION } from "../version.js";
import { verifyCheckpoint } from "../verify/verify.js";
import type { VerifyOptions } from "../core/options.js";
import { inspectFile } from "../inspect/inspect.js";
import { renderInspectJson, renderInspectText } from "../inspect/render.js";
import { findLatest } from "../latest/latest.js";
import { progressBar } from "./progress.js";
import { runDiff } from "./diff.js";
import { runMerge } from "./merge.js";
import { FORMATS, writeReport, type Format } from "./output.js";
import { EXPLAIN_HELP, runExplain } from "./explain.js";
import { COMPLETION_HELP, renderCompletion, SHELLS, type Shell } from "./completion.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 3 } as const;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  colorLevel: 0 | 1 | 2 | 3;
  stderrIsTTY: boolean;
  /** Environment for $GITHUB_STEP_SUMMARY; process.env when absent. */
  env?: Record<string, string | undefined>;
}

const defaultIo = (): Io => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  colorLevel: supportsColor ? supportsColor.level : 0,
  stderrIsTTY: Boolean(process.stderr.isTTY),
});

const EXAMPLES = `
Examples:
  verify-checkpoint --checkpoint_path checkpoints/best_model
  verify-checkpoint checkpoints/best_model --strict --json
  verify-checkpoint out/checkpoint-1000 --tolerance 50
  verify-checkpoint out/ --world-size 4 --torch-load weights-only   # a run folder: the checkpoint Trainer resumes from
  verify-checkpoint lightning_logs/version_0/checkpoints/last.ckpt
  RESUME=$(verify-checkpoint latest out/) && python train.py --resume_from "$RESUME"
  verify-checkpoint ckpt --format junit --output verify.xml   # text to the log, JUnit to the file
  verify-checkpoint ckpt --format github                      # annotations + $GITHUB_STEP_SUMMARY
  verify-checkpoint s3://bucket/run/checkpoint-1000 --strict   # object storage (AWS credential chain)
  verify-checkpoint ckpt --deep --shard 0/4 --json --output report-0.json && verify-checkpoint merge report-*.json
  verify-checkpoint explain SCALER_STATE_MISSING

Exit codes: 0 passed, 1 verification failed, 2 usage error, 3 internal error.`;

/** Parses argv, runs the library, writes the report. Returns the exit code; never throws. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  let code: number = EXIT.ok;
  const debug = argv.includes("--debug");
  const program = new Command("verify-checkpoint")
    .description("Verify that a training checkpoint is safe to resume from, without Python and without running anything in it.")
    .version(VERSION, "-V, --version")
    .argument("[path]", "checkpoint folder or file (same as --checkpoint_path)")
    .option("--checkpoint_path <path>", "checkpoint folder or file")
    .option("--checkpoint-path <path>", "same as --checkpoint_path")
    .option("--strict", "warnings count as failures (exit 1)", false)
    .option("--tolerance <n>", "optimizer step tolerance", intArg(0), 20)
    .option("--gradient-accumulation-steps <k>", "used when the checkpoint does not record it", intArg(1))
    .addOption(new Option("--format <format>", "report format").choices([...FORMATS]).default("text"))
    .option("--json", "same as --format json")
    .option("--quiet", "text format: only the problems and the verdict", false)
    .option("--deep", "read every byte: CRC32 of records, storage extents, NaN/Inf scan", false)
    .option("--shard <i/n>", "with --deep: read only part i of n (0-based, balanced by bytes); combine the JSON reports with `merge`", shardArg)
    .addOption(new Option("--layout <name>", "override layout detection").choices([...LAYOUT_NAMES]))
    .option("--allow-global <module.name>", "treat this pickle global as harmless (repeatable; never lifts the unsafe list)", collect, [] as string[])
    .addOption(new Option("--torch-load <mode>", "weights-only: the resume runs torch >= 2.6, so files torch.load(weights_only=True) refuses are warnings").choices(["weights-only", "any"]))
    .option("--world-size <n>", "processes the resumed run will have: compared with the ranks that saved", intArg(1))
    .option("--gpus <n>", "GPUs each resumed process sees: storages saved on cuda:K with K >= n are reported", intArg(0))
    .option("--output <file>", "write the report in --format to FILE; the terminal gets the text report")
    .option("--debug", "show stack traces of internal errors")
    .addHelpText("after", EXAMPLES)
    .enablePositionalOptions()
    .showHelpAfterError("(run verify-checkpoint --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (pathArg: string | undefined, opts: Record<string, unknown>) => {
      const path = (opts["checkpoint_path"] ?? opts["checkpointPath"] ?? pathArg) as string | undefined;
      if (!path) throw new CommanderError(EXIT.usage, "verify-checkpoint.missingPath", "error: missing checkpoint path (--checkpoint_path PATH)");
      const shard = opts["shard"] as { index: number; count: number } | undefined;
      if (shard && !opts["deep"]) throw new CommanderError(EXIT.usage, "verify-checkpoint.shardWithoutDeep", "error: --shard splits the --deep byte scan: add --deep");
      const format = (opts["json"] ? "json" : opts["format"]) as Format;
      const output = opts["output"] as string | undefined;
      const bar = opts["deep"] && io.stderrIsTTY && (format === "text" || output !== undefined) ? progressBar(io.stderr) : undefined;
      const report = await verifyCheckpoint(path, {
        onProgress: bar?.update,
        strict: Boolean(opts["strict"]),
        tolerance: opts["tolerance"] as number,
        gradientAccumulationSteps: opts["gradientAccumulationSteps"] as number | undefined,
        layout: opts["layout"] as string | undefined,
        deep: Boolean(opts["deep"]),
        allowGlobals: opts["allowGlobal"] as string[],
        torchLoad: opts["torchLoad"] as VerifyOptions["torchLoad"],
        worldSize: opts["worldSize"] as number | undefined,
        gpus: opts["gpus"] as number | undefined,
        ...(shard ? { shard } : {}),
      });
      bar?.finish();
      const stepSummary = (io.env ?? process.env)["GITHUB_STEP_SUMMARY"] || undefined;
      writeReport(report, { format, output, quiet: Boolean(opts["quiet"]), colorLevel: io.colorLevel, stdout: io.stdout, stepSummary });
      code = report.exitCode;
    });

  program
    .command("inspect")
    .description("show what a torch, pickle or safetensors file holds, decoded without running anything")
    .argument("<file>", "file to inspect")
    .option("--json", "print JSON")
    .option("--allow-global <module.name>", "treat this pickle global as harmless (repeatable; never lifts the unsafe list)", collect, [] as string[])
    .addHelpText("after", "\nExamples:\n  verify-checkpoint inspect checkpoints/best_model/training_state.pth\n  verify-checkpoint inspect model.safetensors --json | jq .tensors\n\nExit code 1 when the file cannot be decoded or holds an unsafe global.")
    .action(async (file: string, opts: { json?: boolean; allowGlobal: string[] }) => {
      const result = await inspectFile(file, { allowGlobals: opts.allowGlobal });
      io.stdout(opts.json ? renderInspectJson(result) : renderInspectText(result));
      code = result.exitCode;
    });

  program
    .command("latest")
    .description("print the newest checkpoint under DIR that passes; exit 1 if none does")
    .argument("<dir>", "output folder holding checkpoint folders (checkpoint-N, epoch_N, ...), or a DeepSpeed save folder (its tags, the one latest names first)")
    .option("--strict", "warnings count as failures", false)
    .option("--tolerance <n>", "optimizer step tolerance", intArg(0), 20)
    .option("--gradient-accumulation-steps <k>", "used when a checkpoint does not record it", intArg(1))
    .option("--allow-global <module.name>", "treat this pickle global as harmless (repeatable; never lifts the unsafe list)", collect, [] as string[])
    .addHelpText("after", '\nExample:\n  RESUME=$(verify-checkpoint latest out/) && python train.py --resume_from "$RESUME"')
    .action(async (dir: string, opts: { strict: boolean; tolerance: number; gradientAccumulationSteps?: number; allowGlobal: string[] }) => {
      const result = await findLatest(dir, { strict: opts.strict, tolerance: opts.tolerance, gradientAccumulationSteps: opts.gradientAccumulationSteps, allowGlobals: opts.allowGlobal });
      for (const r of result.rejected) io.stderr(`skipped ${r.path}: ${r.reason}\n`);
      if (result.chosen) io.stdout(result.chosen + "\n");
      else if (result.unreadable) io.stderr(`could not read ${result.unreadable.path} (${result.unreadable.reason}); no older checkpoint was chosen\n`);
      else io.stderr(`no checkpoint under ${dir} passes (${result.candidates.length} candidate(s))\n`);
      code = result.chosen ? EXIT.ok : EXIT.failed;
    });

  program
    .command("diff")
    .description("what changed between two checkpoints of the same run: counters, learning rate, optimizer settings, tensor shapes and dtypes")
    .argument("<a>", "the earlier checkpoint")
    .argument("<b>", "the later checkpoint")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  verify-checkpoint diff out/checkpoint-1000 out/checkpoint-1500")
    .action(async (a: string, b: string, opts: { json?: boolean }) => {
      code = await runDiff(a, b, Boolean(opts.json), io.stdout, io.stderr);
    });

  program
    .command("merge")
    .description("combine the JSON reports of `--deep --shard i/n` runs into the report of one --deep run")
    .argument("<reports...>", "the shard reports (report-*.json), one per shard")
    .addOption(new Option("--format <format>", "report format").choices([...FORMATS]).default("text"))
    .option("--json", "same as --format json")
    .option("--quiet", "text format: only the problems and the verdict", false)
    .option("--output <file>", "write the report in --format to FILE; the terminal gets the text report")
    .addHelpText("after", "\nExample:\n  verify-checkpoint merge reports/report-*.json --format github\n\nExit code as if one process had read every byte; 1 when a shard is missing or the reports are from different runs.")
    .action((files: string[], opts: { format: Format; json?: boolean; quiet: boolean; output?: string }) => {
      const stepSummary = (io.env ?? process.env)["GITHUB_STEP_SUMMARY"] || undefined;
      const output = { format: opts.json ? "json" : opts.format, output: opts.output, quiet: opts.quiet, colorLevel: io.colorLevel, stdout: io.stdout, stepSummary } as const;
      code = runMerge(files, output, io.stderr);
    });

  program
    .command("explain")
    .description("print what a finding code means, why it matters for a resume, and what to do")
    .argument("[code]", "finding code, e.g. SCALER_STATE_MISSING; without it, list every code")
    .addHelpText("after", EXPLAIN_HELP)
    .action((name: string | undefined) => {
      code = runExplain(name, io);
    });

  program
    .command("completion")
    .description("print a shell completion script")
    .addArgument(new Argument("[shell]", "shell").choices([...SHELLS]).default("bash"))
    .addHelpText("after", COMPLETION_HELP)
    .action((shell: Shell) => {
      io.stdout(renderCompletion(program, shell));
    });

  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
      if (e.code === "verify-checkpoint.missingPath" || e.code === "verify-checkpoint.shardWithoutDeep") io.stderr(`${e.message}\n(run verify-checkpoint --help for usage)\n`);
      return EXIT.usage;
    }
    const err = e as Error;
    if (isIoUsageError(err)) {
      io.stderr(`verify-checkpoint: ${err.message}\n`);
      return EXIT.failed;
    }
    io.stderr(`verify-checkpoint: internal error: ${err?.message ?? String(e)}\nThis is a bug in verify-checkpoint, not a problem with your checkpoint: please report it with the command you ran${debug ? "" : " (add --debug for the stack trace)"}.\n`);
    if (debug && err?.stack) io.stderr(err.stack + "\n");
    return EXIT.internal;
  }
}

/** Failures of the tool's own output (an --output path that cannot be written, a missing `latest` dir) are the user's, not bugs. */
function isIoUsageError(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "EACCES" || code === "ENOTDIR" || code === "EISDIR" || code === "EROFS";
}

function intArg(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** "i/n" with 0 <= i < n <= 10000. */
function shardArg(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(count >= 1 && count <= 10_000 && index >= 0 && index < count)) throw new InvalidArgumentError(`expected i/n with 0 <= i < n <= 10000 (e.g. 0/4), got '${value}'`);
  return { index, count };
}

function collect(value: string, previous: string[]): string[] {
  if (!/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$/.test(value)) throw new InvalidArgumentError(`expected module.name, got '${value}'`);
  return [...previous, value];
}
