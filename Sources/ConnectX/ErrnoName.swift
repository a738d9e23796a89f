import SystemPackage

/// The C names of errnos (`Errno.description` is the `strerror` text, not the name).
enum ErrnoName {
    /// `EADDRNOTAVAIL` for `.addressNotAvailable`; `errno 123` when not in the table.
    static func of(_ errno: Errno) -> String {
        names[errno.rawValue] ?? "errno \(errno.rawValue)"
    }

    /// Linux numbering (asm-generic/errno-base.h, errno.h), the ones a socket call can return.
    static let names: [CInt: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN",
        12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV",
        22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 32: "EPIPE", 71: "EPROTO",
        74: "EBADMSG", 75: "EOVERFLOW", 88: "ENOTSOCK", 89: "EDESTADDRREQ", 90: "EMSGSIZE",
        91: "EPROTOTYPE", 92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT", 94: "ESOCKTNOSUPPORT",
        95: "EOPNOTSUPP", 96: "EPFNOSUPPORT", 97: "EAFNOSUPPORT", 98: "EADDRINUSE",
        99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH", 102: "ENETRESET",
        103: "ECONNABORTED", 104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN",
        107: "ENOTCONN", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 112: "EHOSTDOWN",
        113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS", 116: "ESTALE",
    ]
}
