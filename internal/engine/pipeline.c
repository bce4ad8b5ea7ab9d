/*
 * engine_run_paths(): extract every path, normalize, generate (engine.h).
 */
#include "engine/engine.h"

#include <stdlib.h>

#include "engine/generate/generate.h"
#include "util/error.h"

int engine_run_paths(engine_chart **out, const char *const *paths, size_t npaths,
		     const engine_extract_options *xopts, const engine_options *opts)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings warn = ENGINE_WARNINGS_INIT;
	engine_chart *c = NULL;
	int err;

	*out = NULL;
	if (npaths == 0)
		return dhg_error_set(DHG_EINVALID, "no input paths given");
	for (size_t i = 0; i < npaths; i++)
		if ((err = engine_extract_path(&objs, paths[i], xopts)) < 0)
			goto done;
	if ((err = engine_normalize(&objs, &warn)) < 0)
		goto done;
	if (objs.len == 0) {
		err = dhg_error_set(DHG_EINVALID, "no Kubernetes objects found in %s%s", paths[0],
				    npaths > 1 ? " and the other inputs" : "");
		goto done;
	}
	if ((err = engine_chart__generate_take(&c, &objs, opts)) < 0)
		goto done;
	/* normalize's warnings first, then the generator's */
	for (size_t i = 0; i < c->warnings.len; i++)
		if ((err = engine_warnings_addf(&warn, "%s", c->warnings.items[i])) < 0)
			goto done;
	engine_warnings_dispose(&c->warnings);
	c->warnings = warn;
	warn = (engine_warnings)ENGINE_WARNINGS_INIT;
	*out = c;
	c = NULL;
done:
	engine_chart_free(c);
	engine_warnings_dispose(&warn);
	engine_objects_dispose(&objs);
	return err;
}
