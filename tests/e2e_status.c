/*
** End-to-end tests of the CLI's outcome channel (--status-json FILE, --status-fd N):
** for each way a run ends (ok, exception, the code's own exit, a timeout, the
** memory, output and fuel limits, Ctrl-C, a crash, a sandbox that cannot be made,
** a failing --import, an unreadable FILE), the exit status and the JSON object
** eryx writes; and that the guest's sys.exit(124) and a real timeout, the same exit
** status, are told apart by it.
** usage: e2e_status ERYX_BINARY
*/
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

static const char *eryx_bin;
static char status_path[] = "/tmp/eryx-status-XXXXXX";

/* Runs eryx with args (NULL-terminated, after the binary) and --status-json,
** stdin from /dev/null and stdout/stderr to /dev/null; with sigint, waits for the
** first line on stdout and then sends SIGINT. Returns the exit status (-1: killed
** by a signal) and the parsed JSON in *js (NULL when the file holds none). */
static int run(const char *const *args, int sigint, json_t **js) {
    const char *argv[24] = {eryx_bin, "--status-json", status_path};
    int n = 3;
    for (; *args && n < 23; args++) argv[n++] = *args;
    argv[n] = NULL;
    int out[2];
    if (pipe(out) != 0) return -2;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(sigint ? out[1] : null, 1);
        dup2(null, 2);
        close(out[0]);
        execv(eryx_bin, (char *const *)argv);
        _exit(99);
    }
    close(out[1]);
    if (sigint) { /* the code is running once it printed its line */
        char c;
        while (read(out[0], &c, 1) == 1 && c != '\n') {
        }
        kill(pid, SIGINT);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    close(out[0]);
    json_error_t err;
    *js = json_load_file(status_path, 0, &err);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static const char *str(json_t *js, const char *key) { return json_string_value(json_object_get(js, key)); }
static int is_null(json_t *js, const char *key) { return json_is_null(json_object_get(js, key)); }
static json_int_t num(json_t *js, const char *key) { return json_integer_value(json_object_get(js, key)); }

/* The fields every object has, whatever the outcome. */
static void check_shape(const char *label, json_t *js, int exit_status) {
    CHECKF(js != NULL, "%s: no JSON in the status file", label);
    if (!js) return;
    static const char *const keys[] = {"eryx_version",      "outcome",       "exit_status",      "status",
                                       "guest_exit_code",   "exception",     "message",          "result_error",
                                       "peak_memory_bytes", "fuel_consumed", "output_truncated", "execute_ms",
                                       "total_ms",          "limits"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECKF(json_object_get(js, keys[i]) != NULL, "%s: no \"%s\"", label, keys[i]);
    CHECKF(num(js, "exit_status") == exit_status, "%s: exit_status %lld, the process exited %d", label,
           (long long)num(js, "exit_status"), exit_status);
    CHECK_STR_EQ(str(js, "eryx_version"), eryx_version());
}

/* One run: its exit status and outcome must be as given; js is kept for more checks. */
static json_t *expect(const char *label, const char *const *args, int sigint, int want_exit, const char *outcome) {
    json_t *js = NULL;
    int code = run(args, sigint, &js);
    printf("%-28s exit %3d  outcome %s\n", label, code, js && str(js, "outcome") ? str(js, "outcome") : "(none)");
    CHECKF(code == want_exit, "%s: exit %d, want %d", label, code, want_exit);
    check_shape(label, js, code);
    if (js) CHECK_STR_EQ(str(js, "outcome"), outcome);
    return js;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: e2e_status ERYX_BINARY\n");
        return 2;
    }
    eryx_bin = argv[1];
    int fd = mkstemp(status_path);
    if (fd < 0) return 2;
    close(fd);

    json_t *js = expect("ok", ARGS("-c", "print(6*7)"), 0, 0, "ok");
    if (js) {
        CHECK(num(js, "guest_exit_code") == 0 && is_null(js, "exception") && is_null(js, "message"));
        CHECK_STR_EQ(str(js, "status"), "ERYX_OK");
        CHECK(num(js, "peak_memory_bytes") > 0 && json_real_value(json_object_get(js, "execute_ms")) > 0);
        CHECK(is_null(json_object_get(js, "limits"), "timeout_ms"));
    }
    json_decref(js);

    js = expect("exception", ARGS("-c", "x = 1\n1/0"), 0, 1, "exception");
    if (js) {
        json_t *exc = json_object_get(js, "exception");
        CHECK(num(js, "guest_exit_code") == 1);
        CHECK_STR_EQ(str(exc, "type"), "ZeroDivisionError");
        CHECK_STR_EQ(str(exc, "message"), "division by zero");
        CHECK_STR_EQ(str(js, "status"), "ERYX_ERR_PYTHON_EXCEPTION");
    }
    json_decref(js);

    /* The point of the channel: the code's own 124 and a real timeout. */
    json_t *fake = expect("sys.exit(124)", ARGS("-c", "import sys; sys.exit(124)"), 0, 124, "exit");
    json_t *real = expect("timeout", ARGS("--timeout", "300ms", "-c", "while True: pass"), 0, 124, "timeout");
    if (fake && real) {
        CHECK(num(fake, "guest_exit_code") == 124 && is_null(real, "guest_exit_code"));
        CHECK_STR_EQ(str(fake, "status"), "ERYX_ERR_EXIT");
        CHECK_STR_EQ(str(real, "status"), "ERYX_ERR_TIMEOUT");
        CHECK(num(json_object_get(real, "limits"), "timeout_ms") == 300);
        CHECK(str(real, "message") && strstr(str(real, "message"), "timeout"));
    }
    json_decref(fake);
    json_decref(real);
    /* Every other status eryx uses for itself, faked: an "exit" each time. */
    static const char *const fakes[] = {"2", "3", "125", "126", "127", "130", "139"};
    for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++) {
        char code[64], label[32];
        snprintf(code, sizeof code, "import sys; sys.exit(%s)", fakes[i]);
        snprintf(label, sizeof label, "sys.exit(%s)", fakes[i]);
        js = expect(label, ARGS("-c", code), 0, atoi(fakes[i]), "exit");
        if (js) CHECK(num(js, "guest_exit_code") == atoi(fakes[i]));
        json_decref(js);
    }
    js = expect("os._exit(125)", ARGS("-c", "import os; os._exit(125)"), 0, 125, "exit");
    json_decref(js);

    js = expect("memory limit", ARGS("--max-memory", "64M", "-c", "l = []\nwhile True: l.append(bytearray(1 << 20))"),
                0, 125, "memory_limit");
    if (js) {
        CHECK(is_null(js, "guest_exit_code"));
        CHECK(num(json_object_get(js, "limits"), "max_memory_bytes") == 64 << 20);
        CHECK(num(js, "peak_memory_bytes") <= 64 << 20);
    }
    json_decref(js);
    js = expect(
        "recursion to the memory cap",
        ARGS("--max-memory", "64M", "-c", "import sys\nsys.setrecursionlimit(10**9)\ndef f(n): return f(n+1)\nf(0)"), 0,
        125, "memory_limit");
    json_decref(js);

    js = expect("output limit", ARGS("--max-output", "1K", "-c", "print('x' * 5000)"), 0, 126, "output_limit");
    if (js) CHECK(json_is_true(json_object_get(json_object_get(js, "output_truncated"), "stdout")));
    json_decref(js);

    js = expect("fuel", ARGS("--fuel", "100000", "-c", "while True: pass"), 0, 127, "fuel_exhausted");
    if (js) CHECK(num(js, "fuel_consumed") == 100000 && num(json_object_get(js, "limits"), "fuel") == 100000);
    json_decref(js);

    js = expect("Ctrl-C", ARGS("-c", "import time\nprint('go', flush=True)\ntime.sleep(60)"), 1, 130, "cancelled");
    if (js) CHECK_STR_EQ(str(js, "status"), "ERYX_ERR_CANCELLED");
    json_decref(js);

    /* os.abort() is wasi-libc's abort(): an `unreachable` trap, always. (Deeply nested
    ** JSON was the crash here until the guest's frames shrank with LTO+PGO: it now ends
    ** in RecursionError, as test_limits' deep-C-recursion cases allow.) */
    js = expect("crash", ARGS("-c", "import os; os.abort()"), 0, 3, "crashed");
    json_decref(js);

    js = expect("sandbox not made", ARGS("--max-memory", "8M", "-c", "print(1)"), 0, 3, "sandbox_error");
    if (js) CHECK_STR_EQ(str(js, "status"), "ERYX_ERR_MEMORY_LIMIT"); /* why it could not be made */
    json_decref(js);

    js = expect("failing --import", ARGS("--import", "no_such_module_here", "-c", "print(1)"), 0, 3, "setup_failed");
    if (js) CHECK(str(js, "message") && strstr(str(js, "message"), "no_such_module_here"));
    json_decref(js);

    js = expect("unreadable FILE", ARGS("run", "/nonexistent/code.py"), 0, 2, "usage_error");
    if (js) CHECK(is_null(js, "status"));
    json_decref(js);

    js = expect("--result unencodable", ARGS("--result", "-c", "result = {1}"), 0, 1, "ok");
    if (js) CHECK(str(js, "result_error") && strstr(str(js, "result_error"), "set"));
    json_decref(js);

    /* A status file inside a writable mount: what the guest writes into it is gone. */
    char dir[] = "/tmp/eryx-status-dir-XXXXXX", inside[64], mount[96], code[160];
    if (mkdtemp(dir)) {
        snprintf(inside, sizeof inside, "%s/st.json", dir);
        snprintf(mount, sizeof mount, "%s:/mnt", dir);
        snprintf(code, sizeof code, "open('/mnt/st.json', 'w').write('{\"outcome\": \"ok\"}' + 'x' * 4000)\n1/0");
        const char *const args[] = {eryx_bin, "--status-json", inside, "--mount", mount, "-c", code, NULL};
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 1);
            dup2(null, 2);
            execv(eryx_bin, (char *const *)args);
            _exit(99);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        json_error_t jerr;
        js = json_load_file(inside, 0, &jerr);
        CHECKF(js && !strcmp(str(js, "outcome"), "exception"), "the guest's bytes in the status file: %s", jerr.text);
        json_decref(js);
        unlink(inside);
        rmdir(dir);
    }

    /* --status-fd: the same object on an inherited descriptor. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' --status-fd 3 -c 'import sys; sys.exit(124)' 3>'%s' >/dev/null 2>&1", eryx_bin,
             status_path);
    int ws = system(cmd);
    json_error_t err;
    js = json_load_file(status_path, 0, &err);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 124);
    CHECK(js && !strcmp(str(js, "outcome"), "exit") && num(js, "guest_exit_code") == 124);
    json_decref(js);
    /* Descriptors 0-2 carry the guest's streams: refused, as a usage error. */
    snprintf(cmd, sizeof cmd, "'%s' --status-fd 1 -c 'print(1)' >/dev/null 2>&1", eryx_bin);
    ws = system(cmd);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 2);
    snprintf(cmd, sizeof cmd, "'%s' --status-json - -c 'print(1)' >/dev/null 2>&1", eryx_bin);
    ws = system(cmd);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 2 && access("-", F_OK) != 0);

    unlink(status_path);
    return check_report("e2e_status");
}
