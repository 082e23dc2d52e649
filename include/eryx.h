/*
** eryx: run untrusted Python inside a WebAssembly sandbox.
**
** This is the one public header. Every handle is opaque and owned by the caller
** who created it; every function that can fail returns an eryx_status and leaves a
** message on the handle (eryx_builder_errmsg, eryx_sandbox_errmsg) that says what
** went wrong and what to do. The library never prints and never exits.
**
** Threads: the process-wide state below is thread-safe; a builder or a sandbox
** must be used by one thread at a time, and different sandboxes may run at the
** same time in different threads.
**
** Process-wide state: besides the handles the caller owns, the library keeps, per
** process, made on first use and shared by every builder and sandbox: the wasmtime
** engines and linkers (one per engine kind), the ticker thread that enforces
** timeouts and cancels (it revokes a stopped guest's memory access, so guest code
** carries no checks; ERYX_INTERRUPT=epoch in the environment selects epoch checks
** instead: docs/RUNTIME.md), eryx's front signal handler (kept before any handler
** installed after the engine, so that a guest's fault stays a trap), the callback
** thread pool, the default in-memory cache (16 entries) and
** the cache of snapshot images, the open cache directories, the stdlib images and
** guest hashes, and the registries of loaded extension modules and packed wheels.
** All of it is thread-safe. eryx_shutdown frees it (for leak checkers, and for
** embedders that unload the library); src/process/process.c lists it all.
*/
#ifndef ERYX_H
#define ERYX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ERYX_VERSION_STRING "0.1.0"

/*
** Result codes. One table (X-macro) gives each its name and meaning, so a code
** never lacks a message. Names are stable; values are stable once released.
*/
#define ERYX_STATUS_TABLE(X)                                                             \
    X(ERYX_OK, 0, "success")                                                             \
    X(ERYX_ERR_INVALID_ARGUMENT, 1, "an argument was NULL, empty or out of range")       \
    X(ERYX_ERR_NO_MEMORY, 2, "the host ran out of memory")                               \
    X(ERYX_ERR_GUEST_NOT_FOUND, 3, "the guest interpreter or stdlib image is missing")   \
    X(ERYX_ERR_IO, 4, "a host file could not be read or written")                        \
    X(ERYX_ERR_ENGINE, 5, "the WebAssembly engine failed to compile or instantiate")     \
    X(ERYX_ERR_GUEST_INIT, 6, "the Python interpreter failed to start in the guest")     \
    X(ERYX_ERR_TRAP, 7, "the guest trapped (a crash inside the sandbox)")                \
    X(ERYX_ERR_GUEST_API, 8, "the guest does not export eryx's entry points")            \
    X(ERYX_ERR_PYTHON_EXCEPTION, 9, "the Python code raised an uncaught exception")      \
    X(ERYX_ERR_EXIT, 10, "the Python code exited with a non-zero status")                \
    X(ERYX_ERR_MOUNT, 11, "a host directory could not be mounted")                       \
    X(ERYX_ERR_SANDBOX_DEAD, 12, "the sandbox can no longer run code (its guest ended)") \
    X(ERYX_ERR_PREINIT, 13, "pre-initialization (an import or the setup code) failed")   \
    X(ERYX_ERR_TIMEOUT, 14, "the execution ran past its timeout and was stopped")        \
    X(ERYX_ERR_CANCELLED, 15, "the execution was cancelled")                             \
    X(ERYX_ERR_MEMORY_LIMIT, 16, "the guest ran out of the memory it is allowed")        \
    X(ERYX_ERR_FUEL_EXHAUSTED, 17, "the execution used up its instruction budget")       \
    X(ERYX_ERR_OUTPUT_LIMIT, 18, "the guest wrote more output than allowed")             \
    X(ERYX_ERR_POOL_EXHAUSTED, 20, "every sandbox the pool may have is leased")          \
    X(ERYX_ERR_POOL_TIMEOUT, 21, "no sandbox of the pool became free in its time")       \
    X(ERYX_ERR_POOL_CLOSED, 22, "the pool is closed")                                    \
    X(ERYX_ERR_SUSPENDED, 23, "a host callback suspended the execution")                 \
    X(ERYX_ERR_PACKAGE, 19, "a package is unusable (damaged, or built for another platform)")

typedef enum eryx_status {
#define ERYX__ENUM(name, value, msg) name = value,
    ERYX_STATUS_TABLE(ERYX__ENUM)
#undef ERYX__ENUM
} eryx_status;

/*
** Returns the constant name of a status ("ERYX_ERR_IO"), or "ERYX_UNKNOWN_STATUS"
** for a value outside the table. The string is static; never free it.
*/
const char *eryx_status_name(eryx_status status);

/*
** Returns a one-line, static description of a status, suitable for an error
** message prefix. Unknown values give "unknown status". Never free the string.
*/
const char *eryx_status_message(eryx_status status);

/*
** Frees the library's process-wide state (see the top of this header): joins the
** ticker and callback threads, waits for snapshot images still being written to the
** cache directory, and frees the engines, linkers, compiled modules, snapshot
** images and their memories, the default cache and every registry. Valid only when
** no builder, sandbox, eryx_cache or eryx_storage handle is alive (results and
** blobs are plain memory: they may outlive it); otherwise the behaviour is
** undefined. Thread-safe against itself, not against any other eryx call. Calling
** it twice is harmless (the second call has nothing to free). The library stays
** usable afterwards: the next call that needs an engine or a registry makes it
** again (paying the first use's costs again: a compiled module is then loaded
** from the cache directory). A process that simply exits need not call it.
*/
void eryx_shutdown(void);

/*
** Returns the library's version as "MAJOR.MINOR.PATCH" (ERYX_VERSION_STRING of the
** library actually linked, which may differ from the header's). Static string.
*/
const char *eryx_version(void);

typedef struct eryx_builder eryx_builder;
typedef struct eryx_sandbox eryx_sandbox;
typedef struct eryx_result eryx_result;
typedef struct eryx_cache eryx_cache;

/*
** Creates an in-memory cache of loaded guest modules: process memory, thread-safe,
** shareable between builders (each builder using it keeps a reference). A sandbox
** whose module is in it is created with no file I/O and no deserialization. At
** most max_entries modules are kept (0: no limit); the least recently used goes
** first. Without one, builders use a process-wide default cache (16 entries).
** Returns NULL when out of memory. Release with eryx_cache_release.
*/
eryx_cache *eryx_cache_new(uint64_t max_entries);

/*
** Drops the caller's reference to a cache; the last reference frees it. Modules in
** use by live sandboxes stay valid. NULL is allowed and ignored.
*/
void eryx_cache_release(eryx_cache *cache);

/*
** An embedder's persistent cache tier (instead of the cache directory): eryx hands
** it the serialized compiled module for a key (64 hex digits) and asks for it back.
** get returns 1 and sets *data and *len when found (eryx then calls free), 0 when not,
** -1 on error (a warning; eryx compiles). put returns 0, or -1 (a warning). The
** bytes are native code: get must return exactly what put was given for that key.
** Calls come from the threads creating sandboxes, possibly several at once.
*/
typedef struct eryx_cache_backend {
    int (*get)(void *user, const char *key, void **data, size_t *len);
    void (*free)(void *user, void *data, size_t len);
    int (*put)(void *user, const char *key, const void *data, size_t len);
} eryx_cache_backend;

/* Receives a non-fatal problem (an unusable cache directory, a full disk, a damaged
** cache entry that was rebuilt), as one line of text valid during the call. */
typedef void (*eryx_warning_fn)(void *user, const char *message);

/*
** Creates a builder that describes sandboxes: where the guest is, where compiled
** code is cached, the guest's argv and environment, and which host directories it
** may see. Returns NULL only when out of memory. The caller owns it and frees it
** with eryx_builder_free; sandboxes made from it keep no reference to it.
*/
eryx_builder *eryx_builder_new(void);

/*
** Frees a builder and everything it owns. NULL is allowed and ignored. A new
** snapshot image goes to the disk cache on a thread of its own, after the sandbox
** that needed it is running; this call first waits for such writes to finish, so
** a process that frees its builders leaves complete cache entries (one that exits
** without doing so may leave none: the next process builds the snapshot again).
*/
void eryx_builder_free(eryx_builder *builder);

