/*
** _eryx: the CPython extension under `import eryx` (python/eryx/). A thin layer
** over include/eryx.h: Builder (eryx_builder), Sandbox (eryx_sandbox), Storage
** (eryx_storage: _eryx_storage.c) and Pool (eryx_pool: _eryx_pool.c). The pure-Python layer makes
** the public API of these.
**
** The GIL is released while the guest runs (execute), while a sandbox is made
** (new_sandbox: a first pre-initialization runs Python) and during session
** operations; host callbacks and output streaming take it back for the Python
** code they call. Errors are raised as _eryx.Error(status, status_name, message).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdlib.h>
#include <string.h>
#include "eryx.h"
#include "_eryx_pool.h"
#include "_eryx_ship.h"
#include "_eryx_result.h"
#include "_eryx_storage.h"

static PyObject *ErrorType; /* _eryx.Error */

PyObject *eryx__py_raise_status(eryx_status st, const char *msg) {
    PyObject *args = Py_BuildValue("(iss)", (int)st, eryx_status_name(st), msg && *msg ? msg : eryx_status_message(st));
    if (args) {
        PyErr_SetObject(ErrorType, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* ---- host callbacks ------------------------------------------------------------- */
/* user is a Python callable invoke(args_json: str) -> str, kept alive by the
** Builder's list (and so by every Sandbox made from it). Raising means failure. */
static int run_callback(void *user, const char *args_json, size_t args_len, char **result, size_t *result_len) {
    *result = NULL;
    *result_len = 0;
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IsFinalizing()) return 1;
#else
    if (_Py_IsFinalizing()) return 1;
#endif
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = 1;
    PyObject *out = PyObject_CallFunction((PyObject *)user, "s#", args_json, (Py_ssize_t)args_len);
    const char *text = NULL;
    Py_ssize_t n = 0;
    PyObject *msg = NULL;
    if (out && PyUnicode_Check(out)) {
        text = PyUnicode_AsUTF8AndSize(out, &n);
        if (text) rc = 0;
    } else if (out && PyTuple_Check(out) && PyTuple_GET_SIZE(out) == 1 && PyUnicode_Check(PyTuple_GET_ITEM(out, 0))) {
        /* (reason,): the invoker caught SuspendCallback (eryx/_callbacks.py) */
        text = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(out, 0), &n);
        if (text) rc = ERYX_CALLBACK_SUSPEND;
    }
    if (rc != 0 && rc != ERYX_CALLBACK_SUSPEND) {
        if (PyErr_Occurred()) {
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            msg = value ? PyObject_Str(value) : NULL;
            PyErr_Clear();
            if (msg && type) {
                PyObject *full = PyUnicode_FromFormat("%s: %U", ((PyTypeObject *)type)->tp_name, msg);
                Py_DECREF(msg);
                msg = full;
            }
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
            PyErr_Clear();
        }
        text = msg ? PyUnicode_AsUTF8AndSize(msg, &n) : NULL;
        if (!text) {
            PyErr_Clear();
            text = "the host callback did not return a JSON string";
            n = (Py_ssize_t)strlen(text);
        }
    }
    char *copy = malloc((size_t)n + 1);
    if (copy) {
        memcpy(copy, text, (size_t)n);
        copy[n] = '\0';
        *result = copy;
        *result_len = (size_t)n;
    } else if (rc != ERYX_CALLBACK_SUSPEND) {
        rc = 1;
    }
    Py_XDECREF(out);
    Py_XDECREF(msg);
    PyGILState_Release(g);
    return rc;
}

/* ---- Builder ----------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD eryx_builder *b;
    PyObject *keep; /* list: callback invokers and storages, alive as long as sandboxes */
    PyThread_type_lock lock;
} BuilderObject;

/* eryx's warnings (a module being compiled, an unusable cache) as RuntimeWarnings.
** They come from the thread that creates a sandbox, GIL released, or from eryx's
** cache-writing thread; dropped while the interpreter finalizes. A warnings filter
** turning them into errors cannot raise through eryx: the error is reported as
** unraisable instead. */
static void py_warning(void *user, const char *message) {
    (void)user;
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IsFinalizing()) return;
#else
    if (_Py_IsFinalizing()) return;
#endif
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1, "eryx: %s", message) != 0) PyErr_WriteUnraisable(NULL);
    PyErr_Restore(type, value, tb);
    PyGILState_Release(g);
}

