#include "detectors/supervisor_report.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

#include "common/phrases.h"
#include "detectors/supervisor_config.h"
#include "detectors/supervisor_files.h"
#include "detectors/supervisor_sources.h"

namespace entrytrace {
namespace {

bool running(const ExecNode& node) {
  return !node.ended_us.has_value();
}

std::string pid_text(const ExecNode& node) {
  return "pid " + std::to_string(node.ns_pid);
}

// "pid 3 (/bin/sh /etc/rc.d/20-syslog.sh)": the pid and the command line.
std::string describe_command(const ExecNode& node) {
  return pid_text(node) + " (" + join_words(node.argv) + ")";
}

// "pid 9 (/usr/sbin/nginx)": the pid and the program's path (exe, else
// argv[0], else comm).
std::string describe(const ExecNode& node) {
  std::string path = node.exe_known && !node.exe.empty() ? node.exe
                     : !node.argv.empty()                ? node.argv.front()
                                                         : node.comm;
  return pid_text(node) + " (" + path + ")";
}

// One process started by a supervisor: the clone child and every image it
// exec'd into, oldest first.
struct ChildProcess {
  std::vector<size_t> images;

  size_t latest() const { return images.back(); }
};

bool same_program(const ExecNode& a, const ExecNode& b) {
  return a.exe == b.exe && a.argv == b.argv;
}

// The processes a node started, in node order. A child that never exec'd
// (still the supervisor's own fork) is left out.
std::vector<ChildProcess> child_processes(const ExecGraph& graph,
                                          size_t parent) {
  std::vector<ChildProcess> children;
  for (size_t child : graph.clone_children(parent)) {
    ChildProcess process{{child}};
    std::set<size_t> seen{child};
    while (auto next = graph.exec_successor(process.latest())) {
      if (!seen.insert(*next).second) {
        break;
      }
      process.images.push_back(*next);
    }
    if (!same_program(graph.nodes()[process.latest()], graph.nodes()[parent])) {
      children.push_back(std::move(process));
    }
  }
  return children;
}

// How well a process matches a supervisord program: 100 for the command's
// exact argv, down to 20 for a rewritten title ("nginx: master process")
// that names the program, 0 for no match.
int match_score(const ServiceDefinition& service, const ExecGraph& graph,
                const ChildProcess& process) {
  if (service.command.empty()) {
    return 0;
  }
  const std::string& program = service.command.front();
  const std::string name = base_name(program);
  int best = 0;
  for (size_t image : process.images) {
    const ExecNode& node = graph.nodes()[image];
    const auto& argv = node.argv;
    if (argv == service.command) {
      best = std::max(best, 100);
    }
    if (!argv.empty() && argv.front() == program) {
      best = std::max(best, 60);
    }
    if (argv.size() > 1 &&
        std::find(argv.begin() + 1, argv.end(), program) != argv.end() &&
        program.starts_with('/')) {
      best = std::max(best, 50);
    }
    if (node.exe_known && node.exe == program) {
      best = std::max(best, 50);
    }
    if (node.exe_known && base_name(node.exe) == name) {
      best = std::max(best, 40);
    }
    if (argv.size() == 1 && argv.front().find(name) != std::string::npos) {
      best = std::max(best, 20);
    }
  }
  return best;
}

// Pairs services with processes, best score first and running before
// exited (a program that supervisord restarted has both), each at most
// once. Returns, for each service, the index of its process.
std::vector<std::optional<size_t>> match_services(
    const std::vector<ServiceDefinition>& services,
    const std::vector<ChildProcess>& processes, const ExecGraph& graph) {
  // (-score, exited, process, service), so that sorting puts the best
  // first and breaks ties by order.
  std::vector<std::tuple<int, bool, size_t, size_t>> pairs;
  for (size_t s = 0; s < services.size(); ++s) {
    for (size_t p = 0; p < processes.size(); ++p) {
      const int score = match_score(services[s], graph, processes[p]);
      const bool exited = !running(graph.nodes()[processes[p].latest()]);
      if (score > 0) {
        pairs.emplace_back(-score, exited, p, s);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::vector<std::optional<size_t>> matched(services.size());
  std::vector<bool> used(processes.size(), false);
  for (const auto& [score, exited, p, s] : pairs) {
    if (matched[s] || used[p]) {
      continue;
    }
    matched[s] = p;
    used[p] = true;
  }
  return matched;
}

class Reporter {
 public:
  Reporter(const Capture& capture, const Catalogue& catalogue,
           const ExecGraph& graph, const GraphScores& scores)
      : capture_(capture),
        catalogue_(catalogue),
        graph_(graph),
        scores_(scores),
        files_(capture.files) {}

  SupervisorAnalysis run() {
    const std::vector<SupervisorSite> sites =
        find_supervisor_sites(capture_, graph_, catalogue_);
    for (const SupervisorSite& site : sites) {
      report_site(site);
    }
    if (!sites.empty()) {
      report_roles(sites);
    }
    attach_service_sentences();
    return std::move(out_);
  }

 private:
  const ExecNode& node(size_t index) const { return graph_.nodes()[index]; }

  std::string supervisor_text(size_t index) const {
    return *scores_.features[index].supervisor + " (" + pid_text(node(index)) +
           ")";
  }

  void problems(size_t site, const SupervisorConfig& config) {
    for (const std::string& problem : config.problems) {
      out_.diagnostics.push_back(supervisor_text(site) + ": " + problem);
    }
  }

  SupervisorConfig load(const SupervisorSite& site) const {
    const ExecNode& image = node(site.node);
    return load_supervisor_config(*site.entry, image.argv, site.cwd, files_);
  }

  void report_site(const SupervisorSite& site) {
    const SupervisorConfig config = load(site);
    problems(site.node, config);
    if (config.path.empty()) {
      out_.evidence.push_back(supervisor_text(site.node) +
                              ": configuration not read, so its services "
                              "are not known by name");
      return;
    }
    switch (site.entry->config->format) {
      case SupervisorFormat::kSupervisordIni:
        report_supervisord(site, config);
        break;
      case SupervisorFormat::kRunitScan:
        report_runit_scan(site, config);
        break;
      case SupervisorFormat::kRunitService:
        report_runit_services(site.node, site.node, config,
                              *site.entry->config);
        break;
    }
  }

  void report_supervisord(const SupervisorSite& site,
                          const SupervisorConfig& config) {
    std::string reads = supervisor_text(site.node) + " reads " + config.path;
    if (!config.included.empty()) {
      reads += " and includes " + join_words(config.included, ", ");
    }
    out_.evidence.push_back(reads);

    const std::vector<ChildProcess> processes =
        child_processes(graph_, site.node);
    const auto matched = match_services(config.services, processes, graph_);
    std::vector<std::string> summary;
    for (size_t s = 0; s < config.services.size(); ++s) {
      const ServiceDefinition& service = config.services[s];
      const std::string program = "program " + service.name + " (" +
                                  service.section + " in " + service.file + ")";
      if (!matched[s]) {
        out_.evidence.push_back(program + (service.autostart
                                               ? " was not seen running"
                                               : " is not started "
                                                 "automatically "
                                                 "(autostart=false)"));
        summary.push_back(service.name + " (not running)");
        continue;
      }
      const size_t latest = processes[*matched[s]].latest();
      const bool runs = running(node(latest));
      out_.evidence.push_back(program + (runs ? " runs as " : " ran as ") +
                              describe(node(latest)) +
                              (runs ? "" : " and exited") + ", supervised by " +
                              supervisor_text(site.node));
      summary.push_back(service.name + " (" +
                        (runs ? pid_text(node(latest)) : "exited") + ")");
      service_sentences_[latest] = "program " + service.name + " from " +
                                   service.section + " in " + service.file;
    }
    report_unmatched(site.node, processes, matched);
    out_.terminal_evidence[site.node].push_back(
        "supervises " + std::to_string(config.services.size()) +
        " program(s) from " + config.path + ": " + join_words(summary, ", "));
  }

  // Running children that no program claimed.
  void report_unmatched(size_t site, const std::vector<ChildProcess>& processes,
                        const std::vector<std::optional<size_t>>& matched) {
    for (size_t p = 0; p < processes.size(); ++p) {
      const bool claimed = std::find(matched.begin(), matched.end(),
                                     std::optional(p)) != matched.end();
      const ExecNode& latest = node(processes[p].latest());
      if (claimed || !running(latest)) {
        continue;
      }
      out_.evidence.push_back(describe(latest) + " runs under " +
                              supervisor_text(site) +
                              " but matches no program of its configuration");
    }
  }

  void report_runit_scan(const SupervisorSite& site,
                         const SupervisorConfig& config) {
    std::vector<std::string> names;
    for (const ServiceDefinition& service : config.services) {
      names.push_back(service.name);
    }
    out_.evidence.push_back(
        supervisor_text(site.node) + " scans " + config.path + ": " +
        std::to_string(config.services.size()) + " service(s)" +
        (names.empty() ? "" : " (" + join_words(names, ", ") + ")"));
    std::vector<std::string> summary;
    for (const ServiceDefinition& service : config.services) {
      auto runsv = service_supervisor(site.node, service.name);
      summary.push_back(report_runit_service(site.node, runsv, service,
                                             site.entry->config->layout));
    }
    out_.terminal_evidence[site.node].push_back(
        "supervises " + std::to_string(config.services.size()) +
        " service(s) in " + config.path + ": " + join_words(summary, ", "));
  }

  void report_runit_services(size_t site, size_t runsv,
                             const SupervisorConfig& config,
                             const SupervisorConfigSyntax& syntax) {
    for (const ServiceDefinition& service : config.services) {
      report_runit_service(site, runsv, service, syntax.layout);
    }
  }

  // The running service supervisor (runsv NAME) that a scan supervisor
  // started for a service.
  std::optional<size_t> service_supervisor(size_t scan,
                                           const std::string& name) const {
    for (const ChildProcess& child : child_processes(graph_, scan)) {
      const ExecNode& latest = node(child.latest());
      if (running(latest) && scores_.features[child.latest()].supervisor &&
          latest.argv.size() > 1 && latest.argv[1] == name) {
        return child.latest();
      }
    }
    return std::nullopt;
  }

  // Reports one runit service and returns its summary ("cron (pid 9)").
  std::string report_runit_service(size_t site, std::optional<size_t> runsv,
                                   const ServiceDefinition& service,
                                   const ServiceLayout& layout) {
    const std::string label =
        "runit service " + service.name + " (" + service.file + ")";
    const std::string state =
        service.state.empty() || layout.state.empty()
            ? ""
            : "; " + layout.state + " says " + service.state;
    if (!runsv) {
      out_.evidence.push_back(label +
                              " has no running service supervisor "
                              "under " +
                              supervisor_text(site) + state);
      return service.name + " (not supervised)";
    }
    std::optional<size_t> main;
    std::optional<size_t> log;
    for (const ChildProcess& child : child_processes(graph_, *runsv)) {
      const size_t latest = child.latest();
      if (!running(node(latest))) {
        continue;
      }
      const bool is_log =
          service.has_log &&
          node_cwd(capture_, node(latest)) == service.file + "/" + layout.log;
      (is_log ? log : main) = latest;
    }
    if (main) {
      out_.evidence.push_back(label + " runs as " + describe(node(*main)) +
                              " under " + supervisor_text(*runsv) + state);
      service_sentences_[*main] =
          "runit service " + service.name + " from " + service.file;
    } else if (service.down) {
      out_.evidence.push_back(label + " is down: it has a " + layout.down +
                              " file, so " + supervisor_text(*runsv) +
                              " did not start its " + layout.run + " script" +
                              (service.command.empty()
                                   ? ""
                                   : " (" + join_words(service.command) + ")") +
                              state);
    } else {
      out_.evidence.push_back(label + " is not running under " +
                              supervisor_text(*runsv) + state);
    }
    if (log) {
      out_.evidence.push_back("the log service of " + label + " runs as " +
                              describe(node(*log)));
    }
    const std::string summary =
        main
            ? "running as " + pid_text(node(*main))
            : (service.down ? std::string("down") : std::string("not running"));
    out_.terminal_evidence[*runsv].push_back("supervises " + label + ": " +
                                             summary);
    return service.name + " (" + summary + ")";
  }

  // Reports the roles of the running candidates that are not services:
  // the init that started a supervisor, system daemons, and daemons that an
  // init script left in the background. Then adds the "no application
  // workload" sentence when no candidate is an application.
  void report_roles(const std::vector<SupervisorSite>& sites) {
    std::vector<std::string> supervisors;
    std::vector<std::string> inits;
    std::vector<std::string> daemons;
    bool application = false;
    for (const Candidate& candidate : scores_.ranked) {
      const size_t i = candidate.node;
      const NodeFeatures& f = scores_.features[i];
      const auto& daemon = f.daemon;
      if (f.supervisor) {
        out_.terminal_evidence[i].push_back(
            "a supervisor, not an application workload");
        supervisors.push_back(*f.supervisor);
      } else if (f.supervisor_init) {
        report_init(i, sites);
        inits.push_back(pid_text(node(i)));
      } else if (daemon) {
        out_.terminal_evidence[i].push_back("system daemon (" + *daemon +
                                            "), not an application workload");
        daemons.push_back(*daemon);
      } else {
        application = true;
      }
      if (!f.supervisor && !f.supervisor_init) {
        report_background(i, sites);
      }
    }
    if (!application && !scores_.ranked.empty()) {
      report_no_application(supervisors, inits, daemons);
    }
  }

  void report_init(size_t i, const std::vector<SupervisorSite>& sites) {
    for (const SupervisorSite& site : sites) {
      if (!graph_.is_ancestor(i, site.node)) {
        continue;
      }
      out_.terminal_evidence[i].push_back(
          "started supervisor " + supervisor_text(site.node) +
          " and stays its parent: an init, not an application workload");
      return;
    }
  }

  // The image that started the node's program: the nearest ancestor of
  // another program that is not a fork on its way to an exec.
  std::optional<size_t> launcher(size_t i) const {
    for (size_t ancestor : graph_.ancestors(i)) {
      const ExecNode& image = node(ancestor);
      if (image.exe == node(i).exe) {
        continue;
      }
      auto next = graph_.exec_successor(ancestor);
      auto edge = graph_.incoming_edge(ancestor);
      const bool fork_on_way =
          next && edge && graph_.edges()[*edge].kind == EdgeKind::kClone &&
          same_program(image, node(graph_.edges()[*edge].from));
      if (!fork_on_way) {
        return ancestor;
      }
    }
    return std::nullopt;
  }

  // A process with no supervisor above it whose launcher exited: a daemon
  // an init script started in the background.
  void report_background(size_t i, const std::vector<SupervisorSite>& sites) {
    for (size_t ancestor : graph_.ancestors(i)) {
      if (scores_.features[ancestor].supervisor) {
        return;
      }
    }
    auto started_by = launcher(i);
    if (!started_by || running(node(*started_by))) {
      return;
    }
    std::vector<std::string> supervisors;
    for (const SupervisorSite& site : sites) {
      supervisors.push_back(supervisor_text(site.node));
    }
    const std::string sentence =
        "background daemon: " + describe_command(node(*started_by)) +
        " started it and exited, and it is not a service of " +
        join_words(supervisors, " or ");
    out_.evidence.push_back(describe(node(i)) + " is a " + sentence);
    out_.terminal_evidence[i].push_back(sentence);
  }

  void report_no_application(std::vector<std::string> supervisors,
                             const std::vector<std::string>& inits,
                             std::vector<std::string> daemons) {
    auto unique = [](std::vector<std::string>& names) {
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
    };
    unique(supervisors);
    unique(daemons);
    std::vector<std::string> kinds;
    if (!supervisors.empty()) {
      kinds.push_back("a supervisor (" + join_words(supervisors, ", ") + ")");
    }
    if (!inits.empty()) {
      kinds.push_back("the init that started one (" + join_words(inits, ", ") +
                      ")");
    }
    if (!daemons.empty()) {
      kinds.push_back("a system daemon (" + join_words(daemons, ", ") + ")");
    }
    out_.evidence.push_back(
        "no application workload: every running candidate is " +
        join_words(kinds, ", or "));
    out_.no_application = true;
  }

  // Gives each terminal the sentence of the service it belongs to: its
  // own, or that of the nearest service image above it (a server started
  // by a service's shell).
  void attach_service_sentences() {
    for (const Candidate& candidate : scores_.ranked) {
      std::vector<size_t> chain = {candidate.node};
      const auto up = graph_.ancestors(candidate.node);
      chain.insert(chain.end(), up.begin(), up.end());
      for (size_t image : chain) {
        auto found = service_sentences_.find(image);
        if (found != service_sentences_.end()) {
          auto& sentences = out_.terminal_evidence[candidate.node];
          sentences.insert(sentences.begin(), found->second);
          break;
        }
        if (scores_.features[image].supervisor) {
          break;
        }
      }
    }
  }

  const Capture& capture_;
  const Catalogue& catalogue_;
  const ExecGraph& graph_;
  const GraphScores& scores_;
  CapturedFiles files_;
  SupervisorAnalysis out_;
  // The program or service sentence of each matched service image.
  std::map<size_t, std::string> service_sentences_;
};

}  // namespace

SupervisorAnalysis analyze_supervisors(const Capture& capture,
                                       const Catalogue& catalogue,
                                       const ExecGraph& graph,
                                       const GraphScores& scores) {
  return Reporter(capture, catalogue, graph, scores).run();
}

}  // namespace entrytrace
