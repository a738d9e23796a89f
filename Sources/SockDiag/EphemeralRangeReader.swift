import SystemCalls
import SocketModel
import SystemPackage

/// Reads the ephemeral port range of the calling thread's network namespace.
///
/// Files under `/proc/sys/net` show the namespace of the thread that opens them, so call this
/// on the thread whose namespace you mean. Read fresh each call: the range can change.
public enum EphemeralRangeReader {
    public static let portRangePath = "/proc/sys/net/ipv4/ip_local_port_range"
    public static let reservedPortsPath = "/proc/sys/net/ipv4/ip_local_reserved_ports"

    /// `net.ipv4.ip_local_port_range` minus `net.ipv4.ip_local_reserved_ports`, both read whole.
    public static func current() throws(EphemeralRangeError) -> EphemeralRange {
        try read(portRangePath: portRangePath, reservedPortsPath: reservedPortsPath)
    }

    /// The range from two files in the formats of `ip_local_port_range` and
    /// `ip_local_reserved_ports`.
    public static func read(portRangePath: String, reservedPortsPath: String) throws(EphemeralRangeError) -> EphemeralRange {
        let range = try text(portRangePath)
        let reserved = try text(reservedPortsPath)
        return try EphemeralRange.parse(portRange: range, reservedPorts: reserved)
    }

    private static func text(_ path: String) throws(EphemeralRangeError) -> String {
        do {
            return try WholeFile.text(path)
        } catch {
            throw .unreadable(path: path, reason: "\(error) (errno \(error.rawValue))")
        }
    }
}
