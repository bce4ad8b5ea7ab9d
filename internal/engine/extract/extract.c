/*
 * Extract: YAML files / directories / stdin -> jansson objects (engine.h).
 *
 * Parsing is event based (libyaml) so that every value can be typed by the YAML 1.2 core
 * schema and every error can name file, line and column:
 *
 *   plain scalars only are resolved; quoted and block scalars are always strings
 *   null:   ~ null Null NULL and the empty plain scalar
 *   bool:   true True TRUE false False FALSE (yes/no/on/off/y/n stay strings)
 *   int:    [-]?(0|[1-9][0-9]*) within int64 -> json_integer
 *   number: any other core-schema int/float form (+12, 0644, 0o17, 0x1F, 1.5, 1e3, .inf, .nan,
 *           integers beyond int64, -0) -> engine_number_new() with the exact text
 *   tags:   !!str !!int !!float !!bool !!null !!binary !!timestamp !!map !!seq honoured;
 *           the non-specific "!" and unknown local tags (!Ref ...) give strings
 *
 * Anchors and aliases are resolved by copying; the total number of nodes produced by
 * aliases is capped (MAX_ALIAS_NODES) against "billion laughs" inputs. Merge keys (plain
 * `<<`) are supported: a mapping or a sequence of mappings whose keys are added unless the
 * mapping sets them itself (earlier merge sources win over later ones). Mapping keys must be
 * scalars and are taken as their text (`80: x` gives the key "80"); duplicate keys are an
 * error. Nesting is capped at MAX_DEPTH levels.
 */
#include "engine/engine.h"
#include "engine/extract/normalize.h"
#include "engine/par.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

#define MAX_DEPTH 200
#define MAX_ALIAS_NODES 250000 /* far above real manifests, far below a bomb */
#define MAX_DIR_DEPTH 32
#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- scalar typing ------------------------------------------------------------------------ */

static int is_digits(const char *s, size_t n, const char *set)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

/* YAML 1.2 core-schema integer (any form). */
static int core_int(const char *s, size_t n)
{
	if (n > 2 && s[0] == '0' && s[1] == 'o')
		return is_digits(s + 2, n - 2, "01234567");
	if (n > 2 && s[0] == '0' && s[1] == 'x')
		return is_digits(s + 2, n - 2, "0123456789abcdefABCDEF");
	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		s++, n--;
	return is_digits(s, n, "0123456789");
}

/* YAML 1.2 core-schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
 * or [-+]?.inf variants or .nan variants. */
static int core_float(const char *s, size_t n)
{
	size_t i = 0, d1 = 0, d2 = 0;

	if ((n == 4 && (!memcmp(s, ".nan", 4) || !memcmp(s, ".NaN", 4) || !memcmp(s, ".NAN", 4))))
		return 1;
	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		i++;
	if (n - i == 4 && (!memcmp(s + i, ".inf", 4) || !memcmp(s + i, ".Inf", 4) || !memcmp(s + i, ".INF", 4)))
		return 1;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d1++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, d2++;
		if (d1 == 0 && d2 == 0)
			return 0;
	} else if (d1 == 0) {
		return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t de = 0;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, de++;
		if (de == 0)
			return 0;
	}
	return i == n;
}

/* Canonical decimal int64 -> *out. */
static int canonical_int64(json_int_t *out, const char *s, size_t n)
{
	size_t i = 0;
	int neg = 0;
	unsigned long long v = 0, lim;

	if (n > 0 && s[0] == '-')
		neg = 1, i = 1;
	if (i >= n || n - i > 19)
		return 0;
	if (s[i] == '0' && (n - i > 1 || neg)) /* leading zero, or -0 */
		return 0;
	lim = neg ? (unsigned long long)INT64_MAX + 1ULL : (unsigned long long)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > (lim - (unsigned long long)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (neg)
		*out = v == (unsigned long long)INT64_MAX + 1ULL ? INT64_MIN : -(json_int_t)v;
	else
		*out = (json_int_t)v;
	return 1;
}

static int is_null_text(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static int bool_text(const char *s, size_t n)
{
	if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))
		return 1;
	if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))
		return 0;
	return -1;
}

static json_t *number_or_int(const char *s, size_t n)
{
	json_int_t iv;
	if (canonical_int64(&iv, s, n))
		return json_integer(iv);
	return engine_number_new(s, n);
}

/* ---- the builder -------------------------------------------------------------------------- */

typedef struct anchor {
	char *name;
	json_t *value;
	size_t nodes;
} anchor;

typedef struct frame {
	json_t *v;     /* object or array being filled */
	int is_map;
	char *key;     /* pending mapping key (owned, NUL-terminated), NULL when the next scalar is a key */
	size_t key_len;
	int key_merge; /* pending key is the merge key `<<` */
	size_t key_line, key_col;
	json_t *merges; /* array of mappings to merge at the end (owned), or NULL */
	char *anchor;   /* anchor of this collection (owned) */
	size_t nodes_before;
} frame;

