/* SPDX-License-Identifier: MPL-2.0 */
/* Sockets: creation, ENOTSOCK for bad handles, socket options (defaults,
 * round trips, EINVAL paths, LAST_ENDPOINT, CURVE keys as 32 bytes or Z85),
 * bind/connect/unbind/disconnect and their errno values. */
#include "testutil.h"

#include <sys/un.h>

static char zeroes[4096] __attribute__ ((aligned (64)));

static void test_all_types (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    for (int type = ZMQ_PAIR; type <= ZMQ_STREAM; type++) {
        void *s = zmq_socket (ctx, type);
        if (!s) {
            TU_FAIL ("zmq_socket (type %d) failed: %s", type, tu_errname (errno));
            continue;
        }
        CHECK_EQ (type, tu_get_int (s, ZMQ_TYPE));
        CHECK_EQ (0, tu_get_int (s, ZMQ_THREAD_SAFE));
        CHECK_EQ (0, tu_get_int (s, ZMQ_RCVMORE));
        CHECK_EQ (ZMQ_NULL, tu_get_int (s, ZMQ_MECHANISM));
        CHECK_OK (zmq_close (s));
    }
    /* Old names. */
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_XREQ));
    CHECK_EQ (ZMQ_DEALER, tu_get_int (s, ZMQ_TYPE));
    tu_close (s);
    s = CHECK_PTR (zmq_socket (ctx, ZMQ_XREP));
    CHECK_EQ (ZMQ_ROUTER, tu_get_int (s, ZMQ_TYPE));
    tu_close (s);
#if defined ZMQ_UPSTREAM && defined ZMQ_DOWNSTREAM
    s = CHECK_PTR (zmq_socket (ctx, ZMQ_UPSTREAM));
    CHECK_EQ (ZMQ_PULL, tu_get_int (s, ZMQ_TYPE));
    tu_close (s);
    s = CHECK_PTR (zmq_socket (ctx, ZMQ_DOWNSTREAM));
    CHECK_EQ (ZMQ_PUSH, tu_get_int (s, ZMQ_TYPE));
    tu_close (s);
#else
    TU_FAIL ("zmq.h lacks ZMQ_UPSTREAM/ZMQ_DOWNSTREAM");
#endif
    CHECK_OK (zmq_ctx_term (ctx));
}

