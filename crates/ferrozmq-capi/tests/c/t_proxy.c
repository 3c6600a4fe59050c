/* SPDX-License-Identifier: MPL-2.0 */
/* zmq_proxy (with capture), zmq_proxy_steerable (STATISTICS: 8 uint64
 * frames; PAUSE/RESUME; TERMINATE) and zmq_device. The proxy's sockets are
 * made and used in the proxy's thread only. */
#include "testutil.h"

typedef struct
{
    void *ctx;
    int frontend_type, backend_type;
    char frontend_ep[128], backend_ep[128];
    const char *capture_ep; /* PUSH binds here when set */
    const char *control_ep; /* PAIR binds here when set: steerable */
    int use_device;
    atomic_int ready;
    int rc, err;
} proxy_job;

static void *proxy_thread (void *arg)
{
    proxy_job *j = arg;
    void *fe = zmq_socket (j->ctx, j->frontend_type);
    void *be = zmq_socket (j->ctx, j->backend_type);
    void *cap = NULL, *ctl = NULL;
    int ok = fe && be && zmq_bind (fe, j->frontend_ep) == 0
             && zmq_bind (be, j->backend_ep) == 0;
    size_t size = sizeof j->frontend_ep;
    ok = ok && zmq_getsockopt (fe, ZMQ_LAST_ENDPOINT, j->frontend_ep, &size) == 0;
    size = sizeof j->backend_ep;
    ok = ok && zmq_getsockopt (be, ZMQ_LAST_ENDPOINT, j->backend_ep, &size) == 0;
    if (ok && j->capture_ep) {
        cap = zmq_socket (j->ctx, ZMQ_PUSH);
        ok = cap && zmq_bind (cap, j->capture_ep) == 0;
    }
    if (ok && j->control_ep) {
        ctl = zmq_socket (j->ctx, ZMQ_PAIR);
        ok = ctl && zmq_bind (ctl, j->control_ep) == 0;
    }
    if (!ok) {
        TU_FAIL ("proxy setup failed: %s", tu_errname (errno));
        j->rc = -2;
        atomic_store (&j->ready, 1);
        return NULL;
    }
    atomic_store (&j->ready, 1);
    errno = 0;
    if (j->use_device)
        j->rc = zmq_device (ZMQ_QUEUE, fe, be);
    else if (j->control_ep)
        j->rc = zmq_proxy_steerable (fe, be, cap, ctl);
    else
        j->rc = zmq_proxy (fe, be, cap);
    j->err = errno;
    tu_close (fe);
    tu_close (be);
    tu_close (cap);
    tu_close (ctl);
    return NULL;
}

static void start_proxy (proxy_job *j, tu_thread_t *t)
{
    tu_thread_start (t, proxy_thread, j);
    CHECK (tu_wait_flag (&j->ready, 5000));
}

static void test_proxy_capture (void)
{
    proxy_job j = {0};
    j.ctx = CHECK_PTR (zmq_ctx_new ());
    j.frontend_type = ZMQ_PULL;
    j.backend_type = ZMQ_PUSH;
    snprintf (j.frontend_ep, sizeof j.frontend_ep, "inproc://px-front");
    snprintf (j.backend_ep, sizeof j.backend_ep, "tcp://127.0.0.1:*");
    j.capture_ep = "inproc://px-capture";
    tu_thread_t t;
    start_proxy (&j, &t);

    void *in = CHECK_PTR (zmq_socket (j.ctx, ZMQ_PUSH));
    void *out = CHECK_PTR (zmq_socket (j.ctx, ZMQ_PULL));
    void *cap = CHECK_PTR (zmq_socket (j.ctx, ZMQ_PULL));
    CHECK_OK (zmq_connect (in, j.frontend_ep));
    CHECK_OK (zmq_connect (out, j.backend_ep));
    CHECK_OK (zmq_connect (cap, "inproc://px-capture"));
    for (int i = 0; i < 10; i++) {
        char msg[16];
        snprintf (msg, sizeof msg, "m%d", i);
        SEND_STR (in, msg, 0);
    }
    for (int i = 0; i < 10; i++) {
        char msg[16];
        snprintf (msg, sizeof msg, "m%d", i);
        EXPECT_RECV (out, msg, 5000);
        EXPECT_RECV (cap, msg, 5000);
    }
    /* A proxy runs until its context ends: then -1/ETERM. */
    CHECK_OK (zmq_ctx_shutdown (j.ctx));
    tu_thread_join (&t);
    CHECK_EQ (-1, j.rc);
    CHECK_EQ (ETERM, j.err);
    tu_close (in);
    tu_close (out);
    tu_close (cap);
    CHECK_OK (zmq_ctx_term (j.ctx));
}

static uint64_t recv_u64 (void *s, int expect_more)
{
    zmq_msg_t m;
    uint64_t v = UINT64_MAX;
    zmq_msg_init (&m);
    if (!(tu_wait (s, ZMQ_POLLIN, 5000) & ZMQ_POLLIN)
        || zmq_msg_recv (&m, s, 0) < 0) {
        TU_FAIL ("no statistics frame");
    } else {
        if (zmq_msg_size (&m) != 8)
            TU_FAIL ("statistics frame of %zu bytes, expected 8", zmq_msg_size (&m));
        else
            memcpy (&v, zmq_msg_data (&m), 8);
        if (zmq_msg_more (&m) != expect_more)
            TU_FAIL ("statistics frame MORE is %d, expected %d", zmq_msg_more (&m),
                     expect_more);
    }
    zmq_msg_close (&m);
    return v;
}

