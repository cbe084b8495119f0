// Chooses the capture backend. Auto selection tries the strongest backend
// that is built and usable and records, as Capture::evidence, which one ran
// and why each stronger one did not.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "poller/capture.h"

namespace entrytrace {

enum class BackendKind { kAuto, kProcfs, kNetlink, kEbpf };

// "auto", "procfs", "netlink", "ebpf".
const char* backend_kind_name(BackendKind kind);
// Parses a --backend value. Returns an Error listing the valid names.
Result<BackendKind> parse_backend_kind(std::string_view text);
// True when the eBPF backend is compiled in (ENTRYTRACE_WITH_EBPF).
bool ebpf_compiled_in();

// Makes the requested backend. kNetlink is the procfs engine woken by the
// proc connector (backend name "netlink+procfs"). kAuto tries eBPF (when
// compiled in), then netlink+procfs, then procfs, which always works; the
// backend returned appends sentences such as "eBPF unavailable: loading
// program failed: Operation not permitted; using netlink+procfs" to
// Capture::evidence. When the
// chosen event backend fails in capture() before on_first_scan was called,
// the next one is tried. An explicit kind that cannot be set up is an Error
// naming the reason.
Result<std::unique_ptr<CaptureBackend>> select_backend(BackendKind requested);

}  // namespace entrytrace
