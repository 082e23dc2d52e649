/* End-to-end tests of pre-initialization (src/snapshot/, src/sandbox/): see the
** cases in main. Filled in by the snapshot test work. */
#include "check.h"
#include "eryx.h"

int main(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return check_report("test_snapshot");
}
