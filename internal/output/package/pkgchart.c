#include "output/package/pkgchart.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "output/package/pkgchart_dl.h" /* libarchive, with the calls going through the loaded table */
#include "util/buf.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/str.h"

#define MAX_DEPTH 32
#define MAX_CHART_YAML ((size_t)1 << 20)
#define MAX_IGNORE_RULES 1024

/* ---- Chart.yaml --------------------------------------------------------------------------- */

static int yaml_node(json_t **out, yaml_parser_t *p, yaml_event_t *ev, int depth, const char *source);

static int yaml_fail(yaml_parser_t *p, const char *source)
{
	if (p->error == YAML_MEMORY_ERROR)
		return dhg_error_set(DHG_ENOMEM, "%s: out of memory while parsing YAML", source);
	return dhg_error_set(DHG_EINVALID, "%s: invalid YAML at line %lu column %lu: %s", source,
			     (unsigned long)p->problem_mark.line + 1, (unsigned long)p->problem_mark.column + 1,
			     p->problem ? p->problem : "parse error");
}

/* Consumes the node that starts with *ev (already parsed; this function deletes it). */
static int yaml_node(json_t **out, yaml_parser_t *p, yaml_event_t *ev, int depth, const char *source)
{
	int error = 0;
	json_t *v = NULL, *child = NULL;
	yaml_event_t next;

	*out = NULL;
	if (depth > MAX_DEPTH) {
		yaml_event_delete(ev);
		return dhg_error_set(DHG_EINVALID, "%s: nesting deeper than %d levels", source, MAX_DEPTH);
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t n = ev->data.scalar.length;
		int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (plain && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0))
			v = json_true();
		else if (plain && (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0))
			v = json_false();
		else if (plain && (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0))
			v = json_null();
		else
			v = json_stringn(s, n);
		if (!v) {
			/* json_stringn() refuses invalid UTF-8, or is out of memory */
			error = dhg_utf8_scan(s, n, 1) < n ? dhg_error_set(DHG_EINVALID, "%s: a value is not valid UTF-8", source)
							   : dhg_error_set(DHG_ENOMEM, "out of memory");
			yaml_event_delete(ev);
			return error;
		}
		yaml_event_delete(ev);
		*out = v;
		return 0;
	}
	case YAML_ALIAS_EVENT:
		yaml_event_delete(ev);
		return dhg_error_set(DHG_EINVALID, "%s: YAML aliases are not supported in Chart.yaml", source);
	case YAML_SEQUENCE_START_EVENT:
		yaml_event_delete(ev);
		if (!(v = json_array())) {
			error = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		for (;;) {
			if (!yaml_parser_parse(p, &next)) {
				error = yaml_fail(p, source);
				goto done;
			}
			if (next.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&next);
				break;
			}
			if ((error = yaml_node(&child, p, &next, depth + 1, source)) < 0)
				goto done;
			if (json_array_append_new(v, child) < 0) {
				child = NULL;
				error = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
			child = NULL;
		}
		break;
	case YAML_MAPPING_START_EVENT:
		yaml_event_delete(ev);
		if (!(v = json_object())) {
			error = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		for (;;) {
			char *key;
			if (!yaml_parser_parse(p, &next)) {
				error = yaml_fail(p, source);
				goto done;
			}
			if (next.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&next);
				break;
			}
			if (next.type != YAML_SCALAR_EVENT) {
				unsigned long line = (unsigned long)next.start_mark.line + 1;
				yaml_event_delete(&next);
				error = dhg_error_set(DHG_EINVALID, "%s: line %lu: mapping keys must be scalars", source, line);
				goto done;
			}
			key = dhg_strndup((const char *)next.data.scalar.value, next.data.scalar.length);
			yaml_event_delete(&next);
			if (!key) {
				error = DHG_ENOMEM;
				goto done;
			}
			if (!yaml_parser_parse(p, &next)) {
				free(key);
				error = yaml_fail(p, source);
				goto done;
			}
			error = yaml_node(&child, p, &next, depth + 1, source);
			if (error == 0 && json_object_set_new(v, key, child) < 0)
				error = dhg_utf8_scan(key, strlen(key), 1) < strlen(key)
						? dhg_error_set(DHG_EINVALID, "%s: a key is not valid UTF-8", source)
						: dhg_error_set(DHG_ENOMEM, "out of memory");
			child = NULL;
			free(key);
			if (error < 0)
				goto done;
		}
		break;
	default:
		yaml_event_delete(ev);
		return dhg_error_set(DHG_EINVALID, "%s: unexpected YAML structure", source);
	}
