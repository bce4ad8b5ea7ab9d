#include <check.h>
#include <jansson.h>
#include <string.h>

#include "runtime/conditions.h"
#include "runtime/recorder.h"
#include "util/error.h"

START_TEST(test_runtime_conditions__transition_time)
{
	json_t *c = json_array();
	ck_assert_int_eq(rt_conditions_set(c, "Ready", "False", "Progressing", "working", 1, "T1"), 0);
	ck_assert_int_eq(rt_conditions_set(c, "Ready", "False", "SourceFailed", "boom", 2, "T2"), 0);
	json_t *r = rt_conditions_get(c, "Ready");
	ck_assert_str_eq(json_string_value(json_object_get(r, "lastTransitionTime")), "T1");
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")), "SourceFailed");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "observedGeneration")), 2);
	ck_assert_int_eq(rt_conditions_set(c, "Ready", "True", "Succeeded", "ok", 2, "T3"), 0);
	r = rt_conditions_get(c, "Ready");
	ck_assert_str_eq(json_string_value(json_object_get(r, "lastTransitionTime")), "T3");
	ck_assert(rt_conditions_is_true(c, "Ready"));
	ck_assert_uint_eq(json_array_size(c), 1);
	json_decref(c);
}
END_TEST

START_TEST(test_runtime_conditions__kstatus)
{
	json_t *c = json_array();
	ck_assert_int_eq(rt_conditions_set_kstatus(c, RT_STATUS_PROGRESSING, "Progressing", "m", 1, "T"), 0);
	ck_assert(rt_conditions_is_true(c, "Reconciling"));
	ck_assert_int_eq(rt_conditions_set_kstatus(c, RT_STATUS_STALLED, "InvalidSpec", "spec.x: bad", 1, "T"), 0);
	ck_assert(rt_conditions_is_true(c, "Stalled"));
	ck_assert_ptr_null(rt_conditions_get(c, "Reconciling"));
	ck_assert(!rt_conditions_is_true(c, "Ready"));
	ck_assert_int_eq(rt_conditions_set_kstatus(c, RT_STATUS_READY, "Succeeded", "ok", 2, "T"), 0);
	ck_assert(rt_conditions_is_true(c, "Ready"));
	ck_assert_ptr_null(rt_conditions_get(c, "Stalled"));
	ck_assert_uint_eq(json_array_size(c), 1);
	char buf[32];
	rt_time_now_rfc3339(buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), 20);
	ck_assert_int_eq(buf[19], 'Z');
	json_decref(c);
}
END_TEST

typedef struct fake_sink {
	int creates, patches;
	json_t *last;
	int fail_patch_notfound;
} fake_sink;

static int fk_create(void *p, const char *ns, const json_t *ev)
{
	fake_sink *f = p;
	ck_assert_str_eq(ns, "shop");
	f->creates++;
	json_decref(f->last);
	f->last = json_deep_copy(ev);
	return 0;
}

static int fk_patch(void *p, const char *ns, const char *name, const json_t *patch)
{
	fake_sink *f = p;
	(void)ns;
	ck_assert_str_eq(name, json_string_value(json_object_get(json_object_get(f->last, "metadata"), "name")));
	f->patches++;
	if (f->fail_patch_notfound)
		return DHG_ENOTFOUND;
	json_object_set(f->last, "count", json_object_get(patch, "count"));
	return 0;
}

START_TEST(test_runtime_conditions__recorder_aggregates)
{
	fake_sink f = { 0 };
	rt_event_sink s = { fk_create, fk_patch, &f };
	rt_recorder *r;
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "dhg.deckhouse.io/v1alpha1",
				"kind", "HelmChart", "metadata", "name", "x", "namespace", "shop", "uid", "u1");
	ck_assert_int_eq(rt_recorder_new(&r, "dhg-operator", &s), 0);
	ck_assert_int_eq(rt_recorder_event(r, obj, RT_EVENT_NORMAL, "NoChange", "same"), 0);
	ck_assert_int_eq(rt_recorder_event(r, obj, RT_EVENT_NORMAL, "NoChange", "same"), 0);
	ck_assert_int_eq(rt_recorder_event(r, obj, RT_EVENT_NORMAL, "NoChange", "same"), 0);
	ck_assert_int_eq(f.creates, 1);
	ck_assert_int_eq(f.patches, 2);
	ck_assert_int_eq(json_integer_value(json_object_get(f.last, "count")), 3);
	json_t *io = json_object_get(f.last, "involvedObject");
	ck_assert_str_eq(json_string_value(json_object_get(io, "kind")), "HelmChart");
	ck_assert_str_eq(json_string_value(json_object_get(io, "uid")), "u1");
	ck_assert_int_eq(rt_recorder_event(r, obj, RT_EVENT_WARNING, "WriteFailed", "disk full"), 0);
	ck_assert_int_eq(f.creates, 2);
	ck_assert_str_eq(json_string_value(json_object_get(f.last, "type")), "Warning");
	/* an aggregated Event that vanished is created again */
	f.fail_patch_notfound = 1;
	ck_assert_int_eq(rt_recorder_event(r, obj, RT_EVENT_WARNING, "WriteFailed", "disk full"), 0);
	ck_assert_int_eq(f.creates, 3);
	unsigned long cr, ag;
	rt_recorder_counts(&cr, &ag, r);
	ck_assert_uint_eq(cr, 2);
	ck_assert_uint_eq(ag, 3);
	rt_recorder_free(r);
	json_decref(obj);
	json_decref(f.last);
}
END_TEST

Suite *runtime_conditions_suite(void)
{
	Suite *s = suite_create("runtime_conditions");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_runtime_conditions__transition_time);
	tcase_add_test(tc, test_runtime_conditions__kstatus);
	tcase_add_test(tc, test_runtime_conditions__recorder_aggregates);
	suite_add_tcase(s, tc);
	return s;
}
