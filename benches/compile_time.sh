#!/usr/bin/env bash
# Compile time, as a developer lives it: prints `compile ROW SECONDS` lines for
# `target/release/report` (benches/run.sh runs this). Takes about five minutes on two cores.
#
# - check/bare, check/tracing, check/vitalsign: `cargo check` of one crate of 600 functions
#   (each `fn(u64) -> Result<u64, E>`), bare, with `#[tracing::instrument]` and with
#   `#[instrument_metrics]`, its dependencies already built; non-incremental, so each run checks
#   the whole crate; the median of three.
# - build/vitalsign-runtime, build/vitalsign, build/prometheus-client, build/metrics: a clean
#   debug build (empty target directory, sources already downloaded) of a binary that
#   registers one counter and renders the text format, with vitalsign without its default
#   features (no macros), with its defaults, with prometheus-client, and with `metrics` and its
#   Prometheus exporter; the median of three.
#
# The crates are generated under target/compile-time, each its own workspace with its own
# target directory, so no build here shares work with another.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/target/compile-time
rm -rf "$work"
mkdir -p "$work"
export CARGO_INCREMENTAL=0
runs=3

# new_crate NAME DEPENDENCIES: a crate of its own workspace, with a library and a binary.
new_crate() {
  mkdir -p "$work/$1/src"
  cat > "$work/$1/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$2

[workspace]
EOF
}

# seconds COMMAND...: the wall time of COMMAND, its output discarded.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

# median A B C
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The 600-function crates.
functions() {
  local attribute=$1
  echo '#[derive(Debug)]'
  echo 'pub struct Refused;'
  for i in $(seq 0 599); do
    [ -n "$attribute" ] && echo "$attribute"
    echo "pub fn f$i(x: u64) -> Result<u64, Refused> { if x == $i { Err(Refused) } else { Ok(x + $i) } }"
  done
}
new_crate check-bare ""
functions "" > "$work/check-bare/src/lib.rs"
new_crate check-tracing 'tracing = "0.1"'
functions "#[tracing::instrument]" > "$work/check-tracing/src/lib.rs"
new_crate check-vitalsign "vitalsign = { path = \"$root/runtime\" }"
functions "#[vitalsign::instrument_metrics]" > "$work/check-vitalsign/src/lib.rs"

for row in bare tracing vitalsign; do
  dir=$work/check-$row
  (cd "$dir" && cargo check -q)
  times=()
  for _ in $(seq $runs); do
    touch "$dir/src/lib.rs"
    times+=("$(cd "$dir" && seconds cargo check)")
  done
  echo "compile check/$row $(median "${times[@]}")"
done

# The clean builds: one counter, rendered.
new_crate build-vitalsign-runtime "vitalsign = { path = \"$root/runtime\", default-features = false }"
new_crate build-vitalsign "vitalsign = { path = \"$root/runtime\" }"
for krate in build-vitalsign-runtime build-vitalsign; do
  cat > "$work/$krate/src/main.rs" <<'EOF'
fn main() {
    let registry = vitalsign::Registry::new();
    let requests = registry
        .register("requests", "Requests handled.", vitalsign::Counter::default())
        .unwrap();
    requests.inc();
    print!("{}", registry.render(vitalsign::Format::Prometheus));
}
EOF
done
new_crate build-prometheus-client 'prometheus-client = "0.25"'
cat > "$work/build-prometheus-client/src/main.rs" <<'EOF'
use prometheus_client::metrics::counter::Counter;

fn main() {
    let mut registry = prometheus_client::registry::Registry::default();
    let requests: Counter = Counter::default();
    registry.register("requests", "Requests handled", requests.clone());
    requests.inc();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    print!("{out}");
}
EOF
new_crate build-metrics 'metrics = "0.24"
metrics-exporter-prometheus = { version = "0.18", default-features = false }'
cat > "$work/build-metrics/src/main.rs" <<'EOF'
fn main() {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    metrics::describe_counter!("requests", "Requests handled.");
    metrics::counter!("requests").increment(1);
    print!("{}", handle.render());
}
EOF

for row in vitalsign-runtime vitalsign prometheus-client metrics; do
  dir=$work/build-$row
  # Resolve and download first, and check that it builds and prints the counter.
  (cd "$dir" && cargo run -q | grep -q '^requests')
  times=()
  for _ in $(seq $runs); do
    rm -rf "$dir/target"
    times+=("$(cd "$dir" && seconds cargo build)")
  done
  echo "compile build/$row $(median "${times[@]}")"
done
