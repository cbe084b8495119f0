// Pure parsers for the per-process files of procfs. Each takes the file's
// text (as read, unmodified) and returns typed fields or an Error that names
// the field that failed. None of them touches the file system, so tests feed
// them literal strings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace entrytrace {

// The fields of /proc/<pid>/stat that capture needs.
struct StatFields {
  int32_t pid = 0;
  // Everything between the first '(' and the last ')': up to 15 bytes of any
  // value but NUL, including spaces, parentheses and newlines.
  std::string comm;
  // 'R', 'S', 'D', 'Z', 'T', 't', 'X', 'I', ...
  char state = '?';
  int32_t ppid = 0;
  // Field 22: clock ticks after boot. Compared raw, never converted.
  uint64_t start_ticks = 0;
  // Field 28: 0 when the reader lacks ptrace access to the process.
  uint64_t start_stack = 0;
  // Field 9: the kernel's PF_* flags of the task.
  uint32_t flags = 0;

  // True for a kernel thread (PF_KTHREAD).
  bool is_kernel_thread() const { return (flags & 0x00200000U) != 0; }
};

// Parses /proc/<pid>/stat. Returns an Error when the parentheses around comm
// are missing or a needed field is missing or not a number.
Result<StatFields> parse_stat(std::string_view text);

// The fields of /proc/<pid>/status that capture needs.
struct StatusFields {
  int32_t pid = 0;
  int32_t tgid = 0;
  int32_t ppid = 0;
  // Real and effective ids.
  uint32_t uid = 0;
  uint32_t euid = 0;
  uint32_t gid = 0;
  uint32_t egid = 0;
  // Thread group id in each PID namespace the process is in, from the
  // initial namespace down to its own. Empty on kernels before 4.1, which
  // have no NStgid line.
  std::vector<int32_t> ns_tgid;

  // True for a thread other than the thread group leader.
  bool is_thread() const { return tgid != pid; }
};

// Parses /proc/<pid>/status. Returns an Error naming the first missing or
// invalid line among Pid, Tgid, PPid, Uid and Gid.
Result<StatusFields> parse_status(std::string_view text);

// Splits /proc/<pid>/cmdline at NUL. An empty text (kernel thread, zombie,
// exec in progress) gives an empty list. Trailing NULs are padding and
// dropped, whether there are none (a title written over the arguments) or
// many (a title padded with NULs, as nginx and redis write it).
// NOTE: a real trailing empty argument ("prog ''") is indistinguishable from
// padding and is dropped too.
std::vector<std::string> parse_cmdline(std::string_view text);

// The target of /proc/<pid>/exe.
struct ExeLink {
  std::string path;
  // The link text ended in " (deleted)": the file was removed or replaced
  // after exec.
  bool deleted = false;
};

// Removes exactly one trailing " (deleted)" from the link text, because the
// file name itself may end in that text.
ExeLink parse_exe_link(std::string_view text);

// Returns the inode of a /proc/<pid>/fd/<n> link text "socket:[12345]", or
// nothing for any other kind of file.
std::optional<uint64_t> parse_socket_link(std::string_view text);

// Returns the inode of a /proc/<pid>/ns/<kind> link text such as
// "pid:[4026531836]", or an Error when the text is not of that kind.
Result<uint64_t> parse_namespace_link(std::string_view text,
                                      std::string_view kind);

// uid -> user name from an /etc/passwd text.
struct PasswdEntries {
  std::map<uint32_t, std::string> names;
  // Lines that are not comments or blank and do not have a name and a
  // numeric uid.
  int invalid_lines = 0;
};

// Parses an /etc/passwd text. The first entry for a uid wins, as with
// getpwuid(3).
PasswdEntries parse_passwd(std::string_view text);

// Returns the hidepid option ("2", "invisible", ...) of the proc mount at
// mount_point in a /proc/self/mountinfo text, or nothing when that mount has
// none or is not listed.
std::optional<std::string> find_hidepid_option(std::string_view mountinfo,
                                               std::string_view mount_point);

}  // namespace entrytrace
