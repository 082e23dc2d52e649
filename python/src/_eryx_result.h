/* What _eryx.c shares with _eryx_result.c (an execution's result as a dict). */
#ifndef ERYX_PY_RESULT_H
#define ERYX_PY_RESULT_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "eryx.h"

/* A str from UTF-8 (errors replaced), or None for NULL. New reference, NULL on error. */
PyObject *eryx__py_str_or_none(const char *s);

/* The dict of an execution's status and result r (not freed): status, status_name,
** message (msg, stolen; NULL: None), stdout, stderr, the exception, the result
** variable, the figures, net_stats, files ((path, bytes) pairs) and files_left_out.
** New reference, NULL with an exception set. */
PyObject *eryx__py_result_dict(eryx_status st, PyObject *msg, const eryx_result *r);
#endif
