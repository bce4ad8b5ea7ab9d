/*
 * Object lists, warning lists and exact-text numbers (engine.h).
 *
 * Exact-text numbers: a YAML number that is not an int64 integer in canonical decimal form
 * (a float, 1e3, 0644, 0x1F, .inf, an integer beyond int64, ...) is stored as a jansson
 * string made with json_stringn() whose bytes are
 *
 *     '\0' 'N' <exact source text>
 *
 * The leading NUL cannot come from YAML input: engine_extract_*() rejects any scalar that
 * contains a NUL character, so no real string collides with a number. json_equal() compares
 * the bytes, so two numbers are equal exactly when their texts are; json_deep_copy() keeps
 * them. Code that prints values must test engine_number_is() before json_is_string() and
 * write engine_number_text() verbatim.
 */
#include "engine/engine.h"
#include "engine/lifetime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/str.h"

#define NUMBER_MARK 'N'

static int exit_soon;

void engine_exit_soon_set(int on)
{
	exit_soon = on;
}

int engine_exit_soon(void)
{
	return exit_soon;
}

int engine_objects_add_take(engine_objects *objs, json_t *obj, const char *source, int doc, int line)
{
	char *src = NULL;

	if (!obj)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (objs->len == objs->cap) {
		size_t ncap = objs->cap ? objs->cap * 2 : 16;
		engine_object *n = realloc(objs->items, ncap * sizeof(*n));
		if (!n) {
			json_decref(obj);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		objs->items = n;
		objs->cap = ncap;
	}
	if (!(src = dhg_strdup(source ? source : ""))) {
		json_decref(obj);
		return DHG_ENOMEM;
	}
	objs->items[objs->len].obj = obj;
	objs->items[objs->len].source = src;
	objs->items[objs->len].doc = doc;
	objs->items[objs->len].line = line;
	objs->items[objs->len].prep = 0;
	objs->items[objs->len].key_hash = 0;
	objs->len++;
	return 0;
}

void engine_objects_dispose(engine_objects *objs)
{
	if (!objs)
		return;
	for (size_t i = 0; i < objs->len; i++) {
		json_decref(objs->items[i].obj);
		free(objs->items[i].source);
	}
	free(objs->items);
	objs->items = NULL;
	objs->len = objs->cap = 0;
}

static const char *str_at(const json_t *o, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(o, k1);
	if (k2)
		v = json_object_get(v, k2);
	return json_is_string(v) && !engine_number_is(v) ? json_string_value(v) : NULL;
}

const char *engine_object_describe(char *buf, size_t size, const engine_object *o)
{
	size_t n = 0;
	int w;
	const char *kind, *ns, *name;

	if (!buf || size == 0)
		return buf;
	buf[0] = '\0';
	if (!o)
		return buf;
#define APPEND(...)                                                                  \
	do {                                                                         \
		if (n < size) {                                                      \
			w = snprintf(buf + n, size - n, __VA_ARGS__);                \
			if (w > 0)                                                   \
				n += (size_t)w < size - n ? (size_t)w : size - n - 1; \
		}                                                                    \
	} while (0)
	if (o->source && o->source[0]) {
		APPEND("%s", o->source);
		if (o->doc >= 0 && o->line > 0)
			APPEND(" (document %d, line %d)", o->doc + 1, o->line);
		else if (o->doc >= 0)
			APPEND(" (document %d)", o->doc + 1);
		else if (o->line > 0)
			APPEND(" (line %d)", o->line);
	}
	kind = str_at(o->obj, "kind", NULL);
	ns = str_at(o->obj, "metadata", "namespace");
	name = str_at(o->obj, "metadata", "name");
	if (kind || name) {
		if (n > 0)
			APPEND(" ");
		APPEND("%s", kind ? kind : "<no kind>");
		if (name)
			APPEND(" %s%s%s", ns ? ns : "", ns ? "/" : "", name);
	}
#undef APPEND
	return buf;
}

int engine_warnings_addf(engine_warnings *w, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return dhg_error_set(DHG_ERROR, "bad warning format");
	if (!(s = malloc((size_t)len + 1)))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	va_start(ap, fmt);
	vsnprintf(s, (size_t)len + 1, fmt, ap);
	va_end(ap);
	if (w->len == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 8;
		char **n = realloc(w->items, ncap * sizeof(*n));
		if (!n) {
			free(s);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
		w->items = n;
		w->cap = ncap;
	}
	w->items[w->len++] = s;
	return 0;
}

void engine_warnings_dispose(engine_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->len; i++)
		free(w->items[i]);
	free(w->items);
	w->items = NULL;
	w->len = w->cap = 0;
}

json_t *engine_number_new(const char *text, size_t len)
{
	char small[128], *p = small;
	json_t *v;

	if (len + 2 > sizeof(small) && !(p = malloc(len + 2)))
		return NULL;
	p[0] = '\0';
	p[1] = NUMBER_MARK;
	if (len)
		memcpy(p + 2, text, len);
	v = json_stringn(p, len + 2);
	if (p != small)
		free(p);
	return v;
}

int engine_number_is(const json_t *v)
{
	const char *s;

	if (!json_is_string(v) || json_string_length(v) < 2)
		return 0;
	s = json_string_value(v);
	return s[0] == '\0' && s[1] == NUMBER_MARK;
}

const char *engine_number_text(const json_t *v)
{
	return engine_number_is(v) ? json_string_value(v) + 2 : NULL;
}

/* Here rather than in generate/ so that code which only loads charts (the OCI packager) can
 * free them without linking the generator. */
void engine_chart_free(engine_chart *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		free(c->files[i].data);
	}
	free(c->files);
	engine_warnings_dispose(&c->warnings);
	free(c);
}
