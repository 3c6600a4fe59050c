/*
 * scale: many connections on one socket, libzmq side (public zmq.h API only).
 * The ferrozmq side is crates/ferrozmq/examples/scale.rs: same arguments,
 * same output lines, so any server pairs with any client program.
 *
 *   scale router-server <bind> <n> <k> [size]
 *   scale router-clients <connect> <n> <k> [size]
 *   scale pub-server <bind> <ctl-bind> <n> <m> [size]
 *   scale sub-clients <connect> <ctl-connect> <n> <m> [size]
 *
 * ROUTER: one ROUTER binds; the client process opens n DEALER sockets (one
 * context), each connects and sends one hello that the ROUTER echoes; then k
 * rounds in which every DEALER sends one request and waits for its echo.
 * PUB: one PUB binds and a PULL binds <ctl-bind>; the client process opens n
 * SUB sockets (subscribed to everything) and one PUSH to <ctl-bind>. The
 * server publishes empty hellos until every SUB has seen one, then m data
 * messages (an 8-byte big-endian sequence number at the front) in batches of
 * 250, at most two batches unacknowledged, so no default-HWM PUB ever drops.
 *
 * The server measures its own VmRSS (/proc/self/status) after binding and
 * again once every connection has carried a message (ROUTER: when the first
 * request of the timed phase arrives, i.e. after every hello has been
 * echoed and received; PUB: when the clients report that every SUB has its
 * hello) and prints (after - before) / n as bytes per connection; the
 * same for VmData (private writable mappings: heap reserved whether touched
 * or not, so buffers that RSS does not show yet).
 *
 * Default options everywhere (one I/O thread, default HWMs and linger),
 * except ZMQ_MAX_SOCKETS on the client context (it needs n + a few
 * sockets) and receive/send timeouts; SCALE_BACKLOG, when set, is applied
 * to the servers' listening socket (ZMQ_BACKLOG), in both programs. Every receive is bounded
 * (RECV_TIMEOUT_MS) and a watchdog (SCALE_TIMEOUT seconds, default 600)
 * ends a stuck run with exit status 3; a failing call exits 1, a receive
 * that times out exits 2.
 */
#include <zmq.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECV_TIMEOUT_MS 60000
#define HELLO_INTERVAL_MS 5
#define BATCH 250

static const char *role = "scale";

static void die(const char *what)
{
    fprintf(stderr, "%s: error in %s: %s\n", role, what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* A receive that timed out or a peer that sent something unexpected. */
static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", role);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "scale: watchdog: run did not finish in SCALE_TIMEOUT seconds\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(3);
}

static void start_watchdog(void)
{
    const char *env = getenv("SCALE_TIMEOUT");
    int secs = env ? atoi(env) : 600;
    if (secs <= 0)
        secs = 600;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)secs);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident (VmRSS) and private writable (VmData) memory, in kB. */
struct mem {
    long rss, data;
};

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(key);
    long kb = -1;
    if (!f) {
        perror("/proc/self/status");
        exit(1);
    }
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, len) == 0) {
            kb = strtol(line + len, NULL, 10);
            break;
        }
    fclose(f);
    if (kb < 0) {
        fprintf(stderr, "%s: no %s in /proc/self/status\n", role, key);
        exit(1);
    }
    return kb;
}

static struct mem mem_now(void)
{
    struct mem m = {status_kb("VmRSS:"), status_kb("VmData:")};
    return m;
}

static void print_header(const char *r, long n)
{
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("implementation: libzmq %d.%d.%d\n", major, minor, patch);
    printf("role: %s\n", r);
    printf("connections: %ld\n", n);
}

static void print_memory(struct mem before, struct mem after, long n)
{
    printf("rss before: %ld [kB]\n", before.rss);
    printf("rss after: %ld [kB]\n", after.rss);
    printf("memory per connection: %ld [B]\n", (after.rss - before.rss) * 1024 / n);
    printf("vmdata before: %ld [kB]\n", before.data);
    printf("vmdata after: %ld [kB]\n", after.data);
    printf("vmdata per connection: %ld [B]\n", (after.data - before.data) * 1024 / n);
}

