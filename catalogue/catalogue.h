// The catalogue: program signatures as data. Wrappers
// (programs that run another command: tini, gosu, sh -c, ...), supervisors,
// runtime signatures and the scoring weights come from JSON. A default
// catalogue is compiled into the binary; users extend or override it with
// their own file, where an entry with the same name replaces the default
// entry and a new name is appended.
//
// The JSON format is documented in catalogue/README.md. Patterns are re2
// expressions, compiled once at load and matched against the whole program
// name (FullMatch).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace entrytrace {

enum class WrapperKind { kInit, kUserSwitch, kShell, kUtility };
// kExec: the wrapper replaces itself with the command (gosu, env).
// kResident: the wrapper stays as the command's parent (tini, runuser).
enum class WrapperMode { kExec, kResident };

// "init", "user-switch", "shell", "utility".
const char* wrapper_kind_name(WrapperKind kind);
// "exec", "resident".
const char* wrapper_mode_name(WrapperMode mode);

// How to find the wrapped command in a wrapper's argv.
struct CommandSyntax {
  // False for wrappers that parse no options (gosu USER CMD).
  bool options = true;
  // Options that take a value in the next argument ("-n") or after "=" in
  // the same argument ("--userspec=1:1"); short ones also take it attached
  // ("-oL").
  std::vector<std::string> options_with_value;
  // Options whose value is a shell script to run (su -c SCRIPT).
  std::vector<std::string> script_options;
  // Positional arguments before the command (1 for gosu USER CMD).
  int positionals = 0;
  // Skip NAME=VALUE arguments before the command (env).
  bool assignments = false;
  // GNU-style: options may follow positionals until "--" (su USER -c ...).
  bool permute = false;
  // A POSIX shell: "-c" makes the first operand a script; "-o"/"+o" take a
  // value.
  bool shell = false;
  // The shell replaces itself with the last simple command of a -c script
  // (bash does, Debian's dash does not).
  bool execs_last_command = false;
  // Where a user switch names the user it runs the command as: options
  // that take the user as their value ("-u" of chpst), or the position of
  // the positional argument that is the user (1 for gosu USER CMD; 0 for
  // none).
  std::vector<std::string> user_options;
  int user_positional = 0;
};

struct WrapperEntry {
  std::string name;
  WrapperKind kind = WrapperKind::kUtility;
  WrapperMode mode = WrapperMode::kExec;
  std::string exe_pattern;
  std::shared_ptr<const re2::RE2> exe;
  // Each pattern must fully match at least one element of argv.
  std::vector<std::string> argv_patterns;
  std::vector<std::shared_ptr<const re2::RE2>> argv;
  CommandSyntax syntax;
};

struct WrapperMatch {
  std::string name;
  WrapperKind kind = WrapperKind::kUtility;
  WrapperMode mode = WrapperMode::kExec;
  // The wrapped command, empty when it cannot be found in argv (su without
  // -c, a shell script too complex to split).
  std::vector<std::string> wrapped_argv;
  // The script given to a shell or with su -c, when there is one.
  std::optional<std::string> script;
  // The user the wrapper switches to, as written ("redis", "999:999"), when
  // its syntax names where the user is.
  std::optional<std::string> user;
};

// The layout of a supervisor's configuration. The parsers of each format
// are in detectors/, and the catalogue contains the paths and names they
// use.
enum class SupervisorFormat {
  // supervisord's INI file: [program:x] sections and [include] globs.
  kSupervisordIni,
  // A runit scan directory (runsvdir DIR): one service directory per entry.
  kRunitScan,
  // One runit service directory.
  kRunitService,
};

// "supervisord-ini", "runit-scan", "runit-service".
const char* supervisor_format_name(SupervisorFormat format);

// Names inside a runit service directory, relative to it.
struct ServiceLayout {
  std::string run = "run";
  // Its presence keeps the service down until it is started by hand.
  std::string down = "down";
  // The state the supervisor writes as text ("run", "down"); empty when
  // the layout has none.
  std::string state;
  // The pid of the running service, as text; empty when none.
  std::string pid;
  // A subdirectory that is the service's log service; empty when none.
  std::string log;
  // Entries of a scan directory that start with this are not services.
  std::string hidden_prefix = ".";
};

