/* SPDX-License-Identifier: MPL-2.0 */
/* Contexts: options, error paths, socket limits, termination (blocking,
 * ETERM, shutdown, linger delivery while zmq_ctx_term runs), the legacy
 * zmq_init/zmq_term/zmq_ctx_destroy. */
#include "testutil.h"

static char zeroes[4096] __attribute__ ((aligned (64)));

static void test_defaults (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_EQ (ZMQ_IO_THREADS_DFLT, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    CHECK_EQ (1, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    CHECK_EQ (ZMQ_MAX_SOCKETS_DFLT, zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS));
    CHECK_EQ (1023, zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS));
    CHECK_EQ (65535, zmq_ctx_get (ctx, ZMQ_SOCKET_LIMIT));
    CHECK_EQ (0, zmq_ctx_get (ctx, ZMQ_IPV6));
    CHECK_EQ (1, zmq_ctx_get (ctx, ZMQ_BLOCKY));
    CHECK_EQ (64, zmq_ctx_get (ctx, ZMQ_MSG_T_SIZE));
    CHECK_EQ (sizeof (zmq_msg_t), zmq_ctx_get (ctx, ZMQ_MSG_T_SIZE));
    CHECK_EQ (INT_MAX, zmq_ctx_get (ctx, ZMQ_MAX_MSGSZ));
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_set_get (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 2));
    CHECK_EQ (2, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 10));
    CHECK_EQ (10, zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS));
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IPV6, 1));
    CHECK_EQ (1, zmq_ctx_get (ctx, ZMQ_IPV6));
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IPV6, 0));
    CHECK_EQ (0, zmq_ctx_get (ctx, ZMQ_IPV6));
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_BLOCKY, 0));
    CHECK_EQ (0, zmq_ctx_get (ctx, ZMQ_BLOCKY));
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_MAX_MSGSZ, 1000));
    CHECK_EQ (1000, zmq_ctx_get (ctx, ZMQ_MAX_MSGSZ));
    /* Options take effect for sockets created afterwards. */
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_invalid_options (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_ERR (zmq_ctx_set (ctx, 9999, 1), EINVAL);
    CHECK_ERR (zmq_ctx_get (ctx, 9999), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_IO_THREADS, -1), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 0), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, -3), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_IPV6, -1), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_BLOCKY, -1), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_MAX_MSGSZ, -1), EINVAL);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_MSG_T_SIZE, 64), EINVAL); /* get-only */
    /* The values are unchanged after the failures. */
    CHECK_EQ (1, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    CHECK_EQ (1023, zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS));
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_efault (void)
{
    CHECK_ERR (zmq_ctx_term (NULL), EFAULT);
    CHECK_ERR (zmq_ctx_shutdown (NULL), EFAULT);
    CHECK_ERR (zmq_ctx_set (NULL, ZMQ_IO_THREADS, 1), EFAULT);
    CHECK_ERR (zmq_ctx_get (NULL, ZMQ_IO_THREADS), EFAULT);
    CHECK_ERR (zmq_term (NULL), EFAULT);
    CHECK_ERR (zmq_ctx_destroy (NULL), EFAULT);
    CHECK_NULL_ERR (zmq_socket (NULL, ZMQ_PAIR), EFAULT);

    /* Memory that is not a context. */
    CHECK_ERR (zmq_ctx_get (zeroes, ZMQ_IO_THREADS), EFAULT);
    CHECK_ERR (zmq_ctx_set (zeroes, ZMQ_IO_THREADS, 1), EFAULT);
    CHECK_ERR (zmq_ctx_shutdown (zeroes), EFAULT);
    CHECK_ERR (zmq_ctx_term (zeroes), EFAULT);
    CHECK_NULL_ERR (zmq_socket (zeroes, ZMQ_PAIR), EFAULT);

    /* A socket is not a context. */
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_ERR (zmq_ctx_get (s, ZMQ_IO_THREADS), EFAULT);
    CHECK_ERR (zmq_ctx_set (s, ZMQ_IO_THREADS, 1), EFAULT);
    CHECK_ERR (zmq_ctx_shutdown (s), EFAULT);
    CHECK_ERR (zmq_ctx_term (s), EFAULT);
    CHECK_NULL_ERR (zmq_socket (s, ZMQ_PAIR), EFAULT);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_invalid_socket_type (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_NULL_ERR (zmq_socket (ctx, -1), EINVAL);
    CHECK_NULL_ERR (zmq_socket (ctx, 99), EINVAL);
    CHECK_NULL_ERR (zmq_socket (ctx, 1000000), EINVAL);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_max_sockets (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 2));
    void *a = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    void *b = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    CHECK_NULL_ERR (zmq_socket (ctx, ZMQ_PULL), EMFILE);
    tu_close (a);
    /* A closed socket frees its slot. */
    void *c = NULL;
    int64_t end = tu_deadline (5000);
    while (!c && tu_now_ms () < end) {
        c = zmq_socket (ctx, ZMQ_PULL);
        if (!c)
            poll (NULL, 0, 1);
    }
    CHECK (c != NULL);
    tu_close (b);
    tu_close (c);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_blocky (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    CHECK_EQ (-1, tu_get_int (s, ZMQ_LINGER));
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_BLOCKY, 0));
    void *t = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    CHECK_EQ (0, tu_get_int (t, ZMQ_LINGER));
    /* Sockets created before keep their linger. */
    CHECK_EQ (-1, tu_get_int (s, ZMQ_LINGER));
    tu_close (s);
    tu_close (t);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_io_threads_zero_inproc (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 0));
    CHECK_EQ (0, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    void *a = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    void *b = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (a, "inproc://zero-io"));
    CHECK_OK (zmq_connect (b, "inproc://zero-io"));
    SEND_STR (b, "ping", 0);
    EXPECT_RECV (a, "ping", 5000);
    SEND_STR (a, "pong", 0);
    EXPECT_RECV (b, "pong", 5000);
    tu_close (a);
    tu_close (b);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_io_threads_zero_tcp (void)
{
    /* zmq_bind(3)/zmq_connect(3): EMTHREAD when no I/O thread is there to
     * run a network transport. */
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 0));
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_ERR (zmq_bind (s, "tcp://127.0.0.1:*"), EMTHREAD);
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1:5555"), EMTHREAD);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* ------------------------------------------------------------------ */

