#!/usr/bin/env bash
# Fuzzes SockDiag's pure wire layer with libFuzzer + AddressSanitizer.
#
#   Fuzz/run.sh [seconds]     (default 60)
#
# Compiles SocketModel and Sources/SockDiag/Wire/*.swift with the harness (no libmnl, no
# SwiftPM), seeds a corpus from Tests/SockDiagTests/Fixtures (whole recordings, and their
# first datagrams behind each selector byte), and runs for the given time. New corpus entries
# go to Fuzz/corpus-run/, crashes to Fuzz/work/ (both ignored by git).
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/Fuzz/work"
corpus="$root/Fuzz/corpus-run"
seeds="$work/seeds"
mkdir -p "$work" "$corpus" "$seeds"
export SWIFT_BACKTRACE=enable=no

echo "fuzz: compiling (SocketModel, then the wire layer and the harness)"
# -O for speed; -assert-config Debug keeps the standard library's debug bounds checks.
flags=(-parse-as-library -O -assert-config Debug -sanitize=fuzzer,address)
swiftc "${flags[@]}" -wmo \
  -module-name SocketModel -emit-module -emit-module-path "$work/SocketModel.swiftmodule" \
  -c -o "$work/SocketModel.o" "$root"/Sources/SocketModel/*.swift 2> "$work/compile.log" || { cat "$work/compile.log" >&2; exit 1; }
swiftc "${flags[@]}" -I "$work" \
  -module-name SockDiagFuzz -o "$work/sockdiag-fuzz" \
  "$root"/Sources/SockDiag/Wire/*.swift "$root/Fuzz/SockDiagFuzz.swift" "$work/SocketModel.o" \
  2>> "$work/compile.log" || { grep -v 'Cannot export local symbol' "$work/compile.log" >&2; exit 1; }

# Seeds: each recording whole; its first datagram as a dump (0), a lookup reply (1) and, without
# the netlink header, as an inet_diag payload (2); a few filter descriptions (3).
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

echo "fuzz: running for ${seconds}s"
cd "$work"
./sockdiag-fuzz "$corpus" "$seeds" -max_len=65536 -max_total_time="$seconds" -print_final_stats=1 -timeout=10 2>&1 \
  | tee "$work/last-run.log" | grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|stat::|ERROR|SUMMARY|Test unit written' || true
if grep -q 'ERROR: \|Test unit written' "$work/last-run.log"; then
  echo "fuzz: FAILED, see $work/last-run.log" >&2
  exit 1
fi
echo "fuzz: no crash in ${seconds}s"
