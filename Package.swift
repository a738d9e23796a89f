// swift-tools-version:6.0
//
// portpressure: a Prometheus exporter and port-pressure monitor for Linux.
//
// Layering (each arrow is "imports"; data flows kernel -> records -> snapshot -> views;
// docs/architecture.md draws it and follows one socket record through):
//   SystemCalls -> CSystemCalls, swift-system   the one EINTR retry, whole-file reads, directory listing, setns
//   SocketModel                               pure values: addresses, the endpoint grammar, ranges, records
//   SockDiag -> CMnl, SocketModel, SystemCalls   netlink SOCK_DIAG: dumps, lookups, recordings
//   PortPressure -> SocketModel               one-pass analysis and report views (no C, no I/O)
//   Metrics                                   Prometheus exposition writer and process_* parsing (pure: no C, no I/O)
//   ConnectX -> SockDiag, SystemCalls         userspace connectx() for TCP and UDP
//   HTTPServer -> CMicroHTTPD, CZlib, CGnuTLS, CCrypt, SocketModel, SystemCalls   embedded HTTP server, TLS, basic auth
//   ConfigFile -> CYAML, SystemCalls         reading a YAML configuration file (probes, web), once
//   WebConfig -> HTTPServer, ConfigFile, swift-system   --web.config.file (exporter-toolkit format)
//   Probes -> ConnectX, NetworkNamespaces, SockDiag, Metrics, ConfigFile, SystemCalls   active probes (in any namespace) and their YAML config
//   Snapshotting -> PortPressure, SockDiag, NetworkNamespaces   the snapshot pipeline (live kernel or recording): report and serve
//   NetworkNamespaces -> SockDiag, SystemCalls   every network namespace: discovery, per-namespace handles, identity
//   Exporter -> Snapshotting, Metrics, Probes, HTTPServer, SystemCalls   collectors (own metrics included), scrapes, routes
//   portpressure (executable)                 argument parsing and wiring only
//   socketlab, Benchmarks/*                   socket populations and speed figures for tests
import PackageDescription

