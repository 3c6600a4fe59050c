//  The parallel pipeline of ZeroMQ's 2010 examples, over the socket types'
//  2010 names ZMQ_DOWNSTREAM (PUSH) and ZMQ_UPSTREAM (PULL): a ventilator
//  pushes tasks to workers (threads), which push results to a sink; all in
//  one process, one zmq::context_t.
//
//    pipeline TASKS_EP RESULTS_EP [WORKERS [TASKS]]
//    pipeline --expect-emthread EP      (zmq::context_t(0) cannot bind EP)
//
//  With inproc:// endpoints the context is zmq::context_t ctx(0): zero I/O
//  threads, enough for inproc. Switching to ipc:// or tcp:// changes only
//  the endpoint strings -- and, since libzmq refuses those transports
//  without an I/O thread (EMTHREAD), context_t(1). --expect-emthread checks
//  that refusal.
//
//  Each worker first reports "ready" to the sink; the ventilator starts once
//  all have. Every task is a number; a worker answers "<task> <task squared> <worker>";
//  the sink checks that each task came back exactly once with the right
//  square. When the sink is done, the context is shut down and the workers'
//  blocking recv ends with ETERM, as in the 2010 examples.

#include "fz_check.hpp"

#include <set>
#include <sstream>
#include <thread>
#include <cstdlib>
#include <vector>

//  The 2010 names. libzmq 2.x's zmq.h defined them (ZMQ_UPSTREAM = PULL,
//  ZMQ_DOWNSTREAM = PUSH); libzmq 4.3's no longer does.
#if defined(ZMQ_UPSTREAM) && defined(ZMQ_DOWNSTREAM)
static const bool header_has_2010_names = true;
#else
static const bool header_has_2010_names = false;
#define ZMQ_UPSTREAM ZMQ_PULL
#define ZMQ_DOWNSTREAM ZMQ_PUSH
#endif

static std::string resolved(zmq::socket_t &s)
{
    char buf[256];
    size_t len = sizeof buf;
    s.getsockopt(ZMQ_LAST_ENDPOINT, buf, &len);
    return std::string(buf, strnlen(buf, len));
}

static void send_string(zmq::socket_t &s, const std::string &text)
{
    zmq::message_t msg(text.size());
    std::memcpy(msg.data(), text.data(), text.size());
    s.send(msg);
}

static void worker(zmq::context_t *ctx, std::string tasks_ep, std::string results_ep, int id, int *handled,
                   std::string *error)
{
    try {
        zmq::socket_t receiver(*ctx, ZMQ_UPSTREAM);
        receiver.connect(tasks_ep.c_str());
        zmq::socket_t sender(*ctx, ZMQ_DOWNSTREAM);
        sender.connect(results_ep.c_str());
        int linger = 0;
        receiver.setsockopt(ZMQ_LINGER, &linger, sizeof linger);
        sender.setsockopt(ZMQ_LINGER, &linger, sizeof linger);
        //  The 2010 ventilator waited for Enter "when the workers are
        //  ready"; here each worker tells the sink.
        send_string(sender, "ready " + std::to_string(id));
        while (true) {
            zmq::message_t task;
            receiver.recv(&task); // throws ETERM at shutdown
            long n = std::atol(std::string(static_cast<char *>(task.data()), task.size()).c_str());
            std::ostringstream r;
            r << n << " " << n * n << " " << id;
            send_string(sender, r.str());
            (*handled)++;
        }
    } catch (const zmq::error_t &e) {
        if (e.num() != ETERM)
            *error = "worker " + std::to_string(id) + ": zmq::error_t " + std::to_string(e.num()) + ": " + e.what();
    }
}