done:
	json_decref(child);
	if (error < 0) {
		json_decref(v);
		return error;
	}
	*out = v;
	return 0;
}

int pkgchart_chart_yaml_parse(json_t **out, const char *data, size_t len, const char *source)
{
	yaml_parser_t p;
	yaml_event_t ev;
	json_t *doc = NULL;
	int error = 0, started = 0;

	*out = NULL;
	if (len > MAX_CHART_YAML)
		return dhg_error_set(DHG_ETOOBIG, "%s: larger than %zu bytes", source, MAX_CHART_YAML);
	if (!yaml_parser_initialize(&p))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			error = yaml_fail(&p, source);
			goto done;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			if (ev.type == YAML_DOCUMENT_START_EVENT && started) {
				yaml_event_delete(&ev);
				error = dhg_error_set(DHG_EINVALID, "%s: more than one YAML document", source);
				goto done;
			}
			if (ev.type == YAML_DOCUMENT_START_EVENT)
				started = 1;
			yaml_event_delete(&ev);
			continue;
		}
		if (doc) {
			yaml_event_delete(&ev);
			error = dhg_error_set(DHG_EINVALID, "%s: more than one YAML document", source);
			goto done;
		}
		if ((error = yaml_node(&doc, &p, &ev, 0, source)) < 0)
			goto done;
	}
	if (!json_is_object(doc)) {
		error = dhg_error_set(DHG_EINVALID, "%s: not a YAML mapping", source);
		goto done;
	}
	*out = doc;
	doc = NULL;
done:
	json_decref(doc);
	yaml_parser_delete(&p);
	return error;
}

/* ---- config JSON -------------------------------------------------------------------------- */

static const engine_file *find_file(const engine_chart *c, const char *path)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i].path, path) == 0)
			return &c->files[i];
	return NULL;
}

