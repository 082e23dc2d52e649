/*
** The sandbox subsystem's private header: the builder, sandbox and result structs
** and the calls its files make to each other. Who owns what:
**   builder.c      a builder's configuration (run_spec) and its setters
**   sandbox.c      a sandbox handle: create, free, per-sandbox settings, cancel
**   instance.c     one instance of the guest: make, reset to the start state, drop;
**                  calls into the guest and what a trap means
**   hooks.c        what the guest's host calls do for this sandbox (I/O, limits,
**                  callbacks, extension loading, reports)
**   execute.c      running code and the result it fills
**   session.c      keep-state sessions: reset, clear, snapshot, restore
**   start_state.c  pre-initialization: the snapshot id, the capture, the start
**                  state's export and import
**   callbacks.c, extensions.c, session_blob.c: see their own headers.
** Nothing here is part of the public API (include/eryx.h); tools that need an
** internal call use sandbox_internal.h.
*/
#ifndef ERYX_SANDBOX_H
#define ERYX_SANDBOX_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../engine/engine.h"
#include "../cache/tiers.h"
#include "../package/package.h"
#include "../snapshot/snapmem.h"
#include "../wasi/wasi.h"
#include "../host/host.h"
#include "callbacks.h"
#include "extensions.h"
#include "session_blob.h"
#include "eryx.h"

#ifndef ERYX_DEFAULT_GUEST_DIR
#define ERYX_DEFAULT_GUEST_DIR ""
#endif

#define STDLIB_GUEST_PATH "/usr/local/lib/python3.13"
#define DEFAULT_MEMFS_LIMIT (64u << 20)
#define DEFAULT_MEMFS_ENTRIES 100000u
#define DEFAULT_CACHE_MAX_BYTES ((uint64_t)4 << 30) /* docs/CACHE.md, "Bounds and eviction": why 4 GiB */
#define DEFAULT_OUTPUT_LIMIT ((uint64_t)16 << 20)   /* per stream */
#define DEFAULT_COLLECT_MAX ((uint64_t)64 << 20)    /* files handed back per execution (as /data holds) */
#define TRUNCATION_MARKER "\n[eryx: output truncated: the stream reached its byte limit]\n"
/* Host waits (sleep, stdin) wake this often to check for a timeout or a cancel. */
#define WAIT_SLICE_NS 2000000L

/* Why an execution must stop (eryx_sandbox.stop). */
enum { STOP_NONE = 0, STOP_TIMEOUT, STOP_CANCEL, STOP_OUTPUT, STOP_SUSPEND };

typedef struct mount_spec {
    char *host, *guest;
    unsigned flags;
    eryx_storage *storage;  /* a reference: a shared storage mounted instead of host (eryx_builder_add_storage) */
    eryx__vfs_quota *quota; /* a reference, shared by the builder's sandboxes (eryx_builder_set_mount_quota), or NULL */
    struct mount_spec *next;
} mount_spec;

/* What every instance of a sandbox is made from: a sandbox keeps its own copy, so
** it can make a fresh instance after each execution. */
typedef struct run_spec {
    char *guest_dir;
    int argc;
    char **argv;
    int envc;
    char **env;          /* "NAME=VALUE" */
    mount_spec *mounts;  /* in the order added */
    eryx__package *pkgs; /* mounted read-only at their guest_path, on sys.path in this order */
    size_t npkgs;
    uint64_t memfs_limit;
    uint64_t memfs_entries; /* files and directories in each of /tmp and /data; 0: no cap */
    char *result_name;      /* NULL: no result variable */
    bool keep_state;
    uint64_t timeout_ns;   /* per execution; 0: none */
    uint64_t max_memory;   /* guest linear memory cap in bytes; 0: wasm's own 4 GiB */
    uint64_t output_limit; /* bytes kept per stream; 0: none */
    uint64_t fuel;         /* instruction budget per execution; 0: not metered */
    eryx__engine_kind engine;
    eryx__cb_def *cbs; /* host callbacks */
    size_t ncbs;
    uint32_t cb_max_calls;  /* per execution; 0: none */
    uint64_t cb_timeout_ns; /* per call; 0: none */
    char *imports;          /* modules to import before the snapshot, one per line; NULL: none */
    char *setup;            /* setup code run after them; NULL: none */
    size_t setup_len;
    eryx__blob_key session_key;    /* session blobs' HMAC key; len 0: the process's own */
    struct eryx__net_config *net;  /* a reference (src/net/policy.c); NULL: no network */
    struct eryx__secrets *secrets; /* a reference (src/net/secrets.c); NULL: none */
    unsigned scrub;                /* ERYX_SCRUB_* (eryx_builder_set_scrub) */
    char *collect_dir;             /* files handed back after each execution (result_files.c); NULL: none */
    uint64_t collect_max;          /* their bytes, in all */
} run_spec;

