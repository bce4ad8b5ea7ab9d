/* YAML emitter: quoting table round-trips through libyaml, block scalars, template
 * escaping, markers, key order, determinism. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "engine/engine.h"
#include "engine/generate/emit.h"
#include "util/buf.h"
#include "util/error.h"

enum { PLAIN, DQ, LIT };

/* Parses `doc` (a one-key mapping) with libyaml; returns the value scalar and its style. */
static char *parse_value(const char *doc, size_t *len, int *style)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int scalars = 0;
	char *val = NULL;

	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)doc, strlen(doc));
	for (;;) {
		if (!yaml_parser_parse(&p, &ev))
			ck_abort_msg("libyaml cannot parse: %s\n---\n%s", p.problem, doc);
		if (ev.type == YAML_SCALAR_EVENT && ++scalars == 2) {
			val = malloc(ev.data.scalar.length + 1);
			memcpy(val, ev.data.scalar.value, ev.data.scalar.length);
			val[ev.data.scalar.length] = 0;
			*len = ev.data.scalar.length;
			*style = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? PLAIN
				 : ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ? LIT
										    : DQ;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return val;
}

static char *emit_kv(const char *s, size_t len, int flags)
{
	json_t *o = json_object();
	dhg_buf b = DHG_BUF_INIT(0);
	json_object_set_new(o, "k", json_stringn(s, len));
	ck_assert_int_eq(engine_emit_yaml(&b, o, flags, NULL), 0);
	json_decref(o);
	return dhg_buf_detach(&b, NULL);
}

static const struct {
	const char *s;
	int style;
} table[] = {
	{"nginx", PLAIN}, {"100m", PLAIN}, {"10Gi", PLAIN}, {"http://x.example/a?b=c", PLAIN}, {"-Xmx512m", PLAIN},
	{"a,b", PLAIN}, {"app.kubernetes.io/name", PLAIN}, {"\xe6\x97\xa5\xe6\x9c\xac", PLAIN}, {"1h", PLAIN},
	{"a#b", PLAIN}, {"yes", DQ}, {"Yes", DQ}, {"no", DQ}, {"y", DQ}, {"N", DQ}, {"on", DQ}, {"OFF", DQ},
	{"true", DQ}, {"False", DQ}, {"null", DQ}, {"~", DQ}, {"", DQ}, {"1:20", DQ}, {"0755", DQ}, {"1_000", DQ},
	{"2024-01-01", DQ}, {"2001-12-14t21:59:43.10-05:00", DQ}, {"1e3", DQ}, {".5", DQ}, {"0x1F", DQ},
	{"0o17", DQ}, {"0b101", DQ}, {"+1", DQ}, {"-1", DQ}, {"1.25", DQ}, {"80", DQ}, {".inf", DQ}, {"-.Inf", DQ},
	{".NaN", DQ}, {" a", DQ}, {"a ", DQ}, {"a: b", DQ}, {"a #b", DQ}, {"#a", DQ}, {"-", DQ}, {"- a", DQ},
	{"--", DQ}, {"---", DQ}, {"@x", DQ}, {"`x", DQ}, {"*x", DQ}, {"&a", DQ}, {"!t", DQ}, {"%x", DQ}, {"|", DQ},
	{">", DQ}, {"'a'", DQ}, {"\"a\"", DQ}, {"a:", DQ}, {"=", DQ}, {"<<", DQ}, {"?", DQ}, {"[a]", DQ}, {"{a}", DQ},
	{"a\tb", DQ}, {"a\x01" "b", DQ}, {"\xc2\x85", DQ}, {"a\xe2\x80\xa8" "b", DQ}, {"\xef\xbb\xbfx", DQ},
	{"back\\slash \"q\"", PLAIN}, {"a\nb", LIT}, {"a\nb\n", LIT}, {"a\n\n", LIT}, {"  lead\nx\n", LIT},
	{"\n\n  x\n", LIT}, {"trail \nx", DQ}, {"a\tb\nc", DQ}, {"\n", DQ}, {"\n\n", DQ}, {"a\r\nb", DQ},
	{"x\n \ny", DQ}, {"#!/bin/sh\necho {{ hi }}\n", LIT}, {"NULL", DQ}, {"+.INF", DQ}, {".NAN", DQ}, {"ON", DQ},
	{"Off", DQ}, {"YES", DQ}, {"nul", PLAIN}, {"yess", PLAIN}, {"Tru", PLAIN}, {"<", PLAIN}, {"falsey", PLAIN},
};

START_TEST(test_engine_emit__quoting_table_roundtrip)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t len = 0, in_len = strlen(table[i].s);
		int style = -1;
		char *doc = emit_kv(table[i].s, in_len, 0);
		char *v = parse_value(doc, &len, &style);
		ck_assert_msg(v != NULL, "no value for case %zu", i);
		ck_assert_msg(len == in_len && memcmp(v, table[i].s, len) == 0, "case %zu: value changed:\n%s", i, doc);
		ck_assert_msg(style == table[i].style, "case %zu: style %d, want %d:\n%s", i, style, table[i].style, doc);
		free(v);
		free(doc);
	}
}
END_TEST

