/* SPDX-License-Identifier: MPL-2.0 */
/* zmq_poll over sockets and raw file descriptors with timeouts 0, positive
 * and -1; ZMQ_FD + ZMQ_EVENTS driven by the system poll() the way event
 * loops (pyzmq's asyncio, czmq's zloop) use them. */
#include "testutil.h"

typedef struct
{
    void *ctx;
    void *a, *b; /* a PAIR bound to b */
} pair_t;

static void pair_open (pair_t *p, const char *ep)
{
    p->ctx = CHECK_PTR (zmq_ctx_new ());
    p->a = CHECK_PTR (zmq_socket (p->ctx, ZMQ_PAIR));
    p->b = CHECK_PTR (zmq_socket (p->ctx, ZMQ_PAIR));
    CHECK_OK (zmq_bind (p->a, ep));
    CHECK_OK (zmq_connect (p->b, ep));
}

static void pair_close (pair_t *p)
{
    tu_close (p->a);
    tu_close (p->b);
    CHECK_OK (zmq_ctx_term (p->ctx));
}

static void test_timeout_zero (void)
{
    pair_t p;
    pair_open (&p, "inproc://poll-zero");
    zmq_pollitem_t items[2] = {{p.a, 0, ZMQ_POLLIN, 77}, {p.b, 0, ZMQ_POLLIN, 77}};
    int64_t t0 = tu_now_ms ();
    CHECK_EQ (0, zmq_poll (items, 2, 0));
    CHECK (tu_now_ms () - t0 < 200 * tu_deadline_factor ());
    /* revents are cleared when nothing happened. */
    CHECK_EQ (0, items[0].revents);
    CHECK_EQ (0, items[1].revents);

    /* A message makes the receiver readable; a PAIR with a peer is
     * writable. */
    SEND_STR (p.b, "x", 0);
    int64_t end = tu_deadline (5000);
    int rc = 0;
    while (rc == 0 && tu_now_ms () < end) {
        items[0].events = ZMQ_POLLIN;
        rc = zmq_poll (items, 1, 0);
    }
    CHECK_EQ (1, rc);
    CHECK_EQ (ZMQ_POLLIN, items[0].revents);
    items[1].events = ZMQ_POLLOUT;
    CHECK_EQ (1, zmq_poll (&items[1], 1, 0));
    CHECK_EQ (ZMQ_POLLOUT, items[1].revents);
    /* Both asked together. */
    items[0].events = ZMQ_POLLIN | ZMQ_POLLOUT;
    CHECK_EQ (1, zmq_poll (items, 1, 0));
    CHECK_EQ (ZMQ_POLLIN | ZMQ_POLLOUT, items[0].revents);
    /* events 0: never reported. */
    items[0].events = 0;
    CHECK_EQ (0, zmq_poll (items, 1, 0));
    CHECK_EQ (0, items[0].revents);
    pair_close (&p);
}

static void test_timeout_positive (void)
{
    pair_t p;
    pair_open (&p, "inproc://poll-positive");
    zmq_pollitem_t item = {p.a, 0, ZMQ_POLLIN, 0};
    int64_t t0 = tu_now_ms ();
    CHECK_EQ (0, zmq_poll (&item, 1, 100));
    int64_t waited = tu_now_ms () - t0;
    if (waited < 95 || waited > 2000 * tu_deadline_factor ())
        TU_FAIL ("zmq_poll (timeout 100) returned after %lld ms", (long long) waited);
    CHECK_EQ (0, item.revents);

    /* With a message already waiting it returns at once. */
    SEND_STR (p.b, "ready", 0);
    CHECK (tu_wait (p.a, ZMQ_POLLIN, 5000) & ZMQ_POLLIN);
    t0 = tu_now_ms ();
    CHECK_EQ (1, zmq_poll (&item, 1, 10000));
    CHECK (tu_now_ms () - t0 < 1000 * tu_deadline_factor ());
    pair_close (&p);
}

typedef struct
{
    void *socket;
    atomic_int go;
} late_sender;

