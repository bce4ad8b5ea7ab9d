#include "controller/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/object.h"
#include "runtime/strmap.h" /* the runtime's small string map, reused here */
#include "util/error.h"
#include "util/str.h"

typedef struct entry {
	char *key;
	char *namespaces[HC_MAX_NAMESPACES];
	size_t nns;
	bool kinds[HC_MAX_KINDS];
	kube_selector *sel;
	struct {
		char *kind, *name, *ns;
	} *ex;
	size_t nex;
	long long debounce_ms;
} entry;

typedef struct bucket {
	entry **items;
	size_t len, cap;
} bucket;

struct hc_index {
	pthread_rwlock_t lock;
	rt__strmap entries; /* key -> entry */
	rt__strmap buckets; /* "ns\x1f<kind index>" -> bucket */
	atomic_ulong evaluations;
};

int hc_index_new(hc_index **out)
{
	hc_index *ix = calloc(1, sizeof(*ix));
	*out = NULL;
	if (!ix)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating the HelmChart index");
	pthread_rwlock_init(&ix->lock, NULL);
	*out = ix;
	return 0;
}

static void entry_free(entry *e)
{
	if (!e)
		return;
	free(e->key);
	for (size_t i = 0; i < e->nns; i++)
		free(e->namespaces[i]);
	for (size_t i = 0; i < e->nex; i++) {
		free(e->ex[i].kind);
		free(e->ex[i].name);
		free(e->ex[i].ns);
	}
	free(e->ex);
	kube_selector_free(e->sel);
	free(e);
}

static void bucket_key(char *buf, size_t size, const char *ns, int kind)
{
	snprintf(buf, size, "%s\x1f%d", ns, kind);
}

static void unlink_entry(hc_index *ix, entry *e)
{
	char bk[128];
	for (size_t n = 0; n < e->nns; n++)
		for (int k = 0; k < HC_MAX_KINDS; k++) {
			if (!e->kinds[k])
				continue;
			bucket_key(bk, sizeof(bk), e->namespaces[n], k);
			bucket *b = rt__strmap_get(&ix->buckets, bk);
			if (!b)
				continue;
			for (size_t i = 0; i < b->len; i++)
				if (b->items[i] == e) {
					b->items[i] = b->items[--b->len];
					break;
				}
			if (!b->len) {
				rt__strmap_del(&ix->buckets, bk);
				free(b->items);
				free(b);
			}
		}
}

static int link_entry(hc_index *ix, entry *e)
{
	char bk[128];
	for (size_t n = 0; n < e->nns; n++)
		for (int k = 0; k < HC_MAX_KINDS; k++) {
			if (!e->kinds[k])
				continue;
			bucket_key(bk, sizeof(bk), e->namespaces[n], k);
			bucket *b = rt__strmap_get(&ix->buckets, bk);
			if (!b) {
				if (!(b = calloc(1, sizeof(*b))) || rt__strmap_put(&ix->buckets, bk, b) < 0) {
					free(b);
					return DHG_ENOMEM;
				}
			}
			if (b->len == b->cap) {
				size_t nc = b->cap ? b->cap * 2 : 4;
				entry **ni = realloc(b->items, nc * sizeof(*ni));
				if (!ni)
					return DHG_ENOMEM;
				b->items = ni;
				b->cap = nc;
			}
			b->items[b->len++] = e;
		}
	return 0;
}

void hc_index_remove(hc_index *ix, const char *key)
{
	entry *e;
	pthread_rwlock_wrlock(&ix->lock);
	e = rt__strmap_del(&ix->entries, key);
	if (e)
		unlink_entry(ix, e);
	pthread_rwlock_unlock(&ix->lock);
	entry_free(e);
}

