#ifndef PORTPRESSURE_CMICROHTTPD_SHIM_H
#define PORTPRESSURE_CMICROHTTPD_SHIM_H
// libmicrohttpd. Only the HTTPServer module imports this.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>
#endif
