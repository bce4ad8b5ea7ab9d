#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/oci/ociout.h"
#include "output/oci/ociout_internal.h"
#include "util/error.h"
#include "util/str.h"

START_TEST(test_output_oci__tag_from_version)
{
	static const struct {
		const char *in, *want;
	} ok[] = { { "1.2.3", "1.2.3" },
		   { "1.2.3+build.1", "1.2.3_build.1" },
		   { "0.1.0-rc.1+git.abc", "0.1.0-rc.1_git.abc" },
		   { "10.0.0", "10.0.0" } };
	char tag[129];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_int_eq(ociout_tag_from_version(tag, ok[i].in), 0);
		ck_assert_str_eq(tag, ok[i].want);
	}
	ck_assert_int_eq(ociout_tag_from_version(tag, ""), DHG_EINVALID);
	ck_assert_int_eq(ociout_tag_from_version(tag, "1.2.3/x"), DHG_EINVALID);
	ck_assert_int_eq(ociout_tag_from_version(tag, ".1.2"), DHG_EINVALID);
	{
		char long_v[200];
		memset(long_v, '1', sizeof(long_v) - 1);
		long_v[sizeof(long_v) - 1] = 0;
		ck_assert_int_eq(ociout_tag_from_version(tag, long_v), DHG_EINVALID);
	}
}
END_TEST

START_TEST(test_output_oci__ref_parse)
{
	ociout_ref r;
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://127.0.0.1:5000/charts/team"), 0);
	ck_assert_str_eq(r.host, "127.0.0.1:5000");
	ck_assert_str_eq(r.path, "charts/team");
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://registry.example/charts/"), 0);
	ck_assert_str_eq(r.host, "registry.example");
	ck_assert_str_eq(r.path, "charts");
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://registry.example"), 0);
	ck_assert_str_eq(r.path, "");
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://[::1]:5000/a"), 0);
	ck_assert_str_eq(r.host, "[::1]:5000");
	ck_assert_int_eq(ociout_ref_parse(&r, "https://registry.example/charts"), DHG_EINVALID);
	ck_assert_int_eq(ociout_ref_parse(&r, "oci:///charts"), DHG_EINVALID);
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://registry.example/Charts"), DHG_EINVALID);
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://registry.example/a//b"), DHG_EINVALID);
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://registry.example:99999/a"), DHG_EINVALID);
	ck_assert_int_eq(ociout_ref_parse(&r, "oci://user:pw@registry.example/a"), DHG_EINVALID);
	ck_assert_msg(strstr(dhg_error_last()->message, "pw") == NULL, "%s", dhg_error_last()->message);
}
END_TEST

START_TEST(test_output_oci__manifest_bytes)
{
	char *m = NULL;
	size_t len = 0;
	json_t *meta;
	/* what `helm push` writes, minus "created": no top-level mediaType, sorted annotations, the
	 * chart's own annotations (title/version cannot be overridden), Go's <>& escaping */
	static const char want[] =
		"{\"schemaVersion\":2,"
		"\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\"sha256:"
		"aaaa\",\"size\":12},\"layers\":[{\"mediaType\":\"application/vnd.cncf.helm.chart.content.v1."
		"tar+gzip\",\"digest\":\"sha256:bbbb\",\"size\":3456}],\"annotations\":{"
		"\"example.com/team\":\"a \\u0026 b\","
		"\"org.opencontainers.image.authors\":\"Ann (ann@example.invalid), Bob\","
		"\"org.opencontainers.image.description\":\"A \\\"quoted\\\" \\u003cchart\\u003e\","
		"\"org.opencontainers.image.source\":\"https://src.example/one\","
		"\"org.opencontainers.image.title\":\"shop\","
		"\"org.opencontainers.image.url\":\"https://home.example\","
		"\"org.opencontainers.image.version\":\"1.2.3+build.1\"}}";
	static const char want_min[] =
		"{\"schemaVersion\":2,"
		"\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\"sha256:"
		"aaaa\",\"size\":12},\"layers\":[{\"mediaType\":\"application/vnd.cncf.helm.chart.content.v1."
		"tar+gzip\",\"digest\":\"sha256:bbbb\",\"size\":3456}],\"annotations\":{"
		"\"org.opencontainers.image.title\":\"shop\",\"org.opencontainers.image.version\":\"0.1.0\"}}";

	meta = json_loads("{\"name\":\"shop\",\"home\":\"https://home.example\","
			  "\"sources\":[\"https://src.example/one\",\"https://src.example/two\"],"
			  "\"version\":\"1.2.3+build.1\",\"description\":\"A \\\"quoted\\\" <chart>\","
			  "\"maintainers\":[{\"name\":\"Ann\",\"email\":\"ann@example.invalid\"},{\"name\":\"Bob\"}],"
			  "\"annotations\":{\"org.opencontainers.image.title\":\"hijack\",\"example.com/team\":\"a & b\"}}",
			  0, NULL);
	ck_assert_ptr_nonnull(meta);
	ck_assert_int_eq(ociout_manifest_build(&m, &len, "sha256:aaaa", 12, "sha256:bbbb", 3456, meta), 0);
	ck_assert_str_eq(m, want);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert(strstr(m, "created") == NULL);
	free(m);
	json_decref(meta);
	meta = json_loads("{\"name\":\"shop\",\"version\":\"0.1.0\",\"description\":\"\"}", 0, NULL);
	ck_assert_int_eq(ociout_manifest_build(&m, &len, "sha256:aaaa", 12, "sha256:bbbb", 3456, meta), 0);
	ck_assert_str_eq(m, want_min);
	free(m);
	json_decref(meta);
	ck_assert_int_eq(ociout_manifest_build(&m, &len, "sha256:aaaa", 12, "sha256:bbbb", 3456, NULL), DHG_EINVALID);
}
END_TEST

