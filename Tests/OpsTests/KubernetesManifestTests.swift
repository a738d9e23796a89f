import Foundation
import Testing
import Yams

/// PrometheusRule as far as the agreement check needs it.
struct PrometheusRule: Codable {
    struct Metadata: Codable { var name: String; var namespace: String? }
    var apiVersion: String
    var kind: String
    var metadata: Metadata
    var spec: RuleFile
}

@Suite("Kubernetes manifests: deploy/kubernetes")
struct KubernetesManifestTests {
    static func manifest(_ name: String) throws -> [String: Any] {
        let object = try Yams.load(yaml: Repository.text("deploy/kubernetes/\(name)"))
        return try #require(object as? [String: Any], "\(name) is one YAML mapping")
    }

    @Test("alerts.yml and the PrometheusRule are what the generator writes from alerts.config.json")
    func generatedFilesAreUpToDate() throws {
        let result = try Tool.run(["python3", Repository.path(Repository.alertsGenerator), "--check"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// A scratch copy of the generator, its parameters and its outputs, laid out as in the repository.
    func withGeneratorCopy<T>(_ body: (URL) throws -> T) throws -> T {
        try withTemporaryDirectory("pp-generator") { root in
            for file in [Repository.alertsGenerator, Repository.alertsConfig, Repository.alertRules, Repository.prometheusRule] {
                let target = root.appendingPathComponent(file)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Repository.text(file).write(to: target, atomically: true, encoding: .utf8)
            }
            return try body(root)
        }
    }

    @Test("The check fails on a hand edit; a parameter reaches both files; a bad parameter is refused")
    func generatorCheckAndParameters() throws {
        try withGeneratorCopy { root in
            let generator = root.appendingPathComponent(Repository.alertsGenerator).path
            let rules = root.appendingPathComponent(Repository.alertRules)
            let config = root.appendingPathComponent(Repository.alertsConfig)
            let original = try String(contentsOf: rules, encoding: .utf8)
            try original.replacingOccurrences(of: "> 0.9\n", with: "> 0.95\n").write(to: rules, atomically: true, encoding: .utf8)
            let check = try Tool.run(["python3", generator, "--check"])
            #expect(check.status == 1 && check.stdout.contains("+          > 0.9"), "\(check.stdout)\(check.stderr)")

            let parameters = try String(contentsOf: config, encoding: .utf8)
            try parameters.replacingOccurrences(of: #""selector": "job=\"portpressure\"""#, with: #""selector": "job=\"pp\", cluster=\"eu\"""#)
                .write(to: config, atomically: true, encoding: .utf8)
            #expect(try Tool.run(["python3", generator]).status == 0)
            for file in [Repository.alertRules, Repository.prometheusRule] {
                let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
                #expect(text.contains(#"up{job="pp", cluster="eu"} == 0"#) && !text.contains(#"job="portpressure""#), "\(file)")
            }

            try parameters.replacingOccurrences(of: #""threshold": 0.9,"#, with: #""threshold": 90,"#)
                .write(to: config, atomically: true, encoding: .utf8)
            let refused = try Tool.run(["python3", generator])
            #expect(refused.status == 2 && refused.stderr.contains("threshold is a ratio"), "\(refused.stderr)")
        }
    }

    @Test("The PrometheusRule's groups equal alerts.yml's, parsed")
    func prometheusRuleAgreesWithAlerts() throws {
        let rule = try YAMLDecoder().decode(PrometheusRule.self, from: Repository.text(Repository.prometheusRule))
        #expect(rule.apiVersion == "monitoring.coreos.com/v1")
        #expect(rule.kind == "PrometheusRule")
        #expect(rule.spec == (try RuleFile.load(Repository.alertRules)))
    }

    @Test("The agreement check notices a hand edit")
    func agreementCheckCanFail() throws {
        let edited = try Repository.text(Repository.prometheusRule).replacingOccurrences(of: "> 0.9\n", with: "> 0.95\n")
        let rule = try YAMLDecoder().decode(PrometheusRule.self, from: edited)
        #expect(rule.spec != (try RuleFile.load(Repository.alertRules)))
    }

    @Test("The PrometheusRule's spec passes promtool check rules")
    func prometheusRuleSpecIsValid() throws {
        let rule = try YAMLDecoder().decode(PrometheusRule.self, from: Repository.text(Repository.prometheusRule))
        let result = try promtoolCheckRules(rule.spec)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test("DaemonSet: host network, non-root, read-only root, no capabilities, every node")
    func daemonSetIsUnprivilegedOnEveryNode() throws {
        let daemonSet = try Self.manifest("daemonset.yaml")
        #expect(daemonSet["kind"] as? String == "DaemonSet")
        let spec = try #require(daemonSet["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        let pod = try #require(template["spec"] as? [String: Any])
        #expect(pod["hostNetwork"] as? Bool == true)
        #expect(pod["dnsPolicy"] as? String == "ClusterFirstWithHostNet")
        #expect(pod["hostPID"] as? Bool != true && pod["hostIPC"] as? Bool != true)
        #expect(pod["hostUsers"] as? Bool != false, "a private user namespace hides socket owners")
        // Every taint tolerated: one toleration with operator Exists and no key or effect.
        let tolerations = try #require(pod["tolerations"] as? [[String: Any]])
        #expect(tolerations.contains { $0["operator"] as? String == "Exists" && $0["key"] == nil && $0["effect"] == nil })

        let podSecurity = try #require(pod["securityContext"] as? [String: Any])
        #expect(podSecurity["runAsNonRoot"] as? Bool == true)
        #expect((podSecurity["runAsUser"] as? Int ?? 0) != 0)
        #expect((podSecurity["seccompProfile"] as? [String: Any])?["type"] as? String == "RuntimeDefault")

        let containers = try #require(pod["containers"] as? [[String: Any]])
        #expect(containers.count == 1)
        let container = containers[0]
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect(security["privileged"] as? Bool != true)
        let capabilities = try #require(security["capabilities"] as? [String: Any])
        #expect(capabilities["drop"] as? [String] == ["ALL"])
        #expect(capabilities["add"] == nil)

        // serve listens where the port says, and the probes ask its health endpoint.
        let args = try #require(container["args"] as? [String])
        #expect(args.first == "serve")
        let port = try #require((container["ports"] as? [[String: Any]])?.first)
        #expect(port["name"] as? String == "metrics")
        let containerPort = try #require(port["containerPort"] as? Int)
        #expect(args.contains("--web.listen-address=:\(containerPort)"))
        #expect(port["hostPort"] as? Int == containerPort, "with hostNetwork, hostPort equals containerPort")
        for probe in ["readinessProbe", "livenessProbe"] {
            let get = (container[probe] as? [String: Any])?["httpGet"] as? [String: Any]
            #expect(get?["path"] as? String == "/-/healthy", "\(probe)")
        }
        #expect(((container["resources"] as? [String: Any])?["limits"] as? [String: Any])?["memory"] != nil)

        // The selector selects the template.
        let selector = try #require((spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
        let labels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        #expect(selector.allSatisfy { labels[$0.key] == $0.value })
    }

    @Test("Service and ServiceMonitor find the DaemonSet's pods and port")
    func serviceAndMonitorFitTogether() throws {
        let daemonSet = try Self.manifest("daemonset.yaml")
        let template = ((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])
        let podLabels = try #require((template?["metadata"] as? [String: Any])?["labels"] as? [String: String])

        let service = try Self.manifest("service.yaml")
        let serviceSpec = try #require(service["spec"] as? [String: Any])
        let serviceSelector = try #require(serviceSpec["selector"] as? [String: String])
        #expect(serviceSelector.allSatisfy { podLabels[$0.key] == $0.value })
        let servicePort = try #require((serviceSpec["ports"] as? [[String: Any]])?.first)
        #expect(servicePort["targetPort"] as? String == "metrics")
        let serviceLabels = try #require((service["metadata"] as? [String: Any])?["labels"] as? [String: String])
        let serviceName = try #require((service["metadata"] as? [String: Any])?["name"] as? String)
        // The Operator names the job after the Service; alerts.yml selects job="portpressure".
        #expect(serviceName == "portpressure")
        #expect(try Repository.text(Repository.alertRules).contains(#"up{job="\#(serviceName)"}"#))

        let monitor = try Self.manifest("servicemonitor.yaml")
        #expect(monitor["kind"] as? String == "ServiceMonitor")
        let monitorSpec = try #require(monitor["spec"] as? [String: Any])
        let monitorSelector = try #require((monitorSpec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
        #expect(monitorSelector.allSatisfy { serviceLabels[$0.key] == $0.value })
        let endpoint = try #require((monitorSpec["endpoints"] as? [[String: Any]])?.first)
        #expect(endpoint["port"] as? String == servicePort["name"] as? String)

        let namespaces = Set(try ["daemonset.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml"].map {
            (try Self.manifest($0)["metadata"] as? [String: Any])?["namespace"] as? String ?? ""
        })
        #expect(namespaces == ["monitoring"])
    }

    @Test("kustomization.yaml lists every manifest")
    func kustomizationListsEverything() throws {
        let kustomization = try Self.manifest("kustomization.yaml")
        let listed = Set(kustomization["resources"] as? [String] ?? [])
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: Repository.path("deploy/kubernetes"))
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" })
        #expect(listed == files)
    }
}
