#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"

/* One decode case: input, flags, cap, expected code, expected output (rc 0) or message part. */
struct dcase {
	const char *in;
	unsigned flags;
	size_t max;
	int rc;
	const char *want;   /* rc 0: decoded bytes (wantlen of them) */
	size_t wantlen;
	const char *msg;    /* rc < 0: substring of dhg_error_last()->message */
};

#define ANYSP (DHG_BASE64_ANY | DHG_BASE64_SPACES)

static const struct dcase dcases[] = {
	{ "aGVsbG8=", 0, 100, 0, "hello", 5, NULL },
	{ "aGVsbG8", 0, 100, 0, "hello", 5, NULL },                /* padding optional */
	{ "aGVs\nbG8=\r\n", 0, 100, 0, "hello", 5, NULL },         /* CR/LF always skipped */
	{ "", 0, 100, 0, "", 0, NULL },
	{ "AAEC", 0, 100, 0, "\0\1\2", 3, NULL },                  /* NUL bytes kept, length says */
	{ "QQ==", 0, 100, 0, "A", 1, NULL },
	{ "QQ=", 0, 100, 0, "A", 1, NULL },                        /* pad count not checked */
	{ "QUJD", 0, 3, 0, "ABC", 3, NULL },                       /* exactly the cap */
	{ "+/+/", 0, 100, 0, "\xfb\xff\xbf", 3, NULL },
	{ "-_-_", DHG_BASE64_URL, 100, 0, "\xfb\xff\xbf", 3, NULL },
	{ "+_-/", DHG_BASE64_ANY, 100, 0, "\xfb\xff\xbf", 3, NULL }, /* mixed alphabets */
	{ " aGVs\tbG8= ", ANYSP, 100, 0, "hello", 5, NULL },
	{ "aGVs bG8=", 0, 100, DHG_EINVALID, NULL, 0, "f1: not valid base64" }, /* space without flag */
	{ "-_-_", 0, 100, DHG_EINVALID, NULL, 0, "not valid base64" },          /* URL chars, std only */
	{ "+/+/", DHG_BASE64_URL, 100, DHG_EINVALID, NULL, 0, "not valid base64" },
	{ "dXN!", ANYSP, 100, DHG_EINVALID, NULL, 0, "not valid base64" },
	{ "aGV=sbG8", ANYSP, 100, DHG_EINVALID, NULL, 0, "not valid base64" },   /* data after '=' */
	{ "QQ===", ANYSP, 100, DHG_EINVALID, NULL, 0, "not valid base64" },      /* three '=' */
	{ "a", 0, 100, DHG_EINVALID, NULL, 0, "f1: not valid base64 (truncated)" },
	{ "aGVsb", 0, 100, DHG_EINVALID, NULL, 0, "(truncated)" },
	{ "aGVsbG8=", 0, 4, DHG_ETOOBIG, NULL, 0, "f1: decoded value is larger than 4 bytes" },
	{ "QUJD", 0, 0, DHG_ETOOBIG, NULL, 0, "larger than 0 bytes" },
};

START_TEST(test_util_base64__decode_table)
{
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		char *out = (char *)1;
		size_t n = 99;
		int rc = dhg_base64_decode(&out, &n, c->in, strlen(c->in), c->flags, c->max, "f1");
		ck_assert_msg(rc == c->rc, "case %zu (%s): rc %d, want %d", i, c->in, rc, c->rc);
		if (rc == 0) {
			ck_assert_msg(n == c->wantlen && memcmp(out, c->want, n) == 0, "case %zu (%s): wrong bytes", i,
				      c->in);
			ck_assert_int_eq(out[n], 0);
			free(out);
		} else {
			ck_assert_ptr_null(out);
			ck_assert_uint_eq(n, 0);
			ck_assert_int_eq(dhg_error_last()->code, c->rc);
			ck_assert_msg(strstr(dhg_error_last()->message, c->msg) != NULL, "case %zu: message '%s'", i,
				      dhg_error_last()->message);
		}
	}
}
END_TEST

