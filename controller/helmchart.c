#include "controller/controller_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/object.h"
#include "runtime/rbac.h"
#include "runtime/workqueue.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

const kube_gvr controller__hc_gvr = { "dhg.deckhouse.io", "v1alpha1", "helmcharts" };

/* The controller's own API calls besides the watched kinds (keep in step with the code). */
static const rt_rbac_rule controller_rules[] = {
	{ "dhg.deckhouse.io", "helmcharts", "get,list,watch", RT_RBAC_WATCHED, "helmchart.c: HelmChart informers" },
	{ "dhg.deckhouse.io", "helmcharts/status", "patch", RT_RBAC_WATCHED, "reconcile.c: patch_status (merge patch)" },
};

static int rule_json(json_t *arr, const char *group, const char *resource, const char *verbs, rt_rbac_scope scope,
		     const char *why)
{
	json_t *r = json_pack("{s:s, s:s, s:[], s:s, s:b, s:s}", "apiGroup", group, "resource", resource, "verbs",
			      "scope", scope == RT_RBAC_LEADER_ELECTION ? "leader-election-namespace" : "watched-namespaces",
			      "namespaced", 1, "why", why);
	json_t *v = json_object_get(r, "verbs");
	const char *p = verbs;
	if (!r)
		return dhg_error_set(DHG_ENOMEM, "out of memory building RBAC rules");
	while (*p) {
		size_t n = strcspn(p, ",");
		if (json_array_append_new(v, json_stringn(p, n)) < 0) {
			json_decref(r);
			return dhg_error_set(DHG_ENOMEM, "out of memory building RBAC rules");
		}
		p += n + (p[n] == ',');
	}
	if (json_array_append_new(arr, r) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory building RBAC rules");
	return 0;
}

int controller_rbac_rules(json_t **out)
{
	json_t *arr = json_array();
	const rt_rbac_rule *extra[] = { &controller_rules[0], &controller_rules[1], &rt_rbac_rule_events,
					&rt_rbac_rule_leases };
	int error = 0;
	*out = NULL;
	if (!arr)
		return dhg_error_set(DHG_ENOMEM, "out of memory building RBAC rules");
	/* informers (list, watch), the startup probe (list), secretRef reads (get on secrets) */
	for (int k = 0; hc_kinds[k].kind && error == 0; k++)
		error = rule_json(arr, hc_kinds[k].group, hc_kinds[k].resource, "get,list,watch", RT_RBAC_WATCHED,
				  "spec.c: hc_kinds (informers, probe; reconcile.c: secretRef get)");
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]) && error == 0; i++)
		error = rule_json(arr, extra[i]->group, extra[i]->resource, extra[i]->verbs, extra[i]->scope, extra[i]->why);
	if (error < 0) {
		json_decref(arr);
		return error;
	}
	*out = arr;
	return 0;
}

#define RECONCILE_ANNOTATION "dhg.deckhouse.io/reconcile-requested-at"

kube_informer *controller__hc_informer_for(controller_helmchart *c, const char *ns)
{
	if (!c->opts.nwatch)
		return c->hc_inf[0];
	for (size_t i = 0; i < c->nhc; i++)
		if (strcmp(c->watch[i], ns) == 0)
			return c->hc_inf[i];
	return NULL;
}

static controller__objinf *objinf_for(controller_helmchart *c, int kind, const char *ns)
{
	for (size_t i = 0; i < c->nobjs; i++) {
		controller__objinf *o = &c->objs[i];
		if (o->kind == kind && (!o->ns || (ns && strcmp(o->ns, ns) == 0)))
			return o;
	}
	return NULL;
}

kube_informer *controller__informer_for(controller_helmchart *c, int kind, const char *ns)
{
	controller__objinf *o = objinf_for(c, kind, ns);
	return o ? o->inf : NULL;
}

