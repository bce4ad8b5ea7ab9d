/* Unit tests for engine extract: YAML 1.2 typing, positions in errors, Lists, directories. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

/* Parses `yaml` (one object expected) and returns a new reference to it. */
static json_t *parse1(const char *yaml)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	json_t *o;
	int rc = engine_extract_buffer(&objs, yaml, strlen(yaml), "t.yaml");
	ck_assert_msg(rc == 0, "extract failed: %s", dhg_error_last()->message);
	ck_assert_uint_eq(objs.len, 1);
	o = json_incref(objs.items[0].obj);
	engine_objects_dispose(&objs);
	return o;
}

/* Extracts and expects failure; returns the message (static copy). */
static const char *parse_err(const char *yaml, size_t len)
{
	static char msg[1024];
	engine_objects objs = ENGINE_OBJECTS_INIT;
	int rc = engine_extract_buffer(&objs, yaml, len, "bad.yaml");
	ck_assert_msg(rc < 0, "extract unexpectedly succeeded for: %.60s", yaml);
	ck_assert_uint_eq(objs.len, 0);
	snprintf(msg, sizeof(msg), "%s", dhg_error_last()->message);
	engine_objects_dispose(&objs);
	return msg;
}

typedef enum { T_STR, T_INT, T_NUM, T_BOOL, T_NULL } vtype;
static const struct {
	const char *yaml; /* value text after "v: " */
	vtype type;
	const char *text; /* expected string / number text / int in decimal / "true"/"false" */
} typing[] = {
	{ "\"80\"", T_STR, "80" },
	{ "'80'", T_STR, "80" },
	{ "80", T_INT, "80" },
	{ "-17", T_INT, "-17" },
	{ "0", T_INT, "0" },
	{ "9223372036854775807", T_INT, "9223372036854775807" },
	{ "-9223372036854775808", T_INT, "-9223372036854775808" },
	{ "9223372036854775808", T_NUM, "9223372036854775808" },
	{ "123456789012345678901234567890", T_NUM, "123456789012345678901234567890" },
	{ "+12", T_NUM, "+12" },
	{ "-0", T_NUM, "-0" },
	{ "0644", T_NUM, "0644" },
	{ "0o17", T_NUM, "0o17" },
	{ "0x1F", T_NUM, "0x1F" },
	{ "1.5", T_NUM, "1.5" },
	{ "1.50", T_NUM, "1.50" },
	{ "1e3", T_NUM, "1e3" },
	{ "-2.5E-3", T_NUM, "-2.5E-3" },
	{ ".5", T_NUM, ".5" },
	{ "5.", T_NUM, "5." },
	{ ".inf", T_NUM, ".inf" },
	{ "-.Inf", T_NUM, "-.Inf" },
	{ ".NaN", T_NUM, ".NaN" },
	{ "1_000", T_STR, "1_000" },
	{ "0b101", T_STR, "0b101" },
	{ "12:30:00", T_STR, "12:30:00" },
	{ "1.2.3", T_STR, "1.2.3" },
	{ "e3", T_STR, "e3" },
	{ "0x", T_STR, "0x" },
	{ ".", T_STR, "." },
	{ "true", T_BOOL, "true" },
	{ "True", T_BOOL, "true" },
	{ "FALSE", T_BOOL, "false" },
	{ "tRue", T_STR, "tRue" },
	{ "yes", T_STR, "yes" },
	{ "no", T_STR, "no" },
	{ "on", T_STR, "on" },
	{ "off", T_STR, "off" },
	{ "y", T_STR, "y" },
	{ "n", T_STR, "n" },
	{ "\"true\"", T_STR, "true" },
	{ "null", T_NULL, NULL },
	{ "Null", T_NULL, NULL },
	{ "NULL", T_NULL, NULL },
	{ "~", T_NULL, NULL },
	{ "", T_NULL, NULL },
	{ "nUll", T_STR, "nUll" },
	{ "'null'", T_STR, "null" },
	{ "\"\"", T_STR, "" },
	{ "!!str 80", T_STR, "80" },
	{ "!!str true", T_STR, "true" },
	{ "!!str", T_STR, "" },
	{ "!!int \"42\"", T_INT, "42" },
	{ "!!int 0x10", T_NUM, "0x10" },
	{ "!!float 1", T_NUM, "1" },
	{ "!!bool \"true\"", T_BOOL, "true" },
	{ "!!null ''", T_NULL, NULL },
	{ "! 80", T_STR, "80" },
	{ "!Ref 80", T_STR, "80" },
	{ "!!binary aGVs\n  bG8=", T_STR, "aGVsbG8=" },
	{ "\"a\\tb\"", T_STR, "a\tb" },
	{ "|\n  line1\n  line2\n", T_STR, "line1\nline2\n" },
	{ "|-\n  line1\n  line2\n\n", T_STR, "line1\nline2" },
	{ "|+\n  line1\n", T_STR, "line1\n\n" },
	{ ">\n  a\n  b\n\n  c\n", T_STR, "a b\nc\n" },
	{ ">-\n  folded\n  text\n", T_STR, "folded text" },
	{ "|\n  80\n", T_STR, "80\n" },
	{ "plain text here", T_STR, "plain text here" },
};

