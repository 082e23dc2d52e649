/* The side module of the loader test: each check adds a distinct power of ten to
** side_entry's result, so a wrong link shows which part failed. */
#include <stdlib.h>

extern int counter;
extern int add(int, int);
extern int twice(int);
typedef int (*fn)(int);
extern fn main_ptr_twice(void);
extern int call_ptr(fn f, int x);

static int numbers[3] = {1, 2, 3};
int *ptr_to_own_data = &numbers[1]; /* a data relocation: __wasm_apply_data_relocs */
int ctor_ran;
int zeroed[64]; /* .bss: must start zeroed although aligned_alloc's memory is not */

__attribute__((constructor)) static void init(void) { ctor_ran = 42; }
static int square(int x) { return x * x; }
fn side_ptr_square(void) { return square; }

int side_entry(int x) {
    int r = add(x, counter);                   /* env.add, GOT.mem.counter: x + 5 */
    if (&twice == main_ptr_twice()) r += 1000; /* GOT.func.twice is the main's own index */
    if (call_ptr(square, 3) == 9) r += 10000;  /* own function called through the table */
    if (*ptr_to_own_data == 2) r += 100000;    /* relocated data pointer */
    if (ctor_ran == 42) r += 1000000;          /* constructors ran */
    int z = 0;
    for (int i = 0; i < 64; i++) z |= zeroed[i];
    char *p = malloc(100); /* the main's allocator */
    if (z == 0 && p) r += 10000000;
    free(p);
    counter++; /* writes the main's data */
    return r;
}
