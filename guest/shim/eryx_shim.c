/*
** eryx guest shim: the few C entry points the host calls in python.wasm.
**
** The module is a WASI reactor: the host calls _initialize (C constructors), then
** eryx_init once, then eryx_execute for each piece of code, and eryx_call for the
** support module's other services (imports before a snapshot, reseeding after a
** restore, the result variable). Everything that may
** change (how code runs, how errors print) lives in _eryx_support.py in the stdlib
** image, so this file stays small and the interpreter is rarely rebuilt.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <wasi/api.h>

#define ERYX_EXPORT(name) __attribute__((export_name(#name)))

/* Memory the host writes code into. Returns NULL when the guest is out of memory. */
ERYX_EXPORT(eryx_alloc) void *eryx_alloc(size_t n) { return malloc(n ? n : 1); }
ERYX_EXPORT(eryx_free) void eryx_free(void *p) { free(p); }

/* ---- the _eryx builtin module: the guest's side of eryx's host calls ---------- */

/* The host imports below are eryx's guest ABI, defined in src/host/host.h (their
** signatures, and how the host checks the pointers); ctest unit.guest_abi checks
** these declarations against it. */

/* Host import: hands the host one piece of the execution's outcome. `kind` is one
** of the five ERYX__REPORT_* in src/host/host.h (exception type, message,
** traceback, the result variable, why it could not be encoded); Python code
** passes them by their names in _eryx_support.py (REPORT_*). */
__attribute__((import_module("eryx"), import_name("report")))
extern void eryx_host_report(int32_t kind, const void *data, size_t len);

static PyObject *eryx_report(PyObject *self, PyObject *args) {
    (void)self;
    int kind;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "iy*:report", &kind, &data)) return NULL;
    eryx_host_report(kind, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

/* Host imports for callbacks (src/sandbox/callbacks.c): start one (an id, or a
** negative error), wait for any to finish (its id, or -1 when the timeout passed
** first), and take a finished one's outcome (its length, then the bytes). */
__attribute__((import_module("eryx"), import_name("cb_start")))
extern int32_t eryx_host_cb_start(const void *name, size_t name_len, const void *args, size_t args_len);
__attribute__((import_module("eryx"), import_name("cb_wait")))
extern int32_t eryx_host_cb_wait(int32_t timeout_ms);
__attribute__((import_module("eryx"), import_name("cb_len")))
extern int32_t eryx_host_cb_len(int32_t id);
__attribute__((import_module("eryx"), import_name("cb_take")))
extern int32_t eryx_host_cb_take(int32_t id, void *buf, size_t cap);

static PyObject *eryx_cb_start(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer name, data;
    if (!PyArg_ParseTuple(args, "y*y*:cb_start", &name, &data)) return NULL;
    int32_t id = eryx_host_cb_start(name.buf, (size_t)name.len, data.buf, (size_t)data.len);
    PyBuffer_Release(&name);
    PyBuffer_Release(&data);
    return PyLong_FromLong(id);
}

static PyObject *eryx_cb_wait(PyObject *self, PyObject *args) {
    (void)self;
    int timeout_ms;
    if (!PyArg_ParseTuple(args, "i:cb_wait", &timeout_ms)) return NULL;
    return PyLong_FromLong(eryx_host_cb_wait(timeout_ms));
}

/* cb_take(id) -> (kind, bytes): kind 0 a JSON result, 1 an error message. */
static PyObject *eryx_cb_take(PyObject *self, PyObject *args) {
    (void)self;
    int id;
    if (!PyArg_ParseTuple(args, "i:cb_take", &id)) return NULL;
    int32_t n = eryx_host_cb_len(id);
    if (n < 0) return PyErr_Format(PyExc_ValueError, "no finished callback %d", id);
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, n);
    if (!bytes) return NULL;
    int32_t kind = eryx_host_cb_take(id, PyBytes_AS_STRING(bytes), (size_t)n);
    if (kind < 0) {
        Py_DECREF(bytes);
        return PyErr_Format(PyExc_ValueError, "no finished callback %d", id);
    }
    return Py_BuildValue("(iN)", kind, bytes);
}

