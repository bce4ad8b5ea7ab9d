#include "kube/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/object.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

#define KEY_MAX 512
#define RV_MAX 128
#define GONE_RC 410   /* watch callback: the stream reported 410 in an ERROR event */
#define ERR_RC 2      /* watch callback: other ERROR event */
#define WATCH_FAILS_BEFORE_RELIST 3

struct kube_informer {
	kube_client *client;
	char *group, *version, *resource, *ns, *label_selector, *field_selector;
	kube_informer_options opts;

	pthread_t thread, resync_thread;
	bool started, resync_started;
	atomic_int stop;

	/* cache: key -> obj, ns -> {key -> obj}, "k=v" -> {key -> obj} */
	pthread_rwlock_t lock;
	json_t *items, *by_ns, *by_label;

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
	inf->items = json_object();
	inf->by_ns = json_object();
	inf->by_label = json_object();
	pthread_rwlock_init(&inf->lock, NULL);
	pthread_mutex_init(&inf->handler_lock, NULL);
	pthread_mutex_init(&inf->state_lock, NULL);
	pthread_cond_init(&inf->state_cond, NULL);
	if (!inf->group || !inf->version || !inf->resource || !inf->ns || !inf->label_selector ||
	    !inf->field_selector || !inf->items || !inf->by_ns || !inf->by_label) {
		kube_informer_free(inf);
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	}
	inf->opts.gvr.group = inf->group;
	inf->opts.gvr.version = inf->version;
	inf->opts.gvr.resource = inf->resource;
	if (inf->opts.watch_timeout_seconds <= 0)
		inf->opts.watch_timeout_seconds = 300;
	*out = inf;
	return 0;
}

/* ---- cache ------------------------------------------------------------------------- */

/* Adds obj to an index set (idx[name][key] = obj). Returns 0 or DHG_ENOMEM. */
static int idx_add(json_t *idx, const char *name, const char *key, json_t *obj)
{
	json_t *set = json_object_get(idx, name);
	if (!set) {
		set = json_object();
		if (!set || json_object_set_new(idx, name, set) < 0)
			return DHG_ENOMEM;
	}
	return json_object_set(set, key, obj) < 0 ? DHG_ENOMEM : 0;
}

static void idx_del(json_t *idx, const char *name, const char *key)
{
	json_t *set = json_object_get(idx, name);
	if (!set)
		return;
	json_object_del(set, key);
	if (json_object_size(set) == 0)
		json_object_del(idx, name);
}

static void label_name(char *buf, size_t size, const char *k, const char *v)
{
	snprintf(buf, size, "%s=%s", k, v);
}

static void unindex(kube_informer *inf, const char *key, json_t *old)
{
	idx_del(inf->by_ns, kube_object_namespace(old), key);
	const char *k;
	json_t *v;
	json_object_foreach(kube_object_labels(old), k, v) {
		char ln[700];
		if (json_is_string(v)) {
			label_name(ln, sizeof(ln), k, json_string_value(v));
			idx_del(inf->by_label, ln, key);
		}
	}
}

static int index_obj(kube_informer *inf, const char *key, json_t *obj)
{
	int error = idx_add(inf->by_ns, kube_object_namespace(obj), key, obj);
	const char *k;
	json_t *v;
	json_object_foreach(kube_object_labels(obj), k, v) {
		char ln[700];
		if (error == 0 && json_is_string(v)) {
			label_name(ln, sizeof(ln), k, json_string_value(v));
			error = idx_add(inf->by_label, ln, key, obj);
		}
	}
	return error;
}

/* Stores obj under key (write lock held). *old_out gets the previous object (a reference the
 * caller owns) or NULL. */
static int cache_put(json_t **old_out, kube_informer *inf, const char *key, json_t *obj)
{
	json_t *old = json_object_get(inf->items, key);
	if (old) {
		json_incref(old);
		unindex(inf, key, old);
	}
	*old_out = old;
	if (json_object_set(inf->items, key, obj) < 0 || index_obj(inf, key, obj) < 0)
		return dhg_error_set(DHG_ENOMEM, "kube informer %s: out of memory", inf->resource);
	return 0;
}

