/* The local clone (lock, open, recover) and the libgit2 remote callbacks shared by the writer
 * and the source. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output/git/gitout_internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/str.h"

/* ---- the clone ------------------------------------------------------------------------------ */

static int ends_with_lock(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".lock") == 0;
}

/* Removes *.lock files below dir (left by a killed process; we hold the clone's flock). */
static void remove_stale_locks(const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > 16 || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char *p;
		struct stat st;
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (!strcmp(e->d_name, "objects"))
			continue;
		if (!(p = dhg_asprintf("%s/%s", dir, e->d_name)))
			break;
		if (lstat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				remove_stale_locks(p, depth + 1);
			else if (ends_with_lock(e->d_name) && unlink(p) == 0)
				DHG_LOG_WARN("git: removed a stale lock file", "file", p);
		}
		free(p);
	}
	closedir(d);
}

/* git gc --auto's heuristic: more than GITOUT_MAX_PACKS packs, or more than GITOUT_MAX_LOOSE
 * loose objects estimated from one fan-out directory (objects/17) times 256. */
int gitout__clone_overgrown(const char *dir, size_t max_packs, size_t max_loose)
{
	char *p;
	DIR *d;
	struct dirent *e;
	size_t packs = 0, loose = 0;

	if ((p = dhg_asprintf("%s/objects/pack", dir)) && (d = opendir(p))) {
		while ((e = readdir(d)))
			if (dhg_str_has_suffix(e->d_name, ".pack"))
				packs++;
		closedir(d);
	}
	free(p);
	if ((p = dhg_asprintf("%s/objects/17", dir)) && (d = opendir(p))) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				loose++;
		closedir(d);
	}
	free(p);
	return packs > max_packs || loose * 256 > max_loose;
}

static int clone_overgrown(const char *dir)
{
	return gitout__clone_overgrown(dir, GITOUT_MAX_PACKS, GITOUT_MAX_LOOSE);
}

static int repo_init(gitout__session *s)
{
	int rc = git_repository_init(&s->repo, s->dir, 1);
	if (rc < 0)
		return dhg_error_set(DHG_ERROR, "git: cannot create the clone %s: %s", s->dir,
				     git_error_last() ? git_error_last()->message : "unknown error");
	return 0;
}

static int remote_new(gitout__session *s)
{
	git_remote_create_options ro;

	/* anonymous (name NULL) and no url.*.insteadOf rewriting: the URL is used as given (this
	 * also avoids a pcre2 leak in libgit2 1.5's config regex matching) */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = s->repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&s->remote, s->url, &ro) < 0)
		return dhg_error_set(DHG_EINVALID, "git: invalid repository URL %s: %s", s->redacted_url,
				     git_error_last() ? git_error_last()->message : "unknown error");
	return 0;
}

/* flock() with a deadline (polling, so a hung holder cannot block us forever). */
static int lock_wait(int fd, long timeout_ms)
{
	struct timespec start, now, nap = { 0, 20 * 1000000L };

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return DHG_ERROR;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L >= timeout_ms)
			return DHG_ETIMEOUT;
		nanosleep(&nap, NULL);
	}
}

