/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * typed.c - integer accessors and atomics on guest memory.
 *
 * A naturally aligned value inside one region is moved with one relaxed
 * __atomic load or store: a single instruction of the value's width, so the
 * guest never sees it torn (vm-memory's CVE-2020-13759 came from copying
 * such values byte by byte).  Regions keep host % 8 == gpa % 8, so guest
 * alignment implies host alignment.  Anything else goes through the checked
 * bulk path (gmem_read/gmem_write), which handles straddling and holes
 * all-or-nothing.
 */
#include "dirty.h"

#include <string.h>

/*
 * Host pointer for a size-byte value at gpa when it lies in one region with
 * the needed access.  Returns 0 and sets *host, or 1 when the value leaves
 * gpa's region (caller takes the bulk path), or a negative error.
 */
static inline int typed_host(const struct gmem_map *m, uint64_t gpa,
			     uint64_t size, unsigned access, uint8_t **host,
			     const struct gmem_slot **slot)
{
	const struct gmem_slot *s;
	size_t i;

	if (unlikely(gmem_range_check(gpa, size)))
		return -EOVERFLOW;
	i = gmem__lookup(m, gpa);
	if (unlikely(i == GMEM_NO_SLOT))
		return -EFAULT;
	s = &m->hot.slots[i];
	if (unlikely(size - 1 > gmem__slot_tail_m1(s, gpa)))
		return 1;
	if ((access & GMEM_ACCESS_WRITE) && unlikely(!gmem__slot_writable(s)))
		return -EACCES;
	*host = gmem__slot_host(s, gpa);
	*slot = s;
	return 0;
}

#define GMEM_ALIGNED(p, size) (((uintptr_t)(p) & ((size) - 1)) == 0)

#define DEFINE_LOAD(name, type)                                                \
	static inline int name(const gmem_map *m, uint64_t gpa, type *out)     \
	{                                                                      \
		const struct gmem_slot *s;                                     \
		uint8_t *h;                                                    \
		int err;                                                       \
                                                                               \
		if (unlikely(!m || !out))                                      \
			return -EINVAL;                                        \
		err = typed_host(m, gpa, sizeof(type), GMEM_ACCESS_READ, &h,   \
				 &s);                                          \
		if (likely(err == 0)) {                                        \
			if (likely(GMEM_ALIGNED(h, sizeof(type))))             \
				*out = __atomic_load_n((type *)(void *)h,      \
						       __ATOMIC_RELAXED);      \
			else                                                   \
				memcpy(out, h, sizeof(type));                  \
			return 0;                                              \
		}                                                              \
		if (err < 0)                                                   \
			return err;                                            \
		return gmem_read(m, gpa, out, sizeof(type));                   \
	}

#define DEFINE_STORE(name, type)                                               \
	static inline int name(const gmem_map *m, uint64_t gpa, type val)      \
	{                                                                      \
		const struct gmem_slot *s;                                     \
		uint8_t *h;                                                    \
		int err;                                                       \
                                                                               \
		if (unlikely(!m))                                              \
			return -EINVAL;                                        \
		err = typed_host(m, gpa, sizeof(type), GMEM_ACCESS_WRITE, &h,  \
				 &s);                                          \
		if (likely(err == 0)) {                                        \
			if (likely(GMEM_ALIGNED(h, sizeof(type))))             \
				__atomic_store_n((type *)(void *)h, val,       \
						 __ATOMIC_RELAXED);            \
			else                                                   \
				memcpy(h, &val, sizeof(type));                 \
			gmem__slot_mark(s, gpa, sizeof(type));                 \
			return 0;                                              \
		}                                                              \
		if (err < 0)                                                   \
			return err;                                            \
		return gmem_write(m, gpa, &val, sizeof(type));                 \
	}

DEFINE_LOAD(load8, uint8_t)
DEFINE_LOAD(load16, uint16_t)
DEFINE_LOAD(load32, uint32_t)
DEFINE_LOAD(load64, uint64_t)
DEFINE_STORE(store8, uint8_t)
DEFINE_STORE(store16, uint16_t)
DEFINE_STORE(store32, uint32_t)
DEFINE_STORE(store64, uint64_t)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define to_le16(x) (x)
#define to_le32(x) (x)
#define to_le64(x) (x)
#define to_be16(x) __builtin_bswap16(x)
#define to_be32(x) __builtin_bswap32(x)
#define to_be64(x) __builtin_bswap64(x)
#else
#define to_le16(x) __builtin_bswap16(x)
#define to_le32(x) __builtin_bswap32(x)
#define to_le64(x) __builtin_bswap64(x)
#define to_be16(x) (x)
#define to_be32(x) (x)
#define to_be64(x) (x)
#endif

/* Public wrappers: host order, little endian, big endian. */
#define DEFINE_TYPED(suffix, type, load, store, conv)                          \
	GMEM_EXPORT int gmem_read_##suffix(const gmem_map *map, uint64_t gpa,  \
					   type *out)                          \
	{                                                                      \
		type v;                                                        \
		int err = load(map, gpa, out ? &v : NULL);                     \
                                                                               \
		if (err == 0)                                                  \
			*out = (type)conv(v);                                  \
		return err;                                                    \
	}                                                                      \
	GMEM_EXPORT int gmem_write_##suffix(const gmem_map *map, uint64_t gpa, \
					    type val)                          \
	{                                                                      \
		return store(map, gpa, (type)conv(val));                       \
	}