typedef struct ctx {
	const char *source;
	const char *data;
	size_t len;
	int depth;
	anchor *anchors;
	size_t nanchors, capanchors;
	size_t nodes, alias_nodes;
	json_t *root; /* document root once complete */
	int root_set;
	size_t root_line;
	int *item_lines; /* lines of the mappings in the root's `items` sequence */
	size_t nitem_lines, capitem_lines;
	engine_objects tmp; /* what this buffer produced; moved to the caller on success */
	/* last: frames at and above `depth` are not initialized (push() clears each one), so
	 * that a ctx costs no 18 KB memset per input file */
	frame stack[MAX_DEPTH + 1];
} ctx;

static int err_at(const ctx *c, size_t line0, size_t col0, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int err_at(const ctx *c, size_t line0, size_t col0, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dhg_error_set(DHG_EINVALID, "%s:%zu:%zu: %s", c->source, line0 + 1, col0 + 1, msg);
}

static void anchors_clear(ctx *c)
{
	for (size_t i = 0; i < c->nanchors; i++) {
		free(c->anchors[i].name);
		json_decref(c->anchors[i].value);
	}
	c->nanchors = 0;
}

static int anchor_set(ctx *c, const char *name, json_t *v, size_t nodes)
{
	char *n;

	for (size_t i = 0; i < c->nanchors; i++)
		if (strcmp(c->anchors[i].name, name) == 0) { /* redefinition: the later one wins */
			json_decref(c->anchors[i].value);
			c->anchors[i].value = json_incref(v);
			c->anchors[i].nodes = nodes;
			return 0;
		}
	if (c->nanchors == c->capanchors) {
		size_t ncap = c->capanchors ? c->capanchors * 2 : 8;
		anchor *a = realloc(c->anchors, ncap * sizeof(*a));
		if (!a)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		c->anchors = a;
		c->capanchors = ncap;
	}
	if (!(n = dhg_strdup(name)))
		return DHG_ENOMEM;
	c->anchors[c->nanchors].name = n;
	c->anchors[c->nanchors].value = json_incref(v);
	c->anchors[c->nanchors].nodes = nodes;
	c->nanchors++;
	return 0;
}

static void frame_dispose(frame *f)
{
	json_decref(f->v);
	json_decref(f->merges);
	free(f->key);
	free(f->anchor);
	memset(f, 0, sizeof(*f));
}

static void doc_reset(ctx *c)
{
	while (c->depth > 0)
		frame_dispose(&c->stack[--c->depth]);
	json_decref(c->root);
	c->root = NULL;
	c->root_set = 0;
	c->root_line = 0;
	c->nitem_lines = 0;
	anchors_clear(c);
	c->nodes = 0;
}

/* Sets the pending key of the innermost mapping: `key` (malloc'ed, NUL-terminated, no NUL
 * inside) is taken, also on failure; key_is_merge marks the merge key `<<` (key then NULL). */
static int put_key(ctx *c, char *key, size_t key_len, int key_is_merge, const yaml_mark_t *m)
{
	frame *f = &c->stack[c->depth - 1];

	if (key_is_merge) {
		free(key);
		f->key_merge = 1;
	} else {
		if (!key)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		f->key = key;
		f->key_len = key_len;
	}
	f->key_line = m->line;
	f->key_col = m->column;
	return 0;
}

/* Adds a finished value (reference taken) at the current position. */
static int put_value(ctx *c, json_t *v, const yaml_mark_t *m)
{
	frame *f;
	size_t before;

	if (!v)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (c->depth == 0) {
		c->root = v;
		c->root_set = 1;
		return 0;
	}
	f = &c->stack[c->depth - 1];
	if (!f->is_map) {
		if (json_array_append_new(f->v, v) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		return 0;
	}
	if (!f->key && !f->key_merge) { /* a collection where a key is expected */
		json_decref(v);
		return err_at(c, m->line, m->column,
			      "a mapping key must be a scalar (a mapping or sequence as key is not supported)");
	}
	if (f->key_merge) {
		f->key_merge = 0;
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				if (!json_is_object(e)) {
					json_decref(v);
					return err_at(c, f->key_line, f->key_col,
						      "merge key `<<` needs a mapping or a sequence of mappings");
				}
			}
		} else if (!json_is_object(v)) {
			json_decref(v);
			return err_at(c, f->key_line, f->key_col,
				      "merge key `<<` needs a mapping or a sequence of mappings");
		}
		if (!f->merges && !(f->merges = json_array())) {
			json_decref(v);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		if (json_array_append_new(f->merges, v) < 0)
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		return 0;
	}
	/* one hash operation: a duplicate key replaces the earlier value, leaving the size
	 * unchanged, and is then an error (the document is discarded). The key is valid UTF-8:
	 * check_text() validated the whole input and libyaml only produces valid UTF-8. */
	before = json_object_size(f->v);
	if (json_object_setn_new_nocheck(f->v, f->key, f->key_len, v) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (json_object_size(f->v) == before)
		return err_at(c, f->key_line, f->key_col, "duplicate mapping key \"%s\"", f->key);
	free(f->key);
	f->key = NULL;
	return 0;
}

static int in_key_position(const ctx *c)
{
	const frame *f;
	if (c->depth == 0)
		return 0;
	f = &c->stack[c->depth - 1];
	return f->is_map && !f->key && !f->key_merge;
}

static int has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static int scalar_value(json_t **out, ctx *c, const yaml_event_t *e)
{
	const char *s = (const char *)e->data.scalar.value;
	size_t n = e->data.scalar.length;
	const char *tag = (const char *)e->data.scalar.tag;
	const yaml_mark_t *m = &e->start_mark;
	int plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	int b;

	*out = NULL;
	if (has_nul(s, n))
		return err_at(c, m->line, m->column,
			      "a scalar contains a NUL character, which Kubernetes objects cannot hold");
	if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
		const char *t = tag + strlen(TAG_PREFIX);
		if (!strcmp(t, "str") || !strcmp(t, "timestamp")) {
			*out = json_stringn_nocheck(s, n);
		} else if (!strcmp(t, "binary")) {
			/* keep the base64 text, without the line breaks of a block scalar */
			char *p = malloc(n + 1);
			size_t k = 0;
			if (!p)
				return dhg_error_set(DHG_ENOMEM, "out of memory");
			for (size_t i = 0; i < n; i++)
				if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t')
					p[k++] = s[i];
			*out = json_stringn_nocheck(p, k);
			free(p);
		} else if (!strcmp(t, "int")) {
			if (!core_int(s, n))
				return err_at(c, m->line, m->column, "\"%.*s\" is not an integer (tag !!int)",
					      (int)(n > 64 ? 64 : n), s);
			*out = number_or_int(s, n);
		} else if (!strcmp(t, "float")) {
			if (!core_float(s, n) && !core_int(s, n))
				return err_at(c, m->line, m->column, "\"%.*s\" is not a number (tag !!float)",
					      (int)(n > 64 ? 64 : n), s);
			*out = engine_number_new(s, n);
		} else if (!strcmp(t, "bool")) {
			if ((b = bool_text(s, n)) < 0)
				return err_at(c, m->line, m->column, "\"%.*s\" is not a boolean (tag !!bool)",
					      (int)(n > 64 ? 64 : n), s);
			*out = json_boolean(b);
		} else if (!strcmp(t, "null")) {
			if (!is_null_text(s, n))
				return err_at(c, m->line, m->column, "\"%.*s\" is not null (tag !!null)",
					      (int)(n > 64 ? 64 : n), s);
			*out = json_null();
		} else {
			return err_at(c, m->line, m->column, "tag %s is not supported on a scalar", tag);
		}
	} else if (tag || !plain) {
		*out = json_stringn_nocheck(s, n); /* "!", local tags, quoted and block scalars */
	} else if (is_null_text(s, n)) {
		*out = json_null();
	} else if ((b = bool_text(s, n)) >= 0) {
		*out = json_boolean(b);
	} else if (core_int(s, n) || core_float(s, n)) {
		*out = number_or_int(s, n);
	} else {
		*out = json_stringn_nocheck(s, n);
	}
	if (!*out)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

static int push(ctx *c, int is_map, const yaml_event_t *e)
{
	frame *f;
	const char *anc = (const char *)(is_map ? e->data.mapping_start.anchor : e->data.sequence_start.anchor);
	const char *tag = (const char *)(is_map ? e->data.mapping_start.tag : e->data.sequence_start.tag);

	if (in_key_position(c))
		return err_at(c, e->start_mark.line, e->start_mark.column,
			      "a mapping key must be a scalar (a mapping or sequence as key is not supported)");
	if (c->depth >= MAX_DEPTH)
		return err_at(c, e->start_mark.line, e->start_mark.column, "nesting is deeper than %d levels",
			      MAX_DEPTH);
	if (tag && strcmp(tag, "!") && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 &&
	    strcmp(tag + strlen(TAG_PREFIX), is_map ? "map" : "seq"))
		return err_at(c, e->start_mark.line, e->start_mark.column, "tag %s is not supported on a %s", tag,
			      is_map ? "mapping" : "sequence");
	/* remember where each item of a List starts (root mapping -> "items" -> mapping) */
	if (is_map && c->depth == 2 && c->stack[0].is_map && c->stack[0].key &&
	    !strcmp(c->stack[0].key, "items") && !c->stack[1].is_map) {
		size_t idx = json_array_size(c->stack[1].v);
		if (idx >= c->capitem_lines) {
			size_t ncap = c->capitem_lines ? c->capitem_lines * 2 : 16;
			while (ncap <= idx)
				ncap *= 2;
			int *nl = realloc(c->item_lines, ncap * sizeof(*nl));
			if (!nl)
				return dhg_error_set(DHG_ENOMEM, "out of memory");
			c->item_lines = nl;
			c->capitem_lines = ncap;
		}
		for (size_t i = c->nitem_lines; i < idx; i++)
			c->item_lines[i] = 0;
		c->item_lines[idx] = (int)e->start_mark.line + 1;
		c->nitem_lines = idx + 1;
	}
	if (c->depth == 0)
		c->root_line = e->start_mark.line + 1;
	f = &c->stack[c->depth];
	memset(f, 0, sizeof(*f));
	f->is_map = is_map;
	f->v = is_map ? json_object() : json_array();
	f->nodes_before = c->nodes;
	c->nodes++;
	if (!f->v)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (anc && !(f->anchor = dhg_strdup(anc))) {
		json_decref(f->v);
		f->v = NULL;
		return DHG_ENOMEM;
	}
	c->depth++;
	return 0;
}

static int pop(ctx *c, const yaml_event_t *e)
{
	frame f;
	int error = 0;

	if (c->depth == 0)
		return err_at(c, e->start_mark.line, e->start_mark.column, "unbalanced collection end");
	f = c->stack[--c->depth];
	memset(&c->stack[c->depth], 0, sizeof(frame));
	if (f.is_map && f.merges) {
		size_t i;
		json_t *src;
		/* keys of the mapping itself win, then earlier merge sources over later ones */
		json_array_foreach(f.merges, i, src)
		{
			json_t *list = json_is_array(src) ? src : NULL;
			size_t n = list ? json_array_size(list) : 1;
			for (size_t j = 0; j < n; j++) {
				json_t *m = list ? json_array_get(list, j) : src;
				const char *k;
				json_t *val;
				json_object_foreach(m, k, val)
				{
					if (json_object_get(f.v, k))
						continue;
					if (json_object_set(f.v, k, val) < 0) {
						error = dhg_error_set(DHG_ENOMEM, "out of memory");
						goto done;
					}
				}
			}
		}
	}
	if (f.is_map && (f.key || f.key_merge)) {
		error = err_at(c, f.key_line, f.key_col, "mapping key without a value");
		goto done;
	}
	if (f.anchor && (error = anchor_set(c, f.anchor, f.v, c->nodes - f.nodes_before)) < 0)
		goto done;
	error = put_value(c, json_incref(f.v), &e->start_mark);
done:
	frame_dispose(&f);
	return error;
}

static int on_scalar(ctx *c, yaml_event_t *e)
{
	json_t *v = NULL;
	int error;
	const char *s = (const char *)e->data.scalar.value;
	size_t n = e->data.scalar.length;

	if (in_key_position(c)) {
		int merge = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag && n == 2 &&
			    s[0] == '<' && s[1] == '<';
		char *key = NULL;
		if (has_nul(s, n))
			return err_at(c, e->start_mark.line, e->start_mark.column,
				      "a mapping key contains a NUL character");
		if (!merge) {
			/* take the event's NUL-terminated text instead of copying it: libyaml allocates
			 * with malloc() and yaml_event_delete() skips a NULL value */
			key = (char *)e->data.scalar.value;
			e->data.scalar.value = NULL;
		}
		return put_key(c, key, n, merge, &e->start_mark);
	}
	if ((error = scalar_value(&v, c, e)) < 0)
		return error;
	c->nodes++;
	if (e->data.scalar.anchor && (error = anchor_set(c, (const char *)e->data.scalar.anchor, v, 1)) < 0) {
		json_decref(v);
		return error;
	}
	return put_value(c, v, &e->start_mark);
}

static int on_alias(ctx *c, const yaml_event_t *e)
{
	const char *name = (const char *)e->data.alias.anchor;
	const anchor *a = NULL;
	json_t *copy;

	for (size_t i = 0; i < c->nanchors; i++)
		if (strcmp(c->anchors[i].name, name) == 0)
			a = &c->anchors[i];
	if (!a) {
		for (int d = 0; d < c->depth; d++)
			if (c->stack[d].anchor && !strcmp(c->stack[d].anchor, name))
				return err_at(c, e->start_mark.line, e->start_mark.column,
					      "alias *%s refers to a node that contains it (recursive alias)", name);
		return err_at(c, e->start_mark.line, e->start_mark.column, "alias *%s: no such anchor", name);
	}
	c->alias_nodes += a->nodes;
	if (c->alias_nodes > MAX_ALIAS_NODES)
		return err_at(c, e->start_mark.line, e->start_mark.column,
			      "aliases expand to more than %d nodes (alias bomb?)", MAX_ALIAS_NODES);
	if (in_key_position(c)) {
		if (!json_is_string(a->value) || engine_number_is(a->value))
			return err_at(c, e->start_mark.line, e->start_mark.column,
				      "alias *%s used as a mapping key must name a string", name);
		return put_key(c, dhg_strdup(json_string_value(a->value)), json_string_length(a->value), 0,
			       &e->start_mark);
	}
	c->nodes += a->nodes;
	if (!(copy = json_deep_copy(a->value)))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return put_value(c, copy, &e->start_mark);
}

static const char *str_field(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) && !engine_number_is(v) ? json_string_value(v) : NULL;
}

/* kind: List, or a <Kind>List with items and no metadata.name (kubectl get -o yaml). */
static int is_list(const json_t *o)
{
	const char *kind = str_field(o, "kind");
	const json_t *items = json_object_get(o, "items");

	if (!kind || !(json_is_array(items) || json_is_null(items)))
		return 0;
	if (!strcmp(kind, "List"))
		return 1;
	return dhg_str_has_suffix(kind, "List") && strlen(kind) > 4 &&
	       !str_field(json_object_get(o, "metadata"), "name");
}

static int doc_end(ctx *c, int doc, const yaml_event_t *e)
{
	json_t *root = c->root;
	int error = 0;

	if (!c->root_set || json_is_null(root))
		return 0; /* empty document */
	if (!json_is_object(root)) {
		const char *what = json_is_array(root) ? "a sequence" : "a scalar";
		return err_at(c, c->root_line ? c->root_line - 1 : e->start_mark.line, 0,
			      "document %d is %s, not a mapping (a Kubernetes object)", doc + 1, what);
	}
	if (is_list(root)) {
		const json_t *items = json_object_get(root, "items");
		const char *kind = str_field(root, "kind");
		const char *api = str_field(root, "apiVersion");
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			int line = i < c->nitem_lines && c->item_lines[i] ? c->item_lines[i] : (int)c->root_line;
			if (!json_is_object(it))
				return err_at(c, (size_t)line - 1, 0, "document %d: %s item %zu is not a mapping",
					      doc + 1, kind, i + 1);
			/* items of a typed list from the API may lack apiVersion/kind */
			if (strcmp(kind, "List") != 0) {
				if (!json_object_get(it, "kind")) {
					json_t *k = json_stringn(kind, strlen(kind) - 4);
					if (!k || json_object_set_new(it, "kind", k) < 0)
						return dhg_error_set(DHG_ENOMEM, "out of memory");
				}
				if (api && !json_object_get(it, "apiVersion") &&
				    json_object_set_new(it, "apiVersion", json_string(api)) < 0)
					return dhg_error_set(DHG_ENOMEM, "out of memory");
			}
			if ((error = engine_objects_add_take(&c->tmp, json_incref(it), c->source, doc, line)) < 0)
				return error;
		}
		return 0;
	}
	return engine_objects_add_take(&c->tmp, json_incref(root), c->source, doc, (int)c->root_line);
}

