// Attempts to make entrytrace report a process outside its target, or read a
// file outside the target's root. Each test builds the decoy it needs (PID
// namespaces, cgroups, chroot directories, pids reused through
// /proc/sys/kernel/ns_last_pid), runs the entrytrace binary and checks that
// no trace of the decoy reaches the result. A test that fails shows an
// escape; the attempts that entrytrace blocks are kept as regression tests.
//
// Some races are made deterministic by stopping entrytrace with SIGSTOP for
// a few hundred milliseconds, which stands for a capture thread that a
// loaded machine does not schedule in time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "entrytrace_runner.h"

namespace entrytrace::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kSystemPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#define SKIP_UNLESS_ROOT()                                              \
  if (geteuid() != 0) {                                                 \
    GTEST_SKIP() << "needs root to build namespaces, cgroups and pids"; \
  }

void sleep_ms(int ms) {
  std::this_thread::sleep_for(milliseconds(ms));
}

// A word unique to one test run, put into decoys so that any trace of them in
// the output can be searched for.
std::string unique_tag(const std::string& what) {
  static std::mt19937 random(std::random_device{}());
  return "entrytrace-escape-" + what + "-" + std::to_string(getpid()) + "-" +
         std::to_string(random() % 100000);
}

std::string backend() {
  const char* name = std::getenv("ENTRYTRACE_TEST_BACKEND");
  return name == nullptr ? "" : name;
}

// entrytrace SUBCOMMAND [--backend B] ARGS..., as run_entrytrace() builds it.
std::vector<std::string> entrytrace_argv(const std::string& subcommand,
                                         std::vector<std::string> args) {
  std::vector<std::string> argv = {ENTRYTRACE_BINARY, subcommand};
  if (!backend().empty()) {
    argv.insert(argv.end(), {"--backend", backend()});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The same command line as one shell string.
std::string entrytrace_command(const std::string& subcommand,
                               const std::vector<std::string>& args) {
  std::string command;
  for (const std::string& word : entrytrace_argv(subcommand, args)) {
    command += (command.empty() ? "" : " ") + word;
  }
  return command;
}

// entrytrace as uid 65534 without capabilities. No --backend: the default
// falls back to procfs, the only backend that runs unprivileged.
std::vector<std::string> unprivileged_observe(std::vector<std::string> args) {
  std::vector<std::string> argv = {"setpriv",         "--reuid=65534",
                                   "--regid=65534",   "--clear-groups",
                                   ENTRYTRACE_BINARY, "observe"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)),
                     std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
}

std::vector<int> children_of(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/task/" +
                     std::to_string(pid) + "/children");
  std::vector<int> children;
  int child = 0;
  while (file >> child) {
    children.push_back(child);
  }
  return children;
}

// argv of a live process joined with spaces.
std::string cmdline_of(int pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : text) {
    if (c == '\0') {
      c = ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  return text;
}

// Host pid of the first process whose argv starts with prefix, or 0.
int find_process(const std::string& prefix) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (cmdline_of(std::stoi(name)).starts_with(prefix)) {
      return std::stoi(name);
    }
  }
  return 0;
}

int last_pid() {
  return std::stoi(read_file("/proc/sys/kernel/ns_last_pid"));
}

void set_last_pid(int pid) {
  write_file("/proc/sys/kernel/ns_last_pid", std::to_string(pid));
}

[[noreturn]] void exec_argv(const std::vector<std::string>& argv) {
  std::vector<char*> raw;
  for (const std::string& arg : argv) {
    raw.push_back(const_cast<char*>(arg.c_str()));
  }
  raw.push_back(nullptr);
  setenv("PATH", kSystemPath, 1);
  execvp(raw[0], raw.data());
  _exit(127);
}

