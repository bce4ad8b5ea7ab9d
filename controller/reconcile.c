/*
 * The HelmChart reconciler: an ordered list of steps that stops at the first error and
 * always patches status on the way out (Flux's deferred patch).
 *
 *   load -> validate spec -> suspend? -> caches (start the selected kinds' informers; not
 *   synced yet: requeue in CACHE_WAIT_MS, nothing patched) -> resolve source -> generate ->
 *   compare digest -> write outputs (only on a difference) -> [always] status patch + Event +
 *   one log line
 */
#include "controller/controller_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "kube/object.h"
#include "output/git/gitout.h"
#include "runtime/conditions.h"
#include "runtime/workqueue.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

#define RECONCILE_ANNOTATION "dhg.deckhouse.io/reconcile-requested-at"

/* Requeue delay while the informers a HelmChart needs are still listing. */
#define CACHE_WAIT_MS 150

static const kube_gvr SECRET_GVR = { "", "v1", "secrets" };

typedef struct rctx {
	controller_helmchart *c;
	const char *key;
	char ns[256], name[256];
	json_t *hc;          /* cached HelmChart (shared, read-only) */
	const json_t *old_status;
	hc_spec spec;
	bool spec_ok;
	/* outcome */
	int kind;            /* RT_STATUS_* */
	const char *reason;
	char message[1024];
	const char *event_type, *event_reason; /* NULL: no event */
	char event_message[256];               /* "": the Event says `message` */
	int error;
	/* what was computed / written */
	char version[128];
	char digest[DHG_DIGEST_STR_SIZE];
	long resource_count;
	int wrote;
	json_t *outputs;     /* status sections: {git:{..}, oci:{..}, local:{..}} */
	engine_chart *chart;
} rctx;