static int Builder_init(BuilderObject *self, PyObject *args, PyObject *kw) {
    if (!PyArg_ParseTuple(args, "") || (kw && PyDict_Size(kw))) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Builder() takes no arguments");
        return -1;
    }
    if (self->b) return 0;
    self->b = eryx_builder_new();
    self->keep = PyList_New(0);
    self->lock = PyThread_allocate_lock();
    if (!self->b || !self->keep || !self->lock) {
        PyErr_NoMemory();
        return -1;
    }
    eryx_builder_set_warning_handler(self->b, py_warning, NULL);
    return 0;
}

static void Builder_dealloc(BuilderObject *self) {
    /* eryx_builder_free waits for pending cache writes, and a write that fails warns
    ** through py_warning, which takes the GIL: free with the GIL released, or the two
    ** threads wait on each other forever (a full disk hung the process). */
    if (self->b) {
        eryx_builder *b = self->b;
        self->b = NULL;
        Py_BEGIN_ALLOW_THREADS eryx_builder_free(b);
        Py_END_ALLOW_THREADS
    }
    Py_XDECREF(self->keep);
    if (self->lock) PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int builder_ok(BuilderObject *self) {
    if (self->b) return 1;
    PyErr_SetString(PyExc_RuntimeError, "Builder was not initialized");
    return 0;
}

static PyObject *builder_status(BuilderObject *self, eryx_status st) {
    if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_builder_errmsg(self->b));
    Py_RETURN_NONE;
}

#define CHECK_B \
    if (!builder_ok(self)) return NULL

/* A str as the NUL-terminated UTF-8 the C API takes; ValueError when it holds a NUL
** (PyUnicode_AsUTF8 before 3.13 would cut it there: "*\0.corp" would become "*"). */
static const char *c_str(PyObject *o) {
    Py_ssize_t n = 0;
    const char *s = PyUnicode_AsUTF8AndSize(o, &n);
    if (s && strlen(s) != (size_t)n) {
        PyErr_SetString(PyExc_ValueError, "embedded null character");
        return NULL;
    }
    return s;
}

static PyObject *B_set_guest_dir(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    const char *s = c_str(arg);
    return s ? builder_status(self, eryx_builder_set_guest_dir(self->b, s)) : NULL;
}
static PyObject *B_set_cache_dir(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    const char *s = arg == Py_None ? NULL : c_str(arg);
    if (arg != Py_None && !s) return NULL;
    return builder_status(self, eryx_builder_set_cache_dir(self->b, s));
}
static PyObject *B_set_env(BuilderObject *self, PyObject *args) {
    CHECK_B;
    const char *n, *v;
    if (!PyArg_ParseTuple(args, "ss", &n, &v)) return NULL;
    return builder_status(self, eryx_builder_set_env(self->b, n, v));
}
static PyObject *B_add_mount(BuilderObject *self, PyObject *args) {
    CHECK_B;
    const char *h, *g;
    int ro;
    if (!PyArg_ParseTuple(args, "ssp", &h, &g, &ro)) return NULL;
    return builder_status(self, eryx_builder_add_mount(self->b, h, g, ro ? ERYX_MOUNT_READONLY : 0));
}
static PyObject *B_set_mount_quota(BuilderObject *self, PyObject *args) {
    CHECK_B;
    const char *g;
    unsigned long long max_bytes, max_files;
    if (!PyArg_ParseTuple(args, "sKK", &g, &max_bytes, &max_files)) return NULL;
    return builder_status(self, eryx_builder_set_mount_quota(self->b, g, max_bytes, max_files));
}
static PyObject *B_add_storage(BuilderObject *self, PyObject *args) {
    CHECK_B;
    PyObject *st;
    const char *g;
    if (!PyArg_ParseTuple(args, "O!s", &eryx__py_StorageType, &st, &g)) return NULL;
    eryx_storage *storage = eryx__py_storage(st);
    if (!storage) return PyErr_Format(PyExc_ValueError, "the storage was not initialized");
    return builder_status(self, eryx_builder_add_storage(self->b, storage, g));
}
static PyObject *B_add_package(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    const char *s = c_str(arg);
    return s ? builder_status(self, eryx_builder_add_package(self->b, s)) : NULL;
}
static PyObject *B_add_preimport(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    const char *s = c_str(arg);
    return s ? builder_status(self, eryx_builder_add_preimport(self->b, s)) : NULL;
}
static PyObject *B_set_setup_code(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    Py_ssize_t n = 0;
    const char *s = arg == Py_None ? NULL : PyUnicode_AsUTF8AndSize(arg, &n);
    if (arg != Py_None && !s) return NULL;
    return builder_status(self, eryx_builder_set_setup_code(self->b, s, (size_t)n));
}
/* set_argv(list of str): the guest's sys.argv. */
static PyObject *B_set_argv(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    if (!PyList_Check(arg)) return PyErr_Format(PyExc_TypeError, "argv must be a list of str");
    Py_ssize_t n = PyList_GET_SIZE(arg);
    if (n > 4096) return PyErr_Format(PyExc_ValueError, "argv has more than 4096 entries");
    const char **v = PyMem_Calloc((size_t)n + 1, sizeof *v);
    if (!v) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(arg, i);
        if (!PyUnicode_Check(item) || !(v[i] = c_str(item))) {
            PyMem_Free(v);
            if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "argv must be a list of str");
            return NULL;
        }
    }
    PyObject *r = builder_status(self, eryx_builder_set_argv(self->b, (int)n, v));
    PyMem_Free(v);
    return r;
}
static PyObject *B_set_result_name(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    const char *s = arg == Py_None ? NULL : c_str(arg);
    if (arg != Py_None && !s) return NULL;
    return builder_status(self, eryx_builder_set_result_name(self->b, s));
}

