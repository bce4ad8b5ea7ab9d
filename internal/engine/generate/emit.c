/*
 * YAML emitter (see emit.h). Conservative by design: a string is written plain only when no
 * YAML 1.1 or 1.2 resolver (go-yaml v2/v3, PyYAML, libyaml users) can read it as anything
 * else; everything else is double-quoted or a literal block.
 */
#include "engine/generate/emit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/error.h"

/* "\x01" "b": written as one literal "\x01b" would be the single byte 0x1B (hex escapes
 * take every hex digit), a key input could carry (input keys starting with 0x01 are refused). */
#define MARK_INLINE "\x01" "i"
#define MARK_BLOCK "\x01" "b"
#define RAW_PREFIX '\x01'
#define MAX_DEPTH 200

/* ---- markers ------------------------------------------------------------------------------ */

static json_t *marker_new(const char *key, const char *text)
{
	json_t *o = json_object(), *s = text ? engine_emit__text(text, strlen(text)) : json_string("");
	/* key: MARK_INLINE or MARK_BLOCK, two ASCII bytes */
	if (!o || !s || json_object_setn_new_nocheck(o, key, 2, s) < 0) {
		json_decref(o);
		if (!o)
			json_decref(s);
		return NULL;
	}
	return o;
}

json_t *engine_emit_marker_inline(const char *text) { return marker_new(MARK_INLINE, text); }
json_t *engine_emit_marker_block(const char *text) { return marker_new(MARK_BLOCK, text); }

static const char *marker_text(const json_t *v, int *block)
{
	void *it;
	const char *k;
	if (!json_is_object(v) || json_object_size(v) != 1 || !(it = json_object_iter((json_t *)v)))
		return NULL;
	k = json_object_iter_key(it); /* the only key: no hash lookups */
	/* k is MARK_INLINE or MARK_BLOCK ("\x01" "i" / "\x01" "b"), compared bytewise */
	if (k[0] != '\x01' || (k[1] != 'i' && k[1] != 'b') || k[2])
		return NULL;
	*block = k[1] == 'b';
	return json_string_value(json_object_iter_value(it));
}

int engine_emit_is_marker(const json_t *v)
{
	int b;
	return marker_text(v, &b) != NULL;
}

int engine_emit_raw_add(json_t *map, const char *text)
{
	char key[32];
	json_t *s;
	size_t n = 0, d;

	for (void *it = json_object_iter(map); it; it = json_object_iter_next(map, it)) {
		const char *k = json_object_iter_key(it);
		if (k[0] == RAW_PREFIX && k[1] == 'r')
			n++;
	}
	/* "\x01r%06zu" without snprintf */
	{
		size_t m = n;
		d = 6;
		for (size_t t = n / 1000000; t; t /= 10)
			d++;
		key[0] = RAW_PREFIX;
		key[1] = 'r';
		for (size_t j = d; j > 0; j--, m /= 10)
			key[1 + j] = (char)('0' + m % 10);
		key[2 + d] = '\0';
	}
	/* key: "\x01r" and ASCII digits, 2 + d bytes */
	if (!text || !(s = engine_emit__text(text, strlen(text))) || json_object_setn_new_nocheck(map, key, 2 + d, s) < 0)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

/* ---- string classification ---------------------------------------------------------------- */

/* Decodes one UTF-8 code point at s (len bytes available); returns its length, or 0 if invalid. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && len >= 2 && (s[1] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
		return 2;
	}
	if ((s[0] & 0xF0) == 0xE0 && len >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		return 3;
	}
	if ((s[0] & 0xF8) == 0xF0 && len >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
		      ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		return 4;
	}
	return 0;
}

/* YAML printable, minus the characters some readers treat as line breaks or BOM. */
static int cp_safe(uint32_t c)
{
	if (c == 0x85 || c == 0x2028 || c == 0x2029 || c == 0xFEFF)
		return 0;
	return (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
	       (c >= 0x10000 && c <= 0x10FFFF);
}

/* 1 when every code point is safe (newlines allowed if allow_nl). */
static int all_safe(const char *s, size_t len, int allow_nl)
{
	size_t i = 0, n;
	uint32_t c;
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x80) { /* fast path: ASCII */
			if ((ch < 0x20 || ch == 0x7F) && !(allow_nl && ch == '\n'))
				return 0;
			i++;
			continue;
		}
		if (!(n = utf8_next((const unsigned char *)s + i, len - i, &c)))
			return 0;
		if (!(cp_safe(c) || (allow_nl && c == '\n')))
			return 0;
		i += n;
	}
	return 1;
}