static void set_int(void *s, int opt, int v, const char *what)
{
    if (zmq_setsockopt(s, opt, &v, sizeof v) != 0)
        die(what);
}

/* Applies SCALE_BACKLOG (if set) to a socket that will bind. */
static void apply_backlog(void *s)
{
    const char *env = getenv("SCALE_BACKLOG");
    if (env && *env)
        set_int(s, ZMQ_BACKLOG, atoi(env), "zmq_setsockopt(BACKLOG)");
}

/* Receives one frame; exits on a timeout (with `phase` in the message). */
static int recv_frame(void *s, zmq_msg_t *m, int flags, const char *phase)
{
    int rc = zmq_msg_recv(m, s, flags);
    if (rc < 0) {
        if (zmq_errno() == EAGAIN) {
            if (flags & ZMQ_DONTWAIT)
                return -1;
            fail("receive timed out after %d ms (%s)", RECV_TIMEOUT_MS, phase);
        }
        die(phase);
    }
    return rc;
}

static void send_bytes(void *s, const void *data, size_t len, int flags, const char *what)
{
    if (zmq_send(s, data, len, flags) < 0) {
        if (zmq_errno() == EAGAIN)
            fail("send timed out after %d ms (%s)", RECV_TIMEOUT_MS, what);
        die(what);
    }
}

static long arg_long(const char *s, const char *name, long min)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v < min) {
        fprintf(stderr, "%s: bad %s: %s (a number >= %ld)\n", role, name, s, min);
        exit(1);
    }
    return v;
}

