#ifndef DHG_OUTPUT_WRITER_H
#define DHG_OUTPUT_WRITER_H

#include <jansson.h>

#include "engine/engine.h"
#include "util/hash.h"

/*
 * The writer interface: how the reconciler hands a generated chart to a destination (git,
 * OCI, a local directory). A writer is a function pointer plus a payload; implementations live
 * next to this header (local/, git/, oci/) and are wired by the controller.
 *
 * Contract for every writer: idempotent and safe to retry (writing the same chart twice is a
 * no-op reported with changed = 0); never leaves a partial result; never puts credentials in
 * dhg_error_last() or logs; thread-safe for distinct HelmCharts (the workqueue never runs two
 * reconciles of one HelmChart at once).
 */

typedef struct output_request {
	const engine_chart *chart;   /* borrowed */
	const char *ns, *name;       /* the HelmChart's namespace and name */
	const json_t *output;        /* this writer's section of spec.output (borrowed; e.g. the
	                                {url, branch, path, ...} object of spec.output.git) */
	const json_t *secret_data;   /* `data` of the Secret named by the section's secretRef
	                                (base64 values, borrowed), or NULL */
	const char *source_desc;     /* what the chart was made from, for commit messages */
	const char *work_dir;        /* scratch space (--work-dir) */
} output_request;

typedef struct output_result {
	int changed;                 /* 1 when something new was written */
	char commit[41];             /* git: head after the write */
	char branch[256];            /* git */
	char path[1024];             /* git: chart path; local: directory written */
	char reference[1024];        /* oci: <registry>/<repo>/<chart>:<version> */
	char digest[DHG_DIGEST_STR_SIZE]; /* oci: manifest digest */
	char summary[256];           /* short, for the Ready message: "git a1b2c3d", "oci sha256:..." */
} output_result;

#define OUTPUT_RESULT_INIT { 0, "", "", "", "", "", "" }

/* Writes req->chart. Returns 0 with *out filled, or < 0 with dhg_error_last() set (no
 * credentials in it). */
typedef int (*output_write_fn)(output_result *out, void *payload, const output_request *req);

typedef struct output_writer {
	const char *kind;            /* "git", "oci", "local": the spec.output key it serves */
	output_write_fn write;
	void *payload;
} output_writer;

#endif
