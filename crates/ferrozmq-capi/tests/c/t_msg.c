/* SPDX-License-Identifier: MPL-2.0 */
/* Messages: init/init_size/init_data (zero copy, the free callback called
 * exactly once, also from eight threads over inproc and tcp), copy, move,
 * close, properties (MORE, SHARED, Socket-Type, Peer-Address), EFAULT for
 * messages that are not initialised, zmq_recv truncation, zmq_send_const,
 * zmq_sendiov/zmq_recviov, zmq_sendmsg/zmq_recvmsg. */
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Free-callback accounting                                            */
/* ------------------------------------------------------------------ */

static atomic_int frees;

typedef struct
{
    atomic_int freed; /* times the callback ran for this buffer */
    void *data;       /* what it must be called with */
} tracked;

static void tracked_free (void *data, void *hint)
{
    tracked *t = hint;
    if (data != t->data)
        TU_FAIL ("free callback got data %p, expected %p", data, t->data);
    if (atomic_fetch_add (&t->freed, 1) != 0)
        TU_FAIL ("free callback called twice for %p", data);
    atomic_fetch_add (&frees, 1);
}

/* ------------------------------------------------------------------ */

static void test_init (void)
{
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init (&m));
    CHECK_EQ (0, zmq_msg_size (&m));
    CHECK_EQ (0, zmq_msg_more (&m));
    CHECK_EQ (0, zmq_msg_get (&m, ZMQ_MORE));
    CHECK_EQ (0, zmq_msg_get (&m, ZMQ_SHARED));
    CHECK_OK (zmq_msg_close (&m));

    const size_t sizes[] = {0, 1, 29, 33, 34, 64, 1000, 70000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK_OK (zmq_msg_init_size (&m, sizes[i]));
        CHECK_EQ (sizes[i], zmq_msg_size (&m));
        if (sizes[i]) {
            unsigned char *d = zmq_msg_data (&m);
            CHECK (d != NULL);
            memset (d, 0xA5, sizes[i]);
            CHECK (d[sizes[i] - 1] == 0xA5);
        }
        CHECK_OK (zmq_msg_close (&m));
    }
}

static void test_init_data (void)
{
    static char buffer[100];
    tracked t = {0, buffer};
    zmq_msg_t m;
    atomic_store (&frees, 0);
    CHECK_OK (zmq_msg_init_data (&m, buffer, sizeof buffer, tracked_free, &t));
    /* Zero copy: the message's data is the caller's buffer. */
    CHECK (zmq_msg_data (&m) == buffer);
    CHECK_EQ (sizeof buffer, zmq_msg_size (&m));
    CHECK_EQ (0, atomic_load (&t.freed));
    CHECK_OK (zmq_msg_close (&m));
    CHECK_EQ (1, atomic_load (&t.freed));

    /* No free function: the buffer is the caller's for ever. */
    static const char constant[] = "constant";
    CHECK_OK (zmq_msg_init_data (&m, (void *) constant, 8, NULL, NULL));
    CHECK (zmq_msg_data (&m) == constant);
    CHECK_EQ (8, zmq_msg_size (&m));
    CHECK_OK (zmq_msg_close (&m));
    /* Empty data. */
    CHECK_OK (zmq_msg_init_data (&m, NULL, 0, NULL, NULL));
    CHECK_EQ (0, zmq_msg_size (&m));
    CHECK_OK (zmq_msg_close (&m));
}

