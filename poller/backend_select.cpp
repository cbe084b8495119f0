#include "poller/backend_select.h"

#include <utility>

#include "common/log.h"

namespace entrytrace {
namespace {

using BackendFactory = Result<std::unique_ptr<CaptureBackend>> (*)();

struct Candidate {
  BackendKind kind;
  // Name used in evidence sentences.
  const char* label;
  BackendFactory make;
};

Result<std::unique_ptr<CaptureBackend>> make_procfs() {
  return make_procfs_backend();
}

Result<std::unique_ptr<CaptureBackend>> make_netlink() {
  return make_netlink_backend();
}

#if ENTRYTRACE_WITH_EBPF
Result<std::unique_ptr<CaptureBackend>> make_ebpf() {
  return make_ebpf_backend();
}
#endif

// Strongest first.
std::vector<Candidate> auto_candidates() {
  std::vector<Candidate> candidates;
#if ENTRYTRACE_WITH_EBPF
  candidates.push_back({BackendKind::kEbpf, "eBPF", &make_ebpf});
#endif
  // The proc connector only wakes the procfs engine, which reads every
  // image, so it loses nothing that procfs alone would catch.
  candidates.push_back(
      {BackendKind::kNetlink, "netlink+procfs", &make_netlink});
  candidates.push_back({BackendKind::kProcfs, "procfs", &make_procfs});
  return candidates;
}

// Runs the first backend that can be made. A later candidate is tried when
// an earlier one fails in capture() before the target was released, so that
// a launched tree is still held at its stub.
class AutoBackend : public CaptureBackend {
 public:
  AutoBackend(std::unique_ptr<CaptureBackend> chosen, size_t next,
              std::vector<Candidate> candidates,
              std::vector<std::string> reasons)
      : chosen_(std::move(chosen)),
        next_(next),
        candidates_(std::move(candidates)),
        reasons_(std::move(reasons)) {}

  std::string name() const override { return chosen_->name(); }

  Result<Capture> capture(const Target& target,
                          const CaptureOptions& options) override {
    while (true) {
      bool released = false;
      CaptureOptions attempt = options;
      attempt.on_first_scan = [&] {
        released = true;
        if (options.on_first_scan) {
          options.on_first_scan();
        }
      };
      Result<Capture> result = chosen_->capture(target, attempt);
      if (result) {
        add_evidence(*result);
        return result;
      }
      if (released || !advance(result.error().message)) {
        return result;
      }
    }
  }

 private:
  // Replaces the failed backend by the next one that can be made.
  bool advance(const std::string& failure) {
    std::string failed = chosen_->name();
    while (next_ < candidates_.size()) {
      const Candidate& candidate = candidates_[next_++];
      Result<std::unique_ptr<CaptureBackend>> made = candidate.make();
      if (!made) {
        reasons_.push_back(std::string(candidate.label) +
                           " unavailable: " + made.error().message);
        continue;
      }
      reasons_.push_back(failed + " capture failed: " + failure);
      spdlog::warn("{} capture failed: {}; trying {}", failed, failure,
                   (*made)->name());
      chosen_ = std::move(*made);
      return true;
    }
    return false;
  }

  void add_evidence(Capture& capture) const {
    std::vector<std::string> lines;
    for (const std::string& reason : reasons_) {
      lines.push_back(reason + "; using " + chosen_->name());
    }
    if (lines.empty()) {
      lines.push_back("capture backend " + chosen_->name() +
                      " chosen automatically");
    }
    capture.evidence.insert(capture.evidence.begin(), lines.begin(),
                            lines.end());
  }

  std::unique_ptr<CaptureBackend> chosen_;
  size_t next_;
  std::vector<Candidate> candidates_;
  std::vector<std::string> reasons_;
};

}  // namespace

const char* backend_kind_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kAuto:
      return "auto";
    case BackendKind::kProcfs:
      return "procfs";
    case BackendKind::kNetlink:
      return "netlink";
    case BackendKind::kEbpf:
      return "ebpf";
  }
  return "auto";
}

Result<BackendKind> parse_backend_kind(std::string_view text) {
  for (BackendKind kind : {BackendKind::kAuto, BackendKind::kProcfs,
                           BackendKind::kNetlink, BackendKind::kEbpf}) {
    if (text == backend_kind_name(kind)) {
      return kind;
    }
  }
  return Error{"invalid backend '" + std::string(text) +
               "': expected auto, procfs, netlink or ebpf"};
}

bool ebpf_compiled_in() {
#if ENTRYTRACE_WITH_EBPF
  return true;
#else
  return false;
#endif
}

Result<std::unique_ptr<CaptureBackend>> select_backend(BackendKind requested) {
  switch (requested) {
    case BackendKind::kProcfs:
      return make_procfs_backend();
    case BackendKind::kNetlink:
      return make_netlink_backend();
    case BackendKind::kEbpf:
#if ENTRYTRACE_WITH_EBPF
      return make_ebpf_backend();
#else
      return Error{
          "the eBPF backend is not compiled in: build with "
          "-DENTRYTRACE_WITH_EBPF=ON"};
#endif
    case BackendKind::kAuto:
      break;
  }

  std::vector<Candidate> candidates = auto_candidates();
  std::vector<std::string> reasons;
  if (!ebpf_compiled_in()) {
    reasons.push_back(
        "eBPF unavailable: not compiled in (ENTRYTRACE_WITH_EBPF is off)");
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    Result<std::unique_ptr<CaptureBackend>> made = candidates[i].make();
    if (made) {
      spdlog::info("capture backend: {}", (*made)->name());
      return std::unique_ptr<CaptureBackend>(std::make_unique<AutoBackend>(
          std::move(*made), i + 1, candidates, std::move(reasons)));
    }
    spdlog::info("{} unavailable: {}", candidates[i].label,
                 made.error().message);
    reasons.push_back(std::string(candidates[i].label) +
                      " unavailable: " + made.error().message);
  }
  // Not reached: procfs can always be made.
  return Error{"no capture backend could be set up"};
}

}  // namespace entrytrace
