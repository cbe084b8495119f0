#include "detectors/static_shell.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "detectors/static_glob.h"
#include "detectors/static_shell_syntax.h"

namespace entrytrace {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using Words = std::vector<std::string>;

RecordedFiles image_files() {
  RecordedFiles files;
  files.add("/usr/bin/server", {"\x7f"
                                "ELF",
                                true});
  files.add("/hooks/10-a.sh", {"#!/bin/sh\n", true});
  files.add("/hooks/20-b.envsh", {"export FROM_HOOK=yes\n", true});
  files.add("/hooks/30-c.sh", {"#!/bin/sh\n", false});
  files.add("/etc/app.env", {"MODE=production\nexport PORT=8080\n"});
  return files;
}

ShellOutcome run_script(const std::string& script, Words args = {},
                        uint32_t uid = 0, bool bash = false) {
  static const RecordedFiles kFiles = image_files();
  ShellStart start;
  start.script = script;
  start.script_path = "/entry.sh";
  start.arg0 = "/entry.sh";
  start.args = std::move(args);
  start.environment = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}};
  start.uid = uid;
  start.user_name = uid == 0 ? "root" : "app";
  start.bash = bash;
  return interpret_shell(start, kFiles);
}

// Scripts that end in exec, with the argv they exec.
TEST(StaticShell, ExecCases) {
  struct Case {
    const char* name;
    const char* script;
    Words args;
    Words argv;
  };
  const Case cases[] = {
      {"exec \"$@\"", "exec \"$@\"", {"server", "a b"}, {"server", "a b"}},
      {"set -- prepends",
       "set -- server \"$@\"\nexec \"$@\"",
       {"-v"},
       {"server", "-v"}},
      {"prefix removal",
       "[ \"${1#-}\" != \"$1\" ] && set -- server \"$@\"\n"
       "exec \"$@\"",
       {"--port", "1"},
       {"server", "--port", "1"}},
      {"suffix removal",
       "if [ \"${1%.conf}\" != \"$1\" ]; then\n"
       "  set -- server \"$@\"\nfi\nexec \"$@\"",
       {"/a.conf"},
       {"server", "/a.conf"}},
      {"default value",
       "exec server --mode \"${MODE:-dev}\"",
       {},
       {"server", "--mode", "dev"}},
      {"assign default",
       ": \"${LEVEL:=info}\"\nexec server \"$LEVEL\"",
       {},
       {"server", "info"}},
      {"alternative", "exec server ${DEBUG:+--debug} x", {}, {"server", "x"}},
      {"unquoted splits",
       "OPTS='-a -b'\nexec server $OPTS",
       {},
       {"server", "-a", "-b"}},
      {"quoted keeps",
       "exec server \"daemon off;\"",
       {},
       {"server", "daemon off;"}},
      {"case pattern",
       "case \"$1\" in\n  -*) set -- server \"$@\" ;;\n"
       "  *) ;;\nesac\nexec \"$@\"",
       {"-x"},
       {"server", "-x"}},
      {"id -u as root",
       "if [ \"$(id -u)\" = 0 ]; then exec server root; fi\n"
       "exec server user",
       {},
       {"server", "root"}},
      {"shift",
       "shift 2\nexec server \"$@\"",
       {"a", "b", "c"},
       {"server", "c"}},
      {"function",
       "start() { exec server \"$@\"; }\nstart one \"$1\"",
       {"two"},
       {"server", "one", "two"}},
      {"while arguments",
       "while [ $# -gt 0 ]; do\n case \"$1\" in\n --x) X=1 ;;\n esac\n"
       " shift\ndone\nexec server \"${X:-0}\"",
       {"--y", "--x"},
       {"server", "1"}},
      {"sourced file",
       ". /etc/app.env\nexec server \"$MODE\" \"$PORT\"",
       {},
       {"server", "production", "8080"}},
      {"length and arithmetic",
       "N=$(( ${#1} + 1 ))\nexec server $N",
       {"abc"},
       {"server", "4"}},
      {"test -a -o",
       "[ -f /usr/bin/server -a ! -d /usr/bin/server ] && "
       "exec server yes\nexec server no",
       {},
       {"server", "yes"}},
      {"command -v",
       "if command -v server >/dev/null; then exec server; "
       "fi",
       {},
       {"server"}},
      {"here-document skipped",
       "cat > /etc/x <<EOF\nexec nothing\nEOF\n"
       "exec server",
       {},
       {"server"}},
      {"empty \"$@\" makes no field", "exec server \"$@\"", {}, {"server"}},
      {"$0", "exec server \"$0\"", {}, {"server", "/entry.sh"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ShellOutcome outcome = run_script(c.script, c.args);
    ASSERT_EQ(outcome.end, ShellEnd::kExec) << outcome.stop;
    EXPECT_EQ(outcome.argv, c.argv);
  }
}

TEST(StaticShell, ReExecDependsOnUser) {
  const char* script =
      "if [ \"$1\" = server ] && [ \"$(id -u)\" = '0' ]; then\n"
      "  exec gosu app \"$0\" \"$@\"\nfi\nexec \"$@\"";
  ShellOutcome as_root = run_script(script, {"server"}, 0);
  EXPECT_EQ(as_root.argv, (Words{"gosu", "app", "/entry.sh", "server"}));
  ShellOutcome as_app = run_script(script, {"server"}, 1000);
  EXPECT_EQ(as_app.argv, Words{"server"});
}

TEST(StaticShell, ForGlobHooks) {
  ShellOutcome outcome = run_script(
      "for f in /hooks/*; do\n"
      "  case \"$f\" in\n"
      "    *.envsh) if [ -x \"$f\" ]; then . \"$f\"; fi ;;\n"
      "    *.sh) if [ -x \"$f\" ]; then \"$f\"; fi ;;\n"
      "  esac\n"
      "done\n"
      "exec server \"$FROM_HOOK\"");
  ASSERT_EQ(outcome.end, ShellEnd::kExec) << outcome.stop;
  EXPECT_EQ(outcome.argv, (Words{"server", "yes"}));
  ASSERT_EQ(outcome.children.size(), 1u);
  EXPECT_EQ(outcome.children[0].argv, Words{"/hooks/10-a.sh"});
  EXPECT_EQ(outcome.children[0].where, "line 4 of /entry.sh");
  EXPECT_THAT(outcome.notes, Contains("line 3 of /entry.sh: sourced "
                                      "/hooks/20-b.envsh"));
  EXPECT_EQ(outcome.environment.at("FROM_HOOK"), "yes");
}

TEST(StaticShell, GlobWithoutMatchStaysLiteral) {
  ShellOutcome outcome =
      run_script("for f in /none/*.sh; do exec server \"$f\"; done");
  EXPECT_EQ(outcome.argv, (Words{"server", "/none/*.sh"}));
}

TEST(StaticShell, ForegroundCommandAtEnd) {
  ShellOutcome outcome = run_script("mkdir -p /run/app\nserver --port 80\n");
  EXPECT_EQ(outcome.end, ShellEnd::kEnd);
  ASSERT_EQ(outcome.children.size(), 2u);
  ASSERT_TRUE(outcome.last_foreground.has_value());
  EXPECT_EQ(*outcome.last_foreground, 1u);
  EXPECT_EQ(outcome.children[1].argv, (Words{"server", "--port", "80"}));
}

TEST(StaticShell, BackgroundJob) {
  ShellOutcome outcome = run_script("server --worker &\nexec server");
  ASSERT_EQ(outcome.end, ShellEnd::kExec);
  ASSERT_EQ(outcome.children.size(), 1u);
  EXPECT_TRUE(outcome.children[0].background);
}

TEST(StaticShell, ExitEndsScript) {
  ShellOutcome outcome = run_script("[ -n \"$1\" ] || exit 3\nexec server");
  EXPECT_EQ(outcome.end, ShellEnd::kEnd);
  EXPECT_EQ(outcome.exit_status, 3);
  EXPECT_FALSE(outcome.last_foreground.has_value());
}

TEST(StaticShell, ErrexitOnFailedTest) {
  ShellOutcome outcome = run_script("set -e\n[ -f /missing ]\nexec server");
  EXPECT_EQ(outcome.end, ShellEnd::kEnd);
  EXPECT_EQ(outcome.exit_status, 1);
  EXPECT_THAT(outcome.notes, Contains(HasSubstr("set -e ends the script")));
}

TEST(StaticShell, MissingParameterExits) {
  ShellOutcome outcome = run_script(": \"${TOKEN:?set TOKEN}\"\nexec server");
  EXPECT_EQ(outcome.end, ShellEnd::kEnd);
  EXPECT_THAT(outcome.notes, Contains(HasSubstr("TOKEN: set TOKEN")));
}

TEST(StaticShell, UnknownOutputSkippedWhenInert) {
  ShellOutcome outcome =
      run_script("if [ -n \"$(ls /data)\" ]; then echo data; fi\nexec server");
  ASSERT_EQ(outcome.end, ShellEnd::kExec) << outcome.stop;
  EXPECT_THAT(outcome.notes,
              Contains(HasSubstr("skipped the if that depends on the output "
                                 "of $(ls /data)")));
}

// Where the interpreter gives up, and that its stop message names the line.
TEST(StaticShell, GivesUpCleanly) {
  struct Case {
    const char* name;
    const char* script;
    const char* stop;
  };
  const Case cases[] = {
      {"unknown condition with exec",
       "if [ \"$(hostname)\" = a ]; then exec server a; fi\nexec server b",
       "line 1 of /entry.sh: cannot decide the if, which depends on the "
       "output of $(hostname)"},
      {"eval", "eval \"exec server\"",
       "line 1 of /entry.sh: eval runs text built at run time"},
      {"exec of unknown", "exec server \"$(cat /etc/args)\"",
       "has an argument that depends on the output of $(cat /etc/args)"},
      {"parse error", "if true; then exec server",
       "cannot parse /entry.sh: line 1: unexpected end of script, expected "
       "'fi'"},
      {"endless loop", "while true; do :; done",
       "a while loop that did not end after 1000 iterations"},
      {"read loop", "while read line; do exec server; done",
       "cannot decide the while loop"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ShellOutcome outcome = run_script(c.script);
    ASSERT_EQ(outcome.end, ShellEnd::kGaveUp);
    EXPECT_THAT(outcome.stop, HasSubstr(c.stop));
  }
}

TEST(StaticShell, BashSourceOfMissingFileContinues) {
  ShellOutcome bash = run_script(". /missing.env\nexec server", {}, 0, true);
  EXPECT_EQ(bash.end, ShellEnd::kExec);
  ShellOutcome sh = run_script(". /missing.env\nexec server", {}, 0, false);
  EXPECT_EQ(sh.end, ShellEnd::kEnd);
  EXPECT_EQ(sh.exit_status, 2);
}

TEST(StaticShell, BashConditional) {
  ShellOutcome outcome = run_script(
      "if [[ \"$1\" == -* && -f /usr/bin/server ]]; then\n"
      "  exec server \"${1//-/+}\"\nfi",
      {"--x"}, 0, true);
  ASSERT_EQ(outcome.end, ShellEnd::kExec) << outcome.stop;
  EXPECT_EQ(outcome.argv, (Words{"server", "++x"}));
}

TEST(ShellSyntax, ParsesCompoundCommands) {
  auto script = shell::parse_script(
      "f() {\n  local a=1\n}\n"
      "case $x in (a|b) echo ;; *) ;; esac\n"
      "for i in 1 2; do echo $i; done\n"
      "until false; do break; done\n"
      "( cd / ) && { echo; } || echo no\n"
      "echo \"${x:-a b}\" '${y}' $'tab\\t' `id -u` $((1+2)) 2>&1 &\n");
  ASSERT_TRUE(script.ok()) << script.error().message;
  EXPECT_EQ(script->body.items.size(), 6u);
  EXPECT_TRUE(script->body.items.back().background);
}

// bash's ";;&" (test the next pattern too) and "|&" (pipe stderr too).
TEST(ShellSyntax, ParsesBashCaseAndPipeOperators) {
  auto script = shell::parse_script(
      "case $1 in a) echo a ;;& *) echo any ;; esac\n"
      "make 2>/dev/null |& tee log\n");

  ASSERT_TRUE(script.ok()) << script.error().message;
  EXPECT_EQ(script->body.items.size(), 2u);
}

TEST(ShellSyntax, ErrorsNameLine) {
  auto script = shell::parse_script("echo ok\ncase x in\n");
  ASSERT_FALSE(script.ok());
  EXPECT_THAT(script.error().message, HasSubstr("line 3"));
  EXPECT_FALSE(shell::parse_script("echo 'open").ok());
  EXPECT_FALSE(shell::parse_script("echo \"${x\"").ok());
}

TEST(Glob, Match) {
  EXPECT_TRUE(glob_match("*.sh", "/hooks/10-a.sh"));
  EXPECT_TRUE(glob_match("-*", "--port"));
  EXPECT_FALSE(glob_match("-*", "server"));
  EXPECT_TRUE(glob_match("[!a]?", "bc"));
  EXPECT_FALSE(glob_match("\\*", "x"));
  EXPECT_TRUE(glob_match("\\*", "*"));
  EXPECT_EQ(remove_prefix("--port", "-", false), "-port");
  EXPECT_EQ(remove_prefix("--port", "*-", true), "port");
  EXPECT_EQ(remove_suffix("a.conf.conf", ".conf", false), "a.conf");
  EXPECT_EQ(remove_suffix("a.b.c", ".*", true), "a");
}

// A pattern with many stars that fails only at its last character: retrying
// every star would take about length^stars steps, so this checks that the
// match gives the right result at all within the test's time.
TEST(Glob, ManyStarsMatchWithoutBlowUp) {
  const std::string text(117, 'a');
  std::string pattern;
  for (int i = 0; i < 14; ++i) {
    pattern += "*a";
  }

  EXPECT_FALSE(glob_match(pattern + "*b", text));
  EXPECT_TRUE(glob_match(pattern + "*", text));
  EXPECT_TRUE(glob_match("*[ab]?*", "xxbz"));
  EXPECT_FALSE(glob_match("a*b*c", "abxcb"));
  EXPECT_TRUE(glob_match("a*b*c", "abxbc"));
}

// Directories that link to themselves multiply the matches of each "*"
// component (8 links, 5 components: 32,768 paths); the expansion keeps at
// most kMaxPathnameMatches.
TEST(Glob, SelfLinksAreBounded) {
  namespace fs = std::filesystem;
  const fs::path base = fs::temp_directory_path() /
                        ("entrytrace-glob-" + std::to_string(::getpid()));
  fs::create_directories(base / "d");
  for (int i = 0; i < 8; ++i) {
    fs::create_directory_symlink(".", base / "d" / ("l" + std::to_string(i)));
  }
  auto root = RootDirectory::open(base.string());
  ASSERT_TRUE(root) << root.error().message;

  auto found = expand_pathname("/d/*/*/*/*/*", "/", *root);
  fs::remove_all(base);

  EXPECT_EQ(found.size(), kMaxPathnameMatches);
}

}  // namespace
}  // namespace entrytrace
