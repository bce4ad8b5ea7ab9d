#ifndef DHG_KUBE_DISCOVERY_H
#define DHG_KUBE_DISCOVERY_H

#include <stdbool.h>

#include "kube/client.h"

/*
 * API discovery: maps a kind (apiVersion + kind) to its resource (plural name, scope) and
 * back, from /api, /apis and each group-version's resource list. Results are cached; a miss
 * refreshes the cache (at most once per min_refresh_ms) so a CRD installed later is found
 * without a restart. Thread-safe.
 */

typedef struct kube_discovery kube_discovery;

/* One resource, copied out of the cache (no ownership concerns). */
typedef struct kube_resource_info {
	char group[254];       /* "" for the core group */
	char version[64];
	char kind[128];
	char resource[128];    /* plural, e.g. "deployments" */
	bool namespaced;
	bool has_status;       /* a "<resource>/status" subresource exists */
} kube_resource_info;

/* A kube_gvr view of info (pointers into *info, valid while it lives). */
kube_gvr kube_resource_info_gvr(const kube_resource_info *info);

/* `client` is borrowed and must outlive the discovery. min_refresh_ms: the least time between
 * two refreshes caused by misses (0 = 2000). *out owned (kube_discovery_free()). No request is
 * made until the first lookup. */
int kube_discovery_new(kube_discovery **out, kube_client *client, long min_refresh_ms);

/* Looks up a kind by apiVersion ("v1", "apps/v1", "dhg.deckhouse.io/v1alpha1") and kind.
 * Returns 0 (out filled), DHG_ENOTFOUND (after a refresh), or < 0 (discovery failed). */
int kube_discovery_lookup_kind(kube_resource_info *out, kube_discovery *d,
                               const char *api_version, const char *kind);

/* Looks up by group, version and plural resource name. version NULL or "" means the group's
 * preferred version. Same returns. */
int kube_discovery_lookup_resource(kube_resource_info *out, kube_discovery *d,
                                   const char *group, const char *version,
                                   const char *resource);

/* Forces a full refresh now. Returns 0 or < 0 (cache unchanged on failure). */
int kube_discovery_refresh(kube_discovery *d);

/* NULL-safe. */
void kube_discovery_free(kube_discovery *d);

#endif
