#ifndef DHG_CONTROLLER_PRIVATE_H
#define DHG_CONTROLLER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "controller/helmchart.h"
#include "controller/index.h"
#include "controller/spec.h"
#include "kube/informer.h"
#include "output/local/local.h"
#include "runtime/manager.h"
#include "runtime/recorder.h"
#include "runtime/strmap.h"

#define HC_MAX_INFORMERS (HC_MAX_KINDS * CONTROLLER_MAX_WATCH_NAMESPACES)

typedef struct controller__objinf {
	controller_helmchart *c;
	int kind;                 /* hc_kinds index */
	char *ns;                 /* NULL: all namespaces */
	kube_informer *inf;       /* created at start-up, started on first use */
	atomic_bool started;      /* set under inf_mu; read anywhere */
	long long started_ms;     /* rt_now_ms() at the start (written before `started`) */
} controller__objinf;

/* What this process last wrote for a HelmChart (fresher than the informer's status). */
typedef struct controller__written {
	char version[128];
	char digest[DHG_DIGEST_STR_SIZE];
	char fingerprint[DHG_DIGEST_STR_SIZE]; /* inputs of the last successful reconcile */
	char caches[DHG_DIGEST_STR_SIZE];      /* the state of the caches it read (caches_state) */
} controller__written;

struct controller_helmchart {
	controller_options opts;
	char *watch[CONTROLLER_MAX_WATCH_NAMESPACES];
	char *work_dir, *output_root;
	output_local local;
	kube_client *client;
	rt_manager *mgr;
	rt_workqueue *q;
	hc_index *ix;
	rt_recorder *rec;
	kube_informer *hc_inf[CONTROLLER_MAX_WATCH_NAMESPACES]; /* one per watched namespace, or [0] for all */
	size_t nhc;
	controller__objinf objs[HC_MAX_INFORMERS];
	size_t nobjs;
	bool kind_served[HC_MAX_KINDS];    /* an informer runs for it (in at least one namespace) */
	bool kind_forbidden[HC_MAX_KINDS]; /* RBAC forbids listing it (in at least one namespace) */
	/* Object informers start the first time a reconcile needs them (controller__informers_ensure)
	 * and run until controller_helmchart_run() returns; inf_mu serializes the starts with the
	 * stop at shutdown (inf_stopped: no start any more). */
	pthread_mutex_t inf_mu;
	bool inf_stopped;
	pthread_mutex_t written_mu;
	rt__strmap written; /* key -> controller__written */
	/* metrics (may be NULL) */
	metrics_metric *m_total, *m_duration, *m_writes, *m_last_write, *m_events_mapped;
};

extern const kube_gvr controller__hc_gvr;

/* The reconcile function given to rt_manager. */
int controller__reconcile(rt_result *res, void *payload, const char *key);

/* Writes the chart to one output kind ("local", "git", "oci"). secret_data may be NULL. */
int controller__write_output(output_result *out, controller_helmchart *c, const char *kind,
			     const output_request *req);

/* The HelmChart informer for ns, or NULL when ns is not watched. */
kube_informer *controller__hc_informer_for(controller_helmchart *c, const char *ns);

/* The informer serving (kind, ns), or NULL when the kind is not served / ns not watched. The
 * informer may not be started yet: controller__informers_ensure() first. */
kube_informer *controller__informer_for(controller_helmchart *c, int kind, const char *ns);

/* How long a started informer may take to sync its initial list before the HelmCharts that
 * wait for it fail (SourceFailed, backoff) instead of waiting without a word. */
#define CONTROLLER_INFORMER_SYNC_TIMEOUT_MS 120000

/* Starts (once; thread-safe) the informers of every kind the spec selects in each of its
 * namespaces, and sets *synced to whether all of them have synced their initial list. Kinds
 * not served or forbidden have no informer and are skipped. Returns 0; DHG_ETIMEOUT when one
 * has not synced CONTROLLER_INFORMER_SYNC_TIMEOUT_MS after its start; < 0 when an informer
 * could not be started or the controller is stopping (error detail set). */
int controller__informers_ensure(bool *synced, controller_helmchart *c, const hc_spec *s);

#endif
