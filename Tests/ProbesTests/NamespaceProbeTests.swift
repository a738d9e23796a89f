#if canImport(Glibc)
import Glibc
#endif
import ConnectX
@testable import Probes
import SocketModel
import TestSupport
import Testing

extension ProbesTests {
    /// A probe with `netns` runs inside that namespace: its sockets are made there, with that
    /// namespace's range, and see that namespace's listeners, not the caller's.
    @Suite struct NamespaceProbeTests {
        @Test func aProbeWithNetnsConnectsFromInsideTheNamedNamespace() throws {
            let named = try NamedNetworkNamespace()
            defer { named.delete() }
            try named.sysctl("net.ipv4.ip_local_port_range", "41000 41099")
            // A TCP listener and a UDP echo only inside the named namespace.
            let lab = try named.launch([BuiltProducts.path("socketlab"), "--make", "listen:1:127.0.0.1:8080"])
            defer { lab.stop() }
            _ = try lab.waitForLine(startingWith: "READY")

            // The caller (this test's own namespace thread) has no listener on 8080.
            let caller = try NetworkNamespace()
            var inside = probe("inside", .tcp, "127.0.0.1:8080")
            inside.netns = named.name
            let byPath = { () -> ProbeDefinition in var p = inside; p.netns = named.path; return p }()
            let outside = probe("outside", .tcp, "127.0.0.1:8080")
            let (a, b, c) = try caller.run { (ProbeRunner().run(inside), ProbeRunner().run(byPath), ProbeRunner().run(outside)) }
            #expect(a.succeeded, "\(a.detail)")
            #expect(b.succeeded, "\(b.detail)")
            // Ports from the named namespace's range: the socket was made inside it.
            #expect(a.local.map { (41000...41099).contains(Int($0.port)) } == true, "\(String(describing: a.local))")
            #expect(b.local.map { (41000...41099).contains(Int($0.port)) } == true)
            #expect(c.failure == .econnrefused)

            var missing = inside
            missing.netns = "pp-test-no-such-namespace"
            let d = ProbeRunner().run(missing)
            #expect(d.failure == .other && d.detail.contains("netns pp-test-no-such-namespace"), "\(d.detail)")
        }

        @Test func netnsIsAProbesFileKey() throws {
            let config = try ProbeConfig.parse(yaml: """
                probes:
                  - name: in-pod
                    protocol: tcp
                    target: 10.0.3.7:5432
                    netns: cni-1234
                  - name: here
                    protocol: udp
                    target: 127.0.0.1:53
                """)
            #expect(config.probes.map(\.netns) == ["cni-1234", nil])
        }
    }
}
