#ifndef PORTPRESSURE_CCRYPT_SHIM_H
#define PORTPRESSURE_CCRYPT_SHIM_H
// libcrypt (libxcrypt): crypt_r for bcrypt password hashes. Only the HTTPServer module imports this.
#include <crypt.h>
#endif