/*
** Sets the directory holding the guest: python.wasm, python.wasm.sha256 and
** lib/python313.zip (the stdlib image), as laid out in build/guest by the build.
** Default: the ERYX_GUEST_DIR environment variable, else the build's guest dir.
** The path is copied. ERYX_ERR_INVALID_ARGUMENT on NULL or empty.
*/
eryx_status eryx_builder_set_guest_dir(eryx_builder *builder, const char *dir);

/*
** Sets the directory for cached compiled modules (.cwasm). Default:
** $XDG_CACHE_HOME/eryx, else $HOME/.cache/eryx. NULL disables the disk cache (the
** module is then compiled once per process). The path is copied.
*/
eryx_status eryx_builder_set_cache_dir(eryx_builder *builder, const char *dir);

/*
** Sets the in-memory cache tier the builder's sandboxes use (the builder keeps a
** reference). NULL: none, so every sandbox loads its module from disk or compiles
** it. Default: the process-wide cache.
*/
eryx_status eryx_builder_set_memory_cache(eryx_builder *builder, eryx_cache *cache);

/*
** Bounds the cache directory: at most max_bytes of entries and max_entries entries
** (0: no bound); when a new entry would pass them, the least recently used entries
** not in use by any process are removed. Default: 4 GiB, no count bound.
*/
eryx_status eryx_builder_set_cache_limits(eryx_builder *builder, uint64_t max_bytes, uint64_t max_entries);

/*
** Uses an embedder's persistent cache tier instead of the cache directory (backend
** copied, user passed back). NULL backend returns to the directory.
*/
eryx_status eryx_builder_set_cache_backend(eryx_builder *builder, const eryx_cache_backend *backend, void *user);

/*
** Sets where non-fatal warnings go (NULL: dropped, the default). The library never
** prints; the CLI prints them on stderr. fn may be called from a thread of eryx's
** own (a snapshot image written to the disk cache behind the sandbox that made
** it), until eryx_builder_free returns; it must be safe to call from any thread.
*/
eryx_status eryx_builder_set_warning_handler(eryx_builder *builder, eryx_warning_fn fn, void *user);

/*
** Sets the guest's sys.argv (argc strings, copied). Default: a single "-c". The
** strings reach the guest as its WASI arguments; nothing else of the host's does.
*/
eryx_status eryx_builder_set_argv(eryx_builder *builder, int argc, const char *const *argv);

/*
** Sets one environment variable the guest will see in os.environ (name and value
** copied; a second call with the same name replaces the value). The guest sees no
** variable of the host's, only those set here. The name must be non-empty and
** hold no '='; ERYX_ERR_INVALID_ARGUMENT otherwise.
*/
eryx_status eryx_builder_set_env(eryx_builder *builder, const char *name, const char *value);

/* Flags of eryx_builder_add_mount. */
#define ERYX_MOUNT_READONLY 1u

/*
** Grants the guest a host directory at an absolute guest path ("/mnt/data"), read
** and write unless flags has ERYX_MOUNT_READONLY. Resolution stays beneath the
** directory: "..", absolute symlinks and symlinks pointing outside it fail in the
** guest. host_dir may also be a regular file: the guest then sees that one file
** at guest_path ("/mnt/config.json"), its parent directory listing it alone and
** its host siblings invisible; a writable one writes through to the host file,
** which the guest cannot unlink or rename (EBUSY). The directory or file is opened
** when a sandbox is created (ERYX_ERR_MOUNT then if it cannot be, or if it is
** neither a directory nor a regular file) and again at each reset to its start
** state; a file is never looked up by name in between (a symlink in host_dir is
** followed at the opening). guest_path may not be "/", lie under /usr/local/lib (the
** stdlib) or under /packages (eryx_builder_add_package); mounting over /tmp or /data replaces the in-memory filesystem there.
*/
eryx_status eryx_builder_add_mount(eryx_builder *builder, const char *host_dir, const char *guest_path, unsigned flags);

/*
** Bounds what the guest may add through the writable host directory mounted at
** guest_path (eryx_builder_add_mount first): max_bytes of file growth and
** max_files new entries (0: that one unbounded). Bytes count each regular file's
** growth in size as the guest makes it, holes included (a write at 1 TiB, or a
** truncate to it, adds 1 TiB); files count the files and directories it creates.
** Shrinking, truncating, removing or replacing a file gives back what it held,
** down to zero, never below: the directory's contents grow by at most max_bytes,
** and removing what was there before earns no room past that. A write,
** truncate, create or mkdir past a bound fails whole in the guest with EDQUOT
** ("Disk quota exceeded", OSError); nothing is written. The usage is kept from this
** call on and shared by every sandbox of the builder, at once and in turn (their
** resets too), until the builder and they are freed; calling again starts a new
** count. On a single-file mount, bytes count the file's growth. ERYX_ERR_INVALID_ARGUMENT
** when no host directory or file is mounted there or the mount is read-only. See docs/VFS-LIMITS.md.
*/
eryx_status eryx_builder_set_mount_quota(eryx_builder *builder, const char *guest_path, uint64_t max_bytes,
                                         uint64_t max_files);

/*
** Adds a package to the builder's sandboxes: a pure-Python wheel (*.whl) or a
** source tree (a directory: its src/ when it has one beside pyproject.toml,
** setup.py or setup.cfg). The package is read now, checked and packed into a
** read-only image that every sandbox of the builder shares, mounted at
** /packages/<name> (the normalized distribution or directory name) and appended to
** sys.path in the order added, after the stdlib. A wheel built for a platform (its
** tag is not `any`), one holding native extension files, a damaged archive or an
** unreadable tree fails with ERYX_ERR_PACKAGE and a message naming the file and
** the cause; two packages of one name fail with ERYX_ERR_INVALID_ARGUMENT. The
** contents' hash is part of the pre-initialization key, so `--import` of a package
** is snapshotted, and a changed package makes a new snapshot. See docs/PACKAGES.md.
*/
eryx_status eryx_builder_add_package(eryx_builder *builder, const char *path);

/*
** Sets the byte cap of each in-memory filesystem (/tmp and /data; each has its own
** cap). Default 64 MiB. It counts every byte the filesystem allocates: file
** contents with their buffers' spare capacity, and the nodes, names and directory
** tables of files and directories (empty ones too), so file contents alone reach
** a little less than the cap. A guest write, create, mkdir or rename past it fails
** whole with "No space left on device" (ENOSPC). 0: no cap. See docs/VFS-LIMITS.md.
*/
eryx_status eryx_builder_set_memfs_limit(eryx_builder *builder, uint64_t max_bytes);

/*
** Caps the entries (files and directories) each in-memory filesystem (/tmp,
** /data) may hold. Default 100,000; 0: no cap but the byte cap. Creating one past
** it fails with "No space left on device" (ENOSPC) and changes nothing.
*/
eryx_status eryx_builder_set_memfs_max_entries(eryx_builder *builder, uint64_t max_entries);

/*
** Turns pre-initialization on (the default, enabled != 0) or off. On: Python's
** start, the modules named by eryx_builder_add_preimport and the setup code run
** once per machine and configuration; their memory becomes a snapshot image
** (cached like compiled modules) from which every instance starts with Python
** ready, sharing the snapshot's pages copy-on-write. Off: each instance starts
** Python from scratch and runs the imports and setup code itself (milliseconds
** each, more with imports). See docs/SNAPSHOT.md.
*/
eryx_status eryx_builder_set_preinit(eryx_builder *builder, int enabled);

/*
** Whether the builder's own start state (its snapshot image) is kept in the cache
** directory or backend (on_disk != 0, the default) or in process memory only (0):
** made once per process, never written, never read from disk. Either way the
** compiled interpreter and extension modules, and the layers the state is made on
** (Python just started, and the default start state: they hold nothing of the
** builder's imports, setup code, packages or callbacks), come from the cache
** directory, so no process compiles or captures again what the machine already
** has. For a start state that must not outlive the process. Default: on.
*/
eryx_status eryx_builder_set_start_state_cache(eryx_builder *builder, int on_disk);

