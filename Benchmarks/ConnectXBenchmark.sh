#!/usr/bin/env bash
# UDP ConnectX latency against plain connect(). The benchmark makes its own private network
# namespace (root needed) and never touches the host's port range.
# Arguments go to the benchmark: [--iterations N] [--ranges 1000,28000] [--occupancies 0,50,90]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ConnectXBenchmark
exec "$(swift build -c release --show-bin-path)/ConnectXBenchmark" "$@"