#define U64_SETTER(fname, call)                                           \
    static PyObject *fname(BuilderObject *self, PyObject *arg) {          \
        CHECK_B;                                                          \
        unsigned long long v = PyLong_AsUnsignedLongLong(arg);            \
        if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL; \
        return builder_status(self, call(self->b, v));                    \
    }
U64_SETTER(B_set_memfs_limit, eryx_builder_set_memfs_limit)
U64_SETTER(B_set_timeout_ms, eryx_builder_set_timeout_ms)
U64_SETTER(B_set_max_memory, eryx_builder_set_max_memory)
U64_SETTER(B_set_fuel, eryx_builder_set_fuel)
U64_SETTER(B_set_output_limit, eryx_builder_set_output_limit)

/* collect_files(guest_dir | None, max_bytes): files handed back after each execution. */
static PyObject *B_collect_files(BuilderObject *self, PyObject *args) {
    CHECK_B;
    const char *dir = NULL;
    unsigned long long max = 0;
    if (!PyArg_ParseTuple(args, "zK", &dir, &max)) return NULL;
    return builder_status(self, eryx_builder_collect_files(self->b, dir, max));
}


static PyObject *B_set_preinit(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    int v = PyObject_IsTrue(arg);
    return v < 0 ? NULL : builder_status(self, eryx_builder_set_preinit(self->b, v));
}
static PyObject *B_set_start_state_cache(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    int v = PyObject_IsTrue(arg);
    return v < 0 ? NULL : builder_status(self, eryx_builder_set_start_state_cache(self->b, v));
}
static PyObject *B_set_default_imports(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    int v = PyObject_IsTrue(arg);
    return v < 0 ? NULL : builder_status(self, eryx_builder_set_default_imports(self->b, v));
}
static PyObject *B_set_keep_state(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    int v = PyObject_IsTrue(arg);
    return v < 0 ? NULL : builder_status(self, eryx_builder_set_keep_state(self->b, v));
}
/* set_session_key(bytes | None): the key of session blobs; None: the process's own. */
static PyObject *B_set_session_key(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    if (arg == Py_None) return builder_status(self, eryx_builder_set_session_key(self->b, NULL, 0));
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0) return NULL;
    eryx_status st = eryx_builder_set_session_key(self->b, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return builder_status(self, st);
}
static PyObject *B_set_callback_limits(BuilderObject *self, PyObject *args) {
    CHECK_B;
    unsigned int max;
    unsigned long long ms;
    if (!PyArg_ParseTuple(args, "IK", &max, &ms)) return NULL;
    return builder_status(self, eryx_builder_set_callback_limits(self->b, max, ms));
}
static PyObject *B_add_callback(BuilderObject *self, PyObject *args) {
    CHECK_B;
    const char *name, *desc, *schema;
    PyObject *fn;
    if (!PyArg_ParseTuple(args, "szzO", &name, &desc, &schema, &fn)) return NULL;
    if (!PyCallable_Check(fn)) return PyErr_Format(PyExc_TypeError, "the callback invoker must be callable");
    eryx_status st = eryx_builder_add_callback(self->b, name, desc, schema, run_callback, fn);
    if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_builder_errmsg(self->b));
    if (PyList_Append(self->keep, fn) != 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *B_export_state(BuilderObject *self, PyObject *unused) {
    (void)unused;
    CHECK_B;
    void *blob = NULL;
    size_t len = 0;
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, 1);
    st = eryx_builder_export_snapshot(self->b, &blob, &len);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_builder_errmsg(self->b));
    PyObject *out = PyBytes_FromStringAndSize(blob, (Py_ssize_t)len);
    eryx_blob_free(blob);
    return out;
}

