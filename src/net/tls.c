/*
** The TLS client (net.h) over OpenSSL. (Stub: replaced by the TLS work.)
*/
#include "net.h"
