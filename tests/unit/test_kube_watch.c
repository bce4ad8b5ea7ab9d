#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/kube_private.h"
#include "kube/object.h"
#include "util/buf.h"
#include "util/error.h"

/* Records "<TYPE>:<name>:<rv>;" per event. */
typedef struct rec {
	dhg_buf log;
	int stop_after; /* return 7 after this many events (0: never) */
	int n;
} rec;

static int on_ev(int type, json_t *obj, void *payload)
{
	rec *r = payload;
	r->n++;
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
	if (type == KUBE_WATCH_ERROR) {
		dhg_buf_printf(&r->log, "ERROR:%lld;", (long long)json_integer_value(json_object_get(obj, "code")));
	} else {
		dhg_buf_printf(&r->log, "%s:%s:%s;", kube_watch_event_name(type), name ? name : "", rv ? rv : "");
	}
	return r->stop_after && r->n >= r->stop_after ? 7 : 0;
}

static const char STREAM[] =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"10\"},"
	"\"data\":{\"x\":\"line\\nbreak \\u00e9 {}\"}}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"11\"}}}\r\n"
	"\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"12\"}}}\n"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"13\"}}}\n"
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}\n";
static const char WANT[] = "ADDED:a:10;MODIFIED:a:11;BOOKMARK::12;DELETED:a:13;ERROR:410;";

START_TEST(test_kube_watch__parse_whole_and_byte_by_byte)
{
	size_t len = strlen(STREAM);
	/* chunk sizes 1 (byte by byte), 2, 3, 7, 64 and everything at once */
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 100000 };
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		rec r = { DHG_BUF_INIT(0), 0, 0 };
		kube_watch_parser *p = NULL;
		ck_assert_int_eq(kube_watch_parser_new(&p, 0, on_ev, &r), 0);
		for (size_t off = 0; off < len; off += chunks[c]) {
			size_t n = len - off < chunks[c] ? len - off : chunks[c];
			ck_assert_int_eq(kube_watch_parser_feed(p, STREAM + off, n), 0);
		}
		ck_assert_int_eq(kube_watch_parser_finish(p), 0);
		ck_assert_msg(strcmp(dhg_buf_cstr(&r.log), WANT) == 0, "chunk %zu: %s", chunks[c], dhg_buf_cstr(&r.log));
		ck_assert_uint_eq(kube_watch_parser_events(p), 5);
		kube_watch_parser_free(p);
		dhg_buf_dispose(&r.log);
	}
}
END_TEST

START_TEST(test_kube_watch__final_line_without_newline)
{
	rec r = { DHG_BUF_INIT(0), 0, 0 };
	kube_watch_parser *p = NULL;
	const char *s = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"z\",\"resourceVersion\":\"5\"}}}";
	ck_assert_int_eq(kube_watch_parser_new(&p, 0, on_ev, &r), 0);
	ck_assert_int_eq(kube_watch_parser_feed(p, s, strlen(s)), 0);
	ck_assert_str_eq(dhg_buf_cstr(&r.log), ""); /* not complete yet */
	ck_assert_int_eq(kube_watch_parser_finish(p), 0);
	ck_assert_str_eq(dhg_buf_cstr(&r.log), "ADDED:z:5;");
	kube_watch_parser_free(p);
	dhg_buf_dispose(&r.log);
}
END_TEST

START_TEST(test_kube_watch__line_limit_and_bad_lines)
{
	rec r = { DHG_BUF_INIT(0), 0, 0 };
	kube_watch_parser *p = NULL;
	ck_assert_int_eq(kube_watch_parser_new(&p, 100, on_ev, &r), 0);
	char big[300];
	memset(big, 'x', sizeof(big));
	/* a line longer than the limit, fed in pieces, is refused without buffering it all */
	ck_assert_int_eq(kube_watch_parser_feed(p, big, 60), 0);
	ck_assert_int_eq(kube_watch_parser_feed(p, big, 60), DHG_ETOOBIG);
	ck_assert(strstr(dhg_error_last()->message, "longer than 100") != NULL);
	kube_watch_parser_free(p);

	p = NULL;
	ck_assert_int_eq(kube_watch_parser_new(&p, 0, on_ev, &r), 0);
	ck_assert_int_eq(kube_watch_parser_feed(p, "{not json}\n", 11), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "line 1") != NULL);
	kube_watch_parser_free(p);

	p = NULL;
	ck_assert_int_eq(kube_watch_parser_new(&p, 0, on_ev, &r), 0);
	const char *s = "{\"type\":\"WHATEVER\",\"object\":{}}\n";
	ck_assert_int_eq(kube_watch_parser_feed(p, s, strlen(s)), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "not a watch event") != NULL);
	kube_watch_parser_free(p);
	dhg_buf_dispose(&r.log);
}
END_TEST

START_TEST(test_kube_watch__callback_stops)
{
	rec r = { DHG_BUF_INIT(0), 2, 0 };
	kube_watch_parser *p = NULL;
	ck_assert_int_eq(kube_watch_parser_new(&p, 0, on_ev, &r), 0);
	ck_assert_int_eq(kube_watch_parser_feed(p, STREAM, strlen(STREAM)), 7);
	ck_assert_str_eq(dhg_buf_cstr(&r.log), "ADDED:a:10;MODIFIED:a:11;");
	kube_watch_parser_free(p);
	dhg_buf_dispose(&r.log);
}
END_TEST

