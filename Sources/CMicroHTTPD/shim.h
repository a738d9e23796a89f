#ifndef PORTPRESSURE_CMICROHTTPD_SHIM_H
#define PORTPRESSURE_CMICROHTTPD_SHIM_H
// libmicrohttpd. Only the HTTPServer module imports this.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>

// MHD_get_connection_info is variadic, which Swift cannot call: the GnuTLS session
// (a gnutls_session_t) of a TLS connection, or NULL.
static inline void *pp_connection_tls_session(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info == NULL ? NULL : info->tls_session;
}

// The HTTP gate in front of the daemons (HTTPGate.swift) waits on epoll and wakes on an
// eventfd; Glibc's Swift module leaves both headers out.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
