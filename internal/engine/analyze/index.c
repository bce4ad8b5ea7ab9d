/* A string-keyed hash index from keys to lists of node numbers (open addressing, FNV-1a,
 * linear probing, grown at 70% load). Used by the analyzer to keep edge building
 * near-linear. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/analyze/analyze.h"
#include "util/array.h"
#include "util/error.h"

static uint64_t fnv1a(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static engine_graph__slot *find_slot(engine_graph__slot *slots, size_t nslots, const char *key,
				     size_t keylen)
{
	size_t i = (size_t)(fnv1a(key, keylen) & (nslots - 1));
	for (;;) {
		engine_graph__slot *s = &slots[i];
		if (!s->key || (s->keylen == keylen && memcmp(s->key, key, keylen) == 0))
			return s;
		i = (i + 1) & (nslots - 1);
	}
}

static int grow(engine_graph__index *ix)
{
	size_t nslots = ix->nslots ? ix->nslots * 2 : 64;
	engine_graph__slot *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return dhg_error_set(DHG_ENOMEM, "analyze: out of memory growing an index");
	for (size_t i = 0; i < ix->nslots; i++) {
		engine_graph__slot *old = &ix->slots[i];
		if (!old->key)
			continue;
		*find_slot(slots, nslots, old->key, old->keylen) = *old;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->nslots = nslots;
	return 0;
}

int engine_graph__index_add(engine_graph__index *ix, const char *key, size_t keylen, size_t id)
{
	engine_graph__slot *s;

	if ((ix->used + 1) * 10 >= ix->nslots * 7 && grow(ix) < 0)
		return DHG_ENOMEM;
	s = find_slot(ix->slots, ix->nslots, key, keylen);
	if (!s->key) {
		s->key = malloc(keylen + 1);
		if (!s->key)
			return dhg_error_set(DHG_ENOMEM, "analyze: out of memory");
		memcpy(s->key, key, keylen);
		s->key[keylen] = '\0';
		s->keylen = keylen;
		ix->used++;
	}
	if (dhg_array_reserve((void **)&s->ids, &s->cap, s->n + 1, sizeof(*s->ids)) < 0)
		return dhg_error_set(DHG_ENOMEM, "analyze: out of memory");
	s->ids[s->n++] = id;
	return 0;
}

const size_t *engine_graph__index_get(const engine_graph__index *ix, const char *key, size_t keylen,
				      size_t *n)
{
	engine_graph__slot *s;

	*n = 0;
	if (!ix->nslots)
		return NULL;
	s = find_slot(ix->slots, ix->nslots, key, keylen);
	if (!s->key)
		return NULL;
	*n = s->n;
	return s->ids;
}

void engine_graph__index_dispose(engine_graph__index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nslots; i++) {
		free(ix->slots[i].key);
		free(ix->slots[i].ids);
	}
	free(ix->slots);
	ix->slots = NULL;
	ix->nslots = ix->used = 0;
}
