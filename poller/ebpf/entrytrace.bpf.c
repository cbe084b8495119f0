// SPDX-License-Identifier: GPL-2.0
// Reports fork, exec and exit of the processes in one PID namespace and the
// namespaces nested in it. Loaded by poller/ebpf/ebpf_backend.cpp, which sets
// the target before any event passes the filter.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "entrytrace_events.h"

char LICENSE[] SEC("license") = "GPL";

// Written by user space after load. target_ns_inum 0 means "no target yet":
// every event is dropped.
__u32 target_ns_inum = 0;
__u32 target_level = 0;
// Events lost because the ring buffer was full.
__u64 dropped_events = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

// Returns the pid of the thread group of task in the target namespace, or 0
// when the task is not in the target namespace or one nested in it. The
// thread group's struct pid records one (nr, ns) pair per level, from the
// initial namespace down to the task's own.
static __always_inline int ns_tgid(struct task_struct* task) {
  struct task_struct* leader = BPF_CORE_READ(task, group_leader);
  struct pid* pid = BPF_CORE_READ(leader, thread_pid);
  if (pid == 0) {
    return 0;
  }
  __u32 level = BPF_CORE_READ(pid, level);
  __u32 wanted = target_level;
  if (level < wanted || wanted > 32) {
    return 0;
  }
  struct upid upid = {};
  if (bpf_core_read(&upid, sizeof(upid), &pid->numbers[wanted]) != 0) {
    return 0;
  }
  __u32 inum = BPF_CORE_READ(upid.ns, ns.inum);
  if (inum != target_ns_inum) {
    return 0;
  }
  return upid.nr;
}

static __always_inline void fill_header(struct entrytrace_event* event,
                                        __u32 kind, struct task_struct* task,
                                        int ns_pid) {
  struct task_struct* leader = BPF_CORE_READ(task, group_leader);
  struct task_struct* parent = BPF_CORE_READ(task, real_parent);
  const struct cred* cred = BPF_CORE_READ(task, real_cred);

  event->kind = kind;
  event->flags = 0;
  event->time_ns = bpf_ktime_get_ns();
  event->start_boottime_ns = BPF_CORE_READ(leader, start_boottime);
  event->host_pid = BPF_CORE_READ(task, tgid);
  event->ns_pid = ns_pid;
  event->host_ppid = BPF_CORE_READ(parent, tgid);
  event->ns_ppid = ns_tgid(parent);
  event->uid = BPF_CORE_READ(cred, uid.val);
  event->euid = BPF_CORE_READ(cred, euid.val);
  event->gid = BPF_CORE_READ(cred, gid.val);
  event->egid = BPF_CORE_READ(cred, egid.val);
  BPF_CORE_READ_STR_INTO(&event->comm, task, comm);
}

static __always_inline void count_drop(void) {
  __sync_fetch_and_add(&dropped_events, 1);
}

static __always_inline int send_simple(__u32 kind, struct task_struct* task) {
  if (target_ns_inum == 0) {
    return 0;
  }
  int ns_pid = ns_tgid(task);
  if (ns_pid == 0) {
    return 0;
  }
  struct entrytrace_event* event =
      bpf_ringbuf_reserve(&events, sizeof(*event), 0);
  if (event == 0) {
    count_drop();
    return 0;
  }
  fill_header(event, kind, task, ns_pid);
  bpf_ringbuf_submit(event, 0);
  return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(entrytrace_fork, struct task_struct* parent,
             struct task_struct* child) {
  // A new thread shares its parent's thread group; only new processes count.
  if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) {
    return 0;
  }
  return send_simple(kEventFork, child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(entrytrace_exit, struct task_struct* task) {
  // do_exit has already decremented signal->live: zero means the last
  // thread of the group is exiting, so the process ends.
  if (BPF_CORE_READ(task, signal, live.counter) != 0) {
    return 0;
  }
  return send_simple(kEventExit, task);
}

// Fires after the new image is set up, for execve and execveat alike, so
// current->mm is the new address space and its argument block is filled.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(entrytrace_exec, struct task_struct* task, pid_t old_pid,
             struct linux_binprm* bprm) {
  if (target_ns_inum == 0) {
    return 0;
  }
  int ns_pid = ns_tgid(task);
  if (ns_pid == 0) {
    return 0;
  }
  struct entrytrace_exec_event* event =
      bpf_ringbuf_reserve(&events, sizeof(*event), 0);
  if (event == 0) {
    count_drop();
    return 0;
  }
  fill_header(&event->header, kEventExec, task, ns_pid);

  const char* filename = BPF_CORE_READ(bprm, filename);
  long copied = bpf_probe_read_kernel_str(event->filename,
                                          sizeof(event->filename), filename);
  if (copied == sizeof(event->filename)) {
    event->header.flags |= kEventFilenameTruncated;
  }

  struct mm_struct* mm = BPF_CORE_READ(task, mm);
  unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
  unsigned long size = arg_end > arg_start ? arg_end - arg_start : 0;
  if (size > ENTRYTRACE_MAX_ARGV_BYTES) {
    size = ENTRYTRACE_MAX_ARGV_BYTES;
    event->header.flags |= kEventArgvTruncated;
  }
  event->args_size = 0;
  event->reserved = 0;
  if (size > 0) {
    if (bpf_probe_read_user(event->args, size, (const void*)arg_start) == 0) {
      event->args_size = size;
    } else {
      event->header.flags |= kEventArgvUnread;
    }
  }
  bpf_ringbuf_submit(event, 0);
  return 0;
}
