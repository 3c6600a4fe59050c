/* SPDX-License-Identifier: MPL-2.0 */
/* Version, errors, capabilities, exported symbols, Z85, CURVE keys, atomic
 * counters, timers, stopwatch, zmq_sleep and the thread helpers. */
#include "testutil.h"

/* ------------------------------------------------------------------ */

static void test_version (void)
{
    int major = -1, minor = -1, patch = -1;
    zmq_version (&major, &minor, &patch);
    CHECK_EQ (4, major);
    CHECK_EQ (3, minor);
    CHECK (patch >= 4);
    /* FERROZMQ-ONLY: ferrozmq implements exactly the 4.3.5 API its header
     * names (Debian's libzmq reports 4.3.4). */
    if (tu_is_ferrozmq ()) {
        CHECK_EQ (ZMQ_VERSION_PATCH, patch);
        CHECK_EQ (ZMQ_VERSION, ZMQ_MAKE_VERSION (major, minor, patch));
    }
    CHECK_EQ (40305, ZMQ_VERSION);
}

/* The 70 functions of the stable ABI, each looked up in the process. */
static const char *const stable_symbols[] = {
  "zmq_errno", "zmq_strerror", "zmq_version", "zmq_ctx_new", "zmq_ctx_term",
  "zmq_ctx_shutdown", "zmq_ctx_set", "zmq_ctx_get", "zmq_init", "zmq_term",
  "zmq_ctx_destroy", "zmq_msg_init", "zmq_msg_init_size", "zmq_msg_init_data",
  "zmq_msg_send", "zmq_msg_recv", "zmq_msg_close", "zmq_msg_move",
  "zmq_msg_copy", "zmq_msg_data", "zmq_msg_size", "zmq_msg_more",
  "zmq_msg_get", "zmq_msg_set", "zmq_msg_gets", "zmq_socket", "zmq_close",
  "zmq_setsockopt", "zmq_getsockopt", "zmq_bind", "zmq_connect", "zmq_unbind",
  "zmq_disconnect", "zmq_send", "zmq_send_const", "zmq_recv",
  "zmq_socket_monitor", "zmq_poll", "zmq_proxy", "zmq_proxy_steerable",
  "zmq_has", "zmq_device", "zmq_sendmsg", "zmq_recvmsg", "zmq_sendiov",
  "zmq_recviov", "zmq_z85_encode", "zmq_z85_decode", "zmq_curve_keypair",
  "zmq_curve_public", "zmq_atomic_counter_new", "zmq_atomic_counter_set",
  "zmq_atomic_counter_inc", "zmq_atomic_counter_dec",
  "zmq_atomic_counter_value", "zmq_atomic_counter_destroy", "zmq_timers_new",
  "zmq_timers_destroy", "zmq_timers_add", "zmq_timers_cancel",
  "zmq_timers_set_interval", "zmq_timers_reset", "zmq_timers_timeout",
  "zmq_timers_execute", "zmq_stopwatch_start", "zmq_stopwatch_intermediate",
  "zmq_stopwatch_stop", "zmq_sleep", "zmq_threadstart", "zmq_threadclose"};

static const char *const draft_symbols[] = {
  "zmq_ctx_set_ext", "zmq_ctx_get_ext", "zmq_join", "zmq_leave",
  "zmq_connect_peer", "zmq_msg_set_routing_id", "zmq_msg_routing_id",
  "zmq_msg_set_group", "zmq_msg_group", "zmq_msg_init_buffer",
  "zmq_poller_new", "zmq_poller_destroy", "zmq_poller_size", "zmq_poller_add",
  "zmq_poller_modify", "zmq_poller_remove", "zmq_poller_wait",
  "zmq_poller_wait_all", "zmq_poller_fd", "zmq_poller_add_fd",
  "zmq_poller_modify_fd", "zmq_poller_remove_fd", "zmq_socket_get_peer_state",
  "zmq_socket_monitor_versioned", "zmq_socket_monitor_pipes_stats",
  "zmq_ppoll"};

