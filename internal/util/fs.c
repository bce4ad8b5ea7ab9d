#define _GNU_SOURCE
#include "util/fs.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dhg_file_read(char **out, size_t *len, const char *path, size_t max)
{
	dhg_buf b = DHG_BUF_INIT(max);
	char chunk[65536];
	int fd, error = 0;
	ssize_t n;
	struct stat st;

	*out = NULL;
	if (len)
		*len = 0;
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return dhg_error_set(errno == ENOENT ? DHG_ENOTFOUND : DHG_ERROR, "%s: %s", path,
					     strerror(errno));
		if (fstat(fd, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				close(fd);
				return dhg_error_set(DHG_EINVALID, "%s: is a directory", path);
			}
			if (S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
				close(fd);
				return dhg_error_set(DHG_ETOOBIG, "%s: file is %lld bytes, more than the limit of %zu",
						     path, (long long)st.st_size, max);
			}
		}
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = dhg_error_set(DHG_ERROR, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((error = dhg_buf_put(&b, chunk, (size_t)n)) < 0) {
			if (error == DHG_ETOOBIG)
				dhg_error_set(DHG_ETOOBIG, "%s: input is larger than the limit of %zu bytes", path, max);
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (error < 0) {
		dhg_buf_dispose(&b);
		return error;
	}
	*out = dhg_buf_detach(&b, len);
	if (!*out)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	return 0;
}

static int write_all(int fd, const void *data, size_t len, const char *path)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dhg_error_set(DHG_ERROR, "%s: write: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dhg_file_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int error;

	if (fd < 0)
		return dhg_error_set(DHG_ERROR, "%s: %s", path, strerror(errno));
	error = write_all(fd, data, len, path);
	if (close(fd) < 0 && error == 0)
		error = dhg_error_set(DHG_ERROR, "%s: close: %s", path, strerror(errno));
	return error;
}

int dhg_file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	char *tmp = NULL;
	char rnd[17];
	int fd = -1, error;

	if ((error = dhg_random_hex(rnd, 8)) < 0)
		return error;
	if (!(tmp = dhg_asprintf("%s.tmp-%s", path, rnd)))
		return DHG_ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		error = dhg_error_set(DHG_ERROR, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	if ((error = write_all(fd, data, len, tmp)) < 0)
		goto done;
	if (fsync(fd) < 0) {
		error = dhg_error_set(DHG_ERROR, "%s: fsync: %s", tmp, strerror(errno));
		goto done;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		error = dhg_error_set(DHG_ERROR, "%s: rename: %s", path, strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (error < 0 && tmp)
		unlink(tmp);
	free(tmp);
	return error;
}

int dhg_mkdir_p(const char *path, int mode)
{
	char *p = dhg_strdup(path);
	int error = 0;

	if (!p)
		return DHG_ENOMEM;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
				error = dhg_error_set(DHG_ERROR, "mkdir %s: %s", p, strerror(errno));
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	if (error == 0 && !dhg_path_is_dir(path))
		error = dhg_error_set(DHG_ERROR, "mkdir %s: exists and is not a directory", path);
	free(p);
	return error;
}

int dhg_mkdir_parent(const char *path, int mode)
{
	char *p = dhg_strdup(path), *slash;
	int error = 0;

	if (!p)
		return DHG_ENOMEM;
	slash = strrchr(p, '/');
	if (slash && slash != p) {
		*slash = '\0';
		error = dhg_mkdir_p(p, mode);
	}
	free(p);
	return error;
}

int dhg_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int error = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : dhg_error_set(DHG_ERROR, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return dhg_error_set(DHG_ERROR, "unlink %s: %s", path, strerror(errno));
		return 0;
	}
	if (!(d = opendir(path)))
		return dhg_error_set(DHG_ERROR, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *child;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!(child = dhg_asprintf("%s/%s", path, e->d_name))) {
			error = DHG_ENOMEM;
			break;
		}
		error = dhg_rm_rf(child);
		free(child);
		if (error < 0)
			break;
	}
	closedir(d);
	if (error == 0 && rmdir(path) < 0 && errno != ENOENT)
		error = dhg_error_set(DHG_ERROR, "rmdir %s: %s", path, strerror(errno));
	return error;
}

int dhg_tmpdir_sibling(char **out, const char *path)
{
	char rnd[17];
	char *tmp;
	int error;

	*out = NULL;
	if ((error = dhg_random_hex(rnd, 8)) < 0)
		return error;
	if ((error = dhg_mkdir_parent(path, 0755)) < 0)
		return error;
	if (!(tmp = dhg_asprintf("%s.tmp-%s", path, rnd)))
		return DHG_ENOMEM;
	if (mkdir(tmp, 0755) < 0) {
		error = dhg_error_set(DHG_ERROR, "mkdir %s: %s", tmp, strerror(errno));
		free(tmp);
		return error;
	}
	*out = tmp;
	return 0;
}

int dhg_dir_replace(const char *staged, const char *final)
{
	char *old = NULL;
	char rnd[17];
	int error = 0, had_old = dhg_path_exists(final);

#ifdef RENAME_EXCHANGE
	if (had_old && renameat2(AT_FDCWD, staged, AT_FDCWD, final, RENAME_EXCHANGE) == 0)
		return dhg_rm_rf(staged); /* staged now holds the old chart */
#endif
	if (had_old) {
		if ((error = dhg_random_hex(rnd, 8)) < 0)
			return error;
		if (!(old = dhg_asprintf("%s.old-%s", final, rnd)))
			return DHG_ENOMEM;
		if (rename(final, old) < 0) {
			error = dhg_error_set(DHG_ERROR, "rename %s: %s", final, strerror(errno));
			goto done;
		}
	}
	if (rename(staged, final) < 0) {
		error = dhg_error_set(DHG_ERROR, "rename %s -> %s: %s", staged, final, strerror(errno));
		if (old)
			rename(old, final);
		goto done;
	}
	if (old)
		error = dhg_rm_rf(old);
done:
	free(old);
	return error;
}

int dhg_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int dhg_path_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
