/*
** One instance of the guest in a sandbox: a fresh VFS and WASI state, a store, the
** module (the snapshot module, whose memory the memory creator maps copy-on-write
** from the start state, or the base module, in which Python starts now),
** instantiated; dropped and made again to reset the sandbox to its start state.
** Also the calls into the guest and what a trap means. It does not decide when to
** reset (execute.c, session.c do) nor what the start state is (start_state.c).
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../engine/engine.h"
#include "../net/net.h"
#include "../vfs/vfs.h"
#include "../vfs/vfs_shared.h"
#include "sandbox.h"


static eryx_status get_func(eryx_sandbox *s, const char *name, wasmtime_func_t *out) {
    wasmtime_extern_t ext;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, name, strlen(name), &ext) ||
        ext.kind != WASMTIME_EXTERN_FUNC)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API,
                          "the guest module does not export %s(): it was not built by guest/build.sh", name);
    *out = ext.of.func;
    return ERYX_OK;
}

static const char *const trap_names[] = {
    "stack overflow",
    "out-of-bounds memory access",
    "misaligned memory access",
    "out-of-bounds table access",
    "indirect call to null",
    "indirect call signature mismatch",
    "integer overflow",
    "integer division by zero",
    "invalid conversion to integer",
    "unreachable code reached",
    "interrupt",
    "out of fuel",
};

/* The status and message for a guest call that trapped: a stop eryx asked for
** (timeout, cancel, output cap), the memory cap, or a crash with its kind. */
static eryx_status trap_status(eryx_sandbox *s, const char *what, wasmtime_error_t *e, wasm_trap_t *trap) {
    int reason = atomic_load(&s->stop);
    if (reason != STOP_NONE) {
        if (e) wasmtime_error_delete(e);
        if (trap) wasm_trap_delete(trap);
        if (reason == STOP_TIMEOUT)
            return eryx__fail(&s->err, ERYX_ERR_TIMEOUT,
                              "the execution ran past its %llu ms timeout and was stopped; the next one starts afresh",
                              (unsigned long long)(s->spec.timeout_ns / 1000000u));
        if (reason == STOP_CANCEL)
            return eryx__fail(&s->err, ERYX_ERR_CANCELLED,
                              "the execution was cancelled (eryx_sandbox_cancel); the next one starts afresh");
        if (reason == STOP_SUSPEND) /* execute.c names the callback and its reason */
            return eryx__fail(&s->err, ERYX_ERR_SUSPENDED, "execution suspended by a host callback");
        return eryx__fail(&s->err, ERYX_ERR_OUTPUT_LIMIT,
                          "the guest wrote more than %llu bytes to stdout or stderr and was stopped (raise the cap "
                          "with eryx_builder_set_output_limit)",
                          (unsigned long long)s->spec.output_limit);
    }
    wasmtime_trap_code_t code = 0;
    bool has_code = trap && wasmtime_trap_code(trap, &code);
    if (has_code && code == WASMTIME_TRAP_CODE_OUT_OF_FUEL) {
        if (e) wasmtime_error_delete(e);
        wasm_trap_delete(trap);
        return eryx__fail(&s->err, ERYX_ERR_FUEL_EXHAUSTED,
                          "the execution used up its budget of %llu fuel units and was stopped (raise it with "
                          "eryx_builder_set_fuel)",
                          (unsigned long long)s->spec.fuel);
    }
    /* A growth was refused, or the memory is within 4 MiB of the cap (C code that
    ** aborts on a failed allocation), and not a stack overflow. */
    size_t msize = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if (s->spec.max_memory && (s->memcap.refused || msize + (4u << 20) > s->spec.max_memory) &&
        !(has_code && code == 0))
        return eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT,
                                   "the guest crashed at its memory limit (MemoryError could not be raised)", e, trap);
    char what_kind[256];
    snprintf(what_kind, sizeof what_kind, "%s: the guest crashed (%s)", what,
             has_code && code < sizeof trap_names / sizeof trap_names[0] ? trap_names[code] : "engine error");
    return eryx__fail_wasmtime(&s->err, ERYX_ERR_TRAP, what_kind, e, trap);
}

/* The accessible bytes of the instance's memory, for its guard. */
static size_t guard_size(void *user) {
    eryx_sandbox *s = user;
    return wasmtime_memory_data_size(s->cx, &s->host.memory);
}

