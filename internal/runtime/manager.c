#include "runtime/manager.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/error.h"
#include "util/log.h"

#define MAX_SOURCES 64
#define MAX_WORKERS 256

struct rt_manager {
	rt_manager_options opts;
	rt_workqueue *q;
	rt_source sources[MAX_SOURCES];
	size_t nsources;
	atomic_int stop;
	atomic_int synced;
};

int rt_manager_new(rt_manager **out, const rt_manager_options *opts)
{
	rt_manager *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating the manager");
	m->opts = *opts;
	if (m->opts.workers <= 0)
		m->opts.workers = 4;
	if (m->opts.workers > MAX_WORKERS)
		m->opts.workers = MAX_WORKERS;
	if (m->opts.sync_timeout_ms <= 0)
		m->opts.sync_timeout_ms = 120000;
	if (rt_workqueue_new(&m->q, &m->opts.queue) < 0) {
		free(m);
		return DHG_ENOMEM;
	}
	*out = m;
	return 0;
}

int rt_manager_add_source(rt_manager *m, const rt_source *src)
{
	if (m->nsources >= MAX_SOURCES)
		return dhg_error_set(DHG_EINVALID, "too many sources (at most %d)", MAX_SOURCES);
	m->sources[m->nsources++] = *src;
	return 0;
}

rt_workqueue *rt_manager_queue(rt_manager *m)
{
	return m->q;
}

void rt_manager_stop(rt_manager *m)
{
	atomic_store(&m->stop, 1);
}

bool rt_manager_synced(rt_manager *m)
{
	return atomic_load(&m->synced) != 0;
}

bool rt_manager_is_leader(rt_manager *m)
{
	return !m->opts.leader || rt_leader_is_leader(m->opts.leader);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	rt_manager *m = arg;
	char *key;
	while (rt_workqueue_get(&key, m->q) == 0) {
		rt_result res = { 0 };
		long long t0 = now_us();
		int error;
		dhg_error_clear();
		error = m->opts.reconcile(&res, m->opts.payload, key);
		if (m->opts.on_result)
			m->opts.on_result(m->opts.payload, key, error, now_us() - t0);
		if (error < 0 && error != DHG_ETERMINAL) {
			rt_workqueue_add_rate_limited(m->q, key);
		} else {
			rt_workqueue_forget(m->q, key);
			if (res.requeue_after_ms > 0)
				rt_workqueue_add_after(m->q, key, res.requeue_after_ms);
		}
		rt_workqueue_done(m->q, key);
		free(key);
	}
	return NULL;
}

int rt_manager_run(rt_manager *m)
{
	pthread_t threads[MAX_WORKERS];
	int nthreads = 0, error = 0;
	size_t started = 0;
	long long deadline;

	/* Caches start on every replica, leader or not (controller-runtime: the cache is not a
	 * leader-election runnable): a standby is ready as soon as its caches synced, so a rolling
	 * update is never blocked by the old pod holding the Lease, and a hand-over starts from
	 * warm caches and a queue that already holds every key. Only the workers (the writers)
	 * wait for leadership. */
	if (m->opts.leader && (error = rt_leader_start(m->opts.leader)) < 0)
		return error;
	for (; started < m->nsources; started++) {
		rt_source *s = &m->sources[started];
		if ((error = s->start(s->payload)) < 0) {
			dhg_error_wrap("starting %s", s->name);
			goto stop;
		}
	}
	deadline = rt_now_ms() + m->opts.sync_timeout_ms;
	for (;;) {
		size_t i;
		for (i = 0; i < m->nsources; i++)
			if (!m->sources[i].has_synced(m->sources[i].payload))
				break;
		if (i == m->nsources)
			break;
		if (atomic_load(&m->stop))
			goto stop;
		if (rt_now_ms() > deadline) {
			error = dhg_error_set(DHG_ETIMEOUT, "cache of %s did not sync within %lld ms",
					      m->sources[i].name, m->opts.sync_timeout_ms);
			goto stop;
		}
		sleep_ms(20);
	}
	atomic_store(&m->synced, 1);
	if (m->opts.leader) {
		DHG_LOG_INFO("caches synced; waiting for leadership", "identity", rt_leader_identity(m->opts.leader));
		while (!atomic_load(&m->stop) && !rt_leader_wait(m->opts.leader, 200))
			;
		if (atomic_load(&m->stop))
			goto stop;
	}
	{
		char nw[16];
		snprintf(nw, sizeof(nw), "%d", m->opts.workers);
		DHG_LOG_INFO("starting workers", "workers", nw);
	}
	for (; nthreads < m->opts.workers; nthreads++) {
		if (pthread_create(&threads[nthreads], NULL, worker, m) != 0) {
			error = dhg_error_set(DHG_ERROR, "cannot start worker %d", nthreads);
			goto stop;
		}
	}
	while (!atomic_load(&m->stop)) {
		if (rt_leader_lost(m->opts.leader)) {
			error = dhg_error_set(DHG_ETERMINAL, "leader election lost");
			break;
		}
		sleep_ms(50);
	}
stop:
	DHG_LOG_INFO("stopping: finishing in-flight reconciles");
	rt_workqueue_shutdown(m->q);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	while (started > 0) {
		rt_source *s = &m->sources[--started];
		s->stop(s->payload);
	}
	if (m->opts.leader)
		rt_leader_stop(m->opts.leader);
	return error;
}

void rt_manager_free(rt_manager *m)
{
	if (!m)
		return;
	rt_workqueue_free(m->q);
	free(m);
}
