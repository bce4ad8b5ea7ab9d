#ifndef DHG_RUNTIME_RBAC_H
#define DHG_RUNTIME_RBAC_H

/*
 * RBAC declared next to the code that needs it (Flux's +kubebuilder:rbac markers, without a
 * generator): each module that calls the API server exports the rules of its calls, and
 * `dhg-operator --print-rbac` prints them all; tests/integration/test_rbac.sh checks the Helm
 * chart and deploy/operator.yaml against that output.
 */

/* Where a rule must be granted. */
typedef enum rt_rbac_scope {
	RT_RBAC_WATCHED = 0,     /* every watched namespace (a ClusterRole when watching all) */
	RT_RBAC_LEADER_ELECTION  /* the Lease's namespace (--leader-election-namespace) */
} rt_rbac_scope;

typedef struct rt_rbac_rule {
	const char *group;    /* "" = core */
	const char *resource; /* "helmcharts/status" for a subresource */
	const char *verbs;    /* comma-separated, e.g. "get,list,watch" */
	rt_rbac_scope scope;
	const char *why;      /* the code that needs it */
} rt_rbac_rule;

/* The recorder's Event writes (rt_event_sink_kube). */
extern const rt_rbac_rule rt_rbac_rule_events;
/* The elector's Lease calls (rt_lease_ops_kube). */
extern const rt_rbac_rule rt_rbac_rule_leases;

#endif