static PyObject *B_import_state(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0) return NULL;
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, 1);
    st = eryx_builder_import_snapshot(self->b, view.buf, (size_t)view.len);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS PyBuffer_Release(&view);
    return builder_status(self, st);
}

/* ---- network and secrets (docs/NETWORK.md): one method per eryx_builder_net_* --- */
#define STR_SETTER(fname, call)                                   \
    static PyObject *fname(BuilderObject *self, PyObject *arg) {  \
        CHECK_B;                                                  \
        const char *s = c_str(arg);                               \
        return s ? builder_status(self, call(self->b, s)) : NULL; \
    }
STR_SETTER(B_net_allow_host, eryx_builder_net_allow_host)
STR_SETTER(B_net_block_host, eryx_builder_net_block_host)
STR_SETTER(B_net_block_network, eryx_builder_net_block_network)
STR_SETTER(B_net_allow_network, eryx_builder_net_allow_network)
STR_SETTER(B_net_allow_internal_host, eryx_builder_net_allow_internal_host)

static PyObject *B_set_network(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    int v = PyObject_IsTrue(arg);
    return v < 0 ? NULL : builder_status(self, eryx_builder_set_network(self->b, v));
}
static PyObject *B_net_clear_blocked_networks(BuilderObject *self, PyObject *unused) {
    (void)unused;
    CHECK_B;
    return builder_status(self, eryx_builder_net_clear_blocked_networks(self->b));
}
static PyObject *B_net_allow_localhost(BuilderObject *self, PyObject *unused) {
    (void)unused;
    CHECK_B;
    return builder_status(self, eryx_builder_net_allow_localhost(self->b));
}
static PyObject *B_net_set_limits(BuilderObject *self, PyObject *args) {
    CHECK_B;
    unsigned int max;
    unsigned long long connect_ms, io_ms;
    if (!PyArg_ParseTuple(args, "IKK", &max, &connect_ms, &io_ms)) return NULL;
    return builder_status(self, eryx_builder_net_set_limits(self->b, max, connect_ms, io_ms));
}
/* net_add_root_cert(bytes): one DER certificate, or PEM text. */
static PyObject *B_net_add_root_cert(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0) return NULL;
    eryx_status st = eryx_builder_net_add_root_cert(self->b, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return builder_status(self, st);
}
static PyObject *B_net_use_system_roots(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    int v = PyObject_IsTrue(arg);
    return v < 0 ? NULL : builder_status(self, eryx_builder_net_use_system_roots(self->b, v));
}
/* add_secret(name, value, list of host patterns) */
static PyObject *B_add_secret(BuilderObject *self, PyObject *args) {
    CHECK_B;
    const char *name, *value;
    PyObject *hosts;
    if (!PyArg_ParseTuple(args, "ssO!", &name, &value, &PyList_Type, &hosts)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(hosts);
    if (n > 4096) return PyErr_Format(PyExc_ValueError, "a secret has more than 4096 allowed hosts");
    const char **v = PyMem_Calloc((size_t)n + 1, sizeof *v);
    if (!v) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(hosts, i);
        if (!PyUnicode_Check(item) || !(v[i] = c_str(item))) {
            PyMem_Free(v);
            if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "allowed_hosts must be a list of str");
            return NULL;
        }
    }
    PyObject *r = builder_status(self, eryx_builder_add_secret(self->b, name, value, v, (size_t)n));
    PyMem_Free(v);
    return r;
}
static PyObject *B_set_scrub(BuilderObject *self, PyObject *arg) {
    CHECK_B;
    unsigned long v = PyLong_AsUnsignedLong(arg);
    if (v == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    return builder_status(self, eryx_builder_set_scrub(self->b, (unsigned)v));
}

/* ---- Sandbox --------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD eryx_sandbox *s;
    PyObject *builder;       /* keeps the callbacks' invokers alive */
    PyThread_type_lock lock; /* one execution or session operation at a time */
    PyObject *on_output;     /* during an execution: callable(stream, bytes) or NULL */
    PyObject *out_error;     /* the first exception it raised (exc value) */
} SandboxObject;

