//  czmq zbeacon (UDP broadcast discovery; the actor polls its pipe and the
//  UDP socket together with zmq_poll) on our libzmq.
//
//  zbeacon picks its interface in s_self_prepare_udp (czmq 4.2.1): ZSYS_
//  INTERFACE names one from ziflist, and ziflist keeps only interfaces that
//  are UP, have IFF_BROADCAST and are NOT IFF_LOOPBACK. So "lo" can never be
//  chosen over IPv4 (CONFIGURE answers an empty hostname: "No broadcast
//  interface found"), and CONFIGURE in 4.2.1 takes only a port, no
//  interface. The IPv6 path does accept lo (ZSYS_IPV6=1, ZSYS_INTERFACE=lo,
//  ZSYS_IPV6_ADDRESS=::1) but every beacon send then fails with ENETUNREACH:
//  lo has no MULTICAST flag and no multicast route. "*" would broadcast to
//  255.255.255.255 through the default route, off this machine.
//
//  So this program has two modes:
//    lo-check          (host network namespace) the loopback refusal above;
//    exchange IF PORT  run by run.sh inside a private network namespace
//                      (unshare -n) holding only lo and a veth pair IF/peer
//                      with 10.213.7.1/24: real broadcasts that never leave
//                      the machine. Two nodes see each other's beacons and
//                      never their own, a prefix filter drops a third node's
//                      noise, and a re-PUBLISH after SILENCE is seen.

#include "fz_check.h"

static zactor_t *node(int port, char **hostname)
{
    zactor_t *b = zactor_new(zbeacon, NULL);
    if (getenv("FZ_VERBOSE"))
        zstr_sendx(b, "VERBOSE", NULL);
    zsock_send(b, "si", "CONFIGURE", port);
    zsock_set_rcvtimeo(b, 5000);
    *hostname = zstr_recv(b);
    return b;
}

static void lo_check(void)
{
    zsys_set_ipv6(0);
    zsys_set_interface("lo");
    char *host = NULL;
    zactor_t *b = node(20000 + getpid() % 20000, &host);
    CHECK(host && streq(host, ""), "ipv4-lo-is-not-a-broadcast-interface",
          "CONFIGURE on lo answered '%s' (czmq 4.2.1 skips IFF_LOOPBACK: expected \"\")", S(host));
    zstr_free(&host);
    zactor_destroy(&b);
}

//  Receives beacons on `b` until `count` matched `want` (bounded); any
//  beacon whose content is in `never` fails.
static void expect_beacons(zactor_t *b, const char *name, const char *want, const char *from, int count,
                           const char **never)
{
    int got = 0;
    char why[256] = "";
    int64_t deadline = zclock_mono() + 10000;
    while (got < count && !*why && zclock_mono() < deadline) {
        zsock_set_rcvtimeo(b, (int) (deadline - zclock_mono()) + 1);
        char *ip = zstr_recv(b);
        if (!ip)
            break;
        zframe_t *content = zframe_recv(b);
        char *text = content ? zframe_strdup(content) : NULL;
        zframe_destroy(&content);
        for (const char **n = never; *n; n++)
            if (text && streq(text, *n))
                snprintf(why, sizeof why, "received '%s' from %s", text, ip);
        if (!*why && text && streq(text, want)) {
            if (streq(ip, from))
                got++;
            else
                snprintf(why, sizeof why, "beacon '%s' from %s, want from %s", text, ip, from);
        }
        zstr_free(&ip);
        zstr_free(&text);
    }
    if (!*why && got < count)
        snprintf(why, sizeof why, "%d of %d beacons '%s' within 10 s", got, count, want);
    CHECK(!*why, name, "%s", why);
}

static void exchange(const char *iface, int port)
{
    zsys_set_ipv6(0);
    zsys_set_interface(iface);
    char *h1 = NULL, *h2 = NULL, *h3 = NULL;
    zactor_t *n1 = node(port, &h1), *n2 = node(port, &h2), *noise = node(port, &h3);
    CHECK(h1 && streq(h1, "10.213.7.1") && h2 && streq(h2, "10.213.7.1") && h3 && streq(h3, "10.213.7.1"),
          "configure-on-veth", "hostnames '%s' '%s' '%s' (want 10.213.7.1)", S(h1), S(h2), S(h3));
    zsock_send(n1, "sb", "SUBSCRIBE", "FZ-", 3);
    zsock_send(n2, "sb", "SUBSCRIBE", "FZ-", 3);
    zsock_send(noise, "sbi", "PUBLISH", "XX-noise", 8, 20);
    zsock_send(n1, "sbi", "PUBLISH", "FZ-node1", 8, 20);
    zsock_send(n2, "sbi", "PUBLISH", "FZ-node2", 8, 20);
    const char *not_own1[] = {"FZ-node1", "XX-noise", NULL};
    const char *not_own2[] = {"FZ-node2", "XX-noise", NULL};
    expect_beacons(n2, "node2-hears-node1-not-itself-nor-noise", "FZ-node1", "10.213.7.1", 5, not_own2);
    expect_beacons(n1, "node1-hears-node2-not-itself-nor-noise", "FZ-node2", "10.213.7.1", 5, not_own1);
    zstr_sendx(n1, "SILENCE", NULL);
    zsock_send(n1, "sbi", "PUBLISH", "FZ-node1-again", 14, 20);
    const char *none[] = {"XX-noise", NULL};
    expect_beacons(n2, "republish-after-silence", "FZ-node1-again", "10.213.7.1", 2, none);
    zactor_destroy(&noise);
    zactor_destroy(&n2);
    zactor_destroy(&n1);
    zstr_free(&h1);
    zstr_free(&h2);
    zstr_free(&h3);
}

int main(int argc, char **argv)
{
    fz_prog = "czmq/zbeacon";
    if (argc == 2 && streq(argv[1], "lo-check")) {
        fz_prog = "czmq/zbeacon-lo";
        fz_check_loaded_lib();
        lo_check();
    }
    else if (argc == 4 && streq(argv[1], "exchange")) {
        fz_prog = "czmq/zbeacon-netns";
        fz_check_loaded_lib();
        exchange(argv[2], atoi(argv[3]));
    }
    else {
        FAIL("usage", "zbeacon lo-check | zbeacon exchange IFACE PORT");
        return 2;
    }
    return fz_exit();
}
