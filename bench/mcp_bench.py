"""MCP server benchmarks (issue 19; bench/mcp.sh; docs/BENCHMARKS.md, "MCP server"):
`python -m eryx serve` (this tree, over stdio and streamable HTTP) against the
reference, pyeryx 0.11's `eryx serve` (stdio only), and a floor (the same SDK stack
running the code natively, bench/mcp_floor_server.py), all driven by the official
MCP SDK's client (`mcp.Client`: stdio_client / streamable_http_client) in one run.

Latency cases (round trip of one `run_python` tool call): `print(1)`, a realistic
call (json + a computation), and a stateful sequence (5 calls in one session, each
depending on the last). The implementations (IMPLS) are interleaved call by call,
warm-up calls excluded; every call's output is checked. Throughput: calls per second
for a fixed window, the configurations alternated round by round: 1 caller and C
(default 8) callers: over HTTP C clients (each its own MCP session or session_id),
over stdio C calls in flight on one connection, and the reference as C processes
with one stdio client each (the only way it gives C callers their own state; C calls
in flight on its one connection mix outputs and can deadlock: --ref-inflight); then
a computing call the same way (compute: ...). Errors (isError, wrong output, a call
past --call-timeout) are counted, never timed. The CPU time per call of the client
(this process) and of the servers (/proc) says where the time goes.

    build/venv/bin/python bench/mcp_bench.py --ref-python REF_VENV/bin/python [--n 200]
        [--warmup 20] [--clients 8] [--seconds 3] [--rounds 5] [--impl ...] [--json FILE]
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import anyio
from mcp import Client, StdioServerParameters, stdio_client

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PRINT1 = ("print(1)", "1\n")
# A call that computes for a while (~20-40 ms in a sandbox): shows whether C callers'
# executions run in parallel (the machine has 2 cores).
COMPUTE = ("print(sum(i * i for i in range(100000)))", "333328333350000\n")
REALISTIC = ('import json\n'
             'rows = [{"id": i, "name": f"item{i}", "score": (i * 37) % 101} for i in range(200)]\n'
             'back = json.loads(json.dumps(rows))\n'
             'top = sorted(back, key=lambda r: (-r["score"], r["id"]))[:3]\n'
             'print(sum(r["score"] for r in back), [r["id"] for r in top])\n')
REALISTIC_OUT = "10009 [30, 131, 60]\n"
# Each step reads what the step before left in the session.
STATEFUL = [
    ("acc = []\ndef push(x):\n    acc.append(x * x)\n    return len(acc)\nprint('ok')", "ok\n"),
    ("print(push(3))", "1\n"),
    ("print(push(4))", "2\n"),
    ("import math\nprint(math.isqrt(sum(acc)))", "5\n"),
    ("print(acc)", "[9, 16]\n"),
]


def output_of(res: Any) -> str:
    """stdout of a run_python result: ours has structured content, the reference only text."""
    sc = res.structured_content
    if isinstance(sc, dict) and isinstance(sc.get("stdout"), str):
        return sc["stdout"]
    return "".join(getattr(b, "text", "") for b in res.content)


CALL_TIMEOUT = 60.0  # seconds; a call past it is an error (the reference can hang: see --ref-inflight)


@dataclasses.dataclass(frozen=True)
class Caller:
    """A connected client, and the session_id its calls carry (the state handle of a
    2026-07-28 client over HTTP, which has no MCP session), if any."""
    client: Client
    sid: str | None = None


async def call(c: Caller, code: str, expect: str) -> None:
    args = {"code": code} if c.sid is None else {"code": code, "session_id": c.sid}
    with anyio.fail_after(CALL_TIMEOUT):
        res = await c.client.call_tool("run_python", args)
    out = output_of(res)
    if res.is_error or out.strip() != expect.strip():
        raise RuntimeError(f"run_python({code[:40]!r}): is_error={res.is_error}, output {out[:200]!r}, "
                           f"expected {expect!r}")


def pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile of the sorted list xs."""
    return xs[max(0, min(len(xs) - 1, math.ceil(q * len(xs)) - 1))]


