/*
 * Deprecated apiVersion migration (engine_normalize). Each rule maps (group/version, kind) to
 * the current apiVersion and, where the schema changed, converts fields the way the API server
 * converts them:
 *
 *   extensions/v1beta1, apps/v1beta1, apps/v1beta2  Deployment DaemonSet ReplicaSet StatefulSet
 *                                                   (and ControllerRevision)       -> apps/v1
 *       spec.selector added from the pod template labels when missing (warning);
 *       spec.rollbackTo / spec.templateGeneration (gone in apps/v1) removed (warning)
 *   extensions/v1beta1, networking.k8s.io/v1beta1   Ingress, IngressClass        -> networking.k8s.io/v1
 *       backend {serviceName, servicePort} -> {service: {name, port: {number | name}}},
 *       spec.backend -> spec.defaultBackend, pathType ImplementationSpecific where missing
 *   extensions/v1beta1 NetworkPolicy                                             -> networking.k8s.io/v1
 *   policy/v1beta1 PodDisruptionBudget                                           -> policy/v1
 *       (a warning when spec.selector is {}: it now selects every pod instead of none)
 *   autoscaling/v2beta1, v2beta2 HorizontalPodAutoscaler                         -> autoscaling/v2
 *       v2beta1 metrics restructured (targetAverageUtilization -> target{type: Utilization,...})
 *   batch/v1beta1, batch/v2alpha1 CronJob                                        -> batch/v1
 *   rbac.authorization.k8s.io/v1beta1, v1alpha1 (Cluster)Role(Binding)           -> v1
 *   scheduling.k8s.io/v1beta1, v1alpha1 PriorityClass                            -> v1
 *   storage.k8s.io/v1beta1 StorageClass CSIDriver CSINode VolumeAttachment
 *                          CSIStorageCapacity                                    -> v1
 *   coordination.k8s.io/v1beta1 Lease, node.k8s.io/v1beta1 RuntimeClass,
 *   flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema PriorityLevelConfiguration   -> v1
 *   admissionregistration.k8s.io/v1beta1 Validating/MutatingWebhookConfiguration -> v1
 *       (v1beta1 defaults written out: failurePolicy Ignore, matchPolicy Exact,
 *        timeoutSeconds 30, admissionReviewVersions [v1beta1]; sideEffects must be None or
 *        NoneOnDryRun, else an error), ValidatingAdmissionPolicy(Binding)        -> v1
 *   apiextensions.k8s.io/v1beta1 CustomResourceDefinition                        -> v1
 *       spec.version/validation/subresources/additionalPrinterColumns moved into
 *       spec.versions[], JSONPath -> jsonPath, conversion.webhookClientConfig ->
 *       conversion.webhook.clientConfig, preserveUnknownFields (true by default in v1beta1,
 *       not allowed in v1) -> x-kubernetes-preserve-unknown-fields on the schema root,
 *       a missing schema -> {type: object, x-kubernetes-preserve-unknown-fields: true}
 *
 * Removed APIs with no replacement (PodSecurityPolicy) and any other alpha/beta version of a
 * built-in group (except the few betas that are still served and current) are errors.
 */
#include "engine/extract/migrate.h"

#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/str.h"

#define OOM() dhg_error_set(DHG_ENOMEM, "out of memory")

const char *engine_extract__api_group(char *buf, size_t size, const char *api_version)
{
	const char *slash = strchr(api_version, '/');
	size_t n = slash ? (size_t)(slash - api_version) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(buf, api_version, n);
	buf[n] = '\0';
	return buf;
}

static const char *sget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) && !engine_number_is(v) ? json_string_value(v) : NULL;
}

static int set_str(json_t *o, const char *k, const char *v)
{
	json_t *s = json_string(v);
	if (!s || json_object_set_new(o, k, s) < 0)
		return OOM();
	return 0;
}

/* Moves o[from] to dst[to] (dst may be o). No-op when o[from] is absent. */
static int move_key(json_t *o, const char *from, json_t *dst, const char *to)
{
	json_t *v = json_object_get(o, from);
	if (!v)
		return 0;
	json_incref(v);
	json_object_del(o, from);
	if (json_object_set_new(dst, to, v) < 0)
		return OOM();
	return 0;
}

