#!/usr/bin/env bash
# Instructions per event of the Nexmark queries in SQL and in the DSL, counted by callgrind
# (independent of the machine's load), from the `nexmark_sql` bench binary:
#
#   bench/nexmark_sql_instructions.sh BENCH_BINARY EVENTS QUERY [SIDE...]
#
# SIDE is `dsl`, `sql-row` or `sql-arrow` (default: all three). Each side runs alone under
# `valgrind --tool=callgrind --separate-threads=yes`; its count is the sum over every thread
# but the main one (which generates the events and waits in a polling loop), minus the same
# sum for the run that only produces the events and shuts down (`NEXMARK_SIDE=setup-dsl` or
# `setup-sql`), divided by the events the query reads (bids: 46 of every 50 events; q8 reads
# persons and auctions, 4 of 50).
set -euo pipefail
bin=$1 n=$2 q=$3
shift 3
sides=("$@")
[ ${#sides[@]} -eq 0 ] && sides=(dsl sql-row sql-arrow)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# callgrind_count DIR: the instructions of every thread but the main one.
. "$(dirname "$0")/callgrind_count.sh"

run() {
    local dir=$1
    shift
    mkdir -p "$dir"
    env "$@" valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/cg.out" "$bin" "$n" >"$dir/log" 2>&1
    callgrind_count "$dir"
}

case $q in
q8) events=$((n * 4 / 50)) ;;
*) events=$((n * 46 / 50)) ;;
esac

base_dsl=$(run "$out/setup-dsl" NEXMARK_SIDE=setup-dsl)
base_sql=$(run "$out/setup-sql" NEXMARK_SIDE=setup-sql)
for side in "${sides[@]}"; do
    case $side in
    dsl) total=$(run "$out/$side" NEXMARK_SIDE=dsl NEXMARK_QUERY="$q"); base=$base_dsl ;;
    sql-row) total=$(run "$out/$side" NEXMARK_SIDE=sql NEXMARK_SQL_PATH=row NEXMARK_QUERY="$q"); base=$base_sql ;;
    sql-arrow) total=$(run "$out/$side" NEXMARK_SIDE=sql NEXMARK_SQL_PATH=arrow NEXMARK_QUERY="$q"); base=$base_sql ;;
    *) echo "unknown side $side" >&2; exit 2 ;;
    esac
    grep -h "events/s" "$out/$side/log" | sed 's/^/  # /' >&2 || true
    echo "$q $side: $(( (total - base) / events )) instructions per event ($(( total - base )) over $events events; setup $base)"
done