/* Every socket call with a handle that is not a socket. */
static void expect_enotsock (void *bad)
{
    int v = 0;
    size_t size = sizeof v;
    char buf[16];
    zmq_msg_t msg;
    struct iovec iov[1] = {{buf, 1}};
    size_t count = 1;

    CHECK_ERR (zmq_setsockopt (bad, ZMQ_LINGER, &v, sizeof v), ENOTSOCK);
    CHECK_ERR (zmq_getsockopt (bad, ZMQ_LINGER, &v, &size), ENOTSOCK);
    CHECK_ERR (zmq_bind (bad, "inproc://enotsock"), ENOTSOCK);
    CHECK_ERR (zmq_connect (bad, "inproc://enotsock"), ENOTSOCK);
    CHECK_ERR (zmq_unbind (bad, "inproc://enotsock"), ENOTSOCK);
    CHECK_ERR (zmq_disconnect (bad, "inproc://enotsock"), ENOTSOCK);
    CHECK_ERR (zmq_send (bad, "x", 1, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_send_const (bad, "x", 1, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_recv (bad, buf, sizeof buf, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_socket_monitor (bad, "inproc://enotsock-mon", ZMQ_EVENT_ALL),
               ENOTSOCK);
    CHECK_ERR (zmq_sendiov (bad, iov, 1, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_recviov (bad, iov, &count, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_OK (zmq_msg_init_size (&msg, 1));
    CHECK_ERR (zmq_msg_send (&msg, bad, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_sendmsg (bad, &msg, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_msg_recv (&msg, bad, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_ERR (zmq_recvmsg (bad, &msg, ZMQ_DONTWAIT), ENOTSOCK);
    CHECK_OK (zmq_msg_close (&msg));
    /* (A NULL socket in a poll item means "poll the fd" instead.) */
    if (bad) {
        zmq_pollitem_t item = {bad, -1, ZMQ_POLLIN, 0};
        CHECK_ERR (zmq_poll (&item, 1, 0), ENOTSOCK);
    }
    CHECK_ERR (zmq_close (bad), ENOTSOCK);
}

static void test_enotsock (void)
{
    /* NULL. */
    expect_enotsock (NULL);
    /* Memory that is not a socket. */
    expect_enotsock (zeroes);
    /* A context is not a socket. */
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    expect_enotsock (ctx);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* FERROZMQ-ONLY: a closed socket is a dead handle. libzmq frees the object
 * (asynchronously) and may crash on any later call. */
static void test_use_after_close (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (s, "inproc://after-close"));
    CHECK_OK (zmq_close (s));
    expect_enotsock (s); /* ends with a second zmq_close: double close */
    CHECK_ERR (zmq_close (s), ENOTSOCK);
    /* The inproc name is free again. */
    void *t = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    int64_t end = tu_deadline (5000);
    int rc;
    while ((rc = zmq_bind (t, "inproc://after-close")) != 0 && tu_now_ms () < end)
        poll (NULL, 0, 1);
    CHECK_EQ (0, rc);
    tu_close (t);
    CHECK_OK (zmq_ctx_term (ctx));
    /* Sockets of a terminated context are dead too. */
    expect_enotsock (t);
}

/* ------------------------------------------------------------------ */

typedef struct
{
    int option;
    const char *name;
    int value;
} int_default;

static void test_int_defaults (void)
{
    static const int_default defaults[] = {
      {ZMQ_SNDHWM, "SNDHWM", 1000},
      {ZMQ_RCVHWM, "RCVHWM", 1000},
      {ZMQ_LINGER, "LINGER", -1},
      {ZMQ_RECONNECT_IVL, "RECONNECT_IVL", 100},
      {ZMQ_RECONNECT_IVL_MAX, "RECONNECT_IVL_MAX", 0},
      {ZMQ_BACKLOG, "BACKLOG", 100},
      {ZMQ_SNDTIMEO, "SNDTIMEO", -1},
      {ZMQ_RCVTIMEO, "RCVTIMEO", -1},
      {ZMQ_SNDBUF, "SNDBUF", -1},
      {ZMQ_RCVBUF, "RCVBUF", -1},
      {ZMQ_RATE, "RATE", 100},
      {ZMQ_RECOVERY_IVL, "RECOVERY_IVL", 10000},
      {ZMQ_MULTICAST_HOPS, "MULTICAST_HOPS", 1},
      {ZMQ_IMMEDIATE, "IMMEDIATE", 0},
      {ZMQ_IPV6, "IPV6", 0},
      {ZMQ_IPV4ONLY, "IPV4ONLY", 1},
      {ZMQ_TCP_KEEPALIVE, "TCP_KEEPALIVE", -1},
      {ZMQ_TCP_KEEPALIVE_CNT, "TCP_KEEPALIVE_CNT", -1},
      {ZMQ_TCP_KEEPALIVE_IDLE, "TCP_KEEPALIVE_IDLE", -1},
      {ZMQ_TCP_KEEPALIVE_INTVL, "TCP_KEEPALIVE_INTVL", -1},
      {ZMQ_MECHANISM, "MECHANISM", ZMQ_NULL},
      {ZMQ_PLAIN_SERVER, "PLAIN_SERVER", 0},
      {ZMQ_CURVE_SERVER, "CURVE_SERVER", 0},
      {ZMQ_HANDSHAKE_IVL, "HANDSHAKE_IVL", 30000},
      {ZMQ_TOS, "TOS", 0},
      {ZMQ_HEARTBEAT_IVL, "HEARTBEAT_IVL", 0},
      {ZMQ_HEARTBEAT_TTL, "HEARTBEAT_TTL", 0},
      {ZMQ_HEARTBEAT_TIMEOUT, "HEARTBEAT_TIMEOUT", -1},
      {ZMQ_CONNECT_TIMEOUT, "CONNECT_TIMEOUT", 0},
      {ZMQ_TCP_MAXRT, "TCP_MAXRT", 0},
      {ZMQ_THREAD_SAFE, "THREAD_SAFE", 0},
      {ZMQ_MULTICAST_MAXTPDU, "MULTICAST_MAXTPDU", 1500},
      {ZMQ_USE_FD, "USE_FD", -1},
      {ZMQ_INVERT_MATCHING, "INVERT_MATCHING", 0},
      {ZMQ_RCVMORE, "RCVMORE", 0},
      {ZMQ_TYPE, "TYPE", ZMQ_DEALER},
      {ZMQ_EVENTS, "EVENTS", 0},
    };
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        int v = -12345;
        size_t size = sizeof v;
        if (zmq_getsockopt (s, defaults[i].option, &v, &size) != 0)
            TU_FAIL ("getsockopt ZMQ_%s failed: %s", defaults[i].name,
                     tu_errname (errno));
        else if (size != sizeof (int) || v != defaults[i].value)
            TU_FAIL ("ZMQ_%s: expected %d (size %zu), got %d (size %zu)",
                     defaults[i].name, defaults[i].value, sizeof (int), v, size);
    }
    /* 64-bit options. */
    int64_t maxmsg = 0;
    size_t size = sizeof maxmsg;
    CHECK_OK (zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &maxmsg, &size));
    CHECK_EQ (8, size);
    CHECK_EQ (-1, maxmsg);
    uint64_t affinity = 99;
    size = sizeof affinity;
    CHECK_OK (zmq_getsockopt (s, ZMQ_AFFINITY, &affinity, &size));
    CHECK_EQ (8, size);
    CHECK_EQ (0, affinity);
    /* ZMQ_FD: a file descriptor, stable across calls. */
    zmq_fd_t fd = -1, fd2 = -2;
    size = sizeof fd;
    CHECK_OK (zmq_getsockopt (s, ZMQ_FD, &fd, &size));
    CHECK_EQ (sizeof (zmq_fd_t), size);
    CHECK (fd >= 0);
    size = sizeof fd2;
    CHECK_OK (zmq_getsockopt (s, ZMQ_FD, &fd2, &size));
    CHECK_EQ (fd, fd2);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* A string or binary option's value. */
static void expect_bytes (void *s, int option, const char *name,
                          const void *expected, size_t expected_size)
{
    char buf[256];
    size_t size = sizeof buf;
    memset (buf, 'x', sizeof buf);
    if (zmq_getsockopt (s, option, buf, &size) != 0) {
        TU_FAIL ("getsockopt %s failed: %s", name, tu_errname (errno));
        return;
    }
    if (size != expected_size || memcmp (buf, expected, size) != 0)
        TU_FAIL ("%s: expected %zu bytes \"%.*s\", got %zu bytes \"%.*s\"", name,
                 expected_size, (int) expected_size, (const char *) expected,
                 size, (int) (size < sizeof buf ? size : sizeof buf), buf);
}

static void test_string_defaults (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    /* Strings come back with their NUL, which the size counts. */
    expect_bytes (s, ZMQ_LAST_ENDPOINT, "LAST_ENDPOINT", "", 1);
    expect_bytes (s, ZMQ_ZAP_DOMAIN, "ZAP_DOMAIN", "", 1);
    expect_bytes (s, ZMQ_PLAIN_USERNAME, "PLAIN_USERNAME", "", 1);
    expect_bytes (s, ZMQ_PLAIN_PASSWORD, "PLAIN_PASSWORD", "", 1);
    expect_bytes (s, ZMQ_SOCKS_PROXY, "SOCKS_PROXY", "", 1);
    expect_bytes (s, ZMQ_BINDTODEVICE, "BINDTODEVICE", "", 1);
    /* Binary: an empty routing id has size 0. */
    expect_bytes (s, ZMQ_ROUTING_ID, "ROUTING_ID", "", 0);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

typedef struct
{
    int option;
    const char *name;
    int value;
} int_setting;

static void test_int_roundtrip (void)
{
    static const int_setting settings[] = {
      {ZMQ_SNDHWM, "SNDHWM", 5},
      {ZMQ_SNDHWM, "SNDHWM", 0},
      {ZMQ_RCVHWM, "RCVHWM", 7},
      {ZMQ_LINGER, "LINGER", 0},
      {ZMQ_LINGER, "LINGER", 250},
      {ZMQ_RECONNECT_IVL, "RECONNECT_IVL", 20},
      {ZMQ_RECONNECT_IVL, "RECONNECT_IVL", -1},
      {ZMQ_RECONNECT_IVL_MAX, "RECONNECT_IVL_MAX", 500},
      {ZMQ_BACKLOG, "BACKLOG", 10},
      {ZMQ_SNDTIMEO, "SNDTIMEO", 50},
      {ZMQ_RCVTIMEO, "RCVTIMEO", 60},
      {ZMQ_SNDBUF, "SNDBUF", 65536},
      {ZMQ_RCVBUF, "RCVBUF", 131072},
      {ZMQ_IMMEDIATE, "IMMEDIATE", 1},
      {ZMQ_IPV6, "IPV6", 1},
      {ZMQ_IPV4ONLY, "IPV4ONLY", 1}, /* sets IPV6 back to 0 */
      {ZMQ_IPV6, "IPV6", 0},
      {ZMQ_TCP_KEEPALIVE, "TCP_KEEPALIVE", 1},
      {ZMQ_TCP_KEEPALIVE_CNT, "TCP_KEEPALIVE_CNT", 3},
      {ZMQ_TCP_KEEPALIVE_IDLE, "TCP_KEEPALIVE_IDLE", 60},
      {ZMQ_TCP_KEEPALIVE_INTVL, "TCP_KEEPALIVE_INTVL", 5},
      {ZMQ_HANDSHAKE_IVL, "HANDSHAKE_IVL", 1000},
      {ZMQ_TOS, "TOS", 0x10},
      {ZMQ_HEARTBEAT_IVL, "HEARTBEAT_IVL", 200},
      {ZMQ_HEARTBEAT_TTL, "HEARTBEAT_TTL", 2000},
      {ZMQ_HEARTBEAT_TIMEOUT, "HEARTBEAT_TIMEOUT", 300},
      {ZMQ_CONNECT_TIMEOUT, "CONNECT_TIMEOUT", 100},
      {ZMQ_TCP_MAXRT, "TCP_MAXRT", 1000},
      {ZMQ_MULTICAST_HOPS, "MULTICAST_HOPS", 4},
      {ZMQ_RATE, "RATE", 200},
      {ZMQ_RECOVERY_IVL, "RECOVERY_IVL", 500},
      {ZMQ_CONFLATE, "CONFLATE", 1},
      {ZMQ_INVERT_MATCHING, "INVERT_MATCHING", 1},
    };
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        int v = settings[i].value;
        if (zmq_setsockopt (s, settings[i].option, &v, sizeof v) != 0) {
            TU_FAIL ("setsockopt ZMQ_%s = %d failed: %s", settings[i].name, v,
                     tu_errname (errno));
            continue;
        }
        int got = -12345;
        size_t size = sizeof got;
        if (zmq_getsockopt (s, settings[i].option, &got, &size) != 0)
            TU_FAIL ("getsockopt ZMQ_%s failed: %s", settings[i].name,
                     tu_errname (errno));
        else if (got != v)
            TU_FAIL ("ZMQ_%s: set %d, got %d", settings[i].name, v, got);
    }
    int64_t maxmsg = 1 << 20, got64 = 0;
    size_t size = sizeof got64;
    CHECK_OK (zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg));
    CHECK_OK (zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &got64, &size));
    CHECK_EQ (maxmsg, got64);
    uint64_t affinity = 3, gotu = 0;
    size = sizeof gotu;
    CHECK_OK (zmq_setsockopt (s, ZMQ_AFFINITY, &affinity, sizeof affinity));
    CHECK_OK (zmq_getsockopt (s, ZMQ_AFFINITY, &gotu, &size));
    CHECK_EQ (3, gotu);

    /* Strings and binary values. */
    CHECK_OK (zmq_setsockopt (s, ZMQ_ROUTING_ID, "peer-1", 6));
    expect_bytes (s, ZMQ_ROUTING_ID, "ROUTING_ID", "peer-1", 6);
    CHECK_OK (zmq_setsockopt (s, ZMQ_IDENTITY, "peer-2", 6)); /* old name */
    expect_bytes (s, ZMQ_ROUTING_ID, "ROUTING_ID", "peer-2", 6);
    CHECK_OK (zmq_setsockopt (s, ZMQ_ZAP_DOMAIN, "global", 6));
    expect_bytes (s, ZMQ_ZAP_DOMAIN, "ZAP_DOMAIN", "global", 7);
    CHECK_OK (zmq_setsockopt (s, ZMQ_SOCKS_PROXY, "127.0.0.1:1080", 14));
    expect_bytes (s, ZMQ_SOCKS_PROXY, "SOCKS_PROXY", "127.0.0.1:1080", 15);
    CHECK_OK (zmq_setsockopt (s, ZMQ_SOCKS_PROXY, NULL, 0));
    expect_bytes (s, ZMQ_SOCKS_PROXY, "SOCKS_PROXY", "", 1);
    tu_close (s);

    /* Set-only options of particular types. */
    void *sub = CHECK_PTR (zmq_socket (ctx, ZMQ_SUB));
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "topic", 5));
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0));
    CHECK_OK (zmq_setsockopt (sub, ZMQ_UNSUBSCRIBE, "topic", 5));
    tu_close (sub);
    void *router = CHECK_PTR (zmq_socket (ctx, ZMQ_ROUTER));
    tu_set_int (router, ZMQ_ROUTER_MANDATORY, 1);
    tu_set_int (router, ZMQ_ROUTER_HANDOVER, 1);
    tu_set_int (router, ZMQ_PROBE_ROUTER, 1);
    CHECK_OK (zmq_setsockopt (router, ZMQ_CONNECT_ROUTING_ID, "abc", 3));
    CHECK_OK (zmq_setsockopt (router, ZMQ_CONNECT_RID, "abd", 3)); /* old name */
    tu_close (router);
    void *req = CHECK_PTR (zmq_socket (ctx, ZMQ_REQ));
    tu_set_int (req, ZMQ_REQ_RELAXED, 1);
    tu_set_int (req, ZMQ_REQ_CORRELATE, 1);
    tu_close (req);
    void *xpub = CHECK_PTR (zmq_socket (ctx, ZMQ_XPUB));
    tu_set_int (xpub, ZMQ_XPUB_VERBOSE, 1);
    tu_set_int (xpub, ZMQ_XPUB_VERBOSER, 1);
    tu_set_int (xpub, ZMQ_XPUB_NODROP, 1);
    tu_set_int (xpub, ZMQ_XPUB_MANUAL, 1);
    CHECK_OK (zmq_setsockopt (xpub, ZMQ_XPUB_WELCOME_MSG, "hi", 2));
    tu_close (xpub);
    void *stream = CHECK_PTR (zmq_socket (ctx, ZMQ_STREAM));
    tu_set_int (stream, ZMQ_STREAM_NOTIFY, 0);
    tu_close (stream);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_option_einval (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    int v = 1;
    int64_t v64 = 1;
    char big[300];
    memset (big, 'r', sizeof big);

    /* Unknown options. */
    CHECK_ERR (zmq_setsockopt (s, 9999, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, -1, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, 10, &v, sizeof v), EINVAL); /* unused */
    size_t size = sizeof v;
    CHECK_ERR (zmq_getsockopt (s, 9999, &v, &size), EINVAL);

    /* An int option needs exactly sizeof (int) bytes. */
    CHECK_ERR (zmq_setsockopt (s, ZMQ_LINGER, &v, 2), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_LINGER, &v64, sizeof v64), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SNDHWM, &v, 0), EINVAL);
    /* Int64 and uint64 options need 8. */
    CHECK_ERR (zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_AFFINITY, &v, sizeof v), EINVAL);

    /* Out-of-range values. */
    v = -1;
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SNDHWM, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_RCVHWM, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_RECONNECT_IVL_MAX, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_HANDSHAKE_IVL, &v, sizeof v), EINVAL);
    v = -2;
    CHECK_ERR (zmq_setsockopt (s, ZMQ_LINGER, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_RECONNECT_IVL, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SNDTIMEO, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_RCVTIMEO, &v, sizeof v), EINVAL);
    v = 2;
    CHECK_ERR (zmq_setsockopt (s, ZMQ_IMMEDIATE, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_IPV6, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_CONFLATE, &v, sizeof v), EINVAL);
    /* The failed calls changed nothing. */
    CHECK_EQ (1000, tu_get_int (s, ZMQ_SNDHWM));
    CHECK_EQ (-1, tu_get_int (s, ZMQ_LINGER));

    /* Routing ids are 1..255 bytes. */
    CHECK_ERR (zmq_setsockopt (s, ZMQ_ROUTING_ID, big, 256), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_ROUTING_ID, big, 0), EINVAL);
    CHECK_OK (zmq_setsockopt (s, ZMQ_ROUTING_ID, big, 255));

    /* Read-only options cannot be set. */
    v = 1;
    CHECK_ERR (zmq_setsockopt (s, ZMQ_TYPE, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_RCVMORE, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_EVENTS, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_FD, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_LAST_ENDPOINT, "x", 1), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_MECHANISM, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_THREAD_SAFE, &v, sizeof v), EINVAL);

    /* A buffer too small for the value. */
    int small = 0;
    size = 2;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_LINGER, &small, &size), EINVAL);
    size = 4;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &v64, &size), EINVAL);
    char tiny[4];
    size = sizeof tiny;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_ROUTING_ID, tiny, &size), EINVAL);

    /* Options of other socket types. */
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SUBSCRIBE, "a", 1), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_UNSUBSCRIBE, "a", 1), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_ROUTER_MANDATORY, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_REQ_RELAXED, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_XPUB_VERBOSE, &v, sizeof v), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_STREAM_NOTIFY, &v, sizeof v), EINVAL);
    void *pub = CHECK_PTR (zmq_socket (ctx, ZMQ_PUB));
    CHECK_ERR (zmq_setsockopt (pub, ZMQ_SUBSCRIBE, "a", 1), EINVAL);
    tu_close (pub);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_last_endpoint (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    char ep[256];
    size_t size = sizeof ep;

    CHECK_OK (zmq_bind (s, "tcp://127.0.0.1:*"));
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &size));
    CHECK_EQ (strlen (ep) + 1, size); /* the NUL is counted */
    int port = 0;
    CHECK_EQ (1, sscanf (ep, "tcp://127.0.0.1:%d", &port));
    CHECK (port > 0 && port < 65536);

    /* Too small a buffer: EINVAL, size unchanged. */
    char tiny[8];
    size_t tiny_size = sizeof tiny;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, tiny, &tiny_size), EINVAL);

    /* Exactly large enough. */
    char exact[256];
    size_t exact_size = strlen (ep) + 1;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, exact, &exact_size));
    CHECK_STR (ep, exact);

    /* Binding port 0 means "any port" as well. */
    CHECK_OK (zmq_bind (s, "tcp://127.0.0.1:0"));
    size = sizeof ep;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &size));
    CHECK_EQ (1, sscanf (ep, "tcp://127.0.0.1:%d", &port));
    CHECK (port > 0);

    /* ipc and inproc. */
    char name[64], ipc[128];
    tu_unique (name, sizeof name, "le-");
    snprintf (ipc, sizeof ipc, "ipc:///tmp/ferrozmq-capi-%s", name);
    CHECK_OK (zmq_bind (s, ipc));
    size = sizeof ep;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &size));
    CHECK_STR (ipc, ep);
    CHECK_OK (zmq_bind (s, "inproc://last-endpoint"));
    size = sizeof ep;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &size));
    CHECK_STR ("inproc://last-endpoint", ep);

    /* Binding ipc with a '*' path picks a path. */
    CHECK_OK (zmq_bind (s, "ipc://*"));
    size = sizeof ep;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &size));
    CHECK (strncmp (ep, "ipc://", 6) == 0 && strlen (ep) > 7
           && strcmp (ep, "ipc://*") != 0);

    /* A connect sets it too. */
    void *c = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    CHECK_OK (zmq_connect (c, "tcp://127.0.0.1:5556"));
    size = sizeof ep;
    CHECK_OK (zmq_getsockopt (c, ZMQ_LAST_ENDPOINT, ep, &size));
    CHECK_STR ("tcp://127.0.0.1:5556", ep);
    tu_close (c);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_curve_key_options (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    char pub[41], sec[41];
    CHECK_OK (zmq_curve_keypair (pub, sec));
    uint8_t raw[32];
    CHECK (zmq_z85_decode (raw, pub) != NULL);

    /* 32 binary bytes in, then read back by buffer size: 32 bytes gives the
     * binary key, 41 the Z85 text with its NUL. */
    CHECK_OK (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, raw, 32));
    uint8_t back[32];
    size_t size = 32;
    CHECK_OK (zmq_getsockopt (s, ZMQ_CURVE_PUBLICKEY, back, &size));
    CHECK_EQ (32, size);
    CHECK (memcmp (back, raw, 32) == 0);
    char text[41];
    size = 41;
    CHECK_OK (zmq_getsockopt (s, ZMQ_CURVE_PUBLICKEY, text, &size));
    CHECK_EQ (41, size);
    CHECK_STR (pub, text);
    /* Any other size is refused. */
    char other[64];
    size = 40;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_CURVE_PUBLICKEY, other, &size), EINVAL);
    size = 64;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_CURVE_PUBLICKEY, other, &size), EINVAL);
    CHECK_EQ (ZMQ_CURVE, tu_get_int (s, ZMQ_MECHANISM));

    /* Z85 in: 40 characters, or 41 with the NUL. */
    CHECK_OK (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, sec, 40));
    size = 41;
    CHECK_OK (zmq_getsockopt (s, ZMQ_CURVE_SECRETKEY, text, &size));
    CHECK_STR (sec, text);
    CHECK_OK (zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, pub, 41));
    size = 32;
    CHECK_OK (zmq_getsockopt (s, ZMQ_CURVE_SERVERKEY, back, &size));
    CHECK (memcmp (back, raw, 32) == 0);

    /* Wrong sizes. */
    CHECK_ERR (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, raw, 31), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, pub, 39), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, raw, 33), EINVAL);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, raw, 0), EINVAL);

    tu_set_int (s, ZMQ_CURVE_SERVER, 1);
    CHECK_EQ (1, tu_get_int (s, ZMQ_CURVE_SERVER));
    CHECK_EQ (ZMQ_CURVE, tu_get_int (s, ZMQ_MECHANISM));

    /* PLAIN switches the mechanism. */
    void *p = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    CHECK_OK (zmq_setsockopt (p, ZMQ_PLAIN_USERNAME, "admin", 5));
    CHECK_OK (zmq_setsockopt (p, ZMQ_PLAIN_PASSWORD, "secret", 6));
    CHECK_EQ (ZMQ_PLAIN, tu_get_int (p, ZMQ_MECHANISM));
    expect_bytes (p, ZMQ_PLAIN_USERNAME, "PLAIN_USERNAME", "admin", 6);
    expect_bytes (p, ZMQ_PLAIN_PASSWORD, "PLAIN_PASSWORD", "secret", 7);
    /* An empty user name goes back to NULL. */
    CHECK_OK (zmq_setsockopt (p, ZMQ_PLAIN_USERNAME, NULL, 0));
    CHECK_EQ (ZMQ_NULL, tu_get_int (p, ZMQ_MECHANISM));
    tu_set_int (p, ZMQ_PLAIN_SERVER, 1);
    CHECK_EQ (ZMQ_PLAIN, tu_get_int (p, ZMQ_MECHANISM));
    tu_close (p);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* ------------------------------------------------------------------ */

