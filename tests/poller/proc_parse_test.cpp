#include "poller/proc_parse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace entrytrace {
namespace {

using namespace std::string_literals;

// Fields 5..52 of a real stat line, after ppid; starttime is 89241 and
// startstack 140720841463552.
const std::string kStatTail =
    " 1 1 0 -1 4194560 89 76 0 1 0 0 0 0 20 0 1 0 89241 2654208 382 "
    "18446744073709551615 94760633929728 94760634006457 140720841463552 0 0 "
    "0 0 0 65538 1 0 0 17 1 0 0 0 0 0 94760634035760 94760634040896 "
    "94761100013568 140720841468488 140720841468572 140720841468572 "
    "140720841469932 0\n";

struct StatCase {
  std::string name;
  std::string text;
  int32_t pid;
  std::string comm;
  char state;
  int32_t ppid;
};

TEST(ParseStat, Table) {
  const std::vector<StatCase> cases = {
      {"plain", "1 (sh) S 0" + kStatTail, 1, "sh", 'S', 0},
      {"comm with spaces", "5768 (Plex New Transc) S 1264" + kStatTail, 5768,
       "Plex New Transc", 'S', 1264},
      {"comm with parentheses", "83875 (sleep (2) .sh) S 75750" + kStatTail,
       83875, "sleep (2) .sh", 'S', 75750},
      {"comm imitating fields", "21039 (x) R 1 1 1 (y\n) R 21027" + kStatTail,
       21039, "x) R 1 1 1 (y\n", 'R', 21027},
      {"empty comm", "7 () Z 3" + kStatTail, 7, "", 'Z', 3},
      {"comm of one paren", "8 ()) I 2" + kStatTail, 8, ")", 'I', 2},
  };
  for (const StatCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<StatFields> stat = parse_stat(c.text);
    ASSERT_TRUE(stat.ok()) << stat.error().message;
    EXPECT_EQ(stat->pid, c.pid);
    EXPECT_EQ(stat->comm, c.comm);
    EXPECT_EQ(stat->state, c.state);
    EXPECT_EQ(stat->ppid, c.ppid);
    EXPECT_EQ(stat->start_ticks, 89241u);
    EXPECT_EQ(stat->start_stack, 140720841463552u);
  }
}

TEST(ParseStat, HostileCommKeepsRealPpid) {
  Result<StatFields> stat =
      parse_stat("21039 (x) R 1 1 1 (y\n) R 21027 21027 2609" + kStatTail);
  ASSERT_TRUE(stat.ok()) << stat.error().message;
  EXPECT_EQ(stat->comm, "x) R 1 1 1 (y\n");
  EXPECT_EQ(stat->state, 'R');
  EXPECT_EQ(stat->ppid, 21027);
}

TEST(ParseStat, CommWithSpacesKeepsPpid) {
  Result<StatFields> stat =
      parse_stat("5768 (Plex New Transc) S 1264" + kStatTail);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->ppid, 1264);
}

TEST(ParseStat, CommWithParenthesesKeepsPpid) {
  Result<StatFields> stat =
      parse_stat("83875 (sleep (2) .sh) S 75750" + kStatTail);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->comm, "sleep (2) .sh");
  EXPECT_EQ(stat->ppid, 75750);
}

TEST(ParseStat, HiddenStartStackIsZero) {
  std::string tail = kStatTail;
  tail.replace(tail.find("140720841463552"), 15, "0");
  Result<StatFields> stat = parse_stat("9 (redis-server) S 1" + tail);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->start_stack, 0u);
}

TEST(ParseStat, RejectsMalformed) {
  const std::vector<std::string> texts = {
      "",
      "1 sh S 0 1 1",
      "1 (sh) S 0 1 1 0",
      "x (sh) S 0" + kStatTail,
      "1 (sh) S notanumber" + kStatTail,
      "1 (sh) SS 0" + kStatTail,
      "1 )sh( S 0" + kStatTail,
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_stat(text).ok());
  }
}

const char* const kStatusWithNamespaces =
    "Name:\tredis-server\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t4242\n"
    "Ngid:\t0\n"
    "Pid:\t4242\n"
    "PPid:\t4200\n"
    "TracerPid:\t0\n"
    "Uid:\t999\t998\t997\t996\n"
    "Gid:\t1000\t1001\t1002\t1003\n"
    "FDSize:\t64\n"
    "Groups:\t \n"
    "NStgid:\t4242\t1\n"
    "NSpid:\t4242\t1\n"
    "Threads:\t4\n";

