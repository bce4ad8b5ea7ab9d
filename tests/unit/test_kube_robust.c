/* Property tests on mutated input for the kube parsers that read untrusted bytes (watch
 * streams, label selectors, kubeconfig YAML): no crash (run under ASan/valgrind), only
 * documented return codes, nothing returned on failure, and round trips that hold. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/kube_private.h"
#include "kube/selector.h"
#include "util/error.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Copies seed into buf with a few random byte edits (replace/insert/delete). */
static size_t mutate(char *buf, size_t cap, const char *seed)
{
	static const char alphabet[] = "abz09=!,() \t\n{}[]\":\\-._/inotINOT\x01\xff";
	size_t n = strlen(seed);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, seed, n);
	int edits = 1 + (int)rnd(4);
	for (int e = 0; e < edits; e++) {
		unsigned op = rnd(3);
		char c = alphabet[rnd(sizeof(alphabet) - 1)];
		size_t at = n ? rnd((unsigned)n) : 0;
		if (op == 0 && n)
			buf[at] = c;
		else if (op == 1 && n + 1 < cap) {
			memmove(buf + at + 1, buf + at, n - at);
			buf[at] = c;
			n++;
		} else if (op == 2 && n) {
			memmove(buf + at, buf + at + 1, n - at - 1);
			n--;
		}
	}
	buf[n] = 0;
	return n;
}

static int count_cb(int type, json_t *obj, void *payload)
{
	ck_assert(type >= KUBE_WATCH_ADDED && type <= KUBE_WATCH_ERROR);
	ck_assert(json_is_object(obj));
	(*(int *)payload)++;
	return 0;
}

START_TEST(test_kube_robust__watch_parser_mutations)
{
	static const char seed[] =
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"2\"}}}\n";
	char buf[512];
	for (int i = 0; i < 3000; i++) {
		size_t n = mutate(buf, sizeof(buf), seed);
		kube_watch_parser *p = NULL;
		int events = 0;
		ck_assert_int_eq(kube_watch_parser_new(&p, 128, count_cb, &events), 0);
		size_t off = 0;
		int rc = 0;
		while (off < n && rc == 0) {
			size_t k = 1 + rnd(16);
			if (k > n - off)
				k = n - off;
			rc = kube_watch_parser_feed(p, buf + off, k);
			off += k;
		}
		if (rc == 0)
			rc = kube_watch_parser_finish(p);
		ck_assert_msg(rc == 0 || rc == DHG_EINVALID || rc == DHG_ETOOBIG, "rc %d", rc);
		ck_assert_uint_eq(kube_watch_parser_events(p), (unsigned long)events);
		kube_watch_parser_free(p);
	}
}
END_TEST

START_TEST(test_kube_robust__selector_mutations_roundtrip)
{
	static const char seed[] = "a=b,c!=d,e in (x,y),f notin (z),g,!h,app.kubernetes.io/name==web";
	char buf[256];
	int ok = 0;
	for (int i = 0; i < 5000; i++) {
		mutate(buf, sizeof(buf), seed);
		kube_selector *s = NULL;
		int rc = kube_selector_parse(&s, buf);
		if (rc != 0) {
			ck_assert_msg(rc == DHG_EINVALID, "\"%s\": rc %d", buf, rc);
			ck_assert_ptr_null(s);
			continue;
		}
		/* a parsed selector prints to a canonical form that parses to the same form */
		char *a = NULL, *b = NULL;
		kube_selector *s2 = NULL;
		ck_assert_int_eq(kube_selector_to_string(&a, s), 0);
		ck_assert_msg(kube_selector_parse(&s2, a) == 0, "canonical \"%s\" (from \"%s\") does not parse", a, buf);
		ck_assert_int_eq(kube_selector_to_string(&b, s2), 0);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
		kube_selector_free(s);
		kube_selector_free(s2);
		ok++;
	}
	ck_assert_int_gt(ok, 100); /* the mutations keep some inputs valid */
}
END_TEST

START_TEST(test_kube_robust__kubeconfig_yaml_mutations)
{
	static const char seed[] =
		"clusters:\n- name: c\n  cluster: {server: 'https://x', insecure-skip-tls-verify: true}\n"
		"users: [{name: u, user: {token: t}}]\ncontexts:\n- {name: a, context: {cluster: c, user: u}}\n"
		"current-context: a\nlist: [1, \"two\", ~, {k: v}]\n";
	char buf[512];
	for (int i = 0; i < 3000; i++) {
		size_t n = mutate(buf, sizeof(buf), seed);
		json_t *j = NULL;
		int rc = kube_config__yaml_to_json(&j, buf, n, "fuzz");
		ck_assert_msg(rc == 0 || rc == DHG_EINVALID, "rc %d", rc);
		if (rc == 0)
			ck_assert_ptr_nonnull(j);
		json_decref(j);
	}
}
END_TEST

Suite *kube_robust_suite(void)
{
	Suite *s = suite_create("kube_robust");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kube_robust__watch_parser_mutations);
	tcase_add_test(tc, test_kube_robust__selector_mutations_roundtrip);
	tcase_add_test(tc, test_kube_robust__kubeconfig_yaml_mutations);
	suite_add_tcase(s, tc);
	return s;
}
