#ifndef DHG_OUTPUT_GITOUT_H
#define DHG_OUTPUT_GITOUT_H

/*
 * The git writer (charts -> a branch of a git repository) and git as a source (a repository
 * at a branch / tag / commit -> a directory of manifests), both on libgit2.
 *
 * Local state: one bare clone per repository URL in `<work_dir>/<sha256(url)[:16]>.git`, fetched
 * on every call. Trees are built in the object database (an in-memory index), never in a work
 * tree, so a process killed at any point leaves nothing that matters: the next call re-fetches,
 * rebuilds and pushes (a clone that cannot be opened is removed and made again).
 *
 * Thread-safety: every function here may be called from several threads at once. Calls on the
 * same URL (same clone) are serialized with an flock() on `<clone>.lock`, across threads and
 * processes; distinct URLs proceed in parallel.
 *
 * Credentials are never written to logs or error messages: messages name the URL through
 * dhg_url_redact() and have any secret string removed.
 */

#include <jansson.h>
#include <stddef.h>

#include "engine/engine.h"

/* ---- credentials -------------------------------------------------------------------------- */

/* Authentication material (DESIGN.md Secret keys). Every field may be NULL.
 * HTTPS: username + password (or token). SSH: identity (private key, PEM or OpenSSH format, in
 * memory) + known_hosts (content, OpenSSH format, required for ssh: unknown hosts are refused);
 * the ssh user is the URL's (ssh://git@host/...), else username, else "git"; for HTTPS the
 * username wins over a user in the URL. ca_pem: extra CA certificate(s) trusted for
 * HTTPS (the server certificate must chain to it and match the host name). */
typedef struct gitout_credentials {
	char *username;
	char *password;
	char *identity;
	char *known_hosts;
	char *ca_pem;
} gitout_credentials;

#define GITOUT_CREDENTIALS_INIT { NULL, NULL, NULL, NULL, NULL }

/* Fills *out from a Kubernetes Secret's `data` map (JSON object of base64 strings) with the keys
 * username, password, identity, known_hosts, ca.crt (others ignored). *out must be
 * GITOUT_CREDENTIALS_INIT; on success its strings are owned: gitout_credentials_dispose().
 * Returns 0, or DHG_EINVALID naming the key that is not valid base64 / not text / too large
 * (64 KiB per key); on error *out is left empty. Thread-safe. */
int gitout_credentials_from_secret(gitout_credentials *out, const json_t *data);

/* Wipes (explicit_bzero) and frees the strings; the struct is left empty. NULL-safe. */
void gitout_credentials_dispose(gitout_credentials *c);

/* ---- writer ------------------------------------------------------------------------------- */

typedef struct gitout_options {
	const char *url;          /* https://..., http://..., ssh://user@host[:port]/path, user@host:path */
	const char *branch;       /* NULL = the remote's default branch ("main" on an empty repository) */
	const char *path;         /* directory in the repository; NULL = "charts/<chart name>" */
	const gitout_credentials *creds; /* NULL = anonymous */
	const char *author_name;  /* NULL = "dhg-operator" */
	const char *author_email; /* NULL = "dhg-operator@example.invalid" */
	const char *source_desc;  /* commit body "Source: ..." (e.g. "namespaces shop; selector app=x") */
	const char *work_dir;     /* NULL = "/tmp/dhg-git" */
	int max_attempts;         /* pushes tried on non-fast-forward; 0 = 8 */
	long lock_timeout_ms;     /* wait for the clone's lock at most this long (DHG_ETIMEOUT); 0 = 300 s */
	/* Test hook: called after the commit is built, right before each push attempt. */
	void (*before_push)(int attempt, void *payload);
	void *payload;
} gitout_options;

#define GITOUT_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL }

typedef struct gitout_result {
	char commit[41];  /* hex of the branch head after the write (ours, or the existing one) */
	char branch[256]; /* the branch written */
	char path[1024];  /* the path written */
	int changed;      /* 1: a commit was made and pushed; 0: the tree was already equal */
	int attempts;     /* push attempts made (0 when nothing was pushed) */
} gitout_result;

/* Writes `chart` into `opts->path` on `opts->branch` of `opts->url`: fetch, replace the path
 * entirely with the chart's files (nothing outside it changes), commit only when the tree
 * changed ("Update chart <name> to <version>" + source, resource count, digest), push; on a
 * non-fast-forward rejection fetch again and redo the commit on the new head, up to
 * max_attempts with jittered backoff. A missing branch is created from the default branch,
 * or as an orphan commit on an empty repository.
 * Returns 0 with *out filled, or:
 *   DHG_EUNAUTHORIZED  authentication failed (one attempt, never a loop)
 *   DHG_EFORBIDDEN     host key / TLS certificate refused, or the server declined the push
 *                      (protected branch, hook)
 *   DHG_EINVALID       bad options, path, branch name or chart file path
 *   DHG_EUNAVAILABLE   network failure (retry later)
 *   DHG_ETIMEOUT       the clone stayed locked by another writer for lock_timeout_ms
 *   DHG_ECONFLICT      still rejected as non-fast-forward after max_attempts
 *   DHG_ERROR          anything else
 * dhg_error_last() has the detail (redacted). The chart is only read. Thread-safe (see above). */
int gitout_write(gitout_result *out, const engine_chart *chart, const gitout_options *opts);

/* ---- source ------------------------------------------------------------------------------- */

typedef struct gitsrc_options {
	const char *url;
	const char *branch;  /* at most one of branch / tag / commit; none = the remote's HEAD */
	const char *tag;
	const char *commit;  /* commit id, 7 to 40 lower-case hex digits (abbreviated ids are resolved
	                        among the remote's branches and tags) */
	const char *path;    /* subdirectory to export; NULL or "" = the whole tree */
	const gitout_credentials *creds;
	const char *work_dir; /* NULL = "/tmp/dhg-git" */
	const char *dest_dir; /* required: replaced (atomically) by the exported files */
	size_t max_bytes;     /* total exported bytes; 0 = 256 MiB */
	long lock_timeout_ms; /* as in gitout_options; 0 = 300 s */
} gitsrc_options;

#define GITSRC_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0 }

typedef struct gitsrc_result {
	char commit[41]; /* the resolved source commit */
	size_t files;    /* regular files exported */
	int reused;      /* 1: dest_dir already held this commit's export (nothing was written) */
} gitsrc_result;

/* Fetches opts->url at the given ref and exports the tree under opts->path into opts->dest_dir
 * (built next to it, then swapped in: dest_dir is either the old or the new export). Symlinks
 * and submodules are skipped. The export carries a hidden marker file (.dhg-source: commit and
 * path); when it already matches, the export is reused and no object is fetched. The directory can be read with engine_extract_path().
 * Returns 0, DHG_ENOTFOUND (ref or path missing), or the codes of gitout_write(). Thread-safe. */
int gitsrc_fetch(gitsrc_result *out, const gitsrc_options *opts);

/* ---- pure helpers (exported for tests and the operator) ----------------------------------- */

/* The commit message for a chart. *out is owned (free()). Returns 0 or DHG_ENOMEM. */
int gitout_message_format(char **out, const char *name, const char *version, const char *source_desc,
			  size_t resource_count, const char *digest);

/* Validates a repository-relative path ('/'-separated, no empty/"."/".." components, no ".git"
 * component, no leading '/', at most 1023 bytes). Returns 0 or DHG_EINVALID naming `what`. */
int gitout_path_validate(const char *path, const char *what);

/* 1 when a tree entry at `entry` must be removed to put a directory at `path`: the entry is the
 * path itself, lies inside it, or is a file where a parent directory of `path` must go. */
int gitout_path_affected(const char *entry, const char *path);

#endif
