//  czmq zauth (the ZAP handler actor) on our libzmq:
//    CURVE: a client whose certificate (zcert) is in the allowed directory
//           gets through (and its key is the message's User-Id); one whose
//           certificate is not is refused (HANDSHAKE_FAILED_AUTH, 400).
//    PLAIN: the right password (zauth's password file) gets through (User-Id
//           is the user name); a wrong one and an unknown user are refused.
//    Addresses: DENY 127.0.0.1 then refuses even the right password.
//  Refusals are observed positively, with a zmonitor on the client waiting
//  for HANDSHAKE_FAILED_AUTH, and then the server must not have received the
//  refused client's message.

#include "fz_check.h"

//  A monitor on `sock` reporting HANDSHAKE_* events.
static zactor_t *watch(zsock_t *sock)
{
    zactor_t *mon = zactor_new(zmonitor, sock);
    zstr_sendx(mon, "LISTEN", "HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_AUTH", "HANDSHAKE_FAILED_PROTOCOL",
               "HANDSHAKE_FAILED_NO_DETAIL", NULL);
    zstr_sendx(mon, "START", NULL);
    zsock_wait(mon);
    return mon;
}

//  Waits (bounded) for the first HANDSHAKE_* event; returns "NAME value" or NULL.
static char *handshake_outcome(zactor_t *mon, int timeout_ms)
{
    zsock_set_rcvtimeo(mon, timeout_ms);
    zmsg_t *m = zmsg_recv(mon);
    if (!m)
        return NULL;
    char *name = zmsg_popstr(m), *value = zmsg_popstr(m);
    char *out = zsys_sprintf("%s %s", S(name), S(value));
    zstr_free(&name);
    zstr_free(&value);
    zmsg_destroy(&m);
    return out;
}

//  A client PUSH that sends `text` and whose handshake outcome is returned.
//  `setup` configures its security before it connects.
typedef void (setup_fn)(zsock_t *client, void *arg);

static char *attempt(int port, setup_fn *setup, void *arg, const char *text, zsock_t **client_p,
                     zactor_t **mon_p)
{
    zsock_t *client = zsock_new(ZMQ_PUSH);
    zsock_set_linger(client, 0);
    setup(client, arg);
    zactor_t *mon = watch(client);
    zsock_connect(client, "tcp://127.0.0.1:%d", port);
    zstr_send(client, text);
    char *outcome = handshake_outcome(mon, 5000);
    *client_p = client;
    *mon_p = mon;
    return outcome;
}

static void done(zsock_t **client, zactor_t **mon)
{
    zactor_destroy(mon);
    zsock_destroy(client);
}

//  Receives one message with its User-Id, bounded.
static char *recv_with_user(zsock_t *server, int timeout_ms, char **user)
{
    zsock_set_rcvtimeo(server, timeout_ms);
    zframe_t *f = zframe_recv(server);
    *user = NULL;
    if (!f)
        return NULL;
    const char *u = zframe_meta(f, "User-Id");
    *user = u ? strdup(u) : NULL;
    char *s = zframe_strdup(f);
    zframe_destroy(&f);
    return s;
}

//  ------------------------------------------------------------------ CURVE

static zcert_t *server_cert;

static void curve_client(zsock_t *client, void *arg)
{
    zcert_apply((zcert_t *) arg, client);
    zsock_set_curve_serverkey(client, zcert_public_txt(server_cert));
}

static void test_curve(zactor_t *auth, const char *dir)
{
    server_cert = zcert_new();
    zcert_t *good = zcert_new(), *bad = zcert_new();
    char *path = zsys_sprintf("%s/good_client.cert", dir);
    int rc = zcert_save_public(good, path);
    zstr_free(&path);
    CHECK(rc == 0 && strlen(zcert_public_txt(good)) == 40, "curve-certificates", "save %d, key '%s'", rc,
          zcert_public_txt(good));
    zstr_sendx(auth, "CURVE", dir, NULL);
    zsock_wait(auth);

    zsock_t *server = zsock_new(ZMQ_PULL);
    zcert_apply(server_cert, server);
    zsock_set_curve_server(server, 1);
    zsock_set_zap_domain(server, "czmq-test");
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    CHECK(port > 0 && zsock_mechanism(server) == ZMQ_CURVE, "curve-server-bind", "port %d mechanism %d",
          port, zsock_mechanism(server));

    zsock_t *client;
    zactor_t *mon;
    char *outcome = attempt(port, curve_client, good, "curve hello", &client, &mon);
    char *user = NULL;
    char *msg = recv_with_user(server, 5000, &user);
    CHECK(outcome && streq(outcome, "HANDSHAKE_SUCCEEDED 0") && msg && streq(msg, "curve hello"),
          "curve-allowed-key-gets-through", "handshake '%s', server got '%s'", S(outcome), S(msg));
    CHECK(user && streq(user, zcert_public_txt(good)), "curve-user-id-is-client-key", "User-Id '%s', want '%s'",
          S(user), zcert_public_txt(good));
    zstr_free(&outcome);
    zstr_free(&msg);
    free(user);
    done(&client, &mon);

    outcome = attempt(port, curve_client, bad, "curve intruder", &client, &mon);
    CHECK(outcome && streq(outcome, "HANDSHAKE_FAILED_AUTH 400"), "curve-unknown-key-refused",
          "client handshake outcome '%s' (want HANDSHAKE_FAILED_AUTH 400)", S(outcome));
    msg = recv_with_user(server, 300, &user);
    CHECK(!msg, "curve-refused-message-not-delivered", "server got '%s'", S(msg));
    zstr_free(&outcome);
    zstr_free(&msg);
    free(user);
    done(&client, &mon);

    zsock_destroy(&server);
    zcert_destroy(&good);
    zcert_destroy(&bad);
    zcert_destroy(&server_cert);
}

