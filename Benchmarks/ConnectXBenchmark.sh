#!/usr/bin/env bash
# UDP ConnectX latency against plain connect(). The benchmark makes its own private network
# namespace (root needed) and never touches the host's port range.
# Arguments go to the benchmark: [--iterations N] [--ranges 1000,28000] [--occupancies 0,50,90]
# It also times TCP with a source address, and `portpressure connect` per connection.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ConnectXBenchmark
swift build -c release --product portpressure
bin=$(swift build -c release --show-bin-path)
echo "$(uname -r); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/ConnectXBenchmark" --portpressure "$bin/portpressure" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
