/*
 * engine_normalize(): validate, drop owner-managed objects, migrate deprecated APIs, strip
 * runtime fields, detect duplicates (engine.h, DESIGN.md "Runtime fields are stripped").
 *
 * Always stripped (they are never part of what a person wrote):
 *   status; metadata.uid resourceVersion generation creationTimestamp managedFields selfLink
 *   deletionTimestamp deletionGracePeriodSeconds; ownerReferences that point at dropped objects;
 *   annotations kubectl.kubernetes.io/last-applied-configuration and
 *   deployment.kubernetes.io/revision (an annotations map emptied by this is removed);
 *   Service spec.clusterIP / clusterIPs unless "None" (headless is meaningful);
 *   ServiceAccount secrets[] entries naming a dropped token Secret (or, on a live object, the
 *   generated "<name>-token-*" Secret of clusters before 1.24).
 * Always dropped (a warning each): ReplicaSet Pod Endpoints EndpointSlice ControllerRevision
 *   with a controller ownerReference; Jobs owned by a CronJob; Events; live Endpoints of a
 *   Service in the input; ConfigMap kube-root-ca.crt; Secrets of type
 *   kubernetes.io/service-account-token; the `default` ServiceAccount when nothing but its
 *   name (and namespace) is left.
 * API-server defaults, stripped ONLY from live objects (those with metadata.uid,
 * metadata.resourceVersion, metadata.managedFields or status in the input) -- a hand-written
 * manifest is reproduced exactly, defaults included. The list is deliberately conservative:
 *   Service: sessionAffinity None, ipFamilies (a single family), ipFamilyPolicy SingleStack,
 *     internalTrafficPolicy Cluster, externalTrafficPolicy Cluster,
 *     allocateLoadBalancerNodePorts true
 *   Deployment: progressDeadlineSeconds 600, revisionHistoryLimit 10,
 *     strategy {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}
 *   StatefulSet: podManagementPolicy OrderedReady, revisionHistoryLimit 10,
 *     updateStrategy {type: RollingUpdate, rollingUpdate: {partition: 0}},
 *     persistentVolumeClaimRetentionPolicy {whenDeleted: Retain, whenScaled: Retain},
 *     volumeClaimTemplates[]: status, apiVersion v1 / kind PersistentVolumeClaim,
 *     spec.volumeMode Filesystem
 *   DaemonSet: revisionHistoryLimit 10,
 *     updateStrategy {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
 *   CronJob: concurrencyPolicy Allow, suspend false, successfulJobsHistoryLimit 3,
 *     failedJobsHistoryLimit 1
 *   Job: backoffLimit 6, completionMode NonIndexed, suspend false,
 *     podReplacementPolicy TerminatingOrFailed, and the generated spec.selector + template
 *     labels (controller-uid, job-name, batch.kubernetes.io/...) unless manualSelector: true
 *   PersistentVolumeClaim: volumeMode Filesystem; volumeName when bound by the controller;
 *     pv.kubernetes.io/bind-completed and bound-by-controller, volume(.beta).kubernetes.io/
 *     storage-provisioner and volume.kubernetes.io/selected-node
 *     annotations
 *   pod templates (and Pods): metadata.creationTimestamp null, dnsPolicy ClusterFirst,
 *     schedulerName default-scheduler, securityContext {}, terminationGracePeriodSeconds 30,
 *     restartPolicy Always (Deployment, StatefulSet, DaemonSet, ReplicaSet only)
 *   containers and initContainers: terminationMessagePath /dev/termination-log,
 *     terminationMessagePolicy File, resources {}, imagePullPolicy when it equals the default
 *     for the image (Always for :latest or no tag, else IfNotPresent)
 * metadata.namespace is always kept.
 */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/extract/migrate.h"
#include "engine/extract/normalize.h"
#include "util/error.h"
#include "util/str.h"

#define OOM() dhg_error_set(DHG_ENOMEM, "out of memory")

static const char *sget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) && !engine_number_is(v) ? json_string_value(v) : NULL;
}

/* "file (document N, line L)" without kind/name. */
static const char *where_of(char *buf, size_t size, const engine_object *o, size_t index)
{
	if (o->source && o->source[0]) {
		if (o->doc >= 0 && o->line > 0)
			snprintf(buf, size, "%s (document %d, line %d)", o->source, o->doc + 1, o->line);
		else if (o->doc >= 0)
			snprintf(buf, size, "%s (document %d)", o->source, o->doc + 1);
		else
			snprintf(buf, size, "%s", o->source);
	} else {
		snprintf(buf, size, "object %zu", index + 1);
	}
	return buf;
}

