// Supervisor trees started by `entrytrace run` in new PID, mount and
// network namespaces, with real Debian programs and configurations written
// by the test into a temporary directory:
//
// - supervisord as uid 65534 (nodaemon=true) running php-fpm8.2 -F on a
//   UNIX socket with on-demand workers and nginx on 8080 (IPv4 and IPv6),
//   both from files of its [include] section;
// - a python3 init that runs init scripts (one leaves rsyslogd in the
//   background) and then runsvdir over a service directory with cron
//   running and sshd down.
//
// Each checks the services, their configuration sources and states, and
// that `entrytrace analyze` of the recorded capture prints the same result.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "entrytrace_runner.h"

namespace entrytrace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWindow = "3s";
// More than the candidates of either tree, so that all are terminals.
constexpr const char* kTopK = "20";
constexpr uint32_t kNobody = 65534;

std::string member_string(const rapidjson::Value& object, const char* name) {
  if (!object.HasMember(name) || !object[name].IsString()) {
    return "";
  }
  return object[name].GetString();
}

std::vector<std::string> strings_of(const rapidjson::Value& object,
                                    const char* name) {
  std::vector<std::string> items;
  if (object.HasMember(name) && object[name].IsArray()) {
    for (const auto& item : object[name].GetArray()) {
      items.emplace_back(item.GetString());
    }
  }
  return items;
}

// The terminal whose path ends with `suffix`, or nullptr.
const rapidjson::Value* terminal_with_path(const rapidjson::Document& result,
                                           const std::string& suffix) {
  for (const auto& terminal : result["terminals"].GetArray()) {
    const std::string path = member_string(terminal, "path");
    if (path.size() >= suffix.size() &&
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return &terminal;
    }
  }
  return nullptr;
}

// A directory made for one test and removed after it.
class TestDirectory {
 public:
  explicit TestDirectory(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
      chmod(path_.c_str(), 0755);
    }
  }
  ~TestDirectory() {
    if (!path_.empty()) {
      std::error_code ignored;
      fs::remove_all(path_, ignored);
    }
  }

  const std::string& path() const { return path_; }

  // Writes a file below the directory, creating its parents.
  void write(const std::string& name, const std::string& text,
             fs::perms mode = fs::perms(0644)) const {
    const fs::path file = fs::path(path_) / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    fs::permissions(file, mode);
  }

 private:
  std::string path_;
};

// Runs entrytrace on argv with every candidate as a terminal, records the
// capture, and checks that analyze of the recording prints the same result.
RunOutput run_and_replay(const std::string& capture_file,
                         const std::vector<std::string>& argv) {
  std::vector<std::string> args = {"run", "--window", kWindow,      "--top-k",
                                   kTopK, "--record", capture_file, "--"};
  args.insert(args.end(), argv.begin(), argv.end());
  RunOutput run = run_entrytrace(args);
  RunOutput replay =
      run_entrytrace({"analyze", "--top-k", kTopK, capture_file});
  EXPECT_EQ(replay.out, run.out) << "analyze of the recorded capture differs";
  return run;
}

#define SKIP_UNLESS_READY(programs)                                \
  if (geteuid() != 0) {                                            \
    GTEST_SKIP() << "needs root to create PID and net namespaces"; \
  }                                                                \
  if (std::string missing; !have_programs(programs, &missing)) {   \
    GTEST_SKIP() << missing << " is not installed";                \
  }

