import Testing

/// The end-to-end tests: built binaries against real sockets in private network namespaces.
/// Serialized (nested suites included): each builds thousands of sockets or runs a server,
/// and the machine has few cores; running them one at a time keeps their time bounds honest.
@Suite(.serialized) struct EndToEnd {}