/* Starts o's informer unless it runs already. Returns 0 or < 0. */
static int objinf_start(controller_helmchart *c, controller__objinf *o)
{
	int error = 0;
	if (atomic_load(&o->started))
		return 0;
	pthread_mutex_lock(&c->inf_mu);
	if (c->inf_stopped) {
		error = dhg_error_set(DHG_EUNAVAILABLE, "stopping: informer for %s not started", hc_kinds[o->kind].resource);
	} else if (!atomic_load(&o->started)) {
		if ((error = kube_informer_start(o->inf)) < 0) {
			dhg_error_wrap("starting the %s informer", hc_kinds[o->kind].resource);
		} else {
			o->started_ms = rt_now_ms();
			atomic_store(&o->started, true);
			DHG_LOG_INFO("informer started (first HelmChart selecting it)", "kind", hc_kinds[o->kind].kind,
				     "namespace", o->ns ? o->ns : "(all)");
		}
	}
	pthread_mutex_unlock(&c->inf_mu);
	return error;
}

int controller__informers_ensure(bool *synced, controller_helmchart *c, const hc_spec *s)
{
	int error = 0;
	*synced = true;
	for (size_t n = 0; n < s->nnamespaces; n++)
		for (int k = 0; hc_kinds[k].kind; k++) {
			controller__objinf *o;
			if (!s->kind_enabled[k] || !(o = objinf_for(c, k, s->namespaces[n])))
				continue;
			if ((error = objinf_start(c, o)) < 0)
				return error;
			if (kube_informer_has_synced(o->inf))
				continue;
			*synced = false;
			if (rt_now_ms() - o->started_ms > CONTROLLER_INFORMER_SYNC_TIMEOUT_MS)
				return dhg_error_set(DHG_ETIMEOUT, "the cache of %s%s%s has not synced %d s after its start",
						     hc_kinds[k].resource, o->ns ? " in " : "", o->ns ? o->ns : "",
						     CONTROLLER_INFORMER_SYNC_TIMEOUT_MS / 1000);
		}
	return 0;
}

/* Stops the object informers that were started; none starts afterwards. */
static void objinfs_stop(controller_helmchart *c)
{
	pthread_mutex_lock(&c->inf_mu);
	c->inf_stopped = true;
	pthread_mutex_unlock(&c->inf_mu);
	for (size_t i = c->nobjs; i-- > 0;) /* all asked first: they wind down together */
		if (atomic_load(&c->objs[i].started))
			kube_informer_cancel(c->objs[i].inf);
	for (size_t i = c->nobjs; i-- > 0;)
		if (atomic_load(&c->objs[i].started))
			kube_informer_stop(c->objs[i].inf);
}

static void hc_key(char *buf, size_t size, const json_t *obj)
{
	snprintf(buf, size, "%s/%s", kube_object_namespace(obj), kube_object_name(obj));
}

static hc_spec_policy policy_of(controller_helmchart *c)
{
	hc_spec_policy p = { c->opts.allow_cross_namespace, (const char *const *)c->watch, c->opts.nwatch,
			     c->opts.default_debounce_ms, c->output_root != NULL };
	return p;
}

/* Keeps the index in step with a HelmChart (invalid specs are not indexed). */
static void index_helmchart(controller_helmchart *c, const json_t *hc)
{
	char key[512];
	hc_spec s;
	hc_spec_policy p = policy_of(c);
	int error = 0;
	hc_key(key, sizeof(key), hc);
	/* Out of memory, try again a few times: a HelmChart left out of the index (or with its old
	 * entry) would not hear of changes of the objects it selects. */
	for (int i = 0; i < 6; i++) {
		if (i) {
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
		if ((error = hc_spec_parse(&s, hc, &p)) < 0) {
			if (error == DHG_ENOMEM)
				continue;
			hc_index_remove(c->ix, key);
			return;
		}
		error = hc_index_set_take(c->ix, key, &s);
		hc_spec_dispose(&s);
		if (error != DHG_ENOMEM)
			break;
	}
	if (error < 0)
		DHG_LOG_ERROR("cannot index HelmChart", "key", key, "error", dhg_error_last()->message);
}

/* ---- HelmChart events ---- */

static void hc_on_add(json_t *obj, void *payload)
{
	controller_helmchart *c = payload;
	char key[512];
	hc_key(key, sizeof(key), obj);
	index_helmchart(c, obj);
	rt_workqueue_add(c->q, key);
}

static const char *annotation(const json_t *obj, const char *k)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), k));
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void hc_on_update(json_t *old_obj, json_t *new_obj, void *payload)
{
	controller_helmchart *c = payload;
	char key[512];
	json_int_t g0 = json_integer_value(json_object_get(json_object_get(old_obj, "metadata"), "generation"));
	json_int_t g1 = json_integer_value(json_object_get(json_object_get(new_obj, "metadata"), "generation"));
	/* Our own status patches change neither; ignore them (no reconcile loop). */
	if (g0 == g1 && str_eq(annotation(old_obj, RECONCILE_ANNOTATION), annotation(new_obj, RECONCILE_ANNOTATION)))
		return;
	hc_key(key, sizeof(key), new_obj);
	index_helmchart(c, new_obj);
	rt_workqueue_add(c->q, key);
}

