/* OCI references, Helm's tag mangling, and the manifest bytes. */
#include "output/oci/ociout.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "output/package/pkgchart.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/str.h"

static int path_component_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-'))
			return 0;
		if (i && (c == '.' || c == '_' || c == '-') && s[i - 1] == '.')
			return 0;
	}
	return 1;
}

static int host_valid(const char *h)
{
	const char *colon;
	size_t n = strlen(h);
	if (n == 0)
		return 0;
	if (h[0] == '[') { /* [v6]:port */
		const char *end = strchr(h, ']');
		if (!end || end == h + 1)
			return 0;
		for (const char *p = h + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1])
			return 0;
	} else {
		colon = strchr(h, ':');
		for (const char *p = h; *p && p != colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return 0;
		if (colon == h)
			return 0;
	}
	if (colon) {
		long port;
		if (dhg_parse_long(&port, colon + 1, 1, 65535) < 0)
			return 0;
	}
	return 1;
}

int ociout_ref_parse(ociout_ref *out, const char *repository)
{
	const char *p, *slash;
	size_t hn, pn;

	memset(out, 0, sizeof(*out));
	if (!repository || !dhg_str_has_prefix(repository, "oci://"))
		return dhg_error_set(DHG_EINVALID, "repository must start with oci://");
	p = repository + 6;
	slash = strchr(p, '/');
	hn = slash ? (size_t)(slash - p) : strlen(p);
	if (hn == 0 || hn >= sizeof(out->host))
		return dhg_error_set(DHG_EINVALID, "repository: missing or too long registry host");
	memcpy(out->host, p, hn);
	out->host[hn] = 0;
	if (strchr(out->host, '@') || !host_valid(out->host))
		return dhg_error_set(DHG_EINVALID, "repository: registry host '%.64s' is not valid (host[:port])",
				     strchr(out->host, '@') ? "(contains credentials)" : out->host);
	if (!slash)
		return 0;
	p = slash + 1;
	pn = strlen(p);
	while (pn && p[pn - 1] == '/')
		pn--;
	if (pn >= sizeof(out->path))
		return dhg_error_set(DHG_EINVALID, "repository: path too long");
	memcpy(out->path, p, pn);
	out->path[pn] = 0;
	for (const char *c = out->path; *c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!path_component_valid(c, n))
			return dhg_error_set(DHG_EINVALID,
					     "repository: path '%s' is not valid (lower-case letters, digits, '.', '_', '-' "
					     "components separated by '/')",
					     out->path);
		c += n + (e ? 1 : 0);
		if (e && !*c)
			break;
	}
	if (strchr(out->path, '?') || strchr(out->path, '#'))
		return dhg_error_set(DHG_EINVALID, "repository: path must not contain '?' or '#'");
	return 0;
}

int ociout_tag_from_version(char out[129], const char *version)
{
	size_t n = version ? strlen(version) : 0;
	if (n == 0 || n > 128)
		return dhg_error_set(DHG_EINVALID, "chart version '%.64s' cannot be an OCI tag (1-128 characters)",
				     version ? version : "");
	for (size_t i = 0; i < n; i++) {
		char c = version[i] == '+' ? '_' : version[i];
		if (!(isalnum((unsigned char)c) || c == '_' || (i > 0 && (c == '.' || c == '-'))))
			return dhg_error_set(DHG_EINVALID, "chart version '%s' cannot be an OCI tag (character %zu)",
					     version, i + 1);
		out[i] = c;
	}
	out[n] = 0;
	return 0;
}