// A program started in the background whose output goes to files, so that a
// test can signal it while it runs.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv) {
    char dir[] = "/tmp/entrytrace-escape-escape-XXXXXX";
    dir_ = mkdtemp(dir);
    chmod(dir_.c_str(), 0777);
    pid_ = fork();
    if (pid_ == 0) {
      int out = open((dir_ + "/out").c_str(), O_WRONLY | O_CREAT, 0666);
      int err = open((dir_ + "/err").c_str(), O_WRONLY | O_CREAT, 0666);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      exec_argv(argv);
    }
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  pid_t pid() const { return pid_; }

  // Waits at most timeout for the program to end by itself; kills it after.
  RunOutput finish(milliseconds timeout, bool* hung = nullptr) {
    RunOutput output;
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool done = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        done = true;
        break;
      }
      sleep_ms(20);
    }
    if (!done) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    reaped_ = true;
    if (hung != nullptr) {
      *hung = !done;
    }
    output.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    output.out = read_file(dir_ + "/out");
    output.err = read_file(dir_ + "/err");
    output.result.Parse(output.out.c_str());
    return output;
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// A tree in new PID and mount namespaces with a fresh /proc, as a container
// runtime starts one. The network namespace is the host's unless asked.
class Tree {
 public:
  explicit Tree(const std::string& command, bool new_network = false) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      std::vector<std::string> argv = {"unshare", "--pid", "--fork",
                                       "--kill-child", "--mount-proc"};
      if (new_network) {
        argv.push_back("--net");
      }
      argv.insert(argv.end(), {"/bin/sh", "-c", command});
      exec_argv(argv);
    }
    setpgid(pid_, pid_);
    for (int attempt = 0; attempt < 100 && init_pid() == 0; ++attempt) {
      sleep_ms(10);
    }
  }
  ~Tree() { stop(); }

  // Host pid of the namespace's pid 1.
  int init_pid() const {
    std::vector<int> children = children_of(pid_);
    return children.empty() ? 0 : children.front();
  }

  // Kills the namespace and reaps unshare, so that the pids are free.
  void stop() {
    if (pid_ <= 0) {
      return;
    }
    if (int init = init_pid(); init > 0) {
      kill(init, SIGKILL);
    }
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// A process started with a chosen host pid (through ns_last_pid), optionally
// as pid 1 of a new PID namespace. A helper process does the unshare, so the
// test process stays in the host namespace.
class PidAt {
 public:
  PidAt(int wanted, bool new_pid_namespace,
        const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return;
    }
    helper_ = fork();
    if (helper_ == 0) {
      if (new_pid_namespace && unshare(CLONE_NEWPID) != 0) {
        _exit(1);
      }
      set_last_pid(wanted - 1);
      pid_t child = fork();
      if (child == 0) {
        exec_argv(argv);
      }
      (void)!write(fds[1], &child, sizeof(child));
      waitpid(child, nullptr, 0);
      _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &pid_, sizeof(pid_)) != sizeof(pid_)) {
      pid_ = 0;
    }
    close(fds[0]);
  }
  ~PidAt() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
    }
    if (helper_ > 0) {
      waitpid(helper_, nullptr, 0);
    }
  }
  int pid() const { return pid_; }

 private:
  pid_t helper_ = -1;
  int pid_ = 0;
};

// A directory to chroot a tree into: /usr bound read-only inside the tree's
// mount namespace, the merged-/usr links, and empty /etc, /proc and /tmp.
class RootDir {
 public:
  RootDir() {
    char dir[] = "/tmp/entrytrace-escape-root-XXXXXX";
    path_ = mkdtemp(dir);
    chmod(path_.c_str(), 0755);
    for (const char* sub : {"usr", "etc", "proc", "tmp"}) {
      fs::create_directories(path_ + "/" + sub);
    }
    for (const char* link : {"bin", "lib", "lib64", "sbin"}) {
      fs::create_directory_symlink(std::string("usr/") + link,
                                   path_ + "/" + link);
    }
  }
  ~RootDir() { fs::remove_all(path_); }

  const std::string& path() const { return path_; }

  // The command for Tree: binds /usr, mounts the tree's procfs when asked,
  // and runs inner (a shell command) chrooted.
  std::string chrooted(const std::string& inner, bool with_proc) const {
    std::string command = "mount --bind /usr " + path_ + "/usr && ";
    if (with_proc) {
      command += "mount -t proc proc " + path_ + "/proc && ";
    }
    return command + "exec chroot " + path_ + " /bin/sh -c '" + inner + "'";
  }

 private:
  std::string path_;
};

// A host file outside every target, named and filled so that a read of it
// shows in the output as a user name.
class Decoy {
 public:
  explicit Decoy(const std::string& what) : name_(unique_tag(what)) {
    path_ = "/tmp/entrytrace-escape-secret-" + name_;
    write_file(path_, name_ + ":x:0:0::/:/bin/sh\n" + name_ +
                          ":x:65534:65534::/:/bin/sh\n");
  }
  ~Decoy() { fs::remove(path_); }
  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }

 private:
  std::string name_;
  std::string path_;
};

