/* The relationship graph: nodes are the input objects, edges are built through hash
 * indexes (Kind/namespace/name, and pod-template labels by key=value) so that the whole
 * pass stays near-linear in the number of objects. Findings are gathered on the way.
 * Output order is fully determined by the objects' identities, never by input order. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/analyze/analyze.h"
#include "util/buf.h"
#include "util/array.h"
#include "util/error.h"
#include "util/str.h"

#define NONE ((size_t)-1)

/* ---- small json helpers ------------------------------------------------------------------ */

const json_t *engine_graph__path(const json_t *v, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, v);
	while (v && (k = va_arg(ap, const char *)) != NULL)
		v = json_is_object(v) ? json_object_get(v, k) : NULL;
	va_end(ap);
	return v;
}

const char *engine_graph__str(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *str_or_empty(const json_t *obj, const char *key)
{
	const char *s = engine_graph__str(obj, key);
	return s ? s : "";
}

static int is_true(const json_t *v)
{
	return json_is_true(v);
}

/* ---- storage ----------------------------------------------------------------------------- */

int engine_graph__edge_add(engine_graph *g, size_t from, size_t to, const char *type)
{
	if (dhg_array_reserve((void **)&g->edges, &g->capedges, g->nedges + 1, sizeof(*g->edges)) < 0)
		return dhg_error_set(DHG_ENOMEM, "analyze: out of memory adding an edge");
	g->edges[g->nedges++] = (engine_graph__edge){ from, to, g->nodes[from].rank, g->nodes[to].rank, type };
	return 0;
}

int engine_graph__finding_addf(engine_graph *g, int severity, size_t node, const char *rule,
			       const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (dhg_array_reserve((void **)&g->findings, &g->capfindings, g->nfindings + 1, sizeof(*g->findings)) < 0)
		return dhg_error_set(DHG_ENOMEM, "analyze: out of memory adding a finding");
	char *m = dhg_strdup(msg);
	if (!m)
		return DHG_ENOMEM;
	g->findings[g->nfindings++] = (engine_graph__finding){ severity, node, g->nodes[node].rank, rule, m };
	return 0;
}

/* key = a NUL b NUL c, into scratch buffer b (cleared first). */
static int key3(dhg_buf *b, const char *x, const char *y, const char *z)
{
	dhg_buf_clear(b);
	if (dhg_buf_put(b, x, strlen(x) + 1) < 0 || dhg_buf_put(b, y, strlen(y) + 1) < 0 ||
	    dhg_buf_put(b, z, strlen(z)) < 0)
		return DHG_ENOMEM;
	return 0;
}

/* key = ns NUL k = v */
static int label_key(dhg_buf *b, const char *ns, const char *k, const char *v)
{
	dhg_buf_clear(b);
	if (dhg_buf_put(b, ns, strlen(ns) + 1) < 0 || dhg_buf_puts(b, k) < 0 || dhg_buf_putc(b, '=') < 0 ||
	    dhg_buf_puts(b, v) < 0)
		return DHG_ENOMEM;
	return 0;
}

int engine_graph__lookup(const engine_graph *g, const char *kind, const char *ns, const char *name, size_t *out)
{
	dhg_buf b = DHG_BUF_INIT(0);
	size_t n = 0;
	const size_t *ids;
	int err;

	*out = NONE;
	if ((err = key3(&b, kind, ns, name)) < 0)
		return err;
	ids = engine_graph__index_get(&g->by_name, b.ptr, b.len, &n);
	if (n > 0)
		*out = ids[0];
	dhg_buf_dispose(&b);
	return 0;
}

/* ---- node setup -------------------------------------------------------------------------- */

static int set_workload(engine_graph__node *nd)
{
	const json_t *o = nd->obj;
	const char *k = nd->kind;
	const json_t *tmpl = NULL;

	if (strcmp(k, "Deployment") == 0 || strcmp(k, "StatefulSet") == 0 || strcmp(k, "DaemonSet") == 0 ||
	    strcmp(k, "ReplicaSet") == 0 || strcmp(k, "Job") == 0 || strcmp(k, "ReplicationController") == 0)
		tmpl = engine_graph__path(o, "spec", "template", NULL);
	else if (strcmp(k, "CronJob") == 0)
		tmpl = engine_graph__path(o, "spec", "jobTemplate", "spec", "template", NULL);
	else if (strcmp(k, "Pod") == 0) {
		nd->pod_spec = engine_graph__path(o, "spec", NULL);
		nd->pod_labels = engine_graph__path(o, "metadata", "labels", NULL);
	}
	if (tmpl) {
		nd->pod_spec = engine_graph__path(tmpl, "spec", NULL);
		nd->pod_labels = engine_graph__path(tmpl, "metadata", "labels", NULL);
	}
	if (!json_is_object(nd->pod_spec))
		nd->pod_spec = NULL;
	if (!json_is_object(nd->pod_labels))
		nd->pod_labels = NULL;
	return nd->pod_spec != NULL;
}

static int node_cmp(const void *a, const void *b)
{
	const engine_graph__node *x = *(engine_graph__node *const *)a, *y = *(engine_graph__node *const *)b;
	int c;
	if ((c = strcmp(x->ns, y->ns)) != 0)
		return c;
	if ((c = strcmp(x->kind, y->kind)) != 0)
		return c;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->api_version, y->api_version);
}

