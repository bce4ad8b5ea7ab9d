#ifndef DHG_RUNTIME_WORKQUEUE_H
#define DHG_RUNTIME_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ratelimiter.h"

/*
 * A rate-limited, delaying work queue of string keys (client-go's workqueue semantics):
 *  - a key is queued at most once (dedup) and is never handed to two workers at once: a key
 *    added while it is being processed is marked dirty and re-queued by rt_workqueue_done();
 *  - rt_workqueue_add_after() delays an add; several delayed adds of one key keep the earliest
 *    deadline (so a burst is collapsed into one add at first-event + delay: debounce);
 *  - rt_workqueue_add_rate_limited() delays by the key's exponential backoff
 *    (5 ms, 10 ms, ... capped at 1000 s) until rt_workqueue_forget().
 * Every function is thread-safe.
 */
typedef struct rt_workqueue rt_workqueue;

typedef struct rt_workqueue_stats {
	uint64_t adds;    /* keys that entered the ready queue */
	uint64_t retries; /* rt_workqueue_add_rate_limited() calls */
	size_t depth;     /* keys ready and waiting for a worker */
	size_t delayed;   /* keys waiting for a deadline */
	size_t processing;/* keys being handled by a worker */
} rt_workqueue_stats;

typedef struct rt_workqueue_options {
	long long backoff_base_ms; /* 0 = 5 ms */
	long long backoff_max_ms;  /* 0 = 1000 s */
} rt_workqueue_options;

#define RT_WORKQUEUE_OPTIONS_INIT { 0, 0 }

/* New queue in *out (rt_workqueue_free()). opts may be NULL. Returns 0 or DHG_ENOMEM. */
int rt_workqueue_new(rt_workqueue **out, const rt_workqueue_options *opts);
/* Queues key now. Returns 0, DHG_ENOMEM, or DHG_EGONE once shut down (ignored). */
int rt_workqueue_add(rt_workqueue *q, const char *key);
/* Queues key after delay_ms (<= 0: now). Keeps the earliest pending deadline of the key. */
int rt_workqueue_add_after(rt_workqueue *q, const char *key, long long delay_ms);
/* Queues key after its next backoff delay and counts a retry. */
int rt_workqueue_add_rate_limited(rt_workqueue *q, const char *key);
/* Clears the key's backoff history (call after a success). */
void rt_workqueue_forget(rt_workqueue *q, const char *key);
/* Failures recorded for key since the last forget. */
int rt_workqueue_retries(rt_workqueue *q, const char *key);
/* Removes a pending delayed add of key, if any (e.g. its object was deleted). */
void rt_workqueue_cancel_delayed(rt_workqueue *q, const char *key);
/* Blocks until a key is ready and returns it in *out (owned: free() it after
 * rt_workqueue_done()). Returns 0, or DHG_EGONE when the queue is shut down. */
int rt_workqueue_get(char **out, rt_workqueue *q);
/* Marks key as no longer processed; re-queues it when it was added meanwhile. */
void rt_workqueue_done(rt_workqueue *q, const char *key);
/* Stops the queue: waiting and future rt_workqueue_get() calls return DHG_EGONE. */
void rt_workqueue_shutdown(rt_workqueue *q);
int rt_workqueue_is_shutdown(rt_workqueue *q);
void rt_workqueue_stats_get(rt_workqueue_stats *out, rt_workqueue *q);
/* NULL-safe. No worker may still be using the queue. */
void rt_workqueue_free(rt_workqueue *q);

/* Monotonic clock in milliseconds (shared helper of the runtime). */
long long rt_now_ms(void);

#endif