static const char *type_name(const json_t *v)
{
	if (engine_number_is(v))
		return "a number";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int check_string(const char *where, const char *kind, const json_t *parent, const char *key,
			const char *field)
{
	const json_t *v = json_object_get(parent, key);
	char pre[160];

	if (v && json_is_string(v) && !engine_number_is(v) && json_string_length(v) > 0)
		return 0; /* the common case, without formatting a message */
	snprintf(pre, sizeof(pre), "%s%s", kind ? kind : "", kind ? ": " : "");
	if (!v || json_is_null(v))
		return dhg_error_set(DHG_EINVALID, "%s: %s%s is missing", where, pre, field);
	if (!json_is_string(v) || engine_number_is(v))
		return dhg_error_set(DHG_EINVALID, "%s: %s%s must be a string, not %s", where, pre, field, type_name(v));
	if (json_string_length(v) == 0)
		return dhg_error_set(DHG_EINVALID, "%s: %s%s is empty", where, pre, field);
	return 0;
}

/* 1 when apiVersion, kind, metadata.name (and metadata.namespace, if there) are well-formed:
 * validate()'s common case, without formatting a message */
static int valid_fast(const json_t *o)
{
	const json_t *md, *ns;
	const char *kind = sget(o, "kind"), *api = sget(o, "apiVersion"), *name;

	if (!kind || !kind[0] || !api || !api[0] || !json_is_object(md = json_object_get(o, "metadata")) ||
	    !(name = sget(md, "name")) || !name[0])
		return 0;
	ns = json_object_get(md, "namespace");
	return !ns || (json_is_string(ns) && !engine_number_is(ns) && json_string_length(ns) > 0);
}

static int validate(const engine_object *eo, size_t index)
{
	const json_t *md, *o = eo->obj;
	const char *kind;
	int error;
	char where[600];

	if (valid_fast(o))
		return 0;
	where_of(where, sizeof(where), eo, index);

	if ((error = check_string(where, NULL, o, "kind", "kind")) < 0)
		return error;
	kind = sget(o, "kind");
	if ((error = check_string(where, kind, o, "apiVersion", "apiVersion")) < 0)
		return error;
	md = json_object_get(o, "metadata");
	if (md && !json_is_object(md))
		return dhg_error_set(DHG_EINVALID, "%s: %s: metadata must be a mapping, not %s", where, kind, type_name(md));
	if ((error = check_string(where, kind, md, "name", "metadata.name")) < 0)
		return error;
	if (json_object_get(md, "namespace") && (error = check_string(where, kind, md, "namespace", "metadata.namespace")) < 0)
		return error;
	return 0;
}

static int is_live(const json_t *o)
{
	const json_t *md = json_object_get(o, "metadata");
	return json_object_get(md, "uid") || json_object_get(md, "resourceVersion") ||
	       json_object_get(md, "managedFields") || json_object_get(o, "status");
}

/* ---- dropping ----------------------------------------------------------------------------- */

static const json_t *controller_owner(const json_t *o)
{
	const json_t *refs = json_object_get(json_object_get(o, "metadata"), "ownerReferences"), *r;
	size_t i;
	json_array_foreach(refs, i, r)
	{
		if (json_is_true(json_object_get(r, "controller")))
			return r;
	}
	return NULL;
}

static const json_t *owner_of_kind(const json_t *o, const char *kind)
{
	const json_t *refs = json_object_get(json_object_get(o, "metadata"), "ownerReferences"), *r;
	size_t i;
	json_array_foreach(refs, i, r)
	{
		const char *k = sget(r, "kind");
		if (k && !strcmp(k, kind))
			return r;
	}
	return NULL;
}

/* Returns a reason to drop o (static text) or NULL to keep it. live: is_live(o) before any
 * stripping; services: the index of Services with a selector (only read for v1 Endpoints). */
static const char *drop_reason(const json_t *o, char *buf, size_t size, const json_t *services, int live)
{
	const char *kind = sget(o, "kind"), *api = sget(o, "apiVersion");
	const json_t *md = json_object_get(o, "metadata"), *owner;
	const char *name = sget(md, "name");
	const char *ns = sget(md, "namespace");

	if (!strcmp(kind, "Event") && (!strcmp(api, "v1") || dhg_str_has_prefix(api, "events.k8s.io/")))
		return "an Event (runtime record)";
	if ((!strcmp(kind, "ReplicaSet") || !strcmp(kind, "Pod") || !strcmp(kind, "Endpoints") ||
	     !strcmp(kind, "EndpointSlice") || !strcmp(kind, "ControllerRevision")) &&
	    (owner = controller_owner(o))) {
		snprintf(buf, size, "managed by its owner %s %s", sget(owner, "kind") ? sget(owner, "kind") : "?",
			 sget(owner, "name") ? sget(owner, "name") : "?");
		return buf;
	}
	if (!strcmp(kind, "Job") && !strcmp(api, "batch/v1") && (owner = owner_of_kind(o, "CronJob"))) {
		snprintf(buf, size, "created by its CronJob %s", sget(owner, "name") ? sget(owner, "name") : "?");
		return buf;
	}
	if (!strcmp(kind, "Endpoints") && !strcmp(api, "v1") && live) {
		char key[600];
		snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
		if (json_object_get(services, key))
			return "maintained by the endpoints controller for its Service";
	}
	if (!strcmp(kind, "ConfigMap") && !strcmp(api, "v1") && !strcmp(name, "kube-root-ca.crt"))
		return "published into every namespace by the cluster";
	if (!strcmp(kind, "Secret") && !strcmp(api, "v1")) {
		const char *type = sget(o, "type");
		if (type && !strcmp(type, "kubernetes.io/service-account-token"))
			return "a ServiceAccount token maintained by the cluster";
	}
	return NULL;
}

/* The default ServiceAccount with nothing but its name (after stripping). */
static int is_bare_default_sa(const json_t *o)
{
	const char *k;
	const json_t *v, *md = json_object_get(o, "metadata");

	if (strcmp(sget(o, "kind"), "ServiceAccount") || strcmp(sget(o, "apiVersion"), "v1") ||
	    strcmp(sget(md, "name"), "default"))
		return 0;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "apiVersion") && strcmp(k, "kind") && strcmp(k, "metadata"))
			return 0;
	}
	json_object_foreach((json_t *)md, k, v)
	{
		if (strcmp(k, "name") && strcmp(k, "namespace"))
			return 0;
	}
	return 1;
}

