#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kube/selector.h"
#include "util/error.h"

typedef struct sel_case {
	const char *sel;
	const char *labels; /* JSON object */
	int want;           /* 1 match, 0 no match */
} sel_case;

static const sel_case cases[] = {
	{ "", "{}", 1 },
	{ "", "{\"a\":\"b\"}", 1 },
	{ "a=b", "{\"a\":\"b\"}", 1 },
	{ "a==b", "{\"a\":\"b\"}", 1 },
	{ "a=b", "{\"a\":\"c\"}", 0 },
	{ "a=b", "{}", 0 },
	{ "a!=b", "{}", 1 },
	{ "a!=b", "{\"a\":\"b\"}", 0 },
	{ "a!=b", "{\"a\":\"c\"}", 1 },
	{ "a", "{\"a\":\"\"}", 1 },
	{ "a", "{\"b\":\"x\"}", 0 },
	{ "!a", "{\"b\":\"x\"}", 1 },
	{ "!a", "{\"a\":\"x\"}", 0 },
	{ "e in (x,y)", "{\"e\":\"y\"}", 1 },
	{ "e in (x, y)", "{\"e\":\"z\"}", 0 },
	{ "e in (x,y)", "{}", 0 },
	{ "e notin (x,y)", "{}", 1 },
	{ "e notin (x,y)", "{\"e\":\"x\"}", 0 },
	{ "e notin (x,y)", "{\"e\":\"q\"}", 1 },
	{ "a=b,c!=d,e in (x,y),!f,g", "{\"a\":\"b\",\"c\":\"z\",\"e\":\"x\",\"g\":\"1\"}", 1 },
	{ "a=b,c!=d,e in (x,y),!f,g", "{\"a\":\"b\",\"c\":\"z\",\"e\":\"x\",\"g\":\"1\",\"f\":\"\"}", 0 },
	{ "a=b,c!=d,e in (x,y),!f,g", "{\"a\":\"b\",\"c\":\"d\",\"e\":\"x\",\"g\":\"1\"}", 0 },
	{ " app.kubernetes.io/part-of = shop ", "{\"app.kubernetes.io/part-of\":\"shop\"}", 1 },
	{ "tier=", "{\"tier\":\"\"}", 1 },
	{ "tier=", "{\"tier\":\"x\"}", 0 },
};

START_TEST(test_kube_selector__match_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kube_selector *s = NULL;
		ck_assert_msg(kube_selector_parse(&s, cases[i].sel) == 0, "parse %s: %s", cases[i].sel,
		              dhg_error_last()->message);
		json_t *labels = json_loads(cases[i].labels, 0, NULL);
		ck_assert_ptr_nonnull(labels);
		ck_assert_msg(kube_selector_matches(s, labels) == (cases[i].want == 1), "case %zu: \"%s\" on %s", i,
		              cases[i].sel, cases[i].labels);
		json_decref(labels);
		kube_selector_free(s);
	}
}
END_TEST

START_TEST(test_kube_selector__parse_errors)
{
	static const char *bad[] = { "a=b,", ",a", "a in x", "a in (x", "a in ()", "a b", "!a=b", "a=b c",
		                         "-a=b", "a=b)", "a=-b", "a/=b", "Bad_/x=y", "a=b,,c" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kube_selector *s = NULL;
		int rc = kube_selector_parse(&s, bad[i]);
		ck_assert_msg(rc == DHG_EINVALID, "\"%s\" should not parse (rc %d)", bad[i], rc);
		ck_assert_ptr_null(s);
		ck_assert(strstr(dhg_error_last()->message, "label selector") != NULL);
	}
}
END_TEST

START_TEST(test_kube_selector__to_string_roundtrip)
{
	kube_selector *s = NULL, *s2 = NULL;
	char *str = NULL, *str2 = NULL;
	ck_assert_int_eq(kube_selector_parse(&s, "z in (b,a), !f,a=1 , g,c!=d,e notin (y,x)"), 0);
	ck_assert_int_eq(kube_selector_to_string(&str, s), 0);
	ck_assert_str_eq(str, "a=1,c!=d,e notin (x,y),!f,g,z in (a,b)");
	ck_assert_int_eq(kube_selector_parse(&s2, str), 0);
	ck_assert_int_eq(kube_selector_to_string(&str2, s2), 0);
	ck_assert_str_eq(str, str2);
	ck_assert_uint_eq(kube_selector_count(s), 6);
	free(str);
	free(str2);
	kube_selector_free(s);
	kube_selector_free(s2);
}
END_TEST

START_TEST(test_kube_selector__from_json)
{
	json_t *js = json_loads("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
	                        "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]},"
	                        "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]},"
	                        "{\"key\":\"team\",\"operator\":\"Exists\"},"
	                        "{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"}]}", 0, NULL);
	kube_selector *s = NULL;
	char *str = NULL;
	ck_assert_int_eq(kube_selector_from_json(&s, js), 0);
	ck_assert_int_eq(kube_selector_to_string(&str, s), 0);
	ck_assert_str_eq(str, "app=web,env notin (dev),!legacy,team,tier in (be,fe)");
	json_t *yes = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"be\",\"team\":\"a\"}}}", 0, NULL);
	json_t *no1 = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"be\",\"team\":\"a\",\"env\":\"dev\"}}}", 0, NULL);
	json_t *no2 = json_loads("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"be\"}}}", 0, NULL);
	json_t *no3 = json_loads("{\"metadata\":{}}", 0, NULL);
	ck_assert(kube_selector_matches_object(s, yes));
	ck_assert(!kube_selector_matches_object(s, no1));
	ck_assert(!kube_selector_matches_object(s, no2));
	ck_assert(!kube_selector_matches_object(s, no3));
	free(str);
	kube_selector_free(s);
	json_decref(js);
	json_decref(yes);
	json_decref(no1);
	json_decref(no2);
	json_decref(no3);

	/* empty and null select everything */
	s = NULL;
	ck_assert_int_eq(kube_selector_from_json(&s, NULL), 0);
	ck_assert(kube_selector_is_empty(s));
	kube_selector_free(s);
	json_t *empty = json_object();
	ck_assert_int_eq(kube_selector_from_json(&s, empty), 0);
	ck_assert(kube_selector_matches(s, NULL));
	kube_selector_free(s);
	json_decref(empty);
}
END_TEST

START_TEST(test_kube_selector__from_json_errors)
{
	static const char *bad[] = {
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Has\"}]}",
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
		"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
		"{\"matchLabels\":{\"a\":1}}",
		"{\"matchLabels\":[]}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *js = json_loads(bad[i], 0, NULL);
		kube_selector *s = NULL;
		ck_assert_ptr_nonnull(js);
		ck_assert_msg(kube_selector_from_json(&s, js) == DHG_EINVALID, "%s should be rejected", bad[i]);
		ck_assert_ptr_null(s);
		json_decref(js);
	}
	json_t *js = json_loads(bad[0], 0, NULL);
	kube_selector *s = NULL;
	kube_selector_from_json(&s, js);
	ck_assert(strstr(dhg_error_last()->message, "matchExpressions[0].operator") != NULL);
	json_decref(js);
}
END_TEST

Suite *kube_selector_suite(void)
{
	Suite *s = suite_create("kube_selector");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_kube_selector__match_table);
	tcase_add_test(tc, test_kube_selector__parse_errors);
	tcase_add_test(tc, test_kube_selector__to_string_roundtrip);
	tcase_add_test(tc, test_kube_selector__from_json);
	tcase_add_test(tc, test_kube_selector__from_json_errors);
	suite_add_tcase(s, tc);
	return s;
}
