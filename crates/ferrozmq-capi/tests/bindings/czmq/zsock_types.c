//  czmq zsock in every classic socket type, each with a real exchange:
//  PAIR (tcp, ipc, inproc), PUB/SUB (prefix filter), REQ/REP (multipart),
//  DEALER/ROUTER (routing ids, ROUTER_MANDATORY), PUSH/PULL (fan-in over
//  tcp, inproc in both bind/connect orders), XPUB/XSUB (subscription frames
//  seen by the XPUB, filtering, unsubscribe) and STREAM against a plain TCP
//  client.

#include "fz_check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static char *tmp;

static bool str_is(char *got, const char *want)
{
    bool ok = got && streq(got, want);
    return ok;
}

static void test_pair(const char *name, const char *bind_ep)
{
    zsock_t *a = zsock_new(ZMQ_PAIR);
    zsock_t *b = zsock_new(ZMQ_PAIR);
    zsock_set_rcvtimeo(a, 5000);
    zsock_set_rcvtimeo(b, 5000);
    int rc = zsock_bind(a, "%s", bind_ep);
    const char *ep = zsock_endpoint(a);
    char *tname = zsys_sprintf("%s-bind", name);
    CHECK(rc != -1 && ep, tname, "zsock_bind(%s) = %d, endpoint %s", bind_ep, rc, S(ep));
    zstr_free(&tname);
    if (rc == -1 || !ep)
        goto done;
    if (strstr(bind_ep, "tcp://") && strstr(bind_ep, ":*")) {
        char *want = zsys_sprintf("tcp://127.0.0.1:%d", rc);
        tname = zsys_sprintf("%s-last-endpoint", name);
        CHECK(streq(ep, want), tname, "LAST_ENDPOINT %s, want %s", ep, want);
        zstr_free(&tname);
        zstr_free(&want);
    }
    rc = zsock_connect(b, "%s", ep);
    char *ping = NULL, *pong = NULL;
    if (rc == 0) {
        zstr_send(b, "ping from b");
        ping = zstr_recv(a);
        zstr_send(a, "pong from a");
        pong = zstr_recv(b);
    }
    tname = zsys_sprintf("%s-exchange", name);
    CHECK(rc == 0 && str_is(ping, "ping from b") && str_is(pong, "pong from a"), tname,
          "connect rc %d, a got '%s', b got '%s'", rc, S(ping), S(pong));
    zstr_free(&tname);
    zstr_free(&ping);
    zstr_free(&pong);
done:
    zsock_destroy(&b);
    zsock_destroy(&a);
}

static void test_pubsub(void)
{
    zsock_t *pub = zsock_new(ZMQ_PUB);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    int port = zsock_bind(pub, "tcp://127.0.0.1:*");
    zsock_set_subscribe(sub, "A ");
    int rc = zsock_connect(sub, "tcp://127.0.0.1:%d", port);
    CHECK(port > 0 && rc == 0, "pubsub-setup", "bind port %d, connect %d", port, rc);
    //  The join: publish until the first "A" message arrives (bounded).
    zsock_set_rcvtimeo(sub, 20);
    int sent = 0, first = -1;
    int64_t deadline = zclock_mono() + 10000;
    char *got = NULL;
    while (zclock_mono() < deadline) {
        zstr_sendf(pub, "B %d", sent);
        zstr_sendf(pub, "A %d", sent);
        sent++;
        got = zstr_recv(sub);
        if (got)
            break;
    }
    bool ok = got && strncmp(got, "A ", 2) == 0;
    CHECK(ok, "pubsub-join", "first message '%s' after %d sends", S(got), sent);
    if (!ok) {
        zstr_free(&got);
        goto done;
    }
    first = atoi(got + 2);
    zstr_free(&got);
    for (int i = 0; i < 5; i++) {
        zstr_sendf(pub, "B %d", sent);
        zstr_sendf(pub, "A %d", sent);
        sent++;
    }
    zsock_set_rcvtimeo(sub, 5000);
    int expect = first + 1;
    char why[256] = "";
    while (expect < sent) {
        got = zstr_recv(sub);
        char want[32];
        snprintf(want, sizeof want, "A %d", expect);
        if (!str_is(got, want)) {
            snprintf(why, sizeof why, "got '%s', want '%s' (only A, in order)", S(got), want);
            zstr_free(&got);
            break;
        }
        zstr_free(&got);
        expect++;
    }
    CHECK(!*why, "pubsub-prefix-filter", "%s", why);
done:
    zsock_destroy(&sub);
    zsock_destroy(&pub);
}

