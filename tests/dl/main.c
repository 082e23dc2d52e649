/* The main module of the loader test (tests/test_dl_loader.c): symbols a side
** module uses, a function whose address the main itself takes (so it sits in
** the main's table: the side module must get the same index), and a way to call
** through the table. Built as a wasm32-wasi reactor exporting what the loader needs. */
#include <stdlib.h>

int counter = 5;
int add(int a, int b) { return a + b; }
int twice(int x) { return 2 * x; }

typedef int (*fn)(int);
fn main_ptr_twice(void) { return twice; }
int call_ptr(fn f, int x) { return f(x); }
/* Touches malloc so that it, free and aligned_alloc are linked and exported. */
void *keep_alloc(size_t n) {
    void *p = aligned_alloc(16, 16);
    free(p);
    return malloc(n);
}