/*
** Whether the builder's start state has the commonly used stdlib modules imported
** (enabled != 0, the default) or is Python just started (0). The modules are those
** eryx_default_imports lists (chosen from a corpus of real programs: see
** docs/START-STATE.md); code still runs `import json`, which then costs a
** dictionary lookup instead of milliseconds. They are imported before the builder's
** own preimports and setup code, once per machine (the default start state is
** cached like any snapshot, and builders with preimports are captured on top of it).
** Nothing of one execution reaches the next either way. With pre-initialization off
** (eryx_builder_set_preinit) the start state is always Python just started: an
** instance would otherwise import them all again for every execution.
*/
eryx_status eryx_builder_set_default_imports(eryx_builder *builder, int enabled);

/*
** The modules of the default start state (eryx_builder_set_default_imports), one
** per line, each line ending with '\n'. A static string: never freed, the same for
** the whole process, safe from any thread.
*/
const char *eryx_default_imports(void);

/*
** Adds a module (a dotted name such as "json" or "xml.dom.minidom") to import
** before the snapshot is taken, after those added before it. Code in the sandbox
** still runs `import json`, which then costs a dictionary lookup. A failing import
** makes eryx_sandbox_new fail with ERYX_ERR_PREINIT and the Python traceback.
*/
eryx_status eryx_builder_add_preimport(eryx_builder *builder, const char *module);

/*
** Sets Python code (len bytes, copied; NULL: none) run in __main__ after the
** imports and before the snapshot: every execution then sees what it defined.
** Failing code makes eryx_sandbox_new fail with ERYX_ERR_PREINIT and the traceback;
** so does setup that leaves files open or writes files in /tmp or /data (a
** snapshot carries memory only).
*/
eryx_status eryx_builder_set_setup_code(eryx_builder *builder, const char *code, size_t len);

/*
** Chooses whether a sandbox keeps Python's state between executions (keep != 0) or
** starts each one from its start state (0, the default: no variable, module or
** file of one execution is visible in the next). Either way, an execution that
** ends the guest (os._exit, a crash, a limit) is followed by a fresh start.
*/
eryx_status eryx_builder_set_keep_state(eryx_builder *builder, int keep);

/*
** Sets a wall-clock timeout for each execution, in milliseconds (0: none, the
** default). Past it the guest is stopped wherever it is (a Python loop, a loop in
** C inside the interpreter, time.sleep, a read on a stdin fd) within a few
** milliseconds, eryx_sandbox_execute returns ERYX_ERR_TIMEOUT with the output
** so far, and the sandbox starts afresh for the next execution. Enforced by one
** timer thread for the whole process, running only while executions run.
*/
eryx_status eryx_builder_set_timeout_ms(eryx_builder *builder, uint64_t ms);

/*
** Caps the guest's linear memory at `bytes` (0: no cap but wasm32's 4 GiB, the
** default). Growth past it fails inside the guest, so Python raises MemoryError,
** which eryx_sandbox_execute reports as ERYX_ERR_MEMORY_LIMIT; so is any uncaught
** exception after a growth was refused (Python may make another of the failed
** allocation: SystemError in a recursion deep enough to fill the cap). Code that
** catches its MemoryError and goes on is not stopped. The started
** interpreter needs about 20 MiB (more with imports): a smaller cap makes
** eryx_sandbox_new fail with ERYX_ERR_MEMORY_LIMIT.
*/
eryx_status eryx_builder_set_max_memory(eryx_builder *builder, uint64_t bytes);

/*
** Sets an instruction budget for each execution (0: none, the default). Metering
** uses wasmtime's fuel, which makes guest code markedly slower (see
** docs/RUNTIME.md for the measured cost), so it is opt-in: a builder with a budget
** uses a second engine whose compiled modules are cached apart. Past the budget
** the guest is stopped and eryx_sandbox_execute returns ERYX_ERR_FUEL_EXHAUSTED;
** eryx_result_fuel_consumed reports what each execution used.
*/
eryx_status eryx_builder_set_fuel(eryx_builder *builder, uint64_t units);

/*
** Caps the bytes kept of each output stream (stdout, stderr) per execution
** (0: none; default 16 MiB). Past it, the kept output ends with a marker line
** ("[eryx: output truncated: ...]"), eryx_result_truncated says so, the guest is
** stopped and eryx_sandbox_execute returns ERYX_ERR_OUTPUT_LIMIT. A streaming
** callback (eryx_sandbox_set_output) receives the same bytes, up to the cap.
*/
eryx_status eryx_builder_set_output_limit(eryx_builder *builder, uint64_t bytes);

/*
** Hands back files after each execution: the regular files under guest_dir (an
** absolute directory in the sandbox, like "/data" or "/tmp/out", searched down to
** 32 levels; symlinks are not followed) are read when the code ends, whatever its
** status (a timeout, an exception), before the sandbox resets, into the result
** (eryx_result_file_count and the calls after it). Each file whole or not at all:
** at most max_bytes in all (0: the default, 64 MiB, what /data holds) and 1,000
** files; the others are counted (eryx_result_files_left_out). NULL (the default)
** hands back nothing. Errors: ERYX_ERR_INVALID_ARGUMENT for a relative or
** malformed directory. A directory that does not exist yields no files.
*/
eryx_status eryx_builder_collect_files(eryx_builder *builder, const char *guest_dir, uint64_t max_bytes);

/*
** A host callback: receives the call's arguments as a JSON object (args_json,
** args_len bytes, NUL-terminated) and returns 0 with *result set to a malloc'd JSON
** text (its length in *result_len, or 0 to use strlen), or non-zero with *result set
** to a malloc'd error message (or NULL), which Python sees as an exception, or
** ERYX_CALLBACK_SUSPEND to suspend the execution ("Durable execution"). eryx
** frees *result. Called on a thread of eryx's, one per call, possibly several at
** once and after the execution that made the call has ended (its result is then
** dropped): it must be thread-safe, and user must outlive the builder's sandboxes.
** No call starts after eryx_sandbox_free, which waits for the calls still running.
*/
typedef int (*eryx_callback_fn)(void *user, const char *args_json, size_t args_len, char **result, size_t *result_len);

/*
** Registers a host callback that Python in the sandbox awaits: `await name(...)`,
** an async function in __main__ (a dotted name like "http.get" makes namespaces).
** description is free text; parameters_schema is a JSON Schema object (NULL: none)
** whose "properties", in order, also map positional arguments to names.
** list_callbacks() in the guest describes them all. A failing callback raises
** CallbackError (a name in __main__) with its message. Several calls run at once
** (asyncio.gather); top-level await works in executed code. Checked: the name
** (Python identifiers joined by dots), the schema (a JSON object), no duplicate.
*/
eryx_status eryx_builder_add_callback(eryx_builder *builder, const char *name, const char *description,
                                      const char *parameters_schema, eryx_callback_fn fn, void *user);

/*
** Per-execution limits on callbacks: at most max_invocations calls (0: none;
** default 1,000; past it the call raises CallbackError) and an answer within
** call_timeout_ms for each (0: none; default 30,000; past it the call raises
** CallbackError and a late answer is dropped). Arguments and results are capped at
** 16 MiB each.
*/
eryx_status eryx_builder_set_callback_limits(eryx_builder *builder, uint32_t max_invocations, uint64_t call_timeout_ms);

/*
** Sets the name of the __main__ variable whose value each execution returns as
** JSON (eryx_result_value); default "result". NULL turns the feature off. The
** variable is consumed: every execution deletes it from __main__ when it ends
** (successful or not, as pyeryx does), so in a session (keep_state) a later
** execution that does not set it reports nothing, and code cannot read it back.
*/
eryx_status eryx_builder_set_result_name(eryx_builder *builder, const char *name);

