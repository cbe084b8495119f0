// Result<T>: the one value-or-error type of entrytrace.
//
// A function that can fail for a reason the caller may want to report
// returns Result<T>. On failure it carries an Error whose message names the
// path or value involved, and the errno when a system call failed:
//
//   Result<std::string> read_file(const std::string& path);
//
//   auto text = read_file("/proc/1/cmdline");
//   if (!text) {
//     log->debug("skipping: {}", text.error().message);
//     return;
//   }
//   use(*text);
//
// Functions that return nothing on success return Status (Result<Ok>).
// Exceptions are reserved for programming errors and for third-party
// libraries that throw; they are caught at the library boundary.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace entrytrace {

struct Error {
  std::string message;
  // The errno of the failed system call, or 0 when none was involved.
  int errno_value = 0;
};

// Builds an Error for a failed system call: "<what>: <strerror(errno)>".
inline Error system_error(const std::string& what, int errno_value) {
  return Error{what + ": " + std::strerror(errno_value), errno_value};
}

struct Ok {};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

using Status = Result<Ok>;

}  // namespace entrytrace
