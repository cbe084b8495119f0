// Runs the built entrytrace executable on the images of fixtures/images:
// the static command, and the fallback of observe to static mode when its
// target does not exist.
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace entrytrace {
namespace {

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t count = 0;
  while ((count = ::read(fd, buffer, sizeof buffer)) > 0) {
    text.append(buffer, static_cast<size_t>(count));
  }
  ::close(fd);
  return text;
}

// Runs the executable with args. stderr goes to a pipe read after stdout,
// which is safe because it receives at most the few log lines of one run.
Output run_entrytrace(std::vector<std::string> args) {
  args.insert(args.begin(), ENTRYTRACE_BINARY);
  int out[2];
  int err[2];
  EXPECT_EQ(::pipe(out), 0);
  EXPECT_EQ(::pipe(err), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(out[0]);
    ::close(err[0]);
    std::vector<char*> argv;
    for (std::string& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  Output output;
  output.out = read_all(out[0]);
  output.err = read_all(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  output.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

std::string image(const std::string& name, const std::string& file) {
  return std::string(ENTRYTRACE_FIXTURES) + "/images/" + name + "/" + file;
}

TEST(StaticCommand, PrintsStaticResult) {
  Output output = run_entrytrace(
      {"static", "--image-config", image("kv-server", "config.json"),
       "--rootfs", image("kv-server", "rootfs"), "--", "--maxmemory", "1mb"});
  ASSERT_EQ(output.status, 0) << output.err;
  rapidjson::Document result;
  result.Parse(output.out.c_str());
  ASSERT_FALSE(result.HasParseError()) << output.out;
  EXPECT_STREQ(result["mode"].GetString(), "static");
  const auto& top = result["terminals"][0];
  EXPECT_STREQ(top["path"].GetString(), "/usr/local/bin/redis-server");
  ASSERT_EQ(top["argv"].Size(), 3u);
  EXPECT_STREQ(top["argv"][1].GetString(), "--maxmemory");
  EXPECT_EQ(top["user"]["uid"].GetInt(), 999);
}

TEST(StaticCommand, ObserveFallsBackToStatic) {
  Output output =
      run_entrytrace({"observe", "--pid", "2147483646", "--window", "100ms",
                      "--image-config", image("web-hooks", "config.json"),
                      "--rootfs", image("web-hooks", "rootfs")});
  ASSERT_EQ(output.status, 0) << output.err;
  rapidjson::Document result;
  result.Parse(output.out.c_str());
  ASSERT_FALSE(result.HasParseError()) << output.out;
  EXPECT_STREQ(result["mode"].GetString(), "static");
  const std::string first = result["evidence"][0].GetString();
  EXPECT_EQ(first.rfind("Dynamic capture unavailable: ", 0), 0u) << first;
  EXPECT_NE(first.find("2147483646"), std::string::npos) << first;
  EXPECT_STREQ(result["terminals"][0]["path"].GetString(), "/usr/sbin/nginx");
}

TEST(StaticCommand, BadImageOptionsAreUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"static", "--image-config", "/nonexistent/config.json", "--rootfs",
        image("kv-server", "rootfs")},
       "cannot open --image-config /nonexistent/config.json"},
      {{"static", "--image-config", image("kv-server", "config.json"),
        "--rootfs", "/nonexistent/rootfs"},
       "cannot open --rootfs: /nonexistent/rootfs"},
      {{"static", "--image-config", image("kv-server", "config.json"),
        "--rootfs", image("kv-server", "rootfs"), "--entrypoint", "[1"},
       "invalid --entrypoint: '[1' is not a JSON array of strings"},
      {{"static", "--image-config", image("cmd-only", "config.json"),
        "--rootfs", image("cmd-only", "rootfs"), "--entrypoint", ""},
       "no command to run"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    Output output = run_entrytrace(c.args);
    EXPECT_EQ(output.status, 2);
    EXPECT_NE(output.err.find(c.message), std::string::npos) << output.err;
    EXPECT_TRUE(output.out.empty());
  }
}

}  // namespace
}  // namespace entrytrace
