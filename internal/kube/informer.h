#ifndef DHG_KUBE_INFORMER_H
#define DHG_KUBE_INFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"
#include "kube/selector.h"

/*
 * A shared informer for one resource (client-go's reflector + indexer + handlers).
 *
 * list-then-watch from the list's resourceVersion with bookmarks; resumes from the last seen
 * resourceVersion after any stream end; on 410 Gone/Expired relists and delivers the
 * difference against the cache (adds for new objects, updates only when the resourceVersion
 * changed, deletes for vanished objects) - never a gap, never a duplicate add. An optional
 * periodic resync calls on_resync for every cached object.
 *
 * The cache keeps objects trimmed (kube_object_trim()) as compact JSON text (a decoded jansson
 * tree costs about ten times its text: 10,000 typical objects take ~20 MB instead of ~90 MB),
 * indexed by namespace and by label key=value. Reads are thread-safe (rwlock) and decode: every
 * object handed out (get, list) is a fresh value owned by the caller. Objects passed to
 * handlers are borrowed for the call; treat them as read-only (json_deep_copy() to change one).
 *
 * Each informer runs one thread; handlers are called on it, one at a time, in event order,
 * after the cache has been updated (so a handler sees the new state via get/list).
 */

typedef struct kube_informer kube_informer;

typedef struct kube_informer_handlers {
	/* Each may be NULL. Objects are borrowed for the call (json_incref() to keep them). */
	void (*on_add)(json_t *obj, void *payload);
	void (*on_update)(json_t *old_obj, json_t *new_obj, void *payload);
	/* obj is the last known state of the deleted object. */
	void (*on_delete)(json_t *obj, void *payload);
	/* Periodic resync: called for every cached object each resync_ms. */
	void (*on_resync)(json_t *obj, void *payload);
	/* Called after the initial list has been delivered and has_synced became true, and again
	 * after every relist (410 or error recovery). */
	void (*on_synced)(void *payload);
	void *payload;
} kube_informer_handlers;

typedef struct kube_informer_options {
	kube_gvr gvr;                /* strings copied at kube_informer_new() */
	const char *namespace_;      /* NULL or "": all namespaces */
	const char *label_selector;  /* server-side filter (string form), or NULL */
	const char *field_selector;  /* or NULL */
	long resync_ms;              /* 0: no resync */
	int watch_timeout_seconds;   /* per watch request (server-side); 0 = 300 */
	long page_size;              /* list page size; 0 = 250 */
	bool trim;                   /* kube_object_trim() before caching (default true) */
	kube_informer_handlers handlers;
} kube_informer_options;

#define KUBE_INFORMER_OPTIONS_INIT \
	{ { NULL, NULL, NULL }, NULL, NULL, NULL, 0, 0, 0, true, { NULL, NULL, NULL, NULL, NULL, NULL } }

/* `client` is borrowed and must outlive the informer. On 0, *out owned (kube_informer_free()).
 * Nothing runs until kube_informer_start(). */
int kube_informer_new(kube_informer **out, kube_client *client, const kube_informer_options *opts);

/* Starts the informer's thread. Returns 0 or < 0. Call once. */
int kube_informer_start(kube_informer *inf);

/* true once the first full list is in the cache and its events were delivered. Thread-safe. */
bool kube_informer_has_synced(kube_informer *inf);

/* Waits up to timeout_ms (< 0: forever) for has_synced. Returns 0 or DHG_ETIMEOUT (or
 * DHG_ERROR when the informer was stopped). Thread-safe. */
int kube_informer_wait_for_sync(kube_informer *inf, long timeout_ms);

/* Stops the thread: closes the open transfer and joins. Handlers are not called after it
 * returns. Idempotent; must not be called from a handler. */
void kube_informer_stop(kube_informer *inf);
/* Asks the informer's threads to end, without waiting for them (kube_informer_stop() waits):
 * when many informers stop, ask all of them first, so that they wind down together. */
void kube_informer_cancel(kube_informer *inf);

/* Stops if needed and frees everything. NULL-safe. */
void kube_informer_free(kube_informer *inf);

/* ---- cache reads (thread-safe; may be called from handlers) ---------------------------- */

/* The cached object ns/name (ns NULL or "" for cluster-scoped), decoded into a new value owned
 * by the caller (json_decref() it). Returns 0 or DHG_ENOTFOUND. */
int kube_informer_get(json_t **out, kube_informer *inf, const char *ns, const char *name);

/* Every cached object in namespace ns (NULL: all) matching sel (NULL: all), as a new JSON
 * array (owned by the caller) sorted by namespace/name. Uses the namespace and label indexes:
 * an equality requirement (or a one-value In) narrows the scan to matching objects, so only
 * candidates are decoded. */
int kube_informer_list(json_t **out, kube_informer *inf, const char *ns, const kube_selector *sel);

/* Number of cached objects. */
size_t kube_informer_count(kube_informer *inf);

/* A counter that moves with every write to the cache (add, update, delete, relist): while it
 * stays the same, every read of the cache gives the same objects. */
unsigned long kube_informer_changes(kube_informer *inf);

/* The last resourceVersion seen (list, event or bookmark) copied into buf. */
void kube_informer_resource_version(char *buf, size_t size, kube_informer *inf);

typedef struct kube_informer_stats {
	unsigned long lists;         /* full lists (1 + relists) */
	unsigned long relists_gone;  /* relists caused by 410 Gone/Expired */
	unsigned long watches;       /* watch requests started */
	unsigned long events;        /* watch events received (bookmarks included) */
	unsigned long bookmarks;
	unsigned long errors;        /* failed list/watch attempts */
} kube_informer_stats;
void kube_informer_stats_get(kube_informer_stats *out, kube_informer *inf);

#endif