int gitout__session_open(gitout__session *s, const char *url, const gitout_credentials *creds,
			 const char *work_dir, long lock_timeout_ms)
{
	char digest[DHG_DIGEST_STR_SIZE], *lockpath = NULL;
	int error = 0;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->url = url;
	s->creds = creds;
	if (!(s->redacted_url = dhg_url_redact(url)))
		return DHG_ENOMEM;
	if (!dhg_str_has_prefix(url, "file://") && url[0] != '/' &&
	    gitout__url_host_port(s->ssh_host, sizeof(s->ssh_host), &s->ssh_port, url) < 0) {
		error = dhg_error_set(DHG_EINVALID, "git: cannot parse the host of URL %s", s->redacted_url);
		goto done;
	}
	if (!work_dir || !*work_dir)
		work_dir = GITOUT_DEFAULT_WORK_DIR;
	if (dhg_mkdir_p(work_dir, 0700) < 0) {
		error = dhg_error_wrap("git: work directory %s", work_dir);
		goto done;
	}
	if ((error = dhg_sha256_str(digest, url, strlen(url))) < 0)
		goto done;
	s->dir = dhg_asprintf("%s/%.16s.git", work_dir, digest + 7);
	lockpath = dhg_asprintf("%s/%.16s.lock", work_dir, digest + 7);
	if (!s->dir || !lockpath) {
		error = DHG_ENOMEM;
		goto done;
	}
	s->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		error = dhg_error_set(DHG_ERROR, "git: cannot open lock file %s: %s", lockpath, strerror(errno));
		goto done;
	}
	if ((error = lock_wait(s->lock_fd, lock_timeout_ms > 0 ? lock_timeout_ms : 300000L)) < 0) {
		if (error == DHG_ETIMEOUT)
			dhg_error_set(DHG_ETIMEOUT, "git: the clone of %s is locked by another writer (%s) for too long",
				      s->redacted_url, lockpath);
		else
			dhg_error_set(DHG_ERROR, "git: cannot lock %s: %s", lockpath, strerror(errno));
		goto done;
	}
	if (dhg_path_is_dir(s->dir)) {
		remove_stale_locks(s->dir, 0);
		if (clone_overgrown(s->dir)) {
			/* libgit2 has no gc: every fetch adds a pack and every commit loose objects */
			DHG_LOG_INFO("git: local clone has grown (many packs / loose objects), re-creating it", "dir",
				     s->dir);
			if (dhg_rm_rf(s->dir) < 0) {
				error = dhg_error_wrap("git: removing overgrown clone");
				goto done;
			}
		} else if (git_repository_open_bare(&s->repo, s->dir) < 0) {
			DHG_LOG_WARN("git: local clone unusable, re-creating it", "dir", s->dir, "error",
				     git_error_last() ? git_error_last()->message : "");
			s->repo = NULL;
			if (dhg_rm_rf(s->dir) < 0) {
				error = dhg_error_wrap("git: removing broken clone");
				goto done;
			}
		}
	} else if (dhg_path_exists(s->dir) && dhg_rm_rf(s->dir) < 0) {
		error = dhg_error_wrap("git: removing broken clone");
		goto done;
	}
	if (!s->repo && (error = repo_init(s)) < 0)
		goto done;
	error = remote_new(s);
done:
	free(lockpath);
	if (error < 0)
		gitout__session_close(s);
	return error;
}

int gitout__session_reset(gitout__session *s)
{
	git_remote_free(s->remote);
	s->remote = NULL;
	git_repository_free(s->repo);
	s->repo = NULL;
	if (dhg_rm_rf(s->dir) < 0)
		return dhg_error_wrap("git: removing clone");
	if (repo_init(s) < 0)
		return DHG_ERROR;
	return remote_new(s);
}

void gitout__session_close(gitout__session *s)
{
	if (!s)
		return;
	if (s->remote) {
		git_remote_disconnect(s->remote);
		git_remote_free(s->remote);
	}
	git_repository_free(s->repo);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	free(s->dir);
	free(s->redacted_url);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
}

/* ---- callbacks ------------------------------------------------------------------------------ */

static int cb_credentials(git_credential **out, const char *url, const char *username_from_url,
			  unsigned int allowed, void *payload)
{
	gitout__session *s = payload;
	const gitout_credentials *c = s->creds;
	const char *secret_user = c && c->username && *c->username ? c->username : NULL;
	const char *url_user = username_from_url && *username_from_url ? username_from_url : NULL;
	/* ssh: the URL's user (git@host) wins; https: the Secret's username wins */
	const char *ssh_user = url_user ? url_user : secret_user ? secret_user : "git";
	const char *http_user = secret_user ? secret_user : url_user ? url_user : "";

	(void)url;
	if ((allowed & GIT_CREDENTIAL_USERNAME) && !(allowed & GIT_CREDENTIAL_SSH_KEY))
		return git_credential_username_new(out, ssh_user);
	if (s->cred_attempts++ > 0) {
		/* libgit2 asks again after a rejection: one attempt only, never loop */
		s->auth_failed = 1;
		git_error_set_str(GIT_ERROR_NET, "credentials rejected");
		return GIT_EAUTH;
	}
	if ((allowed & (GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_SSH_MEMORY)) && c && c->identity && *c->identity)
		return git_credential_ssh_key_memory_new(out, ssh_user, NULL, c->identity, NULL);
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c && c->password && *c->password)
		return git_credential_userpass_plaintext_new(out, http_user, c->password);
	s->auth_failed = 1;
	git_error_set_str(GIT_ERROR_NET, "no usable credentials given");
	return GIT_EAUTH;
}