/* Host imports for the network (src/host/host.h says what each does): every one
** returns a negative WASI errno on failure, -76 (ENOTCAPABLE) without a network;
** net_error then gives the message. The socket, ssl and select modules of
** guest/lib build on the functions below. */
__attribute__((import_module("eryx"), import_name("net_resolve")))
extern int32_t eryx_host_net_resolve(const void *name, size_t name_len, int32_t family, void *out, size_t out_cap);
__attribute__((import_module("eryx"), import_name("net_connect")))
extern int32_t eryx_host_net_connect(const void *name, size_t name_len, const void *addr, size_t addr_len,
                                     int32_t port, int32_t flags);
__attribute__((import_module("eryx"), import_name("net_tls")))
extern int32_t eryx_host_net_tls(int32_t fd, const void *opts, size_t opts_len);
__attribute__((import_module("eryx"), import_name("net_info")))
extern int32_t eryx_host_net_info(int32_t fd, void *out, size_t out_cap);
__attribute__((import_module("eryx"), import_name("net_error")))
extern int32_t eryx_host_net_error(void *out, size_t out_cap);

/* (rc, bytes) from a host call that returns its full length: rc < 0 an errno. The
** buffer is resized and the call made again only when the first was too small. */
#define NET_OUT_FIRST 2048 /* 32 addresses fit: a resolve is never made twice */
static PyObject *net_sized(int32_t (*call)(void *ctx, void *out, size_t cap), void *ctx) {
    char first[NET_OUT_FIRST];
    int32_t n = call(ctx, first, sizeof first);
    if (n < 0) return Py_BuildValue("(iy#)", n, "", (Py_ssize_t)0);
    if (n <= (int32_t)sizeof first) return Py_BuildValue("(iy#)", n, first, (Py_ssize_t)n);
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, n);
    if (!bytes) return NULL;
    int32_t m = call(ctx, PyBytes_AS_STRING(bytes), (size_t)n);
    if (m < 0 || m > n) {
        Py_DECREF(bytes);
        return Py_BuildValue("(iy#)", m < 0 ? m : -5 /* EIO: it changed between calls */, "", (Py_ssize_t)0);
    }
    if (m < n && _PyBytes_Resize(&bytes, m) < 0) return NULL;
    return Py_BuildValue("(iN)", m, bytes);
}

struct resolve_args {
    Py_buffer *name;
    int family;
};
static int32_t call_resolve(void *ctx, void *out, size_t cap) {
    struct resolve_args *a = ctx;
    return eryx_host_net_resolve(a->name->buf, (size_t)a->name->len, a->family, out, cap);
}
/* net_resolve(name: bytes, family: int) -> (rc, b"addr\naddr\n") */
static PyObject *eryx_net_resolve(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer name;
    int family;
    if (!PyArg_ParseTuple(args, "y*i:net_resolve", &name, &family)) return NULL;
    struct resolve_args a = {&name, family};
    PyObject *r = net_sized(call_resolve, &a);
    PyBuffer_Release(&name);
    return r;
}

/* net_connect(name: bytes, addr: bytes, port: int, flags: int) -> fd or -errno */
static PyObject *eryx_net_connect(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer name, addr;
    int port, flags;
    if (!PyArg_ParseTuple(args, "y*y*ii:net_connect", &name, &addr, &port, &flags)) return NULL;
    int32_t fd = eryx_host_net_connect(name.buf, (size_t)name.len, addr.buf, (size_t)addr.len, port, flags);
    PyBuffer_Release(&name);
    PyBuffer_Release(&addr);
    return PyLong_FromLong(fd);
}

