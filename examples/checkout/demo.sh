#!/usr/bin/env bash
# See an alert fire: the checkout shop with simulated customers, Prometheus with the rules
# generated from the shop's objectives (scaled 60x: an hour of alerting passes in a minute), and
# Alertmanager, all on 127.0.0.1. Slows the payment provider down, shows the latency alert go
# pending then firing, restores the provider, and shows the alert resolve.
#
# Needs the Debian packages prometheus and prometheus-alertmanager, and curl.
# Run from anywhere: examples/checkout/demo.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in prometheus prometheus-alertmanager curl; do
  command -v "$tool" >/dev/null || { echo "demo.sh: $tool is not installed (apt-get install prometheus prometheus-alertmanager curl)" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p checkout
./target/release/checkout alert-rules --time-scale 60 > "$work/alerts.yml"
sed -e 's/scrape_interval: 5s/scrape_interval: 1s/' -e 's/evaluation_interval: 5s/evaluation_interval: 1s/' \
  examples/checkout/prometheus/prometheus.yml > "$work/prometheus.yml"

./target/release/checkout --listen 127.0.0.1:3000 --traffic 20 & pids+=($!)
prometheus-alertmanager --config.file=examples/checkout/prometheus/alertmanager.yml \
  --storage.path="$work/alertmanager" --web.listen-address=127.0.0.1:9093 \
  --cluster.listen-address= > "$work/alertmanager.log" 2>&1 & pids+=($!)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --web.listen-address=127.0.0.1:9090 > "$work/prometheus.log" 2>&1 & pids+=($!)

alert=PaymentsLatencyBudgetBurn
state() {
  curl -s 127.0.0.1:9090/api/v1/alerts | tr '{' '\n' |
    grep -A3 "\"alertname\":\"$alert\"" | grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4 || true
}
# Prints each state change of the alert until it is `$1` (or 120 s pass).
watch_until() {
  local want=$1 last="" now start=$SECONDS
  while (( SECONDS - start < 120 )); do
    now=$(state); now=${now:-inactive}
    if [[ "$now" != "$last" ]]; then
      echo "  +$(( SECONDS - start ))s  $alert is $now"
      last=$now
    fi
    [[ "$now" == "$want" ]] && return 0
    sleep 1
  done
  echo "demo.sh: $alert did not become $want within 120 s" >&2
  return 1
}

echo "Waiting for Prometheus to scrape the shop..."
for _ in $(seq 60); do
  curl -s '127.0.0.1:9090/api/v1/query?query=up' | grep -q '"1"\]' && break
  sleep 1
done
echo "Shop:         http://127.0.0.1:3000/metrics"
echo "Prometheus:   http://127.0.0.1:9090/alerts"
echo "Alertmanager: http://127.0.0.1:9093"
echo
echo "Baseline: payments take about 150 ms; the objective is 99% within 250 ms. Watching for 20 s..."
sleep 20
baseline=$(state)
echo "  $alert is ${baseline:-inactive}"
echo
echo "The payment provider slows down: 300 ms."
curl -s -X PUT 127.0.0.1:3000/admin/payment-provider -d '{"latency_ms": 300, "error_rate": 0.0}' >/dev/null
watch_until firing
echo "  Alertmanager has: $(curl -s 127.0.0.1:9093/api/v2/alerts | grep -o "\"alertname\":\"$alert\"" | head -1)"
echo
echo "The team switches provider: back to 150 ms."
curl -s -X PUT 127.0.0.1:3000/admin/payment-provider -d '{"latency_ms": 150, "error_rate": 0.0}' >/dev/null
watch_until inactive
echo
echo "Done. The same works for errors: PUT {\"latency_ms\": 150, \"error_rate\": 0.2} fires PaymentsErrorRatioHigh."