/* Words YAML 1.1/1.2 resolvers read as null, booleans, infinities, NaN, the value and merge
 * keys, grouped by length (none is longer than 5 bytes): a string equal to one of them is
 * quoted. */
static const char special_1[] = "~yYnN=";
static const char special_2[][2] = {{'n', 'o'}, {'N', 'o'}, {'N', 'O'}, {'o', 'n'}, {'O', 'n'}, {'O', 'N'}, {'<', '<'}};
static const char special_3[][3] = {{'y', 'e', 's'}, {'Y', 'e', 's'}, {'Y', 'E', 'S'},
				    {'o', 'f', 'f'}, {'O', 'f', 'f'}, {'O', 'F', 'F'}};
static const char special_4[][4] = {{'n', 'u', 'l', 'l'}, {'N', 'u', 'l', 'l'}, {'N', 'U', 'L', 'L'},
				    {'t', 'r', 'u', 'e'}, {'T', 'r', 'u', 'e'}, {'T', 'R', 'U', 'E'},
				    {'.', 'i', 'n', 'f'}, {'.', 'I', 'n', 'f'}, {'.', 'I', 'N', 'F'},
				    {'.', 'n', 'a', 'n'}, {'.', 'N', 'a', 'N'}, {'.', 'N', 'A', 'N'}};
static const char special_5[][5] = {{'f', 'a', 'l', 's', 'e'}, {'F', 'a', 'l', 's', 'e'}, {'F', 'A', 'L', 'S', 'E'},
				    {'+', '.', 'i', 'n', 'f'}, {'+', '.', 'I', 'n', 'f'}, {'+', '.', 'I', 'N', 'F'},
				    {'-', '.', 'i', 'n', 'f'}, {'-', '.', 'I', 'n', 'f'}, {'-', '.', 'I', 'N', 'F'}};

#define SPECIAL_IN(tab, s)                                               \
	do {                                                             \
		for (size_t w_ = 0; w_ < sizeof(tab) / sizeof(tab[0]); w_++) \
			if (!memcmp((s), tab[w_], sizeof(tab[0])))          \
				return 1;                                \
	} while (0)

/* 1 when s (len bytes) is one of the words above. */
static int special_word(const char *s, size_t len)
{
	switch (len) {
	case 1:
		return s[0] && memchr(special_1, s[0], sizeof(special_1) - 1) != NULL;
	case 2: SPECIAL_IN(special_2, s); return 0;
	case 3: SPECIAL_IN(special_3, s); return 0;
	case 4: SPECIAL_IN(special_4, s); return 0;
	case 5: SPECIAL_IN(special_5, s); return 0;
	default:
		return 0;
	}
}
#undef SPECIAL_IN

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Anything a YAML 1.1/1.2 resolver might read as a number or a timestamp (deliberately broad:
 * quoting a string is always correct). */
