#!/usr/bin/env bash
# Real NBD clients against `sectorcrypt serve` (issue 12): nbdinfo sees the sizes and the
# flags; qemu-io writes and reads patterns (and is refused on a read-only export);
# qemu-img convert -n and nbdcopy copy random images in and out unchanged; fio's nbd engine
# runs 4 KiB random read/write with crc32c verification; SIGTERM flushes and closes, removes
# the temporary disks, and a second server on a Unix socket reads back what the first wrote.
# A missing client is skipped with a message, except under CI=true, where it fails (ci/setup.sh
# installs them: libnbd-bin, qemu-utils, fio). A DOUBLE disk (HCTR2 over XTS) is served too.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
fail() { echo "check-nbd: $*" >&2; [ -f "$work/serve.err" ] && sed 's/^/  serve: /' "$work/serve.err" >&2; exit 1; }
work=$(mktemp -d)
source ci/nbd-serve.sh
cleanup() {
  kill_server
  rm -rf "$work"
}
trap cleanup EXIT
export SECTORCRYPT_HOME=$work/home
export SECTORCRYPT_VAULT_PASSPHRASE='check-nbd vault passphrase'
sc() { ./sectorcrypt "$@"; }
have() { # have COMMAND PACKAGE: whether the client is installed; fails under CI=true if not
  command -v "$1" >/dev/null && return 0
  [ "${CI:-}" = true ] && fail "$1 is missing: ci/setup.sh installs Debian $2"
  echo "check-nbd: $1 is not installed (Debian $2): skipping its check" >&2
  return 1
}
mib=$((1 << 20))

sc keys init --scrypt-cost 16384 >/dev/null
sc set create gold >/dev/null
sc volume create "$work/disk.img" --size 128M --set gold >/dev/null
sc volume create "$work/ro.img" --size 16M --set gold >/dev/null
sc set create twice --type double >/dev/null                 # DOUBLE: HCTR2 over XTS
sc volume create "$work/double.img" --size 32M --set twice >/dev/null
head -c $((64 * mib)) /dev/urandom > "$work/random.img"


mkdir "$work/tmp"
serve --listen 127.0.0.1:0 --export disk="$work/disk.img" --export ro="$work/ro.img:ro" \
  --export double="$work/double.img" --temp scratch=64M --temp-dir "$work/tmp"
disk=$(uri disk); ro=$(uri ro); scratch=$(uri scratch); double=$(uri double)
case "$disk" in nbd://127.0.0.1:*/disk) ;; *) fail "unexpected URI '$disk'" ;; esac
[ -n "$(ls -A "$work/tmp")" ] || fail "no temporary disk file while serving"

if have nbdinfo libnbd-bin; then
  [ "$(nbdinfo --size "$disk")" = $((128 * mib)) ] || fail "nbdinfo: wrong size of disk"
  [ "$(nbdinfo --size "$scratch")" = $((64 * mib)) ] || fail "nbdinfo: wrong size of scratch"
  for can in flush fua trim zero multi-conn; do
    nbdinfo --can "$can" "$disk" || fail "nbdinfo: disk cannot $can"
  done
  nbdinfo --is read-only "$ro" || fail "nbdinfo: ro is not read-only"
  ! nbdinfo --is read-only "$disk" || fail "nbdinfo: disk is read-only"
  nbdinfo --list "${disk%/disk}" > "$work/list.txt"
  for name in disk ro scratch; do grep -q "export=\"$name\"" "$work/list.txt" || fail "nbdinfo --list misses $name"; done
  grep -q 'block_size_minimum: 512' "$work/list.txt" || fail "nbdinfo: no minimum block size 512"
  echo "check-nbd: nbdinfo sees sizes, flags, block sizes and the list"
fi

if have qemu-io qemu-utils; then
  qemu-io -f raw "$disk" -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 5M 512k' >/dev/null \
    || fail "qemu-io could not write"
  qemu-io -f raw "$disk" -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 5M 512k' -c 'read -P 0 1M 4M' > "$work/qio.txt" \
    || fail "qemu-io read back other patterns: $(cat "$work/qio.txt")"
  ! qemu-io -f raw "$disk" -c 'read -P 0xac 0 1M' >/dev/null 2>&1 || fail "qemu-io's pattern check cannot fail"
  ! qemu-io -f raw "$ro" -c 'write -P 1 0 4k' >/dev/null 2>&1 || fail "qemu-io wrote to the read-only export"
  echo "check-nbd: qemu-io patterns written and read back; the read-only export refuses writes"
fi

if have qemu-img qemu-utils; then
  qemu-img convert -n -f raw -O raw "$work/random.img" "$scratch"
  qemu-img convert -f raw -O raw "$scratch" "$work/qemu-back.img"
  cmp "$work/random.img" "$work/qemu-back.img" || fail "qemu-img convert: the image came back changed"
  rm "$work/qemu-back.img"
  head -c $((32 * mib)) "$work/random.img" > "$work/random32.img"
  qemu-img convert -n -f raw -O raw "$work/random32.img" "$double"
  qemu-img convert -f raw -O raw "$double" "$work/qemu-back.img"
  cmp "$work/random32.img" "$work/qemu-back.img" || fail "qemu-img convert: the DOUBLE export gave other bytes"
  rm "$work/qemu-back.img"
  echo "check-nbd: qemu-img convert -n copied 64 MiB in and out unchanged, and 32 MiB through a DOUBLE export"
fi

if have nbdcopy libnbd-bin; then
  head -c $((64 * mib)) /dev/urandom > "$work/random2.img"
  nbdcopy "$work/random2.img" "$scratch"
  nbdcopy "$scratch" "$work/nbdcopy-back.img"
  cmp "$work/random2.img" "$work/nbdcopy-back.img" || fail "nbdcopy: the image came back changed"
  rm "$work/nbdcopy-back.img"
  echo "check-nbd: nbdcopy copied 64 MiB in and out unchanged"
fi

if have fio fio; then
  fio --name=randrw --ioengine=nbd --uri="$scratch" --rw=randrw --bs=4k --iodepth=16 --size=64M \
    --time_based --runtime=5 --verify=crc32c --verify_fatal=1 --verify_state_save=0 --output="$work/fio.txt" \
    || fail "fio: $(cat "$work/fio.txt")"
  grep -q 'err= 0' "$work/fio.txt" || fail "fio reported errors: $(cat "$work/fio.txt")"
  echo "check-nbd: fio --ioengine=nbd 4 KiB randrw with crc32c verification for 5 s: no error"
fi

stop_server
[ -z "$(ls -A "$work/tmp")" ] || fail "a temporary disk file is left after SIGTERM: $(ls -la "$work/tmp")"

# What the first server acknowledged is on disk: a second one, on a Unix socket, reads it back.
serve --socket "$work/nbd.sock" --export disk="$work/disk.img"
disk=$(uri disk)
case "$disk" in "nbd+unix:///disk?socket=$work/nbd.sock") ;; *) fail "unexpected URI '$disk'" ;; esac
if have qemu-io qemu-utils; then
  qemu-io -f raw "$disk" -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 5M 512k' >/dev/null \
    || fail "the patterns did not survive the restart"
  echo "check-nbd: after SIGTERM and a restart on a Unix socket, the patterns read back"
fi
stop_server
[ ! -e "$work/nbd.sock" ] || fail "the Unix socket is left after SIGTERM"
echo "check-nbd: ok"