static void test_exports (void)
{
    size_t n = sizeof stable_symbols / sizeof stable_symbols[0];
    CHECK_EQ (70, n);
    for (size_t i = 0; i < n; i++)
        if (!dlsym (RTLD_DEFAULT, stable_symbols[i]))
            TU_FAIL ("the library does not export %s", stable_symbols[i]);
    /* Where the library says it has no drafts, it must not export them
     * either (libzmq's release builds hide all 27). */
    int exported = 0;
    for (size_t i = 0; i < sizeof draft_symbols / sizeof draft_symbols[0]; i++)
        if (dlsym (RTLD_DEFAULT, draft_symbols[i]))
            exported++;
    if (!zmq_has ("draft") && exported)
        TU_FAIL ("zmq_has (\"draft\") is 0 but %d draft functions are exported",
                 exported);
    if (zmq_has ("draft") && !dlsym (RTLD_DEFAULT, "zmq_poller_new"))
        TU_FAIL ("zmq_has (\"draft\") is 1 but zmq_poller_new is missing");
}

/* The library this process really loaded is the one run.sh meant. */
static void test_loaded_library (void)
{
    Dl_info info;
    memset (&info, 0, sizeof info);
    CHECK (dladdr ((void *) zmq_version, &info) != 0 && info.dli_fname);
    if (!info.dli_fname)
        return;
    char *loaded = realpath (info.dli_fname, NULL);
    printf ("loaded %s\n", loaded ? loaded : info.dli_fname);
    const char *expected = getenv ("ZMQTEST_EXPECT_LIB");
    if (expected && *expected) {
        char *want = realpath (expected, NULL);
        if (!loaded || !want || strcmp (loaded, want) != 0)
            TU_FAIL ("zmq_version comes from %s, expected %s",
                     loaded ? loaded : info.dli_fname, expected);
        free (want);
    }
    free (loaded);
}

static void test_errno_is_the_c_variable (void)
{
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, ZMQ_PAIR);
    int v = 1;

    /* The library writes the C errno of the calling thread ... */
    errno = 0;
    CHECK_EQ (-1, zmq_setsockopt (s, 9999, &v, sizeof v));
    CHECK_EQ (EINVAL, errno);

    /* ... and zmq_errno reads that same variable. */
    errno = 4242;
    CHECK_EQ (4242, zmq_errno ());
    errno = EAGAIN;
    CHECK_EQ (EAGAIN, zmq_errno ());

    /* Per thread: a failure here does not show in another thread. */
    errno = 0;
    char buf[4];
    CHECK_EQ (-1, zmq_recv (s, buf, sizeof buf, ZMQ_DONTWAIT));
    CHECK_EQ (EAGAIN, errno);
    CHECK_EQ (EAGAIN, zmq_errno ());

    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_strerror (void)
{
    CHECK_STR ("Operation cannot be accomplished in current state",
               zmq_strerror (EFSM));
    CHECK_STR ("The protocol is not compatible with the socket type",
               zmq_strerror (ENOCOMPATPROTO));
    CHECK_STR ("Context was terminated", zmq_strerror (ETERM));
    CHECK_STR ("No thread available", zmq_strerror (EMTHREAD));
    CHECK_STR ("Host unreachable", zmq_strerror (EHOSTUNREACH));
    /* Everything else is the C library's text. */
    const int sys[] = {EINVAL,       EAGAIN,     EFAULT,        ENOTSOCK,
                       EPROTONOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, ENOTSUP,
                       EMFILE,       EINTR,      ENOENT,        ENODEV,
                       ENOMEM,       ECONNREFUSED, 0};
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
        char expected[256];
        snprintf (expected, sizeof expected, "%s", strerror (sys[i]));
        const char *got = zmq_strerror (sys[i]);
        if (!got || strcmp (got, expected) != 0)
            TU_FAIL ("zmq_strerror (%s): expected \"%s\", got \"%s\"",
                     tu_errname (sys[i]), expected, got ? got : "NULL");
    }
    const char *unknown = zmq_strerror (987654);
    CHECK (unknown != NULL && strlen (unknown) > 0);
}

