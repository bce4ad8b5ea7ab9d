/* Shared libraries loaded on first use. */
#include <dlfcn.h>

#include "util/dl.h"

static int load(dhg_dl_lib *lib)
{
	const char *why;
	void *handle;
	size_t i;

	dlerror(); /* clear */
	if (!(handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL))) {
		why = dlerror();
		return dhg_error_set(DHG_ERROR, "%s: cannot load %s: %s", lib->what, lib->soname,
				     why ? why : "unknown error");
	}
	/* never dlclose()d: the slots stay valid for the process lifetime */
	for (i = 0; i < lib->nsyms; i++) {
		dlerror();
		*lib->syms[i].slot = dlsym(handle, lib->syms[i].name);
		if (!*lib->syms[i].slot) {
			why = dlerror();
			return dhg_error_set(DHG_ERROR, "%s: %s lacks %s: %s", lib->what, lib->soname, lib->syms[i].name,
					     why ? why : "symbol is NULL");
		}
	}
	return lib->init ? lib->init() : 0;
}

int dhg_dl_load(dhg_dl_lib *lib)
{
	int error;

	pthread_mutex_lock(&lib->mu);
	if (lib->state == 0) {
		error = load(lib);
		lib->state = error < 0 ? -1 : 1;
		if (error < 0)
			lib->err = *dhg_error_last();
	}
	error = lib->state > 0 ? 0 : DHG_ERROR;
	if (error < 0)
		dhg_error_restore(&lib->err); /* this thread gets the first failure's message */
	pthread_mutex_unlock(&lib->mu);
	return error;
}
