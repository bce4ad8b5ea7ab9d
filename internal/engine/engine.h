#ifndef DHG_ENGINE_H
#define DHG_ENGINE_H

/*
 * The generation engine: Kubernetes objects in, a Helm chart out.
 *
 *   extract   -> engine_extract_path() / engine_extract_buffer()   (YAML 1.2 -> jansson)
 *   normalize -> engine_normalize()     (strip runtime fields, migrate deprecated APIs, validate)
 *   analyze   -> engine_graph_build()   (relationships + findings)
 *   generate  -> engine_chart_generate()(files + content digest)
 *
 * The engine makes no network or API calls: the same input always gives the same output.
 * No function here keeps global state; all are thread-safe on distinct arguments.
 * Errors: 0 or a negative DHG_E* code with dhg_error_last() naming the file/object and field.
 */

#include <jansson.h>
#include <stddef.h>

#include "util/hash.h"

/* ---- objects ------------------------------------------------------------------------------ */

typedef struct engine_object {
	json_t *obj;  /* owned reference */
	char *source; /* file path, "<stdin>", or e.g. "cluster" (owned) */
	int doc;      /* 0-based document index in source (-1 when not from a file) */
	int line;     /* 1-based line where the document starts (0 when unknown) */
	unsigned prep;      /* engine_normalize()'s per-object part done already (flags private to
	                       normalize.c; 0 from engine_objects_add_take(): nothing done) */
	unsigned long long key_hash; /* with prep: hash of the object's duplicate key */
} engine_object;

typedef struct engine_objects {
	engine_object *items;
	size_t len, cap;
} engine_objects;

#define ENGINE_OBJECTS_INIT { NULL, 0, 0 }

/* Appends obj, taking the caller's reference (also on failure). Returns 0 or DHG_ENOMEM. */
int engine_objects_add_take(engine_objects *objs, json_t *obj, const char *source, int doc, int line);
/* Frees every object; the list can be reused. NULL-safe. */
void engine_objects_dispose(engine_objects *objs);
/* "file.yaml (document 2, line 14) Deployment shop/web" style location for messages.
 * Written into buf (always NUL-terminated). */
const char *engine_object_describe(char *buf, size_t size, const engine_object *o);

/* Warnings gathered along the pipeline (deprecated API migrated, object skipped, ...). */
typedef struct engine_warnings {
	char **items; /* owned strings */
	size_t len, cap;
} engine_warnings;