static void hc_on_delete(json_t *obj, void *payload)
{
	controller_helmchart *c = payload;
	char key[512];
	hc_key(key, sizeof(key), obj);
	hc_index_remove(c->ix, key);
	rt_workqueue_cancel_delayed(c->q, key);
	rt_workqueue_forget(c->q, key);
	pthread_mutex_lock(&c->written_mu);
	free(rt__strmap_del(&c->written, key));
	pthread_mutex_unlock(&c->written_mu);
	metrics_series_delete(c->m_last_write, key);
	DHG_LOG_INFO("HelmChart deleted; its work stops, written charts are kept", "key", key);
}

/* ---- cluster object events ---- */

static void enqueue_cb(const char *key, long long debounce_ms, void *payload)
{
	controller_helmchart *c = payload;
	rt_workqueue_add_after(c->q, key, debounce_ms);
	metrics_counter_add(c->m_events_mapped, NULL, 1);
}

static void obj_on_add(json_t *obj, void *payload)
{
	controller__objinf *o = payload;
	/* The initial list of an informer started on demand maps to nobody new: every HelmChart
	 * selecting this kind here reconciles after the sync anyway (it started the informer, or
	 * is waiting for it, or is queued). Mapping its thousands of adds would only reconcile
	 * those HelmCharts a second time. Adds after the sync (watch, relist) are mapped. */
	if (!kube_informer_has_synced(o->inf))
		return;
	hc_index_match(o->c->ix, obj, o->kind, enqueue_cb, o->c);
}

static void obj_on_update(json_t *old_obj, json_t *new_obj, void *payload)
{
	controller__objinf *o = payload;
	if (!hc_object_changed(old_obj, new_obj))
		return; /* status-only or no-op update */
	hc_index_match(o->c->ix, old_obj, o->kind, enqueue_cb, o->c);
	hc_index_match(o->c->ix, new_obj, o->kind, enqueue_cb, o->c);
}

static void obj_on_delete(json_t *obj, void *payload)
{
	controller__objinf *o = payload;
	hc_index_match(o->c->ix, obj, o->kind, enqueue_cb, o->c);
}

/* ---- sources for the manager ---- */

static int src_start(void *p)
{
	return kube_informer_start(p);
}
static bool src_synced(void *p)
{
	return kube_informer_has_synced(p);
}
static void src_stop(void *p)
{
	kube_informer_stop(p);
}

static int new_informer(controller_helmchart *c, kube_informer **out, const kube_gvr *gvr, const char *ns,
			kube_informer_handlers h)
{
	kube_informer_options o = KUBE_INFORMER_OPTIONS_INIT;
	o.gvr = *gvr;
	o.namespace_ = ns;
	o.resync_ms = c->opts.resync_ms;
	o.handlers = h;
	return kube_informer_new(out, c->client, &o);
}

/* A HelmChart informer: a manager source (started with the manager, part of readiness). */
static int add_informer(controller_helmchart *c, kube_informer **out, const kube_gvr *gvr, const char *ns,
			kube_informer_handlers h, const char *name)
{
	rt_source src = { name, src_start, src_synced, src_stop, NULL };
	int error;
	if ((error = new_informer(c, out, gvr, ns, h)) < 0)
		return error;
	src.payload = *out;
	return rt_manager_add_source(c->mgr, &src);
}

enum { PROBE_SERVED, PROBE_NOT_SERVED, PROBE_FORBIDDEN };

/* Can this replica list the resource (in ns, or all namespaces when ns is NULL)? A 1-item
 * list: 404 -> the API server does not serve it; 403 -> RBAC does not let us list it (e.g. the
 * chart's rbac.readSecrets=false). Both are skipped instead of an informer that never syncs. */
