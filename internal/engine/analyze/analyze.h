#ifndef DHG_ENGINE_ANALYZE_H
#define DHG_ENGINE_ANALYZE_H

/*
 * Module-private pieces of the analyzer (internal/engine/analyze/): a string-keyed hash
 * index of node numbers, the graph's node/edge/finding storage, and the findings pass.
 * Nothing here is thread-safe on a shared graph; distinct graphs are independent.
 */

#include <jansson.h>
#include <stddef.h>

#include "engine/engine.h"

/* ---- index: string key -> list of node numbers (open addressing, FNV-1a) ------------------ */

typedef struct engine_graph__slot {
	char *key; /* owned; NULL = empty slot */
	size_t keylen;
	size_t *ids; /* owned */
	size_t n, cap;
} engine_graph__slot;

typedef struct engine_graph__index {
	engine_graph__slot *slots;
	size_t nslots, used;
} engine_graph__index;

/* Appends id to the list under key (keylen bytes, may contain NUL separators).
 * Returns 0 or DHG_ENOMEM. */
int engine_graph__index_add(engine_graph__index *ix, const char *key, size_t keylen, size_t id);
/* The list under key, or NULL (then *n = 0). Borrowed; valid until the next add. */
const size_t *engine_graph__index_get(const engine_graph__index *ix, const char *key, size_t keylen,
				      size_t *n);
void engine_graph__index_dispose(engine_graph__index *ix);

/* ---- graph storage ------------------------------------------------------------------------ */

enum { ENGINE_SEV_HIGH = 0, ENGINE_SEV_MEDIUM = 1, ENGINE_SEV_LOW = 2 };

typedef struct engine_graph__node {
	const json_t *obj;        /* borrowed from the engine_objects */
	const char *api_version;  /* borrowed strings ("" when absent) */
	const char *kind;
	const char *ns;
	const char *name;
	char *id;                 /* "Kind/ns/name" or "Kind/name" (owned) */
	size_t rank;              /* position in the sorted node order */
	const json_t *pod_spec;   /* workloads: the pod spec, else NULL */
	const json_t *pod_labels; /* workloads: the pod template labels (object) or NULL */
} engine_graph__node;

typedef struct engine_graph__edge {
	size_t from, to;   /* node numbers (input order) */
	size_t rfrom, rto; /* their ranks, for sorting */
	const char *type;  /* static string */
} engine_graph__edge;

typedef struct engine_graph__finding {
	int severity;
	size_t node;
	size_t rank;      /* the node's rank, for sorting */
	const char *rule; /* static string */
	char *message;    /* owned */
} engine_graph__finding;

struct engine_graph {
	engine_graph__node *nodes;
	size_t nnodes;
	size_t *order; /* node numbers in sorted order */
	engine_graph__edge *edges;
	size_t nedges, capedges;
	engine_graph__finding *findings;
	size_t nfindings, capfindings;
	engine_graph__index by_name;   /* "Kind\0ns\0name" -> node */
	engine_graph__index by_label;  /* "ns\0key=value" -> workload nodes (pod template labels) */
	engine_graph__index by_ns;     /* "ns" -> workload nodes */
	unsigned char *has_pdb;        /* per node: 1 when a PodDisruptionBudget selects it */
	long long *hpa_min;            /* per node: largest minReplicas of the HPAs targeting it (0: none) */
	engine_graph__index by_crd;    /* "group\0Kind" -> CustomResourceDefinition node */
};

/* Records a finding; the message is formatted. Returns 0 or DHG_ENOMEM. */
int engine_graph__finding_addf(engine_graph *g, int severity, size_t node, const char *rule,
			       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Records an edge (duplicates are removed later). Returns 0 or DHG_ENOMEM. */
int engine_graph__edge_add(engine_graph *g, size_t from, size_t to, const char *type);
/* *out = the node number of Kind ns/name, or (size_t)-1 when there is none. ns "" for
 * cluster-scoped objects. Returns 0, or DHG_ENOMEM (then *out is not "none": the caller fails). */
int engine_graph__lookup(const engine_graph *g, const char *kind, const char *ns, const char *name, size_t *out);

/* Container-level findings for one workload node (resources, probes, images, security). */
int engine_graph__workload_findings(engine_graph *g, size_t node);

/* json helpers: object member by a NULL-terminated path of keys; NULL when absent. */
const json_t *engine_graph__path(const json_t *v, ...);
/* String member or NULL when absent / not a string. */
const char *engine_graph__str(const json_t *obj, const char *key);

#endif