START_TEST(test_output_oci__challenges)
{
	ociout_challenge ch[8];
	size_t n = 0;

	ck_assert_int_eq(ociout_challenges_parse(ch, 8, &n, "Basic realm=\"dhg-test\""), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ch[0].scheme, "basic");
	ck_assert_str_eq(ch[0].realm, "dhg-test");

	n = 0;
	ck_assert_int_eq(ociout_challenges_parse(ch, 8, &n,
						 "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
						 "scope=\"repository:charts/shop:pull,push\""),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ch[0].scheme, "bearer");
	ck_assert_str_eq(ch[0].realm, "https://auth.example/token");
	ck_assert_str_eq(ch[0].service, "registry.example");
	ck_assert_str_eq(ch[0].scope, "repository:charts/shop:pull,push"); /* comma inside quotes */

	/* several challenges, odd spacing and case, escapes, unquoted tokens, token68, error param */
	n = 0;
	ck_assert_int_eq(ociout_challenges_parse(ch, 8, &n,
						 "  NEGOTIATE abc123== ,BEARER   REALM = \"http://a/t?x=1,2\" , "
						 "Service=reg , error=\"insufficient_scope\",scope=\"a\\\"b\\\\c\", "
						 "basic realm=\"r, with comma\""),
			 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ch[0].scheme, "negotiate");
	ck_assert_str_eq(ch[1].scheme, "bearer");
	ck_assert_str_eq(ch[1].realm, "http://a/t?x=1,2");
	ck_assert_str_eq(ch[1].service, "reg");
	ck_assert_str_eq(ch[1].error, "insufficient_scope");
	ck_assert_str_eq(ch[1].scope, "a\"b\\c");
	ck_assert_str_eq(ch[2].scheme, "basic");
	ck_assert_str_eq(ch[2].realm, "r, with comma");

	/* scheme alone, then empty */
	n = 0;
	ck_assert_int_eq(ociout_challenges_parse(ch, 8, &n, "Basic"), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ch[0].realm, "");
	n = 0;
	ck_assert_int_eq(ociout_challenges_parse(ch, 8, &n, "   "), 0);
	ck_assert_uint_eq(n, 0);

	/* malformed */
	static const char *bad[] = { "Bearer realm=\"unterminated", "Bearer realm=\"a\"junk", "=abc",
				     "Bearer realm=\"x\", =", "Bearer realm=\"a\\" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 0;
		ck_assert_msg(ociout_challenges_parse(ch, 8, &n, bad[i]) == DHG_EINVALID, "accepted: %s", bad[i]);
	}
	/* an over-long realm is refused, not truncated */
	{
		char *h = malloc(3000);
		ck_assert_ptr_nonnull(h);
		memcpy(h, "Bearer realm=\"", 14);
		memset(h + 14, 'x', 2000);
		memcpy(h + 2014, "\"", 2);
		n = 0;
		ck_assert_int_eq(ociout_challenges_parse(ch, 8, &n, h), DHG_EINVALID);
		free(h);
	}
	/* max respected */
	n = 0;
	ck_assert_int_eq(ociout_challenges_parse(ch, 1, &n, "Basic realm=a, Bearer realm=b"), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ch[0].scheme, "basic");
}
END_TEST

