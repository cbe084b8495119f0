// Finds the listening sockets each member process holds: the socket tables
// of every network namespace are read once per round, then joined by inode
// with each process's fd/ links. Sockets are keyed by (network namespace,
// inode), never by address.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "common/observation.h"
#include "common/result.h"
#include "poller/proc_reader.h"

namespace entrytrace {

class ListeningSocketScanner {
 public:
  // Starts a round: the tables read in the previous round are dropped.
  void begin_round() {
    tables_.clear();
    owners_.clear();
    processes_.reset();
  }

  // Returns the listening sockets the process has open, sorted. The first
  // process of a network namespace in a round that holds any socket also
  // loads that namespace's tables through its own net/ directory. Returns
  // an Error when fd/, ns/net or the tables cannot be read
  // ("fd: Permission denied").
  Result<std::vector<ListeningSocket>> scan(const PidDirectory& dir);

  // A listening inet socket and the uid column of its table row.
  struct OwnedSocket {
    ListeningSocket socket;
    uint32_t owner_uid = 0;
  };
  // Returns the listening TCP and UDP sockets of the process's network
  // namespace with their owners' uids, read through its own net/ directory.
  // Needs neither ns/net nor fd/, so it works without ptrace access to the
  // process. net_ns is 0 in the sockets returned, because ns/net may be
  // unreadable. The tables are read once per namespace and round: processes
  // whose net/tcp has the same inode share a namespace. Returns an Error
  // naming the table that cannot be read.
  Result<std::vector<OwnedSocket>> scan_owners(const PidDirectory& dir);

  // Returns the sockets of scan_owners() that a member of the target can be
  // credited with by uid alone: those whose owner uid no process outside the
  // target shares in that network namespace. is_member returns true for the
  // target's processes by pid. Every other process listed in the proc root
  // counts as an outsider when its net/tcp is the member's (same network
  // namespace) and its real or effective uid is the owner uid, except the
  // capturing process and the launcher (the non-member parent of the member's
  // oldest member ancestor, such as unshare(1), which stays in the network
  // namespace it made). An outsider whose namespace or uids cannot be read
  // counts for every uid. The left-out sockets are counted in
  // shared_namespace_sockets().
  // NOTE: a holder that created the socket under a uid it no longer has as
  // real or effective uid, or that is not listed in the proc root (another
  // PID namespace's procfs, hidepid), is not seen, so the remaining
  // sockets are still a guess.
  Result<std::vector<OwnedSocket>> scan_owners_in_target(
      const PidDirectory& dir, const std::function<bool(int32_t)>& is_member);

  // Listening sockets that scan_owners_in_target() left out because a
  // process outside the target could hold them, over all rounds.
  size_t shared_namespace_sockets() const { return shared_sockets_.size(); }

  // Table rows that could not be parsed, over all rounds.
  int invalid_rows() const { return invalid_rows_; }

  // The fields of a process of the proc root that scan_owners_in_target()
  // needs.
  // What scan_owners_in_target() needs of each process of the proc root.
  struct ProcessNetInfo {
    int32_t ppid = 0;
    uint32_t uid = 0;
    uint32_t euid = 0;
    // Inode of its net/tcp, 0 when unreadable.
    uint64_t net_tcp_inode = 0;
    bool uids_known = false;
  };
  struct ProcessListing {
    std::map<int32_t, ProcessNetInfo> processes;
    // The capturing process's pid in the proc root, 0 when not listed.
    int32_t self_pid = 0;
  };

  Status load_tables(const PidDirectory& dir, uint64_t net_ns);
  Result<std::vector<OwnedSocket>> read_owners(const PidDirectory& dir);
  const ListeningSocket* find(uint64_t net_ns, uint64_t inode) const;
  Status list_processes(const PidDirectory& dir);
  int32_t find_launcher(int32_t member,
                        const std::function<bool(int32_t)>& is_member) const;

  // Network namespace inode -> socket inode -> listening socket.
  std::map<uint64_t, std::map<uint64_t, ListeningSocket>> tables_;
  // Inode of a net/tcp file -> the owned sockets of that namespace, for
  // the current round.
  std::map<uint64_t, std::vector<OwnedSocket>> owners_;
  // Every process of the proc root, read once per round when needed.
  std::optional<ProcessListing> processes_;
  std::set<uint64_t> shared_sockets_;
  int invalid_rows_ = 0;
};

}  // namespace entrytrace