static void pos_of_offset(const ctx *c, size_t off, size_t *line, size_t *col)
{
	*line = *col = 0;
	for (size_t i = 0; i < off && i < c->len; i++) {
		if (c->data[i] == '\n')
			(*line)++, *col = 0;
		else if (((unsigned char)c->data[i] & 0xC0) != 0x80)
			(*col)++;
	}
}

/* Checks bytes before parsing: NUL bytes and invalid UTF-8 mean binary data (dhg_utf8_scan());
 * line and column are only counted (up to the offending byte, all of it valid UTF-8) when
 * there is an error. */
static int check_text(const ctx *c)
{
	size_t i = dhg_utf8_scan(c->data, c->len, 0), line, col;
	unsigned char b;

	if (i == c->len)
		return 0;
	b = (unsigned char)c->data[i];
	pos_of_offset(c, i, &line, &col);
	if (b == 0)
		return dhg_error_set(DHG_EINVALID, "%s:%zu:%zu: binary data (a NUL byte at offset %zu), not YAML text",
				     c->source, line + 1, col + 1, i);
	return dhg_error_set(DHG_EINVALID,
			     "%s:%zu:%zu: binary data (invalid UTF-8 byte 0x%02X at offset %zu), not YAML text",
			     c->source, line + 1, col + 1, b, i);
}

