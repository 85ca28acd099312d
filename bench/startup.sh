#!/usr/bin/env bash
# Measures the foundation budgets of issue 2 on this machine:
#   - time from `omnichat serve` to the first 200 from /healthz, after the first start
#     (database and signing key already exist);
#   - resident memory (RSS) of the idle server.
# Usage: bench/startup.sh [runs]   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
cargo build --release --quiet
bin=target/release/omnichat
data=$(mktemp -d)
port=39517
trap 'rm -rf "$data"' EXIT

start_server() {
  "$bin" --data-dir "$data" serve --listen "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
}
wait_healthy() {
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.002; done
}

# First start: creates the database and the signing key (not part of the budget).
start_server; wait_healthy; kill -TERM "$pid"; wait "$pid" || true

times=()
for _ in $(seq "$runs"); do
  t0=$(date +%s%N)
  start_server
  wait_healthy
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  kill -TERM "$pid"; wait "$pid" || true
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "serve -> healthy (ms, $runs runs after the first start): min $(echo "$sorted" | head -1), median $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p"), max $(echo "$sorted" | tail -1)"

start_server; wait_healthy
# A few requests so the idle figure includes warmed-up code paths.
for path in /.well-known/oauth-authorization-server /jwks.json /readyz; do curl -fs "http://127.0.0.1:$port$path" >/dev/null; done
sleep 1
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "idle RSS: $(( rss_kb / 1024 )) MiB ($rss_kb KiB)"
kill -TERM "$pid"; wait "$pid" || true