START_TEST(test_engine_extract__typing_table)
{
	for (size_t i = 0; i < sizeof(typing) / sizeof(typing[0]); i++) {
		char *doc = dhg_asprintf("v: %s\n", typing[i].yaml);
		json_t *o, *v;
		char num[64];
		ck_assert_ptr_nonnull(doc);
		o = parse1(doc);
		v = json_object_get(o, "v");
		ck_assert_msg(v != NULL, "case %zu (%s): no value", i, typing[i].yaml);
		switch (typing[i].type) {
		case T_STR:
			ck_assert_msg(json_is_string(v) && !engine_number_is(v), "case %zu (%s): not a string", i,
				      typing[i].yaml);
			ck_assert_str_eq(json_string_value(v), typing[i].text);
			break;
		case T_INT:
			ck_assert_msg(json_is_integer(v), "case %zu (%s): not an integer", i, typing[i].yaml);
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			ck_assert_str_eq(num, typing[i].text);
			break;
		case T_NUM:
			ck_assert_msg(engine_number_is(v), "case %zu (%s): not an exact-text number", i,
				      typing[i].yaml);
			ck_assert_str_eq(engine_number_text(v), typing[i].text);
			break;
		case T_BOOL:
			ck_assert_msg(json_is_boolean(v), "case %zu (%s): not a bool", i, typing[i].yaml);
			ck_assert_str_eq(json_is_true(v) ? "true" : "false", typing[i].text);
			break;
		case T_NULL:
			ck_assert_msg(json_is_null(v), "case %zu (%s): not null", i, typing[i].yaml);
			break;
		}
		json_decref(o);
		free(doc);
	}
}
END_TEST

START_TEST(test_engine_extract__numbers_compare_by_text)
{
	json_t *a = engine_number_new("1.0", 3), *b = engine_number_new("1.0", 3), *c = engine_number_new("1.00", 4);
	json_t *s = json_string("1.0"), *copy;
	ck_assert(json_equal(a, b));
	ck_assert(!json_equal(a, c));
	ck_assert(!json_equal(a, s));
	ck_assert(!engine_number_is(s));
	ck_assert_ptr_null(engine_number_text(s));
	ck_assert_ptr_null(engine_number_text(NULL));
	copy = json_deep_copy(a);
	ck_assert(engine_number_is(copy));
	ck_assert_str_eq(engine_number_text(copy), "1.0");
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(s);
	json_decref(copy);
	/* a YAML string cannot hold a NUL, so it cannot pose as a number */
	ck_assert(strstr(parse_err("v: \"\\0N1.5\"\n", 12), "NUL") != NULL);
}
END_TEST

START_TEST(test_engine_extract__quoted_vs_plain_structure)
{
	json_t *o = parse1("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n"
			   "  - port: 80\n    targetPort: \"8080\"\n  - {port: 443, name: 'https'}\n");
	json_t *ports = json_object_get(json_object_get(o, "spec"), "ports");
	ck_assert_uint_eq(json_array_size(ports), 2);
	ck_assert(json_is_integer(json_object_get(json_array_get(ports, 0), "port")));
	ck_assert(json_is_string(json_object_get(json_array_get(ports, 0), "targetPort")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ports, 1), "name")), "https");
	json_decref(o);
}
END_TEST

