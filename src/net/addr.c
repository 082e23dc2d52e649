/*
** IP literals, CIDRs and host patterns (net.h). Pure functions over bytes: the
** policy's parsers of guest-controlled text, fuzzed by fuzz/fuzz_net_addr.c.
** (Stub: replaced by the policy work.)
*/
#include "net.h"