static int edge_cmp(const void *a, const void *b)
{
	const engine_graph__edge *x = a, *y = b;
	int c;
	if (x->rfrom != y->rfrom)
		return x->rfrom < y->rfrom ? -1 : 1;
	if ((c = strcmp(x->type, y->type)) != 0)
		return c;
	if (x->rto != y->rto)
		return x->rto < y->rto ? -1 : 1;
	return 0;
}

static int finding_cmp(const void *a, const void *b)
{
	const engine_graph__finding *x = a, *y = b;
	int c;
	if (x->severity != y->severity)
		return x->severity < y->severity ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if ((c = strcmp(x->rule, y->rule)) != 0)
		return c;
	return strcmp(x->message, y->message);
}

/* ---- selectors --------------------------------------------------------------------------- */

static int labels_have(const json_t *labels, const char *k, const char *v)
{
	const char *have = engine_graph__str(labels, k);
	return have && strcmp(have, v) == 0;
}

/* matchExpressions: In, NotIn, Exists, DoesNotExist. An unknown operator matches nothing. */
static int expressions_match(const json_t *exprs, const json_t *labels)
{
	size_t i, j;
	const json_t *e;

	json_array_foreach(exprs, i, e) {
		const char *key = engine_graph__str(e, "key"), *op = engine_graph__str(e, "operator");
		const json_t *values = json_object_get(e, "values");
		const char *have;
		int in = 0;
		if (!key || !op)
			return 0;
		have = engine_graph__str(labels, key);
		if (have && json_is_array(values)) {
			const json_t *v;
			json_array_foreach(values, j, v) {
				if (json_is_string(v) && strcmp(json_string_value(v), have) == 0)
					in = 1;
			}
		}
		if (strcmp(op, "In") == 0) {
			if (!in)
				return 0;
		} else if (strcmp(op, "NotIn") == 0) {
			if (in)
				return 0;
		} else if (strcmp(op, "Exists") == 0) {
			if (!have)
				return 0;
		} else if (strcmp(op, "DoesNotExist") == 0) {
			if (have)
				return 0;
		} else
			return 0;
	}
	return 1;
}

typedef int (*match_fn)(engine_graph *g, size_t from, size_t to, void *payload);

/* Calls fn for every workload in namespace ns whose pod-template labels satisfy the selector:
 * match_labels (a map, may be NULL) and exprs (matchExpressions, may be NULL). An empty
 * selector matches every workload of the namespace. Candidates come from the label index
 * (the shortest posting list among the selector's pairs), so the cost is that list's length.
 * *nmatch gets the number of matches. */
static int select_workloads(size_t *nmatch, engine_graph *g, size_t from, const char *ns,
			    const json_t *match_labels, const json_t *exprs, match_fn fn, void *payload)
{
	dhg_buf b = DHG_BUF_INIT(0);
	const size_t *cand = NULL;
	size_t ncand = 0, i;
	const char *k;
	const json_t *v;
	int error = 0, have_best = 0;

	*nmatch = 0;
	if (json_is_object(match_labels) && json_object_size(match_labels) > 0) {
		json_object_foreach((json_t *)match_labels, k, v) {
			const size_t *ids;
			size_t n;
			if (!json_is_string(v))
				goto done; /* a non-string selector value matches nothing */
			if ((error = label_key(&b, ns, k, json_string_value(v))) < 0)
				goto done;
			ids = engine_graph__index_get(&g->by_label, b.ptr, b.len, &n);
			if (!have_best || n < ncand) {
				cand = ids;
				ncand = n;
				have_best = 1;
			}
			if (n == 0)
				break;
		}
	} else {
		cand = engine_graph__index_get(&g->by_ns, ns, strlen(ns), &ncand);
	}
	for (i = 0; i < ncand; i++) {
		const engine_graph__node *w = &g->nodes[cand[i]];
		int ok = 1;
		if (json_is_object(match_labels)) {
			json_object_foreach((json_t *)match_labels, k, v) {
				if (!labels_have(w->pod_labels, k, json_string_value(v))) {
					ok = 0;
					break;
				}
			}
		}
		if (ok && json_is_array(exprs) && !expressions_match(exprs, w->pod_labels))
			ok = 0;
		if (!ok)
			continue;
		(*nmatch)++;
		if ((error = fn(g, from, cand[i], payload)) < 0)
			goto done;
	}
done:
	dhg_buf_dispose(&b);
	return error;
}

