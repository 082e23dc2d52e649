/*
** eryx: run untrusted Python inside a WebAssembly sandbox.
**
** This is the one public header. Every handle is opaque and owned by the caller
** who created it; every function that can fail returns an eryx_status and leaves a
** message on the handle (eryx_builder_errmsg, eryx_sandbox_errmsg) that says what
** went wrong and what to do. The library never prints and never exits.
**
** Threads: the process-wide engine and compiled-module registry are thread-safe;
** a builder or a sandbox must be used by one thread at a time, and different
** sandboxes may run at the same time in different threads.
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
#define ERYX_STATUS_TABLE(X)                                                          \
    X(ERYX_OK, 0, "success")                                                          \
    X(ERYX_ERR_INVALID_ARGUMENT, 1, "an argument was NULL, empty or out of range")    \
    X(ERYX_ERR_NO_MEMORY, 2, "the host ran out of memory")                            \
    X(ERYX_ERR_GUEST_NOT_FOUND, 3, "the guest interpreter or stdlib image is missing") \
    X(ERYX_ERR_IO, 4, "a host file could not be read or written")                     \
    X(ERYX_ERR_ENGINE, 5, "the WebAssembly engine failed to compile or instantiate")  \
    X(ERYX_ERR_GUEST_INIT, 6, "the Python interpreter failed to start in the guest")  \
    X(ERYX_ERR_TRAP, 7, "the guest trapped (a crash inside the sandbox)")             \
    X(ERYX_ERR_GUEST_API, 8, "the guest does not export eryx's entry points")

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
** Returns the library's version as "MAJOR.MINOR.PATCH" (ERYX_VERSION_STRING of the
** library actually linked, which may differ from the header's). Static string.
*/
const char *eryx_version(void);

typedef struct eryx_builder eryx_builder;
typedef struct eryx_sandbox eryx_sandbox;

/*
** Creates a builder that describes sandboxes: where the guest is, where compiled
** code is cached, and the guest's argv. Returns NULL only when out of memory. The
** caller owns it and frees it with eryx_builder_free; sandboxes made from it do
** not keep a reference, so it may be freed right after eryx_sandbox_new.
*/
eryx_builder *eryx_builder_new(void);

/*
** Frees a builder and everything it owns. NULL is allowed and ignored.
*/
void eryx_builder_free(eryx_builder *builder);

/*
** Sets the directory holding the guest: python.wasm, python.wasm.sha256 and
** lib/python313.zip, as made by guest/build.sh. Default: the ERYX_GUEST_DIR
** environment variable, else the directory the build installed the guest in.
** The path is copied. Fails with ERYX_ERR_INVALID_ARGUMENT on NULL or empty.
*/
eryx_status eryx_builder_set_guest_dir(eryx_builder *builder, const char *dir);

/*
** Sets the directory for cached compiled modules (.cwasm). Default:
** $XDG_CACHE_HOME/eryx, else $HOME/.cache/eryx. NULL disables the disk cache (the
** module is then compiled once per process). The path is copied.
*/
eryx_status eryx_builder_set_cache_dir(eryx_builder *builder, const char *dir);

/*
** Sets the guest's sys.argv (argc strings, copied). Default: a single "-c". The
** strings reach the guest as its WASI arguments and nothing else of the host does.
*/
eryx_status eryx_builder_set_argv(eryx_builder *builder, int argc, const char *const *argv);

/*
** Returns the message of the builder's last failure, or "" if none. The string is
** owned by the builder and valid until its next call or eryx_builder_free.
*/
const char *eryx_builder_errmsg(const eryx_builder *builder);

/*
** Creates a sandbox from a builder: loads the compiled guest (compiling and caching
** it on the first use per machine; once per process after that it is shared),
** instantiates it and starts Python. On success *out owns a new sandbox; on
** failure *out is NULL, the status says why and eryx_builder_errmsg(builder) has
** the details. Stage one: the guest's stdin, stdout and stderr are the host
** process's own (captured output arrives with the sandbox runtime).
*/
eryx_status eryx_sandbox_new(eryx_builder *builder, eryx_sandbox **out);

/*
** Frees a sandbox and its guest instance. NULL is allowed and ignored.
*/
void eryx_sandbox_free(eryx_sandbox *sandbox);

/*
** Runs `len` bytes of Python source (UTF-8) in the sandbox's __main__ module. On
** ERYX_OK, *exit_status is what `python -c` would exit with: 0, 1 after an
** uncaught exception (traceback on stderr), or a SystemExit code. Other statuses
** mean the sandbox itself failed (for example ERYX_ERR_TRAP); the message is in
** eryx_sandbox_errmsg and the sandbox should be freed.
*/
eryx_status eryx_sandbox_run(eryx_sandbox *sandbox, const char *code, size_t len,
                             int *exit_status);

/*
** Returns the message of the sandbox's last failure, or "" if none. Owned by the
** sandbox; valid until its next call or eryx_sandbox_free.
*/
const char *eryx_sandbox_errmsg(const eryx_sandbox *sandbox);

#ifdef __cplusplus
}
#endif
#endif /* ERYX_H */
