/*
 * engine_chart_generate() and friends: runs the processors over the objects and writes the
 * chart's files (Chart.yaml, values.yaml, values.schema.json, templates/, crds/, files/,
 * _helpers.tpl, NOTES.txt, .helmignore), then the content digest.
 */
#include "engine/engine.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/emit.h"
#include "engine/generate/generate.h"
#include "engine/lifetime.h"
#include "engine/par.h"
#include "engine/process/process.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

#define NOTES_MAX_LIST 50

typedef struct files {
	engine_file *items;
	size_t len, cap;
} files;

static int files_add_take(files *f, const char *path, char *data, size_t len)
{
	char *p;
	if (!data)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (f->len == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 32;
		engine_file *n = realloc(f->items, ncap * sizeof(*n));
		if (!n) {
			free(data);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		f->items = n;
		f->cap = ncap;
	}
	if (!(p = dhg_strdup(path))) {
		free(data);
		return DHG_ENOMEM;
	}
	f->items[f->len].path = p;
	f->items[f->len].data = data;
	f->items[f->len].len = len;
	f->len++;
	return 0;
}

/* Adds b's contents as a file, exactly sized (no growth slack kept for the whole run): a
 * small file is copied and b keeps its memory for the next one; a big one (values.yaml) is
 * handed over and shrunk in place, so that it never exists twice. */
static int files_add_buf(files *f, const char *path, dhg_buf *b)
{
	size_t len = b->len;
	char *d;
	if (len >= ((size_t)64 << 10)) {
		char *s;
		d = dhg_buf_detach(b, &len);
		if (d && (s = realloc(d, len + 1)))
			d = s;
		return files_add_take(f, path, d, len);
	}
	if ((d = malloc(len + 1))) {
		if (len)
			memcpy(d, b->ptr, len);
		d[len] = '\0';
	}
	dhg_buf_clear(b);
	return files_add_take(f, path, d, len);
}

static void files_dispose(files *f)
{
	for (size_t i = 0; i < f->len; i++) {
		free(f->items[i].path);
		free(f->items[i].data);
	}
	free(f->items);
	f->items = NULL;
	f->len = f->cap = 0;
}

/* Appends every file of src to dst (src is emptied, also on failure). */
static int files_move(files *dst, files *src)
{
	if (src->len && dst->cap - dst->len < src->len) {
		size_t ncap = dst->len + src->len;
		engine_file *n = realloc(dst->items, ncap * sizeof(*n));
		if (!n) {
			files_dispose(src);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		dst->items = n;
		dst->cap = ncap;
	}
	if (src->len)
		memcpy(dst->items + dst->len, src->items, src->len * sizeof(*src->items));
	dst->len += src->len;
	free(src->items);
	src->items = NULL;
	src->len = src->cap = 0;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const engine_file *)a)->path, ((const engine_file *)b)->path);
}

/* ---- public small functions --------------------------------------------------------------- */


const engine_file *engine_chart_file(const engine_chart *c, const char *path)
{
	size_t lo = 0, hi;
	if (!c || !path)
		return NULL;
	hi = c->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->files[mid].path, path);
		if (r == 0)
			return &c->files[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Hashes files (in the given order) into h as engine_chart_digest() does. */
static int digest_add(dhg_sha256 *h, const engine_file *files_, size_t nfiles)
{
	unsigned char len8[8];
	int err;

	for (size_t i = 0; i < nfiles; i++) {
		uint64_t l = files_[i].len;
		for (int k = 0; k < 8; k++)
			len8[k] = (unsigned char)(l >> (56 - 8 * k));
		if ((err = dhg_sha256_update(h, files_[i].path, strlen(files_[i].path) + 1)) < 0 ||
		    (err = dhg_sha256_update(h, len8, 8)) < 0 ||
		    (files_[i].len && (err = dhg_sha256_update(h, files_[i].data, files_[i].len)) < 0))
			return err;
	}
	return 0;
}

int engine_chart_digest(char out[DHG_DIGEST_STR_SIZE], const engine_file *files_, size_t nfiles)
{
	dhg_sha256 *h = NULL;
	int err;

	if ((err = dhg_sha256_new(&h)) < 0)
		return err;
	if ((err = digest_add(h, files_, nfiles)) == 0)
		err = dhg_sha256_final_str(out, h);
	dhg_sha256_free(h);
	return err;
}

#define WRITE_CHUNK 16

/* The chart's files written into tmp on up to `threads` threads: files [0, limit) are taken in
 * index order, WRITE_CHUNK at a time; the error is that of the lowest failing file (each thread's
 * message copied), so the same as writing them in order. */
typedef struct wrun {
	const engine_chart *c;
	const char *tmp;
	engine_par par;
} wrun;

static void *writer_main(void *arg)
{
	wrun *r = arg;
	size_t from, to;

	while (engine_par_next(&r->par, &from, &to))
		for (size_t i = from; i < to; i++) {
			const engine_file *f = &r->c->files[i];
			char *p = dhg_asprintf("%s/%s", r->tmp, f->path);
			int err = p ? dhg_file_write(p, f->data, f->len) : DHG_ENOMEM;
			if (err < 0 && p) /* as in file order: a failed write is named, out of memory is not */
				dhg_error_wrap("write chart file %s", f->path);
			free(p);
			if (err < 0) {
				engine_par_fail(&r->par, i, err);
				break;
			}
		}
	return NULL;
}

/* The files in order on this thread, each directory made before its first file. */
static int write_seq(const engine_chart *c, const char *tmp)
{
	char *p = NULL;
	int err = 0;

	for (size_t i = 0; i < c->nfiles; i++) {
		free(p);
		if (!(p = dhg_asprintf("%s/%s", tmp, c->files[i].path))) {
			err = DHG_ENOMEM;
			break;
		}
		{
			const char *slash = strrchr(c->files[i].path, '/');
			size_t dl = slash ? (size_t)(slash - c->files[i].path) : 0;
			/* files are sorted: create each directory once */
			if (dl && !(i > 0 && strncmp(c->files[i - 1].path, c->files[i].path, dl) == 0 &&
				    c->files[i - 1].path[dl] == '/' && !strchr(c->files[i - 1].path + dl + 1, '/')) &&
			    (err = dhg_mkdir_parent(p, 0755)) < 0) {
				dhg_error_wrap("write chart file %s", c->files[i].path);
				break;
			}
		}
		if ((err = dhg_file_write(p, c->files[i].data, c->files[i].len)) < 0) {
			dhg_error_wrap("write chart file %s", c->files[i].path);
			break;
		}
	}
	free(p);
	return err;
}

static int cmp_path_file(const void *key, const void *f)
{
	return strcmp(key, ((const engine_file *)f)->path);
}

/* 1 when a directory of some file's path is also the path of a file: writing in order then
 * fails at that directory, after the file; the threads keep that order only by not being used. */
static int dir_is_file(const engine_chart *c)
{
	char buf[4096];

	for (size_t i = 0; i < c->nfiles; i++) {
		const char *path = c->files[i].path;
		size_t l = strlen(path);
		if (l >= sizeof(buf))
			return 1; /* not checked: in order */
		memcpy(buf, path, l + 1);
		for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (bsearch(buf, c->files, c->nfiles, sizeof(*c->files), cmp_path_file))
				return 1;
			*s = '/';
		}
	}
	return 0;
}

int engine_chart_write_dir(const engine_chart *c, const char *dir)
{
	return engine_chart_write_dir_threads(c, dir, 1);
}

int engine_chart_write_dir_threads(const engine_chart *c, const char *dir, int threads)
{
	char *tmp = NULL, *p = NULL;
	size_t limit;
	int err = 0, merr = 0;
	dhg_error merrd;
	wrun r;

	if (!c || !dir || !*dir)
		return dhg_error_set(DHG_EINVALID, "write chart: no directory given");
	if (threads <= 0 && (err = engine_threads_default(&threads)) < 0)
		return err;
	if (threads > ENGINE_MAX_THREADS)
		threads = ENGINE_MAX_THREADS;
	if ((err = dhg_tmpdir_sibling(&tmp, dir)) < 0)
		return dhg_error_wrap("write chart to %s", dir);
	if (threads == 1 || c->nfiles <= WRITE_CHUNK || dir_is_file(c)) {
		if ((err = write_seq(c, tmp)) < 0)
			goto fail;
		goto replace;
	}
	/* the directories first, on this thread (files are sorted: each directory once); the
	 * files before the first that fails here are still written, as in file order */
	for (limit = 0; limit < c->nfiles; limit++) {
		const char *path = c->files[limit].path, *slash = strrchr(path, '/');
		size_t dl = slash ? (size_t)(slash - path) : 0;
		if (!dl || (limit > 0 && strncmp(c->files[limit - 1].path, path, dl) == 0 &&
			    c->files[limit - 1].path[dl] == '/' && !strchr(c->files[limit - 1].path + dl + 1, '/')))
			continue;
		free(p);
		if (!(p = dhg_asprintf("%s/%s", tmp, path))) {
			merr = DHG_ENOMEM;
			merrd = *dhg_error_last();
			break;
		}
		if ((merr = dhg_mkdir_parent(p, 0755)) < 0) {
			dhg_error_wrap("write chart file %s", path);
			merrd = *dhg_error_last();
			break;
		}
	}
	r.c = c;
	r.tmp = tmp;
	if ((err = engine_par_init(&r.par, limit, WRITE_CHUNK)) < 0)
		goto fail;
	{ /* no more threads than chunks */
		size_t chunks = (limit + WRITE_CHUNK - 1) / WRITE_CHUNK;
		engine_par_run(writer_main, &r, 0, (size_t)threads < chunks ? threads : (int)chunks);
	}
	err = engine_par_result(&r.par);
	engine_par_dispose(&r.par);
	if (err < 0)
		goto fail;
	if (merr < 0) {
		dhg_error_restore(&merrd);
		err = merr;
		goto fail;
	}
replace:
	if ((err = dhg_dir_replace(tmp, dir)) < 0) {
		dhg_error_wrap("write chart to %s", dir);
		goto fail;
	}
	free(p);
	free(tmp);
	return 0;
fail:
	dhg_rm_rf(tmp);
	free(p);
	free(tmp);
	return err;
}

