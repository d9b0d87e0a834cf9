/* Argument checks shared by the XTS (xts.c) and HCTR2 (hctr2.c) entry points, so each rule
 * and the order of its return codes has one home. Each caller checks its own key and tier
 * first. */
#include "internal.h"

/* A buffer of len bytes at p that would run past the end of the address space. */
static int wraps(const void *p, size_t len)
{
    return (uintptr_t)p > UINTPTR_MAX - len;
}

static int ranges_overlap(const void *p, size_t p_len, const void *q, size_t q_len)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a < b + q_len && b < a + p_len;
}

/* In place (in == out) is fine; any other overlap would read already-written output. Output
 * over the key itself is refused too: the kernels keep round keys in registers across
 * their stores (the key pointer is restrict). */
static int overlaps(const void *key, size_t key_size, const uint8_t *in, const uint8_t *out, size_t total)
{
    if (ranges_overlap(out, total, key, key_size))
        return 1;
    return in != out && ranges_overlap(in, total, out, total);
}

int sc_check_unit_len(size_t len)
{
    return len < 16 || len > SC_MAX_UNIT_BYTES ? SC_E_LENGTH : SC_OK;
}

int sc_check_buffers(const void *key, size_t key_size, const uint8_t *in, const uint8_t *out, size_t len)
{
    if (wraps(in, len) || wraps(out, len))
        return SC_E_LENGTH;
    return overlaps(key, key_size, in, out, len) ? SC_E_OVERLAP : SC_OK;
}

int sc_check_units(const void *key, size_t key_size, const uint8_t *in, const uint8_t *out,
                   size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    int rc = sc_check_unit_len(unit_len);
    if (rc || count == 0)
        return rc;
    if (!in || !out)
        return SC_E_NULL;
    if (count > SIZE_MAX / unit_len || wraps(in, count * unit_len) || wraps(out, count * unit_len))
        return SC_E_LENGTH;
    /* The last IV, first_iv + (count - 1) * iv_step, must fit in plain64's 64 bits. */
    if (iv_step == 0 || (count > 1 && (count - 1 > UINT64_MAX / iv_step
                                       || (count - 1) * iv_step > UINT64_MAX - first_iv)))
        return SC_E_RANGE;
    return overlaps(key, key_size, in, out, count * unit_len) ? SC_E_OVERLAP : SC_OK;
}
