#!/usr/bin/env bash
# Proves the per-tier instruction sets in the shipped library: the AES-NI tier and the
# tier-neutral code (dispatch, key schedule, self-test) contain no ymm or zmm instruction,
# the VAES-256 tier no zmm, so each runs on any CPU its tier is chosen for; and that it holds
# product code only: no benchmark entry point (the AES ceilings live in
# libsectorcrypt_bench.so, built by the benchmarks module).
set -euo pipefail
cd "$(dirname "$0")/.."
lib=java/target/classes/native/linux-x86_64/libsectorcrypt.so
[ -f "$lib" ] || { echo "check-kernel-isa: $lib is missing; build first" >&2; exit 1; }
# One line per instruction, prefixed with the function it belongs to.
objdump -d --no-show-raw-insn "$lib" | awk '/^[0-9a-f]+ <.*>:$/ { fn = $2; next } NF { print fn "\t" $0 }' > /tmp/sc-isa.$$
trap 'rm -f /tmp/sc-isa.$$' EXIT
fail=0
wide_outside=$(grep -v -E '<[^>]*(vaes256|vaes512)[^>]*>' /tmp/sc-isa.$$ | grep -E '%[yz]mm' | head -5 || true)
if [ -n "$wide_outside" ]; then echo "check-kernel-isa: ymm/zmm outside the VAES tiers:"; echo "$wide_outside"; fail=1; fi
zmm_in_256=$(grep -E '<[^>]*vaes256[^>]*>' /tmp/sc-isa.$$ | grep -E '%zmm' | head -5 || true)
if [ -n "$zmm_in_256" ]; then echo "check-kernel-isa: zmm in the VAES-256 tier:"; echo "$zmm_in_256"; fail=1; fi
for tier in aesni vaes256 vaes512; do
  n=$(grep -cE "<[^>]*${tier}[^>]*>.*aesenc" /tmp/sc-isa.$$ || true)
  [ "$n" -gt 0 ] || { echo "check-kernel-isa: no aesenc found in the $tier tier (symbols renamed?)"; fail=1; }
done
bench=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | grep -E '^sc_bench_|^scb_' || true)
if [ -n "$bench" ]; then echo "check-kernel-isa: benchmark symbols exported by $lib:"; echo "$bench"; fail=1; fi
z=$(grep -cE '<[^>]*vaes512[^>]*>.*vaesenc.*%zmm' /tmp/sc-isa.$$ || true)
[ "$z" -gt 0 ] || { echo "check-kernel-isa: the VAES-512 tier has no zmm vaesenc"; fail=1; }
[ $fail -eq 0 ] && echo "check-kernel-isa: ok (AES-NI tier and common code xmm-only; VAES-256 ymm; VAES-512 zmm; no sc_bench_* export)"
exit $fail