START_TEST(test_engine_emit__block_scalar_forms)
{
	char *d;
	d = emit_kv("a\nb", 3, 0);
	ck_assert_str_eq(d, "k: |-\n  a\n  b\n");
	free(d);
	d = emit_kv("a\nb\n", 4, 0);
	ck_assert_str_eq(d, "k: |\n  a\n  b\n");
	free(d);
	d = emit_kv("a\n\n", 3, 0);
	ck_assert_str_eq(d, "k: |+\n  a\n\n");
	free(d);
	d = emit_kv(" a\n", 3, 0);
	ck_assert_str_eq(d, "k: |2\n   a\n");
	free(d);
	/* keep-chomping is avoided in templates (a following {{- would eat the blank lines) */
	d = emit_kv("a\n\n", 3, ENGINE_EMIT_TEMPLATE);
	ck_assert_str_eq(d, "k: \"a\\n\\n\"\n");
	free(d);
}
END_TEST

/* Renders the escapes the way Go's text/template does for our two constant actions. */
static char *unescape_template(const char *s)
{
	dhg_buf b = DHG_BUF_INIT(0);
	while (*s) {
		if (!strncmp(s, "{{ \"{{\" }}", 10)) {
			dhg_buf_puts(&b, "{{");
			s += 10;
		} else if (!strncmp(s, "{{ \"}}\" }}", 10)) {
			dhg_buf_puts(&b, "}}");
			s += 10;
		} else {
			ck_assert_msg(!(s[0] == '{' && s[1] == '{'), "unescaped action in: %s", s);
			dhg_buf_putc(&b, *s++);
		}
	}
	return dhg_buf_detach(&b, NULL);
}

START_TEST(test_engine_emit__template_escaping)
{
	const char *cases[] = {"{{ .Values.x }}", "a}}b", "{{{x}}}", "alert: {{ $labels.instance }} down\nsum: {{ $value }}\n",
			       "{{", "}", "{ {", NULL};
	for (size_t i = 0; cases[i]; i++) {
		char *plain = emit_kv(cases[i], strlen(cases[i]), 0);
		char *tpl = emit_kv(cases[i], strlen(cases[i]), ENGINE_EMIT_TEMPLATE);
		char *back = unescape_template(tpl);
		ck_assert_msg(strcmp(back, plain) == 0, "case %zu:\n%s\nvs\n%s", i, back, plain);
		free(plain);
		free(tpl);
		free(back);
	}
	{
		char *tpl = emit_kv("{{ x }}", 7, ENGINE_EMIT_TEMPLATE);
		ck_assert_str_eq(tpl, "k: \"{{ \"{{\" }} x {{ \"}}\" }}\"\n");
		free(tpl);
	}
}
END_TEST

START_TEST(test_engine_emit__numbers_and_order)
{
	json_t *o = json_pack("{s:s,s:s,s:{s:s},s:I,s:b,s:n,s:[i,s],s:{},s:[]}", "zeta", "z", "kind", "K", "metadata", "name",
			      "n", "apiVersion", (json_int_t)9007199254740993LL, "b", 1, "nul", "list", 1, "x", "eo", "ea");
	json_t *num = engine_number_new("0644", 4);
	dhg_buf b = DHG_BUF_INIT(0);
	json_object_set_new(o, "mode", num);
	json_object_set_new(o, "f", json_real(2.0));
	ck_assert_int_eq(engine_emit_yaml(&b, o, ENGINE_EMIT_K8S_ORDER, NULL), 0);
	ck_assert_str_eq(dhg_buf_cstr(&b), "apiVersion: 9007199254740993\n"
					   "kind: K\n"
					   "metadata:\n"
					   "  name: \"n\"\n"
					   "b: true\n"
					   "ea: []\n"
					   "eo: {}\n"
					   "f: 2.0\n"
					   "list:\n"
					   "  - 1\n"
					   "  - x\n"
					   "mode: 0644\n"
					   "nul: null\n"
					   "zeta: z\n");
	/* same object, other insertion order: same bytes */
	{
		json_t *o2 = json_object();
		const char *keys[] = {"zeta", "nul", "mode", "list", "f", "eo", "ea", "b", "metadata", "kind", "apiVersion"};
		dhg_buf b2 = DHG_BUF_INIT(0);
		for (size_t i = 0; i < 11; i++)
			json_object_set(o2, keys[i], json_object_get(o, keys[i]));
		ck_assert_int_eq(engine_emit_yaml(&b2, o2, ENGINE_EMIT_K8S_ORDER, NULL), 0);
		ck_assert_str_eq(dhg_buf_cstr(&b), dhg_buf_cstr(&b2));
		dhg_buf_dispose(&b2);
		json_decref(o2);
	}
	/* .inf cannot be represented */
	dhg_buf_clear(&b);
	json_object_set_new(o, "mode", engine_number_new(".inf", 4));
	ck_assert_int_lt(engine_emit_yaml(&b, o, 0, NULL), 0);
	dhg_buf_dispose(&b);
	json_decref(o);
}
END_TEST