START_TEST(test_engine_extract__anchors_and_merge)
{
	json_t *o = parse1("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\ny: *b\n"
			   "z:\n  <<: [{k: first}, {k: second, m: 1}]\nq: '<<'\n");
	json_t *x = json_object_get(o, "x"), *y = json_object_get(o, "y"), *z = json_object_get(o, "z");
	ck_assert_int_eq(json_integer_value(json_object_get(x, "a")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(x, "b")), 3); /* explicit key wins */
	ck_assert_ptr_null(json_object_get(x, "<<"));
	ck_assert_int_eq(json_integer_value(json_object_get(y, "b")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(z, "k")), "first");
	ck_assert_int_eq(json_integer_value(json_object_get(z, "m")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "q")), "<<");
	/* copies, not shared: changing one does not change the other */
	json_object_set_new(y, "a", json_integer(99));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "base"), "a")), 1);
	json_decref(o);
	ck_assert(strstr(parse_err("a: *nope\n", 9), "no such anchor") != NULL);
	ck_assert(strstr(parse_err("a: {<<: 5}\n", 11), "merge key") != NULL);
}
END_TEST

START_TEST(test_engine_extract__alias_bomb_capped)
{
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
	const char *msg = parse_err(bomb, strlen(bomb));
	ck_assert_msg(strstr(msg, "alias") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "bad.yaml:6:") != NULL, "%s", msg);
}
END_TEST

START_TEST(test_engine_extract__keys)
{
	const char *msg;
	json_t *o = parse1("80: http\ntrue: yes\n1.5: x\n");
	ck_assert_str_eq(json_string_value(json_object_get(o, "80")), "http");
	ck_assert_str_eq(json_string_value(json_object_get(o, "true")), "yes");
	ck_assert_str_eq(json_string_value(json_object_get(o, "1.5")), "x");
	json_decref(o);
	msg = parse_err("a: 1\nb:\n  c: 1\n  c: 2\n", 22);
	ck_assert_msg(strstr(msg, "bad.yaml:4:3: duplicate mapping key \"c\"") != NULL, "%s", msg);
	msg = parse_err("? [a, b]\n: 1\n", 13);
	ck_assert_msg(strstr(msg, "bad.yaml:1:3:") != NULL && strstr(msg, "key must be a scalar"), "%s", msg);
}
END_TEST

START_TEST(test_engine_extract__error_positions)
{
	const char *msg;
	msg = parse_err("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: [\n", 61);
	ck_assert_msg(strncmp(msg, "bad.yaml:5:", 11) == 0, "%s", msg);
	msg = parse_err("a: b: c\n", 8);
	ck_assert_msg(strstr(msg, "bad.yaml:1:5: mapping values are not allowed") != NULL, "%s", msg);
	msg = parse_err("a: \"unterminated\n", 17);
	ck_assert_msg(strstr(msg, "bad.yaml:") == msg && strstr(msg, "quoted scalar"), "%s", msg);
	msg = parse_err("a: 1\nb: x\0y\n", 12);
	ck_assert_msg(strstr(msg, "bad.yaml:2:5: binary data (a NUL byte") != NULL, "%s", msg);
	msg = parse_err("a: 1\nb: \xff\xfe\n", 10);
	ck_assert_msg(strstr(msg, "bad.yaml:2:4: binary data (invalid UTF-8 byte 0xFF") != NULL, "%s", msg);
	msg = parse_err("a: \xc3\n", 5);
	ck_assert_msg(strstr(msg, "invalid UTF-8") != NULL, "%s", msg);
	msg = parse_err("- a\n- b\n", 8);
	ck_assert_msg(strstr(msg, "bad.yaml:1:1: document 1 is a sequence, not a mapping") != NULL, "%s", msg);
	msg = parse_err("a: 1\n---\njust a scalar\n", 23);
	ck_assert_msg(strstr(msg, "bad.yaml:3:1: document 2 is a scalar") != NULL, "%s", msg);
}
END_TEST

START_TEST(test_engine_extract__multi_doc_and_empty)
{
	const char *y = "# leading comment\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
			"--- ~\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n...\n";
	engine_objects objs = ENGINE_OBJECTS_INIT;
	char buf[256];
	ck_assert_int_eq(engine_extract_buffer(&objs, y, strlen(y), "m.yaml"), 0);
	ck_assert_uint_eq(objs.len, 2);
	ck_assert_int_eq(objs.items[0].doc, 1);
	ck_assert_int_eq(objs.items[0].line, 4);
	ck_assert_int_eq(objs.items[1].doc, 4);
	ck_assert_int_eq(objs.items[1].line, 11);
	ck_assert_str_eq(objs.items[1].source, "m.yaml");
	ck_assert_str_eq(engine_object_describe(buf, sizeof(buf), &objs.items[1]),
			 "m.yaml (document 5, line 11) ConfigMap b");
	/* truncation is safe */
	ck_assert_str_eq(engine_object_describe(buf, 7, &objs.items[1]), "m.yaml");
	engine_objects_dispose(&objs);
	ck_assert_uint_eq(objs.len, 0);
	/* nothing at all */
	ck_assert_int_eq(engine_extract_buffer(&objs, "", 0, "e.yaml"), 0);
	ck_assert_uint_eq(objs.len, 0);
}
END_TEST

