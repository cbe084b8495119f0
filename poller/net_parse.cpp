#include "poller/net_parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "poller/text_fields.h"

namespace entrytrace {
namespace {

// Column positions in tcp/udp rows.
constexpr size_t kLocalColumn = 1;
constexpr size_t kRemoteColumn = 2;
constexpr size_t kStateColumn = 3;
constexpr size_t kUidColumn = 7;
constexpr size_t kInodeColumn = 9;

constexpr std::string_view kTcpListen = "0A";
constexpr std::string_view kUdpUnconnected = "07";

// Column positions in unix rows.
constexpr size_t kUnixFlagsColumn = 3;
constexpr size_t kUnixTypeColumn = 4;
constexpr size_t kUnixStateColumn = 5;
constexpr size_t kUnixInodeColumn = 6;

constexpr uint32_t kAcceptConnections = 0x10000;  // __SO_ACCEPTCON
constexpr uint32_t kSockDgram = 2;
constexpr uint32_t kUnconnected = 1;  // SS_UNCONNECTED

// Parses 8 hex digits into the 32-bit word as the kernel held it in memory.
bool parse_address_word(std::string_view hex, uint32_t& word) {
  return hex.size() == 8 && parse_hex(hex, word);
}

Result<std::string> format_ipv4(std::string_view hex) {
  in_addr address{};
  if (!parse_address_word(hex, address.s_addr)) {
    return Error{"invalid IPv4 address '" + std::string(hex) + "'"};
  }
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return std::string(text);
}

Result<std::string> format_ipv6(std::string_view hex) {
  in6_addr address{};
  for (size_t word_index = 0; word_index < 4; ++word_index) {
    uint32_t word = 0;
    if (!parse_address_word(hex.substr(word_index * 8, 8), word)) {
      return Error{"invalid IPv6 address '" + std::string(hex) + "'"};
    }
    std::memcpy(&address.s6_addr[word_index * 4], &word, sizeof(word));
  }

  char text[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    in_addr v4{};
    std::memcpy(&v4, &address.s6_addr[12], sizeof(v4));
    inet_ntop(AF_INET, &v4, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, &address, text, sizeof(text));
  }
  return std::string(text);
}

bool is_all_zero(std::string_view column) {
  for (char c : column) {
    if (c != '0' && c != ':') {
      return false;
    }
  }
  return true;
}

bool is_tcp(SocketProtocol protocol) {
  return protocol == SocketProtocol::kTcp || protocol == SocketProtocol::kTcp6;
}

// Returns true and fills socket when the row is a listening socket; false
// with valid set to false when the row is malformed.
bool parse_inet_row(std::string_view row, SocketProtocol protocol,
                    ListeningSocket& socket, bool& valid) {
  valid = false;
  std::vector<std::string_view> columns = split_words(row);
  if (columns.size() <= kInodeColumn) {
    return false;
  }
  uint64_t inode = 0;
  if (!parse_decimal(columns[kInodeColumn], inode)) {
    return false;
  }
  Result<InetEndpoint> local = parse_inet_endpoint(columns[kLocalColumn]);
  if (!local) {
    return false;
  }
  valid = true;

  std::string_view state = columns[kStateColumn];
  bool listening = is_tcp(protocol) ? state == kTcpListen
                                    : state == kUdpUnconnected &&
                                          is_all_zero(columns[kRemoteColumn]);
  if (!listening || inode == 0) {
    return false;
  }
  socket.protocol = protocol;
  socket.inode = inode;
  socket.address = local->address;
  socket.port = local->port;
  return true;
}

// Autobind gives an unbound socket an abstract name of 5 hex digits.
bool is_autobind_name(std::string_view path) {
  if (path.size() != 6 || path[0] != '@') {
    return false;
  }
  uint32_t value = 0;
  return parse_hex(path.substr(1), value);
}

bool parse_unix_row(std::string_view row, ListeningSocket& socket,
                    bool& valid) {
  valid = false;
  std::vector<std::string_view> columns = split_words(row);
  if (columns.size() <= kUnixInodeColumn) {
    return false;
  }
  uint32_t flags = 0;
  uint32_t type = 0;
  uint32_t state = 0;
  uint64_t inode = 0;
  if (!parse_hex(columns[kUnixFlagsColumn], flags) ||
      !parse_hex(columns[kUnixTypeColumn], type) ||
      !parse_hex(columns[kUnixStateColumn], state) ||
      !parse_decimal(columns[kUnixInodeColumn], inode)) {
    return false;
  }
  valid = true;

  // The path is the rest of the row after the inode and one space, so that
  // a path with spaces stays whole.
  std::string_view inode_column = columns[kUnixInodeColumn];
  size_t path_start = inode_column.data() + inode_column.size() - row.data();
  std::string_view path =
      path_start + 1 < row.size() ? row.substr(path_start + 1) : "";

  bool accepting = (flags & kAcceptConnections) != 0;
  bool bound_datagram = type == kSockDgram && state == kUnconnected &&
                        !path.empty() && !is_autobind_name(path);
  if (!accepting && !bound_datagram) {
    return false;
  }
  socket.protocol = SocketProtocol::kUnix;
  socket.inode = inode;
  socket.address = std::string(path);
  socket.port = 0;
  return true;
}

}  // namespace

// 0100007F:1F90
// 00000000000000000000000000000000:1F90
Result<InetEndpoint> parse_inet_endpoint(std::string_view column) {
  size_t colon = column.find(':');
  if (colon == std::string_view::npos) {
    return Error{"invalid address column '" + std::string(column) + "'"};
  }
  std::string_view address_hex = column.substr(0, colon);
  std::string_view port_hex = column.substr(colon + 1);

  InetEndpoint endpoint;
  if (port_hex.size() != 4 || !parse_hex(port_hex, endpoint.port)) {
    return Error{"invalid port in '" + std::string(column) + "'"};
  }
  Result<std::string> address = address_hex.size() == 32
                                    ? format_ipv6(address_hex)
                                    : format_ipv4(address_hex);
  if (!address) {
    return address.error();
  }
  endpoint.address = std::move(*address);
  return endpoint;
}

//   sl  local_address rem_address   st tx_queue rx_queue tr tm->when ...
//    0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000
//       00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
// (each row is one line; wrapped here)
SocketTable parse_inet_table(std::string_view text, SocketProtocol protocol,
                             uint64_t net_ns) {
  SocketTable table;
  std::vector<std::string_view> lines = split_lines(text);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) {
      continue;
    }
    ListeningSocket socket;
    bool valid = false;
    if (parse_inet_row(lines[i], protocol, socket, valid)) {
      socket.net_ns = net_ns;
      uint32_t uid = 0;
      if (parse_decimal(split_words(lines[i])[kUidColumn], uid)) {
        table.owner_uids[socket.inode] = uid;
      }
      table.listening.push_back(std::move(socket));
    } else if (!valid) {
      ++table.invalid_rows;
    }
  }
  return table;
}

// Num       RefCount Protocol Flags    Type St Inode Path
// 0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/app.sock
SocketTable parse_unix_table(std::string_view text, uint64_t net_ns) {
  SocketTable table;
  std::vector<std::string_view> lines = split_lines(text);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) {
      continue;
    }
    ListeningSocket socket;
    bool valid = false;
    if (parse_unix_row(lines[i], socket, valid)) {
      socket.net_ns = net_ns;
      table.listening.push_back(std::move(socket));
    } else if (!valid) {
      ++table.invalid_rows;
    }
  }
  return table;
}

}  // namespace entrytrace
