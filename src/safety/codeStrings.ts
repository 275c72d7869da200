/**
 * The second line of defence (contract.md): a call whose string arguments
 * look like Python source or a shell command is unsafe whatever the callee,
 * so a gadget missing from every list is still caught by its payload.
 *
 * The patterns need structure, not a lone word: checkpoints are full of
 * strings such as "cosine", "eval_loss", "cat", file paths and launch
 * commands ("python -m torch.distributed.run train.py"), and none of those
 * may trip it. Every pattern is linear (no nested quantifiers), so a long
 * string costs one pass per pattern.
 */

/** Strings longer than this are checked on their first part only: a payload has to fit somewhere. */
export const MAX_SCANNED_CHARS = 1 << 20;

const PYTHON_PATTERNS: RegExp[] = [
  /__import__/,
  /\b(?:os|posix|nt)\s*\.\s*(?:system|popen[234]?|exec[lv]p?e?|spawn[lv]p?e?|startfile|fork|forkpty|kill|killpg|remove|unlink|rmdir|removedirs|putenv)\b/,
  /\bsubprocess\b/,
  // exec(...) but not "model.eval()" or "evaluate(": no dot or word character before it
  /(?<![.\w])(?:exec|eval|execfile|compile|breakpoint|getattr|setattr|globals|locals)\s*\(/,
  /(?<![.\w])open\s*\(\s*['"]/,
  /(?:^|[;\n])\s*import\s+[A-Za-z_][\w.]*\s*(?:$|[;\n,]|as\s)/,
  /(?:^|[;\n])\s*from\s+[A-Za-z_][\w.]*\s+import\s+[\w*(]/,
  /__(?:builtins|globals|subclasses|class|bases|mro|code|reduce|reduce_ex|getattribute|loader|spec)__/,
  /\b(?:pty\s*\.\s*spawn|socket\s*\.\s*socket|ctypes\s*\.\s*(?:CDLL|cdll|windll)|runpy\s*\.\s*run_\w+)\b/,
  /\b(?:base64\s*\.\s*b64decode|codecs\s*\.\s*decode|marshal\s*\.\s*loads|pickle\s*\.\s*loads)\s*\(/,
];

/** Words that start shell commands. "Strong" ones rarely start anything else. */
const STRONG_WORDS = [
  "sh", "bash", "zsh", "dash", "ksh", "csh", "tcsh", "fish", "curl", "wget", "nc", "ncat", "netcat", "socat",
  "telnet", "python", "python2", "python3", "perl", "ruby", "php", "node", "rm", "chmod", "chown", "mkfifo",
  "powershell", "pwsh", "cmd", "cmd.exe", "certutil", "base64", "nohup", "sudo", "su", "pkill", "killall",
  "crontab", "scp", "ssh", "sftp", "ftp", "tftp", "busybox", "xargs", "bitsadmin", "rundll32", "regsvr32", "mshta", "wmic",
];
const WEAK_WORDS = ["echo", "cat", "ls", "id", "whoami", "uname", "touch", "mv", "cp", "kill", "env", "cd", "mkdir", "export", "eval", "exec", "sleep", "ping", "dd", "tar", "unzip", "head", "tail", "printf", "source"];
const SHELL_WORDS = new Set([...STRONG_WORDS, ...WEAK_WORDS]);

/** A strong command word with the arguments that make it an attack rather than a mention. */
const COMMAND_PATTERNS: RegExp[] = [
  /^(?:sudo\s+)?rm\s+-[a-zA-Z]*[rf]/,
  /^(?:curl|wget)\s.*\b(?:https?|ftp|tftp):\/\//,
  /^(?:nc|ncat|netcat|socat|telnet)\s+\S/,
  /^(?:ba|z|da|k|c|tc)?sh\s+-[a-z]*[ci]\b/,
  /^(?:python[23]?(?:\.\d+)?|perl|ruby|php|node)\s+-[a-zA-Z]*[ce]\s/,
  /^(?:powershell|pwsh)(?:\.exe)?\s/i,
  /^cmd(?:\.exe)?\s+\/[ck]\s/i,
  /^chmod\s+(?:\+[rwxs]+|[0-7]{3,4})\s/,
  /^mkfifo\s/,
  /^certutil(?:\.exe)?\s/i,
  /^base64\s+(?:-d|--decode)\b/,
];

const SEPARATORS = /;|&&|\|\||\||\n|`|\$\(/;
/** A leading directory that only executables live in (/bin/sh, /usr/local/bin/curl, ./x, /tmp/x). */
const BIN_DIR = /^(?:(?:\/usr)?(?:\/local)?\/s?bin\/|\.\/|\/tmp\/)/;
/** C0 control characters other than tab/newline/CR: the string is binary data (e.g. _codecs.encode payloads). */
const BINARY = /[\x00-\x08\x0e-\x1f]/;

/** Why `s` looks like Python source or a shell command, or undefined. */
export function codeLikeReason(s: string): string | undefined {
  const text = s.length > MAX_SCANNED_CHARS ? s.slice(0, MAX_SCANNED_CHARS) : s;
  if (PYTHON_PATTERNS.some((p) => p.test(text))) return `string argument looks like Python source: ${pyRepr(text)}`;
  if (/\/dev\/(?:tcp|udp)\//.test(text)) return `string argument looks like a shell command: ${pyRepr(text)}`;
  // Raw bytes carried as latin-1 text hold ';' and '\n' at random; word-level shell checks would misfire there.
  if (BINARY.test(text)) return undefined;
  if (looksLikeShell(text)) return `string argument looks like a shell command: ${pyRepr(text)}`;
  return undefined;
}

function looksLikeShell(text: string): boolean {
  const segments = text.split(SEPARATORS).map(normaliseSegment).filter((seg) => seg.length > 0);
  if (segments.some((seg) => COMMAND_PATTERNS.some((p) => p.test(seg)))) return true;
  // "echo x; id", "curl ... | sh": two or more pieces joined by shell operators that each start with a command word.
  if (segments.length < 2) return false;
  return segments.filter((seg) => SHELL_WORDS.has(commandWord(seg))).length >= 2;
}

/** A piece's first word without the closing brackets and quotes a split left on it: "echo $(id)" gives "id)", "'id'; ls" gives "id'". */
function commandWord(seg: string): string {
  return seg.split(/\s/, 1)[0]!.replace(/[)}'"]+$/, "").toLowerCase();
}

/** Trims, drops grouping characters and the directory of the command word. */
function normaliseSegment(seg: string): string {
  const trimmed = seg.trim().replace(/^[({'"]+/, "");
  return trimmed.replace(BIN_DIR, "").replace(/^(?:\/[\w.-]+)*\/s?bin\//, "");
}

/** A short Python-style repr for messages: quotes, escapes, cut at `max` characters. */
export function pyRepr(s: string, max = 60): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return `'${JSON.stringify(cut).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}
