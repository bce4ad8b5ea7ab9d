/* libarchive loaded on first use (the table behind pkgchart_dl.h). */
#define PKGCHART__DL_NO_CALL_MACROS
#include "output/package/pkgchart_dl.h"
#include "util/dl.h"

#ifndef DHG_LIBARCHIVE_SONAME
#error "DHG_LIBARCHIVE_SONAME (e.g. \"libarchive.so.13\") comes from the build: see the Makefile"
#endif

pkgchart__archive_table pkgchart__archive;

#define SYM(f) DHG_DL_SYM(pkgchart__archive, f)
static const dhg_dl_sym syms[] = { PKGCHART__ARCHIVE_FUNCS(SYM) };
#undef SYM

static dhg_dl_lib libarchive =
	DHG_DL_LIB_INIT("chart packaging", DHG_LIBARCHIVE_SONAME, syms, sizeof(syms) / sizeof(syms[0]), NULL);

int pkgchart__archive_load(void)
{
	return dhg_dl_load(&libarchive);
}
