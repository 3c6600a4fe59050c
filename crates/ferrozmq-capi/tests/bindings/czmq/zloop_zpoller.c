//  czmq's reactors on our libzmq (both run on zmq_poll):
//    zloop: a timer firing 3 times, a repeating timer cancelled from a
//      handler, a ticket timer, a reader on a zsock fed by the timer, and a
//      poller on a raw file descriptor (a pipe); a handler ends the loop.
//    zpoller: readiness of two sockets in turn, expiry with nothing ready,
//      a raw file descriptor (socketpair), removal of a reader.

#include "fz_check.h"
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    zsock_t *push;
    int pipe_w;
    int ticks;       //  timer A firings
    int received;    //  messages seen by the reader
    int repeats;     //  timer B firings
    int repeats_at_cancel;
    int timer_b;
    bool ticket_fired;
    bool fd_read;
    bool timed_out;
} loop_state_t;

static int check_done(loop_state_t *st)
{
    return st->received == 3 && st->ticket_fired && st->fd_read ? -1 : 0;
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    loop_state_t *st = (loop_state_t *) arg;
    st->ticks++;
    zstr_sendf(st->push, "tick %d", st->ticks);
    if (st->ticks == 1) {
        ssize_t n = write(st->pipe_w, "x", 1);
        (void) n;
    }
    return 0;
}

static int on_repeat(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ((loop_state_t *) arg)->repeats++;
    return 0;
}

static int on_ticket(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    loop_state_t *st = (loop_state_t *) arg;
    st->ticket_fired = true;
    return check_done(st);
}

static int on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ((loop_state_t *) arg)->timed_out = true;
    return -1;
}

static int on_message(zloop_t *loop, zsock_t *reader, void *arg)
{
    loop_state_t *st = (loop_state_t *) arg;
    char *s = zstr_recv(reader);
    char want[32];
    snprintf(want, sizeof want, "tick %d", st->received + 1);
    if (s && streq(s, want))
        st->received++;
    zstr_free(&s);
    if (st->received == 3 && st->timer_b != -1) {
        zloop_timer_end(loop, st->timer_b);
        st->timer_b = -1;
        st->repeats_at_cancel = st->repeats;
    }
    return check_done(st);
}

static int on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    loop_state_t *st = (loop_state_t *) arg;
    char c;
    if (read(item->fd, &c, 1) == 1 && c == 'x')
        st->fd_read = true;
    zloop_poller_end(loop, item);
    return check_done(st);
}

static void test_zloop(void)
{
    loop_state_t st = {0};
    zsock_t *pull = zsock_new_pull("@inproc://czmq-zloop");
    st.push = zsock_new_push(">inproc://czmq-zloop");
    int fds[2];
    int prc = pipe(fds);
    st.pipe_w = fds[1];

    zloop_t *loop = zloop_new();
    zloop_set_verbose(loop, getenv("FZ_VERBOSE") != NULL);
    int ta = zloop_timer(loop, 10, 3, on_tick, &st);
    st.timer_b = zloop_timer(loop, 5, 0, on_repeat, &st);
    zloop_set_ticket_delay(loop, 50);
    void *ticket = zloop_ticket(loop, on_ticket, &st);
    zloop_timer(loop, 10000, 1, on_deadline, &st);
    int rr = zloop_reader(loop, pull, on_message, &st);
    zmq_pollitem_t item = {NULL, fds[0], ZMQ_POLLIN, 0};
    int pr = zloop_poller(loop, &item, on_fd, &st);
    CHECK(prc == 0 && ta >= 0 && st.timer_b >= 0 && ticket && rr == 0 && pr == 0, "zloop-setup",
          "pipe %d timer %d/%d ticket %p reader %d poller %d", prc, ta, st.timer_b, ticket, rr, pr);

    int rc = zloop_start(loop);
    CHECK(rc == -1 && !st.timed_out, "zloop-ends-from-handler", "zloop_start = %d, timed out %d", rc,
          st.timed_out);
    CHECK(st.ticks == 3, "zloop-timer-fires-3-times", "timer fired %d times", st.ticks);
    CHECK(st.received == 3, "zloop-reader-gets-messages", "reader got %d of 3", st.received);
    CHECK(st.repeats > 0 && st.repeats == st.repeats_at_cancel, "zloop-repeating-timer-cancelled",
          "repeats %d, at cancel %d", st.repeats, st.repeats_at_cancel);
    CHECK(st.ticket_fired, "zloop-ticket-fires", "ticket did not fire");
    CHECK(st.fd_read, "zloop-raw-fd-poller", "pipe byte not read");

    zloop_destroy(&loop);
    close(fds[0]);
    close(fds[1]);
    zsock_destroy(&st.push);
    zsock_destroy(&pull);
}

