/* The build-time link check; see linkcheck.h. */
#include "linkcheck.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum { KIND_FUNC = 0, KIND_TABLE = 1, KIND_MEMORY = 2, KIND_GLOBAL = 3 };

/* A module that would not link is a package's problem: ERYX_ERR_PACKAGE. */
static eryx_status failf(eryx__errbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static eryx_status failf(eryx__errbuf *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return ERYX_ERR_PACKAGE;
}

/* "ii>i" as "(i32, i32) -> i32", for messages. */
static const char *sig_text(const char *sig, char *out, size_t cap) {
    static const char *const names[][2] = {{"i", "i32"},  {"I", "i64"},     {"f", "f32"},      {"F", "f64"},
                                           {"v", "v128"}, {"r", "funcref"}, {"e", "externref"}};
    size_t n = 0;
    bool results = false, first = true;
    n += (size_t)snprintf(out + n, cap - n, "(");
    for (const char *p = sig; *p && n < cap; p++) {
        if (*p == '>') {
            n += (size_t)snprintf(out + n, cap - n, ") -> (");
            results = true, first = true;
            continue;
        }
        const char *name = "?";
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (*p == names[i][0][0]) name = names[i][1];
        n += (size_t)snprintf(out + n, cap > n ? cap - n : 0, "%s%s", first ? "" : ", ", name);
        first = false;
    }
    if (n < cap) snprintf(out + n, cap - n, results ? ")" : ") -> ()");
    return out;
}

static bool is(const char *s, const char *want) { return s && !strcmp(s, want); }

/* The export `name` of `kind` in some side module, or NULL. */
static const eryx__wasm_sym *in_sides(const eryx__link_side *sides, size_t n, const char *name, uint8_t kind) {
    for (size_t i = 0; i < n; i++) {
        const eryx__wasm_sym *e = eryx__wasm_iface_export(sides[i].iface, name, strlen(name), kind);
        if (e) return e;
    }
    return NULL;
}

eryx_status eryx__link_check(const eryx__wasm_iface *main, const eryx__link_side *sides, size_t n, eryx__errbuf *err) {
    static const char rebuild[] = "it was built for another interpreter build: rebuild it against this one";
    for (size_t s = 0; s < n; s++) {
        const char *path = sides[s].path;
        for (size_t i = 0; i < sides[s].iface->n_imports; i++) {
            const eryx__wasm_sym *im = &sides[s].iface->imports[i];
            const char *name = im->name;
            char want[256], have[256];
            if (is(im->module, "env")) {
                if ((im->kind == KIND_MEMORY && is(name, "memory")) ||
                    (im->kind == KIND_TABLE && is(name, "__indirect_function_table")) ||
                    (im->kind == KIND_GLOBAL &&
                     (is(name, "__stack_pointer") || is(name, "__memory_base") || is(name, "__table_base"))))
                    continue;
                if (im->kind != KIND_FUNC)
                    return failf(err, "%s imports env.%s (kind %u), which the loader does not provide", path, name,
                                 im->kind);
                const eryx__wasm_sym *def = eryx__wasm_iface_export(main, name, strlen(name), KIND_FUNC);
                const char *where = "the interpreter";
                if (!def) def = in_sides(sides, n, name, KIND_FUNC), where = "another extension module";
                if (!def)
                    return failf(err,
                                 "%s needs the function %s %s, which neither the interpreter nor another extension "
                                 "module of the sandbox exports: %s (or add the package that defines it)",
                                 path, name, sig_text(im->sig, want, sizeof want), rebuild);
                if (!is(def->sig, im->sig))
                    return failf(err, "%s needs the function %s as %s, but %s defines it as %s: %s", path, name,
                                 sig_text(im->sig, want, sizeof want), where,
                                 sig_text(def->sig ? def->sig : "", have, sizeof have), rebuild);
            } else if (is(im->module, "GOT.func") || is(im->module, "GOT.mem")) {
                bool func = is(im->module, "GOT.func");
                uint8_t kind = func ? KIND_FUNC : KIND_GLOBAL;
                if (im->kind != KIND_GLOBAL)
                    return failf(err, "%s imports %s.%s as other than a global: not a valid side module", path,
                                 im->module, name);
                if (eryx__wasm_iface_export(main, name, strlen(name), kind) || in_sides(sides, n, name, kind)) continue;
                return failf(err,
                             "%s needs the address of the %s %s, which neither the interpreter nor an extension "
                             "module of the sandbox exports: %s",
                             path, func ? "function" : "data symbol", name, rebuild);
            } else {
                return failf(err,
                             "%s imports %s.%s, which the loader does not provide (only env, GOT.mem "
                             "and GOT.func)",
                             path, im->module, name);
            }
        }
    }
    return ERYX_OK;
}
