#include "controller/spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "kube/object.h"
#include "util/error.h"
#include "util/str.h"

const hc_kind hc_kinds[] = {
	{ "Deployment", "apps", "v1", "deployments" },
	{ "StatefulSet", "apps", "v1", "statefulsets" },
	{ "DaemonSet", "apps", "v1", "daemonsets" },
	{ "Job", "batch", "v1", "jobs" },
	{ "CronJob", "batch", "v1", "cronjobs" },
	{ "Service", "", "v1", "services" },
	{ "ConfigMap", "", "v1", "configmaps" },
	{ "Secret", "", "v1", "secrets" },
	{ "ServiceAccount", "", "v1", "serviceaccounts" },
	{ "PersistentVolumeClaim", "", "v1", "persistentvolumeclaims" },
	{ "Ingress", "networking.k8s.io", "v1", "ingresses" },
	{ "NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies" },
	{ "HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers" },
	{ "PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets" },
	{ "Role", "rbac.authorization.k8s.io", "v1", "roles" },
	{ "RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings" },
	{ NULL, NULL, NULL, NULL },
};

size_t hc_kinds_count(void)
{
	return sizeof(hc_kinds) / sizeof(hc_kinds[0]) - 1;
}

int hc_kind_find(const char *kind)
{
	for (int i = 0; hc_kinds[i].kind; i++)
		if (strcmp(hc_kinds[i].kind, kind) == 0)
			return i;
	return -1;
}

static const char *str_at(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

/* field must be an object when present */
static int obj_at(const json_t **out, const json_t *o, const char *k, const char *field)
{
	json_t *v = json_object_get(o, k);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return dhg_error_set(DHG_EINVALID, "%s: must be an object", field);
	*out = v;
	return 0;
}

static bool ns_watched(const hc_spec_policy *p, const char *ns)
{
	if (!p->watch_namespaces || !p->nwatch)
		return true;
	for (size_t i = 0; i < p->nwatch; i++)
		if (strcmp(p->watch_namespaces[i], ns) == 0)
			return true;
	return false;
}

static int parse_cluster(hc_spec *s, const json_t *c, const hc_spec_policy *p)
{
	json_t *v, *x;
	size_t i;
	int error;

	v = json_object_get(c, "namespaces");
	if (v && !json_is_array(v))
		return dhg_error_set(DHG_EINVALID, "spec.source.cluster.namespaces: must be a list of namespace names");
	if (json_array_size(v) > HC_MAX_NAMESPACES)
		return dhg_error_set(DHG_EINVALID, "spec.source.cluster.namespaces: more than %d namespaces", HC_MAX_NAMESPACES);
	json_array_foreach(v, i, x) {
		const char *ns = json_string_value(x);
		if (!ns || !dhg_dns1123_label_valid(ns))
			return dhg_error_set(DHG_EINVALID, "spec.source.cluster.namespaces[%zu]: \"%.63s\" is not a valid namespace name", i, ns ? ns : "");
		if (strcmp(ns, s->ns) != 0 && !p->allow_cross_namespace)
			return dhg_error_set(DHG_EINVALID,
					     "spec.source.cluster.namespaces[%zu]: namespace %s is not the HelmChart's namespace (%s) and the operator runs without --allow-cross-namespace",
					     i, ns, s->ns);
		if (!ns_watched(p, ns))
			return dhg_error_set(DHG_EINVALID, "spec.source.cluster.namespaces[%zu]: namespace %s is not watched by the operator (--watch-namespace)", i, ns);
		s->namespaces[s->nnamespaces++] = ns;
	}
	if (!s->nnamespaces) {
		if (!ns_watched(p, s->ns))
			return dhg_error_set(DHG_EINVALID, "spec.source.cluster.namespaces: the HelmChart's namespace %s is not watched by the operator (--watch-namespace)", s->ns);
		s->namespaces[s->nnamespaces++] = s->ns;
	}
	v = json_object_get(c, "selector");
	if ((error = kube_selector_from_json(&s->selector, v)) < 0)
		return dhg_error_wrap("spec.source.cluster.selector");
	v = json_object_get(c, "kinds");
	if (v && !json_is_array(v))
		return dhg_error_set(DHG_EINVALID, "spec.source.cluster.kinds: must be a list of kinds");
	if (json_array_size(v) == 0) {
		for (size_t k = 0; k < hc_kinds_count(); k++)
			s->kind_enabled[k] = true;
	}
	json_array_foreach(v, i, x) {
		const char *k = json_string_value(x);
		int idx = k ? hc_kind_find(k) : -1;
		if (idx < 0) {
			char list[512] = "";
			size_t off = 0;
			for (int j = 0; hc_kinds[j].kind; j++)
				off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0, "%s%s", j ? ", " : "", hc_kinds[j].kind);
			return dhg_error_set(DHG_EINVALID, "spec.source.cluster.kinds[%zu]: unknown kind \"%.63s\" (supported: %s)", i, k ? k : "", list);
		}
		s->kind_enabled[idx] = true;
	}
	v = json_object_get(c, "exclude");
	if (v && !json_is_array(v))
		return dhg_error_set(DHG_EINVALID, "spec.source.cluster.exclude: must be a list");
	if (json_array_size(v) > HC_MAX_EXCLUDES)
		return dhg_error_set(DHG_EINVALID, "spec.source.cluster.exclude: more than %d entries", HC_MAX_EXCLUDES);
	json_array_foreach(v, i, x) {
		hc_exclude *e = &s->excludes[s->nexcludes];
		e->kind = str_at(x, "kind");
		e->name = str_at(x, "name");
		e->ns = str_at(x, "namespace");
		if (!e->kind || !e->name)
			return dhg_error_set(DHG_EINVALID, "spec.source.cluster.exclude[%zu]: kind and name are required", i);
		s->nexcludes++;
	}
	return 0;
}

