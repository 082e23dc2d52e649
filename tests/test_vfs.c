#include "check.h"
int main(void) { CHECK(!"not written yet"); return check_report("test_vfs"); }
