#ifndef DHG_CONTROLLER_HELMCHART_H
#define DHG_CONTROLLER_HELMCHART_H

#include <stdbool.h>
#include <stddef.h>

#include "httpserver/metrics.h"
#include "kube/client.h"
#include "output/writer.h"
#include "runtime/leader.h"

/*
 * The HelmChart controller: informers for HelmCharts and for every kind in hc_kinds (in the
 * watched namespaces), event mapping object -> HelmCharts (controller/index.h), the workqueue
 * with debounce/backoff, and the reconciler (controller/reconcile.c). Built on rt_manager.
 * Only the HelmChart informers start with the manager (and make up readiness); the informer
 * of a kind starts the first time a HelmChart selecting it is reconciled, and runs until
 * controller_helmchart_run() returns.
 */
typedef struct controller_helmchart controller_helmchart;

#define CONTROLLER_MAX_WATCH_NAMESPACES 64

typedef struct controller_options {
	kube_client *client;             /* borrowed, required */
	const char *const *watch_namespaces; /* NULL/empty: all namespaces */
	size_t nwatch;
	bool allow_cross_namespace;
	int concurrency;                 /* workers; 0 = 4 */
	const char *work_dir;            /* scratch (git clones, git sources); NULL = /tmp/dhg-operator */
	const char *output_root;         /* local writer root, or NULL (spec.output.local refused) */
	long long default_debounce_ms;   /* spec.sync.debounce default */
	rt_leader *leader;               /* borrowed, optional */
	metrics_registry *metrics;       /* borrowed, optional */
	/* Writers for spec.output.git / spec.output.oci. kind NULL: use the built-in ones
	 * (gitout_write / ociout_push). */
	output_writer git_writer, oci_writer;
	long long resync_ms;             /* informer resync (0 = none) */
} controller_options;

#define CONTROLLER_OPTIONS_INIT \
	{ NULL, NULL, 0, false, 4, NULL, NULL, 10000, NULL, NULL, { NULL, NULL, NULL }, { NULL, NULL, NULL }, 0 }

/* Creates the controller (nothing runs yet). Probes which kinds the API server serves (kinds it
 * does not serve, or RBAC forbids listing, are skipped with a warning); informers for the others
 * are created but not started. opts strings are copied. *out owned. */
int controller_helmchart_new(controller_helmchart **out, const controller_options *opts);
/* Runs until controller_helmchart_stop(): waits for leadership, syncs caches, reconciles.
 * Returns 0 after a clean stop, DHG_ETERMINAL when leadership was lost, < 0 on start errors. */
int controller_helmchart_run(controller_helmchart *c);
/* Async-signal-safe stop request. */
void controller_helmchart_stop(controller_helmchart *c);
/* Readiness: the HelmChart informers synced (object informers started later do not count).
 * Thread-safe. */
bool controller_helmchart_ready(controller_helmchart *c);
/* Webhook: enqueues the HelmCharts whose spec.source.git.url matches one of `urls` (a JSON
 * array of strings). Returns how many. Thread-safe. */
int controller_helmchart_push(controller_helmchart *c, const json_t *urls);
/* NULL-safe; must not be running. */
void controller_helmchart_free(controller_helmchart *c);

/* The RBAC rules the operator's code needs, as a new JSON array (json_decref()) of
 * {apiGroup, resource, verbs[], scope: "watched-namespaces"|"leader-election-namespace",
 * namespaced, why}, built from the same tables the code uses (hc_kinds, the controller's and the
 * runtime's calls). Returns 0 or DHG_ENOMEM. Thread-safe. */
int controller_rbac_rules(json_t **out);

#endif