START_TEST(test_output_oci__base64)
{
	const char *in[] = { "", "f", "fo", "foo", "user:p@ss:w0rd" };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *enc = NULL, *dec = NULL;
		size_t len;
		ck_assert_int_eq(ociout__base64_encode(&enc, in[i], strlen(in[i])), 0);
		ck_assert_int_eq(ociout__base64_decode(&dec, &len, enc, strlen(enc)), 0);
		ck_assert_uint_eq(len, strlen(in[i]));
		ck_assert(memcmp(dec, in[i], len) == 0);
		free(enc);
		free(dec);
	}
	{
		char *enc = NULL;
		ck_assert_int_eq(ociout__base64_encode(&enc, "user:pass", 9), 0);
		ck_assert_str_eq(enc, "dXNlcjpwYXNz");
		free(enc);
	}
	{
		char *dec = NULL;
		size_t len;
		ck_assert_int_eq(ociout__base64_decode(&dec, &len, "dXN!", 4), DHG_EINVALID);
		ck_assert_int_eq(ociout__base64_decode(&dec, &len, "dX=Nl", 5), DHG_EINVALID);
		ck_assert_ptr_null(dec);
	}
}
END_TEST

START_TEST(test_output_oci__docker_config)
{
	/* "alice:pa:ss" base64 = YWxpY2U6cGE6c3M= */
	static const char cfg[] = "{\"auths\":{"
				  "\"https://other.example/v1/\":{\"auth\":\"b3RoZXI6eA==\"},"
				  "\"https://127.0.0.1:5000\":{\"auth\":\"YWxpY2U6cGE6c3M=\"},"
				  "\"reg.example\":{\"username\":\"bob\",\"password\":\"hunter2\"},"
				  "\"broken.example\":{\"auth\":\"bm9jb2xvbg==\"}},"
				  "\"credsStore\":\"desktop\"}";
	ociout_credentials c = OCIOUT_CREDENTIALS_INIT;

	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, cfg, strlen(cfg), "127.0.0.1:5000"), 0);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_str_eq(c.password, "pa:ss");
	ociout_credentials_dispose(&c);
	ck_assert_ptr_null(c.username);

	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, cfg, strlen(cfg), "REG.example"), 0);
	ck_assert_str_eq(c.username, "bob");
	ck_assert_str_eq(c.password, "hunter2");
	ociout_credentials_dispose(&c);

	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, cfg, strlen(cfg), "127.0.0.1:5001"), DHG_ENOTFOUND);
	ck_assert(strstr(dhg_error_last()->message, "credential helpers") != NULL);
	ck_assert_ptr_null(c.username);

	/* "nocolon": a clear error that does not quote the value */
	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, cfg, strlen(cfg), "broken.example"), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "bm9jb2xvbg") == NULL);
	ck_assert(strstr(dhg_error_last()->message, "nocolon") == NULL);

	/* malformed JSON never echoes the input */
	static const char bad[] = "{\"auths\":{\"x\":{\"auth\":\"c2VjcmV0LXZhbHVl\"}";
	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, bad, strlen(bad), "x"), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "c2VjcmV0") == NULL);
	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, "[]", 2, "x"), DHG_EINVALID);
	ck_assert_int_eq(ociout_credentials_from_docker_config(&c, "{}", 2, "x"), DHG_ENOTFOUND);
}
END_TEST

static json_t *b64_value(const char *s)
{
	char *enc = NULL;
	json_t *v;
	ck_assert_int_eq(ociout__base64_encode(&enc, s, strlen(s)), 0);
	v = json_string(enc);
	free(enc);
	return v;
}