static int looks_numeric(const char *s, size_t len)
{
	size_t i = 0;
	if (len >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-')
		return 1; /* timestamp-like */
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= len)
		return 0;
	if (!(is_digit(s[i]) || (s[i] == '.' && i + 1 < len && is_digit(s[i + 1]))))
		return 0;
	for (; i < len; i++) {
		char c = s[i];
		if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == 'x' || c == 'X' ||
		      c == 'o' || c == 'O' || c == '_' || c == ':' || c == '.' || c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

/* First bytes of the special words. */
static int special_start(char c)
{
	switch (c) {
	case '~': case 'n': case 'N': case 'y': case 'Y': case 't': case 'T': case 'f': case 'F':
	case 'o': case 'O': case '.': case '+': case '-': case '=': case '<':
		return 1;
	default:
		return 0;
	}
}

/* Bytes the plain-scalar scan has to look at: controls, DEL, non-ASCII, ':' and ' ' (1); '{'
 * and '}' (2), noted on the way for the template escaping. */
static const unsigned char plain_scan[256] = {
	/* 00 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 10 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 20 */ 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 30 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
	/* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 60 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 1,
	/* 80 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 90 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* A0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* B0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* C0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* D0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* E0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* F0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* engine_emit_plain_ok(); when it returns 1 for ASCII text, *braces is set to whether s
 * holds "{{" or "}}" (else left as it was). */
static int plain_ok(const char *s, size_t len, int *braces)
{
	size_t i;
	int ascii, br = 0;

	if (len == 0)
		return 0;
	if (s[0] == ' ' || s[len - 1] == ' ')
		return 0;
	/* one pass over ASCII text: control characters, ": " and " #"; most bytes are none of
	 * these (one table look-up each; four bytes none of which is marked are passed at once) */
	for (i = 0; i + 4 <= len; i += 4) {
		const unsigned char *u = (const unsigned char *)s + i;
		if (plain_scan[u[0]] | plain_scan[u[1]] | plain_scan[u[2]] | plain_scan[u[3]])
			break;
	}
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!plain_scan[ch])
			continue;
		if (plain_scan[ch] == 2) {
			if (i + 1 < len && (unsigned char)s[i + 1] == ch)
				br = 1;
			continue;
		}
		if (ch >= 0x80)
			break;
		if (ch < 0x20 || ch == 0x7F)
			return 0;
		if (i + 1 < len && ((ch == ':' && s[i + 1] == ' ') || (ch == ' ' && s[i + 1] == '#')))
			return 0;
	}
	ascii = i == len;
	if (!ascii && !all_safe(s, len, 0))
		return 0;
	switch (s[0]) {
	case '?': case ':': case ',': case '[': case ']': case '{': case '}': case '#': case '&':
	case '*': case '!': case '|': case '>': case '\'': case '"': case '%': case '@': case '`':
		return 0;
	case '-':
		if (len == 1 || s[1] == ' ' || s[1] == '-')
			return 0;
		break;
	default:
		break;
	}
	if (s[len - 1] == ':')
		return 0;
	for (i = 0; !ascii && i + 1 < len; i++) {
		if (s[i] == ':' && s[i + 1] == ' ')
			return 0;
		if (s[i] == ' ' && s[i + 1] == '#')
			return 0;
	}
	if (len <= 5 && special_start(s[0]) && special_word(s, len))
		return 0;
	if (looks_numeric(s, len))
		return 0;
	/* Go templates: a value that is exactly a template action opener would be confusing. */
	if (ascii)
		*braces = br;
	return 1;
}

int engine_emit_plain_ok(const char *s, size_t len)
{
	int braces;
	return plain_ok(s, len, &braces);
}

/* Literal block possible: printable, no tabs/CR, no trailing spaces on lines, no
 * whitespace-only lines, not only newlines. */
static int block_ok(const char *s, size_t len)
{
	size_t i, line_start = 0;
	int nonblank = 0;
	if (!all_safe(s, len, 1))
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '\n') {
			size_t l = i - line_start;
			if (l > 0) {
				if (s[i - 1] == ' ')
					return 0; /* trailing space (also whitespace-only lines) */
				nonblank = 1;
			}
			line_start = i + 1;
		}
	}
	return nonblank;
}

/* ---- writers ------------------------------------------------------------------------------ */

/* 1 when s holds "{{" or "}}". */
static int has_braces(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if ((s[i] == '{' || s[i] == '}') && s[i + 1] == s[i])
			return 1;
	return 0;
}

int engine_emit_escape_template(dhg_buf *b, const char *s, size_t len)
{
	size_t i = 0, from = 0;
	int err;
	if (!has_braces(s, len)) /* the usual case: one scan, one copy */
		return engine_emit__put(b, s, len);
	while (i + 1 < len) {
		if ((s[i] == '{' && s[i + 1] == '{') || (s[i] == '}' && s[i + 1] == '}')) {
			if ((err = engine_emit__put(b, s + from, i - from)) < 0)
				return err;
			if ((err = engine_emit__puts(b, s[i] == '{' ? "{{ \"{{\" }}" : "{{ \"}}\" }}")) < 0)
				return err;
			i += 2;
			from = i;
		} else {
			i++;
		}
	}
	return engine_emit__put(b, s + from, len - from);
}

