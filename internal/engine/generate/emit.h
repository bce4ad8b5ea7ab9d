#ifndef DHG_ENGINE_EMIT_H
#define DHG_ENGINE_EMIT_H

/*
 * YAML emitter: jansson values -> YAML text that every common reader (go-yaml v2/v3 as used
 * by Helm and kubectl, PyYAML, YAML 1.1 and 1.2 resolvers) reads back with the same value
 * and type.
 *
 * - Strings are written plain only when no resolver could read them as anything but that
 *   string; otherwise double-quoted with escapes. Multi-line strings use literal blocks
 *   (`|`, `|-`, `|+`, with an indentation indicator when needed) when a block represents them
 *   exactly, else double quotes.
 * - engine_number values (engine.h) are written verbatim.
 * - Mapping keys are sorted bytewise; with ENGINE_EMIT_K8S_ORDER the top level starts with
 *   apiVersion, kind, metadata. Sequences keep their order.
 * - ENGINE_EMIT_TEMPLATE: output is a Helm template: every `{{` / `}}` coming from data is
 *   escaped as {{ "{{" }} / {{ "}}" }}, and markers (below) are written as template text.
 *
 * Markers (template mode only) are values the processors put into a tree in place of data:
 * - inline marker: text written where a scalar would be (`key: <text>`, `- <text>`);
 * - block marker: lines written below `key:` at the child indentation; the byte '\x02' in
 *   the text is replaced by that indentation as a decimal number (for `nindent`);
 * - raw entries of a mapping (engine_emit_raw_add): lines written at the mapping's own
 *   indentation after its ordinary keys (e.g. `{{- include "x.labels" . | nindent 4 }}`).
 *
 * All functions are thread-safe on distinct arguments.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"

#define ENGINE_EMIT_TEMPLATE 0x1  /* Helm template: escape {{ }}, allow markers */
#define ENGINE_EMIT_K8S_ORDER 0x2 /* apiVersion, kind, metadata first at top level */

/* Comments for values files: an object mapping a key path (keys joined with '\x1f') to a
 * comment text (may hold several lines). May be NULL. */

/* Appends the YAML document for v (a mapping, sequence or scalar) to b. Returns 0 or < 0
 * (DHG_ETOOBIG/DHG_ENOMEM from the buffer, DHG_EINVALID for a value that can't be written). */
int engine_emit_yaml(dhg_buf *b, const json_t *v, int flags, const json_t *comments);

/* Appends the representation of one string as a YAML scalar, at nesting `indent` (used for
 * block scalars). For keys pass is_key=1 (never a block). */
int engine_emit_string(dhg_buf *b, const char *s, size_t len, int indent, int flags, int is_key);

/* 1 when the string may be written as a plain scalar. */
int engine_emit_plain_ok(const char *s, size_t len);

/* New inline / block marker holding a copy of text (new reference, NULL when OOM). */
json_t *engine_emit_marker_inline(const char *text);
json_t *engine_emit_marker_block(const char *text);
/* 1 when v is a marker. */
int engine_emit_is_marker(const json_t *v);
/* Adds a raw entry (lines) to mapping `map`; entries are written in the order added.
 * Returns 0 or DHG_ENOMEM. */
int engine_emit_raw_add(json_t *map, const char *text);

/* Appends s to b with every `{{` and `}}` escaped for Go templates. */
int engine_emit_escape_template(dhg_buf *b, const char *s, size_t len);

/* A mapping member, for writing members in key order. */
typedef struct engine_emit__member {
	const char *k;
	const json_t *v;
} engine_emit__member;

/* Sorts m[0..n) by key, bytewise (strcmp); with k8s, apiVersion, kind, metadata first. Keys
 * are unique (members of one mapping). Not allocating; thread-safe. */
void engine_emit__sort(engine_emit__member *m, size_t n, int k8s);

/* A new jansson string for generated text (markers, comments): ASCII text skips jansson's
 * per-character UTF-8 check, anything else is checked as json_stringn() does. NULL on
 * OOM or invalid UTF-8. */
static inline json_t *engine_emit__text(const char *s, size_t len)
{
	size_t i = 0;
	/* eight bytes at a time: any byte >= 0x80, or a zero byte */
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((w & 0x8080808080808080ull) || ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull))
			return json_stringn(s, len);
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || !s[i])
			return json_stringn(s, len);
	return json_stringn_nocheck(s, len);
}

/* Fast appends for the generator's hot paths: the same results as dhg_buf_put/putc/fill
 * (limit and growth handled there), inlined when the buffer already has room. */
static inline int engine_emit__room(const dhg_buf *b, size_t n)
{
	/* len < cap once allocated, len == cap == 0 before: cap - len > n is len + n < cap without
	 * overflow (the byte at len + n is the terminating NUL) */
	return b->cap - b->len > n && b->len + n <= (b->max ? b->max : DHG_BUF_DEFAULT_MAX);
}

/* Makes room for n more bytes (dhg_buf_reserve), inline when there is. */
static inline int engine_emit__reserve(dhg_buf *b, size_t n)
{
	return engine_emit__room(b, n) ? 0 : dhg_buf_reserve(b, n);
}

static inline int engine_emit__put(dhg_buf *b, const void *s, size_t n)
{
	if (!engine_emit__room(b, n))
		return dhg_buf_put(b, s, n);
	memcpy(b->ptr + b->len, s, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

static inline int engine_emit__puts(dhg_buf *b, const char *s)
{
	return engine_emit__put(b, s, strlen(s));
}

static inline int engine_emit__putc(dhg_buf *b, char c)
{
	if (!engine_emit__room(b, 1))
		return dhg_buf_putc(b, c);
	b->ptr[b->len++] = c;
	b->ptr[b->len] = '\0';
	return 0;
}

static inline int engine_emit__fill(dhg_buf *b, char c, size_t n)
{
	if (!engine_emit__room(b, n))
		return dhg_buf_fill(b, c, n);
	memset(b->ptr + b->len, c, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

#endif