static void put_seq(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static uint64_t get_seq(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---------------------------------------------------------------- ROUTER */

/* Echoes one whole message (routing id + frames). */
static void echo_one(void *s, const char *phase)
{
    zmq_msg_t m;
    int more;
    zmq_msg_init(&m);
    recv_frame(s, &m, 0, phase); /* routing id */
    do {
        more = zmq_msg_more(&m);
        if (zmq_msg_send(&m, s, more ? ZMQ_SNDMORE : 0) < 0)
            die("zmq_msg_send");
        if (!more)
            break;
        zmq_msg_init(&m);
        recv_frame(s, &m, 0, phase);
    } while (1);
}

static int router_server(const char *bind, long n, long k)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    if (!s)
        die("zmq_socket");
    set_int(s, ZMQ_RCVTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(RCVTIMEO)");
    apply_backlog(s);
    if (zmq_bind(s, bind) != 0)
        die("zmq_bind");
    struct mem before = mem_now();
    printf("listening: %s\n", bind);
    fflush(stdout);

    for (long i = 0; i < n; i++)
        echo_one(s, "hello");

    /* The first request of the timed phase: the clients send it only when
     * every DEALER has its hello echo, so every connection has carried a
     * message both ways. */
    zmq_msg_t id;
    zmq_msg_init(&id);
    recv_frame(s, &id, 0, "first request");
    struct mem after = mem_now();
    double t0 = now_s();
    {
        zmq_msg_t m;
        int more = zmq_msg_more(&id);
        if (zmq_msg_send(&id, s, more ? ZMQ_SNDMORE : 0) < 0)
            die("zmq_msg_send");
        while (more) {
            zmq_msg_init(&m);
            recv_frame(s, &m, 0, "first request");
            more = zmq_msg_more(&m);
            if (zmq_msg_send(&m, s, more ? ZMQ_SNDMORE : 0) < 0)
                die("zmq_msg_send");
        }
    }
    long total = n * k;
    for (long i = 1; i < total; i++)
        echo_one(s, "requests");
    double elapsed = now_s() - t0;

    print_header("router-server", n);
    print_memory(before, after, n);
    printf("requests echoed: %ld\n", total);
    printf("server throughput: %.0f [msg/s]\n", total / (elapsed > 1e-9 ? elapsed : 1e-9));
    fflush(stdout);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

static int router_clients(const char *connect, long n, long k, long size)
{
    void *ctx = zmq_ctx_new();
    if (zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)(n + 64)) != 0)
        die("zmq_ctx_set(MAX_SOCKETS)");
    void **socks = calloc((size_t)n, sizeof *socks);
    unsigned char *payload = calloc(1, (size_t)size + 1);
    if (!socks || !payload) {
        perror("calloc");
        return 1;
    }
    memset(payload, 'x', (size_t)size);
    zmq_msg_t m;
    zmq_msg_init(&m);

    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        socks[i] = zmq_socket(ctx, ZMQ_DEALER);
        if (!socks[i])
            die("zmq_socket");
        set_int(socks[i], ZMQ_RCVTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(RCVTIMEO)");
        set_int(socks[i], ZMQ_SNDTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(SNDTIMEO)");
        if (zmq_connect(socks[i], connect) != 0)
            die("zmq_connect");
        send_bytes(socks[i], payload, (size_t)size, 0, "hello");
    }
    for (long i = 0; i < n; i++) {
        int len = recv_frame(socks[i], &m, 0, "hello reply");
        if (len != size)
            fail("hello reply of %d bytes, expected %ld", len, size);
    }
    double connect_time = now_s() - t0;

    double t1 = now_s();
    for (long r = 0; r < k; r++) {
        for (long i = 0; i < n; i++)
            send_bytes(socks[i], payload, (size_t)size, 0, "request");
        for (long i = 0; i < n; i++) {
            int len = recv_frame(socks[i], &m, 0, "reply");
            if (len != size)
                fail("reply of %d bytes, expected %ld", len, size);
        }
    }
    double elapsed = now_s() - t1;
    zmq_msg_close(&m);

    print_header("router-clients", n);
    printf("connect time: %.3f [s]\n", connect_time);
    printf("round trips: %ld\n", n * k);
    printf("throughput: %.0f [msg/s]\n", n * k / (elapsed > 1e-9 ? elapsed : 1e-9));
    fflush(stdout);
    for (long i = 0; i < n; i++)
        zmq_close(socks[i]);
    zmq_ctx_term(ctx);
    free(socks);
    free(payload);
    return 0;
}

/* ------------------------------------------------------------------- PUB */

static void send_batch(void *pub, long b, long m, long size)
{
    long first = b * BATCH, end = first + BATCH < m ? first + BATCH : m;
    for (long seq = first; seq < end; seq++) {
        zmq_msg_t msg;
        if (zmq_msg_init_size(&msg, (size_t)size) != 0)
            die("zmq_msg_init_size");
        unsigned char *p = zmq_msg_data(&msg);
        memset(p, 'd', (size_t)size);
        put_seq(p, (uint64_t)seq);
        if (zmq_msg_send(&msg, pub, 0) < 0)
            die("zmq_msg_send");
    }
}

/* Receives a control message into buf (NUL-terminated); -1 on EAGAIN. */
static int recv_ctl(void *ctl, char *buf, size_t cap, int dontwait_ok)
{
    int len = zmq_recv(ctl, buf, cap - 1, 0);
    if (len < 0) {
        if (zmq_errno() == EAGAIN && dontwait_ok)
            return -1;
        if (zmq_errno() == EAGAIN)
            fail("control receive timed out after %d ms", RECV_TIMEOUT_MS);
        die("zmq_recv(control)");
    }
    if ((size_t)len > cap - 1)
        len = (int)(cap - 1);
    buf[len] = 0;
    return len;
}

static int pub_server(const char *bind, const char *ctl_bind, long n, long m, long size)
{
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    void *ctl = zmq_socket(ctx, ZMQ_PULL);
    if (!pub || !ctl)
        die("zmq_socket");
    set_int(ctl, ZMQ_RCVTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(RCVTIMEO)");
    apply_backlog(pub);
    if (zmq_bind(pub, bind) != 0)
        die("zmq_bind");
    if (zmq_bind(ctl, ctl_bind) != 0)
        die("zmq_bind(control)");
    struct mem before = mem_now();
    printf("listening: %s %s\n", bind, ctl_bind);
    fflush(stdout);

    char buf[64];
    recv_ctl(ctl, buf, sizeof buf, 0);
    if (strcmp(buf, "connected") != 0)
        fail("unexpected control message '%s'", buf);

    /* Hellos until every subscriber has seen one. */
    set_int(ctl, ZMQ_RCVTIMEO, HELLO_INTERVAL_MS, "zmq_setsockopt(RCVTIMEO)");
    double deadline = now_s() + RECV_TIMEOUT_MS / 1000.0;
    for (;;) {
        if (zmq_send(pub, "", 0, 0) < 0)
            die("zmq_send(hello)");
        if (recv_ctl(ctl, buf, sizeof buf, 1) >= 0) {
            if (strcmp(buf, "synced") != 0)
                fail("unexpected control message '%s'", buf);
            break;
        }
        if (now_s() > deadline)
            fail("subscribers not synced after %d ms", RECV_TIMEOUT_MS);
    }
    set_int(ctl, ZMQ_RCVTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(RCVTIMEO)");
    struct mem after = mem_now();

    long batches = (m + BATCH - 1) / BATCH;
    double t0 = now_s();
    for (long b = 0; b < batches && b < 2; b++)
        send_batch(pub, b, m, size);
    for (long b = 0; b < batches; b++) {
        char want[32];
        snprintf(want, sizeof want, "ack %ld", b);
        recv_ctl(ctl, buf, sizeof buf, 0);
        if (strcmp(buf, want) != 0)
            fail("unexpected control message '%s'", buf);
        if (b + 2 < batches)
            send_batch(pub, b + 2, m, size);
    }
    double elapsed = now_s() - t0;

    print_header("pub-server", n);
    print_memory(before, after, n);
    printf("messages published: %ld\n", m);
    printf("deliveries: %ld\n", n * m);
    printf("server throughput: %.0f [msg/s]\n", n * m / (elapsed > 1e-9 ? elapsed : 1e-9));
    fflush(stdout);
    zmq_close(pub);
    zmq_close(ctl);
    zmq_ctx_term(ctx);
    return 0;
}

static int sub_clients(const char *connect, const char *ctl_connect, long n, long m, long size)
{
    void *ctx = zmq_ctx_new();
    if (zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)(n + 64)) != 0)
        die("zmq_ctx_set(MAX_SOCKETS)");
    void *ctl = zmq_socket(ctx, ZMQ_PUSH);
    if (!ctl)
        die("zmq_socket");
    set_int(ctl, ZMQ_SNDTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(SNDTIMEO)");
    if (zmq_connect(ctl, ctl_connect) != 0)
        die("zmq_connect(control)");
    void **socks = calloc((size_t)n, sizeof *socks);
    zmq_pollitem_t *items = calloc((size_t)n, sizeof *items);
    char *got = calloc((size_t)n, 1);
    uint64_t *next = calloc((size_t)n, sizeof *next);
    if (!socks || !items || !got || !next) {
        perror("calloc");
        return 1;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);

    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        socks[i] = zmq_socket(ctx, ZMQ_SUB);
        if (!socks[i])
            die("zmq_socket");
        set_int(socks[i], ZMQ_RCVTIMEO, RECV_TIMEOUT_MS, "zmq_setsockopt(RCVTIMEO)");
        if (zmq_setsockopt(socks[i], ZMQ_SUBSCRIBE, "", 0) != 0)
            die("zmq_setsockopt(SUBSCRIBE)");
        if (zmq_connect(socks[i], connect) != 0)
            die("zmq_connect");
        items[i].socket = socks[i];
        items[i].events = ZMQ_POLLIN;
    }
    send_bytes(ctl, "connected", 9, 0, "control");

    /* Every SUB must see one hello; drain whatever arrives meanwhile. */
    long missing = n;
    double deadline = now_s() + RECV_TIMEOUT_MS / 1000.0;
    while (missing > 0) {
        long seen = 0;
        for (long i = 0; i < n; i++) {
            while (recv_frame(socks[i], &msg, ZMQ_DONTWAIT, "hello") >= 0) {
                seen++;
                if (!got[i]) {
                    got[i] = 1;
                    missing--;
                }
            }
        }
        if (missing == 0)
            break;
        if (now_s() > deadline)
            fail("%ld subscribers still without a hello after %d ms", missing, RECV_TIMEOUT_MS);
        if (seen == 0 && zmq_poll(items, (int)n, 10) < 0)
            die("zmq_poll");
    }
    double connect_time = now_s() - t0;
    send_bytes(ctl, "synced", 6, 0, "control");

    double t1 = now_s();
    long batches = (m + BATCH - 1) / BATCH;
    for (long b = 0; b < batches; b++) {
        uint64_t end = (uint64_t)(b * BATCH + BATCH < m ? b * BATCH + BATCH : m);
        for (long i = 0; i < n; i++) {
            while (next[i] < end) {
                int len = recv_frame(socks[i], &msg, 0, "data");
                if (len == 0)
                    continue; /* a late hello */
                if (len != size)
                    fail("data message of %d bytes, expected %ld", len, size);
                uint64_t seq = get_seq(zmq_msg_data(&msg));
                if (seq != next[i])
                    fail("subscriber %ld: sequence %llu, expected %llu (message lost)", i,
                         (unsigned long long)seq, (unsigned long long)next[i]);
                next[i]++;
            }
        }
        char ack[32];
        int len = snprintf(ack, sizeof ack, "ack %ld", b);
        send_bytes(ctl, ack, (size_t)len, 0, "control");
    }
    double elapsed = now_s() - t1;
    zmq_msg_close(&msg);

    print_header("sub-clients", n);
    printf("connect time: %.3f [s]\n", connect_time);
    printf("deliveries: %ld\n", n * m);
    printf("throughput: %.0f [msg/s]\n", n * m / (elapsed > 1e-9 ? elapsed : 1e-9));
    fflush(stdout);
    for (long i = 0; i < n; i++)
        zmq_close(socks[i]);
    zmq_close(ctl);
    zmq_ctx_term(ctx);
    free(socks);
    free(items);
    free(got);
    free(next);
    return 0;
}

static void usage(void)
{
    fputs("usage: scale router-server <bind> <n> <k> [size]\n"
          "       scale router-clients <connect> <n> <k> [size]\n"
          "       scale pub-server <bind> <ctl-bind> <n> <m> [size]\n"
          "       scale sub-clients <connect> <ctl-connect> <n> <m> [size]\n",
          stderr);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    role = cmd;
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_watchdog();
    if (strcmp(cmd, "router-server") == 0 || strcmp(cmd, "router-clients") == 0) {
        if (argc != 5 && argc != 6)
            usage();
        long n = arg_long(argv[3], "n", 1), k = arg_long(argv[4], "k", 1);
        long size = argc == 6 ? arg_long(argv[5], "size", 0) : 8;
        if (strcmp(cmd, "router-server") == 0)
            return router_server(argv[2], n, k);
        return router_clients(argv[2], n, k, size);
    }
    if (strcmp(cmd, "pub-server") == 0 || strcmp(cmd, "sub-clients") == 0) {
        if (argc != 6 && argc != 7)
            usage();
        long n = arg_long(argv[4], "n", 1), m = arg_long(argv[5], "m", 1);
        long size = argc == 7 ? arg_long(argv[6], "size", 8) : 8;
        if (strcmp(cmd, "pub-server") == 0)
            return pub_server(argv[2], argv[3], n, m, size);
        return sub_clients(argv[2], argv[3], n, m, size);
    }
    usage();
    return 1;
}
