/*
 * ConfigMap (data values, large ones to files/) and Secret (mask / include /
 * external-secret).
 */
#include "engine/process/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/emit.h"
#include "util/error.h"
#include "util/str.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted keys of an object (borrowed strings). *out owned (free()). */
static int sorted_keys(const char ***out, size_t *n, const json_t *o)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_object(o) || json_object_size(o) == 0)
		return 0;
	if (!(*out = malloc(json_object_size(o) * sizeof(**out))))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_object_foreach((json_t *)o, k, v)
	{
		(void)v;
		(*out)[i++] = k;
	}
	qsort(*out, i, sizeof(**out), cmp_str);
	*n = i;
	return 0;
}

/* A key whose file would be dropped or altered by Helm's loader / our .helmignore. */
static int file_unsafe(const char *key, const char *val)
{
	static const char *const suffixes[] = {".swp", ".bak", ".tmp", ".orig", "~", NULL};
	if (!strcmp(key, ".") || !strcmp(key, "..") || key[0] == '.')
		return 1;
	for (const char *p = key; *p; p++) /* ConfigMap key syntax; also keeps the Go literal safe */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return 1;
	for (size_t i = 0; suffixes[i]; i++)
		if (dhg_str_has_suffix(key, suffixes[i]))
			return 1;
	if ((unsigned char)val[0] == 0xEF && (unsigned char)val[1] == 0xBB && (unsigned char)val[2] == 0xBF)
		return 1; /* Helm strips a UTF-8 BOM */
	return 0;
}

/* Replaces the member of map whose key is `key`, a key string of map itself (from
 * sorted_keys(): found without hashing). */
