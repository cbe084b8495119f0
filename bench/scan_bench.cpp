// Cost of full /proc scans with the poller's own reader (ProcReader,
// PidDirectory and the parsers) over N sleeping processes, reported per
// process so that it compares with the C scan floor of the machine.
//
// For each N the benchmark clones an init into a fresh PID namespace. The
// init mounts that namespace's procfs on a temporary directory and forks N
// children that only pause(). Every scan reads that mount, so it lists
// exactly N + 1 processes whatever else runs on the host. The whole
// benchmark runs in a private mount namespace of its own, so the mount is
// never visible outside it. At the end the init is killed with SIGKILL,
// which makes the kernel kill every process of its namespace.
//
// Needs root (CAP_SYS_ADMIN for the PID and mount namespaces).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "poller/capture.h"
#include "poller/proc_parse.h"
#include "poller/proc_reader.h"
#include "poller/procfs_poller.h"

namespace entrytrace {
namespace {

constexpr int kProcessCounts[] = {100, 1000, 5000};

// Polls run before the steady-poll timing starts. Children that were
// forked and never exec'd keep their parent's image, so the tracker reads
// them in full for kMaxNotReadyPolls polls before it emits them. After that
// a poll only probes stat and cmdline.
constexpr int kWarmUpPolls = 4;

// Message from the namespace init to the parent: 0 and 0 when all children
// run, else the step that failed and its errno.
struct InitReport {
  int failed_step = 0;
  int error = 0;
};

enum InitStep { kStepNone = 0, kStepMount = 1, kStepFork = 2 };

struct InitArguments {
  const char* mount_dir = nullptr;
  int child_count = 0;
  int report_fd = -1;
};

[[noreturn]] void pause_forever() {
  while (true) {
    ::pause();
  }
}

// Body of the namespace init (pid 1 of the new namespace). It never returns:
// the parent ends it with SIGKILL.
int run_namespace_init(void* raw_arguments) {
  const auto* arguments = static_cast<const InitArguments*>(raw_arguments);
  // If the benchmark dies without cleaning up, its namespace dies with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);

  InitReport report;
  if (::mount("proc", arguments->mount_dir, "proc",
              MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    report = {kStepMount, errno};
  }
  int to_fork = report.failed_step == kStepNone ? arguments->child_count : 0;
  for (int i = 0; i < to_fork; ++i) {
    pid_t child = ::fork();
    if (child == 0) {
      pause_forever();
    }
    if (child < 0) {
      report = {kStepFork, errno};
      break;
    }
  }
  ssize_t written = ::write(arguments->report_fd, &report, sizeof(report));
  (void)written;
  ::close(arguments->report_fd);
  pause_forever();
}

// N paused processes in a fresh PID namespace, and that namespace's procfs
// mounted on a temporary directory.
class SleepingNamespace {
 public:
  static Result<std::unique_ptr<SleepingNamespace>> start(int child_count);

  SleepingNamespace(const SleepingNamespace&) = delete;
  SleepingNamespace& operator=(const SleepingNamespace&) = delete;
  ~SleepingNamespace();

  const std::string& proc_root() const { return mount_dir_; }
  int child_count() const { return child_count_; }

 private:
  SleepingNamespace(std::string mount_dir, int child_count)
      : mount_dir_(std::move(mount_dir)), child_count_(child_count) {}

  Status launch();

  std::string mount_dir_;
  int child_count_;
  pid_t init_pid_ = -1;
  bool mounted_ = false;
};

Result<std::unique_ptr<SleepingNamespace>> SleepingNamespace::start(
    int child_count) {
  char pattern[] = "/tmp/entrytrace-scan-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    return system_error(pattern, errno);
  }
  std::unique_ptr<SleepingNamespace> space(
      new SleepingNamespace(pattern, child_count));
  Status launched = space->launch();
  if (!launched) {
    return launched.error();
  }
  return space;
}

Status SleepingNamespace::launch() {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return system_error("pipe2", errno);
  }
  InitArguments arguments{mount_dir_.c_str(), child_count_, pipe_fds[1]};
  // Without CLONE_VM the child gets its own copy of this stack, as after
  // fork(), so a static buffer is enough.
  static constexpr size_t kStackSize = 256 * 1024;
  static std::vector<char> stack(kStackSize);
  init_pid_ = ::clone(run_namespace_init, stack.data() + stack.size(),
                      CLONE_NEWPID | SIGCHLD, &arguments);
  int saved = errno;
  ::close(pipe_fds[1]);
  if (init_pid_ < 0) {
    ::close(pipe_fds[0]);
    return system_error("clone(CLONE_NEWPID)", saved);
  }

