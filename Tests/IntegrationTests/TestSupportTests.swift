import Testing
import TestSupport
import Foundation

@Test func namespaceThreadIsIsolated() throws {
    let ns = try NetworkNamespace()
    try ns.setPortRange(low: 10, high: 21, reserved: "11,14-18,19")
    #expect(try ns.readSysctl("net.ipv4.ip_local_port_range") == "10\t21")
    let host = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
    #expect(!host.hasPrefix("10\t"))
    let links = try ns.spawn(["ip", "-o", "link"])
    #expect(links.stdout.contains("lo:") && links.stdout.contains("UP"))
    let lab = try ns.launch([BuiltProducts.path("socketlab"), "--make", "udp:3:127.0.0.1:5353"])
    defer { lab.stop() }
    _ = try lab.waitForLine(startingWith: "READY")
    let udp = try ns.spawn(["ss", "-uanH"])
    #expect(udp.stdout.split(separator: "\n").count == 3, "\(udp.stdout)")
}

/// A child must start with no blocked signals (the test runner blocks some on its threads),
/// or `RunningProcess.stop()` could never stop it.
@Test func childrenStartWithAnEmptySignalMask() throws {
    let ns = try NetworkNamespace()
    let status = try ns.spawn(["sh", "-c", "grep SigBlk /proc/self/status"])
    #expect(status.stdout.contains("0000000000000000"), "\(status.stdout)")
    let sleeper = try ns.launch(["sleep", "30"])
    let start = Date()
    #expect(sleeper.stop() == 128 + SIGTERM)
    #expect(Date().timeIntervalSince(start) < 5)
}
