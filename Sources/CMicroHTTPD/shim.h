#ifndef PORTPRESSURE_CMICROHTTPD_SHIM_H
#define PORTPRESSURE_CMICROHTTPD_SHIM_H
// libmicrohttpd. Only the HTTPServer module imports this.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>
// The HTTP gate in front of the daemons (HTTPGate.swift) waits on epoll and wakes on an
// eventfd; Glibc's Swift module leaves both headers out.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