class SupervisordTree : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_READY((std::vector<std::string>{"supervisord", "php-fpm8.2",
                                                "nginx", "setpriv"}));
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    write_configs();
  }

  void write_configs() {
    const std::string d = dir_.path();
    dir_.write("supervisord.conf",
               "[unix_http_server]\n"
               "file = " +
                   d +
                   "/run/supervisor.sock  ; control socket\n"
                   "\n"
                   "[supervisord]\n"
                   "nodaemon = true\n"
                   "logfile = " +
                   d +
                   "/run/supervisord.log\n"
                   "pidfile = " +
                   d +
                   "/run/supervisord.pid\n"
                   "childlogdir = " +
                   d +
                   "/run\n"
                   "\n"
                   "[rpcinterface:supervisor]\n"
                   "supervisor.rpcinterface_factory = "
                   "supervisor.rpcinterface:make_main_rpcinterface\n"
                   "\n"
                   "[include]\n"
                   "files = conf.d/*.conf\n");
    dir_.write(
        "conf.d/php-fpm.conf",
        "[program:php-fpm]\n"
        "command = /usr/sbin/php-fpm8.2 -F -y %(here)s/../php-fpm.conf\n");
    dir_.write("conf.d/nginx.conf",
               "[program:nginx]\n"
               "command = nginx -g 'daemon off;' -c " +
                   d + "/nginx.conf -e " + d + "/run/error.log\n");
    dir_.write("php-fpm.conf",
               "[global]\n"
               "pid = " +
                   d +
                   "/run/php-fpm.pid\n"
                   "error_log = " +
                   d +
                   "/run/php-fpm.log\n"
                   "\n"
                   "[www]\n"
                   "listen = " +
                   d +
                   "/run/php-fpm.sock\n"
                   "pm = ondemand\n"
                   "pm.max_children = 4\n"
                   "pm.process_idle_timeout = 10s\n");
    dir_.write("nginx.conf", nginx_conf(d));
    fs::create_directories(d + "/run");
    // supervisord and its programs run as nobody and write only here.
    ASSERT_EQ(chown((d + "/run").c_str(), kNobody, kNobody), 0);
  }

  static std::string nginx_conf(const std::string& d) {
    return "pid " + d +
           "/run/nginx.pid;\n"
           "worker_processes 2;\n"
           "error_log " +
           d +
           "/run/error.log;\n"
           "events { worker_connections 64; }\n"
           "http {\n"
           "  access_log " +
           d +
           "/run/access.log;\n"
           "  client_body_temp_path " +
           d +
           "/run/body;\n"
           "  proxy_temp_path " +
           d +
           "/run/proxy;\n"
           "  fastcgi_temp_path " +
           d +
           "/run/fastcgi;\n"
           "  uwsgi_temp_path " +
           d +
           "/run/uwsgi;\n"
           "  scgi_temp_path " +
           d +
           "/run/scgi;\n"
           "  server {\n"
           "    listen 0.0.0.0:8080;\n"
           "    listen [::]:8080;\n"
           "    location / { return 200 \"ok\\n\"; }\n"
           "    location ~ \\.php$ {\n"
           "      include /etc/nginx/fastcgi_params;\n"
           "      fastcgi_pass unix:" +
           d +
           "/run/php-fpm.sock;\n"
           "    }\n"
           "  }\n"
           "}\n";
  }

  RunOutput run() {
    return run_and_replay(
        dir_.path() + "/capture.json",
        {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "/usr/bin/supervisord", "-c", dir_.path() + "/supervisord.conf"});
  }

  TestDirectory dir_{"entrytrace-supervisord"};
};

TEST_F(SupervisordTree, ServicesMatchTheirPrograms) {
  RunOutput run = this->run();
  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  EXPECT_EQ(run.exit_status, 0) << run.err;
  const std::string d = dir_.path();

  const rapidjson::Value* nginx = terminal_with_path(run.result, "/nginx");
  ASSERT_NE(nginx, nullptr) << run.out;
  EXPECT_EQ(member_string(*nginx, "type"), "service");
  auto evidence = strings_of(*nginx, "evidence");
  EXPECT_TRUE(mentions(evidence, "listening on 0.0.0.0:8080"))
      << join(evidence);
  EXPECT_TRUE(mentions(evidence, "listening on [::]:8080")) << join(evidence);
  EXPECT_TRUE(mentions(evidence, "has 2 worker processes forked from it"))
      << join(evidence);
  EXPECT_TRUE(mentions(evidence, "program nginx from [program:nginx] in " + d +
                                     "/conf.d/nginx.conf"))
      << join(evidence);

  const rapidjson::Value* php = terminal_with_path(run.result, "/php-fpm8.2");
  ASSERT_NE(php, nullptr) << run.out;
  EXPECT_EQ(member_string(*php, "type"), "service");
  EXPECT_EQ(member_string(*php, "runtime"), "php");
  evidence = strings_of(*php, "evidence");
  EXPECT_TRUE(
      mentions(evidence, "listening on unix " + d + "/run/php-fpm.sock"))
      << join(evidence);
  EXPECT_TRUE(mentions(evidence, "program php-fpm from [program:php-fpm] in " +
                                     d + "/conf.d/php-fpm.conf"))
      << join(evidence);
  EXPECT_EQ((*php)["user"]["uid"].GetUint(), kNobody);
}

TEST_F(SupervisordTree, SupervisorIsNotTheWorkload) {
  RunOutput run = this->run();
  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  ASSERT_GE(run.result["terminals"].Size(), 3u) << run.out;
  const auto& terminals = run.result["terminals"];

  EXPECT_EQ(member_string(terminals[0], "type"), "service");
  EXPECT_EQ(member_string(terminals[1], "type"), "service");
  EXPECT_TRUE(run.result["applicationFound"].GetBool());
  const rapidjson::Value* supervisor =
      terminal_with_path(run.result, "/python3.11");
  ASSERT_NE(supervisor, nullptr) << run.out;
  EXPECT_EQ(member_string(*supervisor, "type"), "supervisor");
  EXPECT_EQ((*supervisor)["user"]["uid"].GetUint(), kNobody);
  EXPECT_LT((*supervisor)["confidence"].GetDouble(),
            terminals[1]["confidence"].GetDouble());
  auto evidence = strings_of(*supervisor, "evidence");
  EXPECT_TRUE(mentions(evidence, "supervises 2 program(s) from " + dir_.path() +
                                     "/supervisord.conf"))
      << join(evidence);

  // nginx workers are the master's children, never terminals of their own;
  // php-fpm with pm = ondemand has no worker while idle.
  for (const auto& terminal : terminals.GetArray()) {
    for (const std::string& arg : strings_of(terminal, "argv")) {
      EXPECT_EQ(arg.find("worker process"), std::string::npos) << run.out;
    }
  }
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    for (const std::string& arg : strings_of(node, "argv")) {
      EXPECT_EQ(arg.find("pool www"), std::string::npos) << run.out;
    }
  }
  auto top = strings_of(run.result, "evidence");
  EXPECT_TRUE(mentions_all(top, {"supervisord (pid 1) reads " + dir_.path() +
                                     "/supervisord.conf and includes",
                                 "/conf.d/nginx.conf", "/conf.d/php-fpm.conf"}))
      << join(top);
}

class RunitTree : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_READY((std::vector<std::string>{"runsvdir", "runsv", "cron",
                                                "rsyslogd", "mount"}));
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    write_tree();
  }

  void write_tree() {
    const std::string d = dir_.path();
    const fs::perms script = fs::perms(0755);
    dir_.write("service/cron/run", "#!/bin/sh\nexec cron -f\n", script);
    dir_.write("service/sshd/run", "#!/bin/sh\nexec /usr/sbin/sshd -D\n",
               script);
    dir_.write("service/sshd/down", "");
    // A private /run for cron's pid file, in the tree's mount namespace.
    dir_.write("rc.d/10-run.sh",
               "#!/bin/sh\nmount -t tmpfs -o mode=0755 tmpfs /run\n", script);
    dir_.write("rc.d/20-syslog.sh",
               "#!/bin/sh\nrsyslogd -f " + d + "/rsyslog.conf -i " + d +
                   "/rsyslogd.pid\n",
               script);
    dir_.write("rsyslog.conf",
               "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
               "input(type=\"imuxsock\" Socket=\"" +
                   d +
                   "/log.sock\")\n"
                   "global(workDirectory=\"" +
                   d +
                   "\")\n"
                   "*.* " +
                   d + "/messages\n");
    dir_.write("init.py",
               "#!/usr/bin/python3 -u\n"
               "import os\n"
               "import subprocess\n"
               "\n"
               "RC = \"" +
                   d +
                   "/rc.d\"\n"
                   "for name in sorted(os.listdir(RC)):\n"
                   "    subprocess.run([os.path.join(RC, name)], check=False)\n"
                   "subprocess.Popen([\"runsvdir\", \"-P\", \"" +
                   d +
                   "/service\"])\n"
                   "while True:\n"
                   "    try:\n"
                   "        os.wait()\n"
                   "    except ChildProcessError:\n"
                   "        break\n",
               script);
  }

  RunOutput run() {
    return run_and_replay(dir_.path() + "/capture.json",
                          {dir_.path() + "/init.py"});
  }

  TestDirectory dir_{"entrytrace-runit"};
};

TEST_F(RunitTree, ServicesWithTheirState) {
  RunOutput run = this->run();
  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  const std::string d = dir_.path();
  auto evidence = all_evidence(run.result);

  EXPECT_TRUE(mentions(evidence, "scans " + d +
                                     "/service: 2 service(s) "
                                     "(cron, sshd)"))
      << join(evidence);
  EXPECT_TRUE(mentions_all(
      evidence,
      {"runit service cron (" + d + "/service/cron) runs as pid ",
       "(/usr/sbin/cron) under runsv (pid ", "supervise/stat says run"}))
      << join(evidence);
  EXPECT_TRUE(mentions_all(evidence, {"runit service sshd (" + d +
                                          "/service/sshd) is down: it has a "
                                          "down file",
                                      "supervise/stat says down"}))
      << join(evidence);
  const rapidjson::Value* cron = terminal_with_path(run.result, "/cron");
  ASSERT_NE(cron, nullptr) << run.out;
  EXPECT_EQ(member_string(*cron, "type"), "service");
}

TEST_F(RunitTree, NoApplicationWorkload) {
  RunOutput run = this->run();
  ASSERT_TRUE(run.json_ok()) << run.out << run.err;
  auto top = strings_of(run.result, "evidence");

  EXPECT_TRUE(mentions(top, "no application workload")) << join(top);
  ASSERT_TRUE(run.result["applicationFound"].IsBool()) << run.out;
  EXPECT_FALSE(run.result["applicationFound"].GetBool());
  const rapidjson::Value* syslog = terminal_with_path(run.result, "rsyslogd");
  ASSERT_NE(syslog, nullptr) << run.out;
  EXPECT_EQ(member_string(*syslog, "type"), "daemon");
  EXPECT_TRUE(mentions_all(top, {"(/usr/sbin/rsyslogd) is a background daemon",
                                 "/rc.d/20-syslog.sh) started it and exited",
                                 "not a service of runsvdir"}))
      << join(top);
  for (const auto& terminal : run.result["terminals"].GetArray()) {
    auto evidence = strings_of(terminal, "evidence");
    EXPECT_TRUE(mentions(evidence, "not an application workload"))
        << join(evidence);
  }
  const rapidjson::Value* init = terminal_with_path(run.result, "/python3.11");
  if (init != nullptr) {
    EXPECT_TRUE(mentions(strings_of(*init, "evidence"),
                         "an init, not an application workload"));
  }
  // No TCP listener anywhere in the tree.
  for (const auto& node : run.result["execGraph"]["nodes"].GetArray()) {
    for (const std::string& socket : strings_of(node, "listening")) {
      EXPECT_EQ(socket.rfind("unix ", 0), 0u) << socket;
    }
  }
}

}  // namespace
}  // namespace entrytrace::testing
