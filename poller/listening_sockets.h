// Finds the listening sockets each member process holds: the socket tables
// of every network namespace are read once per round, then joined by inode
// with each process's fd/ links. Sockets are keyed by (network namespace,
// inode), never by address.
#pragma once

#include <cstdint>
#include <map>
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

  // Table rows that could not be parsed, over all rounds.
  int invalid_rows() const { return invalid_rows_; }

 private:
  Status load_tables(const PidDirectory& dir, uint64_t net_ns);
  Result<std::vector<OwnedSocket>> read_owners(const PidDirectory& dir);
  const ListeningSocket* find(uint64_t net_ns, uint64_t inode) const;

  // Network namespace inode -> socket inode -> listening socket.
  std::map<uint64_t, std::map<uint64_t, ListeningSocket>> tables_;
  // Inode of a net/tcp file -> the owned sockets of that namespace, for
  // the current round.
  std::map<uint64_t, std::vector<OwnedSocket>> owners_;
  int invalid_rows_ = 0;
};

}  // namespace entrytrace
