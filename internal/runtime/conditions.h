#ifndef DHG_RUNTIME_CONDITIONS_H
#define DHG_RUNTIME_CONDITIONS_H

#include <jansson.h>
#include <stdbool.h>

/*
 * kstatus conditions (type, status, reason, message, lastTransitionTime, observedGeneration)
 * kept in a JSON array, and helpers for status patches. lastTransitionTime changes only when a
 * condition's status flips. Thread-safe on distinct arrays.
 */

#define RT_COND_READY "Ready"
#define RT_COND_RECONCILING "Reconciling"
#define RT_COND_STALLED "Stalled"

/* RFC 3339 UTC time with seconds precision ("2024-01-02T03:04:05Z") into buf (>= 21 bytes). */
const char *rt_time_now_rfc3339(char *buf, size_t size);

/* Sets condition `type` in `conditions` (a JSON array, modified in place): status "True",
 * "False" or "Unknown"; reason CamelCase; message for a person. lastTransitionTime is `now`
 * when the condition is new or its status changed, else kept. Returns 0 or DHG_ENOMEM. */
int rt_conditions_set(json_t *conditions, const char *type, const char *status,
		      const char *reason, const char *message, long long observed_generation,
		      const char *now);
/* Removes condition `type` (no-op when absent). */
void rt_conditions_remove(json_t *conditions, const char *type);
/* The condition object of `type` (borrowed) or NULL. */
json_t *rt_conditions_get(const json_t *conditions, const char *type);
/* true when condition `type` has status "True". */
bool rt_conditions_is_true(const json_t *conditions, const char *type);

/* Sets the kstatus trio in one call:
 *  ready:        Ready=True (reason), Reconciling and Stalled removed;
 *  progressing:  Ready=False/Unknown, Reconciling=True;
 *  stalled:      Ready=False, Stalled=True, Reconciling removed;
 *  failed:       Ready=False, Reconciling=True (retrying), Stalled removed. */
enum rt_status_kind { RT_STATUS_READY, RT_STATUS_PROGRESSING, RT_STATUS_STALLED, RT_STATUS_FAILED };
int rt_conditions_set_kstatus(json_t *conditions, int kind, const char *reason, const char *message,
			      long long observed_generation, const char *now);

#endif