struct SupervisorConfigSyntax {
  SupervisorFormat format = SupervisorFormat::kSupervisordIni;
  // Options whose value is the configuration path (supervisord -c FILE).
  std::vector<std::string> path_options;
  // The first operand is the configuration path (runsvdir DIR).
  bool path_operand = false;
  // Tried in order when no option or operand names the path. "{prefix}"
  // is the directory above the program's (/usr for /usr/bin/supervisord).
  // A relative path is resolved against the working directory.
  std::vector<std::string> search_paths;
  // INI: the section and key whose value lists more files to read, as
  // globs relative to the including file's directory.
  std::string include_section;
  std::string include_key;
  // INI: section prefixes, before ":", of the sections that define a
  // service ("program" for [program:web]).
  std::vector<std::string> service_sections;
  ServiceLayout layout;
};

struct SupervisorEntry {
  std::string name;
  std::string exe_pattern;
  std::shared_ptr<const re2::RE2> exe;
  std::vector<std::string> argv_patterns;
  std::vector<std::shared_ptr<const re2::RE2>> argv;
  // Unset when entrytrace does not read this supervisor's configuration.
  std::optional<SupervisorConfigSyntax> config;
};

// A system daemon that containers run beside their workload (cron, sshd,
// a syslog daemon). It is reported as such, never as the application.
struct DaemonEntry {
  std::string name;
  std::string exe_pattern;
  std::shared_ptr<const re2::RE2> exe;
};

struct RuntimeEntry {
  std::string name;
  std::string exe_pattern;
  std::shared_ptr<const re2::RE2> exe;
};

// A runtime loaded into a native server as a library, such as PHP in
// apache2. It is embedded when a file of `directory` whose name fully
// matches `file` has a line that fully matches `line`, and the library path
// captured by the first group of `line` exists in the root filesystem.
struct EmbeddedRuntimeEntry {
  std::string name;
  // The runtime reported, e.g. "php".
  std::string runtime;
  // The server program that loads it, matched like a runtime's exe.
  std::string host_pattern;
  std::shared_ptr<const re2::RE2> host;
  std::string directory;
  std::string file_pattern;
  std::shared_ptr<const re2::RE2> file;
  std::string line_pattern;
  std::shared_ptr<const re2::RE2> line;
  // Directory that a relative library path is resolved against (the
  // server root); empty means "/".
  std::string library_root;
};

// Named weights of the steady-state score; see docs/result.md for how they
// combine.
struct ScoringWeights {
  // Points per second of lifetime, counted up to lifetime_cap_seconds.
  double lifetime_per_second = 1.0;
  double lifetime_cap_seconds = 5.0;
  // Points per owned listening socket, counted up to listening_cap.
  double listening = 4.0;
  double listening_cap = 3.0;
  // Added once when the image matches a wrapper entry.
  double wrapper_penalty = -6.0;
  // Added per image still running downstream through an exec.
  double execs_downstream_penalty = -3.0;
  // Points per clone child, counted up to fanout_cap.
  double fanout_per_child = 0.5;
  double fanout_cap = 4.0;
  // Added when the image is pid 1 of the target namespace.
  double ns_pid1 = 0.5;
  // Added when the image no longer runs at the end of the window.
  double exited_penalty = -10.0;
  // Added when the lifetime is below short_lived_ms.
  double short_lived_penalty = -3.0;
  double short_lived_ms = 500.0;
  // Softmax temperature of the confidence; larger spreads it more evenly.
  double confidence_temperature = 2.0;
  // Added once when the image is a supervisor, or runs and has one below
  // it (the init or script that started the supervisor and stayed).
  double supervisor_penalty = -6.0;
  // Added once when the image matches a daemon entry.
  double daemon_penalty = -6.0;
};

class Catalogue {
 public:
  // The compiled-in catalogue. Throws std::logic_error when the embedded
  // JSON is invalid, which is a build defect caught by the unit tests.
  static Catalogue load_default();

  // An empty catalogue with default weights.
  Catalogue() = default;