static int probe(controller_helmchart *c, const hc_kind *k, const char *ns)
{
	kube_gvr g = { k->group, k->version, k->resource };
	char *path = kube_client_path(&g, ns, NULL, NULL), *full;
	json_t *out = NULL;
	int error;
	if (!path)
		return PROBE_SERVED;
	full = dhg_asprintf("%s?limit=1", path);
	free(path);
	if (!full)
		return PROBE_SERVED;
	error = kube_client_request(&out, c->client, "GET", full, NULL, NULL);
	free(full);
	json_decref(out);
	if (error == DHG_ENOTFOUND || error == DHG_EFORBIDDEN) {
		dhg_error_clear();
		return error == DHG_ENOTFOUND ? PROBE_NOT_SERVED : PROBE_FORBIDDEN;
	}
	return PROBE_SERVED; /* served (or unknown: let the informer retry) */
}

/* ---- metrics ---- */

static int collect(dhg_buf *b, void *payload)
{
	controller_helmchart *c = payload;
	rt_workqueue_stats st;
	unsigned long watches = 0, relists = 0, gone = 0, objects = 0;
	unsigned started[HC_MAX_KINDS] = { 0 };
	bool has[HC_MAX_KINDS] = { false };
	int error;
	rt_workqueue_stats_get(&st, c->q);
	for (size_t i = 0; i < c->nobjs + c->nhc; i++) {
		kube_informer *inf = i < c->nobjs ? c->objs[i].inf : c->hc_inf[i - c->nobjs];
		kube_informer_stats s;
		if (!inf)
			continue;
		if (i < c->nobjs) {
			has[c->objs[i].kind] = true;
			if (!atomic_load(&c->objs[i].started))
				continue; /* created, never started: nothing cached */
			started[c->objs[i].kind]++;
		}
		kube_informer_stats_get(&s, inf);
		watches += s.watches;
		relists += s.lists ? s.lists - 1 : 0;
		gone += s.relists_gone;
		objects += kube_informer_count(inf);
	}
	error = dhg_buf_printf(b,
			      "# HELP dhg_workqueue_depth Keys waiting for a worker.\n# TYPE dhg_workqueue_depth gauge\n"
			      "dhg_workqueue_depth %zu\n"
			      "# HELP dhg_workqueue_delayed Keys waiting for a debounce/requeue deadline.\n# TYPE dhg_workqueue_delayed gauge\n"
			      "dhg_workqueue_delayed %zu\n"
			      "# HELP dhg_workqueue_adds_total Keys added to the ready queue.\n# TYPE dhg_workqueue_adds_total counter\n"
			      "dhg_workqueue_adds_total %llu\n"
			      "# HELP dhg_workqueue_retries_total Rate-limited re-adds after failures.\n# TYPE dhg_workqueue_retries_total counter\n"
			      "dhg_workqueue_retries_total %llu\n"
			      "# HELP dhg_watch_restarts_total Watch requests started by the informers.\n# TYPE dhg_watch_restarts_total counter\n"
			      "dhg_watch_restarts_total %lu\n"
			      "# HELP dhg_relists_total Full relists after the initial list (410 Gone included).\n# TYPE dhg_relists_total counter\n"
			      "dhg_relists_total %lu\n"
			      "# HELP dhg_relists_gone_total Relists caused by 410 Gone.\n# TYPE dhg_relists_gone_total counter\n"
			      "dhg_relists_gone_total %lu\n"
			      "# HELP dhg_cached_objects Objects held in the informer caches.\n# TYPE dhg_cached_objects gauge\n"
			      "dhg_cached_objects %lu\n",
			      st.depth, st.delayed, (unsigned long long)st.adds, (unsigned long long)st.retries, watches,
			      relists, gone, objects);
	if (error < 0)
		return error;
	error = dhg_buf_printf(b, "# HELP dhg_informers_started Running informers by resource (object kinds start when "
				  "a HelmChart first selects them).\n# TYPE dhg_informers_started gauge\n"
				  "dhg_informers_started{resource=\"helmcharts\"} %zu\n", c->nhc);
	for (int k = 0; hc_kinds[k].kind && error == 0; k++)
		if (has[k])
			error = dhg_buf_printf(b, "dhg_informers_started{resource=\"%s\"} %u\n", hc_kinds[k].resource,
					       started[k]);
	return error;
}