/*
** ---- Network and secrets (docs/NETWORK.md) ----------------------------------
** Sandboxes have no network unless eryx_builder_set_network turns it on. The host
** resolves every name, checks every address it resolved against the builder's
** policy, and connects to the address it checked (it never resolves twice). The
** guest gets TCP client sockets only: server sockets and UDP are refused.
** Patterns (hosts) are case-insensitive globs: '*' matches any run of characters,
** dots included ("*.example.com" matches "a.b.example.com", not "example.com"); a
** trailing dot of a name is ignored; an IP literal is matched in its canonical
** form ("127.0.0.1", "::1"). Every setter below copies what it is given and fails
** with ERYX_ERR_INVALID_ARGUMENT (and a message naming the bad value) on NULL,
** empty or malformed input, leaving the builder as it was.
** The eryx_builder_net_* setters need the network on: on a builder without it they
** fail with ERYX_ERR_INVALID_ARGUMENT (they never turn it on as a side effect).
** Sandboxes keep the policy they were created with; later setters do not change it.
*/

/*
** Turns TCP client networking on (enabled != 0) or off (0, the default: the
** guest's connect and getaddrinfo raise PermissionError). On starts from the
** default policy: any public host (no allowed-host patterns), every non-public
** range blocked (see eryx_builder_net_block_network), at most 10 connections
** open at once, a 30,000 ms connect timeout and a 60,000 ms I/O timeout.
** Turning it on when it is on keeps the policy as it is; off drops it.
*/
eryx_status eryx_builder_set_network(eryx_builder *builder, int enabled);

/*
** Adds an allowed-host pattern. With none (the default) any host whose addresses
** pass the network checks may be reached; with some, only names (and IP literals)
** matching one of them.
*/
eryx_status eryx_builder_net_allow_host(eryx_builder *builder, const char *pattern);

/* Adds a blocked-host pattern; it wins over every allowed pattern. */
eryx_status eryx_builder_net_block_host(eryx_builder *builder, const char *pattern);

/*
** Adds a CIDR ("10.0.0.0/8", "fd00::/8"; a bare address is a /32 or /128) that no
** resolved address may fall in. The list starts with every non-public range:
** 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16 (the cloud
** metadata address included), 172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24,
** 192.88.99.0/24, 192.168.0.0/16, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24,
** 224.0.0.0/4, 240.0.0.0/4 (255.255.255.255 included), ::/128, ::1/128,
** 64:ff9b::/96, 64:ff9b:1::/48, 100::/64, 2001::/23, 2001:db8::/32, 2002::/16,
** fc00::/7, fe80::/10, fec0::/10, ff00::/8. An IPv4-mapped or -compatible IPv6
** address is checked as the IPv4 address it carries. A CIDR with bits set past
** its prefix ("10.0.0.1/8") is refused, not widened.
*/
eryx_status eryx_builder_net_block_network(eryx_builder *builder, const char *cidr);

/* Empties the blocked-network list, defaults included (eryx_builder_net_block_network adds again). */
eryx_status eryx_builder_net_clear_blocked_networks(eryx_builder *builder);

/* Adds a CIDR exempt from the blocked networks. */
eryx_status eryx_builder_net_allow_network(eryx_builder *builder, const char *cidr);

/*
** Adds a pattern of names allowed to resolve into blocked networks (names routed
** inside on purpose, such as cluster DNS). Only list names whose DNS you control.
*/
eryx_status eryx_builder_net_allow_internal_host(eryx_builder *builder, const char *pattern);

/*
** Lets the guest reach this machine's loopback addresses (127.0.0.0/8, ::1) and the
** name "localhost" (which counts as matching the allowed-host patterns).
** "*.localhost" and the loopback addresses as literals count as matching too;
** 0.0.0.0 and :: (which reach this machine on Linux) stay blocked.
*/
eryx_status eryx_builder_net_allow_localhost(eryx_builder *builder);

/*
** Sets the connection limits: at most max_connections open at once per sandbox
** (>= 1; past it connect fails with an OSError naming the limit), a connect
** timeout and an I/O timeout in ms (0: none) after which the guest's call raises
** TimeoutError. The sandbox's own timeout and cancellation stop any wait sooner.
*/
eryx_status eryx_builder_net_set_limits(eryx_builder *builder, uint32_t max_connections, uint64_t connect_timeout_ms,
                                        uint64_t io_timeout_ms);

/*
** Adds root certificates the host trusts for the guest's TLS connections, beside
** the system's CA store: len bytes of one DER certificate, or PEM text holding one
** or more. Checked when added.
*/
eryx_status eryx_builder_net_add_root_cert(eryx_builder *builder, const void *data, size_t len);

/* Whether the system's CA store is trusted (1, the default) or only the added roots (0). */
eryx_status eryx_builder_net_use_system_roots(eryx_builder *builder, int use);

/* An address a resolver returns: family 4 (the first 4 bytes of addr) or 6. */
typedef struct eryx_net_addr {
    int family;
    unsigned char addr[16]; /* network byte order */
} eryx_net_addr;

/*
** A resolver: fills at most cap addresses of name (a host name, never an IP
** literal) and sets *count; returns 0 (with *count 0 when the name does not
** exist) or non-zero when resolution failed. Called on the thread running the
** execution, once per connect or getaddrinfo of the guest, while the guest waits.
*/
typedef int (*eryx_resolve_fn)(void *user, const char *name, eryx_net_addr *addrs, size_t cap, size_t *count);

/*
** Replaces the host's resolver (c-ares, reading /etc/hosts and the system's DNS
** servers) with fn; NULL restores it. For tests and for embedders with their own
** name service. user must outlive the builder's sandboxes, and fn must be
** thread-safe: the builder's sandboxes may call it from several threads at once.
*/
eryx_status eryx_builder_net_set_resolver(eryx_builder *builder, eryx_resolve_fn fn, void *user);

/*
** Adds a secret. The guest sees the environment variable `name` holding a random
** placeholder, drawn afresh for each sandbox; the host replaces the placeholder
** with value only in bytes sent to a host matching one of the n_hosts patterns
** (n_hosts 0: no host), and refuses a send that carries it toward any other host
** (the guest gets PermissionError). Every byte read from the network has value
** replaced before the guest sees it. value must not be empty.
*/
eryx_status eryx_builder_add_secret(eryx_builder *builder, const char *name, const char *value,
                                    const char *const *allowed_hosts, size_t n_hosts);

/* What eryx_builder_set_scrub scrubs of placeholders and secret values. */
#define ERYX_SCRUB_STDOUT 1u
#define ERYX_SCRUB_STDERR 2u
#define ERYX_SCRUB_FILES 4u  /* bytes the guest writes to files */
#define ERYX_SCRUB_RESULT 8u /* the result variable's JSON and its error */

/*
** Chooses what is scrubbed of every secret's placeholder and value (replaced by
** "[REDACTED]"): an OR of ERYX_SCRUB_*. Default: stdout, stderr and files.
** ERYX_SCRUB_STDERR covers the exception's message and traceback too (they are
** stderr's text). Unknown bits: ERYX_ERR_INVALID_ARGUMENT. Out of memory while
** scrubbing, what could not be scrubbed is dropped (never kept) and the execution
** returns ERYX_ERR_NO_MEMORY.
*/
eryx_status eryx_builder_set_scrub(eryx_builder *builder, unsigned flags);

/*
** Returns the message of the builder's last failure, or "" if none. The string is
** owned by the builder and valid until its next call or eryx_builder_free.
*/
const char *eryx_builder_errmsg(const eryx_builder *builder);

/*
** Creates a sandbox from a builder: loads the compiled guest (compiled and cached on
** the first use per machine; shared by every sandbox of the process after that),
** instantiates it with eryx's own WASI host and virtual filesystem, and starts
** Python. On success *out owns a new sandbox; on failure *out is NULL, the status
** says why and eryx_builder_errmsg(builder) has the details (including what Python
** printed if it failed to start). Sandboxes are independent: different sandboxes
** may be used at the same time from different threads.
*/
eryx_status eryx_sandbox_new(eryx_builder *builder, eryx_sandbox **out);

/*
** Frees a sandbox, its guest instance and its in-memory files. NULL is allowed.
*/
void eryx_sandbox_free(eryx_sandbox *sandbox);

/* Reads up to len bytes of the guest's stdin into buf; returns the count, 0 at the
** end of input, or -1 on error. Called on the thread running eryx_sandbox_execute. */
typedef ptrdiff_t (*eryx_read_fn)(void *user, void *buf, size_t len);