/* net_tls(fd, opts: bytes) -> 0 done, 1 want read, 2 want write, -1000, -errno */
static PyObject *eryx_net_tls(PyObject *self, PyObject *args) {
    (void)self;
    int fd;
    Py_buffer opts;
    if (!PyArg_ParseTuple(args, "iy*:net_tls", &fd, &opts)) return NULL;
    int32_t r = eryx_host_net_tls(fd, opts.buf, (size_t)opts.len);
    PyBuffer_Release(&opts);
    return PyLong_FromLong(r);
}

static int32_t call_info(void *ctx, void *out, size_t cap) { return eryx_host_net_info(*(int *)ctx, out, cap); }
/* net_info(fd) -> (rc, JSON bytes) */
static PyObject *eryx_net_info(PyObject *self, PyObject *args) {
    (void)self;
    int fd;
    if (!PyArg_ParseTuple(args, "i:net_info", &fd)) return NULL;
    return net_sized(call_info, &fd);
}

/* net_error() -> str: the last network failure's message. */
static PyObject *eryx_net_error(PyObject *self, PyObject *args) {
    (void)self, (void)args;
    char buf[4096];
    int32_t n = eryx_host_net_error(buf, sizeof buf);
    if (n < 0) n = 0;
    if (n > (int32_t)sizeof buf) n = sizeof buf;
    return PyUnicode_DecodeUTF8(buf, n, "replace");
}

/* The extension side modules loaded into this instance, in load order. The host
** writes a record after each load (eryx.dl_open) and reads them when an instance
** restored from a snapshot must load the same modules again at the same places
** (docs/LATE-LINKING.md). In linear memory, so a snapshot carries it. The layout
** is shared with src/sandbox/extensions.c (ERYX_EXT_LOG_*). */
#define ERYX_EXT_LOG_MAX 128
struct eryx_ext_record {
    uint32_t memory_base, table_base, init_index;
    char path[244];
    char init[64];
};
__attribute__((used)) struct {
    uint32_t n;
    struct eryx_ext_record r[ERYX_EXT_LOG_MAX];
} eryx_ext_log;

/* eryx.dl_open(path, path_len, init, init_len, err, err_cap): the host loads the
** extension side module at path (a file in the guest's VFS) into this instance
** (docs/LATE-LINKING.md) and returns the function-table index of its init
** function, or -1 with a NUL-terminated message in err. */
__attribute__((import_module("eryx"), import_name("dl_open")))
extern int32_t eryx_host_dl_open(const char *path, size_t path_len, const char *init, size_t init_len, char *err,
                                 size_t err_cap);

/* CPython's own: the package an extension module's PyModule_Create names it in
** (what the dlopen-based importer sets). Not in the public headers. */
extern const char *_PyImport_SwapPackageContext(const char *newcontext);

/* Single-phase extension modules loaded so far, by path: their init functions
** run once per interpreter (numpy's refuse a second run), so a second import of
** one (after `del sys.modules[...]`) gets the module made the first time, as
** CPython's own loader does from its extension cache. */
static PyObject *single_phase_modules;