static json_t *obj_child(json_t *o, const char *k) /* get or create a mapping */
{
	json_t *v = json_object_get(o, k);
	if (json_is_object(v))
		return v;
	if (!(v = json_object()) || json_object_set_new(o, k, v) < 0)
		return NULL;
	return v;
}

/* ---- workloads ---------------------------------------------------------------------------- */

static int migrate_workload(json_t *o, const char *where, const char *kind, engine_warnings *w)
{
	json_t *spec = json_object_get(o, "spec");
	json_t *labels;

	if (!json_is_object(spec))
		return 0;
	if (!strcmp(kind, "ControllerRevision"))
		return 0;
	if (json_object_get(spec, "rollbackTo") || json_object_get(spec, "templateGeneration")) {
		json_object_del(spec, "rollbackTo");
		json_object_del(spec, "templateGeneration");
		if (engine_warnings_addf(w, "%s: spec.rollbackTo/spec.templateGeneration do not exist in apps/v1 and were removed",
					 where) < 0)
			return DHG_ENOMEM;
	}
	if (!json_object_get(spec, "selector")) {
		json_t *sel;
		labels = json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
		if (!json_is_object(labels) || json_object_size(labels) == 0)
			return dhg_error_set(DHG_EINVALID,
					     "%s: %s: apps/v1 requires spec.selector and spec.template.metadata.labels is empty, so none can be derived",
					     where, kind);
		if (!(sel = json_pack("{s:O}", "matchLabels", labels)) || json_object_set_new(spec, "selector", sel) < 0)
			return OOM();
		if (engine_warnings_addf(w, "%s: spec.selector added from spec.template.metadata.labels (required by apps/v1)",
					 where) < 0)
			return DHG_ENOMEM;
	}
	return 0;
}

/* ---- Ingress ------------------------------------------------------------------------------ */

static int convert_backend(json_t *b, const char *where, const char *field)
{
	json_t *name, *port, *svc, *p;

	if (!json_is_object(b))
		return 0;
	name = json_object_get(b, "serviceName");
	port = json_object_get(b, "servicePort");
	if (!name && !port)
		return 0;
	if (!json_is_string(name) || engine_number_is(name))
		return dhg_error_set(DHG_EINVALID, "%s: Ingress: %s.serviceName is missing or not a string", where, field);
	if (!(svc = json_object()) || json_object_set_new(b, "service", svc) < 0)
		return OOM();
	if (json_object_set(svc, "name", name) < 0 || !(p = json_object()) || json_object_set_new(svc, "port", p) < 0)
		return OOM();
	if (json_is_integer(port)) {
		if (json_object_set(p, "number", port) < 0)
			return OOM();
	} else if (json_is_string(port) && !engine_number_is(port) && json_string_length(port) > 0) {
		const char *s = json_string_value(port);
		long n;
		if (dhg_parse_long(&n, s, 1, 65535) == 0) {
			dhg_error_clear();
			if (json_object_set_new(p, "number", json_integer(n)) < 0)
				return OOM();
		} else {
			dhg_error_clear();
			if (json_object_set(p, "name", port) < 0)
				return OOM();
		}
	} else {
		return dhg_error_set(DHG_EINVALID, "%s: Ingress: %s.servicePort must be a port number or name", where,
				     field);
	}
	json_object_del(b, "serviceName");
	json_object_del(b, "servicePort");
	return 0;
}

static int migrate_ingress(json_t *o, const char *where)
{
	json_t *spec = json_object_get(o, "spec"), *rules, *rule;
	size_t i, j;
	int error;

	if (!json_is_object(spec))
		return 0;
	if ((error = move_key(spec, "backend", spec, "defaultBackend")) < 0)
		return error;
	if ((error = convert_backend(json_object_get(spec, "defaultBackend"), where, "spec.backend")) < 0)
		return error;
	rules = json_object_get(spec, "rules");
	json_array_foreach(rules, i, rule)
	{
		json_t *paths = json_object_get(json_object_get(rule, "http"), "paths"), *path;
		json_array_foreach(paths, j, path)
		{
			char field[96];
			if (!json_is_object(path))
				continue;
			if (!json_object_get(path, "pathType") && set_str(path, "pathType", "ImplementationSpecific") < 0)
				return DHG_ENOMEM;
			snprintf(field, sizeof(field), "spec.rules[%zu].http.paths[%zu].backend", i, j);
			if ((error = convert_backend(json_object_get(path, "backend"), where, field)) < 0)
				return error;
		}
	}
	return 0;
}

