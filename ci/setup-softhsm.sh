#!/usr/bin/env bash
# Installs SoftHSM2 and OpenSC if missing, initialises a SoftHSM2 token in a private
# directory (once; later runs reuse it), and prints the environment the PKCS#11 tests read:
#
#   eval "$(bash ci/setup-softhsm.sh)"      # then run Maven in the same shell
#
# Optional: SECTORCRYPT_SOFTHSM_DIR (default: $HOME/.cache/sectorcrypt-softhsm). Only
# "export ..." lines go to stdout; progress goes to stderr.
set -euo pipefail

dir="${SECTORCRYPT_SOFTHSM_DIR:-$HOME/.cache/sectorcrypt-softhsm}"
label="sectorcrypt-ci"
pin="sectorcrypt-user-pin"
so_pin="sectorcrypt-so-pin"

if ! command -v softhsm2-util >/dev/null 2>&1 || ! command -v pkcs11-tool >/dev/null 2>&1; then
  echo "setup-softhsm: installing softhsm2 and opensc" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q softhsm2 opensc >&2
fi

module=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
                 /usr/lib64/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -r "$candidate" ]; then module="$candidate"; break; fi
done
if [ -z "$module" ]; then
  echo "setup-softhsm: libsofthsm2.so not found after installing softhsm2" >&2
  exit 1
fi

mkdir -p "$dir/tokens"
chmod 700 "$dir"
conf="$dir/softhsm2.conf"
cat > "$conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
slots.mechanisms = ALL
library.reset_on_fork = false
CONF
export SOFTHSM2_CONF="$conf"

slots="$(softhsm2-util --show-slots 2>/dev/null || true)"
if ! grep -q "Label: *$label *\$" <<<"$slots"; then
  echo "setup-softhsm: initialising token '$label' in $dir/tokens" >&2
  softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$pin" >&2
fi

cat <<ENV
export SOFTHSM2_CONF='$conf'
export SECTORCRYPT_PKCS11_MODULE='$module'
export SECTORCRYPT_PKCS11_TOKEN='$label'
export SECTORCRYPT_PKCS11_PIN='$pin'
ENV
