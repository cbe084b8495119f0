#include "poller/listening_sockets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "poller/net_parse.h"
#include "poller/proc_parse.h"

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