static PyTypeObject SandboxType;

static PyObject *B_new_sandbox(BuilderObject *self, PyObject *unused) {
    (void)unused;
    CHECK_B;
    eryx_sandbox *s = NULL;
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, 1);
    st = eryx_sandbox_new(self->b, &s);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_builder_errmsg(self->b));
    SandboxObject *o = PyObject_New(SandboxObject, &SandboxType);
    if (!o) {
        eryx_sandbox_free(s);
        return NULL;
    }
    o->s = s;
    o->builder = Py_NewRef((PyObject *)self);
    o->on_output = NULL;
    o->out_error = NULL;
    if (!(o->lock = PyThread_allocate_lock())) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    return (PyObject *)o;
}

static void Sandbox_dealloc(SandboxObject *self) {
    if (self->s) {
        eryx_sandbox *s = self->s;
        eryx_pool *lender = eryx__py_lender(self->builder); /* a pool's lease: given back, not freed */
        self->s = NULL;
        Py_BEGIN_ALLOW_THREADS lender ? (void)eryx_pool_release(lender, s) : eryx_sandbox_free(s);
        Py_END_ALLOW_THREADS
    }
    if (self->lock) PyThread_free_lock(self->lock);
    Py_XDECREF(self->builder);
    PyObject_Free(self);
}

/* Output as the guest writes it: on the executing thread, which holds no GIL. */
static void on_output(void *user, int stream, const char *data, size_t len) {
    SandboxObject *self = user;
    if (!self->on_output) return;
    PyGILState_STATE g = PyGILState_Ensure();
    if (!self->out_error) {
        PyObject *r = PyObject_CallFunction(self->on_output, "iy#", stream, data, (Py_ssize_t)len);
        if (!r) {
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            if (value && tb) PyException_SetTraceback(value, tb);
            self->out_error = value;
            Py_XDECREF(type);
            Py_XDECREF(tb);
            eryx_sandbox_cancel(self->s); /* the callback failed: stop the guest */
        }
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
}


static PyObject *S_execute(SandboxObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"code", "on_output", "journal", NULL};
    Py_buffer code;
    PyObject *cb = Py_None, *journal = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s*|O$O", kwlist, &code, &cb, &journal)) return NULL;
    /* journal=(text or None, key or None): durable execution (eryx/_journal.py) */
    const char *jtext = NULL, *jkey = NULL;
    Py_ssize_t jlen = 0, klen = 0;
    eryx_replay *replay = NULL;
    if (journal != Py_None && !PyArg_ParseTuple(journal, "z#z#", &jtext, &jlen, &jkey, &klen)) {
        PyBuffer_Release(&code);
        return NULL;
    }
    if (!self->s) {
        PyBuffer_Release(&code);
        return PyErr_Format(PyExc_RuntimeError, "the sandbox is closed");
    }
    eryx_result *r = NULL;
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, 1);
    Py_END_ALLOW_THREADS if (cb != Py_None) {
        self->on_output = cb;
        eryx_sandbox_set_output(self->s, on_output, self);
    }
    Py_BEGIN_ALLOW_THREADS if (journal == Py_None) st = eryx_sandbox_execute(self->s, code.buf, (size_t)code.len, &r);
    else st = eryx_sandbox_execute_with_journal(self->s, code.buf, (size_t)code.len, jtext, (size_t)jlen, jkey,
                                                (size_t)klen, &r, &replay);
    Py_END_ALLOW_THREADS PyBuffer_Release(&code);
    eryx_sandbox_set_output(self->s, NULL, NULL);
    self->on_output = NULL;
    PyObject *out_error = self->out_error;
    self->out_error = NULL;
    PyObject *msg = eryx__py_str_or_none(eryx_sandbox_errmsg(self->s));
    PyThread_release_lock(self->lock);
    if (out_error) { /* the streaming callback raised: that is the error */
        eryx_result_free(r);
        eryx_replay_free(replay);
        Py_XDECREF(msg);
        PyErr_SetObject((PyObject *)Py_TYPE(out_error), out_error);
        Py_DECREF(out_error);
        return NULL;
    }
    if (journal != Py_None && !replay && st == ERYX_ERR_INVALID_ARGUMENT) { /* the journal was refused */
        if (msg) PyErr_Format(PyExc_ValueError, "Invalid journal: %U", msg);
        else PyErr_SetString(PyExc_ValueError, "Invalid journal");
        Py_XDECREF(msg);
        return NULL;
    }
    if (!r) {
        PyObject *ret =
            msg ? Py_BuildValue("{s:i,s:s,s:O}", "status", (int)st, "status_name", eryx_status_name(st), "message", msg)
                : NULL;
        Py_XDECREF(msg);
        eryx_replay_free(replay);
        return ret;
    }
    PyObject *ret = eryx__py_result_dict(st, msg, r); /* takes msg */
    eryx_result_free(r);
    if (ret && replay) { /* the journal, the replayed count, the suspended call (name, args, reason) or None */
        size_t jl = 0;
        const char *jt = eryx_replay_journal(replay, &jl), *sn = eryx_replay_suspended_name(replay);
        PyObject *susp =
            sn ? Py_BuildValue("(sss)", sn, eryx_replay_suspended_args(replay), eryx_replay_suspended_reason(replay))
               : Py_NewRef(Py_None);
        PyObject *extra = susp ? Py_BuildValue("{s:s#,s:I,s:N}", "journal", jt, (Py_ssize_t)jl, "replayed",
                                               (unsigned int)eryx_replay_replayed(replay), "suspended", susp)
                               : NULL;
        if (!extra || PyDict_Update(ret, extra) != 0) Py_CLEAR(ret);
        Py_XDECREF(extra);
    }
    eryx_replay_free(replay);
    return ret;
}

