#include "CBuildStamp.h"

// scripts/package-deb writes portpressure_stamp.h (the values as #defines) into a folder of its
// scratch path and adds that folder with -Xcc -I. The flag is the same on every packaging build,
// so a new revision recompiles this file alone; a build without the flag finds no header.
#if __has_include(<portpressure_stamp.h>)
#include <portpressure_stamp.h>
#endif

#ifndef PORTPRESSURE_STAMP_REVISION
#define PORTPRESSURE_STAMP_REVISION "unknown"
#endif
#ifndef PORTPRESSURE_STAMP_BRANCH
#define PORTPRESSURE_STAMP_BRANCH "unknown"
#endif
#ifndef PORTPRESSURE_STAMP_BUILD_DATE
#define PORTPRESSURE_STAMP_BUILD_DATE "unknown"
#endif
#ifndef PORTPRESSURE_STAMP_SWIFT_VERSION
#define PORTPRESSURE_STAMP_SWIFT_VERSION "unknown"
#endif

const char *pp_stamp_revision(void) { return PORTPRESSURE_STAMP_REVISION; }
const char *pp_stamp_branch(void) { return PORTPRESSURE_STAMP_BRANCH; }
const char *pp_stamp_build_date(void) { return PORTPRESSURE_STAMP_BUILD_DATE; }
const char *pp_stamp_swift_version(void) { return PORTPRESSURE_STAMP_SWIFT_VERSION; }