START_TEST(test_engine_emit__nested_and_markers)
{
	json_t *o = json_pack("{s:[{s:s,s:[s]},[s,s]],s:{s:s}}", "items", "name", "a", "args", "x", "p", "q", "m", "k", "v");
	dhg_buf b = DHG_BUF_INIT(0);
	json_object_set_new(json_object_get(o, "m"), "inl", engine_emit_marker_inline("{{ .Values.x | toJson }}"));
	json_object_set_new(o, "blk", engine_emit_marker_block("{{- toYaml .Values.y | nindent \x02 }}"));
	ck_assert_int_eq(engine_emit_raw_add(json_object_get(o, "m"), "{{- include \"c.labels\" . | nindent \x02 }}"), 0);
	ck_assert_int_eq(engine_emit_yaml(&b, o, ENGINE_EMIT_TEMPLATE, NULL), 0);
	ck_assert_str_eq(dhg_buf_cstr(&b), "blk:\n"
					   "  {{- toYaml .Values.y | nindent 2 }}\n"
					   "items:\n"
					   "  - args:\n"
					   "      - x\n"
					   "    name: a\n"
					   "  - - p\n"
					   "    - q\n"
					   "m:\n"
					   "  inl: {{ .Values.x | toJson }}\n"
					   "  k: v\n"
					   "  {{- include \"c.labels\" . | nindent 2 }}\n");
	dhg_buf_dispose(&b);
	json_decref(o);
}
END_TEST

START_TEST(test_engine_emit__values_comments)
{
	json_t *o = json_pack("{s:{s:i}}", "web", "replicas", 2);
	json_t *c = json_pack("{s:s,s:s}", "web", "-- Settings of web", "web\x1freplicas", "-- Number of replicas");
	dhg_buf b = DHG_BUF_INIT(0);
	ck_assert_int_eq(engine_emit_yaml(&b, o, 0, c), 0);
	ck_assert_str_eq(dhg_buf_cstr(&b), "# -- Settings of web\nweb:\n  # -- Number of replicas\n  replicas: 2\n");
	dhg_buf_dispose(&b);
	json_decref(o);
	json_decref(c);
}
END_TEST

/* A buffer limit reached anywhere in a document (keys, plain values, quoted values, markers,
 * raw lines) fails with DHG_ETOOBIG; a limit of exactly the document's length does not. */
START_TEST(test_engine_emit__buffer_limit)
{
	json_t *o = json_pack("{s:s,s:{s:s,s:[s,i]},s:s}", "apiVersion", "v1", "metadata", "name", "web {{x}}", "items",
			      "yes", 7, "z", "plain text");
	dhg_buf full = DHG_BUF_INIT(0);
	json_object_set_new(json_object_get(o, "metadata"), "m", engine_emit_marker_inline("{{ .Values.x | toJson }}"));
	ck_assert_int_eq(engine_emit_raw_add(json_object_get(o, "metadata"), "{{- include \"c.labels\" . | nindent \x02 }}"), 0);
	ck_assert_int_eq(engine_emit_yaml(&full, o, ENGINE_EMIT_TEMPLATE | ENGINE_EMIT_K8S_ORDER, NULL), 0);
	for (size_t max = 1; max <= full.len; max++) {
		dhg_buf b = DHG_BUF_INIT(max);
		int err = engine_emit_yaml(&b, o, ENGINE_EMIT_TEMPLATE | ENGINE_EMIT_K8S_ORDER, NULL);
		if (max < full.len) {
			ck_assert_int_eq(err, DHG_ETOOBIG);
			ck_assert_uint_le(b.len, max);
		} else {
			ck_assert_int_eq(err, 0);
			ck_assert_str_eq(dhg_buf_cstr(&b), dhg_buf_cstr(&full));
		}
		dhg_buf_dispose(&b);
	}
	dhg_buf_dispose(&full);
	json_decref(o);
}
END_TEST

Suite *engine_emit_suite(void)
{
	Suite *s = suite_create("engine_emit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_engine_emit__quoting_table_roundtrip);
	tcase_add_test(tc, test_engine_emit__block_scalar_forms);
	tcase_add_test(tc, test_engine_emit__template_escaping);
	tcase_add_test(tc, test_engine_emit__numbers_and_order);
	tcase_add_test(tc, test_engine_emit__nested_and_markers);
	tcase_add_test(tc, test_engine_emit__values_comments);
	tcase_add_test(tc, test_engine_emit__buffer_limit);
	suite_add_tcase(s, tc);
	return s;
}
