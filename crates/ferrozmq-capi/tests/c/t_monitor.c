/* SPDX-License-Identifier: MPL-2.0 */
/* zmq_socket_monitor: the two-frame events (6 bytes: uint16 event + uint32
 * value in host order, then the endpoint) for the life of a tcp/ipc
 * connection, event masks, handshake failures, stopping, errors. */
#include "testutil.h"

typedef struct
{
    uint16_t event;
    uint32_t value;
    char endpoint[256];
} mon_event;

static const char *event_name (int e)
{
    switch (e) {
        case ZMQ_EVENT_CONNECTED: return "CONNECTED";
        case ZMQ_EVENT_CONNECT_DELAYED: return "CONNECT_DELAYED";
        case ZMQ_EVENT_CONNECT_RETRIED: return "CONNECT_RETRIED";
        case ZMQ_EVENT_LISTENING: return "LISTENING";
        case ZMQ_EVENT_BIND_FAILED: return "BIND_FAILED";
        case ZMQ_EVENT_ACCEPTED: return "ACCEPTED";
        case ZMQ_EVENT_ACCEPT_FAILED: return "ACCEPT_FAILED";
        case ZMQ_EVENT_CLOSED: return "CLOSED";
        case ZMQ_EVENT_CLOSE_FAILED: return "CLOSE_FAILED";
        case ZMQ_EVENT_DISCONNECTED: return "DISCONNECTED";
        case ZMQ_EVENT_MONITOR_STOPPED: return "MONITOR_STOPPED";
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return "HANDSHAKE_FAILED_NO_DETAIL";
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return "HANDSHAKE_SUCCEEDED";
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return "HANDSHAKE_FAILED_PROTOCOL";
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return "HANDSHAKE_FAILED_AUTH";
        default: return "?";
    }
}

/* Reads one event within ms: 1 if read, 0 on timeout; format errors are
 * reported as failures. */
static int read_event (const char *file, int line, void *mon, mon_event *ev, int ms)
{
    if (!(tu_wait (mon, ZMQ_POLLIN, ms) & ZMQ_POLLIN))
        return 0;
    zmq_msg_t m;
    zmq_msg_init (&m);
    if (zmq_msg_recv (&m, mon, 0) < 0) {
        tu_fail (file, line, "monitor frame 1: %s", tu_errname (errno));
        zmq_msg_close (&m);
        return 0;
    }
    if (zmq_msg_size (&m) != 6)
        tu_fail (file, line, "monitor frame 1 has %zu bytes, expected 6",
                 zmq_msg_size (&m));
    if (!zmq_msg_more (&m))
        tu_fail (file, line, "monitor frame 1 without MORE");
    const uint8_t *d = zmq_msg_data (&m);
    memcpy (&ev->event, d, 2);
    memcpy (&ev->value, d + 2, 4);
    zmq_msg_close (&m);
    zmq_msg_init (&m);
    if (zmq_msg_recv (&m, mon, 0) < 0) {
        tu_fail (file, line, "monitor frame 2: %s", tu_errname (errno));
        zmq_msg_close (&m);
        return 0;
    }
    if (zmq_msg_more (&m))
        tu_fail (file, line, "monitor frame 2 has MORE (v1 events are 2 frames)");
    size_t n = zmq_msg_size (&m);
    if (n >= sizeof ev->endpoint)
        n = sizeof ev->endpoint - 1;
    memcpy (ev->endpoint, zmq_msg_data (&m), n);
    ev->endpoint[n] = 0;
    zmq_msg_close (&m);
    return 1;
}

/* Skips events until `wanted` arrives (within ms); fails otherwise. Events
 * skipped are listed in the failure message. */
static int expect_event (const char *file, int line, void *mon, int wanted,
                         int ms, mon_event *out)
{
    char skipped[512] = "";
    int64_t end = tu_deadline (ms);
    mon_event ev;
    while (tu_now_ms () < end) {
        int64_t left = end - tu_now_ms ();
        if (!read_event (file, line, mon, &ev, (int) (left > 0 ? left : 0)))
            break;
        if (ev.event == wanted) {
            if (out)
                *out = ev;
            return 1;
        }
        size_t len = strlen (skipped);
        snprintf (skipped + len, sizeof skipped - len, " %s", event_name (ev.event));
    }
    tu_fail (file, line, "no %s event within %d ms (saw:%s)", event_name (wanted),
             ms, skipped[0] ? skipped : " nothing");
    return 0;
}
#define EXPECT_EVENT(mon, wanted, ms, out)                                    \
    expect_event (__FILE__, __LINE__, mon, wanted, ms, out)