/* Receives output as the guest writes it: stream is 1 (stdout) or 2 (stderr), the
** bytes are valid only during the call. Called on the executing thread. */
typedef void (*eryx_output_fn)(void *user, int stream, const char *data, size_t len);

/*
** Sets where the guest's stdin comes from for the following executions (fn NULL:
** empty stdin, the default). The sandbox never reads the host's own stdin unless
** the embedder passes a function that does. A timeout or cancel cannot interrupt
** the callback itself (it is the embedder's code): it takes effect when it returns.
*/
eryx_status eryx_sandbox_set_stdin(eryx_sandbox *sandbox, eryx_read_fn fn, void *user);

/*
** Makes the guest's stdin read from a host file descriptor (for example 0, the
** process's own stdin; -1: back to empty stdin). Unlike a callback, eryx waits on
** the fd itself, so a timeout or a cancel interrupts a guest blocked reading it.
** The fd stays the caller's: it is never closed by eryx.
*/
eryx_status eryx_sandbox_set_stdin_fd(eryx_sandbox *sandbox, int fd);

/*
** Asks the sandbox's running execution to stop, from any thread (the one safe
** concurrent call on a sandbox; never concurrent with eryx_sandbox_free). The
** guest stops within a few milliseconds wherever it is, and eryx_sandbox_execute
** returns ERYX_ERR_CANCELLED; the next execution starts afresh. A cancel made
** while no execution runs stops the next one as soon as it starts.
*/
void eryx_sandbox_cancel(eryx_sandbox *sandbox);

/*
** Sets a function that receives stdout and stderr chunks as they are written
** (NULL: none, the default). Output is captured in the result either way.
*/
eryx_status eryx_sandbox_set_output(eryx_sandbox *sandbox, eryx_output_fn fn, void *user);

/*
** Runs `len` bytes of Python source (UTF-8) in the sandbox's __main__ module. Each
** execution starts from the sandbox's start state, unless the builder chose
** eryx_builder_set_keep_state (then variables, imports and files in /tmp stay).
** On return *result (when result is not NULL) owns a new result holding stdout,
** stderr, the exception if any, the exit code and the duration; free it with
** eryx_result_free. Statuses: ERYX_OK (ran to the end, or exited with status 0),
** ERYX_ERR_PYTHON_EXCEPTION (uncaught exception: see eryx_result_exception_*),
** ERYX_ERR_EXIT (sys.exit/os._exit with a non-zero status: eryx_result_exit_code),
** ERYX_ERR_TRAP (the guest crashed; the next execution starts afresh),
** ERYX_ERR_SANDBOX_DEAD (a fresh start could not be made: create a new sandbox).
*/
eryx_status eryx_sandbox_execute(eryx_sandbox *sandbox, const char *code, size_t len, eryx_result **result);

/*
** Sessions. A sandbox built with eryx_builder_set_keep_state(b, 1) is a session:
** variables, functions, classes and imports stay from one execution to the next.
** These four work on any pre-initialized sandbox; each may be called between
** executions (never during one).
**
** eryx_sandbox_reset: back to the start state (a fresh instance of the snapshot:
** the imports and setup code's state, nothing of the executions). Microseconds.
*/
eryx_status eryx_sandbox_reset(eryx_sandbox *sandbox);

/*
** Deletes the names the executions added to __main__ since the instance started;
** the setup code's names, imported modules and other interpreter state stay.
*/
eryx_status eryx_sandbox_clear(eryx_sandbox *sandbox);

/*
** Captures the whole interpreter state of the session (every object: lambdas,
** generators half-way through, io.StringIO buffers, modules) as a compact blob:
** the 4 KiB pages of guest memory that differ from the start state, compressed
** with zstd. *blob (free it with eryx_blob_free) holds *len bytes. Host state is
** not in it: files in /tmp or /data are not captured, and a guest with open files
** is refused (ERYX_ERR_INVALID_ARGUMENT; close them first). Needs
** pre-initialization (ERYX_ERR_INVALID_ARGUMENT otherwise). The blob ends with an
** HMAC-SHA-256 under the sandbox's session key (eryx_builder_set_session_key).
*/
eryx_status eryx_sandbox_snapshot(eryx_sandbox *sandbox, void **blob, size_t *len);

/*
** Restores a blob from eryx_sandbox_snapshot into this sandbox, replacing its
** state: in this or another process (one with the same session key), into any
** sandbox built with the same configuration (guest, engine, environment, imports
** and setup code: the blob names that artifact). A blob from another artifact,
** or damaged, is refused with ERYX_ERR_INVALID_ARGUMENT and a message, and the
** sandbox is unchanged; a restore that fails half-way leaves the sandbox at its
** start state.
** The blob's MAC is checked first, with the sandbox's session key: a blob made
** with another key (by default, in another process), or changed anywhere, is
** refused with ERYX_ERR_INVALID_ARGUMENT before anything in it is believed. A
** blob whose memory is larger than the sandbox's memory limit
** (eryx_builder_set_max_memory) is refused with ERYX_ERR_MEMORY_LIMIT before
** anything is allocated. A blob of an older eryx (format 1, unauthenticated) is
** refused: take the snapshot again. Besides the guest's memory, the restore
** allocates only the page list (4 bytes a page: at most 1/1024 of the memory
** allowed) and zstd's buffers (its window capped at 2 MiB).
*/
eryx_status eryx_sandbox_restore(eryx_sandbox *sandbox, const void *blob, size_t len);

/*
** Sets the key that authenticates the session blobs of the builder's sandboxes
** (eryx_sandbox_snapshot writes an HMAC-SHA-256 with it, eryx_sandbox_restore
** checks it): len bytes, at least 32 (use 32 random bytes; a longer key is
** hashed, as HMAC does), copied. A sandbox keeps the key it was made with. Blobs
** restore only where the key is the same, so processes that exchange blobs share
** a key, and a process that must not accept another's blobs keeps its own.
** key NULL with len 0: back to the default, the process's own key (32 bytes from
** getrandom, made on first use, thread-safe, kept until the process exits; a
** forked child inherits it), so blobs restore only in the process that made them.
** The key also authenticates the builder's exported start states
** (eryx_builder_export_snapshot / _import_snapshot), whose default is the
** machine's key instead (see there).
** ERYX_ERR_INVALID_ARGUMENT for a shorter key.
*/
eryx_status eryx_builder_set_session_key(eryx_builder *builder, const void *key, size_t len);

/*
** Changes the wall-clock timeout of the sandbox's following executions, in
** milliseconds (0: none), as eryx_builder_set_timeout_ms does for new sandboxes.
** Between executions only.
*/
eryx_status eryx_sandbox_set_timeout_ms(eryx_sandbox *sandbox, uint64_t ms);

/*
** Changes the instruction budget of the sandbox's following executions (0: no
** budget, the code stays metered). Only for a sandbox whose builder had a budget
** (eryx_builder_set_fuel): metering is compiled into the code, so a sandbox built
** without it refuses with ERYX_ERR_INVALID_ARGUMENT. Between executions only.
*/
eryx_status eryx_sandbox_set_fuel(eryx_sandbox *sandbox, uint64_t units);

/* Frees a blob returned by eryx_sandbox_snapshot. NULL is allowed. */
void eryx_blob_free(void *blob);

/*
** Returns the message of the sandbox's last failure, or "" if none. Owned by the
** sandbox; valid until its next call or eryx_sandbox_free.
*/
const char *eryx_sandbox_errmsg(const eryx_sandbox *sandbox);

/*
** Returns what the guest wrote to stdout during the execution (not NUL-terminated
** in general, but a NUL always follows the last byte); *len gets its length when
** len is not NULL. Owned by the result.
*/
const char *eryx_result_stdout(const eryx_result *result, size_t *len);

/*
** Returns what the guest wrote to stderr (tracebacks included), as for
** eryx_result_stdout.
*/
const char *eryx_result_stderr(const eryx_result *result, size_t *len);

/*
** Returns the uncaught exception's type name ("ValueError", or "module.Class" for
** classes outside builtins and __main__), or NULL when none was raised.
*/
const char *eryx_result_exception_type(const eryx_result *result);

/*
** Returns the uncaught exception's message (str(exc)), or NULL when none.
*/
const char *eryx_result_exception_message(const eryx_result *result);

