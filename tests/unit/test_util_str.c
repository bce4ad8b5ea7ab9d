#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/str.h"

START_TEST(test_util_str__dns1123)
{
	ck_assert(dhg_dns1123_label_valid("shop"));
	ck_assert(dhg_dns1123_label_valid("a-b-1"));
	ck_assert(!dhg_dns1123_label_valid("Shop"));
	ck_assert(!dhg_dns1123_label_valid("-a"));
	ck_assert(!dhg_dns1123_label_valid("a-"));
	ck_assert(!dhg_dns1123_label_valid(""));
	ck_assert(!dhg_dns1123_label_valid("a_b"));
	ck_assert(!dhg_dns1123_label_valid("a.b"));
	ck_assert(dhg_dns1123_subdomain_valid("a.b-c.d"));
	ck_assert(!dhg_dns1123_subdomain_valid("a..b"));
	char long_label[70];
	memset(long_label, 'a', 64);
	long_label[64] = 0;
	ck_assert(!dhg_dns1123_label_valid(long_label));
}
END_TEST

START_TEST(test_util_str__semver)
{
	ck_assert(dhg_semver_valid("0.1.0"));
	ck_assert(dhg_semver_valid("1.2.3-rc.1+build.5"));
	ck_assert(dhg_semver_valid("10.20.30-alpha-1"));
	ck_assert(!dhg_semver_valid("1.2"));
	ck_assert(!dhg_semver_valid("v1.2.3"));
	ck_assert(!dhg_semver_valid("01.2.3"));
	ck_assert(!dhg_semver_valid("1.2.3-01"));
	ck_assert(!dhg_semver_valid("1.2.3-"));
	ck_assert(!dhg_semver_valid("1.2.3+"));
}
END_TEST

START_TEST(test_util_str__duration)
{
	long long ms;
	ck_assert_int_eq(dhg_parse_duration_ms(&ms, "10s"), 0);
	ck_assert_int_eq(ms, 10000);
	ck_assert_int_eq(dhg_parse_duration_ms(&ms, "1m30s"), 0);
	ck_assert_int_eq(ms, 90000);
	ck_assert_int_eq(dhg_parse_duration_ms(&ms, "250ms"), 0);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(dhg_parse_duration_ms(&ms, "0"), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(dhg_parse_duration_ms(&ms, "10"), DHG_EINVALID);
	ck_assert_int_eq(dhg_parse_duration_ms(&ms, "x"), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "not a duration") != NULL);
}
END_TEST

START_TEST(test_util_str__url_redact)
{
	char *s = dhg_url_redact("https://user:tok3n@git.example/org/r.git?access_token=abc#x");
	ck_assert_str_eq(s, "https://git.example/org/r.git");
	free(s);
	s = dhg_url_redact("ssh://git@host:22/r.git");
	ck_assert_str_eq(s, "ssh://host:22/r.git");
	free(s);
	char msg[] = "auth failed for hunter2 at hunter2x";
	const char *secrets[] = { "hunter2", NULL };
	dhg_str_redact_secrets(msg, secrets);
	ck_assert_ptr_null(strstr(msg, "hunter2"));
}
END_TEST

START_TEST(test_util_str__buf_limit)
{
	dhg_buf b = DHG_BUF_INIT(8);
	ck_assert_int_eq(dhg_buf_puts(&b, "1234"), 0);
	ck_assert_int_eq(dhg_buf_printf(&b, "%d", 5678), 0);
	ck_assert_str_eq(dhg_buf_cstr(&b), "12345678");
	ck_assert_int_eq(dhg_buf_putc(&b, 'x'), DHG_ETOOBIG);
	ck_assert_uint_eq(b.len, 8);
	dhg_buf_consume(&b, 4);
	ck_assert_str_eq(dhg_buf_cstr(&b), "5678");
	dhg_buf_dispose(&b);
	/* reserve: room for n bytes and the NUL, or DHG_ETOOBIG beyond the limit; len unchanged */
	ck_assert_int_eq(dhg_buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(dhg_buf_reserve(&b, 6), 0);
	ck_assert_uint_ge(b.cap, 9);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_str_eq(dhg_buf_cstr(&b), "ab");
	ck_assert_int_eq(dhg_buf_reserve(&b, 7), DHG_ETOOBIG);
	ck_assert_uint_eq(b.len, 2);
	dhg_buf_dispose(&b);
}
END_TEST

START_TEST(test_util_str__sha256)
{
	char out[DHG_DIGEST_STR_SIZE];
	ck_assert_int_eq(dhg_sha256_str(out, "abc", 3), 0);
	ck_assert_str_eq(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_util_str__error_wrap)
{
	dhg_error_set(DHG_ENOTFOUND, "no such\nthing");
	ck_assert_int_eq(dhg_error_wrap("reading %s", "x.yaml"), DHG_ENOTFOUND);
	ck_assert_str_eq(dhg_error_last()->message, "reading x.yaml: no such thing");
	dhg_error_clear();
	ck_assert_int_eq(dhg_error_last()->code, 0);
}
END_TEST

START_TEST(test_util_str__utf8_scan)
{
	/* {bytes, length, first bad offset with NUL refused, with NUL allowed} */
	static const struct {
		const char *s;
		size_t n, bad, bad_nul_ok;
	} c[] = {
		{"", 0, 0, 0},
		{"plain ascii text, longer than eight", 35, 35, 35},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 14, 14}, /* 2, 3 and 4 bytes */
		{"abcdefg\0hijklmnop", 18, 7, 18},                              /* NUL inside a word */
		{"ab\xc0\x80", 4, 2, 2},                                        /* overlong NUL */
		{"ab\xe0\x80\xafxyz", 7, 2, 2},                                /* overlong '/' */
		{"\xed\xa0\x80", 3, 0, 0},                                     /* a surrogate */
		{"x\xf4\x90\x80\x80", 5, 1, 1},                               /* beyond U+10FFFF */
		{"abcdefgh\xc3", 9, 8, 8},                                      /* truncated at the end */
		{"abc\x80" "def", 7, 3, 3},                                        /* stray continuation */
		{"\xc3\xa9\xc3(", 5, 2, 2},                                     /* bad continuation */
		{"\xff", 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ck_assert_msg(dhg_utf8_scan(c[i].s, c[i].n, 0) == c[i].bad, "case %zu (NUL refused): %zu", i,
			      dhg_utf8_scan(c[i].s, c[i].n, 0));
		ck_assert_msg(dhg_utf8_scan(c[i].s, c[i].n, 1) == c[i].bad_nul_ok, "case %zu (NUL allowed): %zu", i,
			      dhg_utf8_scan(c[i].s, c[i].n, 1));
	}
}
END_TEST

Suite *util_str_suite(void)
{
	Suite *s = suite_create("util_str");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_util_str__dns1123);
	tcase_add_test(tc, test_util_str__semver);
	tcase_add_test(tc, test_util_str__duration);
	tcase_add_test(tc, test_util_str__url_redact);
	tcase_add_test(tc, test_util_str__buf_limit);
	tcase_add_test(tc, test_util_str__sha256);
	tcase_add_test(tc, test_util_str__error_wrap);
	tcase_add_test(tc, test_util_str__utf8_scan);
	suite_add_tcase(s, tc);
	return s;
}
