#!/usr/bin/env bash
# Test of ERYX_ENGINE_FLAGS (src/engine/engine.c; bench/engine_levers.py sets it): a
# name or value the engine does not know, or a pair wasmtime refuses, fails sandbox
# creation with exit 3 and a message naming the variable before any code runs
# (wasmtime's C API would abort the process); set empty, the standard engine runs.
# No case compiles a module: the valid settings are timed by bench/engine_levers.py.
# usage: engine_flags.sh ERYX_CLI
set -u
cli="$1"
fail=0
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

check_refused() { # VALUE WANT_IN_MESSAGE
    err=$(ERYX_ENGINE_FLAGS="$1" "$cli" -c 'print("ran")' 2>&1)
    rc=$?
    [ $rc -eq 3 ] || bad "ERYX_ENGINE_FLAGS=$1: exit $rc, want 3"
    case "$err" in *ran*) bad "ERYX_ENGINE_FLAGS=$1: the code ran: $err" ;; esac
    case "$err" in *"$2"*) ;; *) bad "ERYX_ENGINE_FLAGS=$1: message lacks '$2': $err" ;; esac
}
check_refused bogus=1 "ERYX_ENGINE_FLAGS: bogus=1 is not NAME=VALUE"
check_refused signals_based_traps "ERYX_ENGINE_FLAGS: signals_based_traps is not NAME=VALUE"
check_refused memory_may_move=yes "ERYX_ENGINE_FLAGS: memory_may_move=yes is not NAME=VALUE"
check_refused log2_min_function_alignment=12 "log2_min_function_alignment=12 is not NAME=VALUE"
check_refused signals_based_traps=false,enable_heap_access_spectre_mitigation=true \
    "signals_based_traps=false needs the spectre mitigations left unset or false"
check_refused "$(printf 'enable_alias_analysis=true,%.0s' $(seq 1 8))" "ERYX_ENGINE_FLAGS is longer than 160 characters"

out=$(ERYX_ENGINE_FLAGS= "$cli" -c 'print(6 * 7)' 2>&1)
[ "$out" = 42 ] || bad "ERYX_ENGINE_FLAGS empty: printed '$out', want 42"

[ $fail -eq 0 ] && echo "engine_flags: all passed" || echo "engine_flags: $fail failed"
[ $fail -eq 0 ]