static int on_select_edge(engine_graph *g, size_t from, size_t to, void *payload)
{
	return engine_graph__edge_add(g, from, to, (const char *)payload);
}

static int on_pdb(engine_graph *g, size_t from, size_t to, void *payload)
{
	(void)payload;
	g->has_pdb[to] = 1;
	return engine_graph__edge_add(g, from, to, "protects");
}

static void selector_text(char *out, size_t size, const json_t *sel)
{
	const char *k;
	const json_t *v;
	size_t used = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)sel, k, v) {
		int n = snprintf(out + used, size - used, "%s%s=%s", used ? "," : "", k,
				 json_is_string(v) ? json_string_value(v) : "?");
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

/* ---- references -------------------------------------------------------------------------- */

/* Edge from -> Kind ns/name, or a finding when the target is not in the set. */
static int ref(engine_graph *g, size_t from, const char *kind, const char *ns, const char *name,
	       const char *type, const char *via, int optional, int severity)
{
	size_t to;

	int err;

	if (!name || !*name)
		return 0;
	if ((err = engine_graph__lookup(g, kind, ns, name, &to)) < 0)
		return err;
	if (to != NONE)
		return engine_graph__edge_add(g, from, to, type);
	if (optional)
		return 0;
	return engine_graph__finding_addf(g, severity, from, "missing-reference",
					  "%s references %s %s%s%s which is not in the input (%s)", g->nodes[from].kind,
					  kind, ns, *ns ? "/" : "", name, via);
}

/* The ConfigMap `cm` and the Secret `sec` (either may be NULL) that one pod-spec entry points at
 * (an envFrom item, an env valueFrom, a volume, a projected source), each honouring its
 * `optional`; `sec_key` is the field naming the Secret ("name", or "secretName" in a volume). */
static int cm_secret_refs(engine_graph *g, size_t id, const char *ns, const json_t *cm, const json_t *sec,
			  const char *sec_key, const char *via)
{
	int error;

	if (cm && (error = ref(g, id, "ConfigMap", ns, engine_graph__str(cm, "name"), "uses-configmap", via,
			       is_true(json_object_get(cm, "optional")), ENGINE_SEV_MEDIUM)) < 0)
		return error;
	if (sec && (error = ref(g, id, "Secret", ns, engine_graph__str(sec, sec_key), "uses-secret", via,
				is_true(json_object_get(sec, "optional")), ENGINE_SEV_MEDIUM)) < 0)
		return error;
	return 0;
}

static int container_refs(engine_graph *g, size_t id, const char *ns, const json_t *containers,
			  const char *list)
{
	size_t i, j;
	const json_t *c, *e;
	int error;

	json_array_foreach(containers, i, c) {
		const char *cname = str_or_empty(c, "name");
		char via[512];
		json_array_foreach(json_object_get(c, "envFrom"), j, e) {
			const json_t *cm = json_object_get(e, "configMapRef"), *sec = json_object_get(e, "secretRef");
			snprintf(via, sizeof(via), "%s '%s' envFrom", list, cname);
			if ((error = cm_secret_refs(g, id, ns, cm, sec, "name", via)) < 0)
				return error;
		}
		json_array_foreach(json_object_get(c, "env"), j, e) {
			const json_t *cm = engine_graph__path(e, "valueFrom", "configMapKeyRef", NULL);
			const json_t *sec = engine_graph__path(e, "valueFrom", "secretKeyRef", NULL);
			snprintf(via, sizeof(via), "%s '%s' env %s", list, cname, str_or_empty(e, "name"));
			if ((error = cm_secret_refs(g, id, ns, cm, sec, "name", via)) < 0)
				return error;
		}
	}
	return 0;
}

static int workload_refs(engine_graph *g, size_t id)
{
	const engine_graph__node *nd = &g->nodes[id];
	const json_t *spec = nd->pod_spec, *v, *s;
	const char *ns = nd->ns, *sa;
	size_t i, j;
	int error;

	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		const char *vname = str_or_empty(v, "name");
		const json_t *cm = json_object_get(v, "configMap"), *sec = json_object_get(v, "secret");
		const json_t *pvc = json_object_get(v, "persistentVolumeClaim");
		char via[512];
		snprintf(via, sizeof(via), "volume '%s'", vname);
		if ((error = cm_secret_refs(g, id, ns, cm, sec, "secretName", via)) < 0)
			return error;
		if (pvc && (error = ref(g, id, "PersistentVolumeClaim", ns, engine_graph__str(pvc, "claimName"),
					"uses-pvc", via, 0, ENGINE_SEV_MEDIUM)) < 0)
			return error;
		json_array_foreach(engine_graph__path(v, "projected", "sources", NULL), j, s) {
			const json_t *pcm = json_object_get(s, "configMap"), *psec = json_object_get(s, "secret");
			if ((error = cm_secret_refs(g, id, ns, pcm, psec, "name", via)) < 0)
				return error;
		}
	}
	if ((error = container_refs(g, id, ns, json_object_get(spec, "initContainers"), "init container")) < 0 ||
	    (error = container_refs(g, id, ns, json_object_get(spec, "containers"), "container")) < 0)
		return error;
	json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, v) {
		if ((error = ref(g, id, "Secret", ns, engine_graph__str(v, "name"), "uses-secret", "imagePullSecrets",
				 0, ENGINE_SEV_MEDIUM)) < 0)
			return error;
	}
	sa = engine_graph__str(spec, "serviceAccountName");
	if (!sa)
		sa = engine_graph__str(spec, "serviceAccount");
	if (sa && (error = ref(g, id, "ServiceAccount", ns, sa, "uses-serviceaccount", "serviceAccountName",
			       strcmp(sa, "default") == 0, ENGINE_SEV_MEDIUM)) < 0)
		return error;
	if (strcmp(nd->kind, "StatefulSet") == 0) {
		const char *svc = engine_graph__str(json_object_get(nd->obj, "spec"), "serviceName");
		size_t to = NONE;
		if (svc && *svc && (error = engine_graph__lookup(g, "Service", ns, svc, &to)) < 0)
			return error;
		if (svc && *svc && to == NONE)
			return ref(g, id, "Service", ns, svc, "headless-service", "serviceName", 0, ENGINE_SEV_MEDIUM);
		if (to != NONE) {
			const char *cip = engine_graph__str(json_object_get(g->nodes[to].obj, "spec"), "clusterIP");
			if ((error = engine_graph__edge_add(g, id, to, "headless-service")) < 0)
				return error;
			if (!cip || strcmp(cip, "None") != 0)
				return engine_graph__finding_addf(g, ENGINE_SEV_LOW, id, "statefulset-service-not-headless",
								  "serviceName '%s' is not a headless Service "
								  "(clusterIP: None)",
								  svc);
		}
	}
	return 0;
}