static int parse_git_source(hc_spec *s, const json_t *g)
{
	const json_t *ref, *sr;
	int n = 0;
	s->git_source = g;
	if (!(s->git_url = str_at(g, "url")))
		return dhg_error_set(DHG_EINVALID, "spec.source.git.url: required");
	if (!dhg_str_has_prefix(s->git_url, "https://") && !dhg_str_has_prefix(s->git_url, "http://") &&
	    !dhg_str_has_prefix(s->git_url, "ssh://") && !strchr(s->git_url, '@'))
		return dhg_error_set(DHG_EINVALID, "spec.source.git.url: must be an https://, http://, ssh:// or user@host:path URL");
	if (obj_at(&ref, g, "ref", "spec.source.git.ref") < 0)
		return DHG_EINVALID;
	s->git_branch = str_at(ref, "branch");
	s->git_tag = str_at(ref, "tag");
	s->git_commit = str_at(ref, "commit");
	n = !!s->git_branch + !!s->git_tag + !!s->git_commit;
	if (n > 1)
		return dhg_error_set(DHG_EINVALID, "spec.source.git.ref: at most one of branch, tag, commit");
	if (s->git_commit && strlen(s->git_commit) != 40)
		return dhg_error_set(DHG_EINVALID, "spec.source.git.ref.commit: must be a full 40-character commit id");
	s->git_path = str_at(g, "path");
	if (obj_at(&sr, g, "secretRef", "spec.source.git.secretRef") < 0)
		return DHG_EINVALID;
	if (sr && !(s->git_secret = str_at(sr, "name")))
		return dhg_error_set(DHG_EINVALID, "spec.source.git.secretRef.name: required");
	return 0;
}

static int parse_duration(long long *out, const json_t *o, const char *k, const char *field, long long dflt)
{
	json_t *v = json_object_get(o, k);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || dhg_parse_duration_ms(out, json_string_value(v)) < 0)
		return dhg_error_set(DHG_EINVALID, "%s: \"%.40s\" is not a duration (e.g. 10s, 1m30s, 500ms)", field,
				     json_is_string(v) ? json_string_value(v) : "");
	return 0;
}

static int secret_name(const char **out, const json_t *sec, const char *field)
{
	const json_t *sr;
	*out = NULL;
	if (obj_at(&sr, sec, "secretRef", field) < 0)
		return DHG_EINVALID;
	if (sr && !(*out = str_at(sr, "name")))
		return dhg_error_set(DHG_EINVALID, "%s.name: required", field);
	return 0;
}