static int parser_error(const ctx *c, const yaml_parser_t *p)
{
	size_t line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return dhg_error_set(DHG_ENOMEM, "%s: out of memory while parsing YAML", c->source);
	case YAML_READER_ERROR:
		pos_of_offset(c, p->problem_offset, &line, &col);
		return err_at(c, line, col, "%s", p->problem ? p->problem : "cannot read the input");
	default:
		if (p->context && p->context_mark.line != p->problem_mark.line)
			return err_at(c, p->problem_mark.line, p->problem_mark.column, "%s (%s at line %zu)",
				      p->problem ? p->problem : "invalid YAML", p->context, p->context_mark.line + 1);
		if (p->context)
			return err_at(c, p->problem_mark.line, p->problem_mark.column, "%s (%s)",
				      p->problem ? p->problem : "invalid YAML", p->context);
		return err_at(c, p->problem_mark.line, p->problem_mark.column, "%s",
			      p->problem ? p->problem : "invalid YAML");
	}
}

static int extract_into(engine_objects *tmp_out, const char *data, size_t len, const char *source)
{
	ctx c;
	yaml_parser_t parser;
	yaml_event_t ev;
	int error = 0, done = 0, doc = -1, have_event = 0;

	memset(&c, 0, offsetof(ctx, stack));
	c.source = source ? source : "<input>";
	c.data = data;
	c.len = len;
	if ((error = check_text(&c)) < 0)
		return error;
	if (!yaml_parser_initialize(&parser))
		return dhg_error_set(DHG_ENOMEM, "%s: out of memory (cannot initialize the YAML parser)", c.source);
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) { /* a UTF-8 byte order mark */
		data += 3;
		len -= 3;
		c.data = data; /* reader error offsets are relative to what the parser sees */
		c.len = len;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			error = parser_error(&c, &parser);
			break;
		}
		have_event = 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			doc++;
			doc_reset(&c);
			break;
		case YAML_DOCUMENT_END_EVENT:
			error = doc_end(&c, doc, &ev);
			doc_reset(&c);
			break;
		case YAML_MAPPING_START_EVENT:
			error = push(&c, 1, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			error = push(&c, 0, &ev);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			error = pop(&c, &ev);
			break;
		case YAML_SCALAR_EVENT:
			if (c.depth == 0)
				c.root_line = ev.start_mark.line + 1;
			error = on_scalar(&c, &ev);
			break;
		case YAML_ALIAS_EVENT:
			if (c.depth == 0)
				c.root_line = ev.start_mark.line + 1;
			error = on_alias(&c, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (error < 0)
			break;
	}
	(void)have_event;
	yaml_parser_delete(&parser);
	doc_reset(&c);
	free(c.anchors);
	free(c.item_lines);
	if (error < 0) {
		engine_objects_dispose(&c.tmp);
		return error;
	}
	*tmp_out = c.tmp;
	return 0;
}