/* ---- stripping ---------------------------------------------------------------------------- */

static void del_if_str(json_t *o, const char *k, const char *val)
{
	const char *s = sget(o, k);
	if (s && !strcmp(s, val))
		json_object_del(o, k);
}

static void del_if_int(json_t *o, const char *k, json_int_t n)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_integer(v) && json_integer_value(v) == n)
		json_object_del(o, k);
}

static void del_if_bool(json_t *o, const char *k, int b)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_boolean(v) && json_is_true(v) == b)
		json_object_del(o, k);
}

static void del_if_empty_map(json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_object(v) && json_object_size(v) == 0)
		json_object_del(o, k);
}

/* Whether v equals the JSON text at *p (advanced past it): objects of string keys, strings
 * and integers only, without escapes or spaces, compared as json_equal() would (same members,
 * same types) but without parsing the text into a value: nothing is allocated, so running out
 * of memory cannot make a default look different (or equal). */
static int equal_text(const json_t *v, const char **p)
{
	const char *s = *p;
	int eq = 1;

	if (*s == '{') {
		size_t members = 0;
		s++;
		while (*s == '"') {
			const char *k = ++s, *ke = strchr(k, '"');
			const json_t *m = v && json_is_object(v) ? json_object_getn(v, k, (size_t)(ke - k)) : NULL;
			s = ke + 2; /* past '"' and ':' */
			eq = equal_text(m, &s) && eq;
			members++;
			if (*s == ',')
				s++;
		}
		*p = s + 1; /* past '}' */
		return eq && json_is_object(v) && json_object_size(v) == members;
	}
	if (*s == '"') {
		const char *b = ++s, *e = strchr(b, '"');
		*p = e + 1;
		return json_is_string(v) && !engine_number_is(v) && json_string_length(v) == (size_t)(e - b) &&
		       memcmp(json_string_value(v), b, (size_t)(e - b)) == 0;
	}
	{ /* an integer */
		char *end;
		long long n = strtoll(s, &end, 10);
		*p = end;
		return json_is_integer(v) && json_integer_value(v) == n;
	}
}

/* Removes o[k] when it equals the JSON text `expected` (see equal_text()). */
static void del_if_equal(json_t *o, const char *k, const char *expected)
{
	json_t *v = json_object_get(o, k);
	if (v && equal_text(v, &expected))
		json_object_del(o, k);
}

static void strip_annotations(json_t *md, const char *const *keys)
{
	json_t *ann = json_object_get(md, "annotations");
	size_t before;
	if (!json_is_object(ann))
		return;
	before = json_object_size(ann);
	for (size_t i = 0; keys[i]; i++)
		json_object_del(ann, keys[i]);
	if (before > 0 && json_object_size(ann) == 0)
		json_object_del(md, "annotations");
}