int hc_spec_parse(hc_spec *s, const json_t *hc, const hc_spec_policy *p)
{
	const json_t *spec, *chart, *src, *cl, *git, *gen, *out, *sync, *es, *sr;
	const char *v;
	int error = 0;

	memset(s, 0, sizeof(*s));
	s->ns = kube_object_namespace(hc);
	s->name = kube_object_name(hc);
	s->generation = json_integer_value(json_object_get(json_object_get(hc, "metadata"), "generation"));
	spec = json_object_get(hc, "spec");
	if (!json_is_object(spec))
		return dhg_error_set(DHG_EINVALID, "spec: missing");

	if ((error = obj_at(&chart, spec, "chart", "spec.chart")) < 0)
		goto fail;
	s->chart_name = str_at(chart, "name");
	if (!s->chart_name)
		s->chart_name = s->name;
	if (!dhg_dns1123_label_valid(s->chart_name)) {
		error = dhg_error_set(DHG_EINVALID, "spec.chart.name: \"%.80s\" is not a DNS-1123 label (lower case letters, digits, '-', at most 63)", s->chart_name);
		goto fail;
	}
	s->base_version = str_at(chart, "version");
	if (!s->base_version)
		s->base_version = "0.1.0";
	if (!dhg_semver_valid(s->base_version)) {
		error = dhg_error_set(DHG_EINVALID, "spec.chart.version: \"%.80s\" is not a semantic version (e.g. 0.1.0)", s->base_version);
		goto fail;
	}
	s->app_version = str_at(chart, "appVersion");
	s->description = str_at(chart, "description");

	if ((error = obj_at(&src, spec, "source", "spec.source")) < 0)
		goto fail;
	if ((error = obj_at(&cl, src, "cluster", "spec.source.cluster")) < 0 ||
	    (error = obj_at(&git, src, "git", "spec.source.git")) < 0)
		goto fail;
	if (!!cl == !!git) {
		error = dhg_error_set(DHG_EINVALID, "spec.source: exactly one of cluster or git must be set (%s)", cl ? "both are set" : "none is set");
		goto fail;
	}
	s->cluster = cl != NULL;
	if (cl && (error = parse_cluster(s, cl, p)) < 0)
		goto fail;
	if (git && (error = parse_git_source(s, git)) < 0)
		goto fail;

	if ((error = obj_at(&gen, spec, "generation", "spec.generation")) < 0)
		goto fail;
	v = str_at(gen, "mode");
	if (v && strcmp(v, "universal") != 0) {
		error = dhg_error_set(DHG_EINVALID, "spec.generation.mode: \"%.40s\" is not supported (supported: universal)", v);
		goto fail;
	}
	v = str_at(gen, "secrets");
	s->secrets_mode = ENGINE_SECRETS_MASK;
	if (v && strcmp(v, "include") == 0)
		s->secrets_mode = ENGINE_SECRETS_INCLUDE;
	else if (v && strcmp(v, "externalSecret") == 0)
		s->secrets_mode = ENGINE_SECRETS_EXTERNAL;
	else if (v && strcmp(v, "mask") != 0) {
		error = dhg_error_set(DHG_EINVALID, "spec.generation.secrets: \"%.40s\" must be mask, include or externalSecret", v);
		goto fail;
	}
	if ((error = obj_at(&es, gen, "externalSecret", "spec.generation.externalSecret")) < 0 ||
	    (error = obj_at(&sr, es, "storeRef", "spec.generation.externalSecret.storeRef")) < 0)
		goto fail;
	s->store_name = str_at(sr, "name");
	s->store_kind = str_at(sr, "kind");
	if (s->secrets_mode == ENGINE_SECRETS_EXTERNAL && !s->store_name) {
		error = dhg_error_set(DHG_EINVALID, "spec.generation.externalSecret.storeRef.name: required when secrets is externalSecret");
		goto fail;
	}
	s->values = json_object_get(gen, "values");
	if (s->values && !json_is_object(s->values)) {
		error = dhg_error_set(DHG_EINVALID, "spec.generation.values: must be an object");
		goto fail;
	}

	if ((error = obj_at(&out, spec, "output", "spec.output")) < 0 ||
	    (error = obj_at(&s->out_git, out, "git", "spec.output.git")) < 0 ||
	    (error = obj_at(&s->out_oci, out, "oci", "spec.output.oci")) < 0 ||
	    (error = obj_at(&s->out_local, out, "local", "spec.output.local")) < 0)
		goto fail;
	if (s->out_local && json_is_false(json_object_get(s->out_local, "enabled")))
		s->out_local = NULL;
	if (!s->out_git && !s->out_oci && !s->out_local) {
		error = dhg_error_set(DHG_EINVALID, "spec.output: at least one of git, oci or local must be set");
		goto fail;
	}
	if (s->out_git && !str_at(s->out_git, "url")) {
		error = dhg_error_set(DHG_EINVALID, "spec.output.git.url: required");
		goto fail;
	}
	if (s->out_oci && (!str_at(s->out_oci, "repository") || !dhg_str_has_prefix(str_at(s->out_oci, "repository"), "oci://"))) {
		error = dhg_error_set(DHG_EINVALID, "spec.output.oci.repository: required, of the form oci://host/path");
		goto fail;
	}
	if (s->out_local && !p->have_local) {
		error = dhg_error_set(DHG_EINVALID, "spec.output.local: the operator runs without --output-root");
		goto fail;
	}
	if ((error = secret_name(&s->out_git_secret, s->out_git, "spec.output.git.secretRef")) < 0 ||
	    (error = secret_name(&s->out_oci_secret, s->out_oci, "spec.output.oci.secretRef")) < 0)
		goto fail;

	if ((error = obj_at(&sync, spec, "sync", "spec.sync")) < 0)
		goto fail;
	s->auto_sync = !json_is_false(json_object_get(sync, "auto"));
	if ((error = parse_duration(&s->debounce_ms, sync, "debounce", "spec.sync.debounce", p->default_debounce_ms)) < 0 ||
	    (error = parse_duration(&s->interval_ms, sync, "interval", "spec.sync.interval", 600000)) < 0)
		goto fail;
	s->suspend = json_is_true(json_object_get(spec, "suspend"));
	return 0;
fail:
	hc_spec_dispose(s);
	return error;
}