START_TEST(test_output_oci__secret_data)
{
	json_t *data = json_object();
	ociout_credentials c = OCIOUT_CREDENTIALS_INIT;
	char *ca = NULL;
	size_t ca_len = 0;

	json_object_set_new(data, ".dockerconfigjson",
			    b64_value("{\"auths\":{\"registry.example:443\":{\"username\":\"u\",\"password\":\"p\"}}}"));
	json_object_set_new(data, "ca.crt", b64_value("-----BEGIN CERTIFICATE-----\n"));
	ck_assert_int_eq(ociout_credentials_from_secret_data(&c, &ca, &ca_len, data, "registry.example:443"), 0);
	ck_assert_str_eq(c.username, "u");
	ck_assert_str_eq(c.password, "p");
	ck_assert_ptr_nonnull(ca);
	ck_assert_uint_eq(ca_len, strlen("-----BEGIN CERTIFICATE-----\n"));
	ociout_credentials_dispose(&c);
	free(ca);
	ca = NULL;
	ck_assert_int_eq(ociout_credentials_from_secret_data(&c, &ca, &ca_len, data, "registry.example"), DHG_ENOTFOUND);
	ck_assert_ptr_null(ca);

	/* basic-auth style Secret */
	json_object_clear(data);
	json_object_set_new(data, "username", b64_value("robot"));
	json_object_set_new(data, "password", b64_value("t0ken"));
	ck_assert_int_eq(ociout_credentials_from_secret_data(&c, NULL, NULL, data, "any"), 0);
	ck_assert_str_eq(c.username, "robot");
	ck_assert_str_eq(c.password, "t0ken");
	ociout_credentials_dispose(&c);

	/* not base64 */
	json_object_set_new(data, "password", json_string("not base64!"));
	ck_assert_int_eq(ociout_credentials_from_secret_data(&c, NULL, NULL, data, "any"), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "data.password") != NULL);
	ck_assert(strstr(dhg_error_last()->message, "not base64!") == NULL);
	json_object_clear(data);
	ck_assert_int_eq(ociout_credentials_from_secret_data(&c, NULL, NULL, data, "any"), DHG_ENOTFOUND);
	json_decref(data);
}
END_TEST

START_TEST(test_output_oci__push_unreachable)
{
	engine_file f[1];
	engine_chart chart;
	ociout_options o = OCIOUT_OPTIONS_INIT;
	ociout_result r;
	struct timespec t0, t1;

	memset(&chart, 0, sizeof(chart));
	f[0].path = "Chart.yaml";
	f[0].data = "apiVersion: v2\nname: shop\nversion: 0.1.0\n";
	f[0].len = strlen(f[0].data);
	chart.files = f;
	chart.nfiles = 1;
	snprintf(chart.name, sizeof(chart.name), "shop");
	snprintf(chart.version, sizeof(chart.version), "0.1.0");
	o.repository = "oci://127.0.0.1:1/charts"; /* nothing listens on port 1 */
	o.plain_http = 1;
	o.max_attempts = 3;
	o.backoff_ms = 20;
	o.username = "someone";
	o.password = "do-not-print-me";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ociout_push(&r, &chart, &o), DHG_EUNAVAILABLE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(strstr(dhg_error_last()->message, "after 3 attempts") != NULL, "%s", dhg_error_last()->message);
	ck_assert(strstr(dhg_error_last()->message, "do-not-print-me") == NULL);
	/* two backoffs of >= 10 ms and >= 20 ms happened */
	ck_assert((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 30);
	ck_assert_int_eq(r.pushed, 0);
	/* the digests were computed before any network access */
	ck_assert(dhg_str_has_prefix(r.digest, "sha256:"));

	o.repository = "oci://127.0.0.1:1/Charts";
	ck_assert_int_eq(ociout_push(&r, &chart, &o), DHG_EINVALID);
	o.repository = "oci://127.0.0.1:1/charts";
	snprintf(chart.version, sizeof(chart.version), "0.2.0");
	ck_assert_int_eq(ociout_push(&r, &chart, &o), DHG_EINVALID); /* Chart.yaml says 0.1.0 */
}
END_TEST

Suite *output_oci_suite(void)
{
	Suite *s = suite_create("output_oci");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_output_oci__tag_from_version);
	tcase_add_test(tc, test_output_oci__ref_parse);
	tcase_add_test(tc, test_output_oci__manifest_bytes);
	tcase_add_test(tc, test_output_oci__challenges);
	tcase_add_test(tc, test_output_oci__base64);
	tcase_add_test(tc, test_output_oci__docker_config);
	tcase_add_test(tc, test_output_oci__secret_data);
	tcase_add_test(tc, test_output_oci__push_unreachable);
	suite_add_tcase(s, tc);
	return s;
}
