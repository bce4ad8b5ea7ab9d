#include "runtime/leader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/conditions.h"
#include "runtime/workqueue.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

struct rt_leader {
	rt_lease_ops ops;
	char *ns, *name, *identity;
	long long lease_ms, renew_deadline_ms, retry_ms;
	void (*on_started)(void *);
	void (*on_stopped)(void *);
	void *payload;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stopping, stopped;
	atomic_llong last_renew_ms; /* monotonic ms of the last successful acquire/renew; 0 none */
	atomic_int leading, lost;
	/* what we last saw of someone else's lease */
	char observed[512];
	long long observed_at;
	long long expires_at; /* monotonic ms when the other holder's lease expires (0: none) */
};

int rt_leader_new(rt_leader **out, const rt_lease_ops *ops, const rt_leader_options *o)
{
	rt_leader *l = calloc(1, sizeof(*l));
	char host[128] = "dhg", rnd[17];
	pthread_condattr_t ca;

	*out = NULL;
	if (!l)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating a leader elector");
	l->ops = *ops;
	gethostname(host, sizeof(host) - 1);
	if (dhg_random_hex(rnd, 8) < 0)
		memcpy(rnd, "0000000000000000", 17);
	l->ns = dhg_strdup(o->namespace_ ? o->namespace_ : "default");
	l->name = dhg_strdup(o->name ? o->name : "dhg-operator");
	l->identity = o->identity ? dhg_strdup(o->identity) : dhg_asprintf("%s_%s", host, rnd);
	if (!l->ns || !l->name || !l->identity) {
		free(l->ns);
		free(l->name);
		free(l->identity);
		free(l);
		return DHG_ENOMEM;
	}
	l->lease_ms = o->lease_ms > 0 ? o->lease_ms : 15000;
	l->renew_deadline_ms = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
	l->retry_ms = o->retry_ms > 0 ? o->retry_ms : 2000;
	l->on_started = o->on_started;
	l->on_stopped = o->on_stopped;
	l->payload = o->payload;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = l;
	return 0;
}

const char *rt_leader_identity(const rt_leader *l)
{
	return l->identity;
}

bool rt_leader_is_leader(rt_leader *l)
{
	long long last;
	if (!l)
		return true; /* no election: always allowed */
	if (!atomic_load(&l->leading))
		return false;
	last = atomic_load(&l->last_renew_ms);
	return last > 0 && rt_now_ms() - last < l->renew_deadline_ms;
}

bool rt_leader_lost(rt_leader *l)
{
	return l && atomic_load(&l->lost);
}

static void micro_time(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

/* One acquire-or-renew attempt. Returns 1 when we hold the lease afterwards, 0 when someone
 * else does, < 0 on error. */
static int try_acquire_or_renew(rt_leader *l)
{
	json_t *cur = NULL, *spec, *upd = NULL;
	char now[40];
	int error, result = 0;
	const char *holder, *renew;
	long long dur;

	micro_time(now, sizeof(now));
	error = l->ops.get(&cur, l->ops.payload, l->ns, l->name);
	if (error == DHG_ENOTFOUND) {
		json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}",
					  "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
					  "metadata", "name", l->name, "namespace", l->ns, "spec",
					  "holderIdentity", l->identity, "leaseDurationSeconds",
					  (json_int_t)(l->lease_ms / 1000), "acquireTime", now,
					  "renewTime", now, "leaseTransitions", 0);
		if (!lease)
			return DHG_ENOMEM;
		error = l->ops.create(l->ops.payload, l->ns, lease);
		json_decref(lease);
		if (error == DHG_EEXISTS || error == DHG_ECONFLICT)
			return 0;
		return error < 0 ? error : 1;
	}
	if (error < 0)
		return error;
	spec = json_object_get(cur, "spec");
	holder = json_string_value(json_object_get(spec, "holderIdentity"));
	renew = json_string_value(json_object_get(spec, "renewTime"));
	dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds")) * 1000;
	if (dur <= 0)
		dur = l->lease_ms;
	if (holder && *holder && strcmp(holder, l->identity) != 0) {
		char rec[512];
		snprintf(rec, sizeof(rec), "%s|%s", holder, renew ? renew : "");
		if (strcmp(rec, l->observed) != 0) {
			snprintf(l->observed, sizeof(l->observed), "%s", rec);
			l->observed_at = rt_now_ms();
		}
		if (rt_now_ms() - l->observed_at < dur) {
			l->expires_at = l->observed_at + dur; /* try again right then */
			result = 0; /* held by someone else, not expired */
			goto done;
		}
	}
	upd = json_deep_copy(cur);
	if (!upd) {
		result = DHG_ENOMEM;
		goto done;
	}
	spec = json_object_get(upd, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(upd, "spec", spec);
	}
	if (!holder || strcmp(holder, l->identity) != 0) {
		json_int_t tr = json_integer_value(json_object_get(spec, "leaseTransitions"));
		json_object_set_new(spec, "acquireTime", json_string(now));
		json_object_set_new(spec, "leaseTransitions", json_integer(tr + 1));
	}
	json_object_set_new(spec, "holderIdentity", json_string(l->identity));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(l->lease_ms / 1000));
	json_object_set_new(spec, "renewTime", json_string(now));
	error = l->ops.update(l->ops.payload, l->ns, upd);
	if (error == DHG_ECONFLICT)
		result = 0;
	else
		result = error < 0 ? error : 1;
