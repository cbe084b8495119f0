// Supervisor trees built as captures, with the target's files kept the way
// the CLI keeps them: configurations are read, services matched to their
// processes, and the roles of the other processes reported, with no live
// process.
#include "detectors/supervisor_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/capture_json.h"
#include "detectors/analyze.h"
#include "detectors/result_json.h"
#include "detectors/supervisor_sources.h"
#include "tests/graph/capture_builder.h"

namespace entrytrace {
namespace {

using testing::CaptureBuilder;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::tcp;

const Catalogue& catalogue() {
  static const Catalogue kCatalogue = Catalogue::load_default();
  return kCatalogue;
}

ListeningSocket unix_socket(const std::string& path, uint64_t inode) {
  ListeningSocket socket;
  socket.protocol = SocketProtocol::kUnix;
  socket.address = path;
  socket.inode = inode;
  socket.net_ns = 4026532000;
  return socket;
}

// Sets the working directory of every snapshot of a process.
void set_cwd(Capture& capture, ProcessId id, const std::string& cwd) {
  for (Observation& o : capture.observations) {
    if (o.process == id && o.snapshot) {
      o.snapshot->image.cwd = cwd;
      o.snapshot->image.cwd_known = true;
    }
  }
}

// Keeps the target's files in the capture as the CLI does after a live
// window, with `target` as the root of every supervisor.
void keep_files(Capture& capture, const RecordedFiles& target) {
  auto open_root = [&](const ExecNode&) -> Result<std::unique_ptr<FileSource>> {
    return std::unique_ptr<FileSource>(std::make_unique<RecordedFiles>(target));
  };
  keep_supervisor_files(capture, catalogue(), open_root, FileLimits{});
}

EntryTraceResult analyze_capture(const Capture& capture, int top_k = 3) {
  return analyze(capture, catalogue(), AnalyzeOptions{top_k});
}

const Terminal* terminal_at(const EntryTraceResult& result, int32_t ns_pid) {
  for (const Terminal& terminal : result.terminals) {
    if (terminal.ns_pid == ns_pid) {
      return &terminal;
    }
  }
  return nullptr;
}

const std::string kPython = "/usr/bin/python3.11";
const std::vector<std::string> kSupervisord = {
    "/usr/bin/python3", "/usr/bin/supervisord", "-c",
    "/etc/supervisor/supervisord.conf"};

RecordedFiles supervisord_files() {
  RecordedFiles files;
  files.add("/etc/supervisor/supervisord.conf", {"[unix_http_server]\n"
                                                 "file = /run/supervisor.sock\n"
                                                 "\n"
                                                 "[supervisord]\n"
                                                 "nodaemon = true\n"
                                                 "\n"
                                                 "[include]\n"
                                                 "files = conf.d/*.conf\n",
                                                 false});
  files.add("/etc/supervisor/conf.d/php.conf",
            {"[program:php-fpm]\n"
             "command = php-fpm8.2 -F\n"
             "\n"
             "[program:queue]\n"
             "command = /usr/bin/php /srv/artisan queue:work\n"
             "autostart = false\n",
             false});
  files.add("/etc/supervisor/conf.d/web.conf",
            {"[program:nginx]\n"
             "command = /usr/sbin/nginx -g 'daemon off;'\n",
             false});
  files.add("/etc/supervisor/conf.d/notes.txt", {"[program:old]\n", false});
  return files;
}

// supervisord as pid 1, as uid 65534 from the start.
//
//   setpriv (1) -exec-> python3 supervisord (1)
//    |- fork (7) -exec-> php-fpm8.2 -F (7)            unix /run/php-fpm.sock
//    |- fork (8) -exec-> "nginx: master process" (8)  0.0.0.0:8080 [::]:8080
//    |   |- nginx worker (10), nginx worker (11)
//    `- fork (9) -exec-> /usr/local/bin/stray (9)
Capture supervisord_tree() {
  CaptureBuilder b;
  const uint32_t nobody = 65534;
  ProcessId init = b.seen(0, 5000, 1, 4990, 100000, "/usr/bin/setpriv",
                          {"setpriv", "--reuid=65534", "/usr/bin/supervisord"});
  b.exec(2, init, kPython, kSupervisord, nobody);
  ProcessId php =
      b.seen(300, 5007, 7, 5000, 100030, kPython, kSupervisord, nobody);
  b.exec(301, php, "/usr/sbin/php-fpm8.2", {"php-fpm8.2", "-F"}, nobody);
  b.listen(400, php, {unix_socket("/run/php-fpm.sock", 71)});
  ProcessId nginx =
      b.seen(302, 5008, 8, 5000, 100031, kPython, kSupervisord, nobody);
  b.exec(303, nginx, "/usr/sbin/nginx",
         {"nginx: master process /usr/sbin/nginx -g daemon off;"}, nobody);
  const std::vector<ListeningSocket> web = {tcp("0.0.0.0", 8080, 81),
                                            tcp("::", 8080, 82)};
  b.listen(400, nginx, web);
  for (int32_t pid : {10, 11}) {
    ProcessId worker =
        b.seen(350, 5000 + pid, pid, 5008, 100040 + pid, "/usr/sbin/nginx",
               {"nginx: worker process"}, nobody);
    b.listen(400, worker, web);
  }
  ProcessId stray =
      b.seen(304, 5009, 9, 5000, 100032, kPython, kSupervisord, nobody);
  b.exec(305, stray, "/usr/local/bin/stray", {"stray"}, nobody);
  Capture capture = b.capture();
  set_cwd(capture, init, "/");
  return capture;
}

TEST(SupervisordReport, ServicesMatchTheirSections) {
  Capture capture = supervisord_tree();
  keep_files(capture, supervisord_files());
  const EntryTraceResult result = analyze_capture(capture);

  ASSERT_EQ(result.terminals.size(), 3u);
  const Terminal& top = result.terminals[0];
  EXPECT_EQ(top.ns_pid, 8);
  EXPECT_EQ(top.type, TerminalType::kService);
  EXPECT_THAT(top.evidence, Contains("program nginx from [program:nginx] in "
                                     "/etc/supervisor/conf.d/web.conf"));
  EXPECT_THAT(top.evidence, Contains("pid 8 has 2 worker processes forked "
                                     "from it, reported as its children"));
  const Terminal* php = terminal_at(result, 7);
  ASSERT_NE(php, nullptr);
  EXPECT_EQ(php->type, TerminalType::kService);
  EXPECT_THAT(php->evidence, Contains("pid 7 listening on unix "
                                      "/run/php-fpm.sock"));
  EXPECT_THAT(php->evidence,
              Contains("program php-fpm from [program:php-fpm] in "
                       "/etc/supervisor/conf.d/php.conf"));
  for (const Terminal& terminal : result.terminals) {
    EXPECT_NE(terminal.ns_pid, 10);
    EXPECT_NE(terminal.ns_pid, 11);
  }
}

TEST(SupervisordReport, SupervisorRanksBelowItsServices) {
  Capture capture = supervisord_tree();
  keep_files(capture, supervisord_files());
  const EntryTraceResult result = analyze_capture(capture, 5);

  ASSERT_GE(result.terminals.size(), 3u);
  const Terminal* supervisor = terminal_at(result, 1);
  ASSERT_NE(supervisor, nullptr);
  EXPECT_EQ(supervisor->type, TerminalType::kSupervisor);
  EXPECT_EQ(supervisor->runtime, "python");
  EXPECT_LT(supervisor->confidence, result.terminals[1].confidence);
  EXPECT_THAT(supervisor->evidence,
              Contains("supervises 3 program(s) from "
                       "/etc/supervisor/supervisord.conf: php-fpm (pid 7), "
                       "queue (not running), nginx (pid 8)"));
  EXPECT_THAT(supervisor->evidence,
              Contains("a supervisor, not an application workload"));
}

TEST(SupervisordReport, EvidenceNamesFilesAndStates) {
  Capture capture = supervisord_tree();
  keep_files(capture, supervisord_files());
  const EntryTraceResult result = analyze_capture(capture);

  EXPECT_THAT(result.evidence,
              Contains("supervisord (pid 1) reads "
                       "/etc/supervisor/supervisord.conf and includes "
                       "/etc/supervisor/conf.d/php.conf, "
                       "/etc/supervisor/conf.d/web.conf"));
  EXPECT_THAT(result.evidence,
              Contains("program nginx ([program:nginx] in "
                       "/etc/supervisor/conf.d/web.conf) runs as pid 8 "
                       "(/usr/sbin/nginx), supervised by supervisord (pid 1)"));
  EXPECT_THAT(result.evidence,
              Contains("program queue ([program:queue] in "
                       "/etc/supervisor/conf.d/php.conf) is not started "
                       "automatically (autostart=false)"));
  EXPECT_THAT(result.evidence,
              Contains("pid 9 (/usr/local/bin/stray) runs under supervisord "
                       "(pid 1) but matches no program of its configuration"));
  EXPECT_THAT(result.evidence,
              Not(Contains(HasSubstr("no application workload"))));
  EXPECT_TRUE(result.application_found);
  EXPECT_THAT(result.diagnostics, Not(Contains(HasSubstr("supervisord"))));
}

TEST(SupervisordReport, ReplayOfRecordingIsIdentical) {
  Capture capture = supervisord_tree();
  keep_files(capture, supervisord_files());
  auto replayed = capture_from_json(capture_to_json(capture));
  ASSERT_TRUE(replayed) << replayed.error().message;

  EXPECT_EQ(result_to_json(analyze_capture(*replayed)),
            result_to_json(analyze_capture(capture)));
}

TEST(SupervisordReport, MissingFilesAreReported) {
  // A capture recorded without the target's files.
  const EntryTraceResult result = analyze_capture(supervisord_tree());

  EXPECT_THAT(result.evidence,
              Contains("supervisord (pid 1): configuration not read, so its "
                       "services are not known by name"));
  EXPECT_THAT(result.diagnostics,
              Contains("supervisord (pid 1): cannot read "
                       "/etc/supervisor/supervisord.conf: not kept in the "
                       "capture"));
  ASSERT_FALSE(result.terminals.empty());
  EXPECT_EQ(result.terminals[0].type, TerminalType::kService);
}

// One [program:x] section with numprocs=2 and its two processes, which
// differ only in the argument that process_num fills in.
TEST(SupervisordReport, NumprocsMatchesEachProcess) {
  CaptureBuilder b;
  const std::vector<std::string> argv = {"supervisord", "-n", "-c",
                                         "/srv/supervisord.conf"};
  ProcessId init =
      b.seen(0, 6000, 1, 5990, 200000, "/usr/bin/supervisord", argv);
  for (int32_t pid : {5, 6}) {
    ProcessId child = b.seen(100 + pid, 6000 + pid, pid, 6000, 200000 + pid,
                             "/usr/bin/supervisord", argv);
    // pid 5 runs "--id 1" and pid 6 "--id 0", so pid order is not
    // process_num order.
    b.exec(101 + pid, child, "/srv/worker",
           {"/srv/worker", "--id", pid == 5 ? "1" : "0"});
  }
  Capture capture = b.capture();
  set_cwd(capture, init, "/");
  RecordedFiles files;
  files.add("/srv/supervisord.conf",
            {"[supervisord]\n"
             "[program:worker]\n"
             "numprocs = 2\n"
             "process_name = %(program_name)s_%(process_num)02d\n"
             "command = %(here)s/worker --id %(process_num)d\n",
             false});
  keep_files(capture, files);
  const EntryTraceResult result = analyze_capture(capture);

  EXPECT_THAT(result.evidence,
              Contains("program worker_00 ([program:worker] in "
                       "/srv/supervisord.conf) runs as pid 6 (/srv/worker), "
                       "supervised by supervisord (pid 1)"));
  EXPECT_THAT(result.evidence,
              Contains("program worker_01 ([program:worker] in "
                       "/srv/supervisord.conf) runs as pid 5 (/srv/worker), "
                       "supervised by supervisord (pid 1)"));
}

// A program that exited and that supervisord started again: the running
// process is the program's, and the exited one is not reported as a
// stranger.
TEST(SupervisordReport, RestartedProgramMatchesRunningProcess) {
  CaptureBuilder b;
  const std::vector<std::string> argv = {"supervisord", "-n", "-c",
                                         "/srv/supervisord.conf"};
  ProcessId init =
      b.seen(0, 6000, 1, 5990, 200000, "/usr/bin/supervisord", argv);
  ProcessId first =
      b.seen(100, 6005, 5, 6000, 200005, "/usr/bin/supervisord", argv);
  b.exec(101, first, "/srv/app", {"/srv/app"});
  b.exit(200, first);
  ProcessId second =
      b.seen(1200, 6006, 6, 6000, 200106, "/usr/bin/supervisord", argv);
  b.exec(1201, second, "/srv/app", {"/srv/app"});
  Capture capture = b.capture();
  set_cwd(capture, init, "/");
  RecordedFiles files;
  files.add("/srv/supervisord.conf",
            {"[supervisord]\n[program:app]\ncommand = /srv/app\n", false});
  keep_files(capture, files);
  const EntryTraceResult result = analyze_capture(capture);

  EXPECT_THAT(result.evidence,
              Contains("program app ([program:app] in /srv/supervisord.conf) "
                       "runs as pid 6 (/srv/app), supervised by supervisord "
                       "(pid 1)"));
  EXPECT_THAT(result.evidence, Not(Contains(HasSubstr("matches no program"))));
}

// Where supervisord's configuration is found, for argv and working
// directories as a container would have them.
TEST(SupervisorConfigPath, OptionsOperandsAndSearchPaths) {
  const SupervisorEntry& supervisord =
      *catalogue().find_supervisor("supervisord");
  RecordedFiles files;
  files.add("/etc/supervisor/supervisord.conf", {"[supervisord]\n", false});
  files.add("/opt/sv/etc/supervisord.conf", {"[supervisord]\n", false});
  files.add("/srv/app/supervisord.conf", {"[supervisord]\n", false});
  struct Case {
    std::vector<std::string> argv;
    std::string cwd;
    std::string path;
  };
  const std::vector<Case> cases = {
      {{"/usr/bin/python3", "/usr/bin/supervisord", "-n"},
       "/",
       "/etc/supervisor/supervisord.conf"},
      // {prefix}/etc/supervisord.conf is searched first.
      {{"python3", "/opt/sv/bin/supervisord"},
       "/",
       "/opt/sv/etc/supervisord.conf"},
      // A relative search path is taken from the working directory.
      {{"supervisord", "-n"}, "/srv/app", "/srv/app/supervisord.conf"},
      {{"supervisord", "--configuration=/opt/sv/etc/supervisord.conf"},
       "/",
       "/opt/sv/etc/supervisord.conf"},
      {{"supervisord", "-c", "../app/supervisord.conf"},
       "/srv/other",
       "/srv/app/supervisord.conf"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.argv.back());
    const SupervisorConfig config =
        load_supervisor_config(supervisord, c.argv, c.cwd, files);
    EXPECT_EQ(config.path, c.path);
    EXPECT_THAT(config.problems, IsEmpty());
  }
}

TEST(SupervisorConfigPath, NoConfigurationListsSearchPaths) {
  const SupervisorConfig config =
      load_supervisor_config(*catalogue().find_supervisor("supervisord"),
                             {"supervisord"}, "/", RecordedFiles());
  EXPECT_TRUE(config.path.empty());
  ASSERT_EQ(config.problems.size(), 1u);
  EXPECT_THAT(config.problems[0],
              HasSubstr("no configuration found at /etc/supervisord.conf"));
}

RecordedFiles runit_files() {
  RecordedFiles files;
  files.add("/etc/service/cron/run", {"#!/bin/sh\nexec cron -f\n", true});
  files.add("/etc/service/cron/supervise/stat", {"run\n", false});
  files.add("/etc/service/cron/supervise/pid", {"11\n", false});
  files.add("/etc/service/sshd/run",
            {"#!/bin/sh\nexec /usr/sbin/sshd -D\n", true});
  files.add("/etc/service/sshd/down", {"", false});
  files.add("/etc/service/sshd/supervise/stat", {"down\n", false});
  files.add("/etc/service/.git/config", {"", false});
  return files;
}

// A python init runs init scripts, one of which leaves rsyslogd in the
// background, then starts runsvdir.
//
//   python3 -u /init.py (1)
//    |- sh /etc/rc.d/20-syslog.sh (4, exited)
//    |   `- rsyslogd (5, exited) -- rsyslogd (6)     detached daemon
//    `- runsvdir -P /etc/service (8)
//        |- runsv cron (9) -- sh ./run (11) -exec-> cron -f (11)
//        `- runsv sshd (10)                         down
Capture runit_tree() {
  CaptureBuilder b;
  ProcessId init = b.seen(0, 7000, 1, 6990, 300000, kPython,
                          {"/usr/bin/python3", "-u", "/init.py"});
  ProcessId script = b.seen(50, 7004, 4, 7000, 300004, "/usr/bin/dash",
                            {"/bin/sh", "/etc/rc.d/20-syslog.sh"});
  ProcessId first =
      b.seen(60, 7005, 5, 7004, 300005, "/usr/sbin/rsyslogd", {"rsyslogd"});
  ProcessId daemon =
      b.seen(70, 7006, 6, 7005, 300006, "/usr/sbin/rsyslogd", {"rsyslogd"});
  b.listen(300, daemon, {unix_socket("/dev/log", 91)});
  b.exit(80, first);
  b.exit(90, script);
  ProcessId scan = b.seen(100, 7008, 8, 7000, 300008, "/usr/bin/runsvdir",
                          {"runsvdir", "-P", "/etc/service"});
  ProcessId cron_sv =
      b.seen(110, 7009, 9, 7008, 300009, "/usr/bin/runsv", {"runsv", "cron"});
  ProcessId sshd_sv =
      b.seen(111, 7010, 10, 7008, 300010, "/usr/bin/runsv", {"runsv", "sshd"});
  ProcessId cron = b.seen(120, 7011, 11, 7009, 300011, "/usr/bin/dash",
                          {"/bin/sh", "./run"});
  b.exec(121, cron, "/usr/sbin/cron", {"cron", "-f"});
  Capture capture = b.capture();
  set_cwd(capture, init, "/");
  set_cwd(capture, scan, "/");
  set_cwd(capture, cron_sv, "/etc/service/cron");
  set_cwd(capture, sshd_sv, "/etc/service/sshd");
  set_cwd(capture, cron, "/etc/service/cron");
  return capture;
}

TEST(RunitReport, ServicesWithTheirState) {
  Capture capture = runit_tree();
  keep_files(capture, runit_files());
  const EntryTraceResult result = analyze_capture(capture);

  EXPECT_THAT(result.evidence,
              Contains("runsvdir (pid 8) scans /etc/service: 2 service(s) "
                       "(cron, sshd)"));
  EXPECT_THAT(result.evidence,
              Contains("runit service cron (/etc/service/cron) runs as pid 11 "
                       "(/usr/sbin/cron) under runsv (pid 9); supervise/stat "
                       "says run"));
  EXPECT_THAT(result.evidence,
              Contains("runit service sshd (/etc/service/sshd) is down: it has "
                       "a down file, so runsv (pid 10) did not start its run "
                       "script (/usr/sbin/sshd -D); supervise/stat says down"));
  EXPECT_THAT(result.diagnostics, Not(Contains(HasSubstr("runsv"))));
}

TEST(RunitReport, NoApplicationWorkload) {
  Capture capture = runit_tree();
  keep_files(capture, runit_files());
  const EntryTraceResult result = analyze_capture(capture, 10);

  EXPECT_THAT(result.evidence,
              Contains("pid 6 (/usr/sbin/rsyslogd) is a background daemon: "
                       "pid 4 (/bin/sh /etc/rc.d/20-syslog.sh) started it and "
                       "exited, and it is not a service of runsvdir (pid 8)"));
  EXPECT_THAT(result.evidence,
              Contains("no application workload: every running candidate is "
                       "a supervisor (runsv, runsvdir), or the init that "
                       "started one (pid 1), or a system daemon (cron, "
                       "syslog)"));
  ASSERT_FALSE(result.terminals.empty());
  for (const Terminal& terminal : result.terminals) {
    SCOPED_TRACE("pid " + std::to_string(terminal.ns_pid));
    EXPECT_THAT(terminal.evidence,
                Contains(HasSubstr("not an application workload")));
  }
  const Terminal* init = terminal_at(result, 1);
  ASSERT_NE(init, nullptr);
  EXPECT_THAT(init->evidence,
              Contains("started supervisor runsvdir (pid 8) and stays its "
                       "parent: an init, not an application workload"));
  EXPECT_NE(result.terminals[0].ns_pid, 1);
}

TEST(RunitReport, ServiceTerminalNamesItsDirectory) {
  Capture capture = runit_tree();
  keep_files(capture, runit_files());
  const EntryTraceResult result = analyze_capture(capture, 10);

  const Terminal* cron = terminal_at(result, 11);
  ASSERT_NE(cron, nullptr);
  EXPECT_EQ(cron->type, TerminalType::kService);
  EXPECT_THAT(cron->evidence,
              Contains("runit service cron from /etc/service/cron"));
  const Terminal* sshd_sv = terminal_at(result, 10);
  ASSERT_NE(sshd_sv, nullptr);
  EXPECT_EQ(sshd_sv->type, TerminalType::kSupervisor);
  EXPECT_THAT(sshd_sv->evidence,
              Contains("supervises runit service sshd (/etc/service/sshd): "
                       "down"));
}

TEST(RunitReport, KeptFilesSkipHiddenEntries) {
  Capture capture = runit_tree();
  keep_files(capture, runit_files());

  EXPECT_THAT(capture.files.at("/etc/service").entries,
              ElementsAre(".git", "cron", "sshd"));
  EXPECT_EQ(capture.files.count("/etc/service/.git"), 0u);
  EXPECT_EQ(capture.files.at("/etc/service/sshd/supervise/stat").content,
            "down\n");
}

Capture recorded_capture(const std::string& name) {
  std::ifstream file(std::string(ENTRYTRACE_FIXTURES) + "/captures/" + name);
  std::stringstream text;
  text << file.rdbuf();
  auto capture = capture_from_json(text.str());
  EXPECT_TRUE(capture) << name << ": " << capture.error().message;
  return capture ? std::move(*capture) : Capture();
}

// Live captures of the two trees of tests/integration/supervisors_test.cpp,
// replayed with the files their supervisors read.
TEST(RecordedCaptures, SupervisordPhpNginx) {
  const std::string d = "/tmp/supervisord-php-nginx";
  const EntryTraceResult result =
      analyze_capture(recorded_capture("supervisord-php-nginx.json"));

  ASSERT_EQ(result.terminals.size(), 3u);
  EXPECT_EQ(result.terminals[0].path, "/usr/sbin/nginx");
  EXPECT_EQ(result.terminals[1].path, "/usr/sbin/php-fpm8.2");
  EXPECT_EQ(result.terminals[2].type, TerminalType::kSupervisor);
  EXPECT_THAT(result.terminals[0].evidence,
              Contains("program nginx from [program:nginx] in " + d +
                       "/conf.d/nginx.conf"));
  EXPECT_THAT(result.terminals[0].evidence,
              Contains("pid 2 listening on [::]:8080"));
  EXPECT_THAT(result.terminals[1].evidence,
              Contains("pid 3 listening on unix " + d + "/run/php-fpm.sock"));
  EXPECT_THAT(result.terminals[1].evidence,
              Contains("program php-fpm from [program:php-fpm] in " + d +
                       "/conf.d/php-fpm.conf"));
}

TEST(RecordedCaptures, RunitPythonInit) {
  const std::string d = "/tmp/runit-python-init";
  const EntryTraceResult result =
      analyze_capture(recorded_capture("runit-python-init.json"), 10);

  EXPECT_THAT(result.evidence,
              Contains("runit service cron (" + d +
                       "/service/cron) runs as pid 11 (/usr/sbin/cron) under "
                       "runsv (pid 9); supervise/stat says run"));
  EXPECT_THAT(result.evidence, Contains(HasSubstr("runit service sshd (" + d +
                                                  "/service/sshd) is down")));
  EXPECT_THAT(result.evidence,
              Contains(HasSubstr("pid 6 (/usr/sbin/rsyslogd) is a background "
                                 "daemon")));
  EXPECT_THAT(result.evidence, Contains(HasSubstr("no application workload")));
  EXPECT_FALSE(result.application_found);
  for (const Terminal& terminal : result.terminals) {
    SCOPED_TRACE("pid " + std::to_string(terminal.ns_pid));
    EXPECT_THAT(terminal.evidence,
                Contains(HasSubstr("not an application workload")));
  }
}

}  // namespace
}  // namespace entrytrace
