#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ratelimiter.h"
#include "runtime/workqueue.h"
#include "util/error.h"

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

START_TEST(test_runtime_workqueue__dedup)
{
	rt_workqueue *q;
	rt_workqueue_stats st;
	char *k;
	ck_assert_int_eq(rt_workqueue_new(&q, NULL), 0);
	ck_assert_int_eq(rt_workqueue_add(q, "a/x"), 0);
	ck_assert_int_eq(rt_workqueue_add(q, "a/x"), 0);
	ck_assert_int_eq(rt_workqueue_add(q, "a/y"), 0);
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.depth, 2);
	ck_assert_int_eq(rt_workqueue_get(&k, q), 0);
	ck_assert_str_eq(k, "a/x");
	/* added while processing: not handed out again until done */
	ck_assert_int_eq(rt_workqueue_add(q, "a/x"), 0);
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.depth, 1);
	ck_assert_uint_eq(st.processing, 1);
	char *k2;
	ck_assert_int_eq(rt_workqueue_get(&k2, q), 0);
	ck_assert_str_eq(k2, "a/y");
	rt_workqueue_done(q, k2);
	free(k2);
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.depth, 0);
	rt_workqueue_done(q, k); /* dirty: re-queued */
	free(k);
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.depth, 1);
	ck_assert_int_eq(rt_workqueue_get(&k, q), 0);
	ck_assert_str_eq(k, "a/x");
	rt_workqueue_done(q, k);
	free(k);
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_eq(st.processing, 0);
	ck_assert_uint_eq(st.adds, 3);
	rt_workqueue_free(q);
}
END_TEST

START_TEST(test_runtime_workqueue__add_after_keeps_earliest)
{
	rt_workqueue *q;
	rt_workqueue_stats st;
	char *k;
	long long t0 = rt_now_ms(), dt;
	ck_assert_int_eq(rt_workqueue_new(&q, NULL), 0);
	ck_assert_int_eq(rt_workqueue_add_after(q, "d/late", 400), 0);
	ck_assert_int_eq(rt_workqueue_add_after(q, "d/k", 300), 0);
	ck_assert_int_eq(rt_workqueue_add_after(q, "d/k", 100), 0); /* earlier wins */
	ck_assert_int_eq(rt_workqueue_add_after(q, "d/k", 250), 0); /* later is ignored */
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.delayed, 2);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_int_eq(rt_workqueue_get(&k, q), 0);
	dt = rt_now_ms() - t0;
	ck_assert_str_eq(k, "d/k");
	ck_assert_int_ge(dt, 95);
	ck_assert_int_lt(dt, 290); /* the 100 ms deadline, not the 300 ms one */
	rt_workqueue_done(q, k);
	free(k);
	ck_assert_int_eq(rt_workqueue_get(&k, q), 0);
	ck_assert_str_eq(k, "d/late");
	ck_assert_int_ge(rt_now_ms() - t0, 395);
	rt_workqueue_done(q, k);
	free(k);
	/* cancel removes a pending delay */
	ck_assert_int_eq(rt_workqueue_add_after(q, "d/c", 50), 0);
	rt_workqueue_cancel_delayed(q, "d/c");
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.delayed, 0);
	rt_workqueue_free(q);
}
END_TEST

START_TEST(test_runtime_workqueue__backoff)
{
	rt_ratelimiter *rl;
	ck_assert_int_eq(rt_ratelimiter_new(&rl, 0, 0), 0);
	ck_assert_int_eq(rt_ratelimiter_when(rl, "k"), 5);
	ck_assert_int_eq(rt_ratelimiter_when(rl, "k"), 10);
	ck_assert_int_eq(rt_ratelimiter_when(rl, "k"), 20);
	ck_assert_int_eq(rt_ratelimiter_when(rl, "other"), 5);
	ck_assert_int_eq(rt_ratelimiter_retries(rl, "k"), 3);
	for (int i = 0; i < 40; i++)
		rt_ratelimiter_when(rl, "k");
	ck_assert_int_eq(rt_ratelimiter_when(rl, "k"), 1000000); /* capped at 1000 s */
	rt_ratelimiter_forget(rl, "k");
	ck_assert_int_eq(rt_ratelimiter_retries(rl, "k"), 0);
	ck_assert_int_eq(rt_ratelimiter_when(rl, "k"), 5);
	rt_ratelimiter_free(rl);

	rt_workqueue *q;
	rt_workqueue_stats st;
	char *k;
	long long t0;
	ck_assert_int_eq(rt_workqueue_new(&q, NULL), 0);
	t0 = rt_now_ms();
	for (int i = 0; i < 4; i++) { /* 5, 10, 20, 40 ms */
		ck_assert_int_eq(rt_workqueue_add_rate_limited(q, "r/k"), 0);
		ck_assert_int_eq(rt_workqueue_get(&k, q), 0);
		rt_workqueue_done(q, k);
		free(k);
	}
	ck_assert_int_ge(rt_now_ms() - t0, 70);
	ck_assert_int_eq(rt_workqueue_retries(q, "r/k"), 4);
	rt_workqueue_forget(q, "r/k");
	ck_assert_int_eq(rt_workqueue_retries(q, "r/k"), 0);
	rt_workqueue_stats_get(&st, q);
	ck_assert_uint_eq(st.retries, 4);
	rt_workqueue_free(q);
}
END_TEST