/*
** Returns the uncaught exception's formatted traceback (as printed on stderr), or
** NULL when none.
*/
const char *eryx_result_traceback(const eryx_result *result);

/*
** Returns the value of the result variable (eryx_builder_set_result_name) after a
** successful execution, JSON-encoded (UTF-8), or NULL when the variable does not
** exist or could not be encoded. Owned by the result.
*/
const char *eryx_result_value(const eryx_result *result);

/*
** Returns why the result variable could not be encoded as JSON, in pyeryx's words
** ("result is not JSON-serializable: set (TypeError)": the value's type, then the
** encoder's exception; NaN and Infinity are refused too: "float (ValueError)"), or
** NULL. The execution still succeeds.
*/
const char *eryx_result_value_error(const eryx_result *result);

/*
** Returns 1 if the execution's output on stream (1 stdout, 2 stderr) was cut at
** the output limit (eryx_builder_set_output_limit), else 0.
*/
int eryx_result_truncated(const eryx_result *result, int stream);

/*
** Returns the guest's linear memory size at the end of the execution, in bytes:
** its peak, since wasm memory never shrinks.
*/
uint64_t eryx_result_peak_memory(const eryx_result *result);

/*
** Returns the fuel the execution consumed (0 unless eryx_builder_set_fuel was used).
*/
uint64_t eryx_result_fuel_consumed(const eryx_result *result);

/*
** Returns how many host callbacks the execution started.
*/
uint32_t eryx_result_callback_invocations(const eryx_result *result);

/* An execution's network activity (eryx_result_net_stats). */
typedef struct eryx_net_stats {
    uint32_t connections;    /* connections opened */
    uint32_t refused;        /* connects, resolutions and sends the policy refused */
    uint64_t bytes_sent;     /* to the network, after secret substitution */
    uint64_t bytes_received; /* from the network, before scrubbing */
} eryx_net_stats;

/* Fills *stats with the execution's network activity (zeros without a network). */
void eryx_result_net_stats(const eryx_result *result, eryx_net_stats *stats);

/*
** The files handed back by the execution (eryx_builder_collect_files), sorted by
** path: how many; the i-th one's absolute path in the sandbox and its bytes (*len
** gets their count when len is not NULL); NULL (and 0) when i is out of range.
** Owned by the result. eryx_result_files_left_out: how many were not handed back
** (past the byte or file cap, or unreadable).
*/
size_t eryx_result_file_count(const eryx_result *result);
const char *eryx_result_file_path(const eryx_result *result, size_t i);
const uint8_t *eryx_result_file_data(const eryx_result *result, size_t i, size_t *len);
size_t eryx_result_files_left_out(const eryx_result *result);

/*
** Returns the exit code `python -c` would have given: 0, 1 after an uncaught
** exception, or the SystemExit / os._exit status.
*/
int eryx_result_exit_code(const eryx_result *result);

/*
** Returns the wall-clock duration of the execution in nanoseconds.
*/
uint64_t eryx_result_duration_ns(const eryx_result *result);

/*
** Frees a result. NULL is allowed and ignored.
*/
void eryx_result_free(eryx_result *result);

/*
** Shared storage: an in-memory filesystem that outlives sandboxes and that several
** sandboxes (in several threads) mount at once, each seeing the others' files as
** soon as they are written (eryx_builder_add_storage). It holds at most max_bytes
** in total, counted as for eryx_builder_set_memfs_limit (file contents and the
** names, nodes and directory tables of its files and directories; 0: no cap; an
** operation past it fails in the guest with "No space left on device"), and has
** no entry cap. It is not part of any snapshot: a session's
** reset, clear or restore leaves its files as they are. Returns NULL when out of
** memory. Thread-safe; release with eryx_storage_release.
*/
typedef struct eryx_storage eryx_storage;
eryx_storage *eryx_storage_new(uint64_t max_bytes);

/*
** Drops the caller's reference to a storage; builders and sandboxes that mount it
** hold their own, and the last reference frees its files. NULL is allowed.
*/
void eryx_storage_release(eryx_storage *storage);

/* Returns the bytes of file contents the storage holds now. */
uint64_t eryx_storage_used(eryx_storage *storage);

/*
** Mounts a shared storage, read-write, at an absolute guest path ("/data" replaces
** the sandbox's own in-memory /data) in the builder's sandboxes; the builder and
** each sandbox keep a reference. The same rules as eryx_builder_add_mount apply to
** the path (not "/", the stdlib or /packages; one mount per path).
*/
eryx_status eryx_builder_add_storage(eryx_builder *builder, eryx_storage *storage, const char *guest_path);

/*
** Exports the builder's pre-initialized start state (Python started, the
** preimports imported, the setup code run: made now if no cache holds it) as one
** self-contained blob: a header naming the configuration it was made for, then the
** snapshot image compressed with zstd, then an HMAC-SHA-256 of all of it. The key:
** the builder's session key (eryx_builder_set_session_key) when set, else the
** machine's: 32 random bytes in "state.key" in the builder's cache directory,
** made on first use (mode 0600), so another process of this user with the same
** cache directory imports the blob; when the builder has no cache directory, or
** it cannot hold the key, the process's own key (the blob then imports only in
** this process). *blob (free it with eryx_blob_free) holds *len bytes.
** ERYX_ERR_INVALID_ARGUMENT when the builder has pre-initialization off.
*/
eryx_status eryx_builder_export_snapshot(eryx_builder *builder, void **blob, size_t *len);

/*
** Installs a blob from eryx_builder_export_snapshot as the builder's start state,
** in the builder's cache tiers (the process's memory tier, and its cache directory
** or backend when it has one), so its sandboxes start from it without running
** Python's start, the imports or the setup code again. The blob must come from a
** builder of the same configuration on the same guest (guest build, stdlib image,
** environment, preimports, setup code, packages, callbacks): another one, or a
** damaged blob, is refused with ERYX_ERR_INVALID_ARGUMENT and a message saying
** which. The MAC is checked first, with the key eryx_builder_export_snapshot
** describes: a blob made under another key (another machine, another cache
** directory, another session key), or changed anywhere, is refused with
** ERYX_ERR_INVALID_ARGUMENT before anything in it is believed; so is a blob of
** an older eryx (unauthenticated: export it again). An image larger than the
** builder's memory limit (eryx_builder_set_max_memory) is refused with
** ERYX_ERR_MEMORY_LIMIT before it is allocated.
*/
eryx_status eryx_builder_import_snapshot(eryx_builder *builder, const void *blob, size_t len);

/*
** ---- Shipping compiled code (docs/SCALE.md)
**
** A machine whose cache lacks the compiled interpreter compiles it (seconds). A
** cluster of machines of the same kind can instead ship it: one exports the
** module its builder's sandboxes instantiate, the others import it into their
** cache tiers before their first sandbox.
*/

/* How eryx_builder_import_module went. */
typedef enum eryx_module_import {
    ERYX_MODULE_PRESENT = 0,   /* a cache tier had the module already: the blob was not needed */
    ERYX_MODULE_INSTALLED = 1, /* the blob's module was loaded and put in the builder's cache tiers */
    ERYX_MODULE_COMPILED = 2   /* this machine's engine refused it (other CPU features, another wasmtime
                               ** build): compiled here instead, with a warning (eryx_builder_set_warning_handler) */
} eryx_module_import;

/*
** Exports the compiled module the builder's sandboxes instantiate (the bare module
** start states run in: the interpreter, compiled by Cranelift; loaded from the
** cache, or compiled now) as one blob: a header naming the module and the
** engine's settings, wasmtime's serialized module (native code, ~30 MB), then an
** HMAC-SHA-256 of all of it under the key eryx_builder_export_snapshot describes
** (set a session key, eryx_builder_set_session_key, to import it on other
** machines). *blob (free it with eryx_blob_free) holds *len bytes.
** ERYX_ERR_INVALID_ARGUMENT when the builder has pre-initialization off.
*/
eryx_status eryx_builder_export_module(eryx_builder *builder, void **blob, size_t *len);

