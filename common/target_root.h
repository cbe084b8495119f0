// Opening files of the target (its /etc/passwd, scripts, configurations)
// through /proc/<pid>/root. A symbolic link inside the target is resolved as
// the target would resolve it. An absolute link starts again at the target's
// root and ".." stops at it, so no link in the target reaches a host file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace entrytrace {

// The maximum number of symbolic links followed in one resolution, the same
// limit as the kernel's (MAXSYMLINKS, 40).
inline constexpr int kMaxSymlinks = 40;

// Environment variable that, set to "1", makes open_in_root() use the
// fallback resolver even where openat2(2) exists, so tests run both paths.
inline constexpr const char* kForceNoOpenat2Env = "ENTRYTRACE_FORCE_NO_OPENAT2";

// openat2 with RESOLVE_IN_ROOT fails with EAGAIN when a concurrent rename
// could have let ".." escape; the call is repeated this many times in all.
inline constexpr int kOpenat2Attempts = 3;

// Opens path below root_fd as if root_fd were "/", for reading, when it is
// a regular file or a directory. The path is resolved to an O_PATH
// descriptor first, so a device node, FIFO or socket is never opened: it
// fails with EINVAL naming the path, as does a file on procfs or sysfs
// (a link into the target's /proc would read machine-wide state such as
// the kernel log). The checked inode is then reopened
// read-only through /proc/self/fd/<n>. Other errors name path and errno:
// those of open_path_in_root(), and ELOOP when the fallback finds the last
// component replaced by a link after its walk.
// NOTE: the reopen needs a /proc in entrytrace's own mount namespace that
// shows entrytrace itself; without one every open fails.
Result<UniqueFd> open_in_root(int root_fd, std::string_view path);

// Resolves path below root_fd as if root_fd were "/" and returns an O_PATH
// descriptor of whatever it names, of any type (fstat works on it, read does
// not). Uses openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (Linux
// 5.6 and later), and open_by_walk_in_root() when openat2 fails with ENOSYS
// or kForceNoOpenat2Env is set. Returns an Error naming path and errno:
// ENOENT when a component is missing, ELOOP when more than kMaxSymlinks
// links are followed. openat2 also fails with ELOOP at a magic link (such as
// /proc/<pid>/root inside the target), which the fallback reads as a plain
// link below root_fd, and with EAGAIN when a rename raced with ".." on every
// one of kOpenat2Attempts.
Result<UniqueFd> open_path_in_root(int root_fd, std::string_view path);

// The fallback resolver: walks path one component at a time with
// O_PATH | O_NOFOLLOW, reads each symbolic link and resolves it itself, an
// absolute target from root_fd and a relative one from the link's
// directory. ".." goes back to the previous directory of the walk and stays
// at root_fd when there is none. Returns an O_PATH descriptor of the last
// component, opened with O_NOFOLLOW, so an entry replaced by a link after
// the walk is returned as that link instead of being followed.
// NOTE: a mount inside the root that binds a directory of the host is
// entered like any directory; openat2 with RESOLVE_IN_ROOT does the same.
Result<UniqueFd> open_by_walk_in_root(int root_fd, std::string_view path);

// Resolves path below root_fd the way open_by_walk_in_root() does and
// returns the path it reached as seen from root_fd, with every link
// followed ("/usr/bin/dash" for "/bin/sh" on Debian). The last component
// may be of any type. Errors are those of open_by_walk_in_root().
Result<std::string> resolve_in_root(int root_fd, std::string_view path);

// Reads at most max_bytes from fd, which must be a regular file: any other
// type, a directory among them, fails with EINVAL. Errors name the file as
// name.
Result<std::string> read_regular_file(int fd, size_t max_bytes,
                                      const std::string& name);

// Reads at most max_bytes of path in the root of a process: opens
// <proc_root>/<host_pid>/root, then path through open_in_root(). Errors name
// the root directory and the path; EACCES on the root means the caller lacks
// ptrace access to the process (CAP_SYS_PTRACE, or the same uid).
Result<std::string> read_target_file(const std::string& proc_root,
                                     int32_t host_pid, std::string_view path,
                                     size_t max_bytes);

// Reads at most max_bytes of path below root_fd, an open root directory of a
// process, through open_in_root() and read_regular_file(). For callers that
// open the root themselves, through a held /proc/<pid> directory whose
// process they checked. Errors name root_name and the path.
Result<std::string> read_file_in_root(int root_fd, const std::string& root_name,
                                      std::string_view path, size_t max_bytes);

}  // namespace entrytrace