/* Runs a session operation with the GIL released and the sandbox's lock held. */
#define SESSION_OP(body)                                                            \
    if (!self->s) return PyErr_Format(PyExc_RuntimeError, "the sandbox is closed"); \
    eryx_status st;                                                                 \
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, 1);                    \
    body;                                                                           \
    PyThread_release_lock(self->lock);                                              \
    Py_END_ALLOW_THREADS if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_sandbox_errmsg(self->s));

static PyObject *S_reset(SandboxObject *self, PyObject *unused) {
    (void)unused;
    SESSION_OP(st = eryx_sandbox_reset(self->s));
    Py_RETURN_NONE;
}
static PyObject *S_clear(SandboxObject *self, PyObject *unused) {
    (void)unused;
    SESSION_OP(st = eryx_sandbox_clear(self->s));
    Py_RETURN_NONE;
}
static PyObject *S_snapshot(SandboxObject *self, PyObject *unused) {
    (void)unused;
    void *blob = NULL;
    size_t len = 0;
    SESSION_OP(st = eryx_sandbox_snapshot(self->s, &blob, &len));
    PyObject *out = PyBytes_FromStringAndSize(blob, (Py_ssize_t)len);
    eryx_blob_free(blob);
    return out;
}
static PyObject *S_restore(SandboxObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0) return NULL;
    if (!self->s) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_RuntimeError, "the sandbox is closed");
    }
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, 1);
    st = eryx_sandbox_restore(self->s, view.buf, (size_t)view.len);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS PyBuffer_Release(&view);
    if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_sandbox_errmsg(self->s));
    Py_RETURN_NONE;
}
static PyObject *S_set_timeout_ms(SandboxObject *self, PyObject *arg) {
    unsigned long long v = PyLong_AsUnsignedLongLong(arg);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    SESSION_OP(st = eryx_sandbox_set_timeout_ms(self->s, v));
    Py_RETURN_NONE;
}
static PyObject *S_set_fuel(SandboxObject *self, PyObject *arg) {
    unsigned long long v = PyLong_AsUnsignedLongLong(arg);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    SESSION_OP(st = eryx_sandbox_set_fuel(self->s, v));
    Py_RETURN_NONE;
}
static PyObject *S_cancel(SandboxObject *self, PyObject *unused) {
    (void)unused;
    if (self->s) eryx_sandbox_cancel(self->s); /* the one call safe during an execution */
    Py_RETURN_NONE;
}