static void *monitor_reader (void *ctx, const char *ep)
{
    void *r = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_connect (r, ep));
    return r;
}

static void lifecycle (const char *bind_wildcard)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *server = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *client = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    char smon[64], cmon[64];
    tu_unique (smon, sizeof smon, "inproc://mon-s-");
    tu_unique (cmon, sizeof cmon, "inproc://mon-c-");
    CHECK_OK (zmq_socket_monitor (server, smon, ZMQ_EVENT_ALL));
    CHECK_OK (zmq_socket_monitor (client, cmon, ZMQ_EVENT_ALL));
    void *sr = monitor_reader (ctx, smon);
    void *cr = monitor_reader (ctx, cmon);

    char ep[256];
    tu_bind_any (server, bind_wildcard, ep, sizeof ep);
    mon_event ev;
    if (EXPECT_EVENT (sr, ZMQ_EVENT_LISTENING, 5000, &ev))
        CHECK_STR (ep, ev.endpoint);

    CHECK_OK (zmq_connect (client, ep));
    if (EXPECT_EVENT (cr, ZMQ_EVENT_CONNECTED, 5000, &ev)) {
        CHECK_STR (ep, ev.endpoint);
        CHECK ((int32_t) ev.value >= 0); /* the connection's fd */
    }
    if (EXPECT_EVENT (cr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5000, &ev)) {
        CHECK_STR (ep, ev.endpoint);
        CHECK_EQ (0, ev.value);
    }
    if (EXPECT_EVENT (sr, ZMQ_EVENT_ACCEPTED, 5000, &ev))
        CHECK_STR (ep, ev.endpoint);
    EXPECT_EVENT (sr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5000, &ev);

    SEND_STR (client, "through", 0);
    EXPECT_RECV (server, "through", 5000);

    /* The client goes: the server sees the disconnection; the client's
     * monitor stops with its socket. */
    tu_close (client);
    if (EXPECT_EVENT (sr, ZMQ_EVENT_DISCONNECTED, 5000, &ev))
        CHECK_STR (ep, ev.endpoint);
    if (EXPECT_EVENT (cr, ZMQ_EVENT_MONITOR_STOPPED, 5000, &ev))
        CHECK_EQ (0, ev.value);

    /* Unbinding closes the listener. */
    CHECK_OK (zmq_unbind (server, ep));
    if (EXPECT_EVENT (sr, ZMQ_EVENT_CLOSED, 5000, &ev))
        CHECK_STR (ep, ev.endpoint);
    /* Stopping the monitor explicitly. */
    CHECK_OK (zmq_socket_monitor (server, NULL, 0));
    EXPECT_EVENT (sr, ZMQ_EVENT_MONITOR_STOPPED, 5000, &ev);

    tu_close (sr);
    tu_close (cr);
    tu_close (server);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_lifecycle_tcp (void)
{
    lifecycle ("tcp://127.0.0.1:*");
}

static void test_lifecycle_ipc (void)
{
    char name[64], ep[128];
    tu_unique (name, sizeof name, "mon-");
    snprintf (ep, sizeof ep, "ipc:///tmp/ferrozmq-capi-%s", name);
    lifecycle (ep);
}

