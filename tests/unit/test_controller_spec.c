#include <check.h>
#include <jansson.h>
#include <string.h>

#include "controller/spec.h"
#include "util/error.h"

static json_t *hc(const char *spec_json)
{
	json_error_t e;
	json_t *spec = json_loads(spec_json, 0, &e);
	ck_assert_msg(spec != NULL, "bad test json: %s", e.text);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:i}, s:o}", "apiVersion", "dhg.deckhouse.io/v1alpha1", "kind",
			 "HelmChart", "metadata", "name", "x", "namespace", "shop", "generation", 3, "spec", spec);
}

static int parse(hc_spec *s, const char *spec_json, bool cross, char *msg, size_t msz)
{
	json_t *o = hc(spec_json);
	hc_spec_policy p = { cross, NULL, 0, 10000, true };
	int e = hc_spec_parse(s, o, &p);
	snprintf(msg, msz, "%s", e < 0 ? dhg_error_last()->message : "");
	if (e == 0)
		hc_spec_dispose(s);
	json_decref(o);
	return e;
}

#define BAD(spec, cross, needle)                                                              \
	do {                                                                                  \
		hc_spec s_;                                                                   \
		char m_[1024];                                                                \
		ck_assert_int_eq(parse(&s_, spec, cross, m_, sizeof(m_)), DHG_EINVALID);      \
		ck_assert_msg(strstr(m_, needle) != NULL, "message \"%s\" lacks \"%s\"", m_, needle); \
	} while (0)

START_TEST(test_controller_spec__valid_defaults)
{
	json_t *o = hc("{\"source\":{\"cluster\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"kinds\":[\"Deployment\",\"Service\"]}},"
		       "\"output\":{\"local\":{}},\"sync\":{\"debounce\":\"250ms\"}}");
	hc_spec_policy p = { false, NULL, 0, 10000, true };
	hc_spec s;
	ck_assert_int_eq(hc_spec_parse(&s, o, &p), 0);
	ck_assert_str_eq(s.chart_name, "x");
	ck_assert_str_eq(s.base_version, "0.1.0");
	ck_assert(s.cluster);
	ck_assert_uint_eq(s.nnamespaces, 1);
	ck_assert_str_eq(s.namespaces[0], "shop");
	ck_assert(s.kind_enabled[hc_kind_find("Deployment")]);
	ck_assert(!s.kind_enabled[hc_kind_find("ConfigMap")]);
	ck_assert_int_eq(s.debounce_ms, 250);
	ck_assert_int_eq(s.interval_ms, 600000);
	ck_assert(s.auto_sync);
	ck_assert_int_eq(s.generation, 3);
	hc_spec_dispose(&s);
	json_decref(o);
}
END_TEST