static int image_default_always(const char *image)
{
	const char *slash = strrchr(image, '/'), *colon;
	if (strchr(image, '@'))
		return 0;
	colon = strrchr(slash ? slash : image, ':');
	return !colon || !strcmp(colon + 1, "latest");
}

static void strip_containers(json_t *list)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *image = sget(c, "image"), *pp = sget(c, "imagePullPolicy");
		if (!json_is_object(c))
			continue;
		del_if_str(c, "terminationMessagePath", "/dev/termination-log");
		del_if_str(c, "terminationMessagePolicy", "File");
		del_if_empty_map(c, "resources");
		if (image && pp && !strcmp(pp, image_default_always(image) ? "Always" : "IfNotPresent"))
			json_object_del(c, "imagePullPolicy");
	}
}

static void strip_pod_spec(json_t *spec, int restart_always_default)
{
	if (!json_is_object(spec))
		return;
	del_if_str(spec, "dnsPolicy", "ClusterFirst");
	del_if_str(spec, "schedulerName", "default-scheduler");
	del_if_empty_map(spec, "securityContext");
	del_if_int(spec, "terminationGracePeriodSeconds", 30);
	if (restart_always_default)
		del_if_str(spec, "restartPolicy", "Always");
	strip_containers(json_object_get(spec, "containers"));
	strip_containers(json_object_get(spec, "initContainers"));
}

static void strip_template(json_t *tmpl, int restart_always_default)
{
	json_t *md = json_object_get(tmpl, "metadata");
	if (json_is_object(md) && json_is_null(json_object_get(md, "creationTimestamp")))
		json_object_del(md, "creationTimestamp");
	strip_pod_spec(json_object_get(tmpl, "spec"), restart_always_default);
}

static void strip_job_spec(json_t *spec, int generated_selector)
{
	json_t *labels;
	if (!json_is_object(spec))
		return;
	del_if_int(spec, "backoffLimit", 6);
	del_if_str(spec, "completionMode", "NonIndexed");
	del_if_bool(spec, "suspend", 0);
	del_if_str(spec, "podReplacementPolicy", "TerminatingOrFailed");
	if (generated_selector && !json_is_true(json_object_get(spec, "manualSelector"))) {
		json_t *md = json_object_get(json_object_get(spec, "template"), "metadata");
		json_object_del(spec, "selector");
		labels = json_object_get(md, "labels");
		if (json_is_object(labels) && json_object_size(labels) > 0) {
			json_object_del(labels, "controller-uid");
			json_object_del(labels, "job-name");
			json_object_del(labels, "batch.kubernetes.io/controller-uid");
			json_object_del(labels, "batch.kubernetes.io/job-name");
			if (json_object_size(labels) == 0)
				json_object_del(md, "labels");
		}
	}
	strip_template(json_object_get(spec, "template"), 0);
}

