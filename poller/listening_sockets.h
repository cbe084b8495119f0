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
  void begin_round() { tables_.clear(); }

  // Returns the listening sockets the process holds, sorted. The first
  // process of a network namespace in a round also loads that namespace's
  // tables through its own net/ directory. Returns an Error when ns/net,
  // the tables or fd/ cannot be read ("fd: Permission denied").
  Result<std::vector<ListeningSocket>> scan(const PidDirectory& dir);

  // Table rows that could not be parsed, over all rounds.
  int invalid_rows() const { return invalid_rows_; }

 private:
  Status load_tables(const PidDirectory& dir, uint64_t net_ns);
  const ListeningSocket* find(uint64_t net_ns, uint64_t inode) const;

  // Network namespace inode -> socket inode -> listening socket.
  std::map<uint64_t, std::map<uint64_t, ListeningSocket>> tables_;
  int invalid_rows_ = 0;
};

}  // namespace entrytrace