#define ENGINE_WARNINGS_INIT { NULL, 0, 0 }
int engine_warnings_addf(engine_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void engine_warnings_dispose(engine_warnings *w);

/* ---- numbers ------------------------------------------------------------------------------
 * Integers that fit int64 are json_integer. Every other YAML number (floats, integers beyond
 * int64, non-canonical forms such as 0644, 0x1F, 1e3, .inf) keeps its exact source text so
 * that the generated template writes it back verbatim. Such a value is represented by a
 * value that only these functions create and read; json_equal() compares their text. */
json_t *engine_number_new(const char *text, size_t len); /* new reference, NULL if OOM */
int engine_number_is(const json_t *v);                   /* 1 for a value made above */
const char *engine_number_text(const json_t *v);         /* borrowed; NULL if not one */

/* ---- extract ------------------------------------------------------------------------------ */

#define ENGINE_MAX_FILE_BYTES ((size_t)32 << 20) /* a larger input file is refused */

typedef struct engine_extract_options {
	size_t max_file_bytes; /* 0 = ENGINE_MAX_FILE_BYTES */
	int progress;          /* 1: a progress line on stderr when > 50 files are read */
	int threads;           /* engine_extract_paths() / engine_run_paths() only: threads that
	                          parse files (and, in engine_run_paths, process the objects and
	                          write the chart); 0 = engine_threads_default(), 1 = everything on
	                          the calling thread */
} engine_extract_options;

#define ENGINE_EXTRACT_OPTIONS_INIT { 0, 0, 0 }

#define ENGINE_MAX_THREADS 64

/* The thread count for threads = 0: the environment variable DHG_THREADS when set (1 to
 * ENGINE_MAX_THREADS), else the online CPUs, at most 8. Returns 0 and the count in *out, or
 * DHG_EINVALID (message set) when DHG_THREADS is not such a number. Thread-safe as long as
 * nobody changes the environment meanwhile. */
int engine_threads_default(int *out);

/* Reads a YAML file, a directory (recursively: *.yaml, *.yml; hidden entries skipped; files
 * in sorted order), or "-" (standard input). Multi-document files, `kind: List` (items are
 * unpacked) and empty documents (skipped) are handled. Scalars are typed by the YAML 1.2
 * core schema: quoted scalars stay strings, `yes`/`on` stay strings, integers beyond int64
 * and all floats keep their exact text (see engine_number_*). Objects are appended to *out.
 * On error nothing is appended and dhg_error_last() names file, line and column. */
int engine_extract_path(engine_objects *out, const char *path, const engine_extract_options *opts);
/* engine_extract_path() for every path in order, with the files parsed on up to
 * opts->threads threads (0: engine_threads_default(); one file is never split). Objects,
 * their order and source positions, and the error (the first one in input order, with its
 * message) are exactly those of calling engine_extract_path() for each path in turn, except
 * that on error nothing is appended to *out. Thread-safe on distinct arguments. */
int engine_extract_paths(engine_objects *out, const char *const *paths, size_t npaths,
			 const engine_extract_options *opts);
/* The same for bytes in memory; `source` names them in messages. */
int engine_extract_buffer(engine_objects *out, const char *data, size_t len, const char *source);

/* ---- normalize ---------------------------------------------------------------------------- */

/* Validates every object (apiVersion, kind, metadata.name present and well-formed; no two
 * objects with the same apiGroup+kind+namespace+name), migrates deprecated apiVersions to
 * current ones (a warning each; an unknown deprecated API is an error), strips runtime
 * fields (DESIGN.md "Runtime fields are stripped") and removes owner-managed objects
 * (a warning each). Modifies objs in place. */
int engine_normalize(engine_objects *objs, engine_warnings *warnings);

/* ---- analyze ------------------------------------------------------------------------------ */

typedef struct engine_graph engine_graph;

/* Builds the relationship graph (near-linear: indexes by namespace/name and labels).
 * objs must outlive the graph. */
int engine_graph_build(engine_graph **out, const engine_objects *objs);
/* {"nodes":[...],"edges":[{"from","to","type"}],"findings":[{"severity","object","message"}]}
 * New reference in *out. */
int engine_graph_to_json(json_t **out, const engine_graph *g);
void engine_graph_free(engine_graph *g);

/* ---- generate ----------------------------------------------------------------------------- */

typedef enum engine_secrets_mode {
	ENGINE_SECRETS_MASK = 0,    /* default: no Secret value written anywhere */
	ENGINE_SECRETS_INCLUDE,     /* explicit opt-in */
	ENGINE_SECRETS_EXTERNAL     /* an ExternalSecret per Secret */
} engine_secrets_mode;

typedef struct engine_options {
	const char *chart_name;        /* DNS-1123 label; required */
	const char *chart_version;     /* semver; NULL = "0.1.0" */
	const char *app_version;       /* NULL = the most common image tag */
	const char *description;       /* NULL = a generated one-liner */
	engine_secrets_mode secrets;
	const char *external_store_name; /* ExternalSecret secretStoreRef.name */
	const char *external_store_kind; /* "SecretStore" | "ClusterSecretStore" */
	const char *release_namespace; /* objects in it get {{ .Release.Namespace }};
	                                  NULL = the most common namespace among the objects */
	const json_t *values_overlay;  /* merged over the generated values (may be NULL) */
} engine_options;

#define ENGINE_OPTIONS_INIT { NULL, NULL, NULL, NULL, ENGINE_SECRETS_MASK, NULL, NULL, NULL, NULL }

typedef struct engine_file {
	char *path; /* relative, '/'-separated, e.g. "templates/web-deployment.yaml" (owned) */
	char *data; /* owned, NUL-terminated */
	size_t len;
} engine_file;

typedef struct engine_chart {
	engine_file *files;   /* sorted by path */
	size_t nfiles;
	char name[64];
	char version[128];
	char digest[DHG_DIGEST_STR_SIZE]; /* sha256 over sorted (path, bytes) pairs */
	size_t resource_count;
	engine_warnings warnings;
} engine_chart;

/* Generates the chart for already normalized objects. *out is owned: engine_chart_free(). */
int engine_chart_generate(engine_chart **out, const engine_objects *objs, const engine_options *opts);
void engine_chart_free(engine_chart *c);

/* Borrowed pointer to the file at `path`, or NULL. */
const engine_file *engine_chart_file(const engine_chart *c, const char *path);

/* Writes the chart into directory `dir` atomically: built in a temporary sibling directory,
 * then renamed into place; on failure `dir` is left as it was. */
int engine_chart_write_dir(const engine_chart *c, const char *dir);
/* The same with the files written on up to `threads` threads (0: engine_threads_default(),
 * 1: this thread only); the directory and any error are those of engine_chart_write_dir(). */
int engine_chart_write_dir_threads(const engine_chart *c, const char *dir, int threads);

/* Computes the content digest of a file list (sorted by path): sha256 over, for each file,
 * path, NUL, 8-byte big-endian length, bytes. out gets "sha256:<hex>". */
int engine_chart_digest(char out[DHG_DIGEST_STR_SIZE], const engine_file *files, size_t nfiles);

/* Whole pipeline for callers that start from paths: extract every path, normalize,
 * generate. Warnings are in (*out)->warnings. */
int engine_run_paths(engine_chart **out, const char *const *paths, size_t npaths,
		     const engine_extract_options *xopts, const engine_options *opts);

#endif