// Cgroup directories made for one test, removed deepest first at the end.
class Cgroups {
 public:
  explicit Cgroups(std::string base) : base_(std::move(base)) {}
  ~Cgroups() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      for (int attempt = 0; attempt < 100; ++attempt) {
        if (rmdir(it->c_str()) == 0 || errno == ENOENT) {
          break;
        }
        sleep_ms(20);
      }
    }
  }
  std::string make(const std::string& relative) {
    std::string path = base_;
    for (const auto& part : fs::path(relative)) {
      path += "/" + part.string();
      if (mkdir(path.c_str(), 0755) == 0) {
        made_.push_back(path);
      }
    }
    return path;
  }

 private:
  std::string base_;
  std::vector<std::string> made_;
};

std::string container_id(char first) {
  char text[65];
  std::snprintf(text, sizeof(text), "%c%063d", first,
                static_cast<int>(getpid()));
  return text;
}

bool graph_has_pid(const RunOutput& run, int host_pid) {
  if (!run.json_ok() || !run.result.HasMember("execGraph")) {
    return false;
  }
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    if (node["hostPid"].GetInt() == host_pid) {
      return true;
    }
  }
  return false;
}

// True when some node of the graph has argv[0] equal to word.
bool graph_has_argv0(const RunOutput& run, const std::string& word) {
  if (!run.json_ok() || !run.result.HasMember("execGraph")) {
    return false;
  }
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    const auto& argv = node["argv"];
    if (argv.IsArray() && argv.Size() > 0 && argv[0].GetString() == word) {
      return true;
    }
  }
  return false;
}

std::string shown(const RunOutput& run) {
  return "stdout:\n" + run.out.substr(0, 6000) + "\nstderr:\n" +
         run.err.substr(0, 2000);
}

// --- Decoy processes ---------------------------------------------------------

// entrytrace with no target inside a PID namespace whose /proc is still the
// host's (unshare without --mount-proc, a container with the host's /proc
// bound in). getpid() there names another process of that procfs (kthreadd,
// pid 2), so the own pid must come from <proc_root>/self, or the host would
// become the target.
TEST(Escape, SidecarWithHostProcWatchesOnlyItsOwnNamespace) {
  SKIP_UNLESS_ROOT();
  std::string tag = unique_tag("host-decoy");
  pid_t decoy = fork();
  if (decoy == 0) {
    exec_argv({"/bin/bash", "-c", "exec -a " + tag + " sleep 20"});
  }
  sleep_ms(200);

  // sh is pid 1 of the new namespace and entrytrace pid 2.
  RunOutput run = run_program(
      {"unshare", "--pid", "--fork", "--kill-child", "/bin/sh", "-c",
       entrytrace_command("observe", {"--window", "500ms"}) + "; true"});
  kill(decoy, SIGKILL);
  waitpid(decoy, nullptr, 0);

  EXPECT_EQ(run.out.find(tag), std::string::npos)
      << "a host process is in the result\n"
      << shown(run);
  EXPECT_FALSE(graph_has_pid(run, getpid())) << shown(run);
}

// The kernel hands a freed namespace inode to the next namespace made
// anywhere. The target makes a nested namespace that dies, then a host
// process makes one of its own: a decision cached by inode number alone
// would take it for the target's nested namespace.
TEST(Escape, ReusedNamespaceInodeIsNotTheNestedNamespace) {
  SKIP_UNLESS_ROOT();
  char dir_template[] = "/tmp/entrytrace-escape-ns-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string tag = unique_tag("ns-decoy");

  Background capture(entrytrace_argv(
      "run", {"--window", "3s", "--", "/bin/sh", "-c",
              "unshare --pid --fork /bin/sh -c 'readlink /proc/self/ns/pid > " +
                  dir + "/nested; sleep 0.3'; exec sleep 10"}));
  sleep_ms(1200);
  // Host processes make PID namespaces and keep them, so that the lower free
  // inode numbers are used up, until one gets the nested namespace's number.
  pid_t decoy = fork();
  if (decoy == 0) {
    setpgid(0, 0);
    std::string holder =
        "[ \"$(readlink /proc/self/ns/pid)\" = \"$1\" ] && "
        "{ echo \"$1\" > \"$2\"; exec -a \"$3\" sleep 4; }; exec sleep 4";
    exec_argv({"/bin/bash", "-c",
               "want=$(cat " + dir +
                   "/nested); for i in $(seq 40); do "
                   "unshare --pid --fork --kill-child /bin/bash -c '" +
                   holder + "' _ \"$want\" " + dir + "/decoy " + tag +
                   " & sleep 0.02; [ -s " + dir +
                   "/decoy ] && break; done; wait"});
  }
  setpgid(decoy, decoy);
  RunOutput run = capture.finish(milliseconds(10000));
  kill(-decoy, SIGKILL);
  waitpid(decoy, nullptr, 0);
  std::string nested = read_file(dir + "/nested");
  std::string decoy_ns = read_file(dir + "/decoy");
  fs::remove_all(dir);

  ASSERT_TRUE(run.json_ok()) << shown(run);
  if (nested.empty() || nested != decoy_ns) {
    GTEST_SKIP() << "the decoy's namespace did not reuse the inode (" << nested
                 << " vs " << decoy_ns << ")";
  }
  EXPECT_FALSE(graph_has_argv0(run, tag))
      << "the decoy namespace " << decoy_ns << " was taken for the nested one\n"
      << shown(run);
}

