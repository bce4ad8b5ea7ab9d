/*
 * engine_run_paths(): extract every path, normalize, generate (engine.h), and the thread
 * count it uses.
 */
#include "engine/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/extract/normalize.h"
#include "engine/generate/generate.h"
#include "util/error.h"

#define DEFAULT_MAX_THREADS 8

int engine_threads_default(int *out)
{
	const char *env = getenv("DHG_THREADS");
	long n;

	if (env && *env) {
		char *end;
		errno = 0;
		n = strtol(env, &end, 10);
		if (errno || *end || n < 1 || n > ENGINE_MAX_THREADS)
			return dhg_error_set(DHG_EINVALID, "DHG_THREADS='%.32s' is not a thread count from 1 to %d", env,
					     ENGINE_MAX_THREADS);
		*out = (int)n;
		return 0;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	*out = n < 1 ? 1 : n > DEFAULT_MAX_THREADS ? DEFAULT_MAX_THREADS : (int)n;
	return 0;
}

int engine_run_paths(engine_chart **out, const char *const *paths, size_t npaths,
		     const engine_extract_options *xopts, const engine_options *opts)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings warn = ENGINE_WARNINGS_INIT;
	engine_extract_options xo = ENGINE_EXTRACT_OPTIONS_INIT;
	engine_chart *c = NULL;
	int err;

	*out = NULL;
	if (npaths == 0)
		return dhg_error_set(DHG_EINVALID, "no input paths given");
	if (xopts)
		xo = *xopts;
	if (xo.threads <= 0 && (err = engine_threads_default(&xo.threads)) < 0)
		return err;
	if (xo.threads == 1) { /* everything on this thread, path by path */
		for (size_t i = 0; i < npaths; i++)
			if ((err = engine_extract_path(&objs, paths[i], &xo)) < 0)
				goto done;
	} else if ((err = engine_extract__paths_prepared(&objs, paths, npaths, &xo)) < 0) {
		/* each file's objects half normalized by the thread that parsed it */
		goto done;
	}
	if ((err = engine_normalize(&objs, &warn)) < 0)
		goto done;
	if (objs.len == 0) {
		err = dhg_error_set(DHG_EINVALID, "no Kubernetes objects found in %s%s", paths[0],
				    npaths > 1 ? " and the other inputs" : "");
		goto done;
	}
	if ((err = engine_chart__generate_take(&c, &objs, opts, xo.threads)) < 0)
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
