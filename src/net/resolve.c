/*
** Names to addresses (net.h): c-ares, or the embedder's resolver. (Stub.)
*/
#include "net.h"