typedef struct
{
    void *ctx;
    atomic_int started;
    atomic_int done;
    int rc;
    int err;
} terminator_t;

static void *terminator (void *arg)
{
    terminator_t *t = arg;
    atomic_store (&t->started, 1);
    t->rc = zmq_ctx_term (t->ctx);
    t->err = errno;
    atomic_store (&t->done, 1);
    return NULL;
}

/* Watches *flag for ms and reports whether it stayed 0 throughout: the
 * way to assert that a call is still blocked. */
static int stays_zero (atomic_int *flag, int ms)
{
    int64_t end = tu_now_ms () + ms;
    while (tu_now_ms () < end) {
        if (atomic_load (flag))
            return 0;
        poll (NULL, 0, 2);
    }
    return !atomic_load (flag);
}

static void test_term_blocks_until_close (void)
{
    terminator_t t = {0};
    t.ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (t.ctx, ZMQ_PULL));
    CHECK_OK (zmq_bind (s, "inproc://term-blocks"));

    tu_thread_t th;
    tu_thread_start (&th, terminator, &t);
    CHECK (tu_wait_flag (&t.started, 5000));

    /* Once termination has begun, calls on the socket fail with ETERM. */
    int64_t end = tu_deadline (5000);
    int got = 0;
    char buf[8];
    while (!got && tu_now_ms () < end) {
        errno = 0;
        if (zmq_recv (s, buf, sizeof buf, ZMQ_DONTWAIT) == -1 && errno == ETERM)
            got = 1;
        else
            poll (NULL, 0, 1);
    }
    CHECK (got);
    /* ETERM comes before anything else (even before ENOTSUP for a PULL). */
    CHECK_ERR (zmq_send (s, "x", 1, ZMQ_DONTWAIT), ETERM);
    /* The context is still being terminated: the socket is open. */
    CHECK (stays_zero (&t.done, 200));

    CHECK_OK (zmq_close (s));
    CHECK (tu_wait_flag (&t.done, 5000));
    tu_thread_join (&th);
    CHECK_EQ (0, t.rc);
}

