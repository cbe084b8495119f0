// Pure parsers for the socket tables of a network namespace,
// /proc/<pid>/net/{tcp,tcp6,udp,udp6,unix}. They keep listening sockets
// only and leave the join with a process's fd links to the caller.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/observation.h"
#include "common/result.h"

namespace entrytrace {

// The listening sockets of one table.
struct SocketTable {
  std::vector<ListeningSocket> listening;
  // Rows that could not be parsed; the header line is not counted.
  int invalid_rows = 0;
  // Socket inode -> uid column of its row, for the inet tables. The kernel
  // writes the socket's owner there, the effective uid of its creator.
  // net/unix has no uid column.
  std::map<uint64_t, uint32_t> owner_uids;
};

// A numeric address and port, as written in ListeningSocket.
struct InetEndpoint {
  std::string address;
  uint16_t port = 0;
};

// Parses a local or remote address column such as "0100007F:1F90" (IPv4) or
// 32 hex digits and a port (IPv6). The kernel prints each 32-bit word of the
// address in host byte order and the port as a plain number, so
// "0100007F:1F90" is 127.0.0.1:8080 on a little-endian host.
// IPv4-mapped IPv6 addresses are written as IPv4.
Result<InetEndpoint> parse_inet_endpoint(std::string_view column);

// Parses net/tcp, net/tcp6, net/udp or net/udp6 (protocol names which). A
// TCP row is listening in state 0A (LISTEN); a UDP row when its remote
// address and port are all zero. Rows with inode 0 (TIME_WAIT and other
// sockets no process holds) are skipped. Every socket gets net_ns.
SocketTable parse_inet_table(std::string_view text, SocketProtocol protocol,
                             uint64_t net_ns);

// Parses net/unix. A stream or seqpacket socket is listening when its flags
// have __SO_ACCEPTCON (0x10000). A datagram socket counts as listening, like
// an unconnected UDP socket, when it is unconnected (state 01) and bound to
// a name. Autobind names ("@" and 5 hex digits) do not count.
SocketTable parse_unix_table(std::string_view text, uint64_t net_ns);

}  // namespace entrytrace
