import Testing
import TestSupport
import Glibc

@Test func namespaceThreadIsIsolated() throws {
    let ns = try NetworkNamespace()
    try ns.setPortRange(low: 10, high: 21, reserved: "11,14-18,19")
    #expect(try ns.readSysctl("net.ipv4.ip_local_port_range") == "10\t21")
    let host = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
    #expect(!host.hasPrefix("10\t"))
    let r = try ns.spawn(["ip", "-o", "link"])
    print(r.stdout)
    #expect(r.stdout.contains("lo:") && r.stdout.contains("UP"))
    #expect(!r.stdout.contains("eth"))
}