#define NOCONV(x) (x)
DEFINE_TYPED(u8, uint8_t, load8, store8, NOCONV)
DEFINE_TYPED(u16, uint16_t, load16, store16, NOCONV)
DEFINE_TYPED(u32, uint32_t, load32, store32, NOCONV)
DEFINE_TYPED(u64, uint64_t, load64, store64, NOCONV)
DEFINE_TYPED(le16, uint16_t, load16, store16, to_le16)
DEFINE_TYPED(le32, uint32_t, load32, store32, to_le32)
DEFINE_TYPED(le64, uint64_t, load64, store64, to_le64)
DEFINE_TYPED(be16, uint16_t, load16, store16, to_be16)
DEFINE_TYPED(be32, uint32_t, load32, store32, to_be32)
DEFINE_TYPED(be64, uint64_t, load64, store64, to_be64)

/*
 * Host pointer for an atomic word: gpa must be aligned to the word size,
 * which also means the word cannot run past 2^64.
 */
static inline int atomic_host(const struct gmem_map *m, uint64_t gpa,
			      uint64_t size, unsigned access, uint8_t **host,
			      const struct gmem_slot **slot)
{
	int err;

	if (unlikely(!m || (gpa & (size - 1)) != 0))
		return -EINVAL;
	err = typed_host(m, gpa, size, access, host, slot);
	if (unlikely(err > 0))
		return -EFAULT; /* the word leaves its region */
	if (likely(err == 0) && unlikely(!GMEM_ALIGNED(*host, size)))
		return -EINVAL; /* unreachable while regions keep host%8==gpa%8 */
	return err;
}

#define DEFINE_ATOMICS(bits)                                                   \
	GMEM_EXPORT int gmem_atomic_load_u##bits(const gmem_map *map,          \
						 uint64_t gpa,                 \
						 uint##bits##_t *out)          \
	{                                                                      \
		const struct gmem_slot *s;                                     \
		uint8_t *h;                                                    \
		int err;                                                       \
                                                                               \
		if (!out)                                                      \
			return -EINVAL;                                        \
		err = atomic_host(map, gpa, bits / 8, GMEM_ACCESS_READ, &h,    \
				  &s);                                         \
		if (err == 0)                                                  \
			*out = __atomic_load_n((uint##bits##_t *)(void *)h,    \
					       __ATOMIC_SEQ_CST);              \
		return err;                                                    \
	}                                                                      \
	GMEM_EXPORT int gmem_atomic_store_u##bits(const gmem_map *map,         \
						  uint64_t gpa,                \
						  uint##bits##_t val)          \
	{                                                                      \
		const struct gmem_slot *s;                                     \
		uint8_t *h;                                                    \
		int err = atomic_host(map, gpa, bits / 8, GMEM_ACCESS_WRITE,   \
				      &h, &s);                                 \
                                                                               \
		if (err)                                                       \
			return err;                                            \
		__atomic_store_n((uint##bits##_t *)(void *)h, val,             \
				 __ATOMIC_SEQ_CST);                            \
		gmem__slot_mark(s, gpa, bits / 8);                             \
		return 0;                                                      \
	}                                                                      \
	GMEM_EXPORT int gmem_atomic_cmpxchg_u##bits(                           \
		const gmem_map *map, uint64_t gpa, uint##bits##_t *expected,   \
		uint##bits##_t desired)                                        \
	{                                                                      \
		const struct gmem_slot *s;                                     \
		uint8_t *h;                                                    \
		int err;                                                       \
                                                                               \
		if (!expected)                                                 \
			return -EINVAL;                                        \
		err = atomic_host(map, gpa, bits / 8, GMEM_ACCESS_RW, &h, &s); \
		if (err)                                                       \
			return err;                                            \
		if (!__atomic_compare_exchange_n((uint##bits##_t *)(void *)h,  \
						 expected, desired, 0,         \
						 __ATOMIC_SEQ_CST,             \
						 __ATOMIC_SEQ_CST))            \
			return -EAGAIN;                                        \
		gmem__slot_mark(s, gpa, bits / 8);                             \
		return 0;                                                      \
	}                                                                      \
	DEFINE_RMW(bits, add)                                                  \
	DEFINE_RMW(bits, or)                                                   \
	DEFINE_RMW(bits, and)

#define DEFINE_RMW(bits, op)                                                   \
	GMEM_EXPORT int gmem_atomic_fetch_##op##_u##bits(                      \
		const gmem_map *map, uint64_t gpa, uint##bits##_t val,         \
		uint##bits##_t *old)                                           \
	{                                                                      \
		const struct gmem_slot *s;                                     \
		uint##bits##_t prev;                                           \
		uint8_t *h;                                                    \
		int err = atomic_host(map, gpa, bits / 8, GMEM_ACCESS_RW, &h,  \
				      &s);                                     \
                                                                               \
		if (err)                                                       \
			return err;                                            \
		prev = __atomic_fetch_##op((uint##bits##_t *)(void *)h, val,   \
					   __ATOMIC_SEQ_CST);                  \
		gmem__slot_mark(s, gpa, bits / 8);                             \
		if (old)                                                       \
			*old = prev;                                           \
		return 0;                                                      \
	}

DEFINE_ATOMICS(16)
DEFINE_ATOMICS(32)
DEFINE_ATOMICS(64)