static void test_has (void)
{
    CHECK_EQ (1, zmq_has ("ipc"));
    CHECK_EQ (1, zmq_has ("curve"));
    CHECK_EQ (0, zmq_has ("no-such-capability"));
    CHECK_EQ (0, zmq_has (""));
    CHECK_EQ (0, zmq_has ("IPC")); /* names are case-sensitive */
    /* Each known name answers 0 or 1. */
    const char *names[] = {"pgm", "tipc", "norm", "gssapi", "vmci", "draft",
                           "WS", "WSS"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int v = zmq_has (names[i]);
        if (v != 0 && v != 1)
            TU_FAIL ("zmq_has (\"%s\") = %d", names[i], v);
    }
    CHECK_EQ (1, ZMQ_HAS_CAPABILITIES);
}

/* ------------------------------------------------------------------ */

static void test_z85 (void)
{
    /* RFC 32's test vector. */
    const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char text[11];
    memset (text, 'x', sizeof text);
    CHECK (zmq_z85_encode (text, hello, 8) == text);
    CHECK_STR ("HelloWorld", text);

    uint8_t back[8] = {0};
    CHECK (zmq_z85_decode (back, "HelloWorld") == back);
    CHECK (memcmp (back, hello, 8) == 0);

    /* Empty input encodes to an empty string. */
    char empty[4] = "zz";
    CHECK (zmq_z85_encode (empty, hello, 0) == empty);
    CHECK_STR ("", empty);

    /* Sizes that are not multiples of 4 (encode) or 5 (decode). */
    char big[64];
    uint8_t out[64];
    CHECK_NULL_ERR (zmq_z85_encode (big, hello, 7), EINVAL);
    CHECK_NULL_ERR (zmq_z85_encode (big, hello, 1), EINVAL);
    CHECK_NULL_ERR (zmq_z85_decode (out, "Hello"
                                         "Worl"),
                    EINVAL);
    CHECK_NULL_ERR (zmq_z85_decode (out, ""), EINVAL);
    /* Characters outside the alphabet. */
    CHECK_NULL_ERR (zmq_z85_decode (out, "Hello Wor\"d"), EINVAL);
    CHECK_NULL_ERR (zmq_z85_decode (out, "Hell\x7fWorld"), EINVAL);
    CHECK_NULL_ERR (zmq_z85_decode (out, "Hell~World"), EINVAL);
    /* A group worth more than 2^32 - 1 ("%%%%%" is 84 * (85^4 + ...)). */
    CHECK_NULL_ERR (zmq_z85_decode (out, "%%%%%"), EINVAL);

    /* Round trips of all byte values. */
    uint8_t data[256];
    for (int i = 0; i < 256; i++)
        data[i] = (uint8_t) (i * 7 + 3);
    char enc[321];
    uint8_t dec[256];
    CHECK (zmq_z85_encode (enc, data, 256) == enc);
    CHECK_EQ (320, strlen (enc));
    CHECK (zmq_z85_decode (dec, enc) == dec);
    CHECK (memcmp (dec, data, 256) == 0);
}

static void test_curve_keys (void)
{
    char pub[41], sec[41], derived[41];
    memset (pub, 0, sizeof pub);
    memset (sec, 0, sizeof sec);
    CHECK_EQ (0, zmq_curve_keypair (pub, sec));
    CHECK_EQ (40, strlen (pub));
    CHECK_EQ (40, strlen (sec));
    uint8_t raw[32];
    CHECK (zmq_z85_decode (raw, pub) != NULL);
    CHECK (zmq_z85_decode (raw, sec) != NULL);
    CHECK (strcmp (pub, sec) != 0);

    CHECK_EQ (0, zmq_curve_public (derived, sec));
    CHECK_STR (pub, derived);

    /* Two pairs differ. */
    char pub2[41], sec2[41];
    CHECK_EQ (0, zmq_curve_keypair (pub2, sec2));
    CHECK (strcmp (sec, sec2) != 0);

    /* A fixed vector: the secret key of bytes 0..31 (X25519 clamps it). */
    uint8_t fixed[32];
    char fixed_z85[41];
    for (int i = 0; i < 32; i++)
        fixed[i] = (uint8_t) i;
    zmq_z85_encode (fixed_z85, fixed, 32);
    CHECK_STR ("009c61o!#m2NH?C3>iWS5d]J*6CRx17-skh9337x", fixed_z85);
    CHECK_EQ (0, zmq_curve_public (derived, fixed_z85));
    CHECK_STR ("K3HW^WVq.zo69t)(umF>:XvwTj:QGN^yKlWaVH(S", derived);

    /* A secret key that is not Z85. */
    CHECK_ERR (zmq_curve_public (derived, "not a key"), EINVAL);
}