void hc_spec_dispose(hc_spec *s)
{
	if (!s)
		return;
	kube_selector_free(s->selector);
	s->selector = NULL;
}

/* ---- versions ---- */

typedef struct semv {
	long maj, min, pat;
	const char *rest; /* "-pre+build" suffix or "" */
} semv;

static int semv_parse(semv *v, const char *s)
{
	char *end;
	if (!s || !dhg_semver_valid(s))
		return -1;
	v->maj = strtol(s, &end, 10);
	v->min = strtol(end + 1, &end, 10);
	v->pat = strtol(end + 1, &end, 10);
	v->rest = end;
	return 0;
}

static bool derived(const char *base, const char *current)
{
	semv b, c;
	if (!current || !*current || semv_parse(&b, base) < 0 || semv_parse(&c, current) < 0)
		return false;
	return b.maj == c.maj && b.min == c.min && c.pat >= b.pat && strcmp(b.rest, c.rest) == 0;
}

const char *hc_version_current(const char *base, const char *current)
{
	return derived(base, current) ? current : base;
}

int hc_version_next(char *out, size_t size, const char *base, const char *current)
{
	semv b, c;
	if (semv_parse(&b, base) < 0)
		return dhg_error_set(DHG_EINVALID, "spec.chart.version: \"%s\" is not a semantic version", base);
	if (!derived(base, current)) {
		snprintf(out, size, "%s", base);
		return 0;
	}
	semv_parse(&c, current);
	snprintf(out, size, "%ld.%ld.%ld%s", c.maj, c.min, c.pat + 1, c.rest);
	return 0;
}

void hc_git_url_canon(char *out, size_t size, const char *url)
{
	const char *p = url, *at, *slash;
	char tmp[2048];
	size_t n;

	if (!size)
		return;
	out[0] = 0;
	if (!url)
		return;
	const char *scheme = strstr(p, "://");
	if (scheme) {
		p = scheme + 3;
		slash = strchr(p, '/');
		at = strchr(p, '@');
		if (at && (!slash || at < slash))
			p = at + 1;
		snprintf(tmp, sizeof(tmp), "%s", p);
	} else {
		/* scp form user@host:path */
		at = strchr(p, '@');
		if (at)
			p = at + 1;
		snprintf(tmp, sizeof(tmp), "%s", p);
		char *colon = strchr(tmp, ':');
		if (colon && (!strchr(tmp, '/') || colon < strchr(tmp, '/')))
			*colon = '/';
	}
	/* drop a :port after the host */
	char *hs = strchr(tmp, '/');
	char *pc = strchr(tmp, ':');
	if (pc && (!hs || pc < hs)) {
		memmove(pc, hs ? hs : pc + strlen(pc), strlen(hs ? hs : pc + strlen(pc)) + 1);
		hs = strchr(tmp, '/');
	}
	for (char *q = tmp; *q && (!hs || q < hs); q++)
		*q = (char)tolower((unsigned char)*q);
	n = strlen(tmp);
	while (n && tmp[n - 1] == '/')
		tmp[--n] = 0;
	if (n > 4 && strcmp(tmp + n - 4, ".git") == 0)
		tmp[n - 4] = 0;
	snprintf(out, size, "%s", tmp);
}