TEST(ParseStatus, WithNamespaces) {
  Result<StatusFields> status = parse_status(kStatusWithNamespaces);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->pid, 4242);
  EXPECT_EQ(status->tgid, 4242);
  EXPECT_EQ(status->ppid, 4200);
  EXPECT_EQ(status->uid, 999u);
  EXPECT_EQ(status->euid, 998u);
  EXPECT_EQ(status->gid, 1000u);
  EXPECT_EQ(status->egid, 1001u);
  EXPECT_EQ(status->ns_tgid, (std::vector<int32_t>{4242, 1}));
  EXPECT_FALSE(status->is_thread());
}

TEST(ParseStatus, WithoutNStgidBefore41) {
  Result<StatusFields> status = parse_status(
      "Name:\tsh\nState:\tS (sleeping)\nTgid:\t12\nPid:\t12\nPPid:\t1\n"
      "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(status->ns_tgid.empty());
}

TEST(ParseStatus, NestedNStgid) {
  Result<StatusFields> status = parse_status(
      "Tgid:\t4401\nPid:\t4401\nPPid:\t4400\nUid:\t0\t0\t0\t0\n"
      "Gid:\t0\t0\t0\t0\nNStgid:\t4401\t4\t2\n");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->ns_tgid, (std::vector<int32_t>{4401, 4, 2}));
}

TEST(ParseStatus, ThreadHasOtherTgid) {
  Result<StatusFields> status = parse_status(
      "Tgid:\t4242\nPid:\t4243\nPPid:\t4200\nUid:\t0\t0\t0\t0\n"
      "Gid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->is_thread());
}

TEST(ParseStatus, NameWithKeyTextDoesNotConfuse) {
  // The kernel escapes a newline in Name as "\n", so a name cannot start a
  // line of its own.
  Result<StatusFields> status = parse_status(
      "Name:\tPPid:\\t1\nTgid:\t5\nPid:\t5\nPPid:\t4\nUid:\t0\t0\t0\t0\n"
      "Gid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->ppid, 4);
}

TEST(ParseStatus, RejectsMissingOrInvalidLines) {
  const std::vector<std::string> texts = {
      "",
      "Tgid:\t1\nPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
      "Tgid:\t1\nPid:\t1\nPPid:\t0\nGid:\t0\t0\t0\t0\n",
      "Tgid:\t1\nPid:\tx\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
      "Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\nGid:\t0\t0\t0\t0\n",
  };
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_status(text).ok());
  }
}

struct CmdlineCase {
  std::string name;
  std::string text;
  std::vector<std::string> argv;
};

TEST(ParseCmdline, Table) {
  const std::vector<CmdlineCase> cases = {
      {"usual",
       "/bin/sh\0-c\0sleep 0.3; exec sleep 1\0"s,
       {"/bin/sh", "-c", "sleep 0.3; exec sleep 1"}},
      {"no trailing NUL", "/bin/sh\0-c\0true"s, {"/bin/sh", "-c", "true"}},
      {"empty", "", {}},
      {"only NULs", "\0\0\0"s, {}},
      {"empty argument inside", "printf\0\0x\0"s, {"printf", "", "x"}},
      {"redis title",
       "redis-server *:6379\0\0\0\0\0\0\0\0"s,
       {"redis-server *:6379"}},
      {"nginx title",
       "nginx: master process nginx -g daemon off;\0\0\0"s,
       {"nginx: master process nginx -g daemon off;"}},
      {"title without NUL",
       "postgres: checkpointer   "s,
       {"postgres: checkpointer   "}},
  };
  for (const CmdlineCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parse_cmdline(c.text), c.argv);
  }
}

TEST(ParseCmdline, KernelThreadIsEmpty) {
  EXPECT_TRUE(parse_cmdline("").empty());
}

TEST(ParseCmdline, TitleStaysOneElement) {
  std::vector<std::string> argv =
      parse_cmdline("nginx: master process nginx -g daemon off;\0\0"s);
  ASSERT_EQ(argv.size(), 1u);
  EXPECT_EQ(argv[0], "nginx: master process nginx -g daemon off;");
}

struct ExeCase {
  std::string text;
  std::string path;
  bool deleted;
};

