/* Debian's wasm32-wasi libc++abi (libc++abi-19-dev-wasm32) is built without
 * exception support: it defines no __cxa_allocate_exception / __cxa_throw, and
 * clang (no -fwasm-exceptions) compiles `throw` into calls to them while dropping
 * every catch handler. numpy's C++ (pocketfft, linalg, sorting, string dtype)
 * throws only on errors (allocation failure, invalid plan). These definitions make
 * it link; a throw aborts the guest (a wasm trap) after naming the exception type.
 * Link once into the module that holds numpy (python.wasm for a static link). */
#include <stdio.h>
#include <stdlib.h>

void *__cxa_allocate_exception(size_t size) { return malloc(size ? size : 1); }

void __cxa_free_exception(void *p) { free(p); }

_Noreturn void __cxa_throw(void *obj, void *tinfo, void (*dest)(void *)) {
    (void)obj; (void)dest;
    /* Itanium ABI std::type_info: { vtable pointer, const char *mangled name } */
    const char *name = tinfo ? ((const char *const *)tinfo)[1] : "?";
    fprintf(stderr, "eryx: C++ exception %s thrown in an extension module; "
                    "this build has no C++ exception support, aborting\n", name);
    abort();
}
