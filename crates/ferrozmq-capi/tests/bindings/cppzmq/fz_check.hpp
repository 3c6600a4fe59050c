//  Shared by the cppzmq programs: PASS/FAIL lines (counted by run.sh) and
//  the check that the process runs on the libzmq named by FERRO_EXPECT_LIB
//  (mapped in /proc/self/maps, and no other libzmq).

#ifndef FZ_CHECK_HPP
#define FZ_CHECK_HPP

#include <zmq.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

namespace fz {

inline std::string &prog()
{
    static std::string name = "cppzmq";
    return name;
}

//  The program's name in PASS/FAIL lines, tagged with the build (FZ_BUILD,
//  set by run.sh: which zmq.h it was compiled against).
inline void set_prog(const std::string &name)
{
    const char *build = std::getenv("FZ_BUILD");
    prog() = build && *build ? name + "@" + build : name;
}

inline int &failures()
{
    static int n = 0;
    return n;
}

inline std::mutex &out_lock()
{
    static std::mutex m;
    return m;
}

inline void pass(const std::string &name)
{
    std::lock_guard<std::mutex> g(out_lock());
    std::printf("PASS %s/%s\n", prog().c_str(), name.c_str());
    std::fflush(stdout);
}

inline void fail(const std::string &name, const std::string &why)
{
    std::lock_guard<std::mutex> g(out_lock());
    std::printf("FAIL %s/%s: %s\n", prog().c_str(), name.c_str(), why.c_str());
    std::fflush(stdout);
    failures()++;
}

inline void info(const std::string &text)
{
    std::lock_guard<std::mutex> g(out_lock());
    std::printf("INFO %s: %s\n", prog().c_str(), text.c_str());
    std::fflush(stdout);
}

inline void check(bool ok, const std::string &name, const std::string &why)
{
    if (ok)
        pass(name);
    else
        fail(name, why);
}

inline long long now_ms()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

inline bool check_loaded_lib()
{
    const char *want = std::getenv("FERRO_EXPECT_LIB");
    if (!want || !*want) {
        fail("loaded-library", "FERRO_EXPECT_LIB is not set (run me through run.sh)");
        return false;
    }
    std::ifstream maps("/proc/self/maps");
    std::string line, others;
    bool found = false;
    while (std::getline(maps, line)) {
        auto slash = line.find('/');
        if (slash == std::string::npos)
            continue;
        std::string path = line.substr(slash);
        std::string base = path.substr(path.rfind('/') + 1);
        if (path == want)
            found = true;
        else if (base.find("libzmq.so") != std::string::npos && others.find(path) == std::string::npos)
            others += " " + path;
    }
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    if (found && others.empty()) {
        info("libzmq " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) +
             " from " + want);
        pass("loaded-library");
        return true;
    }
    fail("loaded-library", std::string("expected ") + want + " to be mapped (" + (found ? "it is" : "it is NOT") +
                               "), other libzmq mapped:" + (others.empty() ? " none" : others));
    return false;
}

} // namespace fz

#endif