/* Removes key (write lock held). *old_out: previous object (owned) or NULL. */
static void cache_del(json_t **old_out, kube_informer *inf, const char *key)
{
	json_t *old = json_object_get(inf->items, key);
	if (old) {
		json_incref(old);
		unindex(inf, key, old);
		json_object_del(inf->items, key);
	}
	*old_out = old;
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

static void set_rv(kube_informer *inf, const char *rv)
{
	if (!rv || !*rv)
		return;
	pthread_mutex_lock(&inf->state_lock);
	snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
	pthread_mutex_unlock(&inf->state_lock);
}

/* ---- list + diff ------------------------------------------------------------------- */

typedef struct list_ctx {
	kube_informer *inf;
	json_t *fresh; /* key -> obj */
} list_ctx;

static int list_item(json_t *item, void *payload)
{
	list_ctx *lc = payload;
	char key[KEY_MAX];
	if (kube_object_key(key, sizeof(key), item) < 0)
		return DHG_ETOOBIG;
	/* each page is freed after the callbacks: steal a private trimmed copy-by-reference */
	if (lc->inf->opts.trim)
		kube_object_trim(item);
	return json_object_set(lc->fresh, key, item) < 0 ? dhg_error_set(DHG_ENOMEM, "kube informer: out of memory") : 0;
}

typedef struct pending {
	int type;
	json_t *old, *obj;
} pending;

static int relist(kube_informer *inf)
{
	char rv[RV_MAX];
	kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
	lo.label_selector = inf->label_selector;
	lo.field_selector = inf->field_selector;
	lo.limit = inf->opts.page_size;
	list_ctx lc = { inf, json_object() };
	pending *ev = NULL;
	size_t nev = 0, cap = 0;
	int error = 0;
	if (!lc.fresh)
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	pthread_mutex_lock(&inf->state_lock);
	inf->stats.lists++;
	pthread_mutex_unlock(&inf->state_lock);
	error = kube_client_list_each(rv, sizeof(rv), inf->client, &inf->opts.gvr, inf->ns, &lo, list_item, &lc);
	if (error != 0)
		goto done;

	/* diff against the cache and swap, under the write lock */
	pthread_rwlock_wrlock(&inf->lock);
	cap = json_object_size(lc.fresh) + json_object_size(inf->items) + 1;
	ev = calloc(cap, sizeof(*ev));
	if (!ev) {
		pthread_rwlock_unlock(&inf->lock);
		error = dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
		goto done;
	}
	const char *key;
	json_t *obj, *tmp;
	json_object_foreach(lc.fresh, key, obj) {
		json_t *old = json_object_get(inf->items, key);
		if (old && strcmp(kube_object_resource_version(old), kube_object_resource_version(obj)) == 0)
			continue; /* unchanged: no event */
		json_t *prev = NULL;
		if ((error = cache_put(&prev, inf, key, obj)) < 0) {
			json_decref(prev);
			break;
		}
		ev[nev].type = prev ? KUBE_WATCH_MODIFIED : KUBE_WATCH_ADDED;
		ev[nev].old = prev;
		ev[nev].obj = json_incref(obj);
		nev++;
	}
	void *iter_tmp;
	(void)tmp;
	json_object_foreach_safe(inf->items, iter_tmp, key, obj) {
		if (error)
			break;
		if (json_object_get(lc.fresh, key))
			continue;
		json_t *prev = NULL;
		char keycopy[KEY_MAX];
		snprintf(keycopy, sizeof(keycopy), "%s", key);
		cache_del(&prev, inf, keycopy);
		ev[nev].type = KUBE_WATCH_DELETED;
		ev[nev].old = NULL;
		ev[nev].obj = prev;
		nev++;
	}
	pthread_rwlock_unlock(&inf->lock);
	if (error < 0)
		goto done;
	set_rv(inf, rv);
	for (size_t i = 0; i < nev; i++)
		deliver(inf, ev[i].type, ev[i].old, ev[i].obj);
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
	for (size_t i = 0; i < nev; i++) {
		json_decref(ev[i].old);
		json_decref(ev[i].obj);
	}
	free(ev);
	json_decref(lc.fresh);
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
	json_t *old = NULL;
	int error = 0;
	json_incref(obj);
	if (type == KUBE_WATCH_DELETED) {
		pthread_rwlock_wrlock(&inf->lock);
		cache_del(&old, inf, key);
		pthread_rwlock_unlock(&inf->lock);
		set_rv(inf, kube_object_resource_version(obj));
		if (inf->opts.trim)
			kube_object_trim(obj);
		deliver(inf, KUBE_WATCH_DELETED, NULL, obj);
		goto done;
	}
	if (inf->opts.trim)
		kube_object_trim(obj);
	pthread_rwlock_wrlock(&inf->lock);
	json_t *cur = json_object_get(inf->items, key);
	bool same = cur && strcmp(kube_object_resource_version(cur), kube_object_resource_version(obj)) == 0;
	if (!same)
		error = cache_put(&old, inf, key, obj);
	pthread_rwlock_unlock(&inf->lock);
	set_rv(inf, kube_object_resource_version(obj));
	if (error < 0)
		goto done;
	if (!same)
		deliver(inf, old ? KUBE_WATCH_MODIFIED : KUBE_WATCH_ADDED, old, obj);
done:
	json_decref(old);
	json_decref(obj);
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
		json_t *all = NULL;
		if (kube_informer_list(&all, inf, NULL, NULL) < 0) {
			dhg_error_clear();
			continue;
		}
		size_t i;
		json_t *obj;
		pthread_mutex_lock(&inf->handler_lock);
		json_array_foreach(all, i, obj) {
			if (atomic_load(&inf->stop))
				break;
			inf->opts.handlers.on_resync(obj, inf->opts.handlers.payload);
		}
		pthread_mutex_unlock(&inf->handler_lock);
		json_decref(all);
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
	json_decref(inf->items);
	json_decref(inf->by_ns);
	json_decref(inf->by_label);
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
	json_t *obj = json_incref(json_object_get(inf->items, key));
	pthread_rwlock_unlock(&inf->lock);
	if (!obj)
		return dhg_error_set(DHG_ENOTFOUND, "%s %s not found in the informer cache", inf->resource, key);
	*out = obj;
	return 0;
}

static int cmp_obj(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(kube_object_namespace(x), kube_object_namespace(y));
	return c ? c : strcmp(kube_object_name(x), kube_object_name(y));
}

int kube_informer_list(json_t **out, kube_informer *inf, const char *ns, const kube_selector *sel)
{
	int error = 0;
	json_t **vec = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	if (!arr)
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	pthread_rwlock_rdlock(&inf->lock);
	/* narrowest candidate set: an equality label index, else the namespace index, else all */
	json_t *cand = inf->items;
	if (ns && *ns) {
		cand = json_object_get(inf->by_ns, ns);
	}
	for (size_t i = 0; cand && i < kube_selector_count(sel); i++) {
		const char *key;
		int op;
		const char *const *vals;
		size_t nv;
		if (kube_selector_requirement(&key, &op, &vals, &nv, sel, i) < 0)
			continue;
		if ((op == KUBE_SELECTOR_EQ || op == KUBE_SELECTOR_IN) && nv == 1) {
			char ln[700];
			label_name(ln, sizeof(ln), key, vals[0]);
			json_t *set = json_object_get(inf->by_label, ln);
			if (!set || json_object_size(set) < json_object_size(cand))
				cand = set;
		}
	}
	size_t total = cand ? json_object_size(cand) : 0;
	if (total && !(vec = malloc(total * sizeof(*vec)))) {
		pthread_rwlock_unlock(&inf->lock);
		json_decref(arr);
		return dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
	}
	const char *k;
	json_t *obj;
	if (cand) {
		json_object_foreach(cand, k, obj) {
			if (ns && *ns && strcmp(kube_object_namespace(obj), ns) != 0)
				continue;
			if (sel && !kube_selector_matches_object(sel, obj))
				continue;
			vec[n++] = json_incref(obj);
		}
	}
	pthread_rwlock_unlock(&inf->lock);
	if (n > 1)
		qsort(vec, n, sizeof(*vec), cmp_obj);
	for (size_t i = 0; i < n; i++) {
		if (!error && json_array_append(arr, vec[i]) < 0)
			error = dhg_error_set(DHG_ENOMEM, "kube informer: out of memory");
		json_decref(vec[i]);
	}
	free(vec);
	if (error) {
		json_decref(arr);
		return error;
	}
	*out = arr;
	return 0;
}

size_t kube_informer_count(kube_informer *inf)
{
	pthread_rwlock_rdlock(&inf->lock);
	size_t n = json_object_size(inf->items);
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