// An outsider that can make a cgroup named by the container id (any user
// with a delegated subtree, such as user@UID.service) must not become a
// process of the container. As the shallowest process it would be picked as
// the representative, and the target would become the host's namespace.
TEST(Escape, CgroupNamedLikeTheContainerIsNotTheContainer) {
  SKIP_UNLESS_ROOT();
  std::string mount = cgroup2_mount();
  if (mount.empty()) {
    GTEST_SKIP() << "no cgroup2 hierarchy is mounted";
  }
  std::string id = container_id('e');
  Cgroups cgroups(mount);
  std::string base = "entrytrace-escape-escape-" + std::to_string(getpid());
  std::string container = cgroups.make(base + "/docker-" + id + ".scope");
  std::string delegated =
      cgroups.make(base + "/user.slice/user-65534.slice/" + id);

  Tree tree("exec sleep 30");
  ASSERT_GT(tree.init_pid(), 0);
  ASSERT_TRUE(move_to_cgroup(container, tree.init_pid()));
  std::string tag = unique_tag("cgroup-decoy");
  pid_t decoy = fork();
  if (decoy == 0) {
    exec_argv({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "/bin/bash", "-c", "exec -a " + tag + " sleep 30"});
  }
  sleep_ms(200);
  ASSERT_TRUE(move_to_cgroup(delegated, decoy));

  RunOutput run = run_program(entrytrace_argv(
      "observe", {"--container-id", id.substr(0, 12), "--window", "1s"}));
  kill(decoy, SIGKILL);
  waitpid(decoy, nullptr, 0);
  tree.stop();

  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_FALSE(graph_has_pid(run, decoy)) << shown(run);
  EXPECT_EQ(run.out.find(tag), std::string::npos) << shown(run);
  EXPECT_EQ(run.result["target"]["pidNamespaceDepth"].GetInt(), 1)
      << "the target is not the container's PID namespace\n"
      << shown(run);
}

// A decoy in the target's PID namespace, in a cgroup whose name
// extends the target cgroup's name (docker-abc and docker-abcd).
TEST(Escape, CgroupWhoseNameExtendsTheTargetsIsLeftOut) {
  SKIP_UNLESS_ROOT();
  std::string mount = cgroup2_mount();
  if (mount.empty()) {
    GTEST_SKIP() << "no cgroup2 hierarchy is mounted";
  }
  Cgroups cgroups(mount);
  std::string base = "entrytrace-escape-escape-" + std::to_string(getpid());
  std::string target = cgroups.make(base + "/docker-abc");
  std::string longer = cgroups.make(base + "/docker-abcd");
  std::string tag = unique_tag("prefix-decoy");
  Tree tree("/bin/bash -c '(exec -a " + tag + " sleep 30) & exec sleep 31'");
  sleep_ms(300);
  int init = tree.init_pid();
  ASSERT_GT(init, 0);
  std::vector<int> children = children_of(init);
  ASSERT_EQ(children.size(), 1u);
  ASSERT_TRUE(move_to_cgroup(target, init));
  ASSERT_TRUE(move_to_cgroup(longer, children[0]));

  RunOutput run = run_program(
      entrytrace_argv("observe", {"--cgroup", target, "--window", "500ms"}));
  tree.stop();

  ASSERT_TRUE(run.json_ok()) << shown(run);
  // The procfs backend reads a procfs of the target's namespace and then
  // reports no host pids, so the init is found by its namespace pid.
  bool init_found = false;
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    init_found = init_found || node["hostPid"].GetInt() == init ||
                 node["nsPid"].GetInt() == 1;
  }
  EXPECT_TRUE(init_found) << shown(run);
  EXPECT_FALSE(graph_has_pid(run, children[0])) << shown(run);
  EXPECT_FALSE(graph_has_argv0(run, tag)) << shown(run);
}

