#include "kube/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/object.h"
#include "util/array.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define KEY_MAX 512
#define RV_MAX 128
#define GONE_RC 410   /* watch callback: the stream reported 410 in an ERROR event */
#define ERR_RC 2      /* watch callback: other ERROR event */
#define WATCH_FAILS_BEFORE_RELIST 3

/* ---- a small string-keyed hash map (open addressing, linear probing) -------------- */

#define TOMB ((char *)1)

typedef struct smap {
	char **keys;   /* NULL empty, TOMB deleted */
	void **vals;
	size_t cap, n, used;
	bool owns_keys;
} smap;

static size_t shash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void smap_dispose(smap *m)
{
	if (m->owns_keys)
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i] && m->keys[i] != TOMB)
				free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t smap_find(const smap *m, const char *key)
{
	if (!m->cap)
		return (size_t)-1;
	size_t i = shash(key) & (m->cap - 1);
	for (;;) {
		char *k = m->keys[i];
		if (!k)
			return (size_t)-1;
		if (k != TOMB && strcmp(k, key) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
}

static void *smap_get(const smap *m, const char *key)
{
	size_t i = smap_find(m, key);
	return i == (size_t)-1 ? NULL : m->vals[i];
}

static int smap_grow(smap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	while (m->n * 2 >= ncap)
		ncap *= 2;
	char **nk = calloc(ncap, sizeof(char *));
	void **nv = calloc(ncap, sizeof(void *));
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return DHG_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		char *k = m->keys[i];
		if (!k || k == TOMB)
			continue;
		size_t j = shash(k) & (ncap - 1);
		while (nk[j])
			j = (j + 1) & (ncap - 1);
		nk[j] = k;
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	m->used = m->n;
	return 0;
}

/* Inserts or replaces. With owns_keys the key is copied. */
static int smap_put(smap *m, const char *key, void *val)
{
	size_t i = smap_find(m, key);
	if (i != (size_t)-1) {
		m->vals[i] = val;
		return 0;
	}
	if ((m->used + 1) * 10 >= m->cap * 7 && smap_grow(m) < 0)
		return DHG_ENOMEM;
	char *k = m->owns_keys ? strdup(key) : (char *)key;
	if (!k)
		return DHG_ENOMEM;
	i = shash(key) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != TOMB)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->used++;
	m->keys[i] = k;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static void *smap_del(smap *m, const char *key)
{
	size_t i = smap_find(m, key);
	if (i == (size_t)-1)
		return NULL;
	void *v = m->vals[i];
	if (m->owns_keys)
		free(m->keys[i]);
	m->keys[i] = TOMB;
	m->vals[i] = NULL;
	m->n--;
	return v;
}

/* ---- cache entries ----------------------------------------------------------------- */

/* One cached object, kept as compact JSON text: a decoded jansson tree costs ~10x its text,
 * so the cache decodes on read instead (10,000 typical objects: ~10 MB instead of ~90 MB). */
typedef struct centry {
	char *key;        /* "ns/name" or "name" */
	char *ns;         /* "" for cluster-scoped */
	char *rv;
	char *json;
	size_t len;
	unsigned long gen; /* relist generation that last saw it */
} centry;

typedef struct ptrset {
	centry **v;
	size_t n, cap;
} ptrset;

static void centry_free(centry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->ns);
	free(e->rv);
	free(e->json);
	free(e);
}

struct kube_informer {
	kube_client *client;
	char *group, *version, *resource, *ns, *label_selector, *field_selector;
	kube_informer_options opts;

	pthread_t thread, resync_thread;
	bool started, resync_started;
	atomic_int stop;

	/* cache: key -> centry, ns -> ptrset, "k=v" -> ptrset; written only by the informer
	 * thread, under the write lock */
	pthread_rwlock_t lock;
	smap items, by_ns, by_label;
	unsigned long gen;
	unsigned long changes; /* moves with every cache write (kube_informer_changes) */
	bool relist_needed;    /* an event was lost (out of memory): relist instead of resuming the watch */

	/* handlers run one at a time (watch thread and resync thread) */
	pthread_mutex_t handler_lock;

	/* state: rv, synced, stats */
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	char rv[RV_MAX];
	bool synced;
	bool stopped;
	kube_informer_stats stats;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps up to ms unless stop is requested. Returns true when stopping. */
static bool nap(kube_informer *inf, long ms)
{
	long long end = mono_ms() + ms;
	while (!atomic_load(&inf->stop)) {
		long long left = end - mono_ms();
		if (left <= 0)
			return false;
		struct timespec ts = { 0, (left < 50 ? left : 50) * 1000000L };
		nanosleep(&ts, NULL);
	}
	return true;
}

int kube_informer_new(kube_informer **out, kube_client *client, const kube_informer_options *opts)
{
	if (!opts || !opts->gvr.version || !opts->gvr.resource)
		return dhg_error_set(DHG_EINVALID, "kube informer: gvr.version and gvr.resource are required");
	kube_informer *inf = calloc(1, sizeof(*inf));
	if (!inf)
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	inf->client = client;
	inf->opts = *opts;
	inf->group = dhg_strdup(opts->gvr.group ? opts->gvr.group : "");
	inf->version = dhg_strdup(opts->gvr.version);
	inf->resource = dhg_strdup(opts->gvr.resource);
	inf->ns = dhg_strdup(opts->namespace_ ? opts->namespace_ : "");
	inf->label_selector = dhg_strdup(opts->label_selector ? opts->label_selector : "");
	inf->field_selector = dhg_strdup(opts->field_selector ? opts->field_selector : "");
	inf->by_ns.owns_keys = true;
	inf->by_label.owns_keys = true;
	pthread_rwlock_init(&inf->lock, NULL);
	pthread_mutex_init(&inf->handler_lock, NULL);
	pthread_mutex_init(&inf->state_lock, NULL);
	pthread_cond_init(&inf->state_cond, NULL);
	if (!inf->group || !inf->version || !inf->resource || !inf->ns || !inf->label_selector || !inf->field_selector) {
		kube_informer_free(inf);
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	}
	inf->opts.gvr.group = inf->group;
	inf->opts.gvr.version = inf->version;
	inf->opts.gvr.resource = inf->resource;
	if (inf->opts.watch_timeout_seconds <= 0)
		inf->opts.watch_timeout_seconds = 300;
	if (inf->opts.page_size <= 0)
		inf->opts.page_size = 250; /* bounds the decoded page held during a list (memory) */
	*out = inf;
	return 0;
}

/* ---- cache ------------------------------------------------------------------------- */

static int set_add(smap *idx, const char *name, centry *e)
{
	ptrset *s = smap_get(idx, name);
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return DHG_ENOMEM;
		if (smap_put(idx, name, s) < 0) {
			free(s);
			return DHG_ENOMEM;
		}
	}
	if (dhg_array_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return DHG_ENOMEM;
	s->v[s->n++] = e;
	return 0;
}

static void set_del(smap *idx, const char *name, centry *e)
{
	ptrset *s = smap_get(idx, name);
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == e) {
			s->v[i] = s->v[--s->n];
			break;
		}
	if (s->n == 0) {
		smap_del(idx, name);
		free(s->v);
		free(s);
	}
}

static void label_name(char *buf, size_t size, const char *k, const char *v)
{
	snprintf(buf, size, "%s=%s", k, v);
}

/* Adds (add=true) or removes e from the namespace and label indexes; labels come from obj,
 * the decoded object e holds. */
static int index_entry(kube_informer *inf, centry *e, const json_t *obj, bool add)
{
	int error = 0;
	if (add)
		error = set_add(&inf->by_ns, e->ns, e);
	else
		set_del(&inf->by_ns, e->ns, e);
	const char *k;
	json_t *v;
	json_object_foreach(kube_object_labels(obj), k, v) {
		char ln[700];
		if (error || !json_is_string(v))
			continue;
		label_name(ln, sizeof(ln), k, json_string_value(v));
		if (add)
			error = set_add(&inf->by_label, ln, e);
		else
			set_del(&inf->by_label, ln, e);
	}
	return error;
}

static json_t *decode(const centry *e)
{
	return dhg_json_loadb(e->json, e->len, 0, NULL);
}

/* Removes e from every index set; for when its decoded labels are not at hand (out of memory):
 * an entry freed while still indexed would leave a dangling pointer. Write lock held. */
static void unindex(kube_informer *inf, centry *e)
{
	smap *idx[2] = { &inf->by_ns, &inf->by_label };
	for (int j = 0; j < 2; j++)
		for (size_t i = 0; i < idx[j]->cap; i++) {
			char *k = idx[j]->keys[i];
			if (!k || k == TOMB)
				continue;
			ptrset *set = idx[j]->vals[i];
			for (size_t x = 0; x < set->n;)
				if (set->v[x] == e)
					set->v[x] = set->v[--set->n];
				else
					x++;
			if (set->n == 0) {
				smap_del(idx[j], k); /* tombstones keep the iteration valid */
				free(set->v);
				free(set);
			}
		}
}

/* Marks e as not up to date (write lock held): the next relist sees a new resourceVersion and
 * stores and delivers it again. For an event that could not be indexed or delivered. */
static void mark_stale(kube_informer *inf, const char *key)
{
	centry *e = smap_get(&inf->items, key);
	if (e && e->rv)
		e->rv[0] = 0;
	inf->relist_needed = true;
}

/* Stores obj (already trimmed) under key, write lock held. On success, when an entry existed,
 * *old_json gets its JSON text (owned by the caller, free()) and *old_len its length. */
static int cache_put(char **old_json, size_t *old_len, kube_informer *inf, const char *key, json_t *obj)
{
	int error = 0;
	char *text = dhg_json_dumps(obj, JSON_COMPACT);
	char *rv = dhg_strdup(kube_object_resource_version(obj));
	*old_json = NULL;
	*old_len = 0;
	inf->changes++;
	if (!text || !rv) {
		free(text);
		free(rv);
		return dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory", inf->resource);
	}
	centry *e = smap_get(&inf->items, key);
	if (e) {
		json_t *old = decode(e);
		if (old)
			index_entry(inf, e, old, false);
		else
			unindex(inf, e);
		json_decref(old);
		*old_json = e->json;
		*old_len = e->len;
		free(e->rv);
	} else {
		if (!(e = calloc(1, sizeof(*e))) || !(e->key = dhg_strdup(key)) ||
		    !(e->ns = dhg_strdup(kube_object_namespace(obj))) || smap_put(&inf->items, e->key, e) < 0) {
			centry_free(e);
			free(text);
			free(rv);
			return dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory", inf->resource);
		}
	}
	e->json = text;
	e->len = strlen(text);
	e->rv = rv;
	e->gen = inf->gen;
	if (index_entry(inf, e, obj, true) < 0) {
		/* partly indexed: a list by label could miss it until it is stored again */
		e->rv[0] = 0;
		inf->relist_needed = true;
		error = dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory", inf->resource);
	}
	return error;
}

/* Removes key (write lock held). Returns the removed object's JSON text (owned) or NULL. */
static char *cache_del(size_t *len, kube_informer *inf, const char *key)
{
	centry *e = smap_get(&inf->items, key);
	if (!e)
		return NULL;
	inf->changes++;
	json_t *old = decode(e);
	if (old)
		index_entry(inf, e, old, false);
	else
		unindex(inf, e);
	json_decref(old);
	smap_del(&inf->items, key);
	char *json = e->json;
	*len = e->len;
	e->json = NULL;
	centry_free(e);
	return json;
}

static void cache_clear(kube_informer *inf)
{
	for (size_t i = 0; i < inf->items.cap; i++)
		if (inf->items.keys[i] && inf->items.keys[i] != TOMB)
			centry_free(inf->items.vals[i]);
	smap *idx[2] = { &inf->by_ns, &inf->by_label };
	for (int j = 0; j < 2; j++)
		for (size_t i = 0; i < idx[j]->cap; i++)
			if (idx[j]->keys[i] && idx[j]->keys[i] != TOMB) {
				ptrset *s = idx[j]->vals[i];
				free(s->v);
				free(s);
			}
	smap_dispose(&inf->items);
	smap_dispose(&inf->by_ns);
	smap_dispose(&inf->by_label);
}

/* ---- handlers ---------------------------------------------------------------------- */

static void deliver(kube_informer *inf, int type, json_t *old, json_t *obj)
{
	const kube_informer_handlers *h = &inf->opts.handlers;
	pthread_mutex_lock(&inf->handler_lock);
	if (!atomic_load(&inf->stop)) {
		if (type == KUBE_WATCH_ADDED && h->on_add)
			h->on_add(obj, h->payload);
		else if (type == KUBE_WATCH_MODIFIED && h->on_update)
			h->on_update(old, obj, h->payload);
		else if (type == KUBE_WATCH_DELETED && h->on_delete)
			h->on_delete(obj, h->payload);
	}
	pthread_mutex_unlock(&inf->handler_lock);
}

/* A change whose previous state could not be decoded (out of memory) is delivered as an add:
 * handlers then treat it as new instead of never hearing of it. */
static void deliver_change(kube_informer *inf, json_t *old, json_t *obj)
{
	deliver(inf, old ? KUBE_WATCH_MODIFIED : KUBE_WATCH_ADDED, old, obj);
}

/* Same, from JSON texts (decoded here, only when a handler wants them). Returns DHG_ENOMEM
 * when the object could not be decoded: the event was not delivered. */
static int deliver_text(kube_informer *inf, int type, const char *old, size_t olen, const char *cur, size_t clen)
{
	const kube_informer_handlers *h = &inf->opts.handlers;
	bool wanted = (type == KUBE_WATCH_ADDED && h->on_add) || (type == KUBE_WATCH_MODIFIED && h->on_update) ||
	              (type == KUBE_WATCH_DELETED && h->on_delete);
	int error = 0;
	if (!wanted)
		return 0;
	json_t *o = old && type == KUBE_WATCH_MODIFIED ? dhg_json_loadb(old, olen, 0, NULL) : NULL;
	json_t *c = cur ? dhg_json_loadb(cur, clen, 0, NULL) : NULL;
	if (!c)
		error = dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory delivering an event", inf->resource);
	else if (type == KUBE_WATCH_MODIFIED)
		deliver_change(inf, o, c);
	else
		deliver(inf, type, o, c);
	json_decref(o);
	json_decref(c);
	return error;
}

static void set_rv(kube_informer *inf, const char *rv)
{
	if (!rv || !*rv)
		return;
	pthread_mutex_lock(&inf->state_lock);
	snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
	pthread_mutex_unlock(&inf->state_lock);
}

/* ---- list + diff ------------------------------------------------------------------- */

/* A change found by a relist, delivered once the list is complete. */
typedef struct pending {
	int type;
	char *key;      /* ADDED / MODIFIED: the cache key (entry text read at delivery) */
	char *old;      /* MODIFIED: previous text; DELETED: the removed object's text */
	size_t old_len;
} pending;

typedef struct list_ctx {
	kube_informer *inf;
	pending *ev;
	size_t nev, cap;
} list_ctx;

static int push_pending(list_ctx *lc, int type, const char *key, char *old, size_t old_len)
{
	if (dhg_array_reserve((void **)&lc->ev, &lc->cap, lc->nev + 1, sizeof(*lc->ev)) < 0) {
		free(old);
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	}
	char *k = key ? dhg_strdup(key) : NULL;
	if (key && !k) {
		free(old);
		return DHG_ENOMEM;
	}
	lc->ev[lc->nev++] = (pending){ type, k, old, old_len };
	return 0;
}

static int list_item(json_t *item, void *payload)
{
	list_ctx *lc = payload;
	kube_informer *inf = lc->inf;
	char key[KEY_MAX];
	int error = 0;
	if (atomic_load(&inf->stop))
		return 1; /* stopping: abandon the list */
	if (kube_object_key(key, sizeof(key), item) < 0)
		return 0; /* cannot be cached; skip */
	if (inf->opts.trim)
		kube_object_trim(item); /* the page is freed after this call: trimming it is fine */
	pthread_rwlock_wrlock(&inf->lock);
	centry *e = smap_get(&inf->items, key);
	if (e && strcmp(e->rv, kube_object_resource_version(item)) == 0) {
		e->gen = inf->gen; /* unchanged: no event */
		pthread_rwlock_unlock(&inf->lock);
		return 0;
	}
	char *old = NULL;
	size_t old_len = 0;
	/* a stale entry (mark_stale) already holds this state, its handlers never saw it: an add,
	 * not a change from itself (which handlers would take for a no-op) */
	bool stale = e && !*e->rv;
	error = cache_put(&old, &old_len, inf, key, item);
	pthread_rwlock_unlock(&inf->lock);
	if (error < 0) {
		free(old);
		return error;
	}
	if (stale) {
		free(old);
		old = NULL;
		old_len = 0;
	}
	if ((error = push_pending(lc, e && !stale ? KUBE_WATCH_MODIFIED : KUBE_WATCH_ADDED, key, old, old_len)) < 0) {
		pthread_rwlock_wrlock(&inf->lock);
		mark_stale(inf, key); /* stored but its event is lost: the next relist delivers it */
		pthread_rwlock_unlock(&inf->lock);
	}
	return error;
}

/* Returns DHG_ENOMEM when an add or change could not be delivered: its entry is marked stale,
 * so that the relist that follows delivers it. */
static int deliver_pending(kube_informer *inf, list_ctx *lc)
{
	int error = 0;
	for (size_t i = 0; i < lc->nev; i++) {
		pending *p = &lc->ev[i];
		if (p->type == KUBE_WATCH_DELETED) {
			if (deliver_text(inf, p->type, NULL, 0, p->old, p->old_len) < 0)
				DHG_LOG_WARN("kube informer: a deletion could not be delivered (out of memory)", "resource",
				             inf->resource);
			continue;
		}
		/* only this thread writes the cache, so the entry is still there; copy its text
		 * under the read lock anyway (readers take it too) */
		char *cur = NULL;
		size_t clen = 0;
		pthread_rwlock_rdlock(&inf->lock);
		centry *e = smap_get(&inf->items, p->key);
		if (e && (cur = malloc(e->len + 1))) {
			memcpy(cur, e->json, e->len + 1);
			clen = e->len;
		}
		pthread_rwlock_unlock(&inf->lock);
		if (!e)
			continue;
		if (!cur || deliver_text(inf, p->type, p->old, p->old_len, cur, clen) < 0) {
			pthread_rwlock_wrlock(&inf->lock);
			mark_stale(inf, p->key);
			pthread_rwlock_unlock(&inf->lock);
			error = dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory delivering an event", inf->resource);
		}
		free(cur);
	}
	return error;
}

static void pending_dispose(list_ctx *lc)
{
	for (size_t i = 0; i < lc->nev; i++) {
		free(lc->ev[i].key);
		free(lc->ev[i].old);
	}
	free(lc->ev);
	lc->ev = NULL;
	lc->nev = lc->cap = 0;
}

static int relist(kube_informer *inf)
{
	char rv[RV_MAX];
	kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
	lo.label_selector = inf->label_selector;
	lo.field_selector = inf->field_selector;
	lo.limit = inf->opts.page_size;
	list_ctx lc = { inf, NULL, 0, 0 };
	int error = 0;
	inf->relist_needed = false;
	pthread_mutex_lock(&inf->state_lock);
	inf->stats.lists++;
	pthread_mutex_unlock(&inf->state_lock);
	pthread_rwlock_wrlock(&inf->lock);
	inf->gen++;
	pthread_rwlock_unlock(&inf->lock);
	/* pages are applied to the cache as they arrive (each change is a real, newer state);
	 * events wait until the list is complete */
	error = kube_client_list_each(rv, sizeof(rv), inf->client, &inf->opts.gvr, inf->ns, &lo, list_item, &lc);
	if (error != 0)
		goto done;
	/* what the list did not return is gone */
	pthread_rwlock_wrlock(&inf->lock);
	for (size_t i = 0; i < inf->items.cap && error == 0; i++) {
		char *k = inf->items.keys[i];
		if (!k || k == TOMB)
			continue;
		centry *e = inf->items.vals[i];
		if (e->gen == inf->gen)
			continue;
		char key[KEY_MAX];
		size_t len = 0;
		snprintf(key, sizeof(key), "%s", e->key);
		/* room for the event first: a deletion must not happen without its event (the entry
		 * stays, and the next relist deletes it) */
		if (dhg_array_reserve((void **)&lc.ev, &lc.cap, lc.nev + 1, sizeof(*lc.ev)) < 0) {
			error = dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory", inf->resource);
			break;
		}
		char *old = cache_del(&len, inf, key); /* tombstones keep the iteration valid */
		error = push_pending(&lc, KUBE_WATCH_DELETED, NULL, old, len);
	}
	pthread_rwlock_unlock(&inf->lock);
	if (error < 0)
		goto done;
	set_rv(inf, rv);
	if ((error = deliver_pending(inf, &lc)) < 0) {
		pending_dispose(&lc);
		return error; /* relisted after a pause: the stale entries are delivered then */
	}
	pthread_mutex_lock(&inf->state_lock);
	inf->synced = true;
	pthread_cond_broadcast(&inf->state_cond);
	pthread_mutex_unlock(&inf->state_lock);
	if (inf->opts.handlers.on_synced) {
		pthread_mutex_lock(&inf->handler_lock);
		if (!atomic_load(&inf->stop))
			inf->opts.handlers.on_synced(inf->opts.handlers.payload);
		pthread_mutex_unlock(&inf->handler_lock);
	}
	DHG_LOG_DEBUG("kube informer listed", "resource", inf->resource, "resourceVersion", rv);
done:
	if (error != 0) {
		/* the cache holds a mix of old and new states: deliver what changed so handlers stay
		 * consistent with it; the next relist completes the picture */
		deliver_pending(inf, &lc);
	}
	pending_dispose(&lc);
	return error;
}

/* ---- watch ------------------------------------------------------------------------- */

static int on_event(int type, json_t *obj, void *payload)
{
	kube_informer *inf = payload;
	char key[KEY_MAX];
	pthread_mutex_lock(&inf->state_lock);
	inf->stats.events++;
	if (type == KUBE_WATCH_BOOKMARK)
		inf->stats.bookmarks++;
	pthread_mutex_unlock(&inf->state_lock);
	if (type == KUBE_WATCH_BOOKMARK) {
		set_rv(inf, kube_object_resource_version(obj));
		return 0;
	}
	if (type == KUBE_WATCH_ERROR) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *reason = json_string_value(json_object_get(obj, "reason"));
		const char *msg = json_string_value(json_object_get(obj, "message"));
		if (code == 410 || (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0))) {
			dhg_error_set_http(DHG_EGONE, 410, reason ? reason : "Expired", "WATCH %s: %s", inf->resource,
			                   msg ? msg : "resource version expired");
			return GONE_RC;
		}
		dhg_error_set_http(DHG_ERROR, (int)code, reason, "WATCH %s: error event: %s", inf->resource,
		                   msg ? msg : "(no message)");
		return ERR_RC;
	}
	if (kube_object_key(key, sizeof(key), obj) < 0)
		return 0; /* cannot be cached; skip */
	int error = 0;
	char *old = NULL;
	size_t old_len = 0;
	/* the event is freed after this call, so trimming its object in place is fine */
	if (inf->opts.trim)
		kube_object_trim(obj);
	if (type == KUBE_WATCH_DELETED) {
		pthread_rwlock_wrlock(&inf->lock);
		old = cache_del(&old_len, inf, key);
		pthread_rwlock_unlock(&inf->lock);
		set_rv(inf, kube_object_resource_version(obj));
		free(old);
		deliver(inf, KUBE_WATCH_DELETED, NULL, obj);
		return 0;
	}
	pthread_rwlock_wrlock(&inf->lock);
	centry *cur = smap_get(&inf->items, key);
	bool same = cur && strcmp(cur->rv, kube_object_resource_version(obj)) == 0;
	if (!same)
		error = cache_put(&old, &old_len, inf, key, obj);
	pthread_rwlock_unlock(&inf->lock);
	set_rv(inf, kube_object_resource_version(obj));
	if (error < 0)
		inf->relist_needed = true; /* not stored (or not fully indexed): the watch would skip it */
	if (error == 0 && !same) {
		json_t *o = old ? dhg_json_loadb(old, old_len, 0, NULL) : NULL;
		if (old)
			deliver_change(inf, o, obj);
		else
			deliver(inf, KUBE_WATCH_ADDED, NULL, obj);
		json_decref(o);
	}
	free(old);
	return error < 0 ? error : 0;
}