static void on_result(void *payload, const char *key, int error, long long us)
{
	controller_helmchart *c = payload;
	(void)key;
	metrics_counter_add(c->m_total, error == 0 ? "success" : error == DHG_ETERMINAL ? "terminal" : "error", 1);
	metrics_histogram_observe(c->m_duration, NULL, (double)us / 1e6);
}

/* ---- lifecycle ---- */

int controller_helmchart_new(controller_helmchart **out, const controller_options *opts)
{
	controller_helmchart *c = calloc(1, sizeof(*c));
	rt_manager_options mo = RT_MANAGER_OPTIONS_INIT;
	rt_event_sink sink;
	int error = 0;

	*out = NULL;
	if (!c)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating the controller");
	pthread_mutex_init(&c->written_mu, NULL);
	pthread_mutex_init(&c->inf_mu, NULL);
	c->opts = *opts;
	c->client = opts->client;
	if (opts->nwatch > CONTROLLER_MAX_WATCH_NAMESPACES) {
		error = dhg_error_set(DHG_EINVALID, "--watch-namespace: at most %d namespaces", CONTROLLER_MAX_WATCH_NAMESPACES);
		goto done;
	}
	for (size_t i = 0; i < opts->nwatch; i++)
		if (!(c->watch[i] = dhg_strdup(opts->watch_namespaces[i]))) {
			error = DHG_ENOMEM;
			goto done;
		}
	c->opts.watch_namespaces = NULL;
	c->work_dir = dhg_strdup(opts->work_dir ? opts->work_dir : "/tmp/dhg-operator");
	if (!c->work_dir) {
		error = DHG_ENOMEM;
		goto done;
	}
	c->opts.work_dir = c->work_dir;
	if (opts->output_root) {
		if ((error = output_local_init(&c->local, opts->output_root)) < 0)
			goto done;
		c->output_root = c->local.root;
	}
	c->opts.output_root = c->output_root;
	if ((error = hc_index_new(&c->ix)) < 0)
		goto done;
	sink = rt_event_sink_kube(c->client);
	if ((error = rt_recorder_new(&c->rec, "dhg-operator", &sink)) < 0)
		goto done;
	mo.workers = opts->concurrency > 0 ? opts->concurrency : 4;
	mo.reconcile = controller__reconcile;
	mo.payload = c;
	mo.leader = opts->leader;
	mo.on_result = on_result;
	if ((error = rt_manager_new(&c->mgr, &mo)) < 0)
		goto done;
	c->q = rt_manager_queue(c->mgr);

	if (opts->metrics) {
		static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
		c->m_total = metrics_counter_new(opts->metrics, "dhg_reconcile_total", "HelmChart reconciles by result (success, error, terminal).", "result");
		c->m_duration = metrics_histogram_new(opts->metrics, "dhg_reconcile_duration_seconds", "Duration of HelmChart reconciles.", NULL, buckets, sizeof(buckets) / sizeof(buckets[0]));
		c->m_writes = metrics_counter_new(opts->metrics, "dhg_chart_writes_total", "Charts written, by output (git, oci, local).", "output");
		c->m_last_write = metrics_gauge_new(opts->metrics, "dhg_chart_last_write_timestamp_seconds", "Unix time of the last successful chart write, per HelmChart.", "helmchart");
		c->m_events_mapped = metrics_counter_new(opts->metrics, "dhg_object_events_mapped_total", "Object events that enqueued a HelmChart.", NULL);
		metrics_registry_add_collector(opts->metrics, collect, c);
		metrics_registry_add_collector(opts->metrics, metrics_collect_process, NULL);
	}

	{
		kube_informer_handlers h = { hc_on_add, hc_on_update, hc_on_delete, NULL, NULL, c };
		/* HelmChart informers: all namespaces, or one per watched namespace */
		size_t n = c->opts.nwatch ? c->opts.nwatch : 1;
		for (size_t i = 0; i < n; i++) {
			if ((error = add_informer(c, &c->hc_inf[i], &controller__hc_gvr, c->opts.nwatch ? c->watch[i] : NULL, h,
						  "helmcharts")) < 0)
				goto done;
			c->nhc++;
		}
	}
	for (int k = 0; hc_kinds[k].kind; k++) {
		const hc_kind *kd = &hc_kinds[k];
		kube_gvr g = { kd->group, kd->version, kd->resource };
		size_t nns = c->opts.nwatch ? c->opts.nwatch : 1;
		for (size_t n = 0; n < nns; n++) {
			controller__objinf *o = &c->objs[c->nobjs];
			kube_informer_handlers h = { obj_on_add, obj_on_update, obj_on_delete, NULL, NULL, o };
			char *ns = c->opts.nwatch ? c->watch[n] : NULL;
			int pr = probe(c, kd, ns);
			if (pr == PROBE_NOT_SERVED) {
				DHG_LOG_WARN("kind not served by the API server; skipped", "kind", kd->kind);
				break;
			}
			if (pr == PROBE_FORBIDDEN) {
				DHG_LOG_WARN("kind forbidden (RBAC: cannot list); skipped, HelmCharts get no objects of it",
					     "kind", kd->kind, "namespace", ns ? ns : "(all)");
				c->kind_forbidden[k] = true;
				continue;
			}
			c->kind_served[k] = true;
			o->c = c;
			o->kind = k;
			o->ns = ns;
			atomic_init(&o->started, false);
			/* created, not started: the first reconcile of a HelmChart selecting it starts it */
			if ((error = new_informer(c, &o->inf, &g, o->ns, h)) < 0)
				goto done;
			c->nobjs++;
		}
	}
	*out = c;
	c = NULL;
done:
	controller_helmchart_free(c);
	return error;
}

