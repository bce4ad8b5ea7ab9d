#include "httpserver/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/error.h"
#include "util/str.h"

#define MAX_METRICS 64
#define MAX_BUCKETS 32
#define MAX_SERIES 10000
#define MAX_COLLECTORS 16

enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

typedef struct series {
	char *label_value;               /* NULL for the unlabelled series */
	_Atomic uint64_t bits;           /* counter/gauge value: a double's bits */
	_Atomic uint64_t count;          /* histogram */
	_Atomic uint64_t sum_bits;       /* histogram sum: a double's bits */
	_Atomic uint64_t buckets[MAX_BUCKETS];
	_Atomic int deleted;
	struct series *next;
} series;

struct metrics_metric {
	metrics_registry *r;
	int kind;
	char *name, *help, *label;
	double bounds[MAX_BUCKETS];
	size_t nbounds;
	series *_Atomic head;
	size_t nseries;
};

struct metrics_registry {
	pthread_mutex_t mu;
	metrics_metric *metrics[MAX_METRICS];
	size_t n;
	struct {
		metrics_collect_fn fn;
		void *payload;
	} collectors[MAX_COLLECTORS];
	size_t ncollectors;
};

static uint64_t d2b(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static double b2d(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof(d));
	return d;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
	uint64_t old = atomic_load(p), nw;
	do {
		nw = d2b(b2d(old) + v);
	} while (!atomic_compare_exchange_weak(p, &old, nw));
}

int metrics_registry_new(metrics_registry **out)
{
	metrics_registry *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r)
		return dhg_error_set(DHG_ENOMEM, "out of memory creating the metrics registry");
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return 0;
}

void metrics_registry_free(metrics_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		metrics_metric *m = r->metrics[i];
		series *s = atomic_load(&m->head), *next;
		for (; s; s = next) {
			next = s->next;
			free(s->label_value);
			free(s);
		}
		free(m->name);
		free(m->help);
		free(m->label);
		free(m);
	}
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static metrics_metric *reg(metrics_registry *r, int kind, const char *name, const char *help,
			   const char *label, const double *b, size_t nb)
{
	metrics_metric *m = NULL;
	if (nb > MAX_BUCKETS) {
		dhg_error_set(DHG_EINVALID, "metric %s: more than %d buckets", name, MAX_BUCKETS);
		return NULL;
	}
	pthread_mutex_lock(&r->mu);
	if (r->n >= MAX_METRICS) {
		dhg_error_set(DHG_EINVALID, "metric %s: too many metrics", name);
		goto done;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->name = dhg_strdup(name)) || !(m->help = dhg_strdup(help)) ||
	    (label && !(m->label = dhg_strdup(label)))) {
		if (m) {
			free(m->name);
			free(m->help);
			free(m);
		}
		m = NULL;
		dhg_error_set(DHG_ENOMEM, "out of memory registering metric %s", name);
		goto done;
	}
	m->r = r;
	m->kind = kind;
	if (nb)
		memcpy(m->bounds, b, nb * sizeof(*b));
	m->nbounds = nb;
	r->metrics[r->n++] = m;
done:
	pthread_mutex_unlock(&r->mu);
	return m;
}

metrics_metric *metrics_counter_new(metrics_registry *r, const char *name, const char *help, const char *label)
{
	return reg(r, KIND_COUNTER, name, help, label, NULL, 0);
}

metrics_metric *metrics_gauge_new(metrics_registry *r, const char *name, const char *help, const char *label)
{
	return reg(r, KIND_GAUGE, name, help, label, NULL, 0);
}

metrics_metric *metrics_histogram_new(metrics_registry *r, const char *name, const char *help,
				      const char *label, const double *buckets, size_t nbuckets)
{
	return reg(r, KIND_HISTOGRAM, name, help, label, buckets, nbuckets);
}

int metrics_registry_add_collector(metrics_registry *r, metrics_collect_fn fn, void *payload)
{
	int e = 0;
	pthread_mutex_lock(&r->mu);
	if (r->ncollectors >= MAX_COLLECTORS)
		e = dhg_error_set(DHG_EINVALID, "too many metric collectors");
	else {
		r->collectors[r->ncollectors].fn = fn;
		r->collectors[r->ncollectors++].payload = payload;
	}
	pthread_mutex_unlock(&r->mu);
	return e;
}

static int same_label(const series *s, const char *lv)
{
	if (!s->label_value || !lv)
		return !s->label_value && !lv;
	return strcmp(s->label_value, lv) == 0;
}

/* Finds (lock-free) or creates (locked) the series. Deleted series are revived. */
static series *find(metrics_metric *m, const char *lv, int create)
{
	series *s;
	if (!m->label)
		lv = NULL;
	else if (!lv)
		lv = "";
	for (s = atomic_load(&m->head); s; s = s->next)
		if (same_label(s, lv))
			goto found;
	if (!create)
		return NULL;
	pthread_mutex_lock(&m->r->mu);
	for (s = atomic_load(&m->head); s; s = s->next)
		if (same_label(s, lv))
			break;
	if (!s && m->nseries < MAX_SERIES && (s = calloc(1, sizeof(*s)))) {
		if (lv && !(s->label_value = dhg_strdup(lv))) {
			free(s);
			s = NULL;
		} else {
			s->next = atomic_load(&m->head);
			atomic_store(&m->head, s);
			m->nseries++;
		}
	}
	pthread_mutex_unlock(&m->r->mu);
	if (!s)
		return NULL;
found:
	if (create && atomic_load(&s->deleted)) {
		atomic_store(&s->bits, d2b(0));
		atomic_store(&s->deleted, 0);
	}
	return s;
}