static void *shutdown_later(void *arg)
{
	msleep(50);
	rt_workqueue_shutdown(arg);
	return NULL;
}

START_TEST(test_runtime_workqueue__shutdown)
{
	rt_workqueue *q;
	pthread_t t;
	char *k = (char *)1;
	ck_assert_int_eq(rt_workqueue_new(&q, NULL), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, shutdown_later, q), 0);
	ck_assert_int_eq(rt_workqueue_get(&k, q), DHG_EGONE); /* blocked, then woken */
	ck_assert_ptr_null(k);
	pthread_join(t, NULL);
	ck_assert_int_eq(rt_workqueue_add(q, "x"), DHG_EGONE);
	ck_assert(rt_workqueue_is_shutdown(q));
	rt_workqueue_free(q);
}
END_TEST

/* Many producers and workers: every key is handled, never by two workers at once. */
#define NKEYS 16
typedef struct conc {
	rt_workqueue *q;
	atomic_int active[NKEYS];
	atomic_int handled[NKEYS];
	atomic_int overlap;
	atomic_int produced_done;
} conc;

static void *producer(void *arg)
{
	conc *c = arg;
	char key[16];
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i % NKEYS);
		if (i % 3 == 0)
			rt_workqueue_add_after(c->q, key, i % 7);
		else
			rt_workqueue_add(c->q, key);
	}
	atomic_fetch_add(&c->produced_done, 1);
	return NULL;
}

static void *consumer(void *arg)
{
	conc *c = arg;
	char *k;
	while (rt_workqueue_get(&k, c->q) == 0) {
		int i = (int)strtol(k + 1, NULL, 10);
		if (atomic_fetch_add(&c->active[i], 1) != 0)
			atomic_fetch_add(&c->overlap, 1);
		atomic_fetch_add(&c->handled[i], 1);
		for (volatile int j = 0; j < 2000; j++)
			;
		atomic_fetch_sub(&c->active[i], 1);
		rt_workqueue_done(c->q, k);
		free(k);
	}
	return NULL;
}

START_TEST(test_runtime_workqueue__concurrent)
{
	conc *c = calloc(1, sizeof(*c));
	pthread_t prod[3], cons[4];
	rt_workqueue_stats st;
	ck_assert_int_eq(rt_workqueue_new(&c->q, NULL), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&cons[i], NULL, consumer, c), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&prod[i], NULL, producer, c), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(prod[i], NULL);
	for (int n = 0; n < 200; n++) { /* drain */
		rt_workqueue_stats_get(&st, c->q);
		if (!st.depth && !st.delayed && !st.processing)
			break;
		msleep(10);
	}
	rt_workqueue_shutdown(c->q);
	for (int i = 0; i < 4; i++)
		pthread_join(cons[i], NULL);
	ck_assert_int_eq(atomic_load(&c->overlap), 0);
	for (int i = 0; i < NKEYS; i++)
		ck_assert_int_ge(atomic_load(&c->handled[i]), 1);
	rt_workqueue_stats_get(&st, c->q);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_eq(st.delayed, 0);
	rt_workqueue_free(c->q);
	free(c);
}
END_TEST

Suite *runtime_workqueue_suite(void)
{
	Suite *s = suite_create("runtime_workqueue");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_runtime_workqueue__dedup);
	tcase_add_test(tc, test_runtime_workqueue__add_after_keeps_earliest);
	tcase_add_test(tc, test_runtime_workqueue__backoff);
	tcase_add_test(tc, test_runtime_workqueue__shutdown);
	tcase_add_test(tc, test_runtime_workqueue__concurrent);
	suite_add_tcase(s, tc);
	return s;
}
