#include "detectors/result_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "detectors/analyze.h"
#include "tests/graph/capture_builder.h"

namespace entrytrace {
namespace {

using testing::CaptureBuilder;
using ::testing::HasSubstr;
using testing::tcp;

// docker-init (pid 1) ── sh -c (pid 7) ── copy -exec-> python3 (pid 8)
//                                                  └── (forked) python3
CaptureBuilder sample() {
  CaptureBuilder b;
  b.seen(0, 4000, 1, 3990, 500, "/sbin/docker-init",
         {"/sbin/docker-init", "--", "sh", "-c", "python3 app.py"});
  const std::vector<std::string> sh = {"sh", "-c", "python3 app.py"};
  b.seen(0, 4007, 7, 4000, 510, "/usr/bin/dash", sh);
  ProcessId c = b.seen(3, 4008, 8, 4007, 100001, "/usr/bin/dash", sh);
  b.exec(4, c, "/usr/bin/python3.11", {"python3", "app.py"}, 65534);
  b.listen(100, c, {tcp("0.0.0.0", 8080, 71), tcp("::", 8080, 72)});
  ProcessId f = b.seen(200, 4009, 9, 4008, 100030, "/usr/bin/python3.11",
                       {"python3", "app.py"}, 65534);
  b.exec(250, f, "/usr/bin/uname", {"uname", "-a"}, 65534);
  b.exit(260, f);
  b.capture().evidence.push_back("backend procfs ran for 3000 ms");
  return b;
}

std::string json_of(const Capture& capture) {
  const Catalogue catalogue = Catalogue::load_default();
  return result_to_json(analyze(capture, catalogue, AnalyzeOptions{}));
}

TEST(ResultJson, SameCaptureSameBytes) {
  CaptureBuilder b = sample();
  const std::string first = json_of(b.capture());
  EXPECT_EQ(json_of(b.capture()), first);
  for (unsigned seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE(seed);
    EXPECT_EQ(json_of(b.shuffled(seed)), first);
  }
}

TEST(ResultJson, TopLevelKeyOrder) {
  CaptureBuilder b = sample();
  const std::string text = json_of(b.capture());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  rapidjson::Document document;
  document.Parse(text.c_str());
  ASSERT_FALSE(document.HasParseError());
  std::vector<std::string> keys;
  for (auto it = document.MemberBegin(); it != document.MemberEnd(); ++it) {
    keys.push_back(it->name.GetString());
  }
  EXPECT_EQ(keys,
            (std::vector<std::string>{"schema", "mode", "backend", "target",
                                      "window", "execGraph", "applicationFound",
                                      "terminals", "evidence", "diagnostics"}));
  EXPECT_STREQ(document["schema"].GetString(), "entrytrace.result/v1");
  EXPECT_STREQ(document["mode"].GetString(), "dynamic");
}

TEST(ResultJson, TerminalFields) {
  CaptureBuilder b = sample();
  const std::string text = json_of(b.capture());
  rapidjson::Document document;
  document.Parse(text.c_str());
  ASSERT_TRUE(document["terminals"].IsArray());
  ASSERT_GE(document["terminals"].Size(), 1u);
  const auto& top = document["terminals"][0];
  EXPECT_STREQ(top["type"].GetString(), "process");
  EXPECT_STREQ(top["path"].GetString(), "/usr/bin/python3.11");
  EXPECT_STREQ(top["runtime"].GetString(), "python");
  EXPECT_EQ(top["nsPid"].GetInt(), 8);
  EXPECT_EQ(top["user"]["uid"].GetInt(), 65534);
  EXPECT_STREQ(top["user"]["name"].GetString(), "nobody");
  EXPECT_EQ(top["features"]["listening"].GetInt(), 2);
  EXPECT_TRUE(top["features"]["wrapper"].IsNull());
  // Fixed rounding: three decimals, written as such.
  EXPECT_THAT(text, HasSubstr("\"confidence\": 1.000"));
  EXPECT_THAT(text, HasSubstr("\"requestedMs\": 3000.000"));
  EXPECT_THAT(text, HasSubstr("\"listening\": [\n"));
  EXPECT_THAT(text, HasSubstr("\"exitedAfterMs\": null"));
  EXPECT_THAT(text, HasSubstr("\"exitedAfterMs\": 260.000"));
  EXPECT_THAT(text, HasSubstr("\"endReason\": \"exec\""));
}

TEST(ResultJson, InvalidUtf8IsReplaced) {
  EntryTraceResult result;
  result.exec_graph.nodes.push_back(ResultNode{});
  result.exec_graph.nodes[0].argv = {
      std::string("a\xff"
                  "b")};
  const std::string text = result_to_json(result);
  EXPECT_THAT(text, HasSubstr("a\xEF\xBF\xBD"
                              "b"));
}

TEST(ResultJson, NegativeZeroIsWrittenAsZero) {
  EntryTraceResult result;
  Terminal terminal;
  terminal.score = -0.0001;
  result.terminals.push_back(terminal);
  const std::string text = result_to_json(result);
  EXPECT_THAT(text, HasSubstr("\"score\": 0.000"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("-0.000")));
}

}  // namespace
}  // namespace entrytrace
