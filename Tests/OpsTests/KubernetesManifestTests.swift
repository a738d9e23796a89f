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
            #expect(check.status == 1 && check.stdout.split(separator: "\n").contains { $0.hasPrefix("+ ") && $0.hasSuffix("> 0.9") },
                    "\(check.stdout)\(check.stderr)")

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
            #expect(get?["port"] as? String == "metrics", "\(probe)")
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

        // One namespace: the kustomization's, the Namespace's name, and every manifest's.
        let kustomization = try Self.manifest("kustomization.yaml")
        let namespace = try #require(kustomization["namespace"] as? String)
        let namespaceObject = try Self.manifest("namespace.yaml")
        #expect((namespaceObject["metadata"] as? [String: Any])?["name"] as? String == namespace)
        let namespaces = Set(try ["daemonset.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml"].map {
            (try Self.manifest($0)["metadata"] as? [String: Any])?["namespace"] as? String ?? ""
        })
        #expect(namespaces == [namespace])
    }

    @Test("kustomization.yaml lists every manifest, the dashboards and the probes ConfigMap")
    func kustomizationListsEverything() throws {
        let kustomization = try Self.manifest("kustomization.yaml")
        let listed = Set(kustomization["resources"] as? [String] ?? [])
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: Repository.path("deploy/kubernetes"))
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" })
        #expect(listed == files.union(["../../dashboards"]))
        let generators = try #require(kustomization["configMapGenerator"] as? [[String: Any]])
        #expect(generators.count == 1 && generators[0]["name"] as? String == "portpressure-probes")
        #expect(generators[0]["files"] as? [String] == ["probes.yml"])
    }

    @Test("The namespace admits hostNetwork pods: Pod Security privileged")
    func namespaceIsPrivileged() throws {
        let labels = try #require((try Self.manifest("namespace.yaml")["metadata"] as? [String: Any])?["labels"] as? [String: String])
        for mode in ["enforce", "warn", "audit"] {
            #expect(labels["pod-security.kubernetes.io/\(mode)"] == "privileged", "\(mode)")
        }
    }

    @Test("DaemonSet: node-critical priority, /-/ready for readiness, the probes ConfigMap mounted where --config.file points")
    func daemonSetWiring() throws {
        let template = try #require((try Self.manifest("daemonset.yaml")["spec"] as? [String: Any])?["template"] as? [String: Any])
        let pod = try #require(template["spec"] as? [String: Any])
        #expect(pod["priorityClassName"] as? String == "system-node-critical")
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(((container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/-/ready")
        #expect(((container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/-/healthy")

        let args = try #require(container["args"] as? [String])
        let configFile = try #require(args.first { $0.hasPrefix("--config.file=") }?.dropFirst("--config.file=".count))
        let mount = try #require((container["volumeMounts"] as? [[String: Any]])?.first {
            configFile.hasPrefix(($0["mountPath"] as? String ?? "?") + "/")
        })
        let volume = try #require((pod["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        #expect((volume["configMap"] as? [String: Any])?["name"] as? String == "portpressure-probes")
        #expect(configFile.hasSuffix("/probes.yml"))
    }

    @Test("The probes ConfigMap's file is a valid probes file")
    func probesFileIsValid() throws {
        let result = try ProcessResult.run([try EndToEndTests.portpressureBinary(), "probe", "--config.file",
                                            Repository.path("deploy/kubernetes/probes.yml")])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test("ServiceMonitor: instance is the node name")
    func serviceMonitorNamesTheNode() throws {
        let endpoint = try #require(((try Self.manifest("servicemonitor.yaml")["spec"] as? [String: Any])?["endpoints"] as? [[String: Any]])?.first)
        let relabelings = try #require(endpoint["relabelings"] as? [[String: Any]])
        #expect(relabelings.contains {
            $0["sourceLabels"] as? [String] == ["__meta_kubernetes_pod_node_name"] && $0["targetLabel"] as? String == "instance"
                && ($0["action"] == nil || $0["action"] as? String == "replace")
        })
    }

    @Test("The dashboards ship as one ConfigMap with the Grafana sidecar label")
    func dashboardsConfigMap() throws {
        let object = try Yams.load(yaml: Repository.text("dashboards/kustomization.yaml"))
        let kustomization = try #require(object as? [String: Any])
        let options = try #require(kustomization["generatorOptions"] as? [String: Any])
        #expect((options["labels"] as? [String: String])?["grafana_dashboard"] == "1")
        #expect(options["disableNameSuffixHash"] as? Bool == true, "one stable ConfigMap, no stale copies")
        let generator = try #require((kustomization["configMapGenerator"] as? [[String: Any]])?.first)
        #expect(Set(generator["files"] as? [String] ?? []) == Set(Repository.dashboards.map { String($0.dropFirst("dashboards/".count)) }))
    }

    @Test("The kube-prometheus-stack overlay adds `release` to the ServiceMonitor and the PrometheusRule")
    func releaseLabelOverlay() throws {
        let object = try Yams.load(yaml: Repository.text("deploy/kube-prometheus-stack/kustomization.yaml"))
        let overlay = try #require(object as? [String: Any])
        #expect(overlay["resources"] as? [String] == ["../kubernetes"])
        let patch = try #require((overlay["patches"] as? [[String: Any]])?.first)
        let target = try #require(patch["target"] as? [String: String])
        #expect(target["group"] == "monitoring.coreos.com")
        // kustomize matches the target's kind as a regular expression.
        let kinds = try Regex("^(?:" + (target["kind"] ?? "") + ")$")
        for kind in ["ServiceMonitor", "PrometheusRule"] { #expect(kind.wholeMatch(of: kinds) != nil) }
        #expect("DaemonSet".wholeMatch(of: kinds) == nil)
        let operations = try #require(try Yams.load(yaml: patch["patch"] as? String ?? "") as? [[String: Any]])
        #expect(operations.count == 1)
        #expect(operations[0]["op"] as? String == "add" && operations[0]["path"] as? String == "/metadata/labels/release")
        // Both targets have labels to add to, and the Operator's objects carry the same group.
        for file in ["servicemonitor.yaml", "prometheusrule.yaml"] {
            let manifest = try Self.manifest(file)
            #expect((manifest["apiVersion"] as? String)?.hasPrefix("monitoring.coreos.com/") == true)
            #expect((manifest["metadata"] as? [String: Any])?["labels"] is [String: String])
        }
    }
}
