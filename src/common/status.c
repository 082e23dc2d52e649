/* The status table's names and messages (the table itself is in eryx.h). */
#include "eryx.h"

const char *eryx_status_name(eryx_status status) {
    switch (status) {
#define ERYX__NAME(name, value, msg) \
    case name: return #name;
        ERYX_STATUS_TABLE(ERYX__NAME)
#undef ERYX__NAME
    }
    return "ERYX_UNKNOWN_STATUS";
}

const char *eryx_status_message(eryx_status status) {
    switch (status) {
#define ERYX__MSG(name, value, msg) \
    case name: return msg;
        ERYX_STATUS_TABLE(ERYX__MSG)
#undef ERYX__MSG
    }
    return "unknown status";
}

const char *eryx_version(void) { return ERYX_VERSION_STRING; }