/* ---- per-kind edges ---------------------------------------------------------------------- */

static int service_edges(engine_graph *g, size_t id)
{
	const engine_graph__node *nd = &g->nodes[id];
	const json_t *spec = json_object_get(nd->obj, "spec");
	const json_t *sel = json_object_get(spec, "selector");
	const char *type = engine_graph__str(spec, "type");
	size_t n;
	int error;
	char text[512];

	if ((type && strcmp(type, "ExternalName") == 0) || !json_is_object(sel) || json_object_size(sel) == 0)
		return 0;
	if ((error = select_workloads(&n, g, id, nd->ns, sel, NULL, on_select_edge, (void *)"selects")) < 0)
		return error;
	if (n == 0) {
		selector_text(text, sizeof(text), sel);
		return engine_graph__finding_addf(g, ENGINE_SEV_MEDIUM, id, "service-selects-nothing",
						  "Service selector %s matches no workload in the input", text);
	}
	return 0;
}

static int backend_ref(engine_graph *g, size_t id, const json_t *backend, const char *via)
{
	const char *svc = engine_graph__str(engine_graph__path(backend, "service", NULL), "name");
	if (!svc)
		svc = engine_graph__str(backend, "serviceName"); /* pre-networking/v1 shape */
	return ref(g, id, "Service", g->nodes[id].ns, svc, "routes-to", via, 0, ENGINE_SEV_MEDIUM);
}

