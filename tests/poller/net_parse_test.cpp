#include "poller/net_parse.h"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

namespace entrytrace {
namespace {

// The tables print each address word in host byte order; these cases were
// recorded on x86-64.
bool little_endian() {
  return std::endian::native == std::endian::little;
}

const std::string kInetHeader =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n";

// One row with the given columns and the usual tail.
std::string inet_row(const std::string& local, const std::string& remote,
                     const std::string& state, const std::string& inode) {
  return "   0: " + local + " " + remote + " " + state +
         " 00000000:00000000 00:00000000 00000000     0        0 " + inode +
         " 1 0000000000000000 100 0 0 10 0\n";
}

const std::string kZero6 = "00000000000000000000000000000000";

struct EndpointCase {
  std::string column;
  std::string address;
  uint16_t port;
};

TEST(ParseInetEndpoint, Table) {
  if (!little_endian()) {
    GTEST_SKIP() << "cases were recorded on a little-endian host";
  }
  const std::vector<EndpointCase> cases = {
      {"0100007F:1F90", "127.0.0.1", 8080},
      {"00000000:0050", "0.0.0.0", 80},
      {"0A01A8C0:0035", "192.168.1.10", 53},
      {kZero6 + ":1F90", "::", 8080},
      {"00000000000000000000000001000000:1F90", "::1", 8080},
      {"0000000000000000FFFF00000100007F:18EB", "127.0.0.1", 6379},
      {"B80D0120000000000000000001000000:01BB", "2001:db8::1", 443},
      {"000080FE00000000FF005452563412FE:0016", "fe80::5254:ff:fe12:3456", 22},
  };
  for (const EndpointCase& c : cases) {
    SCOPED_TRACE(c.column);
    Result<InetEndpoint> endpoint = parse_inet_endpoint(c.column);
    ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
    EXPECT_EQ(endpoint->address, c.address);
    EXPECT_EQ(endpoint->port, c.port);
  }
}

TEST(ParseInetEndpoint, RejectsMalformed) {
  for (const std::string column :
       {"", "0100007F", "0100007F:", "0100007F:1F9", "0100007:1F90",
        "0100007G:1F90", "000000000000000000000000000000:1F90"}) {
    SCOPED_TRACE(column);
    EXPECT_FALSE(parse_inet_endpoint(column).ok());
  }
}

TEST(ParseInetTable, TcpKeepsListenOnly) {
  if (!little_endian()) {
    GTEST_SKIP() << "cases were recorded on a little-endian host";
  }
  std::string text = kInetHeader +
                     inet_row("00000000:1F90", "00000000:0000", "0A", "100") +
                     inet_row("0100007F:1F90", "0100007F:C350", "01", "101") +
                     inet_row("0100007F:C350", "0100007F:1F90", "06", "0") +
                     inet_row("0100007F:0277", "00000000:0000", "0A", "102");
  SocketTable table = parse_inet_table(text, SocketProtocol::kTcp, 77);
  EXPECT_EQ(table.invalid_rows, 0);
  ASSERT_EQ(table.listening.size(), 2u);
  EXPECT_EQ(table.listening[0].address, "0.0.0.0");
  EXPECT_EQ(table.listening[0].port, 8080);
  EXPECT_EQ(table.listening[0].inode, 100u);
  EXPECT_EQ(table.listening[0].net_ns, 77u);
  EXPECT_EQ(table.listening[0].protocol, SocketProtocol::kTcp);
  EXPECT_EQ(table.listening[1].address, "127.0.0.1");
  EXPECT_EQ(table.listening[1].port, 631);
}

TEST(ParseInetTable, OwnerUidOfListeningRows) {
  if (!little_endian()) {
    GTEST_SKIP() << "cases were recorded on a little-endian host";
  }
  std::string row = inet_row("00000000:1F90", "00000000:0000", "0A", "300");
  // The uid column of inet_row() is 0; this row is owned by uid 65534.
  std::string nobody_row =
      "   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000 65534        0 301 1 0000000000000000 100 0 0 10 0\n";
  SocketTable table =
      parse_inet_table(kInetHeader + row + nobody_row, SocketProtocol::kTcp, 1);
  ASSERT_EQ(table.listening.size(), 2u);
  ASSERT_EQ(table.owner_uids.count(300), 1u);
  EXPECT_EQ(table.owner_uids.at(300), 0u);
  ASSERT_EQ(table.owner_uids.count(301), 1u);
  EXPECT_EQ(table.owner_uids.at(301), 65534u);
}

TEST(ParseInetTable, Tcp6WithMappedAddress) {
  if (!little_endian()) {
    GTEST_SKIP() << "cases were recorded on a little-endian host";
  }
  std::string text = kInetHeader +
                     inet_row(kZero6 + ":1F90", kZero6 + ":0000", "0A", "200") +
                     inet_row("0000000000000000FFFF00000100007F:18EB",
                              kZero6 + ":0000", "0A", "201");
  SocketTable table = parse_inet_table(text, SocketProtocol::kTcp6, 1);
  ASSERT_EQ(table.listening.size(), 2u);
  EXPECT_EQ(table.listening[0].address, "::");
  EXPECT_EQ(table.listening[0].protocol, SocketProtocol::kTcp6);
  EXPECT_EQ(table.listening[1].address, "127.0.0.1");
  EXPECT_EQ(table.listening[1].port, 6379);
}

TEST(ParseInetTable, UdpUnconnectedIsListening) {
  if (!little_endian()) {
    GTEST_SKIP() << "cases were recorded on a little-endian host";
  }
  std::string text = kInetHeader +
                     inet_row("00000000:0035", "00000000:0000", "07", "300") +
                     inet_row("0100007F:D431", "08080808:0035", "01", "301") +
                     inet_row("0100007F:D432", "00000000:0000", "07", "302");
  SocketTable table = parse_inet_table(text, SocketProtocol::kUdp, 1);
  ASSERT_EQ(table.listening.size(), 2u);
  EXPECT_EQ(table.listening[0].inode, 300u);
  EXPECT_EQ(table.listening[0].port, 53);
  EXPECT_EQ(table.listening[1].inode, 302u);
}

TEST(ParseInetTable, Udp6UnboundRemote) {
  std::string text =
      kInetHeader + inet_row(kZero6 + ":14E9", kZero6 + ":0000", "07", "400");
  SocketTable table = parse_inet_table(text, SocketProtocol::kUdp6, 1);
  ASSERT_EQ(table.listening.size(), 1u);
  EXPECT_EQ(table.listening[0].address, "::");
  EXPECT_EQ(table.listening[0].port, 5353);
}

TEST(ParseInetTable, HeaderOnlyIsEmpty) {
  SocketTable table = parse_inet_table(kInetHeader, SocketProtocol::kTcp, 1);
  EXPECT_TRUE(table.listening.empty());
  EXPECT_EQ(table.invalid_rows, 0);
}

TEST(ParseInetTable, CountsInvalidRows) {
  std::string text = kInetHeader + "   0: garbage\n" +
                     inet_row("0100007F:1F90", "00000000:0000", "0A", "x") +
                     inet_row("00000000:1F90", "00000000:0000", "0A", "9");
  SocketTable table = parse_inet_table(text, SocketProtocol::kTcp, 1);
  EXPECT_EQ(table.invalid_rows, 2);
  EXPECT_EQ(table.listening.size(), 1u);
}

const std::string kUnixHeader =
    "Num       RefCount Protocol Flags    Type St Inode Path\n";

TEST(ParseUnixTable, ListeningAndConnected) {
  std::string text =
      kUnixHeader +
      "0000000000000000: 00000002 00000000 00010000 0001 01 23456 "
      "/run/php/php-fpm.sock\n"
      "0000000052afcce6: 00000003 00000000 00000000 0001 03  1193\n"
      "0000000038b3a770: 00000003 00000000 00000000 0001 03  1194 "
      "/run/php/php-fpm.sock\n"
      "0000000000000000: 00000002 00000000 00010000 0005 01 23457 "
      "@abstract name\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 23458\n"
      "0000000000000000: 00000002 00000000 00000000 0002 01 23459 /dev/log\n"
      "0000000000000000: 00000002 00000000 00000000 0002 01 23460 @0001f\n"
      "0000000000000000: 00000002 00000000 00000000 0002 03 23461\n";
  SocketTable table = parse_unix_table(text, 9);
  EXPECT_EQ(table.invalid_rows, 0);
  ASSERT_EQ(table.listening.size(), 4u);
  EXPECT_EQ(table.listening[0].address, "/run/php/php-fpm.sock");
  EXPECT_EQ(table.listening[0].inode, 23456u);
  EXPECT_EQ(table.listening[0].protocol, SocketProtocol::kUnix);
  EXPECT_EQ(table.listening[0].net_ns, 9u);
  EXPECT_EQ(table.listening[1].address, "@abstract name");
  EXPECT_EQ(table.listening[2].address, "");
  EXPECT_EQ(table.listening[2].inode, 23458u);
  EXPECT_EQ(table.listening[3].address, "/dev/log");
}

TEST(ParseUnixTable, ConnectedStreamIsNotListening) {
  std::string text =
      kUnixHeader +
      "0000000038b3a770: 00000003 00000000 00000000 0001 03 1194 /run/a\n";
  EXPECT_TRUE(parse_unix_table(text, 1).listening.empty());
}

}  // namespace
}  // namespace entrytrace
