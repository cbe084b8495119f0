// Records that the BPF programs in entrytrace.bpf.c send to user space
// through the ring buffer. Shared by the BPF side (compiled with clang
// -target bpf) and the C++ loader, so it uses only fixed-width C types.
#ifndef ENTRYTRACE_POLLER_EBPF_ENTRYTRACE_EVENTS_H_
#define ENTRYTRACE_POLLER_EBPF_ENTRYTRACE_EVENTS_H_

// Bytes of argv copied per exec: the argument block from mm->arg_start to
// mm->arg_end, cut at this size. Longer blocks set kEventArgvTruncated.
#define ENTRYTRACE_MAX_ARGV_BYTES 4096
// Bytes of bprm->filename copied, including the terminating NUL.
#define ENTRYTRACE_MAX_FILENAME_BYTES 256
#define ENTRYTRACE_COMM_BYTES 16

enum entrytrace_event_kind {
  kEventFork = 1,
  kEventExec = 2,
  kEventExit = 3,
};

enum entrytrace_event_flags {
  // The argument block was longer than ENTRYTRACE_MAX_ARGV_BYTES.
  kEventArgvTruncated = 1,
  // bpf_probe_read_user of the argument block failed (page not present).
  kEventArgvUnread = 2,
  // bprm->filename was longer than ENTRYTRACE_MAX_FILENAME_BYTES - 1.
  kEventFilenameTruncated = 4,
};

// Sent for every event. For kEventFork the process is the child.
struct entrytrace_event {
  __u32 kind;
  __u32 flags;
  // Monotonic time of the event (bpf_ktime_get_ns, CLOCK_MONOTONIC).
  __u64 time_ns;
  // task->group_leader->start_boottime: nanoseconds after boot.
  __u64 start_boottime_ns;
  // Thread group id in the initial PID namespace, and in the target's.
  __s32 host_pid;
  __s32 ns_pid;
  // Parent (real_parent's thread group) in both namespaces; ns_ppid is 0
  // when the parent is outside the target namespace.
  __s32 host_ppid;
  __s32 ns_ppid;
  // Real and effective ids from task->real_cred.
  __u32 uid;
  __u32 euid;
  __u32 gid;
  __u32 egid;
  char comm[ENTRYTRACE_COMM_BYTES];
};

// Sent for kEventExec: the header, then the filename and the argument block.
struct entrytrace_exec_event {
  struct entrytrace_event header;
  // Bytes of args that were copied; 0 when kEventArgvUnread is set.
  __u32 args_size;
  __u32 reserved;
  char filename[ENTRYTRACE_MAX_FILENAME_BYTES];
  char args[ENTRYTRACE_MAX_ARGV_BYTES];
};

#endif  // ENTRYTRACE_POLLER_EBPF_ENTRYTRACE_EVENTS_H_