static void test_copy (void)
{
    static char buffer[2000];
    tracked t = {0, buffer};
    zmq_msg_t a, b;
    memset (buffer, 'c', sizeof buffer);
    CHECK_OK (zmq_msg_init_data (&a, buffer, sizeof buffer, tracked_free, &t));
    CHECK_OK (zmq_msg_init (&b));
    CHECK_OK (zmq_msg_copy (&b, &a));
    CHECK_EQ (sizeof buffer, zmq_msg_size (&b));
    CHECK (memcmp (zmq_msg_data (&b), buffer, sizeof buffer) == 0);
    CHECK_EQ (1, zmq_msg_get (&a, ZMQ_SHARED));
    CHECK_EQ (1, zmq_msg_get (&b, ZMQ_SHARED));
    /* The buffer lives until the last copy is closed. */
    CHECK_OK (zmq_msg_close (&a));
    CHECK_EQ (0, atomic_load (&t.freed));
    CHECK_OK (zmq_msg_close (&b));
    CHECK_EQ (1, atomic_load (&t.freed));

    /* A large copied message is shared; a fresh one is not. */
    CHECK_OK (zmq_msg_init_size (&a, 5000));
    memset (zmq_msg_data (&a), 'z', 5000);
    CHECK_EQ (0, zmq_msg_get (&a, ZMQ_SHARED));
    CHECK_OK (zmq_msg_init (&b));
    CHECK_OK (zmq_msg_copy (&b, &a));
    CHECK_EQ (1, zmq_msg_get (&a, ZMQ_SHARED));
    CHECK_EQ (1, zmq_msg_get (&b, ZMQ_SHARED));
    CHECK (memcmp (zmq_msg_data (&a), zmq_msg_data (&b), 5000) == 0);
    CHECK_OK (zmq_msg_close (&a));
    CHECK (((char *) zmq_msg_data (&b))[4999] == 'z');
    CHECK_OK (zmq_msg_close (&b));

    /* A small message copies too. */
    CHECK_OK (zmq_msg_init_size (&a, 5));
    memcpy (zmq_msg_data (&a), "small", 5);
    CHECK_OK (zmq_msg_init (&b));
    CHECK_OK (zmq_msg_copy (&b, &a));
    CHECK_EQ (5, zmq_msg_size (&b));
    CHECK (memcmp (zmq_msg_data (&b), "small", 5) == 0);
    CHECK_OK (zmq_msg_close (&a));
    CHECK_OK (zmq_msg_close (&b));

    /* Copying into an initialised message releases what it held. */
    static char old_buffer[10];
    tracked old = {0, old_buffer};
    CHECK_OK (zmq_msg_init_size (&a, 3));
    CHECK_OK (zmq_msg_init_data (&b, old_buffer, sizeof old_buffer,
                                 tracked_free, &old));
    CHECK_OK (zmq_msg_copy (&b, &a));
    CHECK_EQ (1, atomic_load (&old.freed));
    CHECK_EQ (3, zmq_msg_size (&b));
    CHECK_OK (zmq_msg_close (&a));
    CHECK_OK (zmq_msg_close (&b));
}

static void test_shared_const (void)
{
    /* libzmq reports data without a free function (zmq_send_const's kind)
     * as shared: it may be shared with other messages. */
    static const char constant[] = "constant";
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init_data (&m, (void *) constant, 8, NULL, NULL));
    CHECK_EQ (1, zmq_msg_get (&m, ZMQ_SHARED));
    CHECK_OK (zmq_msg_close (&m));
}

static void test_move (void)
{
    static char buffer[500];
    tracked t = {0, buffer};
    zmq_msg_t a, b;
    CHECK_OK (zmq_msg_init_data (&a, buffer, sizeof buffer, tracked_free, &t));
    CHECK_OK (zmq_msg_init (&b));
    CHECK_OK (zmq_msg_move (&b, &a));
    CHECK (zmq_msg_data (&b) == buffer);
    CHECK_EQ (sizeof buffer, zmq_msg_size (&b));
    /* The source is left empty, still a valid message. */
    CHECK_EQ (0, zmq_msg_size (&a));
    CHECK_OK (zmq_msg_close (&a));
    CHECK_EQ (0, atomic_load (&t.freed));
    CHECK_OK (zmq_msg_close (&b));
    CHECK_EQ (1, atomic_load (&t.freed));

    /* Moving into an initialised message releases what it held. */
    static char old_buffer[10];
    tracked old = {0, old_buffer};
    CHECK_OK (zmq_msg_init_size (&a, 7));
    CHECK_OK (zmq_msg_init_data (&b, old_buffer, sizeof old_buffer,
                                 tracked_free, &old));
    CHECK_OK (zmq_msg_move (&b, &a));
    CHECK_EQ (1, atomic_load (&old.freed));
    CHECK_EQ (7, zmq_msg_size (&b));
    CHECK_OK (zmq_msg_close (&a));
    CHECK_OK (zmq_msg_close (&b));
}

