/*
** End-to-end tests of the eryx CLI with real Python in the real sandbox.
** usage: e2e_cli ERYX_BINARY CASE   (ctest runs one process per case)
**        e2e_cli ERYX_BINARY --list
*/
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

typedef struct {
    const char *name;
    const char *args[8];    /* arguments after the binary */
    const char *stdin_data; /* "@PIPE": a pipe that stays open (a read blocks) */
    int want_exit;
    const char *want_stdout;        /* exact, or NULL to skip */
    const char *want_stdout_has;    /* substring, or NULL */
    const char *want_stderr_has[3]; /* substrings */
    const char *want_stdout_lacks;  /* substring that must not appear, or NULL */
    size_t want_stdout_len;         /* exact length when non-zero */
    const char *file_data;          /* written to a temporary file that an "@FILE" argument names */
} cli_case;

#define PY(code) {"-c", code}
/* The network cases (src/cli/net_opts.c): the guest never connects beyond loopback,
** and nothing listens on port 9 (so an allowed connect is refused by the kernel). */
#define NET_TRY(host)                                                                                       \
    "import socket\ntry:\n    socket.create_connection(('" host "', 9), timeout=5)\nexcept OSError as e:\n" \
    "    print(type(e).__name__)"
static const cli_case cases[] = {
    {"print", PY("print(6*7)"), NULL, 0, "42\n", NULL, {NULL}},
    {"arithmetic",
     PY("print(2**100, 7//2, -7%3, 0.1+0.2, divmod(17, 5))"),
     NULL,
     0,
     "1267650600228229401496703205376 3 2 0.30000000000000004 (3, 2)\n",
     NULL,
     {NULL}},
    {"unicode",
     PY("print('h\\u00e9llo \\u2713 \\U0001F40D'); print(len('\\U0001F40D'))"),
     NULL,
     0,
     "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x90\x8d\n1\n",
     NULL,
     {NULL}},
    {"exception",
     PY("x = 1\n1/0"),
     NULL,
     1,
     "",
     NULL,
     {"Traceback (most recent call last):", "File \"<string>\", line 2, in <module>",
      "ZeroDivisionError: division by zero"}},
    {"syntax_error", PY("def (:"), NULL, 1, "", NULL, {"SyntaxError"}},
    {"sys_exit_code", PY("import sys; print('bye'); sys.exit(7)"), NULL, 7, "bye\n", NULL, {NULL}},
    {"sys_exit_message", PY("raise SystemExit('fatal: no')"), NULL, 1, "", NULL, {"fatal: no"}},
    {"os_exit", PY("import os; os._exit(5)"), NULL, 5, NULL, NULL, {NULL}},
    {"recursion", PY("def f(n): return f(n + 1)\nf(0)"), NULL, 1, "", NULL, {"RecursionError"}},
    {"stdin_read",
     PY("import sys; print(sys.stdin.read().upper(), end='')"),
     "hello eryx\n",
     0,
     "HELLO ERYX\n",
     NULL,
     {NULL}},
    {"stdin_input", PY("a = input(); b = input(); print(int(a) + int(b))"), "40\n2\n", 0, "42\n", NULL, {NULL}},
    {"code_from_stdin", {NULL}, "import sys\nprint('from stdin', sys.argv)\n", 0, "from stdin ['-']\n", NULL, {NULL}},
    {"argv", {"-c", "import sys; print(sys.argv)", "a", "b c"}, NULL, 0, "['-c', 'a', 'b c']\n", NULL, {NULL}},
    {"version_info",
     PY("import sys; assert sys.version_info[:2] == (3, 13), sys.version; print(sys.platform)"),
     NULL,
     0,
     "wasi\n",
     NULL,
     {NULL}},
    {"json",
     PY("import json; d = json.loads('{\"a\": [1, 2.5, null, true]}'); print(json.dumps(d, sort_keys=True))"),
     NULL,
     0,
     "{\"a\": [1, 2.5, null, true]}\n",
     NULL,
     {NULL}},
    {"re",
     PY("import re; print(re.findall(r'(\\w+)@(\\w+)\\.com', 'a@b.com, c@d.com'))"),
     NULL,
     0,
     "[('a', 'b'), ('c', 'd')]\n",
     NULL,
     {NULL}},
    {"datetime",
     PY("import datetime as d; t = d.datetime(2024, 2, 28) + d.timedelta(days=2); print(t.isoformat(), "
        "t.strftime('%A'))"),
     NULL,
     0,
     "2024-03-01T00:00:00 Friday\n",
     NULL,
     {NULL}},
    {"decimal",
     PY("import decimal; decimal.getcontext().prec = 40; print(decimal.Decimal(1) / decimal.Decimal(7)); import "
        "_decimal"),
     NULL,
     0,
     "0.1428571428571428571428571428571428571429\n",
     NULL,
     {NULL}},
    {"hashlib",
     PY("import hashlib; print(hashlib.sha256(b'abc').hexdigest()); print(hashlib.md5(b'').hexdigest(), "
        "hashlib.blake2b(b'x').hexdigest()[:8])"),
     NULL,
     0,
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nd41d8cd98f00b204e9800998ecf8427e 0909377a\n",
     NULL,
     {NULL}},
    {"zlib",
     PY("import zlib; data = b'eryx ' * 10000; c = zlib.compress(data, 9); assert zlib.decompress(c) == data; "
        "print(len(c) < 200, zlib.crc32(b'hello'))"),
     NULL,
     0,
     "True 907060870\n",
     NULL,
     {NULL}},
    {"bz2_lzma",
     PY("import bz2, lzma; d = bytes(range(256)) * 100; assert bz2.decompress(bz2.compress(d)) == d; "
        "assert lzma.decompress(lzma.compress(d)) == d; print(len(bz2.compress(d)) < len(d), "
        "lzma.is_check_supported(lzma.CHECK_SHA256))"),
     NULL,
     0,
     "True True\n",
     NULL,
     {NULL}},
    {"sqlite3",
     PY("import sqlite3; c = sqlite3.connect(':memory:'); c.execute('create table t(a, b)'); "
        "c.executemany('insert into t values (?, ?)', [(i, i * i) for i in range(10)]); "
        "print(c.execute('select count(*), sum(b) from t where a > 4').fetchone())"),
     NULL,
     0,
     "(5, 255)\n",
     NULL,
     {NULL}},
    {"collections",
     PY("from collections import Counter, OrderedDict, deque, namedtuple; P = namedtuple('P', 'x y'); "
        "d = deque([1, 2, 3], maxlen=2); print(Counter('abracadabra').most_common(2), list(d), P(1, 2))"),
     NULL,
     0,
     "[('a', 5), ('b', 2)] [2, 3] P(x=1, y=2)\n",
     NULL,
     {NULL}},
    {"dataclasses",
     PY("from dataclasses import dataclass, field, asdict\n@dataclass(frozen=True)\nclass C:\n    a: int\n    b: list "
        "= field(default_factory=list)\nprint(asdict(C(1, [2])), C(1) == C(1))"),
     NULL,
     0,
     "{'a': 1, 'b': [2]} True\n",
     NULL,
     {NULL}},
    {"asyncio",
     PY("import asyncio\nasync def sq(x):\n    await asyncio.sleep(0)\n    return x * x\nasync def main():\n    return "
        "await asyncio.gather(*(sq(i) for i in range(5)))\nprint(asyncio.run(main()))"),
     NULL,
     0,
     "[0, 1, 4, 9, 16]\n",
     NULL,
     {NULL}},
    {"unicodedata",
     PY("import unicodedata; print(unicodedata.name('\\u00e9'), unicodedata.normalize('NFD', '\\u00e9').encode())"),
     NULL,
     0,
     "LATIN SMALL LETTER E WITH ACUTE b'e\\xcc\\x81'\n",
     NULL,
     {NULL}},
    {"pyexpat",
     PY("import xml.etree.ElementTree as ET; print(ET.fromstring('<a><b x=\"1\"/></a>').find('b').get('x'))"),
     NULL,
     0,
     "1\n",
     NULL,
     {NULL}},
    /* The guest sees no host path it was not given. */
    {"no_host_etc_passwd", PY("print(open('/etc/passwd').read())"), NULL, 1, "", NULL, {"Error"}},
    {"no_host_listing",
     PY("import os\nfor d in ('/', '/etc', '/root', '/tmp', '..'):\n    try:\n        print(d, os.listdir(d))\n    "
        "except OSError as e:\n        print(d, 'denied')"),
     NULL,
     0,
     NULL,
     "/etc denied",
     {NULL},
     "passwd"},
    {"no_host_env", PY("import os; print(sorted(os.environ))"), NULL, 0, "[]\n", NULL, {NULL}},
    /* Output is captured at the WASI level, raw writes included, and large. */
    {"raw_fd_write",
     PY("import os; os.write(1, b'raw out\\n'); os.write(2, b'raw err\\n')"),
     NULL,
     0,
     "raw out\n",
     NULL,
     {"raw err"}},
    {"timeout_loop",
     {"--timeout", "300ms", "-c", "print('before', flush=True)\nwhile True: pass"},
     NULL,
     124,
     "before\n",
     NULL,
     {"300 ms timeout"}},
    {"timeout_sleep", {"--timeout", "0.3s", "-c", "import time; time.sleep(60)"}, NULL, 124, "", NULL, {"timeout"}},
    {"timeout_stdin",
     {"--timeout", "300ms", "-c", "import sys; print('got', sys.stdin.read())"},
     "@PIPE",
     124,
     "",
     NULL,
     {"timeout"}},
    {"timeout_bad_value", {"--timeout", "soon", "-c", "pass"}, NULL, 2, "", NULL, {"--timeout wants a duration"}},
    /* --timeout takes its unit (ms, s, m); a bare number is refused, never read in a unit
    ** (python -m eryx reads one as milliseconds, this CLI read seconds): docs/CLI.md. */
    {"timeout_units",
     {"--timeout", "1.5s", "-c", "import time; time.sleep(0.5); print('slept')"},
     NULL,
     0,
     "slept\n",
     NULL,
     {NULL}},
    {"timeout_minutes", {"--timeout", "0.05m", "-c", "while True: pass"}, NULL, 124, "", NULL, {"3000 ms timeout"}},
    {"timeout_bare_refused",
     {"--timeout", "5", "-c", "print('ran')"},
     NULL,
     2,
     "",
     NULL,
     {"--timeout 5 needs a unit: 5s or 5ms"}},
    {"timeout_bare_fraction_refused", {"--timeout", "0.3", "-c", "print('ran')"}, NULL, 2, "", NULL, {"0.3s or 0.3ms"}},
    {"timeout_zero_is_none", {"--timeout", "0", "-c", "import time; time.sleep(0.2); print('ok')"}, NULL, 0, "ok\n"},
    {"timeout_junk",
     {"--timeout", "1e3s", "-c", "print('ran')"},
     NULL,
     2,
     "",
     NULL,
     {"wants a duration with its unit", "'1e3s'"}},
    {"timeout_negative", {"--timeout", "-1s", "-c", "print('ran')"}, NULL, 2, "", NULL, {"'-1s'"}},
    {"timeout_under_a_ms", {"--timeout", "0.4ms", "-c", "print('ran')"}, NULL, 2, "", NULL, {"'0.4ms'"}},
    {"max_memory_loop",
     {"--max-memory", "96M", "-c", "l = []\nwhile True: l.append(bytearray(1 << 20))"},
     NULL,
     125,
     "",
     NULL,
     {"memory limit", "MemoryError"}},
    {"max_memory_too_small", {"--max-memory", "4M", "-c", "pass"}, NULL, 3, "", NULL, {"memory limit"}},
    {"max_output",
     {"--max-output", "1K", "-c", "import sys\nwhile True: sys.stdout.write('y' * 100)"},
     NULL,
     126,
     NULL,
     NULL,
     {"more than 1024 bytes"},
     NULL,
     1024},
    {"fuel_exhausted", {"--fuel", "20000000", "-c", "while True: pass"}, NULL, 127, "", NULL, {"fuel"}},
    {"fuel_enough", {"--fuel", "100000000", "-c", "print(sum(range(1000)))"}, NULL, 0, "499500\n", NULL, {NULL}},
    {"repl_piped",
     {"repl"},
     "x = 20\nx + 22\ndef f():\n    return 5\n\nf() * 2\n'text'\n",
     0,
     "42\n10\n'text'\n",
     NULL,
     {NULL}},
    {"repl_error_goes_on", {"repl"}, "1/0\nprint('after')\n", 0, "after\n", NULL, {"ZeroDivisionError"}},
    {"output_10mb",
     PY("import sys\nfor i in range(10): sys.stdout.write('x' * (1 << 20))\nprint(end='', file=sys.stderr)"),
     NULL,
     0,
     NULL,
     NULL,
     {NULL},
     NULL,
     10u << 20},
    {"tmp_files",
     PY("import os\nos.makedirs('/tmp/a/b')\nopen('/tmp/a/b/f.txt', 'w').write('hello')\nos.rename('/tmp/a/b/f.txt', "
        "'/tmp/a/g.txt')\n"
        "print(sorted(os.listdir('/tmp/a')), open('/tmp/a/g.txt').read(), os.path.getsize('/tmp/a/g.txt'))\n"
        "os.remove('/tmp/a/g.txt'); os.rmdir('/tmp/a/b'); print(os.listdir('/tmp/a'))"),
     NULL,
     0,
     "['b', 'g.txt'] hello 5\n[]\n",
     NULL,
     {NULL}},
    {"data_dir",
     PY("import os; open('/data/x', 'wb').write(bytes(range(256))); print(sorted(os.listdir('/')), len(open('/data/x', "
        "'rb').read()))"),
     NULL,
     0,
     "['data', 'dev', 'tmp', 'usr'] 256\n",
     NULL,
     {NULL}},
    /* os.devnull: reads empty, takes writes, is a character device, holds nothing. */
    {"dev_null",
     PY("import os, stat\nwith open(os.devnull, 'w') as f: n = f.write('x' * 100000)\n"
        "print(n, repr(open('/dev/null').read()), stat.S_ISCHR(os.stat('/dev/null').st_mode), os.listdir('/dev'))\n"
        "try:\n    open('/dev/null/x')\nexcept OSError as e:\n    print(type(e).__name__)\n"
        "try:\n    os.remove('/dev/null')\nexcept OSError as e:\n    print(type(e).__name__)"),
     NULL,
     0,
     "100000 '' True ['null']\nNotADirectoryError\nOSError\n",
     NULL,
     {NULL}},
    {"stdlib_read_only",
     PY("open('/usr/local/lib/python3.13/os.pyc', 'w')"),
     NULL,
     1,
     "",
     NULL,
     {"OSError", "Read-only file system"}},
    {"env_flags",
     {"--env", "A=1", "--env", "B=two words", "-c", "import os; print(sorted(os.environ.items()))"},
     NULL,
     0,
     "[('A', '1'), ('B', 'two words')]\n",
     NULL,
     {NULL}},
    {"no_os_system",
     PY("import os; print(hasattr(os, 'system'), hasattr(os, 'fork'))"),
     NULL,
     0,
     "False False\n",
     NULL,
     {NULL}},
    {"no_subprocess", PY("import subprocess; subprocess.run(['ls', '/'])"), NULL, 1, "", NULL, {"Error"}},
    {"no_sockets", PY("import socket; socket.create_connection(('127.0.0.1', 80))"), NULL, 1, "", NULL, {"Error"}},
    /* The CLI's own interface. */
    {"version_flag", {"--version"}, NULL, 0, NULL, "eryx 0.1.0", {NULL}},
    {"help_flag", {"--help"}, NULL, 0, NULL, "usage: eryx", {NULL}},
    {"usage_error", {"--bogus"}, NULL, 2, "", NULL, {"unknown option --bogus", "--help"}},
    {"missing_value", {"-c"}, NULL, 2, "", NULL, {"-c needs a value"}},
    {"missing_file", {"run", "/nonexistent/script.py"}, NULL, 2, "", NULL, {"cannot read /nonexistent/script.py"}},
    {"mount_bad_spec", {"--mount", "nocolon", "-c", "pass"}, NULL, 2, "", NULL, {"HOST:GUEST"}},
    {"mount_missing_dir",
     {"--mount", "/nonexistent/dir:/mnt/x", "-c", "pass"},
     NULL,
     3,
     "",
     NULL,
     {"/nonexistent/dir"}},
    {"mount_over_stdlib", {"--mount", "/tmp:/usr/local/lib/python3.13", "-c", "pass"}, NULL, 2, "", NULL, {"stdlib"}},
    {"mount_quota",
     {"--mount", "/tmp:/mnt/t:rw,quota=1M,files=3", "-c", "import os; print(os.path.isdir('/mnt/t'))"},
     NULL,
     0,
     "True\n",
     NULL,
     {NULL}},
    {"mount_quota_read_only",
     {"--mount", "/tmp:/mnt/t:ro,quota=1M", "-c", "pass"},
     NULL,
     2,
     "",
     NULL,
     {"rw[,quota=SIZE]"}},
    {"mount_quota_bad", {"--mount", "/tmp:/mnt/t:rw,quota=lots", "-c", "pass"}, NULL, 2, "", NULL, {"rw[,quota=SIZE]"}},
    {"mount_option_unknown",
     {"--mount", "/tmp:/mnt/t:rw,size=1M", "-c", "pass"},
     NULL,
     2,
     "",
     NULL,
     {"rw[,quota=SIZE]"}},
    {"env_bad_spec", {"--env", "NOVALUE", "-c", "pass"}, NULL, 2, "", NULL, {"NAME=VALUE"}},
    {"cache_unusable_dir",
     {"--cache-dir", "/proc/eryx-no-such-dir", "-c", "print('still runs')"},
     NULL,
     0,
     "still runs\n",
     NULL,
     {"warning", "/proc/eryx-no-such-dir", "compiling in memory"}},
    {"cache_stats_empty",
     {"--cache-dir", "/tmp/eryx-e2e-empty-cache", "cache", "stats"},
     NULL,
     0,
     NULL,
     "entries:   0",
     {NULL}},
    {"cache_bad_command", {"cache", "frobnicate"}, NULL, 2, "", NULL, {"list, stats, verify, prune or clear"}},
    {"cache_prune_needs_bound", {"cache", "prune"}, NULL, 2, "", NULL, {"--max-size"}},
    {"cache_prune_bad_size", {"cache", "prune", "--max-size", "lots"}, NULL, 2, "", NULL, {"lots"}},
    {"missing_guest",
     {"--guest-dir", "/nonexistent/guest", "-c", "pass"},
     NULL,
     3,
     "",
     NULL,
     {"/nonexistent/guest", "build.sh"}},
    /* Pre-initialization: --import, --setup, build, --no-preinit; and --result. Few
    ** distinct import sets and setup files: each first compiles a snapshot (~4 s). */
    {"import_flag",
     {"--import", "json", "-c", "import sys; print('json' in sys.modules)"},
     NULL,
     0,
     "True\n",
     NULL,
     {NULL}},
    {"setup_flag",
     {"--setup", "@FILE", "-c", "print(v, f())"},
     NULL,
     0,
     "42 setup\n",
     NULL,
     {NULL},
     .file_data = "v = 42\ndef f():\n    return 'setup'\n"},
    {"import_bad",
     {"--import", "eryx_no_such_module", "-c", "print('ran')"},
     NULL,
     3,
     "",
     NULL,
     {"ModuleNotFoundError", "eryx_no_such_module", "--import"}},
    {"setup_bad",
     {"--setup", "@FILE", "-c", "print('ran')"},
     NULL,
     3,
     "",
     NULL,
     {"Traceback (most recent call last):", "line 2", "ValueError: bad setup"},
     .file_data = "x = 1\nraise ValueError('bad setup')\n"},
    {"setup_missing_file",
     {"--setup", "/nonexistent/setup.py", "-c", "pass"},
     NULL,
     2,
     "",
     NULL,
     {"cannot read /nonexistent/setup.py"}},
    {"build_cmd",
     {"build", "--import", "json"},
     NULL,
     0,
     "",
     NULL,
     {"snapshot ready (imports: json; setup: none) in "}},
    {"build_takes_no_code", {"build", "-c", "pass"}, NULL, 2, "", NULL, {"build runs no code"}},
    /* Stdlib imports go through _eryx_support's index (no stat per import), and
    ** answer only where the path finder would find the same file. */
    {"stdlib_finder",
     {"run", "@FILE"},
     NULL,
     0,
     "ok\n",
     NULL,
     {NULL},
     .file_data = "import importlib, importlib.util, os, sys\n"
                  "from _eryx_support import StdlibFinder, StdlibLoader\n"
                  "kinds = [type(f).__name__ if not isinstance(f, type) else f.__name__ for f in sys.meta_path]\n"
                  "assert kinds.index('StdlibFinder') == kinds.index('PathFinder') - 1, kinds\n"
                  "import email.mime.text, json\n"
                  "assert isinstance(email.mime.text.__loader__, StdlibLoader), email.mime.text.__loader__\n"
                  "assert email.mime.__path__ == [sys.path[0] + '/email/mime'] and "
                  "email.mime.text.__file__.endswith('/email/mime/text.pyc')\n"
                  "assert importlib.util.find_spec('colorsys').origin == sys.path[0] + '/colorsys.pyc'\n"
                  "assert importlib.reload(json) is json and json.dumps([1]) == '[1]'\n"
                  "for name in ('eryx_no_such_module', 'email.no_such_module', 'json.no_such.module'):\n"
                  "    try:\n"
                  "        importlib.import_module(name)\n"
                  "        raise AssertionError(name)\n"
                  "    except ModuleNotFoundError:\n"
                  "        pass\n"
                  "os.makedirs('/tmp/p/email2', exist_ok=True)\n"
                  "for path, text in (('/tmp/p/colorsys.py', 'MINE = 1'), ('/tmp/p/mymod.py', 'X = 2'),\n"
                  "                   ('/tmp/p/email2/__init__.py', ''), ('/tmp/p/extra.py', 'E = 3')):\n"
                  "    with open(path, 'w') as f:\n"
                  "        f.write(text)\n"
                  "sys.path.append('/tmp/p')  # after the stdlib, as packages are: shadows nothing\n"
                  "import mymod, colorsys, email2\n"
                  "assert mymod.X == 2 and not hasattr(colorsys, 'MINE')\n"
                  "sys.path.insert(0, '/tmp/p')  # before the stdlib: the user's module wins\n"
                  "del sys.modules['colorsys']\n"
                  "import colorsys\n"
                  "assert colorsys.MINE == 1, colorsys\n"
                  "sys.path.remove('/tmp/p')\n"
                  "email.__path__.insert(0, '/tmp/p')  # a package's path changed: the path finder decides\n"
                  "import email.extra\n"
                  "assert email.extra.E == 3\n"
                  "print('ok')\n"},
    /* _eryx_stdlib_code in the import list: later stdlib imports run code
    ** unmarshalled in the start state. */
    {"stdlib_code_cache",
     {"--import", "_eryx_stdlib_code", "run", "@FILE"},
     NULL,
     0,
     "ok\n",
     NULL,
     {NULL},
     .file_data = "import importlib, sys\n"
                  "import _eryx_support as s\n"
                  "assert len(s._CODE) > 300, len(s._CODE)\n"
                  "assert not any('_pydecimal' in p or '/multiprocessing/' in p for p in s._CODE)\n"
                  "assert not any(m.__spec__ and getattr(m.__spec__, 'origin', None) in s._CODE for m in "
                  "list(sys.modules.values()) if m.__name__ != '__main__')\n"
                  "import email.parser\n"
                  "assert email.parser.__spec__.loader.get_code('email.parser') is s._CODE[email.parser.__file__]\n"
                  "assert importlib.reload(email.parser).Parser().parsestr('A: b\\n\\nbody')['A'] == 'b'\n"
                  "print('ok')\n"},
    {"no_preinit", {"--no-preinit", "-c", "print(1)"}, NULL, 0, "1\n", NULL, {NULL}},
    /* Without a snapshot the CLI runs the imports and the setup code itself. */
    {"no_preinit_setup",
     {"--no-preinit", "--import", "json", "--setup", "@FILE", "-c", "import sys; print(v, 'json' in sys.modules)"},
     NULL,
     0,
     "42 True\n",
     NULL,
     {NULL},
     .file_data = "v = 42\n"},
    {"result_flag", {"--result", "-c", "result = {'a': 1}"}, NULL, 0, "{\"a\": 1}\n", NULL, {NULL}},
    {"result_unencodable",
     {"--result", "-c", "result = float('nan')"},
     NULL,
     1,
     "",
     NULL,
     {"eryx: result: ", "ValueError"}},
    {"net_off_by_default", PY(NET_TRY("127.0.0.1")), NULL, 0, "PermissionError\n", NULL, {NULL}},
    {"net_default_blocks_loopback", {"--net", "-c", NET_TRY("127.0.0.1")}, NULL, 0, "PermissionError\n", NULL, {NULL}},
    {"net_allow_localhost",
     {"--allow-localhost", "-c", NET_TRY("127.0.0.1")},
     NULL,
     0,
     "ConnectionRefusedError\n",
     NULL,
     {NULL}},
    {"net_allow_network",
     {"--allow-network", "127.0.0.0/8", "-c", NET_TRY("127.0.0.1")},
     NULL,
     0,
     "ConnectionRefusedError\n",
     NULL,
     {NULL}},
    {"net_allow_host_restricts",
     {"--allow-network", "127.0.0.0/8", "--allow-host", "eryx.invalid", "-c", NET_TRY("127.0.0.1")},
     NULL,
     0,
     "PermissionError\n",
     NULL,
     {NULL}},
    {"net_block_host",
     {"--allow-localhost", "--block-host", "127.0.0.*", "-c", NET_TRY("127.0.0.1")},
     NULL,
     0,
     "PermissionError\n",
     NULL,
     {NULL}},
    {"net_bad_cidr", {"--allow-network", "10.0.0.0/33", "-c", "pass"}, NULL, 2, "", NULL, {"10.0.0.0/33"}},
    {"net_bad_block_cidr", {"--block-network", "bogus", "-c", "pass"}, NULL, 2, "", NULL, {"bogus"}},
    {"net_secret_placeholder",
     {"--secret", "TOKEN=PATH", "-c", "import os; print(os.environ['TOKEN'])"},
     NULL,
     0,
     "[REDACTED]\n",
     NULL,
     {NULL}},
    {"net_secret_scrub_none",
     {"--secret", "TOKEN=PATH", "--scrub", "none", "-c", "import os; t = os.environ['TOKEN']; print(len(t) >= 16, t)"},
     NULL,
     0,
     NULL,
     "True ",
     {NULL},
     "[REDACTED]"},
    {"net_secret_unset",
     {"--secret", "TOKEN=ERYX_E2E_SURELY_UNSET", "-c", "pass"},
     NULL,
     2,
     "",
     NULL,
     {"ERYX_E2E_SURELY_UNSET", "not set"}},
    {"net_secret_bad_spec", {"--secret", "TOKEN", "-c", "pass"}, NULL, 2, "", NULL, {"NAME=ENVVAR"}},
    {"net_scrub_bad", {"--scrub", "everything", "-c", "pass"}, NULL, 2, "", NULL, {"stdout, stderr, files"}},
    {"net_timeout_bad", {"--net-io-timeout", "soon", "-c", "pass"}, NULL, 2, "", NULL, {"soon"}},
    {"net_max_connections_bad", {"--net-max-connections", "0", "-c", "pass"}, NULL, 2, "", NULL, {">= 1"}},
    {"net_root_cert_missing",
     {"--root-cert", "/nonexistent/ca.pem", "-c", "pass"},
     NULL,
     2,
     "",
     NULL,
     {"cannot read /nonexistent/ca.pem"}},
    {"net_root_cert_garbage",
     {"--root-cert", "@FILE", "-c", "pass"},
     NULL,
     2,
     "",
     NULL,
     {"--root-cert"},
     .file_data = "not a certificate\n"},
    {"net_help", {"--help"}, NULL, 0, NULL, "--secret NAME=ENVVAR[@HOST,...]", {NULL}},
};

