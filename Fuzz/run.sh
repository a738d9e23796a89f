#!/usr/bin/env bash
# Fuzzes the pure parsers with libFuzzer + AddressSanitizer.
#
#   Fuzz/run.sh [target] [seconds]       a campaign: one target (default: all) for the given
#                                        time (default 60 s each)
#   Fuzz/run.sh --runs N [target]        a fixed number of executions per target
#   Fuzz/run.sh --smoke                  what .ci/run does: every target, a short fixed number
#                                        of executions on the committed corpus, fails on a crash
#
# Targets (each compiled from its sources with its harness, without SwiftPM; probes links libyaml):
#   sockdiag  SockDiag's wire layer: netlink dumps and lookups, inet_diag messages, filter
#             bytecode, and whole recordings through the replay reader (Fuzz/SockDiagFuzz.swift)
#   http      the request path: the gate's head check, Accept-Encoding, the exposition format
#             and collect[] selection (Fuzz/HTTPFuzz.swift)
#   probes    the probes file parser and the YAML composer under it, on the system's libyaml
#             (Fuzz/ProbesFuzz.swift)
#
# Corpus: sockdiag is seeded from the recordings in Tests/SockDiagTests/Fixtures (whole, and
# their first datagram behind each selector byte), http and probes from Fuzz/corpus/<target>. New entries go to
# Fuzz/corpus-run/<target>/, crashes and logs to Fuzz/work/ (both ignored by git).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/Fuzz/work"
mode=time seconds=60 runs=0 targets=()
while (($#)); do
  case "$1" in
    --smoke) mode=runs; runs=-1; shift ;;
    --runs) mode=runs; runs="$2"; shift 2 ;;
    sockdiag|http|probes) targets+=("$1"); shift ;;
    [0-9]*) seconds="$1"; shift ;;
    *) echo "usage: Fuzz/run.sh [--smoke | --runs N] [sockdiag|http|probes] [seconds]" >&2; exit 2 ;;
  esac
