#!/usr/bin/env bash
# crier benchmark: cold and warm `run --once` cycles over synthetic corpora.
#
# Usage: bench/run.sh [N ...]          (default: 1000 10000 50000)
#
# For each N it generates N Markdown files (~2 KB each) under bench/corpus/N (kept between
# runs; delete the folder to regenerate), then measures with /usr/bin/time -v:
#   cold: empty state and feed folder, feeds hold every entry (limit = N), 3 times;
#   warm: the same command again, nothing changed, 3 times;
#   new: one new entry (the newest) added before each run, 3 times (the files are removed after).
# CRIER_BENCH_LIMIT=50 sets `feeds.limit` (default: N); CRIER_BENCH_ARCHIVE=true turns on
# `feeds.archive` (archive documents of `limit` entries). Unset, the config has no `archive`
# key, so binaries from before archived feeds run it too.
# Results go to stdout and bench/out/results.txt. Nothing here is committed.
#
# CRIER_BIN=/path/to/crier measures that binary instead of building this checkout's release
# binary: build an older commit elsewhere and run both, one after the other, to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)

if [ -n "${CRIER_BIN:-}" ]; then
  bin=$(realpath "$CRIER_BIN")
else
  cargo build --release --locked --quiet
  bin=$PWD/target/release/crier
fi
mkdir -p bench/out
results=bench/out/results.txt
: >"$results"

measure() { # label, then the command
  local label=$1; shift
  local log=bench/out/time.log
  /usr/bin/time -v "$@" 2>"$log" >/dev/null || { cat "$log"; exit 1; }
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  local user sys
  user=$(grep 'User time' "$log" | awk '{print $NF}')
  sys=$(grep 'System time' "$log" | awk '{print $NF}')
  printf '%-22s wall %8s s   user %6s s   sys %6s s   max RSS %7.1f MB\n' \
    "$label" "$wall" "$user" "$sys" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" | tee -a "$results"
}

for n in "${sizes[@]}"; do
  corpus=bench/corpus/$n
  if [ ! -d "$corpus/content" ]; then
    echo "generating $n entries in $corpus ..." >&2
    python3 bench/gen_corpus.py "$n" "$corpus/content"
  fi
  cat >"$corpus/crier.toml" <<TOML
[site]
title = "Benchmark"
base_url = "https://bench.example.org"
languages = ["en"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
path = "content"
permalink = "/{lang}/{section}/{slug}/"

[feeds]
output_dir = "feeds"
limit = ${CRIER_BENCH_LIMIT:-$n}
${CRIER_BENCH_ARCHIVE:+archive = $CRIER_BENCH_ARCHIVE}

[store]
path = "state/crier.sqlite3"
TOML
  export CRIER_LOG=crier=warn
  for run in 1 2 3; do
    rm -rf "$corpus/feeds" "$corpus/state"
    sync # earlier runs' dirty pages must not be flushed on this run's clock
    measure "cold N=$n #$run" "$bin" --config "$corpus/crier.toml" run --once
  done
  for run in 1 2 3; do
    measure "warm N=$n #$run" "$bin" --config "$corpus/crier.toml" run --once
  done
  for run in 1 2 3; do
    printf '+++\ntitle = "New entry %s"\ndate = 2030-01-0%sT00:00:00+01:00\ncategories = ["Housing"]\n+++\nBody.\n' \
      "$run" "$run" >"$corpus/content/section-00/zz-new-$run.md"
    measure "new N=$n #$run" "$bin" --config "$corpus/crier.toml" run --once
  done
  rm -f "$corpus"/content/section-00/zz-new-*.md
done