static char *read_fd_all(int fd) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = pread(fd, buf + n, cap - n - 1, (off_t)n)) > 0) {
        n += (size_t)r;
        if (cap - n < 2) buf = realloc(buf, cap *= 2);
    }
    if (buf) buf[n] = '\0';
    return buf;
}

static int tmpfile_fd(void) {
    char path[] = "/tmp/eryx-e2e-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    return fd;
}

static int run_case(const char *eryx, const cli_case *c) {
    int in = tmpfile_fd(), out = tmpfile_fd(), err = tmpfile_fd(), pipe_w = -1;
    if (c->stdin_data && !strcmp(c->stdin_data, "@PIPE")) {
        /* A stdin that never ends: a pipe whose write end stays open meanwhile. */
        int p[2];
        if (pipe(p) != 0) return 1;
        close(in);
        in = p[0];
        pipe_w = p[1];
    } else if (c->stdin_data && write(in, c->stdin_data, strlen(c->stdin_data)) < 0) {
        return 1;
    }
    if (pipe_w < 0) lseek(in, 0, SEEK_SET);
    char file_path[] = "/tmp/eryx-e2e-file-XXXXXX";
    if (c->file_data) {
        int fd = mkstemp(file_path);
        size_t n = strlen(c->file_data);
        if (fd < 0 || write(fd, c->file_data, n) != (ssize_t)n) return 1;
        close(fd);
    }
    const char *argv[10] = {eryx};
    for (int i = 0; i < 8 && c->args[i]; i++) argv[i + 1] = strcmp(c->args[i], "@FILE") ? c->args[i] : file_path;
    pid_t pid = fork();
    if (pid == 0) {
        if (pipe_w >= 0) close(pipe_w);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(eryx, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (pipe_w >= 0) close(pipe_w);
    if (c->file_data) unlink(file_path);
    char *sout = read_fd_all(out), *serr = read_fd_all(err);
    int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    CHECK(code == c->want_exit);
    if (c->want_stdout) CHECK_STR_EQ(sout, c->want_stdout);
    if (c->want_stdout_has) CHECK(strstr(sout, c->want_stdout_has) != NULL);
    if (c->want_stdout_lacks) CHECK(strstr(sout, c->want_stdout_lacks) == NULL);
    if (c->want_stdout_len) CHECK(strlen(sout) == c->want_stdout_len);
    for (int i = 0; i < 3 && c->want_stderr_has[i]; i++) {
        int found = serr && strstr(serr, c->want_stderr_has[i]) != NULL;
        CHECK(found);
        if (!found) fprintf(stderr, "  stderr lacks \"%s\"\n", c->want_stderr_has[i]);
    }
    if (check_failures)
        fprintf(stderr, "  exit %d (want %d)\n  stdout: %.2000s\n  stderr: %.2000s\n", code, c->want_exit, sout, serr);
    free(sout);
    free(serr);
    close(in);
    close(out);
    close(err);
    return check_report(c->name);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: e2e_cli ERYX_BINARY CASE|--list\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!strcmp(argv[2], "--list")) printf("%s\n", cases[i].name);
        else if (!strcmp(argv[2], cases[i].name)) return run_case(argv[1], &cases[i]);
    }
    if (!strcmp(argv[2], "--list")) return 0;
    fprintf(stderr, "e2e_cli: no case named %s\n", argv[2]);
    return 2;
}