static int verify_x509(gitout__session *s, const git_cert_x509 *cert, const char *host)
{
	BIO *bio = NULL;
	X509 *leaf = NULL, *ca;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	const unsigned char *p = cert->data;
	int ok = 0, added = 0;

	if (!(leaf = d2i_X509(NULL, &p, (long)cert->len)))
		goto done;
	if (!(store = X509_STORE_new()) || !(bio = BIO_new_mem_buf(s->creds->ca_pem, -1)))
		goto done;
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, ca) == 1)
			added++;
		X509_free(ca);
	}
	if (!added || !(ctx = X509_STORE_CTX_new()) || X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1)
		goto done;
	if (X509_verify_cert(ctx) != 1) {
		snprintf(s->cert_msg, sizeof(s->cert_msg), "TLS certificate of %s not signed by the given ca.crt: %s",
			 host, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto done;
	}
	if (X509_check_host(leaf, host, 0, 0, NULL) != 1 && X509_check_ip_asc(leaf, host, 0) != 1) {
		snprintf(s->cert_msg, sizeof(s->cert_msg), "TLS certificate does not match host %s", host);
		goto done;
	}
	ok = 1;
done:
	if (!ok && !s->cert_msg[0])
		snprintf(s->cert_msg, sizeof(s->cert_msg), "TLS certificate of %s could not be verified with ca.crt",
			 host);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	BIO_free(bio);
	X509_free(leaf);
	return ok;
}

static int cb_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	gitout__session *s = payload;
	const gitout_credentials *c = s->creds;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
		int rc;
		if (!(hk->type & GIT_CERT_SSH_RAW)) {
			snprintf(s->cert_msg, sizeof(s->cert_msg), "ssh host key of %s not available for checking",
				 host);
			goto refuse;
		}
		if (!c || !c->known_hosts || !*c->known_hosts) {
			snprintf(s->cert_msg, sizeof(s->cert_msg),
				 "ssh host %s refused: no known_hosts given (unknown hosts are not trusted)", host);
			goto refuse;
		}
		rc = gitout__known_hosts_check(c->known_hosts, host, s->ssh_port,
					       (const unsigned char *)hk->hostkey, hk->hostkey_len);
		if (rc == 0)
			return 0;
		snprintf(s->cert_msg, sizeof(s->cert_msg),
			 rc == DHG_ENOTFOUND ? "ssh host %s refused: unknown host (not in known_hosts)"
					     : "ssh host %s refused: host key does not match known_hosts",
			 host);
		goto refuse;
	}
	if (cert->cert_type == GIT_CERT_X509 && c && c->ca_pem && *c->ca_pem) {
		if (verify_x509(s, (const git_cert_x509 *)cert, host))
			return 0;
		goto refuse;
	}
	if (valid)
		return 0;
	snprintf(s->cert_msg, sizeof(s->cert_msg), "TLS certificate of %s is not trusted", host);
refuse:
	s->cert_refused = 1;
	git_error_set_str(GIT_ERROR_SSL, s->cert_msg);
	return GIT_ECERTIFICATE;
}

static int cb_push_update(const char *refname, const char *status, void *payload)
{
	gitout__session *s = payload;
	if (status) {
		s->push_rejected = 1;
		snprintf(s->push_msg, sizeof(s->push_msg), "%s rejected: %s", refname, status);
	}
	return 0;
}