static void test_efault (void)
{
    /* A zmq_msg_t that was never initialised (all zero bytes), or was
     * closed already. */
    zmq_msg_t bad, good;
    memset (&bad, 0, sizeof bad);
    CHECK_ERR (zmq_msg_close (&bad), EFAULT);
    CHECK_OK (zmq_msg_init (&good));
    CHECK_ERR (zmq_msg_copy (&good, &bad), EFAULT);
    CHECK_ERR (zmq_msg_move (&good, &bad), EFAULT);

    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (s, "inproc://msg-efault"));
    CHECK_ERR (zmq_msg_recv (&bad, s, ZMQ_DONTWAIT), EFAULT);
    /* FERROZMQ-ONLY: sending one is EFAULT too (libzmq asserts in
     * zmq_msg_size before it checks). */
    if (tu_is_ferrozmq ())
        CHECK_ERR (zmq_msg_send (&bad, s, ZMQ_DONTWAIT), EFAULT);

    /* Closing twice. */
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init_size (&m, 10));
    CHECK_OK (zmq_msg_close (&m));
    CHECK_ERR (zmq_msg_close (&m), EFAULT);
    CHECK_ERR (zmq_msg_copy (&good, &m), EFAULT);
    CHECK_ERR (zmq_msg_recv (&m, s, ZMQ_DONTWAIT), EFAULT);
    if (tu_is_ferrozmq ()) /* FERROZMQ-ONLY, as above */
        CHECK_ERR (zmq_msg_send (&m, s, ZMQ_DONTWAIT), EFAULT);

    CHECK_OK (zmq_msg_close (&good));
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* FERROZMQ-ONLY: NULL message pointers fail with EFAULT (libzmq
 * dereferences them). */
static void test_null_msg (void)
{
    zmq_msg_t m;
    CHECK_ERR (zmq_msg_init (NULL), EFAULT);
    CHECK_ERR (zmq_msg_init_size (NULL, 10), EFAULT);
    CHECK_ERR (zmq_msg_init_data (NULL, "x", 1, NULL, NULL), EFAULT);
    CHECK_ERR (zmq_msg_close (NULL), EFAULT);
    CHECK_OK (zmq_msg_init (&m));
    CHECK_ERR (zmq_msg_copy (NULL, &m), EFAULT);
    CHECK_ERR (zmq_msg_copy (&m, NULL), EFAULT);
    CHECK_ERR (zmq_msg_move (NULL, &m), EFAULT);
    CHECK_ERR (zmq_msg_move (&m, NULL), EFAULT);
    CHECK_OK (zmq_msg_close (&m));
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_ERR (zmq_msg_send (NULL, s, ZMQ_DONTWAIT), EFAULT);
    CHECK_ERR (zmq_msg_recv (NULL, s, ZMQ_DONTWAIT), EFAULT);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_get_set (void)
{
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init_size (&m, 4));
    CHECK_ERR (zmq_msg_get (&m, 999), EINVAL);
    CHECK_ERR (zmq_msg_set (&m, ZMQ_MORE, 1), EINVAL);
    CHECK_ERR (zmq_msg_set (&m, 999, 1), EINVAL);
    /* A message not received from a connection has no properties. */
    CHECK_NULL_ERR (zmq_msg_gets (&m, "Socket-Type"), EINVAL);
    CHECK_ERR (zmq_msg_get (&m, ZMQ_SRCFD), EINVAL);
    CHECK_OK (zmq_msg_close (&m));
}

/* ------------------------------------------------------------------ */