static int set_inline(json_t *map, const char *key, const char *text)
{
	json_t *m = engine_emit_marker_inline(text);
	if (!m || json_object_iter_set_new(map, json_object_key_to_iter(key), m) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

int engine_process__configmap(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *data = json_object_get(it->tree, "data");
	const char **keys = NULL;
	size_t n = 0;
	dhg_buf b = DHG_BUF_INIT(0);
	char *fpath = NULL, *base = NULL;
	int err;

	if ((err = sorted_keys(&keys, &n, data)) < 0)
		return err;
	/* files/<template file name without .yaml>/<key> */
	{
		const char *slash = strrchr(it->path, '/');
		const char *fn = slash ? slash + 1 : it->path;
		size_t l = strlen(fn);
		if (l > 5 && !strcmp(fn + l - 5, ".yaml"))
			l -= 5;
		if (!(base = dhg_strndup(fn, l))) {
			err = DHG_ENOMEM;
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_iter_value(json_object_key_to_iter(keys[i]));
		const char *s;
		size_t len;
		if (!json_is_string(v) || !engine_process__values_safe(v))
			continue;
		s = json_string_value(v);
		len = json_string_length(v);
		dhg_buf_clear(&b);
		if (len > ENGINE_PROCESS_FILE_THRESHOLD && !file_unsafe(keys[i], s) && strlen(s) == len) {
			free(fpath);
			if (!(fpath = dhg_asprintf("files/%s/%s", base, keys[i]))) {
				err = DHG_ENOMEM;
				goto done;
			}
			if ((err = engine_process__extra_add(ctx, fpath, s, len)) < 0)
				goto done;
			if ((err = dhg_buf_printf(&b, "{{ .Files.Get \"%s\" | toJson }}", fpath)) < 0)
				goto done;
		} else {
			if ((err = engine_process__vset(ctx, it, json_incref(v), "ConfigMap data",
							P("data", keys[i]))) < 0)
				goto done;
			if ((err = engine_emit__puts(&b, "{{ ")) < 0 ||
			    (err = engine_process__vref(&b, it, P("data", keys[i]))) < 0 ||
			    (err = engine_emit__puts(&b, " | toJson }}")) < 0)
				goto done;
		}
		if ((err = set_inline(data, keys[i], dhg_buf_cstr(&b))) < 0)
			goto done;
	}
	err = 0;
done:
	free(keys);
	free(fpath);
	free(base);
	dhg_buf_dispose(&b);
	return err;
}

static int secret_section(engine_process__ctx *ctx, engine_process__item *it, const char *section)
{
	json_t *data = json_object_get(it->tree, section);
	const char **keys = NULL;
	size_t n = 0;
	dhg_buf b = DHG_BUF_INIT(0), ref = DHG_BUF_INIT(0);
	int err, is_data = !strcmp(section, "data");
	char what[512];

	if ((err = sorted_keys(&keys, &n, data)) < 0)
		return err;
	engine_process__what(what, sizeof(what), it);
	for (char *p = what; *p; p++) /* it goes into a Go string literal */
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '_';
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_iter_value(json_object_key_to_iter(keys[i]));
		dhg_buf_clear(&b);
		dhg_buf_clear(&ref);
		if ((err = engine_process__vref(&ref, it, P(section, keys[i]))) < 0)
			goto done;
		if (ctx->opts->secrets == ENGINE_SECRETS_INCLUDE) {
			if (!json_is_string(v) || !engine_process__values_safe(v))
				continue; /* kept literal: include mode writes the value anyway */
			if ((err = engine_process__vset(ctx, it, json_incref(v),
							is_data ? "Secret data (base64, as in the input)"
								: "Secret stringData",
							P(section, keys[i]))) < 0)
				goto done;
			err = dhg_buf_printf(&b, "{{ %s | toJson }}", dhg_buf_cstr(&ref));
		} else {
			if ((err = engine_process__vset(ctx, it, json_string(""),
							is_data ? "Secret value (plain text; base64-encoded by the "
								  "template); required"
								: "Secret stringData value; required",
							P(section, keys[i]))) < 0)
				goto done;
			/* the --set path, with dots inside the key escaped as --set wants (\.) */
			char esc[512];
			size_t el = 0;
			for (const char *p = keys[i]; *p && el + 4 < sizeof(esc); p++) {
				if (*p == '.') { /* Go source \\. renders as \. */
					esc[el++] = '\\';
					esc[el++] = '\\';
				}
				/* Secret keys are [-._a-zA-Z0-9]+; anything else can't break the literal */
				esc[el++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '_' : *p;
			}
			esc[el] = '\0';
			char plain[256];
			size_t pl = 0; /* snprintf("%s") */
			plain[0] = '\0';
			engine_process__cat(plain, sizeof(plain), &pl, keys[i], (size_t)-1);
			for (char *p = plain; *p; p++)
				if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
					*p = '_';
			/* "{{ required \"set %s.%s.%s.%s (the value of key %s of %s is not stored in the
			 * chart)\" %s%s | toJson }}", without printf */
			const char *parts[] = {"{{ required \"set ", it->vkey, ".", it->vsub, ".", section, ".", esc,
					       " (the value of key ", plain, " of ", what,
					       " is not stored in the chart)\" ", dhg_buf_cstr(&ref),
					       is_data ? " | b64enc" : "", " | toJson }}"};
			err = 0;
			for (size_t pi = 0; !err && pi < sizeof(parts) / sizeof(parts[0]); pi++)
				err = engine_emit__puts(&b, parts[pi]);
		}
		if (err < 0)
			goto done;
		if ((err = set_inline(data, keys[i], dhg_buf_cstr(&b))) < 0)
			goto done;
	}
	err = 0;
done:
	free(keys);
	dhg_buf_dispose(&b);
	dhg_buf_dispose(&ref);
	return err;
}

static int external_secret(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *es = NULL, *meta, *spec, *target, *list, *seen = NULL, *src_meta;
	const char *sections[] = {"data", "stringData"};
	const char **keys = NULL;
	size_t n = 0;
	dhg_buf b = DHG_BUF_INIT(0);
	const char *type = json_string_value(json_object_get(it->obj, "type"));
	int err = DHG_ENOMEM;

	src_meta = json_object_get(it->obj, "metadata");
	if (!(es = json_object()) || !(meta = json_object()) || json_object_set_new(es, "metadata", meta) < 0)
		goto oom;
	if (json_object_set_new(es, "apiVersion", json_string("external-secrets.io/v1beta1")) < 0 ||
	    json_object_set_new(es, "kind", json_string("ExternalSecret")) < 0 ||
	    json_object_set_new(meta, "name", json_string(it->name)) < 0)
		goto oom;
	if (it->ns && json_object_set_new(meta, "namespace", json_string(it->ns)) < 0)
		goto oom;
	if (json_object_get(src_meta, "labels") &&
	    json_object_set_new(meta, "labels", json_deep_copy(json_object_get(src_meta, "labels"))) < 0)
		goto oom;
	if (!(spec = json_object()) || json_object_set_new(es, "spec", spec) < 0)
		goto oom;
	if (json_object_set_new(spec, "refreshInterval", json_string("1h")) < 0 ||
	    json_object_set_new(spec, "secretStoreRef",
				json_pack("{s:s,s:s}", "name",
					  ctx->opts->external_store_name ? ctx->opts->external_store_name : "secret-store",
					  "kind",
					  ctx->opts->external_store_kind ? ctx->opts->external_store_kind : "SecretStore")) < 0)
		goto oom;
	if (!(target = json_pack("{s:s,s:s}", "name", it->name, "creationPolicy", "Owner")) ||
	    json_object_set_new(spec, "target", target) < 0)
		goto oom;
	if (type && json_object_set_new(target, "template", json_pack("{s:s}", "type", type)) < 0)
		goto oom;
	if ((err = engine_process__param_scalar(ctx, it, spec, "refreshInterval", "ExternalSecret refresh interval",
						P("refreshInterval"))) < 0)
		goto done;
	if ((err = engine_process__vset(ctx, it, json_string(it->name), "Key of the secret in the external store",
					P("remoteKey"))) < 0)
		goto done;
	if ((err = engine_emit__puts(&b, "{{ ")) < 0 || (err = engine_process__vref(&b, it, P("remoteKey"))) < 0 ||
	    (err = engine_emit__puts(&b, " | toJson }}")) < 0)
		goto done;
	err = DHG_ENOMEM;
	if (!(list = json_array()) || json_object_set_new(spec, "data", list) < 0)
		goto oom;
	if (!(seen = json_object()))
		goto oom;
	for (int s = 0; s < 2; s++) {
		free(keys);
		if ((err = sorted_keys(&keys, &n, json_object_get(it->obj, sections[s]))) < 0)
			goto done;
		err = DHG_ENOMEM;
		for (size_t i = 0; i < n; i++) {
			json_t *item, *rr;
			if (json_object_get(seen, keys[i]))
				continue;
			json_object_set_new(seen, keys[i], json_true());
			if (!(rr = json_pack("{s:o,s:s}", "key", engine_emit_marker_inline(dhg_buf_cstr(&b)), "property",
					     keys[i])))
				goto oom;
			if (!(item = json_pack("{s:s,s:o}", "secretKey", keys[i], "remoteRef", rr)) ||
			    json_array_append_new(list, item) < 0)
				goto oom;
		}
	}
	json_decref(it->tree);
	it->tree = es;
	es = NULL;
	err = 0;
	goto done;
oom:
	err = dhg_error_set(DHG_ENOMEM, "out of memory");
done:
	free(keys);
	json_decref(seen);
	json_decref(es);
	dhg_buf_dispose(&b);
	return err;
}

int engine_process__secret(engine_process__ctx *ctx, engine_process__item *it)
{
	int err;
	const char *sections[] = {"data", "stringData"};

	/* a value that is not a mapping can't be masked key by key: refuse rather than leak it */
	for (int i = 0; i < 2 && ctx->opts->secrets != ENGINE_SECRETS_INCLUDE; i++) {
		json_t *v = json_object_get(it->obj, sections[i]);
		if (v && !json_is_object(v) && !json_is_null(v))
			return dhg_error_set(DHG_EINVALID, "field %s of a Secret must be a mapping", sections[i]);
	}
	if (ctx->opts->secrets == ENGINE_SECRETS_EXTERNAL)
		return external_secret(ctx, it);
	if ((err = secret_section(ctx, it, "data")) < 0)
		return err;
	return secret_section(ctx, it, "stringData");
}
