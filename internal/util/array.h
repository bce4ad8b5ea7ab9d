#ifndef DHG_UTIL_ARRAY_H
#define DHG_UTIL_ARRAY_H

#include <stddef.h>

/* Smallest capacity dhg_array_reserve() allocates (small: many arrays stay tiny, e.g. index sets). */
#define DHG_ARRAY_MIN_CAP 4

/*
 * Makes room for at least `need` elements of `elem_size` bytes in the array *items of capacity
 * *cap (the "grow x2 with realloc" step of every growable array). `items` is the address of the
 * caller's element pointer, cast: `dhg_array_reserve((void **)&v->items, &v->cap, v->n + 1,
 * sizeof(*v->items))`; the pointer may be NULL with *cap 0.
 * When *cap < need, the array is reallocated to max(need, 2 * *cap, DHG_ARRAY_MIN_CAP) elements
 * (no doubling past SIZE_MAX); existing elements are kept, new ones are uninitialised.
 * Returns 0, or DHG_ENOMEM (allocation failed, or the size in bytes would overflow) with a
 * message in dhg_error_last(); on failure *items and *cap are unchanged (still owned by the
 * caller). Thread-safe for distinct arrays.
 */
int dhg_array_reserve(void **items, size_t *cap, size_t need, size_t elem_size);

#endif
