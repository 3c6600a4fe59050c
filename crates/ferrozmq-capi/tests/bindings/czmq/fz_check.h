//  Shared by the czmq test programs: PASS/FAIL reporting and the check that
//  the process really runs on the libzmq it was meant to (FERRO_EXPECT_LIB,
//  the resolved path of the libzmq.so.5 under test, set by run.sh).
//
//  Every check prints one line, "PASS <name>" or "FAIL <name>: <why>";
//  run.sh counts them. A program exits 1 if any check failed.

#ifndef FZ_CHECK_H
#define FZ_CHECK_H

#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fz_failures = 0;
static const char *fz_prog = "czmq";

static void fz_report(bool ok, const char *name, const char *fmt, ...)
{
    if (ok)
        printf("PASS %s/%s\n", fz_prog, name);
    else {
        char why[1024] = "";
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(why, sizeof why, fmt, ap);
            va_end(ap);
        }
        printf("FAIL %s/%s: %s\n", fz_prog, name, why);
        fz_failures++;
    }
    fflush(stdout);
}

#define PASS(name) fz_report(true, name, NULL)
#define FAIL(name, ...) fz_report(false, name, __VA_ARGS__)
//  A check on a condition; the message explains a failure (with zmq_errno).
#define CHECK(cond, name, ...)                                                \
    do {                                                                      \
        if (cond)                                                             \
            PASS(name);                                                       \
        else {                                                                \
            char fz_msg_[768];                                                \
            snprintf(fz_msg_, sizeof fz_msg_, __VA_ARGS__);                   \
            FAIL(name, "%s (zmq_errno %d: %s) [%s:%d]", fz_msg_, zmq_errno(), \
                 zmq_strerror(zmq_errno()), __FILE__, __LINE__);              \
        }                                                                     \
    } while (0)

//  "(null)" for printing possibly NULL strings.
#define S(s) ((s) ? (s) : "(null)")

//  Checks /proc/self/maps: the library named by FERRO_EXPECT_LIB must be
//  mapped, and no other file whose name contains "libzmq.so". Call it once
//  libzmq is loaded (czmq programs link it at start-up).
static bool fz_check_loaded_lib(void)
{
    const char *want = getenv("FERRO_EXPECT_LIB");
    if (!want || !*want) {
        FAIL("loaded-library", "FERRO_EXPECT_LIB is not set (run me through run.sh)");
        return false;
    }
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) {
        FAIL("loaded-library", "cannot open /proc/self/maps: %s", strerror(errno));
        return false;
    }
    char line[4096];
    bool found = false;
    char other[2048] = "";
    while (fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = 0;
        const char *base = strrchr(path, '/') + 1;
        if (strcmp(path, want) == 0)
            found = true;
        else if (strstr(base, "libzmq.so") && !strstr(other, path)) {
            if (strlen(other) + strlen(path) + 2 < sizeof other) {
                strcat(other, " ");
                strcat(other, path);
            }
        }
    }
    fclose(maps);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    if (found && !*other) {
        printf("INFO %s: libzmq %d.%d.%d from %s\n", fz_prog, major, minor, patch, want);
        PASS("loaded-library");
        return true;
    }
    FAIL("loaded-library", "expected %s to be mapped (%s), other libzmq mapped:%s",
         want, found ? "it is" : "it is NOT", *other ? other : " none");
    return false;
}

//  A fresh temporary directory (for ipc endpoints, certificates...).
__attribute__((unused)) static char *fz_tmpdir(void)
{
    const char *base = getenv("FZ_TMP");
    char *tmpl = zsys_sprintf("%s/czmqXXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        FAIL("tmpdir", "mkdtemp %s: %s", tmpl, strerror(errno));
        exit(1);
    }
    return tmpl;
}

//  Exit status: 0 if every check passed.
static int fz_exit(void)
{
    return fz_failures ? 1 : 0;
}

#endif