/* A new owning field must be copied in src/pool/pool.c's builder_copy too. */
struct eryx_builder {
    run_spec spec;
    char *cache_dir; /* NULL: no disk cache */
    bool preinit;
    bool common_imports; /* the default start state's modules come first (eryx_builder_set_default_imports) */
    eryx_cache *memory;  /* a reference; NULL: none */
    uint64_t cache_max_bytes, cache_max_entries;
    eryx_cache_backend backend;
    bool has_backend;
    bool state_on_disk; /* the builder's start state goes to dir/backend (eryx_builder_set_start_state_cache) */
    void *backend_user;
    eryx_warning_fn warn;
    void *warn_user;
    /* The interpreter (SHA-256) the packages' extension modules were last found
    ** to link against; "" until checked, and again after a package is added. */
    char link_checked[ERYX__KEY_HEX_LEN + 1];
    eryx__errbuf err;
};

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

struct eryx_result {
    buf out, err;
    char *exc_type, *exc_message, *traceback, *value, *value_error;
    bool truncated[2]; /* stdout, stderr */
    uint64_t peak_memory, fuel_consumed;
    uint32_t callback_calls;
    eryx_net_stats net; /* the execution's network activity */
    int exit_code;
    uint64_t duration_ns;
    struct eryx__result_file *files; /* eryx_builder_collect_files (result_files.c) */
    size_t nfiles, files_left_out;
};

struct eryx_sandbox {
    run_spec spec;      /* a private copy of the builder's */
    eryx__guest *guest; /* a reference: keeps the module (and its cache entry) alive */
    char artifact[65];  /* SHA-256 naming image + bare module + engine: session blobs carry it */
    eryx__cb_hub *hub;  /* host callbacks' calls; NULL: no callbacks */
    char *cb_list;      /* the guest's description of them (JSON) */
    bool transient;     /* a capture's instance: its memory is not pooled (eryx__snapmem_arm_transient) */
    eryx__snapimg *img; /* pre-initialized: the snapshot image each instance starts from;
                        ** guest is then the bare module. NULL: Python starts in each */
    void *memfs[2];     /* /tmp and /data when in memory (owned by vfs), else NULL */
    wasmtime_store_t *store;
    wasmtime_context_t *cx;
    wasmtime_instance_t instance;
    eryx__host host; /* the store's data */
    /* The instance's memory when made from an image (eryx__snapmem_last), else NULL:
    ** parked while the sandbox is idle, unparked before any guest code runs. */
    struct eryx__snapmem_mem *mem;
    eryx__memcap memcap; /* spec.max_memory, enforced by the memory creator; counts refusals */
    eryx__dl_host *dl;   /* extension modules loaded into this instance; NULL: none yet */
    char *ext_cache_dir; /* the builder's disk tier, for compiled extensions; NULL: none */
    uint64_t ext_cache_max_bytes, ext_cache_max_entries;
    eryx__vfs *vfs;
    eryx__wasi *wasi;
    struct eryx__net *net; /* connections of the current instance (src/net/conn.c); NULL: no network */
    /* This sandbox's placeholders (src/net/secrets.c; NULL: no secrets), and the
    ** scrubbers of stdout and stderr when scrubbed (secrets_api.c), else NULL. */
    struct eryx__secret_set *secrets;
    struct eryx__secret_scrubber *scrub_out[2];
    wasmtime_func_t fn_alloc, fn_free, fn_execute, fn_call;
    int dead;      /* the guest exited or trapped: the instance cannot run again */
    int broken;    /* a fresh instance could not be made: the sandbox is unusable */
    bool restored; /* a session blob was restored since the last fresh instance (pools reset it) */
#ifdef ERYX_BENCH_HOOKS
    uint64_t phase_ns[3]; /* creation: module + VFS set-up, instantiation, Python start */
#endif
    eryx_read_fn stdin_fn;
    void *stdin_user;
    eryx_output_fn out_fn;
    void *out_user;
    eryx_result *cur;     /* the result being filled by the running execution */
    atomic_int stop;      /* STOP_*: set when the running execution must end */
    atomic_int cancel;    /* eryx_sandbox_cancel was called (consumed by an execution) */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
    /* The STANDARD engine's interrupt (src/common/guard.h): the guard of the
    ** instance's memory (host.guard points here then) and the ticker's watch of
    ** the running execution. */
    eryx__guard guard;
    eryx__watch watch;
    int stdin_fd; /* >= 0: the guest's stdin is this fd (eryx_sandbox_set_stdin_fd) */
    eryx__errbuf err;
};

