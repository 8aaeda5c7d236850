#!/usr/bin/env bash
# crier benchmark for remote sources: `run --once` cycles reading an upstream of N entries
# served from 127.0.0.1 by bench/serve.py.
#
# Usage: bench/remote.sh [N [SCENARIO ...]]   (default: 10000 feed feed-novalid wordpress)
#
# Scenarios, each with a fresh state:
#   feed:          an RSS feed of N items, served with ETag and Last-Modified;
#   feed-novalid:  the same feed from a server that sends no validators (every read is a
#                  full download; unchanged items are recognised by their fingerprint);
#   wordpress:     the same items as a WordPress REST API answer (json source, preset).
# For each: one cold cycle (first read, every item mapped), then 3 warm cycles (nothing
# changed upstream). Every cycle prints wall time, max RSS and the requests the upstream
# saw with their status codes. Results go to stdout and bench/out/remote.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
shift || true
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(feed feed-novalid wordpress)
wanted() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }

cargo build --release --locked --quiet
bin=$PWD/target/release/crier
mkdir -p bench/out
results=bench/out/remote.txt
: >"$results"
corpus=bench/corpus/remote-$n
if [ ! -f "$corpus/www/feed.xml" ]; then
  echo "generating $n upstream items in $corpus ..." >&2
  python3 bench/gen_remote.py "$n" "$corpus/www"
fi

server_pid=
stop_server() {
  [ -z "$server_pid" ] || { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; } || true
  server_pid=
}
trap stop_server EXIT

start_server() { # extra args for serve.py
  stop_server
  : >"$corpus/requests.log"
  coproc SERVER { exec python3 bench/serve.py "$corpus/www" "$corpus/requests.log" "$@"; }
  server_pid=$SERVER_PID
  read -r port <&"${SERVER[0]}"
}

measure() { # label, then the command
  local label=$1; shift
  local log=bench/out/time.log
  : >"$corpus/requests.log"
  /usr/bin/time -v "$@" 2>"$log" >/dev/null || { cat "$log"; exit 1; }
  local wall rss requests
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  requests=$(awk '{print $NF}' "$corpus/requests.log" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
  printf '%-26s wall %8s s   max RSS %7.1f MB   requests: %s\n' \
    "$label" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "${requests:-none}" | tee -a "$results"
}

write_config() { # source table
  cat >"$corpus/crier.toml" <<TOML
[site]
title = "Benchmark"
base_url = "https://bench.example.org"
timezone = "Europe/Paris"

$1

[feeds]
output_dir = "feeds"
limit = 50

[store]
path = "state/crier.sqlite3"
TOML
}

run_scenario() { # label
  export CRIER_LOG=crier=warn
  rm -rf "$corpus/feeds" "$corpus/state"
  measure "$1 N=$n cold" "$bin" --config "$corpus/crier.toml" run --once
  for run in 1 2 3; do
    measure "$1 N=$n warm #$run" "$bin" --config "$corpus/crier.toml" run --once
  done
}

feed_source='[[sources]]
type = "feed"
name = "upstream"
url = "http://127.0.0.1:PORT/feed.xml"
[sources.http]
max_size = "100MB"'

if wanted feed; then
  start_server
  write_config "${feed_source/PORT/$port}"
  run_scenario feed
fi

if wanted feed-novalid; then
  start_server --no-validators
  write_config "${feed_source/PORT/$port}"
  run_scenario feed-novalid
fi

if wanted wordpress; then
  start_server
  write_config "[[sources]]
type = \"json\"
name = \"wp\"
preset = \"wordpress\"
url = \"http://127.0.0.1:$port/posts.json\"
[sources.http]
max_size = \"100MB\""
  run_scenario wordpress
fi
