#include "common/capture_json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <array>
#include <cstdlib>
#include <type_traits>

#include "common/utf8.h"

namespace entrytrace {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;
using Value = rapidjson::Value;

constexpr const char* kCaptureSchema = "entrytrace.capture/v1";

constexpr std::array kProtocols = {SocketProtocol::kTcp, SocketProtocol::kTcp6,
                                   SocketProtocol::kUdp, SocketProtocol::kUdp6,
                                   SocketProtocol::kUnix};

constexpr std::array kKinds = {
    ObservationKind::kProcessSeen, ObservationKind::kImageChanged,
    ObservationKind::kProcessExited, ObservationKind::kSocketsSeen};

void write_string(Writer& w, std::string_view text) {
  std::string valid = valid_utf8(text);
  w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

void write_strings(Writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& item : items) {
    write_string(w, item);
  }
  w.EndArray();
}

void write_image(Writer& w, const ProcessImage& image) {
  w.StartObject();
  w.Key("exe");
  write_string(w, image.exe);
  w.Key("exeKnown");
  w.Bool(image.exe_known);
  w.Key("exeDeleted");
  w.Bool(image.exe_deleted);
  w.Key("argv");
  write_strings(w, image.argv);
  w.Key("comm");
  write_string(w, image.comm);
  w.Key("cwd");
  write_string(w, image.cwd);
  w.Key("cwdKnown");
  w.Bool(image.cwd_known);
  w.Key("startStack");
  w.Uint64(image.start_stack);
  w.EndObject();
}

void write_snapshot(Writer& w, const ProcessSnapshot& s) {
  w.StartObject();
  w.Key("nsPid");
  w.Int(s.ns_pid);
  w.Key("hostPpid");
  w.Int(s.host_ppid);
  w.Key("nsPpid");
  w.Int(s.ns_ppid);
  w.Key("uid");
  w.Uint(s.uid);
  w.Key("euid");
  w.Uint(s.euid);
  w.Key("gid");
  w.Uint(s.gid);
  w.Key("egid");
  w.Uint(s.egid);
  w.Key("image");
  write_image(w, s.image);
  w.Key("unreadable");
  write_strings(w, s.unreadable);
  w.EndObject();
}

void write_socket(Writer& w, const ListeningSocket& socket) {
  w.StartObject();
  w.Key("protocol");
  w.String(protocol_name(socket.protocol));
  w.Key("inode");
  w.Uint64(socket.inode);
  w.Key("netNs");
  w.Uint64(socket.net_ns);
  w.Key("address");
  write_string(w, socket.address);
  w.Key("port");
  w.Uint(socket.port);
  if (socket.owner_uid) {
    w.Key("ownerUid");
    w.Uint(*socket.owner_uid);
  }
  w.EndObject();
}

void write_observation(Writer& w, const Observation& o) {
  w.StartObject();
  w.Key("kind");
  w.String(observation_kind_name(o.kind));
  w.Key("timeUs");
  w.Int64(o.time_us);
  w.Key("hostPid");
  w.Int(o.process.host_pid);
  w.Key("startTicks");
  w.Uint64(o.process.start_ticks);
  if (o.snapshot) {
    w.Key("snapshot");
    write_snapshot(w, *o.snapshot);
  }
  if (o.kind == ObservationKind::kSocketsSeen) {
    w.Key("sockets");
    w.StartArray();
    for (const auto& socket : o.sockets) {
      write_socket(w, socket);
    }
    w.EndArray();
  }
  w.EndObject();
}

void write_target(Writer& w, const TargetInfo& target) {
  w.StartObject();
  w.Key("description");
  write_string(w, target.description);
  w.Key("pidNs");
  w.Uint64(target.pid_ns);
  w.Key("pidNsDepth");
  w.Int(target.pid_ns_depth);
  w.Key("initHostPid");
  w.Int(target.init_host_pid);
  w.Key("hostPidsVisible");
  w.Bool(target.host_pids_visible);
  w.EndObject();
}

void write_user_names(Writer& w, const std::map<uint32_t, std::string>& names) {
  // Keys are decimal uids; std::map keeps them in numeric order.
  w.StartObject();
  for (const auto& [uid, name] : names) {
    w.Key(std::to_string(uid).c_str());
    write_string(w, name);
  }
  w.EndObject();
}

const char* file_kind_name(TargetFile::Kind kind) {
  switch (kind) {
    case TargetFile::Kind::kFile:
      return "file";
    case TargetFile::Kind::kDirectory:
      return "directory";
    case TargetFile::Kind::kError:
      return "error";
  }
  return "error";
}

// NOTE: content that is not valid UTF-8 is written with U+FFFD in place of
// the invalid bytes, so a replay of a binary file differs from the live
// read. The files kept are text configurations.
void write_files(Writer& w, const std::map<std::string, TargetFile>& files) {
  w.StartObject();
  for (const auto& [path, file] : files) {
    write_string(w, path);
    w.StartObject();
    w.Key("kind");
    w.String(file_kind_name(file.kind));
    if (file.kind == TargetFile::Kind::kFile) {
      w.Key("content");
      write_string(w, file.content);
      w.Key("truncated");
      w.Bool(file.truncated);
    } else if (file.kind == TargetFile::Kind::kDirectory) {
      w.Key("entries");
      write_strings(w, file.entries);
    } else {
      w.Key("error");
      write_string(w, file.error);
      w.Key("errno");
      w.Int(file.error_number);
    }
    w.EndObject();
  }
  w.EndObject();
}

// Reading: every accessor names the member it failed on.

Result<const Value*> member(const Value& object, const char* name,
                            const std::string& where) {
  if (!object.IsObject()) {
    return Error{where + " is not an object"};
  }
  auto it = object.FindMember(name);
  if (it == object.MemberEnd()) {
    return Error{where + "." + name + " is missing"};
  }
  return &it->value;
}

// Reads one scalar member as T, or names the member that is missing or of
// the wrong type.
template <typename T>
Result<T> read_scalar(const Value& object, const char* name,
                      const std::string& where) {
  auto value = member(object, name, where);
  if (!value) {
    return value.error();
  }
  const Value& v = **value;
  if constexpr (std::is_same_v<T, bool>) {
    if (v.IsBool()) {
      return v.GetBool();
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (v.IsString()) {
      return std::string(v.GetString(), v.GetStringLength());
    }
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (v.IsInt64()) {
      return v.GetInt64();
    }
  } else {
    if (v.IsUint64()) {
      return v.GetUint64();
    }
  }
  return Error{where + "." + name + " has the wrong type"};
}

const auto read_int64 = read_scalar<int64_t>;
const auto read_uint64 = read_scalar<uint64_t>;
const auto read_bool = read_scalar<bool>;
const auto read_string = read_scalar<std::string>;

Result<std::vector<std::string>> read_strings(const Value& object,
                                              const char* name,
                                              const std::string& where) {
  auto value = member(object, name, where);
  if (!value) {
    return value.error();
  }
  if (!(*value)->IsArray()) {
    return Error{where + "." + name + " is not an array"};
  }
  std::vector<std::string> items;
  for (const auto& item : (*value)->GetArray()) {
    if (!item.IsString()) {
      return Error{where + "." + name + " contains a non-string element"};
    }
    items.emplace_back(item.GetString(), item.GetStringLength());
  }
  return items;
}

// Collects the first error of a sequence of reads, so a parser reads as a
// list of fields instead of a ladder of early returns.
class FieldReader {
 public:
  explicit FieldReader(const Value& object, std::string where)
      : object_(object), where_(std::move(where)) {}

  template <typename T, typename Read>
  void read(Read reader, const char* name, T& out) {
    if (error_) {
      return;
    }
    auto value = reader(object_, name, where_);
    if (!value) {
      error_ = value.error();
      return;
    }
    out = static_cast<T>(*value);
  }

  void strings(const char* name, std::vector<std::string>& out) {
    if (error_) {
      return;
    }
    auto value = read_strings(object_, name, where_);
    if (!value) {
      error_ = value.error();
      return;
    }
    out = std::move(*value);
  }

  const std::optional<Error>& error() const { return error_; }

 private:
  const Value& object_;
  std::string where_;
  std::optional<Error> error_;
};

Result<ProcessImage> parse_image(const Value& value, const std::string& where) {
  ProcessImage image;
  FieldReader r(value, where);
  r.read(read_string, "exe", image.exe);
  r.read(read_bool, "exeKnown", image.exe_known);
  r.read(read_bool, "exeDeleted", image.exe_deleted);
  r.strings("argv", image.argv);
  r.read(read_string, "comm", image.comm);
  r.read(read_string, "cwd", image.cwd);
  r.read(read_bool, "cwdKnown", image.cwd_known);
  r.read(read_uint64, "startStack", image.start_stack);
  if (r.error()) {
    return *r.error();
  }
  return image;
}

Result<ProcessSnapshot> parse_snapshot(const Value& value,
                                       const std::string& where) {
  ProcessSnapshot s;
  FieldReader r(value, where);
  r.read(read_int64, "nsPid", s.ns_pid);
  r.read(read_int64, "hostPpid", s.host_ppid);
  r.read(read_int64, "nsPpid", s.ns_ppid);
  r.read(read_uint64, "uid", s.uid);
  r.read(read_uint64, "euid", s.euid);
  r.read(read_uint64, "gid", s.gid);
  r.read(read_uint64, "egid", s.egid);
  r.strings("unreadable", s.unreadable);
  if (r.error()) {
    return *r.error();
  }

  auto image_value = member(value, "image", where);
  if (!image_value) {
    return image_value.error();
  }
  auto image = parse_image(**image_value, where + ".image");
  if (!image) {
    return image.error();
  }
  s.image = std::move(*image);
  return s;
}

template <typename Enum, size_t N, typename Name>
Result<Enum> parse_enum(const std::string& text, const std::array<Enum, N>& all,
                        Name name_of, const std::string& where) {
  for (Enum candidate : all) {
    if (text == name_of(candidate)) {
      return candidate;
    }
  }
  return Error{where + " has unknown value '" + text + "'"};
}

Result<ListeningSocket> parse_socket(const Value& value,
                                     const std::string& where) {
  ListeningSocket socket;
  std::string protocol;
  FieldReader r(value, where);
  r.read(read_string, "protocol", protocol);
  r.read(read_uint64, "inode", socket.inode);
  r.read(read_uint64, "netNs", socket.net_ns);
  r.read(read_string, "address", socket.address);
  r.read(read_uint64, "port", socket.port);
  if (r.error()) {
    return *r.error();
  }
  if (value.HasMember("ownerUid")) {
    uint32_t owner_uid = 0;
    r.read(read_uint64, "ownerUid", owner_uid);
    if (r.error()) {
      return *r.error();
    }
    socket.owner_uid = owner_uid;
  }
  auto parsed =
      parse_enum(protocol, kProtocols, protocol_name, where + ".protocol");
  if (!parsed) {
    return parsed.error();
  }
  socket.protocol = *parsed;
  return socket;
}

Result<std::vector<ListeningSocket>> parse_sockets(const Value& value,
                                                   const std::string& where) {
  auto array = member(value, "sockets", where);
  if (!array) {
    return array.error();
  }
  if (!(*array)->IsArray()) {
    return Error{where + ".sockets is not an array"};
  }
  std::vector<ListeningSocket> sockets;
  for (rapidjson::SizeType i = 0; i < (*array)->Size(); ++i) {
    auto socket = parse_socket((**array)[i],
                               where + ".sockets[" + std::to_string(i) + "]");
    if (!socket) {
      return socket.error();
    }
    sockets.push_back(std::move(*socket));
  }
  return sockets;
}

Result<Observation> parse_observation(const Value& value,
                                      const std::string& where) {
  Observation o;
  std::string kind;
  FieldReader r(value, where);
  r.read(read_string, "kind", kind);
  r.read(read_int64, "timeUs", o.time_us);
  r.read(read_int64, "hostPid", o.process.host_pid);
  r.read(read_uint64, "startTicks", o.process.start_ticks);
  if (r.error()) {
    return *r.error();
  }
  auto parsed =
      parse_enum(kind, kKinds, observation_kind_name, where + ".kind");
  if (!parsed) {
    return parsed.error();
  }
  o.kind = *parsed;

  if (o.kind == ObservationKind::kProcessSeen ||
      o.kind == ObservationKind::kImageChanged) {
    auto snapshot_value = member(value, "snapshot", where);
    if (!snapshot_value) {
      return snapshot_value.error();
    }
    auto snapshot = parse_snapshot(**snapshot_value, where + ".snapshot");
    if (!snapshot) {
      return snapshot.error();
    }
    snapshot->id = o.process;
    o.snapshot = std::move(*snapshot);
  }
  if (o.kind == ObservationKind::kSocketsSeen) {
    auto sockets = parse_sockets(value, where);
    if (!sockets) {
      return sockets.error();
    }
    o.sockets = std::move(*sockets);
  }
  return o;
}

Status parse_user_names(const Value& value, Capture& capture) {
  auto names = member(value, "userNames", "capture");
  if (!names) {
    return names.error();
  }
  if (!(*names)->IsObject()) {
    return Error{"capture.userNames is not an object"};
  }
  for (const auto& entry : (*names)->GetObject()) {
    std::string key = entry.name.GetString();
    char* end = nullptr;
    unsigned long uid = std::strtoul(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || !entry.value.IsString()) {
      return Error{"capture.userNames has an invalid entry '" + key + "'"};
    }
    capture.user_names[static_cast<uint32_t>(uid)] = entry.value.GetString();
  }
  return Ok{};
}

Status parse_observations(const Value& value, Capture& capture) {
  auto array = member(value, "observations", "capture");
  if (!array) {
    return array.error();
  }
  if (!(*array)->IsArray()) {
    return Error{"capture.observations is not an array"};
  }
  for (rapidjson::SizeType i = 0; i < (*array)->Size(); ++i) {
    auto o = parse_observation(
        (**array)[i], "capture.observations[" + std::to_string(i) + "]");
    if (!o) {
      return o.error();
    }
    capture.observations.push_back(std::move(*o));
  }
  return Ok{};
}

constexpr std::array kFileKinds = {TargetFile::Kind::kFile,
                                   TargetFile::Kind::kDirectory,
                                   TargetFile::Kind::kError};

Result<TargetFile> parse_file(const Value& value, const std::string& where) {
  TargetFile file;
  std::string kind;
  FieldReader r(value, where);
  r.read(read_string, "kind", kind);
  if (r.error()) {
    return *r.error();
  }
  auto parsed = parse_enum(kind, kFileKinds, file_kind_name, where + ".kind");
  if (!parsed) {
    return parsed.error();
  }
  file.kind = *parsed;
  if (file.kind == TargetFile::Kind::kFile) {
    r.read(read_string, "content", file.content);
    r.read(read_bool, "truncated", file.truncated);
  } else if (file.kind == TargetFile::Kind::kDirectory) {
    r.strings("entries", file.entries);
  } else {
    r.read(read_string, "error", file.error);
    r.read(read_int64, "errno", file.error_number);
  }
  if (r.error()) {
    return *r.error();
  }
  return file;
}

// Captures recorded before files were kept have no "files" member.
Status parse_files(const Value& value, Capture& capture) {
  if (!value.HasMember("files")) {
    return Ok{};
  }
  const Value& files = value["files"];
  if (!files.IsObject()) {
    return Error{"capture.files is not an object"};
  }
  for (const auto& entry : files.GetObject()) {
    std::string path(entry.name.GetString(), entry.name.GetStringLength());
    auto file = parse_file(entry.value, "capture.files['" + path + "']");
    if (!file) {
      return file.error();
    }
    capture.files[path] = std::move(*file);
  }
  return Ok{};
}

Status parse_target(const Value& value, TargetInfo& target) {
  auto object = member(value, "target", "capture");
  if (!object) {
    return object.error();
  }
  FieldReader r(**object, "capture.target");
  r.read(read_string, "description", target.description);
  r.read(read_uint64, "pidNs", target.pid_ns);
  r.read(read_int64, "pidNsDepth", target.pid_ns_depth);
  r.read(read_int64, "initHostPid", target.init_host_pid);
  // Captures recorded before the member existed read host pids.
  if ((*object)->IsObject() && (*object)->HasMember("hostPidsVisible")) {
    r.read(read_bool, "hostPidsVisible", target.host_pids_visible);
  }
  if (r.error()) {
    return *r.error();
  }
  return Ok{};
}

}  // namespace

std::string capture_to_json(const Capture& capture) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);

  w.StartObject();
  w.Key("schema");
  w.String(kCaptureSchema);
  w.Key("backend");
  write_string(w, capture.backend);
  w.Key("target");
  write_target(w, capture.target);
  w.Key("windowUs");
  w.Int64(capture.window_us);
  w.Key("intervalUs");
  w.Int64(capture.interval_us);
  w.Key("elapsedUs");
  w.Int64(capture.elapsed_us);
  w.Key("windowStartTicks");
  w.Uint64(capture.window_start_ticks);
  w.Key("ticksPerSecond");
  w.Uint64(capture.ticks_per_second);
  w.Key("userNames");
  write_user_names(w, capture.user_names);
  w.Key("evidence");
  write_strings(w, capture.evidence);
  w.Key("diagnostics");
  write_strings(w, capture.diagnostics);
  w.Key("files");
  write_files(w, capture.files);
  w.Key("observations");
  w.StartArray();
  for (const auto& o : capture.observations) {
    write_observation(w, o);
  }
  w.EndArray();
  w.EndObject();

  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

