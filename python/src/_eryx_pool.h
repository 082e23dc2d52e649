/*
** What _eryx.c and _eryx_pool.c (sandbox pools: eryx_pool_*) share: pools lend
** their sandboxes to ordinary _eryx.Sandbox objects, so a lease runs code with
** Sandbox.execute, and such a Sandbox gives its sandbox back to the pool instead
** of freeing it.
*/
#ifndef ERYX_PY_POOL_H
#define ERYX_PY_POOL_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "eryx.h"

/* _eryx.c: raises _eryx.Error(code, name, message) for st (msg NULL or empty: the
** status's own message); returns NULL. */
PyObject *eryx__py_raise_status(eryx_status st, const char *msg);
/* _eryx.c: the eryx_builder of a _eryx.Builder (NULL with TypeError otherwise). */
eryx_builder *eryx__py_builder(PyObject *builder);
/* _eryx.c: a _eryx.Sandbox over a leased sandbox; keep is what it holds alive
** (eryx__py_lender's argument). NULL with an exception set on failure. */
PyObject *eryx__py_sandbox_lend(eryx_sandbox *s, PyObject *keep);
/* _eryx.c: detaches the sandbox from a _eryx.Sandbox (waiting for an execution
** running on it), which is closed afterwards; NULL when it had none. */
eryx_sandbox *eryx__py_sandbox_take(PyObject *sandbox);
/* _eryx.c: 1 when sandbox is a _eryx.Sandbox lent by pool; else 0 with TypeError
** or ValueError set (a release never takes a sandbox the pool cannot take back). */
int eryx__py_sandbox_lent_by(PyObject *sandbox, eryx_pool *pool);
/* _eryx_pool.c: the pool a Sandbox's keep object lent it from, or NULL when the
** sandbox is the Sandbox's own. Called with the GIL held. */
eryx_pool *eryx__py_lender(PyObject *keep);
/* _eryx_pool.c: adds _eryx.Pool to the module; -1 with an exception on failure. */
int eryx__py_pool_init(PyObject *module);
#endif
