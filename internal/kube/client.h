#ifndef DHG_KUBE_CLIENT_H
#define DHG_KUBE_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/config.h"

/*
 * REST client for the Kubernetes API (libcurl).
 *
 * - One share handle per client (connections, DNS, TLS sessions) so connections are reused;
 *   one easy handle per call, never shared across threads. HTTP/2 when the server offers it.
 * - TLS verification on unless the kubeconfig says insecure-skip-tls-verify.
 * - A token-bucket limiter (qps/burst, defaults 20/30) shared by every call of the client.
 * - Retries with jittered exponential backoff on connection errors, 429 and 5xx, honoring
 *   Retry-After (bounded by max_retry_after_ms).
 * - Errors map the API's Status: 404 DHG_ENOTFOUND, 409 Conflict DHG_ECONFLICT, 409
 *   AlreadyExists DHG_EEXISTS, 410 DHG_EGONE, 403 DHG_EFORBIDDEN, 401 DHG_EUNAUTHORIZED,
 *   422/400 DHG_EINVALID, 429/5xx/connection DHG_EUNAVAILABLE, timeouts DHG_ETIMEOUT, with
 *   the HTTP status, Status.reason and Status.message in dhg_error_last().
 *
 * Every function is thread-safe: a kube_client may be used by any number of threads.
 * Objects passed in are never modified or stolen; objects returned through `out` are new
 * references owned by the caller (json_decref()).
 * A namespace of NULL or "" addresses cluster-scoped resources (or all namespaces for list and
 * watch).
 */

typedef struct kube_client kube_client;

/* A resource: group ("" for the core group), version, plural resource name. */
typedef struct kube_gvr {
	const char *group;
	const char *version;
	const char *resource;
} kube_gvr;

typedef struct kube_client_options {
	double qps;                 /* client-side rate limit; <= 0 disables */
	int burst;                  /* token bucket size */
	long timeout_ms;            /* whole request (not watches) */
	long connect_timeout_ms;
	int max_retries;            /* retries after the first attempt (connection/429/5xx) */
	long backoff_base_ms;       /* first backoff; doubled each retry, +-50% jitter */
	long backoff_max_ms;        /* cap for one backoff */
	long max_retry_after_ms;    /* cap for an honored Retry-After */
	size_t max_body;            /* cap on a response body (DHG_ETOOBIG beyond) */
	const char *user_agent;
} kube_client_options;

#define KUBE_CLIENT_OPTIONS_INIT \
	{ 20.0, 30, 30000, 10000, 5, 200, 10000, 30000, (size_t)64 << 20, "dhg-operator" }

/* Creates a client. `cfg` is borrowed and must outlive the client. On 0, *out owned
 * (kube_client_free()). */
int kube_client_new(kube_client **out, const kube_config *cfg, const kube_client_options *opts);
/* NULL-safe. Must not run concurrently with calls on the same client. */
void kube_client_free(kube_client *c);

/* The configuration the client was made with. Borrowed. */
const kube_config *kube_client_config(const kube_client *c);

/* Counters for tests and metrics (monotonic). */
typedef struct kube_client_stats {
	unsigned long requests;      /* HTTP attempts, retries included */
	unsigned long retries;
	unsigned long throttled_ms;  /* total time waited in the limiter */
} kube_client_stats;
void kube_client_stats_get(kube_client_stats *out, kube_client *c);

/* ---- verbs ---------------------------------------------------------------------------- */

/* GET one object. Returns 0, DHG_ENOTFOUND, or < 0. */
int kube_client_get(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                    const char *name);

typedef struct kube_list_options {
	const char *label_selector;     /* string form, or NULL */
	const char *field_selector;     /* or NULL */
	long limit;                     /* page size; 0 = 500 */
	const char *resource_version;   /* NULL: most recent */
} kube_list_options;
#define KUBE_LIST_OPTIONS_INIT { NULL, NULL, 0, NULL }

/* LIST, following `continue` until the end. *out is a list object
 * {apiVersion, kind, metadata: {resourceVersion}, items: [...]} holding every page's items;
 * metadata.resourceVersion is the first page's (the list's consistent snapshot). A 410 on a
 * continue token restarts the list once. opts may be NULL. */
int kube_client_list(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                     const kube_list_options *opts);

/* Page-by-page LIST: cb is called for each item (borrowed; json_incref() to keep it) in order.
 * Items lacking kind/apiVersion get them from the list (kind "ConfigMapList" -> "ConfigMap").
 * A non-zero return from cb stops the listing and is returned. rv_out (size rv_size, may be
 * NULL) receives the list's resourceVersion. Memory stays bounded by one page. */
typedef int (*kube_list_item_cb)(json_t *item, void *payload);
int kube_client_list_each(char *rv_out, size_t rv_size, kube_client *c, const kube_gvr *gvr,
                          const char *ns, const kube_list_options *opts, kube_list_item_cb cb,
                          void *payload);

/* POST. The namespace comes from `ns` (metadata.namespace is ignored). DHG_EEXISTS when the
 * name is taken. out may be NULL (result discarded). */
int kube_client_create(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                       const json_t *obj);

/* PUT of obj (name from metadata.name). A stale metadata.resourceVersion gives DHG_ECONFLICT.
 * out may be NULL. */
int kube_client_update(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                       const json_t *obj);

enum kube_patch_type {
	KUBE_PATCH_MERGE = 0,        /* application/merge-patch+json */
	KUBE_PATCH_JSON,             /* application/json-patch+json (body is an array) */
	KUBE_PATCH_STRATEGIC,        /* application/strategic-merge-patch+json */
	KUBE_PATCH_APPLY             /* application/apply-patch+yaml (JSON body), server-side apply */
};

