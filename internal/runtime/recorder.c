#include "runtime/recorder.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/object.h"
#include "runtime/conditions.h"
#include "runtime/strmap.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_CACHED 4096

typedef struct agg {
	char name[256];
	char first[32];
	long count;
} agg;

struct rt_recorder {
	pthread_mutex_t mu;
	char *component;
	rt_event_sink sink;
	rt__strmap cache; /* aggregation key -> agg */
	unsigned long created, aggregated;
};

int rt_recorder_new(rt_recorder **out, const char *component, const rt_event_sink *sink)
{
	rt_recorder *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r || !(r->component = dhg_strdup(component))) {
		free(r);
		return dhg_error_set(DHG_ENOMEM, "out of memory creating an event recorder");
	}
	pthread_mutex_init(&r->mu, NULL);
	r->sink = *sink;
	*out = r;
	return 0;
}

static void free_agg(const char *k, void *v, void *p)
{
	(void)k;
	(void)p;
	free(v);
}

int rt_recorder_event(rt_recorder *r, const json_t *obj, const char *type, const char *reason,
		      const char *message)
{
	const char *ns = kube_object_namespace(obj), *name = kube_object_name(obj);
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *api = json_string_value(json_object_get(obj, "apiVersion"));
	char now[32], hex[17], digest[DHG_DIGEST_STR_SIZE];
	dhg_buf key = DHG_BUF_INIT(16384);
	json_t *body = NULL;
	agg *a;
	int error = 0, existing = 0;
	long count;
	char evname[256], first[32];

	if (!*ns)
		ns = "default";
	rt_time_now_rfc3339(now, sizeof(now));
	if (dhg_buf_printf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", ns, kind ? kind : "", name,
			   kube_object_uid(obj), type, reason, message) < 0) {
		error = DHG_ENOMEM;
		goto done;
	}
	pthread_mutex_lock(&r->mu);
	a = rt__strmap_get(&r->cache, dhg_buf_cstr(&key));
	if (a) {
		existing = 1;
		a->count++;
		count = a->count;
		memcpy(evname, a->name, sizeof(evname));
		memcpy(first, a->first, sizeof(first));
		r->aggregated++;
	} else {
		if (r->cache.len >= MAX_CACHED) { /* bounded: forget old aggregation state */
			rt__strmap_each(&r->cache, free_agg, NULL);
			rt__strmap_dispose(&r->cache);
		}
		a = calloc(1, sizeof(*a));
		if (a && dhg_sha256_str(digest, dhg_buf_cstr(&key), key.len) < 0) {
			free(a); /* no name for the Event (it was once "<name>." and refused by the API) */
			a = NULL;
		}
		if (a) {
			memcpy(hex, digest + 7, 16);
			hex[16] = 0;
			snprintf(a->name, sizeof(a->name), "%.200s.%s", name, hex);
			memcpy(a->first, now, sizeof(a->first));
			a->count = 1;
			if (rt__strmap_put(&r->cache, dhg_buf_cstr(&key), a) < 0) {
				free(a);
				a = NULL;
			}
		}
		if (!a) {
			pthread_mutex_unlock(&r->mu);
			error = DHG_ENOMEM;
			goto done;
		}
		count = 1;
		memcpy(evname, a->name, sizeof(evname));
		memcpy(first, now, sizeof(first));
		r->created++;
	}
	pthread_mutex_unlock(&r->mu);

	if (existing) {
		body = json_pack("{s:I, s:s}", "count", (json_int_t)count, "lastTimestamp", now);
		if (!body) {
			error = DHG_ENOMEM;
			goto done;
		}
		error = r->sink.patch(r->sink.payload, ns, evname, body);
		if (error != DHG_ENOTFOUND)
			goto done;
		json_decref(body);
		body = NULL;
	}
	body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:I,"
			 " s:s, s:s, s:{s:s}, s:s}",
			 "apiVersion", "v1", "kind", "Event", "metadata", "name", evname, "namespace", ns,
			 "involvedObject", "apiVersion", api ? api : "", "kind", kind ? kind : "", "name",
			 name, "namespace", ns, "uid", kube_object_uid(obj), "reason", reason, "message",
			 message, "type", type, "count", (json_int_t)count, "firstTimestamp", first,
			 "lastTimestamp", now, "source", "component", r->component, "reportingComponent",
			 r->component);
	if (!body) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory building an Event");
		goto done;
	}
	error = r->sink.create(r->sink.payload, ns, body);
	if (error == DHG_EEXISTS)
		error = 0;
done:
	if (error < 0)
		DHG_LOG_WARN("could not record event", "namespace", ns, "name", name, "reason", reason,
			     "error", dhg_error_last()->message);
	json_decref(body);
	dhg_buf_dispose(&key);
	return error;
}

void rt_recorder_counts(unsigned long *created, unsigned long *aggregated, rt_recorder *r)
{
	pthread_mutex_lock(&r->mu);
	*created = r->created;
	*aggregated = r->aggregated;
	pthread_mutex_unlock(&r->mu);
}

void rt_recorder_free(rt_recorder *r)
{
	if (!r)
		return;
	rt__strmap_each(&r->cache, free_agg, NULL);
	rt__strmap_dispose(&r->cache);
	free(r->component);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
