// The catalogue data that the supervisor detectors read: each supervisor's
// configuration syntax, the daemon entries, and the errors of a user file
// that gets them wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalogue/catalogue.h"

namespace entrytrace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SupervisorCatalogue, DefaultSupervisordSyntax) {
  const Catalogue catalogue = Catalogue::load_default();
  const SupervisorEntry* entry = catalogue.find_supervisor("supervisord");
  ASSERT_NE(entry, nullptr);
  ASSERT_TRUE(entry->config);
  const SupervisorConfigSyntax& syntax = *entry->config;
  EXPECT_EQ(syntax.format, SupervisorFormat::kSupervisordIni);
  EXPECT_THAT(syntax.path_options, ElementsAre("-c", "--configuration"));
  ASSERT_EQ(syntax.search_paths.size(), 6u);
  EXPECT_EQ(syntax.search_paths.front(), "{prefix}/etc/supervisord.conf");
  EXPECT_EQ(syntax.search_paths.back(), "/etc/supervisor/supervisord.conf");
  EXPECT_EQ(syntax.include_section, "include");
  EXPECT_EQ(syntax.include_key, "files");
  EXPECT_THAT(syntax.service_sections,
              ElementsAre("program", "fcgi-program", "eventlistener"));
}

TEST(SupervisorCatalogue, DefaultRunitLayout) {
  const Catalogue catalogue = Catalogue::load_default();
  const SupervisorEntry* scan = catalogue.find_supervisor("runsvdir");
  ASSERT_NE(scan, nullptr);
  ASSERT_TRUE(scan->config);
  EXPECT_EQ(scan->config->format, SupervisorFormat::kRunitScan);
  EXPECT_TRUE(scan->config->path_operand);
  EXPECT_EQ(scan->config->layout.down, "down");
  EXPECT_EQ(scan->config->layout.state, "supervise/stat");
  EXPECT_EQ(scan->config->layout.hidden_prefix, ".");
  const SupervisorEntry* service = catalogue.find_supervisor("runsv");
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->config);
  EXPECT_EQ(service->config->format, SupervisorFormat::kRunitService);
  EXPECT_THAT(service->config->search_paths, ElementsAre("."));
  const SupervisorEntry* s6 = catalogue.find_supervisor("s6-svscan");
  ASSERT_NE(s6, nullptr);
  EXPECT_FALSE(s6->config);
}

TEST(SupervisorCatalogue, DaemonsMatchByProgramName) {
  const Catalogue catalogue = Catalogue::load_default();
  EXPECT_EQ(catalogue.match_daemon("/usr/sbin/cron", {"cron", "-f"}), "cron");
  EXPECT_EQ(catalogue.match_daemon("/usr/sbin/rsyslogd", {"rsyslogd"}),
            "syslog");
  // busybox is a multi-call binary: argv[0] names the program.
  EXPECT_EQ(catalogue.match_daemon("/bin/busybox", {"crond", "-f"}), "cron");
  EXPECT_FALSE(catalogue.match_daemon("/usr/sbin/nginx", {"nginx"}));
  EXPECT_DOUBLE_EQ(catalogue.weights().daemon_penalty, -6.0);
  EXPECT_DOUBLE_EQ(catalogue.weights().supervisor_penalty, -6.0);
}

TEST(SupervisorCatalogue, UserFileReplacesConfig) {
  Catalogue catalogue = Catalogue::load_default();
  Status status = catalogue.merge_json(
      R"({"supervisors": [{"name": "supervisord", "exe": "supervisord",
            "config": {"format": "supervisord-ini",
                       "searchPaths": ["/opt/app/supervisord.conf"]}}],
          "daemons": [{"name": "metrics agent", "exe": "node_exporter"}],
          "scoring": {"daemonPenalty": -2}})",
      "user.json");
  ASSERT_TRUE(status) << status.error().message;
  const SupervisorEntry* entry = catalogue.find_supervisor("supervisord");
  ASSERT_TRUE(entry->config);
  EXPECT_THAT(entry->config->search_paths,
              ElementsAre("/opt/app/supervisord.conf"));
  EXPECT_TRUE(entry->config->path_options.empty());
  EXPECT_EQ(catalogue.match_daemon("/usr/bin/node_exporter", {}),
            "metrics agent");
  EXPECT_DOUBLE_EQ(catalogue.weights().daemon_penalty, -2.0);
}

TEST(SupervisorCatalogue, InvalidConfigIsRejected) {
  struct Case {
    std::string json;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {R"({"supervisors": [{"name": "s", "exe": "s",
            "config": {"format": "systemd"}}]})",
       {"supervisors[0] (s).config", "invalid format \"systemd\""}},
      {R"({"supervisors": [{"name": "s", "exe": "s", "config": {}}]})",
       {"supervisors[0] (s).config", "missing string member \"format\""}},
      {R"({"supervisors": [{"name": "s", "exe": "s",
            "config": {"format": "runit-scan", "layout": {"sup": "x"}}}]})",
       {"supervisors[0] (s).config.layout", "unknown member \"sup\""}},
      {R"({"supervisors": [{"name": "s", "exe": "s",
            "config": {"format": "runit-scan", "pathOperand": "yes"}}]})",
       {"\"pathOperand\" must be true or false"}},
      {R"({"daemons": [{"name": "d", "exe": "("}]})",
       {"daemons[0] (d).exe", "invalid re2 pattern"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    Catalogue catalogue = Catalogue::load_default();
    Status status = catalogue.merge_json(c.json, "user.json");
    ASSERT_FALSE(status);
    for (const std::string& fragment : c.fragments) {
      EXPECT_THAT(status.error().message, HasSubstr(fragment));
    }
    EXPECT_TRUE(catalogue.find_supervisor("supervisord")->config);
  }
}

}  // namespace
}  // namespace entrytrace