START_TEST(test_engine_extract__lists_unpacked)
{
	const char *y = "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n"
			"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
			"- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n"
			"---\napiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: web}\n  spec: {}\n";
	engine_objects objs = ENGINE_OBJECTS_INIT;
	ck_assert_int_eq(engine_extract_buffer(&objs, y, strlen(y), "l.yaml"), 0);
	ck_assert_uint_eq(objs.len, 3);
	ck_assert_str_eq(json_string_value(json_object_get(objs.items[0].obj, "kind")), "ConfigMap");
	ck_assert_int_eq(objs.items[0].line, 5);
	ck_assert_str_eq(json_string_value(json_object_get(objs.items[1].obj, "kind")), "Secret");
	ck_assert_int_eq(objs.items[1].line, 8);
	ck_assert_str_eq(json_string_value(json_object_get(objs.items[2].obj, "kind")), "Deployment");
	ck_assert_str_eq(json_string_value(json_object_get(objs.items[2].obj, "apiVersion")), "apps/v1");
	ck_assert_int_eq(objs.items[2].doc, 1);
	ck_assert_int_eq(objs.items[2].line, 15);
	engine_objects_dispose(&objs);
	/* a kind that merely ends in List but is a named object is kept as is */
	json_t *o = parse1("apiVersion: x.io/v1\nkind: AllowList\nmetadata: {name: a}\nitems: [1]\n");
	ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "AllowList");
	json_decref(o);
	ck_assert(strstr(parse_err("kind: List\nitems: [1]\n", 22), "item 1 is not a mapping") != NULL);
}
END_TEST

static char *tmpdir_make(void)
{
	char tmpl[] = "/tmp/dhg-extract-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return dhg_strdup(d);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char *p = dhg_asprintf("%s/%s", dir, rel);
	ck_assert_int_eq(dhg_mkdir_parent(p, 0755), 0);
	ck_assert_int_eq(dhg_file_write(p, text, strlen(text)), 0);
	free(p);
}

#define CM(n) "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " n "}\n"

