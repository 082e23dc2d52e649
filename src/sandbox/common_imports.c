/*
** The default start state's import list: the stdlib modules a sandbox starts with
** already imported unless the builder opts out (eryx_builder_set_default_imports).
** Chosen from evidence, not taste: docs/START-STATE.md says which corpus was
** counted, how, and what each module costs. Changing the list changes the default
** start state's key, so every machine captures it again on first use (~0.1 s).
** Order matters only for speed (a module's own imports come with it).
*/
#include "sandbox.h"

const char eryx__common_imports[] = "abc\n"
                                    "collections\n"
                                    "dataclasses\n"
                                    "datetime\n"
                                    "functools\n"
                                    "itertools\n"
                                    "json\n"
                                    "math\n"
                                    "random\n"
                                    "re\n"
                                    "statistics\n"
                                    "string\n"
                                    "textwrap\n"
                                    "typing\n";
