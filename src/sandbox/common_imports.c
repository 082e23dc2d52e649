/*
** The default start state's import list: the stdlib modules a sandbox starts with
** already imported unless the builder opts out (eryx_builder_set_default_imports).
** Chosen from evidence, not taste: docs/START-STATE.md says which corpus was
** counted, how, and what each module costs. Changing the list changes the default
** start state's key, so every machine captures it again on first use (~0.1 s).
** Order matters only for speed (a module's own imports come with it), except
** that _eryx_stdlib_code comes last (it caches the code of what is not imported).
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
                                    "typing\n"
                                    /* Last: the code of every other stdlib module, unmarshalled
                                    ** into the stdlib finder's cache, so a module that is not
                                    ** pre-imported imports about as fast as natively with warm
                                    ** .pyc files (docs/GUEST.md, "Imports from the stdlib"). */
                                    "_eryx_stdlib_code\n";