done
((${#targets[@]})) || targets=(sockdiag http probes)
mkdir -p "$work"
export SWIFT_BACKTRACE=enable=no
# -O for speed; -assert-config Debug keeps the standard library's debug bounds checks.
flags=(-parse-as-library -O -assert-config Debug -sanitize=fuzzer,address)

compile_socketmodel() {
  swiftc "${flags[@]}" -wmo \
    -module-name SocketModel -emit-module -emit-module-path "$work/SocketModel.swiftmodule" \
    -c -o "$work/SocketModel.o" "$root"/Sources/SocketModel/*.swift 2> "$work/compile.log" || { cat "$work/compile.log" >&2; exit 1; }
}

compile_sockdiag() {
  compile_socketmodel
  swiftc "${flags[@]}" -I "$work" \
    -module-name SockDiagFuzz -o "$work/sockdiag-fuzz" \
    "$root"/Sources/SockDiag/Wire/*.swift "$root/Fuzz/SockDiagFuzz.swift" "$work/SocketModel.o" \
    2>> "$work/compile.log" || { grep -v 'Cannot export local symbol' "$work/compile.log" >&2; exit 1; }
}

seed_sockdiag() {
  # Each recording whole; its first datagram as a dump (0), a lookup reply (1) and, without
  # the netlink header, as an inet_diag payload (2); a few filter descriptions (3).
  local seeds="$work/seeds-sockdiag"
  rm -rf "$seeds"; mkdir -p "$seeds"
  for fixture in "$root"/Tests/SockDiagTests/Fixtures/*.ppsd; do
    name="$(basename "$fixture" .ppsd)"
    cp "$fixture" "$seeds/$name.ppsd"
    # File header (8) + dump frame (8) + datagram frame header (8): the datagram starts at 24.
    length="$(od -An -tu4 -j20 -N4 "$fixture" | tr -d ' ')"
    tail -c +25 "$fixture" | head -c "$length" > "$work/datagram"
    { printf '\x00'; cat "$work/datagram"; } > "$seeds/$name-dump"
    { printf '\x01'; head -c 200 "$work/datagram"; } > "$seeds/$name-lookup"
    { printf '\x02'; tail -c +17 "$work/datagram" | head -c 120; } > "$seeds/$name-message"
    { printf '\x04\x40'; head -c 256 "$work/datagram"; } > "$seeds/$name-split"
  done
  printf '\x03\x04\x03\x00\x7f\x00\x00\x01\x02\x1f\x90\x05\x02\x03\x00\x35' > "$seeds/filter-and"
  printf '\x03\xf5\x02\x01\x01' > "$seeds/filter-wide"
  echo "$seeds"
}

compile_http() {
  swiftc "${flags[@]}" -module-name HTTPFuzz -o "$work/http-fuzz" \
    "$root/Sources/HTTPServer/RequestHead.swift" "$root/Sources/HTTPServer/HTTPMessage.swift" \
    "$root/Sources/HTTPServer/ContentCoding.swift" "$root/Sources/Metrics/ExpositionFormat.swift" \
    "$root/Sources/Exporter/CollectorSelection.swift" "$root/Fuzz/HTTPFuzz.swift" \
    2> "$work/compile.log" || { grep -v 'Cannot export local symbol' "$work/compile.log" >&2; exit 1; }
}

seed_http() { echo "$root/Fuzz/corpus/http"; }

compile_probes() {
  # ConfigFile on Debian's libyaml (scripts/install-deps installs libyaml-dev): the composer and
  # the probes parser are instrumented; libyaml itself is the system's.
  local cyaml="$root/Sources/CYAML"
  compile_socketmodel
  swiftc "${flags[@]}" -wmo -Xcc -fmodule-map-file="$cyaml/module.modulemap" -I "$cyaml" \
    -module-name ConfigFile -emit-module -emit-module-path "$work/ConfigFile.swiftmodule" \
    -c -o "$work/ConfigFile.o" "$root/Sources/ConfigFile/ConfigFile.swift" "$root/Sources/ConfigFile/YAMLNode.swift" \
    2>> "$work/compile.log" || { cat "$work/compile.log" >&2; exit 1; }
  swiftc "${flags[@]}" -wmo -I "$work" -module-name ConnectX -emit-module -emit-module-path "$work/ConnectX.swiftmodule" \
    -c -o "$work/ConnectX.o" "$root/Sources/ConnectX/Endpoint.swift" "$root/Fuzz/ProbesFuzzConnectX.swift" \
    2>> "$work/compile.log" || { cat "$work/compile.log" >&2; exit 1; }
  swiftc "${flags[@]}" -I "$work" -Xcc -fmodule-map-file="$cyaml/module.modulemap" -I "$cyaml" \
    -module-name ProbesFuzz -o "$work/probes-fuzz" \
    "$root"/Sources/Probes/{ProbeConfig,ProbeConfigError,ProbeDuration,ProbeTarget,ProbeDefinition}.swift "$root/Fuzz/ProbesFuzz.swift" \
    "$work/SocketModel.o" "$work/ConfigFile.o" "$work/ConnectX.o" -lyaml \
    2>> "$work/compile.log" || { grep -v 'Cannot export local symbol' "$work/compile.log" >&2; exit 1; }
}

seed_probes() { echo "$root/Fuzz/corpus/probes"; }

failed=0
for target in "${targets[@]}"; do
  echo "fuzz $target: compiling"
  "compile_$target"
  seeds="$("seed_$target")"
  corpus="$root/Fuzz/corpus-run/$target"
  mkdir -p "$corpus"
  case "$target" in
    sockdiag) max_len=65536 smoke_runs=10000 ;;
    http) max_len=20000 smoke_runs=50000 ;;
    probes) max_len=8192 smoke_runs=5000 ;;
  esac
  if [[ $mode == runs ]]; then
    n=$runs; ((n >= 0)) || n=$smoke_runs
    # The smoke run reads the committed seeds only, so it does the same work on every clone.
    [[ $runs -lt 0 ]] && corpus="$(mktemp -d)"
    limit=(-runs="$n" -seed=1)
    echo "fuzz $target: $n executions"
  else
    limit=(-max_total_time="$seconds")
    echo "fuzz $target: running for ${seconds}s"
  fi
  log="$work/last-run-$target.log"
  (cd "$work" && "./$target-fuzz" "$corpus" "$seeds" -max_len="$max_len" "${limit[@]}" -print_final_stats=1 -timeout=10 > "$log" 2>&1) || true
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Test unit written' "$log" || true
  if grep -q 'ERROR: \|Test unit written\|deadly signal' "$log" || ! grep -q 'Done [0-9]* runs\|DONE' "$log"; then
    echo "fuzz $target: FAILED, see $log" >&2
    failed=1
  else
    echo "fuzz $target: no crash"
  fi
  [[ $runs -lt 0 ]] && rm -rf "$corpus"
done
exit "$failed"
