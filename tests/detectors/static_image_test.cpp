#include "detectors/static_image.h"

#include <gtest/gtest.h>

namespace entrytrace {
namespace {

using Words = std::vector<std::string>;

TEST(ParseImageConfig, OciLayout) {
  auto config = parse_image_config(R"({"architecture": "amd64", "config": {
      "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["redis-server"],
      "User": "redis", "Env": ["PATH=/usr/bin", "A=b=c"],
      "WorkingDir": "/data"}})");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->entrypoint, Words{"docker-entrypoint.sh"});
  EXPECT_EQ(config->cmd, Words{"redis-server"});
  EXPECT_EQ(config->user, "redis");
  EXPECT_EQ(config->env, (Words{"PATH=/usr/bin", "A=b=c"}));
  EXPECT_EQ(config->working_dir, "/data");
}

TEST(ParseImageConfig, DockerInspectLayouts) {
  for (
      const char* text :
      {R"({"Id": "sha256:1", "Config": {"Cmd": ["nginx"], "Entrypoint": null}})",
       R"([{"Id": "sha256:1", "Config": {"Cmd": ["nginx"]}}])"}) {
    SCOPED_TRACE(text);
    auto config = parse_image_config(text);
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_FALSE(config->entrypoint.has_value());
    EXPECT_EQ(config->cmd, Words{"nginx"});
    EXPECT_TRUE(config->user.empty());
  }
}

TEST(ParseImageConfig, RejectsOtherShapes) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"{", "invalid JSON at offset"},
      {R"({"Cmd": ["x"]})", "no \"config\" or \"Config\" object"},
      {R"([{"Config": {}}, {"Config": {}}])", "no \"config\""},
      {R"({"config": {"Cmd": "nginx -g daemon"}})",
       "Cmd must be an array of strings or null"},
      {R"({"config": {"Entrypoint": [1]}})", "Entrypoint must be an array"},
      {R"({"config": {"User": 0}})", "User must be a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto config = parse_image_config(c.text);
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.error().message.find(c.message), std::string::npos)
        << config.error().message;
  }
}

// Entrypoint and Cmd merging as "docker run [--entrypoint E] IMAGE [ARGS]"
// does it.
TEST(MergeCommand, FollowsContainerRuntimes) {
  struct Case {
    const char* name;
    std::optional<Words> entrypoint;
    std::optional<Words> cmd;
    std::optional<Words> entrypoint_override;
    Words args;
    Words expected;
  };
  const Case cases[] = {
      {"entrypoint and cmd",
       Words{"/entry.sh"},
       Words{"server"},
       std::nullopt,
       {},
       {"/entry.sh", "server"}},
      {"run arguments replace cmd",
       Words{"/entry.sh"},
       Words{"server"},
       std::nullopt,
       {"sh"},
       {"/entry.sh", "sh"}},
      {"cmd only",
       std::nullopt,
       Words{"server", "--port", "80"},
       std::nullopt,
       {},
       {"server", "--port", "80"}},
      {"override drops cmd",
       std::nullopt,
       Words{"server"},
       Words{"migrate"},
       {},
       {"migrate"}},
      {"override with arguments",
       Words{"/entry.sh"},
       Words{"server"},
       Words{"/bin/sh", "-c"},
       {"echo hi"},
       {"/bin/sh", "-c", "echo hi"}},
      {"empty override runs the arguments",
       Words{"/entry.sh"},
       Words{"server"},
       Words{},
       {"python3", "app.py"},
       {"python3", "app.py"}},
      {"shell form as stored",
       std::nullopt,
       Words{"/bin/sh", "-c", "exec server --port 80"},
       std::nullopt,
       {},
       {"/bin/sh", "-c", "exec server --port 80"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ImageConfig config;
    config.entrypoint = c.entrypoint;
    config.cmd = c.cmd;
    auto merged = merge_command(config, {c.entrypoint_override, c.args});
    ASSERT_TRUE(merged.ok()) << merged.error().message;
    EXPECT_EQ(merged->argv, c.expected);
  }
}

TEST(MergeCommand, OverrideExplainsDroppedCmd) {
  ImageConfig config;
  config.cmd = Words{"server"};
  auto merged = merge_command(config, {Words{"migrate"}, {}});
  ASSERT_TRUE(merged.ok());
  EXPECT_NE(merged->explanation.find("the image's Cmd is dropped"),
            std::string::npos)
      << merged->explanation;
}

TEST(MergeCommand, NothingToRunIsError) {
  ImageConfig config;
  config.cmd = Words{"server"};
  auto merged = merge_command(config, {Words{}, {}});
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.error().message.find("no command to run"),
            std::string::npos);
}

TEST(ParseEntrypointOverride, Forms) {
  EXPECT_EQ(*parse_entrypoint_override(""), Words{});
  EXPECT_EQ(*parse_entrypoint_override("[]"), Words{});
  EXPECT_EQ(*parse_entrypoint_override("/bin/sh"), Words{"/bin/sh"});
  EXPECT_EQ(*parse_entrypoint_override(R"(["/bin/sh", "-c"])"),
            (Words{"/bin/sh", "-c"}));
  auto bad = parse_entrypoint_override("[\"/bin/sh\",");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("[\"/bin/sh\","), std::string::npos);
  EXPECT_FALSE(parse_entrypoint_override("[1]").ok());
}

TEST(ContainerEnvironment, DefaultsPathAndHome) {
  ImageConfig config;
  config.env = {"A=1", "broken", "=x"};
  auto environment = container_environment(config, "/home/app");
  EXPECT_EQ(environment.at("PATH"), kDefaultContainerPath);
  EXPECT_EQ(environment.at("HOME"), "/home/app");
  EXPECT_EQ(environment.at("A"), "1");
  EXPECT_EQ(environment.size(), 3u);

  config.env = {"PATH=/opt/bin", "HOME=/root"};
  environment = container_environment(config, "/home/app");
  EXPECT_EQ(environment.at("PATH"), "/opt/bin");
  EXPECT_EQ(environment.at("HOME"), "/root");
}

TEST(ParsePasswd, SkipsMalformedLines) {
  auto users = parse_passwd_entries(
      "root:x:0:0:root:/root:/bin/sh\n"
      "broken line\n"
      "redis:x:999:998::/home/redis:/usr/sbin/nologin\n"
      "bad:x:notanumber:1::/:/bin/sh\n");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1].name, "redis");
  EXPECT_EQ(users[1].uid, 999u);
  EXPECT_EQ(users[1].gid, 998u);
  EXPECT_EQ(users[1].home, "/home/redis");
}

TEST(ResolveUser, Specs) {
  const auto users = parse_passwd_entries(
      "root:x:0:0:root:/root:/bin/sh\n"
      "redis:x:999:998::/home/redis:/bin/sh\n");
  struct Case {
    const char* spec;
    uint32_t uid;
    uint32_t gid;
    std::optional<std::string> name;
  };
  const Case cases[] = {{"", 0, 0, "root"},
                        {"redis", 999, 998, "redis"},
                        {"999", 999, 998, "redis"},
                        {"redis:5", 999, 5, "redis"},
                        {"1234:1234", 1234, 1234, std::nullopt}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    auto user = resolve_user(c.spec, users);
    ASSERT_TRUE(user.ok()) << user.error().message;
    EXPECT_EQ(user->uid, c.uid);
    EXPECT_EQ(user->gid, c.gid);
    EXPECT_EQ(user->name, c.name);
  }
  auto missing = resolve_user("postgres", users);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'postgres'"), std::string::npos);
}

}  // namespace
}  // namespace entrytrace
