"""Guest-side support for eryx: how the host's code is run inside the sandbox.

Shipped in the stdlib image, so it can change without rebuilding the interpreter.
The C shim (guest/shim/eryx_shim.c) calls execute() for each piece of code.
"""
import sys

import _eryx

FILENAME = "<string>"

# What _eryx.report's kinds mean (the host side is src/sandbox/sandbox.c).
REPORT_EXC_TYPE = 1
REPORT_EXC_MESSAGE = 2
REPORT_TRACEBACK = 3


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _exit_status(code):
    # The same mapping CPython applies to SystemExit at the top level.
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _encode(text):
    return text.encode("utf-8", "backslashreplace")


def _report(exc, source):
    """Prints the traceback on stderr, as python -c would, and hands the host the
    exception's type, message and traceback."""
    import linecache
    import traceback
    # Show the user's frames only (not this module's), with source lines.
    lines = source.decode("utf-8", "replace").splitlines(True)
    linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # a broken __str__ must not hide the error
        text = f"{type(exc).__name__}: <exception str() failed>\n"
    try:
        sys.stderr.write(text)
    except BaseException:
        pass
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"
    try:
        message = str(exc)
    except BaseException:
        message = "<exception str() failed>"
    _eryx.report(REPORT_EXC_TYPE, _encode(name))
    _eryx.report(REPORT_EXC_MESSAGE, _encode(message))
    _eryx.report(REPORT_TRACEBACK, _encode(text))


def execute(source):
    """Runs source (bytes) in __main__; returns a process-style exit status."""
    main = sys.modules["__main__"].__dict__
    try:
        code = compile(source, FILENAME, "exec")
        exec(code, main)
        status = 0
    except SystemExit as e:
        status = _exit_status(e.code)
    except BaseException as e:
        _report(e, source)
        status = 1
    _flush()
    return status