static void strip_defaults(json_t *o)
{
	const char *kind = sget(o, "kind"), *api = sget(o, "apiVersion");
	json_t *spec = json_object_get(o, "spec");
	int apps = !strcmp(api, "apps/v1");

	if (!json_is_object(spec))
		return;
	if (!strcmp(kind, "Service") && !strcmp(api, "v1")) {
		json_t *fam = json_object_get(spec, "ipFamilies");
		del_if_str(spec, "sessionAffinity", "None");
		if (json_is_array(fam) && json_array_size(fam) == 1)
			json_object_del(spec, "ipFamilies");
		del_if_str(spec, "ipFamilyPolicy", "SingleStack");
		del_if_str(spec, "internalTrafficPolicy", "Cluster");
		del_if_str(spec, "externalTrafficPolicy", "Cluster");
		del_if_bool(spec, "allocateLoadBalancerNodePorts", 1);
	} else if (apps && !strcmp(kind, "Deployment")) {
		del_if_int(spec, "progressDeadlineSeconds", 600);
		del_if_int(spec, "revisionHistoryLimit", 10);
		del_if_equal(spec, "strategy",
			     "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\",\"maxUnavailable\":\"25%\"}}");
		strip_template(json_object_get(spec, "template"), 1);
	} else if (apps && !strcmp(kind, "StatefulSet")) {
		json_t *vcts = json_object_get(spec, "volumeClaimTemplates"), *v;
		size_t i;
		del_if_str(spec, "podManagementPolicy", "OrderedReady");
		del_if_int(spec, "revisionHistoryLimit", 10);
		del_if_equal(spec, "updateStrategy", "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":0}}");
		del_if_equal(spec, "persistentVolumeClaimRetentionPolicy",
			     "{\"whenDeleted\":\"Retain\",\"whenScaled\":\"Retain\"}");
		json_array_foreach(vcts, i, v)
		{
			json_t *md = json_object_get(v, "metadata");
			if (!json_is_object(v))
				continue;
			json_object_del(v, "status");
			del_if_str(v, "apiVersion", "v1");
			del_if_str(v, "kind", "PersistentVolumeClaim");
			del_if_str(json_object_get(v, "spec"), "volumeMode", "Filesystem");
			if (json_is_object(md) && json_is_null(json_object_get(md, "creationTimestamp")))
				json_object_del(md, "creationTimestamp");
		}
		strip_template(json_object_get(spec, "template"), 1);
	} else if (apps && !strcmp(kind, "DaemonSet")) {
		del_if_int(spec, "revisionHistoryLimit", 10);
		del_if_equal(spec, "updateStrategy",
			     "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":1,\"maxSurge\":0}}");
		strip_template(json_object_get(spec, "template"), 1);
	} else if (apps && !strcmp(kind, "ReplicaSet")) {
		strip_template(json_object_get(spec, "template"), 1);
	} else if (!strcmp(kind, "CronJob") && !strcmp(api, "batch/v1")) {
		json_t *jt = json_object_get(spec, "jobTemplate");
		json_t *md = json_object_get(jt, "metadata");
		del_if_str(spec, "concurrencyPolicy", "Allow");
		del_if_bool(spec, "suspend", 0);
		del_if_int(spec, "successfulJobsHistoryLimit", 3);
		del_if_int(spec, "failedJobsHistoryLimit", 1);
		if (json_is_object(md) && json_is_null(json_object_get(md, "creationTimestamp")))
			json_object_del(md, "creationTimestamp");
		strip_job_spec(json_object_get(jt, "spec"), 0);
	} else if (!strcmp(kind, "Job") && !strcmp(api, "batch/v1")) {
		strip_job_spec(spec, 1);
	} else if (!strcmp(kind, "Pod") && !strcmp(api, "v1")) {
		strip_pod_spec(spec, 0);
	} else if (!strcmp(kind, "PersistentVolumeClaim") && !strcmp(api, "v1")) {
		json_t *md = json_object_get(o, "metadata");
		const char *ann = sget(json_object_get(md, "annotations"), "pv.kubernetes.io/bound-by-controller");
		static const char *const pvc_ann[] = { "pv.kubernetes.io/bind-completed",
						       "pv.kubernetes.io/bound-by-controller",
						       "volume.beta.kubernetes.io/storage-provisioner",
						       "volume.kubernetes.io/storage-provisioner",
						       "volume.kubernetes.io/selected-node",
						       NULL };
		del_if_str(spec, "volumeMode", "Filesystem");
		if (ann && !strcmp(ann, "yes"))
			json_object_del(spec, "volumeName");
		strip_annotations(md, pvc_ann);
	}
}

typedef struct dropped {
	char **keys; /* "Kind/ns/name" of dropped objects */
	size_t len, cap;
} dropped;

static int dropped_add(dropped *d, const char *kind, const char *ns, const char *name)
{
	char *k = dhg_asprintf("%s/%s/%s", kind, ns ? ns : "", name);
	if (!k)
		return DHG_ENOMEM;
	if (d->len == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		char **n = realloc(d->keys, ncap * sizeof(*n));
		if (!n) {
			free(k);
			return OOM();
		}
		d->keys = n;
		d->cap = ncap;
	}
	d->keys[d->len++] = k;
	return 0;
}

static int dropped_has(const dropped *d, const char *kind, const char *ns, const char *name)
{
	char k[800];
	snprintf(k, sizeof(k), "%s/%s/%s", kind, ns ? ns : "", name);
	for (size_t i = 0; i < d->len; i++)
		if (!strcmp(d->keys[i], k))
			return 1;
	return 0;
}

