// The procfs backend reads the target through a procfs scoped to its PID
// namespace by default (as root), and through the host's /proc when
// ENTRYTRACE_FORCE_PROC=host. `run` and `observe --pid` must find the same
// top terminal either way. The event backends always read the host's /proc,
// because their events carry host pids.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "entrytrace_runner.h"

namespace entrytrace::testing {
namespace {

constexpr const char* kForceProc = "ENTRYTRACE_FORCE_PROC";
constexpr const char* kServer =
    "tini -- /bin/sh -c 'exec python3 -m http.server 8080'";

// The backend of this copy of the suite, or "" when none is named.
std::string test_backend() {
  const char* name = std::getenv("ENTRYTRACE_TEST_BACKEND");
  return name == nullptr ? "" : name;
}

bool procfs_copy() {
  return test_backend().empty() || test_backend() == "procfs";
}

// Adds --backend procfs when the runner adds no backend, because auto may
// choose an event backend.
std::vector<std::string> with_procfs(std::vector<std::string> args) {
  if (test_backend().empty()) {
    args.insert(args.begin() + 1, {"--backend", "procfs"});
  }
  return args;
}

// The top terminal's fields that both procfs sources must agree on.
struct TopTerminal {
  std::string path;
  std::vector<std::string> argv;
  int ns_pid = 0;
  std::string type;
  std::string runtime;
  unsigned uid = 0;

  bool operator==(const TopTerminal&) const = default;
};

std::ostream& operator<<(std::ostream& out, const TopTerminal& top) {
  out << top.type << " nsPid " << top.ns_pid << " uid " << top.uid << " "
      << top.path << " (" << top.runtime << "):";
  for (const std::string& arg : top.argv) {
    out << " " << arg;
  }
  return out;
}

std::string string_of(const rapidjson::Value& value) {
  return value.IsString() ? value.GetString() : "";
}

TopTerminal top_terminal(const RunOutput& run) {
  const auto& top = run.result["terminals"][0];
  TopTerminal terminal;
  terminal.path = string_of(top["path"]);
  for (const auto& arg : top["argv"].GetArray()) {
    terminal.argv.push_back(arg.GetString());
  }
  terminal.ns_pid = top["nsPid"].GetInt();
  terminal.type = string_of(top["type"]);
  terminal.runtime = string_of(top["runtime"]);
  terminal.uid = top["user"]["uid"].GetUint();
  return terminal;
}

// Runs entrytrace with ENTRYTRACE_FORCE_PROC set to source, or unset for
// an empty source.
RunOutput run_with_source(const std::string& source,
                          const std::vector<std::string>& args) {
  if (source.empty()) {
    unsetenv(kForceProc);
  } else {
    setenv(kForceProc, source.c_str(), 1);
  }
  RunOutput run = run_entrytrace(args);
  unsetenv(kForceProc);
  return run;
}

// Checks one result and the procfs source it names.
void expect_source(const RunOutput& run, bool scoped) {
  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  ASSERT_GE(run.result["terminals"].Size(), 1u) << run.out;
  EXPECT_EQ(run.exit_status, 0) << run.err;
  std::vector<std::string> evidence = all_evidence(run.result);
  const auto& target = run.result["target"];
  EXPECT_EQ(target["hostPidsVisible"].GetBool(), !scoped);
  int host_pid = run.result["terminals"][0]["hostPid"].GetInt();
  if (scoped) {
    EXPECT_TRUE(mentions(evidence,
                         "procfs: a procfs instance scoped to the "
                         "target's PID namespace"))
        << join(evidence);
    EXPECT_EQ(host_pid, 0);
    EXPECT_EQ(target["initHostPid"].GetInt(), 0);
  } else {
    EXPECT_TRUE(mentions(evidence,
                         "procfs: /proc filtered by PID namespace inode, "
                         "because ENTRYTRACE_FORCE_PROC=host"))
        << join(evidence);
    EXPECT_GT(host_pid, 0);
  }
}

// Runs args with the scoped default and with the host's /proc, and checks
// that both name the same python3 server as top terminal.
void expect_same_top_terminal(const std::vector<std::string>& args) {
  RunOutput scoped = run_with_source("", with_procfs(args));
  RunOutput host = run_with_source("host", with_procfs(args));
  {
    SCOPED_TRACE("scoped procfs");
    expect_source(scoped, true);
  }
  {
    SCOPED_TRACE("host /proc");
    expect_source(host, false);
  }
  if (::testing::Test::HasFatalFailure()) {
    return;
  }
  TopTerminal top = top_terminal(scoped);
  EXPECT_EQ(top, top_terminal(host));
  EXPECT_NE(top.path.find("/usr/bin/python3"), std::string::npos) << top;
}

// A tini tree in new PID and network namespaces, started by unshare(1) as
// a container runtime would.
class ServerTree {
 public:
  ServerTree() {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      setenv("PATH",
             "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
      execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", "--net",
             "/bin/sh", "-c",
             (std::string("ip link set lo up; exec ") + kServer).c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);
  }
  ~ServerTree() {
    if (int init = init_pid(); init > 0) {
      kill(init, SIGKILL);
    }
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ServerTree(const ServerTree&) = delete;
  ServerTree& operator=(const ServerTree&) = delete;

  // Host pid of the namespace's pid 1: the child of unshare.
  int init_pid() const {
    std::ifstream file("/proc/" + std::to_string(pid_) + "/task/" +
                       std::to_string(pid_) + "/children");
    int child = 0;
    file >> child;
    return child;
  }

 private:
  pid_t pid_ = -1;
};

class ProcSource : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root for a scoped procfs and namespaces";
    }
    std::string missing;
    if (!have_programs({"tini", "python3", "unshare", "ip"}, &missing)) {
      GTEST_SKIP() << missing << " is not installed";
    }
    if (std::getenv(kForceProc) != nullptr) {
      GTEST_SKIP() << kForceProc << " is set";
    }
  }
};

TEST_F(ProcSource, RunSameTopTerminal) {
  if (!procfs_copy()) {
    GTEST_SKIP() << "a scoped procfs is read by --backend procfs only";
  }
  expect_same_top_terminal({"run", "--window", "2s", "--", "tini", "--",
                            "/bin/sh", "-c",
                            "exec python3 -m http.server 8080"});
}

TEST_F(ProcSource, ObserveSameTopTerminal) {
  if (!procfs_copy()) {
    GTEST_SKIP() << "a scoped procfs is read by --backend procfs only";
  }
  ServerTree tree;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_GT(tree.init_pid(), 0);

  expect_same_top_terminal(
      {"observe", "--pid", std::to_string(tree.init_pid()), "--window", "1s"});
}

TEST_F(ProcSource, EventBackendsReadHostProc) {
  if (procfs_copy()) {
    GTEST_SKIP() << "checks the netlink and eBPF backends";
  }
  RunOutput run =
      run_entrytrace({"run", "--window", "300ms", "--", "/bin/sleep", "1"});

  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  EXPECT_TRUE(run.result["target"]["hostPidsVisible"].GetBool());
  std::vector<std::string> evidence = all_evidence(run.result);
  EXPECT_TRUE(mentions_all(evidence, {"procfs: /proc filtered by PID "
                                      "namespace inode, because ",
                                      " events name host pids"}))
      << join(evidence);
}

}  // namespace
}  // namespace entrytrace::testing