static json_t *descriptor(const char *media, const char *digest, size_t size)
{
	json_t *d = json_object();
	if (!d || json_object_set_new(d, "mediaType", json_string(media)) < 0 ||
	    json_object_set_new(d, "digest", json_string(digest)) < 0 ||
	    json_object_set_new(d, "size", json_integer((json_int_t)size)) < 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* Adds key=value when value is a non-empty string (Helm's addToMap). */
static int ann_add(json_t *ann, const char *key, const char *value)
{
	if (!value || !value[0])
		return 0;
	return json_object_set_new(ann, key, json_string(value));
}

/* Helm's generateOCIAnnotations(): description, title, version, url (home), source (sources[0]),
 * authors (maintainers "Name (email), ..."), created (left out: not reproducible), then the
 * chart's own annotations except title and version. */
static int helm_annotations(json_t *ann, const json_t *meta)
{
	const json_t *m, *v;
	const char *k;
	size_t i;
	dhg_buf authors = DHG_BUF_INIT(1 << 16);
	int error = 0;

	if (ann_add(ann, "org.opencontainers.image.description",
		    json_string_value(json_object_get(meta, "description"))) < 0 ||
	    ann_add(ann, "org.opencontainers.image.title", json_string_value(json_object_get(meta, "name"))) < 0 ||
	    ann_add(ann, "org.opencontainers.image.version", json_string_value(json_object_get(meta, "version"))) < 0 ||
	    ann_add(ann, "org.opencontainers.image.url", json_string_value(json_object_get(meta, "home"))) < 0 ||
	    ann_add(ann, "org.opencontainers.image.source",
		    json_string_value(json_array_get(json_object_get(meta, "sources"), 0))) < 0)
		goto oom;
	json_array_foreach(json_object_get(meta, "maintainers"), i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *email = json_string_value(json_object_get(m, "email"));
		if ((i > 0 && dhg_buf_puts(&authors, ", ") < 0) || (name && dhg_buf_puts(&authors, name) < 0) ||
		    (email && email[0] && dhg_buf_printf(&authors, " (%s)", email) < 0))
			goto oom;
	}
	if (authors.len && ann_add(ann, "org.opencontainers.image.authors", dhg_buf_cstr(&authors)) < 0)
		goto oom;
	json_object_foreach((json_t *)json_object_get(meta, "annotations"), k, v)
	{
		if (strcmp(k, "org.opencontainers.image.title") == 0 || strcmp(k, "org.opencontainers.image.version") == 0)
			continue;
		if (json_is_string(v) && json_object_set(ann, k, (json_t *)v) < 0)
			goto oom;
	}
	goto done;
oom: /* meta is the chart's own config JSON (valid UTF-8): only memory can run out */
	error = dhg_error_set(DHG_ENOMEM, "manifest: out of memory");
done:
	dhg_buf_dispose(&authors);
	return error;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of `o` with keys in byte order (Go marshals maps sorted). New reference or NULL. */
static json_t *sorted_object(const json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	json_t *r = json_object(), *v;
	const char *k;
	if (!keys || !r) {
		free(keys);
		json_decref(r);
		return NULL;
	}
	json_object_foreach((json_t *)o, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 0; i < n; i++)
		if (json_object_set(r, keys[i], json_object_get(o, keys[i])) < 0) {
			json_decref(r);
			r = NULL;
			break;
		}
	free(keys);
	return r;
}

int ociout_manifest_build(char **out, size_t *len, const char *config_digest, size_t config_size,
			  const char *layer_digest, size_t layer_size, const json_t *meta)
{
	json_t *m = json_object(), *layers = json_array(), *ann = json_object(), *sorted = NULL;
	int error = 0;

	*out = NULL;
	*len = 0;
	if (!json_is_object(meta)) {
		error = dhg_error_set(DHG_EINVALID, "manifest: no chart metadata");
		goto done;
	}
	if (!m || !layers || !ann || (error = helm_annotations(ann, meta)) < 0 || !(sorted = sorted_object(ann)) ||
	    json_object_set_new(m, "schemaVersion", json_integer(2)) < 0 ||
	    json_object_set_new(m, "config", descriptor(OCIOUT_MEDIA_CONFIG, config_digest, config_size)) < 0 ||
	    json_array_append_new(layers, descriptor(OCIOUT_MEDIA_CHART, layer_digest, layer_size)) < 0 ||
	    json_object_set(m, "layers", layers) < 0 || json_object_set(m, "annotations", sorted) < 0) {
		error = error < 0 ? error : dhg_error_set(DHG_ENOMEM, "manifest: out of memory");
		goto done;
	}
	error = pkgchart_json_dump_go(out, len, m);
done:
	json_decref(m);
	json_decref(layers);
	json_decref(ann);
	json_decref(sorted);
	return error;
}
