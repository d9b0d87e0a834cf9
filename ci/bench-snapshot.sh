#!/usr/bin/env bash
# Snapshot cost: a full snapshot of a 1 GiB volume whose every chunk holds data, against an
# incremental one after 1 % of its chunks were written, and the restore of that chain
# (io.sectorcrypt.bench.SnapshotBench). Benchmarks only, not part of the tests.
#
# Usage: ci/bench-snapshot.sh [SIZE_MIB] [PERCENT] [ROUNDS]   (default 1024 1 5; needs ~3x
# SIZE free in BENCH_DIR, default /tmp). Prints each round, the medians and the ratio
# incremental / full (the issue's target: at most 0.05).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
jar=benchmarks/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  ./mvnw -B -q -ntp -DskipTests -pl benchmarks -am package
fi
grep -m1 'model name' /proc/cpuinfo
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" io.sectorcrypt.bench.SnapshotBench \
  "${BENCH_DIR:-/tmp}" "${1:-1024}" "${2:-1}" "${3:-5}"
