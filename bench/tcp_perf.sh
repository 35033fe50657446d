#!/bin/bash
# usage: perf.sh BIN PORT
BIN=$1; PORT=$2; D=$(mktemp -d)
$BIN server --data-dir $D --listen 127.0.0.1:$PORT --no-ksql > $D/log 2>&1 &
SP=$!
for i in $(seq 100); do $BIN topics --bootstrap-server 127.0.0.1:$PORT --list >/dev/null 2>&1 && break; sleep 0.1; done
$BIN topics --bootstrap-server 127.0.0.1:$PORT --create --topic perf --partitions 1 >/dev/null
$BIN producer-perf-test --topic perf --num-records 1000000 --record-size 100 --throughput -1 --bootstrap-server 127.0.0.1:$PORT --producer-props acks=1 2>&1 | tail -1
$BIN consumer-perf-test --bootstrap-server 127.0.0.1:$PORT --topic perf --messages 1000000 2>&1 | tail -2
kill $SP; wait $SP 2>/dev/null; rm -rf $D
