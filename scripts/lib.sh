# Shared helpers for eryx's build scripts (sourced, not run).
# Progress lines name the stage, the elapsed time and the log; a failure prints the
# log's last lines and its path, then exits non-zero.

ERYX_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/eryx"

eryx_now() { date +%s; }

# eryx_step NAME LOG CMD...: run CMD with its output in LOG, printing a heartbeat
# every 30 s so long steps show they are alive.
eryx_step() {
    local name="$1" log="$2"; shift 2
    local t0; t0=$(eryx_now)
    mkdir -p "$(dirname "$log")"
    printf '[eryx] %-28s started (log: %s)\n' "$name" "$log"
    ( "$@" ) >"$log" 2>&1 &
    local pid=$! rc next=30
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        local el=$(( $(eryx_now) - t0 ))
        if [ "$el" -ge "$next" ]; then
            printf '[eryx] %-28s running, %ds elapsed (log: %s)\n' "$name" "$el" "$log"
            next=$(( next + 30 ))
        fi
    done
    rc=0; wait "$pid" || rc=$?
    local el=$(( $(eryx_now) - t0 ))
    if [ "$rc" -ne 0 ]; then
        printf '[eryx] %-28s FAILED after %ds (exit %d). Last lines of %s:\n' "$name" "$el" "$rc" "$log" >&2
        tail -n 30 "$log" | sed 's/^/    /' >&2
        printf '[eryx] fix the cause above, then run the same command again; full log: %s\n' "$log" >&2
        exit "$rc"
    fi
    printf '[eryx] %-28s done in %ds\n' "$name" "$el"
}

eryx_sha256_files() { cat "$@" | sha256sum | cut -c1-64; }

# eryx_lock FILE: take an exclusive lock on FILE for the rest of the script (fd 9).
# A crashed holder releases it with its process; no stale lock files.
eryx_lock() {
    mkdir -p "$(dirname "$1")"
    exec 9>"$1"
    if ! flock -n 9; then
        echo "[eryx] waiting for another build holding $1"
        flock 9
    fi
}

# eryx_cached NAME MARKER DIR [KEY]: a finished build's reuse. If MARKER (the file
# a build writes last) exists: says so on stderr ("reusing cached build", which
# tests/cache_reused.sh looks for), prints DIR (the script's last stdout line) and
# succeeds; else fails and the caller builds. Call it again after eryx_lock: the
# holder may have finished the same build meanwhile.
eryx_cached() {
    [ -f "$2" ] || return 1
    echo "[eryx] $1: reusing cached build $3${4:+ (key $4)}" >&2
    echo "$3"
}