/* ---- HPA v2beta1 -------------------------------------------------------------------------- */

/* Builds target{...} from v2beta1 fields of m (removed from m). */
static int hpa_target(json_t *m, json_t *out_parent, const char *util_key, const char *avg_key, const char *val_key)
{
	json_t *t = json_object(), *v;
	if (!t || json_object_set_new(out_parent, "target", t) < 0)
		return OOM();
	if (util_key && (v = json_object_get(m, util_key))) {
		if (set_str(t, "type", "Utilization") < 0 || json_object_set(t, "averageUtilization", v) < 0)
			return OOM();
	} else if (avg_key && (v = json_object_get(m, avg_key))) {
		if (set_str(t, "type", "AverageValue") < 0 || json_object_set(t, "averageValue", v) < 0)
			return OOM();
	} else if (val_key && (v = json_object_get(m, val_key))) {
		if (set_str(t, "type", "Value") < 0 || json_object_set(t, "value", v) < 0)
			return OOM();
	}
	if (util_key)
		json_object_del(m, util_key);
	if (avg_key)
		json_object_del(m, avg_key);
	if (val_key)
		json_object_del(m, val_key);
	return 0;
}

/* metric{name, selector} from metricName + selector key. */
static int hpa_metric_id(json_t *m, const char *selector_key)
{
	json_t *id = json_object();
	if (!id)
		return OOM();
	if (move_key(m, "metricName", id, "name") < 0 || move_key(m, selector_key, id, "selector") < 0 ||
	    json_object_set_new(m, "metric", id) < 0)
		return OOM();
	return 0;
}

static int migrate_hpa_v2beta1(json_t *o, const char *where)
{
	json_t *metrics = json_object_get(json_object_get(o, "spec"), "metrics"), *metric;
	size_t i;
	int error;

	json_array_foreach(metrics, i, metric)
	{
		const char *type = sget(metric, "type");
		json_t *m;
		if (!type)
			return dhg_error_set(DHG_EINVALID, "%s: HorizontalPodAutoscaler: spec.metrics[%zu].type is missing",
					     where, i);
		if (!strcmp(type, "Resource") || !strcmp(type, "ContainerResource")) {
			m = json_object_get(metric, !strcmp(type, "Resource") ? "resource" : "containerResource");
			if (!json_is_object(m))
				continue;
			if ((error = hpa_target(m, m, "targetAverageUtilization", "targetAverageValue", NULL)) < 0)
				return error;
		} else if (!strcmp(type, "Pods")) {
			m = json_object_get(metric, "pods");
			if (!json_is_object(m))
				continue;
			if ((error = hpa_target(m, m, NULL, "targetAverageValue", NULL)) < 0 ||
			    (error = hpa_metric_id(m, "selector")) < 0)
				return error;
		} else if (!strcmp(type, "Object")) {
			m = json_object_get(metric, "object");
			if (!json_is_object(m))
				continue;
			/* v2beta1: target = the described object; targetValue / averageValue */
			json_t *described = json_object_get(m, "target");
			if (described) {
				json_incref(described);
				json_object_del(m, "target");
				if (json_object_set_new(m, "describedObject", described) < 0)
					return OOM();
			}
			if ((error = hpa_target(m, m, NULL, "averageValue", "targetValue")) < 0 ||
			    (error = hpa_metric_id(m, "selector")) < 0)
				return error;
		} else if (!strcmp(type, "External")) {
			m = json_object_get(metric, "external");
			if (!json_is_object(m))
				continue;
			if ((error = hpa_target(m, m, NULL, "targetAverageValue", "targetValue")) < 0 ||
			    (error = hpa_metric_id(m, "metricSelector")) < 0)
				return error;
		} else {
			return dhg_error_set(DHG_EINVALID,
					     "%s: HorizontalPodAutoscaler: spec.metrics[%zu].type \"%s\" cannot be migrated from autoscaling/v2beta1",
					     where, i, type);
		}
	}
	return 0;
}

