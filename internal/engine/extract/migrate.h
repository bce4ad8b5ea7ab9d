#ifndef DHG_ENGINE_EXTRACT_MIGRATE_H
#define DHG_ENGINE_EXTRACT_MIGRATE_H

/* Module-private (engine/extract): deprecated apiVersion migration, used by engine_normalize. */

#include <jansson.h>

#include "engine/engine.h"

/* Migrates `o` (a validated object: apiVersion, kind and metadata.name are strings) in place
 * from a deprecated apiVersion to its current one, adding a warning that starts with `where`.
 * Objects with a current apiVersion are left alone. Returns 0, or DHG_EINVALID for a removed
 * API with no replacement, an unknown deprecated API of a built-in group, or an input that
 * cannot be converted (dhg_error_last() names `where`, the object and the apiVersion).
 * Not thread-safe on the same object; no global state. */
int engine_extract__migrate(json_t *o, const char *where, engine_warnings *w);

/* 0 when engine_extract__migrate() certainly leaves o unchanged and reports nothing (a
 * current, non-prerelease apiVersion that no rule migrates), so that callers can skip
 * formatting `where`; 1 otherwise. Thread-safe. */
int engine_extract__migrate_may_apply(const json_t *o);

/* The API group of an apiVersion ("" for the core group "v1"), written into buf. */
const char *engine_extract__api_group(char *buf, size_t size, const char *api_version);

#endif
