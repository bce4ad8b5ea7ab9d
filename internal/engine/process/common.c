/*
 * Shared processor machinery: values paths, parameterization helpers, dispatch by kind,
 * namespace and standard-label handling for every templated object.
 */
#include "engine/process/process.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/emit.h"
#include "util/error.h"
#include "util/str.h"

char *engine_process__camel(const char *name)
{
	size_t n = strlen(name), j = 0;
	char *out = malloc(n + 1);
	int up = 0;

	if (!out) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c)) {
			up = j > 0;
			continue;
		}
		if (up && isalpha(c))
			c = (unsigned char)toupper(c);
		else if (j == 0)
			c = (unsigned char)tolower(c);
		out[j++] = (char)c;
		up = 0;
	}
	if (j == 0)
		out[j++] = 'x';
	out[j] = '\0';
	return out;
}

void engine_process__cat(char *buf, size_t size, size_t *len, const char *s, size_t max)
{
	size_t l = strnlen(s, max);
	if (l > size - 1 - *len)
		l = size - 1 - *len;
	memcpy(buf + *len, s, l);
	*len += l;
	buf[*len] = '\0';
}

/* Appends s to buf (size > 0, *len < size) as snprintf would: cut at size - 1. */
static void cat(char *buf, size_t size, size_t *len, const char *s)
{
	engine_process__cat(buf, size, len, s, (size_t)-1);
}

const char *engine_process__what(char *buf, size_t size, const engine_process__item *it)
{
	size_t n = 0;
	if (!size)
		return buf;
	buf[0] = '\0';
	/* "%s %s/%s" (kind, namespace, name) or "%s %s", without snprintf (one per values entry) */
	cat(buf, size, &n, it->kind);
	cat(buf, size, &n, " ");
	if (it->ns) {
		cat(buf, size, &n, it->ns);
		cat(buf, size, &n, "/");
	}
	cat(buf, size, &n, it->name);
	return buf;
}

/* 1: ASCII letter or '_' (may start an identifier), 2: digit (C locale, which the program runs
 * in: isalpha / isalnum are ASCII) */