static void test_zpoller(void)
{
    zsock_t *a = zsock_new_pull("@inproc://czmq-poll-a");
    zsock_t *b = zsock_new_pull("@inproc://czmq-poll-b");
    zsock_t *pa = zsock_new_push(">inproc://czmq-poll-a");
    zsock_t *pb = zsock_new_push(">inproc://czmq-poll-b");
    zpoller_t *poller = zpoller_new(a, b, NULL);
    CHECK(poller != NULL, "zpoller-new", "zpoller_new failed");

    void *which = zpoller_wait(poller, 20);
    CHECK(which == NULL && zpoller_expired(poller) && !zpoller_terminated(poller), "zpoller-expires-when-idle",
          "which %p expired %d terminated %d", which, zpoller_expired(poller), zpoller_terminated(poller));

    zstr_send(pb, "to b");
    which = zpoller_wait(poller, 5000);
    char *s = which == b ? zstr_recv(b) : NULL;
    CHECK(which == b && s && streq(s, "to b"), "zpoller-second-socket-ready", "which %p (b %p) got '%s'", which,
          (void *) b, S(s));
    zstr_free(&s);
    zstr_send(pa, "to a");
    which = zpoller_wait(poller, 5000);
    s = which == a ? zstr_recv(a) : NULL;
    CHECK(which == a && s && streq(s, "to a"), "zpoller-first-socket-ready", "which %p (a %p) got '%s'", which,
          (void *) a, S(s));
    zstr_free(&s);

    //  A raw descriptor. czmq tells it apart from a socket by asking libzmq
    //  (zmq_getsockopt ZMQ_TYPE on the pointer must fail with ENOTSOCK).
    int sv[2];
    int rc = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    static struct {
        int fd;
        char pad[256];
    } raw;
    raw.fd = sv[0];
    size_t len = sizeof(int);
    int type;
    int grc = zmq_getsockopt(&raw, ZMQ_TYPE, &type, &len);
    int gerr = zmq_errno();
    CHECK(grc == -1 && gerr == ENOTSOCK, "zmq_getsockopt-on-non-socket", "rc %d errno %d (want -1 ENOTSOCK)",
          grc, gerr);
    rc |= zpoller_add(poller, &raw);
    ssize_t n = write(sv[1], "y", 1);
    which = zpoller_wait(poller, 5000);
    CHECK(rc == 0 && n == 1 && which == (void *) &raw, "zpoller-raw-fd-ready", "add %d write %zd which %p (fd %p)",
          rc, n, which, (void *) &raw);
    char c;
    n = read(sv[0], &c, 1);

    //  Removed: a ready socket is no longer reported.
    zpoller_remove(poller, b);
    zstr_send(pb, "unseen");
    which = zpoller_wait(poller, 50);
    CHECK(which == NULL && zpoller_expired(poller), "zpoller-removed-reader-ignored", "which %p", which);

    zpoller_destroy(&poller);
    close(sv[0]);
    close(sv[1]);
    zsock_destroy(&pa);
    zsock_destroy(&pb);
    zsock_destroy(&a);
    zsock_destroy(&b);
}

int main(void)
{
    fz_prog = "czmq/zloop-zpoller";
    fz_check_loaded_lib();
    test_zloop();
    test_zpoller();
    return fz_exit();
}