/* ---- object bookkeeping ------------------------------------------------------------------- */

/* a b c d concatenated (NULL parts end the list), malloc'ed; NULL with the error set if OOM. */
static char *join(const char *a, const char *b, const char *c, const char *d)
{
	const char *parts[4] = {a, b, c, d};
	size_t len[4] = {0, 0, 0, 0}, total = 0, n;
	char *out, *p;
	for (n = 0; n < 4 && parts[n]; n++)
		total += len[n] = strlen(parts[n]);
	if (!(out = p = malloc(total + 1))) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(p, parts[i], len[i]);
		p += len[i];
	}
	*p = '\0';
	return out;
}

static const char *sget(const json_t *o, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(o, k1);
	if (k2)
		v = json_object_get(v, k2);
	return json_is_string(v) && !engine_number_is(v) ? json_string_value(v) : NULL;
}

static int cmp_str0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_item(const void *a, const void *b)
{
	const engine_process__item *x = a, *y = b;
	int r;
	if ((r = cmp_str0(x->kind, y->kind)))
		return r;
	if ((r = cmp_str0(x->name, y->name)))
		return r;
	if ((r = cmp_str0(x->ns, y->ns)))
		return r;
	return cmp_str0(x->api, y->api);
}

static char *lower(const char *s)
{
	char *d = dhg_strdup(s);
	for (char *p = d; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

/* A file-name-safe copy of an object name: [a-z0-9.-] kept, anything else becomes '-';
 * a name Helm would treat as a partial or hidden file ('_', '.') gets an "x" prefix. */
static char *file_name(const char *name)
{
	size_t n = strlen(name);
	char *d = malloc(n + 2), *q = d;
	if (!d) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	if (name[0] == '_' || name[0] == '.' || !name[0])
		*q++ = 'x';
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		*q++ = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-') ? c : '-';
	}
	*q = '\0';
	return d;
}

/* The most common value among the strings in counts (an object name -> integer); ties go to
 * the smallest string. Borrowed from counts, or NULL. */
static const char *most_common(const json_t *counts)
{
	const char *best = NULL, *k;
	json_int_t bn = 0;
	json_t *v;
	json_object_foreach((json_t *)counts, k, v)
	{
		json_int_t n = json_integer_value(v);
		if (n > bn || (n == bn && best && strcmp(k, best) < 0)) {
			best = k;
			bn = n;
		}
	}
	return best;
}

static int count_add(json_t *counts, const char *k)
{
	json_t *v = json_object_get(counts, k);
	if (v)
		return json_integer_set(v, json_integer_value(v) + 1) < 0 ? dhg_error_set(DHG_ENOMEM, "out of memory") : 0;
	return json_object_set_new(counts, k, json_integer(1)) < 0 ? dhg_error_set(DHG_ENOMEM, "out of memory") : 0;
}

/* Counts the image tags of the containers array x. */
static int count_images(json_t *counts, const json_t *x)
{
	json_t *c;
	size_t i;
	json_array_foreach(x, i, c)
	{
		const char *img = sget(c, "image", NULL), *at, *col = NULL, *sl;
		int err;
		if (!img)
			continue;
		at = strchr(img, '@');
		sl = strrchr(img, '/');
		for (const char *p = sl ? sl : img; *p && (!at || p < at); p++)
			if (*p == ':')
				col = p;
		if (col) {
			char *t = dhg_strndup(col + 1, at ? (size_t)(at - col - 1) : strlen(col + 1));
			if (!t)
				return DHG_ENOMEM;
			err = count_add(counts, t);
			free(t);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

/* One walk over an input object for two things:
 * - the image tags of its containers, counted into counts: every "containers" /
 *   "initContainers" array of a mapping within 12 levels (count = 0 below that, and inside
 *   such an array);
 * - what the template copy (process/common.c tree_copy) would refuse, recorded in it->refusal
 *   (first one in walk order; the walk ends there), and it->shared when a container below the
 *   root has another reference: the in-place template path (ctx.take) uses these instead of a
 *   second walk. Returns 0 or DHG_ENOMEM. */
static int scan(json_t *counts, const json_t *v, int depth, int count, engine_process__item *it)
{
	const char *k;
	json_t *x;
	size_t i;
	int err;

	if (depth > 200) {
		it->refusal = ENGINE_PROCESS_TOO_DEEP;
		return 0;
	}
	if (depth > 12)
		count = 0;
	if (depth && v->refcount != 1)
		it->shared = 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
		{
			int below = count;
			if (k[0] == '\x01') {
				it->refusal = ENGINE_PROCESS_RESERVED_KEY;
				return 0;
			}
			if (!json_is_object(x) && !json_is_array(x)) {
				if (depth >= 200) { /* a scalar below level 200 */
					it->refusal = ENGINE_PROCESS_TOO_DEEP;
					return 0;
				}
				continue;
			}
			if (count && (k[0] == 'c' || k[0] == 'i') &&
			    (!strcmp(k, "containers") || !strcmp(k, "initContainers")) && json_is_array(x)) {
				if ((err = count_images(counts, x)) < 0)
					return err;
				below = 0;
			}
			if ((err = scan(counts, x, depth + 1, below, it)) < 0 || it->refusal)
				return err;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			if (!json_is_object(x) && !json_is_array(x)) {
				if (depth >= 200) {
					it->refusal = ENGINE_PROCESS_TOO_DEEP;
					return 0;
				}
				continue;
			}
			if ((err = scan(counts, x, depth + 1, count, it)) < 0 || it->refusal)
				return err;
		}
	}
	return 0;
}

/* ---- fixed files -------------------------------------------------------------------------- */

static int put_kv(dhg_buf *b, const char *key, const char *val, int force_quotes)
{
	int err;
	if ((err = engine_emit__puts(b, key)) < 0 || (err = engine_emit__puts(b, ": ")) < 0)
		return err;
	if (force_quotes && engine_emit_plain_ok(val, strlen(val))) {
		if ((err = engine_emit__putc(b, '"')) < 0 || (err = engine_emit__puts(b, val)) < 0 || (err = engine_emit__putc(b, '"')) < 0)
			return err;
	} else if ((err = engine_emit_string(b, val, strlen(val), 2, 0, 1)) < 0) {
		return err;
	}
	return engine_emit__putc(b, '\n');
}

/* Chart.yaml in the conventional key order; version and appVersion always quoted. */
static int put_chart_yaml(files *f, const char *name, const char *version, const char *app_version,
			  const char *description)
{
	dhg_buf b = DHG_BUF_INIT(0);
	int err;
	if ((err = engine_emit__puts(&b, "apiVersion: v2\n")) < 0 || (err = put_kv(&b, "name", name, 0)) < 0 ||
	    (err = put_kv(&b, "description", description, 0)) < 0 || (err = engine_emit__puts(&b, "type: application\n")) < 0 ||
	    (err = put_kv(&b, "version", version, 1)) < 0 ||
	    (app_version && (err = put_kv(&b, "appVersion", app_version, 1)) < 0))
		goto done;
	err = files_add_buf(f, "Chart.yaml", &b);
done:
	dhg_buf_dispose(&b);
	return err;
}

static int put_helpers(files *f, const char *n)
{
	char *s = dhg_asprintf(
		"{{/*\n"
		"Helpers of the %1$s chart (generated by dhg). Object names in the templates are\n"
		"kept literal: they are the names of the objects this chart was generated from.\n"
		"*/}}\n"
		"\n"
		"{{/* Chart name. */}}\n"
		"{{- define \"%1$s.name\" -}}\n"
		"{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix \"-\" }}\n"
		"{{- end }}\n"
		"\n"
		"{{/* Fully qualified app name (release-name-chart, at most 63 characters). */}}\n"
		"{{- define \"%1$s.fullname\" -}}\n"
		"{{- if .Values.fullnameOverride }}\n"
		"{{- .Values.fullnameOverride | trunc 63 | trimSuffix \"-\" }}\n"
		"{{- else }}\n"
		"{{- $name := default .Chart.Name .Values.nameOverride }}\n"
		"{{- if contains $name .Release.Name }}\n"
		"{{- .Release.Name | trunc 63 | trimSuffix \"-\" }}\n"
		"{{- else }}\n"
		"{{- printf \"%%s-%%s\" .Release.Name $name | trunc 63 | trimSuffix \"-\" }}\n"
		"{{- end }}\n"
		"{{- end }}\n"
		"{{- end }}\n"
		"\n"
		"{{/* Chart name and version, as used by the helm.sh/chart label. */}}\n"
		"{{- define \"%1$s.chart\" -}}\n"
		"{{- printf \"%%s-%%s\" .Chart.Name .Chart.Version | replace \"+\" \"_\" | trunc 63 | trimSuffix \"-\" }}\n"
		"{{- end }}\n"
		"\n"
		"{{/* Standard labels, added to the top-level labels of every object. */}}\n"
		"{{- define \"%1$s.labels\" -}}\n"
		"helm.sh/chart: {{ include \"%1$s.chart\" . | quote }}\n"
		"{{ include \"%1$s.selectorLabels\" . }}\n"
		"{{- if .Chart.AppVersion }}\n"
		"app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}\n"
		"{{- end }}\n"
		"app.kubernetes.io/managed-by: {{ .Release.Service | quote }}\n"
		"{{- end }}\n"
		"\n"
		"{{/* Selector labels (not used on the generated objects' own selectors, which stay as they were). */}}\n"
		"{{- define \"%1$s.selectorLabels\" -}}\n"
		"app.kubernetes.io/name: {{ include \"%1$s.name\" . | quote }}\n"
		"app.kubernetes.io/instance: {{ .Release.Name | quote }}\n"
		"{{- end }}\n"
		"\n"
		"{{/* Container image from {repository, tag, digest}: repo[:tag][@digest]. */}}\n"
		"{{- define \"%1$s.image\" -}}\n"
		"{{- .repository -}}\n"
		"{{- if .tag }}:{{ .tag }}{{ end -}}\n"
		"{{- if .digest }}@{{ .digest }}{{ end -}}\n"
		"{{- end }}\n",
		n);
	if (!s)
		return DHG_ENOMEM;
	return files_add_take(f, "templates/_helpers.tpl", s, strlen(s));
}

static int put_notes(files *f, engine_process__item *items, size_t n)
{
	dhg_buf b = DHG_BUF_INIT(0);
	size_t shown = 0, templated = 0;
	int err;

	for (size_t i = 0; i < n; i++)
		if (items[i].emitted && !items[i].is_crd)
			templated++;
	err = dhg_buf_printf(&b,
			     "{{ .Chart.Name }} {{ .Chart.Version }} is installed as release \"{{ .Release.Name }}\" "
			     "in namespace \"{{ .Release.Namespace }}\".\n\n"
			     "It manages %zu object%s:\n",
			     templated, templated == 1 ? "" : "s");
	for (size_t i = 0; !err && i < n; i++) {
		if (!items[i].emitted || items[i].is_crd)
			continue;
		if (shown == NOTES_MAX_LIST) {
			err = dhg_buf_printf(&b, "  ... and %zu more\n", templated - shown);
			break;
		}
		if (!(err = dhg_buf_printf(&b, "  - %s ", items[i].notes_kind)) &&
		    !(err = engine_emit_escape_template(&b, items[i].name, strlen(items[i].name))))
			err = engine_emit__putc(&b, '\n');
		shown++;
	}
	if (!err)
		err = engine_emit__puts(&b, "\nList them with:\n  kubectl get all -l app.kubernetes.io/instance={{ .Release.Name }} "
				       "-n {{ .Release.Namespace }}\n");
	if (!err)
		err = files_add_buf(f, "templates/NOTES.txt", &b);
	dhg_buf_dispose(&b);
	return err;
}

static const char helmignore[] = "# Patterns to ignore when building packages.\n"
				 ".DS_Store\n"
				 ".git/\n"
				 ".gitignore\n"
				 ".bzr/\n"
				 ".bzrignore\n"
				 ".hg/\n"
				 ".hgignore\n"
				 ".svn/\n"
				 "*.swp\n"
				 "*.bak\n"
				 "*.tmp\n"
				 "*.orig\n"
				 "*~\n"
				 ".project\n"
				 ".idea/\n"
				 "*.tmproj\n"
				 ".vscode/\n";

/* ---- values, schema ------------------------------------------------------------------------ */

static int put_json_string(dhg_buf *b, const char *s)
{
	int err = engine_emit__putc(b, '"');
	const unsigned char *p = (const unsigned char *)s, *from = p;
	for (; !err && *p; p++) {
		if (*p == '"' || *p == '\\' || *p < 0x20) {
			if ((err = engine_emit__put(b, from, (size_t)(p - from))) < 0)
				break;
			err = *p < 0x20 ? dhg_buf_printf(b, "\\u%04x", *p) : dhg_buf_printf(b, "\\%c", *p);
			from = p + 1;
		}
	}
	if (!err)
		err = engine_emit__put(b, from, (size_t)(p - from));
	return err ? err : engine_emit__putc(b, '"');
}


typedef engine_emit__member schema_member;

static int put_schema(dhg_buf *b, const json_t *v, const json_t *op, const char *key, int indent, int depth);

/* Member i (0-based: the first has no leading comma) of a "properties" object at indent, for
 * the mapping member m whose node in the opaque tree is below op (NULL: none). */
static int put_schema_member(dhg_buf *b, size_t i, const schema_member *m, const json_t *op, int indent, int depth)
{
	int err;
	if ((i && (err = engine_emit__putc(b, ',')) < 0) || (err = engine_emit__putc(b, '\n')) < 0 ||
	    (err = engine_emit__fill(b, ' ', (size_t)indent + 2)) < 0 || (err = put_json_string(b, m->k)) < 0 ||
	    (err = engine_emit__puts(b, ": ")) < 0)
		return err;
	return put_schema(b, m->v, op ? json_object_get(op, m->k) : NULL, m->k, indent + 2, depth + 1);
}

/* Writes the members of the draft-07 schema of v (types from the defaults), at indent. op is
 * v's node in the opaque tree (process.h): true when v is written as its type only, an
 * object when paths below v are, else NULL. */
static int put_schema_members(dhg_buf *b, const json_t *v, const json_t *op, const char *key, int indent, int depth)
{
	const char *type = "string", *k;
	schema_member small[32];
	schema_member *keys = NULL;
	json_t *x;
	size_t n = 0;
	int err;

	if (depth > 100)
		return dhg_error_set(DHG_EINVALID, "values nested too deeply");
	switch (json_typeof(v)) {
	case JSON_OBJECT: type = "object"; break;
	case JSON_ARRAY: type = "array"; break;
	case JSON_INTEGER: type = "integer"; break;
	case JSON_REAL: type = "number"; break;
	case JSON_TRUE:
	case JSON_FALSE: type = "boolean"; break;
	case JSON_NULL: type = "null"; break;
	default: type = engine_number_is(v) ? "number" : "string"; break; /* exact-text numbers are strings */
	}
	if (!json_is_object(v) || json_object_size(v) == 0 || json_is_true(op)) {
		if ((err = engine_emit__fill(b, ' ', (size_t)indent)) < 0 || (err = engine_emit__puts(b, "\"type\": ")) < 0)
			return err;
		/* int-or-string fields (PodDisruptionBudget minAvailable/maxUnavailable) */
		if (key && key[0] == 'm' && (!strcmp(key, "minAvailable") || !strcmp(key, "maxUnavailable")) &&
		    (json_is_integer(v) || json_is_string(v)))
			return engine_emit__puts(b, "[\"integer\", \"string\"]");
		if ((err = engine_emit__putc(b, '"')) < 0 || (err = engine_emit__puts(b, type)) < 0)
			return err;
		return engine_emit__putc(b, '"');
	}
	if (json_object_size(v) <= 32)
		keys = small;
	else if (!(keys = malloc(json_object_size(v) * sizeof(*keys))))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_object_foreach((json_t *)v, k, x)
	{
		keys[n].k = k;
		keys[n++].v = x;
	}
	engine_emit__sort(keys, n, 0);
	if (!json_is_object(op) || json_object_size(op) == 0)
		op = NULL;
	if ((err = engine_emit__fill(b, ' ', (size_t)indent)) < 0 || (err = engine_emit__puts(b, "\"properties\": {")) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if ((err = put_schema_member(b, i, &keys[i], op, indent, depth)) < 0)
			goto done;
	if ((err = engine_emit__putc(b, '\n')) < 0 || (err = engine_emit__fill(b, ' ', (size_t)indent)) < 0 ||
	    (err = engine_emit__puts(b, "},\n")) < 0 || (err = engine_emit__fill(b, ' ', (size_t)indent)) < 0)
		goto done;
	err = engine_emit__puts(b, "\"type\": \"object\"");
done:
	if (keys != small)
		free(keys);
	return err;
}

static int put_schema(dhg_buf *b, const json_t *v, const json_t *op, const char *key, int indent, int depth)
{
	int err;
	if ((err = engine_emit__puts(b, "{\n")) < 0 || (err = put_schema_members(b, v, op, key, indent + 2, depth)) < 0)
		return err;
	if ((err = engine_emit__putc(b, '\n')) < 0 || (err = engine_emit__fill(b, ' ', (size_t)indent)) < 0)
		return err;
	return engine_emit__putc(b, '}');
}

static int merge_into(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v)
	{
		json_t *d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v)) {
			if (merge_into(d, v) < 0)
				return -1;
		} else if (json_object_set_new(dst, k, json_deep_copy(v)) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Merges the per-top-level-key comment tables (process.h) back into the flat table. */
static int comments_flatten(json_t *comments)
{
	const char *k;
	json_t *v;
	json_t **tabs = NULL;
	size_t n = 0, cap = json_object_size(comments);
	int err = 0;

	if (cap && !(tabs = malloc(cap * sizeof(*tabs))))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_object_foreach(comments, k, v)
		if (k[0] == ENGINE_PROCESS_COMMENTS_PREFIX && json_is_object(v))
			tabs[n++] = v;
	for (size_t i = 0; i < n && !err; i++)
		if (json_object_update(comments, tabs[i]) < 0)
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
	free(tabs);
	return err;
}

/* values.yaml's body is written one top-level key at a time, each with that key's own small
 * comment table (ctx->comments["\x01" key], plus the key's own comment): the emitter's lookups
 * stay in a table of a few dozen entries. values_keys() lists the top-level members sorted
 * (*keys is small or malloc'ed) and says whether that works: 0 when a comment path was too
 * long for the tables or a top-level key (from --set-values) has a control character, and
 * the whole body is then written with one flat table of every comment. Returns 1, 0, or
 * DHG_ENOMEM. */
static int values_keys(const json_t *values, const json_t *comments, schema_member *small, size_t nsmall,
		       schema_member **keys, size_t *n)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	*keys = small;
	*n = json_object_size(values);
	if (*n == 0 || json_object_get(comments, ENGINE_PROCESS_COMMENTS_FLAT) != NULL)
		return 0;
	if (*n > nsmall && !(*keys = malloc(*n * sizeof(**keys))))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_object_foreach((json_t *)values, k, v)
	{
		for (const char *p = k; *p; p++)
			if ((unsigned char)*p < 0x20) {
				if (*keys != small)
					free(*keys);
				*keys = small;
				return 0;
			}
		(*keys)[i].k = k;
		(*keys)[i++].v = v;
	}
	engine_emit__sort(*keys, *n, 0);
	return 1;
}

/* The top-level member m of values.yaml with its comments (only read: safe on several threads
 * at once for distinct members). */
static int put_values_key(dhg_buf *b, const schema_member *m, const json_t *comments)
{
	char small_k[256], *tk = small_k;
	size_t kl = strlen(m->k);
	json_t *tab, *top, *one = NULL, *wrap = NULL;
	int err;

	if (kl + 2 > sizeof(small_k) && !(tk = malloc(kl + 2)))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	tk[0] = ENGINE_PROCESS_COMMENTS_PREFIX;
	memcpy(tk + 1, m->k, kl + 1);
	tab = json_object_getn(comments, tk, kl + 1);
	if (tk != small_k)
		free(tk);
	if (!json_is_object(tab))
		tab = NULL;
	if (json_is_string(top = json_object_get(comments, m->k)) &&
	    ((!tab && !(tab = one = json_object())) || json_object_set_nocheck(tab, m->k, top) < 0))
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
	else if (!(wrap = json_object()) || json_object_set_new_nocheck(wrap, m->k, json_incref((json_t *)m->v)) < 0)
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
	else
		err = engine_emit_yaml(b, wrap, 0, tab);
	json_decref(wrap);
	json_decref(one);
	return err;
}

/* values.yaml's body: the text engine_emit_yaml(values, comments) writes with one flat table
 * of every comment (see values_keys()). */
static int put_values_yaml(dhg_buf *b, const json_t *values, json_t *comments)
{
	schema_member small[64], *keys;
	size_t n;
	int err = values_keys(values, comments, small, 64, &keys, &n);

	if (err < 0)
		return err;
	if (err == 0) {
		if ((err = comments_flatten(comments)) < 0)
			return err;
		return engine_emit_yaml(b, values, 0, comments);
	}
	err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = put_values_key(b, &keys[i], comments);
	if (keys != small)
		free(keys);
	return err;
}

static int values_overlay(engine_process__ctx *ctx)
{
	if (ctx->opts->values_overlay && json_is_object(ctx->opts->values_overlay) &&
	    merge_into(ctx->values, ctx->opts->values_overlay) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

static int put_values_head(dhg_buf *b, const char *chart)
{
	return dhg_buf_printf(b,
			      "# Default values for the %s chart (generated by dhg).\n"
			      "# Keys are the camelCase names of the source objects, then their kind\n"
			      "# (e.g. webFrontend.deployment.replicas). When two objects map to the same\n"
			      "# key, the later one in (kind, name, namespace) order gets a numeric suffix.\n\n",
			      chart);
}

static int put_schema_head(dhg_buf *b, const char *chart)
{
	int err;
	if ((err = dhg_buf_printf(b, "{\n  \"$schema\": \"http://json-schema.org/draft-07/schema#\",\n  \"title\": ")) < 0 ||
	    (err = put_json_string(b, chart)) < 0)
		return err;
	return engine_emit__puts(b, ",\n");
}

/* values.yaml; the comments are not needed afterwards (freed unless engine_exit_soon(): the
 * largest trees of the run are then left to the process exit). Reads ctx->values. */
static int put_values_yaml_file(files *f, engine_process__ctx *ctx)
{
	dhg_buf b = DHG_BUF_INIT(0);
	int err;

	if ((err = put_values_head(&b, ctx->chart)) < 0)
		goto done;
	if ((err = put_values_yaml(&b, ctx->values, ctx->comments)) < 0)
		goto done;
	if ((err = files_add_buf(f, "values.yaml", &b)) < 0)
		goto done;
	if (!engine_exit_soon())
		json_decref(ctx->comments);
	ctx->comments = NULL;
done:
	dhg_buf_dispose(&b);
	return err;
}

/* values.schema.json from ctx->values and ctx->opaque (only read). */
static int put_schema_file(files *f, engine_process__ctx *ctx)
{
	dhg_buf b = DHG_BUF_INIT(0);
	int err;

	if ((err = put_schema_head(&b, ctx->chart)) < 0 ||
	    (err = put_schema_members(&b, ctx->values, ctx->opaque, NULL, 2, 0)) < 0 ||
	    (err = engine_emit__puts(&b, "\n}\n")) < 0)
		goto done;
	err = files_add_buf(f, "values.schema.json", &b);
done:
	dhg_buf_dispose(&b);
	return err;
}

/* The values trees once both files are written (kept for the exit with engine_exit_soon()). */
static void values_release(engine_process__ctx *ctx, int err)
{
	if (err < 0 || !engine_exit_soon()) {
		json_decref(ctx->values);
		json_decref(ctx->opaque);
	}
	ctx->values = ctx->opaque = NULL;
}

static int put_values(files *f, engine_process__ctx *ctx)
{
	int err;

	if ((err = values_overlay(ctx)) < 0 || (err = put_values_yaml_file(f, ctx)) < 0)
		return err;
	err = put_schema_file(f, ctx);
	values_release(ctx, err);
	return err;
}

/* ---- generate ----------------------------------------------------------------------------- */

static int is_crd(const engine_process__item *it)
{
	return !strcmp(it->kind, "CustomResourceDefinition") && it->api && dhg_str_has_prefix(it->api, "apiextensions.k8s.io/");
}

/* The item's object for an error message. With ctx.take the tree may be the input object
 * itself, whose metadata.namespace may have become a template marker: the original string
 * is put back first (the tree is discarded on error anyway). */
static const char *item_describe(char *d, size_t size, engine_process__item *it)
{
	json_t *meta = json_object_get(it->obj, "metadata");
	if (it->kept_ns && json_is_object(meta))
		json_object_set(meta, "namespace", it->kept_ns);
	return engine_object_describe(d, size, it->src);
}

/* ---- pass 2 on several threads ----------------------------------------------------------
 *
 * With threads > 1 (the path pipeline, PAR_MIN items or more) the items are processed and
 * their templates written in chunks of CHUNK consecutive items, taken in order by this thread
 * and threads - 1 helpers, so that a thread that gets less CPU simply does fewer chunks. Each
 * thread has its own processing context (values, comments and opaque trees, extra files; the
 * processors use one context per thread, process.h), file list and buffer; opts, chart,
 * release_ns and configmaps are shared and only read. Each chunk has its own warning list.
 *
 * Afterwards the helpers' contexts are merged into this thread's: values, opaque and the
 * comment tables are trees whose entries lie below values[vkey][vsub], a pair that belongs to
 * one item (pass 1), so objects merge without clashes (a clash would take the later item's
 * value, as the sequential loop does); extra files and warnings are appended in chunk order. Values,
 * comments and the schema are written with sorted keys, so the order of the merge does not
 * show in the chart. The error is the one of the lowest failing chunk (its first failing
 * item, with the message of the sequential loop); chunks after it are not started. */

#define CHUNK 32
#define PAR_MIN 128

typedef struct p2chunk {
	engine_warnings warnings;
} p2chunk;

typedef struct p2run p2run;

typedef struct p2thread {
	p2run *run;
	engine_process__ctx *ctx; /* this thread's context */
	engine_process__ctx own;  /* a helper's context */
	files *f;
	files own_f;
	dhg_buf b;
	size_t count; /* templates written */
} p2thread;

struct p2run {
	engine_process__item *items;
	size_t nchunks;
	p2chunk *chunks;
	int consume;
	engine_par par; /* the items, CHUNK at a time */
};

/* The sequential loop's step for one item: process it, write its template into f and free
 * its trees. */
static int item_run(engine_process__ctx *ctx, files *f, dhg_buf *b, engine_process__item *it, int consume,
		    size_t *count)
{
	char d[512];
	int err;

	if ((err = engine_process__item_run(ctx, it)) < 0) {
		dhg_error_wrap("%s", item_describe(d, sizeof(d), it));
		return err;
	}
	if (!it->tree)
		return 0;
	/* keep only what NOTES.txt needs; the tree is freed once written so memory is reused */
	it->notes_kind = sget(it->tree, "kind", NULL) && !strcmp(sget(it->tree, "kind", NULL), "ExternalSecret")
				 ? "ExternalSecret"
				 : it->kind;
	if (consume) { /* copies first: name and kind point into the input object */
		if (!(it->owned_name = dhg_strdup(it->name)) || !(it->owned_kind = dhg_strdup(it->notes_kind)))
			return DHG_ENOMEM;
		it->name = it->owned_name;
		it->notes_kind = it->owned_kind;
		it->kind = it->api = it->ns = NULL;
	}
	(*count)++;
	dhg_buf_clear(b);
	if ((err = engine_emit_yaml(b, it->tree, (it->is_crd ? 0 : ENGINE_EMIT_TEMPLATE) | ENGINE_EMIT_K8S_ORDER,
				    NULL)) < 0) {
		dhg_error_wrap("%s", item_describe(d, sizeof(d), it));
		return err;
	}
	if ((err = files_add_buf(f, it->path, b)) < 0)
		return err;
	json_decref(it->tree);
	it->tree = NULL;
	it->emitted = 1;
	if (consume) {
		engine_object *src = (engine_object *)it->src; /* owned by the pipeline */
		it->obj = NULL;
		json_decref(it->kept_ns);
		it->kept_ns = NULL;
		json_decref(src->obj);
		src->obj = NULL;
	}
	return 0;
}

static void *p2_main(void *arg)
{
	p2thread *t = arg;
	p2run *r = t->run;
	size_t from, to;

	while (engine_par_next(&r->par, &from, &to)) {
		t->ctx->warnings = &r->chunks[from / CHUNK].warnings;
		for (size_t i = from; i < to; i++) {
			int err = item_run(t->ctx, t->f, &t->b, &r->items[i], r->consume, &t->count);
			if (err < 0) {
				engine_par_fail(&r->par, i, err);
				break;
			}
		}
	}
	return NULL;
}

/* Merges the tree src into dst (references taken from src): objects below the same key are
 * merged, otherwise src's value replaces dst's — as a later item's write would have; with
 * keep_true (the opaque tree), a true in dst (a block above) stays, as vopaque() keeps it. */
static int tree_merge(json_t *dst, json_t *src, int keep_true)
{
	const char *k;
	json_t *v;

	json_object_foreach(src, k, v)
	{
		json_t *d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v)) {
			if (tree_merge(d, v, keep_true) < 0)
				return DHG_ENOMEM;
		} else if (!(keep_true && json_is_true(d)) && json_object_set(dst, k, v) < 0) {
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* Moves a helper's context into ctx (the values trees, comments, extra files). The comments
 * are a table of tables (process.h: one per top-level values key, shared by the items with
 * that key, which may have run on different threads): merged like the values. */
static int ctx_merge(engine_process__ctx *ctx, engine_process__ctx *h)
{
	if (tree_merge(ctx->values, h->values, 0) < 0 || tree_merge(ctx->opaque, h->opaque, 1) < 0 ||
	    tree_merge(ctx->comments, h->comments, 0) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (h->nextra) {
		if (ctx->capextra - ctx->nextra < h->nextra) {
			size_t ncap = ctx->nextra + h->nextra;
			engine_file *n = realloc(ctx->extra, ncap * sizeof(*n));
			if (!n)
				return dhg_error_set(DHG_ENOMEM, "out of memory");
			ctx->extra = n;
			ctx->capextra = ncap;
		}
		memcpy(ctx->extra + ctx->nextra, h->extra, h->nextra * sizeof(*h->extra));
		ctx->nextra += h->nextra;
		h->nextra = 0;
	}
	return 0;
}

static void ctx_dispose_helper(engine_process__ctx *h)
{
	json_decref(h->values);
	json_decref(h->comments);
	json_decref(h->opaque);
	for (size_t i = 0; i < h->nextra; i++) {
		free(h->extra[i].path);
		free(h->extra[i].data);
	}
	free(h->extra);
	memset(h, 0, sizeof(*h));
}

/* Pass 2 on up to `threads` threads (this one included). Returns 0 with the chart's
 * templates added to f, the helpers' contexts merged into ctx, the warnings appended to
 * *warnings and *count templates; or the first error in item order. Falls back to fewer
 * threads when a thread cannot be started. */
static int pass2_parallel(engine_process__ctx *ctx, files *f, engine_warnings *warnings, size_t *count,
			  engine_process__item *items, size_t n, int consume, int threads)
{
	p2run r;
	p2thread t[ENGINE_MAX_THREADS];
	int nt = 0, err = 0, have_par = 0;
	engine_warnings *main_warnings = ctx->warnings;

	memset(&r, 0, sizeof(r));
	r.items = items;
	r.nchunks = (n + CHUNK - 1) / CHUNK;
	r.consume = consume;
	if (threads > ENGINE_MAX_THREADS)
		threads = ENGINE_MAX_THREADS;
	if ((size_t)threads > r.nchunks)
		threads = (int)r.nchunks;
	memset(t, 0, sizeof(*t) * (size_t)threads);
	if (!(r.chunks = calloc(r.nchunks, sizeof(*r.chunks)))) {
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = engine_par_init(&r.par, n, CHUNK)) < 0)
		goto done;
	have_par = 1;
	for (nt = 0; nt < threads; nt++) {
		t[nt].run = &r;
		t[nt].b = (dhg_buf)DHG_BUF_INIT(0);
		if (nt == 0) {
			t[nt].ctx = ctx;
			t[nt].f = f;
			continue;
		}
		t[nt].own = *ctx;
		t[nt].own.extra = NULL;
		t[nt].own.nextra = t[nt].own.capextra = 0;
		t[nt].own.comments = t[nt].own.opaque = NULL;
		if (!(t[nt].own.values = json_object()) || !(t[nt].own.comments = json_object()) ||
		    !(t[nt].own.opaque = json_object())) {
			nt++;
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		t[nt].ctx = &t[nt].own;
		t[nt].f = &t[nt].own_f;
	}
	engine_par_run(p2_main, t, sizeof(*t), nt);
	if ((err = engine_par_result(&r.par)) < 0)
		goto done;
	for (int i = 0; i < nt; i++) {
		*count += t[i].count;
		if (i > 0 && ((err = ctx_merge(ctx, &t[i].own)) < 0 || (err = files_move(f, &t[i].own_f)) < 0))
			goto done;
	}
	for (size_t c = 0; c < r.nchunks; c++)
		for (size_t i = 0; i < r.chunks[c].warnings.len; i++) {
			if ((err = engine_warnings_addf(warnings, "%s", r.chunks[c].warnings.items[i])) < 0)
				goto done;
		}
done:
	ctx->warnings = main_warnings;
	for (int i = 0; i < nt; i++) {
		dhg_buf_dispose(&t[i].b);
		if (i > 0) {
			ctx_dispose_helper(&t[i].own);
			files_dispose(&t[i].own_f);
		}
	}
	for (size_t c = 0; r.chunks && c < r.nchunks; c++)
		engine_warnings_dispose(&r.chunks[c].warnings);
	free(r.chunks);
	if (have_par)
		engine_par_dispose(&r.par);
	return err;
}

/* ---- pass 1's per-item part, on several threads ---------------------------------------------
 *
 * item_prep() reads one input object and writes only that item's fields and the counts it is
 * given: apiVersion, kind, name and namespace (borrowed), the walk of scan() (image tags), the
 * namespace count, is_crd, and the name parts that do not depend on the other items: the
 * file path without its ".yaml" (in it->path), the camelCase name (it->vkey) and the
 * camelCase kind (in it->vsub); generate() then checks the items and resolves name
 * collisions in order. An item without apiVersion, kind or metadata.name gets only those
 * fields (generate() reports the first such item). With several threads each has its own
 * counts (summed afterwards: most_common() does not depend on their order) and takes the
 * next CHUNK items in order; item_prep() fails only when out of memory (the lowest failing
 * item's error is returned).
 */

static int item_prep(engine_process__item *it, const engine_options *opts, json_t *tags, json_t *nscount)
{
	const char *kind_for_path;
	char *kl, *fn;
	int err;

	it->api = sget(it->obj, "apiVersion", NULL);
	it->kind = sget(it->obj, "kind", NULL);
	it->name = sget(it->obj, "metadata", "name");
	it->ns = sget(it->obj, "metadata", "namespace");
	if (it->ns && !*it->ns)
		it->ns = NULL;
	if (!it->api || !it->kind || !it->name)
		return 0;
	if ((it->ns && (err = count_add(nscount, it->ns)) < 0) || (err = scan(tags, it->obj, 0, 1, it)) < 0)
		return err;
	it->scanned = 1;
	it->is_crd = is_crd(it);
	kind_for_path = !strcmp(it->kind, "Secret") && opts->secrets == ENGINE_SECRETS_EXTERNAL ? "ExternalSecret" : it->kind;
	if (!(kl = lower(kind_for_path)) || !(fn = file_name(it->name))) {
		free(kl);
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	}
	it->path = it->is_crd ? join("crds/", fn, NULL, NULL) : join("templates/", fn, "-", kl);
	free(fn);
	free(kl);
	if (!it->path || !(it->vkey = engine_process__camel(it->name)) || !(it->vsub = engine_process__camel(it->kind)))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

typedef struct p1run {
	engine_process__item *items;
	const engine_options *opts;
	engine_par par; /* the items, CHUNK at a time */
} p1run;

typedef struct p1thread {
	p1run *run;
	json_t *tags, *nscount;
} p1thread;

static void *p1_main(void *arg)
{
	p1thread *t = arg;
	p1run *r = t->run;
	size_t from, to;

	while (engine_par_next(&r->par, &from, &to))
		for (size_t i = from; i < to; i++) {
			int err = item_prep(&r->items[i], r->opts, t->tags, t->nscount);
			if (err < 0) {
				engine_par_fail(&r->par, i, err);
				return NULL;
			}
		}
	return NULL;
}

/* Adds every count of src to dst. 0 or DHG_ENOMEM. */
static int counts_merge(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach(src, k, v)
	{
		json_t *d = json_object_get(dst, k);
		if (d ? json_integer_set(d, json_integer_value(d) + json_integer_value(v)) < 0
		      : json_object_set(dst, k, v) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
	}
	return 0;
}

/* item_prep() of items[0..n) on up to `threads` threads, counting into tags and nscount.
 * Returns 0, or < 0 with *prepared = the failed item (those before it are prepared). */
static int prep_parallel(json_t *tags, json_t *nscount, engine_process__item *items, size_t n,
			 const engine_options *opts, int threads, size_t *prepared)
{
	p1run r;
	p1thread t[ENGINE_MAX_THREADS];
	int nt = 0, err = 0;

	r.items = items;
	r.opts = opts;
	if (threads > ENGINE_MAX_THREADS)
		threads = ENGINE_MAX_THREADS;
	if ((err = engine_par_init(&r.par, n, CHUNK)) < 0)
		return err;
	for (nt = 0; nt < threads; nt++) {
		t[nt].run = &r;
		t[nt].tags = nt == 0 ? json_incref(tags) : json_object();
		t[nt].nscount = nt == 0 ? json_incref(nscount) : json_object();
		if (!t[nt].tags || !t[nt].nscount) {
			nt++;
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
	}
	engine_par_run(p1_main, t, sizeof(*t), nt);
	if ((err = engine_par_result(&r.par)) < 0) {
		*prepared = r.par.err_at; /* every item before it was prepared: chunks go out in order */
		goto done;
	}
	for (int i = 1; i < nt && !err; i++)
		if ((err = counts_merge(tags, t[i].tags)) == 0)
			err = counts_merge(nscount, t[i].nscount);
done:
	for (int i = 0; i < nt; i++) {
		json_decref(t[i].tags);
		json_decref(t[i].nscount);
	}
	engine_par_dispose(&r.par);
	return err;
}

/* ---- values.yaml and values.schema.json in pieces, on several threads ---------------------
 *
 * With several threads, both files are written VCHUNK top-level keys at a time: the schema's
 * pieces first, then values.yaml's, taken in order by helper threads and, once it has written
 * the helpers, NOTES.txt and .helmignore and hashed every other file (all of them sort before
 * "values.schema.json"), by this one. A piece is appended to its file as soon as every piece
 * before it is, so only a few exist at a time; a file is hashed into the chart digest as soon
 * as it is complete and the files before it are hashed (valuer_hash()), while the other pieces
 * are still being written. The bytes are those put_values() writes; the tree is only read.
 * Errors keep the sequential order: values.yaml's (its lowest piece's), then the schema's, then
 * this thread's; every piece is written even after a failure, so that the lowest one is known.
 * The flat-comments case (values_keys() returns 0) and an opaque or empty root are written by
 * put_values_yaml_file() and put_schema_file() on this thread.
 */

#define VCHUNK 64

typedef struct valuer {
	engine_process__ctx *ctx;
	schema_member small[64], *keys;
	size_t n, nchunks;  /* top-level keys; pieces per file */
	const json_t *op;   /* the opaque tree's root; NULL when it has no member */
	engine_par par;     /* hands out the pieces [0, 2 * nchunks): the schema's, then values.yaml's */
	pthread_mutex_t mu; /* everything below */
	dhg_buf *pieces;    /* written, not yet appended */
	unsigned char *ready;
	size_t appended;    /* pieces already appended to out[] */
	dhg_buf out[2];     /* values.yaml, values.schema.json */
	size_t err_at;      /* the lowest failed piece in sequential order (values.yaml's first) */
	int err;
	dhg_error errd;
	dhg_sha256 *h;      /* the chart digest, once every file before the values files is in it */
	int hash_next;      /* 0: not yet, 1: the schema next, 2: values.yaml next, 3: both hashed */
	int hashing;        /* a thread is hashing a file */
	int herr;           /* hashing failed (message in herrd) */
	dhg_error herrd;
	pthread_t tids[ENGINE_MAX_THREADS];
	int nthreads, have_par, have_mu, started;
} valuer;

/* Piece t (in the order handed out) in sequential order: values.yaml's pieces, then the schema's. */
static size_t piece_seq(const valuer *v, size_t t)
{
	return t < v->nchunks ? v->nchunks + t : t - v->nchunks;
}

/* Records that piece t failed with err (the calling thread's message); under v->mu. */
static void valuer_fail(valuer *v, size_t t, int err)
{
	size_t seq = piece_seq(v, t);
	if (!v->err || seq < v->err_at) {
		v->err = err;
		v->err_at = seq;
		v->errd = *dhg_error_last();
	}
}

/* Appends, under v->mu, the ready pieces that follow the appended ones (the schema's closing
 * lines after its last piece). 0 or DHG_ENOMEM with *at = the piece that could not be appended. */
static int valuer_append(valuer *v, size_t *at)
{
	int err = 0;
	while (v->appended < 2 * v->nchunks && v->ready[v->appended]) {
		size_t k = v->appended;
		dhg_buf *o = &v->out[k < v->nchunks];
		if ((err = engine_emit__put(o, v->pieces[k].ptr ? v->pieces[k].ptr : "", v->pieces[k].len)) < 0 ||
		    (k + 1 == v->nchunks && (err = engine_emit__puts(o, "\n  },\n  \"type\": \"object\"\n}\n")) < 0)) {
			*at = k;
			break;
		}
		dhg_buf_dispose(&v->pieces[k]);
		v->appended++;
	}
	return err;
}

/* Hashes the complete values files whose turn it is (called with v->mu held; the hashing
 * itself runs without it: a complete file is no longer written). */
static void valuer_hash(valuer *v)
{
	while (!v->hashing && !v->herr) {
		engine_file ef;
		int file, err;
		if (v->hash_next == 1 && v->appended >= v->nchunks)
			file = 1;
		else if (v->hash_next == 2 && v->appended == 2 * v->nchunks)
			file = 0;
		else
			return;
		ef.path = (char *)(file ? "values.schema.json" : "values.yaml");
		ef.data = v->out[file].ptr;
		ef.len = v->out[file].len;
		v->hashing = 1;
		pthread_mutex_unlock(&v->mu);
		err = digest_add(v->h, &ef, 1);
		pthread_mutex_lock(&v->mu);
		v->hashing = 0;
		if (err < 0) {
			v->herr = err;
			v->herrd = *dhg_error_last();
			return;
		}
		v->hash_next++;
	}
}

static void *valuer_main(void *arg)
{
	valuer *v = arg;
	size_t t, to;

	while (engine_par_next(&v->par, &t, &to)) {
		int schema = t < v->nchunks;
		size_t from = (schema ? t : t - v->nchunks) * VCHUNK, end = from + VCHUNK < v->n ? from + VCHUNK : v->n;
		size_t at = t;
		int err = 0;
		for (size_t i = from; i < end && !err; i++)
			err = schema ? put_schema_member(&v->pieces[t], i, &v->keys[i], v->op, 2, 0)
				     : put_values_key(&v->pieces[t], &v->keys[i], v->ctx->comments);
		pthread_mutex_lock(&v->mu);
		if (!err) {
			v->ready[t] = 1;
			if ((err = valuer_append(v, &at)) == 0)
				valuer_hash(v);
		}
		if (err < 0)
			valuer_fail(v, at, err);
		pthread_mutex_unlock(&v->mu);
	}
	return NULL;
}

/* Starts the helper threads (threads - 1 of them) on ctx's values: 1 when started, 0 when the
 * values are written some other way (see above), or < 0. */
static int valuer_start(valuer *v, engine_process__ctx *ctx, int threads)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->ctx = ctx;
	v->out[0] = v->out[1] = (dhg_buf)DHG_BUF_INIT(0);
	if (json_is_true(ctx->opaque))
		return 0;
	if ((err = values_keys(ctx->values, ctx->comments, v->small, 64, &v->keys, &v->n)) <= 0)
		return err;
	v->op = json_is_object(ctx->opaque) && json_object_size(ctx->opaque) ? ctx->opaque : NULL;
	v->nchunks = (v->n + VCHUNK - 1) / VCHUNK;
	if (!(v->pieces = calloc(2 * v->nchunks, sizeof(*v->pieces))) || !(v->ready = calloc(2 * v->nchunks, 1)))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	for (size_t i = 0; i < 2 * v->nchunks; i++)
		v->pieces[i] = (dhg_buf)DHG_BUF_INIT(0);
	if ((err = put_values_head(&v->out[0], ctx->chart)) < 0 || (err = put_schema_head(&v->out[1], ctx->chart)) < 0 ||
	    (err = engine_emit__puts(&v->out[1], "  \"properties\": {")) < 0)
		return err;
	if (pthread_mutex_init(&v->mu, NULL) != 0)
		return dhg_error_set(DHG_ENOMEM, "cannot create a mutex");
	v->have_mu = 1;
	if ((err = engine_par_init(&v->par, 2 * v->nchunks, 1)) < 0)
		return err;
	v->have_par = 1;
	if (threads > ENGINE_MAX_THREADS)
		threads = ENGINE_MAX_THREADS;
	for (int t = 1; t < threads; t++) {
		if (pthread_create(&v->tids[v->nthreads], NULL, valuer_main, v) != 0)
			break; /* this thread does the rest in valuer_finish() */
		v->nthreads++;
	}
	v->started = 1;
	return 1;
}

/* Every file before the values files is in the digest h: the values files follow as soon as
 * they are complete (h is used by the helpers until valuer_finish()). */
static void valuer_hash_from(valuer *v, dhg_sha256 *h)
{
	pthread_mutex_lock(&v->mu);
	v->h = h;
	v->hash_next = 1;
	valuer_hash(v);
	pthread_mutex_unlock(&v->mu);
}

/* Writes the pieces no helper has taken, on this thread, and joins the helpers. */
static void valuer_join(valuer *v)
{
	valuer_main(v);
	for (int t = 0; t < v->nthreads; t++)
		pthread_join(v->tids[t], NULL);
	v->nthreads = 0;
	v->started = 0;
}

/* Writes the pieces no helper has taken (on this thread), joins the helpers and, when every
 * piece was written, adds values.yaml and values.schema.json to *f, both hashed into the
 * digest given to valuer_hash_from() (if it was called). Returns the lowest piece's error
 * (restored), then a hashing error, else 0. */
static int valuer_finish(valuer *v, files *f)
{
	int err;

	if (!v->started)
		return 0;
	valuer_join(v);
	if (v->err < 0) {
		dhg_error_restore(&v->errd);
		return v->err;
	}
	if (v->hash_next) {
		valuer_hash(v); /* no other thread is left: the mutex is not needed */
		if (v->herr < 0) {
			dhg_error_restore(&v->herrd);
			return v->herr;
		}
	}
	if ((err = files_add_buf(f, "values.yaml", &v->out[0])) < 0 ||
	    (err = files_add_buf(f, "values.schema.json", &v->out[1])) < 0)
		return err;
	if (!engine_exit_soon())
		json_decref(v->ctx->comments);
	v->ctx->comments = NULL;
	return 0;
}

static void valuer_dispose(valuer *v)
{
	if (v->started) /* after an error of this thread: the helpers end with the pieces */
		valuer_join(v);
	for (size_t i = 0; v->pieces && i < 2 * v->nchunks; i++)
		dhg_buf_dispose(&v->pieces[i]);
	free(v->pieces);
	free(v->ready);
	dhg_buf_dispose(&v->out[0]);
	dhg_buf_dispose(&v->out[1]);
	if (v->keys != v->small)
		free(v->keys);
	if (v->have_par)
		engine_par_dispose(&v->par);
	if (v->have_mu)
		pthread_mutex_destroy(&v->mu);
	memset(v, 0, sizeof(*v));
}

/* consume: objs is owned by the caller's pipeline; each input object is released as soon as
 * its template is written (peak memory: input + chart no longer add up). */
static int generate(engine_chart **out, const engine_objects *objs, const engine_options *opts, int consume,
		    int threads)
{
	valuer vt;
	dhg_sha256 *h = NULL;
	size_t hashed = 0;
	engine_chart *c = NULL;
	engine_process__ctx ctx;
	engine_process__item *items = NULL;
	files f = {NULL, 0, 0};
	json_t *used_paths = NULL, *used_keys = NULL, *nscount = NULL, *tags = NULL;
	const char *version, *app_version, *release_ns;
	char *desc = NULL;
	dhg_buf b = DHG_BUF_INIT(0);
	int err = 0, parallel = 0;
	size_t n = objs ? objs->len : 0, prepared = n;

	*out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	memset(&vt, 0, sizeof(vt));
	if (!opts || !opts->chart_name || !dhg_dns1123_label_valid(opts->chart_name))
		return dhg_error_set(DHG_EINVALID, "chart name '%s' is not a DNS-1123 label (lower case letters, digits, '-', at most 63)",
				     opts && opts->chart_name ? opts->chart_name : "");
	version = opts->chart_version ? opts->chart_version : "0.1.0";
	if (!dhg_semver_valid(version))
		return dhg_error_set(DHG_EINVALID, "chart version '%s' is not a semantic version (e.g. 0.1.0)", version);
	if (opts->secrets == ENGINE_SECRETS_EXTERNAL && opts->external_store_kind &&
	    strcmp(opts->external_store_kind, "SecretStore") && strcmp(opts->external_store_kind, "ClusterSecretStore"))
		return dhg_error_set(DHG_EINVALID, "external secret store kind '%s' is not SecretStore or ClusterSecretStore",
				     opts->external_store_kind);
	if (!(c = calloc(1, sizeof(*c))) || !(items = calloc(n ? n : 1, sizeof(*items))) ||
	    !(used_paths = json_object()) || !(used_keys = json_object()) || !(nscount = json_object()) ||
	    !(tags = json_object()) || !(ctx.values = json_object()) || !(ctx.comments = json_object()) ||
	    !(ctx.configmaps = json_object()) || !(ctx.opaque = json_object())) {
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(c->name, sizeof(c->name), "%s", opts->chart_name);
	snprintf(c->version, sizeof(c->version), "%s", version);

	/* pass 1: identify (item_prep(), on the threads when used), check, sort, name */
	parallel = threads > 1 && consume && n >= PAR_MIN;
	for (size_t i = 0; i < n; i++) {
		items[i].src = &objs->items[i];
		items[i].obj = objs->items[i].obj;
	}
	if (parallel) {
		err = prep_parallel(tags, nscount, items, n, opts, threads, &prepared);
	} else {
		for (size_t i = 0; i < n; i++) {
			if ((err = item_prep(&items[i], opts, tags, nscount)) < 0) {
				prepared = i;
				break;
			}
			if (!items[i].scanned) { /* incomplete: reported below */
				prepared = i + 1;
				break;
			}
		}
	}
	/* the first incomplete item comes before running out of memory on a later one */
	for (size_t i = 0; i < prepared; i++)
		if (!items[i].api || !items[i].kind || !items[i].name) {
			char d[512];
			err = dhg_error_set(DHG_EINVALID, "%s: apiVersion, kind and metadata.name are required",
					    engine_object_describe(d, sizeof(d), items[i].src));
			goto done;
		}
	if (err < 0)
		goto done;
	qsort(items, n, sizeof(*items), cmp_item);
	release_ns = opts->release_namespace ? opts->release_namespace : most_common(nscount);
	ctx.opts = opts;
	ctx.chart = opts->chart_name;
	ctx.release_ns = release_ns;
	ctx.warnings = &c->warnings;
	ctx.take = consume;
	for (size_t i = 0; i < n; i++) {
		engine_process__item *it = &items[i];
		char *base = it->path, *cand = NULL, *ks = it->vsub;
		it->path = it->vsub = NULL; /* item_prep()'s parts, replaced by the names below */
		for (int k = 1;; k++) {
			free(cand);
			cand = k == 1 ? join(base, ".yaml", NULL, NULL) : dhg_asprintf("%s-%d.yaml", base, k);
			if (!cand) {
				free(base);
				free(ks);
				err = DHG_ENOMEM;
				goto done;
			}
			if (!json_object_get(used_paths, cand))
				break;
		}
		free(base);
		it->path = cand;
		if (json_object_set_new(used_paths, cand, json_true()) < 0) {
			free(ks);
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		/* values keys */
		for (int k = 1;; k++) {
			free(it->vsub);
			it->vsub = k == 1 ? dhg_strdup(ks) : dhg_asprintf("%s%d", ks, k);
			dhg_buf_clear(&b);
			if (!it->vsub || engine_emit__puts(&b, it->vkey) < 0 || engine_emit__putc(&b, '\x1f') < 0 ||
			    engine_emit__puts(&b, it->vsub) < 0) {
				free(ks);
				err = DHG_ENOMEM;
				goto done;
			}
			if (!json_object_get(used_keys, dhg_buf_cstr(&b)))
				break;
		}
		free(ks);
		if (json_object_set_new(used_keys, dhg_buf_cstr(&b), json_true()) < 0) {
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
		if (!strcmp(it->kind, "ConfigMap") && !strcmp(it->api, "v1")) {
			dhg_buf_clear(&b);
			if (engine_emit__puts(&b, it->ns ? it->ns : "") < 0 || engine_emit__putc(&b, '\x1f') < 0 ||
			    engine_emit__puts(&b, it->name) < 0 ||
			    json_object_set_new(ctx.configmaps, dhg_buf_cstr(&b), json_string(it->path)) < 0) {
				err = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
		}
	}
	/* reserved top-level keys used by the helpers */
	if (json_object_set_new(ctx.values, "nameOverride", json_string("")) < 0 ||
	    json_object_set_new(ctx.values, "fullnameOverride", json_string("")) < 0 ||
	    json_object_set_new(ctx.comments, "nameOverride", json_string("-- Overrides the chart name in labels")) < 0 ||
	    json_object_set_new(ctx.comments, "fullnameOverride",
				json_string("-- Overrides the full name (release-chart) used by the helpers")) < 0) {
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}

	/* pass 2: process and emit */
	if (parallel) {
		if ((err = pass2_parallel(&ctx, &f, &c->warnings, &c->resource_count, items, n, consume, threads)) < 0)
			goto done;
	} else {
		for (size_t i = 0; i < n; i++)
			if ((err = item_run(&ctx, &f, &b, &items[i], consume, &c->resource_count)) < 0)
				goto done;
	}
	for (size_t i = 0; i < ctx.nextra; i++) {
		if ((err = files_add_take(&f, ctx.extra[i].path, ctx.extra[i].data, ctx.extra[i].len)) < 0) {
			ctx.extra[i].data = NULL;
			goto done;
		}
		ctx.extra[i].data = NULL;
	}

	app_version = opts->app_version ? opts->app_version : most_common(tags);
	if (!(desc = opts->description ? dhg_strdup(opts->description)
				       : dhg_asprintf("Helm chart for %s, generated by dhg from %zu Kubernetes object%s",
						      opts->chart_name, c->resource_count, c->resource_count == 1 ? "" : "s"))) {
		err = DHG_ENOMEM;
		goto done;
	}
	if ((err = put_chart_yaml(&f, opts->chart_name, version, app_version, desc)) < 0)
		goto done;
	if (parallel && ((err = values_overlay(&ctx)) < 0 || (err = valuer_start(&vt, &ctx, threads)) < 0))
		goto done;
	if (!vt.started && ((err = parallel ? put_values_yaml_file(&f, &ctx) : put_values(&f, &ctx)) < 0 ||
			    (parallel && (err = put_schema_file(&f, &ctx)) < 0)))
		goto done;
	if ((err = put_helpers(&f, opts->chart_name)) < 0 || (err = put_notes(&f, items, n)) < 0)
		goto done;
	if ((err = files_add_take(&f, ".helmignore", dhg_strdup(helmignore), sizeof(helmignore) - 1)) < 0)
		goto done;
	if (vt.started) {
		/* everything but the values files, hashed while they are being written */
		qsort(f.items, f.len, sizeof(*f.items), cmp_file);
		if ((err = dhg_sha256_new(&h)) < 0)
			goto done;
		while (hashed < f.len && strcmp(f.items[hashed].path, "values.schema.json") < 0)
			hashed++;
		if (hashed != f.len) { /* only the values files sort there */
			err = dhg_error_set(DHG_ECONFLICT, "two chart files would be written to %s", f.items[hashed].path);
			goto done;
		}
		if ((err = digest_add(h, f.items, hashed)) < 0)
			goto done;
		valuer_hash_from(&vt, h);
		if ((err = valuer_finish(&vt, &f)) < 0)
			goto done;
		hashed = f.len; /* the values files too */
	}
	if (parallel)
		values_release(&ctx, 0);
	qsort(f.items, f.len, sizeof(*f.items), cmp_file);
	for (size_t i = 1; i < f.len; i++)
		if (!strcmp(f.items[i - 1].path, f.items[i].path)) {
			err = dhg_error_set(DHG_ECONFLICT, "two chart files would be written to %s", f.items[i].path);
			goto done;
		}
	if (h) { /* the files hashed above are still the first ones: the sort kept them in place */
		if ((err = digest_add(h, f.items + hashed, f.len - hashed)) < 0 ||
		    (err = dhg_sha256_final_str(c->digest, h)) < 0)
			goto done;
	} else if ((err = engine_chart_digest(c->digest, f.items, f.len)) < 0) {
		goto done;
	}
	c->files = f.items;
	c->nfiles = f.len;
	f.items = NULL;
	f.len = 0;
	*out = c;
	c = NULL;
done:
	if (vt.started && err < 0) { /* an error of this thread: the values files' comes first */
		int verr;
		dhg_error saved = *dhg_error_last();
		if ((verr = valuer_finish(&vt, &f)) < 0)
			err = verr;
		else
			dhg_error_restore(&saved);
	}
	valuer_dispose(&vt);
	dhg_sha256_free(h);
	for (size_t i = 0; i < n && items; i++) {
		free(items[i].vkey);
		free(items[i].owned_name);
		free(items[i].owned_kind);
		free(items[i].vsub);
		free(items[i].path);
		json_decref(items[i].tree);
		json_decref(items[i].kept_ns);
	}
	for (size_t i = 0; i < ctx.nextra; i++) {
		free(ctx.extra[i].path);
		free(ctx.extra[i].data);
	}
	free(ctx.extra);
	free(items);
	free(desc);
	files_dispose(&f);
	json_decref(used_paths);
	json_decref(used_keys);
	json_decref(nscount);
	json_decref(tags);
	json_decref(ctx.values);
	json_decref(ctx.comments);
	json_decref(ctx.configmaps);
	json_decref(ctx.opaque);
	dhg_buf_dispose(&b);
	engine_chart_free(c);
	return err;
}

int engine_chart_generate(engine_chart **out, const engine_objects *objs, const engine_options *opts)
{
	return generate(out, objs, opts, 0, 1);
}

int engine_chart__generate_take(engine_chart **out, engine_objects *objs, const engine_options *opts,
				int threads)
{
	return generate(out, objs, opts, 1, threads);
}
