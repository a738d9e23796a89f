import Foundation
import Testing
import TestSupport
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

    @Test("The PrometheusRule is alerts.yml: the generator has nothing to change")
    func prometheusRuleIsUpToDate() throws {
        let result = try Tool.run([Repository.path("scripts/ops-generate-prometheusrule"), "--check"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
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
        let edited = try Repository.text(Repository.prometheusRule).replacingOccurrences(of: "> 0.90", with: "> 0.95")
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