let package = Package(
    name: "portpressure",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "portpressure", targets: ["portpressure"]),
        .library(name: "ConnectX", targets: ["ConnectX"]),
        .library(name: "SockDiag", targets: ["SockDiag"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries from Debian, each imported by exactly one Swift module.
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"])]),
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // setns() and statfs(), which Swift's Glibc module does not declare; for SystemCalls only.
        .target(name: "CSystemCalls"),
        .target(name: "SystemCalls", dependencies: ["CSystemCalls", .product(name: "SystemPackage", package: "swift-system")]),
        // Build facts (revision, branch, date) stamped by scripts/package-deb; "unknown" otherwise.
        .target(name: "CBuildStamp"),
        .target(name: "SocketModel"),
        .target(
            name: "SockDiag",
            dependencies: ["CMnl", "SocketModel", "SystemCalls", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "PortPressure", dependencies: ["SocketModel"]),
        .target(name: "Metrics"),
        .target(
            name: "ConnectX",
            dependencies: ["SockDiag", "SocketModel", "SystemCalls", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "NetworkNamespaces",
            dependencies: ["SockDiag", "SocketModel", "SystemCalls", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "HTTPServer",
            dependencies: ["CMicroHTTPD", "CZlib", "CGnuTLS", "CCrypt", "SocketModel", "SystemCalls", .product(name: "Logging", package: "swift-log")]
        ),
        // --web.config.file: the exporter-toolkit format, parsed and validated (pure), and made
        // into HTTPServer's security settings.
        .target(
            name: "WebConfig",
            dependencies: ["HTTPServer", "ConfigFile", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // Reading a YAML configuration file (probes, web), once.
        .target(name: "ConfigFile", dependencies: ["CYAML", "SystemCalls"]),
        .target(
            name: "Probes",
            dependencies: [
                "ConnectX", "NetworkNamespaces", "SockDiag", "SocketModel", "Metrics", "SystemCalls", "ConfigFile",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "Snapshotting", dependencies: ["PortPressure", "SockDiag", "SocketModel", "NetworkNamespaces"]),
        .target(
            name: "Exporter",
            dependencies: [
                "Snapshotting", "NetworkNamespaces", "SockDiag", "SocketModel", "PortPressure", "Metrics", "Probes", "HTTPServer", "SystemCalls",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "portpressure",
            dependencies: [
                "Exporter", "Snapshotting", "NetworkNamespaces", "PortPressure", "SockDiag", "SocketModel", "ConnectX", "Probes", "WebConfig", "HTTPServer", "SystemCalls", "CBuildStamp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Creates real socket populations (in a private network namespace) for tests and benchmarks.
        .executableTarget(
            name: "socketlab",
            dependencies: ["SocketModel", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // scripts/bench-portpressure's driver: times report, /metrics scrapes, ss and the
        // count-only SOCK_DIAG floor side by side inside a private network namespace.
        .executableTarget(
            name: "portpressure-bench",
            dependencies: ["SockDiag", "SocketModel", "SystemCalls", .product(name: "SystemPackage", package: "swift-system")],
            path: "Benchmarks/PortPressureBench"
        ),

        // UDP ConnectX latency against plain connect(), measured in a private network namespace
        // it makes itself (TestSupport.NetworkNamespace); Benchmarks/ConnectXBenchmark.sh runs it.
        .executableTarget(
            name: "ConnectXBenchmark",
            dependencies: ["ConnectX", "SockDiag", "SocketModel", "SystemCalls", "TestSupport"],
            path: "Benchmarks/ConnectXBenchmark"
        ),

        // What discovering every network namespace costs per scrape, with 2,000 processes and 50
        // namespaces it starts itself; Benchmarks/NamespaceDiscoveryBenchmark.sh runs it.
        .executableTarget(
            name: "NamespaceDiscoveryBenchmark",
            dependencies: ["NetworkNamespaces"],
            path: "Benchmarks/NamespaceDiscoveryBenchmark"
        ),

        // Test helpers, each once: network-namespace thread, process runner, test sockets, HTTP
        // client, exposition parser, polling with a deadline, seeded generator, fixture paths.
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .target(name: "TestSupport", dependencies: ["CTestSupport", "SocketModel"], path: "Tests/TestSupport"),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
        .testTarget(name: "SocketModelTests", dependencies: ["SocketModel"]),
        .testTarget(
            name: "SockDiagTests",
            // Snapshotting and PortPressure: recordings replayed through the whole snapshot pipeline.
            dependencies: ["SockDiag", "SocketModel", "SystemCalls", "TestSupport", "Snapshotting", "PortPressure"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "PortPressureTests", dependencies: ["PortPressure", "SocketModel", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
        // Fixture sockets and endpoint literals for the tests of ConnectX and of the probes built on it.
        .target(name: "ConnectXTestSupport", dependencies: ["ConnectX", "SocketModel", "TestSupport"], path: "Tests/ConnectXTestSupport"),
        .testTarget(name: "ConnectXTests", dependencies: ["ConnectX", "SockDiag", "SocketModel", "TestSupport", "ConnectXTestSupport"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "TestSupport"]),
        .testTarget(name: "ConfigFileTests", dependencies: ["ConfigFile"]),
        .testTarget(name: "WebConfigTests", dependencies: ["WebConfig", "HTTPServer", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "NetworkNamespacesTests",
            dependencies: ["NetworkNamespaces", "SockDiag", "SocketModel", "TestSupport",
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(
            name: "ProbesTests",
            dependencies: ["Probes", "ConnectX", "SockDiag", "SocketModel", "Metrics", "TestSupport", "ConnectXTestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ExporterTests",
            dependencies: ["Exporter", "Snapshotting", "PortPressure", "SockDiag", "SocketModel", "Metrics", "TestSupport"],
            resources: [.copy("Golden")]
        ),
        // End to end: the built binaries against real sockets in private network namespaces.
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", "SocketModel"]),
        // Operations kit: alert rules, dashboards, systemd unit and Kubernetes manifests checked with
        // promtool/systemd-analyze, and end to end against a real Prometheus. Reads the repository's
        // files through #filePath, so it needs no resources.
        .testTarget(
            name: "OpsTests",
            dependencies: ["TestSupport", "SocketModel", .product(name: "Yams", package: "Yams")]
        ),
        // The Debian package of scripts/package-deb: built (release, static Swift runtime) once per
        // run, checked with lintian, installed, run, verified and purged on this machine.
        .testTarget(name: "PackagingTests", dependencies: ["TestSupport"]),
    ]
)
