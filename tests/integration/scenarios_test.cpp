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
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
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

// The number of graph nodes with an argv word that contains fragment.
int graph_argv_count(const rapidjson::Document& result,
                     const std::string& fragment) {
  int count = 0;
  for (const auto& node : result["execGraph"]["nodes"].GetArray()) {
    for (const auto& arg : node["argv"].GetArray()) {
      if (std::string(arg.GetString()).find(fragment) != std::string::npos) {
        ++count;
        break;
      }
    }
  }
  return count;
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
  // A result read through a procfs scoped to the target has no host pids,
  // so the decoy is also counted by argv: the target's tini and python3
  // name the server, and the decoy's would add two more.
  EXPECT_LE(graph_argv_count(run.result, "http.server"), 2) << run.out;
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

// A PID namespace nested in the target: its processes belong to the
// target, with their pids as the target's namespace numbers them.
//
//   sh (1) -exec-> sleep 5 (1)
//    `- unshare (2) --clone--> sleep 7 (3; pid 1 of the nested namespace)
TEST(Run, NestedNamespaceUsesTargetPids) {
  SKIP_UNLESS_ROOT();
  RunOutput run =
      run_entrytrace({"run", "--window", "1500ms", "--", "/bin/sh", "-c",
                      "unshare --pid --fork sleep 7 & exec sleep 5"});
  ASSERT_TRUE(run.json_ok()) << run.out << run.err;

  int unshare_pid = 0;
  int nested_pid = 0;
  int nested_ppid = 0;
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    const auto& argv = node["argv"];
    if (argv.Size() == 0) {
      continue;
    }
    std::string first = argv[0].GetString();
    std::string last = argv[argv.Size() - 1].GetString();
    if (first == "unshare") {
      unshare_pid = node["nsPid"].GetInt();
    }
    if (first == "sleep" && last == "7") {
      nested_pid = node["nsPid"].GetInt();
      nested_ppid = node["ppid"].GetInt();
    }
  }
  ASSERT_GT(unshare_pid, 1) << run.out;
  ASSERT_GT(nested_pid, 1) << "the nested process is missing or numbered "
                              "by its own namespace:\n"
                           << run.out;
  EXPECT_NE(nested_pid, unshare_pid);
  EXPECT_EQ(nested_ppid, unshare_pid);
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

// True when an argv word of some node of the graph contains fragment.
bool graph_has_argv_fragment(const rapidjson::Document& result,
                             const std::string& fragment) {
  for (const auto& node : result["execGraph"]["nodes"].GetArray()) {
    if (!node.HasMember("argv") || !node["argv"].IsArray()) {
      continue;
    }
    for (const auto& arg : node["argv"].GetArray()) {
      if (std::string(arg.GetString()).find(fragment) != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

// entrytrace as a sidecar: started inside the tree's PID and mount
// namespaces, it watches its own namespace and leaves itself out.
TEST(Sidecar, OwnNamespaceLeavesEntrytraceOut) {
  SKIP_UNLESS_ROOT();
  std::string missing;
  if (!have_programs({"tini", "unshare", "nsenter", "ip"}, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  UnsharedTree tree(std::string("tini -- /bin/sh -c 'exec ") + kServer + "'");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int init = tree.init_pid();
  ASSERT_GT(init, 0);

  for (std::vector<std::string> target :
       {std::vector<std::string>{}, std::vector<std::string>{"--pid", "1"}}) {
    SCOPED_TRACE(target.empty() ? "no target" : "--pid 1");
    std::vector<std::string> argv = {
        "nsenter",         "-t",      std::to_string(init), "-p", "-m",
        ENTRYTRACE_BINARY, "observe", "--window",           "1s"};
    argv.insert(argv.end(), target.begin(), target.end());
    RunOutput run = run_program(argv);

    expect_python_server(run, 0, "root");
    if (HasFatalFailure()) {
      return;
    }
    EXPECT_FALSE(graph_has_argv_fragment(run.result, "entrytrace")) << run.out;
    auto lines = diagnostics(run.result);
    EXPECT_TRUE(mentions(lines, "entrytrace itself")) << join(lines);
  }
}

bool argv_contains(int pid, const std::string& fragment) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  return text.find(fragment) != std::string::npos;
}

// A cgroup v2 directory made for one test, removed at the end once its
// processes are gone.
class TestCgroup {
 public:
  explicit TestCgroup(std::string path) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
  }
  ~TestCgroup() {
    for (int attempt = 0; attempt < 250; ++attempt) {
      if (rmdir(path_.c_str()) == 0 || errno == ENOENT) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  const std::string& path() const { return path_; }
  bool add(int pid) const { return move_to_cgroup(path_, pid); }

 private:
  std::string path_;
};

// A container id whose first 12 digits are unique to one test: a sequence
// number and the test process's pid, so that neither parallel runs nor the
// exiting processes of an earlier test share a 12-digit prefix with it.
std::string test_container_id(char last) {
  static int sequence = 0;
  char prefix[13];
  std::snprintf(prefix, sizeof(prefix), "e7%02d%08d", ++sequence % 100,
                static_cast<int>(getpid()) % 100000000);
  std::string id = prefix;
  id.resize(63, '0');
  return id + last;
}

// One PID namespace with two servers: tini and its server on 8080 in a
// cgroup made for the test, and a decoy server on 8081 outside it.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to create cgroups and namespaces";
    }
    std::string missing;
    if (!have_programs({"tini", "unshare", "ip"}, &missing)) {
      GTEST_SKIP() << missing << " is not installed";
    }
    mount_ = cgroup2_mount();
    if (mount_.empty()) {
      GTEST_SKIP() << "no cgroup2 hierarchy is mounted";
    }

    base_ = std::make_unique<TestCgroup>(mount_ + "/entrytrace-itest-" +
                                         std::to_string(getpid()));
    id_ = test_container_id('1');
    cgroup_ = std::make_unique<TestCgroup>(base_->path() + "/docker-" + id_ +
                                           ".scope");
    tree_ = std::make_unique<UnsharedTree>(
        "/bin/sh -c 'python3 -m http.server 8081 & exec tini -- " +
        std::string(kServer) + "'");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));

    int init = tree_->init_pid();
    ASSERT_GT(init, 0);
    ASSERT_TRUE(cgroup_->add(init));
    // tree_pids() starts with unshare itself, which stays outside.
    std::vector<int> pids = tree_->tree_pids();
    for (int pid : std::vector<int>(pids.begin() + 1, pids.end())) {
      if (argv_contains(pid, "8080")) {
        ASSERT_TRUE(cgroup_->add(pid));
      } else if (argv_contains(pid, "8081")) {
        decoy_ = pid;
      }
    }
    ASSERT_GT(decoy_, 0) << "the decoy server did not start";
  }

  void TearDown() override {
    tree_.reset();
    cgroup_.reset();
    base_.reset();
  }

  void expect_target_without_decoy(const RunOutput& run) {
    expect_python_server(run, 0, "root");
    if (HasFatalFailure()) {
      return;
    }
    EXPECT_FALSE(graph_has_argv_fragment(run.result, "8081")) << run.out;
    for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
      EXPECT_NE(node["hostPid"].GetInt(), decoy_) << "decoy in the graph";
    }
    auto lines = diagnostics(run.result);
    EXPECT_TRUE(mentions(lines, "not in the target's cgroup")) << join(lines);
  }

  std::string mount_;
  std::string id_;
  std::unique_ptr<TestCgroup> base_;
  std::unique_ptr<TestCgroup> cgroup_;
  std::unique_ptr<UnsharedTree> tree_;
  int decoy_ = 0;
};

TEST_F(CgroupTree, CgroupPathLeavesDecoyOut) {
  RunOutput run = run_entrytrace(
      {"observe", "--cgroup", cgroup_->path(), "--window", "1s"});
  expect_target_without_decoy(run);
}

TEST_F(CgroupTree, ContainerIdPrefixLeavesDecoyOut) {
  RunOutput run =
      run_entrytrace({"observe", "--container-id",
                      "docker://" + id_.substr(0, 12), "--window", "1s"});
  expect_target_without_decoy(run);
}

TEST_F(CgroupTree, AmbiguousPrefixListsIds) {
  std::string other_id = id_;
  other_id.back() = '2';
  TestCgroup other(base_->path() + "/docker-" + other_id + ".scope");
  ASSERT_TRUE(other.add(decoy_));

  RunOutput run =
      run_entrytrace({"observe", "--container-id", id_.substr(0, 12)});

  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find(id_), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(other_id), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  // Move the decoy back so that the cgroup can be removed.
  move_to_cgroup(mount_, decoy_);
}

// Quotes one word for /bin/sh.
std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::string shell_command(const std::vector<std::string>& argv) {
  std::string command;
  for (std::string word : argv) {
    if (word == kDockerInit) {
      word = docker_init_copy();
    }
    command += (command.empty() ? "" : " ") + shell_quote(word);
  }
  return command;
}

constexpr uint32_t kNobody = 65534;

// entrytrace started as uid 65534 with no capabilities.
std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  std::vector<std::string> wrapped = {"setpriv", "--reuid=65534",
                                      "--regid=65534", "--clear-groups"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

// Checks the parts of a result that an unprivileged observer can still get:
// the python3 server as top terminal with its uid, and its port in the
// evidence, found through fd/ or by the socket's owner uid.
void expect_server_seen_unprivileged(const RunOutput& run, uint32_t uid) {
  ASSERT_TRUE(run.json_ok()) << "stdout is not JSON:\n"
                             << run.out << "\nstderr:\n"
                             << run.err;
  ASSERT_GE(run.result["terminals"].Size(), 1u) << run.out << run.err;
  EXPECT_EQ(run.exit_status, 0) << run.err;
  const auto& top = first_terminal(run);
  ASSERT_TRUE(top["argv"].IsArray());
  ASSERT_GE(top["argv"].Size(), 2u);
  EXPECT_NE(std::string(top["argv"][0].GetString()).find("python3"),
            std::string::npos);
  EXPECT_EQ(member_string(top, "runtime"), "python");
  EXPECT_EQ(top["user"]["uid"].GetUint(), uid);
  auto evidence = all_evidence(run.result);
  int ns_pid = top["nsPid"].GetInt();
  EXPECT_TRUE(mentions_all(evidence, {"pid " + std::to_string(ns_pid) + " ",
                                      "listening on ", ":8080"}))
      << join(evidence);
}

class UnprivilegedScenario : public ::testing::TestWithParam<Scenario> {};

// The tree runs as its scenario specifies (mostly root), entrytrace as 65534:
// exe, cwd, root and fd/ of root's processes are unreadable.
TEST_P(UnprivilegedScenario, OtherUsersTree) {
  SKIP_UNLESS_ROOT();
  const Scenario& scenario = GetParam();
  std::string missing;
  std::vector<std::string> programs = scenario.programs;
  programs.insert(programs.end(), {"unshare", "ip", "setpriv"});
  if (!have_programs(programs, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  UnsharedTree tree(shell_command(scenario.argv));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_GT(tree.init_pid(), 0);

  RunOutput run = run_program(
      as_nobody({ENTRYTRACE_BINARY, "observe", "--pid",
                 std::to_string(tree.init_pid()), "--window", "1s"}));

  expect_server_seen_unprivileged(run, scenario.uid);
  auto lines = diagnostics(run.result);
  if (scenario.uid != kNobody) {
    EXPECT_TRUE(mentions(lines, "exe unreadable for")) << join(lines);
    auto evidence = all_evidence(run.result);
    EXPECT_TRUE(mentions(evidence, "socket owner found by uid"))
        << join(evidence);
  }
}

// The tree runs as 65534 from its first exec, as entrytrace does: every file
// is readable, so the result matches the privileged one.
TEST_P(UnprivilegedScenario, SameUsersTree) {
  SKIP_UNLESS_ROOT();
  const Scenario& scenario = GetParam();
  if (scenario.uid != 0) {
    GTEST_SKIP() << "switches users, which needs root";
  }
  std::string missing;
  std::vector<std::string> programs = scenario.programs;
  programs.insert(programs.end(), {"unshare", "ip", "setpriv"});
  if (!have_programs(programs, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  UnsharedTree tree(shell_command(as_nobody(scenario.argv)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_GT(tree.init_pid(), 0);

  RunOutput run = run_program(
      as_nobody({ENTRYTRACE_BINARY, "observe", "--pid",
                 std::to_string(tree.init_pid()), "--window", "1s"}));

  expect_python_server(run, kNobody, "nobody");
  auto evidence = all_evidence(run.result);
  EXPECT_FALSE(mentions(evidence, "socket owner found by uid"))
      << join(evidence);
}

// entrytrace as 65534 inside the tree's PID and mount namespaces, with no
// target, as an unprivileged sidecar sharing the pod's PID namespace runs:
// it watches its own namespace and leaves itself out.
TEST_P(UnprivilegedScenario, SidecarInTargetNamespace) {
  SKIP_UNLESS_ROOT();
  const Scenario& scenario = GetParam();
  std::string missing;
  std::vector<std::string> programs = scenario.programs;
  programs.insert(programs.end(), {"unshare", "ip", "setpriv", "nsenter"});
  if (!have_programs(programs, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  UnsharedTree tree(shell_command(scenario.argv));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_GT(tree.init_pid(), 0);

  std::vector<std::string> argv = {"nsenter", "-t",
                                   std::to_string(tree.init_pid()), "-p", "-m"};
  for (const std::string& arg :
       as_nobody({ENTRYTRACE_BINARY, "observe", "--window", "1s"})) {
    argv.push_back(arg);
  }
  RunOutput run = run_program(argv);

  expect_server_seen_unprivileged(run, scenario.uid);
  if (HasFatalFailure()) {
    return;
  }
  // The docker-init copy lives in a folder named after entrytrace, so the
  // check looks for the binary's own path.
  EXPECT_FALSE(graph_has_argv_fragment(run.result, ENTRYTRACE_BINARY))
      << run.out;
  auto lines = diagnostics(run.result);
  EXPECT_TRUE(mentions(lines, "entrytrace itself")) << join(lines);
}

INSTANTIATE_TEST_SUITE_P(Wrappers, UnprivilegedScenario,
                         ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

// A private procfs mounted hidepid=2 in a new mount namespace. The tree's
// pid 1 (tini) runs as root and its server as 65534, so an observer as 65534
// can list only the server.
class HidepidProc : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to mount procfs";
    }
    std::string missing;
    if (!have_programs({"tini", "unshare", "ip", "setpriv"}, &missing)) {
      GTEST_SKIP() << missing << " is not installed";
    }
    tree_ = std::make_unique<UnsharedTree>(
        "tini -- setpriv --reuid=65534 --regid=65534 --clear-groups " +
        std::string(kServer));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::vector<int> pids = tree_->tree_pids();
    ASSERT_GE(pids.size(), 3u) << "the tree did not start";
    server_ = pids.back();
  }

  // Runs entrytrace in a new mount namespace with procfs at a private
  // mount point, mounted hidepid=2.
  RunOutput observe_through_hidepid(bool unprivileged) {
    std::string mount_point =
        "/tmp/entrytrace-hidepid-" + std::to_string(getpid());
    std::filesystem::create_directories(mount_point);
    std::string entrytrace = std::string(ENTRYTRACE_BINARY) +
                             " observe --window 1s --proc-root " + mount_point +
                             " --pid " + std::to_string(server_);
    if (unprivileged) {
      entrytrace =
          "setpriv --reuid=65534 --regid=65534 --clear-groups " + entrytrace;
    }
    return run_program({"unshare", "--mount", "--propagation", "private",
                        "/bin/sh", "-c",
                        "mount -t proc -o hidepid=2 proc " + mount_point +
                            " && exec " + entrytrace});
  }

  std::unique_ptr<UnsharedTree> tree_;
  int server_ = 0;
};

TEST_F(HidepidProc, UnprivilegedResultMayBeIncomplete) {
  RunOutput run = observe_through_hidepid(true);
  expect_server_seen_unprivileged(run, kNobody);
  auto lines = diagnostics(run.result);
  EXPECT_TRUE(mentions_all(lines, {"hidepid=", "may be incomplete"}))
      << join(lines);
}

TEST_F(HidepidProc, RootIsNotHidden) {
  RunOutput run = observe_through_hidepid(false);
  expect_python_server(run, kNobody, "nobody");
  auto lines = diagnostics(run.result);
  EXPECT_TRUE(mentions_all(lines, {"hidepid=", "hides nothing"}))
      << join(lines);
}

TEST(Observe, TargetOptionsExcludeEachOther) {
  RunOutput run =
      run_entrytrace({"observe", "--pid", "1", "--container-id", "abcd"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find("exclude each other"), std::string::npos) << run.err;
}

TEST(Observe, UnknownContainerIsUsageError) {
  RunOutput run = run_entrytrace({"observe", "--container-id", "0ddba11cafe"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find("0ddba11cafe"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace entrytrace::testing