static int ingress_edges(engine_graph *g, size_t id)
{
	const json_t *spec = json_object_get(g->nodes[id].obj, "spec"), *r, *p, *t;
	size_t i, j;
	int error;

	if (json_object_get(spec, "defaultBackend") &&
	    (error = backend_ref(g, id, json_object_get(spec, "defaultBackend"), "defaultBackend")) < 0)
		return error;
	if (json_object_get(spec, "backend") && (error = backend_ref(g, id, json_object_get(spec, "backend"), "backend")) < 0)
		return error;
	json_array_foreach(json_object_get(spec, "rules"), i, r) {
		json_array_foreach(engine_graph__path(r, "http", "paths", NULL), j, p) {
			char via[512];
			snprintf(via, sizeof(via), "rule host '%s' path '%s'", str_or_empty(r, "host"), str_or_empty(p, "path"));
			if ((error = backend_ref(g, id, json_object_get(p, "backend"), via)) < 0)
				return error;
		}
	}
	json_array_foreach(json_object_get(spec, "tls"), i, t) {
		/* a TLS Secret is often made by cert-manager: only a low finding when missing */
		if ((error = ref(g, id, "Secret", g->nodes[id].ns, engine_graph__str(t, "secretName"), "uses-secret",
				 "tls secretName", 0, ENGINE_SEV_LOW)) < 0)
			return error;
	}
	return 0;
}

static int hpa_edges(engine_graph *g, size_t id)
{
	const json_t *t = engine_graph__path(g->nodes[id].obj, "spec", "scaleTargetRef", NULL);
	const char *kind = engine_graph__str(t, "kind"), *name = engine_graph__str(t, "name");
	const json_t *minr = engine_graph__path(g->nodes[id].obj, "spec", "minReplicas", NULL);
	long long min = json_is_integer(minr) ? (long long)json_integer_value(minr) : 1; /* API default 1 */
	size_t to;
	int error;

	if (!kind || !name)
		return 0;
	if ((error = engine_graph__lookup(g, kind, g->nodes[id].ns, name, &to)) < 0)
		return error;
	if (to != NONE && min > g->hpa_min[to])
		g->hpa_min[to] = min;
	return ref(g, id, kind, g->nodes[id].ns, name, "scales", "scaleTargetRef", 0, ENGINE_SEV_MEDIUM);
}

static int pdb_edges(engine_graph *g, size_t id)
{
	const json_t *sel = engine_graph__path(g->nodes[id].obj, "spec", "selector", NULL);
	size_t n;
	int error;

	if (!json_is_object(sel))
		return 0; /* a null selector selects nothing, by definition */
	if ((error = select_workloads(&n, g, id, g->nodes[id].ns, json_object_get(sel, "matchLabels"),
				      json_object_get(sel, "matchExpressions"), on_pdb, NULL)) < 0)
		return error;
	if (n == 0)
		return engine_graph__finding_addf(g, ENGINE_SEV_MEDIUM, id, "pdb-selects-nothing",
						  "PodDisruptionBudget selector matches no workload in the input");
	return 0;
}

static int netpol_edges(engine_graph *g, size_t id)
{
	const json_t *sel = engine_graph__path(g->nodes[id].obj, "spec", "podSelector", NULL);
	size_t n;

	if (!json_is_object(sel))
		return 0;
	return select_workloads(&n, g, id, g->nodes[id].ns, json_object_get(sel, "matchLabels"),
				json_object_get(sel, "matchExpressions"), on_select_edge, (void *)"applies-to");
}

static int builtin_clusterrole(const char *name)
{
	return strcmp(name, "cluster-admin") == 0 || strcmp(name, "admin") == 0 || strcmp(name, "edit") == 0 ||
	       strcmp(name, "view") == 0 || dhg_str_has_prefix(name, "system:");
}

static int binding_edges(engine_graph *g, size_t id)
{
	const engine_graph__node *nd = &g->nodes[id];
	const json_t *rr = json_object_get(nd->obj, "roleRef"), *s;
	const char *rkind = engine_graph__str(rr, "kind"), *rname = engine_graph__str(rr, "name");
	size_t i;
	int error;

	if (rkind && rname) {
		int cluster = strcmp(rkind, "ClusterRole") == 0;
		if ((error = ref(g, id, rkind, cluster ? "" : nd->ns, rname, "binds-role", "roleRef", cluster && builtin_clusterrole(rname),
				 ENGINE_SEV_MEDIUM)) < 0)
			return error;
	}
	json_array_foreach(json_object_get(nd->obj, "subjects"), i, s) {
		const char *kind = engine_graph__str(s, "kind"), *name = engine_graph__str(s, "name");
		const char *ns = engine_graph__str(s, "namespace");
		if (!kind || !name || strcmp(kind, "ServiceAccount") != 0)
			continue;
		if (!ns)
			ns = nd->ns;
		if ((error = ref(g, id, "ServiceAccount", ns, name, "binds-subject", "subjects", strcmp(name, "default") == 0,
				 ENGINE_SEV_MEDIUM)) < 0)
			return error;
	}
	return 0;
}

