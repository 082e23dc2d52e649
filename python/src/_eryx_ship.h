/* _eryx_ship.c: the module functions for shipping compiled code between machines
** and the process's work counters (docs/SCALE.md). */
#ifndef ERYX_PY_SHIP_H
#define ERYX_PY_SHIP_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "eryx.h"

/* Adds export_module, import_module and counters to the module; -1 with an
** exception on failure. */
int eryx__py_ship_init(PyObject *module);
#endif
