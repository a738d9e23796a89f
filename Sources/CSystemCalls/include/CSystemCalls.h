#ifndef PORTPRESSURE_CSYSTEMCALLS_H
#define PORTPRESSURE_CSYSTEMCALLS_H
// What Swift's Glibc module does not declare (setns and CLONE_NEWNET need _GNU_SOURCE; statfs
// and NSFS_MAGIC are not in it), as small functions. Imported by SystemCalls only.

/// setns(fd, CLONE_NEWNET): moves the calling thread into the network namespace `fd` refers to.
/// Returns 0, or -1 with errno set.
int pp_enter_network_namespace(int fd);

/// 1 when `path` is a file of nsfs (a namespace, e.g. a bind mount made by `ip netns add`),
/// 0 when it is on another filesystem, -1 with errno set when statfs fails.
int pp_is_namespace_file(const char *path);
#endif
