#include "detectors/analyze.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "detectors/result_json.h"
#include "tests/graph/capture_builder.h"

namespace entrytrace {
namespace {

using testing::CaptureBuilder;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::tcp;

const Catalogue& catalogue() {
  static const Catalogue kCatalogue = Catalogue::load_default();
  return kCatalogue;
}

EntryTraceResult run(const Capture& capture) {
  return analyze(capture, catalogue(), AnalyzeOptions{});
}

const std::string kPython = "/usr/bin/python3.11";
const std::vector<std::string> kHttp = {"python3", "-m", "http.server", "8080"};

struct TreeCase {
  std::string name;
  std::function<void(CaptureBuilder&)> build;
  std::string path;
  std::string runtime;
  uint32_t uid;
  std::vector<std::string> collapsed;  // wrapper names in the evidence
  bool shell_diagnostic;
};

void check_top_terminal(const TreeCase& c, const EntryTraceResult& result) {
  ASSERT_FALSE(result.terminals.empty());
  const Terminal& top = result.terminals.front();
  EXPECT_EQ(top.type, TerminalType::kProcess);
  EXPECT_EQ(top.path, c.path);
  EXPECT_EQ(top.runtime, c.runtime);
  EXPECT_EQ(top.user.uid, c.uid);
  for (const std::string& wrapper : c.collapsed) {
    EXPECT_THAT(top.evidence,
                Contains(HasSubstr("wrapper " + wrapper + " (pid")))
        << wrapper;
  }
  const std::string diagnostic =
      "pid 1 is a shell (/usr/bin/dash) that does not forward SIGTERM to its "
      "children";
  if (c.shell_diagnostic) {
    EXPECT_THAT(result.diagnostics, Contains(diagnostic));
  } else {
    EXPECT_THAT(result.diagnostics, Not(Contains(HasSubstr("pid 1 is a"))));
  }
}

// shell-form commands.
//
//   dash resident:  dash -c (pid 1) ── dash copy -exec-> python3 (pid 7)
//   bash exec:      bash -c (pid 1) -exec-> python3 (pid 1)
//   sh -c exec:     dash -c "exec python3" (pid 1) -exec-> python3 (pid 1)
TEST(Analyze, ShellFormCommands) {
  const std::vector<TreeCase> cases = {
      {"dash stays resident",
       [](CaptureBuilder& b) {
         const std::vector<std::string> argv = {"/bin/sh", "-c",
                                                "python3 -m http.server 8080"};
         b.seen(0, 4000, 1, 3990, 500, "/usr/bin/dash", argv);
         ProcessId c = b.seen(5, 4007, 7, 4000, 100001, "/usr/bin/dash", argv);
         b.exec(6, c, kPython, kHttp);
         b.listen(50, c, {tcp("0.0.0.0", 8080, 31)});
       },
       kPython,
       "python",
       0,
       {"dash"},
       true},
      {"bash execs the last command",
       [](CaptureBuilder& b) {
         ProcessId p = b.seen(0, 4000, 1, 3990, 500, "/usr/bin/bash",
                              {"bash", "-c",
                               "cd /srv && python3 -m "
                               "http.server 8080"});
         b.exec(5, p, kPython, kHttp);
         b.listen(50, p, {tcp("0.0.0.0", 8080, 31)});
       },
       kPython,
       "python",
       0,
       {"bash"},
       false},
      {"sh -c exec",
       [](CaptureBuilder& b) {
         ProcessId p = b.seen(0, 4000, 1, 3990, 500, "/usr/bin/dash",
                              {"sh", "-c", "exec python3 -m http.server"});
         b.exec(5, p, kPython, kHttp);
       },
       kPython,
       "python",
       0,
       {"dash"},
       false},
  };
  for (const TreeCase& c : cases) {
    SCOPED_TRACE(c.name);
    CaptureBuilder b;
    c.build(b);
    EntryTraceResult result = run(b.capture());
    check_top_terminal(c, result);
  }
}

// the resident dash is collapsed, not reported beside python.
TEST(Analyze, ResidentShellIsNotATerminal) {
  CaptureBuilder b;
  const std::vector<std::string> argv = {"/bin/sh", "-c",
                                         "python3 -m http.server 8080"};
  b.seen(0, 4000, 1, 3990, 500, "/usr/bin/dash", argv);
  ProcessId c = b.seen(5, 4007, 7, 4000, 100001, "/usr/bin/dash", argv);
  b.exec(6, c, kPython, kHttp);
  b.listen(50, c, {tcp("0.0.0.0", 8080, 31)});
  EntryTraceResult result = run(b.capture());
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_EQ(result.terminals[0].ns_pid, 7);
  EXPECT_THAT(result.terminals[0].evidence,
              Contains("pid 7 listening on 0.0.0.0:8080"));
  EXPECT_THAT(result.terminals[0].evidence,
              Contains("wrapper dash (pid 1) collapsed into " + kPython));
  EXPECT_DOUBLE_EQ(result.terminals[0].confidence, 1.0);
}

// user switches. The user always comes from the terminal.
//
//   runuser (pid 1, root) ── python3 (pid 7, nobody)
//   su (pid 1, root) ── su copy -exec-> sh -c (nobody) -exec-> python3
//   gosu / su-exec / setpriv / chpst (pid 1, root) -exec-> python3 (nobody)
TEST(Analyze, UserSwitchWrappers) {
  std::vector<TreeCase> cases = {
      {"runuser resident",
       [](CaptureBuilder& b) {
         const std::vector<std::string> argv = {
             "runuser", "-u", "nobody",      "--",
             "python3", "-m", "http.server", "8000"};
         b.seen(0, 4000, 1, 3990, 500, "/usr/sbin/runuser", argv);
         ProcessId c =
             b.seen(5, 4007, 7, 4000, 100001, "/usr/sbin/runuser", argv);
         b.exec(6, c, kPython, {"python3", "-m", "http.server", "8000"}, 65534);
       },
       kPython,
       "python",
       65534,
       {"runuser"},
       false},
      {"su resident",
       [](CaptureBuilder& b) {
         const std::vector<std::string> argv = {
             "su",     "-s", "/bin/sh",
             "nobody", "-c", "python3 -m http.server 8000"};
         b.seen(0, 4000, 1, 3990, 500, "/usr/bin/su", argv);
         ProcessId c = b.seen(5, 4007, 7, 4000, 100001, "/usr/bin/su", argv);
         b.exec(6, c, "/usr/bin/dash",
                {"sh", "-c", "python3 -m http.server 8000"}, 65534);
         b.exec(7, c, kPython, {"python3", "-m", "http.server", "8000"}, 65534);
       },
       kPython,
       "python",
       65534,
       {"su", "dash"},
       false},
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> in_place =
      {
          {"/usr/sbin/gosu", {"gosu", "nobody", "python3", "-m", "x"}},
          {"/sbin/su-exec", {"su-exec", "nobody", "python3", "-m", "x"}},
          {"/usr/bin/setpriv",
           {"setpriv", "--reuid=65534", "--regid=65534", "--init-groups",
            "python3", "-m", "x"}},
          {"/usr/bin/chpst", {"chpst", "-u", "nobody", "python3", "-m", "x"}},
      };
  for (const auto& [exe, argv] : in_place) {
    const std::string name = exe.substr(exe.rfind('/') + 1);
    cases.push_back(
        TreeCase{name + " execs in place",
                 [exe = exe, argv = argv](CaptureBuilder& b) {
                   ProcessId p = b.seen(0, 4000, 1, 3990, 500, exe, argv);
                   b.exec(5, p, kPython, {"python3", "-m", "x"}, 65534);
                 },
                 kPython,
                 "python",
                 65534,
                 {name},
                 false});
  }
  for (const TreeCase& c : cases) {
    SCOPED_TRACE(c.name);
    CaptureBuilder b;
    c.build(b);
    EntryTraceResult result = run(b.capture());
    check_top_terminal(c, result);
    ASSERT_FALSE(result.terminals.empty());
    EXPECT_EQ(result.terminals[0].user.name, "nobody");
  }
}

// two stacked inits.
//
//   docker-init (pid 1) ── tini (pid 7) ── server (pid 8)
TEST(Analyze, StackedInitsBothCollapse) {
  CaptureBuilder b;
  const std::vector<std::string> init = {"/sbin/docker-init", "--", "tini",
                                         "--", "/app/server"};
  b.seen(0, 4000, 1, 3990, 500, "/sbin/docker-init", init);
  ProcessId t = b.seen(0, 4007, 7, 4000, 510, "/usr/bin/tini",
                       {"tini", "--", "/app/server"});
  ProcessId s = b.seen(0, 4008, 8, 4007, 520, "/app/server", {"/app/server"});
  b.listen(10, s, {tcp("0.0.0.0", 9000, 44)});
  (void)t;
  EntryTraceResult result = run(b.capture());

  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals[0];
  EXPECT_EQ(top.path, "/app/server");
  EXPECT_EQ(top.runtime, "native");
  EXPECT_THAT(top.evidence,
              Contains("wrapper tini (pid 7) collapsed into /app/server"));
  EXPECT_THAT(top.evidence, Contains("wrapper docker-init (pid 1) collapsed "
                                     "into /app/server"));
  EXPECT_THAT(result.diagnostics,
              Contains(HasSubstr("tini (pid 7) is not pid 1 and not a "
                                 "subreaper")));
  EXPECT_THAT(result.evidence,
              Contains("collapsed into the top terminal: tini docker-init"));
}

// one identity, four images; the terminal is the last one and its own
// uid counts.
//
//   pid 1: entrypoint.sh (root) -exec-> gosu -exec-> entrypoint.sh (999)
//          -exec-> redis-server (999)
TEST(Analyze, ExecChainCollapsesIntoServer) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 4000, 1, 3990, 500, "/usr/bin/bash",
                       {"/bin/bash", "/entrypoint.sh", "redis-server"});
  b.exec(10, p, "/usr/sbin/gosu",
         {"gosu", "redis", "/entrypoint.sh", "redis-server"});
  b.exec(20, p, "/usr/bin/bash",
         {"/bin/bash", "/entrypoint.sh", "redis-server"}, 999);
  b.exec(30, p, "/usr/bin/redis-server", {"redis-server *:6379"}, 999);
  b.listen(40, p, {tcp("0.0.0.0", 6379, 55)});
  EntryTraceResult result = run(b.capture());

  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals[0];
  EXPECT_EQ(top.node_id, "p4000-500-3");
  EXPECT_EQ(top.user.uid, 999u);
  EXPECT_EQ(top.user.name, "redis");
  // The title is reported as seen; the exe stays the identity.
  EXPECT_EQ(top.argv, std::vector<std::string>{"redis-server *:6379"});
  EXPECT_EQ(top.runtime, "native");
  EXPECT_THAT(top.evidence, Contains("wrapper gosu (pid 1) collapsed into "
                                     "/usr/bin/redis-server"));
  EXPECT_THAT(top.evidence, Contains(HasSubstr("exec chain: pid 1 ran "
                                               "/usr/bin/bash")));
  EXPECT_EQ(result.exec_graph.nodes.size(), 4u);
  EXPECT_EQ(result.exec_graph.edges.size(), 3u);
  for (const ResultEdge& edge : result.exec_graph.edges) {
    EXPECT_EQ(edge.kind, "exec");
  }
}

// nginx master and workers share one listening inode.
//
//   nginx: master (pid 1) ─┬─ nginx: worker (pid 7)
//                          └─ nginx: worker (pid 8)
TEST(Analyze, PreforkMasterWins) {
  CaptureBuilder b;
  const std::string title = "nginx: master process nginx -g daemon off;";
  ProcessId m = b.seen(0, 4000, 1, 3990, 500, "/usr/sbin/nginx", {title});
  ProcessId w1 = b.seen(0, 4007, 7, 4000, 510, "/usr/sbin/nginx",
                        {"nginx: worker process"}, 33);
  ProcessId w2 = b.seen(0, 4008, 8, 4000, 510, "/usr/sbin/nginx",
                        {"nginx: worker process"}, 33);
  for (ProcessId id : {m, w1, w2}) {
    b.listen(1, id, {tcp("0.0.0.0", 8080, 900)});
  }
  EntryTraceResult result = run(b.capture());

  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals[0];
  EXPECT_EQ(top.ns_pid, 1);
  EXPECT_EQ(top.path, "/usr/sbin/nginx");
  EXPECT_EQ(top.argv, std::vector<std::string>{title});
  EXPECT_EQ(top.features.listening, 1);
  EXPECT_EQ(top.features.children, 2);
  EXPECT_THAT(top.evidence, Contains("pid 1 listening on 0.0.0.0:8080"));
  EXPECT_THAT(top.evidence, Contains(HasSubstr("pid 1 has 2 worker")));
}

// A supervisor and the services under it.
//
//   python3 supervisord (pid 1) ── nginx (pid 7)
TEST(Analyze, SupervisorAndService) {
  CaptureBuilder b;
  b.seen(0, 4000, 1, 3990, 500, kPython,
         {"/usr/bin/python3", "/usr/bin/supervisord", "-n"});
  ProcessId n = b.seen(0, 4007, 7, 4000, 510, "/usr/sbin/nginx",
                       {"nginx", "-g", "daemon off;"});
  b.listen(1, n, {tcp("0.0.0.0", 8080, 900)});
  EntryTraceResult result = run(b.capture());
  ASSERT_EQ(result.terminals.size(), 2u);
  EXPECT_EQ(result.terminals[0].type, TerminalType::kService);
  EXPECT_EQ(result.terminals[0].ns_pid, 7);
  EXPECT_THAT(result.terminals[0].evidence,
              Contains("supervised by supervisord (pid 1)"));
  EXPECT_EQ(result.terminals[1].type, TerminalType::kSupervisor);
  EXPECT_GT(result.terminals[0].confidence, result.terminals[1].confidence);
}

TEST(Analyze, UnreadableFieldsBecomeDiagnostics) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 4000, 1, 3990, 500, "", {"srv"});
  b.unreadable(p, "exe: Permission denied");
  b.capture().diagnostics.push_back("hidepid=2: result may be incomplete");
  EntryTraceResult result = run(b.capture());
  EXPECT_THAT(result.diagnostics,
              Contains("pid 1 (p4000-500-0): exe: Permission denied"));
  EXPECT_THAT(result.diagnostics,
              Contains("hidepid=2: result may be incomplete"));
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_FALSE(result.terminals[0].path.has_value());
}

TEST(Analyze, EmptyCapture) {
  CaptureBuilder b;
  EntryTraceResult result = run(b.capture());
  EXPECT_TRUE(result.terminals.empty());
  EXPECT_THAT(result.diagnostics,
              Contains("no process was observed in the window"));
}

TEST(Analyze, TopKLimitsTerminals) {
  CaptureBuilder b;
  b.seen(0, 4000, 1, 3990, 500, "/app/a", {"a"});
  for (int i = 0; i < 5; ++i) {
    b.seen(0, 4001 + i, 2 + i, 4000, 510 + i, "/app/b" + std::to_string(i),
           {"b"});
  }
  AnalyzeOptions options;
  options.top_k = 2;
  EXPECT_EQ(analyze(b.capture(), catalogue(), options).terminals.size(), 2u);
  options.top_k = 0;
  EXPECT_TRUE(analyze(b.capture(), catalogue(), options).terminals.empty());
}

}  // namespace
}  // namespace entrytrace