/* ------------------------------------------------------------------ */

static void *counter_worker (void *arg)
{
    for (int i = 0; i < 10000; i++)
        zmq_atomic_counter_inc (arg);
    return NULL;
}

static void test_atomic_counter (void)
{
    void *c = CHECK_PTR (zmq_atomic_counter_new ());
    CHECK_EQ (0, zmq_atomic_counter_value (c));
    CHECK_EQ (0, zmq_atomic_counter_inc (c)); /* returns the old value */
    CHECK_EQ (1, zmq_atomic_counter_inc (c));
    CHECK_EQ (2, zmq_atomic_counter_inc (c));
    CHECK_EQ (3, zmq_atomic_counter_value (c));
    CHECK_EQ (1, zmq_atomic_counter_dec (c)); /* 2: still nonzero */
    CHECK_EQ (1, zmq_atomic_counter_dec (c)); /* 1 */
    CHECK_EQ (0, zmq_atomic_counter_dec (c)); /* 0 */
    zmq_atomic_counter_set (c, 2);
    CHECK_EQ (2, zmq_atomic_counter_value (c));
    CHECK_EQ (1, zmq_atomic_counter_dec (c));
    CHECK_EQ (0, zmq_atomic_counter_dec (c));
    zmq_atomic_counter_set (c, -5);
    CHECK_EQ (-5, zmq_atomic_counter_value (c));

    /* Four threads, 10 000 increments each. */
    zmq_atomic_counter_set (c, 0);
    tu_thread_t t[4];
    for (int i = 0; i < 4; i++)
        tu_thread_start (&t[i], counter_worker, c);
    for (int i = 0; i < 4; i++)
        tu_thread_join (&t[i]);
    CHECK_EQ (40000, zmq_atomic_counter_value (c));

    zmq_atomic_counter_destroy (&c);
    CHECK (c == NULL);
}

/* ------------------------------------------------------------------ */

typedef struct
{
    int calls;
    int last_id;
} timer_log;

static void on_timer (int id, void *arg)
{
    timer_log *log = arg;
    log->calls++;
    log->last_id = id;
}

/* Runs zmq_timers_execute in a zmq_timers_timeout-driven loop until log has
 * at least n calls or ms pass. */
static void run_timers_until (void *timers, timer_log *log, int n, int ms)
{
    int64_t end = tu_deadline (ms);
    while (log->calls < n && tu_now_ms () < end) {
        long t = zmq_timers_timeout (timers);
        if (t < 0 || t > 50)
            t = 50;
        poll (NULL, 0, (int) t);
        zmq_timers_execute (timers);
    }
}

