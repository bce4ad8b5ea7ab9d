#ifndef DHG_OUTPUT_LOCAL_H
#define DHG_OUTPUT_LOCAL_H

#include "output/writer.h"

/*
 * The local-directory writer: the chart goes to <root>/<namespace>/<name>/ atomically
 * (engine_chart_write_dir: staged in a sibling directory, then swapped in). Next to it,
 * <root>/<namespace>/.<name>.digest holds the content digest on disk (changed = it differs)
 * and <root>/<namespace>/<name>.versions gets one line "<version> <digest>" per write, so a
 * reader can count the versions written. Used by tests and the demo.
 * Thread-safe for distinct HelmCharts.
 */

typedef struct output_local {
	char root[1024];
} output_local;

/* A writer for root (copied into *state, which must outlive the writer). Returns 0 or
 * DHG_EINVALID when root is empty or too long. */
int output_local_init(output_local *state, const char *root);
output_writer output_local_writer(output_local *state);

/* The write function itself (exposed for tests). */
int output_local_write(output_result *out, void *payload, const output_request *req);

#endif
