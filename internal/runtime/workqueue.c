#include "runtime/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/strmap.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

typedef struct item {
	char *key;
	int dirty;          /* in the ready FIFO, or to be re-queued by done() */
	int processing;
	int queued;         /* physically in the FIFO */
	long long delay_at; /* monotonic ms deadline; 0 = none */
	size_t heap_idx;
	struct item *next;  /* FIFO link */
} item;

struct rt_workqueue {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	rt__strmap items; /* key -> item */
	item *head, *tail;
	size_t depth, nprocessing;
	item **heap;
	size_t heap_len, heap_cap;
	int shutdown;
	uint64_t adds, retries;
	rt_ratelimiter *rl;
};

long long rt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rt_workqueue_new(rt_workqueue **out, const rt_workqueue_options *opts)
{
	rt_workqueue *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	*out = NULL;
	if (!q)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating a workqueue");
	if (rt_ratelimiter_new(&q->rl, opts ? opts->backoff_base_ms : 0, opts ? opts->backoff_max_ms : 0) < 0) {
		free(q);
		return DHG_ENOMEM;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = q;
	return 0;
}

/* ---- items ---- */

static item *item_get(rt_workqueue *q, const char *key, int create)
{
	item *it = rt__strmap_get(&q->items, key);
	if (it || !create)
		return it;
	it = calloc(1, sizeof(*it));
	if (!it) {
		dhg_error_set(DHG_ENOMEM, "out of memory queueing %s", key);
		return NULL;
	}
	it->key = dhg_strdup(key);
	if (!it->key || rt__strmap_put(&q->items, key, it) < 0) {
		free(it->key);
		free(it);
		return NULL;
	}
	return it;
}

static void item_maybe_release(rt_workqueue *q, item *it)
{
	if (it->dirty || it->processing || it->queued || it->delay_at)
		return;
	rt__strmap_del(&q->items, it->key);
	free(it->key);
	free(it);
}

/* ---- delay heap (min-heap on delay_at) ---- */

static void heap_swap(rt_workqueue *q, size_t a, size_t b)
{
	item *t = q->heap[a];
	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void heap_up(rt_workqueue *q, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (q->heap[p]->delay_at <= q->heap[i]->delay_at)
			break;
		heap_swap(q, p, i);
		i = p;
	}
}

static void heap_down(rt_workqueue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->heap_len && q->heap[l]->delay_at < q->heap[m]->delay_at)
			m = l;
		if (r < q->heap_len && q->heap[r]->delay_at < q->heap[m]->delay_at)
			m = r;
		if (m == i)
			break;
		heap_swap(q, i, m);
		i = m;
	}
}

static int heap_push(rt_workqueue *q, item *it)
{
	if (q->heap_len == q->heap_cap) {
		size_t n = q->heap_cap ? q->heap_cap * 2 : 16;
		item **h = realloc(q->heap, n * sizeof(*h));
		if (!h)
			return dhg_error_set(DHG_ENOMEM, "out of memory delaying %s", it->key);
		q->heap = h;
		q->heap_cap = n;
	}
	it->heap_idx = q->heap_len;
	q->heap[q->heap_len++] = it;
	heap_up(q, it->heap_idx);
	return 0;
}

static void heap_remove(rt_workqueue *q, item *it)
{
	size_t i = it->heap_idx;
	q->heap_len--;
	if (i != q->heap_len) {
		q->heap[i] = q->heap[q->heap_len];
		q->heap[i]->heap_idx = i;
		heap_down(q, i);
		heap_up(q, i);
	}
	it->delay_at = 0;
}

/* ---- queue ---- */

static void add_locked(rt_workqueue *q, item *it)
{
	if (it->dirty)
		return;
	it->dirty = 1;
	if (it->processing)
		return;
	it->queued = 1;
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->depth++;
	q->adds++;
	pthread_cond_signal(&q->cond);
}

int rt_workqueue_add(rt_workqueue *q, const char *key)
{
	return rt_workqueue_add_after(q, key, 0);
}

static int add_after_once(rt_workqueue *q, const char *key, long long delay_ms);

/* A key that cannot be queued is lost for good (nothing else remembers it: an informer event,
 * a failed reconcile's retry): out of memory, try again a few times before giving up with an
 * error in the log. */
int rt_workqueue_add_after(rt_workqueue *q, const char *key, long long delay_ms)
{
	int error = add_after_once(q, key, delay_ms);
	for (int i = 0; error == DHG_ENOMEM && i < 5; i++) {
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
		error = add_after_once(q, key, delay_ms);
	}
	if (error == DHG_ENOMEM)
		DHG_LOG_ERROR("workqueue: key not queued (out of memory)", "key", key);
	return error;
}