static void *run(void *arg)
{
	kube_informer *inf = arg;
	bool need_list = true;
	int watch_fails = 0, list_fails = 0;
	while (!atomic_load(&inf->stop)) {
		if (need_list) {
			int error = relist(inf);
			if (atomic_load(&inf->stop))
				break;
			if (error != 0) {
				pthread_mutex_lock(&inf->state_lock);
				inf->stats.errors++;
				pthread_mutex_unlock(&inf->state_lock);
				long wait = 500L << (list_fails < 5 ? list_fails : 5);
				list_fails++;
				DHG_LOG_WARN("kube informer list failed", "resource", inf->resource, "error",
				             dhg_error_last()->message);
				nap(inf, wait);
				continue;
			}
			list_fails = 0;
			need_list = false;
		}
		char rv[RV_MAX];
		kube_informer_resource_version(rv, sizeof(rv), inf);
		kube_watch_options wo = KUBE_WATCH_OPTIONS_INIT;
		wo.resource_version = rv;
		wo.label_selector = inf->label_selector;
		wo.field_selector = inf->field_selector;
		wo.timeout_seconds = inf->opts.watch_timeout_seconds;
		wo.allow_bookmarks = true;
		wo.cancel = &inf->stop;
		pthread_mutex_lock(&inf->state_lock);
		inf->stats.watches++;
		pthread_mutex_unlock(&inf->state_lock);
		int rc = kube_client_watch(inf->client, &inf->opts.gvr, inf->ns, &wo, on_event, inf);
		if (atomic_load(&inf->stop) || rc == 1)
			break;
		if (inf->relist_needed) {
			/* an event could not be stored: its entry is marked stale, a relist stores it */
			inf->relist_needed = false;
			need_list = true;
			if (rc < 0)
				DHG_LOG_WARN("kube informer watch failed; relisting", "resource", inf->resource, "error",
				             dhg_error_last()->message);
			nap(inf, 200);
			continue;
		}
		if (rc == 0) {
			watch_fails = 0;
			continue; /* stream ended: resume from the last RV */
		}
		if (rc == GONE_RC || rc == DHG_EGONE) {
			DHG_LOG_INFO("kube informer: resource version expired, relisting", "resource", inf->resource,
			             "resourceVersion", rv);
			pthread_mutex_lock(&inf->state_lock);
			inf->stats.relists_gone++;
			pthread_mutex_unlock(&inf->state_lock);
			need_list = true;
			continue;
		}
		pthread_mutex_lock(&inf->state_lock);
		inf->stats.errors++;
		pthread_mutex_unlock(&inf->state_lock);
		DHG_LOG_WARN("kube informer watch failed", "resource", inf->resource, "error", dhg_error_last()->message);
		if (++watch_fails >= WATCH_FAILS_BEFORE_RELIST) {
			need_list = true;
			watch_fails = 0;
		}
		nap(inf, 200L << (watch_fails < 5 ? watch_fails : 5));
	}
	pthread_mutex_lock(&inf->state_lock);
	inf->stopped = true;
	pthread_cond_broadcast(&inf->state_cond);
	pthread_mutex_unlock(&inf->state_lock);
	return NULL;
}