// A process that joins the target's namespaces with nsenter: the
// nsenter process stays in the host's PID namespace and is left out, its
// child is in the target and reported.
TEST(Escape, NsenterStaysOutItsChildIsIn) {
  SKIP_UNLESS_ROOT();
  Tree tree("exec sleep 30");
  int init = tree.init_pid();
  ASSERT_GT(init, 0);
  std::string tag = unique_tag("joined");
  pid_t joiner = fork();
  if (joiner == 0) {
    exec_argv({"nsenter", "-t", std::to_string(init), "-p", "-m", "--",
               "/bin/bash", "-c", "exec -a " + tag + " sleep 3"});
  }
  sleep_ms(300);

  RunOutput run = run_program(entrytrace_argv(
      "observe", {"--pid", std::to_string(init), "--window", "500ms"}));
  waitpid(joiner, nullptr, 0);

  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_NE(run.out.find(tag), std::string::npos) << shown(run);
  EXPECT_FALSE(graph_has_pid(run, joiner)) << "nsenter itself is reported\n"
                                           << shown(run);
}

// A target at depth 0 (the host's PID namespace, named by a host pid) lists
// kernel threads. No backend may report kthreadd or a kworker as a process
// of the workload.
TEST(Escape, HostWideTargetHasNoKernelThreads) {
  SKIP_UNLESS_ROOT();
  RunOutput run = run_program(entrytrace_argv(
      "observe", {"--pid", std::to_string(getpid()), "--window", "300ms"}));
  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_FALSE(graph_has_pid(run, 2)) << "kthreadd is reported\n" << shown(run);
}

// --- Races on reused pids ----------------------------------------------------

// Unprivileged, the target namespace is known by its seed process only. The
// target dies while entrytrace waits for its next tick and the pid 1 of
// another container gets the seed's host pid: matched by pid alone, it would
// be taken for the target with all its descendants.
TEST(Escape, UnprivilegedSeedPidReusedByAnotherContainer) {
  SKIP_UNLESS_ROOT();
  auto tree = std::make_unique<Tree>("while :; do sleep 0.2; done");
  int seed = tree->init_pid();
  ASSERT_GT(seed, 0);
  Background capture(
      unprivileged_observe({"--pid", std::to_string(seed), "--window", "3s"}));
  sleep_ms(800);

  kill(capture.pid(), SIGSTOP);
  tree->stop();
  sleep_ms(200);
  std::string tag = unique_tag("seed-decoy");
  PidAt decoy(seed, true, {"/bin/bash", "-c", "exec -a " + tag + " sleep 5"});
  sleep_ms(300);
  kill(capture.pid(), SIGCONT);
  RunOutput run = capture.finish(milliseconds(10000));

  if (decoy.pid() != seed) {
    GTEST_SKIP() << "pid " << seed << " was taken by another process";
  }
  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_FALSE(graph_has_argv0(run, tag))
      << "another container's pid 1 taken for the target\n"
      << shown(run);
}

// Unprivileged, a new pid whose ns/pid is unreadable is a member when its
// parent is a member. The member exits, another container's process takes
// its pid and forks: the child must not be adopted on the pid alone.
TEST(Escape, UnprivilegedChildOfReusedParentPid) {
  SKIP_UNLESS_ROOT();
  Tree tree("sleep 30 & while :; do sleep 0.3; done");
  int init = tree.init_pid();
  ASSERT_GT(init, 0);
  sleep_ms(200);
  int member = 0;
  for (int child : children_of(init)) {
    if (cmdline_of(child) == "sleep 30") {
      member = child;
    }
  }
  ASSERT_GT(member, 0);
  char dir_template[] = "/tmp/entrytrace-escape-fifo-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string fifo = dir + "/go";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);

  Background capture(
      unprivileged_observe({"--pid", std::to_string(init), "--window", "3s"}));
  sleep_ms(800);
  kill(capture.pid(), SIGSTOP);
  int counter = last_pid();
  kill(member, SIGKILL);
  sleep_ms(300);
  std::string tag = unique_tag("adopted");
  PidAt parent(member, true,
               {"/bin/bash", "-c",
                "read x < " + fifo + "; (exec -a " + tag + " sleep 5) & wait"});
  sleep_ms(300);
  // The child gets a pid just above the counter entrytrace read last, so
  // that its next tick probes it.
  set_last_pid(counter + 1);
  write_file(fifo, "go\n");
  sleep_ms(200);
  kill(capture.pid(), SIGCONT);
  RunOutput run = capture.finish(milliseconds(10000));
  fs::remove_all(dir);

  if (parent.pid() != member) {
    GTEST_SKIP() << "pid " << member << " was taken by another process";
  }
  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_FALSE(graph_has_argv0(run, tag))
      << "a child of another container adopted through a reused pid\n"
      << shown(run);
}