/* ---- admission webhooks ------------------------------------------------------------------- */

static int migrate_webhooks(json_t *o, const char *where, const char *kind)
{
	json_t *hooks = json_object_get(o, "webhooks"), *h;
	size_t i;

	json_array_foreach(hooks, i, h)
	{
		const char *se;
		if (!json_is_object(h))
			continue;
		se = sget(h, "sideEffects");
		if (!se || (strcmp(se, "None") && strcmp(se, "NoneOnDryRun")))
			return dhg_error_set(DHG_EINVALID,
					     "%s: %s: webhooks[%zu].sideEffects is %s%s%s; admissionregistration.k8s.io/v1 requires None or NoneOnDryRun, set it before migrating",
					     where, kind, i, se ? "\"" : "", se ? se : "missing (Unknown)", se ? "\"" : "");
		if ((!json_object_get(h, "failurePolicy") && set_str(h, "failurePolicy", "Ignore") < 0) ||
		    (!json_object_get(h, "matchPolicy") && set_str(h, "matchPolicy", "Exact") < 0) ||
		    (!json_object_get(h, "timeoutSeconds") &&
		     json_object_set_new(h, "timeoutSeconds", json_integer(30)) < 0) ||
		    (!json_object_get(h, "admissionReviewVersions") &&
		     json_object_set_new(h, "admissionReviewVersions", json_pack("[s]", "v1beta1")) < 0))
			return OOM();
	}
	return 0;
}

/* ---- CRD v1beta1 -------------------------------------------------------------------------- */

static int printer_columns_v1(json_t *cols)
{
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c)
	{
		if (json_is_object(c) && move_key(c, "JSONPath", c, "jsonPath") < 0)
			return OOM();
	}
	return 0;
}

