// Static mode on the small images of fixtures/images: each has the image's
// config.json and an unpacked rootfs/ whose binaries are stand-ins that
// start with the ELF magic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "detectors/result_json.h"
#include "detectors/static_resolve.h"
#include "detectors/static_result.h"

namespace entrytrace {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using Words = std::vector<std::string>;

const Catalogue& catalogue() {
  static const Catalogue kCatalogue = Catalogue::load_default();
  return kCatalogue;
}

std::string image_directory(const std::string& name) {
  return std::string(ENTRYTRACE_FIXTURES) + "/images/" + name;
}

ImageConfig load_config(const std::string& name) {
  std::ifstream in(image_directory(name) + "/config.json");
  std::ostringstream text;
  text << in.rdbuf();
  auto config = parse_image_config(text.str());
  EXPECT_TRUE(config.ok()) << name << ": " << config.error().message;
  return config.ok() ? *config : ImageConfig{};
}

EntryTraceResult analyze_fixture(const std::string& name,
                                 const CommandOverrides& overrides = {}) {
  auto root = RootDirectory::open(image_directory(name) + "/rootfs");
  EXPECT_TRUE(root.ok()) << root.error().message;
  auto result = analyze_image(load_config(name), overrides, *root, catalogue(),
                              StaticOptions{"image " + name, 3});
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? *result : EntryTraceResult{};
}

std::string all_text(const EntryTraceResult& result) {
  return result_to_json(result);
}

// docker-entrypoint.sh (pid 1, root) -exec-> gosu redis "$0" "$@"
//   -exec-> docker-entrypoint.sh (redis) -exec-> redis-server (redis)
TEST(StaticKvServer, ServerAsServiceUser) {
  struct Case {
    const char* name;
    Words args;
    Words argv;
  };
  const Case cases[] = {
      {"no arguments", {}, {"redis-server"}},
      {"config file",
       {"/etc/app/app.conf"},
       {"redis-server", "/etc/app/app.conf"}},
      {"options",
       {"--maxmemory", "100mb"},
       {"redis-server", "--maxmemory", "100mb"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EntryTraceResult result =
        analyze_fixture("kv-server", CommandOverrides{std::nullopt, c.args});
    EXPECT_EQ(result.mode, "static");
    ASSERT_EQ(result.terminals.size(), 1u);
    const Terminal& top = result.terminals.front();
    EXPECT_EQ(top.path, "/usr/local/bin/redis-server");
    EXPECT_EQ(top.argv, c.argv);
    EXPECT_EQ(top.user.uid, 999u);
    EXPECT_EQ(top.user.name, "redis");
    EXPECT_EQ(top.runtime, "native");
    EXPECT_EQ(top.ns_pid, 1);
    EXPECT_DOUBLE_EQ(top.confidence, kStaticResolved);
    EXPECT_THAT(top.evidence, Contains("wrapper gosu (pid 1) collapsed into "
                                       "/usr/local/bin/redis-server"));
    EXPECT_THAT(top.evidence, Contains("gosu switches to uid 999 (redis)"));
    EXPECT_THAT(top.evidence,
                Contains(HasSubstr("exec chain: pid 1 ran /usr/bin/dash "
                                   "(/bin/sh /usr/local/bin/"
                                   "docker-entrypoint.sh")));
    EXPECT_TRUE(result.diagnostics.empty());
  }
}

TEST(StaticKvServer, ShellArgumentIsInteractiveShell) {
  EntryTraceResult result =
      analyze_fixture("kv-server", CommandOverrides{std::nullopt, {"sh"}});
  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals.front();
  EXPECT_EQ(top.path, "/usr/bin/dash");
  EXPECT_EQ(top.argv, Words{"sh"});
  EXPECT_EQ(top.user.uid, 0u);
  EXPECT_EQ(top.user.name, "root");
  EXPECT_EQ(top.runtime, "shell");
  EXPECT_DOUBLE_EQ(top.confidence, kStaticInteractiveShell);
  EXPECT_THAT(top.evidence,
              Contains("the command is an interactive shell (/usr/bin/dash, "
                       "no script or -c) as uid 0 (root), not a service"));
  EXPECT_THAT(result.diagnostics,
              Contains(HasSubstr("the container runs an interactive shell")));
}

TEST(StaticKvServer, ExecGraphFollowsReExec) {
  EntryTraceResult result = analyze_fixture("kv-server");
  std::vector<std::string> ids;
  for (const ResultNode& node : result.exec_graph.nodes) {
    ids.push_back(node.id + " " + node.exe.value_or("?"));
  }
  // The entrypoint as root, find as its child, gosu, the entrypoint as
  // redis, the server.
  EXPECT_EQ(ids, (Words{"p1-0-0 /usr/bin/dash", "p2-0-0 /usr/bin/find",
                        "p1-0-1 /usr/local/bin/gosu", "p1-0-2 /usr/bin/dash",
                        "p1-0-3 /usr/local/bin/redis-server"}));
  ASSERT_EQ(result.exec_graph.edges.size(), 4u);
  EXPECT_EQ(result.exec_graph.edges[0].kind, "clone");
  EXPECT_EQ(result.exec_graph.edges[0].from, "p1-0-0");
  EXPECT_EQ(result.exec_graph.nodes[1].end_reason, "exited");
  EXPECT_EQ(result.exec_graph.nodes[0].end_reason, "exec");
  EXPECT_EQ(result.exec_graph.nodes[4].euid, 999u);
}

TEST(StaticKvServer, Deterministic) {
  EXPECT_EQ(all_text(analyze_fixture("kv-server")),
            all_text(analyze_fixture("kv-server")));
}

// /docker-entrypoint.sh (pid 1) ── hooks (children, exited)
//                       -exec-> nginx -g "daemon off;"
TEST(StaticWebHooks, HooksAreShortLivedChildren) {
  EntryTraceResult result = analyze_fixture("web-hooks");
  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals.front();
  EXPECT_EQ(top.path, "/usr/sbin/nginx");
  EXPECT_EQ(top.argv, (Words{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(top.ns_pid, 1);
  EXPECT_DOUBLE_EQ(top.confidence, kStaticResolved);
  EXPECT_THAT(top.evidence,
              Contains("line 21 of /docker-entrypoint.sh: ran "
                       "/docker-entrypoint.d/10-listen-ipv6.sh as a "
                       "short-lived child, not a candidate"));
  EXPECT_THAT(top.evidence,
              Contains(HasSubstr("ran /docker-entrypoint.d/30-templates.sh as "
                                 "a short-lived child")));
  EXPECT_THAT(top.evidence,
              Contains("line 13 of /docker-entrypoint.sh: sourced "
                       "/docker-entrypoint.d/20-workers.envsh"));
  EXPECT_THAT(top.evidence, Not(Contains(HasSubstr("40-disabled.sh"))));
  EXPECT_THAT(top.evidence, Contains(HasSubstr("nginx is a pre-fork server")));

  int hooks = 0;
  for (const ResultNode& node : result.exec_graph.nodes) {
    if (node.exe && node.exe->starts_with("/docker-entrypoint.d/")) {
      ++hooks;
      EXPECT_EQ(node.end_reason, "exited") << node.id;
      EXPECT_EQ(node.ppid, 1) << node.id;
    }
  }
  EXPECT_EQ(hooks, 2);
}

// docker-php-entrypoint (dash) -exec-> apache2-foreground (bash, sources
// envvars) -exec-> apache2 -DFOREGROUND
TEST(StaticPhpApache, ApacheWithEmbeddedPhp) {
  EntryTraceResult result = analyze_fixture("php-apache");
  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals.front();
  EXPECT_EQ(top.path, "/usr/sbin/apache2");
  EXPECT_EQ(top.argv, (Words{"apache2", "-DFOREGROUND"}));
  EXPECT_EQ(top.runtime, "native");
  EXPECT_EQ(top.embedded_runtimes, Words{"php"});
  EXPECT_EQ(top.user.uid, 0u);
  EXPECT_THAT(top.evidence,
              Contains("php embedded: /etc/apache2/mods-enabled/php.load "
                       "loads /usr/lib/apache2/modules/libphp.so"));
  EXPECT_THAT(top.evidence,
              Contains("apache2 is a pre-fork server: this process is the "
                       "master, and the workers it forks are its children"));
  EXPECT_THAT(top.evidence,
              Contains(HasSubstr("exec chain: pid 1 ran /usr/bin/bash "
                                 "(/bin/bash /usr/local/bin/"
                                 "apache2-foreground) before exec'ing toward "
                                 "/usr/sbin/apache2")));
  EXPECT_THAT(top.evidence,
              Contains(HasSubstr("exec chain: pid 1 ran /usr/bin/dash")));
  EXPECT_THAT(top.evidence,
              Contains("line 8 of /usr/local/bin/apache2-foreground: sourced "
                       "/etc/apache2/envvars"));
  EXPECT_TRUE(result.diagnostics.empty());
}

TEST(StaticPhpApache, NoEmbeddedPhpWithoutLibrary) {
  RecordedFiles files;
  files.add("/etc/apache2/mods-enabled/php.load",
            {"LoadModule php_module /usr/lib/apache2/modules/libphp.so\n"});
  EXPECT_TRUE(find_embedded_runtimes("/usr/sbin/apache2", {"apache2"}, files,
                                     catalogue())
                  .empty());
  files.add("/usr/lib/apache2/modules/libphp.so", {"\x7f"
                                                   "ELF"});
  EXPECT_EQ(find_embedded_runtimes("/usr/sbin/apache2", {"apache2"}, files,
                                   catalogue())
                .size(),
            1u);
  EXPECT_TRUE(
      find_embedded_runtimes("/usr/sbin/nginx", {"nginx"}, files, catalogue())
          .empty());
}

// tini (pid 1) ── dash -c (pid 2, stays) ── python3.11 (pid 3)
TEST(StaticPythonTini, ResidentShellAndUser) {
  EntryTraceResult result = analyze_fixture("python-tini");
  ASSERT_EQ(result.terminals.size(), 1u);
  const Terminal& top = result.terminals.front();
  EXPECT_EQ(top.path, "/usr/bin/python3.11");
  EXPECT_EQ(top.argv, (Words{"python3", "-m", "http.server", "8000"}));
  EXPECT_EQ(top.runtime, "python");
  EXPECT_EQ(top.ns_pid, 3);
  EXPECT_EQ(top.user.uid, 1000u);
  EXPECT_EQ(top.user.name, "app");
  EXPECT_DOUBLE_EQ(top.confidence, kStaticResolved * kStaticForegroundFactor);
  EXPECT_THAT(top.evidence, Contains("wrapper tini (pid 1) collapsed into "
                                     "/usr/bin/python3.11"));
  EXPECT_THAT(top.evidence, Contains("wrapper dash (pid 2) collapsed into "
                                     "/usr/bin/python3.11"));
  EXPECT_THAT(result.diagnostics, Not(Contains(HasSubstr("pid 1 is a shell"))));
}

TEST(StaticCmdOnly, EntrypointOverrideDropsCmd) {
  EntryTraceResult result =
      analyze_fixture("cmd-only", CommandOverrides{Words{"migrate"}, {}});
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_EQ(result.terminals[0].path, "/usr/local/bin/migrate");
  EXPECT_EQ(result.terminals[0].argv, Words{"migrate"});
  EXPECT_THAT(result.evidence,
              Contains(HasSubstr("so the image's Cmd is dropped")));
}

TEST(StaticCmdOnly, EmptyOverrideRunsArguments) {
  EntryTraceResult result = analyze_fixture(
      "cmd-only", CommandOverrides{Words{}, {"app-server", "--port", "9000"}});
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_EQ(result.terminals[0].argv, (Words{"app-server", "--port", "9000"}));
}

TEST(StaticCmdOnly, ShellFormBashExecsDashStays) {
  // Shell form as the runtimes store it: ["/bin/sh", "-c", "..."].
  EntryTraceResult result = analyze_fixture(
      "cmd-only",
      CommandOverrides{Words{}, {"/bin/sh", "-c", "app-server --port 80"}});
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_EQ(result.terminals[0].ns_pid, 2);
  EXPECT_THAT(result.diagnostics,
              Contains("pid 1 is a shell (/usr/bin/dash) that does not "
                       "forward SIGTERM to its children"));

  result = analyze_fixture(
      "cmd-only",
      CommandOverrides{Words{}, {"/bin/sh", "-c", "exec app-server"}});
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_EQ(result.terminals[0].ns_pid, 1);
  EXPECT_EQ(result.terminals[0].path, "/usr/local/bin/app-server");
  EXPECT_TRUE(result.diagnostics.empty());
}

TEST(StaticCmdOnly, MissingExecutable) {
  EntryTraceResult result =
      analyze_fixture("cmd-only", CommandOverrides{Words{"no-such-tool"}, {}});
  ASSERT_EQ(result.terminals.size(), 1u);
  EXPECT_FALSE(result.terminals[0].path.has_value());
  EXPECT_DOUBLE_EQ(result.terminals[0].confidence, kStaticNotRunnable);
  EXPECT_THAT(result.diagnostics,
              Contains(HasSubstr("no-such-tool is not an executable file in "
                                 "the image")));
}

// Links that point out of the root resolve inside it, where the targets do
// not exist, although /usr/bin/env and /etc/passwd exist on the host.
TEST(StaticEscapingLinks, StayInsideRoot) {
  for (const char* entrypoint :
       {"/usr/local/bin/relative-escape", "/usr/local/bin/absolute-escape",
        "/usr/local/bin/start"}) {
    SCOPED_TRACE(entrypoint);
    EntryTraceResult result = analyze_fixture(
        "escaping-links", CommandOverrides{Words{entrypoint}, {}});
    ASSERT_EQ(result.terminals.size(), 1u);
    EXPECT_FALSE(result.terminals[0].path.has_value());
    EXPECT_THAT(result.diagnostics,
                Contains(HasSubstr("is not an executable file in the image")));
  }
  EntryTraceResult result = analyze_fixture("escaping-links");
  ASSERT_FALSE(result.terminals.empty());
  EXPECT_EQ(result.terminals[0].user.name, std::nullopt);
}

TEST(ResolveLinks, InsideRecordedRoot) {
  auto root = RootDirectory::open(image_directory("php-apache") + "/rootfs");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(resolve_links("/bin/sh", *root), "/usr/bin/dash");
  EXPECT_EQ(resolve_links("/etc/apache2/mods-enabled/php.load", *root),
            "/etc/apache2/mods-available/php.load");
  EXPECT_EQ(resolve_links("/usr/bin/../sbin/apache2", *root),
            "/usr/sbin/apache2");
}

}  // namespace
}  // namespace entrytrace
