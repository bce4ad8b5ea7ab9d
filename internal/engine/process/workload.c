/*
 * Workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod.
 * Parameterizes replicas, CronJob schedule, container images / pull policy / resources /
 * plain env values, pod nodeSelector / tolerations / affinity, pod-template annotations and
 * (non-selector) labels, StatefulSet volumeClaimTemplates size / storage class; adds a
 * checksum/config pod-template annotation for ConfigMaps of the chart the pods use.
 */
#include "engine/process/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/emit.h"
#include "util/error.h"
#include "util/str.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Splits an image reference into repository, tag, digest (any may be empty): slices of img. */
static void image_split(const char *img, const char **repo, size_t *rlen_out, const char **tag, size_t *tlen,
			const char **digest, size_t *dlen)
{
	const char *at = strchr(img, '@');
	size_t rlen = at ? (size_t)(at - img) : strlen(img);
	const char *slash = NULL, *colon = NULL;

	for (size_t i = 0; i < rlen; i++) {
		if (img[i] == '/')
			slash = img + i;
	}
	for (const char *p = slash ? slash : img; p < img + rlen; p++)
		if (*p == ':')
			colon = p;
	*digest = at ? at + 1 : "";
	*dlen = strlen(*digest);
	*tag = colon ? colon + 1 : "";
	*tlen = colon ? (size_t)(img + rlen - colon - 1) : 0;
	*repo = img;
	*rlen_out = colon ? (size_t)(colon - img) : rlen;
}