void gitout__callbacks_init(git_remote_callbacks *cb, gitout__session *s)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = cb_credentials;
	cb->certificate_check = cb_certificate;
	cb->push_update_reference = cb_push_update;
	cb->payload = s;
}

/* ---- network -------------------------------------------------------------------------------- */

int gitout__session_ls(gitout__session *s, const git_remote_head ***heads, size_t *n)
{
	git_remote_callbacks cb;
	int rc;

	gitout__callbacks_init(&cb, s);
	s->cred_attempts = 0;
	if (git_remote_connected(s->remote))
		git_remote_disconnect(s->remote);
	if ((rc = git_remote_connect(s->remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL)) < 0)
		return gitout__error(s, rc, "git: cannot connect to");
	if ((rc = git_remote_ls(heads, n, s->remote)) < 0)
		return gitout__error(s, rc, "git: cannot list the refs of");
	return 0;
}

int gitout__session_download(gitout__session *s, const char *const *refspecs, size_t nrefspecs)
{
	git_fetch_options fo;
	git_strarray arr = { (char **)refspecs, nrefspecs };
	int rc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	gitout__callbacks_init(&fo.callbacks, s);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	s->cred_attempts = 0;
	if ((rc = git_remote_download(s->remote, &arr, &fo)) < 0)
		return gitout__error(s, rc, "git: cannot fetch from");
	/* local refs for what was fetched: later fetches negotiate from them */
	if ((rc = git_remote_update_tips(s->remote, &fo.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "dhg: fetch")) < 0)
		return gitout__error(s, rc, "git: cannot record the refs fetched from");
	return 0;
}

void gitout__session_disconnect(gitout__session *s)
{
	if (s->remote && git_remote_connected(s->remote))
		git_remote_disconnect(s->remote);
}

int gitout__error_local(gitout__session *s, const char *what)
{
	const git_error *ge = git_error_last();
	char msg[768];
	const char *secrets[2] = { s->url, NULL };

	snprintf(msg, sizeof(msg), "%s", ge && ge->message ? ge->message : "unknown error");
	dhg_str_redact_secrets(msg, secrets);
	return dhg_error_set(DHG_ERROR, "%s %s (local clone %s): %s", what, s->redacted_url, s->dir, msg);
}

int gitout__error(gitout__session *s, int giterr, const char *what)
{
	const git_error *ge = git_error_last();
	const char *secrets[4] = { NULL, NULL, NULL, NULL };
	char msg[768];
	int code = DHG_ERROR;

	snprintf(msg, sizeof(msg), "%s", ge && ge->message ? ge->message : "unknown error");
	secrets[0] = s->url; /* may hold user:password@ */
	if (s->creds) {
		secrets[1] = s->creds->password;
		secrets[2] = s->creds->identity;
	}
	dhg_str_redact_secrets(msg, secrets);
	if (s->auth_failed || giterr == GIT_EAUTH)
		return dhg_error_set(DHG_EUNAUTHORIZED, "git: authentication failed for %s", s->redacted_url);
	if (s->cert_refused || giterr == GIT_ECERTIFICATE)
		return dhg_error_set(DHG_EFORBIDDEN, "git: %s (%s)", s->cert_msg[0] ? s->cert_msg : msg,
				     s->redacted_url);
	if (ge && (ge->klass == GIT_ERROR_NET || ge->klass == GIT_ERROR_SSH || ge->klass == GIT_ERROR_HTTP ||
		   ge->klass == GIT_ERROR_SSL || ge->klass == GIT_ERROR_OS))
		code = DHG_EUNAVAILABLE;
	if (strstr(msg, "401") || strstr(msg, "authentication") || strstr(msg, "Authentication"))
		return dhg_error_set(DHG_EUNAUTHORIZED, "git: authentication failed for %s: %s", s->redacted_url,
				     msg);
	return dhg_error_set(code, "%s %s: %s", what, s->redacted_url, msg);
}
