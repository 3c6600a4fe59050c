//  czmq zproxy (a proxy actor polling its frontend, backend and pipe with
//  zmq_poll) on our libzmq:
//    a PULL/PUSH streamer over ipc with a CAPTURE socket (inproc) that
//    receives a copy of every message; PAUSE holds messages back, RESUME
//    releases them;
//    a ROUTER/DEALER broker, over inproc and over ipc, carrying REQ/REP
//    round trips between a client and a worker.
//  (zproxy binds the endpoints it is given, so tcp would need a fixed port:
//  ipc and inproc keep the test free of port races.)

#include "fz_check.h"

static void test_streamer(const char *tmp)
{
    char *front = zsys_sprintf("ipc://%s/front.ipc", tmp);
    char *back = zsys_sprintf("ipc://%s/back.ipc", tmp);
    zsock_t *capture = zsock_new(ZMQ_PULL);
    zsock_bind(capture, "inproc://czmq-capture");
    zsock_set_rcvtimeo(capture, 5000);

    zactor_t *proxy = zactor_new(zproxy, NULL);
    if (getenv("FZ_VERBOSE")) {
        zstr_sendx(proxy, "VERBOSE", NULL);
        zsock_wait(proxy);
    }
    zstr_sendx(proxy, "FRONTEND", "PULL", front, NULL);
    zsock_wait(proxy);
    zstr_sendx(proxy, "BACKEND", "PUSH", back, NULL);
    zsock_wait(proxy);
    zstr_sendx(proxy, "CAPTURE", "inproc://czmq-capture", NULL);
    zsock_wait(proxy);

    zsock_t *producer = zsock_new(ZMQ_PUSH);
    zsock_connect(producer, "%s", front);
    zsock_t *consumer = zsock_new(ZMQ_PULL);
    zsock_connect(consumer, "%s", back);
    zsock_set_rcvtimeo(consumer, 5000);

    for (int i = 0; i < 10; i++)
        zsock_send(producer, "ss", "task", i % 2 ? "odd" : "even");
    bool ok = true;
    char why[256] = "";
    for (int i = 0; i < 10 && ok; i++) {
        char *a = NULL, *b = NULL;
        int rc = zsock_recv(consumer, "ss", &a, &b);
        ok = rc == 0 && a && streq(a, "task") && b && streq(b, i % 2 ? "odd" : "even");
        if (!ok)
            snprintf(why, sizeof why, "message %d: rc %d '%s' '%s'", i, rc, S(a), S(b));
        zstr_free(&a);
        zstr_free(&b);
    }
    CHECK(ok, "streamer-forwards-multipart", "%s", why);
    ok = true;
    for (int i = 0; i < 10 && ok; i++) {
        zmsg_t *m = zmsg_recv(capture);
        ok = m && zmsg_size(m) == 2;
        if (!ok)
            snprintf(why, sizeof why, "capture %d: %zu frames", i, m ? zmsg_size(m) : 0);
        zmsg_destroy(&m);
    }
    CHECK(ok, "capture-gets-copies", "%s", why);

    zstr_sendx(proxy, "PAUSE", NULL);
    zsock_wait(proxy);
    zstr_send(producer, "while paused");
    zsock_set_rcvtimeo(consumer, 300);
    char *held = zstr_recv(consumer);
    CHECK(held == NULL, "pause-holds-messages", "consumer got '%s' while paused", S(held));
    zstr_free(&held);
    zstr_sendx(proxy, "RESUME", NULL);
    zsock_wait(proxy);
    zsock_set_rcvtimeo(consumer, 5000);
    char *released = zstr_recv(consumer);
    CHECK(released && streq(released, "while paused"), "resume-releases-messages", "consumer got '%s'",
          S(released));
    zstr_free(&released);

    zactor_destroy(&proxy);
    zsock_destroy(&producer);
    zsock_destroy(&consumer);
    zsock_destroy(&capture);
    zstr_free(&front);
    zstr_free(&back);
}

static void test_broker(const char *front, const char *back, const char *name)
{
    zactor_t *proxy = zactor_new(zproxy, NULL);
    zstr_sendx(proxy, "FRONTEND", "ROUTER", front, NULL);
    zsock_wait(proxy);
    zstr_sendx(proxy, "BACKEND", "DEALER", back, NULL);
    zsock_wait(proxy);

    zsock_t *worker = zsock_new(ZMQ_REP);
    zsock_connect(worker, "%s", back);
    zsock_set_rcvtimeo(worker, 5000);
    zsock_t *client = zsock_new(ZMQ_REQ);
    zsock_connect(client, "%s", front);
    zsock_set_rcvtimeo(client, 5000);
    bool ok = true;
    char why[256] = "";
    for (int i = 0; i < 5 && ok; i++) {
        zstr_sendf(client, "question %d", i);
        char *q = zstr_recv(worker);
        char want[32];
        snprintf(want, sizeof want, "question %d", i);
        ok = q && streq(q, want);
        if (ok) {
            zstr_sendf(worker, "answer %d", i);
            char *a = zstr_recv(client);
            snprintf(want, sizeof want, "answer %d", i);
            ok = a && streq(a, want);
            if (!ok)
                snprintf(why, sizeof why, "client got '%s', want '%s'", S(a), want);
            zstr_free(&a);
        }
        else
            snprintf(why, sizeof why, "worker got '%s', want '%s'", S(q), want);
        zstr_free(&q);
    }
    CHECK(ok, name, "%s", why);
    zsock_destroy(&client);
    zsock_destroy(&worker);
    zactor_destroy(&proxy);
}

int main(void)
{
    fz_prog = "czmq/zproxy";
    fz_check_loaded_lib();
    char *tmp = fz_tmpdir();
    test_streamer(tmp);
    test_broker("inproc://czmq-broker-front", "inproc://czmq-broker-back", "broker-inproc-round-trips");
    char *front = zsys_sprintf("ipc://%s/broker-front.ipc", tmp);
    char *back = zsys_sprintf("ipc://%s/broker-back.ipc", tmp);
    test_broker(front, back, "broker-ipc-round-trips");
    zstr_free(&front);
    zstr_free(&back);
    zsys_dir_delete(tmp);
    zstr_free(&tmp);
    return fz_exit();
}