static int do_container(engine_process__ctx *ctx, engine_process__item *it, json_t *c, const char *group,
			json_t *used)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	json_t *img = json_object_get(c, "image"), *env, *e, *seen = NULL;
	char *cname = NULL;
	dhg_buf b = DHG_BUF_INIT(0);
	int err = 0;
	size_t i;

	if (!name || engine_number_is(json_object_get(c, "name")))
		return 0;
	if (!(cname = engine_process__camel(name)))
		return DHG_ENOMEM;
	/* two names with one camelCase ("a-b", "a--b"): the later gets its position appended */
	for (int k = 2; json_object_get(used, cname); k++) {
		char *alt = dhg_asprintf("%s%d", cname, k);
		free(cname);
		if (!(cname = alt))
			return DHG_ENOMEM;
	}
	if (json_object_set_new(used, cname, json_true()) < 0) {
		free(cname);
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	}
	if (json_is_string(img) && !engine_number_is(img) && json_string_length(img) > 0) {
		json_t *iv = json_object();
		const char *repo, *tag, *digest;
		size_t rl, tl, dl;
		/* slices of an input string at ASCII bytes: UTF-8 as the input (extract checked it) */
		image_split(json_string_value(img), &repo, &rl, &tag, &tl, &digest, &dl);
		if (!iv || json_object_set_new_nocheck(iv, "repository", json_stringn_nocheck(repo, rl)) < 0 ||
		    json_object_set_new_nocheck(iv, "tag", json_stringn_nocheck(tag, tl)) < 0 ||
		    json_object_set_new_nocheck(iv, "digest", json_stringn_nocheck(digest, dl)) < 0) {
			json_decref(iv);
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		{
			char cm[256];
			size_t cl = 0; /* "Image of container %s: repository, tag and optional digest" */
			cm[0] = '\0';
			engine_process__cat(cm, sizeof(cm), &cl, "Image of container ", (size_t)-1);
			engine_process__cat(cm, sizeof(cm), &cl, name, (size_t)-1);
			engine_process__cat(cm, sizeof(cm), &cl, ": repository, tag and optional digest", (size_t)-1);
			if ((err = engine_process__vset(ctx, it, iv, cm, P(group, cname, "image"))) < 0)
				goto done;
		}
		if ((err = engine_emit__puts(&b, "{{ include \"")) < 0 || (err = engine_emit__puts(&b, ctx->chart)) < 0 ||
		    (err = engine_emit__puts(&b, ".image\" ")) < 0 ||
		    (err = engine_process__vref(&b, it, P(group, cname, "image"))) < 0 ||
		    (err = engine_emit__puts(&b, " | toJson }}")) < 0)
			goto done;
		if (json_object_set_new(c, "image", engine_emit_marker_inline(dhg_buf_cstr(&b))) < 0) {
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		if ((err = engine_process__param_scalar(ctx, it, c, "imagePullPolicy", "Image pull policy of the container",
							P(group, cname, "image", "pullPolicy"))) < 0)
			goto done;
	}
	{
		char cm[256];
		size_t cl = 0; /* "Resource requests and limits of container %s" */
		cm[0] = '\0';
		engine_process__cat(cm, sizeof(cm), &cl, "Resource requests and limits of container ", (size_t)-1);
		engine_process__cat(cm, sizeof(cm), &cl, name, (size_t)-1);
		if ((err = engine_process__param_block(ctx, it, c, "resources", cm, P(group, cname, "resources"))) < 0)
			goto done;
	}
	env = json_object_get(c, "env");
	if (json_is_array(env)) {
		if (!(seen = json_object())) {
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		json_array_foreach(env, i, e)
		{
			const char *en = json_string_value(json_object_get(e, "name"));
			json_t *val = json_object_get(e, "value");
			if (!en || !json_is_string(val) || engine_number_is(val) || json_object_get(seen, en) ||
			    !*en || strlen(en) > 200)
				continue;
			if (json_object_set_new(seen, en, json_true()) < 0) {
				err = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
			{
				char cm[320];
				size_t cl = 0; /* "Environment variable %.200s of container %s" */
				cm[0] = '\0';
				engine_process__cat(cm, sizeof(cm), &cl, "Environment variable ", (size_t)-1);
				engine_process__cat(cm, sizeof(cm), &cl, en, 200);
				engine_process__cat(cm, sizeof(cm), &cl, " of container ", (size_t)-1);
				engine_process__cat(cm, sizeof(cm), &cl, name, (size_t)-1);
				if ((err = engine_process__param_scalar(ctx, it, e, "value", cm, P(group, cname, "env", en))) < 0)
					goto done;
			}
		}
	}
	err = 0;
done:
	json_decref(seen);
	free(cname);
	dhg_buf_dispose(&b);
	return err;
}

/* A small set of borrowed names (ConfigMaps a pod spec references), in first-seen order. */
typedef struct name_set {
	const char **v;
	size_t len, cap;
} name_set;

static int name_add(name_set *s, const json_t *name)
{
	const char *n = json_string_value(name);
	if (!n || engine_number_is(name))
		return 0;
	for (size_t i = 0; i < s->len; i++)
		if (!strcmp(s->v[i], n))
			return 0;
	if (s->len == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		const char **nv = realloc(s->v, ncap * sizeof(*nv));
		if (!nv)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->len++] = n;
	return 0;
}

/* Names of ConfigMaps referenced by a pod spec, added to out. */
static int collect_configmaps(name_set *out, const json_t *podspec)
{
	const char *groups[] = {"initContainers", "containers", "ephemeralContainers"};
	json_t *vols = json_object_get(podspec, "volumes"), *v, *c, *x, *y;
	size_t i, j, k;
	int err;

#define ADD(name)                                         \
	do {                                              \
		if ((err = name_add(out, (name))) < 0)    \
			return err;                       \
	} while (0)
	json_array_foreach(vols, i, v)
	{
		ADD(json_object_get(json_object_get(v, "configMap"), "name"));
		json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), j, x)
			ADD(json_object_get(json_object_get(x, "configMap"), "name"));
	}
	for (k = 0; k < 3; k++) {
		json_array_foreach(json_object_get(podspec, groups[k]), i, c)
		{
			json_array_foreach(json_object_get(c, "envFrom"), j, x)
				ADD(json_object_get(json_object_get(x, "configMapRef"), "name"));
			json_array_foreach(json_object_get(c, "env"), j, x)
			{
				y = json_object_get(json_object_get(x, "valueFrom"), "configMapKeyRef");
				ADD(json_object_get(y, "name"));
			}
		}
	}
#undef ADD
	return 0;
}

static int checksum_line(engine_process__ctx *ctx, engine_process__item *it, const json_t *podspec, char **out)
{
	name_set names = {NULL, 0, 0};
	dhg_buf b = DHG_BUF_INIT(0), key = DHG_BUF_INIT(0);
	const char **paths = NULL;
	size_t np = 0;
	int err = 0;

	*out = NULL;
	if ((err = collect_configmaps(&names, podspec)) < 0 || names.len == 0)
		goto done;
	if (!(paths = calloc(names.len + 1, sizeof(*paths)))) {
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < names.len; i++) {
		const char *p;
		dhg_buf_clear(&key);
		if ((err = engine_emit__puts(&key, it->ns ? it->ns : "")) < 0 || (err = engine_emit__putc(&key, '\x1f')) < 0 ||
		    (err = engine_emit__puts(&key, names.v[i])) < 0)
			goto done;
		if ((p = json_string_value(json_object_get(ctx->configmaps, dhg_buf_cstr(&key)))))
			paths[np++] = p;
	}
	if (np == 0)
		goto done;
	/* deterministic order */
	for (size_t i = 1; i < np; i++)
		for (size_t j = i; j > 0 && strcmp(paths[j - 1], paths[j]) > 0; j--) {
			const char *t = paths[j];
			paths[j] = paths[j - 1];
			paths[j - 1] = t;
		}
	if ((err = engine_emit__puts(&b, "checksum/config: {{ ")) < 0)
		goto done;
	if (np > 1 && (err = engine_emit__puts(&b, "print")) < 0)
		goto done;
	for (size_t i = 0; i < np; i++) {
		const char *base = strchr(paths[i], '/');
		if ((err = engine_emit__puts(&b, np > 1 ? " (include (print $.Template.BasePath \"" :
						     "(include (print $.Template.BasePath \"")) < 0 ||
		    (err = engine_emit__puts(&b, base ? base : paths[i])) < 0 || (err = engine_emit__puts(&b, "\") $)")) < 0)
			goto done;
	}
	if ((err = engine_emit__puts(&b, " | sha256sum | quote }}")) < 0)
		goto done;
	if (!(*out = dhg_buf_detach(&b, NULL)))
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
done:
	free(paths);
	free(names.v);
	dhg_buf_dispose(&b);
	dhg_buf_dispose(&key);
	return err;
}

/* A "{{- with <path> }}" block (under field, or the map's own entries when field is NULL). With a
 * comment, deflt (taken; NULL: it could not be allocated, an error) becomes the value's default;
 * without one, the default was set by the caller. */
static int with_block(engine_process__ctx *ctx, engine_process__item *it, json_t *map, const char *field,
		      json_t *deflt, const char *comment, const char *const *path)
{
	dhg_buf b = DHG_BUF_INIT(0);
	int err;

	if (comment && (err = engine_process__vset(ctx, it, deflt, comment, path)) < 0)
		return err;
	if ((err = engine_process__vopaque(ctx, it, path)) < 0)
		return err;
	if ((err = dhg_buf_reserve(&b, MARKER_RESERVE)) < 0 || (err = engine_emit__puts(&b, "{{- with ")) < 0 ||
	    (err = engine_process__vref(&b, it, path)) < 0)
		goto done;
	if (field) {
		if ((err = engine_emit__puts(&b, " }}\n")) == 0 && (err = engine_emit__puts(&b, field)) == 0)
			err = engine_emit__puts(&b, ":\n  {{- toYaml . | nindent \x03 }}\n{{- end }}");
	} else
		err = engine_emit__puts(&b, " }}\n{{- toYaml . | nindent \x02 }}\n{{- end }}");
	if (err < 0)
		goto done;
	err = engine_emit_raw_add(map, dhg_buf_cstr(&b));
done:
	dhg_buf_dispose(&b);
	return err;
}

static int do_podspec(engine_process__ctx *ctx, engine_process__item *it, json_t *ps)
{
	const char *groups[] = {"initContainers", "containers"};
	const char *fields[] = {"nodeSelector", "tolerations", "affinity"};
	const char *comments[] = {"Node selector for the pods", "Tolerations of the pods", "Affinity of the pods"};
	json_t *c;
	size_t i;
	int err;

	for (int g = 0; g < 2; g++)
	{
		json_t *used = json_object();
		if (!used)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		json_array_foreach(json_object_get(ps, groups[g]), i, c) if ((err = do_container(ctx, it, c, groups[g], used)) < 0)
		{
			json_decref(used);
			return err;
		}
		json_decref(used);
	}
	/* optional blocks only next to real fields: a pod spec of only empty blocks would render null */
	for (int f = 0; f < 3 && json_object_size(ps) > 0; f++) {
		json_t *v = json_object_get(ps, fields[f]);
		if (v) {
			if ((err = engine_process__param_block(ctx, it, ps, fields[f], comments[f], P(fields[f]))) < 0)
				return err;
		} else {
			json_t *d = f == 1 ? json_array() : json_object();
			if ((err = with_block(ctx, it, ps, fields[f], d, comments[f], P(fields[f]))) < 0)
				return err;
		}
	}
	return 0;
}

static int do_template_meta(engine_process__ctx *ctx, engine_process__item *it, json_t *tmpl, const json_t *selector,
			    json_t *ps)
{
	json_t *meta = json_object_get(tmpl, "metadata"), *ann, *labels, *extra = NULL;
	char *sum = NULL;
	const char *k;
	json_t *v, *tmp;
	int err = 0;

	if ((err = checksum_line(ctx, it, ps, &sum)) < 0)
		return err;
	if (!meta) {
		/* no pod-template metadata: only a checksum annotation may be added */
		if (!sum)
			return 0;
		if (!(meta = json_object()) || json_object_set_new(tmpl, "metadata", meta) < 0) {
			free(sum);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
	}
	if (!json_is_object(meta)) {
		free(sum);
		return 0;
	}
	/* annotations */
	ann = json_object_get(meta, "annotations");
	if (json_is_object(ann) && (json_object_size(ann) > 0 || sum) && engine_process__values_safe(ann)) {
		if (sum && json_object_get(ann, "checksum/config")) {
			free(sum);
			sum = NULL;
		}
		if ((err = engine_process__vset(ctx, it, json_deep_copy(ann), "Pod annotations", P("podAnnotations"))) < 0)
			goto done;
		json_object_clear(ann);
		if (sum && (err = engine_emit_raw_add(ann, sum)) < 0)
			goto done;
		if ((err = with_block(ctx, it, ann, NULL, NULL, NULL, P("podAnnotations"))) < 0)
			goto done;
	} else if (!ann) {
		if (sum) {
			if (!(ann = json_object()) || json_object_set_new(meta, "annotations", ann) < 0) {
				err = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
			if ((err = engine_emit_raw_add(ann, sum)) < 0)
				goto done;
			if ((err = engine_process__vset(ctx, it, json_object(), "Pod annotations", P("podAnnotations"))) < 0)
				goto done;
			if ((err = with_block(ctx, it, ann, NULL, NULL, NULL, P("podAnnotations"))) < 0)
				goto done;
		} else if ((err = with_block(ctx, it, meta, "annotations", json_object(), "Pod annotations",
					     P("podAnnotations"))) < 0) {
			goto done;
		}
	}
	/* labels that are not selector labels */
	labels = json_object_get(meta, "labels");
	if (json_is_object(labels) && engine_process__values_safe(labels)) {
		if (!(extra = json_object())) {
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		json_object_foreach_safe(labels, tmp, k, v)
		{
			const json_t *sv = json_object_get(selector, k);
			if (sv && json_equal(sv, v))
				continue;
			if (json_object_set(extra, k, v) < 0) {
				err = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
			json_object_del(labels, k);
		}
		if ((err = engine_process__vset(ctx, it, extra, "Extra pod labels (selector labels stay fixed)",
						P("podLabels"))) < 0) {
			extra = NULL;
			goto done;
		}
		extra = NULL;
		if ((err = engine_process__vopaque(ctx, it, P("podLabels"))) < 0)
			goto done;
		/* The with-block rides as a raw entry; the default is already set above. */
		{
			dhg_buf b = DHG_BUF_INIT(0);
			if ((err = engine_emit__puts(&b, "{{- with ")) < 0 ||
			    (err = engine_process__vref(&b, it, P("podLabels"))) < 0 ||
			    (err = engine_emit__puts(&b, " }}\n{{- toYaml . | nindent \x02 }}\n{{- end }}")) < 0 ||
			    (err = engine_emit_raw_add(labels, dhg_buf_cstr(&b))) < 0) {
				dhg_buf_dispose(&b);
				goto done;
			}
			dhg_buf_dispose(&b);
		}
	}
done:
	json_decref(extra);
	free(sum);
	return err;
}

static int do_claims(engine_process__ctx *ctx, engine_process__item *it, json_t *spec)
{
	json_t *c;
	size_t i;
	int err;

	json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), i, c)
	{
		const char *n = json_string_value(json_object_get(json_object_get(c, "metadata"), "name"));
		json_t *cs = json_object_get(c, "spec");
		json_t *req = json_object_get(json_object_get(cs, "resources"), "requests");
		char *cn;
		if (!n || engine_number_is(json_object_get(json_object_get(c, "metadata"), "name")) || !json_is_object(cs))
			continue;
		if (!(cn = engine_process__camel(n)))
			return DHG_ENOMEM;
		err = engine_process__param_scalar(ctx, it, req, "storage", "Volume claim size",
						   P("volumeClaims", cn, "size"));
		if (err >= 0)
			err = engine_process__param_scalar(ctx, it, cs, "storageClassName", "Volume claim storage class",
							   P("volumeClaims", cn, "storageClass"));
		free(cn);
		if (err < 0)
			return err;
	}
	return 0;
}

int engine_process__workload(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *spec = json_object_get(it->tree, "spec"), *tmpl = NULL, *ps = NULL;
	const json_t *selector = NULL;
	int err;

	if (!json_is_object(spec))
		return 0;
	if (!strcmp(it->kind, "Pod")) {
		return do_podspec(ctx, it, spec);
	}
	if (!strcmp(it->kind, "CronJob")) {
		if ((err = engine_process__param_scalar(ctx, it, spec, "schedule", "Cron schedule", P("schedule"))) < 0)
			return err;
		tmpl = json_object_get(json_object_get(json_object_get(spec, "jobTemplate"), "spec"), "template");
	} else {
		if ((err = engine_process__param_scalar(ctx, it, spec, "replicas", "Number of replicas", P("replicas"))) < 0)
			return err;
		tmpl = json_object_get(spec, "template");
		selector = json_object_get(json_object_get(spec, "selector"), "matchLabels");
	}
	if (!strcmp(it->kind, "StatefulSet") && (err = do_claims(ctx, it, spec)) < 0)
		return err;
	if (!json_is_object(tmpl))
		return 0;
	ps = json_object_get(tmpl, "spec");
	if (!json_is_object(ps))
		return 0;
	if ((err = do_template_meta(ctx, it, tmpl, selector, ps)) < 0)
		return err;
	return do_podspec(ctx, it, ps);
}
