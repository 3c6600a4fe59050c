/* SPDX-License-Identifier: MPL-2.0 */
/*
 * testutil.h -- the small harness every C ABI test program shares.
 *
 * A test program is a list of cases (tu_case) handed to tu_main:
 *   prog            runs every case in this process
 *   prog NAME...    runs the named cases
 *   prog --list     prints the case names (run.sh runs each in its own
 *                   process under a watchdog)
 * Each case prints "PASS: file:case", "FAIL: file:case" or "SKIP: ...";
 * every failed check prints "file:line: what was expected, what came".
 * The exit status is 1 when any case failed.
 *
 * Environment:
 *   ZMQTEST_TARGET=ferrozmq|system  which library run.sh linked; cases (and
 *                  checks) flagged FERROZMQ-ONLY run only for ferrozmq: they
 *                  test guarantees ferrozmq gives beyond libzmq (libzmq
 *                  itself may crash there, e.g. on a closed socket handle).
 *   ZMQTEST_VALGRIND=1  running under valgrind: fewer iterations, longer
 *                  deadlines (tu_scale, tu_deadline_factor).
 *
 * Waits are conditions with deadlines (zmq_poll with a timeout, loops
 * bounded by tu_now_ms), never sleeps used to order events.
 */
#ifndef FERROZMQ_TESTUTIL_H
#define FERROZMQ_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <zmq.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Each program uses only some of the helpers below. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ------------------------------------------------------------------ */
/* Failure reporting                                                   */
/* ------------------------------------------------------------------ */

static atomic_int tu_case_failures;