START_TEST(test_util_base64__decode_length_and_what)
{
	char *out = NULL;
	/* only `len` bytes are read: the rest of the string is not looked at */
	ck_assert_int_eq(dhg_base64_decode(&out, NULL, "QUJD!!!!", 4, 0, 10, NULL), 0);
	ck_assert_str_eq(out, "ABC");
	free(out);
	/* NULL what: a generic name, and the input itself is never quoted */
	ck_assert_int_eq(dhg_base64_decode(&out, NULL, "c2VjcmV0!", 9, 0, 10, NULL), DHG_EINVALID);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(dhg_error_last()->message, "base64 value: not valid base64");
	/* a huge input with a small cap fails on the cap, not on allocation */
	size_t big = 1 << 20;
	char *in = malloc(big);
	ck_assert_ptr_nonnull(in);
	memset(in, 'A', big);
	ck_assert_int_eq(dhg_base64_decode(&out, NULL, in, big, 0, 16, "big"), DHG_ETOOBIG);
	free(in);
}
END_TEST

START_TEST(test_util_base64__encode_table)
{
	static const struct {
		const char *in;
		size_t len;
		unsigned flags;
		const char *want;
	} cases[] = {
		{ "", 0, 0, "" },
		{ "f", 1, 0, "Zg==" },
		{ "fo", 2, 0, "Zm8=" },
		{ "foo", 3, 0, "Zm9v" },
		{ "foob", 4, 0, "Zm9vYg==" },
		{ "fooba", 5, 0, "Zm9vYmE=" },
		{ "foobar", 6, 0, "Zm9vYmFy" },   /* RFC 4648 section 10 vectors */
		{ "fo", 2, DHG_BASE64_NOPAD, "Zm8" },
		{ "\xfb\xff\xbf", 3, 0, "+/+/" },
		{ "\xfb\xff\xbf", 3, DHG_BASE64_URL, "-_-_" },
		{ "\xfb\xff", 2, DHG_BASE64_URL | DHG_BASE64_NOPAD, "-_8" },
		{ "\0\1", 2, 0, "AAE=" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *back = NULL;
		size_t n = 99, m = 0;
		ck_assert_int_eq(dhg_base64_encode(&out, &n, cases[i].in, cases[i].len, cases[i].flags), 0);
		ck_assert_msg(strcmp(out, cases[i].want) == 0, "case %zu: got '%s', want '%s'", i, out, cases[i].want);
		ck_assert_uint_eq(n, strlen(cases[i].want));
		/* and back again under the same alphabet */
		ck_assert_int_eq(dhg_base64_decode(&back, &m, out, n, cases[i].flags & DHG_BASE64_URL, 100, "rt"), 0);
		ck_assert_uint_eq(m, cases[i].len);
		ck_assert(memcmp(back, cases[i].in, m) == 0);
		free(out);
		free(back);
	}
}
END_TEST

START_TEST(test_util_base64__roundtrip_all_bytes)
{
	unsigned char in[256];
	char *enc = NULL, *dec = NULL;
	size_t n;
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	for (size_t len = 0; len <= sizeof(in); len += 37) {
		ck_assert_int_eq(dhg_base64_encode(&enc, NULL, in + (256 - len), len, 0), 0);
		ck_assert_int_eq(dhg_base64_decode(&dec, &n, enc, strlen(enc), 0, len, "rt"), 0);
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(dec, in + (256 - len), len) == 0);
		free(enc);
		free(dec);
	}
}
END_TEST

Suite *util_base64_suite(void)
{
	Suite *s = suite_create("util_base64");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_util_base64__decode_table);
	tcase_add_test(tc, test_util_base64__decode_length_and_what);
	tcase_add_test(tc, test_util_base64__encode_table);
	tcase_add_test(tc, test_util_base64__roundtrip_all_bytes);
	suite_add_tcase(s, tc);
	return s;
}