/* Copies meta[key] into cfg when it is a non-empty string (Go's omitempty). */
static int copy_string(json_t *cfg, const json_t *meta, const char *key)
{
	json_t *v = json_object_get(meta, key);
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v))
		v = json_string(json_is_true(v) ? "true" : "false");
	else if (json_is_string(v))
		json_incref(v);
	else
		return dhg_error_set(DHG_EINVALID, "Chart.yaml: field '%s' must be a string", key);
	if (!v)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (json_string_length(v) == 0) {
		json_decref(v);
		return 0;
	}
	if (json_object_set_new(cfg, key, v) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

static int copy_string_list(json_t *cfg, const json_t *meta, const char *key)
{
	json_t *v = json_object_get(meta, key), *arr, *item;
	size_t i;
	if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (!json_is_array(v))
		return dhg_error_set(DHG_EINVALID, "Chart.yaml: field '%s' must be a list of strings", key);
	if (!(arr = json_array()))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item)) {
			json_decref(arr);
			return dhg_error_set(DHG_EINVALID, "Chart.yaml: %s[%zu] must be a string", key, i);
		}
		json_array_append(arr, item);
	}
	if (json_object_set_new(cfg, key, arr) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

/* A list of objects keeping only `fields` (strings) in that order, plus booleans/lists where
 * given as such. */
static int copy_object_list(json_t *cfg, const json_t *meta, const char *key, const char *const *fields)
{
	json_t *v = json_object_get(meta, key), *arr, *item;
	size_t i;
	int error = 0;
	if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (!json_is_array(v))
		return dhg_error_set(DHG_EINVALID, "Chart.yaml: field '%s' must be a list", key);
	if (!(arr = json_array()))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_array_foreach(v, i, item)
	{
		json_t *o;
		if (!json_is_object(item)) {
			error = dhg_error_set(DHG_EINVALID, "Chart.yaml: %s[%zu] must be a mapping", key, i);
			goto done;
		}
		if (!(o = json_object())) {
			error = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		json_array_append_new(arr, o);
		for (const char *const *f = fields; *f; f++) {
			json_t *fv = json_object_get(item, *f);
			if (!fv || json_is_null(fv))
				continue;
			if (json_is_string(fv) && json_string_length(fv) == 0)
				continue;
			if (json_is_true(fv) || json_is_string(fv) || (json_is_array(fv) && json_array_size(fv)))
				json_object_set(o, *f, fv);
		}
	}
	if (json_object_set_new(cfg, key, arr) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
done:
	json_decref(arr);
	return error;
}

/* Go's encoding/json escapes <, >, & and U+2028/U+2029 inside strings (they can only occur in
 * strings in JSON text), so Helm's config blob has them as \u003c etc.: do the same, so the
 * same Chart.yaml gives the same config bytes as `helm push`. */
static int go_escape(char **out, size_t *len, const char *s)
{
	dhg_buf b = DHG_BUF_INIT(0);
	int error = 0;
	*out = NULL;
	*len = 0;
	for (const char *p = s; *p && error == 0; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '<' || c == '>' || c == '&')
			error = dhg_buf_printf(&b, "\\u%04x", c);
		else if (c == 0xe2 && (unsigned char)p[1] == 0x80 && ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
			error = dhg_buf_printf(&b, "\\u%04x", (unsigned char)p[2] == 0xa8 ? 0x2028 : 0x2029);
			p += 2;
		} else
			error = dhg_buf_putc(&b, (char)c);
	}
	if (error == 0 && !(*out = dhg_buf_detach(&b, len)))
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
	dhg_buf_dispose(&b);
	return error;
}

int pkgchart_json_dump_go(char **out, size_t *len, const json_t *v)
{
	char *s = dhg_json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int error;
	*out = NULL;
	*len = 0;
	if (!s)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	error = go_escape(out, len, s);
	free(s);
	return error;
}

int pkgchart_config_build(char **out, size_t *len, const engine_chart *chart)
{
	static const char *const maint_fields[] = { "name", "email", "url", NULL };
	static const char *const dep_fields[] = { "name",    "version", "repository",    "condition",
						  "tags",    "enabled", "import-values", "alias", NULL };
	const engine_file *f;
	json_t *meta = NULL, *cfg = NULL, *v;
	int error = 0;

	*out = NULL;
	*len = 0;
	if (!(f = find_file(chart, "Chart.yaml")))
		return dhg_error_set(DHG_EINVALID, "chart %s: no Chart.yaml", chart->name);
	if ((error = pkgchart_chart_yaml_parse(&meta, f->data, f->len, "Chart.yaml")) < 0)
		return error;
	if (!(cfg = json_object())) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	v = json_object_get(meta, "name");
	if (!json_is_string(v) || strcmp(json_string_value(v), chart->name) != 0) {
		error = dhg_error_set(DHG_EINVALID, "Chart.yaml: field 'name' must be \"%s\"", chart->name);
		goto done;
	}
	v = json_object_get(meta, "version");
	if (!json_is_string(v) || strcmp(json_string_value(v), chart->version) != 0) {
		error = dhg_error_set(DHG_EINVALID, "Chart.yaml: field 'version' must be \"%s\"", chart->version);
		goto done;
	}
	if ((error = copy_string(cfg, meta, "name")) < 0 || (error = copy_string(cfg, meta, "home")) < 0 ||
	    (error = copy_string_list(cfg, meta, "sources")) < 0 ||
	    (error = copy_string(cfg, meta, "version")) < 0 ||
	    (error = copy_string(cfg, meta, "description")) < 0 ||
	    (error = copy_string_list(cfg, meta, "keywords")) < 0 ||
	    (error = copy_object_list(cfg, meta, "maintainers", maint_fields)) < 0 ||
	    (error = copy_string(cfg, meta, "icon")) < 0 || (error = copy_string(cfg, meta, "apiVersion")) < 0 ||
	    (error = copy_string(cfg, meta, "condition")) < 0 || (error = copy_string(cfg, meta, "tags")) < 0 ||
	    (error = copy_string(cfg, meta, "appVersion")) < 0)
		goto done;
	v = json_object_get(meta, "deprecated");
	if (json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0))
		json_object_set_new(cfg, "deprecated", json_true());
	v = json_object_get(meta, "annotations");
	if (json_is_object(v) && json_object_size(v) > 0) {
		/* Go marshals map keys sorted; json_dumps(JSON_SORT_KEYS) would sort everything, so
		 * build a sorted copy here and keep insertion order elsewhere. */
		const char **keys = calloc(json_object_size(v), sizeof(*keys));
		json_t *ann = json_object();
		const char *k;
		json_t *av;
		size_t n = 0;
		if (!keys || !ann) {
			free(keys);
			json_decref(ann);
			error = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		json_object_foreach(v, k, av) keys[n++] = k;
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
				const char *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
			}
		for (size_t i = 0; i < n; i++) {
			av = json_object_get(v, keys[i]);
			if (!json_is_string(av)) {
				error = dhg_error_set(DHG_EINVALID, "Chart.yaml: annotations.%s must be a string", keys[i]);
				break;
			}
			json_object_set(ann, keys[i], av);
		}
		free(keys);
		if (error < 0) {
			json_decref(ann);
			goto done;
		}
		json_object_set_new(cfg, "annotations", ann);
	} else if (v && !json_is_null(v) && !json_is_object(v)) {
		error = dhg_error_set(DHG_EINVALID, "Chart.yaml: field 'annotations' must be a mapping");
		goto done;
	}
	if ((error = copy_string(cfg, meta, "kubeVersion")) < 0 ||
	    (error = copy_object_list(cfg, meta, "dependencies", dep_fields)) < 0 ||
	    (error = copy_string(cfg, meta, "type")) < 0)
		goto done;
	error = pkgchart_json_dump_go(out, len, cfg);
done:
	json_decref(meta);
	json_decref(cfg);
	return error;
}


/* What libarchive says of its last error on a (out of memory: DHG_ENOMEM), for "<what>: ...". */
static int archive_fail(struct archive *a, const char *chart, const char *what)
{
	const char *msg = archive_error_string(a) ? archive_error_string(a) : "libarchive error";
	if (archive_errno(a) == ENOMEM)
		return dhg_error_set(DHG_ENOMEM, "chart %s: %s: out of memory (%s)", chart, what, msg);
	return dhg_error_set(DHG_ERROR, "chart %s: %s: %s", chart, what, msg);
}

/* ---- tar.gz ------------------------------------------------------------------------------- */

static int path_safe(const char *p)
{
	const char *seg = p;
	if (!*p || *p == '/')
		return 0;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (!end)
			return 1;
		seg = end + 1;
	}
}