static void test_endpoint_errors (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));

    /* Unknown transports. */
    CHECK_ERR (zmq_bind (s, "foo://bar"), EPROTONOSUPPORT);
    CHECK_ERR (zmq_connect (s, "foo://bar"), EPROTONOSUPPORT);
    CHECK_ERR (zmq_bind (s, "tcpx://127.0.0.1:5555"), EPROTONOSUPPORT);

    /* Malformed endpoints. */
    CHECK_ERR (zmq_bind (s, "tcp127.0.0.1:5555"), EINVAL);
    CHECK_ERR (zmq_connect (s, "tcp127.0.0.1:5555"), EINVAL);
    CHECK_ERR (zmq_bind (s, "tcp://"), EINVAL);
    CHECK_ERR (zmq_bind (s, ""), EINVAL);
    CHECK_ERR (zmq_connect (s, ""), EINVAL);
    /* FERROZMQ-ONLY: a NULL endpoint is EINVAL (libzmq asserts). */
    if (tu_is_ferrozmq ()) {
        CHECK_ERR (zmq_bind (s, NULL), EINVAL);
        CHECK_ERR (zmq_connect (s, NULL), EINVAL);
        CHECK_ERR (zmq_unbind (s, NULL), EINVAL);
        CHECK_ERR (zmq_disconnect (s, NULL), EINVAL);
    }
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1"), EINVAL);
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1:"), EINVAL);
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1:port"), EINVAL);
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1:*"), EINVAL);
    /* (libzmq accepts "port 0" and ports above 65535 for connect, failing
     * later, so those are not tested.) */
    /* A host that is neither an address nor an interface. */
    CHECK_ERR (zmq_bind (s, "tcp://no-such-interface-x:5555"), ENODEV);
    /* An address that is not this machine's. */
    CHECK_ERR (zmq_bind (s, "tcp://192.0.2.1:5555"), EADDRNOTAVAIL);
    /* An ipc path longer than sun_path. */
    char longpath[300];
    memset (longpath, 'p', sizeof longpath);
    memcpy (longpath, "ipc:///tmp/", 11);
    longpath[sizeof longpath - 1] = 0;
    CHECK_ERR (zmq_bind (s, longpath), ENAMETOOLONG);
    CHECK_ERR (zmq_connect (s, longpath), ENAMETOOLONG);

    /* udp exists in libzmq but only for RADIO/DISH/DGRAM. */
    void *pub = CHECK_PTR (zmq_socket (ctx, ZMQ_PUB));
    CHECK_ERR (zmq_bind (pub, "udp://127.0.0.1:5555"), ENOCOMPATPROTO);
    CHECK_ERR (zmq_connect (pub, "udp://127.0.0.1:5555"), ENOCOMPATPROTO);
    tu_close (pub);

    /* The socket still works after all that. */
    CHECK_OK (zmq_bind (s, "inproc://still-works"));
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_eaddrinuse (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *a = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *b = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    char ep[256];
    tu_bind_any (a, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_ERR (zmq_bind (b, ep), EADDRINUSE);
    CHECK_ERR (zmq_bind (a, ep), EADDRINUSE);

    CHECK_OK (zmq_bind (a, "inproc://in-use"));
    CHECK_ERR (zmq_bind (b, "inproc://in-use"), EADDRINUSE);
    CHECK_ERR (zmq_bind (a, "inproc://in-use"), EADDRINUSE);

    char name[64], ipc[128];
    tu_unique (name, sizeof name, "inuse-");
    snprintf (ipc, sizeof ipc, "ipc://@ferrozmq-capi-%s", name);
    CHECK_OK (zmq_bind (a, ipc));
    CHECK_ERR (zmq_bind (b, ipc), EADDRINUSE);

    /* After an unbind the address is free again. */
    CHECK_OK (zmq_unbind (a, "inproc://in-use"));
    CHECK_OK (zmq_bind (b, "inproc://in-use"));
    tu_close (a);
    tu_close (b);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_unbind_disconnect (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *c = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    char ep[256];

    CHECK_ERR (zmq_unbind (s, "tcp://127.0.0.1:5557"), ENOENT);
    CHECK_ERR (zmq_unbind (s, "inproc://never-bound"), ENOENT);
    CHECK_ERR (zmq_disconnect (c, "tcp://127.0.0.1:5557"), ENOENT);
    CHECK_ERR (zmq_disconnect (c, "inproc://never-connected"), ENOENT);
    CHECK_ERR (zmq_unbind (s, "foo://bar"), EPROTONOSUPPORT);

    tu_bind_any (s, "tcp://127.0.0.1:*", ep, sizeof ep);
    /* The wildcard is not the endpoint; LAST_ENDPOINT is. */
    CHECK_ERR (zmq_unbind (s, "tcp://127.0.0.1:*"), ENOENT);
    CHECK_OK (zmq_connect (c, ep));
    SEND_STR (c, "before", 0);
    EXPECT_RECV (s, "before", 5000);
    CHECK_OK (zmq_disconnect (c, ep));
    CHECK_ERR (zmq_disconnect (c, ep), ENOENT);
    CHECK_OK (zmq_unbind (s, ep));
    CHECK_ERR (zmq_unbind (s, ep), ENOENT);
    /* Nobody listens there any more: a new socket can bind it. */
    void *t = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    int64_t end = tu_deadline (5000);
    int rc;
    while ((rc = zmq_bind (t, ep)) != 0 && tu_now_ms () < end)
        poll (NULL, 0, 5);
    CHECK_EQ (0, rc);

    CHECK_OK (zmq_bind (s, "inproc://ub"));
    CHECK_OK (zmq_connect (c, "inproc://ub"));
    CHECK_OK (zmq_disconnect (c, "inproc://ub"));
    CHECK_OK (zmq_unbind (s, "inproc://ub"));
    CHECK_ERR (zmq_unbind (s, "inproc://ub"), ENOENT);
    tu_close (t);
    tu_close (s);
    tu_close (c);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_connect_before_bind_inproc (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *c = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    CHECK_OK (zmq_connect (c, "inproc://later"));
    SEND_STR (c, "queued", 0);
    CHECK_OK (zmq_bind (s, "inproc://later"));
    EXPECT_RECV (s, "queued", 5000);
    tu_close (c);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"all_types", test_all_types, 0},
      {"enotsock", test_enotsock, 0},
      {"use_after_close", test_use_after_close, TU_FERROZMQ_ONLY},
      {"int_defaults", test_int_defaults, 0},
      {"string_defaults", test_string_defaults, 0},
      {"int_roundtrip", test_int_roundtrip, 0},
      {"option_einval", test_option_einval, 0},
      {"last_endpoint", test_last_endpoint, 0},
      {"curve_key_options", test_curve_key_options, 0},
      {"endpoint_errors", test_endpoint_errors, 0},
      {"eaddrinuse", test_eaddrinuse, 0},
      {"unbind_disconnect", test_unbind_disconnect, 0},
      {"connect_before_bind_inproc", test_connect_before_bind_inproc, 0},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