static void *resync_run(void *arg)
{
	kube_informer *inf = arg;
	while (!nap(inf, inf->opts.resync_ms)) {
		/* snapshot the keys, then decode one object at a time: a resync of 10,000 objects
		 * must not hold them all decoded at once */
		char **keys = NULL;
		size_t n = 0;
		pthread_rwlock_rdlock(&inf->lock);
		if (inf->items.n && (keys = calloc(inf->items.n, sizeof(char *)))) {
			for (size_t i = 0; i < inf->items.cap; i++) {
				char *k = inf->items.keys[i];
				if (k && k != TOMB && !(keys[n++] = dhg_strdup(k)))
					n--;
			}
		}
		pthread_rwlock_unlock(&inf->lock);
		for (size_t i = 0; i < n; i++) {
			json_t *obj = NULL;
			if (!atomic_load(&inf->stop)) {
				pthread_rwlock_rdlock(&inf->lock);
				centry *e = smap_get(&inf->items, keys[i]);
				obj = e ? decode(e) : NULL;
				pthread_rwlock_unlock(&inf->lock);
			}
			if (obj) {
				pthread_mutex_lock(&inf->handler_lock);
				if (!atomic_load(&inf->stop))
					inf->opts.handlers.on_resync(obj, inf->opts.handlers.payload);
				pthread_mutex_unlock(&inf->handler_lock);
				json_decref(obj);
			}
			free(keys[i]);
		}
		free(keys);
	}
	return NULL;
}