/*
** Puts a blob from eryx_builder_export_module into the builder's cache tiers (the
** memory tier, and its cache directory or backend), so the builder's sandboxes,
** and every later process using that cache, load it instead of compiling. The MAC
** is checked first (the module is native code: only a blob made under the same key
** is loaded at all); then the blob must name this builder's module and engine
** settings (the same guest build, wasmtime, compiler settings). Either failing is
** ERYX_ERR_INVALID_ARGUMENT with a message, and nothing changes. When the cache has
** the module already, the blob is not used. When wasmtime refuses it (it checks
** that the code was compiled for CPU features this machine has, by the same
** wasmtime), the module is compiled here instead. *how (may be NULL) says which of
** the three happened. Thread-safe as the builder's other calls are.
*/
eryx_status eryx_builder_import_module(eryx_builder *builder, const void *blob, size_t len, eryx_module_import *how);

/* Counters of this process's expensive work, since it started (monotonic). */
typedef struct eryx_process_counters {
    uint64_t modules_compiled;  /* modules compiled by Cranelift: the interpreter, the bare module, extensions */
    uint64_t modules_shipped;   /* modules installed from eryx_builder_import_module's blobs */
    uint64_t start_states_made; /* pre-initializations run (each layer of a start state once) */
} eryx_process_counters;

/* Fills *out (nothing on NULL). Thread-safe; eryx_shutdown does not reset them. */
void eryx_process_counters_get(eryx_process_counters *out);

/*
** ---- Durable execution (docs/DURABLE.md)
**
** An execution can keep a journal of its host callbacks: each call's name, its
** arguments in canonical form (the JSON object compact, keys sorted) and its
** outcome (the JSON result, or the error message the guest saw). Given that
** journal, a later execution of the same code replays it: a call whose name and
** arguments match an entry returns the recorded outcome without calling the host
** (entries of the same name and arguments are taken in their order: a FIFO per
** name and arguments), until the first call that matches none; from there every
** call is live. A host callback can suspend the execution (ERYX_CALLBACK_SUSPEND):
** the guest stops at once, that call is not journaled, and the journal so far lets
** a later execution (in this process or another) resume: the calls already made
** are replayed, the suspended one runs live again.
*/

/*
** A return value of eryx_callback_fn: suspend the execution. *result is then a
** malloc'd reason (or NULL; eryx frees it), handed back by
** eryx_replay_suspended_reason. The guest stops as for a cancel, within
** milliseconds, whatever it is doing, and starts no other call. Calls still
** running then (asyncio.gather runs several at once) are waited for, each until
** it answers or its callback timeout passes (a cancel or the execution's timeout
** ends the wait), and journaled, so a resume does not run them again; one that
** answers later is not, and runs again on resume. The execution returns
** ERYX_ERR_SUSPENDED. Outside
** eryx_sandbox_execute_with_journal it stops the execution just the same (there
** is no journal to resume from; a session then starts afresh, as after a timeout).
*/
#define ERYX_CALLBACK_SUSPEND 0x53555350 /* "SUSP" */

/* Bounds of a journal: what eryx_sandbox_execute_with_journal accepts and what it
** records. A journal text longer than ERYX_JOURNAL_MAX_BYTES, or with more than
** ERYX_JOURNAL_MAX_ENTRIES entries, is refused (ERYX_ERR_INVALID_ARGUMENT). While
** recording, a call that would make the journal (as compact JSON text, the code
** and the signature included) exceed either bound is not recorded: a new call
** fails in the guest without reaching the host (CallbackError "the journal is
** full"), and a call that already ran gives the guest that error instead of its
** result. A journal eryx wrote therefore always fits. Keys (to sign journals)
** are at least ERYX_JOURNAL_KEY_MIN bytes. */
#define ERYX_JOURNAL_MAX_BYTES ((size_t)64 << 20)
#define ERYX_JOURNAL_MAX_ENTRIES 100000u
#define ERYX_JOURNAL_KEY_MIN 32u

/* What a journaled execution leaves: the new journal, how many calls were
** replayed, and the suspended call if any. Free it with eryx_replay_free. */
typedef struct eryx_replay eryx_replay;

/*
** Runs code as eryx_sandbox_execute does (same statuses, same result), keeping a
** journal of its host callbacks and replaying `journal` (journal_len bytes of
** JSON text: a journal from eryx_replay_journal, possibly stored and read back in
** another process; NULL with 0: record only).
**
** The journal's format is the reference's (pyeryx 0.11): {"code": the code,
** "entries": [{"index", "name", "args_json", "result": {"Ok": value} or {"Err":
** message}}]}; unknown members are ignored. Unsigned, the code is recorded, not
** compared: replaying a journal into other code replays what matches.
**
** key (key_len >= ERYX_JOURNAL_KEY_MIN bytes, copied; NULL with 0: none) signs
** the new journal with HMAC-SHA-256 (a "signature" member over the rest in
** canonical form) and is required of the journal given: a journal without a
** signature, or whose signature does not verify under key (changed anywhere, or
** signed with another key), is refused before any of it is believed, so journals
** may be stored where the sandboxed code's owner can write. A signed journal given
** without a key is refused too, and so is a signed journal whose code is not
** code (its answers were given to that code). Without a key a journal is trusted
** input: its recorded results reach the guest as they are.
**
** Refusals (nothing runs, *result and *replay stay NULL, the message says what is
** wrong): ERYX_ERR_INVALID_ARGUMENT for a journal that is not JSON, not a journal
** object (the entry it stumbles on is named), too large (see the bounds), unsigned
** or wrongly signed, or a key shorter than ERYX_JOURNAL_KEY_MIN.
**
** Otherwise the execution runs and *replay (when replay is not NULL) owns its
** outcome, whatever the status: the journal holds every call whose outcome the
** guest got or could have got (replayed ones included, in the order they
** finished), and not the suspended call. ERYX_ERR_SUSPENDED when a callback
** returned ERYX_CALLBACK_SUSPEND (eryx_replay_suspended_* say which, with what
** and why; the message says so too).
**
** A session (eryx_builder_set_keep_state) with callbacks has its changed pages
** copied into host memory before the run (uncompressed, never leaving the
** process; a memcpy of them, and that much memory for the run) and, when the
** run halts (suspended, timed out, cancelled, out of fuel or output, crashed),
** restored to it: resuming in the same session does not apply the replayed calls'
** effects on its state twice. Files it wrote and network calls are not undone.
** When the copy cannot be taken (open files, no pre-initialization, calls still
** pending, no memory) the run is unprotected: a halt resets the session to its start state,
** as eryx_sandbox_execute does. When the restore fails, the session is at its
** start state, the status is the restore's and the replay has no suspended call:
** resume with the journal in another session.
*/
eryx_status eryx_sandbox_execute_with_journal(eryx_sandbox *sandbox, const char *code, size_t len, const char *journal,
                                              size_t journal_len, const void *key, size_t key_len, eryx_result **result,
                                              eryx_replay **replay);

/* The new journal: compact JSON text (*len bytes when len is not NULL),
** NUL-terminated, owned by the replay. Signed when a key was given. */
const char *eryx_replay_journal(const eryx_replay *replay, size_t *len);

/* How many calls were served from the journal given, and how many entries the new
** journal holds. */
uint32_t eryx_replay_replayed(const eryx_replay *replay);
uint32_t eryx_replay_entries(const eryx_replay *replay);

/* The call that suspended the execution: its name (NULL when none suspended it),
** its arguments (canonical JSON text) and the reason its callback gave ("" when
** none). Owned by the replay. */
const char *eryx_replay_suspended_name(const eryx_replay *replay);
const char *eryx_replay_suspended_args(const eryx_replay *replay);
const char *eryx_replay_suspended_reason(const eryx_replay *replay);

/* Frees a replay. NULL is allowed and ignored. */
void eryx_replay_free(eryx_replay *replay);

