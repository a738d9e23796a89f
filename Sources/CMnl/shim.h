#ifndef PORTPRESSURE_CMNL_SHIM_H
#define PORTPRESSURE_CMNL_SHIM_H
// libmnl and the kernel's SOCK_DIAG headers. Only the SockDiag module imports this.
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif
