/**
 * The top-level module names of Python's standard library, 3.8 to 3.14 as a
 * union: the namespace that is denied by default (docs/globals.md, "The
 * rule"). Modules removed in later versions stay: an old pickle can name
 * them and an old interpreter imports them.
 *
 * Where the names come from:
 * - 3.11: `sys.stdlib_module_names` of /usr/bin/python3 here (3.11.2), 305 names.
 * - 3.12 to 3.14 and later: CPython's generated `Python/stdlib_module_names.h`,
 *   read at two commits of python/cpython: 00271b5 (a 3.14 pre-release, with
 *   `annotationlib`) and dd2cd6b (main after 3.14, 3.15 development). Every
 *   module added in 3.12 or 3.13 is still in both, and every module removed in
 *   3.12 or 3.13 (PEP 594's dead batteries, distutils, imp, asynchat, ...) is
 *   in 3.11's list, so the union also covers 3.12 and 3.13. The main-branch
 *   additions (`compression`, `_zstd`, `_remote_debugging`, ...) include what
 *   3.14 final added after 00271b5.
 * - 3.8 to 3.10 predate the attribute (3.10 has it, but no 3.10 interpreter is
 *   here). They are 3.11's list plus what "What's New" records as removed
 *   before 3.11: `binhex` (3.11), `formatter`, `parser`, `symbol`,
 *   `_peg_parser` and `_bootlocale` (3.10), `dummy_threading` and
 *   `_dummy_thread` (3.9). Nothing 3.8 to 3.10 had is missing from 3.11
 *   otherwise; what 3.9 and 3.10 added (`zoneinfo`, `graphlib`,
 *   `_bootsubprocess`, ...) is in 3.11's list.
 * - CPython leaves its test modules out of the list (the generator,
 *   Tools/build/generate_stdlib_module_names.py, ignores them), yet they ship
 *   with it and a pickle can import them: `test.support.script_helper` runs
 *   the interpreter. They are added from that script's ignore list, with the
 *   interpreter-control test modules of older versions.
 *
 * `__main__` is not here: it is the script that loads the pickle, whose
 * classes (`__main__.Model`) are the user's own. Private modules (`_io`,
 * `_pickle`, ...) are here, as in CPython's list.
 */

const PYTHON_3_11 = `
__future__ _abc _aix_support _ast _asyncio _bisect _blake2 _bootsubprocess _bz2 _codecs _codecs_cn _codecs_hk
_codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw _collections _collections_abc _compat_pickle _compression
_contextvars _crypt _csv _ctypes _curses _curses_panel _datetime _dbm _decimal _elementtree _frozen_importlib
_frozen_importlib_external _functools _gdbm _hashlib _heapq _imp _io _json _locale _lsprof _lzma _markupbase
_md5 _msi _multibytecodec _multiprocessing _opcode _operator _osx_support _overlapped _pickle _posixshmem
_posixsubprocess _py_abc _pydecimal _pyio _queue _random _scproxy _sha1 _sha256 _sha3 _sha512 _signal
_sitebuiltins _socket _sqlite3 _sre _ssl _stat _statistics _string _strptime _struct _symtable _thread
_threading_local _tkinter _tokenize _tracemalloc _typing _uuid _warnings _weakref _weakrefset _winapi
_zoneinfo abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii
bisect builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys
compileall concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses
datetime dbm decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl
filecmp fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp
gzip hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json
keyword lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib
msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ossaudiodev
pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats
pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource
rlcompleter runpy sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket
socketserver spwd sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct
subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this
threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types
typing unicodedata unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref
xdrlib xml xmlrpc zipapp zipfile zipimport zlib zoneinfo
`;

/** In the 3.14 pre-release header (00271b5) and not in 3.11. */
const ADDED_3_12_TO_3_14 = `
_android_support _colorize _hmac _interpchannels _interpqueues _interpreters _ios_support _opcode_metadata
_pydatetime _pylong _pyrepl _sha2 _suggestions _sysconfig _wmi annotationlib
`;

/** In the main-branch header (dd2cd6b) and in neither list above. */
const ADDED_ON_MAIN = `
_apple_support _ast_unparse _math_integer _py_warnings _remote_debugging _types _zstd compression profiling
`;

const REMOVED_BEFORE_3_11 = `
binhex formatter parser symbol _peg_parser _bootlocale dummy_threading _dummy_thread
`;

/** CPython's test modules (the generator's ignore list, and `_xxsubinterpreters` / `_xxinterpqueues` of 3.8 to 3.13). */
const TEST_MODULES = `
test __hello__ __phello__ __hello_alias__ __phello_alias__ __hello_only__ _ctypes_test _testbuffer _testcapi
_testclinic _testclinic_limited _testconsole _testimportmultiple _testinternalcapi _testlimitedcapi
_testmultiphase _testsinglephase _testexternalinspection _xxinterpchannels _xxinterpqueues _xxsubinterpreters
_xxtestfuzz xxlimited xxlimited_35 xxsubtype
`;

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w.length > 0);

export const STDLIB_MODULES: ReadonlySet<string> = new Set(
  [PYTHON_3_11, ADDED_3_12_TO_3_14, ADDED_ON_MAIN, REMOVED_BEFORE_3_11, TEST_MODULES].flatMap(words),
);

/** Whether the dotted module's top-level package is part of the standard library. */
export function isStdlibModule(module: string): boolean {
  const dot = module.indexOf(".");
  return STDLIB_MODULES.has(dot < 0 ? module : module.slice(0, dot));
}