int controller_helmchart_run(controller_helmchart *c)
{
	/* The manager runs the HelmChart informers and the workers; the workers start object
	 * informers as HelmCharts need them. They are stopped once the workers have finished. */
	int error = rt_manager_run(c->mgr);
	objinfs_stop(c);
	return error;
}

void controller_helmchart_stop(controller_helmchart *c)
{
	rt_manager_stop(c->mgr);
}

bool controller_helmchart_ready(controller_helmchart *c)
{
	return c && rt_manager_synced(c->mgr);
}

/* Enqueues the HelmCharts in `all` whose spec.source.git.url matches one of `urls`. */
static int push_match(controller_helmchart *c, const json_t *all, const json_t *urls)
{
	json_t *hc, *x;
	size_t i, j;
	int n = 0;
	char canon[2048], want[2048], key[512];
	json_array_foreach(all, i, hc) {
		const json_t *git = json_object_get(json_object_get(json_object_get(hc, "spec"), "source"), "git");
		const char *u = json_string_value(json_object_get(git, "url"));
		if (!u)
			continue;
		hc_git_url_canon(canon, sizeof(canon), u);
		json_array_foreach(urls, j, x) {
			hc_git_url_canon(want, sizeof(want), json_string_value(x));
			if (*want && strcmp(want, canon) == 0) {
				hc_key(key, sizeof(key), hc);
				rt_workqueue_add(c->q, key);
				DHG_LOG_INFO("webhook: reconcile requested", "key", key);
				n++;
				break;
			}
		}
	}
	return n;
}

int controller_helmchart_push(controller_helmchart *c, const json_t *urls)
{
	int n = 0;
	for (size_t h = 0; h < c->nhc; h++) {
		json_t *all = NULL;
		if (kube_informer_list(&all, c->hc_inf[h], NULL, NULL) < 0)
			continue;
		n += push_match(c, all, urls);
		json_decref(all);
	}
	return n;
}

static void free_written(const char *k, void *v, void *p)
{
	(void)k;
	(void)p;
	free(v);
}

void controller_helmchart_free(controller_helmchart *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nobjs; i++)
		kube_informer_free(c->objs[i].inf);
	for (size_t i = 0; i < c->nhc; i++)
		kube_informer_free(c->hc_inf[i]);
	rt_manager_free(c->mgr);
	rt_recorder_free(c->rec);
	hc_index_free(c->ix);
	rt__strmap_each(&c->written, free_written, NULL);
	rt__strmap_dispose(&c->written);
	pthread_mutex_destroy(&c->written_mu);
	pthread_mutex_destroy(&c->inf_mu);
	for (size_t i = 0; i < CONTROLLER_MAX_WATCH_NAMESPACES; i++)
		free(c->watch[i]);
	free(c->work_dir);
	free(c);
}
