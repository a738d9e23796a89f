#define _GNU_SOURCE
#include <sched.h>
#include <sys/syscall.h>
#include "CTestSupport.h"

int pp_unshare_netns(void) { return unshare(CLONE_NEWNET); }
int pp_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }
#include <fcntl.h>
#include <unistd.h>
int pp_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int pp_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