TEST(ParseExeLink, Table) {
  const std::vector<ExeCase> cases = {
      {"/usr/bin/dash", "/usr/bin/dash", false},
      {"/app/my app (v2) (deleted)", "/app/my app (v2)", true},
      {"/app/x (deleted) (deleted)", "/app/x (deleted)", true},
      {"/app/(deleted)", "/app/(deleted)", false},
      {" (deleted)", " (deleted)", false},
      {"/app/x (deleted)x", "/app/x (deleted)x", false},
  };
  for (const ExeCase& c : cases) {
    SCOPED_TRACE(c.text);
    ExeLink link = parse_exe_link(c.text);
    EXPECT_EQ(link.path, c.path);
    EXPECT_EQ(link.deleted, c.deleted);
  }
}

TEST(ParseExeLink, StripsOnlyOneDeleted) {
  ExeLink link = parse_exe_link("/app/x (deleted) (deleted)");
  EXPECT_EQ(link.path, "/app/x (deleted)");
  EXPECT_TRUE(link.deleted);
}

TEST(ParseSocketLink, Kinds) {
  EXPECT_EQ(parse_socket_link("socket:[12345]"), 12345u);
  EXPECT_EQ(parse_socket_link("pipe:[12345]"), std::nullopt);
  EXPECT_EQ(parse_socket_link("/dev/null"), std::nullopt);
  EXPECT_EQ(parse_socket_link("socket:[]"), std::nullopt);
  EXPECT_EQ(parse_socket_link("socket:[12x]"), std::nullopt);
  EXPECT_EQ(parse_socket_link("anon_inode:[eventpoll]"), std::nullopt);
}

TEST(ParseNamespaceLink, Kinds) {
  Result<uint64_t> pid_ns = parse_namespace_link("pid:[4026531836]", "pid");
  ASSERT_TRUE(pid_ns.ok());
  EXPECT_EQ(*pid_ns, 4026531836u);
  EXPECT_FALSE(parse_namespace_link("net:[4026531840]", "pid").ok());
  EXPECT_FALSE(parse_namespace_link("pid:4026531836", "pid").ok());
  EXPECT_FALSE(parse_namespace_link("pid:[]", "pid").ok());
}

TEST(ParsePasswd, NamesByUid) {
  PasswdEntries entries = parse_passwd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "# a comment\n"
      "\n"
      "redis:x:999:999::/home/redis:/usr/sbin/nologin\n"
      "toor:x:0:0::/root:/bin/sh\n"
      "broken line\n"
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin");
  EXPECT_EQ(entries.names.size(), 3u);
  EXPECT_EQ(entries.names[0], "root");
  EXPECT_EQ(entries.names[999], "redis");
  EXPECT_EQ(entries.names[65534], "nobody");
  EXPECT_EQ(entries.invalid_lines, 1);
}

TEST(FindHidepidOption, ProcMounts) {
  const std::string mountinfo =
      "22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc "
      "proc rw,hidepid=invisible\n"
      "23 26 0:22 / /sys rw,nosuid shared:2 - sysfs sysfs rw\n"
      "40 26 0:40 / /other/proc rw - proc proc rw\n";
  EXPECT_EQ(find_hidepid_option(mountinfo, "/proc"), "invisible");
  EXPECT_EQ(find_hidepid_option(mountinfo, "/other/proc"), std::nullopt);
  EXPECT_EQ(find_hidepid_option(mountinfo, "/sys"), std::nullopt);
}

}  // namespace
}  // namespace entrytrace

namespace entrytrace {
namespace {

TEST(ParseStat, KernelThreadFlag) {
  // kthreadd; 2129984 = 0x208040 includes PF_KTHREAD (0x00200000).
  const char* kthread =
      "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0 "
      "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0 "
      "0 0 0 0 0 0 0 0\n";
  auto parsed = parse_stat(kthread);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->flags, 2129984u);
  EXPECT_TRUE(parsed->is_kernel_thread());

  // A user process: 4194560 = 0x400100, no PF_KTHREAD.
  const char* user =
      "4242 (python3) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 "
      "500 10000000 2000 18446744073709551615 1 1 140737488347136 0 0 0 0 0 "
      "0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  auto user_parsed = parse_stat(user);
  ASSERT_TRUE(user_parsed.ok()) << user_parsed.error().message;
  EXPECT_FALSE(user_parsed->is_kernel_thread());
}

}  // namespace
}  // namespace entrytrace