// The exec filename of a member that is gone must not be resolved in the
// root of whatever process has its pid when the event is handled. The
// target's /tmp/rv-DIR/prog is a script; the host's is a link to a decoy
// file, and a host process takes the member's pid.
TEST(Escape, ExecFilenameNotResolvedInAReusedPidsRoot) {
  SKIP_UNLESS_ROOT();
  Decoy secret("exe");
  RootDir root;
  std::string tag = unique_tag("e9");
  std::string host_dir = "/tmp/" + tag;
  fs::create_directories(host_dir);
  fs::create_symlink(secret.path(), host_dir + "/prog");
  fs::create_directories(root.path() + host_dir);
  write_file(root.path() + host_dir + "/prog",
             "#!/bin/sh\nread x < /tmp/go2\n");
  chmod((root.path() + host_dir + "/prog").c_str(), 0755);
  mkfifo((root.path() + "/tmp/go1").c_str(), 0600);
  mkfifo((root.path() + "/tmp/go2").c_str(), 0600);

  Tree tree(root.chrooted(
      "read x < /tmp/go1; " + host_dir + "/prog; exec sleep 30", false));
  int init = tree.init_pid();
  ASSERT_GT(init, 0);
  Background capture(entrytrace_argv(
      "observe", {"--pid", std::to_string(init), "--window", "3s"}));
  sleep_ms(1500);
  kill(capture.pid(), SIGSTOP);
  write_file(root.path() + "/tmp/go1", "go\n");
  sleep_ms(300);
  int member = find_process("/bin/sh " + host_dir + "/prog");
  write_file(root.path() + "/tmp/go2", "go\n");
  sleep_ms(300);
  std::optional<PidAt> reuser;
  if (member > 0) {
    reuser.emplace(member, false, std::vector<std::string>{"sleep", "10"});
  }
  sleep_ms(300);
  kill(capture.pid(), SIGCONT);
  RunOutput run = capture.finish(milliseconds(10000));
  int reused = reuser ? reuser->pid() : 0;
  reuser.reset();
  tree.stop();
  fs::remove_all(host_dir);

  ASSERT_GT(member, 0) << "the member running prog was not found";
  if (reused != member) {
    GTEST_SKIP() << "pid " << member << " was taken by another process";
  }
  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_EQ(run.out.find(secret.path()), std::string::npos)
      << "a host link was followed to name an exe\n"
      << shown(run);
}

// --- Files of the target -----------------------------------------------------

