// Fallback to static mode and the merge of live and static results: the
// live side is a recorded capture run through analyze(), the static side
// the kv-server image of fixtures/images.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "detectors/analyze.h"
#include "detectors/result_json.h"
#include "detectors/static_resolve.h"
#include "detectors/static_result.h"
#include "tests/graph/capture_builder.h"

namespace entrytrace {
namespace {

using testing::CaptureBuilder;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::tcp;

const Catalogue& catalogue() {
  static const Catalogue kCatalogue = Catalogue::load_default();
  return kCatalogue;
}

EntryTraceResult static_kv_server() {
  const std::string directory =
      std::string(ENTRYTRACE_FIXTURES) + "/images/kv-server";
  std::ifstream in(directory + "/config.json");
  std::ostringstream text;
  text << in.rdbuf();
  auto config = parse_image_config(text.str());
  EXPECT_TRUE(config.ok());
  auto root = RootDirectory::open(directory + "/rootfs");
  EXPECT_TRUE(root.ok());
  auto result =
      analyze_image(*config, {}, *root, catalogue(), StaticOptions{"kv", 3});
  EXPECT_TRUE(result.ok());
  return *result;
}

EntryTraceResult live(const std::string& exe,
                      const std::vector<std::string>& argv) {
  CaptureBuilder b;
  ProcessId p = b.seen(0, 4000, 1, 3990, 500, "/usr/bin/dash",
                       {"/bin/sh", "/usr/local/bin/docker-entrypoint.sh"});
  b.exec(5, p, exe, argv, 999);
  b.listen(50, p, {tcp("0.0.0.0", 6379, 31)});
  return analyze(b.capture(), catalogue(), AnalyzeOptions{});
}

TEST(StaticFallback, SaysWhyAndKeepsStaticMode) {
  EntryTraceResult result = fall_back_to_static(static_kv_server(),
                                                "launch failed: Operation not "
                                                "permitted");
  EXPECT_EQ(result.mode, "static");
  ASSERT_FALSE(result.evidence.empty());
  EXPECT_EQ(result.evidence.front(),
            "Dynamic capture unavailable: launch failed: Operation not "
            "permitted");
  ASSERT_FALSE(result.terminals.empty());
  EXPECT_EQ(result.terminals[0].path, "/usr/local/bin/redis-server");
}

// Live:   dash (pid 1) -exec-> redis-server (pid 1, listening on 6379)
// Static: the same executable.
TEST(StaticMerge, AgreementRaisesConfidence) {
  EntryTraceResult dynamic =
      live("/usr/local/bin/redis-server", {"redis-server", "*:6379"});
  const double before = dynamic.terminals.at(0).confidence;
  EntryTraceResult merged =
      merge_static(dynamic, static_kv_server(), catalogue());
  EXPECT_EQ(merged.mode, "merged");
  const Terminal& top = merged.terminals.at(0);
  EXPECT_DOUBLE_EQ(top.confidence, 1 - (1 - before) * (1 - kStaticResolved));
  EXPECT_THAT(top.evidence,
              Contains(HasSubstr("static analysis of the image agrees: it "
                                 "resolves the same executable "
                                 "/usr/local/bin/redis-server")));
  EXPECT_THAT(merged.evidence,
              Contains(HasSubstr("static analysis of the image: image "
                                 "Entrypoint")));
}

TEST(StaticMerge, DisagreementLowersConfidence) {
  EntryTraceResult dynamic =
      live("/usr/bin/python3.11", {"python3", "-m", "http.server"});
  const double before = dynamic.terminals.at(0).confidence;
  EntryTraceResult merged =
      merge_static(dynamic, static_kv_server(), catalogue());
  const Terminal& top = merged.terminals.at(0);
  EXPECT_EQ(top.path, "/usr/bin/python3.11");
  EXPECT_DOUBLE_EQ(top.confidence, before * (1 - kStaticResolved / 2));
  const std::string conflict =
      "live capture and static analysis disagree: the live top terminal is "
      "/usr/bin/python3.11 (python3 -m http.server), static analysis of the "
      "image resolves /usr/local/bin/redis-server (redis-server) with "
      "confidence 0.900";
  EXPECT_THAT(top.evidence, Contains(HasSubstr(conflict)));
  EXPECT_THAT(merged.diagnostics, Contains(conflict));
}

// Live: supervisord (pid 1) ── nginx (pid 7). Static resolves something
// else; the live supervisor keeps its confidence.
TEST(StaticMerge, LiveSupervisorIsMarked) {
  CaptureBuilder b;
  b.seen(0, 4000, 1, 3990, 500, "/usr/bin/python3.11",
         {"/usr/bin/python3", "/usr/bin/supervisord", "-n"});
  EntryTraceResult dynamic = analyze(b.capture(), catalogue(), {});
  ASSERT_EQ(dynamic.terminals.at(0).type, TerminalType::kSupervisor);
  const double before = dynamic.terminals.at(0).confidence;
  EntryTraceResult merged =
      merge_static(dynamic, static_kv_server(), catalogue());
  const Terminal& top = merged.terminals.at(0);
  EXPECT_EQ(top.type, TerminalType::kSupervisor);
  EXPECT_DOUBLE_EQ(top.confidence, before);
  EXPECT_THAT(top.evidence,
              Contains(HasSubstr("this terminal is a supervisor, which "
                                 "starts programs from its configuration")));
}

TEST(StaticMerge, UnresolvedStaticChangesNothing) {
  EntryTraceResult predicted = static_kv_server();
  predicted.terminals.at(0).path.reset();
  EntryTraceResult dynamic =
      live("/usr/bin/python3.11", {"python3", "-m", "http.server"});
  const double before = dynamic.terminals.at(0).confidence;
  EntryTraceResult merged = merge_static(dynamic, predicted, catalogue());
  EXPECT_DOUBLE_EQ(merged.terminals.at(0).confidence, before);
  EXPECT_THAT(merged.terminals.at(0).evidence,
              Contains(HasSubstr("did not resolve redis-server to a file")));
}

TEST(StaticMerge, Deterministic) {
  auto merge = [] {
    return result_to_json(
        merge_static(live("/usr/local/bin/redis-server", {"redis-server"}),
                     static_kv_server(), catalogue()));
  };
  EXPECT_EQ(merge(), merge());
}

}  // namespace
}  // namespace entrytrace