/* The stripping that depends on o alone (everything but strip_cross()). */
static void strip_local(json_t *o, int live)
{
	static const char *const md_fields[] = { "uid",
						 "resourceVersion",
						 "generation",
						 "creationTimestamp",
						 "managedFields",
						 "selfLink",
						 "deletionTimestamp",
						 "deletionGracePeriodSeconds",
						 NULL };
	static const char *const ann[] = { "kubectl.kubernetes.io/last-applied-configuration",
					   "deployment.kubernetes.io/revision", NULL };
	json_t *md = json_object_get(o, "metadata"), *spec;
	const char *kind = sget(o, "kind"), *api = sget(o, "apiVersion");

	json_object_del(o, "status");
	for (size_t i = 0; md_fields[i]; i++)
		json_object_del(md, md_fields[i]);
	strip_annotations(md, ann);
	spec = json_object_get(o, "spec");
	if (!strcmp(kind, "Service") && !strcmp(api, "v1") && json_is_object(spec)) {
		const char *cip = sget(spec, "clusterIP");
		json_t *cips = json_object_get(spec, "clusterIPs"), *e;
		int all_none = json_is_array(cips) && json_array_size(cips) > 0;
		size_t i;
		if (json_object_get(spec, "clusterIP") && !(cip && !strcmp(cip, "None")))
			json_object_del(spec, "clusterIP");
		json_array_foreach(cips, i, e)
		{
			const char *s = json_is_string(e) ? json_string_value(e) : NULL;
			if (!s || strcmp(s, "None"))
				all_none = 0;
		}
		if (cips && (live || !all_none))
			json_object_del(spec, "clusterIPs");
	}
	if (live)
		strip_defaults(o);
}

/* The stripping that depends on the dropped objects: ownerReferences to them, and the token
 * Secrets a ServiceAccount lists. Touches keys strip_local() leaves alone (either order gives
 * the same object). */
static void strip_cross(json_t *o, const dropped *d, int live)
{
	json_t *md = json_object_get(o, "metadata"), *refs;
	const char *kind = sget(o, "kind"), *api = sget(o, "apiVersion");
	const char *ns = sget(md, "namespace");

	refs = d->len > 0 ? json_object_get(md, "ownerReferences") : NULL;
	if (json_is_array(refs) && json_array_size(refs) > 0) {
		for (size_t i = json_array_size(refs); i-- > 0;) {
			json_t *r = json_array_get(refs, i);
			const char *rk = sget(r, "kind"), *rn = sget(r, "name");
			if (rk && rn && dropped_has(d, rk, ns, rn))
				json_array_remove(refs, i);
		}
		if (json_array_size(refs) == 0)
			json_object_del(md, "ownerReferences");
	}
	if (!strcmp(kind, "ServiceAccount") && !strcmp(api, "v1")) {
		json_t *secrets = json_object_get(o, "secrets");
		char token_prefix[300];
		snprintf(token_prefix, sizeof(token_prefix), "%s-token-", sget(md, "name"));
		if (json_is_array(secrets) && json_array_size(secrets) > 0) {
			for (size_t i = json_array_size(secrets); i-- > 0;) {
				const char *sn = sget(json_array_get(secrets, i), "name");
				/* a dropped token Secret, or (live) the token the cluster generated (< 1.24) */
				if (sn && (dropped_has(d, "Secret", ns, sn) || (live && dhg_str_has_prefix(sn, token_prefix))))
					json_array_remove(secrets, i);
			}
			if (json_array_size(secrets) == 0)
				json_object_del(o, "secrets");
		}
	}
}

static void strip_runtime(json_t *o, const dropped *d, int live)
{
	strip_local(o, live);
	strip_cross(o, d, live);
}

/* ---- the pass ----------------------------------------------------------------------------- */