/* ServiceAccount -> its imagePullSecrets and (legacy token) secrets. */
static int serviceaccount_edges(engine_graph *g, size_t id)
{
	const json_t *o = g->nodes[id].obj, *v;
	size_t i;
	int error;

	json_array_foreach(json_object_get(o, "imagePullSecrets"), i, v) {
		if ((error = ref(g, id, "Secret", g->nodes[id].ns, engine_graph__str(v, "name"), "uses-secret",
				 "imagePullSecrets", 0, ENGINE_SEV_MEDIUM)) < 0)
			return error;
	}
	json_array_foreach(json_object_get(o, "secrets"), i, v) {
		if ((error = ref(g, id, "Secret", g->nodes[id].ns, engine_graph__str(v, "name"), "uses-secret", "secrets",
				 0, ENGINE_SEV_LOW)) < 0)
			return error;
	}
	return 0;
}

/* Workloads that run more than one replica (spec.replicas, or the minReplicas of an HPA
 * that scales them) and have no PodDisruptionBudget. */
static int pdb_findings(engine_graph *g, size_t id)
{
	const engine_graph__node *nd = &g->nodes[id];
	const json_t *r = engine_graph__path(nd->obj, "spec", "replicas", NULL);
	long long replicas = json_is_integer(r) ? (long long)json_integer_value(r) : 1;

	if (strcmp(nd->kind, "Deployment") != 0 && strcmp(nd->kind, "StatefulSet") != 0 &&
	    strcmp(nd->kind, "ReplicaSet") != 0 && strcmp(nd->kind, "ReplicationController") != 0)
		return 0;
	if (g->has_pdb[id])
		return 0;
	if (g->hpa_min[id] > 1)
		return engine_graph__finding_addf(g, ENGINE_SEV_MEDIUM, id, "no-pdb",
						  "at least %lld replicas (HPA minReplicas) and no PodDisruptionBudget "
						  "selects its pods",
						  g->hpa_min[id]);
	if (replicas <= 1)
		return 0;
	return engine_graph__finding_addf(g, ENGINE_SEV_MEDIUM, id, "no-pdb",
					  "%lld replicas and no PodDisruptionBudget selects its pods", replicas);
}

/* Custom resources -> their CustomResourceDefinition (same group and kind). */
static int crd_edge(engine_graph *g, dhg_buf *b, size_t id)
{
	const engine_graph__node *nd = &g->nodes[id];
	const char *slash = strchr(nd->api_version, '/');
	const size_t *ids;
	size_t n;

	if (!slash || strcmp(nd->kind, "CustomResourceDefinition") == 0)
		return 0;
	dhg_buf_clear(b);
	if (dhg_buf_put(b, nd->api_version, (size_t)(slash - nd->api_version)) < 0 || dhg_buf_putc(b, '\0') < 0 ||
	    dhg_buf_puts(b, nd->kind) < 0)
		return DHG_ENOMEM;
	ids = engine_graph__index_get(&g->by_crd, b->ptr, b->len, &n);
	return n ? engine_graph__edge_add(g, id, ids[0], "instance-of") : 0;
}

/* ---- build ------------------------------------------------------------------------------- */

static char *make_id(const engine_graph__node *nd)
{
	return *nd->ns ? dhg_asprintf("%s/%s/%s", nd->kind, nd->ns, nd->name) : dhg_asprintf("%s/%s", nd->kind, nd->name);
}

