#!/usr/bin/env bash
# Instructions per bid of a Nexmark query over the runtime (`KafkaStreams` over the embedded
# broker), counted by callgrind (independent of the machine's load), from the streams-dsl
# `nexmark` bench binary:
#
#   bench/nexmark_instructions.sh BENCH_BINARY EVENTS QUERY [COMMIT_MS]
#
# The query runs alone under `valgrind --tool=callgrind --separate-threads=yes`; its count is
# the sum over every thread but the main one (which generates the events and waits in a
# polling loop), minus the same sum for a run that only produces the events into the broker
# and shuts it down (`NEXMARK_SETUP_ONLY=1`), divided by the bids (46 of every 50 events).
# So it counts the whole query: stream thread, broker, the clients' helper threads, start-up
# and close.
#
# COMMIT_MS (default 5000) is `commit.interval.ms`: under valgrind the clock runs ~50x slower
# than the program, so the benchmark's 100 ms would commit every few hundred records; 5000 ms
# over 200,000 events gives about as many bids per commit as a normal run of 1,000,000.
# q5's second stage is fed by the cache flushes of the commits, so its count still moves a
# little with the machine's load; the per-function counts (KEEP=dir keeps the callgrind files
# for callgrind_annotate) of the first stage do not.
set -euo pipefail
bin=$1 n=$2 q=$3 commit=${4:-5000}
out=${KEEP:-$(mktemp -d)}
[ -z "${KEEP:-}" ] && trap 'rm -rf "$out"' EXIT

# callgrind_count DIR: the instructions of every thread but the main one.
. "$(dirname "$0")/callgrind_count.sh"

run() {
    local dir=$1
    shift
    mkdir -p "$dir"
    env NEXMARK_QUERY="$q" NEXMARK_COMMIT_MS="$commit" "$@" valgrind --tool=callgrind --separate-threads=yes \
        --callgrind-out-file="$dir/cg.out" "$bin" "$n" --runtime >"$dir/log" 2>&1
    callgrind_count "$dir"
}

bids=$((n * 46 / 50))
base=$(run "$out/setup" NEXMARK_SETUP_ONLY=1)
total=$(run "$out/query")
grep -h "events/s" "$out/query/log" | sed 's/^/  # /' >&2 || true
echo "$q: $(((total - base) / bids)) instructions per bid ($((total - base)) over $bids bids; setup $base; commit.interval.ms $commit)"