int hc_index_set_take(hc_index *ix, const char *key, hc_spec *s)
{
	entry *e;
	int error = 0;

	if (!s->cluster || !s->auto_sync || s->suspend) {
		hc_index_remove(ix, key);
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = dhg_strdup(key)))
		goto oom;
	for (size_t i = 0; i < s->nnamespaces; i++) {
		if (!(e->namespaces[i] = dhg_strdup(s->namespaces[i])))
			goto oom;
		e->nns++;
	}
	memcpy(e->kinds, s->kind_enabled, sizeof(e->kinds));
	if (s->nexcludes && !(e->ex = calloc(s->nexcludes, sizeof(*e->ex))))
		goto oom;
	for (size_t i = 0; i < s->nexcludes; i++) {
		e->ex[i].kind = dhg_strdup(s->excludes[i].kind);
		e->ex[i].name = dhg_strdup(s->excludes[i].name);
		e->ex[i].ns = s->excludes[i].ns ? dhg_strdup(s->excludes[i].ns) : NULL;
		e->nex++;
		if (!e->ex[i].kind || !e->ex[i].name)
			goto oom;
	}
	e->debounce_ms = s->debounce_ms;
	e->sel = s->selector;
	s->selector = NULL;

	pthread_rwlock_wrlock(&ix->lock);
	entry *old = rt__strmap_del(&ix->entries, key);
	if (old)
		unlink_entry(ix, old);
	if ((error = rt__strmap_put(&ix->entries, key, e)) == 0 && (error = link_entry(ix, e)) < 0) {
		unlink_entry(ix, e);
		rt__strmap_del(&ix->entries, key);
	}
	pthread_rwlock_unlock(&ix->lock);
	entry_free(old);
	if (error < 0) {
		entry_free(e);
		return dhg_error_set(DHG_ENOMEM, "out of memory indexing HelmChart %s", key);
	}
	return 0;
oom:
	entry_free(e);
	return dhg_error_set(DHG_ENOMEM, "out of memory indexing HelmChart %s", key);
}

static bool excluded(const entry *e, const char *kind, const char *name, const char *ns)
{
	for (size_t i = 0; i < e->nex; i++)
		if (strcmp(e->ex[i].kind, kind) == 0 && strcmp(e->ex[i].name, name) == 0 &&
		    (!e->ex[i].ns || strcmp(e->ex[i].ns, ns) == 0))
			return true;
	return false;
}

int hc_index_match(hc_index *ix, const json_t *obj, int kind, hc_index_match_cb cb, void *payload)
{
	char bk[128];
	int n = 0;
	const char *ns = kube_object_namespace(obj), *name = kube_object_name(obj);
	if (kind < 0 || kind >= HC_MAX_KINDS || !hc_kinds[kind].kind)
		return 0;
	bucket_key(bk, sizeof(bk), ns, kind);
	pthread_rwlock_rdlock(&ix->lock);
	bucket *b = rt__strmap_get(&ix->buckets, bk);
	for (size_t i = 0; b && i < b->len; i++) {
		entry *e = b->items[i];
		atomic_fetch_add(&ix->evaluations, 1);
		if (!kube_selector_matches_object(e->sel, obj) || excluded(e, hc_kinds[kind].kind, name, ns))
			continue;
		cb(e->key, e->debounce_ms, payload);
		n++;
	}
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

unsigned long hc_index_evaluations(hc_index *ix)
{
	return atomic_load(&ix->evaluations);
}

size_t hc_index_len(hc_index *ix)
{
	size_t n;
	pthread_rwlock_rdlock(&ix->lock);
	n = ix->entries.len;
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

static void free_entry_cb(const char *k, void *v, void *p)
{
	(void)k;
	(void)p;
	entry_free(v);
}

static void free_bucket_cb(const char *k, void *v, void *p)
{
	(void)k;
	(void)p;
	bucket *b = v;
	free(b->items);
	free(b);
}

void hc_index_free(hc_index *ix)
{
	if (!ix)
		return;
	rt__strmap_each(&ix->entries, free_entry_cb, NULL);
	rt__strmap_each(&ix->buckets, free_bucket_cb, NULL);
	rt__strmap_dispose(&ix->entries);
	rt__strmap_dispose(&ix->buckets);
	pthread_rwlock_destroy(&ix->lock);
	free(ix);
}

static json_t *content_copy(const json_t *o)
{
	json_t *c = json_deep_copy(o), *md;
	if (!c)
		return NULL;
	json_object_del(c, "status");
	md = json_object_get(c, "metadata");
	if (json_is_object(md)) {
		json_object_del(md, "resourceVersion");
		json_object_del(md, "managedFields");
		json_object_del(md, "generation");
	}
	return c;
}

bool hc_object_changed(const json_t *a, const json_t *b)
{
	json_t *ca = content_copy(a), *cb = content_copy(b);
	bool changed = !ca || !cb || !json_equal(ca, cb);
	json_decref(ca);
	json_decref(cb);
	return changed;
}