static void tu_fail (const char *file, int line, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
static void tu_fail (const char *file, int line, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    /* One write per line so threads do not interleave inside it. */
    fprintf (stdout, "%s:%d: %s\n", file, line, text);
    fflush (stdout);
    atomic_fetch_add (&tu_case_failures, 1);
}

#define TU_FAIL(...) tu_fail (__FILE__, __LINE__, __VA_ARGS__)

/* A plain condition. */
#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond))                                                          \
            TU_FAIL ("check failed: %s", #cond);                              \
    } while (0)

/* Two integers that must be equal; prints both. */
#define CHECK_EQ(expected, actual)                                            \
    do {                                                                      \
        long long tu_e_ = (long long) (expected);                             \
        long long tu_a_ = (long long) (actual);                               \
        if (tu_e_ != tu_a_)                                                   \
            TU_FAIL ("%s: expected %lld, got %lld", #actual, tu_e_, tu_a_);  \
    } while (0)

/* Two NUL-terminated strings that must be equal. */
#define CHECK_STR(expected, actual)                                           \
    do {                                                                      \
        const char *tu_e_ = (expected);                                       \
        const char *tu_a_ = (actual);                                         \
        if (tu_a_ == NULL || strcmp (tu_e_, tu_a_) != 0)                      \
            TU_FAIL ("%s: expected \"%s\", got %s%s%s", #actual, tu_e_,       \
                     tu_a_ ? "\"" : "", tu_a_ ? tu_a_ : "NULL",               \
                     tu_a_ ? "\"" : "");                                      \
    } while (0)

static const char *tu_errname (int e);

/* A call that must succeed (return >= 0); evaluates to its result. */
#define CHECK_OK(call)                                                        \
    ({                                                                        \
        errno = 0;                                                            \
        long long tu_rc_ = (long long) (call);                                \
        if (tu_rc_ < 0) {                                                     \
            int tu_en_ = errno;                                               \
            TU_FAIL ("%s: expected success, got %lld, errno %s (%s)", #call,  \
                     tu_rc_, tu_errname (tu_en_), zmq_strerror (tu_en_));     \
        }                                                                     \
        tu_rc_;                                                               \
    })

/* A call returning a pointer that must not be NULL. */
#define CHECK_PTR(call)                                                       \
    ({                                                                        \
        errno = 0;                                                            \
        void *tu_p_ = (void *) (call);                                        \
        if (tu_p_ == NULL) {                                                  \
            int tu_en_ = errno;                                               \
            TU_FAIL ("%s: expected a pointer, got NULL, errno %s (%s)",       \
                     #call, tu_errname (tu_en_), zmq_strerror (tu_en_));      \
        }                                                                     \
        tu_p_;                                                                \
    })

/* Checks that errno and zmq_errno () both hold err after a failed call. */
#define TU_CHECK_ERRNO(what, err)                                             \
    do {                                                                      \
        int tu_en_ = errno;                                                   \
        int tu_zen_ = zmq_errno ();                                           \
        if (tu_en_ != (err))                                                  \
            TU_FAIL ("%s: expected errno %s, got errno %s (%s)", what,        \
                     tu_errname (err), tu_errname (tu_en_),                   \
                     zmq_strerror (tu_en_));                                  \
        else if (tu_zen_ != (err))                                            \
            TU_FAIL ("%s: errno is %s but zmq_errno () returned %s", what,    \
                     tu_errname (err), tu_errname (tu_zen_));                 \
    } while (0)

/* A call that must return -1 and set errno (the C variable itself, and
 * zmq_errno) to err. */
#define CHECK_ERR(call, err)                                                  \
    do {                                                                      \
        errno = 0;                                                            \
        long long tu_rc_ = (long long) (call);                                \
        if (tu_rc_ != -1)                                                     \
            TU_FAIL ("%s: expected -1 with errno %s, got %lld", #call,        \
                     tu_errname (err), tu_rc_);                               \
        else                                                                  \
            TU_CHECK_ERRNO (#call, err);                                      \
    } while (0)

/* A call that must return NULL and set errno to err. */
#define CHECK_NULL_ERR(call, err)                                             \
    do {                                                                      \
        errno = 0;                                                            \
        const void *tu_p_ = (const void *) (call);                            \
        if (tu_p_ != NULL)                                                    \
            TU_FAIL ("%s: expected NULL with errno %s, got %p", #call,        \
                     tu_errname (err), tu_p_);                                \
        else                                                                  \
            TU_CHECK_ERRNO (#call, err);                                      \
    } while (0)

static const char *tu_errname (int e)
{
    static __thread char buf[32];
    switch (e) {
        case 0: return "0";
        case EINVAL: return "EINVAL";
        case EFAULT: return "EFAULT";
        case ENOTSOCK: return "ENOTSOCK";
        case EAGAIN: return "EAGAIN";
        case EFSM: return "EFSM";
        case ETERM: return "ETERM";
        case ENOCOMPATPROTO: return "ENOCOMPATPROTO";
        case EMTHREAD: return "EMTHREAD";
        case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
        case EHOSTUNREACH: return "EHOSTUNREACH";
        case ENOENT: return "ENOENT";
        case EADDRINUSE: return "EADDRINUSE";
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
        case ENODEV: return "ENODEV";
        case ENOTSUP: return "ENOTSUP";
        case EMFILE: return "EMFILE";
        case EINTR: return "EINTR";
        case ENOMEM: return "ENOMEM";
        case ENAMETOOLONG: return "ENAMETOOLONG";
        case ECONNREFUSED: return "ECONNREFUSED";
        case EMSGSIZE: return "EMSGSIZE";
        case ENOBUFS: return "ENOBUFS";
        default: snprintf (buf, sizeof buf, "%d", e); return buf;
    }
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

static int tu_is_ferrozmq (void)
{
    const char *t = getenv ("ZMQTEST_TARGET");
    return t && strcmp (t, "ferrozmq") == 0;
}

static int tu_under_valgrind (void)
{
    const char *v = getenv ("ZMQTEST_VALGRIND");
    return v && *v && strcmp (v, "0") != 0;
}

/* Iteration counts: n normally, n / 10 (at least 1) under valgrind. */
static int tu_scale (int n)
{
    if (!tu_under_valgrind ())
        return n;
    return n / 10 > 0 ? n / 10 : 1;
}

/* Deadlines stretch under valgrind, which runs code ~20-50x slower. */
static int tu_deadline_factor (void)
{
    return tu_under_valgrind () ? 10 : 1;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

static int64_t tu_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t tu_deadline (int ms)
{
    return tu_now_ms () + (int64_t) ms * tu_deadline_factor ();
}

/* ------------------------------------------------------------------ */
/* Socket helpers                                                      */
/* ------------------------------------------------------------------ */

static void tu_set_int (void *s, int option, int value)
{
    CHECK_OK (zmq_setsockopt (s, option, &value, sizeof value));
}

static int tu_get_int (void *s, int option)
{
    int value = -12345;
    size_t size = sizeof value;
    CHECK_OK (zmq_getsockopt (s, option, &value, &size));
    CHECK_EQ (sizeof (int), size);
    return value;
}

/* Closes with LINGER 0 so that nothing can hold zmq_ctx_term. */
static void tu_close (void *s)
{
    int zero = 0;
    if (!s)
        return;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    CHECK_OK (zmq_close (s));
}

/* Binds to a wildcard endpoint and writes the real one (LAST_ENDPOINT). */
static void tu_bind_any (void *s, const char *wildcard, char *out, size_t out_size)
{
    size_t size = out_size;
    CHECK_OK (zmq_bind (s, wildcard));
    out[0] = 0;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, out, &size));
}

/* Waits up to ms (scaled) for events on s; returns the revents seen. */
static int tu_wait (void *s, short events, int ms)
{
    int64_t end = tu_deadline (ms);
    for (;;) {
        zmq_pollitem_t item = {s, 0, events, 0};
        int64_t left = end - tu_now_ms ();
        if (left < 0)
            left = 0;
        int rc = zmq_poll (&item, 1, (long) left);
        if (rc > 0)
            return item.revents;
        if (rc < 0 && errno != EINTR)
            return 0;
        if (tu_now_ms () >= end)
            return 0;
    }
}

/* Receives one frame into buf (NUL-terminated, truncated) within ms.
 * Returns the frame's size, or -1 after a failure it has reported. */
static int tu_recv_within (const char *file, int line, void *s, char *buf,
                           size_t size, int ms)
{
    if (!(tu_wait (s, ZMQ_POLLIN, ms) & ZMQ_POLLIN)) {
        tu_fail (file, line, "nothing to receive within %d ms", ms);
        return -1;
    }
    int n = zmq_recv (s, buf, size - 1, ZMQ_DONTWAIT);
    if (n < 0) {
        int en = errno;
        tu_fail (file, line, "zmq_recv after POLLIN failed: %s", tu_errname (en));
        return -1;
    }
    buf[(size_t) n < size - 1 ? (size_t) n : size - 1] = 0;
    return n;
}
#define RECV_WITHIN(s, buf, size, ms)                                         \
    tu_recv_within (__FILE__, __LINE__, s, buf, size, ms)

/* Receives a frame that must equal text, within ms. */
static void tu_expect_recv (const char *file, int line, void *s,
                            const char *text, int ms)
{
    char buf[512];
    int n = tu_recv_within (file, line, s, buf, sizeof buf, ms);
    if (n < 0)
        return;
    if ((size_t) n != strlen (text) || memcmp (buf, text, strlen (text)) != 0)
        tu_fail (file, line, "received \"%s\" (%d bytes), expected \"%s\"",
                 buf, n, text);
}
#define EXPECT_RECV(s, text, ms) tu_expect_recv (__FILE__, __LINE__, s, text, ms)

static void tu_send_str (const char *file, int line, void *s, const char *text,
                         int flags)
{
    int n = zmq_send (s, text, strlen (text), flags);
    if (n != (int) strlen (text)) {
        int en = errno;
        tu_fail (file, line, "zmq_send (\"%s\") returned %d, errno %s", text,
                 n, tu_errname (en));
    }
}
#define SEND_STR(s, text, flags) tu_send_str (__FILE__, __LINE__, s, text, flags)

/* A TCP port nothing listens on right now (bound to port 0, then closed). */
static int tu_free_tcp_port (void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int port = 0;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd >= 0 && bind (fd, (struct sockaddr *) &sa, sizeof sa) == 0
        && getsockname (fd, (struct sockaddr *) &sa, &len) == 0)
        port = ntohs (sa.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

/* A unique name for ipc:// and inproc:// endpoints. */
static void tu_unique (char *out, size_t size, const char *prefix)
{
    static atomic_int counter;
    snprintf (out, size, "%s%d-%d", prefix, (int) getpid (),
              atomic_fetch_add (&counter, 1));
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

typedef struct
{
    pthread_t id;
} tu_thread_t;

static void tu_thread_start (tu_thread_t *t, void *(*fn) (void *), void *arg)
{
    int rc = pthread_create (&t->id, NULL, fn, arg);
    if (rc != 0)
        TU_FAIL ("pthread_create: %s", strerror (rc));
}

static void tu_thread_join (tu_thread_t *t)
{
    pthread_join (t->id, NULL);
}

/* Waits (bounded) until *flag becomes nonzero; returns whether it did. */
static int tu_wait_flag (atomic_int *flag, int ms)
{
    int64_t end = tu_deadline (ms);
    while (!atomic_load (flag)) {
        if (tu_now_ms () >= end)
            return 0;
        /* Yield without sleeping a fixed time: poll on nothing for 1 ms. */
        poll (NULL, 0, 1);
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */
/* ------------------------------------------------------------------ */

enum
{
    TU_FERROZMQ_ONLY = 1, /* a ferrozmq guarantee libzmq does not give */
    TU_NO_VALGRIND = 2,   /* timing-bound: skipped under valgrind */
};

typedef struct
{
    const char *name;
    void (*fn) (void);
    int flags;
} tu_case;

static const char *tu_program = "?";

static int tu_run_case (const tu_case *c)
{
    if ((c->flags & TU_FERROZMQ_ONLY) && !tu_is_ferrozmq ()) {
        printf ("SKIP: %s:%s (FERROZMQ-ONLY guarantee; libzmq may crash here)\n",
                tu_program, c->name);
        return 0;
    }
    if ((c->flags & TU_NO_VALGRIND) && tu_under_valgrind ()) {
        printf ("SKIP: %s:%s (timing-bound, not run under valgrind)\n",
                tu_program, c->name);
        return 0;
    }
    atomic_store (&tu_case_failures, 0);
    fflush (stdout);
    c->fn ();
    int failed = atomic_load (&tu_case_failures) != 0;
    printf ("%s: %s:%s\n", failed ? "FAIL" : "PASS", tu_program, c->name);
    fflush (stdout);
    return failed;
}

static int tu_main (int argc, char **argv, const tu_case *cases)
{
    const char *slash = strrchr (argv[0], '/');
    tu_program = slash ? slash + 1 : argv[0];
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp (argv[1], "--list") == 0) {
        for (const tu_case *c = cases; c->name; c++)
            printf ("%s\n", c->name);
        return 0;
    }
    int failed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            const tu_case *c = cases;
            while (c->name && strcmp (c->name, argv[i]) != 0)
                c++;
            if (!c->name) {
                printf ("FAIL: %s:%s (no such case)\n", tu_program, argv[i]);
                failed++;
                continue;
            }
            failed += tu_run_case (c);
        }
    } else {
        for (const tu_case *c = cases; c->name; c++)
            failed += tu_run_case (c);
    }
    return failed ? 1 : 0;
}

#endif /* FERROZMQ_TESTUTIL_H */
