#ifndef DHG_OUTPUT_PACKAGE_PKGCHART_H
#define DHG_OUTPUT_PACKAGE_PKGCHART_H

/*
 * Chart packaging: a chart (an engine_chart file list) as the gzip'd tar `helm package` makes,
 * reproducibly, plus the loader `dhg push CHART_DIR` uses and the chart's metadata as the JSON
 * Helm stores in an OCI config blob.
 *
 * Reproducible archive: entries `<name>/<path>` (files only, as Helm writes them), Chart.yaml
 * first then the rest sorted by path, mtime 0, uid/gid 0, no user/group names, mode 0644,
 * pax-restricted tar format, gzip without timestamp or file name. The same files (in any order)
 * give byte-identical bytes, hence the same digest.
 *
 * All functions are thread-safe on distinct arguments (no global state).
 * Errors: 0 or a negative DHG_E* code with dhg_error_last() naming the file and field.
 */

#include <stddef.h>

#include "engine/engine.h"

#define PKGCHART_MAX_FILE_BYTES ((size_t)16 << 20)  /* one chart file */
#define PKGCHART_MAX_TOTAL_BYTES ((size_t)128 << 20) /* all files of a chart */
#define PKGCHART_MAX_FILES 20000

/* Loads chart directory `dir` into a new engine_chart (*out; free it with pkgchart_chart_free()
 * or engine_chart_free(): the same function, which lives in engine/objects.c so this module
 * needs no generator code).
 * Files are read recursively, sorted by '/'-separated relative path; `.helmignore` rules are
 * honoured (globs on the relative path or, for patterns without '/', on the base name; a
 * trailing '/' matches directories only; '!' negates; '#' comments), plus Helm's default
 * rule `templates/.?*`. name and version come from Chart.yaml (required; version must be
 * semver). digest is left empty and resource_count 0. Symlinks are followed to regular files;
 * other file types are an error. */
int pkgchart_dir_load(engine_chart **out, const char *dir);

/* Frees a chart made by pkgchart_dir_load() (files, warnings, the struct): engine_chart_free().
 * NULL-safe. */
void pkgchart_chart_free(engine_chart *c);

/* Writes the reproducible .tgz of `chart` into *out (malloc'd; caller frees) and its length
 * into *len. chart->name must be a valid chart name; file paths must be relative, without "..",
 * and the files must include Chart.yaml. The first call loads libarchive (DHG_ERROR "chart
 * packaging: cannot load libarchive.so.N: ..." when it cannot be loaded). */
int pkgchart_tgz_build(unsigned char **out, size_t *len, const engine_chart *chart);

/* The chart's metadata (its Chart.yaml) as Helm's OCI config JSON: the fields of Helm's
 * chart.Metadata in Helm's order (name, home, sources, version, description, keywords,
 * maintainers, icon, apiVersion, condition, tags, appVersion, deprecated, annotations,
 * kubeVersion, dependencies, type), empty ones omitted, compact, with <, >, & and U+2028/9
 * escaped as Go's encoding/json does (so the bytes equal helm's config blob). *out is malloc'd
 * (NUL-terminated; caller frees), *len its length. The Chart.yaml file is taken from
 * `chart`'s files; its name and version must equal chart->name / chart->version. */
int pkgchart_config_build(char **out, size_t *len, const engine_chart *chart);

/* json_dumps(v, compact, insertion order) with Go's encoding/json escaping of <, >, & and
 * U+2028/9 (as Helm writes its JSON). *out malloc'd, NUL-terminated; *len its length. */
int pkgchart_json_dump_go(char **out, size_t *len, const json_t *v);

/* Parses Chart.yaml bytes into a JSON object (mappings -> objects, sequences -> arrays,
 * scalars -> strings, except unquoted true/false -> booleans). *out is a new reference.
 * `source` names the file in messages. At most 1 MiB and nesting depth 32. */
int pkgchart_chart_yaml_parse(json_t **out, const char *data, size_t len, const char *source);

#endif
