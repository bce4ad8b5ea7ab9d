/* Kubernetes-backed sinks for the recorder and the leader elector (kept in their own object
 * file so the generic parts link without the API client). */
#include "runtime/leader.h"
#include "runtime/rbac.h"
#include "runtime/recorder.h"

static const kube_gvr EVENT_GVR = { "", "v1", "events" };
static const kube_gvr LEASE_GVR = { "coordination.k8s.io", "v1", "leases" };

/* The verbs of the calls below: keep in step when a call is added. */
const rt_rbac_rule rt_rbac_rule_events = { "", "events", "create,patch", RT_RBAC_WATCHED,
					   "runtime/kubeops.c: Event create + patch (recorder)" };
const rt_rbac_rule rt_rbac_rule_leases = { "coordination.k8s.io", "leases", "get,create,update",
					   RT_RBAC_LEADER_ELECTION, "runtime/kubeops.c: Lease get/create/update (elector)" };

static int ev_create(void *payload, const char *ns, const json_t *ev)
{
	return kube_client_create(NULL, payload, &EVENT_GVR, ns, ev);
}

static int ev_patch(void *payload, const char *ns, const char *name, const json_t *patch)
{
	return kube_client_patch(NULL, payload, &EVENT_GVR, ns, name, patch, NULL);
}

rt_event_sink rt_event_sink_kube(kube_client *c)
{
	rt_event_sink s = { ev_create, ev_patch, c };
	return s;
}

static int lease_get(json_t **out, void *p, const char *ns, const char *name)
{
	return kube_client_get(out, p, &LEASE_GVR, ns, name);
}

static int lease_create(void *p, const char *ns, const json_t *lease)
{
	return kube_client_create(NULL, p, &LEASE_GVR, ns, lease);
}

static int lease_update(void *p, const char *ns, const json_t *lease)
{
	return kube_client_update(NULL, p, &LEASE_GVR, ns, lease);
}

rt_lease_ops rt_lease_ops_kube(kube_client *c)
{
	rt_lease_ops o = { lease_get, lease_create, lease_update, c };
	return o;
}
