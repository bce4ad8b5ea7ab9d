#include "runtime/conditions.h"

#include <string.h>
#include <time.h>

#include "util/error.h"

const char *rt_time_now_rfc3339(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

json_t *rt_conditions_get(const json_t *conditions, const char *type)
{
	size_t i;
	json_t *c;
	if (!json_is_array(conditions))
		return NULL;
	json_array_foreach(conditions, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

bool rt_conditions_is_true(const json_t *conditions, const char *type)
{
	json_t *c = rt_conditions_get(conditions, type);
	const char *s = c ? json_string_value(json_object_get(c, "status")) : NULL;
	return s && strcmp(s, "True") == 0;
}

void rt_conditions_remove(json_t *conditions, const char *type)
{
	size_t i;
	json_t *c;
	if (!json_is_array(conditions))
		return;
	json_array_foreach(conditions, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && strcmp(t, type) == 0) {
			json_array_remove(conditions, i);
			return;
		}
	}
}

int rt_conditions_set(json_t *conditions, const char *type, const char *status,
		      const char *reason, const char *message, long long observed_generation,
		      const char *now)
{
	json_t *c = rt_conditions_get(conditions, type);
	const char *old = c ? json_string_value(json_object_get(c, "status")) : NULL;
	const char *ltt = NULL;
	json_t *n;
	int rc;

	if (c && old && strcmp(old, status) == 0)
		ltt = json_string_value(json_object_get(c, "lastTransitionTime"));
	n = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", type, "status", status, "reason",
		      reason ? reason : "", "message", message ? message : "", "lastTransitionTime",
		      ltt ? ltt : now, "observedGeneration", (json_int_t)observed_generation);
	if (!n)
		return dhg_error_set(DHG_ENOMEM, "out of memory setting condition %s", type);
	if (c) {
		size_t i;
		json_t *x;
		json_array_foreach(conditions, i, x) {
			if (x == c)
				break;
		}
		rc = json_array_set_new(conditions, i, n);
	} else {
		rc = json_array_append_new(conditions, n);
	}
	return rc ? dhg_error_set(DHG_ENOMEM, "out of memory setting condition %s", type) : 0;
}

int rt_conditions_set_kstatus(json_t *conditions, int kind, const char *reason, const char *message,
			      long long gen, const char *now)
{
	int e = 0;
	switch (kind) {
	case RT_STATUS_READY:
		e = rt_conditions_set(conditions, RT_COND_READY, "True", reason, message, gen, now);
		rt_conditions_remove(conditions, RT_COND_RECONCILING);
		rt_conditions_remove(conditions, RT_COND_STALLED);
		break;
	case RT_STATUS_PROGRESSING:
		e = rt_conditions_set(conditions, RT_COND_READY, "Unknown", reason, message, gen, now);
		if (!e)
			e = rt_conditions_set(conditions, RT_COND_RECONCILING, "True", reason, message, gen, now);
		rt_conditions_remove(conditions, RT_COND_STALLED);
		break;
	case RT_STATUS_STALLED:
		e = rt_conditions_set(conditions, RT_COND_READY, "False", reason, message, gen, now);
		if (!e)
			e = rt_conditions_set(conditions, RT_COND_STALLED, "True", reason, message, gen, now);
		rt_conditions_remove(conditions, RT_COND_RECONCILING);
		break;
	default:
		e = rt_conditions_set(conditions, RT_COND_READY, "False", reason, message, gen, now);
		if (!e)
			e = rt_conditions_set(conditions, RT_COND_RECONCILING, "True", reason, message, gen, now);
		rt_conditions_remove(conditions, RT_COND_STALLED);
	}
	return e;
}