static void test_proxy_steerable (void)
{
    proxy_job j = {0};
    j.ctx = CHECK_PTR (zmq_ctx_new ());
    j.frontend_type = ZMQ_ROUTER;
    j.backend_type = ZMQ_DEALER;
    snprintf (j.frontend_ep, sizeof j.frontend_ep, "tcp://127.0.0.1:*");
    snprintf (j.backend_ep, sizeof j.backend_ep, "inproc://ps-back");
    j.control_ep = "inproc://ps-control";
    tu_thread_t t;
    start_proxy (&j, &t);

    void *client = CHECK_PTR (zmq_socket (j.ctx, ZMQ_REQ));
    void *worker = CHECK_PTR (zmq_socket (j.ctx, ZMQ_REP));
    void *control = CHECK_PTR (zmq_socket (j.ctx, ZMQ_PAIR));
    CHECK_OK (zmq_connect (client, j.frontend_ep));
    CHECK_OK (zmq_connect (worker, j.backend_ep));
    CHECK_OK (zmq_connect (control, "inproc://ps-control"));

    const int rounds = 5;
    for (int i = 0; i < rounds; i++) {
        SEND_STR (client, "0123456789", 0);
        EXPECT_RECV (worker, "0123456789", 5000);
        SEND_STR (worker, "abcde", 0);
        EXPECT_RECV (client, "abcde", 5000);
    }

    /* STATISTICS: eight frames of one uint64 each, MORE on all but the
     * last: frontend received (messages, bytes), frontend sent, backend
     * received, backend sent. A multipart message counts once, its bytes
     * are those of all its frames: a request on the ROUTER frontend is the
     * 5-byte automatic routing id, the empty delimiter and the 10-byte
     * body; a reply on the DEALER backend the same with a 5-byte body. */
    SEND_STR (control, "STATISTICS", 0);
    uint64_t st[8];
    for (int i = 0; i < 8; i++)
        st[i] = recv_u64 (control, i < 7);
    CHECK_EQ (rounds, st[0]);            /* frontend messages received */
    CHECK_EQ (rounds * (5 + 0 + 10), st[1]); /* and their bytes */
    CHECK_EQ (rounds, st[2]);            /* frontend messages sent */
    CHECK_EQ (rounds * (5 + 0 + 5), st[3]);
    CHECK_EQ (rounds, st[4]);            /* backend messages received */
    CHECK_EQ (rounds * (5 + 0 + 5), st[5]);
    CHECK_EQ (rounds, st[6]);            /* backend messages sent */
    CHECK_EQ (rounds * (5 + 0 + 10), st[7]);

    /* PAUSE and RESUME take no reply; traffic flows after RESUME. */
    SEND_STR (control, "PAUSE", 0);
    SEND_STR (control, "RESUME", 0);
    SEND_STR (client, "after", 0);
    EXPECT_RECV (worker, "after", 5000);
    SEND_STR (worker, "resumed", 0);
    EXPECT_RECV (client, "resumed", 5000);

    /* TERMINATE ends it with 0. */
    SEND_STR (control, "TERMINATE", 0);
    tu_thread_join (&t);
    CHECK_EQ (0, j.rc);
    tu_close (client);
    tu_close (worker);
    tu_close (control);
    CHECK_OK (zmq_ctx_term (j.ctx));
}

static void test_device (void)
{
    proxy_job j = {0};
    j.ctx = CHECK_PTR (zmq_ctx_new ());
    j.frontend_type = ZMQ_ROUTER;
    j.backend_type = ZMQ_DEALER;
    snprintf (j.frontend_ep, sizeof j.frontend_ep, "inproc://dev-front");
    snprintf (j.backend_ep, sizeof j.backend_ep, "inproc://dev-back");
    j.use_device = 1;
    tu_thread_t t;
    start_proxy (&j, &t);
    void *client = CHECK_PTR (zmq_socket (j.ctx, ZMQ_REQ));
    void *worker = CHECK_PTR (zmq_socket (j.ctx, ZMQ_REP));
    CHECK_OK (zmq_connect (client, j.frontend_ep));
    CHECK_OK (zmq_connect (worker, j.backend_ep));
    SEND_STR (client, "via device", 0);
    EXPECT_RECV (worker, "via device", 5000);
    SEND_STR (worker, "done", 0);
    EXPECT_RECV (client, "done", 5000);
    CHECK_OK (zmq_ctx_shutdown (j.ctx));
    tu_thread_join (&t);
    CHECK_EQ (-1, j.rc);
    CHECK_EQ (ETERM, j.err);
    tu_close (client);
    tu_close (worker);
    CHECK_OK (zmq_ctx_term (j.ctx));
    /* The other device names exist. */
    CHECK_EQ (1, ZMQ_STREAMER);
    CHECK_EQ (2, ZMQ_FORWARDER);
    CHECK_EQ (3, ZMQ_QUEUE);
}

static void test_errors (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_DEALER));
    CHECK_ERR (zmq_proxy (NULL, s, NULL), EFAULT);
    CHECK_ERR (zmq_proxy (s, NULL, NULL), EFAULT);
    CHECK_ERR (zmq_proxy_steerable (NULL, s, NULL, NULL), EFAULT);
    CHECK_ERR (zmq_proxy_steerable (s, NULL, NULL, NULL), EFAULT);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"proxy_capture", test_proxy_capture, 0},
      {"proxy_steerable", test_proxy_steerable, 0},
      {"device", test_device, 0},
      {"errors", test_errors, 0},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