typedef struct kube_patch_options {
	int type;                    /* enum kube_patch_type */
	const char *field_manager;   /* required for APPLY; optional otherwise */
	bool force;                  /* APPLY: take ownership of conflicting fields */
} kube_patch_options;
#define KUBE_PATCH_OPTIONS_INIT { KUBE_PATCH_MERGE, NULL, false }

/* PATCH. opts may be NULL (merge patch). out may be NULL. */
int kube_client_patch(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                      const char *name, const json_t *patch, const kube_patch_options *opts);

typedef struct kube_delete_options {
	const char *propagation_policy;  /* "Foreground" | "Background" | "Orphan" | NULL */
	const char *precondition_uid;    /* or NULL */
	const char *precondition_rv;     /* or NULL */
	long grace_period_seconds;       /* < 0: server default */
} kube_delete_options;
#define KUBE_DELETE_OPTIONS_INIT { NULL, NULL, NULL, -1 }

/* DELETE. Returns 0 (deleted or deletion started), DHG_ENOTFOUND, DHG_ECONFLICT (failed
 * precondition), or < 0. opts may be NULL. */
int kube_client_delete(kube_client *c, const kube_gvr *gvr, const char *ns, const char *name,
                       const kube_delete_options *opts);

/* The status subresource: GET, PUT (resourceVersion conflicts give DHG_ECONFLICT), PATCH. */
int kube_client_get_status(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                           const char *name);
int kube_client_update_status(json_t **out, kube_client *c, const kube_gvr *gvr,
                              const char *ns, const json_t *obj);
int kube_client_patch_status(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                             const char *name, const json_t *patch,
                             const kube_patch_options *opts);

/* A raw request to `path` (starting with '/', may hold a query string) with an optional JSON
 * body and content type (NULL: application/json). Same limiter, retries and error mapping.
 * On 0, *out holds the parsed JSON response (JSON null for an empty body); out may be NULL. */
int kube_client_request(json_t **out, kube_client *c, const char *method, const char *path,
                        const json_t *body, const char *content_type);

/* Builds "/api/v1[/namespaces/ns]/resource[/name][/sub]" or the /apis/group/version form into
 * a new string (free()). NULL when out of memory. Thread-safe. */
char *kube_client_path(const kube_gvr *gvr, const char *ns, const char *name, const char *sub);

/* ---- watch ---------------------------------------------------------------------------- */

enum kube_watch_event_type {
	KUBE_WATCH_ADDED = 0,
	KUBE_WATCH_MODIFIED,
	KUBE_WATCH_DELETED,
	KUBE_WATCH_BOOKMARK,
	KUBE_WATCH_ERROR            /* object is a Status; code 410 means the RV expired */
};

/* Called for each watch event, in stream order. `object` is borrowed (json_incref() to keep).
 * Return 0 to go on; any other value ends the watch and is returned by kube_client_watch(). */
typedef int (*kube_watch_cb)(int type, json_t *object, void *payload);

typedef struct kube_watch_options {
	const char *resource_version;   /* start after this RV; NULL/"" : server's choice */
	const char *label_selector;
	const char *field_selector;
	int timeout_seconds;            /* server-side timeoutSeconds; 0 = not sent */
	bool allow_bookmarks;           /* allowWatchBookmarks=true */
	size_t max_line;                /* longest accepted event line; 0 = 16 MiB */
	/* When non-NULL and set to non-zero by another thread, the watch ends within ~100 ms
	 * and kube_client_watch() returns 1. */
	const atomic_int *cancel;
} kube_watch_options;
#define KUBE_WATCH_OPTIONS_INIT { NULL, NULL, NULL, 0, true, 0, NULL }

/* Runs one watch request until the server closes the stream (returns 0), the callback stops it
 * (its value is returned), `cancel` is set (returns 1), or an error: HTTP errors map like the
 * verbs (410 Expired is DHG_EGONE). Only the initial connection is retried (limiter + backoff);
 * resuming after a stream end is the caller's job (the informer does it). */
int kube_client_watch(kube_client *c, const kube_gvr *gvr, const char *ns,
                      const kube_watch_options *opts, kube_watch_cb cb, void *payload);

/* ---- watch stream parser (exposed for tests and fuzzing) --------------------------------
 * Splits a byte stream into newline-terminated JSON watch events ({"type":..,"object":..})
 * fed in arbitrary chunks. Buffers at most one line (max_line bytes). Not thread-safe. */
typedef struct kube_watch_parser kube_watch_parser;
/* *out owned (kube_watch_parser_free()). max_line 0 = 16 MiB. */
int kube_watch_parser_new(kube_watch_parser **out, size_t max_line, kube_watch_cb cb,
                          void *payload);
/* Feeds bytes; calls cb for each complete line. Returns 0, the callback's non-zero value,
 * DHG_ETOOBIG (line longer than max_line) or DHG_EINVALID (a line that is not a watch event;
 * the message names the line number). Blank lines are ignored. */
int kube_watch_parser_feed(kube_watch_parser *p, const char *data, size_t len);
/* Ends the stream: a final line without '\n' is parsed. Same returns as feed. */
int kube_watch_parser_finish(kube_watch_parser *p);
/* Number of events delivered so far. */
unsigned long kube_watch_parser_events(const kube_watch_parser *p);
void kube_watch_parser_free(kube_watch_parser *p);

/* Name of an event type: "ADDED", ... */
const char *kube_watch_event_name(int type);
/* Event type from its name; -1 when unknown. */
int kube_watch_event_parse(const char *name);

#endif