/* Moves every object of src to the end of dst (src is emptied). */
static int objects_move(engine_objects *dst, engine_objects *src)
{
	if (src->len == 0) {
		engine_objects_dispose(src);
		return 0;
	}
	if (dst->cap - dst->len < src->len) {
		/* geometric growth: one object per file must not copy the list once per file */
		size_t ncap = dst->cap ? dst->cap * 2 : 64;
		if (ncap < dst->len + src->len)
			ncap = dst->len + src->len;
		engine_object *n = realloc(dst->items, ncap * sizeof(*n));
		if (!n) {
			engine_objects_dispose(src);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		dst->items = n;
		dst->cap = ncap;
	}
	memcpy(dst->items + dst->len, src->items, src->len * sizeof(*src->items));
	dst->len += src->len;
	free(src->items);
	src->items = NULL;
	src->len = src->cap = 0;
	return 0;
}

int engine_extract_buffer(engine_objects *out, const char *data, size_t len, const char *source)
{
	engine_objects tmp = ENGINE_OBJECTS_INIT;
	int error;

	if (!out || (!data && len))
		return dhg_error_set(DHG_EINVALID, "engine_extract_buffer: invalid arguments");
	if ((error = extract_into(&tmp, data ? data : "", len, source)) < 0)
		return error;
	return objects_move(out, &tmp);
}

/* ---- paths -------------------------------------------------------------------------------- */

typedef struct path_list {
	char **items;
	size_t len, cap;
} path_list;

static void path_list_dispose(path_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int path_list_add_take(path_list *l, char *p)
{
	if (!p)
		return DHG_ENOMEM;
	if (l->len == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		char **n = realloc(l->items, ncap * sizeof(*n));
		if (!n) {
			free(p);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		l->items = n;
		l->cap = ncap;
	}
	l->items[l->len++] = p;
	return 0;
}

/* Directory entries are stored as <type byte><name>: 'd' a directory, 'r' a regular file,
 * '?' anything else (symlink, unknown: stat() decides), from readdir()'s d_type, so that the
 * common case needs no stat() per file. Sorted by name. */
static int cmp_entry(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static char *entry_new(const struct dirent *de)
{
	size_t n = strlen(de->d_name);
	char *e = malloc(n + 2);

	if (!e) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	e[0] = de->d_type == DT_DIR ? 'd' : de->d_type == DT_REG ? 'r' : '?';
	memcpy(e + 1, de->d_name, n + 1);
	return e;
}

static int walk_dir(path_list *files, const char *dir, int depth)
{
	DIR *d = NULL;
	struct dirent *de;
	path_list names = { 0 };
	int error = 0;

	if (depth > MAX_DIR_DEPTH)
		return dhg_error_set(DHG_EINVALID, "%s: directories nested deeper than %d levels (symlink loop?)",
				     dir, MAX_DIR_DEPTH);
	if (!(d = opendir(dir)))
		return dhg_error_set(errno == ENOENT ? DHG_ENOTFOUND : DHG_ERROR, "%s: %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				error = dhg_error_set(DHG_ERROR, "%s: %s", dir, strerror(errno));
			break;
		}
		if (de->d_name[0] == '.')
			continue; /* ".", "..", hidden files and directories */
		if ((error = path_list_add_take(&names, entry_new(de))) < 0)
			break;
	}
	closedir(d);
	if (error < 0)
		goto done;
	if (names.len)
		qsort(names.items, names.len, sizeof(*names.items), cmp_entry);
	for (size_t i = 0; i < names.len; i++) {
		struct stat st;
		size_t dl = strlen(dir);
		const char *name = names.items[i] + 1;
		char *full = dhg_asprintf("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
		if (!full) {
			error = DHG_ENOMEM;
			goto done;
		}
		if (names.items[i][0] == 'd') {
			st.st_mode = S_IFDIR;
		} else if (names.items[i][0] == 'r') {
			st.st_mode = S_IFREG;
		} else if (stat(full, &st) < 0) {
			if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) { /* dangling symlink */
				free(full);
				continue;
			}
			error = dhg_error_set(DHG_ERROR, "%s: %s", full, strerror(errno));
			free(full);
			goto done;
		}
		if (S_ISDIR(st.st_mode)) {
			error = walk_dir(files, full, depth + 1);
			free(full);
			if (error < 0)
				goto done;
		} else if (S_ISREG(st.st_mode) &&
			   (dhg_str_has_suffix(name, ".yaml") || dhg_str_has_suffix(name, ".yml"))) {
			if ((error = path_list_add_take(files, full)) < 0)
				goto done;
		} else {
			free(full);
		}
	}
done:
	path_list_dispose(&names);
	return error;
}

int engine_extract_path(engine_objects *out, const char *path, const engine_extract_options *opts)
{
	engine_objects acc = ENGINE_OBJECTS_INIT, one = ENGINE_OBJECTS_INIT;
	path_list files = { 0 };
	size_t max = opts && opts->max_file_bytes ? opts->max_file_bytes : ENGINE_MAX_FILE_BYTES;
	int progress = 0, error = 0;
	char *data = NULL;
	size_t len = 0;
	struct stat st;

	if (!out || !path || !*path)
		return dhg_error_set(DHG_EINVALID, "engine_extract_path: an empty path");
	if (strcmp(path, "-") == 0) {
		if ((error = dhg_file_read(&data, &len, "-", max)) < 0) {
			if (error == DHG_ETOOBIG)
				dhg_error_set(DHG_ETOOBIG, "<stdin>: input is larger than the limit of %zu bytes", max);
			return error;
		}
		error = engine_extract_buffer(out, data, len, "<stdin>");
		free(data);
		return error;
	}
	if (stat(path, &st) < 0)
		return dhg_error_set(errno == ENOENT ? DHG_ENOTFOUND : DHG_ERROR, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if ((error = walk_dir(&files, path, 0)) < 0)
			goto done;
	} else if ((error = path_list_add_take(&files, dhg_strdup(path))) < 0) {
		goto done;
	}
	progress = opts && opts->progress && files.len > 50 && isatty(STDERR_FILENO);
	for (size_t i = 0; i < files.len; i++) {
		if (progress)
			fprintf(stderr, "\rdhg: reading %zu/%zu files", i + 1, files.len);
		/* a regular file over the limit is refused from its size, before anything is read */
		if ((error = dhg_file_read(&data, &len, files.items[i], max)) < 0)
			goto done;
		error = extract_into(&one, data, len, files.items[i]);
		free(data);
		data = NULL;
		if (error < 0 || (error = objects_move(&acc, &one)) < 0)
			goto done;
	}
	error = objects_move(out, &acc);
done:
	if (progress)
		fputc('\n', stderr);
	path_list_dispose(&files);
	engine_objects_dispose(&acc);
	return error;
}

/* ---- several paths, files parsed on worker threads ------------------------------------------
 *
 * The calling thread first lists every input file in input order (directories walked as
 * engine_extract_path() walks them, standard input read); each file is then one task. Tasks are
 * taken in index order by the calling thread and up to threads - 1 workers; each task parses
 * into its own list (extract_into() shares nothing between files). The lists are appended in
 * task order afterwards, so objects and positions are those of the sequential run. The error
 * reported is the one of the lowest failing task, or of the listing (positioned after the
 * tasks listed before it): the first error in input order, as engine_extract_path() in turn
 * would give. Tasks after a known error are not started. */

typedef struct xtask {
	char *file;         /* owned: file to read, or NULL for `data` */
	char *data;         /* owned: standard input, already read */
	size_t len;
	engine_objects objs; /* what the task produced */
} xtask;

typedef struct xrun {
	xtask *tasks;
	size_t ntasks, cap;
	size_t max;       /* file size limit */
	int progress;
	int prepare;      /* engine_normalize__prepare() on each object of a task */
	engine_par par;   /* the tasks, one at a time; a listing error fails task ntasks */
} xrun;

static int xrun_add(xrun *r, char *file, char *data, size_t len)
{
	if (r->ntasks == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		xtask *n = realloc(r->tasks, ncap * sizeof(*n));
		if (!n) {
			free(file);
			free(data);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		r->tasks = n;
		r->cap = ncap;
	}
	r->tasks[r->ntasks].file = file;
	r->tasks[r->ntasks].data = data;
	r->tasks[r->ntasks].len = len;
	r->tasks[r->ntasks].objs = (engine_objects)ENGINE_OBJECTS_INIT;
	r->ntasks++;
	return 0;
}

/* The listing part of engine_extract_path() for one path: its files become tasks. On error
 * no task of this path is added. */
static int xrun_list(xrun *r, const char *path)
{
	path_list files = { 0 };
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int error = 0;

	if (!path || !*path)
		return dhg_error_set(DHG_EINVALID, "engine_extract_path: an empty path");
	if (strcmp(path, "-") == 0) {
		if ((error = dhg_file_read(&data, &len, "-", r->max)) < 0) {
			if (error == DHG_ETOOBIG)
				dhg_error_set(DHG_ETOOBIG, "<stdin>: input is larger than the limit of %zu bytes",
					      r->max);
			return error;
		}
		return xrun_add(r, NULL, data, len);
	}
	if (stat(path, &st) < 0)
		return dhg_error_set(errno == ENOENT ? DHG_ENOTFOUND : DHG_ERROR, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if ((error = walk_dir(&files, path, 0)) < 0)
			goto done;
	} else if ((error = path_list_add_take(&files, dhg_strdup(path))) < 0) {
		goto done;
	}
	for (size_t i = 0; i < files.len; i++) {
		if ((error = xrun_add(r, files.items[i], NULL, 0)) < 0) {
			files.items[i] = NULL;
			goto done;
		}
		files.items[i] = NULL;
	}
done:
	path_list_dispose(&files);
	return error;
}

static int xtask_parse(xtask *t, size_t max)
{
	char *data = NULL;
	size_t len = 0;
	int error;

	if (!t->file) {
		error = extract_into(&t->objs, t->data ? t->data : "", t->len, "<stdin>");
		free(t->data);
		t->data = NULL;
		return error;
	}
	/* a regular file over the limit is refused from its size, before anything is read */
	if ((error = dhg_file_read(&data, &len, t->file, max)) < 0)
		return error;
	error = extract_into(&t->objs, data, len, t->file);
	free(data);
	return error;
}

static int xtask_run(xtask *t, size_t max, int prepare)
{
	int error = xtask_parse(t, max);

	/* while the file's objects are still in this core's cache */
	if (error == 0 && prepare)
		for (size_t i = 0; i < t->objs.len; i++)
			engine_normalize__prepare(&t->objs.items[i]);
	return error;
}

static void *xworker(void *arg)
{
	xrun *r = arg;
	size_t i, end;
	int error;

	while (engine_par_next(&r->par, &i, &end)) {
		if (r->progress)
			fprintf(stderr, "\rdhg: reading %zu/%zu files", i + 1, r->ntasks);
		if ((error = xtask_run(&r->tasks[i], r->max, r->prepare)) < 0)
			engine_par_fail(&r->par, i, error);
	}
	return NULL;
}

static int extract_paths(engine_objects *out, const char *const *paths, size_t npaths,
			 const engine_extract_options *opts, int prepare)
{
	xrun r;
	engine_objects acc = ENGINE_OBJECTS_INIT;
	dhg_error lerr;
	int nthreads = opts ? opts->threads : 0, error = 0, lerror = 0, have_par = 0;

	memset(&r, 0, sizeof(r));
	r.prepare = prepare;
	r.max = opts && opts->max_file_bytes ? opts->max_file_bytes : ENGINE_MAX_FILE_BYTES;
	if (!out || (!paths && npaths))
		return dhg_error_set(DHG_EINVALID, "engine_extract_paths: invalid arguments");
	if (nthreads <= 0 && (error = engine_threads_default(&nthreads)) < 0)
		return error;
	if (nthreads > ENGINE_MAX_THREADS)
		nthreads = ENGINE_MAX_THREADS;
	for (size_t i = 0; i < npaths; i++)
		if ((lerror = xrun_list(&r, paths[i])) < 0) {
			lerr = *dhg_error_last();
			break;
		}
	r.progress = opts && opts->progress && r.ntasks > 50 && isatty(STDERR_FILENO);
	if ((error = engine_par_init(&r.par, r.ntasks, 1)) < 0)
		goto done;
	have_par = 1;
	if (lerror < 0) { /* after the files listed before it */
		dhg_error_restore(&lerr);
		engine_par_fail(&r.par, r.ntasks, lerror);
	}
	if ((size_t)nthreads > r.ntasks)
		nthreads = (int)r.ntasks;
	if (nthreads > 1)
		json_object_seed(0); /* jansson's hash seed, once, before any thread creates an object */
	engine_par_run(xworker, &r, 0, nthreads);
	if (r.progress)
		fputc('\n', stderr);
	if ((error = engine_par_result(&r.par)) < 0)
		goto done;
	for (size_t i = 0; i < r.ntasks; i++)
		if ((error = objects_move(&acc, &r.tasks[i].objs)) < 0)
			goto done;
	error = objects_move(out, &acc);
done:
	for (size_t i = 0; i < r.ntasks; i++) {
		free(r.tasks[i].file);
		free(r.tasks[i].data);
		engine_objects_dispose(&r.tasks[i].objs);
	}
	free(r.tasks);
	engine_objects_dispose(&acc);
	if (have_par)
		engine_par_dispose(&r.par);
	return error;
}

int engine_extract_paths(engine_objects *out, const char *const *paths, size_t npaths,
			 const engine_extract_options *opts)
{
	return extract_paths(out, paths, npaths, opts, 0);
}

int engine_extract__paths_prepared(engine_objects *out, const char *const *paths, size_t npaths,
				   const engine_extract_options *opts)
{
	return extract_paths(out, paths, npaths, opts, 1);
}
