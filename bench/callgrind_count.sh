# Sourced by bench/nexmark_instructions.sh and bench/nexmark_sql_instructions.sh.
#
# callgrind_count DIR: the instructions callgrind counted in DIR's `cg.out-NN` files (one per
# thread, from `valgrind --tool=callgrind --separate-threads=yes`), summed over every thread
# but thread 1, the main one (which generates the events and waits in a polling loop).
callgrind_count() {
    local dir=$1
    local sum=0
    for f in "$dir"/cg.out-*; do
        case "$f" in *-01) continue ;; esac
        local t
        # The `totals:` (or `summary:`) line.
        t=$(grep -E '^(totals|summary):' "$f" | head -1 | awk '{print $2}')
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}
