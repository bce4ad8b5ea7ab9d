#ifndef DHG_RUNTIME_MANAGER_H
#define DHG_RUNTIME_MANAGER_H

#include <stdbool.h>

#include "runtime/leader.h"
#include "runtime/workqueue.h"

/*
 * The manager runs one controller (controller-runtime's Manager + Controller, reduced):
 * starts the elector (when given) and the sources (informers) on every replica, waits for
 * their caches to sync (from then on rt_manager_synced() is true: a standby replica is
 * ready), waits for leadership (when an elector is given; event handlers keep filling the
 * queue meanwhile), then runs N workers that take keys from the workqueue and call the
 * reconcile function — a key is never reconciled by two workers at once. On a negative return
 * other than DHG_ETERMINAL the key is re-queued with backoff; otherwise its backoff is
 * forgotten and result.requeue_after_ms (if any) schedules the next run.
 * rt_manager_stop() (async-signal-safe) makes it stop taking work, finish in-flight
 * reconciles, stop the sources and release the lease.
 */
typedef struct rt_manager rt_manager;

typedef struct rt_result {
	long long requeue_after_ms; /* > 0: reconcile this key again after that long */
} rt_result;

/* Reconciles `key` ("namespace/name"). Returns 0, DHG_ETERMINAL (no retry) or < 0 (retry
 * with backoff). Called concurrently for distinct keys. */
typedef int (*rt_reconcile_fn)(rt_result *res, void *payload, const char *key);

/* Something with a cache: started before the workers, waited for until synced. */
typedef struct rt_source {
	const char *name;
	int (*start)(void *payload);      /* returns 0 or < 0 */
	bool (*has_synced)(void *payload);
	void (*stop)(void *payload);      /* blocks until stopped */
	void *payload;
} rt_source;

typedef struct rt_manager_options {
	int workers;                /* 0 = 4 */
	rt_reconcile_fn reconcile;  /* required */
	void *payload;
	rt_leader *leader;          /* optional, borrowed */
	long long sync_timeout_ms;  /* 0 = 120000 */
	/* Optional hook after each reconcile (metrics, logs): duration in microseconds. */
	void (*on_result)(void *payload, const char *key, int error, long long duration_us);
	rt_workqueue_options queue;
} rt_manager_options;

#define RT_MANAGER_OPTIONS_INIT { 0, NULL, NULL, NULL, 0, NULL, RT_WORKQUEUE_OPTIONS_INIT }

/* New manager (not running). opts copied. Returns 0 or < 0. */
int rt_manager_new(rt_manager **out, const rt_manager_options *opts);
/* Adds a source (copied) before rt_manager_run(). At most 64. */
int rt_manager_add_source(rt_manager *m, const rt_source *src);
/* The work queue (borrowed; valid for the manager's life). Event handlers add keys here. */
rt_workqueue *rt_manager_queue(rt_manager *m);
/* Runs until rt_manager_stop(). Returns 0 after a clean stop, DHG_ETERMINAL when leadership
 * was lost, DHG_ETIMEOUT when caches did not sync, or < 0 when a source failed to start. */
int rt_manager_run(rt_manager *m);
/* Requests a stop. Async-signal-safe; thread-safe. */
void rt_manager_stop(rt_manager *m);
/* true once every source synced (readiness; independent of leadership). Thread-safe. */
bool rt_manager_synced(rt_manager *m);
/* true while the manager may write (leader or no election). Thread-safe. */
bool rt_manager_is_leader(rt_manager *m);
/* NULL-safe; the manager must not be running. */
void rt_manager_free(rt_manager *m);

#endif