static la_ssize_t tgz_write(struct archive *a, void *payload, const void *buf, size_t n)
{
	dhg_buf *b = payload;
	if (dhg_buf_put(b, buf, n) < 0) {
		archive_set_error(a, ENOMEM, "archive too large or out of memory");
		return -1;
	}
	return (la_ssize_t)n;
}

static int cmp_file_order(const void *pa, const void *pb)
{
	const engine_file *a = *(const engine_file *const *)pa, *b = *(const engine_file *const *)pb;
	int ca = strcmp(a->path, "Chart.yaml") == 0, cb = strcmp(b->path, "Chart.yaml") == 0;
	if (ca != cb)
		return ca ? -1 : 1;
	return strcmp(a->path, b->path);
}

int pkgchart_tgz_build(unsigned char **out, size_t *len, const engine_chart *chart)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	const engine_file **order = NULL;
	dhg_buf b = DHG_BUF_INIT(PKGCHART_MAX_TOTAL_BYTES + ((size_t)1 << 20));
	int error = 0, has_chart_yaml = 0;

	*out = NULL;
	*len = 0;
	if (pkgchart__archive_load() < 0)
		return DHG_ERROR;
	if (!chart->name[0] || strchr(chart->name, '/') || !path_safe(chart->name))
		return dhg_error_set(DHG_EINVALID, "chart name '%s' is not valid", chart->name);
	if (chart->nfiles > PKGCHART_MAX_FILES)
		return dhg_error_set(DHG_ETOOBIG, "chart %s: more than %d files", chart->name, PKGCHART_MAX_FILES);
	if (!(order = calloc(chart->nfiles ? chart->nfiles : 1, sizeof(*order))))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	for (size_t i = 0; i < chart->nfiles; i++) {
		if (!chart->files[i].path || !path_safe(chart->files[i].path)) {
			error = dhg_error_set(DHG_EINVALID, "chart %s: file path '%s' is not a safe relative path",
					      chart->name, chart->files[i].path ? chart->files[i].path : "(null)");
			goto done;
		}
		if (strcmp(chart->files[i].path, "Chart.yaml") == 0)
			has_chart_yaml = 1;
		order[i] = &chart->files[i];
	}
	if (!has_chart_yaml) {
		error = dhg_error_set(DHG_EINVALID, "chart %s: no Chart.yaml", chart->name);
		goto done;
	}
	qsort(order, chart->nfiles, sizeof(*order), cmp_file_order);
	for (size_t i = 1; i < chart->nfiles; i++)
		if (strcmp(order[i - 1]->path, order[i]->path) == 0) {
			error = dhg_error_set(DHG_EINVALID, "chart %s: file '%s' appears twice", chart->name,
					      order[i]->path);
			goto done;
		}

	if (!(a = archive_write_new()) || !(e = archive_entry_new())) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, &b, NULL, tgz_write, NULL, NULL) != ARCHIVE_OK) {
		error = archive_fail(a, chart->name, "cannot start the archive");
		goto done;
	}
	for (size_t i = 0; i < chart->nfiles; i++) {
		const engine_file *f = order[i];
		char *name = dhg_asprintf("%s/%s", chart->name, f->path);
		if (!name) {
			error = DHG_ENOMEM;
			goto done;
		}
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		free(name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)f->len);
		archive_entry_set_mtime(e, 0, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (f->len && archive_write_data(a, f->data, f->len) != (la_ssize_t)f->len)) {
			char what[300];
			snprintf(what, sizeof(what), "cannot archive '%s'", f->path);
			error = archive_fail(a, chart->name, what);
			goto done;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		error = archive_fail(a, chart->name, "cannot finish the archive");
		goto done;
	}
	*out = (unsigned char *)dhg_buf_detach(&b, len);
	if (!*out)
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
done:
	if (a)
		archive_write_free(a);
	archive_entry_free(e);
	free(order);
	dhg_buf_dispose(&b);
	return error;
}

