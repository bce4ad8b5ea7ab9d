#ifndef DHG_RUNTIME_RATELIMITER_H
#define DHG_RUNTIME_RATELIMITER_H

/*
 * Per-key exponential backoff (client-go's ItemExponentialFailureRateLimiter):
 * the n-th failure of a key waits base_ms * 2^(n-1), capped at max_ms.
 * All functions are thread-safe.
 */
typedef struct rt_ratelimiter rt_ratelimiter;

#define RT_RATELIMITER_BASE_MS 5LL
#define RT_RATELIMITER_MAX_MS 1000000LL /* 1000 s */

/* New limiter in *out (free with rt_ratelimiter_free). base_ms/max_ms <= 0 take the
 * defaults above. Returns 0 or DHG_ENOMEM. */
int rt_ratelimiter_new(rt_ratelimiter **out, long long base_ms, long long max_ms);
/* Records one more failure of key and returns how long to wait (ms) before retrying it. */
long long rt_ratelimiter_when(rt_ratelimiter *rl, const char *key);
/* Failures recorded for key since the last forget. */
int rt_ratelimiter_retries(rt_ratelimiter *rl, const char *key);
/* Clears the key's failure history. */
void rt_ratelimiter_forget(rt_ratelimiter *rl, const char *key);
/* NULL-safe. */
void rt_ratelimiter_free(rt_ratelimiter *rl);

#endif