static int index_node(engine_graph *g, dhg_buf *b, size_t i)
{
	engine_graph__node *nd = &g->nodes[i];
	const char *k;
	const json_t *v;
	int error;

	if ((error = key3(b, nd->kind, nd->ns, nd->name)) < 0 ||
	    (error = engine_graph__index_add(&g->by_name, b->ptr, b->len, i)) < 0)
		return error;
	if (strcmp(nd->kind, "CustomResourceDefinition") == 0) {
		const json_t *spec = json_object_get(nd->obj, "spec");
		const char *group = engine_graph__str(spec, "group");
		const char *ckind = engine_graph__str(json_object_get(spec, "names"), "kind");
		if (group && ckind) {
			dhg_buf_clear(b);
			if (dhg_buf_put(b, group, strlen(group) + 1) < 0 || dhg_buf_puts(b, ckind) < 0)
				return DHG_ENOMEM;
			if ((error = engine_graph__index_add(&g->by_crd, b->ptr, b->len, i)) < 0)
				return error;
		}
	}
	if (!set_workload(nd))
		return 0;
	if ((error = engine_graph__index_add(&g->by_ns, nd->ns, strlen(nd->ns), i)) < 0)
		return error;
	if (nd->pod_labels) {
		json_object_foreach((json_t *)nd->pod_labels, k, v) {
			if (!json_is_string(v))
				continue;
			if ((error = label_key(b, nd->ns, k, json_string_value(v))) < 0 ||
			    (error = engine_graph__index_add(&g->by_label, b->ptr, b->len, i)) < 0)
				return error;
		}
	}
	return 0;
}

static int node_edges(engine_graph *g, size_t id)
{
	const char *k = g->nodes[id].kind;
	int error;

	if (g->nodes[id].pod_spec && (error = workload_refs(g, id)) < 0)
		return error;
	if (strcmp(k, "Service") == 0)
		return service_edges(g, id);
	if (strcmp(k, "Ingress") == 0)
		return ingress_edges(g, id);
	if (strcmp(k, "HorizontalPodAutoscaler") == 0)
		return hpa_edges(g, id);
	if (strcmp(k, "PodDisruptionBudget") == 0)
		return pdb_edges(g, id);
	if (strcmp(k, "NetworkPolicy") == 0)
		return netpol_edges(g, id);
	if (strcmp(k, "RoleBinding") == 0 || strcmp(k, "ClusterRoleBinding") == 0)
		return binding_edges(g, id);
	if (strcmp(k, "ServiceAccount") == 0)
		return serviceaccount_edges(g, id);
	return 0;
}

int engine_graph_build(engine_graph **out, const engine_objects *objs)
{
	engine_graph *g = NULL;
	engine_graph__node **sorted = NULL;
	dhg_buf b = DHG_BUF_INIT(0);
	size_t i, n = objs ? objs->len : 0;
	int error = DHG_ENOMEM;

	*out = NULL;
	if (!(g = calloc(1, sizeof(*g))))
		goto oom;
	g->nnodes = n;
	if (n && (!(g->nodes = calloc(n, sizeof(*g->nodes))) || !(g->order = calloc(n, sizeof(*g->order))) ||
		  !(g->has_pdb = calloc(n, 1)) || !(g->hpa_min = calloc(n, sizeof(*g->hpa_min))) || !(sorted = calloc(n, sizeof(*sorted)))))
		goto oom;

	for (i = 0; i < n; i++) {
		engine_graph__node *nd = &g->nodes[i];
		const json_t *o = objs->items[i].obj, *meta = json_object_get(o, "metadata");
		nd->obj = o;
		nd->api_version = str_or_empty(o, "apiVersion");
		nd->kind = str_or_empty(o, "kind");
		nd->ns = str_or_empty(meta, "namespace");
		nd->name = str_or_empty(meta, "name");
		if (!json_is_object(o) || !*nd->kind || !*nd->name) {
			const engine_object *eo = &objs->items[i];
			error = dhg_error_set(DHG_EINVALID, "analyze: %s (document %d, line %d): object without kind or metadata.name",
					      eo->source ? eo->source : "<input>", eo->doc + 1, eo->line);
			goto done;
		}
		if (!(nd->id = make_id(nd)))
			goto oom;
		if ((error = index_node(g, &b, i)) < 0)
			goto done;
		sorted[i] = nd;
	}
	if (n)
		qsort(sorted, n, sizeof(*sorted), node_cmp);
	for (i = 0; i < n; i++) {
		sorted[i]->rank = i;
		g->order[i] = (size_t)(sorted[i] - g->nodes);
	}

	/* HPA and PDB marks first, then every edge, then the findings that depend on them. */
	for (i = 0; i < n; i++) {
		if ((error = node_edges(g, g->order[i])) < 0 || (error = crd_edge(g, &b, g->order[i])) < 0)
			goto done;
	}
	for (i = 0; i < n; i++) {
		size_t id = g->order[i];
		if (g->nodes[id].pod_spec && (error = engine_graph__workload_findings(g, id)) < 0)
			goto done;
		if ((error = pdb_findings(g, id)) < 0)
			goto done;
	}

	if (g->nedges) {
		size_t w = 1;
		qsort(g->edges, g->nedges, sizeof(*g->edges), edge_cmp);
		for (i = 1; i < g->nedges; i++) {
			if (edge_cmp(&g->edges[i], &g->edges[w - 1]) != 0)
				g->edges[w++] = g->edges[i];
		}
		g->nedges = w;
	}
	if (g->nfindings)
		qsort(g->findings, g->nfindings, sizeof(*g->findings), finding_cmp);

	*out = g;
	g = NULL;
	error = 0;
	goto done;
oom:
	error = dhg_error_set(DHG_ENOMEM, "analyze: out of memory");
done:
	free(sorted);
	dhg_buf_dispose(&b);
	engine_graph_free(g);
	return error;
}