/* ---- loading a chart directory ------------------------------------------------------------- */

typedef struct ignore_rule {
	char *pattern; /* without '!' and trailing '/' */
	int negate;
	int dir_only;
} ignore_rule;

typedef struct loader {
	const char *root;
	ignore_rule *rules;
	size_t nrules;
	engine_file *files;
	size_t nfiles, cap;
	size_t total;
} loader;

static int rules_add(loader *l, const char *line, size_t n)
{
	ignore_rule *r;
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	if (n == 0 || line[0] == '#')
		return 0;
	if (l->nrules >= MAX_IGNORE_RULES)
		return dhg_error_set(DHG_ETOOBIG, ".helmignore: more than %d rules", MAX_IGNORE_RULES);
	r = realloc(l->rules, (l->nrules + 1) * sizeof(*r));
	if (!r)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	l->rules = r;
	r = &l->rules[l->nrules];
	memset(r, 0, sizeof(*r));
	if (line[0] == '!') {
		r->negate = 1;
		line++;
		n--;
	}
	if (n && line[n - 1] == '/') {
		r->dir_only = 1;
		n--;
	}
	if (n && line[0] == '/') { /* anchored at the chart root: the same for us */
		line++;
		n--;
	}
	if (n == 0)
		return 0;
	if (!(r->pattern = dhg_strndup(line, n)))
		return DHG_ENOMEM;
	l->nrules++;
	return 0;
}