static void test_reqrep(void)
{
    zsock_t *rep = zsock_new(ZMQ_REP);
    zsock_t *req = zsock_new(ZMQ_REQ);
    zsock_set_rcvtimeo(rep, 5000);
    zsock_set_rcvtimeo(req, 5000);
    int port = zsock_bind(rep, "tcp://127.0.0.1:*");
    zsock_connect(req, "tcp://127.0.0.1:%d", port);
    bool ok = true;
    char why[256] = "";
    for (int i = 0; i < 3 && ok; i++) {
        zstr_sendf(req, "request %d", i);
        char *r = zstr_recv(rep);
        char want[32];
        snprintf(want, sizeof want, "request %d", i);
        ok = str_is(r, want);
        if (!ok)
            snprintf(why, sizeof why, "REP got '%s', want '%s'", S(r), want);
        zstr_free(&r);
        if (!ok)
            break;
        zstr_sendf(rep, "reply %d", i);
        r = zstr_recv(req);
        snprintf(want, sizeof want, "reply %d", i);
        ok = str_is(r, want);
        if (!ok)
            snprintf(why, sizeof why, "REQ got '%s', want '%s'", S(r), want);
        zstr_free(&r);
    }
    CHECK(ok, "reqrep-3-round-trips", "%s", why);
    //  A multipart request and reply.
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "part one");
    zmsg_addstr(m, "");
    zmsg_addstr(m, "part three");
    zmsg_send(&m, req);
    zmsg_t *in = zmsg_recv(rep);
    char *p1 = in ? zmsg_popstr(in) : NULL, *p2 = in ? zmsg_popstr(in) : NULL,
         *p3 = in ? zmsg_popstr(in) : NULL;
    size_t rest = in ? zmsg_size(in) : 99;
    ok = str_is(p1, "part one") && str_is(p2, "") && str_is(p3, "part three") && rest == 0;
    CHECK(ok, "reqrep-multipart-request", "frames '%s' '%s' '%s' +%zu", S(p1), S(p2), S(p3), rest);
    zstr_free(&p1);
    zstr_free(&p2);
    zstr_free(&p3);
    zmsg_destroy(&in);
    zsock_send(rep, "ss", "answer", "two");
    char *a1 = NULL, *a2 = NULL;
    int rc = zsock_recv(req, "ss", &a1, &a2);
    CHECK(rc == 0 && str_is(a1, "answer") && str_is(a2, "two"), "reqrep-multipart-reply",
          "rc %d, '%s' '%s'", rc, S(a1), S(a2));
    zstr_free(&a1);
    zstr_free(&a2);
    zsock_destroy(&req);
    zsock_destroy(&rep);
}

