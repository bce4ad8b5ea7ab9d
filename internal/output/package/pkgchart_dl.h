#ifndef DHG_OUTPUT_PKGCHART_DL_H
#define DHG_OUTPUT_PKGCHART_DL_H

/*
 * libarchive, loaded on the first chart archive built (util/dl.h): only a process that packages
 * charts (OCI output, dhg push) maps it (with libxml2, ICU, libstdc++, ...). For pkgchart.c
 * only: it makes every archive_* call below go through the table, so the code reads as plain
 * libarchive code. Nothing may be called before pkgchart__archive_load().
 */

#include <archive.h>
#include <archive_entry.h>

#include "util/dl.h"

/* Every libarchive function pkgchart.c calls; the table's types come from libarchive's headers. */
#define PKGCHART__ARCHIVE_FUNCS(X) \
	X(archive_entry_clear) X(archive_entry_free) X(archive_entry_new) X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) X(archive_entry_set_mtime) X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) X(archive_entry_set_size) X(archive_entry_set_uid) X(archive_errno) \
	X(archive_error_string) \
	X(archive_set_error) X(archive_write_add_filter_gzip) X(archive_write_close) X(archive_write_data) \
	X(archive_write_free) X(archive_write_header) X(archive_write_new) X(archive_write_open2) \
	X(archive_write_set_bytes_in_last_block) X(archive_write_set_filter_option) \
	X(archive_write_set_format_pax_restricted)

typedef struct pkgchart__archive_table {
	PKGCHART__ARCHIVE_FUNCS(DHG_DL_FIELD)
} pkgchart__archive_table;

/* Filled by pkgchart__archive_load() (pkgchart_dl.c); read-only afterwards. */
extern pkgchart__archive_table pkgchart__archive;

/* Loads libarchive (dlopen of the build's SONAME) once per process. Thread-safe. Returns 0, or
 * DHG_ERROR with dhg_error_last() "chart packaging: cannot load libarchive.so.N: ...", again on
 * every call. */
int pkgchart__archive_load(void);

#ifndef PKGCHART__DL_NO_CALL_MACROS /* pkgchart_dl.c names the table's fields */
#define archive_entry_clear (pkgchart__archive.archive_entry_clear)
#define archive_entry_free (pkgchart__archive.archive_entry_free)
#define archive_entry_new (pkgchart__archive.archive_entry_new)
#define archive_entry_set_filetype (pkgchart__archive.archive_entry_set_filetype)
#define archive_entry_set_gid (pkgchart__archive.archive_entry_set_gid)
#define archive_entry_set_mtime (pkgchart__archive.archive_entry_set_mtime)
#define archive_entry_set_pathname (pkgchart__archive.archive_entry_set_pathname)
#define archive_entry_set_perm (pkgchart__archive.archive_entry_set_perm)
#define archive_entry_set_size (pkgchart__archive.archive_entry_set_size)
#define archive_entry_set_uid (pkgchart__archive.archive_entry_set_uid)
#define archive_errno (pkgchart__archive.archive_errno)
#define archive_error_string (pkgchart__archive.archive_error_string)
#define archive_set_error (pkgchart__archive.archive_set_error)
#define archive_write_add_filter_gzip (pkgchart__archive.archive_write_add_filter_gzip)
#define archive_write_close (pkgchart__archive.archive_write_close)
#define archive_write_data (pkgchart__archive.archive_write_data)
#define archive_write_free (pkgchart__archive.archive_write_free)
#define archive_write_header (pkgchart__archive.archive_write_header)
#define archive_write_new (pkgchart__archive.archive_write_new)
#define archive_write_open2 (pkgchart__archive.archive_write_open2)
#define archive_write_set_bytes_in_last_block (pkgchart__archive.archive_write_set_bytes_in_last_block)
#define archive_write_set_filter_option (pkgchart__archive.archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted (pkgchart__archive.archive_write_set_format_pax_restricted)
#endif

#endif
