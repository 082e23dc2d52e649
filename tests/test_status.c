/* Unit test: the status table gives every code a name and a message. */
#include "check.h"
#include "eryx.h"

int main(void) {
    static const eryx_status all[] = {
#define X(name, value, msg) name,
        ERYX_STATUS_TABLE(X)
#undef X
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(strncmp(eryx_status_name(all[i]), "ERYX_", 5) == 0);
        CHECK(strcmp(eryx_status_name(all[i]), "ERYX_UNKNOWN_STATUS") != 0);
        CHECK(strlen(eryx_status_message(all[i])) > 5);
        for (size_t j = 0; j < i; j++) CHECK(all[i] != all[j]); /* values are distinct */
    }
    CHECK_STR_EQ(eryx_status_name(ERYX_OK), "ERYX_OK");
    CHECK_STR_EQ(eryx_status_name(ERYX_ERR_TRAP), "ERYX_ERR_TRAP");
    CHECK_STR_EQ(eryx_status_name((eryx_status)9999), "ERYX_UNKNOWN_STATUS");
    CHECK_STR_EQ(eryx_status_message((eryx_status)-1), "unknown status");
    CHECK_STR_EQ(eryx_version(), ERYX_VERSION_STRING);
    return check_report("test_status");
}
