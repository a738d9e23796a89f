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