static void test_dealer_router(void)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_rcvtimeo(router, 5000);
    zsock_set_router_mandatory(router, 1);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    zsock_t *d[2];
    const char *ids[2] = {"D1", "D2"};
    for (int i = 0; i < 2; i++) {
        d[i] = zsock_new(ZMQ_DEALER);
        zsock_set_identity(d[i], ids[i]);
        zsock_set_rcvtimeo(d[i], 5000);
        zsock_connect(d[i], "tcp://127.0.0.1:%d", port);
        zstr_sendf(d[i], "hello from %s", ids[i]);
    }
    bool ok = true;
    char why[256] = "";
    for (int n = 0; n < 2 && ok; n++) {
        zmsg_t *m = zmsg_recv(router);
        char *id = m ? zmsg_popstr(m) : NULL;
        char *body = m ? zmsg_popstr(m) : NULL;
        char want[32];
        snprintf(want, sizeof want, "hello from %s", S(id));
        ok = id && (streq(id, "D1") || streq(id, "D2")) && str_is(body, want) && zmsg_size(m) == 0;
        if (!ok)
            snprintf(why, sizeof why, "ROUTER got id '%s' body '%s'", S(id), S(body));
        zstr_free(&id);
        zstr_free(&body);
        zmsg_destroy(&m);
    }
    CHECK(ok, "router-receives-routing-ids", "%s", why);
    //  Replies routed by id, in the opposite order.
    for (int i = 1; i >= 0; i--) {
        zmsg_t *m = zmsg_new();
        zmsg_addstr(m, ids[i]);
        zmsg_addstrf(m, "to %s", ids[i]);
        zmsg_send(&m, router);
    }
    ok = true;
    for (int i = 0; i < 2 && ok; i++) {
        char *r = zstr_recv(d[i]);
        char want[16];
        snprintf(want, sizeof want, "to %s", ids[i]);
        ok = str_is(r, want);
        if (!ok)
            snprintf(why, sizeof why, "dealer %s got '%s'", ids[i], S(r));
        zstr_free(&r);
    }
    CHECK(ok, "router-routes-to-dealers", "%s", why);
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "nobody");
    zmsg_addstr(m, "lost");
    int rc = zmsg_send(&m, router);
    int err = zmq_errno();
    zmsg_destroy(&m);
    CHECK(rc == -1 && err == EHOSTUNREACH, "router-mandatory-unknown-peer",
          "send to unknown id: rc %d errno %d (want -1 EHOSTUNREACH)", rc, err);
    for (int i = 0; i < 2; i++)
        zsock_destroy(&d[i]);
    zsock_destroy(&router);
}

static void test_pushpull_tcp(void)
{
    zsock_t *pull = zsock_new(ZMQ_PULL);
    zsock_set_rcvtimeo(pull, 5000);
    int port = zsock_bind(pull, "tcp://127.0.0.1:*");
    zsock_t *p1 = zsock_new(ZMQ_PUSH), *p2 = zsock_new(ZMQ_PUSH);
    zsock_connect(p1, "tcp://127.0.0.1:%d", port);
    zsock_connect(p2, "tcp://127.0.0.1:%d", port);
    for (int i = 0; i < 50; i++) {
        zstr_sendf(p1, "p1 %d", i);
        zstr_sendf(p2, "p2 %d", i);
    }
    int next[2] = {0, 0};
    bool ok = true;
    char why[256] = "";
    for (int n = 0; n < 100 && ok; n++) {
        char *s = zstr_recv(pull);
        int who = -1, seq = -1;
        if (s && sscanf(s, "p%d %d", &who, &seq) == 2 && (who == 1 || who == 2) && seq == next[who - 1])
            next[who - 1]++;
        else {
            ok = false;
            snprintf(why, sizeof why, "message %d: '%s' (next p1 %d p2 %d)", n, S(s), next[0], next[1]);
        }
        zstr_free(&s);
    }
    CHECK(ok, "pushpull-tcp-fan-in", "%s", why);
    zsock_destroy(&p1);
    zsock_destroy(&p2);
    zsock_destroy(&pull);
}