def summary(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"n": len(s), "p50_ms": pct(s, 0.50) * 1e3, "p99_ms": pct(s, 0.99) * 1e3,
            "mean_ms": statistics.fmean(s) * 1e3, "min_ms": s[0] * 1e3, "max_ms": s[-1] * 1e3}


class HttpServer:
    """Our server with --http on a loopback port the OS picks (127.0.0.1:0), in its own
    process; its "listening on URL" line on stderr says which."""

    def __init__(self, argv: list[str], path: str, log):
        self.argv, self.path, self.log = argv, path, log
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> None:
        start = self.log.tell()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log.name) as f:
                f.seek(start)
                m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", f.read())
            if m:
                self.url = m.group(1) + self.path
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the HTTP server {self.argv} did not start (see {self.log.name})")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def stdio_transport(python: str, args: list[str], log):
    params = StdioServerParameters(command=python, args=args, cwd=str(ROOT))
    return stdio_client(params, errlog=log)


# Our server over HTTP three ways: the initialize handshake (mode="legacy": an MCP
# session per client, the transport's mcp-session-id), and the SDK client's default
# (mode="auto", protocol 2026-07-28, which has no MCP session) either with a
# session_id per client (its state handle) or without one (a one-shot sandbox per
# call, docs/MCP.md "Sessions").
IMPLS = {  # name: (server kind, mcp.Client mode, a session_id per caller)
    "ours-stdio": ("ours-stdio", "auto", False),
    "ours-http": ("ours-http", "legacy", False),
    "ours-http-2026": ("ours-http", "auto", True),
    "ours-http-2026-oneshot": ("ours-http", "auto", False),
    "ref-stdio": ("ref-stdio", "auto", False),
    # the floor: the same SDK stack, the code exec()'d natively (bench/mcp_floor_server.py)
    "floor-stdio": ("floor-stdio", "auto", False),
    "floor-http": ("floor-http", "legacy", False),
    "floor-http-2026": ("floor-http", "auto", False),
}
DEFAULT_IMPLS = ",".join(IMPLS)


async def open_client(stack: contextlib.AsyncExitStack, server: Any, impl: str) -> Caller:
    _, mode, sid = IMPLS[impl]
    client = await stack.enter_async_context(Client(server, mode=mode))
    await client.list_tools()  # as a host does; a 2026-era connection wants the tool listed before a call
    if not sid:
        return Caller(client, None)
    # Without an MCP session the server issues session ids (docs/MCP.md "Sessions"): ask for one.
    res = await client.call_tool("run_python", {"code": "pass", "session_id": "new"})
    if res.is_error:
        raise RuntimeError(f"{impl}: could not start a session: {output_of(res)}")
    return Caller(client, res.structured_content["session_id"])


async def latency(clients: dict[str, Caller], n: int, warmup: int, run_one: Callable) -> dict[str, list[float]]:
    """n timed rounds after warmup, the implementations interleaved (order rotated per round)."""
    names = list(clients)
    samples: dict[str, list[float]] = {k: [] for k in names}
    for i in range(warmup + n):
        rot = names[i % len(names):] + names[:i % len(names)]
        for name in rot:
            t0 = time.perf_counter()
            await run_one(clients[name])
            dt = time.perf_counter() - t0
            if i >= warmup:
                samples[name].append(dt)
    return samples


async def run_print1(c: Caller) -> None:
    await call(c, *PRINT1)


async def warm3(c: Caller, errors: list[str]) -> None:
    for _ in range(3):
        try:
            await call(c, *PRINT1)
        except Exception as e:  # noqa: BLE001 - reported, and the rounds count theirs
            errors.append(f"{type(e).__name__}: {e}")


async def run_realistic(c: Caller) -> None:
    await call(c, REALISTIC, REALISTIC_OUT)


async def run_stateful(c: Caller) -> None:
    for code, expect in STATEFUL:
        await call(c, code, expect)


CLK = os.sysconf("SC_CLK_TCK")