static void test_send_recv_msg (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *a = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    void *b = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (a, "inproc://msg-sr"));
    CHECK_OK (zmq_connect (b, "inproc://msg-sr"));

    /* Three frames: MORE on the first two. */
    const char *parts[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        zmq_msg_t m;
        CHECK_OK (zmq_msg_init_size (&m, strlen (parts[i])));
        memcpy (zmq_msg_data (&m), parts[i], strlen (parts[i]));
        CHECK_EQ ((int) strlen (parts[i]),
                  zmq_msg_send (&m, b, i < 2 ? ZMQ_SNDMORE : 0));
        /* A sent message is left empty (and need not be closed, but may). */
        CHECK_EQ (0, zmq_msg_size (&m));
        CHECK_OK (zmq_msg_close (&m));
    }
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    for (int i = 0; i < 3; i++) {
        zmq_msg_t m;
        CHECK_OK (zmq_msg_init (&m));
        CHECK_EQ ((int) strlen (parts[i]), zmq_msg_recv (&m, a, 0));
        CHECK (memcmp (zmq_msg_data (&m), parts[i], strlen (parts[i])) == 0);
        CHECK_EQ (i < 2, zmq_msg_more (&m));
        CHECK_EQ (i < 2, zmq_msg_get (&m, ZMQ_MORE));
        CHECK_EQ (i < 2, tu_get_int (a, ZMQ_RCVMORE));
        CHECK_OK (zmq_msg_close (&m));
    }

    /* zmq_msg_recv into a message that holds data replaces it. */
    static char held[16];
    tracked t = {0, held};
    zmq_msg_t m;
    SEND_STR (b, "fresh", 0);
    CHECK_OK (zmq_msg_init_data (&m, held, sizeof held, tracked_free, &t));
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_EQ (5, zmq_msg_recv (&m, a, 0));
    CHECK_EQ (1, atomic_load (&t.freed));
    CHECK (memcmp (zmq_msg_data (&m), "fresh", 5) == 0);
    CHECK_OK (zmq_msg_close (&m));

    /* A failed send leaves the message with the caller. */
    void *push = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH)); /* no peers */
    CHECK_OK (zmq_msg_init_size (&m, 6));
    memcpy (zmq_msg_data (&m), "unsent", 6);
    CHECK_ERR (zmq_msg_send (&m, push, ZMQ_DONTWAIT), EAGAIN);
    CHECK_EQ (6, zmq_msg_size (&m));
    CHECK (memcmp (zmq_msg_data (&m), "unsent", 6) == 0);
    CHECK_OK (zmq_msg_close (&m));

    /* The old names, argument order (socket, msg, flags). */
    CHECK_OK (zmq_msg_init_size (&m, 3));
    memcpy (zmq_msg_data (&m), "old", 3);
    CHECK_EQ (3, zmq_sendmsg (b, &m, 0));
    CHECK_OK (zmq_msg_close (&m));
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_OK (zmq_msg_init (&m));
    CHECK_EQ (3, zmq_recvmsg (a, &m, 0));
    CHECK (memcmp (zmq_msg_data (&m), "old", 3) == 0);
    CHECK_OK (zmq_msg_close (&m));

    tu_close (push);
    tu_close (a);
    tu_close (b);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_recv_truncates (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *a = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    void *b = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (a, "inproc://trunc"));
    CHECK_OK (zmq_connect (b, "inproc://trunc"));
    SEND_STR (b, "0123456789", 0);
    char buf[8];
    memset (buf, '#', sizeof buf);
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    /* Returns the full size; copies only what fits. */
    CHECK_EQ (10, zmq_recv (a, buf, 4, 0));
    CHECK (memcmp (buf, "0123####", 8) == 0);
    /* A zero-length buffer (even NULL) just takes the message. */
    SEND_STR (b, "abc", 0);
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_EQ (3, zmq_recv (a, NULL, 0, 0));
    /* Empty frames. */
    CHECK_EQ (0, zmq_send (b, NULL, 0, 0));
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_EQ (0, zmq_recv (a, buf, sizeof buf, 0));
    tu_close (a);
    tu_close (b);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void send_const_over (const char *bind_ep)
{
    static const char text[] = "constant payload that outlives the call";
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *pull = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *push = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    char ep[256];
    tu_bind_any (pull, bind_ep, ep, sizeof ep);
    CHECK_OK (zmq_connect (push, ep));
    for (int i = 0; i < 10; i++)
        CHECK_EQ ((int) sizeof text,
                  zmq_send_const (push, text, sizeof text, i < 9 ? ZMQ_SNDMORE : 0));
    for (int i = 0; i < 10; i++) {
        char buf[64];
        CHECK_EQ ((int) sizeof text, RECV_WITHIN (pull, buf, sizeof buf, 5000));
        CHECK (memcmp (buf, text, sizeof text) == 0);
        CHECK_EQ (i < 9, tu_get_int (pull, ZMQ_RCVMORE));
    }
    tu_close (push);
    tu_close (pull);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_send_const (void)
{
    send_const_over ("inproc://send-const");
    send_const_over ("tcp://127.0.0.1:*");
}

static void test_iov (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *a = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    void *b = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (a, "inproc://iov"));
    CHECK_OK (zmq_connect (b, "inproc://iov"));

    char p1[] = "alpha", p2[] = "be", p3[] = "gamma-ray";
    struct iovec out[3] = {{p1, 5}, {p2, 2}, {p3, 9}};
    /* With ZMQ_SNDMORE the vector is one multipart message; the call
     * returns the last frame's size. */
    CHECK_EQ (9, zmq_sendiov (b, out, 3, ZMQ_SNDMORE));
    struct iovec in[8];
    size_t count = 8;
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_EQ (3, zmq_recviov (a, in, &count, 0));
    CHECK_EQ (3, count);
    CHECK (in[0].iov_len == 5 && memcmp (in[0].iov_base, "alpha", 5) == 0);
    CHECK (in[1].iov_len == 2 && memcmp (in[1].iov_base, "be", 2) == 0);
    CHECK (in[2].iov_len == 9 && memcmp (in[2].iov_base, "gamma-ray", 9) == 0);
    for (size_t i = 0; i < count; i++)
        free (in[i].iov_base); /* the caller frees with free () */
    CHECK_EQ (0, tu_get_int (a, ZMQ_RCVMORE));

    /* Without it, one message per element. */
    CHECK_EQ (9, zmq_sendiov (b, out, 3, 0));
    for (int i = 0; i < 3; i++) {
        count = 8;
        CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
        CHECK_EQ (1, zmq_recviov (a, in, &count, 0));
        CHECK_EQ (1, count);
        CHECK_EQ (out[i].iov_len, in[0].iov_len);
        free (in[0].iov_base);
    }

    /* Fewer slots than frames: the rest stays for the next call. */
    CHECK_EQ (9, zmq_sendiov (b, out, 3, ZMQ_SNDMORE));
    count = 2;
    CHECK (tu_wait (a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_EQ (2, zmq_recviov (a, in, &count, 0));
    CHECK_EQ (2, count);
    free (in[0].iov_base);
    free (in[1].iov_base);
    CHECK_EQ (1, tu_get_int (a, ZMQ_RCVMORE));
    count = 2;
    CHECK_EQ (1, zmq_recviov (a, in, &count, 0));
    CHECK_EQ (1, count);
    CHECK (in[0].iov_len == 9 && memcmp (in[0].iov_base, "gamma-ray", 9) == 0);
    free (in[0].iov_base);

    /* Errors. */
    CHECK_ERR (zmq_sendiov (b, out, 0, 0), EINVAL);
    CHECK_ERR (zmq_sendiov (b, NULL, 1, 0), EINVAL);
    count = 0;
    CHECK_ERR (zmq_recviov (a, in, &count, 0), EINVAL);
    count = 1;
    CHECK_ERR (zmq_recviov (a, NULL, &count, 0), EINVAL);
    CHECK_ERR (zmq_recviov (a, in, NULL, 0), EINVAL);
    count = 4;
    CHECK_ERR (zmq_recviov (a, in, &count, ZMQ_DONTWAIT), EAGAIN);
    CHECK_EQ (0, count);

    tu_close (a);
    tu_close (b);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_properties_tcp (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *pull = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *push = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    char ep[256];
    tu_bind_any (pull, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_OK (zmq_connect (push, ep));
    SEND_STR (push, "props", 0);
    CHECK (tu_wait (pull, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init (&m));
    CHECK_EQ (5, zmq_msg_recv (&m, pull, 0));
    /* The peer's socket type (from its READY command) and address. */
    CHECK_STR ("PUSH", zmq_msg_gets (&m, "Socket-Type"));
    CHECK_STR ("127.0.0.1", zmq_msg_gets (&m, "Peer-Address"));
    CHECK_NULL_ERR (zmq_msg_gets (&m, "No-Such-Property"), EINVAL);
    CHECK_NULL_ERR (zmq_msg_gets (&m, "User-Id"), EINVAL);
    CHECK_OK (zmq_msg_close (&m));

    /* A DEALER announces its routing id. */
    void *router = CHECK_PTR (zmq_socket (ctx, ZMQ_ROUTER));
    void *dealer = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    CHECK_OK (zmq_setsockopt (dealer, ZMQ_ROUTING_ID, "dealer-7", 8));
    tu_bind_any (router, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_OK (zmq_connect (dealer, ep));
    SEND_STR (dealer, "hi", 0);
    CHECK (tu_wait (router, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    CHECK_OK (zmq_msg_init (&m));
    CHECK_EQ (8, zmq_msg_recv (&m, router, 0)); /* the routing id frame */
    CHECK (memcmp (zmq_msg_data (&m), "dealer-7", 8) == 0);
    CHECK_EQ (8, zmq_msg_recv (&m, router, 0) >= 0 ? 8 : -1);
    CHECK_STR ("DEALER", zmq_msg_gets (&m, "Socket-Type"));
    CHECK_STR ("dealer-7", zmq_msg_gets (&m, "Identity"));
    CHECK_OK (zmq_msg_close (&m));
    tu_close (dealer);
    tu_close (router);
    tu_close (push);
    tu_close (pull);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* ------------------------------------------------------------------ */
/* Zero copy from eight threads                                        */
/* ------------------------------------------------------------------ */

#define ZC_THREADS 8

typedef struct
{
    int thread;
    int count;
    void *ctx;
    const char *inproc_ep;
    const char *tcp_ep;
    tracked *slots; /* count * 2 per thread */
} zc_sender;

/* Payload: its own address, then thread, index and transport. */
typedef struct
{
    void *self;
    int thread;
    int index;
    int over_tcp;
    char filler[100];
} zc_payload;

static void zc_free (void *data, void *hint)
{
    tracked_free (data, hint);
    free (data);
}

static void *zc_send_thread (void *arg)
{
    zc_sender *z = arg;
    void *in = zmq_socket (z->ctx, ZMQ_PUSH);
    void *tcp = zmq_socket (z->ctx, ZMQ_PUSH);
    if (!in || !tcp || zmq_connect (in, z->inproc_ep) != 0
        || zmq_connect (tcp, z->tcp_ep) != 0) {
        TU_FAIL ("sender %d could not set up: %s", z->thread, tu_errname (errno));
        return NULL;
    }
    for (int i = 0; i < z->count * 2; i++) {
        int over_tcp = i % 2;
        zc_payload *p = malloc (sizeof *p);
        tracked *t = &z->slots[z->thread * z->count * 2 + i];
        p->self = p;
        p->thread = z->thread;
        p->index = i;
        p->over_tcp = over_tcp;
        memset (p->filler, 'f', sizeof p->filler);
        t->data = p;
        zmq_msg_t m;
        if (zmq_msg_init_data (&m, p, sizeof *p, zc_free, t) != 0) {
            TU_FAIL ("zmq_msg_init_data: %s", tu_errname (errno));
            free (p);
            continue;
        }
        if (zmq_msg_send (&m, over_tcp ? tcp : in, 0) != (int) sizeof *p) {
            TU_FAIL ("zero-copy send %d failed: %s", i, tu_errname (errno));
            zmq_msg_close (&m);
        }
    }
    zmq_close (in);
    zmq_close (tcp);
    return NULL;
}

static void test_zero_copy_threads (void)
{
    const int count = tu_scale (400); /* per thread and transport */
    const int total = ZC_THREADS * count * 2;
    tracked *slots = calloc ((size_t) total, sizeof *slots);
    atomic_store (&frees, 0);

    void *ctx = CHECK_PTR (zmq_ctx_new ());
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 2));
    void *pull = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    tu_set_int (pull, ZMQ_RCVHWM, 0);
    char tcp_ep[256];
    CHECK_OK (zmq_bind (pull, "inproc://zero-copy"));
    tu_bind_any (pull, "tcp://127.0.0.1:*", tcp_ep, sizeof tcp_ep);

    zc_sender senders[ZC_THREADS];
    tu_thread_t th[ZC_THREADS];
    for (int i = 0; i < ZC_THREADS; i++) {
        senders[i] = (zc_sender){i, count, ctx, "inproc://zero-copy", tcp_ep, slots};
        tu_thread_start (&th[i], zc_send_thread, &senders[i]);
    }

    int received = 0, pointer_mismatch = 0;
    int *seen = calloc ((size_t) total, sizeof *seen);
    int64_t end = tu_deadline (30000);
    while (received < total && tu_now_ms () < end) {
        if (!(tu_wait (pull, ZMQ_POLLIN, 1000) & ZMQ_POLLIN))
            continue;
        zmq_msg_t m;
        zmq_msg_init (&m);
        while (zmq_msg_recv (&m, pull, ZMQ_DONTWAIT) >= 0) {
            zc_payload *p = zmq_msg_data (&m);
            if (zmq_msg_size (&m) != sizeof *p) {
                TU_FAIL ("zero-copy message of %zu bytes", zmq_msg_size (&m));
            } else {
                int slot = p->thread * count * 2 + p->index;
                if (p->thread < 0 || p->thread >= ZC_THREADS || p->index < 0
                    || p->index >= count * 2 || p->filler[99] != 'f')
                    TU_FAIL ("corrupt zero-copy payload");
                else if (seen[slot]++)
                    TU_FAIL ("message %d/%d received twice", p->thread, p->index);
                /* inproc passes the very buffer along. */
                if (!p->over_tcp && (void *) p != p->self)
                    pointer_mismatch++;
            }
            received++;
            zmq_msg_close (&m);
            zmq_msg_init (&m);
        }
        zmq_msg_close (&m);
    }
    CHECK_EQ (total, received);
    for (int i = 0; i < ZC_THREADS; i++)
        tu_thread_join (&th[i]);
    tu_close (pull);
    CHECK_OK (zmq_ctx_term (ctx));
    /* Every buffer was released exactly once, by the time the context is
     * gone (tcp ones from an I/O thread once written). */
    CHECK_EQ (total, atomic_load (&frees));
    int missing = 0;
    for (int i = 0; i < total; i++)
        if (atomic_load (&slots[i].freed) != 1)
            missing++;
    CHECK_EQ (0, missing);
    if (pointer_mismatch)
        TU_FAIL ("%d inproc messages arrived in a different buffer (not zero copy)",
                 pointer_mismatch);
    free (seen);
    free (slots);
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"init", test_init, 0},
      {"init_data", test_init_data, 0},
      {"copy", test_copy, 0},
      {"shared_const", test_shared_const, 0},
      {"move", test_move, 0},
      {"efault", test_efault, 0},
      {"null_msg", test_null_msg, TU_FERROZMQ_ONLY},
      {"get_set", test_get_set, 0},
      {"send_recv_msg", test_send_recv_msg, 0},
      {"recv_truncates", test_recv_truncates, 0},
      {"send_const", test_send_const, 0},
      {"iov", test_iov, 0},
      {"properties_tcp", test_properties_tcp, 0},
      {"zero_copy_threads", test_zero_copy_threads, 0},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