static int ignored(const loader *l, const char *rel, int is_dir)
{
	const char *base = strrchr(rel, '/');
	int result = 0;
	base = base ? base + 1 : rel;
	for (size_t i = 0; i < l->nrules; i++) {
		const ignore_rule *r = &l->rules[i];
		int m;
		if (r->dir_only && !is_dir)
			continue;
		m = fnmatch(r->pattern, rel, FNM_PATHNAME) == 0;
		if (!m && !strchr(r->pattern, '/'))
			m = fnmatch(r->pattern, base, 0) == 0;
		if (m)
			result = !r->negate;
	}
	return result;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_walk(loader *l, const char *rel, int depth)
{
	char *abs = NULL, **names = NULL;
	size_t nnames = 0, capnames = 0;
	DIR *d = NULL;
	struct dirent *de;
	int error = 0;

	if (depth > MAX_DEPTH)
		return dhg_error_set(DHG_EINVALID, "%s/%s: directories nested too deep", l->root, rel);
	abs = rel[0] ? dhg_asprintf("%s/%s", l->root, rel) : dhg_strdup(l->root);
	if (!abs)
		return DHG_ENOMEM;
	if (!(d = opendir(abs))) {
		error = dhg_error_set(errno == ENOENT ? DHG_ENOTFOUND : DHG_ERROR, "%s: cannot open directory: %s",
				      abs, strerror(errno));
		goto done;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((error = dhg_array_reserve((void **)&names, &capnames, nnames + 1, sizeof(*names))) < 0)
			goto done;
		if (!(names[nnames] = dhg_strdup(de->d_name))) {
			error = DHG_ENOMEM;
			goto done;
		}
		nnames++;
	}
	closedir(d);
	d = NULL;
	qsort(names, nnames, sizeof(*names), cmp_names);
	for (size_t i = 0; i < nnames && error == 0; i++) {
		char *crel = rel[0] ? dhg_asprintf("%s/%s", rel, names[i]) : dhg_strdup(names[i]);
		char *cabs = crel ? dhg_asprintf("%s/%s", l->root, crel) : NULL;
		struct stat st;
		if (!crel || !cabs) {
			free(crel);
			free(cabs);
			error = DHG_ENOMEM;
			break;
		}
		if (stat(cabs, &st) != 0) {
			error = dhg_error_set(DHG_ERROR, "%s: %s", cabs, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (!ignored(l, crel, 1))
				error = load_walk(l, crel, depth + 1);
		} else if (!S_ISREG(st.st_mode)) {
			if (!ignored(l, crel, 0))
				error = dhg_error_set(DHG_EINVALID, "%s: not a regular file or directory", cabs);
		} else if (!ignored(l, crel, 0)) {
			char *data = NULL;
			size_t len = 0;
			if (l->nfiles >= PKGCHART_MAX_FILES) {
				error = dhg_error_set(DHG_ETOOBIG, "%s: more than %d files", l->root, PKGCHART_MAX_FILES);
			} else if ((error = dhg_file_read(&data, &len, cabs, PKGCHART_MAX_FILE_BYTES)) == 0) {
				if (l->total + len > PKGCHART_MAX_TOTAL_BYTES) {
					free(data);
					error = dhg_error_set(DHG_ETOOBIG, "%s: chart larger than %zu bytes", l->root,
							      PKGCHART_MAX_TOTAL_BYTES);
				} else if ((error = dhg_array_reserve((void **)&l->files, &l->cap, l->nfiles + 1,
								      sizeof(*l->files))) < 0) {
					free(data);
				}
				if (error == 0) {
					l->files[l->nfiles].path = crel;
					l->files[l->nfiles].data = data;
					l->files[l->nfiles].len = len;
					l->nfiles++;
					l->total += len;
					crel = NULL;
				}
			}
		}
		free(crel);
		free(cabs);
	}
done:
	if (d)
		closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(abs);
	return error;
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const engine_file *)a)->path, ((const engine_file *)b)->path);
}

