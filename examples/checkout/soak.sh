#!/usr/bin/env bash
# Soak: the checkout shop under simulated traffic for SOAK_MINUTES (default 10), sampling its
# resident memory, its number of series and the requests it has served once a minute. After
# warm-up, memory and series count should stay flat. Needs curl. Binds 127.0.0.1:SOAK_PORT
# (default 3100).
#
#   examples/checkout/soak.sh            # 10 minutes at 200 requests per second
#   SOAK_MINUTES=2 SOAK_RPS=50 examples/checkout/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${SOAK_MINUTES:-10}
rps=${SOAK_RPS:-200}
port=${SOAK_PORT:-3100}

cargo build --release -q -p checkout
./target/release/checkout --listen "127.0.0.1:$port" --traffic "$rps" > /dev/null &
shop=$!
trap 'kill $shop 2>/dev/null || true' EXIT
sleep 2

printf '%-7s %-14s %-8s %s\n' minute resident_kb series requests
for minute in $(seq 0 "$minutes"); do
  metrics=$(curl -s "127.0.0.1:$port/metrics")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$shop/status")
  series=$(grep -vc '^#' <<< "$metrics")
  requests=$(grep '^http_server_request_duration_seconds_count' <<< "$metrics" | awk '{s += $NF} END {print s}')
  printf '%-7s %-14s %-8s %s\n' "$minute" "$rss" "$series" "$requests"
  [[ "$minute" == "$minutes" ]] || sleep 60
done