START_TEST(test_controller_spec__bad_specs_name_the_field)
{
	BAD("{\"output\":{\"local\":{}}}", false, "spec.source: exactly one of cluster or git must be set (none is set)");
	BAD("{\"source\":{\"cluster\":{},\"git\":{\"url\":\"https://a/b\"}},\"output\":{\"local\":{}}}", false,
	    "spec.source: exactly one of cluster or git must be set (both are set)");
	BAD("{\"source\":{\"cluster\":{\"kinds\":[\"Deployment\",\"Foo\"]}},\"output\":{\"local\":{}}}", false,
	    "spec.source.cluster.kinds[1]: unknown kind \"Foo\"");
	BAD("{\"source\":{\"cluster\":{\"selector\":{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Maybe\"}]}}},\"output\":{\"local\":{}}}",
	    false, "spec.source.cluster.selector");
	BAD("{\"chart\":{\"version\":\"1.2\"},\"source\":{\"cluster\":{}},\"output\":{\"local\":{}}}", false,
	    "spec.chart.version: \"1.2\" is not a semantic version");
	BAD("{\"source\":{\"cluster\":{\"namespaces\":[\"other\"]}},\"output\":{\"local\":{}}}", false,
	    "spec.source.cluster.namespaces[0]: namespace other is not the HelmChart's namespace (shop) and the operator runs without --allow-cross-namespace");
	BAD("{\"source\":{\"cluster\":{}},\"output\":{}}", false, "spec.output: at least one of git, oci or local");
	BAD("{\"chart\":{\"name\":\"Bad_Name\"},\"source\":{\"cluster\":{}},\"output\":{\"local\":{}}}", false, "spec.chart.name");
	BAD("{\"source\":{\"cluster\":{}},\"output\":{\"local\":{}},\"sync\":{\"debounce\":\"soon\"}}", false,
	    "spec.sync.debounce: \"soon\" is not a duration");
	BAD("{\"source\":{\"git\":{\"url\":\"https://a/b\",\"ref\":{\"branch\":\"m\",\"tag\":\"t\"}}},\"output\":{\"local\":{}}}", false,
	    "spec.source.git.ref: at most one of branch, tag, commit");
	BAD("{\"source\":{\"cluster\":{}},\"output\":{\"oci\":{\"repository\":\"registry/x\"}}}", false, "spec.output.oci.repository");
	BAD("{\"source\":{\"cluster\":{}},\"output\":{\"local\":{}},\"generation\":{\"secrets\":\"plain\"}}", false,
	    "spec.generation.secrets");
	/* allowed with --allow-cross-namespace */
	hc_spec s;
	char m[512];
	ck_assert_int_eq(parse(&s, "{\"source\":{\"cluster\":{\"namespaces\":[\"other\",\"shop\"]}},\"output\":{\"local\":{}}}", true, m, sizeof(m)), 0);
}
END_TEST

START_TEST(test_controller_spec__versions)
{
	char v[64];
	ck_assert_int_eq(hc_version_next(v, sizeof(v), "0.1.0", NULL), 0);
	ck_assert_str_eq(v, "0.1.0");
	ck_assert_int_eq(hc_version_next(v, sizeof(v), "0.1.0", "0.1.0"), 0);
	ck_assert_str_eq(v, "0.1.1");
	ck_assert_int_eq(hc_version_next(v, sizeof(v), "0.1.0", "0.1.9"), 0);
	ck_assert_str_eq(v, "0.1.10");
	/* base moved on: restart from it */
	ck_assert_int_eq(hc_version_next(v, sizeof(v), "0.2.0", "0.1.9"), 0);
	ck_assert_str_eq(v, "0.2.0");
	ck_assert_int_eq(hc_version_next(v, sizeof(v), "1.0.0-rc.1", "1.0.3-rc.1"), 0);
	ck_assert_str_eq(v, "1.0.4-rc.1");
	ck_assert_str_eq(hc_version_current("0.1.0", "0.1.4"), "0.1.4");
	ck_assert_str_eq(hc_version_current("0.1.5", "0.1.4"), "0.1.5");
	ck_assert_str_eq(hc_version_current("0.1.0", "garbage"), "0.1.0");
}
END_TEST

START_TEST(test_controller_spec__git_url_canon)
{
	char a[256], b[256];
	hc_git_url_canon(a, sizeof(a), "https://user:tok@Git.Example/org/repo.git/");
	ck_assert_str_eq(a, "git.example/org/repo");
	hc_git_url_canon(b, sizeof(b), "git@git.example:org/repo.git");
	ck_assert_str_eq(b, "git.example/org/repo");
	hc_git_url_canon(b, sizeof(b), "ssh://git@git.example:2222/org/repo");
	ck_assert_str_eq(b, "git.example/org/repo");
	hc_git_url_canon(b, sizeof(b), "https://git.example/org/other.git");
	ck_assert_str_ne(a, b);
}
END_TEST

Suite *controller_spec_suite(void)
{
	Suite *s = suite_create("controller_spec");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_controller_spec__valid_defaults);
	tcase_add_test(tc, test_controller_spec__bad_specs_name_the_field);
	tcase_add_test(tc, test_controller_spec__versions);
	tcase_add_test(tc, test_controller_spec__git_url_canon);
	suite_add_tcase(s, tc);
	return s;
}