typedef struct
{
    void *socket;
    terminator_t *term;
    atomic_int entered;
    atomic_int eterm;
    atomic_int term_done_before_close;
} blocked_t;

static void *blocked_receiver (void *arg)
{
    blocked_t *b = arg;
    char buf[8];
    atomic_store (&b->entered, 1);
    errno = 0;
    int rc = zmq_recv (b->socket, buf, sizeof buf, 0);
    if (rc == -1 && errno == ETERM)
        atomic_store (&b->eterm, 1);
    else
        TU_FAIL ("blocking zmq_recv returned %d errno %s, expected ETERM", rc,
                 tu_errname (errno));
    /* ctx_term cannot finish before this close. */
    atomic_store (&b->term_done_before_close, atomic_load (&b->term->done));
    zmq_close (b->socket);
    return NULL;
}

static void test_term_wakes_blocked_recv (void)
{
    terminator_t t = {0};
    blocked_t b = {0};
    t.ctx = CHECK_PTR (zmq_ctx_new ());
    b.term = &t;
    b.socket = CHECK_PTR (zmq_socket (t.ctx, ZMQ_REP));
    CHECK_OK (zmq_bind (b.socket, "inproc://term-wakes"));

    tu_thread_t rt, tt;
    tu_thread_start (&rt, blocked_receiver, &b);
    CHECK (tu_wait_flag (&b.entered, 5000));
    tu_thread_start (&tt, terminator, &t);
    CHECK (tu_wait_flag (&b.eterm, 5000));
    CHECK (tu_wait_flag (&t.done, 5000));
    tu_thread_join (&rt);
    tu_thread_join (&tt);
    CHECK_EQ (0, atomic_load (&b.term_done_before_close));
    CHECK_EQ (0, t.rc);
}

static void test_shutdown (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    terminator_t dummy = {0};
    blocked_t b = {0};
    b.term = &dummy;
    b.socket = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *other = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    CHECK_OK (zmq_bind (b.socket, "inproc://shutdown"));

    tu_thread_t rt;
    tu_thread_start (&rt, blocked_receiver, &b);
    CHECK (tu_wait_flag (&b.entered, 5000));
    CHECK_OK (zmq_ctx_shutdown (ctx));
    CHECK (tu_wait_flag (&b.eterm, 5000));
    tu_thread_join (&rt);

    /* No new sockets; calls on existing ones fail with ETERM. */
    CHECK_NULL_ERR (zmq_socket (ctx, ZMQ_PAIR), ETERM);
    CHECK_ERR (zmq_connect (other, "inproc://shutdown"), ETERM);
    CHECK_ERR (zmq_send (other, "x", 1, ZMQ_DONTWAIT), ETERM);
    /* Shutting down twice is fine. */
    CHECK_OK (zmq_ctx_shutdown (ctx));
    CHECK_OK (zmq_close (other));
    CHECK_OK (zmq_ctx_term (ctx));
}

/* Messages queued on a connecting PUSH, which is then closed with the
 * default infinite linger while zmq_ctx_term runs, reach a receiver that
 * only binds afterwards. */