static void test_pushpull_inproc(void)
{
    //  Bind first, then connect.
    zsock_t *push = zsock_new_push("@inproc://czmq-pipeline-a");
    zsock_t *pull = zsock_new_pull(">inproc://czmq-pipeline-a");
    zsock_set_rcvtimeo(pull, 5000);
    zstr_send(push, "bind first");
    char *s = pull ? zstr_recv(pull) : NULL;
    CHECK(push && pull && str_is(s, "bind first"), "pushpull-inproc-bind-then-connect", "got '%s'", S(s));
    zstr_free(&s);
    zsock_destroy(&pull);
    zsock_destroy(&push);
    //  Connect first, then bind (allowed since libzmq 4.0).
    zsock_t *pull2 = zsock_new(ZMQ_PULL);
    zsock_set_rcvtimeo(pull2, 5000);
    int rc1 = zsock_connect(pull2, "inproc://czmq-pipeline-b");
    zsock_t *push2 = zsock_new(ZMQ_PUSH);
    int rc2 = zsock_bind(push2, "inproc://czmq-pipeline-b");
    zstr_send(push2, "connect first");
    s = zstr_recv(pull2);
    CHECK(rc1 == 0 && rc2 == 0 && str_is(s, "connect first"), "pushpull-inproc-connect-then-bind",
          "connect %d bind %d got '%s'", rc1, rc2, S(s));
    zstr_free(&s);
    zsock_destroy(&push2);
    zsock_destroy(&pull2);
}

static bool frame_is(zframe_t *f, const void *data, size_t size)
{
    return f && zframe_size(f) == size && memcmp(zframe_data(f), data, size) == 0;
}

static void test_xpub_xsub(void)
{
    zsock_t *xpub = zsock_new(ZMQ_XPUB);
    zsock_t *xsub = zsock_new(ZMQ_XSUB);
    zsock_set_rcvtimeo(xpub, 5000);
    zsock_set_rcvtimeo(xsub, 5000);
    int port = zsock_bind(xpub, "tcp://127.0.0.1:*");
    zsock_connect(xsub, "tcp://127.0.0.1:%d", port);
    zframe_t *f = zframe_new("\x01news", 5);
    zframe_send(&f, xsub, 0);
    zframe_t *sub = zframe_recv(xpub);
    CHECK(frame_is(sub, "\x01news", 5), "xpub-sees-subscription", "XPUB got %zu bytes",
          sub ? zframe_size(sub) : 0);
    zframe_destroy(&sub);
    zstr_send(xpub, "sport 1");
    zstr_send(xpub, "news 1");
    zstr_send(xpub, "weather 1");
    zstr_send(xpub, "news 2");
    char *a = zstr_recv(xsub), *b = zstr_recv(xsub);
    CHECK(str_is(a, "news 1") && str_is(b, "news 2"), "xsub-receives-only-subscribed",
          "got '%s' '%s'", S(a), S(b));
    zstr_free(&a);
    zstr_free(&b);
    f = zframe_new("\x00news", 5);
    zframe_send(&f, xsub, 0);
    zframe_t *unsub = zframe_recv(xpub);
    CHECK(frame_is(unsub, "\x00news", 5), "xpub-sees-unsubscription", "XPUB got %zu bytes",
          unsub ? zframe_size(unsub) : 0);
    zframe_destroy(&unsub);
    zsock_destroy(&xsub);
    zsock_destroy(&xpub);
}

//  Reads from a raw TCP socket until `want` bytes arrived or EOF/deadline.
static ssize_t read_some(int fd, char *buf, size_t want, int timeout_ms)
{
    size_t have = 0;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (have < want) {
        int left = (int) (deadline - zclock_mono());
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            break;
        ssize_t n = read(fd, buf + have, want - have);
        if (n <= 0)
            return have ? (ssize_t) have : n;
        have += n;
    }
    return have;
}