Result<Capture> capture_from_json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return Error{std::string("invalid JSON at offset ") +
                 std::to_string(doc.GetErrorOffset()) + ": " +
                 rapidjson::GetParseError_En(doc.GetParseError())};
  }

  Capture capture;
  std::string schema;
  FieldReader r(doc, "capture");
  r.read(read_string, "schema", schema);
  if (!r.error() && schema != kCaptureSchema) {
    return Error{"capture.schema is '" + schema + "', expected '" +
                 kCaptureSchema + "'"};
  }
  r.read(read_string, "backend", capture.backend);
  r.read(read_int64, "windowUs", capture.window_us);
  r.read(read_int64, "intervalUs", capture.interval_us);
  r.read(read_int64, "elapsedUs", capture.elapsed_us);
  r.read(read_uint64, "windowStartTicks", capture.window_start_ticks);
  r.read(read_uint64, "ticksPerSecond", capture.ticks_per_second);
  r.strings("evidence", capture.evidence);
  r.strings("diagnostics", capture.diagnostics);
  if (r.error()) {
    return *r.error();
  }

  if (auto status = parse_target(doc, capture.target); !status) {
    return status.error();
  }
  if (auto status = parse_user_names(doc, capture); !status) {
    return status.error();
  }
  if (auto status = parse_observations(doc, capture); !status) {
    return status.error();
  }
  if (auto status = parse_files(doc, capture); !status) {
    return status.error();
  }
  return capture;
}

}  // namespace entrytrace