static inline uint64_t eryx__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- builder.c ---------------------------------------------------------------- */
/* A NULL-terminated deep copy of v[0..n) (NULL when out of memory); frees one. */
char **eryx__strv_copy(char **v, int n);
void eryx__strv_free(char **v, int n);
/* Deep copy of a spec; -1 when out of memory (dst is then empty). Frees one. */
int eryx__spec_copy(run_spec *dst, const run_spec *src);
void eryx__spec_free(run_spec *spec);
/* A timeout in ms as the spec's ns; ERYX_ERR_INVALID_ARGUMENT when it overflows. */
eryx_status eryx__spec_set_timeout(run_spec *spec, eryx__errbuf *err, uint64_t ms);

/* ---- result_files.c ------------------------------------------------------------- */
/* Reads the files under the spec's collect_dir from the instance's VFS into r. */
void eryx__result_files_collect(eryx_sandbox *s, eryx_result *r);
void eryx__result_files_free(eryx_result *r);

/* ---- execute.c ------------------------------------------------------------------ */
/* Appends to b (kept NUL-terminated); -1 when out of memory. */
int eryx__buf_append(buf *b, const void *data, size_t len);
/* Frees a result's fields (not r itself): for scratch results on the stack. */
void eryx__result_clear(eryx_result *r);

/* A journaled execution's extras (journal_api.c): the journal the hub replays and
** records into, the session's state before the run to roll back to when it halts
** (NULL: none), and the suspended call, set by the execution. */
typedef struct eryx__journal_run {
    struct eryx__journal *journal;
    struct eryx__rollback *rollback;
    eryx__cb_suspension susp;
} eryx__journal_run;
/* session.c: the rollback copy of a journaled session run, the pages that differ
** from the start state copied as they are (no compression, no MAC: it never leaves
** the process); restored as eryx_sandbox_restore does (never a half state). Taking
** it fails as eryx_sandbox_snapshot does (open files, a call in flight, ...). */
typedef struct eryx__rollback eryx__rollback;
eryx_status eryx__rollback_take(eryx_sandbox *s, eryx__rollback **out);
eryx_status eryx__rollback_restore(eryx_sandbox *s, const eryx__rollback *rb);
void eryx__rollback_free(eryx__rollback *rb); /* NULL allowed */
eryx_status eryx__sandbox_execute_journal(eryx_sandbox *s, const char *code, size_t len, eryx_result **result,
                                          eryx__journal_run *jr);

/* ---- start_state.c, for module_ship.c ------------------------------------------ */
/* The key b's start states and shipped modules are signed with: b's session key,
** else the machine's, else the process's; why says why the machine's was not used. */
struct eryx__blob_key;
eryx_status eryx__builder_state_key(eryx_builder *b, struct eryx__blob_key *out, char *why, size_t why_len);
/* The bare module b's sandboxes instantiate, through b's cache tiers; made by make
** on a miss (NULL: compiled). id receives what names it: its id and the engine's
** settings (out NULL: only that). ERYX_ERR_INVALID_ARGUMENT with pre-initialization off. */
eryx_status eryx__builder_bare_module(eryx_builder *b, eryx__make_module_fn make, void *make_user, char id[256],
                                      eryx__guest **out);
/* Compiles b's bare module (what a miss in every tier costs). */
eryx_status eryx__builder_compile_bare(eryx_builder *b, wasmtime_module_t **out, eryx__errbuf *err);

/* ---- hooks.c -------------------------------------------------------------------- */
/* Delivers len bytes of output to fd 1 or 2 of the running execution (its cap, the
** streaming callback); a WASI errno when the cap is reached. */
uint16_t eryx__hooks_output(eryx_sandbox *s, int fd, const void *data, size_t len);
/* The WASI host's I/O for s (stdin, output, sleep), and eryx's own imports wired to
** s (reports, callbacks, extension loading) in s->host. */
eryx__wasi_io eryx__hooks_io(eryx_sandbox *s);
/* Waits on OS fds for s's guest (user: the sandbox), sliced: eryx__wasi_io.wait. */
int eryx__hooks_wait(void *user, struct pollfd *fds, size_t n, uint64_t timeout_ns);
void eryx__hooks_host(eryx_sandbox *s);
/* Whether the running execution must stop now (recording why once): the ticker's
** question for a watched execution (any thread). */
bool eryx__hooks_due(void *user);
/* The store's epoch callback (user: the sandbox): stops the guest when it must. */
wasmtime_error_t *eryx__hooks_on_epoch(wasmtime_context_t *cx, void *user, uint64_t *delta,
                                       wasmtime_update_deadline_kind_t *kind);