static const unsigned char ident_tab[256] = {
	['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
	['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['0'] = 2,
	['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2,
};

static int is_ident(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (ident_tab[*p] != 1)
		return 0;
	while (ident_tab[*++p])
		;
	return !*p;
}

/* s as a Go string literal: runs of ordinary bytes copied at once, '"' and '\\' escaped,
 * control bytes as \xNN. */
static int put_go_string(dhg_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *p = s, *from = s;
	int err;
	if ((err = engine_emit__putc(b, '"')) < 0)
		return err;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((err = engine_emit__put(b, from, (size_t)(p - from))) < 0)
			return err;
		if (!c)
			break;
		if (c < 0x20) {
			char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			err = engine_emit__put(b, esc, 4);
		} else {
			char esc[2] = {'\\', (char)c};
			err = engine_emit__put(b, esc, 2);
		}
		if (err < 0)
			return err;
		from = p + 1;
	}
	return engine_emit__putc(b, '"');
}

int engine_process__vref(dhg_buf *b, const engine_process__item *it, const char *const *path)
{
	const char *segs[64];
	size_t n = 0;
	int all_ident = 1, err;

	segs[n++] = it->vkey;
	segs[n++] = it->vsub;
	for (size_t i = 0; path && path[i] && n < 64; i++)
		segs[n++] = path[i];
	for (size_t i = 0; i < n && all_ident; i++)
		if (!is_ident(segs[i]))
			all_ident = 0;
	if (all_ident) {
		if ((err = engine_emit__put(b, ".Values", 7)) < 0)
			return err;
		for (size_t i = 0; i < n; i++)
			if ((err = engine_emit__putc(b, '.')) < 0 || (err = engine_emit__puts(b, segs[i])) < 0)
				return err;
		return 0;
	}
	if ((err = engine_emit__put(b, "(index .Values", 14)) < 0)
		return err;
	for (size_t i = 0; i < n; i++)
		if ((err = engine_emit__putc(b, ' ')) < 0 || (err = put_go_string(b, segs[i])) < 0)
			return err;
	return engine_emit__putc(b, ')');
}

#define KEY_CAP 1024 /* values paths for comments: longer ones are cut (and lose their comment) */

/* Appends s to the bounded key (keys longer than the buffer only lose their comment). */
static void key_add(char *key, size_t *len, size_t cap, const char *s, int sep)
{
	size_t l = strlen(s);
	if (sep && *len + 1 < cap)
		key[(*len)++] = '\x1f';
	if (*len + l >= cap)
		l = *len < cap ? cap - 1 - *len : 0;
	memcpy(key + *len, s, l);
	*len += l;
	key[*len] = '\0';
}

/* The comments of the paths below values[vkey] are kept in a table of their own,
 * ctx->comments["\x01" vkey] (put_values writes values.yaml one top-level key at a time,
 * each with its small table, instead of looking every path up in one table of all comments).
 * Borrowed; NULL with the error set when out of memory. */
static json_t *comment_table(engine_process__ctx *ctx, engine_process__item *it)
{
	char small[256], *k = small;
	size_t n = strlen(it->vkey);
	json_t *t;

	if (it->ctab)
		return it->ctab;
	if (n + 2 > sizeof(small) && !(k = malloc(n + 2))) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	k[0] = ENGINE_PROCESS_COMMENTS_PREFIX;
	memcpy(k + 1, it->vkey, n + 1);
	if (!(t = json_object_getn(ctx->comments, k, n + 1)) &&
	    (!(t = json_object()) || json_object_setn_new_nocheck(ctx->comments, k, n + 1, t) < 0)) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		t = NULL;
	}
	if (k != small)
		free(k);
	return it->ctab = t;
}

/* key (klen bytes) is built from UTF-8 parts; only a key cut at the buffer's end may have
 * lost the tail of a character, and only that one needs jansson's UTF-8 check. Such a key
 * (a path of 1023 bytes or more) goes to the flat table, which put_values then uses whole,
 * as before the split (ENGINE_PROCESS_COMMENTS_FLAT). */
static int comment_set(engine_process__ctx *ctx, engine_process__item *it, const char *key, size_t klen,
		       const char *text, size_t tlen)
{
	json_t *s, *t;
	if (klen >= KEY_CAP - 1) {
		if (json_object_set_new_nocheck(ctx->comments, ENGINE_PROCESS_COMMENTS_FLAT, json_true()) < 0 ||
		    !(s = engine_emit__text(text, tlen)) || json_object_set_new(ctx->comments, key, s) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		return 0;
	}
	if (!(t = comment_table(ctx, it)))
		return DHG_ENOMEM;
	if (!(s = engine_emit__text(text, tlen)) || json_object_setn_new_nocheck(t, key, klen, s) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

int engine_process__vopaque(engine_process__ctx *ctx, const engine_process__item *it, const char *const *path)
{
	const char *segs[64];
	size_t n = 0, total = 0;
	json_t *cur = ctx->opaque;

	segs[n++] = it->vkey;
	segs[n++] = it->vsub;
	for (size_t i = 0; path && path[i] && n < 64; i++)
		segs[n++] = path[i];
	for (size_t i = 0; i < n; i++)
		total += strlen(segs[i]) + (i > 0);
	/* the schema matched these paths as '\x1f'-joined keys of at most 1023 bytes: a longer
	 * one never matched, so it is not marked */
	if (total > 1023)
		return 0;
	for (size_t i = 0; i < n; i++) {
		json_t *next = json_object_get(cur, segs[i]);
		if (json_is_true(next)) /* this path or one above it is a block already */
			return 0;
		if (i + 1 == n) {
			if (json_object_set_new(cur, segs[i], json_true()) < 0)
				return dhg_error_set(DHG_ENOMEM, "out of memory");
			return 0;
		}
		if (!next) {
			if (!(next = json_object()) || json_object_set_new(cur, segs[i], next) < 0)
				return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		cur = next;
	}
	return 0;
}

int engine_process__vset(engine_process__ctx *ctx, engine_process__item *it, json_t *v, const char *comment,
			 const char *const *path)
{
	json_t *cur, *next;
	char key[KEY_CAP], what[512], text[1024];
	const char *segs[64];
	size_t n = 0, klen = 0, i = 0;
	int err = 0, have_what = 0; /* what[] holds engine_process__what(it) */

	if (!v)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	key[0] = '\0';
	segs[n++] = it->vkey;
	segs[n++] = it->vsub;
	for (size_t j = 0; path && path[j] && n < 64; j++)
		segs[n++] = path[j];
	cur = ctx->values;
	if (it->vobj && n > 2) { /* values[vkey][vsub], made by an earlier call for this item */
		key_add(key, &klen, sizeof(key), segs[0], 0);
		key_add(key, &klen, sizeof(key), segs[1], 1);
		cur = it->vobj;
		i = 2;
	}
	for (; i + 1 < n; i++) {
		key_add(key, &klen, sizeof(key), segs[i], i > 0);
		next = json_object_get(cur, segs[i]);
		if (!json_is_object(next)) {
			/* segments are UTF-8 (generated, or keys/strings of the input, which extract
			 * has checked): no second check */
			if (!(next = json_object()) || json_object_set_new_nocheck(cur, segs[i], next) < 0) {
				err = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
			if (i == 1) {
				size_t tl = 0;
				text[0] = '\0';
				cat(text, sizeof(text), &tl, "-- Settings of ");
				cat(text, sizeof(text), &tl, have_what ? what : engine_process__what(what, sizeof(what), it));
				have_what = 1;
				if ((err = comment_set(ctx, it, key, klen, text, tl)) < 0)
					goto done;
			}
		}
		if (i == 1)
			it->vobj = next;
		cur = next;
	}
	key_add(key, &klen, sizeof(key), segs[n - 1], n > 1);
	if (n <= 2)
		it->vobj = NULL; /* values[vkey][vsub] itself is replaced */
	if (json_object_set_new_nocheck(cur, segs[n - 1], json_incref(v)) < 0) {
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if (comment) {
		size_t tl = 0;
		text[0] = '\0';
		cat(text, sizeof(text), &tl, "-- ");
		cat(text, sizeof(text), &tl, comment);
		cat(text, sizeof(text), &tl, " (");
		cat(text, sizeof(text), &tl, have_what ? what : engine_process__what(what, sizeof(what), it));
		cat(text, sizeof(text), &tl, ")");
		err = comment_set(ctx, it, key, klen, text, tl);
	}
done:
	json_decref(v);
	return err;
}

/* An exact-text number survives Helm's float64 values when it is a plain decimal float that
 * is not integral (Go would print an integral float64 as an integer) and has at most 15
 * significant digits (so the shortest float64 text reads back as the same value), and is
 * at least 1e-4 in magnitude (Go prints smaller ones as 1e-05, which YAML 1.1 reads as a
 * string). */
static int number_roundtrips(const char *t)
{
	const char *p = t;
	int digits = 0, dot = 0, sig = 0;
	char *end = NULL;
	double d;

	if (*p == '-' || *p == '+')
		p++;
	for (; *p && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			if (dot++)
				return 0;
		} else if (*p >= '0' && *p <= '9') {
			digits++;
			if (*p != '0' || sig)
				sig++;
		} else {
			return 0;
		}
	}
	if (!dot || !digits || sig > 15)
		return 0;
	if (*p) { /* exponent */
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!*p)
			return 0;
		for (; *p; p++)
			if (*p < '0' || *p > '9')
				return 0;
	}
	d = strtod(t, &end);
	if (!end || *end || !isfinite(d) || d == (double)(long long)d || fabs(d) >= 1e15 || fabs(d) < 1e-4)
		return 0;
	return 1;
}

int engine_process__values_safe(const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (engine_number_is(v))
		return number_roundtrips(engine_number_text(v));
	switch (json_typeof(v)) {
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(v);
		return n <= ((json_int_t)1 << 53) && n >= -((json_int_t)1 << 53);
	}
	case JSON_REAL:
		return 0;
	case JSON_NULL:
		return 0; /* Helm drops null values while merging */
	case JSON_STRING:
		/* Go's JSON/YAML writers leave U+0085 (NEL) raw, and YAML 1.1 readers fold it to a
		 * line break: such strings stay literal (the emitter escapes them). */
	{
		const char *p = json_string_value(v);
		size_t n = json_string_length(v);
		for (size_t i = 0; i + 1 < n; i++)
			if ((unsigned char)p[i] == 0xC2 && (unsigned char)p[i + 1] == 0x85)
				return 0;
		return 1;
	}
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, k, x) if (!engine_process__values_safe(x)) return 0;
		return 1;
	case JSON_ARRAY:
		json_array_foreach(v, i, x) if (!engine_process__values_safe(x)) return 0;
		return 1;
	default:
		return 1;
	}
}

/* Replaces the member at iter of parent with marker (stolen). */
static int set_marker(json_t *parent, void *iter, json_t *marker)
{
	if (!marker || json_object_iter_set_new(parent, iter, marker) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

/* parent's member field and its iterator (one hash lookup for the read and the later
 * replacement), or NULL. */
static json_t *member(json_t *parent, const char *field, void **iter)
{
	*iter = json_object_iter_at(parent, field);
	return *iter ? json_object_iter_value(*iter) : NULL;
}

int engine_process__param_scalar(engine_process__ctx *ctx, engine_process__item *it, json_t *parent,
				 const char *field, const char *comment, const char *const *path)
{
	void *iter;
	json_t *v = member(parent, field, &iter);
	dhg_buf b = DHG_BUF_INIT(0);
	int err;

	if (!v || json_is_object(v) || json_is_array(v) || !engine_process__values_safe(v))
		return 0;
	if ((err = engine_process__vset(ctx, it, json_incref(v), comment, path)) < 0)
		return err;
	/* one allocation for the usual reference (instead of growing from 64 bytes) */
	if ((err = dhg_buf_reserve(&b, MARKER_RESERVE)) < 0 || (err = engine_emit__puts(&b, "{{ ")) < 0 ||
	    (err = engine_process__vref(&b, it, path)) < 0 || (err = engine_emit__puts(&b, " | toJson }}")) < 0)
		goto done;
	err = set_marker(parent, iter, engine_emit_marker_inline(dhg_buf_cstr(&b)));
done:
	dhg_buf_dispose(&b);
	return err < 0 ? err : 1;
}

int engine_process__param_block(engine_process__ctx *ctx, engine_process__item *it, json_t *parent,
				const char *field, const char *comment, const char *const *path)
{
	void *iter;
	json_t *v = member(parent, field, &iter);
	dhg_buf b = DHG_BUF_INIT(0);
	int err;

	if (!(json_is_object(v) || json_is_array(v)) || !engine_process__values_safe(v))
		return 0;
	if ((err = engine_process__vset(ctx, it, json_incref(v), comment, path)) < 0 ||
	    (err = engine_process__vopaque(ctx, it, path)) < 0)
		return err;
	if ((err = dhg_buf_reserve(&b, MARKER_RESERVE)) < 0 || (err = engine_emit__puts(&b, "{{- toYaml ")) < 0 ||
	    (err = engine_process__vref(&b, it, path)) < 0 || (err = engine_emit__puts(&b, " | nindent \x02 }}")) < 0)
		goto done;
	err = set_marker(parent, iter, engine_emit_marker_block(dhg_buf_cstr(&b)));
done:
	dhg_buf_dispose(&b);
	return err < 0 ? err : 1;
}

int engine_process__extra_add(engine_process__ctx *ctx, const char *path, const char *data, size_t len)
{
	engine_file *f;
	if (ctx->nextra == ctx->capextra) {
		size_t ncap = ctx->capextra ? ctx->capextra * 2 : 8;
		engine_file *n = realloc(ctx->extra, ncap * sizeof(*n));
		if (!n)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		ctx->extra = n;
		ctx->capextra = ncap;
	}
	f = &ctx->extra[ctx->nextra];
	f->path = dhg_strdup(path);
	f->data = malloc(len + 1);
	if (!f->path || !f->data) {
		free(f->path);
		free(f->data);
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	}
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	ctx->nextra++;
	return 0;
}

/* ---- namespace and labels ----------------------------------------------------------------- */

static const char *const std_labels[] = {"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance",
					 "app.kubernetes.io/version", "app.kubernetes.io/managed-by", NULL};
static const size_t std_len[] = {13, 22, 26, 25, 28};

static int add_labels(engine_process__ctx *ctx, json_t *meta)
{
	json_t *labels = json_object_get(meta, "labels");
	int present = 0, err;
	char *line = NULL;

	if (!labels) {
		if (!(labels = json_object()) || json_object_set_new(meta, "labels", labels) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
	}
	if (!json_is_object(labels))
		return 0;
	/* which std_labels are there: one walk over the (few) labels instead of a hash lookup per
	 * standard label; keys compared with their length, as json_object_get() would */
	for (void *li = json_object_iter(labels); li; li = json_object_iter_next(labels, li)) {
		const char *k = json_object_iter_key(li);
		size_t kl = json_object_iter_key_len(li);
		for (size_t i = 0; std_labels[i]; i++)
			if (kl == std_len[i] && !memcmp(k, std_labels[i], kl))
				present |= 1 << i;
	}
	if (!present) {
		char small[160];
		size_t n = 0;
		if (strlen(ctx->chart) < 100) { /* always: a DNS label; no printf per object */
			small[0] = '\0';
			cat(small, sizeof(small), &n, "{{- include \"");
			cat(small, sizeof(small), &n, ctx->chart);
			cat(small, sizeof(small), &n, ".labels\" $ | nindent \x02 }}");
			return engine_emit_raw_add(labels, small);
		}
		if (!(line = dhg_asprintf("{{- include \"%s.labels\" $ | nindent \x02 }}", ctx->chart)))
			return DHG_ENOMEM;
		err = engine_emit_raw_add(labels, line);
		free(line);
		return err;
	}
	for (size_t i = 0; std_labels[i]; i++) {
		char buf[512];
		size_t n = 0;
		if (present & (1 << i))
			continue;
		buf[0] = '\0';
		if (i == 3)
			cat(buf, sizeof(buf), &n, "{{- if .Chart.AppVersion }}\n");
		cat(buf, sizeof(buf), &n, std_labels[i]);
		switch (i) { /* the chart name is a DNS label: no truncation */
		case 0:
		case 1:
			cat(buf, sizeof(buf), &n, ": {{ include \"");
			cat(buf, sizeof(buf), &n, ctx->chart);
			cat(buf, sizeof(buf), &n, i == 0 ? ".chart\" $ | quote }}" : ".name\" $ | quote }}");
			break;
		case 2: cat(buf, sizeof(buf), &n, ": {{ .Release.Name | quote }}"); break;
		case 3: cat(buf, sizeof(buf), &n, ": {{ .Chart.AppVersion | quote }}\n{{- end }}"); break;
		default: cat(buf, sizeof(buf), &n, ": {{ .Release.Service | quote }}"); break;
		}
		if ((err = engine_emit_raw_add(labels, buf)) < 0)
			return err;
	}
	return 0;
}

/* Copies the containers of v (objects, arrays) and shares its scalars, which nothing
 * modifies in place. Keys starting with '\x01' are refused: the emitter reserves them for
 * template markers, so input can never inject template text. NULL on error (set). */
static json_t *tree_copy(const json_t *v, int depth)
{
	json_t *c, *x;
	const char *k;
	size_t i;

	if (depth > 200) {
		dhg_error_set(DHG_EINVALID, "object nested deeper than 200 levels");
		return NULL;
	}
	if (json_is_object(v)) {
		if (!(c = json_object()))
			goto oom;
		json_object_foreach((json_t *)v, k, x)
		{
			json_t *y;
			if (k[0] == '\x01') {
				json_decref(c);
				dhg_error_set(DHG_EINVALID, "a key starts with the control character U+0001, which is not supported");
				return NULL;
			}
			if (!(y = tree_copy(x, depth + 1))) {
				json_decref(c);
				return NULL;
			}
			if (json_object_set_new_nocheck(c, k, y) < 0) {
				json_decref(c);
				goto oom;
			}
		}
		return c;
	}
	if (json_is_array(v)) {
		if (!(c = json_array()))
			goto oom;
		json_array_foreach(v, i, x)
		{
			json_t *y = tree_copy(x, depth + 1);
			if (!y) {
				json_decref(c);
				return NULL;
			}
			if (json_array_append_new(c, y) < 0) {
				json_decref(c);
				goto oom;
			}
		}
		return c;
	}
	return json_incref((json_t *)v);
oom:
	dhg_error_set(DHG_ENOMEM, "out of memory");
	return NULL;
}

/* The checks of tree_copy() without the copy: refuses what it refuses (same order, same
 * messages); *shared is set when a container below v has another reference (a YAML alias). */
static int tree_check(const json_t *v, int depth, int *shared)
{
	json_t *x;
	const char *k;
	size_t i;

	if (depth > 200)
		return dhg_error_set(DHG_EINVALID, "object nested deeper than 200 levels");
	if (json_is_object(v)) {
		if (depth && v->refcount != 1)
			*shared = 1;
		json_object_foreach((json_t *)v, k, x)
		{
			int err;
			if (k[0] == '\x01')
				return dhg_error_set(DHG_EINVALID,
						     "a key starts with the control character U+0001, which is not supported");
			/* scalars too: tree_copy() refuses any value deeper than 200 */
			if ((json_is_object(x) || json_is_array(x) || depth >= 200) &&
			    (err = tree_check(x, depth + 1, shared)) < 0)
				return err;
		}
	} else if (json_is_array(v)) {
		if (depth && v->refcount != 1)
			*shared = 1;
		json_array_foreach(v, i, x)
		{
			int err;
			if ((json_is_object(x) || json_is_array(x) || depth >= 200) &&
			    (err = tree_check(x, depth + 1, shared)) < 0)
				return err;
		}
	}
	return 0;
}

/* The template tree of it: with ctx->take and an input that nothing else references, the
 * input object itself (it is released after the item, so editing it in place is safe and
 * saves a copy of every container); else a copy. */
static int tree_make(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *obj = (json_t *)it->obj;
	int shared = 0, err;

	if (ctx->take && json_is_object(obj) && obj->refcount == 1) {
		if (it->scanned) { /* the generator's first walk did the checks */
			if (it->refusal == ENGINE_PROCESS_TOO_DEEP)
				return dhg_error_set(DHG_EINVALID, "object nested deeper than 200 levels");
			if (it->refusal == ENGINE_PROCESS_RESERVED_KEY)
				return dhg_error_set(DHG_EINVALID,
						     "a key starts with the control character U+0001, which is not supported");
			shared = it->shared;
		} else if ((err = tree_check(obj, 0, &shared)) < 0) {
			return err;
		}
		if (!shared) {
			json_t *ns = json_object_get(json_object_get(obj, "metadata"), "namespace");
			/* it->ns points into obj: keep that string alive when the tree replaces it */
			if (it->ns && json_is_string(ns) && json_string_value(ns) == it->ns)
				it->kept_ns = json_incref(ns);
			it->tree = json_incref(obj);
			return 0;
		}
	}
	if (!(it->tree = tree_copy(obj, 0)))
		return dhg_error_last()->code ? dhg_error_last()->code : DHG_ENOMEM;
	return 0;
}

int engine_process__item_run(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *meta;
	int err = 0;
	const char *k = it->kind;

	if ((err = tree_make(ctx, it)) < 0)
		return err;
	if (it->is_crd)
		return 0;
	if (!strcmp(k, "Deployment") || !strcmp(k, "StatefulSet") || !strcmp(k, "DaemonSet") ||
	    !strcmp(k, "ReplicaSet") || !strcmp(k, "Job") || !strcmp(k, "CronJob") || !strcmp(k, "Pod"))
		err = engine_process__workload(ctx, it);
	else if (!strcmp(k, "Service"))
		err = engine_process__service(ctx, it);
	else if (!strcmp(k, "Ingress"))
		err = engine_process__ingress(ctx, it);
	else if (!strcmp(k, "PersistentVolumeClaim"))
		err = engine_process__pvc(ctx, it);
	else if (!strcmp(k, "HorizontalPodAutoscaler"))
		err = engine_process__hpa(ctx, it);
	else if (!strcmp(k, "PodDisruptionBudget"))
		err = engine_process__pdb(ctx, it);
	else if (!strcmp(k, "ConfigMap"))
		err = engine_process__configmap(ctx, it);
	else if (!strcmp(k, "Secret"))
		err = engine_process__secret(ctx, it);
	if (err < 0)
		return err;
	if (!it->tree) /* replaced/dropped by the processor */
		return 0;
	meta = json_object_get(it->tree, "metadata");
	if (!json_is_object(meta))
		return 0;
	if (it->ns && ctx->release_ns && !strcmp(it->ns, ctx->release_ns)) {
		json_t *m = engine_emit_marker_inline("{{ .Release.Namespace | quote }}");
		if (!m || json_object_set_new(meta, "namespace", m) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
	}
	return add_labels(ctx, meta);
}
