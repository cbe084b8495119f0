#include "graph/exec_graph.h"

#include <gtest/gtest.h>

#include "graph/scoring.h"
#include "tests/graph/capture_builder.h"

namespace entrytrace {
namespace {

using testing::CaptureBuilder;
using testing::tcp;

std::vector<std::string> ids(const ExecGraph& graph) {
  std::vector<std::string> out;
  for (const ExecNode& node : graph.nodes()) {
    out.push_back(node.id);
  }
  return out;
}

// "from->to:kind" per edge.
std::vector<std::string> edges(const ExecGraph& graph) {
  std::vector<std::string> out;
  for (const ExecEdge& edge : graph.edges()) {
    out.push_back(graph.nodes()[edge.from].id + "->" +
                  graph.nodes()[edge.to].id + ":" + edge_kind_name(edge.kind));
  }
  return out;
}

// pid 1 (host 100, ticks 500), one identity, four images:
//
//   entrypoint.sh (root) -exec-> gosu -exec-> entrypoint.sh (999)
//     -exec-> redis-server
TEST(ExecGraph, OneIdentityFourImages) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 100, 1, 50, 500, "/usr/bin/bash",
                       {"/bin/bash", "/entrypoint.sh", "redis-server"});
  b.exec(10, p, "/usr/local/bin/gosu",
         {"gosu", "redis", "/entrypoint.sh", "redis-server"});
  b.exec(20, p, "/usr/bin/bash",
         {"/bin/bash", "/entrypoint.sh", "redis-server"}, 999);
  b.exec(30, p, "/usr/bin/redis-server", {"redis-server *:6379"}, 999);

  ExecGraph graph = ExecGraph::build(b.capture());
  EXPECT_EQ(ids(graph), (std::vector<std::string>{"p100-500-0", "p100-500-1",
                                                  "p100-500-2", "p100-500-3"}));
  EXPECT_EQ(edges(graph),
            (std::vector<std::string>{"p100-500-0->p100-500-1:exec",
                                      "p100-500-1->p100-500-2:exec",
                                      "p100-500-2->p100-500-3:exec"}));
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(graph.nodes()[i].ended_us.has_value());
    EXPECT_FALSE(graph.nodes()[i].exited);
  }
  EXPECT_FALSE(graph.nodes()[3].ended_us.has_value());
  EXPECT_EQ(graph.nodes()[3].euid, 999u);
  EXPECT_EQ(graph.latest_image(0), 3u);
  EXPECT_EQ(graph.ancestors(3), (std::vector<size_t>{2, 1, 0}));
}

// A re-exec of the same binary with the same argv is still an exec: the
// stack start address differs.
TEST(ExecGraph, ReexecSameArgvIsExec) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 100, 1, 50, 500, "/app/srv", {"srv"});
  b.exec(10, p, "/app/srv", {"srv"});
  ExecGraph graph = ExecGraph::build(b.capture());
  EXPECT_EQ(graph.nodes().size(), 2u);
  EXPECT_EQ(edges(graph),
            (std::vector<std::string>{"p100-500-0->p100-500-1:exec"}));
}

// runsv (pid 5) restarts a crashing program twice:
//
//   runsv ─┬─ app (pid 6, exits at 100 ms)
//          ├─ app (pid 7, exits at 200 ms)
//          └─ app (pid 8)
TEST(ExecGraph, CrashRestartGetsNewIdentities) {
  CaptureBuilder b;
  b.seen(0, 105, 5, 100, 300, "/usr/bin/runsv", {"runsv", "app"});
  ProcessId a = b.seen(50, 106, 6, 105, 100010, "/app/srv", {"srv"});
  b.exit(100, a);
  ProcessId c = b.seen(150, 107, 7, 105, 100020, "/app/srv", {"srv"});
  b.exit(200, c);
  b.seen(250, 108, 8, 105, 100030, "/app/srv", {"srv"});

  ExecGraph graph = ExecGraph::build(b.capture());
  EXPECT_EQ(edges(graph),
            (std::vector<std::string>{"p105-300-0->p106-100010-0:clone",
                                      "p105-300-0->p107-100020-0:clone",
                                      "p105-300-0->p108-100030-0:clone"}));
  EXPECT_TRUE(graph.nodes()[1].exited);
  EXPECT_TRUE(graph.nodes()[2].exited);
  EXPECT_FALSE(graph.nodes()[3].exited);
}

