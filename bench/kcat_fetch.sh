#!/bin/bash
# Consume cost over the Kafka protocol with a real client (librdkafka through kcat).
# usage: bench/kcat_fetch.sh SERVE_BIN PORT [RUNS]
#   SERVE_BIN: target/release/examples/serve (cargo build --release -p brook-broker --example serve)
# Produces 1,000,000 100-byte records to one partition with kcat -P, then consumes them RUNS
# times (default 3) with kcat -C, printing for each run the wall time and the server's CPU
# seconds (utime + stime from /proc/PID/stat) spent serving it.
set -e
BIN=$1; PORT=$2; RUNS=${3:-3}; D=$(mktemp -d)
python3 -c "import sys; sys.stdout.write(('x' * 100 + '\n') * 1000000)" > $D/recs.txt
$BIN $D/data $PORT > $D/log 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null || true; rm -rf $D' EXIT
sleep 1
cpu() { awk '{print $14 + $15}' /proc/$SP/stat; }
TCK=$(getconf CLK_TCK)
kcat -b 127.0.0.1:$PORT -P -t kperf -l $D/recs.txt -X acks=1 -X linger.ms=5 -X batch.size=1000000
for i in $(seq $RUNS); do
  c0=$(cpu); t0=$(date +%s.%N)
  kcat -b 127.0.0.1:$PORT -C -t kperf -o beginning -e -q > /dev/null; n=1000000
  t1=$(date +%s.%N); c1=$(cpu)
  awk -v n=$n -v t0=$t0 -v t1=$t1 -v c0=$c0 -v c1=$c1 -v tck=$TCK 'BEGIN {
    w = t1 - t0; c = (c1 - c0) / tck;
    printf "consume %d records: %.2f s wall (%.0f records/s), server %.3f CPU-s (%.3f per million)\n", n, w, n / w, c, c * 1e6 / n }'
done