static PyMethodDef Sandbox_methods[] = {
    {"execute", (PyCFunction)(void (*)(void))S_execute, METH_VARARGS | METH_KEYWORDS,
     "execute(code, on_output=None, *, journal=None) -> dict; journal: (text or None, key or None)"},
    {"reset", (PyCFunction)S_reset, METH_NOARGS, "back to the start state"},
    {"clear", (PyCFunction)S_clear, METH_NOARGS, "delete the names executions added"},
    {"snapshot", (PyCFunction)S_snapshot, METH_NOARGS, "the session's state as bytes"},
    {"restore", (PyCFunction)S_restore, METH_O, "restore a snapshot"},
    {"set_timeout_ms", (PyCFunction)S_set_timeout_ms, METH_O, "timeout of the following executions"},
    {"set_fuel", (PyCFunction)S_set_fuel, METH_O, "fuel budget of the following executions"},
    {"cancel", (PyCFunction)S_cancel, METH_NOARGS, "stop the running execution (any thread)"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject SandboxType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_eryx.Sandbox",
    .tp_basicsize = sizeof(SandboxObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A sandbox (eryx_sandbox); made by Builder.new_sandbox().",
    .tp_dealloc = (destructor)Sandbox_dealloc,
    .tp_methods = Sandbox_methods,
};

static PyMethodDef Builder_methods[] = {
    {"set_guest_dir", (PyCFunction)B_set_guest_dir, METH_O, NULL},
    {"set_cache_dir", (PyCFunction)B_set_cache_dir, METH_O, NULL},
    {"set_env", (PyCFunction)B_set_env, METH_VARARGS, NULL},
    {"add_mount", (PyCFunction)B_add_mount, METH_VARARGS, NULL},
    {"add_storage", (PyCFunction)B_add_storage, METH_VARARGS, NULL},
    {"set_mount_quota", (PyCFunction)B_set_mount_quota, METH_VARARGS, NULL},
    {"add_package", (PyCFunction)B_add_package, METH_O, NULL},
    {"add_preimport", (PyCFunction)B_add_preimport, METH_O, NULL},
    {"set_setup_code", (PyCFunction)B_set_setup_code, METH_O, NULL},
    {"set_result_name", (PyCFunction)B_set_result_name, METH_O, NULL},
    {"set_argv", (PyCFunction)B_set_argv, METH_O, NULL},
    {"set_memfs_limit", (PyCFunction)B_set_memfs_limit, METH_O, NULL},
    {"set_timeout_ms", (PyCFunction)B_set_timeout_ms, METH_O, NULL},
    {"set_max_memory", (PyCFunction)B_set_max_memory, METH_O, NULL},
    {"set_fuel", (PyCFunction)B_set_fuel, METH_O, NULL},
    {"set_output_limit", (PyCFunction)B_set_output_limit, METH_O, NULL},
    {"collect_files", (PyCFunction)B_collect_files, METH_VARARGS, NULL},
    {"set_preinit", (PyCFunction)B_set_preinit, METH_O, NULL},
    {"set_keep_state", (PyCFunction)B_set_keep_state, METH_O, NULL},
    {"set_start_state_cache", (PyCFunction)B_set_start_state_cache, METH_O, NULL},
    {"set_default_imports", (PyCFunction)B_set_default_imports, METH_O, NULL},
    {"set_callback_limits", (PyCFunction)B_set_callback_limits, METH_VARARGS, NULL},
    {"add_callback", (PyCFunction)B_add_callback, METH_VARARGS, NULL},
    {"set_session_key", (PyCFunction)B_set_session_key, METH_O, NULL},
    {"export_state", (PyCFunction)B_export_state, METH_NOARGS, NULL},
    {"import_state", (PyCFunction)B_import_state, METH_O, NULL},
    {"new_sandbox", (PyCFunction)B_new_sandbox, METH_NOARGS, NULL},
    {"set_network", (PyCFunction)B_set_network, METH_O, NULL},
    {"net_allow_host", (PyCFunction)B_net_allow_host, METH_O, NULL},
    {"net_block_host", (PyCFunction)B_net_block_host, METH_O, NULL},
    {"net_block_network", (PyCFunction)B_net_block_network, METH_O, NULL},
    {"net_clear_blocked_networks", (PyCFunction)B_net_clear_blocked_networks, METH_NOARGS, NULL},
    {"net_allow_network", (PyCFunction)B_net_allow_network, METH_O, NULL},
    {"net_allow_internal_host", (PyCFunction)B_net_allow_internal_host, METH_O, NULL},
    {"net_allow_localhost", (PyCFunction)B_net_allow_localhost, METH_NOARGS, NULL},
    {"net_set_limits", (PyCFunction)B_net_set_limits, METH_VARARGS, NULL},
    {"net_add_root_cert", (PyCFunction)B_net_add_root_cert, METH_O, NULL},
    {"net_use_system_roots", (PyCFunction)B_net_use_system_roots, METH_O, NULL},
    {"add_secret", (PyCFunction)B_add_secret, METH_VARARGS, NULL},
    {"set_scrub", (PyCFunction)B_set_scrub, METH_O, NULL},
    {NULL, NULL, 0, NULL}};

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_eryx.Builder",
    .tp_basicsize = sizeof(BuilderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Describes sandboxes (eryx_builder).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Builder_init,
    .tp_dealloc = (destructor)Builder_dealloc,
    .tp_methods = Builder_methods,
};

/* ---- for _eryx_pool.c (_eryx_pool.h) ------------------------------------------ */
eryx_builder *eryx__py_builder(PyObject *o) {
    if (!PyObject_TypeCheck(o, &BuilderType)) {
        PyErr_Format(PyExc_TypeError, "a _eryx.Builder is needed, not %s", Py_TYPE(o)->tp_name);
        return NULL;
    }
    return builder_ok((BuilderObject *)o) ? ((BuilderObject *)o)->b : NULL;
}

PyObject *eryx__py_sandbox_lend(eryx_sandbox *s, PyObject *keep) {
    SandboxObject *o = PyObject_New(SandboxObject, &SandboxType);
    if (!o) return NULL;
    o->s = NULL;
    o->builder = Py_NewRef(keep);
    o->on_output = NULL;
    o->out_error = NULL;
    if (!(o->lock = PyThread_allocate_lock())) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    o->s = s;
    return (PyObject *)o;
}

int eryx__py_sandbox_lent_by(PyObject *o, eryx_pool *pool) {
    if (!PyObject_TypeCheck(o, &SandboxType)) {
        PyErr_Format(PyExc_TypeError, "a _eryx.Sandbox is needed, not %s", Py_TYPE(o)->tp_name);
        return 0;
    }
    if (eryx__py_lender(((SandboxObject *)o)->builder) != pool) {
        PyErr_SetString(PyExc_ValueError, "this sandbox was not lent by this pool");
        return 0;
    }
    return 1;
}

eryx_sandbox *eryx__py_sandbox_take(PyObject *o) {
    if (!PyObject_TypeCheck(o, &SandboxType)) {
        PyErr_Format(PyExc_TypeError, "a _eryx.Sandbox is needed, not %s", Py_TYPE(o)->tp_name);
        return NULL;
    }
    SandboxObject *so = (SandboxObject *)o;
    eryx_sandbox *s;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(so->lock, 1); /* after an execution running on it */
    s = so->s;
    so->s = NULL;
    PyThread_release_lock(so->lock);
    Py_END_ALLOW_THREADS return s;
}

static PyObject *m_version(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(eryx_version());
}

static PyObject *m_default_imports(PyObject *m, PyObject *unused) {
    (void)m, (void)unused;
    return PyUnicode_FromString(eryx_default_imports());
}

static PyMethodDef module_methods[] = {
    {"library_version", m_version, METH_NOARGS, "the linked eryx library's version"},
    {"default_imports", m_default_imports, METH_NOARGS, "the default start state's modules, one per line"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_eryx",
                                    .m_doc = "CPython bindings of the eryx C library", .m_size = -1,
                                    .m_methods = module_methods};

PyMODINIT_FUNC PyInit__eryx(void);
PyMODINIT_FUNC PyInit__eryx(void) {
    if (PyType_Ready(&eryx__py_StorageType) < 0 || PyType_Ready(&BuilderType) < 0 || PyType_Ready(&SandboxType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    ErrorType = PyErr_NewExceptionWithDoc("_eryx.Error", "an eryx status: args are (code, name, message)", NULL, NULL);
    if (!ErrorType || PyModule_AddObjectRef(m, "Error", ErrorType) < 0 ||
        PyModule_AddObjectRef(m, "Storage", (PyObject *)&eryx__py_StorageType) < 0 ||
        PyModule_AddObjectRef(m, "Builder", (PyObject *)&BuilderType) < 0 ||
        PyModule_AddObjectRef(m, "Sandbox", (PyObject *)&SandboxType) < 0 || eryx__py_pool_init(m) < 0 ||
        eryx__py_ship_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
