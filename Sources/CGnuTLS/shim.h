#ifndef PORTPRESSURE_CGNUTLS_SHIM_H
#define PORTPRESSURE_CGNUTLS_SHIM_H
// GnuTLS, the TLS library libmicrohttpd is built with: per-connection credentials (certificate
// rotation) and client-certificate verification. Only the HTTPServer module imports this.
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#endif
