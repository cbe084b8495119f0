#include "entrytrace_runner.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace entrytrace::testing {
namespace {

constexpr const char* kSystemPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Reads both pipes until the child closes them, so that neither fills up.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
        continue;
      }
      close(fds[i].fd);
      fds[i].fd = -1;
      --open_count;
    }
  }
}

// The backend named by ENTRYTRACE_TEST_BACKEND, or empty for the default.
std::string requested_backend() {
  const char* name = std::getenv("ENTRYTRACE_TEST_BACKEND");
  return name == nullptr ? "" : name;
}

// The name a capture by backend reports in the result's "backend".
std::string result_name(const std::string& backend) {
  return backend == "netlink" ? "netlink+procfs" : backend;
}

// Skips every test of the binary, with the reason, when the backend named
// by ENTRYTRACE_TEST_BACKEND cannot capture on this machine. A short run of
// /bin/true with that backend decides, so that tests for an unavailable
// backend are reported as skipped, never as passed.
class BackendEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string backend = requested_backend();
    if (backend.empty()) {
      return;
    }
    if (geteuid() != 0) {
      GTEST_SKIP() << "backend " << backend << ": needs root";
    }
    RunOutput probe =
        run_entrytrace({"run", "--window", "100ms", "--", "/bin/true"});
    std::string reported;
    if (probe.json_ok() && probe.result.HasMember("backend") &&
        probe.result["backend"].IsString()) {
      reported = probe.result["backend"].GetString();
    }
    if (probe.exit_status == 0 && reported == result_name(backend)) {
      std::cout << "integration tests run with --backend " << backend << "\n";
      return;
    }
    std::string reason = "exit status " + std::to_string(probe.exit_status);
    if (probe.json_ok()) {
      for (const std::string& line : all_evidence(probe.result)) {
        reason += "; " + line;
      }
    }
    std::string err = probe.err;
    while (!err.empty() && err.back() == '\n') {
      err.pop_back();
    }
    if (!err.empty()) {
      reason += "; stderr: " + err.substr(err.find_last_of('\n') + 1);
    }
    GTEST_SKIP() << "backend " << backend
                 << " unavailable on this machine: " << reason;
  }
};

const ::testing::Environment* const kBackendEnvironment =
    ::testing::AddGlobalTestEnvironment(new BackendEnvironment);

}  // namespace

RunOutput run_entrytrace(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ENTRYTRACE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string backend = requested_backend();
  bool captures = !args.empty() && (args[0] == "run" || args[0] == "observe" ||
                                    args[0] == "demo");
  if (!backend.empty() && captures) {
    argv.insert(argv.begin() + 2, {"--backend", backend});
  }
  return run_program(argv);
}

RunOutput run_program(std::vector<std::string> argv) {
  RunOutput output;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed: " << strerror(errno);
    return output;
  }

  std::vector<char*> raw;
  for (auto& arg : argv) {
    raw.push_back(arg.data());
  }
  raw.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    putenv(const_cast<char*>(kSystemPath));
    execvp(raw[0], raw.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork failed: " << strerror(errno);
    return output;
  }

  drain(out_pipe[0], err_pipe[0], output.out, output.err);
  int status = 0;
  waitpid(pid, &status, 0);
  output.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  output.result.Parse(output.out.c_str());
  return output;
}

int run_shell(const std::string& command) {
  std::string line = std::string(kSystemPath) + " " + command;
  int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_programs(const std::vector<std::string>& names,
                   std::string* missing) {
  for (const auto& name : names) {
    if (run_shell("command -v " + name + " >/dev/null 2>&1") != 0) {
      *missing = name;
      return false;
    }
  }
  return true;
}

std::vector<std::string> all_evidence(const rapidjson::Document& result) {
  std::vector<std::string> sentences;
  auto collect = [&](const rapidjson::Value& object) {
    if (!object.IsObject() || !object.HasMember("evidence") ||
        !object["evidence"].IsArray()) {
      return;
    }
    for (const auto& item : object["evidence"].GetArray()) {
      if (item.IsString()) {
        sentences.emplace_back(item.GetString());
      }
    }
  };
  collect(result);
  if (result.IsObject() && result.HasMember("terminals") &&
      result["terminals"].IsArray()) {
    for (const auto& terminal : result["terminals"].GetArray()) {
      collect(terminal);
    }
  }
  return sentences;
}

bool mentions(const std::vector<std::string>& sentences,
              const std::string& fragment) {
  for (const auto& sentence : sentences) {
    if (sentence.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool mentions_all(const std::vector<std::string>& sentences,
                  const std::vector<std::string>& fragments) {
  for (const auto& sentence : sentences) {
    bool all = true;
    for (const auto& fragment : fragments) {
      all = all && sentence.find(fragment) != std::string::npos;
    }
    if (all) {
      return true;
    }
  }
  return false;
}

std::string join(const std::vector<std::string>& sentences) {
  std::string text;
  for (const auto& sentence : sentences) {
    text += "  " + sentence + "\n";
  }
  return text;
}

std::string cgroup2_mount() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    if (line.find(" - cgroup2 ") == std::string::npos) {
      continue;
    }
    // The fifth field of a mountinfo line is the mount point.
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 5 && fields >> field; ++i) {
    }
    return field;
  }
  return "";
}

bool move_to_cgroup(const std::string& cgroup, int pid) {
  std::ofstream procs(cgroup + "/cgroup.procs");
  procs << pid << "\n";
  procs.flush();
  return static_cast<bool>(procs);
}

}  // namespace entrytrace::testing