  InitReport report;
  ssize_t count = ::read(pipe_fds[0], &report, sizeof(report));
  saved = errno;
  ::close(pipe_fds[0]);
  if (count != static_cast<ssize_t>(sizeof(report))) {
    return Error{"namespace init exited before it reported: " +
                     std::string(count < 0 ? std::strerror(saved) : "EOF"),
                 count < 0 ? saved : 0};
  }
  mounted_ = report.failed_step != kStepMount;
  if (report.failed_step == kStepMount) {
    return system_error("mount proc on " + mount_dir_, report.error);
  }
  if (report.failed_step == kStepFork) {
    return system_error("fork of a sleeping child", report.error);
  }
  return Ok{};
}

SleepingNamespace::~SleepingNamespace() {
  if (init_pid_ > 0) {
    ::kill(init_pid_, SIGKILL);
    while (::waitpid(init_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (mounted_) {
    ::umount2(mount_dir_.c_str(), MNT_DETACH);
  }
  ::rmdir(mount_dir_.c_str());
}

// The namespace of the benchmark being run. Benchmarks are registered N by
// N, so each namespace is started once and replaced when N changes.
std::unique_ptr<SleepingNamespace> g_namespace;

// Returns the namespace with child_count children, or null after reporting
// the error on state.
const SleepingNamespace* namespace_for(benchmark::State& state,
                                       int child_count) {
  if (g_namespace && g_namespace->child_count() == child_count) {
    return g_namespace.get();
  }
  g_namespace.reset();
  auto started = SleepingNamespace::start(child_count);
  if (!started) {
    state.SkipWithError(started.error().message.c_str());
    return nullptr;
  }
  g_namespace = std::move(*started);
  return g_namespace.get();
}

// Reports the time per listed process, the figure the floor reports: the
// listing has child_count + 1 entries (the children and the init).
void set_per_process(benchmark::State& state, size_t listed) {
  state.counters["processes"] = static_cast<double>(listed);
  state.counters["per_process"] =
      benchmark::Counter(static_cast<double>(listed),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

std::vector<PidEntry> list_or_skip(benchmark::State& state,
                                   const ProcReader& reader) {
  auto listing = reader.list_pids();
  if (!listing) {
    state.SkipWithError(listing.error().message.c_str());
    return {};
  }
  return std::move(*listing);
}

// Reads what the floor's "+ stat, status, cmdline, exe" level reads, through
// the poller's reader, and parses it. Returns false when the process could
// not be read.
bool read_four_files(const PidDirectory& dir) {
  auto stat = read_stat(dir);
  auto status = read_status(dir);
  auto cmdline = dir.read_file("cmdline");
  auto exe = dir.read_link("exe");
  if (!stat || !status || !cmdline || !exe) {
    return false;
  }
  auto argv = parse_cmdline(*cmdline);
  auto link = parse_exe_link(*exe);
  benchmark::DoNotOptimize(stat);
  benchmark::DoNotOptimize(status);
  benchmark::DoNotOptimize(argv);
  benchmark::DoNotOptimize(link);
  return true;
}

// Listing only: the reader's getdents loop, the pid parse and the sort.
void BM_ScanListing(benchmark::State& state, int child_count) {
  const SleepingNamespace* space = namespace_for(state, child_count);
  if (space == nullptr) {
    return;
  }
  ProcReader reader(space->proc_root());
  size_t listed = 0;
  for (auto _ : state) {
    auto listing = list_or_skip(state, reader);
    listed = listing.size();
    benchmark::DoNotOptimize(listing);
  }
  set_per_process(state, listed);
}

// Listing, then open_pid and read_stat (read and parse) of every pid.
void BM_ScanStat(benchmark::State& state, int child_count) {
  const SleepingNamespace* space = namespace_for(state, child_count);
  if (space == nullptr) {
    return;
  }
  ProcReader reader(space->proc_root());
  size_t listed = 0;
  int64_t failures = 0;
  for (auto _ : state) {
    auto listing = list_or_skip(state, reader);
    listed = listing.size();
    for (const PidEntry& entry : listing) {
      auto dir = reader.open_pid(entry.pid);
      auto stat = dir ? read_stat(*dir) : Result<StatFields>(dir.error());
      failures += stat ? 0 : 1;
      benchmark::DoNotOptimize(stat);
    }
  }
  set_per_process(state, listed);
  state.counters["failed_reads"] = static_cast<double>(failures);
}

// Listing, then stat, status, cmdline and exe of every pid.
void BM_ScanFull(benchmark::State& state, int child_count) {
  const SleepingNamespace* space = namespace_for(state, child_count);
  if (space == nullptr) {
    return;
  }
  ProcReader reader(space->proc_root());
  size_t listed = 0;
  int64_t failures = 0;
  for (auto _ : state) {
    auto listing = list_or_skip(state, reader);
    listed = listing.size();
    for (const PidEntry& entry : listing) {
      auto dir = reader.open_pid(entry.pid);
      failures += dir && read_four_files(*dir) ? 0 : 1;
    }
  }
  set_per_process(state, listed);
  state.counters["failed_reads"] = static_cast<double>(failures);
}

// Steady re-read of stat for pids already known, without listing.
// NOTE: the reader has no way to keep a file open and pread() it again:
// PidDirectory keeps the <pid> directory fd open, and each read_file() is an
// openat(), read() and close() relative to it. This is the closest the
// current API gets to the floor's "pread of open stat fds".
void BM_RereadStatInHeldDirectories(benchmark::State& state, int child_count) {
  const SleepingNamespace* space = namespace_for(state, child_count);
  if (space == nullptr) {
    return;
  }
  ProcReader reader(space->proc_root());
  std::vector<PidDirectory> directories;
  for (const PidEntry& entry : list_or_skip(state, reader)) {
    auto dir = reader.open_pid(entry.pid);
    if (dir) {
      directories.push_back(std::move(*dir));
    }
  }
  int64_t failures = 0;
  for (auto _ : state) {
    for (const PidDirectory& dir : directories) {
      auto stat = read_stat(dir);
      failures += stat ? 0 : 1;
      benchmark::DoNotOptimize(stat);
    }
  }
  set_per_process(state, directories.size());
  state.counters["failed_reads"] = static_cast<double>(failures);
}

Result<Target> namespace_target(const SleepingNamespace& space) {
  // Pid 1 of the mounted procfs is the namespace init, and a target at
  // depth 0 of that procfs makes every listed process a member.
  return resolve_target(space.proc_root(), 1);
}

// One ProcfsPoller::poll() from a fresh poller: the first sight of every
// process (status, ns/pid, then stat, status, cmdline, exe and cwd).
void BM_PollFirstSight(benchmark::State& state, int child_count) {
  const SleepingNamespace* space = namespace_for(state, child_count);
  if (space == nullptr) {
    return;
  }
  auto target = namespace_target(*space);
  if (!target) {
    state.SkipWithError(target.error().message.c_str());
    return;
  }
  size_t listed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto poller = std::make_unique<ProcfsPoller>(*target, space->proc_root());
    state.ResumeTiming();
    Status polled = poller->poll(0);
    if (!polled) {
      state.SkipWithError(polled.error().message.c_str());
      break;
    }
    state.PauseTiming();
    listed = poller->tracker().live_pids().size();
    poller.reset();
    state.ResumeTiming();
  }
  set_per_process(state, listed);
}

// ProcfsPoller::poll() once every process is known and emitted: what each
// --interval costs while nothing changes (listing, then a probe of stat and
// cmdline per member).
void BM_PollSteady(benchmark::State& state, int child_count) {
  const SleepingNamespace* space = namespace_for(state, child_count);
  if (space == nullptr) {
    return;
  }
  auto target = namespace_target(*space);
  if (!target) {
    state.SkipWithError(target.error().message.c_str());
    return;
  }
  ProcfsPoller poller(*target, space->proc_root());
  int64_t now_us = 0;
  for (int i = 0; i < kWarmUpPolls; ++i) {
    now_us += 10'000;
    (void)poller.poll(now_us);
  }
  for (auto _ : state) {
    now_us += 10'000;
    Status polled = poller.poll(now_us);
    if (!polled) {
      state.SkipWithError(polled.error().message.c_str());
      break;
    }
  }
  set_per_process(state, poller.tracker().live_pids().size());
}

void register_benchmarks() {
  struct Variant {
    const char* name;
    void (*function)(benchmark::State&, int);
  };
  const Variant kVariants[] = {
      {"scan/listing", BM_ScanListing},
      {"scan/stat", BM_ScanStat},
      {"scan/stat_status_cmdline_exe", BM_ScanFull},
      {"reread/stat_in_held_dirs", BM_RereadStatInHeldDirectories},
      {"poll/first_sight", BM_PollFirstSight},
      {"poll/steady", BM_PollSteady},
  };
  // N-major order, so that each namespace is started once.
  for (int count : kProcessCounts) {
    for (const Variant& variant : kVariants) {
      std::string name =
          std::string(variant.name) + "/" + std::to_string(count);
      benchmark::RegisterBenchmark(name.c_str(), variant.function, count)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
}

// Enters a private mount namespace, so that the procfs mounts of the
// benchmark never show on the host. Must run while the process has one
// thread, because unshare(CLONE_NEWNS) fails in a threaded process.
Status enter_private_mount_namespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    return system_error("unshare(CLONE_NEWNS)", errno);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return system_error("mount --make-rprivate /", errno);
  }
  return Ok{};
}

// The held-directory benchmark keeps one fd per process open.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace
}  // namespace entrytrace

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::fprintf(stderr,
                 "scan_bench: needs root to create PID and mount "
                 "namespaces; run it with sudo\n");
    return 2;
  }
  entrytrace::Status isolated = entrytrace::enter_private_mount_namespace();
  if (!isolated) {
    std::fprintf(stderr, "scan_bench: %s\n", isolated.error().message.c_str());
    return 1;
  }
  entrytrace::raise_open_file_limit();
  entrytrace::register_benchmarks();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  entrytrace::g_namespace.reset();
  return 0;
}