/* The guard could not give the memory back after an interrupt: the instance and
** its memory are dropped unused (never reset nor pooled), the sandbox is broken. */
static eryx_status memory_lost(eryx_sandbox *s, wasmtime_error_t *e, wasm_trap_t *trap) {
    if (e) wasmtime_error_delete(e);
    if (trap) wasm_trap_delete(trap);
    s->dead = s->broken = 1;
    eryx__snapmem_discard(s->mem);
    return eryx__fail(&s->err, ERYX_ERR_SANDBOX_DEAD,
                      "the guest was interrupted and its memory could not be made accessible again (mprotect "
                      "failed: out of memory mappings?); create a new sandbox");
}

/* Calls a guest function. A proc_exit or a trap ends the instance for good. */
eryx_status eryx__instance_call(eryx_sandbox *s, const wasmtime_func_t *f, const char *what, const wasmtime_val_t *args,
                                size_t nargs, wasmtime_val_t *results, size_t nresults) {
    wasm_trap_t *trap = NULL;
    eryx__snapmem_unpark(s->mem); /* guest code runs: the memory is in use (no lock unless parked) */
    eryx__guard_to_wasm(s->host.guard);
    int slot = eryx__signals_enter();
    wasmtime_error_t *e = wasmtime_func_call(s->cx, f, args, nargs, results, nresults, &trap);
    eryx__signals_leave(slot);
    if (!eryx__guard_to_host(s->host.guard)) return memory_lost(s, e, trap);
    if (!e && !trap) return ERYX_OK;
    s->dead = 1;
    int code;
    if (eryx__wasi_exited(s->wasi, &code)) {
        if (e) wasmtime_error_delete(e);
        if (trap) wasm_trap_delete(trap);
        if (s->cur) s->cur->exit_code = code;
        return code == 0 ? ERYX_OK : ERYX_ERR_EXIT;
    }
    return trap_status(s, what, e, trap);
}

static eryx_status mount_all(eryx_sandbox *s) {
    const run_spec *spec = &s->spec;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lib/python313.zip", spec->guest_dir);
    eryx__vfs_zip *img = eryx__stdlib_image(path, &s->err);
    if (!img) return ERYX_ERR_GUEST_NOT_FOUND;
    eryx__errno e = eryx__vfs_mount(s->vfs, STDLIB_GUEST_PATH, &eryx__vfs_zip_backend, img, true);
    if (e) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount the stdlib image (WASI errno %u)", e);

    for (mount_spec *m = spec->mounts; m; m = m->next) {
        eryx__errbuf msg;
        if (m->storage) { /* a shared storage (vfs_shared.c) */
            e = eryx__vfs_mount(s->vfs, m->guest, &eryx__vfs_shared_backend, eryx__storage_ref(m->storage), false);
            if (e)
                return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount a storage at %s (WASI errno %u)", m->guest, e);
            continue;
        }
        /* Anything but a directory is a single-file volume: its backend checks that
        ** the file it opens is a regular file. */
        struct stat hs;
        bool one_file = stat(m->host, &hs) == 0 && !S_ISDIR(hs.st_mode);
        const eryx__vfs_backend *be = one_file ? &eryx__vfs_hostfile_backend : &eryx__vfs_host_backend;
        void *host = (one_file ? eryx__vfs_hostfile_new : eryx__vfs_host_new)(m->host, m->flags & ERYX_MOUNT_READONLY,
                                                                              m->quota, &msg);
        if (!host) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount %s at %s: %s", m->host, m->guest, msg.msg);
        e = eryx__vfs_mount(s->vfs, m->guest, be, host, m->flags & ERYX_MOUNT_READONLY);
        if (e)
            return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount %s at %s (WASI errno %u)", m->host, m->guest, e);
    }
    for (size_t i = 0; i < spec->npkgs; i++) {
        const eryx__package *p = &spec->pkgs[i];
        e = eryx__vfs_mount(s->vfs, p->guest_path, &eryx__vfs_zip_backend, eryx__vfs_zip_ref(p->img), true);
        if (e)
            return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount the package %s at %s (WASI errno %u)", p->source,
                              p->guest_path, e);
    }
    /* /dev/null (os.devnull), unless the embedder mounted something at that path
    ** (a mount at /dev or / stays: the deeper mount point wins). */
    int dev_taken = 0;
    for (mount_spec *m = spec->mounts; m; m = m->next) dev_taken |= !strcmp(m->guest, "/dev/null");
    if (!dev_taken && (e = eryx__vfs_mount(s->vfs, "/dev/null", &eryx__vfs_null_backend, NULL, false)) != 0)
        return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount /dev/null (WASI errno %u)", e);
    static const char *const memfs_paths[] = {"/tmp", "/data"};
    for (size_t i = 0; i < 2; i++) {
        int taken = 0;
        s->memfs[i] = NULL;
        for (mount_spec *m = spec->mounts; m; m = m->next) taken |= !strcmp(m->guest, memfs_paths[i]);
        if (taken) continue;
        void *mem = eryx__vfs_mem_new(spec->memfs_limit, spec->memfs_entries);
        if (!mem) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for %s", memfs_paths[i]);
        e = eryx__vfs_mount(s->vfs, memfs_paths[i], &eryx__vfs_mem_backend, mem, false);
        if (e) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount %s (WASI errno %u)", memfs_paths[i], e);
        s->memfs[i] = mem;
    }
    return ERYX_OK;
}


