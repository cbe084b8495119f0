#include "poller/proc_parse.h"

#include <charconv>
#include <string>

#include "poller/text_fields.h"

namespace entrytrace {
namespace {

// stat fields after comm start at field 3 (state); these are offsets from
// there, counted from 0.
constexpr size_t kStateIndex = 0;   // field 3
constexpr size_t kPpidIndex = 1;    // field 4
constexpr size_t kFlagsIndex = 6;   // field 9, flags
constexpr size_t kStartIndex = 19;  // field 22, starttime
constexpr size_t kStackIndex = 25;  // field 28, startstack

Error stat_error(const std::string& problem, std::string_view text) {
  return Error{"invalid stat: " + problem + " in '" +
               std::string(text.substr(0, 80)) + "'"};
}

// Splits a status line "Uid:\t0\t0\t0\t0" into key and value.
bool split_status_line(std::string_view line, std::string_view& key,
                       std::string_view& value) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  key = line.substr(0, colon);
  value = line.substr(colon + 1);
  return true;
}

// Reads the first two numbers of an id line (real, effective).
bool parse_id_pair(std::string_view value, uint32_t& real,
                   uint32_t& effective) {
  std::vector<std::string_view> words = split_words(value);
  if (words.size() < 2) {
    return false;
  }
  return parse_decimal(words[0], real) && parse_decimal(words[1], effective);
}

bool parse_pid_list(std::string_view value, std::vector<int32_t>& pids) {
  for (std::string_view word : split_words(value)) {
    int32_t pid = 0;
    if (!parse_decimal(word, pid)) {
      return false;
    }
    pids.push_back(pid);
  }
  return !pids.empty();
}

// Applies one status line to the fields; returns false when a line we need
// is malformed.
bool apply_status_line(std::string_view key, std::string_view value,
                       StatusFields& fields, unsigned& seen) {
  std::vector<std::string_view> words = split_words(value);
  std::string_view first = words.empty() ? std::string_view() : words[0];
  if (key == "Pid") {
    seen |= 1;
    return parse_decimal(first, fields.pid);
  }
  if (key == "Tgid") {
    seen |= 2;
    return parse_decimal(first, fields.tgid);
  }
  if (key == "PPid") {
    seen |= 4;
    return parse_decimal(first, fields.ppid);
  }
  if (key == "Uid") {
    seen |= 8;
    return parse_id_pair(value, fields.uid, fields.euid);
  }
  if (key == "Gid") {
    seen |= 16;
    return parse_id_pair(value, fields.gid, fields.egid);
  }
  if (key == "NStgid") {
    return parse_pid_list(value, fields.ns_tgid);
  }
  return true;
}

}  // namespace

// 83875 (sleep (2) .sh) S 75750 83875 75750 0 -1 4194304 104 0 0 0 0 0 0 0
//   20 0 1 0 1734399 5582848 224 18446744073709551615 94722390028288
//   94722390045729 140727186356112 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 ...
// (one line; wrapped here). comm ends at the LAST ')', because comm itself
// may contain ") R 1 1 1 (" and newlines.
Result<StatFields> parse_stat(std::string_view text) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos ||
      close < open) {
    return stat_error("no comm in parentheses", text);
  }

  StatFields fields;
  if (!parse_decimal(trim(text.substr(0, open)), fields.pid)) {
    return stat_error("pid is not a number", text);
  }
  fields.comm = std::string(text.substr(open + 1, close - open - 1));

  std::vector<std::string_view> rest = split_words(text.substr(close + 1));
  if (rest.size() <= kStackIndex) {
    return stat_error(
        "only " + std::to_string(rest.size() + 2) + " fields, expected 28",
        text);
  }
  if (rest[kStateIndex].size() != 1) {
    return stat_error("state is not one character", text);
  }
  fields.state = rest[kStateIndex][0];
  if (!parse_decimal(rest[kPpidIndex], fields.ppid)) {
    return stat_error("ppid is not a number", text);
  }
  if (!parse_decimal(rest[kFlagsIndex], fields.flags)) {
    return stat_error("flags is not a number", text);
  }
  if (!parse_decimal(rest[kStartIndex], fields.start_ticks)) {
    return stat_error("starttime is not a number", text);
  }
  if (!parse_decimal(rest[kStackIndex], fields.start_stack)) {
    return stat_error("startstack is not a number", text);
  }
  return fields;
}

