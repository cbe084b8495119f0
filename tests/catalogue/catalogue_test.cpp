#include "catalogue/catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace entrytrace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Argv = std::vector<std::string>;

TEST(Catalogue, DefaultLoads) {
  Catalogue catalogue = Catalogue::load_default();
  EXPECT_GE(catalogue.wrappers().size(), 25u);
  EXPECT_FALSE(catalogue.supervisors().empty());
  EXPECT_FALSE(catalogue.runtimes().empty());
  EXPECT_DOUBLE_EQ(catalogue.weights().listening, 4.0);
}

struct WrapperCase {
  std::string exe;
  Argv argv;
  std::string name;
  WrapperKind kind;
  WrapperMode mode;
  Argv wrapped;
};

TEST(Catalogue, WrapperArgvParsing) {
  const Catalogue catalogue = Catalogue::load_default();
  const std::vector<WrapperCase> cases = {
      {"/usr/bin/tini",
       {"tini", "--", "python3", "app.py"},
       "tini",
       WrapperKind::kInit,
       WrapperMode::kResident,
       {"python3", "app.py"}},
      {"/usr/bin/tini",
       {"tini", "-s", "-p", "SIGTERM", "--", "srv", "-x"},
       "tini",
       WrapperKind::kInit,
       WrapperMode::kResident,
       {"srv", "-x"}},
      {"/sbin/docker-init",
       {"/sbin/docker-init", "--", "tini", "--", "srv"},
       "docker-init",
       WrapperKind::kInit,
       WrapperMode::kResident,
       {"tini", "--", "srv"}},
      {"/usr/bin/dumb-init",
       {"dumb-init", "-r", "15:2", "nginx"},
       "dumb-init",
       WrapperKind::kInit,
       WrapperMode::kResident,
       {"nginx"}},
      {"/usr/bin/catatonit",
       {"catatonit", "-g", "--", "srv"},
       "catatonit",
       WrapperKind::kInit,
       WrapperMode::kResident,
       {"srv"}},
      {"/usr/local/bin/gosu",
       {"gosu", "redis", "redis-server", "--port", "1"},
       "gosu",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"redis-server", "--port", "1"}},
      {"/sbin/su-exec",
       {"su-exec", "nobody:nogroup", "-x", "srv"},
       "su-exec",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"-x", "srv"}},
      {"/usr/bin/setpriv",
       {"setpriv", "--reuid=1000", "--regid=1000", "--init-groups", "srv"},
       "setpriv",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/setpriv",
       {"setpriv", "--reuid", "1000", "--", "srv", "-v"},
       "setpriv",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"srv", "-v"}},
      {"/usr/bin/chpst",
       {"chpst", "-u", "app:app", "-o", "1024", "srv"},
       "chpst",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"srv"}},
      {"/bin/s6-setuidgid",
       {"s6-setuidgid", "app", "srv", "-f"},
       "s6-setuidgid",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"srv", "-f"}},
      {"/usr/sbin/runuser",
       {"runuser", "-u", "nobody", "--", "python3", "-m", "http.server"},
       "runuser",
       WrapperKind::kUserSwitch,
       WrapperMode::kResident,
       {"python3", "-m", "http.server"}},
      {"/bin/su",
       {"su", "-s", "/bin/sh", "nobody", "-c", "python3 -m http.server 8000"},
       "su",
       WrapperKind::kUserSwitch,
       WrapperMode::kResident,
       {"python3", "-m", "http.server", "8000"}},
      {"/usr/bin/env",
       {"env", "-i", "A=B", "PATH=/bin", "srv", "X=1"},
       "env",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv", "X=1"}},
      {"/usr/bin/env",
       {"env", "-u", "HOME", "srv"},
       "env",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/nohup",
       {"nohup", "srv", "-d"},
       "nohup",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv", "-d"}},
      {"/usr/bin/nice",
       {"nice", "-n", "5", "srv"},
       "nice",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/ionice",
       {"ionice", "-c", "2", "-n", "7", "srv"},
       "ionice",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/taskset",
       {"taskset", "-c", "0", "srv"},
       "taskset",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/taskset",
       {"taskset", "0x3", "srv", "-c", "1"},
       "taskset",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv", "-c", "1"}},
      {"/usr/bin/numactl",
       {"numactl", "--interleave=all", "-N", "0", "-l", "srv"},
       "numactl",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/stdbuf",
       {"stdbuf", "-oL", "-e", "0", "srv"},
       "stdbuf",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/bin/timeout",
       {"timeout", "-s", "KILL", "10", "srv", "-t", "5"},
       "timeout",
       WrapperKind::kUtility,
       WrapperMode::kResident,
       {"srv", "-t", "5"}},
      {"/usr/bin/setsid",
       {"setsid", "-w", "srv"},
       "setsid",
       WrapperKind::kUtility,
       WrapperMode::kExec,
       {"srv"}},
      {"/usr/sbin/chroot",
       {"chroot", "--userspec=1:1", "/", "srv", "-x"},
       "chroot",
       WrapperKind::kUserSwitch,
       WrapperMode::kExec,
       {"srv", "-x"}},
      {"/usr/bin/dash",
       {"/bin/sh", "-c", "python3 -m http.server 8080"},
       "dash",
       WrapperKind::kShell,
       WrapperMode::kResident,
       {"python3", "-m", "http.server", "8080"}},
      {"/usr/bin/bash",
       {"bash", "-c", "cd /srv && python3 -m http.server"},
       "bash",
       WrapperKind::kShell,
       WrapperMode::kExec,
       {"python3", "-m", "http.server"}},
      {"/usr/bin/dash",
       {"sh", "-ec", "exec python3 app.py"},
       "dash",
       WrapperKind::kShell,
       WrapperMode::kExec,
       {"python3", "app.py"}},
      {"/bin/busybox",
       {"sh", "-c", "exec nginx -g 'daemon off;'"},
       "sh",
       WrapperKind::kShell,
       WrapperMode::kExec,
       {"nginx", "-g", "daemon off;"}},
      {"/bin/busybox",
       {"ash", "-c", "srv"},
       "ash",
       WrapperKind::kShell,
       WrapperMode::kResident,
       {"srv"}},
  };
  for (const WrapperCase& c : cases) {
    SCOPED_TRACE(c.exe + " " + ::testing::PrintToString(c.argv));
    auto match = catalogue.match_wrapper(c.exe, c.argv);
    ASSERT_TRUE(match.has_value());
    EXPECT_EQ(match->name, c.name);
    EXPECT_EQ(match->kind, c.kind);
    EXPECT_EQ(match->mode, c.mode);
    EXPECT_EQ(match->wrapped_argv, c.wrapped);
  }
}

TEST(Catalogue, NonWrappersDoNotMatch) {
  const Catalogue catalogue = Catalogue::load_default();
  const std::vector<std::pair<std::string, Argv>> cases = {
      {"/usr/bin/python3.11", {"python3", "-m", "http.server"}},
      {"/usr/bin/bash", {"/bin/bash", "./docker-entrypoint.sh"}},
      {"/usr/sbin/nginx", {"nginx: master process nginx -g daemon off;"}},
      {"/usr/bin/envoy", {"envoy", "-c", "x"}},
      {"", {}},
  };
  for (const auto& [exe, argv] : cases) {
    SCOPED_TRACE(exe);
    EXPECT_FALSE(catalogue.match_wrapper(exe, argv).has_value());
  }
}

TEST(Catalogue, ShellScriptKeptWhenNotSplittable) {
  const Catalogue catalogue = Catalogue::load_default();
  auto match = catalogue.match_wrapper(
      "/usr/bin/dash", {"sh", "-c", "python3 -m http.server $PORT"});
  ASSERT_TRUE(match.has_value());
  EXPECT_TRUE(match->wrapped_argv.empty());
  ASSERT_TRUE(match->script.has_value());
  EXPECT_EQ(*match->script, "python3 -m http.server $PORT");
}

struct RuntimeCase {
  std::string exe;
  Argv argv;
  std::optional<std::string> runtime;
};

TEST(Catalogue, ClassifyRuntime) {
  const Catalogue catalogue = Catalogue::load_default();
  const std::vector<RuntimeCase> cases = {
      {"/usr/bin/python3.11", {"python3", "app.py"}, "python"},
      {"/usr/local/bin/python", {"python"}, "python"},
      {"/usr/lib/jvm/java-17/bin/java", {"java", "-jar", "a.jar"}, "java"},
      {"/usr/local/bin/node", {"node", "server.js"}, "node"},
      {"/usr/bin/ruby3.1", {"puma"}, "ruby"},
      {"/usr/sbin/php-fpm8.2", {"php-fpm: master process"}, "php"},
      {"/usr/bin/perl", {"perl", "x.pl"}, "perl"},
      {"/usr/bin/dotnet", {"dotnet", "App.dll"}, "dotnet"},
      // comm would read docker-entrypoi; only exe and argv count.
      {"/usr/bin/bash", {"/bin/bash", "./docker-entrypoint.sh"}, "shell"},
      {"/usr/sbin/nginx", {"nginx: master process"}, "native"},
      {"", {"/usr/local/bin/python3.12", "-u"}, "python"},
      {"", {}, std::nullopt},
  };
  for (const RuntimeCase& c : cases) {
    SCOPED_TRACE(c.exe);
    EXPECT_EQ(catalogue.classify_runtime(c.exe, c.argv), c.runtime);
  }
}

TEST(Catalogue, MatchSupervisor) {
  const Catalogue catalogue = Catalogue::load_default();
  EXPECT_EQ(catalogue.match_supervisor(
                "/usr/bin/python3.11",
                {"/usr/bin/python3", "/usr/bin/supervisord", "-n"}),
            "supervisord");
  EXPECT_EQ(catalogue.match_supervisor("/usr/bin/runsvdir",
                                       {"runsvdir", "-P", "/etc/service"}),
            "runsvdir");
  EXPECT_FALSE(
      catalogue.match_supervisor("/usr/bin/python3.11", {"python3", "app.py"})
          .has_value());
}

TEST(Catalogue, UserEntryReplacesDefault) {
  Catalogue catalogue = Catalogue::load_default();
  const size_t before = catalogue.wrappers().size();
  Status status = catalogue.merge_json(R"({
    "wrappers": [
      {"name": "gosu", "kind": "user-switch", "mode": "exec", "exe": "gosu2"},
      {"name": "myinit", "kind": "init", "mode": "resident",
       "exe": "myinit", "command": {"optionsWithValue": ["-t"]}}
    ],
    "scoring": {"listening": 9.5}
  })",
                                       "user.json");
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(catalogue.wrappers().size(), before + 1);
  EXPECT_FALSE(catalogue.match_wrapper("/usr/bin/gosu", {"gosu", "u", "x"}));
  EXPECT_TRUE(catalogue.match_wrapper("/usr/bin/gosu2", {"gosu2", "u", "x"}));
  auto mine =
      catalogue.match_wrapper("/sbin/myinit", {"myinit", "-t", "5", "srv"});
  ASSERT_TRUE(mine.has_value());
  EXPECT_THAT(mine->wrapped_argv, ElementsAre("srv"));
  EXPECT_DOUBLE_EQ(catalogue.weights().listening, 9.5);
  EXPECT_DOUBLE_EQ(catalogue.weights().ns_pid1, 0.5);
}

