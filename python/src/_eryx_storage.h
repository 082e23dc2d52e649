/* What _eryx.c shares with _eryx_storage.c (the Storage type). */
#ifndef ERYX_PY_STORAGE_H
#define ERYX_PY_STORAGE_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "eryx.h"

/* _eryx.Storage; PyType_Ready'd by the module's init. */
extern PyTypeObject eryx__py_StorageType;
/* The eryx_storage of a _eryx.Storage (o must be one), NULL before its __init__. */
eryx_storage *eryx__py_storage(PyObject *o);
#endif
