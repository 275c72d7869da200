import { isStdlibModule } from "./stdlib-modules.js";

/**
 * The namespaces we know completely, so deny by default: a global from one of
 * them that is neither allowed nor known harmless is unsafe, whether or not a
 * scanner's list names it yet. Third-party modules stay "unknown" (warnings):
 * a user's own classes live there.
 */
export type DeniedNamespace = "standard library" | "torch";

/** torch's wheel installs these top-level packages; all are torch's own code. */
const TORCH_PACKAGES = new Set(["torch", "functorch", "torchgen"]);

export function deniedNamespace(module: string): DeniedNamespace | undefined {
  if (isStdlibModule(module)) return "standard library";
  const dot = module.indexOf(".");
  return TORCH_PACKAGES.has(dot < 0 ? module : module.slice(0, dot)) ? "torch" : undefined;
}

export function denyReason(ns: DeniedNamespace, qualname: string): string {
  const what = ns === "torch" ? "torch" : "standard-library";
  const whose = ns === "torch" ? "torch's own code" : "Python's standard library";
  return `${what} callable outside the known-harmless list: ${whose} is denied by default unless listed (use --allow-global ${qualname} if you trust it)`;
}
