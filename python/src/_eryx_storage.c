/*
** _eryx.Storage: an in-memory filesystem several sandboxes can mount
** (eryx_storage_*, src/vfs/vfs_shared.c); the public VfsStorage wraps it.
*/
#include "_eryx_storage.h"

typedef struct {
    PyObject_HEAD eryx_storage *st;
} StorageObject;

static int Storage_init(StorageObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"max_bytes", NULL};
    unsigned long long max = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|K", kwlist, &max)) return -1;
    if (self->st) eryx_storage_release(self->st);
    if (!(self->st = eryx_storage_new(max))) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Storage_dealloc(StorageObject *self) {
    eryx_storage_release(self->st);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Storage_used(StorageObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->st ? eryx_storage_used(self->st) : 0);
}

static PyGetSetDef Storage_getset[] = {{"used_bytes", (getter)Storage_used, NULL, "bytes of file contents held", NULL},
                                       {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject eryx__py_StorageType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_eryx.Storage",
    .tp_basicsize = sizeof(StorageObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An in-memory filesystem several sandboxes can mount (eryx_storage).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Storage_init,
    .tp_dealloc = (destructor)Storage_dealloc,
    .tp_getset = Storage_getset,
};

eryx_storage *eryx__py_storage(PyObject *o) { return ((StorageObject *)o)->st; }
