/*
** A builder's network config (net.h): host patterns, blocked and allowed networks,
** limits, roots, the resolver; and the checks made on every connection.
** (Stub: replaced by the policy work.)
*/
#include "net.h"