int kube_informer_start(kube_informer *inf)
{
	if (inf->started)
		return dhg_error_set(DHG_EINVALID, "kube informer %s: already started", inf->resource);
	if (pthread_create(&inf->thread, NULL, run, inf) != 0)
		return dhg_error_set(DHG_ERROR, "kube informer %s: cannot start thread", inf->resource);
	inf->started = true;
	if (inf->opts.resync_ms > 0 && inf->opts.handlers.on_resync) {
		if (pthread_create(&inf->resync_thread, NULL, resync_run, inf) == 0)
			inf->resync_started = true;
		else
			DHG_LOG_WARN("kube informer: cannot start resync thread", "resource", inf->resource);
	}
	return 0;
}

bool kube_informer_has_synced(kube_informer *inf)
{
	pthread_mutex_lock(&inf->state_lock);
	bool s = inf->synced;
	pthread_mutex_unlock(&inf->state_lock);
	return s;
}

int kube_informer_wait_for_sync(kube_informer *inf, long timeout_ms)
{
	int error = 0;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	if (timeout_ms >= 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&inf->state_lock);
	while (!inf->synced && !inf->stopped) {
		int rc = timeout_ms >= 0 ? pthread_cond_timedwait(&inf->state_cond, &inf->state_lock, &deadline)
		                         : pthread_cond_wait(&inf->state_cond, &inf->state_lock);
		if (rc == ETIMEDOUT)
			break;
	}
	if (!inf->synced)
		error = inf->stopped ? dhg_error_set(DHG_ERROR, "kube informer %s: stopped before sync", inf->resource)
		                     : dhg_error_set(DHG_ETIMEOUT, "kube informer %s: not synced after %ld ms", inf->resource,
		                                     timeout_ms);
	pthread_mutex_unlock(&inf->state_lock);
	return error;
}

