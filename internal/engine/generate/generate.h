#ifndef DHG_ENGINE_GENERATE_H
#define DHG_ENGINE_GENERATE_H

/* Module-private entry points of the generator (engine_chart__ prefix). */

#include "engine/engine.h"

/* engine_chart_generate() for a pipeline that owns `objs`: each input object is released
 * (its obj set to NULL) as soon as its template is written, so the input and the chart are
 * not both held in full. On return objs->items[i].obj may be NULL; engine_objects_dispose()
 * still frees the list. Same results and errors as engine_chart_generate(). threads > 1 (and
 * at least 128 objects): the objects are processed and their templates written on up to
 * `threads` threads, values.yaml and values.schema.json on a thread of their own. */
int engine_chart__generate_take(engine_chart **out, engine_objects *objs, const engine_options *opts,
				int threads);

#endif