/* Writes bytes, escaping templates when asked. */
static int put_text(dhg_buf *b, const char *s, size_t len, int flags)
{
	if (flags & ENGINE_EMIT_TEMPLATE)
		return engine_emit_escape_template(b, s, len);
	return engine_emit__put(b, s, len);
}

static int put_dquoted(dhg_buf *b, const char *s, size_t len, int flags)
{
	dhg_buf tmp = DHG_BUF_INIT(0);
	size_t i = 0, n;
	uint32_t c;
	int err = 0;
	char esc[16];
	size_t save = b->len;

	/* the escapes never make braces: without {{ or }} in s, the quoted text goes straight to b */
	if (!(flags & ENGINE_EMIT_TEMPLATE) || !has_braces(s, len)) {
		tmp = *b;
		flags &= ~ENGINE_EMIT_TEMPLATE;
	}
	if ((err = engine_emit__putc(&tmp, '"')) < 0)
		goto done;
	while (i < len) {
		/* a run of printable ASCII other than '"' and '\\' is copied as it is */
		size_t r = i;
		while (r < len && (unsigned char)s[r] >= 0x20 && (unsigned char)s[r] < 0x7F && s[r] != '"' && s[r] != '\\')
			r++;
		if (r > i) {
			if ((err = engine_emit__put(&tmp, s + i, r - i)) < 0)
				goto done;
			i = r;
			continue;
		}
		n = utf8_next((const unsigned char *)s + i, len - i, &c);
		if (!n) { /* not UTF-8 (cannot come from jansson); write the byte as a code point */
			c = (unsigned char)s[i];
			n = 1;
			snprintf(esc, sizeof(esc), "\\x%02X", c);
			err = engine_emit__puts(&tmp, esc);
		} else if (c == '"') {
			err = engine_emit__puts(&tmp, "\\\"");
		} else if (c == '\\') {
			err = engine_emit__puts(&tmp, "\\\\");
		} else if (c == '\n') {
			err = engine_emit__puts(&tmp, "\\n");
		} else if (c == '\t') {
			err = engine_emit__puts(&tmp, "\\t");
		} else if (c == '\r') {
			err = engine_emit__puts(&tmp, "\\r");
		} else if (c == 0) {
			err = engine_emit__puts(&tmp, "\\0");
		} else if (c == 0x85) {
			err = engine_emit__puts(&tmp, "\\N");
		} else if (c == 0x2028) {
			err = engine_emit__puts(&tmp, "\\L");
		} else if (c == 0x2029) {
			err = engine_emit__puts(&tmp, "\\P");
		} else if (!cp_safe(c)) {
			if (c <= 0xFF)
				snprintf(esc, sizeof(esc), "\\x%02X", c);
			else if (c <= 0xFFFF)
				snprintf(esc, sizeof(esc), "\\u%04X", c);
			else
				snprintf(esc, sizeof(esc), "\\U%08X", c);
			err = engine_emit__puts(&tmp, esc);
		} else {
			err = engine_emit__put(&tmp, s + i, n);
		}
		if (err < 0)
			goto done;
		i += n;
	}
	if ((err = engine_emit__putc(&tmp, '"')) == 0 && (flags & ENGINE_EMIT_TEMPLATE))
		err = put_text(b, tmp.ptr, tmp.len, flags);
done:
	if (!(flags & ENGINE_EMIT_TEMPLATE)) { /* tmp was b itself */
		if (err < 0 && tmp.ptr) { /* as before: nothing appended on error */
			tmp.len = save;
			tmp.ptr[save] = '\0';
		}
		*b = tmp;
		return err;
	}
	dhg_buf_dispose(&tmp);
	return err;
}