/* ---- output ------------------------------------------------------------------------------ */

static const char *sev_name(int s)
{
	return s == ENGINE_SEV_HIGH ? "high" : s == ENGINE_SEV_MEDIUM ? "medium" : "low";
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

int engine_graph_to_json(json_t **out, const engine_graph *g)
{
	json_t *root = json_object(), *nodes = json_array(), *edges = json_array(), *findings = json_array();
	json_t *summary = json_object();
	size_t i, counts[3] = { 0, 0, 0 };
	int error = DHG_ENOMEM;

	*out = NULL;
	if (!root || !nodes || !edges || !findings || !summary)
		goto done;
	for (i = 0; i < g->nnodes; i++) {
		const engine_graph__node *nd = &g->nodes[g->order[i]];
		json_t *o = json_object();
		if (!o || json_array_append_new(nodes, o) < 0 || set_new(o, "id", json_string(nd->id)) < 0 ||
		    set_new(o, "apiVersion", json_string(nd->api_version)) < 0 || set_new(o, "kind", json_string(nd->kind)) < 0 ||
		    (*nd->ns && set_new(o, "namespace", json_string(nd->ns)) < 0) || set_new(o, "name", json_string(nd->name)) < 0)
			goto done;
	}
	for (i = 0; i < g->nedges; i++) {
		const engine_graph__edge *e = &g->edges[i];
		json_t *o = json_object();
		if (!o || json_array_append_new(edges, o) < 0 || set_new(o, "from", json_string(g->nodes[e->from].id)) < 0 ||
		    set_new(o, "to", json_string(g->nodes[e->to].id)) < 0 || set_new(o, "type", json_string(e->type)) < 0)
			goto done;
	}
	for (i = 0; i < g->nfindings; i++) {
		const engine_graph__finding *f = &g->findings[i];
		json_t *o = json_object();
		counts[f->severity]++;
		if (!o || json_array_append_new(findings, o) < 0 || set_new(o, "severity", json_string(sev_name(f->severity))) < 0 ||
		    set_new(o, "rule", json_string(f->rule)) < 0 || set_new(o, "object", json_string(g->nodes[f->node].id)) < 0 ||
		    set_new(o, "message", json_string(f->message)) < 0)
			goto done;
	}
	if (set_new(summary, "nodes", json_integer((json_int_t)g->nnodes)) < 0 ||
	    set_new(summary, "edges", json_integer((json_int_t)g->nedges)) < 0 ||
	    set_new(summary, "high", json_integer((json_int_t)counts[0])) < 0 ||
	    set_new(summary, "medium", json_integer((json_int_t)counts[1])) < 0 ||
	    set_new(summary, "low", json_integer((json_int_t)counts[2])) < 0)
		goto done;
	if (json_object_set(root, "nodes", nodes) < 0 || json_object_set(root, "edges", edges) < 0 ||
	    json_object_set(root, "findings", findings) < 0 || json_object_set(root, "summary", summary) < 0)
		goto done;
	*out = root;
	root = NULL;
	error = 0;
done:
	if (error < 0)
		dhg_error_set(DHG_ENOMEM, "analyze: out of memory writing the graph as JSON");
	json_decref(root);
	json_decref(nodes);
	json_decref(edges);
	json_decref(findings);
	json_decref(summary);
	return error;
}

void engine_graph_free(engine_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nnodes && g->nodes; i++)
		free(g->nodes[i].id);
	for (size_t i = 0; i < g->nfindings; i++)
		free(g->findings[i].message);
	free(g->nodes);
	free(g->order);
	free(g->edges);
	free(g->findings);
	free(g->has_pdb);
	free(g->hpa_min);
	engine_graph__index_dispose(&g->by_crd);
	engine_graph__index_dispose(&g->by_name);
	engine_graph__index_dispose(&g->by_label);
	engine_graph__index_dispose(&g->by_ns);
	free(g);
}