static int migrate_crd(json_t *o, const char *where, engine_warnings *w)
{
	json_t *spec = json_object_get(o, "spec"), *versions, *ver, *validation, *subres, *cols, *conv, *puf;
	const char *single;
	size_t i;
	int preserve, error;

	if (!json_is_object(spec))
		return dhg_error_set(DHG_EINVALID, "%s: CustomResourceDefinition: spec is missing", where);
	versions = json_object_get(spec, "versions");
	single = sget(spec, "version");
	if (!versions || json_array_size(versions) == 0) {
		if (!single)
			return dhg_error_set(DHG_EINVALID,
					     "%s: CustomResourceDefinition: neither spec.version nor spec.versions is set",
					     where);
		if (!(versions = json_pack("[{s:s,s:b,s:b}]", "name", single, "served", 1, "storage", 1)) ||
		    json_object_set_new(spec, "versions", versions) < 0)
			return OOM();
	} else if (!json_is_array(versions)) {
		return dhg_error_set(DHG_EINVALID, "%s: CustomResourceDefinition: spec.versions must be a list", where);
	} else if (single && strcmp(single, sget(json_array_get(versions, 0), "name") ? sget(json_array_get(versions, 0), "name") : "")) {
		return dhg_error_set(DHG_EINVALID,
				     "%s: CustomResourceDefinition: spec.version \"%s\" differs from spec.versions[0].name",
				     where, single);
	}
	json_object_del(spec, "version");
	validation = json_object_get(spec, "validation");
	subres = json_object_get(spec, "subresources");
	cols = json_object_get(spec, "additionalPrinterColumns");
	puf = json_object_get(spec, "preserveUnknownFields");
	preserve = !json_is_false(puf);
	json_array_foreach(versions, i, ver)
	{
		json_t *schema, *root;
		if (!json_is_object(ver) || !sget(ver, "name"))
			return dhg_error_set(DHG_EINVALID, "%s: CustomResourceDefinition: spec.versions[%zu].name is missing",
					     where, i);
		if (!json_object_get(ver, "schema") && validation && json_object_set(ver, "schema", validation) < 0)
			return OOM();
		if (!json_object_get(ver, "subresources") && subres && json_object_set(ver, "subresources", subres) < 0)
			return OOM();
		if (!json_object_get(ver, "additionalPrinterColumns") && cols &&
		    json_object_set_new(ver, "additionalPrinterColumns", json_deep_copy(cols)) < 0)
			return OOM();
		if ((error = printer_columns_v1(json_object_get(ver, "additionalPrinterColumns"))) < 0)
			return error;
		/* every version gets its own copy of the schema */
		schema = json_object_get(ver, "schema");
		if (schema) {
			json_t *copy = json_deep_copy(schema);
			if (!copy || json_object_set_new(ver, "schema", copy) < 0)
				return OOM();
			schema = copy;
		}
		root = json_object_get(schema, "openAPIV3Schema");
		if (!json_is_object(root)) {
			if (!(schema = json_pack("{s:{s:s,s:b}}", "openAPIV3Schema", "type", "object",
						 "x-kubernetes-preserve-unknown-fields", 1)) ||
			    json_object_set_new(ver, "schema", schema) < 0)
				return OOM();
			if (engine_warnings_addf(w, "%s: version %s has no schema; apiextensions.k8s.io/v1 requires one, so a schema that accepts any object was added",
						 where, sget(ver, "name")) < 0)
				return DHG_ENOMEM;
			continue;
		}
		if (!json_object_get(root, "type")) {
			if (json_object_get(root, "properties") || json_object_get(root, "additionalProperties") ||
			    json_object_size(root) == 0 || json_object_get(root, "description") ||
			    json_object_get(root, "required")) {
				if (set_str(root, "type", "object") < 0)
					return DHG_ENOMEM;
			} else {
				return dhg_error_set(DHG_EINVALID,
						     "%s: CustomResourceDefinition: spec.versions[%zu] schema is not structural (no type at the root); convert it to apiextensions.k8s.io/v1 by hand",
						     where, i);
			}
		}
		if (preserve && !json_object_get(root, "x-kubernetes-preserve-unknown-fields") &&
		    json_object_set_new(root, "x-kubernetes-preserve-unknown-fields", json_true()) < 0)
			return OOM();
	}
	if (preserve && engine_warnings_addf(w, "%s: spec.preserveUnknownFields is not allowed in apiextensions.k8s.io/v1; x-kubernetes-preserve-unknown-fields: true was set on the schema root instead",
					     where) < 0)
		return DHG_ENOMEM;
	json_object_del(spec, "validation");
	json_object_del(spec, "subresources");
	json_object_del(spec, "additionalPrinterColumns");
	json_object_del(spec, "preserveUnknownFields");
	conv = json_object_get(spec, "conversion");
	if (json_is_object(conv)) {
		const char *strategy = sget(conv, "strategy");
		if (strategy && !strcmp(strategy, "Webhook")) {
			json_t *wh = obj_child(conv, "webhook");
			if (!wh || move_key(conv, "webhookClientConfig", wh, "clientConfig") < 0 ||
			    move_key(conv, "conversionReviewVersions", wh, "conversionReviewVersions") < 0)
				return OOM();
			if (!json_object_get(wh, "conversionReviewVersions") &&
			    json_object_set_new(wh, "conversionReviewVersions", json_pack("[s]", "v1beta1")) < 0)
				return OOM();
		} else {
			json_object_del(conv, "webhookClientConfig");
			json_object_del(conv, "conversionReviewVersions");
		}
	}
	return 0;
}

/* ---- the table ---------------------------------------------------------------------------- */

enum conv { C_NONE, C_WORKLOAD, C_INGRESS, C_HPA1, C_WEBHOOK, C_CRD, C_PDB };