struct BadCase {
  std::string text;
  std::vector<std::string> message_parts;
};

TEST(Catalogue, BadUserCatalogueNamesProblem) {
  const std::vector<BadCase> cases = {
      {R"({"wrappers": [)", {"user.json", "invalid JSON at offset 14"}},
      {R"({"wrappers": [{"name": "x", "kind": "init", "mode": "exec",
           "exe": "tini("}]})",
       {"user.json", "wrappers[0] (x).exe", "invalid re2 pattern \"tini(\"",
        "missing )"}},
      {R"({"supervisors": [{"name": "s", "exe": "s", "argv": ["[z-a]"]}]})",
       {"supervisors[0] (s).argv[0]", "invalid re2 pattern", "[z-a]"}},
      {R"({"wrappers": [{"name": "x", "kind": "daemon", "mode": "exec",
           "exe": "x"}]})",
       {"wrappers[0] (x)", "invalid kind \"daemon\""}},
      {R"({"wrappers": [{"kind": "init", "mode": "exec", "exe": "x"}]})",
       {"wrappers[0]", "missing string member \"name\""}},
      {R"({"wrapers": []})", {"unknown member \"wrapers\""}},
      {R"({"scoring": {"listenning": 1}})", {"unknown weight \"listenning\""}},
      {R"({"scoring": {"confidenceTemperature": 0}})",
       {"confidenceTemperature", "must be > 0"}},
      {R"([1, 2])", {"top level", "must be an object"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.text);
    Catalogue catalogue = Catalogue::load_default();
    const size_t before = catalogue.wrappers().size();
    Status status = catalogue.merge_json(c.text, "user.json");
    ASSERT_FALSE(status.ok());
    for (const std::string& part : c.message_parts) {
      EXPECT_THAT(status.error().message, HasSubstr(part));
    }
    EXPECT_EQ(catalogue.wrappers().size(), before);
  }
}

