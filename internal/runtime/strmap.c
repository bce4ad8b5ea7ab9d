#include "runtime/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/str.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void *rt__strmap_get(const rt__strmap *m, const char *key)
{
	if (!m->nbuckets)
		return NULL;
	for (rt__strmap_entry *e = m->buckets[hash_str(key) % m->nbuckets]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->value;
	return NULL;
}

static int grow(rt__strmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	rt__strmap_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return dhg_error_set(DHG_ENOMEM, "out of memory growing a map");
	for (size_t i = 0; i < m->nbuckets; i++) {
		rt__strmap_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t j = hash_str(e->key) % n;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int rt__strmap_put(rt__strmap *m, const char *key, void *value)
{
	rt__strmap_entry *e;
	size_t i;

	if (m->nbuckets) {
		for (e = m->buckets[hash_str(key) % m->nbuckets]; e; e = e->next)
			if (strcmp(e->key, key) == 0) {
				e->value = value;
				return 0;
			}
	}
	if ((m->len + 1) * 4 > m->nbuckets * 3 && grow(m) < 0)
		return DHG_ENOMEM;
	e = malloc(sizeof(*e));
	if (!e)
		return dhg_error_set(DHG_ENOMEM, "out of memory adding a map entry");
	e->key = dhg_strdup(key);
	if (!e->key) {
		free(e);
		return DHG_ENOMEM;
	}
	e->value = value;
	i = hash_str(key) % m->nbuckets;
	e->next = m->buckets[i];
	m->buckets[i] = e;
	m->len++;
	return 0;
}

void *rt__strmap_del(rt__strmap *m, const char *key)
{
	if (!m->nbuckets)
		return NULL;
	rt__strmap_entry **pp = &m->buckets[hash_str(key) % m->nbuckets];
	for (; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			rt__strmap_entry *e = *pp;
			void *v = e->value;
			*pp = e->next;
			free(e->key);
			free(e);
			m->len--;
			return v;
		}
	}
	return NULL;
}

void rt__strmap_each(const rt__strmap *m, void (*fn)(const char *key, void *value, void *payload),
		     void *payload)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (rt__strmap_entry *e = m->buckets[i]; e; e = e->next)
			fn(e->key, e->value, payload);
}

void rt__strmap_dispose(rt__strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		rt__strmap_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->len = 0;
}
