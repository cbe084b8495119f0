#include "detectors/result_json.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cmath>
#include <cstdio>

#include "common/utf8.h"

namespace entrytrace {

const char* terminal_type_name(TerminalType type) {
  switch (type) {
    case TerminalType::kProcess:
      return "process";
    case TerminalType::kSupervisor:
      return "supervisor";
    case TerminalType::kService:
      return "service";
    case TerminalType::kDaemon:
      return "daemon";
  }
  return "process";
}

namespace {

// Owns key order and number formatting; every value goes through here.
class JsonOut {
 public:
  JsonOut() : writer_(buffer_) { writer_.SetIndent(' ', 2); }

  void key(const char* name) { writer_.Key(name); }

  void string(std::string_view text) {
    const std::string valid = valid_utf8(text);
    writer_.String(valid.data(),
                   static_cast<rapidjson::SizeType>(valid.size()));
  }

  void optional_string(const std::optional<std::string>& text) {
    if (text) {
      string(*text);
    } else {
      writer_.Null();
    }
  }

  void strings(const std::vector<std::string>& list) {
    writer_.StartArray();
    for (const auto& item : list) {
      string(item);
    }
    writer_.EndArray();
  }

  void integer(int64_t value) { writer_.Int64(value); }
  void unsigned_integer(uint64_t value) { writer_.Uint64(value); }
  void boolean(bool value) { writer_.Bool(value); }
  void null() { writer_.Null(); }

  // A number with exactly `decimals` digits after the point, never "-0".
  void fixed(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    double rounded = std::round(value * scale) / scale;
    if (rounded == 0) {
      rounded = 0;  // drops the sign of -0
    }
    char text[64];
    const int length =
        std::snprintf(text, sizeof text, "%.*f", decimals, rounded);
    writer_.RawValue(text, static_cast<size_t>(length), rapidjson::kNumberType);
  }

  // Microseconds written as milliseconds with 3 decimals.
  void millis(int64_t micros) {
    const bool negative = micros < 0;
    const uint64_t magnitude =
        negative ? static_cast<uint64_t>(-(micros + 1)) + 1 : micros;
    char text[40];
    const int length =
        std::snprintf(text, sizeof text, "%s%llu.%03llu", negative ? "-" : "",
                      static_cast<unsigned long long>(magnitude / 1000),
                      static_cast<unsigned long long>(magnitude % 1000));
    writer_.RawValue(text, static_cast<size_t>(length), rapidjson::kNumberType);
  }

  void start_object() { writer_.StartObject(); }
  void end_object() { writer_.EndObject(); }
  void start_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }

  // Copies the text once, at its final size, after the buffer gave back
  // its unused growth: for a large tree this copy is the peak of the whole
  // run's memory, and appending the newline to a copy would reallocate it
  // to twice its size.
  std::string text() {
    buffer_.ShrinkToFit();
    std::string text;
    text.reserve(buffer_.GetSize() + 1);
    text.append(buffer_.GetString(), buffer_.GetSize());
    text.push_back('\n');
    return text;
  }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer_;
};

// Writes a host pid, or 0 when the capture saw no host pids: its pids are
// then the target namespace's and already appear as nsPid.
void write_host_pid(JsonOut& out, int32_t pid, bool visible) {
  out.integer(visible ? pid : 0);
}

void write_target(JsonOut& out, const ResultTarget& target) {
  out.start_object();
  out.key("description");
  out.string(target.description);
  out.key("pidNamespace");
  out.unsigned_integer(target.pid_namespace);
  out.key("pidNamespaceDepth");
  out.integer(target.pid_namespace_depth);
  out.key("initHostPid");
  write_host_pid(out, target.init_host_pid, target.host_pids_visible);
  out.key("hostPidsVisible");
  out.boolean(target.host_pids_visible);
  out.end_object();
}

void write_window(JsonOut& out, const ResultWindow& window) {
  out.start_object();
  out.key("requestedMs");
  out.millis(window.requested_us);
  out.key("observedMs");
  out.millis(window.observed_us);
  out.key("intervalMs");
  out.millis(window.interval_us);
  out.end_object();
}

void write_node(JsonOut& out, const ResultNode& node, bool host_pids) {
  out.start_object();
  out.key("id");
  out.string(node.id);
  out.key("hostPid");
  write_host_pid(out, node.host_pid, host_pids);
  out.key("nsPid");
  out.integer(node.ns_pid);
  out.key("ppid");
  out.integer(node.ppid);
  out.key("hostPpid");
  write_host_pid(out, node.host_ppid, host_pids);
  out.key("exe");
  out.optional_string(node.exe);
  out.key("exeDeleted");
  out.boolean(node.exe_deleted);
  out.key("argv");
  out.strings(node.argv);
  out.key("comm");
  out.string(node.comm);
  out.key("startTicks");
  out.unsigned_integer(node.start_ticks);
  out.key("uid");
  out.integer(node.uid);
  out.key("euid");
  out.integer(node.euid);
  out.key("execIndex");
  out.integer(node.exec_index);
  out.key("firstSeenMs");
  out.millis(node.first_seen_us);
  out.key("exitedAfterMs");
  if (node.ended_us) {
    out.millis(*node.ended_us);
  } else {
    out.null();
  }
  out.key("endReason");
  if (node.end_reason.empty()) {
    out.null();
  } else {
    out.string(node.end_reason);
  }
  out.key("listening");
  out.strings(node.listening);
  out.key("unreadable");
  out.strings(node.unreadable);
  out.end_object();
}

void write_edge(JsonOut& out, const ResultEdge& edge, bool host_pids) {
  out.start_object();
  out.key("from");
  out.string(edge.from);
  out.key("to");
  out.string(edge.to);
  out.key("parentHostPid");
  write_host_pid(out, edge.parent_host_pid, host_pids);
  out.key("childHostPid");
  write_host_pid(out, edge.child_host_pid, host_pids);
  out.key("kind");
  out.string(edge.kind);
  out.end_object();
}

void write_graph(JsonOut& out, const ResultGraph& graph, bool host_pids) {
  out.start_object();
  out.key("nodes");
  out.start_array();
  for (const ResultNode& node : graph.nodes) {
    write_node(out, node, host_pids);
  }
  out.end_array();
  out.key("edges");
  out.start_array();
  for (const ResultEdge& edge : graph.edges) {
    write_edge(out, edge, host_pids);
  }
  out.end_array();
  out.end_object();
}

void write_features(JsonOut& out, const TerminalFeatures& features) {
  out.start_object();
  out.key("lifetimeMs");
  out.integer(features.lifetime_ms);
  out.key("execsDownstream");
  out.integer(features.execs_downstream);
  out.key("listening");
  out.integer(features.listening);
  out.key("wrapper");
  out.optional_string(features.wrapper);
  out.key("children");
  out.integer(features.children);
  out.key("nsPid1");
  out.boolean(features.ns_pid1);
  out.key("exited");
  out.boolean(features.exited);
  out.end_object();
}

void write_terminal(JsonOut& out, const Terminal& terminal, bool host_pids) {
  out.start_object();
  out.key("type");
  out.string(terminal_type_name(terminal.type));
  out.key("nodeId");
  out.string(terminal.node_id);
  out.key("nsPid");
  out.integer(terminal.ns_pid);
  out.key("hostPid");
  write_host_pid(out, terminal.host_pid, host_pids);
  out.key("path");
  out.optional_string(terminal.path);
  out.key("argv");
  out.strings(terminal.argv);
  out.key("runtime");
  out.optional_string(terminal.runtime);
  out.key("embeddedRuntimes");
  out.strings(terminal.embedded_runtimes);
  out.key("user");
  out.start_object();
  out.key("uid");
  out.integer(terminal.user.uid);
  out.key("name");
  out.optional_string(terminal.user.name);
  out.end_object();
  out.key("confidence");
  out.fixed(terminal.confidence, 3);
  out.key("score");
  out.fixed(terminal.score, 3);
  out.key("features");
  write_features(out, terminal.features);
  out.key("evidence");
  out.strings(terminal.evidence);
  out.end_object();
}

}  // namespace

std::string result_to_json(const EntryTraceResult& result) {
  JsonOut out;
  out.start_object();
  out.key("schema");
  out.string(result.schema);
  out.key("mode");
  out.string(result.mode);
  out.key("backend");
  out.string(result.backend);
  out.key("target");
  write_target(out, result.target);
  out.key("window");
  write_window(out, result.window);
  const bool host_pids = result.target.host_pids_visible;
  out.key("execGraph");
  write_graph(out, result.exec_graph, host_pids);
  out.key("applicationFound");
  out.boolean(result.application_found);
  out.key("terminals");
  out.start_array();
  for (const Terminal& terminal : result.terminals) {
    write_terminal(out, terminal, host_pids);
  }
  out.end_array();
  out.key("evidence");
  out.strings(result.evidence);
  out.key("diagnostics");
  out.strings(result.diagnostics);
  out.end_object();
  return out.text();
}

}  // namespace entrytrace
