#ifndef DHG_ENGINE_EXTRACT_NORMALIZE_H
#define DHG_ENGINE_EXTRACT_NORMALIZE_H

/* Module-private (engine/extract): engine_normalize()'s per-object part, done where the
 * objects are parsed (on the extract workers) so that engine_normalize() is left with the
 * part that needs every object (drops, duplicates, messages in input order). */

#include "engine/engine.h"

/* For an object that is a valid mapping (apiVersion, kind, metadata.name well-formed) with
 * no apiVersion migration to do: strips its runtime fields (everything of engine_normalize's
 * stripping that depends on this object alone), notes what engine_normalize() needs later
 * (live or not, which kinds of checks apply, the hash of its duplicate key) in eo->prep and
 * eo->key_hash. Any other object is left untouched with eo->prep = 0, for engine_normalize()
 * to validate and report in input order. Reports nothing and cannot fail; engine_normalize()
 * gives exactly the same objects, warnings and error as without this step. Thread-safe on
 * distinct objects. */
void engine_normalize__prepare(engine_object *eo);

/* engine_extract_paths() with engine_normalize__prepare() applied to every object of a file
 * by the worker that parsed it; only for callers that pass the objects to engine_normalize()
 * next (the objects are not those of engine_extract_path() otherwise). */
int engine_extract__paths_prepared(engine_objects *out, const char *const *paths, size_t npaths,
				   const engine_extract_options *opts);

#endif
