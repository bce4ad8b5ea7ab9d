#ifndef DHG_OUTPUT_GITOUT_INTERNAL_H
#define DHG_OUTPUT_GITOUT_INTERNAL_H

/* Module-private pieces shared by gitout.c, gitsrc.c and gitout_remote.c (not for callers). */

#include <stddef.h>

#include "output/git/gitout.h"
#include "output/git/gitout_dl.h" /* <git2.h>, with the git_* calls going through the loaded table */

#define GITOUT_DEFAULT_WORK_DIR "/tmp/dhg-git"
#define GITOUT_MAX_SECRET_BYTES ((size_t)64 << 10)
/* A clone with more packs / (estimated) loose objects than this is re-made (libgit2 has no gc). */
#define GITOUT_MAX_PACKS 50
#define GITOUT_MAX_LOOSE 6700

/* 1 when the bare clone at dir has more than max_packs packs or an estimated more than
 * max_loose loose objects (git gc --auto's sampling of objects/17). */
int gitout__clone_overgrown(const char *dir, size_t max_packs, size_t max_loose);

/* Host and port of a git URL (https/http/ssh/scp-like). Port 0 when the URL names none. */
int gitout__url_host_port(char *host, size_t hostsize, int *port, const char *url);

/* Checks an SSH host key blob (the raw key as sent by the server) against known_hosts content
 * for host/port (port 0 or 22 = plain "host", else "[host]:port"; hashed |1| entries are
 * understood). Returns 0 when a line matches, DHG_ENOTFOUND when no line names the host,
 * DHG_EFORBIDDEN when lines name the host but none has this key (or the key is @revoked). */
int gitout__known_hosts_check(const char *known_hosts, const char *host, int port, const unsigned char *key,
			      size_t keylen);

/* Loads libgit2 (dlopen of the build's SONAME) and initialises it, once per process (kept for
 * the process lifetime: re-initialising it per call would reload the TLS trust store every
 * time). Must precede every git_* call. Thread-safe. Returns 0, or DHG_ERROR with
 * dhg_error_last() "git: cannot load libgit2.so.N: ..." (or the init failure), again on
 * every call. */
int gitout__libgit2_init(void);

/* One open clone with its lock and remote callbacks. */
typedef struct gitout__session {
	const char *url;
	char *redacted_url;
	const gitout_credentials *creds;
	char *dir;       /* <work_dir>/<hash>.git */
	int lock_fd;
	git_repository *repo;
	git_remote *remote; /* anonymous remote on url */
	/* callback state */
	int cred_attempts;
	int auth_failed;
	int cert_refused;
	char cert_msg[256];
	int push_rejected;
	char push_msg[256];
	char ssh_host[256];
	int ssh_port;
} gitout__session;

/* Locks (waiting at most lock_timeout_ms, 0 = 300 s: DHG_ETIMEOUT) and opens (or creates) the
 * clone for url in work_dir. A clone that cannot be opened is removed and created again; stale
 * *.lock files of a killed process are removed. */
int gitout__session_open(gitout__session *s, const char *url, const gitout_credentials *creds,
			 const char *work_dir, long lock_timeout_ms);
/* Removes the clone and makes a fresh empty one (recovery from a corrupted clone). */
int gitout__session_reset(gitout__session *s);
void gitout__session_close(gitout__session *s);

/* Callbacks (credentials, certificate check, push status) bound to s. */
void gitout__callbacks_init(git_remote_callbacks *cb, gitout__session *s);

/* Lists the remote's refs: *out_heads/ *n borrowed until the next call on s->remote.
 * The remote stays connected for gitout__session_download(). */
int gitout__session_ls(gitout__session *s, const git_remote_head ***heads, size_t *n);
/* Downloads the objects for `refspecs` (connected by gitout__session_ls before). */
int gitout__session_download(gitout__session *s, const char *const *refspecs, size_t nrefspecs);
void gitout__session_disconnect(gitout__session *s);

/* Records the current libgit2 error as a dhg error (redacted; auth/cert state of s considered)
 * prefixed by `what`. Returns the code. */
int gitout__error(gitout__session *s, int giterr, const char *what);
/* The same for a failure of a local operation (object database, index, refs): always
 * DHG_ERROR, which makes the caller retry once on a fresh clone. */
int gitout__error_local(gitout__session *s, const char *what);

#endif
