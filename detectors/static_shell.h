// A symbolic, bounded interpreter for container entrypoint scripts (POSIX
// sh and bash). It follows a script the way the shell would run it in the
// image, without running anything: which command the script finally
// exec's, which commands it runs as children on the way, and which files it
// sources.
//
// It follows assignments, set --, shift, if/elif/else, while/until, for
// (including a pathname glob listed through the FileSource), case, && and
// ||, [ ], test and [[ ]] (string, integer and file tests, the files being
// those of the image), the parameter expansions of POSIX and common bash
// ones, "$@" and $0, functions, . and source, cd, exec and exit, and the
// command substitutions $(id -u), $(id -g), $(id -un), $(whoami), $(pwd),
// $(echo ...), $(basename ...), $(dirname ...) and $(command -v ...), with
// the user being simulated. Other external commands are assumed to succeed
// and their output is unknown.
//
// A value that depends on something unknown (the output of another
// command, a read from stdin) is carried as unknown. The interpreter stops
// with ShellEnd::kGaveUp and records where when such a value decides the flow
// or names the command that is finally run. A branch on an unknown
// condition is skipped instead when no branch can change the flow (no
// exec, exit, assignment, source, background job or function call).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/file_source.h"

namespace entrytrace {

// The process a script starts in.
struct ShellStart {
  // The script's text, and the file it was read from ("" for sh -c).
  std::string script;
  std::string script_path;
  // $0 and the positional parameters.
  std::string arg0;
  std::vector<std::string> args;
  // The environment the shell starts with; every entry is exported.
  std::map<std::string, std::string> environment;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  // The user name of uid, when the image's /etc/passwd has it.
  std::optional<std::string> user_name;
  // bash rather than a POSIX sh: a missing file given to "." is an error
  // status instead of the end of the shell.
  bool bash = false;
};

// A command the script runs as a child process.
struct ShellChild {
  std::vector<std::string> argv;
  // The reason an argument is not known, when one is not ("output of
  // $(hostname)"); those arguments appear as "?" in argv.
  std::optional<std::string> unknown;
  // "line 14 of /docker-entrypoint.sh".
  std::string where;
  // Started with "&": runs beside the script instead of before its end.
  bool background = false;
};

enum class ShellEnd {
  // The script exec's argv.
  kExec,
  // The script ends, by exit or at its last line.
  kEnd,
  // The interpreter cannot follow the script further; see stop.
  kGaveUp,
};

struct ShellOutcome {
  ShellEnd end = ShellEnd::kEnd;
  // kExec: the command that replaces the shell.
  std::vector<std::string> argv;
  // "line 17 of /usr/local/bin/docker-entrypoint.sh": where the script
  // exec'd, ended or stopped.
  std::string where;
  // The exported variables when the script exec'd or ended.
  std::map<std::string, std::string> environment;
  std::string cwd;
  // kEnd: the exit status when the script called exit.
  std::optional<int> exit_status;
  // Commands run as children, in the order they start.
  std::vector<ShellChild> children;
  // kEnd: the index in children of the last command run in the
  // foreground, which the shell waited for before it ended.
  std::optional<size_t> last_foreground;
  // kGaveUp: what could not be followed.
  std::string stop;
  // Sentences for the evidence: files sourced, branches skipped.
  std::vector<std::string> notes;
};

// Follows the script. Never fails: a script that cannot be parsed gives
// kGaveUp with the parse error. Bounded: at most 20,000 commands, 1,000
// iterations of one loop and 16 nested sources or function calls.
ShellOutcome interpret_shell(const ShellStart& start, const FileSource& files);

// Finds name the way a shell's PATH search does: a name with a "/" is taken
// as it is (relative to cwd), otherwise each directory of path (a
// colon-separated list) is tried for a regular file with an execute bit.
std::optional<std::string> find_executable(const std::string& name,
                                           const std::string& path,
                                           const std::string& cwd,
                                           const FileSource& files);

}  // namespace entrytrace