static int put_block(dhg_buf *b, const char *s, size_t len, int indent, int flags)
{
	size_t trailing = 0, i, line_start;
	const char *chomp;
	int err, need_indicator = 0;

	while (trailing < len && s[len - 1 - trailing] == '\n')
		trailing++;
	chomp = trailing == 0 ? "-" : trailing == 1 ? "" : "+";
	for (i = 0; i < len && s[i] == '\n'; i++)
		;
	if (i < len && s[i] == ' ')
		need_indicator = 1;
	if ((err = engine_emit__putc(b, '|')) < 0)
		return err;
	if (need_indicator && (err = engine_emit__putc(b, '2')) < 0)
		return err;
	if ((err = engine_emit__puts(b, chomp)) < 0)
		return err;
	/* content lines: everything up to the final newline run, split on '\n' */
	line_start = 0;
	for (i = 0; i <= len - trailing; i++) {
		if (i == len - trailing || s[i] == '\n') {
			size_t l = i - line_start;
			if ((err = engine_emit__putc(b, '\n')) < 0)
				return err;
			if (l > 0) {
				if ((err = engine_emit__fill(b, ' ', (size_t)indent)) < 0)
					return err;
				if ((err = put_text(b, s + line_start, l, flags)) < 0)
					return err;
			}
			line_start = i + 1;
		}
	}
	/* keep-chomping: the extra trailing newlines become empty lines */
	for (i = 1; i < trailing; i++)
		if ((err = engine_emit__putc(b, '\n')) < 0)
			return err;
	/* the caller writes the line's final '\n' */
	return 0;
}

int engine_emit_string(dhg_buf *b, const char *s, size_t len, int indent, int flags, int is_key)
{
	int braces = -1; /* unknown */
	if (plain_ok(s, len, &braces)) {
		if (!braces) /* the scan saw no "{{" / "}}": nothing to escape */
			return engine_emit__put(b, s, len);
		return put_text(b, s, len, flags);
	}
	if (!is_key && memchr(s, '\n', len) && block_ok(s, len)) {
		size_t trailing = 0;
		while (trailing < len && s[len - 1 - trailing] == '\n')
			trailing++;
		/* In templates a following `{{-` would eat keep-chomped blank lines. */
		if (!((flags & ENGINE_EMIT_TEMPLATE) && trailing > 1))
			return put_block(b, s, len, indent, flags);
	}
	return put_dquoted(b, s, len, flags);
}

static int put_scalar(dhg_buf *b, const json_t *v, int indent, int flags)
{
	char num[64];
	const char *t;

	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		/* an engine_number value starts with a NUL byte (engine.h): only then ask */
		if (len >= 2 && !s[0] && (t = engine_number_text(v))) {
			if (strpbrk(t, "nN") || strpbrk(t, "iI"))
				return dhg_error_set(DHG_EINVALID,
						     "the number %s (infinity / not-a-number) cannot be represented: "
						     "Kubernetes and Helm convert manifests to JSON, which has no such value",
						     t);
			return engine_emit__puts(b, t);
		}
		return engine_emit_string(b, s, len, indent, flags, 0);
	}
	case JSON_INTEGER: {
		json_int_t iv = json_integer_value(v);
		unsigned long long u = iv < 0 ? 0ULL - (unsigned long long)iv : (unsigned long long)iv;
		int k = (int)sizeof(num);
		do {
			num[--k] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (iv < 0)
			num[--k] = '-';
		return engine_emit__put(b, num + k, sizeof(num) - (size_t)k);
	}
	case JSON_REAL: {
		double d = json_real_value(v);
		snprintf(num, sizeof(num), "%.17g", d);
		if (!strpbrk(num, ".eEn")) /* keep it a float */
			return dhg_buf_printf(b, "%s.0", num);
		if (strstr(num, "inf"))
			return engine_emit__puts(b, d < 0 ? "-.inf" : ".inf");
		if (strstr(num, "nan"))
			return engine_emit__puts(b, ".nan");
		return engine_emit__puts(b, num);
	}
	case JSON_TRUE:
		return engine_emit__puts(b, "true");
	case JSON_FALSE:
		return engine_emit__puts(b, "false");
	case JSON_NULL:
		return engine_emit__puts(b, "null");
	default:
		return dhg_error_set(DHG_EINVALID, "emit: unexpected value type");
	}
}

/* Writes marker/raw lines at `indent`, replacing '\x02' by the indentation number ('\x03' by
 * that number + 2). */
