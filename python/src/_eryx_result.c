/* An execution's result as the dict _core.py reads (see _eryx_result.h). */
#include "_eryx_result.h"
#include <string.h>

PyObject *eryx__py_str_or_none(const char *s) {
    if (!s) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* The execution's handed-back files as a tuple of (path, bytes). */
static PyObject *result_files(const eryx_result *r) {
    size_t n = eryx_result_file_count(r);
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        size_t len = 0;
        const uint8_t *data = eryx_result_file_data(r, i, &len);
        PyObject *item = Py_BuildValue("(sy#)", eryx_result_file_path(r, i), (const char *)data, (Py_ssize_t)len);
        if (!item) Py_CLEAR(t);
        else PyTuple_SET_ITEM(t, (Py_ssize_t)i, item);
    }
    return t;
}

PyObject *eryx__py_result_dict(eryx_status st, PyObject *msg, const eryx_result *r) {
    size_t olen, elen;
    const char *o = eryx_result_stdout(r, &olen), *e = eryx_result_stderr(r, &elen);
    eryx_net_stats ns;
    eryx_result_net_stats(r, &ns);
    PyObject *ret = Py_BuildValue(
        "{s:i,s:s,s:N,s:y#,s:y#,s:N,s:N,s:N,s:N,s:N,s:K,s:K,s:I,s:i,s:K,s:(IIKK),s:N,s:n}", "status", (int)st,
        "status_name", eryx_status_name(st), "message", msg ? msg : Py_NewRef(Py_None), "stdout", o, (Py_ssize_t)olen,
        "stderr", e, (Py_ssize_t)elen, "exception_type", eryx__py_str_or_none(eryx_result_exception_type(r)),
        "exception_message", eryx__py_str_or_none(eryx_result_exception_message(r)), "traceback",
        eryx__py_str_or_none(eryx_result_traceback(r)), "value", eryx__py_str_or_none(eryx_result_value(r)),
        "value_error", eryx__py_str_or_none(eryx_result_value_error(r)), "peak_memory",
        (unsigned long long)eryx_result_peak_memory(r), "fuel_consumed",
        (unsigned long long)eryx_result_fuel_consumed(r), "callback_invocations",
        (unsigned int)eryx_result_callback_invocations(r), "exit_code", eryx_result_exit_code(r), "duration_ns",
        (unsigned long long)eryx_result_duration_ns(r), "net_stats", (unsigned int)ns.connections,
        (unsigned int)ns.refused, (unsigned long long)ns.bytes_sent, (unsigned long long)ns.bytes_received, "files",
        result_files(r), "files_left_out", (Py_ssize_t)eryx_result_files_left_out(r));
    return ret;
}