// /etc/passwd of a chrooted target is a link that leads out of its root,
// in each of the ways listed below. Each is tried with openat2 and with
// the fallback resolver. A regular file is read, as a positive control.
TEST(Escape, PasswdLinksStayInTheTargetRoot) {
  SKIP_UNLESS_ROOT();
  Decoy secret("passwd-link");
  const std::string& s = secret.path();
  struct Variant {
    const char* name;
    std::string link;
  };
  std::vector<Variant> variants = {
      {"absolute", s},
      {"relative", "../../../../../../../.." + s},
      {"proc-self-root", "/proc/self/root" + s},
      {"proc-1-root", "/proc/1/root" + s},
      {"proc-1-cwd", "/proc/1/cwd/../../../../.." + s},
      {"directory-link", "../up" + s},
  };
  for (const Variant& variant : variants) {
    for (const char* force : {"0", "1"}) {
      SCOPED_TRACE(std::string(variant.name) + " fallback=" + force);
      RootDir root;
      fs::create_directory_symlink("../../../../../..", root.path() + "/up");
      fs::create_symlink(variant.link, root.path() + "/etc/passwd");
      Tree tree(root.chrooted("exec sleep 30", true));
      ASSERT_GT(tree.init_pid(), 0);
      setenv("ENTRYTRACE_FORCE_NO_OPENAT2", force, 1);
      RunOutput run = run_program(entrytrace_argv(
          "observe",
          {"--pid", std::to_string(tree.init_pid()), "--window", "200ms"}));
      unsetenv("ENTRYTRACE_FORCE_NO_OPENAT2");
      ASSERT_TRUE(run.json_ok()) << shown(run);
      EXPECT_EQ(run.out.find(secret.name()), std::string::npos) << shown(run);
    }
  }

  RootDir root;
  write_file(root.path() + "/etc/passwd", "ctr-root:x:0:0::/:/bin/sh\n");
  Tree tree(root.chrooted("exec sleep 30", true));
  RunOutput run = run_program(entrytrace_argv(
      "observe",
      {"--pid", std::to_string(tree.init_pid()), "--window", "200ms"}));
  EXPECT_NE(run.out.find("\"ctr-root\""), std::string::npos) << shown(run);
}

// /etc/passwd of the target is a block device node, here a loop device
// over a host file. A container can make one, because mknod is in Docker's
// default capability set and the device cgroup only stops the container
// from opening it. entrytrace must not open it with its own privileges.
TEST(Escape, PasswdDeviceNodeIsNotRead) {
  SKIP_UNLESS_ROOT();
  std::string missing;
  if (!have_programs({"losetup"}, &missing)) {
    GTEST_SKIP() << missing << " is not installed";
  }
  Decoy secret("device");
  fs::resize_file(secret.path(), 1 << 20);
  std::string loop_file = secret.path() + ".loop";
  int status = run_shell("losetup --find --show --read-only " + secret.path() +
                         " > " + loop_file);
  std::string loop = read_file(loop_file);
  fs::remove(loop_file);
  while (!loop.empty() && loop.back() == '\n') {
    loop.pop_back();
  }
  if (status != 0 || loop.empty()) {
    GTEST_SKIP() << "no loop device";
  }
  struct stat device {};
  ASSERT_EQ(stat(loop.c_str(), &device), 0);

  RootDir root;
  ASSERT_EQ(mknod((root.path() + "/etc/passwd").c_str(), S_IFBLK | 0600,
                  device.st_rdev),
            0);
  Tree tree(root.chrooted("exec sleep 30", false));
  RunOutput run = run_program(entrytrace_argv(
      "observe",
      {"--pid", std::to_string(tree.init_pid()), "--window", "300ms"}));
  tree.stop();
  run_shell("losetup -d " + loop);

  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_EQ(run.out.find(secret.name()), std::string::npos)
      << "a host file was read through a device node of the target\n"
      << shown(run);
}

// /etc/passwd of the target is a FIFO: a plain open would block forever,
// and entrytrace must still end on SIGTERM.
TEST(Escape, PasswdFifoDoesNotHang) {
  SKIP_UNLESS_ROOT();
  RootDir root;
  ASSERT_EQ(mkfifo((root.path() + "/etc/passwd").c_str(), 0644), 0);
  Tree tree(root.chrooted("exec sleep 30", false));
  Background capture(entrytrace_argv(
      "observe",
      {"--pid", std::to_string(tree.init_pid()), "--window", "300ms"}));
  sleep_ms(3000);
  kill(capture.pid(), SIGTERM);
  bool hung = false;
  RunOutput run = capture.finish(milliseconds(4000), &hung);
  tree.stop();
  EXPECT_FALSE(hung) << "entrytrace still ran 7 s into a 300 ms window, "
                        "after SIGTERM\n"
                     << shown(run);
}