// Host pid 42 is reused by an unrelated process under another parent:
//
//   sh (pid 1) ── worker (host 42, ticks 100100; exits)
//   srv (pid 2) ── helper (host 42, ticks 100900)
TEST(ExecGraph, PidReuseIsNewProcess) {
  struct Case {
    const char* name;
    bool exit_seen;
  };
  for (const Case& c : {Case{"exit seen", true}, Case{"exit missed", false}}) {
    SCOPED_TRACE(c.name);
    CaptureBuilder b;
    b.seen(0, 10, 1, 0, 50, "/usr/bin/dash", {"sh"});
    b.seen(0, 11, 2, 0, 60, "/app/srv", {"srv"});
    ProcessId first = b.seen(10, 42, 3, 10, 100100, "/app/worker", {"w"});
    if (c.exit_seen) {
      b.exit(20, first);
    }
    b.seen(30, 42, 3, 11, 100900, "/app/helper", {"h"});

    ExecGraph graph = ExecGraph::build(b.capture());
    EXPECT_EQ(edges(graph),
              (std::vector<std::string>{"p10-50-0->p42-100100-0:clone",
                                        "p11-60-0->p42-100900-0:clone"}));
    ASSERT_TRUE(graph.nodes()[2].ended_us.has_value());
    EXPECT_TRUE(graph.nodes()[2].exited);
    EXPECT_EQ(graph.diagnostics().size(), c.exit_seen ? 0u : 1u);
  }
}

// A child joins the image its parent runs when the child is first seen:
//
//   sh (pid 1) -exec-> srv (pid 1) ── child (pid 2)
TEST(ExecGraph, ChildJoinsParentCurrentImage) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 100, 1, 0, 500, "/usr/bin/dash", {"sh", "/e.sh"});
  b.exec(10, p, "/app/srv", {"srv"});
  b.seen(20, 101, 2, 100, 100002, "/app/srv", {"srv"});
  ExecGraph graph = ExecGraph::build(b.capture());
  EXPECT_EQ(edges(graph),
            (std::vector<std::string>{"p100-500-0->p100-500-1:exec",
                                      "p100-500-1->p101-100002-0:clone"}));
}

// Reparenting to a subreaper does not rewrite lineage:
//
//   tini (pid 1) ── sh (pid 2) ── daemon (pid 3)   then sh exits and the
//   daemon's ppid becomes 1; its clone edge still comes from sh.
TEST(ExecGraph, ReparentingKeepsLineage) {
  CaptureBuilder b;
  b.seen(0, 100, 1, 0, 500, "/usr/bin/tini", {"tini", "--", "sh"});
  ProcessId sh = b.seen(5, 101, 2, 100, 100001, "/usr/bin/dash", {"sh"});
  ProcessId d = b.seen(10, 102, 3, 101, 100002, "/app/d", {"d"});
  b.exit(20, sh);
  b.reparented(30, d, 100);
  ExecGraph graph = ExecGraph::build(b.capture());
  EXPECT_EQ(edges(graph),
            (std::vector<std::string>{"p100-500-0->p101-100001-0:clone",
                                      "p101-100001-0->p102-100002-0:clone"}));
  EXPECT_EQ(graph.nodes()[2].ppid, 2);
  EXPECT_EQ(graph.nodes()[2].host_ppid, 101);
}

TEST(ExecGraph, AncestryWalkStopsAtCycle) {
  std::vector<ExecNode> nodes(3);
  nodes[0].id = "a";
  nodes[1].id = "b";
  nodes[2].id = "c";
  // a -> b -> c -> a, as a corrupt recording could claim.
  std::vector<ExecEdge> edges = {{0, 1, 1, 2, EdgeKind::kClone},
                                 {1, 2, 2, 3, EdgeKind::kClone},
                                 {2, 0, 3, 1, EdgeKind::kClone}};
  ExecGraph graph = ExecGraph::from_parts(nodes, edges);
  EXPECT_EQ(graph.ancestors(2), (std::vector<size_t>{1, 0}));
  EXPECT_TRUE(graph.is_ancestor(0, 2));
  EXPECT_FALSE(graph.is_ancestor(2, 2));

  // An exec loop: latest_image must end too.
  ExecGraph loop = ExecGraph::from_parts(
      {nodes[0], nodes[1]},
      {{0, 1, 1, 1, EdgeKind::kExec}, {1, 0, 1, 1, EdgeKind::kExec}});
  EXPECT_EQ(loop.latest_image(0), 1u);
}

TEST(ExecGraph, InsertionOrderDoesNotMatter) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 100, 1, 0, 500, "/usr/bin/dash",
                       {"/bin/sh", "-c", "python3 -m http.server"});
  ProcessId c = b.seen(0, 101, 2, 100, 400, "/usr/bin/dash",
                       {"/bin/sh", "-c", "python3 -m http.server"});
  b.exec(0, c, "/usr/bin/python3.11", {"python3", "-m", "http.server"});
  b.listen(5, c, {tcp("0.0.0.0", 8000, 77)});
  b.seen(5, 102, 3, 101, 100003, "/usr/bin/ls", {"ls"});
  (void)p;
  const ExecGraph reference = ExecGraph::build(b.capture());
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    const ExecGraph graph = ExecGraph::build(b.shuffled(seed));
    EXPECT_EQ(ids(graph), ids(reference));
    EXPECT_EQ(edges(graph), edges(reference));
  }
}

