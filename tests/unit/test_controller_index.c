#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "controller/index.h"
#include "controller/spec.h"

static void add(hc_index *ix, const char *ns, const char *name, const char *spec_json)
{
	json_error_t e;
	json_t *spec = json_loads(spec_json, 0, &e);
	json_t *o = json_pack("{s:{s:s, s:s, s:i}, s:o}", "metadata", "name", name, "namespace", ns, "generation", 1, "spec", spec);
	hc_spec_policy p = { true, NULL, 0, 777, true };
	hc_spec s;
	char key[128];
	ck_assert_int_eq(hc_spec_parse(&s, o, &p), 0);
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	ck_assert_int_eq(hc_index_set_take(ix, key, &s), 0);
	hc_spec_dispose(&s);
	json_decref(o);
}

typedef struct hits {
	char keys[8][64];
	int n;
	long long debounce;
} hits;

static void cb(const char *key, long long debounce_ms, void *payload)
{
	hits *h = payload;
	if (h->n < 8)
		snprintf(h->keys[h->n++], 64, "%s", key);
	h->debounce = debounce_ms;
}

static json_t *obj(const char *ns, const char *name, const char *part_of)
{
	return json_pack("{s:s, s:{s:s, s:s, s:{s:s}}}", "kind", "Deployment", "metadata", "name", name, "namespace", ns,
			 "labels", "app.kubernetes.io/part-of", part_of);
}

START_TEST(test_controller_index__candidates_only)
{
	hc_index *ix;
	hits h = { 0 };
	int dep = hc_kind_find("Deployment"), svc = hc_kind_find("Service");
	char spec[256];
	ck_assert_int_eq(hc_index_new(&ix), 0);
	/* 200 HelmCharts in 200 namespaces, plus two in "shop" */
	for (int i = 0; i < 200; i++) {
		char ns[32];
		snprintf(ns, sizeof(ns), "ns%d", i);
		add(ix, ns, "hc", "{\"source\":{\"cluster\":{\"selector\":{\"matchLabels\":{\"app.kubernetes.io/part-of\":\"x\"}}}},\"output\":{\"local\":{}}}");
	}
	snprintf(spec, sizeof(spec), "{\"source\":{\"cluster\":{\"selector\":{\"matchLabels\":{\"app.kubernetes.io/part-of\":\"shop\"}},\"kinds\":[\"Deployment\"]}},\"output\":{\"local\":{}}}");
	add(ix, "shop", "a", spec);
	add(ix, "shop", "b", "{\"source\":{\"cluster\":{\"selector\":{\"matchLabels\":{\"app.kubernetes.io/part-of\":\"other\"}},"
			       "\"exclude\":[{\"kind\":\"Deployment\",\"name\":\"skip\"}]}},\"output\":{\"local\":{}},\"sync\":{\"debounce\":\"2s\"}}");
	/* cross-namespace HelmChart in ns "ops" reading "shop" */
	add(ix, "ops", "c", "{\"source\":{\"cluster\":{\"namespaces\":[\"shop\"],\"selector\":{\"matchLabels\":{\"app.kubernetes.io/part-of\":\"shop\"}}}},\"output\":{\"local\":{}}}");
	ck_assert_uint_eq(hc_index_len(ix), 203);

	json_t *o = obj("shop", "web", "shop");
	unsigned long before = hc_index_evaluations(ix);
	ck_assert_int_eq(hc_index_match(ix, o, dep, cb, &h), 2);
	ck_assert_uint_le(hc_index_evaluations(ix) - before, 3); /* only the shop bucket, not 203 */
	ck_assert(!strcmp(h.keys[0], "shop/a") || !strcmp(h.keys[1], "shop/a"));
	ck_assert(!strcmp(h.keys[0], "ops/c") || !strcmp(h.keys[1], "ops/c"));
	/* kind filter: a only takes Deployments */
	h.n = 0;
	ck_assert_int_eq(hc_index_match(ix, o, svc, cb, &h), 1);
	ck_assert_str_eq(h.keys[0], "ops/c");
	json_decref(o);
	/* exclude + debounce */
	h.n = 0;
	o = obj("shop", "skip", "other");
	ck_assert_int_eq(hc_index_match(ix, o, dep, cb, &h), 0);
	json_decref(o);
	o = obj("shop", "keep", "other");
	ck_assert_int_eq(hc_index_match(ix, o, dep, cb, &h), 1);
	ck_assert_int_eq(h.debounce, 2000);
	json_decref(o);
	/* removal */
	hc_index_remove(ix, "shop/b");
	h.n = 0;
	o = obj("shop", "keep", "other");
	ck_assert_int_eq(hc_index_match(ix, o, dep, cb, &h), 0);
	json_decref(o);
	/* replacing an entry moves it between buckets */
	add(ix, "shop", "a", "{\"source\":{\"cluster\":{\"selector\":{\"matchLabels\":{\"app.kubernetes.io/part-of\":\"shop\"}},\"kinds\":[\"Service\"]}},\"output\":{\"local\":{}}}");
	h.n = 0;
	o = obj("shop", "web", "shop");
	ck_assert_int_eq(hc_index_match(ix, o, dep, cb, &h), 1); /* only ops/c now */
	json_decref(o);
	hc_index_free(ix);
}
END_TEST

START_TEST(test_controller_index__object_changed)
{
	json_t *a = json_pack("{s:s, s:{s:s, s:s, s:i}, s:{s:i}, s:{s:i}}", "kind", "Deployment", "metadata", "name", "w",
			      "resourceVersion", "1", "generation", 1, "spec", "replicas", 1, "status", "ready", 0);
	json_t *b = json_deep_copy(a);
	json_object_set_new(json_object_get(b, "metadata"), "resourceVersion", json_string("2"));
	json_object_set_new(json_object_get(b, "status"), "ready", json_integer(1));
	json_object_set_new(json_object_get(b, "metadata"), "managedFields", json_array());
	ck_assert(!hc_object_changed(a, b)); /* status-only / no-op */
	json_object_set_new(json_object_get(b, "spec"), "replicas", json_integer(2));
	ck_assert(hc_object_changed(a, b));
	json_decref(a);
	json_decref(b);
}
END_TEST

Suite *controller_index_suite(void)
{
	Suite *s = suite_create("controller_index");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_controller_index__candidates_only);
	tcase_add_test(tc, test_controller_index__object_changed);
	suite_add_tcase(s, tc);
	return s;
}
