#!/usr/bin/env bash
# Installs what the build and tests need, if missing (idempotent; CI runs it on a fresh machine as root).
set -euo pipefail
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
command -v objdump >/dev/null || missing+=(binutils)
ldconfig -p 2>/dev/null | grep -q 'libcrypto.so.3' || missing+=(libssl3)
command -v cryptsetup >/dev/null || [ -x /usr/sbin/cryptsetup ] || missing+=(cryptsetup-bin)
# Real NBD clients for ci/check-nbd.sh and ci/check-nbd-fs.sh (nbdkit for the comparisons
# issue 12 asks for next).
command -v nbdcopy >/dev/null || missing+=(libnbd-bin)
command -v nbdkit >/dev/null || missing+=(nbdkit)
command -v fio >/dev/null || missing+=(fio)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
command -v qemu-storage-daemon >/dev/null || missing+=(qemu-system-common)
# ci/check-nbd-fs.sh: ext4 on a loop device over qemu-storage-daemon's FUSE export.
[ -x /sbin/mkfs.ext4 ] || [ -x /usr/sbin/mkfs.ext4 ] || missing+=(e2fsprogs)
[ -x /sbin/losetup ] || [ -x /usr/sbin/losetup ] || missing+=(mount)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci/setup.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