// nginx master (pid 1) and two workers holding the same listening inode:
//
//   nginx: master ─┬─ nginx: worker
//                  └─ nginx: worker
TEST(Scoring, PreforkMasterOwnsSharedListener) {
  CaptureBuilder b;
  ProcessId m = b.seen(0, 100, 1, 0, 500, "/usr/sbin/nginx",
                       {"nginx: master process nginx -g daemon off;"});
  ProcessId w1 = b.seen(0, 101, 7, 100, 510, "/usr/sbin/nginx",
                        {"nginx: worker process"}, 33);
  ProcessId w2 = b.seen(0, 102, 8, 100, 510, "/usr/sbin/nginx",
                        {"nginx: worker process"}, 33);
  for (ProcessId id : {m, w1, w2}) {
    b.listen(1, id, {tcp("0.0.0.0", 8080, 900)});
  }
  ExecGraph graph = ExecGraph::build(b.capture());
  const Catalogue catalogue = Catalogue::load_default();
  GraphScores scores = score_graph(graph, b.capture(), catalogue);

  EXPECT_EQ(scores.features[0].owned_sockets.size(), 1u);
  EXPECT_EQ(scores.features[0].children, 2);
  for (size_t worker : {1u, 2u}) {
    SCOPED_TRACE(worker);
    EXPECT_TRUE(scores.features[worker].owned_sockets.empty());
    EXPECT_EQ(scores.features[worker].worker_of, std::optional<size_t>(0));
  }
  ASSERT_EQ(scores.ranked.size(), 1u);
  EXPECT_EQ(scores.ranked[0].node, 0u);
  EXPECT_DOUBLE_EQ(scores.ranked[0].confidence, 1.0);
}

// Lifetime of a process that predates the window counts from its start
// ticks: 100000 - 99000 ticks at 100 Hz is 10 s, plus 3 s observed.
TEST(Scoring, LifetimeIncludesTimeBeforeWindow) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 100, 1, 0, 99000, "/app/srv", {"srv"});
  b.seen(1000, 101, 2, 100, 100100, "/app/other", {"other"});
  b.exec(2000, p, "/app/srv2", {"srv2"});
  ExecGraph graph = ExecGraph::build(b.capture());
  const Catalogue catalogue = Catalogue::load_default();
  auto features = compute_features(graph, b.capture(), catalogue);
  EXPECT_EQ(features[0].lifetime_ms, 12000);  // 10 s before + 2 s to exec
  EXPECT_EQ(features[1].lifetime_ms, 2000);   // first seen at 1 s
  EXPECT_EQ(features[2].lifetime_ms, 1000);   // new image at 2 s
}

// docker-init (pid 1) ── tini ── server: execs downstream counts running
// images behind an exec; the fork copy before an exec is not running.
TEST(Scoring, ExecsDownstream) {
  CaptureBuilder b;
  b.seen(0, 100, 1, 0, 500, "/sbin/docker-init",
         {"/sbin/docker-init", "--", "tini", "--", "srv"});
  ProcessId t = b.seen(0, 101, 7, 100, 510, "/sbin/docker-init",
                       {"/sbin/docker-init", "--", "tini", "--", "srv"});
  b.exec(1, t, "/usr/bin/tini", {"tini", "--", "srv"});
  ProcessId s =
      b.seen(2, 102, 8, 101, 520, "/usr/bin/tini", {"tini", "--", "srv"});
  b.exec(3, s, "/app/srv", {"srv"});
  ProcessId h = b.seen(100, 103, 9, 102, 100050, "/app/srv", {"srv"});
  b.exec(101, h, "/bin/true", {"true"});
  b.exit(102, h);

  ExecGraph graph = ExecGraph::build(b.capture());
  const Catalogue catalogue = Catalogue::load_default();
  auto features = compute_features(graph, b.capture(), catalogue);
  // Nodes: docker-init, copy, tini, tini copy, srv, helper, true.
  ASSERT_EQ(graph.nodes().size(), 7u);
  EXPECT_EQ(features[0].execs_downstream, 2);  // tini and srv
  EXPECT_EQ(features[2].execs_downstream, 1);  // srv
  EXPECT_EQ(features[4].execs_downstream, 0);  // the helper exited
  EXPECT_TRUE(features[0].wrapper.has_value());
  EXPECT_FALSE(features[4].wrapper.has_value());
}

}  // namespace
}  // namespace entrytrace