static const struct rule {
	const char *from; /* group/version */
	const char *kinds; /* space-separated, with spaces around: " A B " */
	const char *to;
	enum conv conv;
} rules[] = {
	{ "extensions/v1beta1", " Deployment DaemonSet ReplicaSet StatefulSet ", "apps/v1", C_WORKLOAD },
	{ "apps/v1beta1", " Deployment DaemonSet ReplicaSet StatefulSet ControllerRevision ", "apps/v1", C_WORKLOAD },
	{ "apps/v1beta2", " Deployment DaemonSet ReplicaSet StatefulSet ControllerRevision ", "apps/v1", C_WORKLOAD },
	{ "extensions/v1beta1", " Ingress ", "networking.k8s.io/v1", C_INGRESS },
	{ "networking.k8s.io/v1beta1", " Ingress IngressClass ", "networking.k8s.io/v1", C_INGRESS },
	{ "extensions/v1beta1", " NetworkPolicy ", "networking.k8s.io/v1", C_NONE },
	{ "policy/v1beta1", " PodDisruptionBudget ", "policy/v1", C_PDB },
	{ "autoscaling/v2beta1", " HorizontalPodAutoscaler ", "autoscaling/v2", C_HPA1 },
	{ "autoscaling/v2beta2", " HorizontalPodAutoscaler ", "autoscaling/v2", C_NONE },
	{ "batch/v1beta1", " CronJob ", "batch/v1", C_NONE },
	{ "batch/v2alpha1", " CronJob ", "batch/v1", C_NONE },
	{ "rbac.authorization.k8s.io/v1beta1", " Role ClusterRole RoleBinding ClusterRoleBinding ",
	  "rbac.authorization.k8s.io/v1", C_NONE },
	{ "rbac.authorization.k8s.io/v1alpha1", " Role ClusterRole RoleBinding ClusterRoleBinding ",
	  "rbac.authorization.k8s.io/v1", C_NONE },
	{ "scheduling.k8s.io/v1beta1", " PriorityClass ", "scheduling.k8s.io/v1", C_NONE },
	{ "scheduling.k8s.io/v1alpha1", " PriorityClass ", "scheduling.k8s.io/v1", C_NONE },
	{ "storage.k8s.io/v1beta1", " StorageClass CSIDriver CSINode VolumeAttachment CSIStorageCapacity ",
	  "storage.k8s.io/v1", C_NONE },
	{ "coordination.k8s.io/v1beta1", " Lease ", "coordination.k8s.io/v1", C_NONE },
	{ "node.k8s.io/v1beta1", " RuntimeClass ", "node.k8s.io/v1", C_NONE },
	{ "flowcontrol.apiserver.k8s.io/v1beta3", " FlowSchema PriorityLevelConfiguration ",
	  "flowcontrol.apiserver.k8s.io/v1", C_NONE },
	{ "admissionregistration.k8s.io/v1beta1", " ValidatingWebhookConfiguration MutatingWebhookConfiguration ",
	  "admissionregistration.k8s.io/v1", C_WEBHOOK },
	{ "admissionregistration.k8s.io/v1beta1", " ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding ",
	  "admissionregistration.k8s.io/v1", C_NONE },
	{ "apiextensions.k8s.io/v1beta1", " CustomResourceDefinition ", "apiextensions.k8s.io/v1", C_CRD },
};

/* Alpha/beta versions of built-in groups that are still served and have no GA replacement
 * yet: kept as they are. */
static const struct {
	const char *api;
	const char *kinds; /* NULL: every kind */
} still_served[] = {
	{ "resource.k8s.io/v1beta1", NULL },
	{ "resource.k8s.io/v1beta2", NULL },
	{ "resource.k8s.io/v1alpha3", NULL },
	{ "storage.k8s.io/v1beta1", " VolumeAttributesClass " },
	{ "storage.k8s.io/v1alpha1", " VolumeAttributesClass " },
	{ "networking.k8s.io/v1beta1", " IPAddress ServiceCIDR " },
	{ "coordination.k8s.io/v1alpha2", " LeaseCandidate " },
	{ "admissionregistration.k8s.io/v1alpha1", " MutatingAdmissionPolicy MutatingAdmissionPolicyBinding " },
	{ "admissionregistration.k8s.io/v1beta1", " MutatingAdmissionPolicy MutatingAdmissionPolicyBinding " },
	{ "certificates.k8s.io/v1alpha1", " ClusterTrustBundle " },
	{ "certificates.k8s.io/v1beta1", " ClusterTrustBundle " },
	{ "storagemigration.k8s.io/v1alpha1", NULL },
	{ "internal.apiserver.k8s.io/v1alpha1", NULL },
};

