#include "poller/listening_sockets.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

#include "poller/net_parse.h"
#include "poller/proc_parse.h"
#include "poller/text_fields.h"

namespace entrytrace {
namespace {

struct TableFile {
  const char* name;
  SocketProtocol protocol;
  // tcp6 and udp6 are missing when IPv6 is disabled.
  bool optional;
};

constexpr TableFile kTables[] = {
    {"net/tcp", SocketProtocol::kTcp, false},
    {"net/tcp6", SocketProtocol::kTcp6, true},
    {"net/udp", SocketProtocol::kUdp, false},
    {"net/udp6", SocketProtocol::kUdp6, true},
    {"net/unix", SocketProtocol::kUnix, false},
};

}  // namespace

Result<std::vector<ListeningSocket>> ListeningSocketScanner::scan(
    const PidDirectory& dir) {
  Result<std::vector<std::string>> links = dir.read_fd_links();
  if (!links) {
    return links.error();
  }
  std::vector<uint64_t> inodes;
  for (const std::string& link : *links) {
    if (std::optional<uint64_t> inode = parse_socket_link(link)) {
      inodes.push_back(*inode);
    }
  }
  // A process with no socket at all listens on nothing, and the tables,
  // the costly part of a round, are then left unread.
  if (inodes.empty()) {
    return std::vector<ListeningSocket>{};
  }

  Result<uint64_t> net_ns = read_namespace(dir, "net");
  if (!net_ns) {
    return net_ns.error();
  }
  if (tables_.find(*net_ns) == tables_.end()) {
    Status loaded = load_tables(dir, *net_ns);
    if (!loaded) {
      return loaded.error();
    }
  }
  std::vector<ListeningSocket> sockets;
  for (uint64_t inode : inodes) {
    if (const ListeningSocket* socket = find(*net_ns, inode)) {
      sockets.push_back(*socket);
    }
  }
  std::sort(sockets.begin(), sockets.end());
  sockets.erase(std::unique(sockets.begin(), sockets.end()), sockets.end());
  return sockets;
}

Result<std::vector<ListeningSocketScanner::OwnedSocket>>
ListeningSocketScanner::scan_owners(const PidDirectory& dir) {
  // procfs creates the net/ entries per network namespace, so the inode of
  // net/tcp identifies the namespace where ns/net is unreadable.
  struct stat table_stat {};
  if (fstatat(dir.fd(), "net/tcp", &table_stat, 0) != 0) {
    return read_owners(dir);
  }
  auto cached = owners_.find(table_stat.st_ino);
  if (cached != owners_.end()) {
    return cached->second;
  }
  Result<std::vector<OwnedSocket>> owned = read_owners(dir);
  if (owned) {
    owners_[table_stat.st_ino] = *owned;
  }
  return owned;
}

Result<std::vector<ListeningSocketScanner::OwnedSocket>>
ListeningSocketScanner::scan_owners_in_target(
    const PidDirectory& dir, const std::function<bool(int32_t)>& is_member) {
  struct stat table_stat {};
  if (fstatat(dir.fd(), "net/tcp", &table_stat, 0) != 0) {
    return system_error("net/tcp", errno);
  }
  Result<std::vector<OwnedSocket>> owned = scan_owners(dir);
  if (!owned || owned->empty()) {
    return owned;
  }
  if (!processes_) {
    Status listed = list_processes(dir);
    if (!listed) {
      return listed.error();
    }
  }

  int32_t launcher = find_launcher(dir.pid(), is_member);
  std::set<uint32_t> outsider_uids;
  bool unknown_outsider = false;
  for (const auto& [pid, info] : processes_->processes) {
    if (pid == processes_->self_pid || pid == launcher || is_member(pid)) {
      continue;
    }
    if (info.net_tcp_inode == 0 || !info.uids_known) {
      unknown_outsider = true;
    } else if (info.net_tcp_inode == table_stat.st_ino) {
      outsider_uids.insert(info.uid);
      outsider_uids.insert(info.euid);
    }
  }

  std::vector<OwnedSocket> credited;
  for (OwnedSocket& entry : *owned) {
    if (unknown_outsider || outsider_uids.count(entry.owner_uid) != 0) {
      shared_sockets_.insert(entry.socket.inode);
    } else {
      credited.push_back(std::move(entry));
    }
  }
  return credited;
}

// Reads ppid, uids and the net/tcp inode of every process listed next to
// dir. A process that exits during the listing is left out; one whose files
// are unreadable for another reason is kept with what could be read.
Status ListeningSocketScanner::list_processes(const PidDirectory& dir) {
  UniqueFd root(::openat(dir.fd(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    return system_error("..", errno);
  }
  ProcessListing listing;
  char self[PATH_MAX] = {};
  ssize_t length = ::readlinkat(root.get(), "self", self, sizeof(self) - 1);
  if (length > 0) {
    parse_decimal(std::string_view(self, static_cast<size_t>(length)),
                  listing.self_pid);
  }

  DIR* entries = ::fdopendir(::dup(root.get()));
  if (entries == nullptr) {
    return system_error("proc root listing", errno);
  }
  while (dirent* entry = ::readdir(entries)) {
    int32_t pid = 0;
    if (!parse_decimal(entry->d_name, pid)) {
      continue;
    }
    UniqueFd pid_fd(::openat(root.get(), entry->d_name,
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pid_fd.valid()) {
      continue;
    }
    PidDirectory process(pid, std::move(pid_fd));
    Result<StatusFields> status = read_status(process);
    if (!status && is_vanished(status.error())) {
      continue;
    }
    struct stat table_stat {};
    if (fstatat(process.fd(), "net/tcp", &table_stat, 0) != 0 &&
        (errno == ENOENT || errno == ESRCH)) {
      // Exited, or a zombie, which holds no descriptors.
      continue;
    }
    ProcessNetInfo info;
    info.net_tcp_inode = table_stat.st_ino;
    if (status) {
      info.ppid = status->ppid;
      info.uid = status->uid;
      info.euid = status->euid;
      info.uids_known = true;
    }
    listing.processes[pid] = info;
  }
  ::closedir(entries);
  processes_ = std::move(listing);
  return Ok{};
}

// Walks up from member through members; returns the first non-member
// parent, or 0.
int32_t ListeningSocketScanner::find_launcher(
    int32_t member, const std::function<bool(int32_t)>& is_member) const {
  int32_t pid = member;
  // A bound on the walk, so that a ppid cycle left by pid reuse ends.
  for (int step = 0; step < 4096 && pid > 0 && is_member(pid); ++step) {
    auto info = processes_->processes.find(pid);
    if (info == processes_->processes.end()) {
      return 0;
    }
    pid = info->second.ppid;
  }
  return is_member(pid) ? 0 : pid;
}

Result<std::vector<ListeningSocketScanner::OwnedSocket>>
ListeningSocketScanner::read_owners(const PidDirectory& dir) {
  std::vector<OwnedSocket> owned;
  for (const TableFile& file : kTables) {
    if (file.protocol == SocketProtocol::kUnix) {
      continue;  // net/unix has no uid column
    }
    Result<std::string> text = dir.read_to_end(file.name);
    if (!text) {
      if (file.optional && text.error().errno_value == ENOENT) {
        continue;
      }
      return text.error();
    }
    SocketTable parsed = parse_inet_table(*text, file.protocol, 0);
    for (ListeningSocket& socket : parsed.listening) {
      auto uid = parsed.owner_uids.find(socket.inode);
      if (uid != parsed.owner_uids.end()) {
        owned.push_back(OwnedSocket{std::move(socket), uid->second});
      }
    }
  }
  return owned;
}

Status ListeningSocketScanner::load_tables(const PidDirectory& dir,
                                           uint64_t net_ns) {
  std::map<uint64_t, ListeningSocket> table;
  for (const TableFile& file : kTables) {
    Result<std::string> text = dir.read_to_end(file.name);
    if (!text) {
      if (file.optional && text.error().errno_value == ENOENT) {
        continue;
      }
      return text.error();
    }
    SocketTable parsed = file.protocol == SocketProtocol::kUnix
                             ? parse_unix_table(*text, net_ns)
                             : parse_inet_table(*text, file.protocol, net_ns);
    invalid_rows_ += parsed.invalid_rows;
    for (ListeningSocket& socket : parsed.listening) {
      uint64_t inode = socket.inode;
      table.emplace(inode, std::move(socket));
    }
  }
  tables_[net_ns] = std::move(table);
  return Ok{};
}

const ListeningSocket* ListeningSocketScanner::find(uint64_t net_ns,
                                                    uint64_t inode) const {
  // A socket can be held in another namespace than the one it was created
  // in (passed over a UNIX socket, or created before setns). Socket inodes
  // are unique across namespaces, so the other tables of the round are
  // searched too.
  auto own = tables_.find(net_ns);
  if (own != tables_.end()) {
    auto it = own->second.find(inode);
    if (it != own->second.end()) {
      return &it->second;
    }
  }
  for (const auto& [other_ns, table] : tables_) {
    auto it = table.find(inode);
    if (it != table.end()) {
      return &it->second;
    }
  }
  return nullptr;
}

}  // namespace entrytrace
