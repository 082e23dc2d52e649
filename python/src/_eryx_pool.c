/*
** _eryx.Pool: the CPython binding of eryx_pool_* (docs/POOLS.md). The public
** classes (SandboxPool, PooledSandbox, PoolStats, the PoolError family) are
** python/eryx/_pool.py's. A lease is an ordinary _eryx.Sandbox lent by the pool
** (eryx__py_sandbox_lend) whose keep object is (pool, lease builder or None):
** releasing takes the sandbox back from it; a lent Sandbox collected without a
** release gives it back itself (Sandbox_dealloc asks eryx__py_lender).
** The GIL is released while acquire waits or makes a sandbox and while release
** frees one (freeing waits for host callbacks, which take the GIL). acquire waits
** in slices (eryx_pool_acquire_slice) and runs the signal handlers between them
** with the GIL held, so Ctrl-C interrupts a blocked acquire within a slice.
*/
#include "_eryx_pool.h"
#include <pythread.h>

/* How long a blocked acquire waits between two checks for signals (Ctrl-C). */
#define ACQUIRE_SLICE_MS 50

typedef struct {
    PyObject_HEAD eryx_pool *pool;
    PyObject *builder; /* the warm sandboxes' callbacks live in it: kept until the pool is freed */
} PoolObject;

static PyTypeObject PoolType;

eryx_pool *eryx__py_lender(PyObject *keep) {
    if (!keep || !PyTuple_Check(keep) || PyTuple_GET_SIZE(keep) != 2) return NULL;
    PyObject *p = PyTuple_GET_ITEM(keep, 0);
    return PyObject_TypeCheck(p, &PoolType) ? ((PoolObject *)p)->pool : NULL;
}

/* "O&" converters: an int that fits, else OverflowError (PyArg's "I" and "K"
** would wrap 2**64 to 0 silently: a huge timeout would become no wait at all). */
static int to_u64(PyObject *o, void *out) {
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return 0;
    *(unsigned long long *)out = v;
    return 1;
}

static int to_u32(PyObject *o, void *out) {
    unsigned long long v;
    if (!to_u64(o, &v)) return 0;
    if (v > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "int too big to convert");
        return 0;
    }
    *(unsigned int *)out = (unsigned int)v;
    return 1;
}

static int Pool_init(PoolObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"builder", "max_size", "min_idle", "acquire_timeout_ms", "idle_timeout_ms", NULL};
    PyObject *builder;
    unsigned int max_size, min_idle;
    unsigned long long acquire_ms, idle_ms;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&O&O&O&", kwlist, &builder, to_u32, &max_size, to_u32, &min_idle,
                                     to_u64, &acquire_ms, to_u64, &idle_ms))
        return -1;
    if (self->pool) {
        PyErr_SetString(PyExc_RuntimeError, "Pool is already initialized");
        return -1;
    }
    eryx_builder *b = eryx__py_builder(builder);
    if (!b) return -1;
    eryx_pool_options o = {
        .max_size = max_size, .min_idle = min_idle, .acquire_timeout_ms = acquire_ms, .idle_timeout_ms = idle_ms};
    eryx_pool *pool = NULL;
    eryx_status st;
    char msg[1024];
    /* The warm sandboxes are made here: a first pre-initialization runs Python. The
    ** Python Builder is the caller's and used by no other thread meanwhile. */
    Py_BEGIN_ALLOW_THREADS st = eryx_pool_new(b, &o, &pool);
    snprintf(msg, sizeof msg, "%s", eryx_pool_errmsg(NULL));
    Py_END_ALLOW_THREADS if (st != ERYX_OK) {
        eryx__py_raise_status(st, msg);
        return -1;
    }
    self->pool = pool;
    Py_INCREF(builder);
    self->builder = builder;
    return 0;
}

