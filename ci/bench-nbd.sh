#!/usr/bin/env bash
# Issue 12's side-by-side NBD benchmark, in one run on one machine (not part of ci/test):
#   ours      `sectorcrypt serve` exporting a 1 GiB volume (platform set, XTS-AES-256)
#   nbdkit    `nbdkit file` serving an unencrypted 1 GiB file (what encryption and our server cost)
#   qemu-luks `qemu-nbd` serving a LUKS1 image (aes-xts-plain64) through qemu's LUKS driver
# All on 127.0.0.1 TCP, each server's file in the page cache. Per round, interleaved:
# nbdcopy of a random 1 GiB file into each export, nbdcopy of the export out to null:, and
# fio --ioengine=nbd 4 KiB randrw (50/50) at iodepth 32 for $SECONDS_FIO s (IOPS, p50/p99
# completion latency), and each server's CPU time (user + system, from /proc/PID/stat) per GiB
# copied and per fio I/O: on a shared machine throughput swings with the neighbours' load,
# while CPU per unit of work moves much less. A warm-up round comes first and is not counted.
# Prints each counted round, then median [min-max] and
# the ratios of medians.
# Usage: ci/bench-nbd.sh [ROUNDS (default 3)]; SECONDS_FIO (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
rounds=${1:-3}
fio_s=${SECONDS_FIO:-10}
work=$(mktemp -d)
source ci/nbd-serve.sh
fail() { echo "bench-nbd: $*" >&2; exit 1; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
gib=$((1 << 30))
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 240); do nbdinfo --size "$1" >/dev/null 2>&1 && return 0; sleep 0.25; done; echo "no server at $1" >&2; exit 1; }

export SECTORCRYPT_HOME=$work/home SECTORCRYPT_VAULT_PASSPHRASE='bench-nbd vault passphrase'
./sectorcrypt keys init >/dev/null
./sectorcrypt set create gold >/dev/null
./sectorcrypt volume create "$work/ours.img" --size 1G --set gold >/dev/null
serve --listen 127.0.0.1:0 --export disk="$work/ours.img"
pids+=("$pid")
ours_pid=$pid
ours=$(uri disk)

truncate -s 1G "$work/plain.img"
port=$(free_port)
nbdkit --exit-with-parent -f -i 127.0.0.1 -p "$port" file "$work/plain.img" &
pids+=($!)
nbdkit_pid=$!
nbdkit=nbd://127.0.0.1:$port
wait_port "$nbdkit"

secret=--object\ secret,id=s0,data=bench-nbd-luks-passphrase
qemu-img create -q -f luks $secret -o key-secret=s0,iter-time=100 "$work/luks.img" 1G
port=$(free_port)
qemu-nbd -b 127.0.0.1 -p "$port" -t -e 16 -x disk $secret \
  --image-opts driver=luks,key-secret=s0,file.filename="$work/luks.img" &
pids+=($!)
qemu_pid=$!
qemu=nbd://127.0.0.1:$port/disk
wait_port "$qemu"

head -c $gib /dev/urandom > "$work/random.img"
cat "$work/random.img" > /dev/null

now() { date +%s%N; }
# cpu PID: the process's user + system time so far, in clock ticks (all its threads).
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
results=$work/results.txt
# Round 0 warms up and is not counted: every server gets the same passes (fio for 3 s), so that
# ours is measured with its JIT compiler done, as a server that runs for days is (its first
# counted round used to cost about 1.3x the CPU per GiB of the later ones), and every disk is
# filled, so that the counted rounds overwrite allocated blocks.
for r in $(seq 0 "$rounds"); do
  for name in ours nbdkit qemu-luks; do
    case $name in ours) u=$ours; p=$ours_pid ;; nbdkit) u=$nbdkit; p=$nbdkit_pid ;; qemu-luks) u=$qemu; p=$qemu_pid ;; esac
    c0=$(cpu "$p"); t=$(now); nbdcopy "$work/random.img" "$u"; in=$(( $(now) - t ))
    c1=$(cpu "$p"); t=$(now); nbdcopy "$u" null:; out=$(( $(now) - t ))
    c2=$(cpu "$p")
    fio --name=randrw --ioengine=nbd --uri="$u" --rw=randrw --bs=4k --iodepth=32 --size=1G \
      --time_based --runtime="$( [ "$r" = 0 ] && echo 3 || echo "$fio_s")" --output-format=json \
      --output="$work/fio.json" >/dev/null
    c3=$(cpu "$p")
    row=$results
    [ "$r" = 0 ] && row=/dev/null # the warm-up's row is not kept
    python3 - "$name" "$r" "$in" "$out" "$work/fio.json" "$ticks" "$c0" "$c1" "$c2" "$c3" >> "$row" <<'EOF'
import json, sys
name, r, tin, tout, path = sys.argv[1:6]
hz, c0, c1, c2, c3 = (int(x) for x in sys.argv[6:])
ms = lambda ticks: ticks * 1000 / hz
j = json.load(open(path))["jobs"][0]
iops = j["read"]["iops"] + j["write"]["iops"]
def pct(p):  # over reads and writes: the larger of the two percentiles, in microseconds
    return max(j[d]["clat_ns"]["percentile"].get(p, 0) for d in ("read", "write")) / 1000
mbs = lambda ns: (1 << 30) / (int(ns) / 1e9) / 1e6
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
print(name, r, round(mbs(tin)), round(mbs(tout)), round(iops), round(pct("50.000000")), round(pct("99.000000")),
      round(ms(c1 - c0)), round(ms(c2 - c1)), round(ms(c3 - c2) * 1000 / ios, 1))
EOF
    [ "$r" = 0 ] || tail -1 "$results"
  done
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cols = ["nbdcopy in MB/s", "nbdcopy out MB/s", "fio IOPS", "fio p50 us", "fio p99 us",
        "in CPU ms/GiB", "out CPU ms/GiB", "fio CPU us/IO"]
med = {}
fmt = lambda x: "%.0f" % x if abs(x) >= 100 else "%.1f" % x
print("\n%-10s" % "server" + "".join("%24s" % c for c in cols))
for name in ("ours", "nbdkit", "qemu-luks"):
    vals = [[float(r[2 + i]) for r in rows if r[0] == name] for i in range(len(cols))]
    med[name] = [statistics.median(v) for v in vals]
    print("%-10s" % name + "".join("%24s" % ("%s [%s-%s]" % tuple(map(fmt, (statistics.median(v), min(v), max(v)))))
                                   for v in vals))
for peer in ("nbdkit", "qemu-luks"):
    print("ours / %-9s  in %.2fx  out %.2fx  IOPS %.2fx   CPU per unit: in %.2fx  out %.2fx  fio %.2fx" % (peer,
          med["ours"][0] / med[peer][0], med["ours"][1] / med[peer][1], med["ours"][2] / med[peer][2],
          med["ours"][5] / med[peer][5], med["ours"][6] / med[peer][6], med["ours"][7] / med[peer][7]))
EOF
