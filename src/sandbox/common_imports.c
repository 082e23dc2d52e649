/*
** The default start state's import list: the stdlib modules a sandbox starts with
** already imported unless the builder opts out (eryx_builder_set_default_imports).
** Chosen from evidence, not taste: every stdlib module that >= 1% of the programs of
** some corpus import (three public corpora from PyPI, 824 programs:
** bench/stdlib_usage/count.py) and that imports cleanly in the guest, leaves no
** open file or thread, and draws no randomness a restore would not redraw; and
** the two the public corpora miss because they hold no data-munging code, which
** issue 16's workloads (dates, statistics) and >= 5% of bench/corpus/ use:
** datetime and statistics.
** docs/START-STATE.md has the corpus, the counts, what each module costs and what
** was left out. Changing the list changes the default start state's key, so every
** machine captures it again on first use (~0.2 s). Order matters only for speed (a
** module's own imports come with it; alphabetical here), except that
** _eryx_stdlib_code comes last (it caches the code of what is not imported).
*/
#include "sandbox.h"

const char eryx__common_imports[] = "__future__\n"
                                    "_md5\n"
                                    "collections\n"
                                    "collections.abc\n"
                                    "copy\n"
                                    "dataclasses\n"
                                    "datetime\n"
                                    "functools\n"
                                    "heapq\n"
                                    "itertools\n"
                                    "json\n"
                                    "logging\n"
                                    "math\n"
                                    "operator\n"
                                    "os\n"
                                    "random\n"
                                    "re\n"
                                    "statistics\n"
                                    "string\n"
                                    "types\n"
                                    "typing\n"
                                    "unittest\n"
                                    /* Last: the code of every other stdlib module, unmarshalled
                                    ** into the stdlib finder's cache, so a module that is not
                                    ** pre-imported imports about as fast as natively with warm
                                    ** .pyc files (docs/GUEST.md, "Imports from the stdlib"). */
                                    "_eryx_stdlib_code\n";
