// The text parsers behind supervisor configurations: supervisord's INI
// syntax, its command lines and expansions, and path helpers.
#include "detectors/supervisor_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace entrytrace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Words = std::vector<std::string>;

const IniSection* find_section(const IniFile& ini, const std::string& name) {
  for (const IniSection& section : ini.sections) {
    if (section.name == name) {
      return &section;
    }
  }
  return nullptr;
}

TEST(ParseIni, SectionsKeysAndComments) {
  const IniFile ini = parse_ini(
      "; supervisord.conf\n"
      "[supervisord]\n"
      "nodaemon = true   ; inline comment\n"
      "Logfile: /var/log/supervisord.log\n"
      "# another comment\n"
      "\n"
      "[program:web]\n"
      "command=/usr/sbin/nginx -g 'daemon off;'\n"
      "environment=A=\"1\",B=\"#2\"\n");
  EXPECT_TRUE(ini.errors.empty());
  ASSERT_EQ(ini.sections.size(), 2u);
  EXPECT_EQ(ini.sections[0].name, "supervisord");
  EXPECT_EQ(ini.sections[0].line, 2);
  EXPECT_EQ(ini.sections[0].values.at("nodaemon"), "true");
  EXPECT_EQ(ini.sections[0].values.at("logfile"), "/var/log/supervisord.log");
  EXPECT_EQ(ini.sections[1].name, "program:web");
  EXPECT_EQ(ini.sections[1].values.at("command"),
            "/usr/sbin/nginx -g 'daemon off;'");
  // "#" after a non-space character does not start a comment.
  EXPECT_EQ(ini.sections[1].values.at("environment"), "A=\"1\",B=\"#2\"");
}

TEST(ParseIni, IndentedLinesContinueValue) {
  const IniFile ini = parse_ini(
      "[include]\n"
      "files = conf.d/*.conf\n"
      "    extra/*.ini\n"
      "\n"
      "  more.conf\n"
      "next = 1\n");
  const IniSection* include = find_section(ini, "include");
  ASSERT_NE(include, nullptr);
  EXPECT_EQ(include->values.at("files"),
            "conf.d/*.conf\nextra/*.ini\n\nmore.conf");
  EXPECT_EQ(include->values.at("next"), "1");
}

TEST(ParseIni, RepeatedSectionMerges) {
  const IniFile ini = parse_ini(
      "[program:a]\ncommand=/bin/a\nautostart=false\n"
      "[program:b]\ncommand=/bin/b\n"
      "[program:a]\ncommand=/bin/a2\n");
  ASSERT_EQ(ini.sections.size(), 2u);
  EXPECT_EQ(ini.sections[0].values.at("command"), "/bin/a2");
  EXPECT_EQ(ini.sections[0].values.at("autostart"), "false");
}

TEST(ParseIni, BadLinesAreListed) {
  const IniFile ini = parse_ini(
      "orphan = 1\n"
      "[program:x]\n"
      "command /bin/x\n"
      "= no key\r\n"
      "command=/bin/x\r\n");
  ASSERT_EQ(ini.errors.size(), 3u);
  EXPECT_THAT(ini.errors[0], HasSubstr("line 1: a value before"));
  EXPECT_THAT(ini.errors[1], HasSubstr("line 3"));
  EXPECT_THAT(ini.errors[2], HasSubstr("line 4"));
  EXPECT_EQ(find_section(ini, "program:x")->values.at("command"), "/bin/x");
}

TEST(SplitCommand, QuotesAndEscapes) {
  struct Case {
    std::string line;
    Words words;
  };
  const std::vector<Case> cases = {
      {"/usr/sbin/nginx -g 'daemon off;'",
       {"/usr/sbin/nginx", "-g", "daemon off;"}},
      {"  php-fpm8.2   -F  ", {"php-fpm8.2", "-F"}},
      {R"(sh -c "echo \"hi\" \\ \$x")", {"sh", "-c", R"(echo "hi" \ \$x)"}},
      {R"(a\ b 'c\d' "")", {"a b", R"(c\d)", ""}},
      {"x'y'z", {"xyz"}},
      {"", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    auto words = split_command(c.line);
    ASSERT_TRUE(words) << words.error().message;
    EXPECT_EQ(*words, c.words);
  }
}

TEST(SplitCommand, UnterminatedQuoteFails) {
  auto words = split_command("nginx -g 'daemon off;");
  ASSERT_FALSE(words);
  EXPECT_THAT(words.error().message, HasSubstr("no closing quotation"));
}

TEST(ExpandPercent, KnownAndUnknownNames) {
  std::vector<std::string> unresolved;
  const std::string out = expand_percent(
      "%(here)s/app -n %(process_num)02d %(ENV_HOME)s 100%% %(x)q",
      {{"here", "/etc/app"}, {"process_num", "3"}}, unresolved);
  EXPECT_EQ(out, "/etc/app/app -n 03 %(ENV_HOME)s 100% %(x)q");
  EXPECT_THAT(unresolved, ElementsAre("ENV_HOME"));
}

TEST(ExpandPercent, WidthAndFlags) {
  std::vector<std::string> unresolved;
  const std::map<std::string, std::string> values = {{"n", "7"},
                                                     {"name", "web"}};
  EXPECT_EQ(expand_percent("[%(n)3d][%(n)-3d][%(name)5s]", values, unresolved),
            "[  7][7  ][  web]");
  EXPECT_TRUE(unresolved.empty());
}

TEST(ParseIniBool, Words) {
  EXPECT_TRUE(parse_ini_bool("Yes", false));
  EXPECT_TRUE(parse_ini_bool(" on ", false));
  EXPECT_FALSE(parse_ini_bool("0", true));
  EXPECT_FALSE(parse_ini_bool("FALSE", true));
  EXPECT_TRUE(parse_ini_bool("maybe", true));
}

TEST(AbsolutePath, JoinsAndNormalises) {
  EXPECT_EQ(absolute_path("/etc/supervisor", "conf.d/*.conf"),
            "/etc/supervisor/conf.d/*.conf");
  EXPECT_EQ(absolute_path("/srv/app", "../etc//x.conf"), "/srv/etc/x.conf");
  EXPECT_EQ(absolute_path("/srv", "/etc/./a/../b"), "/etc/b");
  EXPECT_EQ(absolute_path("/", ".."), "/");
  EXPECT_EQ(parent_directory("/etc/app.conf"), "/etc");
  EXPECT_EQ(parent_directory("/app.conf"), "/");
}

TEST(GlobComponent, LeadingDotIsLiteral) {
  EXPECT_TRUE(glob_component_matches("*.conf", "web.conf"));
  EXPECT_FALSE(glob_component_matches("*.conf", ".web.conf"));
  EXPECT_TRUE(glob_component_matches(".*.conf", ".web.conf"));
  EXPECT_TRUE(glob_component_matches("[ab]?.ini", "b1.ini"));
  EXPECT_FALSE(glob_component_matches("*.conf", "web.conf.bak"));
}

}  // namespace
}  // namespace entrytrace
