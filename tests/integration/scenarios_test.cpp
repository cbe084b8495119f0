// Real process trees, started by `entrytrace run` in new PID and network
// namespaces or by unshare for `observe`, each with a python3 HTTP server
// on port 8080 behind a different wrapper. Every case checks the top
// terminal, its runtime and user, the listening evidence and the collapsed
// wrappers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "entrytrace_runner.h"

namespace entrytrace::testing {
namespace {

constexpr const char* kServer = "python3 -m http.server 8080";
constexpr const char* kWindow = "2500ms";
// Stands for a copy of tini named docker-init, made when the test runs.
constexpr const char* kDockerInit = "{docker-init}";
// Stands for the program /bin/sh is, by the name of its executable (dash on
// Debian), because the wrapper evidence names the executable.
constexpr const char* kShell = "{sh}";

struct Scenario {
  const char* name;
  // The command given to `entrytrace run --`, as a shell word list.
  std::vector<std::string> argv;
  std::vector<std::string> programs;
  uint32_t uid;
  const char* user;
  // Wrappers whose collapse must appear in the evidence.
  std::vector<std::string> collapsed;
  // A fragment that must appear in the diagnostics, or "".
  const char* diagnostic = "";
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const Scenario& scenario, std::ostream* out) {
  *out << scenario.name;
}

#define SKIP_UNLESS_ROOT()                                         \
  if (geteuid() != 0) {                                            \
    GTEST_SKIP() << "needs root to create PID and net namespaces"; \
  }

const rapidjson::Value& first_terminal(const RunOutput& run) {
  return run.result["terminals"][0];
}

std::string member_string(const rapidjson::Value& object, const char* name) {
  if (!object.HasMember(name) || !object[name].IsString()) {
    return "";
  }
  return object[name].GetString();
}

std::vector<std::string> diagnostics(const rapidjson::Document& result) {
  std::vector<std::string> lines;
  if (result.HasMember("diagnostics") && result["diagnostics"].IsArray()) {
    for (const auto& item : result["diagnostics"].GetArray()) {
      lines.emplace_back(item.GetString());
    }
  }
  return lines;
}

// Checks what every server scenario has in common: the top terminal is the
// python3 server, run as the expected user, listening on 8080.
void expect_python_server(const RunOutput& run, uint32_t uid,
                          const char* user) {
  ASSERT_TRUE(run.json_ok()) << "stdout is not JSON:\n"
                             << run.out << "\nstderr:\n"
                             << run.err;
  ASSERT_TRUE(run.result["terminals"].IsArray());
  ASSERT_GE(run.result["terminals"].Size(), 1u) << run.out;
  EXPECT_EQ(run.exit_status, 0) << run.err;

  const auto& top = first_terminal(run);
  EXPECT_EQ(member_string(top, "type"), "process");
  EXPECT_NE(member_string(top, "path").find("/usr/bin/python3"),
            std::string::npos)
      << member_string(top, "path");
  EXPECT_EQ(member_string(top, "runtime"), "python");
  EXPECT_EQ(top["user"]["uid"].GetUint(), uid);
  ASSERT_TRUE(top["user"]["name"].IsString());
  EXPECT_STREQ(top["user"]["name"].GetString(), user);

  auto evidence = all_evidence(run.result);
  int ns_pid = top["nsPid"].GetInt();
  std::string listening = "pid " + std::to_string(ns_pid) + " listening on ";
  EXPECT_TRUE(mentions(evidence, listening)) << join(evidence);
  EXPECT_TRUE(mentions(evidence, ":8080")) << join(evidence);
}

std::string docker_init_copy() {
  // The runtime's own init is tini built under another name; a copy keeps
  // that name in /proc/<pid>/exe, which a symlink would not.
  std::string dir = "/tmp/entrytrace-itest-bin";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/docker-init";
  std::filesystem::copy_file("/usr/bin/tini", path,
                             std::filesystem::copy_options::overwrite_existing);
  chmod(path.c_str(), 0755);
  return path;
}

class RunScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(RunScenario, FindsPythonServer) {
  SKIP_UNLESS_ROOT();
  const Scenario& scenario = GetParam();
  std::string missing;
  if (!have_programs(scenario.programs, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }

  std::vector<std::string> args = {"run", "--window", kWindow, "--"};
  for (const auto& arg : scenario.argv) {
    args.push_back(arg == kDockerInit ? docker_init_copy() : arg);
  }
  RunOutput run = run_entrytrace(args);

  expect_python_server(run, scenario.uid, scenario.user);
  if (HasFatalFailure()) {
    return;
  }
  auto evidence = all_evidence(run.result);
  for (std::string wrapper : scenario.collapsed) {
    if (wrapper == kShell) {
      wrapper = std::filesystem::canonical("/bin/sh").filename().string();
    }
    EXPECT_TRUE(
        mentions_all(evidence, {"wrapper " + wrapper + " ", "collapsed into"}))
        << wrapper << " not collapsed in:\n"
        << join(evidence);
  }
  if (*scenario.diagnostic != '\0') {
    auto lines = diagnostics(run.result);
    EXPECT_TRUE(mentions(lines, scenario.diagnostic)) << join(lines);
  }
}

std::vector<Scenario> scenarios() {
  std::string server = kServer;
  std::vector<std::string> server_argv = {"python3", "-m", "http.server",
                                          "8080"};
  auto with_server = [&](std::vector<std::string> prefix) {
    prefix.insert(prefix.end(), server_argv.begin(), server_argv.end());
    return prefix;
  };

  return {
      // An init wrapper and a shell that execs the server.
      {"TiniShellExec",
       {"tini", "--", "/bin/sh", "-c", "exec " + server},
       {"tini"},
       0,
       "root",
       {"tini", kShell}},
      // dash runs a lone command as its child and stays resident as pid 1.
      {"DashStaysResident",
       {"/bin/dash", "-c", server},
       {"dash"},
       0,
       "root",
       {"dash"},
       "does not forward SIGTERM"},
      // bash replaces itself with the last command of the list.
      {"BashExecsLastCommand",
       {"/bin/bash", "-c", "cd /tmp && " + server},
       {"bash"},
       0,
       "root",
       {"bash"}},
      {"ShellExplicitExec",
       {"/bin/sh", "-c", "exec " + server},
       {"sh"},
       0,
       "root",
       {kShell}},
      // User switches that stay resident as root parents.
      {"RunuserResident",
       with_server({"runuser", "-u", "nobody", "--"}),
       {"runuser"},
       65534,
       "nobody",
       {"runuser"}},
      {"SuResident",
       {"su", "-s", "/bin/sh", "nobody", "-c", server},
       {"su"},
       65534,
       "nobody",
       {"su"}},
      // User switches that exec in place.
      {"GosuExec",
       with_server({"gosu", "nobody"}),
       {"gosu"},
       65534,
       "nobody",
       {"gosu"}},
      {"SetprivExec",
       with_server(
           {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}),
       {"setpriv"},
       65534,
       "nobody",
       {"setpriv"}},
      {"ChpstExec",
       with_server({"chpst", "-u", "nobody"}),
       {"chpst"},
       65534,
       "nobody",
       {"chpst"}},
      // Other init wrappers.
      {"DumbInit",
       with_server({"dumb-init", "--"}),
       {"dumb-init"},
       0,
       "root",
       {"dumb-init"}},
      {"Catatonit",
       with_server({"catatonit", "--"}),
       {"catatonit"},
       0,
       "root",
       {"catatonit"}},
      // Two stacked inits: the runtime's init runs the image's tini.
      {"StackedInits",
       with_server({kDockerInit, "--", "tini", "--"}),
       {"tini"},
       0,
       "root",
       {"docker-init", "tini"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Wrappers, RunScenario,
                         ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

TEST(Demo, FindsPythonBehindTiniAndShell) {
  SKIP_UNLESS_ROOT();
  std::string missing;
  if (!have_programs({"tini"}, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }

  RunOutput run = run_entrytrace({"demo", "--window", kWindow});

  expect_python_server(run, 0, "root");
  auto evidence = all_evidence(run.result);
  EXPECT_TRUE(mentions_all(evidence, {"wrapper tini ", "collapsed into"}))
      << join(evidence);
}

// A tree started outside entrytrace, as a container runtime would.
class UnsharedTree {
 public:
  explicit UnsharedTree(const std::string& command) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      setenv("PATH",
             "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
      execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", "--net",
             "/bin/sh", "-c", ("ip link set lo up; exec " + command).c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);
  }

  ~UnsharedTree() {
    if (int init = init_pid(); init > 0) {
      kill(init, SIGKILL);
    }
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  // Host pids of unshare and every process below it.
  std::vector<int> tree_pids() const {
    std::vector<int> tree = {pid_};
    for (size_t i = 0; i < tree.size(); ++i) {
      for (int child : children_of(tree[i])) {
        tree.push_back(child);
      }
    }
    return tree;
  }

  // Host pid of the namespace's pid 1: the child of unshare.
  int init_pid() const {
    std::vector<int> children = children_of(pid_);
    return children.empty() ? 0 : children.front();
  }

 private:
  static std::vector<int> children_of(int pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/task/" +
                       std::to_string(pid) + "/children");
    std::vector<int> children;
    int child = 0;
    while (file >> child) {
      children.push_back(child);
    }
    return children;
  }

  pid_t pid_ = -1;
};

TEST(Observe, AttachesToRunningTree) {
  SKIP_UNLESS_ROOT();
  std::string missing;
  if (!have_programs({"tini", "unshare", "ip"}, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  UnsharedTree tree(std::string("tini -- /bin/sh -c 'exec ") + kServer + "'");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_GT(tree.init_pid(), 0);

  RunOutput run = run_entrytrace(
      {"observe", "--pid", std::to_string(tree.init_pid()), "--window", "1s"});

  expect_python_server(run, 0, "root");
  auto evidence = all_evidence(run.result);
  EXPECT_TRUE(mentions_all(evidence, {"wrapper tini ", "collapsed into"}))
      << join(evidence);
}

TEST(Observe, DecoysOutsideTargetNeverAppear) {
  SKIP_UNLESS_ROOT();
  std::string missing;
  if (!have_programs({"tini", "unshare", "ip"}, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  // Same argv and port as the workload, in a sibling namespace.
  UnsharedTree decoy(std::string("tini -- ") + kServer);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int decoy_init = decoy.init_pid();
  ASSERT_GT(decoy_init, 0);

  RunOutput run =
      run_entrytrace({"run", "--window", kWindow, "--", "tini", "--", "python3",
                      "-m", "http.server", "8080"});

  expect_python_server(run, 0, "root");
  ASSERT_TRUE(run.json_ok());
  std::vector<int> decoys = decoy.tree_pids();
  ASSERT_GE(decoys.size(), 2u) << "the decoy tree did not start";
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    int host_pid = node["hostPid"].GetInt();
    for (int decoy_pid : decoys) {
      EXPECT_NE(host_pid, decoy_pid) << "decoy in the graph";
    }
    EXPECT_NE(host_pid, static_cast<int>(getpid()));
  }
}

TEST(Observe, MissingPidIsUsageError) {
  // Pids never reach this value under the default pid_max of 4194304.
  RunOutput run = run_entrytrace({"observe", "--pid", "999999999"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find("999999999"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
}

TEST(Run, TargetExitingEarlyIsReported) {
  SKIP_UNLESS_ROOT();
  RunOutput run = run_entrytrace(
      {"run", "--window", "1500ms", "--", "/bin/sh", "-c", "sleep 0.3"});

  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  auto evidence = all_evidence(run.result);
  EXPECT_TRUE(mentions(evidence, "exited") || mentions(evidence, "emptied"))
      << join(evidence);
}

TEST(Run, UnknownCommandIsUsageError) {
  SKIP_UNLESS_ROOT();
  RunOutput run = run_entrytrace(
      {"run", "--window", "1s", "--", "/nonexistent/entrytrace-no-such"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find("/nonexistent/entrytrace-no-such"), std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace entrytrace::testing
