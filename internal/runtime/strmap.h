#ifndef DHG_RUNTIME_STRMAP_H
#define DHG_RUNTIME_STRMAP_H

#include <stddef.h>

/*
 * Module-private string-keyed hash map used by the runtime (workqueue, rate limiter,
 * recorder). Keys are copied; values are borrowed pointers. Not thread-safe: callers hold
 * their own lock.
 */
typedef struct rt__strmap_entry {
	char *key;
	void *value;
	struct rt__strmap_entry *next;
} rt__strmap_entry;

typedef struct rt__strmap {
	rt__strmap_entry **buckets;
	size_t nbuckets, len;
} rt__strmap;

#define RT__STRMAP_INIT { NULL, 0, 0 }

/* The value stored under key, or NULL. */
void *rt__strmap_get(const rt__strmap *m, const char *key);
/* Inserts or replaces. Returns 0 or DHG_ENOMEM. */
int rt__strmap_put(rt__strmap *m, const char *key, void *value);
/* Removes key; returns the value that was stored (or NULL). */
void *rt__strmap_del(rt__strmap *m, const char *key);
/* Calls fn for every entry (the map must not change during the walk). */
void rt__strmap_each(const rt__strmap *m, void (*fn)(const char *key, void *value, void *payload),
		     void *payload);
/* Frees the map's memory (not the values). */
void rt__strmap_dispose(rt__strmap *m);

#endif