/* load_extension(name, path, spec): imports the extension module `name` from the
** side module at path, as CPython's dynamic loader would: single-phase init (the
** init function returns the module) or multi-phase (it returns a PyModuleDef,
** made into a module from spec and executed). */
static PyObject *eryx_load_extension(PyObject *self, PyObject *args) {
    (void)self;
    const char *name, *path;
    Py_ssize_t name_len, path_len;
    PyObject *spec;
    if (!PyArg_ParseTuple(args, "s#s#O", &name, &name_len, &path, &path_len, &spec)) return NULL;
    if (!single_phase_modules && !(single_phase_modules = PyDict_New())) return NULL;
    PyObject *cached = PyDict_GetItemString(single_phase_modules, path); /* borrowed */
    if (cached) return Py_NewRef(cached);
    const char *last = strrchr(name, '.');
    last = last ? last + 1 : name;
    char init[256], err[1024] = "";
    if (snprintf(init, sizeof init, "PyInit_%s", last) >= (int)sizeof init)
        return PyErr_Format(PyExc_ImportError, "extension module name too long: %s", name);
    int32_t index = eryx_host_dl_open(path, (size_t)path_len, init, strlen(init), err, sizeof err);
    if (index < 0) {
        err[sizeof err - 1] = '\0';
        PyObject *msg = PyUnicode_FromFormat("cannot load extension module %s from %s: %s", name, path, err);
        if (msg) {
            PyErr_SetImportError(msg, PyUnicode_FromString(name), PyUnicode_FromString(path));
            Py_DECREF(msg);
        }
        return NULL;
    }
    /* A function's address in wasm is its index in the function table. */
    PyObject *(*initfn)(void) = (PyObject * (*)(void))(uintptr_t)(uint32_t)index;
    const char *old = _PyImport_SwapPackageContext(name);
    PyObject *m = initfn();
    _PyImport_SwapPackageContext(old);
    if (!m) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_SystemError, "initialization of %s failed without raising an exception", name);
        return NULL;
    }
    if (PyObject_TypeCheck(m, &PyModuleDef_Type)) {
        PyModuleDef *def = (PyModuleDef *)m;
        m = PyModule_FromDefAndSpec(def, spec);
        if (m && PyModule_ExecDef(m, def) < 0) Py_CLEAR(m);
    } else if (PyDict_SetItemString(single_phase_modules, path, m) < 0) {
        Py_CLEAR(m);
    } else if (PyModule_Check(m) && PyModule_GetDef(m) && PyState_AddModule(m, PyModule_GetDef(m)) < 0) {
        /* As CPython's fix_up_extension does for a single-phase module: register it
        ** by its def, so PyState_FindModule(&def) finds it (pandas' _ujson looks up
        ** its state that way; without this, to_json failed on every Series). */
        Py_CLEAR(m);
    }
    return m;
}

static PyMethodDef eryx_methods[] = {
    {"report", eryx_report, METH_VARARGS, "report(kind, data): pass part of the result to the host."},
    {"cb_start", eryx_cb_start, METH_VARARGS, "cb_start(name, args_json): start a host callback; its id."},
    {"cb_wait", eryx_cb_wait, METH_VARARGS, "cb_wait(timeout_ms): the id of a finished callback, or -1."},
    {"cb_take", eryx_cb_take, METH_VARARGS, "cb_take(id): (0, result JSON) or (1, error message)."},
    {"load_extension", eryx_load_extension, METH_VARARGS,
     "load_extension(name, path, spec): the extension module from the side module at path."},
    {"net_resolve", eryx_net_resolve, METH_VARARGS, "net_resolve(name, family): (rc, addresses one per line)."},
    {"net_connect", eryx_net_connect, METH_VARARGS, "net_connect(name, addr, port, flags): an fd, or -errno."},
    {"net_tls", eryx_net_tls, METH_VARARGS, "net_tls(fd, opts_json): 0 done, 1/2 want read/write, or < 0."},
    {"net_info", eryx_net_info, METH_VARARGS, "net_info(fd): (rc, JSON)."},
    {"net_error", eryx_net_error, METH_NOARGS, "net_error(): the last network failure's message."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef eryx_module = {
    PyModuleDef_HEAD_INIT, "_eryx", "eryx host calls (internal).", -1, eryx_methods,
    NULL, NULL, NULL, NULL,
};

static PyObject *PyInit__eryx(void) { return PyModule_Create(&eryx_module); }

/* sys.argv comes from the WASI arguments the host set. */
static PyStatus set_argv(PyConfig *config) {
    __wasi_size_t argc = 0, buf_len = 0;
    if (__wasi_args_sizes_get(&argc, &buf_len) != 0 || argc == 0)
        return PyConfig_SetBytesArgv(config, 0, NULL);
    char **argv = calloc(argc + 1, sizeof(char *));
    char *buf = malloc(buf_len ? buf_len : 1);
    PyStatus st;
    if (!argv || !buf) {
        st = PyStatus_NoMemory();
    } else if (__wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0) {
        st = PyStatus_Error("eryx: args_get failed");
    } else {
        st = PyConfig_SetBytesArgv(config, (Py_ssize_t)argc, argv);
    }
    free(argv);
    free(buf);
    return st;
}

/*
** Starts the interpreter with the stdlib as its only import path: the host's VFS
** serves the stdlib image's tree (a zip, never unpacked) at /usr/local/lib/python3.13,
** so imports go through CPython's ordinary path finder (sourceless .pyc files).
** Returns 0 on success; on failure prints why on stderr and returns 1.
*/
ERYX_EXPORT(eryx_init) int eryx_init(void) {
    /* UTF-8 everywhere (filesystem, stdio), whatever locale the host passes. */
    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1;
    PyStatus pre = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(pre)) {
        fprintf(stderr, "eryx: Python pre-initialization failed: %s\n",
                pre.err_msg ? pre.err_msg : "unknown error");
        return 1;
    }
    if (PyImport_AppendInittab("_eryx", PyInit__eryx) != 0) {
        fprintf(stderr, "eryx: cannot register the _eryx module\n");
        return 1;
    }
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    config.module_search_paths_set = 1;
    PyStatus st = PyWideStringList_Append(&config.module_search_paths,
                                          L"/usr/local/lib/python3.13");
    if (!PyStatus_Exception(st))
        st = PyConfig_SetString(&config, &config.home, L"/usr/local");
    if (!PyStatus_Exception(st))
        st = set_argv(&config);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "eryx: Python failed to start: %s%s%s\n",
                st.func ? st.func : "", st.func ? ": " : "",
                st.err_msg ? st.err_msg : "unknown error");
        return 1;
    }
    return 0;
}

