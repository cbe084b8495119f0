#include "poller/pid_counter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "poller/proc_reader.h"
#include "poller/text_fields.h"

namespace entrytrace {
namespace {

Result<int32_t> parse_pid_text(std::string_view text, const char* file) {
  int32_t pid = 0;
  if (!parse_decimal(trim(text), pid) || pid < 0) {
    return Error{std::string(file) + ": '" + std::string(trim(text)) +
                 "' is not a pid"};
  }
  return pid;
}

// True when proc_root is the procfs of the caller's PID namespace. Its
// "self" entry is the caller, and NStgid in its status lists the caller's
// pid in every namespace from the procfs's down to the caller's own, so a
// single entry means the two are the same.
bool is_own_namespace_procfs(const std::string& proc_root) {
  Result<int32_t> own_pid = read_own_pid(proc_root);
  if (!own_pid || *own_pid != getpid()) {
    return false;
  }
  Result<PidDirectory> self = ProcReader(proc_root).open_pid(*own_pid);
  if (!self) {
    return false;
  }
  Result<StatusFields> status = read_status(*self);
  if (!status) {
    return false;
  }
  // Kernels before 4.1 have no NStgid: the pid match above is all there is.
  return status->ns_tgid.size() <= 1;
}

}  // namespace

ProbePlan plan_probe(int32_t previous, int32_t current, int32_t max_span) {
  if (current == previous) {
    return ProbePlan{};
  }
  if (current < previous || current - previous > max_span) {
    return ProbePlan{ProbePlan::Kind::kList, 0, 0};
  }
  return ProbePlan{ProbePlan::Kind::kProbe, previous + 1, current};
}

Result<int32_t> parse_ns_last_pid(std::string_view text) {
  return parse_pid_text(text, "ns_last_pid");
}

Result<int32_t> parse_loadavg_last_pid(std::string_view text) {
  std::vector<std::string_view> words = split_words(text);
  if (words.size() != 5) {
    return Error{"loadavg: expected 5 fields, got " +
                 std::to_string(words.size())};
  }
  return parse_pid_text(words.back(), "loadavg");
}

Result<int32_t> LastPidCounter::read() const {
  char buffer[128];
  ssize_t count;
  do {
    count = ::pread(fd_.get(), buffer, sizeof(buffer) - 1, 0);
  } while (count < 0 && errno == EINTR);
  if (count < 0) {
    return system_error(path_, errno);
  }
  std::string_view text(buffer, static_cast<size_t>(count));
  return source_ == Source::kNsLastPid ? parse_ns_last_pid(text)
                                       : parse_loadavg_last_pid(text);
}

Result<int32_t> read_own_pid(const std::string& proc_root) {
  std::string path = proc_root + "/self";
  char buffer[32];
  ssize_t length = ::readlink(path.c_str(), buffer, sizeof(buffer) - 1);
  if (length < 0) {
    return system_error(path, errno);
  }
  std::string_view text(buffer, static_cast<size_t>(length));
  int32_t pid = 0;
  if (!parse_decimal(text, pid) || pid <= 0) {
    return Error{path + ": '" + std::string(text) + "' is not a pid", EINVAL};
  }
  return pid;
}

Result<LastPidCounter> open_last_pid_counter(const std::string& proc_root) {
  if (!is_own_namespace_procfs(proc_root)) {
    return Error{proc_root +
                 " is not the procfs of this process's PID namespace"};
  }

  struct Candidate {
    const char* name;
    LastPidCounter::Source source;
  };
  Error last_error{"no counter file"};
  for (Candidate candidate :
       {Candidate{"/sys/kernel/ns_last_pid",
                  LastPidCounter::Source::kNsLastPid},
        Candidate{"/loadavg", LastPidCounter::Source::kLoadavg}}) {
    std::string path = proc_root + candidate.name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      last_error = system_error(path, errno);
      continue;
    }
    LastPidCounter counter(std::move(fd), candidate.source, path);
    Result<int32_t> first = counter.read();
    if (!first) {
      last_error = first.error();
      continue;
    }
    return counter;
  }
  return last_error;
}

}  // namespace entrytrace