static int put_lines(dhg_buf *b, const char *text, int indent)
{
	const char *p = text;
	int err;
	while (*p) {
		if ((err = engine_emit__fill(b, ' ', (size_t)indent)) < 0)
			return err;
		for (;;) {
			size_t l = strcspn(p, "\n\x02\x03");
			char num[16];
			int v, k = (int)sizeof(num);
			if ((err = engine_emit__put(b, p, l)) < 0)
				return err;
			p += l;
			if (*p != '\x02' && *p != '\x03')
				break;
			v = indent + (*p == '\x03' ? 2 : 0);
			do {
				num[--k] = (char)('0' + v % 10);
				v /= 10;
			} while (v && k > 0);
			if ((err = engine_emit__put(b, num + k, sizeof(num) - (size_t)k)) < 0)
				return err;
			p++;
		}
		if ((err = engine_emit__putc(b, '\n')) < 0)
			return err;
		if (*p == '\n')
			p++;
	}
	return 0;
}

typedef struct emitter {
	dhg_buf *b;
	int flags;
	const json_t *comments;
	dhg_buf path; /* current key path joined with '\x1f' (values comments) */
} emitter;

static int emit_node(emitter *e, const json_t *v, int indent, int depth);
static int emit_map(emitter *e, const json_t *m, int indent, int first_inline, int depth, int top);
static int emit_seq(emitter *e, const json_t *a, int indent, int first_inline, int depth);

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef engine_emit__member member;

static int top_rank(const char *k)
{
	switch (k[0]) { /* one strcmp at most */
	case 'a': return strcmp(k, "apiVersion") == 0 ? 0 : 3;
	case 'k': return strcmp(k, "kind") == 0 ? 1 : 3;
	case 'm': return strcmp(k, "metadata") == 0 ? 2 : 3;
	default: return 3;
	}
}

/* strcmp(a, b) < 0, deciding on the first byte without a call when it differs */
static inline int key_less(const char *a, const char *b)
{
	if (a[0] != b[0])
		return (unsigned char)a[0] < (unsigned char)b[0];
	return strcmp(a, b) < 0;
}

static int cmp_keys_k8s(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int rx = top_rank(x), ry = top_rank(y);
	if (rx != ry)
		return rx - ry;
	return strcmp(x, y);
}

/* Small mappings (nearly all of them) are insertion-sorted: no comparator calls through a
 * function pointer, no merge buffer. Same order as qsort with cmp_keys / cmp_keys_k8s. */
void engine_emit__sort(engine_emit__member *m, size_t n, int k8s)
{
	if (n > 24) {
		qsort(m, n, sizeof(*m), k8s ? cmp_keys_k8s : cmp_keys);
		return;
	}
	if (k8s) {
		for (size_t i = 1; i < n; i++) {
			engine_emit__member x = m[i];
			int rx = top_rank(x.k);
			size_t j = i;
			while (j > 0) {
				int ry = top_rank(m[j - 1].k);
				if (ry < rx || (ry == rx && key_less(m[j - 1].k, x.k)))
					break;
				m[j] = m[j - 1];
				j--;
			}
			m[j] = x;
		}
		return;
	}
	for (size_t i = 1; i < n; i++) {
		engine_emit__member x = m[i];
		size_t j = i;
		while (j > 0 && !key_less(m[j - 1].k, x.k)) {
			m[j] = m[j - 1];
			j--;
		}
		m[j] = x;
	}
}