/*
** Runs `len` bytes of Python source in __main__ and returns the exit status a
** `python -c` would: 0, 1 after an uncaught exception (traceback on stderr), or
** the SystemExit code. Returns 120 if the support module itself fails.
*/
ERYX_EXPORT(eryx_execute) int eryx_execute(const char *code, size_t len) {
    PyObject *mod = PyImport_ImportModule("_eryx_support");
    PyObject *res = mod ? PyObject_CallMethod(mod, "execute", "y#", code, (Py_ssize_t)len) : NULL;
    Py_XDECREF(mod);
    int status = 120;
    if (res && PyLong_Check(res))
        status = (int)PyLong_AsLong(res);
    if (!res || PyErr_Occurred())
        PyErr_Print();
    Py_XDECREF(res);
    return status;
}

/*
** Calls _eryx_support.<name>(arg) with `arg` as bytes and returns its int result.
** This is how the host reaches every other guest-side service, so adding one
** changes only _eryx_support.py, never this interpreter. Returns 120 if the
** support module or the function fails (the error is printed on stderr).
*/
ERYX_EXPORT(eryx_call) int eryx_call(const char *name, size_t name_len, const char *arg, size_t arg_len) {
    PyObject *mod = PyImport_ImportModule("_eryx_support");
    PyObject *fn = NULL, *res = NULL;
    if (mod) {
        PyObject *attr = PyUnicode_DecodeUTF8(name, (Py_ssize_t)name_len, "strict");
        fn = attr ? PyObject_GetAttr(mod, attr) : NULL;
        Py_XDECREF(attr);
    }
    if (fn) res = PyObject_CallFunction(fn, "y#", arg, (Py_ssize_t)arg_len);
    int status = 120;
    if (res && PyLong_Check(res))
        status = (int)PyLong_AsLong(res);
    if (!res || PyErr_Occurred())
        PyErr_Print();
    Py_XDECREF(res);
    Py_XDECREF(fn);
    Py_XDECREF(mod);
    return status;
}
