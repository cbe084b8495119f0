// Resolution of a path the way a process with another root directory sees
// it, for exec filenames of processes in a container.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace entrytrace {

// Resolves path below root_fd as if root_fd were "/": symbolic links are
// followed, an absolute link target restarts at root_fd, and ".." at the
// root stays there, so the walk never leaves root_fd. Each component is
// opened with O_PATH | O_NOFOLLOW from the directory resolved so far.
// A relative path is taken from the root. Returns the real path as seen
// from root_fd ("/usr/bin/dash" for "/bin/sh" on Debian), or an Error naming
// the path and errno (ENOENT, ENOTDIR, ELOOP after 40 links, EACCES).
Result<std::string> resolve_in_root(int root_fd, std::string_view path);

}  // namespace entrytrace
