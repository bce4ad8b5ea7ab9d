#ifndef DHG_UTIL_FS_H
#define DHG_UTIL_FS_H

#include <stddef.h>

/* File-system helpers. Thread-safe (no shared state). */

/* Read a whole file (at most `max` bytes, else DHG_ETOOBIG) into *out (NUL-terminated,
 * owned: free()); *len gets the byte count. "-" reads standard input.
 * Errors name the path: DHG_ENOTFOUND, DHG_ETOOBIG, DHG_ERROR. */
int dhg_file_read(char **out, size_t *len, const char *path, size_t max);

/* Write a file atomically: a temporary sibling, fsync, rename. Returns 0 or < 0. */
int dhg_file_write_atomic(const char *path, const void *data, size_t len, int mode);

/* Write a file (not atomic; for files inside a directory that is itself renamed into place). */
int dhg_file_write(const char *path, const void *data, size_t len);

/* mkdir -p. Returns 0 or < 0. */
int dhg_mkdir_p(const char *path, int mode);

/* mkdir -p of the parent directory of `path`. */
int dhg_mkdir_parent(const char *path, int mode);

/* rm -rf (does not follow symlinks). A missing path is success. */
int dhg_rm_rf(const char *path);

/* Replace directory `final` with directory `staged` as atomically as the file system
 * allows: rename final aside, rename staged into place, remove the old one. If any
 * step fails, `final` is left as it was. */
int dhg_dir_replace(const char *staged, const char *final);

/* Create a fresh temporary directory next to `path` (same file system), e.g.
 * "<path>.tmp-<random>". *out is owned (free()). */
int dhg_tmpdir_sibling(char **out, const char *path);

/* 1 when path exists (any type), 0 otherwise. */
int dhg_path_exists(const char *path);
/* 1 when path is a directory. */
int dhg_path_is_dir(const char *path);

#endif
