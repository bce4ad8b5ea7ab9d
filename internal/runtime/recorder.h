#ifndef DHG_RUNTIME_RECORDER_H
#define DHG_RUNTIME_RECORDER_H

#include <jansson.h>

#include "kube/client.h"

/*
 * Event recorder: core/v1 Events on an involved object, with client-go style aggregation —
 * a repeat of the same (object, type, reason, message) patches the existing Event's count and
 * lastTimestamp instead of creating a new one. Where Events go is a sink (the Kubernetes API
 * in production, a test double in unit tests). Failures to record are logged, never returned
 * to the caller's reconcile. Thread-safe.
 */
typedef struct rt_recorder rt_recorder;

typedef struct rt_event_sink {
	/* Create `event` (borrowed) in namespace ns. Return 0 or < 0. */
	int (*create)(void *payload, const char *ns, const json_t *event);
	/* Merge-patch Event `name` in ns with `patch` (borrowed). DHG_ENOTFOUND => recreate. */
	int (*patch)(void *payload, const char *ns, const char *name, const json_t *patch);
	void *payload;
} rt_event_sink;

#define RT_EVENT_NORMAL "Normal"
#define RT_EVENT_WARNING "Warning"

/* New recorder in *out for `component` (Event source). The sink is copied. Returns 0 or
 * DHG_ENOMEM. */
int rt_recorder_new(rt_recorder **out, const char *component, const rt_event_sink *sink);
/* A sink that writes Events through a kube client (borrowed; must outlive the recorder). */
rt_event_sink rt_event_sink_kube(kube_client *c);
/* Records an Event on `obj` (borrowed; apiVersion, kind, metadata used). type is
 * RT_EVENT_NORMAL or RT_EVENT_WARNING. Returns 0 or < 0 (also logged). */
int rt_recorder_event(rt_recorder *r, const json_t *obj, const char *type, const char *reason,
		      const char *message);
/* Number of distinct Events created and of aggregated repeats so far (tests, metrics). */
void rt_recorder_counts(unsigned long *created, unsigned long *aggregated, rt_recorder *r);
/* NULL-safe. */
void rt_recorder_free(rt_recorder *r);

#endif
