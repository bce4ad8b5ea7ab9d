#ifndef DHG_ENGINE_PROCESS_H
#define DHG_ENGINE_PROCESS_H

/*
 * Processors: one per kind family. Each turns one normalized object into a template tree
 * (a deep copy of the object in which parameterized fields are replaced by emitter markers,
 * see generate/emit.h) and adds the matching defaults, comments and schema-relevant values
 * to the chart's values. Module-private to the engine (engine_process__ prefix).
 * Not thread-safe on a shared context; every context is used by one thread.
 */

#include <jansson.h>

#include "engine/engine.h"
#include "util/buf.h"

typedef struct engine_process__item {
	const engine_object *src;
	const json_t *obj; /* borrowed: the normalized input */
	const char *api, *kind, *name, *ns; /* borrowed from obj; ns NULL when absent */
	char *vkey;     /* top-level values key (camelCase of the name) */
	char *vsub;     /* second-level key (kind, camelCase, maybe with a suffix) */
	char *path;     /* chart file path: templates/<name>-<kind>.yaml or crds/<name>.yaml */
	json_t *tree;   /* owned: the template tree (NULL for skipped items) */
	int is_crd;
	int emitted;            /* written to the chart (tree freed after that) */
	const char *notes_kind; /* kind shown in NOTES.txt (static, borrowed from obj, or owned_kind) */
	char *owned_name, *owned_kind; /* copies kept when the input object is released early */
	json_t *kept_ns; /* owned: metadata.namespace of obj, kept while tree == obj (ctx->take) */
	/* Set by the generator's first walk over obj (scanned = 1): what tree_copy() would refuse
	 * (ENGINE_PROCESS_TOO_DEEP / ENGINE_PROCESS_RESERVED_KEY, the first one in walk order, or
	 * 0), and whether a container below the root has another reference (shared). */
	int scanned, refusal, shared;
	json_t *vobj; /* borrowed: values[vkey][vsub] once a processor made it (NULL before) */
	json_t *ctab; /* borrowed: the comments table of values[vkey] once made (NULL before) */
} engine_process__item;

#define ENGINE_PROCESS_TOO_DEEP 1
#define ENGINE_PROCESS_RESERVED_KEY 2

typedef struct engine_process__ctx {
	const engine_options *opts;
	const char *chart;      /* chart name (template helpers are "<chart>.<x>") */
	const char *release_ns; /* may be NULL */
	json_t *values;         /* owned: the values root */
	json_t *comments;       /* owned: values path ('\x1f'-joined) -> comment; the paths below a
				 * top-level key K in a table of their own under "\x01" K (common.c) */
	json_t *opaque;         /* owned: values paths whose schema is only their type (blocks):
				 * a tree shaped like values, true at each such path */
	json_t *configmaps;     /* owned: "ns\x1fname" -> template path of ConfigMaps in the chart */
	engine_file *extra;     /* owned: files/ entries */
	size_t nextra, capextra;
	engine_warnings *warnings;
	int take; /* the inputs are released after their item: an item's tree may be its
		   * input object itself when nothing else shares it (no copy) */
} engine_process__ctx;

/* ctx->comments: the key prefix of the per-top-level-key tables, and the key present when
 * some comment path was too long for them (then every table is merged back for the emitter). */
#define ENGINE_PROCESS_COMMENTS_PREFIX '\x01'
#define ENGINE_PROCESS_COMMENTS_FLAT "\x01"

/* Runs the processor for it->obj's kind; fills it->tree. Returns 0 or < 0. */
int engine_process__item_run(engine_process__ctx *ctx, engine_process__item *it);

/* camelCase of a DNS name ("web-frontend" -> "webFrontend"). Owned result, NULL if OOM. */
char *engine_process__camel(const char *name);

/* ---- helpers shared by processors (common.c) ---- */

/* Sets values[vkey][vsub][path...] = v (reference stolen) and records a comment.
 * path is NULL-terminated. */
int engine_process__vset(engine_process__ctx *ctx, engine_process__item *it, json_t *v, const char *comment,
			 const char *const *path);
/* Marks values[vkey][vsub][path...] as a block: the schema checks only that it is an
 * object/array, not the types of what is inside (quantities may be 1 or "500m"). */
int engine_process__vopaque(engine_process__ctx *ctx, const engine_process__item *it, const char *const *path);
/* Writes the Go template expression for values[vkey][vsub][path...] into b. */
int engine_process__vref(dhg_buf *b, const engine_process__item *it, const char *const *path);

/* Replaces parent[field] with `{{ <ref> | toJson }}` and stores the current value as the
 * default. Scalars only. Returns 1 when parameterized, 0 when the value is kept literal
 * (absent, not exactly representable through Helm's float64 values), < 0 on error. */
int engine_process__param_scalar(engine_process__ctx *ctx, engine_process__item *it, json_t *parent,
				 const char *field, const char *comment, const char *const *path);
/* Same for objects/arrays, rendered with `toYaml | nindent`. */
int engine_process__param_block(engine_process__ctx *ctx, engine_process__item *it, json_t *parent,
				const char *field, const char *comment, const char *const *path);

/* 1 when v (recursively) survives a round trip through Helm values (float64): no
 * exact-text numbers, integers within +-2^53. */
int engine_process__values_safe(const json_t *v);

/* Human description "Deployment web" for comments/messages. Written into buf. */
const char *engine_process__what(char *buf, size_t size, const engine_process__item *it);

/* Appends at most max bytes of s to buf (size > 0, *len < size) as snprintf("%.*s") would:
 * cut at size - 1. For comment texts built without printf. */
void engine_process__cat(char *buf, size_t size, size_t *len, const char *s, size_t max);

/* Initial room of the buffers marker texts are built in (most fit). */
#define MARKER_RESERVE 192

/* Kind processors. */
int engine_process__workload(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__service(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__ingress(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__pvc(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__hpa(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__pdb(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__configmap(engine_process__ctx *ctx, engine_process__item *it);
int engine_process__secret(engine_process__ctx *ctx, engine_process__item *it);

/* Adds an extra chart file (path and data copied). */
int engine_process__extra_add(engine_process__ctx *ctx, const char *path, const char *data, size_t len);

/* The chart-wide threshold above which ConfigMap values go to files/. */
#define ENGINE_PROCESS_FILE_THRESHOLD 1024

#endif
