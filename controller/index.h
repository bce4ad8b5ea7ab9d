#ifndef DHG_CONTROLLER_INDEX_H
#define DHG_CONTROLLER_INDEX_H

#include <jansson.h>
#include <stdbool.h>

#include "controller/spec.h"

/*
 * Event mapping: which HelmCharts select a cluster object. HelmCharts are indexed by
 * (namespace, kind) — one bucket per pair they read — so an object event looks at the
 * HelmCharts of its own namespace and kind only and evaluates just their selectors (never a
 * scan of every HelmChart). Thread-safe (rwlock): informer threads match while the HelmChart
 * informer updates.
 */
typedef struct hc_index hc_index;

int hc_index_new(hc_index **out);
void hc_index_free(hc_index *ix);

/* Adds or replaces the entry for HelmChart `key` from a parsed spec (strings copied; the
 * spec's selector is taken: spec->selector becomes NULL). Only cluster sources with
 * sync.auto are indexed (others are removed). Returns 0 or DHG_ENOMEM. */
int hc_index_set_take(hc_index *ix, const char *key, hc_spec *spec);
/* Removes the entry of key (no-op when absent). */
void hc_index_remove(hc_index *ix, const char *key);

/* Calls cb for every HelmChart selecting `obj` (kind = obj's kind index in hc_kinds): same
 * namespace bucket, kind enabled, selector matches, not excluded. Returns the number of
 * matches. cb runs under the read lock and must not call back into the index. */
typedef void (*hc_index_match_cb)(const char *key, long long debounce_ms, void *payload);
int hc_index_match(hc_index *ix, const json_t *obj, int kind, hc_index_match_cb cb, void *payload);

/* Number of selector evaluations done so far (tests prove there is no full scan). */
unsigned long hc_index_evaluations(hc_index *ix);
size_t hc_index_len(hc_index *ix);

/* true when old and new differ in more than status, metadata.resourceVersion,
 * metadata.managedFields and metadata.generation (ignores status-only and no-op updates). */
bool hc_object_changed(const json_t *old_obj, const json_t *new_obj);

#endif
