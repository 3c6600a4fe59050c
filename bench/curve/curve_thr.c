/* curve_thr.c - libzmq's local_thr/remote_thr with CURVE on, for the CURVE
 * throughput comparison (bench/curve/run.sh). Written only against zmq.h.
 *
 *   curve_thr local  <bind-to>    <message-size> <message-count>   (PULL, CURVE server)
 *   curve_thr remote <connect-to> <message-size> <message-count>   (PUSH, CURVE client)
 *
 * Output is local_thr's four lines. The key pairs are fixed test keys (the
 * ones CurveZMQ's documentation uses) so that any implementation's side
 * pairs with any other's; `fzmq perf local_thr|remote_thr` uses the same
 * keys when FZMQ_PERF_CURVE=1. No ZAP handler: like libzmq without one, the
 * server accepts any client that knows its public key. */
#include <zmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVER_PUBLIC "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define SERVER_SECRET "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
#define CLIENT_PUBLIC "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define CLIENT_SECRET "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

#define CHECK(call)                                                           \
    do {                                                                      \
        if ((call) == -1) {                                                   \
            fprintf (stderr, "error in %s: %s\n", #call,                      \
                     zmq_strerror (zmq_errno ()));                            \
            exit (1);                                                         \
        }                                                                     \
    } while (0)

static double now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main (int argc, char *argv[])
{
    if (argc != 5 || (strcmp (argv[1], "local") && strcmp (argv[1], "remote"))) {
        printf ("usage: curve_thr local|remote <endpoint> <message-size> "
                "<message-count>\n");
        return 1;
    }
    int local = strcmp (argv[1], "local") == 0;
    const char *ep = argv[2];
    int size = atoi (argv[3]);
    int count = atoi (argv[4]);
    if (!zmq_has ("curve")) {
        fprintf (stderr, "this libzmq has no CURVE\n");
        return 1;
    }
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, local ? ZMQ_PULL : ZMQ_PUSH);
    if (!ctx || !s) {
        fprintf (stderr, "error in zmq_socket: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    if (local) {
        int one = 1;
        CHECK (zmq_setsockopt (s, ZMQ_CURVE_SERVER, &one, sizeof one));
        CHECK (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, SERVER_SECRET, 40));
        CHECK (zmq_bind (s, ep));
        zmq_msg_t msg;
        CHECK (zmq_msg_init (&msg));
        double start = 0;
        for (int i = 0; i != count; i++) {
            CHECK (zmq_msg_recv (&msg, s, 0));
            if ((int) zmq_msg_size (&msg) != size) {
                printf ("message of incorrect size received\n");
                return 1;
            }
            if (i == 0)
                start = now_us ();
        }
        double elapsed = now_us () - start;
        if (elapsed < 1)
            elapsed = 1;
        double msgs = count / elapsed * 1e6;
        printf ("message size: %d [B]\n", size);
        printf ("message count: %d\n", count);
        printf ("mean throughput: %d [msg/s]\n", (int) msgs);
        printf ("mean throughput: %.3f [Mb/s]\n", msgs * size * 8 / 1e6);
        CHECK (zmq_msg_close (&msg));
    } else {
        CHECK (zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, SERVER_PUBLIC, 40));
        CHECK (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, CLIENT_PUBLIC, 40));
        CHECK (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, CLIENT_SECRET, 40));
        CHECK (zmq_connect (s, ep));
        for (int i = 0; i != count; i++) {
            zmq_msg_t msg;
            CHECK (zmq_msg_init_size (&msg, size));
            memset (zmq_msg_data (&msg), 0, size);
            CHECK (zmq_msg_send (&msg, s, 0));
        }
        /* As the kit's remote_thr: let the receiver drain before closing. */
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep (&ts, NULL);
    }
    CHECK (zmq_close (s));
    CHECK (zmq_ctx_term (ctx));
    return 0;
}