static void set_outcome(rctx *r, int kind, const char *reason, const char *ev_type, const char *ev_reason,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void set_outcome(rctx *r, int kind, const char *reason, const char *ev_type, const char *ev_reason,
			const char *fmt, ...)
{
	va_list ap;
	r->kind = kind;
	r->reason = reason;
	r->event_type = ev_type;
	r->event_reason = ev_reason;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* ---- step: secrets (HelmChart's namespace only) ---- */

static int read_secret(json_t **data, rctx *r, const char *name, const char *field)
{
	json_t *sec = NULL;
	int error;
	*data = NULL;
	if (!name)
		return 0;
	error = kube_client_get(&sec, r->c->client, &SECRET_GVR, r->ns, name);
	if (error == DHG_ENOTFOUND)
		return dhg_error_set(DHG_ENOTFOUND, "%s: Secret %s/%s not found", field, r->ns, name);
	if (error == DHG_EFORBIDDEN)
		return dhg_error_set(DHG_EFORBIDDEN,
				     "%s: cannot read Secret %s/%s: forbidden (the operator's RBAC does not allow get on "
				     "secrets in namespace %s; with the Helm chart set rbac.readSecrets=true)",
				     field, r->ns, name, r->ns);
	if (error < 0)
		return dhg_error_wrap("%s: reading Secret %s/%s", field, r->ns, name);
	*data = json_incref(json_object_get(sec, "data"));
	if (!*data)
		*data = json_object();
	json_decref(sec);
	return 0;
}

/* ---- step: resolve the source into objects ---- */

static bool excluded(const hc_spec *s, const char *kind, const char *name, const char *ns)
{
	for (size_t i = 0; i < s->nexcludes; i++)
		if (strcmp(s->excludes[i].kind, kind) == 0 && strcmp(s->excludes[i].name, name) == 0 &&
		    (!s->excludes[i].ns || strcmp(s->excludes[i].ns, ns) == 0))
			return true;
	return false;
}

/* Lists the selected objects from the caches into `sel` (shared, read-only references) and
 * computes a fingerprint of the inputs: every object's kind, namespace, name, uid and
 * resourceVersion, in a fixed order. */
static int select_cluster(json_t *sel, char fp[DHG_DIGEST_STR_SIZE], rctx *r)
{
	dhg_sha256 *h = NULL;
	int error = 0;
	if ((error = dhg_sha256_new(&h)) < 0)
		return error;
	for (size_t n = 0; n < r->spec.nnamespaces; n++) {
		const char *ns = r->spec.namespaces[n];
		for (int k = 0; hc_kinds[k].kind; k++) {
			json_t *arr = NULL, *o;
			size_t i;
			kube_informer *inf;
			if (!r->spec.kind_enabled[k] || !(inf = controller__informer_for(r->c, k, ns)))
				continue;
			if (kube_informer_list(&arr, inf, ns, r->spec.selector) < 0) {
				error = dhg_error_wrap("listing %s in %s from the cache", hc_kinds[k].resource, ns);
				goto done;
			}
			json_array_foreach(arr, i, o) {
				if (excluded(&r->spec, hc_kinds[k].kind, kube_object_name(o), ns))
					continue;
				json_t *pair = json_pack("[i, O]", k, o);
				if (!pair || json_array_append_new(sel, pair) < 0) {
					json_decref(arr);
					error = dhg_error_set(DHG_ENOMEM, "out of memory selecting objects");
					goto done;
				}
				const char *parts[5] = { hc_kinds[k].kind, ns, kube_object_name(o), kube_object_uid(o),
							 kube_object_resource_version(o) };
				for (int p = 0; p < 5; p++)
					dhg_sha256_update(h, parts[p], strlen(parts[p]) + 1);
			}
			json_decref(arr);
		}
	}
	error = dhg_sha256_final_str(fp, h);
done:
	dhg_sha256_free(h);
	return error;
}

/* The state of the caches select_cluster() reads, for this spec and last version, without
 * reading them: while it is unchanged the selection and so its fingerprint are unchanged. */
static int caches_state(char out[DHG_DIGEST_STR_SIZE], rctx *r, const char *last_version)
{
	char buf[64];
	dhg_sha256 *h = NULL;
	int error;

	if ((error = dhg_sha256_new(&h)) < 0)
		return error;
	for (size_t n = 0; n < r->spec.nnamespaces; n++)
		for (int k = 0; hc_kinds[k].kind; k++) {
			kube_informer *inf;
			if (!r->spec.kind_enabled[k] || !(inf = controller__informer_for(r->c, k, r->spec.namespaces[n])))
				continue;
			snprintf(buf, sizeof(buf), "%d|%lu", k, kube_informer_changes(inf));
			dhg_sha256_update(h, r->spec.namespaces[n], strlen(r->spec.namespaces[n]) + 1);
			dhg_sha256_update(h, buf, strlen(buf) + 1);
		}
	snprintf(buf, sizeof(buf), "%lld", r->spec.generation);
	dhg_sha256_update(h, buf, strlen(buf) + 1);
	dhg_sha256_update(h, last_version, strlen(last_version) + 1);
	error = dhg_sha256_final_str(out, h);
	dhg_sha256_free(h);
	return error;
}

/* Deep copies of the selected objects (the engine modifies what it is given). */
static int copy_selected(engine_objects *objs, const json_t *sel)
{
	size_t i;
	json_t *pair;
	json_array_foreach(sel, i, pair) {
		int k = (int)json_integer_value(json_array_get(pair, 0));
		json_t *cp = json_deep_copy(json_array_get(pair, 1));
		if (!cp)
			return dhg_error_set(DHG_ENOMEM, "out of memory copying objects");
		/* an object left without kind or apiVersion would be rejected as invalid input */
		if (!json_object_get(cp, "kind") && json_object_set_new(cp, "kind", json_string(hc_kinds[k].kind)) < 0) {
			json_decref(cp);
			return dhg_error_set(DHG_ENOMEM, "out of memory copying objects");
		}
		if (!json_object_get(cp, "apiVersion")) {
			char *api = *hc_kinds[k].group ? dhg_asprintf("%s/%s", hc_kinds[k].group, hc_kinds[k].version)
						      : dhg_strdup(hc_kinds[k].version);
			int rc = api ? json_object_set_new(cp, "apiVersion", json_string(api)) : -1;
			free(api);
			if (rc < 0) {
				json_decref(cp);
				return dhg_error_set(DHG_ENOMEM, "out of memory copying objects");
			}
		}
		if (engine_objects_add_take(objs, cp, "cluster", -1, 0) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory copying objects");
	}
	return 0;
}

static int collect_git(engine_objects *objs, rctx *r, char *desc, size_t descsize)
{
	gitout_credentials creds = GITOUT_CREDENTIALS_INIT;
	gitsrc_options o = GITSRC_OPTIONS_INIT;
	gitsrc_result res;
	json_t *data = NULL;
	char *dest = NULL, *wd = NULL, *url = NULL;
	int error;

	if ((error = read_secret(&data, r, r->spec.git_secret, "spec.source.git.secretRef.name")) < 0)
		goto done;
	if (data && (error = gitout_credentials_from_secret(&creds, data)) < 0)
		goto done;
	dest = dhg_asprintf("%s/sources/%s/%s", r->c->work_dir, r->ns, r->name);
	wd = dhg_asprintf("%s/git", r->c->work_dir);
	if (!dest || !wd) {
		error = DHG_ENOMEM;
		goto done;
	}
	if ((error = dhg_mkdir_parent(dest, 0700)) < 0)
		goto done;
	o.url = r->spec.git_url;
	o.branch = r->spec.git_branch;
	o.tag = r->spec.git_tag;
	o.commit = r->spec.git_commit;
	o.path = r->spec.git_path;
	o.creds = data ? &creds : NULL;
	o.work_dir = wd;
	o.dest_dir = dest;
	if ((error = gitsrc_fetch(&res, &o)) < 0)
		goto done;
	url = dhg_url_redact(r->spec.git_url);
	snprintf(desc, descsize, "git %s@%.12s%s%s", url ? url : "", res.commit, r->spec.git_path ? " path " : "",
		 r->spec.git_path ? r->spec.git_path : "");
	error = engine_extract_path(objs, dest, NULL);
done:
	gitout_credentials_dispose(&creds);
	json_decref(data);
	free(dest);
	free(wd);
	free(url);
	return error;
}

/* ---- step: generate ---- */

/* A failed generation is deterministic (Stalled until the objects or the spec change), unless
 * it ran out of memory: that is retried with backoff, like any transient failure. */
static int terminal_unless_nomem(int error)
{
	return error == DHG_ENOMEM ? error : DHG_ETERMINAL;
}

static int generate(engine_chart **out, rctx *r, const engine_objects *objs, const char *version)
{
	engine_options eo = ENGINE_OPTIONS_INIT;
	eo.chart_name = r->spec.chart_name;
	eo.chart_version = version;
	eo.app_version = r->spec.app_version;
	eo.description = r->spec.description;
	eo.secrets = (engine_secrets_mode)r->spec.secrets_mode;
	eo.external_store_name = r->spec.store_name;
	eo.external_store_kind = r->spec.store_kind;
	eo.release_namespace = r->spec.cluster ? r->spec.namespaces[0] : NULL;
	eo.values_overlay = r->spec.values;
	return engine_chart_generate(out, objs, &eo);
}

/* ---- step: write ---- */

static int write_outputs(rctx *r, const char *source_desc)
{
	static const char *kinds[] = { "local", "git", "oci" };
	const json_t *sections[3] = { r->spec.out_local, r->spec.out_git, r->spec.out_oci };
	const char *secrets[3] = { NULL, r->spec.out_git_secret, r->spec.out_oci_secret };
	const char *fields[3] = { NULL, "spec.output.git.secretRef.name", "spec.output.oci.secretRef.name" };
	static const char *reasons[3] = { "WriteFailed", "GitFailed", "OCIFailed" };
	char summary[768] = "";
	size_t off = 0;

	for (int i = 0; i < 3; i++) {
		output_result res = OUTPUT_RESULT_INIT;
		output_request req = { r->chart, r->ns, r->name, sections[i], NULL, source_desc, r->c->work_dir };
		json_t *data = NULL, *st;
		int error;
		if (!sections[i])
			continue;
		if ((error = read_secret(&data, r, secrets[i], fields[i])) < 0) {
			set_outcome(r, RT_STATUS_FAILED, reasons[i], RT_EVENT_WARNING, "WriteFailed", "%s", dhg_error_last()->message);
			return error;
		}
		req.secret_data = data;
		/* Leader check right before every write. */
		if (!rt_leader_is_leader(r->c->opts.leader)) {
			json_decref(data);
			return dhg_error_set(DHG_EUNAVAILABLE, "not the leader any more: write of %s skipped", r->key);
		}
		error = controller__write_output(&res, r->c, kinds[i], &req);
		json_decref(data);
		if (error < 0) {
			/* Not transient: an OCI tag that exists with another digest (never overwritten) and
			 * a git push the server declines (protected branch, hook; also a refused host key
			 * or certificate) stay so until a person acts. Stalled, no backoff: retried when
			 * the spec or the selected objects change, on spec.sync.interval, or on request. */
			bool stuck = (i == 2 && error == DHG_ECONFLICT) || (i == 1 && error == DHG_EFORBIDDEN);
			set_outcome(r, stuck ? RT_STATUS_STALLED : RT_STATUS_FAILED, reasons[i], RT_EVENT_WARNING, "WriteFailed",
				    "%s output: %s", kinds[i], dhg_error_last()->message);
			return stuck ? DHG_ETERMINAL : error;
		}
		if (res.changed) {
			r->wrote = 1;
			metrics_counter_add(r->c->m_writes, kinds[i], 1);
		}
		if (i == 0)
			st = json_pack("{s:s}", "path", res.path);
		else if (i == 1)
			st = json_pack("{s:s, s:s, s:s}", "commit", res.commit, "branch", res.branch, "path", res.path);
		else
			st = json_pack("{s:s, s:s}", "reference", res.reference, "digest", res.digest);
		if (st)
			json_object_set_new(r->outputs, kinds[i], st);
		off += (size_t)snprintf(summary + off, off < sizeof(summary) ? sizeof(summary) - off : 0, "%s%s",
					off ? " and " : "", res.summary);
	}
	set_outcome(r, RT_STATUS_READY, "Succeeded", RT_EVENT_NORMAL, "Generated", "%s %s written to %s", r->spec.chart_name,
		    r->version, summary);
	return 0;
}

/* ---- the remembered last write ---- */

static void remembered(rctx *r, char *version, size_t vs, char *digest, size_t ds, char *fp, size_t fs,
		       char caches[DHG_DIGEST_STR_SIZE])
{
	controller__written *w;
	const char *sv = json_string_value(json_object_get(r->old_status, "chartVersion"));
	const char *sd = json_string_value(json_object_get(r->old_status, "contentDigest"));
	snprintf(version, vs, "%s", sv ? sv : "");
	snprintf(digest, ds, "%s", sd ? sd : "");
	pthread_mutex_lock(&r->c->written_mu);
	w = rt__strmap_get(&r->c->written, r->key);
	fp[0] = caches[0] = 0;
	if (w) {
		snprintf(version, vs, "%s", w->version);
		snprintf(digest, ds, "%s", w->digest);
		snprintf(fp, fs, "%s", w->fingerprint);
		snprintf(caches, DHG_DIGEST_STR_SIZE, "%s", w->caches);
	}
	pthread_mutex_unlock(&r->c->written_mu);
}

static void remember(rctx *r, const char *fp, const char *caches)
{
	controller__written *w;
	pthread_mutex_lock(&r->c->written_mu);
	w = rt__strmap_get(&r->c->written, r->key);
	if (!w && (w = calloc(1, sizeof(*w))) && rt__strmap_put(&r->c->written, r->key, w) < 0) {
		free(w);
		w = NULL;
	}
	if (w) {
		snprintf(w->version, sizeof(w->version), "%s", r->version);
		snprintf(w->digest, sizeof(w->digest), "%s", r->digest);
		snprintf(w->fingerprint, sizeof(w->fingerprint), "%s", fp);
		snprintf(w->caches, sizeof(w->caches), "%s", caches);
	}
	pthread_mutex_unlock(&r->c->written_mu);
}

/* A no-op reconcile (same chart, outputs already hold it). The Ready message keeps naming the
 * write that produced the current outputs ("shop 0.1.0 written to ... and git a1b2c3d"): a
 * redundant reconcile (resync, an unrelated change of a selected object, a request) must not
 * turn it into "up to date", which named no commit and raced with readers of the message
 * (test_operator_git flake), and needs no status patch at all. The Event says NoChange. */
static void set_nochange(rctx *r)
{
	const json_t *ready = rt_conditions_get(json_object_get(r->old_status, "conditions"), RT_COND_READY);
	const char *prev = json_string_value(json_object_get(ready, "message"));
	const char *reason = json_string_value(json_object_get(ready, "reason"));
	char up[256];
	snprintf(up, sizeof(up), "%s %s is up to date (no change)", r->spec.chart_name, r->version);
	if (prev && *prev && reason && !strcmp(reason, "Succeeded"))
		set_outcome(r, RT_STATUS_READY, "Succeeded", RT_EVENT_NORMAL, "NoChange", "%s", prev);
	else
		set_outcome(r, RT_STATUS_READY, "Succeeded", RT_EVENT_NORMAL, "NoChange", "%s", up);
	snprintf(r->event_message, sizeof(r->event_message), "%s", up);
}

/* ---- the main steps ---- */

static int step_generate_and_write(rctx *r)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings warns = ENGINE_WARNINGS_INIT;
	char last_version[128], last_digest[DHG_DIGEST_STR_SIZE], desc[1024], last_fp[DHG_DIGEST_STR_SIZE];
	char fp[DHG_DIGEST_STR_SIZE] = "", caches[DHG_DIGEST_STR_SIZE] = "", last_caches[DHG_DIGEST_STR_SIZE];
	const char *cur;
	json_t *sel = json_array();
	int error;
	long long ogen = json_integer_value(json_object_get(r->old_status, "observedGeneration"));
	bool was_ready = rt_conditions_is_true(json_object_get(r->old_status, "conditions"), RT_COND_READY);

	if (!sel)
		return DHG_ENOMEM;
	remembered(r, last_version, sizeof(last_version), last_digest, sizeof(last_digest), last_fp, sizeof(last_fp),
		   last_caches);
	if (r->spec.cluster) {
		if ((error = caches_state(caches, r, last_version)) < 0)
			goto done;
		if (*last_caches && strcmp(caches, last_caches) == 0 && *last_fp && *last_digest &&
		    ogen == r->spec.generation && was_ready) {
			/* Nothing the selection reads has changed since the last successful
			 * reconcile: its inputs, so the no-change path below, without decoding every
			 * selected object to find that out (only ever taken when that path is). */
			snprintf(fp, sizeof(fp), "%s", last_fp);
		} else if ((error = select_cluster(sel, fp, r)) < 0) {
			set_outcome(r, RT_STATUS_FAILED, "SourceFailed", RT_EVENT_WARNING, "SourceFailed", "%s", dhg_error_last()->message);
			goto done;
		} else {
			/* The fingerprint also covers the spec (generation) and the version compared against. */
			char buf[512];
			snprintf(buf, sizeof(buf), "%s|%lld|%s", fp, r->spec.generation, last_version);
			if ((error = dhg_sha256_str(fp, buf, strlen(buf))) < 0)
				goto done; /* out of memory: ReconcileFailed, tried again */
		}
		char *ss = NULL;
		kube_selector_to_string(&ss, r->spec.selector);
		snprintf(desc, sizeof(desc), "cluster namespaces %s%s; selector %s", r->spec.namespaces[0],
			 r->spec.nnamespaces > 1 ? ",..." : "", ss && *ss ? ss : "(all)");
		free(ss);
		if (*last_fp && strcmp(fp, last_fp) == 0 && *last_digest && ogen == r->spec.generation && was_ready) {
			/* Same inputs as the last successful reconcile: same chart; skip the engine. */
			snprintf(r->version, sizeof(r->version), "%s", last_version);
			snprintf(r->digest, sizeof(r->digest), "%s", last_digest);
			r->resource_count = (long)json_integer_value(json_object_get(r->old_status, "resourceCount"));
			set_nochange(r);
			const char *k;
			json_t *o;
			json_object_foreach((json_t *)r->old_status, k, o) if (!strcmp(k, "git") || !strcmp(k, "oci") || !strcmp(k, "local"))
				json_object_set(r->outputs, k, o);
			error = 0;
			goto done;
		}
		if ((error = copy_selected(&objs, sel)) < 0)
			goto done;
	} else if ((error = collect_git(&objs, r, desc, sizeof(desc))) < 0) {
		set_outcome(r, RT_STATUS_FAILED, "SourceFailed", RT_EVENT_WARNING, "SourceFailed", "%s", dhg_error_last()->message);
		goto done;
	}
	if (objs.len == 0) {
		error = 0;
		set_outcome(r, RT_STATUS_FAILED, "SourceFailed", NULL, NULL, "no objects selected by spec.source (%s)", desc);
		goto done;
	}
	if ((error = engine_normalize(&objs, &warns)) < 0) {
		set_outcome(r, RT_STATUS_FAILED, "GenerationFailed", RT_EVENT_WARNING, "GenerationFailed", "%s", dhg_error_last()->message);
		error = terminal_unless_nomem(error); /* deterministic: retried when objects or spec change */
		goto done;
	}
	cur = hc_version_current(r->spec.base_version, last_version);
	snprintf(r->version, sizeof(r->version), "%s", cur);
	if ((error = generate(&r->chart, r, &objs, cur)) < 0) {
		set_outcome(r, RT_STATUS_FAILED, "GenerationFailed", RT_EVENT_WARNING, "GenerationFailed", "%s", dhg_error_last()->message);
		error = terminal_unless_nomem(error);
		goto done;
	}
	r->resource_count = (long)r->chart->resource_count;
	if (*last_digest && strcmp(r->chart->digest, last_digest) == 0) {
		snprintf(r->digest, sizeof(r->digest), "%s", r->chart->digest);
		if (ogen == r->spec.generation && was_ready) {
			/* Content unchanged and the outputs already hold it: nothing to write. */
			set_nochange(r);
			json_t *o;
			const char *k;
			json_object_foreach((json_t *)r->old_status, k, o) if (!strcmp(k, "git") || !strcmp(k, "oci") || !strcmp(k, "local"))
				json_object_set(r->outputs, k, o);
			remember(r, fp, caches);
			error = 0;
			goto done;
		}
		/* same content, but the spec changed or the last write failed: write again (idempotent) */
	} else if (*last_digest) {
		/* content changed: bump the patch version and generate again with it */
		char next[128];
		if ((error = hc_version_next(next, sizeof(next), r->spec.base_version, last_version)) < 0)
			goto done;
		engine_chart_free(r->chart);
		r->chart = NULL;
		snprintf(r->version, sizeof(r->version), "%s", next);
		if ((error = generate(&r->chart, r, &objs, next)) < 0) {
			set_outcome(r, RT_STATUS_FAILED, "GenerationFailed", RT_EVENT_WARNING, "GenerationFailed", "%s", dhg_error_last()->message);
			error = terminal_unless_nomem(error);
			goto done;
		}
	}
	snprintf(r->digest, sizeof(r->digest), "%s", r->chart->digest);
	if ((error = write_outputs(r, desc)) < 0)
		goto done;
	remember(r, fp, caches);
done:
	json_decref(sel);
	engine_objects_dispose(&objs);
	engine_warnings_dispose(&warns);
	return error;
}

/* Appends to the message the selected kinds this replica may not list (RBAC, e.g. Secrets with
 * the chart's rbac.readSecrets=false): the chart was generated without them. */
static void note_forbidden(rctx *r)
{
	size_t off = strlen(r->message);
	int n = 0;
	if (strstr(r->message, "; not included (forbidden"))
		return; /* a kept message (no-op reconcile) already says so */
	for (int k = 0; hc_kinds[k].kind; k++) {
		if (!r->spec.kind_enabled[k] || !r->c->kind_forbidden[k])
			continue;
		if (off < sizeof(r->message))
			off += (size_t)snprintf(r->message + off, sizeof(r->message) - off, "%s%s",
						n++ ? ", " : "; not included (forbidden: the operator's RBAC cannot list them): ",
						hc_kinds[k].resource);
	}
}

/* Builds the new status and patches it when it differs (always called on the way out). */
static int patch_status(rctx *r)
{
	json_t *st = r->old_status ? json_deep_copy(r->old_status) : json_object(), *conds, *patch = NULL;
	char now[32];
	const char *req_at = NULL;
	int error = 0;
	long long gen = r->spec_ok ? r->spec.generation
				   : json_integer_value(json_object_get(json_object_get(r->hc, "metadata"), "generation"));

	if (!st)
		return dhg_error_set(DHG_ENOMEM, "out of memory building status");
	rt_time_now_rfc3339(now, sizeof(now));
	conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	rt_conditions_set_kstatus(conds, r->kind, r->reason, r->message, gen, now);
	if (strcmp(r->reason, "Suspended") == 0)
		rt_conditions_remove(conds, RT_COND_RECONCILING); /* Ready=False/Suspended, not progressing */
	json_object_set_new(st, "observedGeneration", json_integer(gen));
	if (*r->version && *r->digest) {
		json_object_set_new(st, "chartVersion", json_string(r->version));
		json_object_set_new(st, "contentDigest", json_string(r->digest));
		json_object_set_new(st, "resourceCount", json_integer(r->resource_count));
	}
	if (r->wrote || (*r->digest && !json_object_get(st, "lastGeneratedTime")))
		json_object_set_new(st, "lastGeneratedTime", json_string(now));
	{
		const char *k;
		json_t *o;
		json_object_foreach(r->outputs, k, o) json_object_set(st, k, o);
	}
	req_at = json_string_value(json_object_get(json_object_get(json_object_get(r->hc, "metadata"), "annotations"), RECONCILE_ANNOTATION));
	if (req_at)
		json_object_set_new(st, "lastHandledReconcileAt", json_string(req_at));
	if (r->old_status && json_equal(st, r->old_status))
		goto done; /* nothing new to say */
	if (!rt_leader_is_leader(r->c->opts.leader)) {
		error = dhg_error_set(DHG_EUNAVAILABLE, "not the leader: status of %s not patched", r->key);
		goto done;
	}
	patch = json_pack("{s:O}", "status", st);
	if (!patch) {
		error = DHG_ENOMEM;
		goto done;
	}
	error = kube_client_patch_status(NULL, r->c->client, &controller__hc_gvr, r->ns, r->name, patch, NULL);
	if (error == DHG_ENOTFOUND) {
		dhg_error_clear();
		error = 0; /* deleted meanwhile */
	} else if (error < 0) {
		dhg_error_wrap("patching status of HelmChart %s", r->key);
	}
done:
	json_decref(patch);
	json_decref(st);
	return error;
}

int controller__reconcile(rt_result *res, void *payload, const char *key)
{
	controller_helmchart *c = payload;
	rctx r;
	const char *slash = strchr(key, '/');
	struct timespec t0, t1;
	int error = 0, perr;
	bool waiting = false;
	hc_spec_policy pol = { c->opts.allow_cross_namespace, (const char *const *)c->watch, c->opts.nwatch,
			       c->opts.default_debounce_ms, c->output_root != NULL };
	char dur[32];
	const char *result;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.key = key;
	if (!slash || (size_t)(slash - key) >= sizeof(r.ns) || strlen(slash + 1) >= sizeof(r.name))
		return 0;
	memcpy(r.ns, key, (size_t)(slash - key));
	snprintf(r.name, sizeof(r.name), "%s", slash + 1);

	/* step: load */
	{
		kube_informer *inf = controller__hc_informer_for(c, r.ns);
		error = inf ? kube_informer_get(&r.hc, inf, r.ns, r.name) : DHG_ENOTFOUND;
	}
	if (error == DHG_ENOTFOUND) {
		dhg_error_clear();
		return 0; /* deleted: its work stops; written charts stay */
	}
	if (error < 0)
		return error;
	r.old_status = json_object_get(r.hc, "status");
	if (!json_is_object(r.old_status))
		r.old_status = NULL;
	r.outputs = json_object();
	if (!r.outputs) {
		json_decref(r.hc);
		return DHG_ENOMEM;
	}
	set_outcome(&r, RT_STATUS_PROGRESSING, "Progressing", NULL, NULL, "reconciling");

	/* step: validate */
	if ((error = hc_spec_parse(&r.spec, r.hc, &pol)) < 0) {
		if (error == DHG_ENOMEM) { /* not the spec's fault: Failed, retried with backoff */
			set_outcome(&r, RT_STATUS_FAILED, "ReconcileFailed", RT_EVENT_WARNING, "ReconcileFailed", "%s",
				    dhg_error_last()->message);
			goto out;
		}
		set_outcome(&r, RT_STATUS_STALLED, "InvalidSpec", RT_EVENT_WARNING, "InvalidSpec", "%s", dhg_error_last()->message);
		error = DHG_ETERMINAL;
		goto out;
	}
	r.spec_ok = true;
	if (r.spec.interval_ms > 0 && r.spec.auto_sync)
		res->requeue_after_ms = r.spec.interval_ms; /* periodic resync (sync.auto: false -> only on request) */

	/* step: suspend */
	if (r.spec.suspend) {
		set_outcome(&r, RT_STATUS_FAILED, "Suspended", NULL, NULL, "suspended: spec.suspend is true, nothing is generated or written");
		error = 0;
		goto out;
	}

	/* kstatus: a new generation is announced as Reconciling before the work starts */
	if (json_integer_value(json_object_get(r.old_status, "observedGeneration")) != r.spec.generation) {
		set_outcome(&r, RT_STATUS_PROGRESSING, "Progressing", NULL, NULL, "reconciling generation %lld",
			    r.spec.generation);
		if (patch_status(&r) < 0)
			DHG_LOG_WARN("could not mark HelmChart as reconciling", "key", key, "error", dhg_error_last()->message);
		dhg_error_clear();
	}

	/* step: caches. The informers of the selected kinds start on first use; until their
	 * initial lists are in, look again shortly — no status, Event or backoff for that. */
	if (r.spec.cluster) {
		bool synced;
		if ((error = controller__informers_ensure(&synced, c, &r.spec)) < 0) {
			set_outcome(&r, RT_STATUS_FAILED, "SourceFailed", RT_EVENT_WARNING, "SourceFailed", "%s",
				    dhg_error_last()->message);
			goto out;
		}
		if (!synced) {
			res->requeue_after_ms = CACHE_WAIT_MS;
			waiting = true;
			goto out;
		}
	}

	/* steps: source -> generate -> compare -> write */
	error = step_generate_and_write(&r);
	if (error == DHG_ENOMEM && r.kind == RT_STATUS_PROGRESSING) /* a step that names no outcome of its own */
		set_outcome(&r, RT_STATUS_FAILED, "ReconcileFailed", RT_EVENT_WARNING, "ReconcileFailed", "%s",
			    dhg_error_last()->code == DHG_ENOMEM ? dhg_error_last()->message : "out of memory");
	if (r.spec.cluster)
		note_forbidden(&r);

out:
	if (waiting) {
		DHG_LOG_DEBUG("waiting for the caches of the selected kinds", "controller", "helmchart", "namespace", r.ns,
			      "name", r.name);
		goto cleanup;
	}
	/* always: status, Event, log */
	perr = patch_status(&r);
	if (r.event_reason && rt_leader_is_leader(c->opts.leader))
		rt_recorder_event(c->rec, r.hc, r.event_type, r.event_reason, *r.event_message ? r.event_message : r.message);
	if (r.wrote)
		metrics_gauge_set(c->m_last_write, key, (double)time(NULL));
	if (error == 0 && perr < 0)
		error = perr;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(dur, sizeof(dur), "%.3fms", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	result = error == 0 ? (r.wrote ? "written" : "ok") : error == DHG_ETERMINAL ? "stalled" : "error";
	if (error < 0 && error != DHG_ETERMINAL)
		res->requeue_after_ms = 0; /* backoff instead */
	DHG_LOG_INFO("reconciled", "controller", "helmchart", "namespace", r.ns, "name", r.name, "result", result,
		     "reason", r.reason ? r.reason : "", "version", r.version, "duration", dur, "message",
		     error < 0 || r.kind != RT_STATUS_READY ? r.message : "");
cleanup:
	engine_chart_free(r.chart);
	hc_spec_dispose(&r.spec);
	json_decref(r.outputs);
	json_decref(r.hc);
	return error;
}