static void *send_when_told (void *arg)
{
    late_sender *l = arg;
    if (!tu_wait_flag (&l->go, 10000))
        return NULL;
    SEND_STR (l->socket, "late", 0);
    return NULL;
}

static void test_timeout_infinite (void)
{
    pair_t p;
    pair_open (&p, "inproc://poll-infinite");
    late_sender l = {p.b, 0};
    tu_thread_t t;
    tu_thread_start (&t, send_when_told, &l);
    zmq_pollitem_t item = {p.a, 0, ZMQ_POLLIN, 0};
    atomic_store (&l.go, 1);
    /* -1: waits as long as it takes (the watchdog bounds it). */
    CHECK_EQ (1, zmq_poll (&item, 1, -1));
    CHECK_EQ (ZMQ_POLLIN, item.revents);
    EXPECT_RECV (p.a, "late", 1000);
    tu_thread_join (&t);
    pair_close (&p);
}

static void test_wakes_across_threads_tcp (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *pull = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    void *push = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    char ep[256];
    tu_bind_any (pull, "tcp://127.0.0.1:*", ep, sizeof ep);
    CHECK_OK (zmq_connect (push, ep));
    late_sender l = {push, 0};
    tu_thread_t t;
    tu_thread_start (&t, send_when_told, &l);
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    atomic_store (&l.go, 1);
    CHECK_EQ (1, zmq_poll (&item, 1, 10000 * tu_deadline_factor ()));
    EXPECT_RECV (pull, "late", 1000);
    tu_thread_join (&t);
    tu_close (push);
    tu_close (pull);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_raw_fds (void)
{
    int fds[2];
    CHECK_OK (pipe (fds));
    zmq_pollitem_t items[3] = {
      {NULL, fds[0], ZMQ_POLLIN, 0},  /* read end */
      {NULL, fds[1], ZMQ_POLLOUT, 0}, /* write end: always writable */
      {NULL, fds[0], 0, 0},           /* no events asked */
    };
    CHECK_EQ (1, zmq_poll (items, 3, 0));
    CHECK_EQ (0, items[0].revents);
    CHECK_EQ (ZMQ_POLLOUT, items[1].revents);
    CHECK_EQ (0, items[2].revents);

    /* Positive timeout on an idle fd. */
    int64_t t0 = tu_now_ms ();
    CHECK_EQ (0, zmq_poll (items, 1, 50));
    CHECK (tu_now_ms () - t0 >= 45);

    CHECK_EQ (1, write (fds[1], "!", 1));
    CHECK_EQ (2, zmq_poll (items, 3, 0));
    CHECK_EQ (ZMQ_POLLIN, items[0].revents);
    CHECK_EQ (ZMQ_POLLOUT, items[1].revents);

    /* A closed write end makes the read end report (EOF is readable). */
    char c;
    CHECK_EQ (1, read (fds[0], &c, 1));
    close (fds[1]);
    CHECK_EQ (1, zmq_poll (items, 1, 1000));
    CHECK (items[0].revents & (ZMQ_POLLIN | ZMQ_POLLERR));
    close (fds[0]);
}

static void test_mixed (void)
{
    pair_t p;
    pair_open (&p, "inproc://poll-mixed");
    int fds[2];
    CHECK_OK (pipe (fds));
    zmq_pollitem_t items[4] = {
      {p.a, 0, ZMQ_POLLIN, 0},
      {NULL, fds[0], ZMQ_POLLIN, 0},
      {p.b, 0, ZMQ_POLLIN, 0},
      {NULL, fds[0], ZMQ_POLLIN, 0}, /* the same fd twice */
    };
    CHECK_EQ (0, zmq_poll (items, 4, 0));

    /* Only the pipe is ready: even with timeout -1 the call returns. */
    CHECK_EQ (1, write (fds[1], "p", 1));
    CHECK_EQ (2, zmq_poll (items, 4, -1));
    CHECK_EQ (0, items[0].revents);
    CHECK_EQ (ZMQ_POLLIN, items[1].revents);
    CHECK_EQ (0, items[2].revents);
    CHECK_EQ (ZMQ_POLLIN, items[3].revents);

    /* Then the socket too. */
    SEND_STR (p.b, "s", 0);
    int64_t end = tu_deadline (5000);
    int rc = 0;
    while (rc != 3 && tu_now_ms () < end)
        rc = zmq_poll (items, 4, 100);
    CHECK_EQ (3, rc);
    CHECK_EQ (ZMQ_POLLIN, items[0].revents);
    CHECK_EQ (0, items[2].revents);
    close (fds[0]);
    close (fds[1]);
    pair_close (&p);
}

static void test_pollout (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *push = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    zmq_pollitem_t item = {push, 0, ZMQ_POLLOUT, 0};
    /* No peer: a PUSH cannot send. */
    CHECK_EQ (0, zmq_poll (&item, 1, 0));
    void *pull = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    CHECK_OK (zmq_bind (pull, "inproc://pollout"));
    CHECK_OK (zmq_connect (push, "inproc://pollout"));
    CHECK (tu_wait (push, ZMQ_POLLOUT, 5000) & ZMQ_POLLOUT);

    /* Full at the high-water mark: POLLOUT goes away. */
    tu_set_int (push, ZMQ_SNDHWM, 1);
    void *push2 = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    tu_set_int (push2, ZMQ_SNDHWM, 1);
    void *pull2 = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    tu_set_int (pull2, ZMQ_RCVHWM, 1);
    CHECK_OK (zmq_bind (pull2, "inproc://pollout-full"));
    CHECK_OK (zmq_connect (push2, "inproc://pollout-full"));
    int sent = 0;
    while (sent < 100 && zmq_send (push2, "f", 1, ZMQ_DONTWAIT) == 1)
        sent++;
    CHECK (sent >= 1 && sent < 100);
    zmq_pollitem_t full = {push2, 0, ZMQ_POLLOUT, 0};
    CHECK_EQ (0, zmq_poll (&full, 1, 0));
    /* Draining makes room. */
    char buf[4];
    for (int i = 0; i < sent; i++)
        CHECK_EQ (1, RECV_WITHIN (pull2, buf, sizeof buf, 5000));
    CHECK (tu_wait (push2, ZMQ_POLLOUT, 5000) & ZMQ_POLLOUT);
    tu_close (push);
    tu_close (pull);
    tu_close (push2);
    tu_close (pull2);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_no_items (void)
{
    CHECK_EQ (0, zmq_poll (NULL, 0, 0));
    int64_t t0 = tu_now_ms ();
    CHECK_EQ (0, zmq_poll (NULL, 0, 30));
    CHECK (tu_now_ms () - t0 >= 25);
}

static void test_errors (void)
{
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *s = CHECK_PTR (zmq_socket (ctx, ZMQ_PAIR));
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    CHECK_ERR (zmq_poll (&item, -1, 0), EINVAL);
    /* A context where a socket belongs. */
    zmq_pollitem_t bad[2] = {{s, 0, ZMQ_POLLIN, 0}, {ctx, 0, ZMQ_POLLIN, 0}};
    CHECK_ERR (zmq_poll (bad, 2, 0), ENOTSOCK);
    tu_close (s);
    CHECK_OK (zmq_ctx_term (ctx));
}

/* ------------------------------------------------------------------ */

typedef struct
{
    void *ctx;
    const char *ep;
    int count;
    int bursts;
} burst_sender;

static void *send_bursts (void *arg)
{
    burst_sender *b = arg;
    void *push = zmq_socket (b->ctx, ZMQ_PUSH);
    if (!push || zmq_connect (push, b->ep) != 0) {
        TU_FAIL ("burst sender setup: %s", tu_errname (errno));
        return NULL;
    }
    for (int i = 0; i < b->count; i++) {
        char msg[32];
        snprintf (msg, sizeof msg, "%d", i);
        if (zmq_send (push, msg, strlen (msg), 0) < 0)
            TU_FAIL ("burst send %d: %s", i, tu_errname (errno));
        /* Pause between bursts so the receiver goes back to waiting on
         * its fd (a yield, not a synchronisation). */
        if (i % (b->count / b->bursts) == 0)
            poll (NULL, 0, 2);
    }
    zmq_close (push);
    return NULL;
}

/* The documented edge-triggered protocol: wait for ZMQ_FD to become
 * readable, then read ZMQ_EVENTS and drain while it says POLLIN. Messages
 * that arrive while draining must not be lost behind a quiet fd. */
static void fd_events_loop (const char *bind_ep)
{
    const int count = tu_scale (2000);
    void *ctx = CHECK_PTR (zmq_ctx_new ());
    void *pull = CHECK_PTR (zmq_socket (ctx, ZMQ_PULL));
    char ep[256];
    tu_bind_any (pull, bind_ep, ep, sizeof ep);
    zmq_fd_t fd;
    size_t size = sizeof fd;
    CHECK_OK (zmq_getsockopt (pull, ZMQ_FD, &fd, &size));

    burst_sender b = {ctx, ep, count, 20};
    tu_thread_t t;
    tu_thread_start (&t, send_bursts, &b);

    int received = 0, wakeups = 0, next = 0;
    int64_t end = tu_deadline (20000);
    while (received < count && tu_now_ms () < end) {
        /* Drain first: the fd only signals changes. */
        for (;;) {
            uint32_t events = 0;
            size_t esize = sizeof events;
            if (zmq_getsockopt (pull, ZMQ_EVENTS, &events, &esize) != 0) {
                TU_FAIL ("ZMQ_EVENTS: %s", tu_errname (errno));
                break;
            }
            if (!(events & ZMQ_POLLIN))
                break;
            char buf[32];
            int n = zmq_recv (pull, buf, sizeof buf - 1, ZMQ_DONTWAIT);
            if (n < 0) {
                if (errno != EAGAIN)
                    TU_FAIL ("zmq_recv: %s", tu_errname (errno));
                break;
            }
            buf[n] = 0;
            if (atoi (buf) != next)
                TU_FAIL ("got message %s, expected %d", buf, next);
            next = atoi (buf) + 1;
            received++;
        }
        if (received >= count)
            break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int rc = poll (&pfd, 1, 500);
        if (rc > 0)
            wakeups++;
        CHECK (rc >= 0);
    }
    CHECK_EQ (count, received);
    CHECK (wakeups > 0);
    tu_thread_join (&t);

    /* ZMQ_EVENTS on a sender with a peer includes POLLOUT. */
    void *push = CHECK_PTR (zmq_socket (ctx, ZMQ_PUSH));
    CHECK_OK (zmq_connect (push, ep));
    int64_t until = tu_deadline (5000);
    uint32_t events = 0;
    while (!(events & ZMQ_POLLOUT) && tu_now_ms () < until) {
        size_t esize = sizeof events;
        CHECK_OK (zmq_getsockopt (push, ZMQ_EVENTS, &events, &esize));
        if (!(events & ZMQ_POLLOUT))
            poll (NULL, 0, 1);
    }
    CHECK (events & ZMQ_POLLOUT);
    tu_close (push);
    tu_close (pull);
    CHECK_OK (zmq_ctx_term (ctx));
}

static void test_fd_events_inproc (void)
{
    fd_events_loop ("inproc://fd-events");
}

static void test_fd_events_tcp (void)
{
    fd_events_loop ("tcp://127.0.0.1:*");
}

int main (int argc, char **argv)
{
    static const tu_case cases[] = {
      {"timeout_zero", test_timeout_zero, 0},
      {"timeout_positive", test_timeout_positive, 0},
      {"timeout_infinite", test_timeout_infinite, 0},
      {"wakes_across_threads_tcp", test_wakes_across_threads_tcp, 0},
      {"raw_fds", test_raw_fds, 0},
      {"mixed", test_mixed, 0},
      {"pollout", test_pollout, 0},
      {"no_items", test_no_items, 0},
      {"errors", test_errors, 0},
      {"fd_events_inproc", test_fd_events_inproc, 0},
      {"fd_events_tcp", test_fd_events_tcp, 0},
      {NULL, NULL, 0}};
    return tu_main (argc, argv, cases);
}
