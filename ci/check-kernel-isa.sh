#!/usr/bin/env bash
# Proves the per-tier instruction sets in the shipped library: the AES-NI tier and the
# tier-neutral code (dispatch, key schedule, self-test) contain no ymm or zmm instruction,
# the VAES-256 tier no zmm, so each runs on any CPU its tier is chosen for; and that it holds
# product code only: no benchmark entry point (the AES ceilings live in
# libsectorcrypt_bench.so, built by the benchmarks module). The HCTR2 tiers follow the same
# rules (their functions are named *_hctr2_aesni, *_hctr2_vaes256, *_hctr2_vaes512); the
# HCTR2 AES-NI tier must use AES-NI and PCLMULQDQ and no VEX/EVEX instruction at all (it is
# chosen on CPUs without AVX), the HCTR2 VAES tiers vaesenc and vpclmulqdq at their width;
# and the public HCTR2 and XTS entry points must be exported.
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
# No EVEX either (AVX-512VL on ymm, e.g. vpternlogd, or ymm16-31): the VAES-256 tiers run on CPUs
# with VAES and AVX2 but no AVX-512 (Zen 3, Alder Lake). In 64-bit code an instruction whose first
# byte after any segment or address-size prefix is 0x62 is EVEX.
evex_in_256=$(objdump -d "$lib" | awk '/^[0-9a-f]+ <.*>:$/ { fn = $2; next }
  fn ~ /vaes256/ && /^ *[0-9a-f]+:\t/ { split($0, f, "\t"); if (f[2] ~ /^((2e|36|3e|26|64|65|67) )*62 / && f[3] != "") print fn "\t" f[3] }' | head -5 || true)
if [ -n "$evex_in_256" ]; then echo "check-kernel-isa: EVEX instructions in the VAES-256 tiers:"; echo "$evex_in_256"; fail=1; fi
for tier in aesni vaes256 vaes512; do
  n=$(grep -cE "<[^>]*${tier}[^>]*>.*aesenc" /tmp/sc-isa.$$ || true)
  [ "$n" -gt 0 ] || { echo "check-kernel-isa: no aesenc found in the $tier tier (symbols renamed?)"; fail=1; }
done
bench=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | grep -E '^sc_bench_|^scb_' || true)
if [ -n "$bench" ]; then echo "check-kernel-isa: benchmark symbols exported by $lib:"; echo "$bench"; fail=1; fi
z=$(grep -cE '<[^>]*vaes512[^>]*>.*vaesenc.*%zmm' /tmp/sc-isa.$$ || true)
[ "$z" -gt 0 ] || { echo "check-kernel-isa: the VAES-512 tier has no zmm vaesenc"; fail=1; }
for insn in aesenc pclmul; do
  n=$(grep -cE "<[^>]*hctr2[^>]*aesni[^>]*>.*${insn}" /tmp/sc-isa.$$ || true)
  [ "$n" -gt 0 ] || { echo "check-kernel-isa: no $insn in the HCTR2 AES-NI tier (symbols renamed?)"; fail=1; }
done
for w in 256:ymm 512:zmm; do
  for insn in vaesenc vpclmul; do
    n=$(grep -cE "<[^>]*hctr2_vaes${w%%:*}[^>]*>.*${insn}.*%${w##*:}" /tmp/sc-isa.$$ || true)
    [ "$n" -gt 0 ] || { echo "check-kernel-isa: no ${w##*:} $insn in the HCTR2 VAES-${w%%:*} tier"; fail=1; }
  done
done
# Any mnemonic starting with v is VEX or EVEX encoded (vpxor, vaesenc, vmovdqu64, ...).
vex_in_hctr2=$(grep -E '<[^>]*hctr2[^>]*>' /tmp/sc-isa.$$ | grep -v -E '<[^>]*(vaes256|vaes512)[^>]*>' | awk -F'\t' '{ print $1 "\t" $NF }' | grep -E '\sv[a-z0-9]+(\s|$)' | head -5 || true)
if [ -n "$vex_in_hctr2" ]; then echo "check-kernel-isa: VEX/EVEX instructions in the HCTR2 AES-NI code:"; echo "$vex_in_hctr2"; fail=1; fi
exports=$(nm -D --defined-only "$lib" | awk '{ print $NF }')
for sym in sc_xts_key_expand sc_xts_encrypt_units sc_xts_decrypt_units sc_xts_encrypt_unit sc_xts_decrypt_unit \
           sc_hctr2_key_expand sc_hctr2_key_wipe sc_hctr2_key_size sc_hctr2_key_align \
           sc_hctr2_encrypt sc_hctr2_decrypt sc_hctr2_encrypt_units sc_hctr2_decrypt_units; do
  grep -qx "$sym" <<<"$exports" || { echo "check-kernel-isa: $sym is not exported"; fail=1; }
done
[ $fail -eq 0 ] && echo "check-kernel-isa: ok (AES-NI tier and common code xmm-only; VAES-256 ymm without EVEX; VAES-512 zmm; HCTR2 AES-NI+PCLMULQDQ without VEX, HCTR2 VAES tiers at their width; entry points exported; no sc_bench_* export)"
exit $fail
