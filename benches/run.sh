#!/usr/bin/env bash
# Runs every benchmark once and writes BENCHMARKS.md at the repository root. Takes about eight
# minutes (the compile-time rows download prometheus-client, metrics and tracing on first use).
# The HTTP row needs `taskset` (util-linux) to pin the server and the load generator
# to different cores; the instruction counts need `valgrind`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-results
mkdir -p "$out"

cargo bench -p vitalsign-bench --bench peers -- --skip exemplar_observe | tee "$out/peers.txt"
# The exemplar rows in a process of their own: once a trace context has been current, every
# later observation in the process looks for one, and the other rows would pay for that.
cargo bench -p vitalsign-bench --bench peers -- exemplar_observe | tee -a "$out/peers.txt"
cargo bench -p vitalsign-bench --bench http_layer | tee "$out/http_layer.txt"
cargo bench -p vitalsign-bench --bench grpc_layer | tee "$out/grpc_layer.txt"
cargo bench -p vitalsign-bench --bench contention | tee "$out/contention.txt"

cargo build --release -q -p vitalsign-bench --bin http_load --bin report --bin churn \
  --bin instructions
target/release/churn | tee "$out/churn.txt"
bash benches/compile_time.sh | tee "$out/compile.txt"
# Instructions per operation: callgrind's total for a million operations less its total for none.
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/instructions "$1" "$2" 2>&1 |
    awk '/Collected :/ { print $NF }'
}
: > "$out/instructions.txt"
for row in $(target/release/instructions list); do
  none=$(count "$row" 0)
  million=$(count "$row" 1000000)
  echo "instructions $row $(awk -v a="$million" -v b="$none" 'BEGIN { printf "%.1f", (a - b) / 1e6 }')" |
    tee -a "$out/instructions.txt"
done
load=target/release/http_load
port=18181
: > "$out/http_load.txt"
for round in 1 2 3 4 5; do
  for variant in none noop vitalsign axum_prometheus; do
    taskset -c 1 "$load" serve "$variant" "$port" &
    server=$!
    sleep 0.5
    echo "$variant $(taskset -c 0 "$load" load "127.0.0.1:$port" 4 4)" | tee -a "$out/http_load.txt"
    kill "$server"
    wait "$server" 2>/dev/null || true
  done
done

target/release/report "$out/peers.txt" "$out/http_layer.txt" "$out/http_load.txt" \
  "$out/contention.txt" "$out/grpc_layer.txt" "$out/churn.txt" "$out/instructions.txt" \
  "$out/compile.txt" > BENCHMARKS.md
echo "wrote BENCHMARKS.md"
