#include "runtime/ratelimiter.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/strmap.h"
#include "util/error.h"

struct rt_ratelimiter {
	pthread_mutex_t mu;
	rt__strmap failures; /* key -> (void *)(uintptr_t)count */
	long long base_ms, max_ms;
};

int rt_ratelimiter_new(rt_ratelimiter **out, long long base_ms, long long max_ms)
{
	rt_ratelimiter *rl = calloc(1, sizeof(*rl));
	*out = NULL;
	if (!rl)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating a rate limiter");
	pthread_mutex_init(&rl->mu, NULL);
	rl->base_ms = base_ms > 0 ? base_ms : RT_RATELIMITER_BASE_MS;
	rl->max_ms = max_ms > 0 ? max_ms : RT_RATELIMITER_MAX_MS;
	*out = rl;
	return 0;
}

long long rt_ratelimiter_when(rt_ratelimiter *rl, const char *key)
{
	long long d;
	uintptr_t n;

	pthread_mutex_lock(&rl->mu);
	n = (uintptr_t)rt__strmap_get(&rl->failures, key);
	/* On allocation failure the count stays; the delay still grows from the base. */
	(void)rt__strmap_put(&rl->failures, key, (void *)(n + 1));
	pthread_mutex_unlock(&rl->mu);
	d = rl->base_ms;
	for (uintptr_t i = 0; i < n && d < rl->max_ms; i++)
		d *= 2;
	return d > rl->max_ms ? rl->max_ms : d;
}

int rt_ratelimiter_retries(rt_ratelimiter *rl, const char *key)
{
	uintptr_t n;
	pthread_mutex_lock(&rl->mu);
	n = (uintptr_t)rt__strmap_get(&rl->failures, key);
	pthread_mutex_unlock(&rl->mu);
	return (int)n;
}

void rt_ratelimiter_forget(rt_ratelimiter *rl, const char *key)
{
	pthread_mutex_lock(&rl->mu);
	rt__strmap_del(&rl->failures, key);
	pthread_mutex_unlock(&rl->mu);
}

void rt_ratelimiter_free(rt_ratelimiter *rl)
{
	if (!rl)
		return;
	rt__strmap_dispose(&rl->failures);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}