/* Calls _eryx_support.<name>(arg) in the guest (the shim's eryx_call); *rc gets its
** int result. */
eryx_status eryx__instance_support_call(eryx_sandbox *s, const char *name, const char *arg, size_t arg_len, int *rc) {
    size_t name_len = strlen(name);
    if (arg_len > INT32_MAX - name_len - 1)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "argument too large for the guest");
    wasmtime_val_t size = {.kind = WASMTIME_I32, .of.i32 = (int32_t)(name_len + arg_len + 1)}, ptr;
    eryx_status st = eryx__instance_call(s, &s->fn_alloc, "allocating guest memory", &size, 1, &ptr, 1);
    if (st != ERYX_OK || s->dead) return st != ERYX_OK ? st : ERYX_ERR_SANDBOX_DEAD;
    uint32_t gptr = (uint32_t)ptr.of.i32;
    size_t msize = wasmtime_memory_data_size(s->cx, &s->host.memory);
    /* The pointer came from the guest: check it lies inside linear memory. */
    if (gptr == 0 || (size_t)gptr > msize || name_len + arg_len + 1 > msize - gptr)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest's allocator returned no usable memory");
    uint8_t *mem = wasmtime_memory_data(s->cx, &s->host.memory);
    memcpy(mem + gptr, name, name_len);
    if (arg_len) memcpy(mem + gptr + name_len + 1, arg, arg_len);
    wasmtime_val_t args[4] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)name_len},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)(gptr + name_len + 1)},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)arg_len}},
                   res;
    st = eryx__instance_call(s, &s->fn_call, name, args, 4, &res, 1);
    if (st != ERYX_OK || s->dead) return st != ERYX_OK ? st : ERYX_ERR_SANDBOX_DEAD;
    *rc = res.of.i32;
    return eryx__instance_call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
}

/* Puts the packages' mount points on sys.path, after the stdlib (as site-packages
** would be): a package cannot shadow a standard module. */
eryx_status eryx__instance_add_package_paths(eryx_sandbox *s, eryx_result *scratch) {
    size_t n = 0;
    for (size_t i = 0; i < s->spec.npkgs; i++) n += strlen(s->spec.pkgs[i].guest_path) + 1;
    char *paths = malloc(n), *p = paths;
    if (!paths) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for the package paths");
    for (size_t i = 0; i < s->spec.npkgs; i++) p = stpcpy(p, s->spec.pkgs[i].guest_path) + 1;
    int rc = 0;
    eryx_status st = eryx__instance_support_call(s, "add_paths", paths, n - 1, &rc);
    free(paths);
    if (st == ERYX_OK && rc != 0)
        st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "putting the packages on sys.path failed: %.600s",
                        scratch->err.data ? scratch->err.data : "");
    return st;
}

/* Starts Python in a fresh instance of the base module: _initialize (C constructors)
** then eryx_init. What the guest prints meanwhile goes into a scratch result, shown
** in the error if the start fails. */
static eryx_status start_python(eryx_sandbox *s) {
    wasmtime_func_t fn_initialize, fn_init;
    eryx_status st;
    if ((st = get_func(s, "_initialize", &fn_initialize)) || (st = get_func(s, "eryx_init", &fn_init))) return st;
    eryx_result scratch = {0};
    s->cur = &scratch;
    wasmtime_val_t rc = {.kind = WASMTIME_I32, .of.i32 = 0};
    st = eryx__instance_call(s, &fn_initialize, "guest _initialize", NULL, 0, NULL, 0);
    if (st == ERYX_OK && !s->dead)
        st = eryx__instance_call(s, &fn_init, "starting Python in the guest", NULL, 0, &rc, 1);
    s->cur = NULL;
    if (st != ERYX_ERR_TRAP && (st != ERYX_OK || s->dead || rc.of.i32 != 0))
        st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT,
                        "Python failed to start in the guest; check that %s/lib holds the stdlib image built with "
                        "this python.wasm. Python said: %.600s",
                        s->spec.guest_dir, scratch.err.data ? scratch.err.data : "(nothing)");
    if (st == ERYX_OK && s->spec.npkgs) st = eryx__instance_add_package_paths(s, &scratch);
    eryx__result_clear(&scratch);
    return st;
}

