#!/usr/bin/env bash
# What discovering every network namespace costs per scrape (issue 10). The benchmark starts its
# own processes and anonymous namespaces (unshare -n; root needed) and stops them at the end.
# Arguments go to the benchmark: [--processes 2000] [--namespaces 50] [--passes 200]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product NamespaceDiscoveryBenchmark
exec "$(swift build -c release --show-bin-path)/NamespaceDiscoveryBenchmark" "$@"