// With --container-id in a shared PID namespace, pid 1 belongs to another
// container, so user names are read through the representative at the end
// of the window. It exits, and a host process that takes its pid, in a mount
// namespace with a decoy /etc/passwd, must not supply the names.
TEST(Escape, UserNamesNotReadThroughAReusedPid) {
  SKIP_UNLESS_ROOT();
  std::string mount = cgroup2_mount();
  if (mount.empty()) {
    GTEST_SKIP() << "no cgroup2 hierarchy is mounted";
  }
  Decoy secret("names");
  char passwd_template[] = "/tmp/entrytrace-escape-ctr-passwd-XXXXXX";
  int passwd_fd = mkstemp(passwd_template);
  close(passwd_fd);
  std::string passwd = passwd_template;
  chmod(passwd.c_str(), 0644);
  write_file(passwd, "ctr-root:x:0:0::/:/bin/sh\n");
  std::string id = container_id('f');
  Cgroups cgroups(mount);
  std::string base = "entrytrace-escape-escape-" + std::to_string(getpid());
  std::string pause = cgroups.make(base + "/pause");
  std::string container = cgroups.make(base + "/docker-" + id + ".scope");

  Tree pod("mount --bind " + passwd +
           " /etc/passwd; sleep 30 & sleep 30 & while :; do sleep 0.2; done");
  sleep_ms(400);
  int init = pod.init_pid();
  ASSERT_GT(init, 0);
  std::vector<int> app;
  for (int child : children_of(init)) {
    if (cmdline_of(child) == "sleep 30") {
      app.push_back(child);
    }
  }
  ASSERT_EQ(app.size(), 2u);
  ASSERT_TRUE(move_to_cgroup(pause, init));
  ASSERT_TRUE(move_to_cgroup(container, app[0]));
  ASSERT_TRUE(move_to_cgroup(container, app[1]));

  Background capture(
      entrytrace_argv("observe", {"--container-id", id, "--window", "2s"}));
  sleep_ms(800);
  kill(app[0], SIGKILL);
  sleep_ms(200);
  PidAt reuser(
      app[0], false,
      {"unshare", "--mount", "/bin/sh", "-c",
       "mount --bind " + secret.path() + " /etc/passwd && exec sleep 5"});
  RunOutput run = capture.finish(milliseconds(10000));
  pod.stop();
  fs::remove(passwd);

  if (reuser.pid() != app[0]) {
    GTEST_SKIP() << "pid " << app[0] << " was taken by another process";
  }
  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_EQ(run.out.find(secret.name()), std::string::npos)
      << "user names read from a host process's root\n"
      << shown(run);
}

// --- Sockets -----------------------------------------------------------------

// Unprivileged, a listening socket that no readable fd/ link names is given
// to the member whose uid owns it. A target that shares its network
// namespace (the host's here; a pod's in Kubernetes) must not be credited
// with a listener of that uid held by a process outside it, here the test
// process.
TEST(Escape, UnprivilegedListenerOfAnotherProcessInTheSameNetns) {
  SKIP_UNLESS_ROOT();
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
      0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::string port = ":" + std::to_string(ntohs(address.sin_port));

  Tree tree("exec sleep 30");
  RunOutput run = run_program(unprivileged_observe(
      {"--pid", std::to_string(tree.init_pid()), "--window", "1s"}));
  close(listener);

  ASSERT_TRUE(run.json_ok()) << shown(run);
  EXPECT_EQ(run.out.find("127.0.0.1" + port), std::string::npos)
      << "the test process's listener is credited to the target\n"
      << shown(run);
  EXPECT_NE(run.out.find("a process outside the target shares the network "
                         "namespace"),
            std::string::npos)
      << "the left-out listeners are not counted in the diagnostics\n"
      << shown(run);
}

// --- Output ------------------------------------------------------------------

// An executable whose name contains a newline, JSON and invalid UTF-8,
// run with such argv words: the output stays valid JSON and names only the
// target's process.
TEST(Escape, HostileNamesKeepTheJsonIntact) {
  SKIP_UNLESS_ROOT();
  char dir_template[] = "/tmp/entrytrace-escape-names-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string name =
      dir + "/evil\n\"},{\"hostPid\":1,\"argv\":[\"decoy\"]}\xff\\";
  fs::copy_file("/usr/bin/sleep", name);
  chmod(name.c_str(), 0755);
  // bash gives the copy of sleep a hostile argv[0] as well.
  RunOutput run = run_entrytrace(
      {"run", "--window", "500ms", "--host-pids", "--", "/bin/bash", "-c",
       "exec -a \"$1\" \"$0\" 2", name, "a\n\"},{\"b\xfe\x1b[31m"});
  fs::remove_all(dir);

  ASSERT_TRUE(run.json_ok()) << shown(run);
  int first = -1;
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    int pid = node["hostPid"].GetInt();
    first = first < 0 ? pid : first;
    EXPECT_EQ(pid, first) << shown(run);
  }
  EXPECT_GT(first, 1) << shown(run);
}

}  // namespace
}  // namespace entrytrace::testing
