/**
 * Python 2 module and name spellings, mapped as CPython's _compat_pickle maps
 * them, so the safety layer sees `builtins.eval` whether a file says
 * `__builtin__.eval` or `builtins.eval`. CPython only maps for protocol < 3;
 * we always do, because for protocol >= 3 the Python 2 name fails to import
 * and reporting it under its Python 3 name can only over-warn.
 */
const IMPORT_MAPPING = new Map<string, string>([
  ["__builtin__", "builtins"],
  ["copy_reg", "copyreg"],
  ["exceptions", "builtins"],
  ["Queue", "queue"],
  ["SocketServer", "socketserver"],
  ["ConfigParser", "configparser"],
  ["repr", "reprlib"],
  ["Tkinter", "tkinter"],
  ["markupbase", "_markupbase"],
  ["_winreg", "winreg"],
  ["thread", "_thread"],
  ["dummy_thread", "_dummy_thread"],
  ["dbhash", "dbm.bsd"],
  ["dumbdbm", "dbm.dumb"],
  ["dbm", "dbm.ndbm"],
  ["gdbm", "dbm.gnu"],
  ["anydbm", "dbm"],
  ["whichdb", "dbm"],
  ["xmlrpclib", "xmlrpc.client"],
  ["SimpleXMLRPCServer", "xmlrpc.server"],
  ["DocXMLRPCServer", "xmlrpc.server"],
  ["httplib", "http.client"],
  ["htmlentitydefs", "html.entities"],
  ["HTMLParser", "html.parser"],
  ["Cookie", "http.cookies"],
  ["cookielib", "http.cookiejar"],
  ["BaseHTTPServer", "http.server"],
  ["SimpleHTTPServer", "http.server"],
  ["CGIHTTPServer", "http.server"],
  ["test.test_support", "test.support"],
  ["commands", "subprocess"],
  ["urlparse", "urllib.parse"],
  ["robotparser", "urllib.robotparser"],
  ["urllib2", "urllib.request"],
  ["_abcoll", "collections.abc"],
  ["cPickle", "pickle"],
  ["_elementtree", "xml.etree.ElementTree"],
  ["UserDict", "collections"],
  ["UserList", "collections"],
  ["UserString", "collections"],
  ["StringIO", "io"],
  ["cStringIO", "io"],
]);

// Keyed by "module\nname"; a newline cannot occur in a GLOBAL argument.
const NAME_MAPPING = new Map<string, readonly [string, string]>(
  (
    [
      ["__builtin__", "xrange", "builtins", "range"],
      ["__builtin__", "reduce", "functools", "reduce"],
      ["__builtin__", "intern", "sys", "intern"],
      ["__builtin__", "unichr", "builtins", "chr"],
      ["__builtin__", "unicode", "builtins", "str"],
      ["__builtin__", "long", "builtins", "int"],
      ["__builtin__", "basestring", "builtins", "str"],
      ["itertools", "izip", "builtins", "zip"],
      ["itertools", "imap", "builtins", "map"],
      ["itertools", "ifilter", "builtins", "filter"],
      ["itertools", "ifilterfalse", "itertools", "filterfalse"],
      ["itertools", "izip_longest", "itertools", "zip_longest"],
      ["UserDict", "IterableUserDict", "collections", "UserDict"],
      ["whichdb", "whichdb", "dbm", "whichdb"],
      ["_socket", "fromfd", "socket", "fromfd"],
      ["socket", "_socketobject", "socket", "SocketType"],
      ["exceptions", "StandardError", "builtins", "Exception"],
      ["_multiprocessing", "Connection", "multiprocessing.connection", "Connection"],
      ["multiprocessing.process", "Process", "multiprocessing.context", "Process"],
      ["multiprocessing.forking", "Popen", "multiprocessing.popen_fork", "Popen"],
      ["urllib", "urlopen", "urllib.request", "urlopen"],
      ["urllib", "urlretrieve", "urllib.request", "urlretrieve"],
      ["urllib", "urlcleanup", "urllib.request", "urlcleanup"],
      ["urllib", "getproxies", "urllib.request", "getproxies"],
      ["urllib", "pathname2url", "urllib.request", "pathname2url"],
      ["urllib", "url2pathname", "urllib.request", "url2pathname"],
      ["urllib", "ContentTooShortError", "urllib.error", "ContentTooShortError"],
      ["urllib", "quote", "urllib.parse", "quote"],
      ["urllib", "quote_plus", "urllib.parse", "quote_plus"],
      ["urllib", "unquote", "urllib.parse", "unquote"],
      ["urllib", "unquote_plus", "urllib.parse", "unquote_plus"],
      ["urllib", "urlencode", "urllib.parse", "urlencode"],
      ["urllib2", "HTTPError", "urllib.error", "HTTPError"],
      ["urllib2", "URLError", "urllib.error", "URLError"],
    ] as const
  ).map(([m, n, m3, n3]) => [`${m}\n${n}`, [m3, n3] as const]),
);

export function normaliseGlobal(module: string, name: string): readonly [string, string] {
  const renamed = NAME_MAPPING.get(`${module}\n${name}`);
  if (renamed) return renamed;
  const m = IMPORT_MAPPING.get(module);
  return m === undefined ? [module, name] : [m, name];
}
