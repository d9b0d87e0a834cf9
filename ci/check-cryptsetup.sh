#!/usr/bin/env bash
# cryptsetup itself judges the CLI's default IV convention: a LUKS2 image with 4096-byte
# sectors, made and filled with known plaintext by cryptsetup 2.6.1 (offline, on a plain
# file, no device-mapper), decrypts with `sectorcrypt xts decrypt` under the volume key that
# cryptsetup dumps. LUKS2 counts the plain64 IV in 512-byte units (a 4096-byte sector k has
# IV 8k), so `--iv-large-sectors` must NOT reproduce it past the first sector.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
export PATH=$PATH:/usr/sbin # cryptsetup
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mib=$((1 << 20))
head -c $((8 * mib)) /dev/urandom > "$work/plain"
cp "$work/plain" "$work/luks.img"
truncate -s $((40 * mib)) "$work/luks.img"
printf 'sectorcrypt ci passphrase' > "$work/pass"
# --reduce-device-size makes room for the header at the start: cryptsetup shifts the data
# behind it and encrypts it in place; a fast PBKDF keeps the test quick.
cryptsetup reencrypt --encrypt --type luks2 --cipher aes-xts-plain64 --key-size 512 --sector-size 4096 \
  --reduce-device-size 32M --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$work/pass" --batch-mode \
  "$work/luks.img" >/dev/null
dump=$(cryptsetup luksDump "$work/luks.img")
offset=$(awk '/^Data segments:/ {s = 1} s && /offset:/ {print $2; exit}' <<<"$dump")
sector=$(awk '/^Data segments:/ {s = 1} s && /sector:/ {print $2; exit}' <<<"$dump")
[ "$sector" = 4096 ] || { echo "check-cryptsetup: expected 4096-byte sectors, luksDump says $sector" >&2; exit 1; }
cryptsetup luksDump --dump-volume-key --volume-key-file "$work/volume.key" --key-file "$work/pass" --batch-mode \
  "$work/luks.img" >/dev/null
dd if="$work/luks.img" of="$work/data" bs=$mib skip=$((offset / mib)) status=none
./sectorcrypt selftest > /dev/null # builds the CLI first if the sources changed (a line on stderr)
# On this CPU, and as on a CPU without VAES and one without AES-NI (the feature mask): the
# same plaintext, and not a byte on stderr.
for mask in "" vaes aes; do
  SECTORCRYPT_JAVA_OPTS=${mask:+-Dsectorcrypt.cpu.mask=$mask} ./sectorcrypt xts decrypt --key-file "$work/volume.key" \
    --sector-size 4096 "$work/data" "$work/decrypted" 2> "$work/stderr"
  if [ -s "$work/stderr" ]; then
    echo "check-cryptsetup: 'xts decrypt' (cpu mask '$mask') wrote to stderr:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  cmp <(head -c $((8 * mib)) "$work/decrypted") "$work/plain"
done
./sectorcrypt xts decrypt --key-file "$work/volume.key" --sector-size 4096 --iv-large-sectors "$work/data" \
  "$work/large"
if cmp -s <(head -c $((8 * mib)) "$work/large") "$work/plain"; then
  echo "check-cryptsetup: --iv-large-sectors also matched LUKS2; the conventions are not told apart" >&2
  exit 1
fi
cmp <(head -c 4096 "$work/large") <(head -c 4096 "$work/plain") # sector 0 has IV 0 in both
echo "check-cryptsetup: ok (LUKS2 by cryptsetup $(cryptsetup --version | awk '{print $2}'), 4096-byte sectors, data at $offset)"
