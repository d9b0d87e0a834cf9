#!/usr/bin/env bash
# A random 64 MiB image, converted by the CLI, must equal OpenSSL's EVP_aes_*_xts sector by
# sector in both IV conventions (the default, 512-byte units as dm-crypt and LUKS2, and
# --iv-large-sectors), at 512 and 4096 bytes, from 0 and ending at IV 2^64 - 1, and decrypt
# back to the original; and the conversion must stream: converting 1 GiB may not take more
# memory than converting 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/jdk.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c $((64 << 20)) /dev/urandom > "$work/plain.img"
head -c 64 /dev/urandom > "$work/key256"
head -c 32 /dev/urandom > "$work/key128"

check() { # key sector-size first-iv iv-step [--iv-large-sectors]
  ./sectorcrypt xts encrypt --key-file "$work/$1" --sector-size "$2" --first-sector "$3" ${5:-} "$work/plain.img" "$work/enc.img"
  python3 ci/openssl_xts_check.py "$work/$1" "$2" "$3" "$4" "$work/plain.img" "$work/enc.img"
  ./sectorcrypt xts decrypt --key-file "$work/$1" --sector-size "$2" --first-sector "$3" ${5:-} "$work/enc.img" "$work/dec.img"
  cmp "$work/plain.img" "$work/dec.img"
}
check key256 4096 $(( 8 * ((1 << 40) + 7) )) 8
check key256 4096 $(( (1 << 40) + 7 )) 1 --iv-large-sectors
check key256 4096 $(python3 -c 'print(2**64 - (64 << 20) // 512)') 8
check key256 512 0 1
check key128 512 $(python3 -c 'print(2**64 - (64 << 20) // 512)') 1 --iv-large-sectors

# Streaming: peak RSS converting 1 GiB (sparse input) against converting 64 MiB.
truncate -s 1G "$work/big.img"
peak_kib() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
jar=cli/target/sectorcrypt-cli.jar
small=$(peak_kib "$JAVA_HOME/bin/java" -jar $jar xts encrypt --key-file "$work/key256" --sector-size 4096 "$work/plain.img" "$work/enc.img")
rm -f "$work/enc.img" "$work/dec.img"
big=$(peak_kib "$JAVA_HOME/bin/java" -jar $jar xts encrypt --key-file "$work/key256" --sector-size 4096 "$work/big.img" "$work/big.enc")
echo "peak RSS: 64 MiB image ${small} KiB, 1 GiB image ${big} KiB"
if [ "$big" -gt $((small + 32768)) ]; then
  echo "check-image-vs-openssl: memory grows with the image size (not streaming)" >&2
  exit 1
fi
echo "check-image-vs-openssl: ok"