void metrics_counter_add(metrics_metric *m, const char *lv, double v)
{
	series *s = m ? find(m, lv, 1) : NULL;
	if (s)
		atomic_add_double(&s->bits, v);
}

void metrics_gauge_set(metrics_metric *m, const char *lv, double v)
{
	series *s = m ? find(m, lv, 1) : NULL;
	if (s)
		atomic_store(&s->bits, d2b(v));
}

void metrics_histogram_observe(metrics_metric *m, const char *lv, double v)
{
	series *s = m ? find(m, lv, 1) : NULL;
	if (!s)
		return;
	for (size_t i = 0; i < m->nbounds; i++)
		if (v <= m->bounds[i])
			atomic_fetch_add(&s->buckets[i], 1);
	atomic_add_double(&s->sum_bits, v);
	atomic_fetch_add(&s->count, 1);
}

void metrics_series_delete(metrics_metric *m, const char *lv)
{
	series *s = m ? find(m, lv, 0) : NULL;
	if (s)
		atomic_store(&s->deleted, 1);
}

double metrics_value(metrics_metric *m, const char *lv)
{
	series *s = m ? find(m, lv, 0) : NULL;
	if (!s || atomic_load(&s->deleted))
		return 0;
	return m->kind == KIND_HISTOGRAM ? (double)atomic_load(&s->count) : b2d(atomic_load(&s->bits));
}

static void put_label_value(dhg_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			dhg_buf_putc(b, '\\');
		if (*v == '\n') {
			dhg_buf_puts(b, "\\n");
			continue;
		}
		dhg_buf_putc(b, *v);
	}
}

static void put_num(dhg_buf *b, double v)
{
	if (isinf(v))
		dhg_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(long long)v && fabs(v) < 1e15)
		dhg_buf_printf(b, "%lld", (long long)v);
	else
		dhg_buf_printf(b, "%.17g", v);
}

static void put_labels(dhg_buf *b, const metrics_metric *m, const series *s, const char *le)
{
	int any = 0;
	if (m->label && s->label_value) {
		dhg_buf_printf(b, "{%s=\"", m->label);
		put_label_value(b, s->label_value);
		dhg_buf_putc(b, '"');
		any = 1;
	}
	if (le) {
		dhg_buf_printf(b, "%sle=\"%s\"", any ? "," : "{", le);
		any = 1;
	}
	if (any)
		dhg_buf_putc(b, '}');
}

int metrics_registry_render(metrics_registry *r, dhg_buf *out)
{
	static const char *types[] = { "counter", "gauge", "histogram" };
	size_t n, nc;
	metrics_metric *ms[MAX_METRICS];
	metrics_collect_fn fns[MAX_COLLECTORS];
	void *pls[MAX_COLLECTORS];

	pthread_mutex_lock(&r->mu);
	n = r->n;
	memcpy(ms, r->metrics, n * sizeof(*ms));
	nc = r->ncollectors;
	for (size_t i = 0; i < nc; i++) {
		fns[i] = r->collectors[i].fn;
		pls[i] = r->collectors[i].payload;
	}
	pthread_mutex_unlock(&r->mu);

	for (size_t i = 0; i < n; i++) {
		metrics_metric *m = ms[i];
		dhg_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, types[m->kind]);
		for (series *s = atomic_load(&m->head); s; s = s->next) {
			if (atomic_load(&s->deleted))
				continue;
			if (m->kind != KIND_HISTOGRAM) {
				dhg_buf_puts(out, m->name);
				put_labels(out, m, s, NULL);
				dhg_buf_putc(out, ' ');
				put_num(out, b2d(atomic_load(&s->bits)));
				dhg_buf_putc(out, '\n');
				continue;
			}
			uint64_t count = atomic_load(&s->count);
			for (size_t j = 0; j < m->nbounds; j++) {
				char le[32];
				snprintf(le, sizeof(le), "%g", m->bounds[j]);
				dhg_buf_printf(out, "%s_bucket", m->name);
				put_labels(out, m, s, le);
				dhg_buf_printf(out, " %llu\n", (unsigned long long)atomic_load(&s->buckets[j]));
			}
			dhg_buf_printf(out, "%s_bucket", m->name);
			put_labels(out, m, s, "+Inf");
			dhg_buf_printf(out, " %llu\n%s_sum", (unsigned long long)count, m->name);
			put_labels(out, m, s, NULL);
			dhg_buf_putc(out, ' ');
			put_num(out, b2d(atomic_load(&s->sum_bits)));
			dhg_buf_printf(out, "\n%s_count", m->name);
			put_labels(out, m, s, NULL);
			dhg_buf_printf(out, " %llu\n", (unsigned long long)count);
		}
	}
	for (size_t i = 0; i < nc; i++)
		fns[i](out, pls[i]);
	return 0;
}

int metrics_collect_process(dhg_buf *out, void *payload)
{
	struct rusage ru;
	long rss_pages = 0, page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "r");
	(void)payload;
	if (f) {
		long size;
		if (fscanf(f, "%ld %ld", &size, &rss_pages) != 2)
			rss_pages = 0;
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	return dhg_buf_printf(out,
			      "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
			      "# TYPE process_resident_memory_bytes gauge\n"
			      "process_resident_memory_bytes %lld\n"
			      "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
			      "# TYPE process_cpu_seconds_total counter\n"
			      "process_cpu_seconds_total %.6f\n",
			      (long long)rss_pages * page, cpu);
}
