#!/usr/bin/env bash
# The issue's whole day on the embedded defaults, with cryptsetup 2.6.1 and OpenSSL judging
# every step: a new vault and encryption sets, a random image imported into a volume with a
# recovery passphrase, the key rotated, the image exported back unchanged; cryptsetup parses
# every header, opens the disk with the recovery passphrase and dumps the volume key, which
# must decrypt our data area (OpenSSL EVP_aes_256_xts, IV in 512-byte units); a volume with
# a detached header is decrypted back to the image by cryptsetup's offline reencrypt; a full
# snapshot opens and decrypts in cryptsetup too, and a chain of snapshots restores exactly; a
# disk that cryptsetup encrypted in place is adopted and reads back as the image; a DOUBLE
# disk keeps its outer layer where cryptsetup can see it and not strip it.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
export PATH=$PATH:/usr/sbin # cryptsetup
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SECTORCRYPT_HOME=$work/home
export SECTORCRYPT_VAULT_PASSPHRASE='check-volumes vault passphrase'
sc() { ./sectorcrypt "$@"; }
fail() { echo "check-volumes: $*" >&2; exit 1; }
mib=$((1 << 20))
head -c $((64 * mib)) /dev/urandom > "$work/raw.img"
printf 'check-volumes recovery passphrase\n' > "$work/recovery"
printf 'check-volumes recovery passphrase' > "$work/recovery.key" # cryptsetup reads a key file whole

sc keys init --scrypt-cost 16384 >/dev/null
sc keys create cmk --type rsa --size 3072 >/dev/null
sc set create gold >/dev/null                                  # platform key, made on first use
sc set create cust --type customer --key cmk >/dev/null

dump_ok() { # the header parses and carries our token
  cryptsetup luksDump "$1" > "$work/dump.txt" || fail "cryptsetup luksDump refused $1"
  grep -q sectorcrypt-envelope "$work/dump.txt" || fail "no envelope token in $1"
}
key_decrypts_data() { # volume key of $1 (dumped by cryptsetup) decrypts its data area to raw.img
  rm -f "$work/vk"
  cryptsetup luksDump --dump-volume-key --volume-key-file "$work/vk" --key-file "$work/recovery.key" --batch-mode \
    "$1" >/dev/null || fail "cryptsetup could not dump the volume key of $1"
  dd if="$1" of="$work/data" bs=$mib skip=16 status=none
  python3 ci/openssl_xts_check.py "$work/vk" 4096 0 8 "$work/raw.img" "$work/data" >/dev/null \
    || fail "OpenSSL disagrees with the data area of $1"
}

sc volume import "$work/raw.img" "$work/disk.img" --set cust --recovery-passphrase-file "$work/recovery" >/dev/null
dump_ok "$work/disk.img"
cryptsetup open --test-passphrase --key-file "$work/recovery.key" "$work/disk.img" \
  || fail "cryptsetup refused the recovery passphrase"
key_decrypts_data "$work/disk.img"
cp "$work/vk" "$work/vk.before"
sc volume rotate "$work/disk.img" --new-key-version | grep -q "to version 2" || fail "rotation did not re-wrap"
dump_ok "$work/disk.img"
sc volume info "$work/disk.img" --json | grep -q '"version" : 2' || fail "info does not show key version 2"
key_decrypts_data "$work/disk.img"
cmp -s "$work/vk" "$work/vk.before" || fail "rotation changed the volume key (it must only re-wrap it)"
sc volume export "$work/disk.img" "$work/back.img" >/dev/null
cmp "$work/raw.img" "$work/back.img" || fail "the exported image differs from the imported one"

# Snapshots: a full one is a LUKS2 disk that cryptsetup parses, opens with the recovery
# passphrase and whose key decrypts its data; a chain of incrementals restores exactly.
sc volume snapshot "$work/disk.img" "$work/s0.snap" >/dev/null
dump_ok "$work/s0.snap"
grep -q sectorcrypt-snapshot "$work/dump.txt" || fail "no snapshot token in s0.snap"
cryptsetup open --test-passphrase --key-file "$work/recovery.key" "$work/s0.snap" \
  || fail "cryptsetup refused the recovery passphrase on a snapshot"
key_decrypts_data "$work/s0.snap"
cp "$work/raw.img" "$work/expected.img"
for k in 1 2; do
  printf 'change %s to the disk' "$k" > "$work/change"
  sc volume write "$work/disk.img" --offset $((k * 5000000 + 123)) "$work/change" >/dev/null
  dd if="$work/change" of="$work/expected.img" bs=1 seek=$((k * 5000000 + 123)) conv=notrunc status=none
  sc volume snapshot "$work/disk.img" "$work/s$k.snap" --incremental | grep -q "1 of 1024 chunks" \
    || fail "incremental snapshot $k does not hold just the one chunk written"
  dump_ok "$work/s$k.snap"
