/*
** One sandbox's connections (net.h). (Stub.)
*/
#include "net.h"
