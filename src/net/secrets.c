/*
** Secrets (net.h): placeholders, substitution, scrubbing. (Stub.)
*/
#include "net.h"
