"""bench/cpu/worker.py: runs benchmark programs in a sandbox, under the Python that has
the sandbox's `eryx` module (this tree's build/venv, or the pyeryx 0.11 venv): both
modules are named `eryx`, so each lives in a worker process of its own. Stdlib only.

Protocol: one JSON object a line on stdin, {"program": SOURCE, "timeout_ms": N,
"max_memory": BYTES,
"volumes": [[HOST, GUEST, READ_ONLY], ...]}; one JSON line back per request, {"ok": bool, "stdout": str,
"error": str, "host_seconds": float} (host_seconds: the whole execute call, sandbox
start included, for reference only; the benchmark's own loop time is in stdout).
Each program runs in a fresh Sandbox. The first line written is {"ready": true,
"version": ...} after one untimed sandbox (engine and module load).
"""
import json
import sys
import time
import traceback

import eryx


def _text(x):
    if isinstance(x, (bytes, bytearray)):
        return bytes(x).decode("utf-8", "replace")
    return "" if x is None else str(x)


def _limits(timeout_ms, max_memory):
    return eryx.ResourceLimits(execution_timeout_ms=timeout_ms, max_memory_bytes=max_memory)


def main():
    out = sys.stdout
    r = eryx.Sandbox(resource_limits=_limits(60000, 512 << 20)).execute("import sys; print(sys.version.split()[0])")
    out.write(json.dumps({"ready": True, "version": getattr(eryx, "__version__", "?"),
                          "guest_python": _text(r.stdout).strip()}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        t0 = time.perf_counter()
        try:
            sb = eryx.Sandbox(resource_limits=_limits(req["timeout_ms"], req["max_memory"]),
                              volumes=[tuple(v) for v in req.get("volumes") or []] or None)
            res = sb.execute(req["program"])
            rep = {"ok": True, "stdout": _text(res.stdout), "error": ""}
        except Exception as e:  # the guest's exception, a timeout, a limit: reported, not fatal
            msg = f"{type(e).__name__}: {e}"
            tb = getattr(e, "traceback", None)
            if tb:
                msg += "\n" + _text(tb)
            rep = {"ok": False, "stdout": _text(getattr(e, "stdout", b"")), "error": msg[-4000:]}
        except BaseException:
            rep = {"ok": False, "stdout": "", "error": traceback.format_exc()[-4000:]}
        rep["host_seconds"] = time.perf_counter() - t0
        out.write(json.dumps(rep) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