static int expect_emthread(const std::string &ep)
{
    std::string transport = ep.substr(0, ep.find(':'));
    fz::set_prog("cppzmq/emthread-" + transport);
    fz::check_loaded_lib();
    zmq::context_t ctx(0);
    zmq::socket_t s(ctx, ZMQ_DOWNSTREAM);
    int err = 0;
    try {
        s.bind(ep.c_str());
    } catch (const zmq::error_t &e) {
        err = e.num();
    }
    fz::check(err == EMTHREAD, "context0-" + transport + "-bind-gives-EMTHREAD",
              "bind " + ep + " with 0 I/O threads: " +
                  (err ? "errno " + std::to_string(err) + " (" + zmq_strerror(err) + ")" : std::string("succeeded")) +
                  ", libzmq fails with EMTHREAD (" + std::to_string(EMTHREAD) + ")");
    return fz::failures() ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && std::string(argv[1]) == "--expect-emthread")
        return expect_emthread(argv[2]);
    if (argc < 3) {
        std::fprintf(stderr, "usage: pipeline TASKS_EP RESULTS_EP [WORKERS [TASKS]]\n");
        return 2;
    }
    std::string tasks_ep = argv[1], results_ep = argv[2];
    int workers = argc > 3 ? std::atoi(argv[3]) : 4;
    int tasks = argc > 4 ? std::atoi(argv[4]) : 100;
    std::string transport = tasks_ep.substr(0, tasks_ep.find(':'));
    fz::set_prog("cppzmq/pipeline-" + transport);
    fz::check_loaded_lib();
    fz::info(std::string("zmq.h ") + (header_has_2010_names ? "defines" : "does not define") +
             " ZMQ_UPSTREAM/ZMQ_DOWNSTREAM (values " + std::to_string(ZMQ_UPSTREAM) + "/" +
             std::to_string(ZMQ_DOWNSTREAM) + ")");
    // ferrozmq's zmq.h keeps the 2010 names (libzmq 4's dropped them).
    const char *build = std::getenv("FZ_BUILD");
    if (build && std::string(build) == "ours")
        fz::check(header_has_2010_names && ZMQ_UPSTREAM == ZMQ_PULL && ZMQ_DOWNSTREAM == ZMQ_PUSH,
                  "our-zmq.h-defines-UPSTREAM-DOWNSTREAM", "ferrozmq's zmq.h must define them as PULL/PUSH");

    int io_threads = transport == "inproc" ? 0 : 1;
    zmq::context_t ctx(io_threads);
    std::vector<std::thread> threads;
    std::vector<int> handled(workers, 0);
    std::vector<std::string> errors(workers);
    try {
        zmq::socket_t ventilator(ctx, ZMQ_DOWNSTREAM);
        ventilator.bind(tasks_ep.c_str());
        zmq::socket_t sink(ctx, ZMQ_UPSTREAM);
        sink.bind(results_ep.c_str());
        int timeout = 10000;
        sink.setsockopt(ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        std::string tasks_at = resolved(ventilator), results_at = resolved(sink);
        fz::info("context_t(" + std::to_string(io_threads) + "), ventilator " + tasks_at + ", sink " + results_at +
                 ", " + std::to_string(workers) + " workers, " + std::to_string(tasks) + " tasks");

        for (int i = 0; i < workers; i++)
            threads.emplace_back(worker, &ctx, tasks_at, results_at, i, &handled[i], &errors[i]);

        int ready = 0;
        for (; ready < workers; ready++) {
            zmq::message_t msg;
            if (!sink.recv(&msg) || std::string(static_cast<char *>(msg.data()), msg.size()).compare(0, 6, "ready ") != 0)
                break;
        }
        fz::check(ready == workers, "workers-report-ready", std::to_string(ready) + " of " + std::to_string(workers));

        for (int i = 1; i <= tasks; i++)
            send_string(ventilator, std::to_string(i));

        std::set<long> seen;
        std::string why;
        for (int i = 0; i < tasks && why.empty(); i++) {
            zmq::message_t result;
            if (!sink.recv(&result)) {
                why = "sink timed out after " + std::to_string(i) + " of " + std::to_string(tasks) + " results";
                break;
            }
            std::istringstream in(std::string(static_cast<char *>(result.data()), result.size()));
            long n = -1, sq = -1;
            int w = -1;
            in >> n >> sq >> w;
            if (n < 1 || n > tasks || sq != n * n || w < 0 || w >= workers)
                why = "bad result '" + in.str() + "'";
            else if (!seen.insert(n).second)
                why = "task " + std::to_string(n) + " came back twice";
        }
        fz::check(why.empty() && (int) seen.size() == tasks, "sink-gets-every-result-once",
                  why.empty() ? std::to_string(seen.size()) + " distinct results" : why);
    } catch (const zmq::error_t &e) {
        fz::fail("pipeline", std::string("zmq::error_t ") + std::to_string(e.num()) + ": " + e.what());
    }
    //  End of the run: blocking workers get ETERM.
    ctx.shutdown();
    for (auto &t : threads)
        t.join();
    std::string spread, errs;
    int total = 0;
    for (int i = 0; i < workers; i++) {
        spread += (i ? "/" : "") + std::to_string(handled[i]);
        total += handled[i];
        if (!errors[i].empty())
            errs += errors[i] + "; ";
    }
    fz::info("tasks per worker " + spread);
    fz::check(errs.empty() && total == tasks, "workers-end-with-ETERM",
              errs.empty() ? "workers handled " + std::to_string(total) + " tasks" : errs);
    ctx.close();
    fz::pass("context-terminates");
    return fz::failures() ? 1 : 0;
}
