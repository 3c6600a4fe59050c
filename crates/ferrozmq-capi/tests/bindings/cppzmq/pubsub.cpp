//  A publisher bound to two endpoints, in the style of ZeroMQ's 2010 C++
//  examples (zmq::message_t built by hand, socket.send(msg), recv(&msg),
//  setsockopt): it publishes "rand <n>" and "time <t>" messages; one SUB
//  connected to the first endpoint subscribes to "rand", another connected
//  to the second to "time", and each checks that it only gets its topic.
//
//    pubsub EP1 EP2
//
//  The same source runs over inproc://, ipc:// and tcp://: only the
//  endpoint strings change. (tcp://host:* is resolved with ZMQ_LAST_ENDPOINT
//  for the subscribers.) The context has 0 I/O threads for inproc, which
//  needs none; libzmq refuses tcp and ipc without an I/O thread (EMTHREAD),
//  so those use zmq::context_t(1) -- the only other difference.
//
//  The subscribers join while the publisher already runs: it publishes
//  until both have their messages (bounded by a deadline), so no message is
//  ever waited for by sleeping.

#include "fz_check.hpp"

#include <atomic>
#include <cstdlib>
#include <sstream>
#include <thread>
#include <vector>

static const int WANTED = 10;

static std::string resolved(zmq::socket_t &s)
{
    char buf[256];
    size_t len = sizeof buf;
    s.getsockopt(ZMQ_LAST_ENDPOINT, buf, &len);
    return std::string(buf, strnlen(buf, len));
}

static void subscriber(zmq::context_t *ctx, std::string endpoint, std::string topic, std::string other,
                       std::atomic<bool> *done)
{
    std::string name = "sub-" + topic + "-gets-only-" + topic;
    try {
        zmq::socket_t sub(*ctx, ZMQ_SUB);
        sub.setsockopt(ZMQ_SUBSCRIBE, topic.data(), topic.size());
        int timeout = 200;
        sub.setsockopt(ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        sub.connect(endpoint.c_str());
        int got = 0;
        long long last = -1;
        std::string why;
        long long deadline = fz::now_ms() + 10000;
        while (got < WANTED && why.empty() && fz::now_ms() < deadline) {
            zmq::message_t msg;
            if (!sub.recv(&msg))
                continue; // nothing yet: the publisher keeps publishing
            std::string text(static_cast<char *>(msg.data()), msg.size());
            if (text.compare(0, topic.size() + 1, topic + " ") != 0) {
                why = "got '" + text + "'" + (text.compare(0, other.size(), other) == 0 ? " (the other topic)" : "");
                break;
            }
            long long value = std::atoll(text.c_str() + topic.size() + 1);
            if (topic == "time" && value < last)
                why = "time went backwards: " + text;
            last = value;
            got++;
        }
        if (why.empty() && got < WANTED)
            why = std::to_string(got) + " of " + std::to_string(WANTED) + " messages within 10 s";
        fz::check(why.empty(), name, why + " [endpoint " + endpoint + "]");
    } catch (const zmq::error_t &e) {
        fz::fail(name, std::string("zmq::error_t ") + std::to_string(e.num()) + ": " + e.what());
    }
    done->store(true);
}

int main(int argc, char **argv)
{

    if (argc != 3) {
        std::fprintf(stderr, "usage: pubsub EP1 EP2\n");
        return 2;
    }
    std::string ep1 = argv[1], ep2 = argv[2];
    std::string transport = ep1.substr(0, ep1.find(':'));
    fz::set_prog("cppzmq/pubsub-" + transport);
    fz::check_loaded_lib();

    int io_threads = transport == "inproc" ? 0 : 1;
    zmq::context_t ctx(io_threads);
    try {
        zmq::socket_t pub(ctx, ZMQ_PUB);
        pub.bind(ep1.c_str());
        std::string at1 = resolved(pub);
        pub.bind(ep2.c_str());
        std::string at2 = resolved(pub);
        fz::check(!at1.empty() && !at2.empty() && at1 != at2, "pub-binds-two-endpoints",
                  "bound to '" + at1 + "' and '" + at2 + "'");
        fz::info("context_t(" + std::to_string(io_threads) + "), PUB at " + at1 + " and " + at2);

        std::atomic<bool> rand_done(false), time_done(false);
        std::thread r(subscriber, &ctx, at1, "rand", "time", &rand_done);
        std::thread t(subscriber, &ctx, at2, "time", "rand", &time_done);

        long long deadline = fz::now_ms() + 15000;
        long sent = 0;
        while (!(rand_done && time_done) && fz::now_ms() < deadline) {
            std::ostringstream a, b;
            a << "rand " << std::rand();
            b << "time " << fz::now_ms();
            for (const std::string &s : {a.str(), b.str()}) {
                zmq::message_t msg(s.size());
                std::memcpy(msg.data(), s.data(), s.size());
                pub.send(msg);
            }
            sent++;
            //  Pace the stream (not a synchronisation: subscribers wait on
            //  their own messages).
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        r.join();
        t.join();
        fz::info("published " + std::to_string(sent) + " rand/time pairs");
    } catch (const zmq::error_t &e) {
        fz::fail("publisher", std::string("zmq::error_t ") + std::to_string(e.num()) + ": " + e.what());
    }
    return fz::failures() ? 1 : 0;
}
