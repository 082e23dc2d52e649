/* Internals of src/sandbox/ shared with eryx's own tools (eryx repl, the tests, and
** eryx-bench, which includes this internal header and no other). */
#ifndef ERYX_SANDBOX_INTERNAL_H
#define ERYX_SANDBOX_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "eryx.h"

#ifdef ERYX_BENCH_HOOKS
/* Benchmark-only hooks, for eryx-bench: compiled in only when the build asks for
** them (cmake -DERYX_BENCH_HOOKS=ON), so that other builds carry no code path for
** them (no phase clock reads on creation, no choice of engine kind). */

/* How long the sandbox's creation spent in each phase, in nanoseconds: [0] getting
** the module and setting up the VFS and WASI state, [1] instantiating the module,
** [2] starting Python (_initialize and eryx_init), or reseeding a snapshot. */
void eryx__sandbox_phases(const eryx_sandbox *sandbox, uint64_t ns[3]);

/* The engine kinds eryx__builder_set_engine takes: eryx__engine_kind's values
** (src/engine/engine.h; src/sandbox/tools.c checks that they agree). */
enum { ERYX__TOOLS_ENGINE_STANDARD = 0, ERYX__TOOLS_ENGINE_EPOCH = 2 };

/* Chooses the builder's engine kind; eryx-bench uses it to measure what epoch
** checks cost (EPOCH: with them, STANDARD: without, interrupts by revocation). */
void eryx__builder_set_engine(eryx_builder *builder, int kind);
#endif

/* True when the sandbox instantiates a snapshot module (pre-initialized). */
bool eryx__sandbox_preinit(const eryx_sandbox *sandbox);

/* The guest module alone through the cache tiers (src/sandbox/tools.c), for
** eryx-bench, which times the tiers without a sandbox: the SHA-256 (hex) of
** guest_dir's python.wasm; then getting the module of wasm_path (whose hash is
** sha256) for the standard engine from the in-process tier memory (NULL: none),
** else the disk tier cache_dir (NULL: none; bounded to max_bytes), else compiled
** and stored, and dropping it. The error's message is not kept. */
eryx_status eryx__tools_guest_sha256(const char *guest_dir, char hex[65]);
eryx_status eryx__tools_guest_load(const char *wasm_path, const char *sha256, eryx_cache *memory, const char *cache_dir,
                                   uint64_t max_bytes);

/* How many 4 KiB pages of the sandbox's linear memory are private to it (what an
** idle sandbox costs beyond the start state's shared pages); -1 without an
** instance or when /proc/self/pagemap cannot be read. For the tests and eryx-bench. */
long eryx__sandbox_private_pages(const eryx_sandbox *sandbox);

/* How long an idle sandbox's memory waits before the pages its last reset copied
** back (and its restore did not write) are given back, in ms. */
unsigned eryx__tools_trim_delay_ms(void);

/* eryx repl's two calls: runs code as one interactive statement (an expression's
** value is printed, as in Python's REPL), otherwise as eryx_sandbox_execute; and
** says whether code is a complete statement (0), needs more lines (1) or is a
** syntax error already (2); -1 if the guest could not tell. */
eryx_status eryx__sandbox_execute_single(eryx_sandbox *sandbox, const char *code, size_t len, eryx_result **result);
int eryx__sandbox_source_complete(eryx_sandbox *sandbox, const char *code, size_t len);

/* Exported start states (src/sandbox/start_state.c): the builder's snapshot id
** (*id malloc'd) and, when img is not NULL, its start state (made on a miss; a new
** reference); installing an image as the start state of an id in the builder's
** cache tiers; the builder's error buffer. */
struct eryx__snapimg;
struct eryx__errbuf;
eryx_status eryx__builder_start_state(eryx_builder *builder, char **id, struct eryx__snapimg **img);
eryx_status eryx__builder_install_state(eryx_builder *builder, const char *id, struct eryx__snapimg *img);
struct eryx__errbuf *eryx__builder_err(eryx_builder *builder);

#endif