void pkgchart_chart_free(engine_chart *c)
{
	engine_chart_free(c);
}

int pkgchart_dir_load(engine_chart **out, const char *dir)
{
	loader l;
	engine_chart *c = NULL;
	char *ign = NULL, *ignpath = NULL;
	size_t ignlen = 0;
	json_t *meta = NULL;
	const char *name, *version;
	int error = 0;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	l.root = dir;
	if (!dhg_path_is_dir(dir))
		return dhg_error_set(dhg_path_exists(dir) ? DHG_EINVALID : DHG_ENOTFOUND, "%s: not a chart directory",
				     dir);
	if ((error = rules_add(&l, "templates/.?*", strlen("templates/.?*"))) < 0)
		goto done;
	if (!(ignpath = dhg_asprintf("%s/.helmignore", dir))) {
		error = DHG_ENOMEM;
		goto done;
	}
	if (dhg_path_exists(ignpath)) {
		const char *p, *end;
		if ((error = dhg_file_read(&ign, &ignlen, ignpath, (size_t)1 << 20)) < 0)
			goto done;
		for (p = ign; p < ign + ignlen; p = end + 1) {
			end = memchr(p, '\n', (size_t)(ign + ignlen - p));
			if (!end)
				end = ign + ignlen;
			if ((error = rules_add(&l, p, (size_t)(end - p))) < 0)
				goto done;
		}
	}
	if ((error = load_walk(&l, "", 0)) < 0)
		goto done;
	qsort(l.files, l.nfiles, sizeof(*l.files), cmp_files);
	if (!(c = calloc(1, sizeof(*c)))) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	c->files = l.files;
	c->nfiles = l.nfiles;
	l.files = NULL;
	l.nfiles = 0;
	{
		const engine_file *cy = find_file(c, "Chart.yaml");
		char src[512];
		if (!cy) {
			error = dhg_error_set(DHG_EINVALID, "%s: no Chart.yaml", dir);
			goto done;
		}
		snprintf(src, sizeof(src), "%s/Chart.yaml", dir);
		if ((error = pkgchart_chart_yaml_parse(&meta, cy->data, cy->len, src)) < 0)
			goto done;
		name = json_string_value(json_object_get(meta, "name"));
		version = json_string_value(json_object_get(meta, "version"));
		if (!name || !name[0] || strlen(name) >= sizeof(c->name) || strchr(name, '/') || !path_safe(name)) {
			error = dhg_error_set(DHG_EINVALID, "%s: field 'name' is missing or not a valid chart name", src);
			goto done;
		}
		if (!version || strlen(version) >= sizeof(c->version) || !dhg_semver_valid(version)) {
			error = dhg_error_set(DHG_EINVALID, "%s: field 'version' is missing or not a semantic version",
					      src);
			goto done;
		}
		snprintf(c->name, sizeof(c->name), "%s", name);
		snprintf(c->version, sizeof(c->version), "%s", version);
	}
	*out = c;
	c = NULL;
done:
	for (size_t i = 0; i < l.nrules; i++)
		free(l.rules[i].pattern);
	free(l.rules);
	for (size_t i = 0; i < l.nfiles; i++) {
		free(l.files[i].path);
		free(l.files[i].data);
	}
	free(l.files);
	pkgchart_chart_free(c);
	json_decref(meta);
	free(ign);
	free(ignpath);
	return error;
}