void kube_informer_cancel(kube_informer *inf)
{
	if (inf)
		atomic_store(&inf->stop, 1);
}

void kube_informer_stop(kube_informer *inf)
{
	if (!inf)
		return;
	atomic_store(&inf->stop, 1);
	if (inf->started) {
		pthread_join(inf->thread, NULL);
		inf->started = false;
	}
	if (inf->resync_started) {
		pthread_join(inf->resync_thread, NULL);
		inf->resync_started = false;
	}
	pthread_mutex_lock(&inf->state_lock);
	inf->stopped = true;
	pthread_cond_broadcast(&inf->state_cond);
	pthread_mutex_unlock(&inf->state_lock);
}

void kube_informer_free(kube_informer *inf)
{
	if (!inf)
		return;
	kube_informer_stop(inf);
	cache_clear(inf);
	free(inf->group);
	free(inf->version);
	free(inf->resource);
	free(inf->ns);
	free(inf->label_selector);
	free(inf->field_selector);
	pthread_rwlock_destroy(&inf->lock);
	pthread_mutex_destroy(&inf->handler_lock);
	pthread_mutex_destroy(&inf->state_lock);
	pthread_cond_destroy(&inf->state_cond);
	free(inf);
}

/* ---- reads ------------------------------------------------------------------------- */