/* parts[0] sep parts[1] sep ... into buf, truncated like snprintf (a hot path: no format). */
static const char *join_key(char *buf, size_t size, char sep, const char *const *parts, size_t nparts)
{
	size_t n = 0;

	for (size_t i = 0; i < nparts; i++) {
		size_t l = strlen(parts[i]);
		if (i > 0 && n + 1 < size)
			buf[n++] = sep;
		if (l > size - 1 - n)
			l = size - 1 - n;
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	buf[n] = '\0';
	return buf;
}

static int add_key(json_t *index, const char *key, size_t i)
{
	json_t *v = json_integer((json_int_t)i);
	if (!v || json_object_set_new(index, key, v) < 0)
		return OOM();
	return 0;
}

/* The duplicate key of a validated object: API group, kind, namespace, name (after migration). */
static const char *dup_key(char *key, size_t size, char *group, size_t gsize, const json_t *o)
{
	const json_t *md = json_object_get(o, "metadata");
	const char *ns = sget(md, "namespace"), *parts[4];

	engine_extract__api_group(group, gsize, sget(o, "apiVersion"));
	parts[0] = group;
	parts[1] = sget(o, "kind");
	parts[2] = ns ? ns : "";
	parts[3] = sget(md, "name");
	return join_key(key, size, '\x1f', parts, 4);
}

static unsigned long long hash_key(const char *k)
{
	unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

/* eo->prep flags (engine_normalize__prepare) */
#define PREP_DONE 1u      /* valid, no migration to do, strip_local() done */
#define PREP_LIVE 2u      /* is_live() before stripping */
#define PREP_MAY_DROP 4u  /* drop_reason() may give a reason (otherwise it certainly does not) */
#define PREP_SERVICE 8u   /* a v1 Service with spec.selector (in the services index) */
#define PREP_SA 16u       /* a v1 ServiceAccount (strip_cross, is_bare_default_sa) */
#define PREP_ENDPOINTS 32u /* v1 Endpoints (the services index is needed) */

static int is_kind(const json_t *o, const char *api, const char *kind)
{
	return !strcmp(sget(o, "kind"), kind) && !strcmp(sget(o, "apiVersion"), api);
}

static int has_selector_service(const json_t *o)
{
	return is_kind(o, "v1", "Service") && json_object_get(json_object_get(o, "spec"), "selector");
}

void engine_normalize__prepare(engine_object *eo)
{
	json_t *o = eo->obj;
	char reason[400], group[256], key[1200];
	unsigned f = PREP_DONE;
	int live;

	eo->prep = 0;
	if (!json_is_object(o) || !valid_fast(o) || engine_extract__migrate_may_apply(o))
		return; /* engine_normalize() validates, migrates and reports it in input order */
	live = is_live(o);
	if (live)
		f |= PREP_LIVE;
	if (is_kind(o, "v1", "Endpoints"))
		f |= PREP_ENDPOINTS | (live ? PREP_MAY_DROP : 0);
	/* every other reason depends on this object alone (and is read before any stripping) */
	if (drop_reason(o, reason, sizeof(reason), NULL, live))
		f |= PREP_MAY_DROP;
	if (has_selector_service(o))
		f |= PREP_SERVICE;
	if (is_kind(o, "v1", "ServiceAccount"))
		f |= PREP_SA;
	eo->key_hash = hash_key(dup_key(key, sizeof(key), group, sizeof(group), o));
	strip_local(o, live);
	eo->prep = f;
}

/* Open addressing over key hashes: the first object (index) of every key seen. */
typedef struct seen_set {
	struct seen_slot {
		unsigned long long h;
		size_t idx1; /* index + 1; 0: empty */
	} *slots;
	size_t mask;
} seen_set;

/* The validated-object pass over objs (engine.h). The steps and the order of their messages:
 * 1. validation (the first invalid object is the error); 2. drops (a warning each, in input
 * order); 3. per kept object in input order: migration (its warnings or error), stripping,
 * the bare default ServiceAccount (a warning), duplicates (the error). Objects prepared by
 * engine_normalize__prepare() (eo->prep) have validation, migration and strip_local() behind
 * them and are skipped by the checks that cannot apply to them; the others go through all. */
int engine_normalize(engine_objects *objs, engine_warnings *warnings)
{
	engine_warnings local = ENGINE_WARNINGS_INIT;
	engine_warnings *w = warnings ? warnings : &local;
	json_t *services = NULL;
	unsigned char *keep = NULL, *live = NULL;
	seen_set seen = { NULL, 0 };
	dropped d = { 0 };
	char where[600], desc[800], reason[400], key[1200];
	size_t i, n, cap = 16;
	int error = 0, need_services = 0;

	if (!objs)
		return dhg_error_set(DHG_EINVALID, "engine_normalize: no objects");
	n = objs->len;
	if (n == 0)
		goto done;
	while (cap < 2 * n)
		cap *= 2;
	if (!(keep = calloc(n, 1)) || !(live = calloc(n, 1)) || !(seen.slots = calloc(cap, sizeof(*seen.slots)))) {
		error = OOM();
		goto done;
	}
	seen.mask = cap - 1;
	/* 1. validate; note which objects are live */
	for (i = 0; i < n; i++) {
		engine_object *eo = &objs->items[i];
		keep[i] = 1;
		if (eo->prep & PREP_DONE) {
			live[i] = (eo->prep & PREP_LIVE) != 0;
			need_services |= (eo->prep & PREP_ENDPOINTS) != 0;
			continue;
		}
		if (!json_is_object(eo->obj)) {
			where_of(where, sizeof(where), eo, i);
			error = dhg_error_set(DHG_EINVALID, "%s: not a mapping", where);
			goto done;
		}
		if ((error = validate(eo, i)) < 0)
			goto done;
		live[i] = (unsigned char)is_live(eo->obj);
		need_services |= is_kind(eo->obj, "v1", "Endpoints");
	}
	/* which Services exist (only live v1 Endpoints are looked up in it) */
	if (need_services) {
		if (!(services = json_object())) {
			error = OOM();
			goto done;
		}
		for (i = 0; i < n; i++) {
			const engine_object *eo = &objs->items[i];
			const json_t *md = json_object_get(eo->obj, "metadata");
			if ((eo->prep & PREP_DONE) ? !(eo->prep & PREP_SERVICE) : !has_selector_service(eo->obj))
				continue;
			const char *parts[2] = { sget(md, "namespace") ? sget(md, "namespace") : "", sget(md, "name") };
			join_key(key, sizeof(key), '/', parts, 2);
			if ((error = add_key(services, key, i)) < 0)
				goto done;
		}
	}
	/* 2. drop owner-managed and cluster-maintained objects */
	for (i = 0; i < n; i++) {
		engine_object *eo = &objs->items[i];
		const char *why;
		json_t *md;
		if ((eo->prep & PREP_DONE) && !(eo->prep & PREP_MAY_DROP))
			continue;
		if (!(why = drop_reason(eo->obj, reason, sizeof(reason), services, live[i])))
			continue;
		md = json_object_get(eo->obj, "metadata");
		keep[i] = 0;
		if ((error = dropped_add(&d, sget(eo->obj, "kind"), sget(md, "namespace"), sget(md, "name"))) < 0 ||
		    (error = engine_warnings_addf(w, "%s: skipped: %s", engine_object_describe(desc, sizeof(desc), eo),
						  why)) < 0)
			goto done;
	}
	/* 3. migrate, strip; 4. duplicates */
	for (i = 0; i < n; i++) {
		engine_object *eo = &objs->items[i];
		int prepared = (eo->prep & PREP_DONE) != 0;
		unsigned long long h;
		char group[256];
		if (!keep[i])
			continue;
		if (!prepared) {
			/* the description is only formatted when a message may need it */
			if (engine_extract__migrate_may_apply(eo->obj)) {
				engine_object_describe(desc, sizeof(desc), eo);
				if ((error = engine_extract__migrate(eo->obj, desc, w)) < 0)
					goto done;
			}
			strip_runtime(eo->obj, &d, live[i]);
		} else if (d.len > 0 || (eo->prep & PREP_SA)) {
			strip_cross(eo->obj, &d, live[i]);
		}
		if ((!prepared || (eo->prep & PREP_SA)) && is_bare_default_sa(eo->obj)) {
			keep[i] = 0;
			if ((error = engine_warnings_addf(w, "%s: skipped: the default ServiceAccount, created by the cluster",
							  engine_object_describe(desc, sizeof(desc), eo))) < 0)
				goto done;
			continue;
		}
		h = prepared ? eo->key_hash : hash_key(dup_key(key, sizeof(key), group, sizeof(group), eo->obj));
		for (size_t s = (size_t)h & seen.mask;; s = (s + 1) & seen.mask) {
			struct seen_slot *sl = &seen.slots[s];
			if (!sl->idx1) {
				sl->h = h;
				sl->idx1 = i + 1;
				break;
			}
			if (sl->h == h) {
				char other[1200];
				size_t j = sl->idx1 - 1;
				dup_key(other, sizeof(other), group, sizeof(group), objs->items[j].obj);
				if (!strcmp(dup_key(key, sizeof(key), group, sizeof(group), eo->obj), other)) {
					const json_t *md = json_object_get(eo->obj, "metadata");
					const char *ns = sget(md, "namespace");
					char first[600];
					where_of(first, sizeof(first), &objs->items[j], j);
					where_of(where, sizeof(where), eo, i);
					error = dhg_error_set(DHG_EINVALID,
							      "duplicate object %s %s%s%s%s%s%s: defined in %s and again in %s",
							      sget(eo->obj, "kind"), group[0] ? "(" : "", group, group[0] ? ") " : "",
							      ns ? ns : "", ns ? "/" : "", sget(md, "name"), first, where);
					goto done;
				}
			}
		}
	}
	/* compact */
	{
		size_t k = 0;
		for (i = 0; i < n; i++) {
			if (keep[i]) {
				objs->items[k++] = objs->items[i];
			} else {
				json_decref(objs->items[i].obj);
				free(objs->items[i].source);
			}
		}
		objs->len = k;
	}
done:
	for (i = 0; i < d.len; i++)
		free(d.keys[i]);
	free(d.keys);
	free(keep);
	free(live);
	free(seen.slots);
	json_decref(services);
	engine_warnings_dispose(&local);
	return error;
}
