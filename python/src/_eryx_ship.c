/*
** _eryx's module functions for the cluster layer (eryx.ray, docs/SCALE.md):
** export_module(builder) and import_module(builder, blob) over
** eryx_builder_export_module / _import_module, and counters() over
** eryx_process_counters_get. The builders passed are the caller's own, made for
** the call: nothing else uses them meanwhile, so no builder lock is taken.
*/
#include "_eryx_ship.h"
#include "_eryx_pool.h"

static PyObject *m_export_module(PyObject *m, PyObject *arg) {
    (void)m;
    eryx_builder *b = eryx__py_builder(arg);
    if (!b) return NULL;
    void *blob = NULL;
    size_t len = 0;
    eryx_status st;
    Py_BEGIN_ALLOW_THREADS st = eryx_builder_export_module(b, &blob, &len);
    Py_END_ALLOW_THREADS if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_builder_errmsg(b));
    PyObject *out = PyBytes_FromStringAndSize(blob, (Py_ssize_t)len);
    eryx_blob_free(blob);
    return out;
}

static PyObject *m_import_module(PyObject *m, PyObject *args) {
    (void)m;
    PyObject *bo;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "Oy*", &bo, &view)) return NULL;
    eryx_builder *b = eryx__py_builder(bo);
    if (!b) {
        PyBuffer_Release(&view);
        return NULL;
    }
    eryx_status st;
    eryx_module_import how = ERYX_MODULE_PRESENT;
    Py_BEGIN_ALLOW_THREADS st = eryx_builder_import_module(b, view.buf, (size_t)view.len, &how);
    Py_END_ALLOW_THREADS PyBuffer_Release(&view);
    if (st != ERYX_OK) return eryx__py_raise_status(st, eryx_builder_errmsg(b));
    return PyUnicode_FromString(how == ERYX_MODULE_INSTALLED  ? "installed"
                                : how == ERYX_MODULE_COMPILED ? "compiled"
                                                              : "present");
}

static PyObject *m_counters(PyObject *m, PyObject *unused) {
    (void)m, (void)unused;
    eryx_process_counters c;
    eryx_process_counters_get(&c);
    return Py_BuildValue("{sKsKsK}", "modules_compiled", (unsigned long long)c.modules_compiled, "modules_shipped",
                         (unsigned long long)c.modules_shipped, "start_states_made",
                         (unsigned long long)c.start_states_made);
}

static PyMethodDef ship_methods[] = {
    {"export_module", m_export_module, METH_O, "the builder's compiled module, signed (eryx_builder_export_module)"},
    {"import_module", m_import_module, METH_VARARGS,
     "installs export_module's blob: 'installed', 'present', 'compiled'"},
    {"counters", m_counters, METH_NOARGS, "this process's work counters (eryx_process_counters_get)"},
    {NULL, NULL, 0, NULL},
};

int eryx__py_ship_init(PyObject *module) { return PyModule_AddFunctions(module, ship_methods); }