int kube_informer_get(json_t **out, kube_informer *inf, const char *ns, const char *name)
{
	char key[KEY_MAX];
	int n = ns && *ns ? snprintf(key, sizeof(key), "%s/%s", ns, name) : snprintf(key, sizeof(key), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return dhg_error_set(DHG_EINVALID, "kube informer %s: key too long", inf->resource);
	pthread_rwlock_rdlock(&inf->lock);
	centry *e = smap_get(&inf->items, key);
	json_t *obj = e ? decode(e) : NULL;
	pthread_rwlock_unlock(&inf->lock);
	if (!e)
		return dhg_error_set(DHG_ENOTFOUND, "%s %s not found in the informer cache", inf->resource, key);
	if (!obj)
		return dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory decoding %s", inf->resource, key);
	*out = obj;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const centry *x = *(centry *const *)a, *y = *(centry *const *)b;
	int c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->key, y->key);
}

int kube_informer_list(json_t **out, kube_informer *inf, const char *ns, const kube_selector *sel)
{
	int error = 0;
	centry **vec = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	if (!arr)
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	pthread_rwlock_rdlock(&inf->lock);
	/* narrowest candidate set: an equality label index, else the namespace index, else all */
	ptrset *cand = NULL;
	bool all = true;
	if (ns && *ns) {
		cand = smap_get(&inf->by_ns, ns);
		all = false;
	}
	for (size_t i = 0; (all || cand) && i < kube_selector_count(sel); i++) {
		const char *key;
		int op;
		const char *const *vals;
		size_t nv;
		if (kube_selector_requirement(&key, &op, &vals, &nv, sel, i) < 0)
			continue;
		if ((op == KUBE_SELECTOR_EQ || op == KUBE_SELECTOR_IN) && nv == 1) {
			char ln[700];
			label_name(ln, sizeof(ln), key, vals[0]);
			ptrset *set = smap_get(&inf->by_label, ln);
			if (!set || all || set->n < cand->n) {
				cand = set;
				all = false;
			}
		}
	}
	size_t total = all ? inf->items.n : cand ? cand->n : 0;
	if (total && !(vec = malloc(total * sizeof(*vec)))) {
		error = dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
		goto unlock;
	}
	if (all) {
		for (size_t i = 0; i < inf->items.cap; i++)
			if (inf->items.keys[i] && inf->items.keys[i] != TOMB)
				vec[n++] = inf->items.vals[i];
	} else if (cand) {
		for (size_t i = 0; i < cand->n; i++)
			if (!(ns && *ns) || strcmp(cand->v[i]->ns, ns) == 0)
				vec[n++] = cand->v[i];
	}
	if (n > 1)
		qsort(vec, n, sizeof(*vec), cmp_entry);
	for (size_t i = 0; i < n && !error; i++) {
		json_t *obj = decode(vec[i]);
		if (!obj) {
			error = dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory decoding %s", inf->resource, vec[i]->key);
			break;
		}
		if (sel && !kube_selector_matches_object(sel, obj)) {
			json_decref(obj);
			continue;
		}
		if (json_array_append_new(arr, obj) < 0)
			error = dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	}
unlock:
	pthread_rwlock_unlock(&inf->lock);
	free(vec);
	if (error) {
		json_decref(arr);
		return error;
	}
	*out = arr;
	return 0;
}

unsigned long kube_informer_changes(kube_informer *inf)
{
	pthread_rwlock_rdlock(&inf->lock);
	unsigned long n = inf->changes;
	pthread_rwlock_unlock(&inf->lock);
	return n;
}

size_t kube_informer_count(kube_informer *inf)
{
	pthread_rwlock_rdlock(&inf->lock);
	size_t n = inf->items.n;
	pthread_rwlock_unlock(&inf->lock);
	return n;
}

void kube_informer_resource_version(char *buf, size_t size, kube_informer *inf)
{
	pthread_mutex_lock(&inf->state_lock);
	snprintf(buf, size, "%s", inf->rv);
	pthread_mutex_unlock(&inf->state_lock);
}

void kube_informer_stats_get(kube_informer_stats *out, kube_informer *inf)
{
	pthread_mutex_lock(&inf->state_lock);
	*out = inf->stats;
	pthread_mutex_unlock(&inf->state_lock);
}