/* Writes the comment of the key whose path e->path holds (when comments are on). */
static int put_comment(emitter *e, int indent)
{
	const json_t *c;
	int err = 0;

	if (!e->comments)
		return 0;
	/* the path is keys up to their first NUL (engine_emit__puts) and '\x1f': no NUL inside */
	c = json_object_getn(e->comments, dhg_buf_cstr(&e->path), e->path.len);
	if (!json_is_string(c))
		return 0;
	const char *p = json_string_value(c);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		if ((err = engine_emit__fill(e->b, ' ', (size_t)indent)) < 0 || (err = engine_emit__put(e->b, "# ", 2)) < 0 ||
		    (err = engine_emit__put(e->b, p, l)) < 0 || (err = engine_emit__putc(e->b, '\n')) < 0)
			return err;
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

/* 1 when engine_emit_string() writes s as it is (plain, nothing to escape). */
static int plain_as_is(const char *s, size_t len, int flags)
{
	int braces = -1;
	return plain_ok(s, len, &braces) && (braces == 0 || !(flags & ENGINE_EMIT_TEMPLATE));
}

/* `<ind spaces><key>:` (the key as engine_emit_string(..., is_key = 1) writes it); the usual
 * plain key in one reserved write. */
static int put_key(emitter *e, int ind, const char *k, int indent)
{
	size_t kl = strlen(k);
	int err;
	if (plain_as_is(k, kl, e->flags)) {
		dhg_buf *b = e->b;
		size_t n = (size_t)ind + kl + 1;
		char *p;
		if ((err = engine_emit__reserve(b, n)) < 0)
			return err;
		p = b->ptr + b->len;
		memset(p, ' ', (size_t)ind);
		memcpy(p + ind, k, kl);
		p[ind + kl] = ':';
		b->len += n;
		b->ptr[b->len] = '\0';
		return 0;
	}
	if ((err = engine_emit__fill(e->b, ' ', (size_t)ind)) < 0 ||
	    (err = engine_emit_string(e->b, k, kl, indent, e->flags, 1)) < 0)
		return err;
	return engine_emit__putc(e->b, ':');
}

static int emit_value_after_key(emitter *e, const json_t *v, int indent, int depth)
{
	/* indent: the indentation of the key; children go to indent + 2 */
	const char *mt;
	int block, err;

	if ((mt = marker_text(v, &block))) {
		if (!block) {
			if ((err = engine_emit__putc(e->b, ' ')) < 0 || (err = engine_emit__puts(e->b, mt)) < 0)
				return err;
			return engine_emit__putc(e->b, '\n');
		}
		if ((err = engine_emit__putc(e->b, '\n')) < 0)
			return err;
		return put_lines(e->b, mt, indent + 2);
	}
	if (json_is_object(v) && json_object_size(v) > 0) {
		if ((err = engine_emit__putc(e->b, '\n')) < 0)
			return err;
		return emit_map(e, v, indent + 2, 0, depth + 1, 0);
	}
	if (json_is_array(v) && json_array_size(v) > 0) {
		if ((err = engine_emit__putc(e->b, '\n')) < 0)
			return err;
		return emit_seq(e, v, indent + 2, 0, depth + 1);
	}
	if (json_is_string(v)) { /* the usual plain string: ` <text>\n` in one reserved write */
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		if (!(len >= 2 && !s[0]) && plain_as_is(s, len, e->flags)) { /* not an engine_number */
			dhg_buf *b = e->b;
			char *p;
			if ((err = engine_emit__reserve(b, len + 2)) < 0)
				return err;
			p = b->ptr + b->len;
			p[0] = ' ';
			memcpy(p + 1, s, len);
			p[len + 1] = '\n';
			b->len += len + 2;
			b->ptr[b->len] = '\0';
			return 0;
		}
	}
	if ((err = engine_emit__putc(e->b, ' ')) < 0)
		return err;
	if ((err = emit_node(e, v, indent + 2, depth + 1)) < 0)
		return err;
	return engine_emit__putc(e->b, '\n');
}

static int emit_map(emitter *e, const json_t *m, int indent, int first_inline, int depth, int top)
{
	member small_keys[32], small_raws[32];
	member *keys = small_keys, *raws = small_raws;
	size_t nk = 0, nr = 0, i, n = json_object_size(m);
	void *it;
	int err = 0;

	if (depth > MAX_DEPTH)
		return dhg_error_set(DHG_EINVALID, "emit: value nested deeper than %d levels", MAX_DEPTH);
	if (n > 32 && (!(keys = malloc(n * sizeof(*keys))) || !(raws = malloc(n * sizeof(*raws))))) {
		err = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	for (it = json_object_iter((json_t *)m); it; it = json_object_iter_next((json_t *)m, it)) {
		const char *k = json_object_iter_key(it);
		member *x = (k[0] == RAW_PREFIX && k[1] == 'r') ? &raws[nr++] : &keys[nk++];
		x->k = k;
		x->v = json_object_iter_value(it);
	}
	engine_emit__sort(keys, nk, top && (e->flags & ENGINE_EMIT_K8S_ORDER));
	engine_emit__sort(raws, nr, 0); /* unique keys: the order qsort with strcmp gave */
	for (i = 0; i < nk; i++) {
		int ind = (i == 0 && first_inline) ? 0 : indent;
		size_t save = e->path.len;
		if (e->comments) {
			if ((save && (err = engine_emit__putc(&e->path, '\x1f')) < 0) ||
			    (err = engine_emit__puts(&e->path, keys[i].k)) < 0)
				goto done;
			if (!(i == 0 && first_inline) && (err = put_comment(e, indent)) < 0)
				goto done;
		}
		if ((err = put_key(e, ind, keys[i].k, indent)) < 0)
			goto done;
		err = emit_value_after_key(e, keys[i].v, indent, depth);
		if (e->comments) {
			e->path.len = save;
			if (e->path.ptr)
				e->path.ptr[save] = '\0';
		}
		if (err < 0)
			goto done;
	}
	for (i = 0; i < nr; i++)
		if ((err = put_lines(e->b, json_string_value(raws[i].v), indent)) < 0)
			goto done;
done:
	if (keys != small_keys)
		free(keys);
	if (raws != small_raws)
		free(raws);
	return err;
}

static int emit_seq(emitter *e, const json_t *a, int indent, int first_inline, int depth)
{
	size_t i;
	json_t *v;
	int err;
	const char *mt;
	int block;

	if (depth > MAX_DEPTH)
		return dhg_error_set(DHG_EINVALID, "emit: value nested deeper than %d levels", MAX_DEPTH);
	json_array_foreach(a, i, v)
	{
		if ((err = engine_emit__fill(e->b, ' ', (size_t)((i == 0 && first_inline) ? 0 : indent))) < 0)
			return err;
		if ((err = engine_emit__putc(e->b, '-')) < 0)
			return err;
		if ((mt = marker_text(v, &block))) {
			if (block)
				return dhg_error_set(DHG_EINVALID, "emit: block marker inside a sequence");
			if ((err = engine_emit__putc(e->b, ' ')) < 0 || (err = engine_emit__puts(e->b, mt)) < 0 ||
			    (err = engine_emit__putc(e->b, '\n')) < 0)
				return err;
		} else if (json_is_object(v) && json_object_size(v) > 0) {
			if ((err = engine_emit__putc(e->b, ' ')) < 0)
				return err;
			if ((err = emit_map(e, v, indent + 2, 1, depth + 1, 0)) < 0)
				return err;
		} else if (json_is_array(v) && json_array_size(v) > 0) {
			if ((err = engine_emit__putc(e->b, ' ')) < 0)
				return err;
			if ((err = emit_seq(e, v, indent + 2, 1, depth + 1)) < 0)
				return err;
		} else {
			if ((err = engine_emit__putc(e->b, ' ')) < 0)
				return err;
			if ((err = emit_node(e, v, indent + 2, depth + 1)) < 0)
				return err;
			if ((err = engine_emit__putc(e->b, '\n')) < 0)
				return err;
		}
	}
	return 0;
}

/* A scalar, or an empty collection, written inline. */
static int emit_node(emitter *e, const json_t *v, int indent, int depth)
{
	const char *mt;
	int block;
	(void)depth;
	if ((mt = marker_text(v, &block))) {
		if (block)
			return dhg_error_set(DHG_EINVALID, "emit: block marker in an inline position");
		return engine_emit__puts(e->b, mt);
	}
	if (json_is_object(v))
		return engine_emit__puts(e->b, "{}");
	if (json_is_array(v))
		return engine_emit__puts(e->b, "[]");
	return put_scalar(e->b, v, indent, e->flags);
}

int engine_emit_yaml(dhg_buf *b, const json_t *v, int flags, const json_t *comments)
{
	emitter e = {b, flags, comments, DHG_BUF_INIT(0)};
	int err;

	if (json_is_object(v) && json_object_size(v) > 0)
		err = emit_map(&e, v, 0, 0, 0, 1);
	else if (json_is_array(v) && json_array_size(v) > 0)
		err = emit_seq(&e, v, 0, 0, 0);
	else if ((err = emit_node(&e, v, 2, 0)) == 0)
		err = engine_emit__putc(b, '\n');
	dhg_buf_dispose(&e.path);
	return err;
}