def server_cpu(kind: str, ref_python: str) -> float:
    """CPU seconds so far of this process's child servers of one kind (ours-stdio,
    ours-http, ref-stdio), from /proc: where a throughput round's time goes."""
    total = 0.0
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) != me:
                continue
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        k = ("ref" if cmd[0].decode() == ref_python else "floor" if any(c.endswith(b"mcp_floor_server.py") for c in cmd)
             else "ours") + ("-http" if b"--http" in cmd else "-stdio")
        if k == kind:
            total += (int(fields[11]) + int(fields[12])) / CLK
    return total


async def throughput(callers: list[Caller], seconds: float, kind: str, ref_python: str,
                     work: tuple[str, str] = PRINT1) -> dict:
    """Everyone calls print(1) back to back for `seconds`: completed calls per second,
    and the CPU time the client (this process) and the servers spent per call."""
    ok = errors = 0
    first_error = ""
    deadline = time.perf_counter() + seconds

    async def worker(c: Caller) -> None:
        nonlocal ok, errors, first_error
        while time.perf_counter() < deadline:
            try:
                await call(c, *work)
                ok += 1
            except Exception as e:  # counted, and the first one kept for the report
                errors += 1
                first_error = first_error or f"{type(e).__name__}: {e}"
                await anyio.sleep(0.01)

    s0, c0, t0 = server_cpu(kind, ref_python), time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for c in callers:
            tg.start_soon(worker, c)
    dt = time.perf_counter() - t0
    cpu_c, cpu_s = time.process_time() - c0, server_cpu(kind, ref_python) - s0
    n = max(ok + errors, 1)
    return {"calls": ok, "errors": errors, "seconds": dt, "calls_per_s": ok / dt, "first_error": first_error,
            "client_cpu_ms_per_call": cpu_c / n * 1e3, "server_cpu_ms_per_call": cpu_s / n * 1e3}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def fmt(x: float | None, nd: int = 2) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


