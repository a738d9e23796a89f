#ifndef PORTPRESSURE_CBUILDSTAMP_H
#define PORTPRESSURE_CBUILDSTAMP_H
// Facts only the build knows (revision, branch, date, compiler), stamped by scripts/package-deb
// as C definitions (PORTPRESSURE_STAMP_<NAME>, see stamp.c): SwiftPM has no build-time stamping
// of Swift code, and C definitions can come from the build's flags without editing a file.
// A plain `swift build` has none, and each function answers "unknown": never a guess.
const char *pp_stamp_revision(void);
const char *pp_stamp_branch(void);
const char *pp_stamp_build_date(void);
const char *pp_stamp_swift_version(void);
#endif
