#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "runtime/leader.h"
#include "runtime/workqueue.h"
#include "util/error.h"

/* In-memory Lease store with resourceVersion checks (a tiny API server). */
typedef struct store {
	pthread_mutex_t mu;
	json_t *lease;
	int rv;
	int fail; /* 1: every call fails (API unreachable) */
} store;

static int st_get(json_t **out, void *p, const char *ns, const char *name)
{
	store *s = p;
	int e = 0;
	(void)ns;
	(void)name;
	pthread_mutex_lock(&s->mu);
	if (s->fail)
		e = dhg_error_set(DHG_EUNAVAILABLE, "unreachable");
	else if (!s->lease)
		e = dhg_error_set(DHG_ENOTFOUND, "no lease");
	else
		*out = json_deep_copy(s->lease);
	pthread_mutex_unlock(&s->mu);
	return e;
}

static void set_rv(store *s, json_t *obj)
{
	char b[16];
	snprintf(b, sizeof(b), "%d", ++s->rv);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(b));
}

static int st_create(void *p, const char *ns, const json_t *lease)
{
	store *s = p;
	int e = 0;
	(void)ns;
	pthread_mutex_lock(&s->mu);
	if (s->fail)
		e = dhg_error_set(DHG_EUNAVAILABLE, "unreachable");
	else if (s->lease)
		e = dhg_error_set(DHG_EEXISTS, "exists");
	else {
		s->lease = json_deep_copy(lease);
		set_rv(s, s->lease);
	}
	pthread_mutex_unlock(&s->mu);
	return e;
}

static int st_update(void *p, const char *ns, const json_t *lease)
{
	store *s = p;
	int e = 0;
	(void)ns;
	pthread_mutex_lock(&s->mu);
	const char *rv = json_string_value(json_object_get(json_object_get(lease, "metadata"), "resourceVersion"));
	const char *cur = json_string_value(json_object_get(json_object_get(s->lease, "metadata"), "resourceVersion"));
	if (s->fail)
		e = dhg_error_set(DHG_EUNAVAILABLE, "unreachable");
	else if (!rv || !cur || strcmp(rv, cur) != 0)
		e = dhg_error_set(DHG_ECONFLICT, "conflict");
	else {
		json_decref(s->lease);
		s->lease = json_deep_copy(lease);
		set_rv(s, s->lease);
	}
	pthread_mutex_unlock(&s->mu);
	return e;
}

static const char *holder(store *s)
{
	static char h[128];
	pthread_mutex_lock(&s->mu);
	snprintf(h, sizeof(h), "%s",
		 s->lease ? json_string_value(json_object_get(json_object_get(s->lease, "spec"), "holderIdentity")) : "");
	pthread_mutex_unlock(&s->mu);
	return h;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Candidates "a" and "b" for Lease ns/lock on the same store, retrying every 50 ms. */
static void two_candidates(rt_leader **a, rt_leader **b, rt_lease_ops *ops, long lease_ms, long renew_ms)
{
	rt_leader_options o = RT_LEADER_OPTIONS_INIT;
	o.namespace_ = "ns";
	o.name = "lock";
	o.lease_ms = lease_ms;
	o.renew_deadline_ms = renew_ms;
	o.retry_ms = 50;
	o.identity = "a";
	ck_assert_int_eq(rt_leader_new(a, ops, &o), 0);
	o.identity = "b";
	ck_assert_int_eq(rt_leader_new(b, ops, &o), 0);
}

START_TEST(test_runtime_leader__one_leader_and_takeover)
{
	store s = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };
	rt_lease_ops ops = { st_get, st_create, st_update, &s };
	rt_leader *a, *b;
	two_candidates(&a, &b, &ops, 600, 400);
	ck_assert_int_eq(rt_leader_start(a), 0);
	ck_assert(rt_leader_wait(a, 2000));
	ck_assert_int_eq(rt_leader_start(b), 0);
	ck_assert(!rt_leader_wait(b, 300)); /* a keeps renewing */
	ck_assert(rt_leader_is_leader(a));
	ck_assert_str_eq(holder(&s), "a");
	long long t0 = rt_now_ms();
	rt_leader_stop(a); /* releases: b takes over at once (next retry) */
	ck_assert(!rt_leader_is_leader(a));
	ck_assert(rt_leader_wait(b, 2000));
	ck_assert_int_lt(rt_now_ms() - t0, 500);
	ck_assert_str_eq(holder(&s), "b");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s.lease, "spec"), "leaseTransitions")), 1);
	rt_leader_free(a);
	rt_leader_free(b);
	ck_assert_str_eq(holder(&s), ""); /* b released on free */
	json_decref(s.lease);
}
END_TEST

START_TEST(test_runtime_leader__stops_before_expiry)
{
	store s = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };
	rt_lease_ops ops = { st_get, st_create, st_update, &s };
	rt_leader *a, *b;
	two_candidates(&a, &b, &ops, 1000, 500);
	ck_assert_int_eq(rt_leader_start(a), 0);
	ck_assert(rt_leader_wait(a, 2000));
	ck_assert_int_eq(rt_leader_start(b), 0);
	msleep(100);
	/* a is partitioned from the API; b still sees it (we let b's calls through). */
	pthread_mutex_lock(&s.mu);
	s.fail = 1;
	pthread_mutex_unlock(&s.mu);
	long long t0 = rt_now_ms();
	while (rt_leader_is_leader(a) && rt_now_ms() - t0 < 3000)
		msleep(10);
	long long a_stopped = rt_now_ms() - t0;
	ck_assert_int_le(a_stopped, 600); /* within the renew deadline (+ slack) */
	/* the elector thread notices at its next attempt (one retry period later at most) */
	for (int i = 0; i < 100 && !rt_leader_lost(a); i++)
		msleep(5);
	ck_assert(rt_leader_lost(a));
	pthread_mutex_lock(&s.mu);
	s.fail = 0;
	pthread_mutex_unlock(&s.mu);
	rt_leader_stop(a);
	ck_assert(rt_leader_wait(b, 3000));
	ck_assert_str_eq(holder(&s), "b");
	rt_leader_free(a);
	rt_leader_free(b);
	json_decref(s.lease);
}
END_TEST

Suite *runtime_leader_suite(void)
{
	Suite *s = suite_create("runtime_leader");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_runtime_leader__one_leader_and_takeover);
	tcase_add_test(tc, test_runtime_leader__stops_before_expiry);
	suite_add_tcase(s, tc);
	return s;
}