static int add_after_once(rt_workqueue *q, const char *key, long long delay_ms)
{
	item *it;
	int error = 0;

	pthread_mutex_lock(&q->mu);
	if (q->shutdown) {
		error = DHG_EGONE;
		goto done;
	}
	if (!(it = item_get(q, key, 1))) {
		error = DHG_ENOMEM;
		goto done;
	}
	if (delay_ms <= 0) {
		if (it->delay_at)
			heap_remove(q, it);
		add_locked(q, it);
		goto done;
	}
	if (it->dirty && !it->processing)
		goto done; /* already waiting for a worker: it will see the current state */
	{
		long long at = rt_now_ms() + delay_ms;
		if (it->delay_at) {
			if (at < it->delay_at) {
				it->delay_at = at;
				heap_up(q, it->heap_idx);
			}
		} else {
			it->delay_at = at;
			if ((error = heap_push(q, it)) < 0) {
				it->delay_at = 0;
				item_maybe_release(q, it);
				goto done;
			}
		}
		pthread_cond_broadcast(&q->cond); /* a waiter may need an earlier wake-up */
	}
done:
	pthread_mutex_unlock(&q->mu);
	return error;
}

int rt_workqueue_add_rate_limited(rt_workqueue *q, const char *key)
{
	long long d = rt_ratelimiter_when(q->rl, key);
	pthread_mutex_lock(&q->mu);
	q->retries++;
	pthread_mutex_unlock(&q->mu);
	return rt_workqueue_add_after(q, key, d);
}

void rt_workqueue_forget(rt_workqueue *q, const char *key)
{
	rt_ratelimiter_forget(q->rl, key);
}

int rt_workqueue_retries(rt_workqueue *q, const char *key)
{
	return rt_ratelimiter_retries(q->rl, key);
}

void rt_workqueue_cancel_delayed(rt_workqueue *q, const char *key)
{
	item *it;
	pthread_mutex_lock(&q->mu);
	it = item_get(q, key, 0);
	if (it && it->delay_at) {
		heap_remove(q, it);
		item_maybe_release(q, it);
	}
	pthread_mutex_unlock(&q->mu);
}

static void move_ripe(rt_workqueue *q, long long now)
{
	while (q->heap_len && q->heap[0]->delay_at <= now) {
		item *it = q->heap[0];
		heap_remove(q, it);
		add_locked(q, it);
	}
}

int rt_workqueue_get(char **out, rt_workqueue *q)
{
	int error = 0;
	item *it;

	*out = NULL;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (q->shutdown) {
			error = DHG_EGONE;
			goto done;
		}
		move_ripe(q, rt_now_ms());
		if (q->head)
			break;
		if (q->heap_len) {
			long long at = q->heap[0]->delay_at;
			struct timespec ts = { (time_t)(at / 1000), (long)(at % 1000) * 1000000L };
			pthread_cond_timedwait(&q->cond, &q->mu, &ts);
		} else {
			pthread_cond_wait(&q->cond, &q->mu);
		}
	}
	it = q->head;
	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	it->next = NULL;
	it->queued = 0;
	it->dirty = 0;
	it->processing = 1;
	q->depth--;
	q->nprocessing++;
	if (!(*out = dhg_strdup(it->key))) {
		/* Put it back rather than lose it. */
		it->processing = 0;
		q->nprocessing--;
		add_locked(q, it);
		error = DHG_ENOMEM;
	}
done:
	pthread_mutex_unlock(&q->mu);
	return error;
}

void rt_workqueue_done(rt_workqueue *q, const char *key)
{
	item *it;
	pthread_mutex_lock(&q->mu);
	it = item_get(q, key, 0);
	if (it && it->processing) {
		it->processing = 0;
		q->nprocessing--;
		if (it->dirty) {
			it->dirty = 0;
			add_locked(q, it);
		} else {
			item_maybe_release(q, it);
		}
	}
	pthread_mutex_unlock(&q->mu);
}

void rt_workqueue_shutdown(rt_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

int rt_workqueue_is_shutdown(rt_workqueue *q)
{
	int s;
	pthread_mutex_lock(&q->mu);
	s = q->shutdown;
	pthread_mutex_unlock(&q->mu);
	return s;
}

void rt_workqueue_stats_get(rt_workqueue_stats *out, rt_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	out->adds = q->adds;
	out->retries = q->retries;
	out->depth = q->depth;
	out->delayed = q->heap_len;
	out->processing = q->nprocessing;
	pthread_mutex_unlock(&q->mu);
}

static void free_item(const char *key, void *value, void *payload)
{
	(void)key;
	(void)payload;
	item *it = value;
	free(it->key);
	free(it);
}

void rt_workqueue_free(rt_workqueue *q)
{
	if (!q)
		return;
	rt__strmap_each(&q->items, free_item, NULL);
	rt__strmap_dispose(&q->items);
	free(q->heap);
	rt_ratelimiter_free(q->rl);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
