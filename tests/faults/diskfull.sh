#!/usr/bin/env bash
# tests/faults/diskfull.sh ERYX SHIM [PYTHON [NUMPY]]: disk full and read-only cache
# directories during each kind of write (issue 17). Conditions:
#   tmpfs-full  the cache dir on a tmpfs filled to the last byte (needs mount: root)
#   enospc      the shim (SHIM, liberyx_faultshim.so) fails every write under the
#               cache dir with ENOSPC
#   fsize       RLIMIT_FSIZE of 64 KiB (ulimit -f; SIGXFSZ ignored: writes get EFBIG)
#   ro-bind     the cache dir bind-mounted read-only (needs mount)
#   erofs       the shim fails every open-for-writing, mkdir and rename under it with EROFS
# Each starts from a copy of a warm cache (interpreter compiled), so only new entries
# are written. Writers: a new start state (a configuration never seen), `eryx build`,
# the numpy start state (with NUMPY), and the Python module (a new factory's state in
# the cache, then factory.save() into the same directory). Each must give the right
# answer with status 0 (with a warning on stderr when it could not write: the
# read-only cases may serve hits silently) or stop with a clear error; never a crash.
# After each condition is lifted, `eryx cache verify` is clean and a run works.
# FAULTS_SLOW=1 adds the compile from an empty cache under each condition (seconds).
# Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
eryx=$1 shim=$2 py=${3:-} numpy=${4:-}
if [ -n "$py" ] && [ ! -x "$py" ]; then echo "note: $py not there: the Python writer is skipped"; py=; fi
work=$(mktemp -d)
mnt=$work/mnt
cleanup() { mountpoint -q "$mnt" && umount -l "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
can_mount=0
if mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then umount "$mnt"; can_mount=1; fi
[ $can_mount = 1 ] || echo "note: cannot mount (not root?): tmpfs-full and ro-bind are skipped; the shim covers both"

warm=$work/warm/eryx
mkdir -p "$warm"
"$eryx" --cache-dir "$warm" -c pass 2>/dev/null
[ -n "$numpy" ] && "$eryx" --cache-dir "$warm" --package "$numpy" --import numpy -c pass 2>/dev/null
seq=0
# One writer's run under the condition: the right answer (a warning when $want_warn),
# or a clear error.
expect() { # NAME WANT_WARN CMD...
    local name=$1 want_warn=$2
    shift 2
    local out rc err
    out=$(timeout 300 "${pre[@]}" "$@" 2>"$work/err")
    rc=$?
    err=$(cat "$work/err")
    if [ $rc -eq 0 ] && [ "$out" = 42 ]; then
        if [ "$want_warn" = 1 ] && ! grep -qi 'warning' <<<"$err"; then
            fail "$name: worked, but said nothing about the write that failed"
        else
            pass "$name: worked$(grep -m1 -io 'warning.*' <<<"$err" | cut -c1-150 | sed 's/^/, /')"
        fi
    elif [ $rc -ne 0 ] && [ $rc -lt 124 ] && grep -q 'eryx\|Error' <<<"$err"; then
        pass "$name: clear error: $(grep -m1 'eryx\|Error' <<<"$err" | cut -c1-150)"
    else
        fail "$name: status $rc, stdout ${out:0:80}, stderr $(tail -3 <<<"$err")"
    fi
}
writers() { # COND CACHE WANT_WARN: every writer once under the condition set in pre=()
    local cond=$1 c=$2 w=$3
    seq=$((seq + 1))
    expect "$cond: new start state" "$w" "$eryx" --cache-dir "$c" --env "F=$seq" --import colorsys \
        -c 'import colorsys; print(6*7)'
    seq=$((seq + 1))
    local out rc
    out=$(timeout 300 "${pre[@]}" "$eryx" --cache-dir "$c" --env "F=$seq" --import colorsys build 2>&1)
    rc=$?
    if [ $rc -lt 124 ] && { [ $rc -eq 0 ] || grep -q '^eryx: ' <<<"$out"; }; then
        pass "$cond: eryx build: status $rc: $(grep -m1 -i 'warning\|eryx:' <<<"$out" | cut -c1-150)"
    else
        fail "$cond: eryx build: status $rc: $out"
    fi
    if [ -n "$numpy" ]; then
        seq=$((seq + 1))
        expect "$cond: numpy start state" "$w" "$eryx" --cache-dir "$c" --env "F=$seq" --package "$numpy" \
            --import numpy -c 'import numpy as np; print(int(np.arange(7).sum() * 2))'
    fi
    if [ -n "$py" ]; then
        seq=$((seq + 1))
        # $c is $XDG_CACHE_HOME/eryx; factory.save() writes next to the entries.
        expect "$cond: python factory" "$w" env XDG_CACHE_HOME="$(dirname "$c")" "$py" -W always -c "
import sys, eryx
f = eryx.SandboxFactory(imports=['colorsys', 'bisect'], packages=[])
r = f.create_sandbox().execute('import colorsys\nprint(6*7)')
try:
    f.save('$c/factory-$seq.bin')
    print('saved', file=sys.stderr)
except OSError as e:
    print('warning: save refused:', e, file=sys.stderr)
print(r.stdout_text, end='')"
    fi
    if [ -n "${FAULTS_SLOW:-}" ]; then
        expect "$cond: compile into an empty cache dir" "$w" "$eryx" --cache-dir "$c/empty" -c 'print(6*7)'
    fi
}
after() { # COND CACHE: the condition lifted
    if "$eryx" --cache-dir "$2" cache verify >"$work/v" 2>&1; then pass "$1: cache verify afterwards"
    else fail "$1: cache verify afterwards: $(cat "$work/v")"; fi
    local out
    out=$("$eryx" --cache-dir "$2" -c 'print(6*7)' 2>&1)
    [ "$out" = 42 ] && pass "$1: a run afterwards" || fail "$1: a run afterwards: $out"
}
copy_warm() { rm -rf "$1" && mkdir -p "$(dirname "$1")" && cp -a "$warm" "$1"; }

if [ $can_mount = 1 ]; then
    kb=$(du -sk "$warm" | cut -f1)
    mount -t tmpfs -o size=$((kb + 2048))k tmpfs "$mnt"
    c=$mnt/x/eryx
    copy_warm "$c"
    dd if=/dev/zero of="$mnt/fill" bs=64k 2>/dev/null
    pre=()
    writers tmpfs-full "$c" 1
    rm -f "$mnt/fill"
    after tmpfs-full "$c"
    umount "$mnt"

    c=$work/robind/eryx
    copy_warm "$c"
    mount --bind "$c" "$c" && mount -o remount,ro,bind "$c"
    writers ro-bind "$c" 1
    umount "$c"
    after ro-bind "$c"
fi

c=$work/enospc/eryx
copy_warm "$c"
pre=(env LD_PRELOAD="$shim" ERYX_FAULT_FN=write,fallocate ERYX_FAULT_MODE=from ERYX_FAULT_N=1
    ERYX_FAULT_ERRNO=ENOSPC ERYX_FAULT_PATH="$c")
writers enospc "$c" 1
pre=()
after enospc "$c"

c=$work/fsize/eryx
copy_warm "$c"
pre=(bash -c 'trap "" XFSZ; ulimit -f 64; exec "$@"' fsize)
writers fsize "$c" 1
pre=()
after fsize "$c"

c=$work/erofs/eryx
copy_warm "$c"
pre=(env LD_PRELOAD="$shim" ERYX_FAULT_FN=open,mkdir,rename ERYX_FAULT_MODE=from ERYX_FAULT_N=1
    ERYX_FAULT_ERRNO=EROFS ERYX_FAULT_PATH="$c")
writers erofs "$c" 1
pre=()
after erofs "$c"
finish
