#ifndef DHG_UTIL_DL_H
#define DHG_UTIL_DL_H

/*
 * A shared library loaded on first use (dlopen), for the dependencies only some outputs need
 * (libgit2 for the git writer, libarchive for chart packaging): a process that never uses them
 * does not map them, nor the libraries they pull in.
 *
 * The user keeps a table of typed function pointers and describes it with an array of
 * { "symbol", &table.slot } entries; dhg_dl_load() opens the library once per process
 * (RTLD_NOW | RTLD_LOCAL), resolves every entry, then runs the optional init hook. The result,
 * success or failure, is kept for the process lifetime: the library is never closed (valgrind
 * and the sanitizers symbolize its frames at exit), a failure is not retried.
 */

#include <pthread.h>
#include <stddef.h>

#include "util/error.h"

typedef struct dhg_dl_sym {
	const char *name; /* symbol */
	void **slot;      /* where its address goes (a function pointer, POSIX dlsym convention) */
} dhg_dl_sym;

typedef struct dhg_dl_lib {
	const char *what;   /* error message prefix, e.g. "git" */
	const char *soname; /* e.g. "libgit2.so.1.5" (from the build) */
	const dhg_dl_sym *syms;
	size_t nsyms;
	/* Run once after every symbol is resolved (e.g. the library's global init). Returns 0, or
	 * < 0 with dhg_error_last() set. May be NULL. */
	int (*init)(void);
	/* state, guarded by mu */
	pthread_mutex_t mu;
	int state; /* 0 not tried, 1 loaded, -1 failed (err holds why) */
	dhg_error err;
} dhg_dl_lib;

#define DHG_DL_LIB_INIT(what, soname, syms, nsyms, init) \
	{ (what), (soname), (syms), (nsyms), (init), PTHREAD_MUTEX_INITIALIZER, 0, { 0, 0, "", "" } }

/* For a table declared from an X-macro list of the library's function names, FUNCS(X):
 *   struct { FUNCS(DHG_DL_FIELD) } t;       a pointer typed from the library's own prototype
 *   #define SYM(f) DHG_DL_SYM(t, f)
 *   static const dhg_dl_sym syms[] = { FUNCS(SYM) };
 * (f must not be a macro where DHG_DL_SYM is expanded.) */
#define DHG_DL_FIELD(f) __typeof__(f) *f;
#define DHG_DL_SYM(table, f) { #f, (void **)&(table).f },

/* Loads lib on the first call (dlopen, dlsym of every entry, init), later calls return the
 * first call's result. Returns 0 (every slot is set), or DHG_ERROR with dhg_error_last()
 * "<what>: cannot load <soname>: <dlerror>" / "<what>: <soname> lacks <symbol>: ..." / the init
 * hook's error, for every call. Thread-safe; slots are written before the first call returns. */
int dhg_dl_load(dhg_dl_lib *lib);

#endif
