/* memcpy and memmove for the static musl build of rsops (x86_64), linked ahead of musl's.
 *
 * Why: musl's x86_64 memcpy is `rep movsq` with byte loops around it. Its start-up cost is
 * paid on every call, and the values of a SOPS file make millions of short copies (keys,
 * values, AES-GCM's partial blocks): on the 100,000-value YAML, memcpy was 17% of the
 * CPU time, against 3% for glibc's. These copy short lengths with a few overlapping
 * unaligned loads and stores, longer ones 32 bytes at a time, and long forward copies with
 * `rep movsb`. memmove is here too because musl's memmove reaches into musl's memcpy
 * object (`__memcpy_fwd`), which would then clash with this memcpy.
 *
 * Every load of a step happens before its stores, so the same code serves memmove: the
 * forward path for a destination below the source, the backward path otherwise.
 * build.rs compiles this with -ffreestanding and -fno-tree-loop-distribute-patterns, so the
 * compiler cannot turn a loop here back into a call to memcpy. Tested by
 * `musl_copies_match_a_byte_loop` in src/main.rs (run by scripts/build-facts).
 */
#include <emmintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t __attribute__((__may_alias__, __aligned__(1))) u64u;
typedef uint32_t __attribute__((__may_alias__, __aligned__(1))) u32u;
typedef uint16_t __attribute__((__may_alias__, __aligned__(1))) u16u;

#define LOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define STORE(p, v) _mm_storeu_si128((__m128i *)(p), (v))

/* n <= 32: loads everything first, then stores, so overlap in either direction is fine. */
static inline void copy_upto_32(unsigned char *d, const unsigned char *s, size_t n)
{
    if (n >= 16) {
        __m128i a = LOAD(s), b = LOAD(s + n - 16);
        STORE(d, a);
        STORE(d + n - 16, b);
    } else if (n >= 8) {
        uint64_t a = *(const u64u *)s, b = *(const u64u *)(s + n - 8);
        *(u64u *)d = a;
        *(u64u *)(d + n - 8) = b;
    } else if (n >= 4) {
        uint32_t a = *(const u32u *)s, b = *(const u32u *)(s + n - 4);
        *(u32u *)d = a;
        *(u32u *)(d + n - 4) = b;
    } else if (n >= 2) {
        uint16_t a = *(const u16u *)s, b = *(const u16u *)(s + n - 2);
        *(u16u *)d = a;
        *(u16u *)(d + n - 2) = b;
    } else if (n == 1) {
        *d = *s;
    }
}

/* n > 32, destination below the source or apart from it. The last 32 source bytes are
 * loaded before anything is stored and stored last. */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    __m128i t0 = LOAD(s + n - 32), t1 = LOAD(s + n - 16);
    unsigned char *tail = d + n - 32;
    size_t body = n - 32;
    while (body >= 32) {
        __m128i a = LOAD(s), b = LOAD(s + 16);
        STORE(d, a);
        STORE(d + 16, b);
        s += 32;
        d += 32;
        body -= 32;
    }
    if (body) {
        /* Fewer than 32 bytes before the tail: one more overlapping step. */
        __m128i a = LOAD(s), b = LOAD(s + 16);
        STORE(d, a);
        STORE(d + 16, b);
    }
    STORE(tail, t0);
    STORE(tail + 16, t1);
}

/* n > 32, destination above the source: from the end down. The first 32 source bytes are
 * loaded before anything is stored and stored last. */
static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
    __m128i h0 = LOAD(s), h1 = LOAD(s + 16);
    unsigned char *head = d;
    const unsigned char *se = s + n;
    unsigned char *de = d + n;
    size_t body = n - 32;
    while (body >= 32) {
        __m128i a = LOAD(se - 32), b = LOAD(se - 16);
        STORE(de - 32, a);
        STORE(de - 16, b);
        se -= 32;
        de -= 32;
        body -= 32;
    }
    if (body) {
        __m128i a = LOAD(se - 32), b = LOAD(se - 16);
        STORE(de - 32, a);
        STORE(de - 16, b);
    }
    STORE(head, h0);
    STORE(head + 16, h1);
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n <= 32) {
        copy_upto_32(d, s, n);
    } else if (n >= 2048) {
        /* Long copies: the CPU's string copy (fast on every x86_64 of the last decade). */
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    } else {
        copy_forward(d, s, n);
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n <= 32) {
        copy_upto_32(d, s, n);
    } else if ((uintptr_t)d - (uintptr_t)s >= n) {
        /* The destination is below the source, or the two do not overlap. */
        copy_forward(d, s, n);
    } else {
        copy_backward(d, s, n);
    }
    return dst;
}