done
[ "$(sc volume snapshots "$work/disk.img" --json | grep -c '"kind"')" = 3 ] || fail "the catalogue does not list 3"
sc volume restore "$work/s0.snap" "$work/s1.snap" "$work/s2.snap" "$work/restored.img" >/dev/null
dump_ok "$work/restored.img"
sc volume export "$work/restored.img" "$work/restored.raw" >/dev/null
cmp "$work/expected.img" "$work/restored.raw" || fail "the restored chain differs from the disk it snapshotted"

# Detached header: cryptsetup decrypts our data device in place, offline.
sc volume import "$work/raw.img" "$work/data.img" --header "$work/header.img" --set gold \
  --recovery-passphrase-file "$work/recovery" >/dev/null
dump_ok "$work/header.img"
cryptsetup reencrypt --decrypt --header "$work/header.img" --force-offline-reencrypt \
  --key-file "$work/recovery.key" --batch-mode "$work/data.img" >/dev/null || fail "offline decrypt failed"
cmp "$work/raw.img" "$work/data.img" || fail "cryptsetup's decryption differs from the image"
# Adopt: a disk cryptsetup encrypted in place comes under the set; its passphrase still opens it.
head -c $((4 * mib)) "$work/raw.img" > "$work/luks.img"
truncate -s $((36 * mib)) "$work/luks.img" # --reduce-device-size takes the header's room from the end
cryptsetup reencrypt --encrypt --type luks2 --reduce-device-size 32M --force-offline-reencrypt --batch-mode \
  --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$work/recovery.key" "$work/luks.img" >/dev/null \
  || fail "cryptsetup reencrypt --encrypt failed"
sc volume adopt "$work/luks.img" --set gold --luks-passphrase-file "$work/recovery" >/dev/null
dump_ok "$work/luks.img"
cryptsetup open --test-passphrase --key-file "$work/recovery.key" "$work/luks.img" \
  || fail "cryptsetup refused the passphrase of the adopted disk"
sc volume read "$work/luks.img" --offset 0 --length $((4 * mib)) "$work/adopted.img" >/dev/null
cmp "$work/adopted.img" <(head -c $((4 * mib)) "$work/raw.img") || fail "the adopted disk reads other data"
# DOUBLE: an outer HCTR2 layer (platform key) over the XTS layer (customer key). cryptsetup
# parses the header, sees the requirement that keeps it from activating the disk as plain
# XTS, and opens the recovery keyslot (the inner key); that key alone must not decrypt the
# data area (the outer layer is there), and the image comes back through both layers.
sc set create twice --type double --key cmk >/dev/null
sc volume import "$work/raw.img" "$work/double.img" --set twice --recovery-passphrase-file "$work/recovery" >/dev/null
dump_ok "$work/double.img"
grep -q "Requirements:.*sectorcrypt-outer-layer" "$work/dump.txt" || fail "no outer-layer requirement in luksDump"
grep -q "sectorcrypt-outer-layer" <(sc volume info "$work/double.img") || fail "volume info shows no outer layer"
cryptsetup open --test-passphrase --key-file "$work/recovery.key" "$work/double.img" \
  || fail "cryptsetup refused the recovery passphrase of the DOUBLE disk"
if (key_decrypts_data "$work/double.img") 2>/dev/null; then
  fail "the inner key alone decrypts the DOUBLE disk's data area: its outer layer is missing"
fi
sc volume export "$work/double.img" "$work/double-back.img" >/dev/null
cmp "$work/raw.img" "$work/double-back.img" || fail "the DOUBLE disk exported other data"
rm -f "$work/double.img" "$work/double-back.img"

# A block device (a loop device over a file): created in place, written, read, parsed by cryptsetup.
truncate -s $((48 * mib)) "$work/loop.img"
if dev=$(losetup -f --show "$work/loop.img" 2>/dev/null); then
  trap 'losetup -d "$dev" 2>/dev/null; rm -rf "$work"' EXIT
  sc volume create "$dev" --size 32M --set gold >/dev/null
  printf 'on a block device' > "$work/hello"
  sc volume write "$dev" --offset 4090 "$work/hello" >/dev/null
  [ "$(sc volume read "$dev" --offset 4090 --length 17 -)" = "on a block device" ] || fail "block device read-back"
  cryptsetup luksDump "$dev" >/dev/null || fail "cryptsetup luksDump refused $dev"
elif [ "${CI:-}" = true ]; then
  fail "no loop device (losetup) under CI=true"
else
  echo "check-volumes: no loop device here; skipped the block-device step" >&2
fi
sc keys audit verify >/dev/null || fail "the audit chain is broken"
echo "check-volumes: import, rotate, export, snapshots, adopt, DOUBLE and cryptsetup's checks passed"
