/* Container-level findings for workloads: resources, probes, image tags, security context. */
#include <string.h>

#include "engine/analyze/analyze.h"
#include "util/error.h"

/* Image reference without a tag (and without a digest), or tagged :latest. */
static int image_latest(const char *image, const char **why)
{
	const char *slash, *colon;

	if (strchr(image, '@'))
		return 0; /* pinned by digest */
	slash = strrchr(image, '/');
	colon = strrchr(slash ? slash : image, ':');
	if (!colon) {
		*why = "has no tag (pulls :latest)";
		return 1;
	}
	if (strcmp(colon + 1, "latest") == 0) {
		*why = "uses the :latest tag";
		return 1;
	}
	return 0;
}

static int has_members(const json_t *o)
{
	return json_is_object(o) && json_object_size(o) > 0;
}

static int long_running(const char *kind)
{
	return strcmp(kind, "Job") != 0 && strcmp(kind, "CronJob") != 0;
}

static int check_container(engine_graph *g, size_t id, const json_t *c, const char *list, int init,
			   const json_t *pod_sc)
{
	const engine_graph__node *nd = &g->nodes[id];
	const char *cname = engine_graph__str(c, "name"), *image = engine_graph__str(c, "image"), *why = NULL;
	const json_t *res = json_object_get(c, "resources"), *sc = json_object_get(c, "securityContext"), *uid;
	int req, lim, live, ready, error;

	if (!cname)
		cname = "";
	req = has_members(json_object_get(res, "requests"));
	lim = has_members(json_object_get(res, "limits"));
	if (!req && !lim)
		error = engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "no-resources",
						   "%s '%s' has no resource requests or limits", list, cname);
	else if (!lim)
		error = engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "no-resources",
						   "%s '%s' has no resource limits", list, cname);
	else if (!req)
		error = engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "no-resources",
						   "%s '%s' has no resource requests", list, cname);
	else
		error = 0;
	if (error < 0)
		return error;

	if (!init && long_running(nd->kind)) {
		live = json_object_get(c, "livenessProbe") != NULL;
		ready = json_object_get(c, "readinessProbe") != NULL;
		if (!live && !ready)
			error = engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "no-probes",
							   "%s '%s' has no liveness or readiness probe", list, cname);
		else if (!live)
			error = engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "no-probes",
							   "%s '%s' has no liveness probe", list, cname);
		else if (!ready)
			error = engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "no-probes",
							   "%s '%s' has no readiness probe", list, cname);
		if (error < 0)
			return error;
	}

	if (image && image_latest(image, &why) &&
	    (error = engine_graph__finding_addf(g, ENGINE_SEV_MEDIUM, id, "image-latest", "%s '%s' image '%s' %s", list,
						cname, image, why)) < 0)
		return error;

	if (json_is_true(json_object_get(sc, "privileged")) &&
	    (error = engine_graph__finding_addf(g, ENGINE_SEV_HIGH, id, "privileged", "%s '%s' runs privileged", list,
						cname)) < 0)
		return error;
	if (json_is_true(json_object_get(sc, "allowPrivilegeEscalation")) &&
	    (error = engine_graph__finding_addf(g, ENGINE_SEV_HIGH, id, "privilege-escalation",
						"%s '%s' sets allowPrivilegeEscalation: true", list, cname)) < 0)
		return error;
	uid = json_object_get(sc, "runAsUser");
	if (!uid)
		uid = json_object_get(pod_sc, "runAsUser");
	if (json_is_integer(uid) && json_integer_value(uid) == 0 &&
	    (error = engine_graph__finding_addf(g, ENGINE_SEV_HIGH, id, "run-as-root", "%s '%s' runs as user 0 (root)",
						list, cname)) < 0)
		return error;
	return 0;
}

int engine_graph__workload_findings(engine_graph *g, size_t id)
{
	const json_t *spec = g->nodes[id].pod_spec, *c;
	const json_t *pod_sc = json_object_get(spec, "securityContext");
	size_t i;
	int error;

	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		if ((error = check_container(g, id, c, "init container", 1, pod_sc)) < 0)
			return error;
	}
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		if ((error = check_container(g, id, c, "container", 0, pod_sc)) < 0)
			return error;
	}
	return 0;
}