//  ------------------------------------------------------------------ PLAIN

static void plain_client(zsock_t *client, void *arg)
{
    const char **cred = (const char **) arg;
    zsock_set_plain_username(client, cred[0]);
    zsock_set_plain_password(client, cred[1]);
}

static void test_plain(zactor_t *auth, const char *dir)
{
    char *passwords = zsys_sprintf("%s/passwords", dir);
    FILE *f = fopen(passwords, "w");
    fprintf(f, "admin=Secret\nguest=guest\n");
    fclose(f);
    zstr_sendx(auth, "PLAIN", passwords, NULL);
    zsock_wait(auth);
    zstr_free(&passwords);

    zsock_t *server = zsock_new(ZMQ_PULL);
    zsock_set_plain_server(server, 1);
    zsock_set_zap_domain(server, "czmq-test");
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    CHECK(port > 0 && zsock_mechanism(server) == ZMQ_PLAIN, "plain-server-bind", "port %d mechanism %d", port,
          zsock_mechanism(server));

    zsock_t *client;
    zactor_t *mon;
    const char *good[2] = {"admin", "Secret"};
    char *outcome = attempt(port, plain_client, good, "plain hello", &client, &mon);
    char *user = NULL;
    char *msg = recv_with_user(server, 5000, &user);
    CHECK(outcome && streq(outcome, "HANDSHAKE_SUCCEEDED 0") && msg && streq(msg, "plain hello"),
          "plain-right-password-gets-through", "handshake '%s', server got '%s'", S(outcome), S(msg));
    CHECK(user && streq(user, "admin"), "plain-user-id-is-user-name", "User-Id '%s'", S(user));
    zstr_free(&outcome);
    zstr_free(&msg);
    free(user);
    done(&client, &mon);

    const char *wrong[2] = {"admin", "secret"};
    outcome = attempt(port, plain_client, wrong, "wrong password", &client, &mon);
    CHECK(outcome && streq(outcome, "HANDSHAKE_FAILED_AUTH 400"), "plain-wrong-password-refused",
          "client handshake outcome '%s' (want HANDSHAKE_FAILED_AUTH 400)", S(outcome));
    msg = recv_with_user(server, 300, &user);
    CHECK(!msg, "plain-refused-message-not-delivered", "server got '%s'", S(msg));
    zstr_free(&outcome);
    zstr_free(&msg);
    free(user);
    done(&client, &mon);

    const char *unknown[2] = {"mallory", "Secret"};
    outcome = attempt(port, plain_client, unknown, "unknown user", &client, &mon);
    CHECK(outcome && streq(outcome, "HANDSHAKE_FAILED_AUTH 400"), "plain-unknown-user-refused",
          "client handshake outcome '%s'", S(outcome));
    zstr_free(&outcome);
    done(&client, &mon);

    //  Address deny-list: the right password no longer helps.
    zstr_sendx(auth, "DENY", "127.0.0.1", NULL);
    zsock_wait(auth);
    outcome = attempt(port, plain_client, good, "denied address", &client, &mon);
    CHECK(outcome && streq(outcome, "HANDSHAKE_FAILED_AUTH 400"), "plain-denied-address-refused",
          "client handshake outcome '%s'", S(outcome));
    msg = recv_with_user(server, 300, &user);
    CHECK(!msg, "denied-address-message-not-delivered", "server got '%s'", S(msg));
    zstr_free(&outcome);
    zstr_free(&msg);
    free(user);
    done(&client, &mon);

    zsock_destroy(&server);
}

int main(void)
{
    fz_prog = "czmq/zauth";
    fz_check_loaded_lib();
    CHECK(zsys_has_curve(), "has-curve", "zsys_has_curve() is false (zmq_has(\"curve\"))");
    char *dir = fz_tmpdir();
    zactor_t *auth = zactor_new(zauth, NULL);
    CHECK(auth != NULL, "zauth-actor-starts", "zactor_new(zauth) failed");
    if (getenv("FZ_VERBOSE")) {
        zstr_sendx(auth, "VERBOSE", NULL);
        zsock_wait(auth);
    }
    test_curve(auth, dir);
    test_plain(auth, dir);
    zactor_destroy(&auth);
    zsys_dir_delete(dir); // best effort; run.sh removes its temporary tree
    zstr_free(&dir);
    return fz_exit();
}
