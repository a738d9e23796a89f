#ifndef PORTPRESSURE_CTESTSUPPORT_H
#define PORTPRESSURE_CTESTSUPPORT_H
// unshare(), setns() and pipe2() are declared only under _GNU_SOURCE, which Swift's Glibc module
// does not define, and syscall() is variadic; these prefixed wrappers are the callable form
// for the test helpers.
int pp_unshare_netns(void);
int pp_setns_net(int fd);
int pp_pipe_cloexec(int fds[2]);
/// pidfd_open(2): a descriptor that polls readable when the process exits (-1 and errno on failure).
int pp_pidfd_open(int pid);
#endif