START_TEST(test_kube_watch__status_error_mapping)
{
	static const struct {
		long http;
		const char *body;
		int code;
		const char *reason;
	} t[] = {
		{ 404, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"message\":\"configmaps \\\"a\\\" not found\",\"code\":404}", DHG_ENOTFOUND, "NotFound" },
		{ 409, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\"}", DHG_ECONFLICT, "Conflict" },
		{ 409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"message\":\"exists\"}", DHG_EEXISTS, "AlreadyExists" },
		{ 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"too old resource version\"}", DHG_EGONE, "Expired" },
		{ 403, "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"no\"}", DHG_EFORBIDDEN, "Forbidden" },
		{ 401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"message\":\"Unauthorized\"}", DHG_EUNAUTHORIZED, "Unauthorized" },
		{ 422, "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"spec.x: Invalid value\"}", DHG_EINVALID, "Invalid" },
		{ 429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}", DHG_EUNAVAILABLE, "TooManyRequests" },
		{ 500, "{\"kind\":\"Status\",\"reason\":\"InternalError\"}", DHG_EUNAVAILABLE, "InternalError" },
		{ 503, "<html>busy</html>", DHG_EUNAVAILABLE, "InternalError" },
		{ 404, NULL, DHG_ENOTFOUND, "NotFound" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = kube_client__status_error(t[i].http, t[i].body, t[i].body ? strlen(t[i].body) : 0, "GET /api/v1/x");
		ck_assert_msg(rc == t[i].code, "case %zu: got %d", i, rc);
		const dhg_error *e = dhg_error_last();
		ck_assert_int_eq(e->code, t[i].code);
		ck_assert_int_eq(e->http_status, (int)t[i].http);
		ck_assert_str_eq(e->reason, t[i].reason);
		ck_assert(strstr(e->message, "GET /api/v1/x") != NULL);
	}
	kube_client__status_error(409, t[1].body, strlen(t[1].body), "PUT /api/v1/namespaces/a/configmaps/b");
	ck_assert(strstr(dhg_error_last()->message, "the object has been modified") != NULL);
	kube_client__status_error(503, "<html>busy</html>", 17, "GET /x");
	ck_assert(strstr(dhg_error_last()->message, "busy") != NULL);
}
END_TEST

START_TEST(test_kube_watch__paths)
{
	kube_gvr core = { "", "v1", "configmaps" }, apps = { "apps", "v1", "deployments" };
	char *p = kube_client_path(&core, "shop", "cfg", NULL);
	ck_assert_str_eq(p, "/api/v1/namespaces/shop/configmaps/cfg");
	free(p);
	p = kube_client_path(&apps, NULL, NULL, NULL);
	ck_assert_str_eq(p, "/apis/apps/v1/deployments");
	free(p);
	p = kube_client_path(&apps, "a", "b", "status");
	ck_assert_str_eq(p, "/apis/apps/v1/namespaces/a/deployments/b/status");
	free(p);
	char buf[64];
	kube_client__path_for_message(buf, sizeof(buf), "/api/v1/pods?labelSelector=a%3Db&continue=SECRET");
	ck_assert_str_eq(buf, "/api/v1/pods");
}
END_TEST

START_TEST(test_kube_watch__trim)
{
	json_t *o = json_loads("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"resourceVersion\":\"3\","
	                       "\"managedFields\":[{\"manager\":\"kubectl\"}],"
	                       "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"},"
	                       "\"labels\":{\"app\":\"x\"}},\"spec\":{\"k\":1}}", 0, NULL);
	ck_assert_ptr_nonnull(o);
	kube_object_trim(o);
	json_t *meta = json_object_get(o, "metadata");
	ck_assert_ptr_null(json_object_get(meta, "managedFields"));
	ck_assert_ptr_null(json_object_get(meta, "annotations")); /* emptied, so removed */
	ck_assert_ptr_nonnull(json_object_get(meta, "labels"));
	ck_assert_ptr_nonnull(json_object_get(o, "spec"));
	ck_assert_str_eq(kube_object_resource_version(o), "3");
	char key[64];
	ck_assert_int_eq(kube_object_key(key, sizeof(key), o), 0);
	ck_assert_str_eq(key, "n/a");
	ck_assert_int_eq(kube_object_key(key, 3, o), DHG_ETOOBIG);
	json_decref(o);

	o = json_loads("{\"metadata\":{\"name\":\"c\",\"annotations\":{\"keep\":\"me\","
	               "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}}}", 0, NULL);
	kube_object_trim(o);
	json_t *ann = json_object_get(json_object_get(o, "metadata"), "annotations");
	ck_assert_uint_eq(json_object_size(ann), 1);
	ck_assert_str_eq(json_string_value(json_object_get(ann, "keep")), "me");
	ck_assert_int_eq(kube_object_key(key, sizeof(key), o), 0);
	ck_assert_str_eq(key, "c");
	json_decref(o);
	kube_object_trim(NULL); /* harmless */
	ck_assert_str_eq(kube_object_name(NULL), "");
}
END_TEST

Suite *kube_watch_suite(void)
{
	Suite *s = suite_create("kube_watch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_kube_watch__parse_whole_and_byte_by_byte);
	tcase_add_test(tc, test_kube_watch__final_line_without_newline);
	tcase_add_test(tc, test_kube_watch__line_limit_and_bad_lines);
	tcase_add_test(tc, test_kube_watch__callback_stops);
	tcase_add_test(tc, test_kube_watch__status_error_mapping);
	tcase_add_test(tc, test_kube_watch__paths);
	tcase_add_test(tc, test_kube_watch__trim);
	suite_add_tcase(s, tc);
	return s;
}
