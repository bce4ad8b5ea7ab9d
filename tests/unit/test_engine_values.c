/* values.yaml and values.schema.json (generate/chart.c put_values): comments looked up in
 * one small table per top-level key, with the flat table as the fallback; block paths of
 * the schema. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/error.h"

static const char *const base_objs[] = {
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"web-config\",\"namespace\":\"shop\"},"
	"\"data\":{\"MODE\":\"yes\"}}",
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
	"\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
	"{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"resources\":"
	"{\"limits\":{\"cpu\":\"1\"}}}]}}}}",
};

/* Generates the chart of base_objs plus `extra` (JSON object or NULL) with the values
 * overlay `overlay` (JSON or NULL); returns the chart. */
static engine_chart *gen(const char *extra, const char *overlay)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	json_t *ov = NULL;
	json_error_t e;

	for (size_t i = 0; i < sizeof(base_objs) / sizeof(base_objs[0]) + (extra != NULL); i++) {
		json_t *o = json_loads(i < 2 ? base_objs[i] : extra, 0, &e);
		ck_assert_msg(o != NULL, "bad test json: %s", e.text);
		ck_assert_int_eq(engine_objects_add_take(&objs, o, "test", (int)i, 1), 0);
	}
	if (overlay) {
		ck_assert_msg((ov = json_loads(overlay, 0, &e)) != NULL, "bad overlay: %s", e.text);
		opts.values_overlay = ov;
	}
	opts.chart_name = "shop";
	ck_assert_msg(engine_chart_generate(&c, &objs, &opts) == 0, "generate: %s", dhg_error_last()->message);
	engine_objects_dispose(&objs);
	json_decref(ov);
	return c;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char *values(const engine_chart *c)
{
	const engine_file *f = engine_chart_file(c, "values.yaml");
	ck_assert_ptr_nonnull(f);
	return f->data;
}

/* Every comment lands above its key, top-level ones included. */
START_TEST(test_engine_values__comments)
{
	engine_chart *c = gen(NULL, NULL);
	const char *v = values(c);
	ck_assert_msg(strstr(v, "# -- Overrides the chart name in labels\nnameOverride: \"\"\n"), "%s", v);
	ck_assert_msg(strstr(v, "webConfig:\n  # -- Settings of ConfigMap shop/web-config\n  configMap:\n    data:\n"
				"      # -- ConfigMap data (ConfigMap shop/web-config)\n      MODE: \"yes\"\n"),
		      "%s", v);
	ck_assert_msg(strstr(v, "    # -- Number of replicas (Deployment shop/web)\n    replicas: 2\n"), "%s", v);
	ck_assert_uint_eq(count(v, "# -- Settings of "), 2);
	engine_chart_free(c);
}
END_TEST

/* A top-level key from --set-values that spells a comment path with the path separator
 * '\x1f' gets that comment, as with one flat table (the per-key tables fall back to it). */
START_TEST(test_engine_values__control_char_key_falls_back)
{
	engine_chart *c = gen(NULL, "{\"webConfig\\u001fconfigMap\": 1}");
	const char *v = values(c);
	ck_assert_msg(count(v, "# -- Settings of ConfigMap shop/web-config\n") == 2, "%s", v);
	engine_chart_free(c);
}
END_TEST

/* A values path longer than the comment keys (1023 bytes) loses its comments, and the other
 * objects keep theirs (the flat fallback). */
START_TEST(test_engine_values__long_path_falls_back)
{
	char name[1200], obj[1600];
	engine_chart *c;
	const char *v;

	memset(name, 'a', 1100);
	name[1100] = '\0';
	snprintf(obj, sizeof(obj),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\"},"
		 "\"data\":{\"K\":\"v\"}}",
		 name);
	c = gen(obj, NULL);
	v = values(c);
	ck_assert_msg(strstr(v, "  # -- Settings of ConfigMap shop/web-config\n"), "%s", v);
	ck_assert_msg(strstr(v, "    # -- Number of replicas (Deployment shop/web)\n"), "%s", v);
	ck_assert_uint_eq(count(v, "# -- Settings of "), 2); /* none for the long one */
	ck_assert_msg(strstr(v, "      K: v\n"), "%s", v);
	engine_chart_free(c);
}
END_TEST

/* 1 when the schema member `name` in text is exactly {"type": type} (no properties). */
static int typed_only(const char *text, const char *name, const char *type)
{
	char want[128], t[64];
	const char *p;
	snprintf(want, sizeof(want), "\"%s\": {\n", name);
	if (!(p = strstr(text, want)))
		return 0;
	p += strlen(want);
	while (*p == ' ')
		p++;
	snprintf(t, sizeof(t), "\"type\": \"%s\"\n", type);
	if (strncmp(p, t, strlen(t)))
		return 0;
	p += strlen(t);
	while (*p == ' ')
		p++;
	return *p == '}';
}

/* Blocks (resources, pod annotations, ...) are typed in the schema without their inside. */
START_TEST(test_engine_values__schema_blocks)
{
	engine_chart *c = gen(NULL, NULL);
	const engine_file *f = engine_chart_file(c, "values.schema.json");
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(typed_only(f->data, "resources", "object"), "%s", f->data);
	ck_assert_msg(typed_only(f->data, "podAnnotations", "object"), "%s", f->data);
	ck_assert_msg(!strstr(f->data, "\"limits\""), "%s", f->data);
	ck_assert_msg(typed_only(f->data, "replicas", "integer"), "%s", f->data);
	ck_assert_msg(typed_only(f->data, "MODE", "string"), "%s", f->data);
	ck_assert_msg(!typed_only(f->data, "image", "object"), "%s", f->data); /* not a block: has properties */
	engine_chart_free(c);
}
END_TEST

Suite *engine_values_suite(void)
{
	Suite *s = suite_create("engine_values");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_engine_values__comments);
	tcase_add_test(tc, test_engine_values__control_char_key_falls_back);
	tcase_add_test(tc, test_engine_values__long_path_falls_back);
	tcase_add_test(tc, test_engine_values__schema_blocks);
	suite_add_tcase(s, tc);
	return s;
}