/*
** ---- Pools (docs/POOLS.md) ----------------------------------------------------
** A pool lends sandboxes made from one configuration to many threads: at most
** max_size leases at once, warm sandboxes kept idle between leases (at least
** min_idle of them), callers beyond max_size waiting (a condition variable) up to
** the acquire timeout. Every eryx_pool_* call is thread-safe; a leased sandbox is
** the lessee's alone (one thread at a time, as any sandbox) until it is released.
** Nothing of one lease reaches the next: each execution of a pooled sandbox starts
** from the start state (pools refuse keep-state builders' sandboxes for reuse:
** they are freed on release), and release puts the pool's timeout and fuel budget
** back and drops the lease's output function, stdin and pending cancel.
** A lease needing another configuration (other callbacks, another memory cap)
** comes from eryx_pool_acquire_with: it counts against max_size like any lease,
** and its sandbox is freed on release instead of pooled.
** Failing calls leave a message for eryx_pool_errmsg (per thread).
*/
typedef struct eryx_pool eryx_pool;

typedef struct eryx_pool_options {
    uint32_t max_size;           /* leases out at once, 1..65536; default 10 */
    uint32_t min_idle;           /* warm sandboxes made at once and kept by eviction; <= max_size; default 1 */
    uint64_t acquire_timeout_ms; /* how long eryx_pool_acquire waits (0: not at all); default 30,000 */
    uint64_t idle_timeout_ms;    /* idle longer than this: evictable (eryx_pool_evict_idle); default 300,000 */
} eryx_pool_options;

/* Fills opts with the defaults above (pyeryx 0.11's create_pool defaults). */
void eryx_pool_options_init(eryx_pool_options *opts);

/*
** Creates a pool of sandboxes described by builder, which the pool copies (the
** caller keeps it, and may change or free it at once: the pool does not see
** later changes). opts NULL: the defaults. Makes min_idle sandboxes before it
** returns. On success *out owns the pool (free it with eryx_pool_free); on
** failure *out is NULL and eryx_pool_errmsg says why: ERYX_ERR_INVALID_ARGUMENT
** (NULL argument, max_size 0 or above 65536, min_idle above max_size), or the
** status of eryx_sandbox_new when a warm sandbox could not be made.
** Callback functions and storages the builder refers to must outlive the pool.
*/
eryx_status eryx_pool_new(const eryx_builder *builder, const eryx_pool_options *opts, eryx_pool **out);

/*
** Leases a sandbox: an idle one (the most recently released), or a new one made
** from the pool's builder when none is idle and fewer than max_size are leased.
** When max_size are leased, waits until one is released, up to the pool's
** acquire timeout: ERYX_ERR_POOL_TIMEOUT then; ERYX_ERR_POOL_CLOSED when the pool
** is (or gets, while waiting) closed. A sandbox that cannot be made returns
** eryx_sandbox_new's status. *out is NULL on failure. The sandbox stays the
** pool's: give it back with eryx_pool_release, never eryx_sandbox_free.
*/
eryx_status eryx_pool_acquire(eryx_pool *pool, eryx_sandbox **out);

/*
** As eryx_pool_acquire, but never waits: ERYX_ERR_POOL_EXHAUSTED when max_size
** sandboxes are leased.
*/
eryx_status eryx_pool_try_acquire(eryx_pool *pool, eryx_sandbox **out);

/*
** A lease with its own configuration: waits for capacity as eryx_pool_acquire
** does (nowait != 0: as eryx_pool_try_acquire), then makes a new sandbox from
** builder (not the pool's; used only during this call, by this thread) and leases
** it. Its sandbox is freed on release. Used for what cannot change on a warm
** sandbox (host callbacks, the memory cap: they are part of its start state).
** When its permit would make idle + leased pass max_size, the oldest idle
** sandbox is freed first. Errors as eryx_pool_acquire; the builder's own errors
** are also left on it (eryx_builder_errmsg).
*/
eryx_status eryx_pool_acquire_with(eryx_pool *pool, eryx_builder *builder, int nowait, eryx_sandbox **out);

/*
** The state of one acquisition waited for in slices (eryx_pool_acquire_slice):
** zero it before the first call, pass the same one to every call of that
** acquisition.
*/
typedef struct eryx_pool_wait {
    uint64_t start_ns; /* when the wait began (CLOCK_MONOTONIC); 0: not yet */
    int waited;        /* it had to wait (counted in wait_count when it succeeds) */
} eryx_pool_wait;

/*
** An acquisition whose wait the caller can interrupt: as eryx_pool_acquire
** (builder NULL) or eryx_pool_acquire_with (builder not NULL), but each call waits
** at most slice_ms and then returns ERYX_ERR_POOL_EXHAUSTED with time left: the
** caller checks what it must (a signal, a cancel) and calls again with the same
** *wait. The pool's acquire timeout counts from the first call of the acquisition
** (ERYX_ERR_POOL_TIMEOUT then); ERYX_ERR_POOL_CLOSED as eryx_pool_acquire. The
** wait statistics count the whole wait, once. ERYX_ERR_INVALID_ARGUMENT for a
** NULL wait. An embedding language binds it to make a blocked acquire
** interruptible (Python's Ctrl-C).
*/
eryx_status eryx_pool_acquire_slice(eryx_pool *pool, eryx_builder *builder, eryx_pool_wait *wait, uint64_t slice_ms,
                                    eryx_sandbox **out);

/*
** Gives a leased sandbox back. Between executions only (never during one). The
** pool resets what a lessee may have set (timeout, fuel, output function,
** stdin, a pending cancel, a session snapshot restored into it) and keeps it idle; it frees it instead when the
** sandbox came from eryx_pool_acquire_with, keeps state (keep-state builder),
** can no longer run (ERYX_ERR_SANDBOX_DEAD), or the pool is closed. Wakes one
** waiter. ERYX_ERR_INVALID_ARGUMENT for a sandbox this pool has not leased (or
** released already): it is then left alone. The check is by address: a
** sandbox released twice, whose address was meanwhile leased again (pooled, or
** freed and reused by malloc), gives back the other lease: release once.
*/
eryx_status eryx_pool_release(eryx_pool *pool, eryx_sandbox *sandbox);

/* A snapshot of a pool's counters (pyeryx 0.11's PoolStats). */
typedef struct eryx_pool_stats {
    uint64_t total;              /* idle + in_use */
    uint64_t idle;               /* warm sandboxes waiting for a lease */
    uint64_t available;          /* leases that may still be taken now: max_size - in_use, less the
                                 ** sandboxes a release or an eviction is still freeing */
    uint64_t in_use;             /* leases out (and acquisitions making their sandbox) */
    uint64_t total_acquisitions; /* successful acquisitions since the pool was made */
    uint64_t total_creations;    /* sandboxes made by the pool (warm-up, on demand, acquire_with) */
    uint64_t wait_count;         /* successful acquisitions that had to wait */
    double total_wait_ms;        /* the time they waited */
    double average_wait_ms;      /* total_wait_ms / wait_count, 0 when none waited */
} eryx_pool_stats;

/* Fills *stats. ERYX_ERR_INVALID_ARGUMENT on NULL. */
eryx_status eryx_pool_stats_get(eryx_pool *pool, eryx_pool_stats *stats);

/*
** Frees the idle sandboxes that have been idle longer than the pool's idle
** timeout, the oldest first, keeping at least min_idle. Returns how many it freed
** (0 for NULL). Pools never evict on their own: call it from a timer.
*/
size_t eryx_pool_evict_idle(eryx_pool *pool);

/*
** Closes the pool: idle sandboxes are freed, waiting and later acquisitions fail
** with ERYX_ERR_POOL_CLOSED, leases out keep working and are freed when
** released. Calling it again is harmless. NULL is ignored.
*/
void eryx_pool_close(eryx_pool *pool);

/* 1 when the pool is closed, else 0 (NULL: 1). */
int eryx_pool_is_closed(eryx_pool *pool);

/*
** Closes and frees the pool and its builder. Every lease must have been released
** and no thread may be inside an eryx_pool call on it (a sandbox still leased is
** freed here, under its lessee). NULL is ignored.
*/
void eryx_pool_free(eryx_pool *pool);

/*
** The message of the calling thread's last failing eryx_pool_* call ("" if none):
** per thread, as pools are shared between threads. Valid until this thread's next
** eryx_pool_* call. pool may be NULL (eryx_pool_new failed).
*/
const char *eryx_pool_errmsg(const eryx_pool *pool);

#ifdef __cplusplus
}
#endif
#endif /* ERYX_H */
