#ifndef DHG_HTTPSERVER_METRICS_H
#define DHG_HTTPSERVER_METRICS_H

#include <stddef.h>

#include "util/buf.h"

/*
 * A small Prometheus metrics registry: counters, gauges and histograms, each with at most one
 * label, rendered in the text exposition format (version 0.0.4). Registering and creating a
 * labelled series takes a lock; updating a series is lock-free (C11 atomics). Every function
 * is thread-safe. Metric handles are borrowed from the registry and live as long as it.
 */
typedef struct metrics_registry metrics_registry;
typedef struct metrics_metric metrics_metric;

/* Called at render time to append dynamic metrics (process RSS, queue depth, ...) in the text
 * format. Return 0 or < 0 (rendering continues). */
typedef int (*metrics_collect_fn)(dhg_buf *out, void *payload);

/* New empty registry in *out (metrics_registry_free()). Returns 0 or DHG_ENOMEM. */
int metrics_registry_new(metrics_registry **out);
void metrics_registry_free(metrics_registry *r);

/* Registers a metric. `label` is the label name or NULL for an unlabelled metric. For
 * histograms, `buckets` are the upper bounds in increasing order (at most 32; +Inf implied).
 * Returns the handle, or NULL (out of memory, too many metrics) with dhg_error_last() set. */
metrics_metric *metrics_counter_new(metrics_registry *r, const char *name, const char *help,
				    const char *label);
metrics_metric *metrics_gauge_new(metrics_registry *r, const char *name, const char *help,
				  const char *label);
metrics_metric *metrics_histogram_new(metrics_registry *r, const char *name, const char *help,
				      const char *label, const double *buckets, size_t nbuckets);
/* Adds a collector callback (at most 16). Returns 0 or DHG_EINVALID. */
int metrics_registry_add_collector(metrics_registry *r, metrics_collect_fn fn, void *payload);

/* Updates. label_value is ignored (may be NULL) for unlabelled metrics; a new label value
 * creates its series (silently dropped when out of memory or beyond 10000 series). */
void metrics_counter_add(metrics_metric *m, const char *label_value, double v);
void metrics_gauge_set(metrics_metric *m, const char *label_value, double v);
void metrics_histogram_observe(metrics_metric *m, const char *label_value, double v);
/* Removes a labelled series (e.g. a deleted HelmChart). */
void metrics_series_delete(metrics_metric *m, const char *label_value);
/* The current value of a counter/gauge series (tests); 0 when absent. */
double metrics_value(metrics_metric *m, const char *label_value);

/* Appends the whole registry in Prometheus text format to out. Returns 0 or < 0. */
int metrics_registry_render(metrics_registry *r, dhg_buf *out);

/* Appends process_resident_memory_bytes, process_cpu_seconds_total, process_start_time_seconds
 * (from /proc/self). Usable as a collector (payload ignored). */
int metrics_collect_process(dhg_buf *out, void *payload);

#endif