async def amain(a: argparse.Namespace) -> dict:
    ours_py = str(Path(a.build) / "venv" / "bin" / "python")
    extra = a.serve_args.split() if a.serve_args else []
    impls = a.impl.split(",")
    logdir = Path(a.log_dir or tempfile.mkdtemp(prefix="mcp-bench-"))
    logdir.mkdir(parents=True, exist_ok=True)
    logs = {k: open(logdir / f"{k}.log", "w") for k in ("ours-stdio", "ours-http", "ref-stdio", "floor-stdio",
                                                          "floor-http")}
    out: dict[str, Any] = {"config": {k: v for k, v in vars(a).items()}, "latency": {}, "throughput": {},
                           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                       "loadavg_start": os.getloadavg()}, "log_dir": str(logdir)}
    bad = [i for i in impls if i not in IMPLS]
    if bad:
        sys.exit(f"mcp_bench: unknown --impl {bad}; known: {', '.join(IMPLS)}")
    kinds = {IMPLS[i][0] for i in impls}
    floor = [str(HERE / "mcp_floor_server.py")]
    ours = ["-m", "eryx", "serve", *extra]
    https = {}
    if "ours-http" in kinds:
        https["ours-http"] = HttpServer([ours_py, *ours, "--http", "127.0.0.1:0"], a.http_path, logs["ours-http"])
    if "floor-http" in kinds:
        https["floor-http"] = HttpServer([ours_py, *floor, "--http"], "/mcp", logs["floor-http"])
    try:
        for h in https.values():
            h.start()
        async with contextlib.AsyncExitStack() as stack:
            ref = ["-m", "eryx", "serve", *a.ref_args.split()]
            servers = {"ours-stdio": lambda: stdio_transport(ours_py, ours, logs["ours-stdio"]),
                       "ours-http": lambda: https["ours-http"].url,
                       "ref-stdio": lambda: stdio_transport(a.ref_python, ref, logs["ref-stdio"]),
                       "floor-stdio": lambda: stdio_transport(ours_py, floor, logs["floor-stdio"]),
                       "floor-http": lambda: https["floor-http"].url}
            clients: dict[str, Caller] = {}
            for name in impls:
                clients[name] = await open_client(stack, servers[IMPLS[name][0]](), name)
                out.setdefault("protocol", {})[name] = clients[name].client.protocol_version
            cases = [("print(1)", run_print1, a.n), ("realistic (json + compute)", run_realistic, a.n),
                     ("stateful sequence (5 calls, one session)", run_stateful, max(1, a.n // 5))]
            for case, fn, n in cases:
                print(f"[mcp-bench] latency: {case}, n={n} (+{a.warmup} warm-up)", file=sys.stderr)
                # a one-shot caller keeps no state between calls
                these = {k: v for k, v in clients.items() if fn is not run_stateful or not k.endswith("oneshot")}
                s = await latency(these, n, a.warmup if n == a.n else max(2, a.warmup // 5), fn)
                out["latency"][case] = {k: {**summary(v), "samples_ms": [x * 1e3 for x in v]} for k, v in s.items()}

            # Throughput: every configuration's callers opened (and warmed) up front. The
            # reference shares one session between callers and has no HTTP: its C callers
            # with state of their own are C processes.
            C = a.clients
            tput_cfgs: dict[str, list[Caller]] = {}
            desc = {"ours-http": "own MCP sessions", "ours-http-2026": "own session_id",
                    "ours-http-2026-oneshot": "one-shot sandboxes", "floor-http": "own MCP sessions",
                    "floor-http-2026": "no session"}
            for name in ("ours-http", "ours-http-2026", "ours-http-2026-oneshot", "ours-stdio",
                         "floor-http", "floor-http-2026", "floor-stdio"):
                if name not in impls:
                    continue
                tput_cfgs[f"{name}, 1 client"] = [clients[name]]
                if name.endswith("-stdio"):
                    tput_cfgs[f"{name}, {C} calls in flight on 1 connection"] = [clients[name]] * C
                else:
                    tput_cfgs[f"{name}, {C} clients ({desc[name]})"] = [
                        await open_client(stack, https[IMPLS[name][0]].url, name) for _ in range(C)]
            if "ref-stdio" in impls:
                tput_cfgs["ref-stdio, 1 client"] = [clients["ref-stdio"]]
                if a.ref_procs:
                    tput_cfgs[f"ref-stdio, {C} processes, 1 client each"] = [
                        await open_client(stack, stdio_transport(a.ref_python, ref, logs["ref-stdio"]), "ref-stdio")
                        for _ in range(C)]
                if a.ref_inflight:  # last: it can wedge the reference's server for good
                    tput_cfgs[f"ref-stdio, {C} calls in flight on 1 connection"] = [clients["ref-stdio"]] * C
            for name, callers in tput_cfgs.items():
                werr: list[str] = []
                async with anyio.create_task_group() as tg:  # warm-up: 3 calls per caller
                    for c in callers:
                        tg.start_soon(warm3, c, werr)
                if werr:
                    print(f"[mcp-bench] {name}: {len(werr)} warm-up errors, first: {werr[0][:200]}", file=sys.stderr)
            runs = [(name, callers, PRINT1) for name, callers in tput_cfgs.items()]
            if a.compute:  # the same callers, a computing call: only where callers have their own session
                runs += [(f"compute: {name}", callers, COMPUTE) for name, callers in tput_cfgs.items()
                         if name.startswith(("ours-http,", "ref-stdio,")) and "in flight" not in name]
            res: dict[str, list[dict]] = {k[0]: [] for k in runs}
            for r in range(a.rounds):
                for name, callers, work in runs:
                    print(f"[mcp-bench] throughput round {r + 1}/{a.rounds}: {name}", file=sys.stderr)
                    impl = name.removeprefix("compute: ").split(",")[0]
                    res[name].append(await throughput(callers, a.seconds, IMPLS[impl][0], a.ref_python, work))
            for name, rounds in res.items():
                out["throughput"][name] = {"rounds": rounds,
                                           "median_calls_per_s": statistics.median(x["calls_per_s"] for x in rounds),
                                           "errors": sum(x["errors"] for x in rounds),
                                           "first_error": next((x["first_error"] for x in rounds
                                                                if x["first_error"]), "")}
    finally:
        for h in https.values():
            h.stop()
        for f in logs.values():
            f.close()
    out["machine"]["loadavg_end"] = os.getloadavg()
    return out


def report(out: dict) -> str:
    lines = [f"MCP server benchmark: {out['machine']['cpus']} CPUs, load average at start "
             f"{out['machine']['loadavg_start'][0]:.2f}, at end {out['machine']['loadavg_end'][0]:.2f}; "
             f"protocol versions {out.get('protocol', {})}", "",
             "| case | server | n | p50 ms | p99 ms | mean ms | p50 / ref | p99 / ref | mean / ref |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case, per in out["latency"].items():
        ref = per.get("ref-stdio")
        for name, s in per.items():
            r = [ratio(s[k], ref[k]) if ref and name != "ref-stdio" else None for k in ("p50_ms", "p99_ms", "mean_ms")]
            lines.append(f"| {case} | {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                         f"{s['mean_ms']:.2f} | {fmt(r[0])} | {fmt(r[1])} | {fmt(r[2])} |")
    lines += ["", "| throughput (print(1), or compute: ...) | calls/s (median of rounds) | rounds | errors | ours/ref "
              "| CPU ms/call: client, server |", "|---|---:|---|---:|---:|---|"]
    tp = out["throughput"]
    # One caller against the reference's one client; many against its processes (the
    # reference's only many-callers setup where each caller keeps its own state).
    for name, v in tp.items():
        pre = "compute: " if name.startswith("compute: ") else ""
        ref1 = tp.get(f"{pre}ref-stdio, 1 client", {}).get("median_calls_per_s")
        refn = next((w["median_calls_per_s"] for k, w in tp.items()
                     if k.startswith(f"{pre}ref-stdio") and "processes" in k), None)
        rr = (ratio(v["median_calls_per_s"], ref1 if "1 client" in name else refn)
              if name.removeprefix(pre).startswith("ours") else None)
        rounds = ", ".join(f"{x['calls_per_s']:.0f}" for x in v["rounds"])
        err = f"{v['errors']} ({v['first_error'][:80]})" if v["errors"] else "0"
        cc = statistics.median(x["client_cpu_ms_per_call"] for x in v["rounds"])
        sc = statistics.median(x["server_cpu_ms_per_call"] for x in v["rounds"])
        lines.append(f"| {name} | {v['median_calls_per_s']:.1f} | {rounds} | {err} | {fmt(rr)} | {cc:.2f}, {sc:.2f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="eryx's build dir, with venv/ (build)")
    ap.add_argument("--ref-python", required=True, help="python of a venv with pyeryx[serve] 0.11.0 (bench/mcp.sh makes it)")
    ap.add_argument("--impl", default=DEFAULT_IMPLS, help=f"comma list of {', '.join(IMPLS)} (all)")
    ap.add_argument("--n", type=int, default=200, help="timed calls per latency case (the stateful case: n/5 sequences)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed calls first (default 20)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent callers for throughput (8)")
    ap.add_argument("--seconds", type=float, default=3.0, help="throughput window per round (3)")
    ap.add_argument("--rounds", type=int, default=5, help="throughput rounds, configurations alternated (5)")
    ap.add_argument("--no-ref-procs", dest="ref_procs", action="store_false",
                    help="skip the reference as CLIENTS processes")
    ap.add_argument("--ref-inflight", action="store_true",
                    help="also CLIENTS calls in flight on the reference's one connection (pyeryx 0.11 mixes their "
                         "outputs and can deadlock: calls then fail by --call-timeout)")
    ap.add_argument("--no-compute", dest="compute", action="store_false",
                    help="skip the throughput of a computing call")
    ap.add_argument("--call-timeout", type=float, default=60.0, help="seconds before a call counts as failed (60)")
    ap.add_argument("--serve-args", default="", help="extra flags for our server")
    ap.add_argument("--ref-args", default="", help="extra flags for the reference's eryx serve")
    ap.add_argument("--http-path", default="/mcp", help="our HTTP endpoint's path (/mcp)")
    ap.add_argument("--log-dir", help="servers' stderr go here (default: a new temp dir)")
    ap.add_argument("--json", help="write every sample and summary as JSON here")
    a = ap.parse_args()
    global CALL_TIMEOUT
    CALL_TIMEOUT = a.call_timeout
    out = anyio.run(amain, a)
    text = report(out)
    print(text)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
