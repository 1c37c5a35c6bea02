#!/usr/bin/env bash
# Soak: the checkout shop under simulated traffic for SOAK_MINUTES (default 10), sampling once a
# minute its resident memory, its number of series and the requests it has served. After warm-up,
# all should stay flat but the requests. Needs curl. Binds 127.0.0.1:SOAK_PORT (default 3100).
#
# Where gdb is installed (and the C library is glibc), two more columns help tell a leak from
# fragmentation, read with malloc_stats(3) through a short gdb attach: the heap malloc counts in
# use (the program's blocks and malloc's per-thread caches of freed ones) and the heap it holds
# from the system. A leak grows the first without end; fragmentation grows only the second. For
# the program's own bytes, run the binary under heaptrack and compare its consumption over time.
#
# What to expect (glibc, 200 req/s, one scrape a minute): series flat at 150 and malloc_used_kb
# flat near 3.1 MB from minute 1; malloc_held_kb, and so resident memory, rising 32 KB a minute
# until about minute 30, then flat (8,360 KB from minute 32 to 40 in one run). The rise is freed
# space malloc keeps, not the program's data (heaptrack shows its live bytes flat from minute 1).
# More frequent scrapes fill that slack sooner: at one every 5 seconds it settles in about ten
# minutes.
#
#   examples/checkout/soak.sh            # 10 minutes at 200 requests per second
#   SOAK_MINUTES=40 examples/checkout/soak.sh
#   SOAK_MINUTES=2 SOAK_RPS=50 examples/checkout/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${SOAK_MINUTES:-10}
rps=${SOAK_RPS:-200}
port=${SOAK_PORT:-3100}

cargo build --release -q -p checkout
stats=$(mktemp)
./target/release/checkout --listen "127.0.0.1:$port" --traffic "$rps" > /dev/null 2>> "$stats" &
shop=$!
trap 'kill $shop 2>/dev/null || true; rm -f "$stats"' EXIT
sleep 2

# The last "Total" block malloc_stats wrote: "in_use_kb system_kb", or "- -" without gdb.
heap() {
  if ! command -v gdb > /dev/null; then
    echo "- -"
    return
  fi
  gdb -batch "/proc/$shop/exe" -p "$shop" -ex 'call (void)malloc_stats()' > /dev/null 2>&1 || true
  sleep 0.2
  tac "$stats" | awk '
    /in use bytes/ && !u { u = $NF }
    /system bytes/ && !s { s = $NF }
    u && s { printf "%d %d\n", u / 1024, s / 1024; exit }
    END { if (!(u && s)) print "- -" }'
}

printf '%-7s %-12s %-14s %-14s %-7s %s\n' minute resident_kb malloc_used_kb malloc_held_kb series requests
for minute in $(seq 0 "$minutes"); do
  metrics=$(curl -s "127.0.0.1:$port/metrics")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$shop/status")
  read -r used held <<< "$(heap)"
  series=$(grep -vc '^#' <<< "$metrics")
  requests=$(grep '^http_server_request_duration_seconds_count' <<< "$metrics" | awk '{s += $NF} END {print s}')
  printf '%-7s %-12s %-14s %-14s %-7s %s\n' "$minute" "$rss" "$used" "$held" "$series" "$requests"
  [[ "$minute" == "$minutes" ]] || sleep 60
done
