#!/usr/bin/env bash
# A real kernel filesystem on an encrypted NBD export, without /dev/nbd (issue 12):
# `sectorcrypt serve` on a Unix socket; qemu-storage-daemon connects to it as an NBD client
# and exports the disk as a FUSE file; losetup, mkfs.ext4, mount, files written and their
# checksums taken, unmount. The server is stopped by SIGTERM (it flushes and closes); the
# volume must not hold the files' plaintext; a new server and a read-only FUSE export mount
# the filesystem again and every checksum matches. Needs root, /dev/fuse and loop devices:
# without them the check says why and skips, except under CI=true, where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
export PATH=$PATH:/usr/sbin:/sbin # losetup, mkfs.ext4
work=$(mktemp -d)
source ci/nbd-serve.sh
qsd= loop=
cleanup() {
  set +e
  mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
  [ -n "$loop" ] && losetup -d "$loop"
  [ -n "$qsd" ] && kill "$qsd" 2>/dev/null && wait "$qsd"
  kill_server
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-nbd-fs: $*" >&2; exit 1; }
skip() {
  [ "${CI:-}" = true ] && fail "$* (CI=true: this check must run)"
  echo "check-nbd-fs: $*: skipping the kernel filesystem check" >&2
  exit 0
}
[ "$(id -u)" = 0 ] || skip "not root (losetup and mount need it)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
for tool in qemu-storage-daemon losetup mkfs.ext4 mount umount mountpoint sha256sum; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (ci/setup.sh installs it)"
done
losetup -f >/dev/null 2>&1 || skip "no free loop device"

export SECTORCRYPT_HOME=$work/home
export SECTORCRYPT_VAULT_PASSPHRASE='check-nbd-fs vault passphrase'
./sectorcrypt keys init --scrypt-cost 16384 >/dev/null
./sectorcrypt set create gold >/dev/null
./sectorcrypt volume create "$work/disk.img" --size 256M --set gold >/dev/null

# The server on a Unix socket in the background (ci/nbd-serve.sh).
serve_disk() { serve --socket "$work/nbd.sock" --export disk="$work/disk.img"; }
# fuse [read-only]: qemu-storage-daemon, an NBD client of our server, exports the disk as a file.
fuse() {
  local ro=${1:-} writable=on
  [ -n "$ro" ] && writable=off
  : > "$work/fuse.img"
  qemu-storage-daemon \
    --blockdev "driver=nbd,server.type=unix,server.path=$work/nbd.sock,export=disk,node-name=enc${ro:+,read-only=on}" \
    --export "type=fuse,id=fuse0,node-name=enc,mountpoint=$work/fuse.img,writable=$writable" \
    > "$work/qsd.log" 2>&1 &
  qsd=$!
  for _ in $(seq 80); do
    [ "$(stat -c %s "$work/fuse.img")" -gt 0 ] && return 0
    kill -0 "$qsd" 2>/dev/null || skip "qemu-storage-daemon could not export over FUSE: $(cat "$work/qsd.log")"
    sleep 0.25
  done
  fail "the FUSE export did not appear in 20 s: $(cat "$work/qsd.log")"
}
stop_fuse() {
  kill "$qsd"
  wait "$qsd" || true
  qsd=
}

serve_disk
fuse
loop=$(losetup -f --show "$work/fuse.img") || skip "losetup could not attach the FUSE file"
mkfs.ext4 -q -F "$loop"
mkdir "$work/mnt"
mount "$loop" "$work/mnt"
marker='SECTORCRYPT-NBD-FS-PLAINTEXT-MARKER'
{ yes "$marker" || true; } | head -c $((4 << 20)) > "$work/mnt/marker.txt" # yes ends on SIGPIPE
head -c $((24 << 20)) /dev/urandom > "$work/mnt/random.bin"
mkdir "$work/mnt/small"
for i in $(seq 100); do head -c $((i * 997)) /dev/urandom > "$work/mnt/small/f$i"; done
(cd "$work/mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$work/sums"
umount "$work/mnt"
losetup -d "$loop"
loop=
stop_fuse
stop_server
! grep -q "$marker" "$work/disk.img" || fail "the volume holds the files' plaintext"

serve_disk
fuse ro
loop=$(losetup -f --show -r "$work/fuse.img")
mount -o ro "$loop" "$work/mnt"
(cd "$work/mnt" && sha256sum -c --quiet "$work/sums") || fail "the files changed across unmount and restart"
[ "$(wc -l < "$work/sums")" -eq 102 ] || fail "expected 102 files, found $(wc -l < "$work/sums")"
echo "check-nbd-fs: ext4 through qemu-storage-daemon's FUSE export of the encrypted NBD disk: 102 files written," \
  "unmounted, the server restarted, every checksum matches; no plaintext in the volume"