TEST(Catalogue, MergeFileErrors) {
  Catalogue catalogue;
  Status missing = catalogue.merge_file("/nonexistent/entrytrace.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message,
              HasSubstr("/nonexistent/entrytrace.json"));
  EXPECT_EQ(missing.error().errno_value, ENOENT);

  const std::string path = ::testing::TempDir() + "/bad_catalogue.json";
  std::ofstream(path) << R"({"runtimes": [{"name": "x", "exe": "(("}]})";
  Status bad = catalogue.merge_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr(path));
  EXPECT_THAT(bad.error().message, HasSubstr("runtimes[0] (x).exe"));
  std::remove(path.c_str());
}

struct ScriptCase {
  std::string script;
  std::optional<Argv> argv;
  bool exec_prefixed;
  int commands;
};

TEST(ParseShellScript, Cases) {
  const std::vector<ScriptCase> cases = {
      {"python3 -m http.server 8080",
       Argv{"python3", "-m", "http.server", "8080"}, false, 1},
      {"cd /srv && exec python3 app.py", Argv{"python3", "app.py"}, true, 2},
      {"A=1 B='x y' exec srv --flag", Argv{"srv", "--flag"}, true, 1},
      {"nginx -g 'daemon off;'", Argv{"nginx", "-g", "daemon off;"}, false, 1},
      {"srv \"a \\\"b\\\"\" c\\ d", Argv{"srv", "a \"b\"", "c d"}, false, 1},
      {"exec srv >/dev/null 2>&1", Argv{"srv"}, true, 1},
      {"setup; # comment\nsrv run", Argv{"srv", "run"}, false, 2},
      {"srv --port $PORT", std::nullopt, false, 0},
      {"if true; then srv; fi", std::nullopt, false, 0},
      {"echo 'unterminated", std::nullopt, false, 0},
      {"", std::nullopt, false, 0},
  };
  for (const ScriptCase& c : cases) {
    SCOPED_TRACE(c.script);
    auto parsed = parse_shell_script(c.script);
    ASSERT_EQ(parsed.has_value(), c.argv.has_value());
    if (!parsed) {
      continue;
    }
    EXPECT_EQ(parsed->argv, *c.argv);
    EXPECT_EQ(parsed->exec_prefixed, c.exec_prefixed);
    EXPECT_EQ(parsed->command_count, c.commands);
  }
}

}  // namespace
}  // namespace entrytrace
