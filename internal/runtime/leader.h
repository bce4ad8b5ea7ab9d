#ifndef DHG_RUNTIME_LEADER_H
#define DHG_RUNTIME_LEADER_H

#include <jansson.h>
#include <stdbool.h>

#include "kube/client.h"

/*
 * Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection with
 * controller-runtime's defaults: 15 s lease, 10 s renew deadline, 2 s retry period).
 *
 * A background thread acquires and renews the Lease. rt_leader_is_leader() is true only while
 * the last successful renew is younger than the renew deadline — so a replica that cannot
 * renew stops writing (the caller checks right before every write) well before another replica
 * may take the lease (lease duration after the last renew it observed). rt_leader_stop()
 * releases the lease (holderIdentity cleared) so a successor takes over at once.
 * Expiry of another holder's lease is measured on this replica's monotonic clock from when it
 * last saw the lease record change, never by comparing wall clocks.
 * Thread-safe.
 */
typedef struct rt_leader rt_leader;

/* Where the Lease lives: the Kubernetes API in production, a test double in unit tests. */
typedef struct rt_lease_ops {
	/* GET the Lease into *out (new reference). DHG_ENOTFOUND when absent. */
	int (*get)(json_t **out, void *payload, const char *ns, const char *name);
	/* POST; DHG_EEXISTS when taken. */
	int (*create)(void *payload, const char *ns, const json_t *lease);
	/* PUT with metadata.resourceVersion; DHG_ECONFLICT when stale. */
	int (*update)(void *payload, const char *ns, const json_t *lease);
	void *payload;
} rt_lease_ops;

/* Lease operations through a kube client (borrowed; must outlive the elector). */
rt_lease_ops rt_lease_ops_kube(kube_client *c);

typedef struct rt_leader_options {
	const char *namespace_;   /* Lease namespace; required */
	const char *name;         /* Lease name (--leader-election-id); required */
	const char *identity;     /* this replica; NULL = hostname + "_" + random */
	long long lease_ms;       /* 0 = 15000 */
	long long renew_deadline_ms; /* 0 = 10000 */
	long long retry_ms;       /* 0 = 2000 */
	/* Called from the elector thread when leadership starts / is lost (may be NULL). */
	void (*on_started)(void *payload);
	void (*on_stopped)(void *payload);
	void *payload;
} rt_leader_options;

#define RT_LEADER_OPTIONS_INIT { NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }

/* New elector in *out (not started). Strings are copied; ops copied. Returns 0 or < 0. */
int rt_leader_new(rt_leader **out, const rt_lease_ops *ops, const rt_leader_options *opts);
/* Starts the elector thread. Returns 0 or < 0. */
int rt_leader_start(rt_leader *l);
/* true while this replica holds a lease renewed within the renew deadline. */
bool rt_leader_is_leader(rt_leader *l);
/* true once this replica lost leadership after having it (the manager then stops). */
bool rt_leader_lost(rt_leader *l);
/* Blocks until leader, rt_leader_stop(), or timeout_ms (< 0: forever). Returns is_leader. */
bool rt_leader_wait(rt_leader *l, long long timeout_ms);
/* Stops the thread and, when holding the lease, releases it. Idempotent. */
void rt_leader_stop(rt_leader *l);
/* This replica's identity. Borrowed. */
const char *rt_leader_identity(const rt_leader *l);
/* Stops (if needed) and frees. NULL-safe. */
void rt_leader_free(rt_leader *l);

#endif
