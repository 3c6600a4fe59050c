//  czmq zmonitor (zmq_socket_monitor underneath) on our libzmq: the events
//  of a server (LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED, DISCONNECTED,
//  CLOSED) and of a client (CONNECTED, HANDSHAKE_SUCCEEDED), with the
//  endpoint each event carries, around a REQ/REP round trip over tcp.

#include "fz_check.h"

//  Waits (bounded) for event `name`; records every event seen on the way.
//  Returns its address, or NULL on timeout.
static char *expect_event(zactor_t *mon, const char *name, char *seen, size_t seen_size)
{
    int64_t deadline = zclock_mono() + 5000;
    while (zclock_mono() < deadline) {
        zsock_set_rcvtimeo(mon, (int) (deadline - zclock_mono()) + 1);
        zmsg_t *m = zmsg_recv(mon);
        if (!m)
            return NULL;
        char *ev = zmsg_popstr(m), *value = zmsg_popstr(m), *addr = zmsg_popstr(m);
        zmsg_destroy(&m);
        if (strlen(seen) + strlen(S(ev)) + 2 < seen_size) {
            strcat(seen, " ");
            strcat(seen, S(ev));
        }
        bool hit = ev && streq(ev, name);
        zstr_free(&ev);
        zstr_free(&value);
        if (hit)
            return addr ? addr : strdup("");
        zstr_free(&addr);
    }
    return NULL;
}

static void check_event(zactor_t *mon, const char *who, const char *name, const char *want_addr)
{
    char seen[512] = "";
    char *addr = expect_event(mon, name, seen, sizeof seen);
    char *tname = zsys_sprintf("%s-sees-%s", who, name);
    if (want_addr)
        CHECK(addr && streq(addr, want_addr), tname, "address '%s' (want '%s'), events seen:%s", S(addr),
              want_addr, seen);
    else
        CHECK(addr != NULL, tname, "not seen within 5 s; events seen:%s", seen);
    zstr_free(&tname);
    zstr_free(&addr);
}

int main(void)
{
    fz_prog = "czmq/zmonitor";
    fz_check_loaded_lib();

    zsock_t *server = zsock_new(ZMQ_REP);
    zactor_t *smon = zactor_new(zmonitor, server);
    if (getenv("FZ_VERBOSE"))
        zstr_sendx(smon, "VERBOSE", NULL);
    zstr_sendx(smon, "LISTEN", "ALL", NULL);
    zstr_sendx(smon, "START", NULL);
    zsock_wait(smon);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    char *ep = zsys_sprintf("tcp://127.0.0.1:%d", port);
    check_event(smon, "server", "LISTENING", ep);

    zsock_t *client = zsock_new(ZMQ_REQ);
    zactor_t *cmon = zactor_new(zmonitor, client);
    zstr_sendx(cmon, "LISTEN", "CONNECTED", "HANDSHAKE_SUCCEEDED", "DISCONNECTED", NULL);
    zstr_sendx(cmon, "START", NULL);
    zsock_wait(cmon);
    zsock_connect(client, "%s", ep);
    check_event(cmon, "client", "CONNECTED", ep);
    check_event(cmon, "client", "HANDSHAKE_SUCCEEDED", ep);
    check_event(smon, "server", "ACCEPTED", ep);
    check_event(smon, "server", "HANDSHAKE_SUCCEEDED", ep);

    zsock_set_rcvtimeo(server, 5000);
    zsock_set_rcvtimeo(client, 5000);
    zstr_send(client, "monitored request");
    char *req = zstr_recv(server);
    zstr_send(server, "monitored reply");
    char *rep = zstr_recv(client);
    CHECK(req && streq(req, "monitored request") && rep && streq(rep, "monitored reply"),
          "round-trip-while-monitored", "got '%s' / '%s'", S(req), S(rep));
    zstr_free(&req);
    zstr_free(&rep);

    //  The client goes away: the server sees the disconnection.
    zactor_destroy(&cmon);
    zsock_destroy(&client);
    check_event(smon, "server", "DISCONNECTED", ep);
    //  Unbinding closes the listener.
    int rc = zsock_unbind(server, "%s", ep);
    CHECK(rc == 0, "server-unbind", "zsock_unbind(%s) = %d", ep, rc);
    check_event(smon, "server", "CLOSED", ep);

    zactor_destroy(&smon);
    zsock_destroy(&server);
    zstr_free(&ep);
    return fz_exit();
}
