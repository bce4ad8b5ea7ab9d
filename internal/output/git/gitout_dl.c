/* libgit2 loaded on first use, then initialised once (the table behind gitout_dl.h). */
#define GITOUT__DL_NO_CALL_MACROS
#include "output/git/gitout_dl.h"
#include "output/git/gitout_internal.h"
#include "util/dl.h"
#include "util/error.h"

#ifndef DHG_LIBGIT2_SONAME
#error "DHG_LIBGIT2_SONAME (e.g. \"libgit2.so.1.5\") comes from the build: see the Makefile"
#endif

gitout__git2_table gitout__git2;

#define SYM(f) DHG_DL_SYM(gitout__git2, f)
static const dhg_dl_sym syms[] = { GITOUT__GIT2_FUNCS(SYM) };
#undef SYM

/* Initialised once for the process lifetime: re-initialising libgit2 per call would reload the
 * TLS trust store every time. */
static int init_libgit2(void)
{
	const git_error *ge;

	if (gitout__git2.git_libgit2_init() >= 0)
		return 0;
	ge = gitout__git2.git_error_last();
	return dhg_error_set(DHG_ERROR, "git: libgit2 initialisation failed: %s",
			     ge && ge->message ? ge->message : "unknown error");
}

static dhg_dl_lib libgit2 =
	DHG_DL_LIB_INIT("git", DHG_LIBGIT2_SONAME, syms, sizeof(syms) / sizeof(syms[0]), init_libgit2);

int gitout__libgit2_init(void)
{
	return dhg_dl_load(&libgit2);
}