static void linger_delivery (const char *transport)
{
    const int n = tu_scale (300);
    char endpoint[256];
    if (strcmp (transport, "tcp") == 0) {
        int port = tu_free_tcp_port ();
        CHECK (port > 0);
        snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    } else {
        char name[64];
        tu_unique (name, sizeof name, "linger-");
        snprintf (endpoint, sizeof endpoint, "ipc:///tmp/ferrozmq-capi-%s", name);
    }

    terminator_t t = {0};
    t.ctx = CHECK_PTR (zmq_ctx_new ());
    void *push = CHECK_PTR (zmq_socket (t.ctx, ZMQ_PUSH));
    CHECK_EQ (-1, tu_get_int (push, ZMQ_LINGER));
    CHECK_OK (zmq_connect (push, endpoint));
    for (int i = 0; i < n; i++) {
        char msg[64];
        snprintf (msg, sizeof msg, "message %d", i);
        /* Queued on the connecting pipe (IMMEDIATE is 0). */
        CHECK_EQ ((int) strlen (msg), zmq_send (push, msg, strlen (msg), ZMQ_DONTWAIT));
    }
    CHECK_OK (zmq_close (push));

    tu_thread_t tt;
    tu_thread_start (&tt, terminator, &t);
    CHECK (tu_wait_flag (&t.started, 5000));
    /* Undelivered messages keep the context alive. */
    CHECK (stays_zero (&t.done, 150));

    void *ctx2 = CHECK_PTR (zmq_ctx_new ());
    void *pull = CHECK_PTR (zmq_socket (ctx2, ZMQ_PULL));
    CHECK_OK (zmq_bind (pull, endpoint));
    for (int i = 0; i < n; i++) {
        char buf[64], expected[64];
        snprintf (expected, sizeof expected, "message %d", i);
        int size = RECV_WITHIN (pull, buf, sizeof buf, 10000);
        if (size < 0) {
            TU_FAIL ("received only %d of %d lingering messages", i, n);
            break;
        }
        if (strcmp (buf, expected) != 0) {
            TU_FAIL ("message %d is \"%s\", expected \"%s\"", i, buf, expected);
            break;
        }
    }
    CHECK (tu_wait_flag (&t.done, 10000));
    tu_thread_join (&tt);
    CHECK_EQ (0, t.rc);
    tu_close (pull);
    CHECK_OK (zmq_ctx_term (ctx2));
}

static void test_linger_delivery_tcp (void)
{
    linger_delivery ("tcp");
}

static void test_linger_delivery_ipc (void)
{
    linger_delivery ("ipc");
}

static void test_legacy (void)
{
    void *ctx = CHECK_PTR (zmq_init (1));
    CHECK_EQ (1, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    tu_close (s);
    CHECK_OK (zmq_term (ctx));

    ctx = CHECK_PTR (zmq_init (3));
    CHECK_EQ (3, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    CHECK_OK (zmq_ctx_destroy (ctx));

    ctx = CHECK_PTR (zmq_init (0));
    CHECK_EQ (0, zmq_ctx_get (ctx, ZMQ_IO_THREADS));
    CHECK_OK (zmq_ctx_destroy (ctx));

    CHECK_NULL_ERR (zmq_init (-1), EINVAL);
}

/* FERROZMQ-ONLY: a terminated context is a dead handle, reported as
 * EFAULT; libzmq reads freed memory here. */
static void test_dead_context (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_OK (zmq_ctx_term (ctx));
    CHECK_ERR (zmq_ctx_term (ctx), EFAULT);
    CHECK_ERR (zmq_ctx_get (ctx, ZMQ_IO_THREADS), EFAULT);
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 1), EFAULT);
    CHECK_ERR (zmq_ctx_shutdown (ctx), EFAULT);
    CHECK_NULL_ERR (zmq_socket (ctx, ZMQ_PAIR), EFAULT);
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"defaults", test_defaults, 0},
      {"set_get", test_set_get, 0},
      {"invalid_options", test_invalid_options, 0},
      {"efault", test_efault, 0},
      {"invalid_socket_type", test_invalid_socket_type, 0},
      {"max_sockets", test_max_sockets, 0},
      {"blocky", test_blocky, 0},
      {"io_threads_zero_inproc", test_io_threads_zero_inproc, 0},
      {"io_threads_zero_tcp", test_io_threads_zero_tcp, 0},
      {"term_blocks_until_close", test_term_blocks_until_close, 0},
      {"term_wakes_blocked_recv", test_term_wakes_blocked_recv, 0},
      {"shutdown", test_shutdown, 0},
      {"linger_delivery_tcp", test_linger_delivery_tcp, 0},
      {"linger_delivery_ipc", test_linger_delivery_ipc, 0},
      {"legacy", test_legacy, 0},
      {"dead_context", test_dead_context, TU_FERROZMQ_ONLY},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