static void Pool_dealloc(PoolObject *self) {
    if (self->pool) { /* every lease holds the Pool: none is out */
        eryx_pool *p = self->pool;
        self->pool = NULL;
        Py_BEGIN_ALLOW_THREADS eryx_pool_free(p);
        Py_END_ALLOW_THREADS
    }
    Py_CLEAR(self->builder);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define CHECK_POOL                                                       \
    if (!self->pool) {                                                   \
        PyErr_SetString(PyExc_RuntimeError, "Pool was not initialized"); \
        return NULL;                                                     \
    }

/* acquire(builder=None, nowait=False) -> _eryx.Sandbox lent by the pool. */
static PyObject *P_acquire(PoolObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"builder", "nowait", NULL};
    PyObject *builder = Py_None;
    int nowait = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Op", kwlist, &builder, &nowait)) return NULL;
    CHECK_POOL;
    eryx_builder *b = NULL;
    if (builder != Py_None && !(b = eryx__py_builder(builder))) return NULL;
    PyObject *keep = PyTuple_Pack(2, (PyObject *)self, builder);
    if (!keep) return NULL;
    eryx_sandbox *s = NULL;
    eryx_status st;
    char msg[1024];
    eryx_pool_wait wait = {0};
    for (;;) {
        Py_BEGIN_ALLOW_THREADS if (nowait) st =
            b ? eryx_pool_acquire_with(self->pool, b, 1, &s) : eryx_pool_try_acquire(self->pool, &s);
        else st = eryx_pool_acquire_slice(self->pool, b, &wait, ACQUIRE_SLICE_MS, &s);
        snprintf(msg, sizeof msg, "%s", eryx_pool_errmsg(self->pool)); /* this thread's */
        Py_END_ALLOW_THREADS if (nowait || st != ERYX_ERR_POOL_EXHAUSTED) break;
        /* a slice ended with time left: a signal's handler (KeyboardInterrupt) may raise */
        if (PyErr_CheckSignals() < 0) {
            Py_DECREF(keep);
            return NULL;
        }
    }
    if (st != ERYX_OK) {
        Py_DECREF(keep);
        return eryx__py_raise_status(st, msg);
    }
    PyObject *lent = eryx__py_sandbox_lend(s, keep);
    Py_DECREF(keep);
    if (!lent) {
        Py_BEGIN_ALLOW_THREADS eryx_pool_release(self->pool, s);
        Py_END_ALLOW_THREADS
    }
    return lent;
}

/* release(sandbox): gives a lent Sandbox's sandbox back; the Sandbox is closed. */
static PyObject *P_release(PoolObject *self, PyObject *arg) {
    CHECK_POOL;
    if (!eryx__py_sandbox_lent_by(arg, self->pool)) return NULL;
    eryx_sandbox *s = eryx__py_sandbox_take(arg);
    if (!s) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE; /* released already */
    }
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS st = eryx_pool_release(self->pool, s);
    Py_END_ALLOW_THREADS if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_pool_errmsg(self->pool));
    Py_RETURN_NONE;
}

static PyObject *P_stats(PoolObject *self, PyObject *unused) {
    (void)unused;
    CHECK_POOL;
    eryx_pool_stats s;
    if (eryx_pool_stats_get(self->pool, &s) != ERYX_OK) return eryx__py_raise_status(ERYX_ERR_INVALID_ARGUMENT, NULL);
    return Py_BuildValue("(KKKKKKKdd)", (unsigned long long)s.total, (unsigned long long)s.idle,
                         (unsigned long long)s.available, (unsigned long long)s.in_use,
                         (unsigned long long)s.total_acquisitions, (unsigned long long)s.total_creations,
                         (unsigned long long)s.wait_count, s.total_wait_ms, s.average_wait_ms);
}

static PyObject *P_evict_idle(PoolObject *self, PyObject *unused) {
    (void)unused;
    CHECK_POOL;
    size_t n;
    Py_BEGIN_ALLOW_THREADS n = eryx_pool_evict_idle(self->pool);
    Py_END_ALLOW_THREADS return PyLong_FromSize_t(n);
}

static PyObject *P_close(PoolObject *self, PyObject *unused) {
    (void)unused;
    CHECK_POOL;
    Py_BEGIN_ALLOW_THREADS eryx_pool_close(self->pool);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *P_closed(PoolObject *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(self->pool ? eryx_pool_is_closed(self->pool) : 1);
}

static PyMethodDef Pool_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))P_acquire, METH_VARARGS | METH_KEYWORDS,
     "acquire(builder=None, nowait=False) -> Sandbox lent by the pool"},
    {"release", (PyCFunction)P_release, METH_O, "give a lent Sandbox back (idempotent)"},
    {"stats", (PyCFunction)P_stats, METH_NOARGS,
     "(total, idle, available, in_use, acquisitions, creations, waits, total_wait_ms, average_wait_ms)"},
    {"evict_idle", (PyCFunction)P_evict_idle, METH_NOARGS, "free sandboxes idle past the timeout"},
    {"close", (PyCFunction)P_close, METH_NOARGS, "close the pool (wakes waiters)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Pool_getset[] = {{"closed", (getter)P_closed, NULL, "whether the pool is closed", NULL},
                                    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject PoolType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_eryx.Pool",
    .tp_basicsize = sizeof(PoolObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A sandbox pool (eryx_pool): Pool(builder, max_size, min_idle, acquire_timeout_ms, idle_timeout_ms).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Pool_init,
    .tp_dealloc = (destructor)Pool_dealloc,
    .tp_methods = Pool_methods,
    .tp_getset = Pool_getset,
};

int eryx__py_pool_init(PyObject *m) {
    if (PyType_Ready(&PoolType) < 0) return -1;
    return PyModule_AddObjectRef(m, "Pool", (PyObject *)&PoolType);
}