done:
	json_decref(cur);
	json_decref(upd);
	return result;
}

static void release(rt_leader *l)
{
	json_t *cur = NULL, *spec;
	const char *holder;
	if (l->ops.get(&cur, l->ops.payload, l->ns, l->name) < 0)
		return;
	spec = json_object_get(cur, "spec");
	holder = json_string_value(json_object_get(spec, "holderIdentity"));
	if (holder && strcmp(holder, l->identity) == 0) {
		char now[40];
		micro_time(now, sizeof(now));
		json_object_set_new(spec, "holderIdentity", json_string(""));
		json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
		json_object_set_new(spec, "renewTime", json_string(now));
		if (l->ops.update(l->ops.payload, l->ns, cur) == 0)
			DHG_LOG_INFO("released leader lease", "lease", l->name, "identity", l->identity);
	}
	json_decref(cur);
}

static void *run(void *arg)
{
	rt_leader *l = arg;
	for (;;) {
		int r;
		long long wait_ms;
		pthread_mutex_lock(&l->mu);
		if (l->stopping) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		pthread_mutex_unlock(&l->mu);

		r = try_acquire_or_renew(l);
		if (r == 1) {
			atomic_store(&l->last_renew_ms, rt_now_ms());
			if (!atomic_exchange(&l->leading, 1)) {
				DHG_LOG_INFO("became leader", "lease", l->name, "identity", l->identity);
				if (l->on_started)
					l->on_started(l->payload);
				pthread_mutex_lock(&l->mu);
				pthread_cond_broadcast(&l->cond);
				pthread_mutex_unlock(&l->mu);
			}
		} else {
			if (r < 0)
				DHG_LOG_WARN("lease acquire/renew failed", "lease", l->name, "error",
					     dhg_error_last()->message);
			if (atomic_load(&l->leading) &&
			    (r == 0 || rt_now_ms() - atomic_load(&l->last_renew_ms) >= l->renew_deadline_ms)) {
				atomic_store(&l->leading, 0);
				atomic_store(&l->lost, 1);
				DHG_LOG_ERROR("leader election lost", "lease", l->name, "identity", l->identity);
				if (l->on_stopped)
					l->on_stopped(l->payload);
				pthread_mutex_lock(&l->mu);
				pthread_cond_broadcast(&l->cond);
				pthread_mutex_unlock(&l->mu);
			}
		}
		/* Leader renews every retry period; a follower retries every retry period too. */
		wait_ms = l->retry_ms;
		if (!atomic_load(&l->leading) && l->expires_at) {
			long long until = l->expires_at - rt_now_ms() + 5;
			if (until < wait_ms)
				wait_ms = until < 10 ? 10 : until;
			l->expires_at = 0;
		}
		pthread_mutex_lock(&l->mu);
		if (!l->stopping) {
			long long at = rt_now_ms() + wait_ms;
			struct timespec ts = { (time_t)(at / 1000), (long)(at % 1000) * 1000000L };
			pthread_cond_timedwait(&l->cond, &l->mu, &ts);
		}
		pthread_mutex_unlock(&l->mu);
	}
	if (atomic_load(&l->leading)) {
		atomic_store(&l->leading, 0);
		release(l);
	}
	return NULL;
}

int rt_leader_start(rt_leader *l)
{
	if (pthread_create(&l->thread, NULL, run, l) != 0)
		return dhg_error_set(DHG_ERROR, "cannot start the leader election thread");
	l->started = 1;
	return 0;
}

bool rt_leader_wait(rt_leader *l, long long timeout_ms)
{
	long long until = timeout_ms < 0 ? -1 : rt_now_ms() + timeout_ms;
	bool r;
	pthread_mutex_lock(&l->mu);
	while (!atomic_load(&l->leading) && !l->stopping && !atomic_load(&l->lost)) {
		if (until < 0) {
			pthread_cond_wait(&l->cond, &l->mu);
		} else {
			struct timespec ts = { (time_t)(until / 1000), (long)(until % 1000) * 1000000L };
			if (rt_now_ms() >= until)
				break;
			pthread_cond_timedwait(&l->cond, &l->mu, &ts);
		}
	}
	pthread_mutex_unlock(&l->mu);
	r = rt_leader_is_leader(l);
	return r;
}

void rt_leader_stop(rt_leader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	if (l->started && !l->stopped) {
		pthread_join(l->thread, NULL);
		l->stopped = 1;
	}
}

void rt_leader_free(rt_leader *l)
{
	if (!l)
		return;
	rt_leader_stop(l);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mu);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
}
