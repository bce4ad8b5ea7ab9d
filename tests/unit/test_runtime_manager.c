#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/manager.h"
#include "util/error.h"

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

typedef struct fx {
	rt_manager *m;
	atomic_int started, stopped, synced_after;
	atomic_int polls;
	atomic_int active[8], overlap, calls[8];
	atomic_int fail_k1; /* k1 fails this many times (transient) */
	atomic_int results;
} fx;

static int src_start(void *p)
{
	atomic_store(&((fx *)p)->started, 1);
	return 0;
}
static bool src_synced(void *p)
{
	fx *f = p;
	return atomic_fetch_add(&f->polls, 1) >= 3; /* syncs after a few polls */
}
static void src_stop(void *p)
{
	atomic_store(&((fx *)p)->stopped, 1);
}

static int reconcile(rt_result *res, void *p, const char *key)
{
	fx *f = p;
	int i = key[1] - '0';
	if (atomic_fetch_add(&f->active[i], 1))
		atomic_fetch_add(&f->overlap, 1);
	atomic_fetch_add(&f->calls[i], 1);
	msleep(2);
	atomic_fetch_sub(&f->active[i], 1);
	if (i == 1 && atomic_fetch_sub(&f->fail_k1, 1) > 0)
		return dhg_error_set(DHG_EUNAVAILABLE, "transient");
	if (i == 2)
		return dhg_error_set(DHG_ETERMINAL, "bad spec");
	if (i == 3 && atomic_load(&f->calls[3]) == 1)
		res->requeue_after_ms = 30;
	return 0;
}

static void on_result(void *p, const char *key, int error, long long us)
{
	(void)key;
	(void)error;
	(void)us;
	atomic_fetch_add(&((fx *)p)->results, 1);
}

static void *run_mgr(void *p)
{
	fx *f = p;
	long rc = rt_manager_run(f->m);
	return (void *)rc;
}

START_TEST(test_runtime_manager__workers)
{
	fx *f = calloc(1, sizeof(*f));
	rt_manager_options o = RT_MANAGER_OPTIONS_INIT;
	rt_source src = { "fake", src_start, src_synced, src_stop, f };
	pthread_t t;
	void *rc;
	o.workers = 4;
	o.reconcile = reconcile;
	o.payload = f;
	o.on_result = on_result;
	atomic_store(&f->fail_k1, 3);
	ck_assert_int_eq(rt_manager_new(&f->m, &o), 0);
	ck_assert_int_eq(rt_manager_add_source(f->m, &src), 0);
	ck_assert(!rt_manager_synced(f->m));
	ck_assert_int_eq(pthread_create(&t, NULL, run_mgr, f), 0);
	for (int n = 0; n < 200 && !rt_manager_synced(f->m); n++)
		msleep(5);
	ck_assert(rt_manager_synced(f->m));
	ck_assert(rt_manager_is_leader(f->m)); /* no election */
	rt_workqueue *q = rt_manager_queue(f->m);
	for (int r = 0; r < 50; r++)
		for (int i = 0; i < 8; i++) {
			char k[4] = { 'k', (char)('0' + i), 0, 0 };
			rt_workqueue_add(q, k);
		}
	msleep(300);
	rt_manager_stop(f->m);
	pthread_join(t, &rc);
	ck_assert_int_eq((long)rc, 0);
	ck_assert(atomic_load(&f->started));
	ck_assert(atomic_load(&f->stopped));
	ck_assert_int_eq(atomic_load(&f->overlap), 0);
	ck_assert_int_ge(atomic_load(&f->calls[1]), 4);                   /* 3 failures, then success */
	ck_assert_int_eq(rt_workqueue_retries(q, "k1"), 0);                /* forgotten after success */
	ck_assert_int_eq(rt_workqueue_retries(q, "k2"), 0);                /* terminal: no backoff */
	ck_assert_int_ge(atomic_load(&f->calls[3]), 2);                    /* requeue_after */
	ck_assert_int_le(atomic_load(&f->calls[0]), 50);
	ck_assert_int_ge(atomic_load(&f->results), 8);
	rt_manager_free(f->m);
	free(f);
}
END_TEST

Suite *runtime_manager_suite(void)
{
	Suite *s = suite_create("runtime_manager");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_runtime_manager__workers);
	suite_add_tcase(s, tc);
	return s;
}
