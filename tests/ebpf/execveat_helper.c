// Runs a program through execveat(2) on an open file descriptor with
// AT_EMPTY_PATH, the way fexecve(3) does:
//   execveat_helper PATH ARGV0 [ARG...]
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PATH ARGV0 [ARG...]\n", argv[0]);
    return 2;
  }
  int fd = open(argv[1], O_PATH | O_CLOEXEC);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  syscall(SYS_execveat, fd, "", &argv[2], environ, AT_EMPTY_PATH);
  perror("execveat");
  return 1;
}
