#ifndef DHG_UTIL_POOL_H
#define DHG_UTIL_POOL_H

/*
 * A small-block allocator for short-lived processes (the dhg CLI installs it for jansson
 * with json_set_alloc_funcs). Blocks come in size classes (16-byte steps up to 256 bytes,
 * then four classes per power of two up to 8 KiB); each class has a free list and a bump
 * region per thread, carved from 64 KiB spans of one class each, themselves carved from
 * big mmap'ed regions. Nothing is coalesced and no memory goes back to the OS before the
 * process exits: a freed block only becomes reusable for its own class. Blocks above 8 KiB
 * are one posix_memalign() allocation each, returned to libc when freed.
 *
 * Thread-safe: every thread allocates from and frees into its own cache (no locking on
 * the fast paths); a block may be freed by any thread. Spans are handed out under one
 * mutex. When a thread exits, its free lists go to a shared list that other threads draw
 * from before taking new spans.
 *
 * Memory from the pool is invisible to valgrind's and ASan's leak checks: builds and runs
 * that check leaks use plain malloc instead (see cmd/dhg/main.c, DHG_ALLOC).
 */

#include <stddef.h>

/* Every block is aligned to this. */
#define DHG_POOL_ALIGN 16
/* Largest size served from a size class; bigger blocks use posix_memalign. */
#define DHG_POOL_MAX_SMALL 8192

/* A block of at least size bytes (1 byte for 0), aligned to DHG_POOL_ALIGN; NULL when out
 * of memory (errno ENOMEM; dhg_error_last() is not touched: jansson calls this). Free it
 * with dhg_pool_free(), never with free(). Thread-safe. */
void *dhg_pool_malloc(size_t size);

/* Returns a block from dhg_pool_malloc() to the calling thread's cache. NULL is ignored.
 * Aborts on a pointer the pool did not hand out (a programming error). Thread-safe. */
void dhg_pool_free(void *p);

/* The usable size of a block (its size class), 0 for NULL. */
size_t dhg_pool_block_size(const void *p);

/* Bytes of spans handed out to threads so far (not counting big blocks): grows only when
 * no free block of a class is left anywhere. Thread-safe. */
size_t dhg_pool_span_bytes(void);

#endif