  // Merges a user catalogue file. Returns an Error naming the path and the
  // JSON offset, the entry, or the invalid pattern with re2's message; on
  // error the catalogue is unchanged.
  Status merge_file(const std::string& path);
  // Merges catalogue JSON text; `source` names it in error messages.
  Status merge_json(std::string_view text,
                    std::string_view source = "<catalogue>");

  // Matches a program image against the wrappers, first entry first. The
  // program name is the basename of exe, or of argv[0] when exe is empty or
  // a multi-call binary (busybox).
  std::optional<WrapperMatch> match_wrapper(
      std::string_view exe, const std::vector<std::string>& argv) const;

  // Returns the runtime name ("python", "java", ...), "native" when the
  // program matches no runtime entry, or nullopt when both exe and argv are
  // empty.
  std::optional<std::string> classify_runtime(
      std::string_view exe, const std::vector<std::string>& argv) const;

  // Returns the name of the matching supervisor entry.
  std::optional<std::string> match_supervisor(
      std::string_view exe, const std::vector<std::string>& argv) const;

  // The supervisor entry with this name, or nullptr.
  const SupervisorEntry* find_supervisor(std::string_view name) const;

  // Returns the name of the matching daemon entry.
  std::optional<std::string> match_daemon(
      std::string_view exe, const std::vector<std::string>& argv) const;

  // Returns the name of the matching pre-fork server entry: a server whose
  // master process forks the workers (apache2, nginx, php-fpm).
  std::optional<std::string> match_pre_fork_server(
      std::string_view exe, const std::vector<std::string>& argv) const;

  // Returns the embedded-runtime entries whose host matches the program.
  std::vector<const EmbeddedRuntimeEntry*> embedded_runtime_rules(
      std::string_view exe, const std::vector<std::string>& argv) const;

  const ScoringWeights& weights() const { return weights_; }
  const std::vector<WrapperEntry>& wrappers() const { return wrappers_; }
  const std::vector<SupervisorEntry>& supervisors() const {
    return supervisors_;
  }
  const std::vector<RuntimeEntry>& runtimes() const { return runtimes_; }
  const std::vector<DaemonEntry>& daemons() const { return daemons_; }
  const std::vector<SupervisorEntry>& pre_fork_servers() const {
    return pre_fork_servers_;
  }
  const std::vector<EmbeddedRuntimeEntry>& embedded_runtimes() const {
    return embedded_runtimes_;
  }

 private:
  std::string program_name(std::string_view exe,
                           const std::vector<std::string>& argv) const;

  std::vector<WrapperEntry> wrappers_;
  std::vector<SupervisorEntry> supervisors_;
  std::vector<DaemonEntry> daemons_;
  std::vector<RuntimeEntry> runtimes_;
  std::vector<SupervisorEntry> pre_fork_servers_;
  std::vector<EmbeddedRuntimeEntry> embedded_runtimes_;
  std::vector<std::string> multi_call_;
  ScoringWeights weights_;
};

// The text of catalogue/default_catalogue.json, compiled in.
std::string_view default_catalogue_json();

// Finds the command a wrapper runs in its argv (argv[0] is the wrapper).
// Fills wrapped_argv and script of `match`; leaves them empty when the
// command cannot be found.
void find_wrapped_command(const CommandSyntax& syntax,
                          const std::vector<std::string>& argv,
                          WrapperMatch& match);

// The last simple command of a shell script, split into words.
struct ShellCommand {
  std::vector<std::string> argv;
  // The command was written "exec CMD", so the shell replaces itself.
  bool exec_prefixed = false;
  // Number of commands in the script.
  int command_count = 0;
};

// Splits the last simple command of a shell script into words. Handles
// quotes, backslashes, comments, redirections, ";", "&&", "||", "|", "&"
// and newlines, and drops a leading "exec" and NAME=VALUE assignments.
// Returns nullopt when the script uses syntax it does not model: parameter
// expansion, command substitution, globs or compound commands, because
// their words depend on the environment at run time.
std::optional<ShellCommand> parse_shell_script(std::string_view script);

}  // namespace entrytrace