static const char *const builtin_groups[] = {
	"", "apps", "extensions", "batch", "autoscaling", "policy", "networking.k8s.io",
	"rbac.authorization.k8s.io", "scheduling.k8s.io", "storage.k8s.io", "apiextensions.k8s.io",
	"admissionregistration.k8s.io", "certificates.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
	"events.k8s.io", "node.k8s.io", "flowcontrol.apiserver.k8s.io", "authentication.k8s.io",
	"authorization.k8s.io", "apiregistration.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
	"internal.apiserver.k8s.io", "settings.k8s.io",
};

static int kind_in(const char *kinds, const char *kind)
{
	char pat[256];
	if (!kinds)
		return 1;
	snprintf(pat, sizeof(pat), " %s ", kind);
	return strstr(kinds, pat) != NULL;
}

static int is_prerelease(const char *version)
{
	/* v<N>alpha<M> or v<N>beta<M> */
	return strstr(version, "alpha") != NULL || strstr(version, "beta") != NULL;
}

int engine_extract__migrate_may_apply(const json_t *o)
{
	const char *api = sget(o, "apiVersion"), *kind = sget(o, "kind"), *slash;

	if (!api || !kind)
		return 0;
	if (!strcmp(kind, "PodSecurityPolicy"))
		return 1;
	slash = strchr(api, '/');
	if (is_prerelease(slash ? slash + 1 : api))
		return 1;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].from, api))
			return 1;
	return 0;
}

int engine_extract__migrate(json_t *o, const char *where, engine_warnings *w)
{
	const char *api = sget(o, "apiVersion"), *kind = sget(o, "kind"), *version;
	char group[256], from[256];
	int builtin = 0, error = 0;

	if (!api || !kind)
		return 0;
	engine_extract__api_group(group, sizeof(group), api);
	version = strchr(api, '/') ? strchr(api, '/') + 1 : api;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];
		if (strcmp(r->from, api) || !kind_in(r->kinds, kind))
			continue;
		snprintf(from, sizeof(from), "%s", api);
		switch (r->conv) {
		case C_WORKLOAD:
			error = migrate_workload(o, where, kind, w);
			break;
		case C_INGRESS:
			error = !strcmp(kind, "Ingress") ? migrate_ingress(o, where) : 0;
			break;
		case C_HPA1:
			error = migrate_hpa_v2beta1(o, where);
			break;
		case C_WEBHOOK:
			error = migrate_webhooks(o, where, kind);
			break;
		case C_CRD:
			error = migrate_crd(o, where, w);
			break;
		case C_PDB: {
			/* policy/v1beta1: an empty selector selects no pod; policy/v1: every pod */
			const json_t *sel = json_object_get(json_object_get(o, "spec"), "selector");
			if (json_is_object(sel) && json_object_size(sel) == 0 &&
			    engine_warnings_addf(w, "%s: spec.selector is empty: it selected no pods in policy/v1beta1 but selects every pod of the namespace in policy/v1",
						 where) < 0)
				return DHG_ENOMEM;
			break;
		}
		case C_NONE:
			break;
		}
		if (error < 0)
			return error;
		if (set_str(o, "apiVersion", r->to) < 0)
			return DHG_ENOMEM;
		return engine_warnings_addf(w, "%s: %s migrated from the deprecated %s to %s", where, kind, from, r->to);
	}
	if (!strcmp(kind, "PodSecurityPolicy") && (!strcmp(group, "policy") || !strcmp(group, "extensions")))
		return dhg_error_set(DHG_EINVALID,
				     "%s: PodSecurityPolicy (%s) was removed in Kubernetes 1.25 and has no replacement; use Pod Security Admission labels on the namespace",
				     where, api);
	for (size_t i = 0; i < sizeof(builtin_groups) / sizeof(builtin_groups[0]); i++)
		if (!strcmp(group, builtin_groups[i]))
			builtin = 1;
	if (!builtin || !is_prerelease(version))
		return 0;
	for (size_t i = 0; i < sizeof(still_served) / sizeof(still_served[0]); i++)
		if (!strcmp(still_served[i].api, api) && kind_in(still_served[i].kinds, kind))
			return 0;
	if (!strcmp(group, "extensions") || is_prerelease(version))
		return dhg_error_set(DHG_EINVALID,
				     "%s: %s uses %s, an unknown deprecated API that cannot be migrated; rewrite it with a current apiVersion",
				     where, kind, api);
	return 0;
}
