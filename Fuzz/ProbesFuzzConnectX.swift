// The two ConnectX names the probes parser uses besides ConnectX.Endpoint (compiled from
// Sources/ConnectX/Endpoint.swift): the real ConnectX module needs SockDiag and libmnl, which
// the fuzz build leaves out. Keep `Method` as in Sources/ConnectX/ConnectOptions.swift (a case
// missing here makes the fuzz build fail, not pass).
public enum ConnectX {}

public struct ConnectOptions {
    public enum Method: String, Sendable, Hashable, CaseIterable {
        case connectx
        case plain
    }
}