static void test_stream(void)
{
    zsock_t *stream = zsock_new(ZMQ_STREAM);
    zsock_set_rcvtimeo(stream, 5000);
    int port = zsock_bind(stream, "tcp://127.0.0.1:*");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *) &sa, sizeof sa);
    CHECK(port > 0 && rc == 0, "stream-raw-client-connects", "port %d connect %d (%s)", port, rc,
          strerror(errno));
    //  Connect notification: [id][empty].
    zmsg_t *m = zmsg_recv(stream);
    zframe_t *id = m ? zmsg_pop(m) : NULL;
    zframe_t *empty = m ? zmsg_pop(m) : NULL;
    CHECK(id && zframe_size(id) > 0 && empty && zframe_size(empty) == 0, "stream-connect-notification",
          "got %zu frames", m ? zmsg_size(m) + (id != NULL) + (empty != NULL) : 0);
    zframe_destroy(&empty);
    zmsg_destroy(&m);
    const char *hello = "hello, raw stream";
    ssize_t w = write(fd, hello, strlen(hello));
    m = zmsg_recv(stream);
    zframe_t *id2 = m ? zmsg_pop(m) : NULL;
    zframe_t *data = m ? zmsg_pop(m) : NULL;
    CHECK(w == (ssize_t) strlen(hello) && id2 && id && zframe_eq(id, id2) && frame_is(data, hello, strlen(hello)),
          "stream-receives-raw-bytes", "write %zd, data %zu bytes", w, data ? zframe_size(data) : 0);
    zframe_destroy(&id2);
    zframe_destroy(&data);
    zmsg_destroy(&m);
    if (id) {
        zframe_t *dup = zframe_dup(id);
        zframe_send(&dup, stream, ZFRAME_MORE);
        zstr_send(stream, "raw reply");
    }
    char buf[64] = "";
    ssize_t n = read_some(fd, buf, 9, 5000);
    CHECK(n == 9 && memcmp(buf, "raw reply", 9) == 0, "stream-sends-raw-bytes", "read %zd bytes '%.*s'",
          n, (int) (n > 0 ? n : 0), buf);
    //  [id][empty] closes the connection.
    if (id) {
        zframe_t *dup = zframe_dup(id);
        zframe_send(&dup, stream, ZFRAME_MORE);
        zstr_send(stream, "");
    }
    n = read_some(fd, buf, sizeof buf, 5000);
    CHECK(n == 0, "stream-empty-frame-closes", "read after close: %zd (want 0 = EOF)", n);
    close(fd);
    zframe_destroy(&id);
    zsock_destroy(&stream);
}

//  ZMQ_FD and ZMQ_EVENTS, as event loops integrate sockets (zsock_fd,
//  zsock_events).
static void test_fd_events(void)
{
    zsock_t *a = zsock_new(ZMQ_PAIR), *b = zsock_new(ZMQ_PAIR);
    zsock_bind(a, "inproc://czmq-fd-events");
    zsock_connect(b, "inproc://czmq-fd-events");
    int fd = zsock_fd(a);
    int before = zsock_events(a);
    CHECK(fd >= 0 && !(before & ZMQ_POLLIN), "fd-and-events-idle", "fd %d, events %d before any message", fd,
          before);
    zstr_send(b, "wake up");
    //  Edge-triggered, as documented: the fd turns readable (EVENTS above
    //  found nothing to read, so the arrival is signalled), then EVENTS says
    //  POLLIN.
    struct pollfd p = {fd, POLLIN, 0};
    int prc = poll(&p, 1, 5000);
    CHECK(prc == 1 && (p.revents & POLLIN), "fd-readable-when-message-arrives", "poll(ZMQ_FD) = %d, revents %d",
          prc, p.revents);
    int events = zsock_events(a);
    char *s = (events & ZMQ_POLLIN) ? zstr_recv(a) : NULL;
    CHECK((events & ZMQ_POLLIN) && s && streq(s, "wake up"), "events-pollin-then-recv", "events %d, got '%s'",
          events, S(s));
    zstr_free(&s);
    zsock_destroy(&b);
    zsock_destroy(&a);
}

int main(void)
{
    fz_prog = "czmq/zsock";
    fz_check_loaded_lib();
    tmp = fz_tmpdir();
    test_pair("pair-tcp", "tcp://127.0.0.1:*");
    char *ipc = zsys_sprintf("ipc://%s/pair.ipc", tmp);
    test_pair("pair-ipc", ipc);
    zstr_free(&ipc);
    test_pair("pair-inproc", "inproc://czmq-pair");
    test_pubsub();
    test_reqrep();
    test_dealer_router();
    test_pushpull_tcp();
    test_pushpull_inproc();
    test_xpub_xsub();
    test_stream();
    test_fd_events();
    zsys_dir_delete(tmp);
    zstr_free(&tmp);
    return fz_exit();
}