void eryx__instance_free(eryx_sandbox *s) {
    eryx__snapmem_unpark(s->mem); /* the store's drop does too; ext_free may read the memory */
    s->mem = NULL;
    eryx__ext_free(s->dl);
    s->dl = NULL;
    if (s->store) wasmtime_store_delete(s->store);
    eryx__wasi_free(s->wasi); /* closes the connections' fds */
    eryx__net_free(s->net);   /* then the rest of the network: nothing outlives the instance */
    s->net = NULL;
    eryx__vfs_free(s->vfs);
    s->store = NULL;
    s->cx = NULL;
    s->wasi = NULL;
    s->vfs = NULL;
    s->dead = 0;
    memset(&s->host, 0, sizeof s->host);
}

/*
** Makes the sandbox's instance: a fresh VFS (the stdlib image, empty /tmp and
** /data, the granted host directories) and WASI state, a store, and the module
** instantiated. A snapshot module starts with Python already started, so only its
** random generators are reseeded; the base module starts Python now. Records the
** time of each phase (ERYX_BENCH_HOOKS builds). The error is in s->err.
*/
eryx_status eryx__instance_new(eryx_sandbox *s) {
#ifdef ERYX_BENCH_HOOKS
    uint64_t t0 = eryx__now_ns();
#endif
    eryx_status st;
    if (!(s->vfs = eryx__vfs_new())) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox's VFS");
    if ((st = mount_all(s)) != ERYX_OK) return st;
    eryx__wasi_config wc = {
        .argc = s->spec.argc,
        .argv = (const char *const *)s->spec.argv,
        .envc = s->spec.envc,
        .env = (const char *const *)s->spec.env,
        .io = eryx__hooks_io(s),
        .vfs = s->vfs,
    };
    if (!(s->wasi = eryx__wasi_new(&wc)))
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for the sandbox's WASI state");
    if (s->spec.net && !(s->net = eryx__net_new(s->spec.net, s->wasi, eryx__hooks_wait, s)))
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for the sandbox's network");
    eryx__net_set_secrets(s->net, s->secrets); /* the sandbox's placeholders, for every connection */
    eryx__hooks_host(s);
    if (!(s->store = wasmtime_store_new(eryx__engine(s->spec.engine, NULL), &s->host, NULL)))
        return eryx__fail(&s->err, ERYX_ERR_ENGINE, "wasmtime_store_new failed");
    s->cx = wasmtime_store_context(s->store);
    /* Epoch interruption is on in the engine: without a deadline the first check
    ** would trap. Executions set a near one (the next tick). */
    wasmtime_context_set_epoch_deadline(s->cx, UINT64_C(1) << 62);
    wasmtime_store_epoch_deadline_callback(s->store, eryx__hooks_on_epoch, s, NULL);
    /* The memory cap: the memory creator's (not wasmtime's store limiter), so a
    ** refused growth is seen here (eryx__memcap). */
    s->memcap = (eryx__memcap){.max = s->spec.max_memory};
    /* Outside executions (start, restore) the metered engine runs unbudgeted. */
    if (s->spec.engine == ERYX__ENGINE_FUEL) wasmtime_context_set_fuel(s->cx, UINT64_MAX / 2);
    wasm_trap_t *trap = NULL;
#ifdef ERYX_BENCH_HOOKS
    uint64_t t1 = eryx__now_ns();
#endif
    /* The memory creator maps it as this instance's memory. */
    if (s->transient) eryx__snapmem_arm_transient(s->img);
    else eryx__snapmem_arm(s->img);
    eryx__snapmem_arm_cap(&s->memcap);
    eryx__signals_assert(); /* faults in guest code reach wasmtime's handler (src/engine/signals.c) */
    int slot = eryx__signals_enter();
    wasmtime_error_t *e = wasmtime_instance_pre_instantiate(eryx__guest_pre(s->guest), s->cx, &s->instance, &trap);
    eryx__signals_leave(slot);
    s->mem = eryx__snapmem_last();
    eryx__snapmem_arm(NULL);
    eryx__snapmem_arm_cap(NULL);
#ifdef ERYX_BENCH_HOOKS
    uint64_t t2 = eryx__now_ns();
#endif
    if ((e || trap) && s->spec.max_memory)
        return eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT,
                                   "instantiating the guest failed; is the memory limit below what the started "
                                   "interpreter needs (about 20 MiB, more with imports)?",
                                   e, trap);
    if (e || trap) return eryx__fail_wasmtime(&s->err, ERYX_ERR_ENGINE, "instantiating the guest failed", e, trap);
    wasmtime_extern_t mem;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest module exports no memory");
    s->host.memory = mem.of.memory;
    s->host.has_memory = true;
    if (!eryx__engine_epochs(s->spec.engine)) { /* its base never moves (a 4 GiB reservation: snapmem.c) */
        eryx__guard_arm(&s->guard, wasmtime_memory_data(s->cx, &s->host.memory), guard_size, s);
        s->host.guard = &s->guard;
    }
    if ((st = get_func(s, "eryx_alloc", &s->fn_alloc)) || (st = get_func(s, "eryx_free", &s->fn_free)) ||
        (st = get_func(s, "eryx_execute", &s->fn_execute)) || (st = get_func(s, "eryx_call", &s->fn_call)))
        return st;
    wasmtime_extern_t init;
    if (s->img && wasmtime_instance_export_get(s->cx, &s->instance, "_initialize", 11, &init))
        return eryx__fail(&s->err, ERYX_ERR_ENGINE,
                          "the cached snapshot module is not a snapshot (it still exports _initialize): remove the "
                          "cache entry (eryx cache verify) or use another cache dir");
    if (s->img) {
        /* Extension modules the snapshot imported: loaded again where they were. */
        eryx__errbuf msg;
        if (eryx__hooks_replay_extensions(s, &msg) != ERYX_OK)
            return eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "restoring the snapshot's extension modules failed: %s",
                              msg.msg);
    }
    if (!s->img && (st = start_python(s)) == ERYX_OK && (s->spec.imports || s->spec.setup)) {
        /* Without a snapshot, every instance runs the imports and setup itself. */
        eryx_result scratch = {0};
        s->cur = &scratch;
        st =
            eryx__start_state_run_setup(s, s->spec.imports, s->spec.setup, s->spec.setup_len, false, &scratch, &s->err);
        s->cur = NULL;
        eryx__result_clear(&scratch);
    }
    if (st == ERYX_OK) {
        /* sys.argv (a snapshot serves every argv), fresh random seeds, and the
        ** names eryx_sandbox_clear keeps. */
        size_t n = 0;
        for (int i = 0; i < s->spec.argc; i++) n += strlen(s->spec.argv[i]) + 1;
        char *args = malloc(n + 1), *p = args;
        if (!args) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for argv");
        for (int i = 0; i < s->spec.argc; i++) p = stpcpy(p, s->spec.argv[i]) + 1;
        int rc = 0;
        eryx_result scratch = {0};
        s->cur = &scratch;
        st = eryx__instance_support_call(s, "restore", args, n ? n - 1 : 0, &rc);
        s->cur = NULL;
        free(args);
        if (st == ERYX_OK && rc != 0)
            st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "restoring the guest failed (status %d): %.600s", rc,
                            scratch.err.data ? scratch.err.data : "");
        if (st == ERYX_OK && s->secrets) st = eryx__secrets_env(s); /* never in a start state */
        /* The host callbacks, as async functions in __main__. */
        if (st == ERYX_OK && s->cb_list && !s->img) {
            s->cur = &scratch;
            st = eryx__instance_support_call(s, "set_callbacks", s->cb_list, strlen(s->cb_list), &rc);
            s->cur = NULL;
            if (st == ERYX_OK && rc != 0)
                st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "installing the callbacks failed: %.600s",
                                scratch.err.data ? scratch.err.data : "");
        }
        eryx__result_clear(&scratch);
    }
#ifdef ERYX_BENCH_HOOKS
    s->phase_ns[0] = t1 - t0;
    s->phase_ns[1] = t2 - t1;
    s->phase_ns[2] = eryx__now_ns() - t2;
#endif
    return st;
}

eryx_status eryx__instance_fresh(eryx_sandbox *s) {
    s->restored = false;
    eryx__instance_free(s);
    if (eryx__instance_new(s) == ERYX_OK) return ERYX_OK;
    s->broken = 1;
    char why[ERYX__ERRMSG_MAX / 2];
    snprintf(why, sizeof why, "%.1900s", s->err.msg);
    return eryx__fail(&s->err, ERYX_ERR_SANDBOX_DEAD,
                      "the sandbox could not be reset to its start state (%s); create a new sandbox", why);
}
