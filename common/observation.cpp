#include "common/observation.h"

namespace entrytrace {

const char* protocol_name(SocketProtocol protocol) {
  switch (protocol) {
    case SocketProtocol::kTcp:
      return "tcp";
    case SocketProtocol::kTcp6:
      return "tcp6";
    case SocketProtocol::kUdp:
      return "udp";
    case SocketProtocol::kUdp6:
      return "udp6";
    case SocketProtocol::kUnix:
      return "unix";
  }
  return "unknown";
}

std::string describe_socket(const ListeningSocket& socket) {
  if (socket.protocol == SocketProtocol::kUnix) {
    return "unix " + (socket.address.empty() ? "(unnamed)" : socket.address);
  }

  // An IPv6 address keeps its brackets so that the port stays unambiguous.
  bool bracketed = socket.address.find(':') != std::string::npos;
  std::string endpoint = bracketed ? "[" + socket.address + "]"
                                   : socket.address;
  endpoint += ":" + std::to_string(socket.port);

  bool udp = socket.protocol == SocketProtocol::kUdp ||
             socket.protocol == SocketProtocol::kUdp6;
  return udp ? "udp " + endpoint : endpoint;
}

const char* observation_kind_name(ObservationKind kind) {
  switch (kind) {
    case ObservationKind::kProcessSeen:
      return "processSeen";
    case ObservationKind::kImageChanged:
      return "imageChanged";
    case ObservationKind::kProcessExited:
      return "processExited";
    case ObservationKind::kSocketsSeen:
      return "socketsSeen";
  }
  return "unknown";
}

}  // namespace entrytrace