static void test_event_mask (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *server = CHECK_PTR (zmq_socket (ctx, ZMQ_REP));
    void *client = CHECK_PTR (zmq_socket (ctx, ZMQ_REQ));
    CHECK_OK (zmq_socket_monitor (server, "inproc://mon-mask",
                                  ZMQ_EVENT_LISTENING | ZMQ_EVENT_CLOSED));
    void *r = monitor_reader (ctx, "inproc://mon-mask");
    char ep[256];
    tu_bind_any (server, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_OK (zmq_connect (client, ep));
    SEND_STR (client, "q", 0);
    EXPECT_RECV (server, "q", 5000);
    SEND_STR (server, "a", 0);
    EXPECT_RECV (client, "a", 5000);
    /* Accepted and handshaken by now, but those events were not asked. */
    CHECK_OK (zmq_unbind (server, ep));
    mon_event ev;
    CHECK (read_event (__FILE__, __LINE__, r, &ev, 5000));
    CHECK_EQ (ZMQ_EVENT_LISTENING, ev.event);
    CHECK (read_event (__FILE__, __LINE__, r, &ev, 5000));
    CHECK_EQ (ZMQ_EVENT_CLOSED, ev.event);
    tu_close (client);
    tu_close (server);
    tu_close (r);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_connect_retried (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *client = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    tu_set_int (client, ZMQ_RECONNECT_IVL, 50);
    CHECK_OK (zmq_socket_monitor (client, "inproc://mon-retry", ZMQ_EVENT_ALL));
    void *r = monitor_reader (ctx, "inproc://mon-retry");
    char ep[64];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", tu_free_tcp_port ());
    CHECK_OK (zmq_connect (client, ep));
    mon_event ev;
    if (EXPECT_EVENT (r, ZMQ_EVENT_CONNECT_RETRIED, 5000, &ev)) {
        CHECK_STR (ep, ev.endpoint);
        /* The reconnect interval, which libzmq spreads with a random part
         * of up to one more interval: [ivl, 2 ivl). */
        if (ev.value < 50 || ev.value >= 100)
            TU_FAIL ("CONNECT_RETRIED value %u, expected 50..99", ev.value);
    }
    tu_close (client);
    tu_close (r);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_mechanism_mismatch (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *server = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    void *client = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    char pub[41], sec[41];
    CHECK_OK (zmq_curve_keypair (pub, sec));
    tu_set_int (server, ZMQ_CURVE_SERVER, 1);
    CHECK_OK (zmq_setsockopt (server, ZMQ_CURVE_SECRETKEY, sec, 40));
    CHECK_OK (zmq_socket_monitor (server, "inproc://mon-mismatch",
                                  ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                    | ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
    void *r = monitor_reader (ctx, "inproc://mon-mismatch");
    char ep[256];
    tu_bind_any (server, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_OK (zmq_connect (client, ep)); /* NULL mechanism */
    mon_event ev;
    if (EXPECT_EVENT (r, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, 5000, &ev))
        CHECK_EQ (ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, ev.value);
    tu_close (client);
    tu_close (server);
    tu_close (r);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_curve_handshake (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *server = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *client = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    char spub[41], ssec[41], cpub[41], csec[41];
    CHECK_OK (zmq_curve_keypair (spub, ssec));
    CHECK_OK (zmq_curve_keypair (cpub, csec));
    tu_set_int (server, ZMQ_CURVE_SERVER, 1);
    CHECK_OK (zmq_setsockopt (server, ZMQ_CURVE_SECRETKEY, ssec, 40));
    CHECK_OK (zmq_setsockopt (client, ZMQ_CURVE_SERVERKEY, spub, 40));
    CHECK_OK (zmq_setsockopt (client, ZMQ_CURVE_PUBLICKEY, cpub, 40));
    CHECK_OK (zmq_setsockopt (client, ZMQ_CURVE_SECRETKEY, csec, 40));
    CHECK_OK (zmq_socket_monitor (client, "inproc://mon-curve", ZMQ_EVENT_ALL));
    void *r = monitor_reader (ctx, "inproc://mon-curve");
    char ep[256];
    tu_bind_any (server, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_OK (zmq_connect (client, ep));
    EXPECT_EVENT (r, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5000, NULL);
    SEND_STR (client, "secret message", 0);
    EXPECT_RECV (server, "secret message", 5000);
    tu_close (client);
    tu_close (server);
    tu_close (r);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_errors (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    /* Monitors publish on inproc only. */
    CHECK_ERR (zmq_socket_monitor (s, "tcp://127.0.0.1:5555", ZMQ_EVENT_ALL),
               EPROTONOSUPPORT);
    CHECK_ERR (zmq_socket_monitor (s, "ipc:///tmp/ferrozmq-mon", ZMQ_EVENT_ALL),
               EPROTONOSUPPORT);
    CHECK_ERR (zmq_socket_monitor (s, "nonsense", ZMQ_EVENT_ALL), EINVAL);
    CHECK_ERR (zmq_socket_monitor (NULL, "inproc://mon-x", ZMQ_EVENT_ALL), ENOTSOCK);
    /* A second monitor on the same address. */
    void *t = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_socket_monitor (s, "inproc://mon-dup", ZMQ_EVENT_ALL));
    CHECK_ERR (zmq_socket_monitor (t, "inproc://mon-dup", ZMQ_EVENT_ALL), EADDRINUSE);
    /* Stopping with no monitor running is fine. */
    CHECK_OK (zmq_socket_monitor (t, NULL, 0));
    tu_close (t);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"lifecycle_tcp", test_lifecycle_tcp, 0},
      {"lifecycle_ipc", test_lifecycle_ipc, 0},
      {"event_mask", test_event_mask, 0},
      {"connect_retried", test_connect_retried, 0},
      {"mechanism_mismatch", test_mechanism_mismatch, 0},
      {"curve_handshake", test_curve_handshake, 0},
      {"errors", test_errors, 0},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
