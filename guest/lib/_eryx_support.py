"""Guest-side support for eryx: how the host's code is run inside the sandbox.

Shipped in the stdlib image, so it can change without rebuilding the interpreter.
The C shim (guest/shim/eryx_shim.c) calls execute() for each piece of code.
"""
import sys

FILENAME = "<string>"


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


def _report(exc, source):
    # Show the user's frames only (not this module's), with source lines.
    import linecache
    lines = source.decode("utf-8", "replace").splitlines(True)
    linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    sys.excepthook(type(exc), exc, tb)


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