START_TEST(test_engine_extract__directories)
{
	char *d = tmpdir_make();
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_extract_options opts = ENGINE_EXTRACT_OPTIONS_INIT;
	const char *names[] = { "a", "b", "c", "d", "e" };
	write_file(d, "b.yaml", CM("b"));
	write_file(d, "a.yml", CM("a"));
	write_file(d, "sub/c.yaml", CM("c") "---\n" CM("d"));
	write_file(d, "sub/deeper/e.yaml", CM("e"));
	write_file(d, ".hidden/x.yaml", CM("hidden1"));
	write_file(d, ".h.yaml", CM("hidden2"));
	write_file(d, "notes.txt", "not yaml: [");
	write_file(d, "sub/README.md", "# no");
	ck_assert_int_eq(engine_extract_path(&objs, d, &opts), 0);
	ck_assert_uint_eq(objs.len, 5);
	for (size_t i = 0; i < 5; i++) {
		const char *n = json_string_value(json_object_get(json_object_get(objs.items[i].obj, "metadata"), "name"));
		ck_assert_str_eq(n, names[i]);
	}
	ck_assert(dhg_str_has_suffix(objs.items[2].source, "/sub/c.yaml"));
	ck_assert_int_eq(objs.items[3].doc, 1);
	/* a bad file anywhere: error names it, nothing is appended */
	write_file(d, "sub/zz.yaml", "a: [\n");
	engine_objects_dispose(&objs);
	ck_assert_int_lt(engine_extract_path(&objs, d, &opts), 0);
	ck_assert_uint_eq(objs.len, 0);
	ck_assert_msg(strstr(dhg_error_last()->message, "/sub/zz.yaml:2:1:") != NULL, "%s",
		      dhg_error_last()->message);
	dhg_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(test_engine_extract__path_errors)
{
	char *d = tmpdir_make(), *p;
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_extract_options opts = ENGINE_EXTRACT_OPTIONS_INIT;
	ck_assert_int_eq(engine_extract_buffer(&objs, CM("keep"), strlen(CM("keep")), "k.yaml"), 0);
	p = dhg_asprintf("%s/missing.yaml", d);
	ck_assert_int_eq(engine_extract_path(&objs, p, &opts), DHG_ENOTFOUND);
	ck_assert_msg(strstr(dhg_error_last()->message, "missing.yaml: No such file or directory") != NULL, "%s",
		      dhg_error_last()->message);
	free(p);
	write_file(d, "f.yaml", CM("f"));
	p = dhg_asprintf("%s/f.yaml/x.yaml", d);
	ck_assert_int_lt(engine_extract_path(&objs, p, &opts), 0);
	ck_assert_msg(strstr(dhg_error_last()->message, "Not a directory") != NULL, "%s", dhg_error_last()->message);
	free(p);
	/* over the limit: refused before parsing */
	write_file(d, "big.yaml", CM("big") "data:\n  k: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n");
	p = dhg_asprintf("%s/big.yaml", d);
	opts.max_file_bytes = 40;
	ck_assert_int_eq(engine_extract_path(&objs, p, &opts), DHG_ETOOBIG);
	ck_assert_msg(strstr(dhg_error_last()->message, "big.yaml") != NULL &&
			      strstr(dhg_error_last()->message, "more than the limit of 40"),
		      "%s", dhg_error_last()->message);
	free(p);
	/* the earlier object is untouched by the failures */
	ck_assert_uint_eq(objs.len, 1);
	engine_objects_dispose(&objs);
	dhg_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(test_engine_extract__deep_nesting_refused)
{
	size_t n = 300;
	char *y = malloc(n * 2 + 8);
	size_t k = 0;
	const char *msg;
	ck_assert_ptr_nonnull(y);
	memcpy(y, "a: ", 3);
	k = 3;
	for (size_t i = 0; i < n; i++)
		y[k++] = '[';
	for (size_t i = 0; i < n; i++)
		y[k++] = ']';
	y[k++] = '\n';
	msg = parse_err(y, k);
	ck_assert_msg(strstr(msg, "nesting is deeper") != NULL, "%s", msg);
	free(y);
}
END_TEST

START_TEST(test_engine_extract__bom_and_crlf)
{
	json_t *o = parse1("\xEF\xBB\xBF" "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: a}\r\ndata:\r\n  k: |\r\n    x\r\n");
	ck_assert_str_eq(json_string_value(json_object_get(o, "apiVersion")), "v1");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "data"), "k")), "x\n");
	json_decref(o);
}
END_TEST

START_TEST(test_engine_extract__warnings)
{
	engine_warnings w = ENGINE_WARNINGS_INIT;
	ck_assert_int_eq(engine_warnings_addf(&w, "a %d", 1), 0);
	ck_assert_int_eq(engine_warnings_addf(&w, "%s", "b"), 0);
	ck_assert_uint_eq(w.len, 2);
	ck_assert_str_eq(w.items[0], "a 1");
	engine_warnings_dispose(&w);
	ck_assert_uint_eq(w.len, 0);
	engine_warnings_dispose(NULL);
	engine_objects_dispose(NULL);
}
END_TEST

Suite *engine_extract_suite(void)
{
	Suite *s = suite_create("engine_extract");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_engine_extract__typing_table);
	tcase_add_test(tc, test_engine_extract__numbers_compare_by_text);
	tcase_add_test(tc, test_engine_extract__quoted_vs_plain_structure);
	tcase_add_test(tc, test_engine_extract__anchors_and_merge);
	tcase_add_test(tc, test_engine_extract__alias_bomb_capped);
	tcase_add_test(tc, test_engine_extract__keys);
	tcase_add_test(tc, test_engine_extract__error_positions);
	tcase_add_test(tc, test_engine_extract__multi_doc_and_empty);
	tcase_add_test(tc, test_engine_extract__lists_unpacked);
	tcase_add_test(tc, test_engine_extract__directories);
	tcase_add_test(tc, test_engine_extract__path_errors);
	tcase_add_test(tc, test_engine_extract__deep_nesting_refused);
	tcase_add_test(tc, test_engine_extract__bom_and_crlf);
	tcase_add_test(tc, test_engine_extract__warnings);
	suite_add_tcase(s, tc);
	return s;
}