// Name:   bash
// Tgid:   4242
// Pid:    4242
// PPid:   4100
// Uid:    999     999     999     999
// Gid:    999     999     999     999
// NStgid: 4242    1
Result<StatusFields> parse_status(std::string_view text) {
  StatusFields fields;
  unsigned seen = 0;
  for (std::string_view line : split_lines(text)) {
    std::string_view key;
    std::string_view value;
    if (!split_status_line(line, key, value)) {
      continue;
    }
    if (!apply_status_line(key, value, fields, seen)) {
      return Error{"invalid status: malformed line '" + std::string(line) +
                   "'"};
    }
  }

  static constexpr const char* kRequired[] = {"Pid", "Tgid", "PPid", "Uid",
                                              "Gid"};
  for (unsigned bit = 0; bit < 5; ++bit) {
    if ((seen & (1u << bit)) == 0) {
      return Error{std::string("invalid status: no ") + kRequired[bit] +
                   " line"};
    }
  }
  return fields;
}

// nginx: master process nginx -g daemon off;\0\0\0\0\0\0\0
// /bin/sh\0-c\0sleep 0.3; exec sleep 1\0
std::vector<std::string> parse_cmdline(std::string_view text) {
  while (!text.empty() && text.back() == '\0') {
    text.remove_suffix(1);
  }

  std::vector<std::string> argv;
  if (text.empty()) {
    return argv;
  }
  size_t start = 0;
  while (true) {
    size_t nul = text.find('\0', start);
    if (nul == std::string_view::npos) {
      argv.emplace_back(text.substr(start));
      break;
    }
    argv.emplace_back(text.substr(start, nul - start));
    start = nul + 1;
  }
  return argv;
}

// /app/my app (v2) (deleted)
ExeLink parse_exe_link(std::string_view text) {
  static constexpr std::string_view kDeleted = " (deleted)";
  ExeLink link;
  if (text.size() > kDeleted.size() && text.ends_with(kDeleted)) {
    text.remove_suffix(kDeleted.size());
    link.deleted = true;
  }
  link.path = std::string(text);
  return link;
}

// socket:[12345]
std::optional<uint64_t> parse_socket_link(std::string_view text) {
  Result<uint64_t> inode = parse_namespace_link(text, "socket");
  if (!inode) {
    return std::nullopt;
  }
  return *inode;
}

// pid:[4026531836]
Result<uint64_t> parse_namespace_link(std::string_view text,
                                      std::string_view kind) {
  auto invalid = [&] {
    return Error{"invalid " + std::string(kind) + " link text '" +
                 std::string(text) + "'"};
  };
  if (!text.starts_with(kind)) {
    return invalid();
  }
  std::string_view rest = text.substr(kind.size());
  if (rest.size() < 3 || !rest.starts_with(":[") || !rest.ends_with("]")) {
    return invalid();
  }
  uint64_t inode = 0;
  if (!parse_decimal(rest.substr(2, rest.size() - 3), inode)) {
    return invalid();
  }
  return inode;
}

// redis:x:999:999::/home/redis:/usr/sbin/nologin
PasswdEntries parse_passwd(std::string_view text) {
  PasswdEntries entries;
  for (std::string_view line : split_lines(text)) {
    std::string_view trimmed = trim(line);
    if (trimmed.empty() || trimmed.front() == '#') {
      continue;
    }
    std::vector<std::string_view> fields = split_on(line, ':');
    uint32_t uid = 0;
    if (fields.size() < 3 || fields[0].empty() ||
        !parse_decimal(fields[2], uid)) {
      ++entries.invalid_lines;
      continue;
    }
    entries.names.emplace(uid, std::string(fields[0]));
  }
  return entries;
}

// 22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc
//   rw,hidepid=invisible
// (one line; wrapped here). Fields after " - " are type, source and the
// superblock options, where hidepid lives.
std::optional<std::string> find_hidepid_option(std::string_view mountinfo,
                                               std::string_view mount_point) {
  std::optional<std::string> option;
  for (std::string_view line : split_lines(mountinfo)) {
    std::vector<std::string_view> words = split_words(line);
    size_t dash = 0;
    while (dash < words.size() && words[dash] != "-") {
      ++dash;
    }
    if (words.size() < 5 || dash + 3 >= words.size() ||
        words[4] != mount_point || words[dash + 1] != "proc") {
      continue;
    }
    // A later line for the same mount point is mounted on top of an earlier
    // one, so the last match wins.
    option.reset();
    for (std::string_view item : split_on(words[dash + 3], ',')) {
      if (item.starts_with("hidepid=")) {
        option = std::string(item.substr(8));
      }
    }
  }
  return option;
}

}  // namespace entrytrace
