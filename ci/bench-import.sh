#!/usr/bin/env bash
# Import speed: a raw image written into a new encrypted volume, against the two tools that
# encrypt a plain image file offline. Benchmarks only, not part of the tests:
#   1. SectorCrypt: the library path (io.sectorcrypt.bench.ImportBench: one thread reads the
#      raw file in 1 MiB chunks and writes each into a new volume, then flush and close).
#      SECTORCRYPT_IMPORT_CMD (below) times the CLI's `volume import` instead.
#   2. cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 32M, offline, on a
#      copy of the image grown by those 32 MiB (room for the header: no data is lost).
#   3. qemu-img convert -O luks (aes-256-xts-plain64).
#   4. the floor: dd of the raw image into a new file, conv=fsync, no encryption. No import can
#      beat it, so (faster tool / dd) is the most any import could reach against the target.
# KDFs are cheap (pbkdf2, 1000 iterations; qemu-img: iter-time=1 ms) so that only the data
# path is timed; the tools take turns, in an order that rotates every round. Every file is
# in the page cache before its timing starts (the raw image is read once beforehand, and the
# copy for cryptsetup is made before its clock starts); every tool syncs its output before its
# timing ends (cryptsetup and qemu-img sync on their own; the library path calls flush()).
#
# Usage: ci/bench-import.sh [SIZE_MIB] [ROUNDS]   (default 1024 MiB, 3 rounds; needs
# cryptsetup and qemu-img (apt-get install -y cryptsetup-bin qemu-utils) and ~4x SIZE free
# in BENCH_DIR, default /tmp). Prints each timing per round, the median and spread of each,
# and the ratio of the faster tool to SectorCrypt (the issue's target: at least 2).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
size_mib=${1:-1024}
rounds=${2:-3}
dir=$(mktemp -d "${BENCH_DIR:-/tmp}/sectorcrypt-import-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
jar=benchmarks/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  ./mvnw -B -q -ntp -DskipTests -pl benchmarks -am package
fi
for tool in cryptsetup qemu-img; do
  command -v "$tool" >/dev/null || { echo "bench-import: $tool is missing (apt-get install -y cryptsetup-bin qemu-utils)" >&2; exit 1; }
done

# --- the SectorCrypt import command: RAW and OUT are appended. ------------------------------
# Default: the library path (ImportBench). To time the CLI instead, with SECTORCRYPT_HOME
# holding a vault and an encryption set (see `sectorcrypt set create`), e.g.:
#   SECTORCRYPT_IMPORT_CMD="./sectorcrypt volume import --set NAME" ci/bench-import.sh
# (its time then includes the CLI's JVM start and vault unlock, as a user's would).
SECTORCRYPT_IMPORT_CMD=${SECTORCRYPT_IMPORT_CMD:-"$JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp $jar io.sectorcrypt.bench.ImportBench"}
# ImportBench only: IMPORT_BENCH_ARGS=--no-queue measures the volume without its sector queue.
IMPORT_BENCH_ARGS=${IMPORT_BENCH_ARGS:-}

raw=$dir/raw.img
echo "bench-import: writing a ${size_mib} MiB raw image of random bytes ..." >&2
head -c $((size_mib << 20)) /dev/urandom > "$raw"
cat "$raw" > /dev/null
printf 'cheap-benchmark-passphrase' > "$dir/pass"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Each tool removes its output and syncs after its clock stops: the file system here may
# discard freed blocks at the next journal commit, which must not land in the next tool's time.
settle() { rm -f "$@"; sync; sleep 1; }

run_ours() {
  local t0 t1 line
  t0=$(now)
  # shellcheck disable=SC2086 # the command is a word list on purpose
  line=$($SECTORCRYPT_IMPORT_CMD "$raw" "$dir/out.luks" $IMPORT_BENCH_ARGS)
  t1=$(now)
  ours+=("$(elapsed "$t0" "$t1")")
  inner+=("$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")")
  settle "$dir/out.luks"
}

# cryptsetup: in place, on a copy grown by the 32 MiB the header takes (copied before the clock starts).
run_cryptsetup() {
  local t0 t1
  cp "$raw" "$dir/crypt.img"
  truncate -s +32M "$dir/crypt.img"
  sync
  t0=$(now)
  cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 32M --force-offline-reencrypt --batch-mode \
    --cipher aes-xts-plain64 --key-size 512 --sector-size 4096 --key-file "$dir/pass" \
    --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$dir/crypt.img"
  t1=$(now)
  crypt+=("$(elapsed "$t0" "$t1")")
  settle "$dir/crypt.img"
}

run_qemu() {
  local t0 t1
  t0=$(now)
  qemu-img convert -O luks --object "secret,id=sec0,file=$dir/pass" \
    -o key-secret=sec0,cipher-alg=aes-256,cipher-mode=xts,ivgen-alg=plain64,iter-time=1 \
    "$raw" "$dir/out.qluks"
  sync "$dir/out.qluks"
  t1=$(now)
  qemu+=("$(elapsed "$t0" "$t1")")
  settle "$dir/out.qluks"
}

run_dd() {
  local t0 t1
  t0=$(now)
  dd if="$raw" of="$dir/out.dd" bs=1M conv=fsync status=none
  t1=$(now)
  floor+=("$(elapsed "$t0" "$t1")")
  settle "$dir/out.dd"
}

ours=() ; crypt=() ; qemu=() ; inner=() ; floor=()
tools=(run_ours run_cryptsetup run_qemu run_dd)
for round in $(seq "$rounds"); do
  # The order rotates every round, so no tool always runs first or after the same one.
  for k in 0 1 2 3; do
    "${tools[$(( (k + round - 1) % 4 ))]}"
  done
  echo "round $round: sectorcrypt ${ours[-1]} s (in-process ${inner[-1]:-?} s), cryptsetup ${crypt[-1]} s, qemu-img ${qemu[-1]} s, dd ${floor[-1]} s" >&2
done

# median, min and max of the arguments
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f", m, v[1], v[NR] }'; }
read -r om omin omax <<<"$(stats "${ours[@]}")"
read -r cm cmin cmax <<<"$(stats "${crypt[@]}")"
read -r qm qmin qmax <<<"$(stats "${qemu[@]}")"
read -r dm dmin dmax <<<"$(stats "${floor[@]}")"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
echo "bench-import: ${size_mib} MiB, $rounds rounds, $cpu, $(nproc) cores; seconds, median (min..max):"
printf '%-34s %8.3f (%.3f..%.3f)\n' "sectorcrypt (whole process)" "$om" "$omin" "$omax"
if [ -n "${inner[0]}" ]; then
  read -r im imin imax <<<"$(stats "${inner[@]}")"
  printf '%-34s %8.3f (%.3f..%.3f)\n' "sectorcrypt (create..close)" "$im" "$imin" "$imax"
fi
printf '%-34s %8.3f (%.3f..%.3f)\n' "cryptsetup reencrypt --encrypt" "$cm" "$cmin" "$cmax"
printf '%-34s %8.3f (%.3f..%.3f)\n' "qemu-img convert -O luks" "$qm" "$qmin" "$qmax"
printf '%-34s %8.3f (%.3f..%.3f)\n' "dd conv=fsync (no encryption)" "$dm" "$dmin" "$dmax"
ratios=()
for i in "${!ours[@]}"; do
  ratios+=("$(awk -v c="${crypt[$i]}" -v q="${qemu[$i]}" -v o="${ours[$i]}" 'BEGIN { printf "%.3f", (c < q ? c : q) / o }')")
done
read -r rm rmin rmax <<<"$(stats "${ratios[@]}")"
best=$(awk -v c="$cm" -v q="$qm" 'BEGIN { print (c < q ? c : q) }')
bestname=$(awk -v c="$cm" -v q="$qm" 'BEGIN { print (c < q ? "cryptsetup" : "qemu-img") }')
awk -v b="$best" -v o="$om" -v n="$bestname" \
  'BEGIN { printf "faster tool (%s) / sectorcrypt, whole process, medians: %.2fx (target: at least 2x)\n", n, b / o }'
printf 'per round, the faster tool of that round / sectorcrypt: %.2fx (%.2f..%.2f)\n' "$rm" "$rmin" "$rmax"
awk -v b="$best" -v d="$dm" -v n="$bestname" \
  'BEGIN { printf "faster tool (%s) / dd, medians: %.2fx (the most any import could reach here)\n", n, b / d }'
