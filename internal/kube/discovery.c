#include "kube/discovery.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/array.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

typedef struct entry {
	kube_resource_info info;
	bool preferred;
} entry;

struct kube_discovery {
	kube_client *client;
	long min_refresh_ms;
	pthread_mutex_t lock;
	entry *entries;
	size_t n;
	bool loaded;
	long long last_refresh_ms;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kube_gvr kube_resource_info_gvr(const kube_resource_info *info)
{
	kube_gvr g = { info->group, info->version, info->resource };
	return g;
}

int kube_discovery_new(kube_discovery **out, kube_client *client, long min_refresh_ms)
{
	kube_discovery *d = calloc(1, sizeof(*d));
	if (!d)
		return dhg_error_set(DHG_ENOMEM, "kube discovery: out of memory");
	d->client = client;
	d->min_refresh_ms = min_refresh_ms > 0 ? min_refresh_ms : 2000;
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

void kube_discovery_free(kube_discovery *d)
{
	if (!d)
		return;
	free(d->entries);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

typedef struct vec {
	entry *e;
	size_t n, cap;
} vec;

static int vec_push(vec *v, const entry *e)
{
	if (dhg_array_reserve((void **)&v->e, &v->cap, v->n + 1, sizeof(*v->e)) < 0)
		return dhg_error_set(DHG_ENOMEM, "kube discovery: out of memory");
	v->e[v->n++] = *e;
	return 0;
}

/* Reads one group-version's resource list into v. */
static int load_gv(vec *v, kube_client *c, const char *group, const char *version, bool preferred)
{
	char path[600];
	json_t *list = NULL;
	if (*group)
		snprintf(path, sizeof(path), "/apis/%s/%s", group, version);
	else
		snprintf(path, sizeof(path), "/api/%s", version);
	int error = kube_client_request(&list, c, "GET", path, NULL, NULL);
	if (error < 0)
		return error;
	json_t *res = json_object_get(list, "resources");
	size_t i;
	json_t *r;
	/* first pass: main resources */
	size_t start = v->n;
	json_array_foreach(res, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!name || !kind || strchr(name, '/'))
			continue;
		entry e;
		memset(&e, 0, sizeof(e));
		snprintf(e.info.group, sizeof(e.info.group), "%s", group);
		snprintf(e.info.version, sizeof(e.info.version), "%s", version);
		snprintf(e.info.kind, sizeof(e.info.kind), "%s", kind);
		snprintf(e.info.resource, sizeof(e.info.resource), "%s", name);
		e.info.namespaced = json_is_true(json_object_get(r, "namespaced"));
		e.preferred = preferred;
		if ((error = vec_push(v, &e)) < 0)
			goto done;
	}
	/* second pass: status subresources */
	json_array_foreach(res, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *slash = name ? strchr(name, '/') : NULL;
		if (!slash || strcmp(slash, "/status") != 0)
			continue;
		for (size_t j = start; j < v->n; j++)
			if (strncmp(v->e[j].info.resource, name, (size_t)(slash - name)) == 0 &&
			    v->e[j].info.resource[slash - name] == 0)
				v->e[j].info.has_status = true;
	}
done:
	json_decref(list);
	return error;
}

static int do_refresh(kube_discovery *d)
{
	vec v = { NULL, 0, 0 };
	json_t *api = NULL, *apis = NULL;
	int error = kube_client_request(&api, d->client, "GET", "/api", NULL, NULL);
	if (error < 0)
		goto done;
	if ((error = kube_client_request(&apis, d->client, "GET", "/apis", NULL, NULL)) < 0)
		goto done;
	size_t i, j;
	json_t *x, *y;
	json_array_foreach(json_object_get(api, "versions"), i, x) {
		const char *ver = json_string_value(x);
		if (ver && (error = load_gv(&v, d->client, "", ver, i == 0)) < 0)
			goto done;
	}
	json_array_foreach(json_object_get(apis, "groups"), i, x) {
		const char *group = json_string_value(json_object_get(x, "name"));
		const char *pref = json_string_value(json_object_get(json_object_get(x, "preferredVersion"), "version"));
		if (!group)
			continue;
		json_array_foreach(json_object_get(x, "versions"), j, y) {
			const char *ver = json_string_value(json_object_get(y, "version"));
			if (!ver)
				continue;
			bool preferred = pref ? strcmp(pref, ver) == 0 : j == 0;
			int e2 = load_gv(&v, d->client, group, ver, preferred);
			if (e2 == DHG_ENOMEM) {
				error = e2;
				goto done;
			}
			if (e2 < 0) {
				/* partial discovery (client-go): an unavailable group does not hide the rest */
				DHG_LOG_WARN("kube discovery: group version unavailable", "group", group, "version", ver,
				             "error", dhg_error_last()->message);
				dhg_error_clear();
			}
		}
	}
	free(d->entries);
	d->entries = v.e;
	d->n = v.n;
	v.e = NULL;
	d->loaded = true;
	d->last_refresh_ms = mono_ms();
done:
	free(v.e);
	json_decref(api);
	json_decref(apis);
	if (error < 0)
		dhg_error_wrap("kube discovery");
	return error;
}

int kube_discovery_refresh(kube_discovery *d)
{
	pthread_mutex_lock(&d->lock);
	int error = do_refresh(d);
	pthread_mutex_unlock(&d->lock);
	return error;
}

typedef bool (*match_fn)(const entry *e, const void *arg);

typedef struct kind_q {
	const char *group, *version, *kind;
} kind_q;

static bool match_kind(const entry *e, const void *arg)
{
	const kind_q *q = arg;
	return strcmp(e->info.group, q->group) == 0 && strcmp(e->info.version, q->version) == 0 &&
	       strcmp(e->info.kind, q->kind) == 0;
}

typedef struct res_q {
	const char *group, *version, *resource;
} res_q;

static bool match_res(const entry *e, const void *arg)
{
	const res_q *q = arg;
	if (strcmp(e->info.group, q->group) != 0 || strcmp(e->info.resource, q->resource) != 0)
		return false;
	return q->version && *q->version ? strcmp(e->info.version, q->version) == 0 : e->preferred;
}

static int lookup(kube_resource_info *out, kube_discovery *d, match_fn fn, const void *arg, const char *what)
{
	int error = 0;
	pthread_mutex_lock(&d->lock);
	for (int round = 0; round < 2; round++) {
		if (!d->loaded || round == 1) {
			if (round == 1 && mono_ms() - d->last_refresh_ms < d->min_refresh_ms)
				break;
			if ((error = do_refresh(d)) < 0)
				goto done;
		}
		for (size_t i = 0; i < d->n; i++) {
			if (fn(&d->entries[i], arg)) {
				*out = d->entries[i].info;
				goto done;
			}
		}
	}
	error = dhg_error_set(DHG_ENOTFOUND, "kube discovery: %s is not served by the API server", what);
done:
	pthread_mutex_unlock(&d->lock);
	return error;
}

int kube_discovery_lookup_kind(kube_resource_info *out, kube_discovery *d, const char *api_version, const char *kind)
{
	char group[254] = "", version[64];
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	if (!api_version || !*api_version || !kind || !*kind)
		return dhg_error_set(DHG_EINVALID, "kube discovery: apiVersion and kind are required");
	if (slash) {
		size_t gl = (size_t)(slash - api_version);
		if (gl >= sizeof(group))
			return dhg_error_set(DHG_EINVALID, "kube discovery: apiVersion \"%.100s\" too long", api_version);
		memcpy(group, api_version, gl);
		group[gl] = 0;
		snprintf(version, sizeof(version), "%s", slash + 1);
	} else {
		snprintf(version, sizeof(version), "%s", api_version);
	}
	kind_q q = { group, version, kind };
	char what[400];
	snprintf(what, sizeof(what), "kind %s (%s)", kind, api_version);
	return lookup(out, d, match_kind, &q, what);
}

int kube_discovery_lookup_resource(kube_resource_info *out, kube_discovery *d, const char *group,
                                   const char *version, const char *resource)
{
	if (!resource || !*resource)
		return dhg_error_set(DHG_EINVALID, "kube discovery: resource is required");
	res_q q = { group ? group : "", version, resource };
	char what[400];
	snprintf(what, sizeof(what), "resource %s%s%s", resource, group && *group ? "." : "", group ? group : "");
	return lookup(out, d, match_res, &q, what);
}