/* Loads again, where they were, the extension modules the guest's log in the
** instance's memory names and the instance has not loaded yet (a restored
** snapshot's, a restored session's). ERYX_OK, or a status with a message in err. */
eryx_status eryx__hooks_replay_extensions(eryx_sandbox *s, eryx__errbuf *err);

/* ---- instance.c ----------------------------------------------------------------- */
/* Makes s's instance from s->spec and s->guest (and s->img); the error is in
** s->err. instance_free drops it (s stays reusable). */
eryx_status eryx__instance_new(eryx_sandbox *s);
void eryx__instance_free(eryx_sandbox *s);
/* Replaces the instance by a fresh one from the start state. If that fails the
** sandbox is unusable from then on (ERYX_ERR_SANDBOX_DEAD, and s->err says why). */
eryx_status eryx__instance_fresh(eryx_sandbox *s);
/* Calls a guest function. A proc_exit or a trap ends the instance for good. */
eryx_status eryx__instance_call(eryx_sandbox *s, const wasmtime_func_t *f, const char *what, const wasmtime_val_t *args,
                                size_t nargs, wasmtime_val_t *results, size_t nresults);
/* Calls _eryx_support.<name>(arg) in the guest (the shim's eryx_call); *rc gets its
** int result. */
eryx_status eryx__instance_support_call(eryx_sandbox *s, const char *name, const char *arg, size_t arg_len, int *rc);
/* Puts the packages' mount points on sys.path, after the stdlib. */
eryx_status eryx__instance_add_package_paths(eryx_sandbox *s, eryx_result *scratch);

/* ---- secrets_api.c -------------------------------------------------------------- */
/* Draws s's placeholders from s->spec.secrets (none: s->secrets stays NULL) and
** makes its output scrubbers; frees them. */
eryx_status eryx__secrets_sandbox_new(eryx_sandbox *s, eryx__errbuf *err);
void eryx__secrets_sandbox_free(eryx_sandbox *s);
/* Sets os.environ[NAME] = placeholder in s's instance: after every start and every
** restore (start states are shared by many sandboxes and never hold them). */
eryx_status eryx__secrets_env(eryx_sandbox *s);
/* Output of the guest to fd 1 or 2, scrubbed when s->spec.scrub says: *out NULL
** (deliver data as is) or malloc'd bytes to deliver instead. -1: no memory. */
int eryx__secrets_output(eryx_sandbox *s, int fd, const void *data, size_t len, void **out, size_t *out_len);
/* Around an execution: drops what the scrubbers hold; then delivers it and scrubs
** r's result (ERYX_SCRUB_RESULT) and exception text (ERYX_SCRUB_STDERR); false when
** out of memory (what could not be scrubbed was dropped, never kept). */
void eryx__secrets_begin(eryx_sandbox *s);
bool eryx__secrets_end(eryx_sandbox *s, eryx_result *r);
/* The WASI host's io.filter_file (ERYX_SCRUB_FILES). */
int eryx__secrets_filter_file(void *user, const void *prev, size_t prev_len, const void *data, size_t len, void **out,
                              size_t *out_len, size_t *keep);

/* ---- start_state.c -------------------------------------------------------------- */
/* The default start state's modules, one per line (common_imports.c). */
extern const char eryx__common_imports[];

/* Runs the imports and the setup code in s's started interpreter (see there). */
eryx_status eryx__start_state_run_setup(eryx_sandbox *s, const char *imports, const char *setup, size_t setup_len,
                                        bool warm, eryx_result *scratch, eryx__errbuf *err);
/* Gets the module the sandbox instantiates: the snapshot module for this builder's
** pre-initialization (made and cached on first use) and its image, or the base
** module; artifact gets the SHA-256 naming image + bare module + engine. */
eryx_status eryx__start_state_module(eryx_builder *b, const char *cbs, eryx__guest **out, eryx__snapimg **img,
                                     char artifact[65]);
/* The build-time link check of the builder's extension modules against the
** interpreter module m (SHA-256 sha), once per builder and interpreter. */
eryx_status eryx__start_state_check_links(eryx_builder *b, const wasmtime_module_t *m, const char *sha,
                                          eryx__errbuf *err);

#endif