static void test_timers (void)
{
    void *timers = CHECK_PTR (zmq_timers_new ());
    timer_log a = {0, 0}, b = {0, 0};

    CHECK_EQ (-1, zmq_timers_timeout (timers)); /* none yet */
    CHECK_OK (zmq_timers_execute (timers));

    int ida = CHECK_OK (zmq_timers_add (timers, 30, on_timer, &a));
    int idb = CHECK_OK (zmq_timers_add (timers, 100000, on_timer, &b));
    CHECK (ida != idb);
    long t = zmq_timers_timeout (timers);
    CHECK (t >= 0 && t <= 30);

    /* Not due yet right after adding (unless the machine stalled). */
    int64_t start = tu_now_ms ();
    CHECK_OK (zmq_timers_execute (timers));
    if (tu_now_ms () - start < 20)
        CHECK_EQ (0, a.calls);

    /* It fires, with its id, and keeps firing (timers are periodic). */
    run_timers_until (timers, &a, 2, 3000);
    CHECK (a.calls >= 2);
    CHECK_EQ (ida, a.last_id);
    CHECK_EQ (0, b.calls);

    /* Cancelled timers do not fire; cancelling twice is an error. */
    CHECK_OK (zmq_timers_cancel (timers, ida));
    CHECK_ERR (zmq_timers_cancel (timers, ida), EINVAL);
    int calls = a.calls;
    /* b is due in 100 s: set its interval to 10 ms, then reset it. */
    CHECK_OK (zmq_timers_set_interval (timers, idb, 10));
    CHECK_OK (zmq_timers_reset (timers, idb));
    run_timers_until (timers, &b, 1, 3000);
    CHECK (b.calls >= 1);
    CHECK_EQ (idb, b.last_id);
    CHECK_EQ (calls, a.calls);

    /* Unknown ids. */
    CHECK_ERR (zmq_timers_cancel (timers, 987654), EINVAL);
    CHECK_ERR (zmq_timers_set_interval (timers, 987654, 10), EINVAL);
    CHECK_ERR (zmq_timers_reset (timers, 987654), EINVAL);
    /* A NULL handler, and NULL timers. */
    CHECK_ERR (zmq_timers_add (timers, 10, NULL, NULL), EFAULT);
    CHECK_ERR (zmq_timers_add (NULL, 10, on_timer, &a), EFAULT);
    CHECK_ERR (zmq_timers_cancel (NULL, idb), EFAULT);
    CHECK_ERR (zmq_timers_set_interval (NULL, idb, 10), EFAULT);
    CHECK_ERR (zmq_timers_reset (NULL, idb), EFAULT);
    CHECK_ERR (zmq_timers_timeout (NULL), EFAULT);
    CHECK_ERR (zmq_timers_execute (NULL), EFAULT);

    CHECK_OK (zmq_timers_destroy (&timers));
    CHECK (timers == NULL);
    CHECK_ERR (zmq_timers_destroy (&timers), EFAULT);
}

/* ------------------------------------------------------------------ */

static void test_stopwatch_and_sleep (void)
{
    void *w = CHECK_PTR (zmq_stopwatch_start ());
    /* Wait for the monotonic clock itself to move 20 ms. */
    int64_t start = tu_now_ms ();
    while (tu_now_ms () - start < 20)
        poll (NULL, 0, 5);
    unsigned long mid = zmq_stopwatch_intermediate (w);
    CHECK (mid >= 19000);
    CHECK (mid < 10000000);
    unsigned long mid2 = zmq_stopwatch_intermediate (w);
    CHECK (mid2 >= mid);
    unsigned long total = zmq_stopwatch_stop (w);
    CHECK (total >= mid2);

    /* zmq_sleep (1) sleeps about one second; zmq_sleep (0) returns. */
    int64_t t0 = tu_now_ms ();
    zmq_sleep (0);
    CHECK (tu_now_ms () - t0 < 500);
    t0 = tu_now_ms ();
    zmq_sleep (1);
    int64_t slept = tu_now_ms () - t0;
    CHECK (slept >= 990);
    CHECK (slept < 5000 * tu_deadline_factor ());
}

static atomic_int thread_ran;
static pthread_t thread_id_seen;

static void thread_body (void *arg)
{
    thread_id_seen = pthread_self ();
    atomic_store (&thread_ran, *(int *) arg);
}

static void test_threads (void)
{
    int value = 42;
    atomic_store (&thread_ran, 0);
    void *t = CHECK_PTR (zmq_threadstart (thread_body, &value));
    /* zmq_threadclose joins: the body has run when it returns. */
    zmq_threadclose (t);
    CHECK_EQ (42, atomic_load (&thread_ran));
    CHECK (!pthread_equal (thread_id_seen, pthread_self ()));
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"loaded_library", test_loaded_library, 0},
      {"version", test_version, 0},
      {"exports", test_exports, 0},
      {"errno_is_the_c_variable", test_errno_is_the_c_variable, 0},
      {"strerror", test_strerror, 0},
      {"has", test_has, 0},
      {"z85", test_z85, 0},
      {"curve_keys", test_curve_keys, 0},
      {"atomic_counter", test_atomic_counter, 0},
      {"timers", test_timers, 0},
      {"stopwatch_and_sleep", test_stopwatch_and_sleep, 0},
      {"threads", test_threads, 0},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
