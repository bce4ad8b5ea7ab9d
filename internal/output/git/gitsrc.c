/* Git as a source: fetch a repository at a branch / tag / commit and export a subtree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "output/git/gitout_internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

#define DEFAULT_MAX_BYTES ((size_t)256 << 20)

/* A commit id: 7 to 40 lower-case hex digits. */
static int is_commit_id(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (i >= 40 || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i >= 7;
}

/* Full id of an abbreviated commit id: from the clone, else after fetching every branch and tag. */
static int resolve_short(git_oid *oid, gitout__session *s, const char *hex)
{
	static const char *const specs[] = { "+refs/heads/*:refs/dhg/src/heads/*", "+refs/tags/*:refs/dhg/src/tags/*" };
	git_odb *odb = NULL;
	git_oid part;
	size_t len = strlen(hex);
	int rc, error = 0, round;

	if (git_oid_fromstrn(&part, hex, len) < 0)
		return dhg_error_set(DHG_EINVALID, "git source: invalid commit id %s", hex);
	for (round = 0; round < 2; round++) {
		if (git_repository_odb(&odb, s->repo) < 0)
			return gitout__error_local(s, "git source: cannot open the object database of the clone of");
		rc = git_odb_exists_prefix(oid, odb, &part, len);
		git_odb_free(odb);
		if (rc == 0)
			return 0;
		if (rc == GIT_EAMBIGUOUS)
			return dhg_error_set(DHG_EINVALID, "git source %s: commit id %s is ambiguous", s->redacted_url, hex);
		if (round == 0 && (error = gitout__session_download(s, specs, 2)) < 0)
			return error;
	}
	return dhg_error_set(DHG_ENOTFOUND, "git source %s: commit %s not found (not reachable from a branch or tag)",
			     s->redacted_url, hex);
}

/* Finds the commit the options name among the advertised refs. *want_ref gets the remote ref
 * to fetch ("" for a commit id: all branches and tags are fetched). */
static int resolve(git_oid *oid, char *want_ref, size_t size, gitout__session *s, const gitsrc_options *o)
{
	const git_remote_head **heads;
	size_t n, i;
	char name[300], peeled[310];
	int error, found = 0;

	want_ref[0] = '\0';
	if ((error = gitout__session_ls(s, &heads, &n)) < 0)
		return error;
	if (o->commit && strlen(o->commit) == 40) {
		if (git_oid_fromstr(oid, o->commit) < 0)
			return dhg_error_set(DHG_EINVALID, "git source: invalid commit id %s", o->commit);
		return 0;
	}
	if (o->commit)
		return resolve_short(oid, s, o->commit);
	if (o->branch)
		snprintf(name, sizeof(name), "refs/heads/%s", o->branch);
	else if (o->tag)
		snprintf(name, sizeof(name), "refs/tags/%s", o->tag);
	else
		snprintf(name, sizeof(name), "HEAD");
	snprintf(peeled, sizeof(peeled), "%s^{}", name);
	for (i = 0; i < n; i++) {
		if (!strcmp(heads[i]->name, peeled)) { /* annotated tag: the commit it points to */
			git_oid_cpy(oid, &heads[i]->oid);
			found = 2;
		} else if (found < 2 && !strcmp(heads[i]->name, name)) {
			git_oid_cpy(oid, &heads[i]->oid);
			found = 1;
		}
	}
	if (!found)
		return dhg_error_set(DHG_ENOTFOUND, "git source %s: %s %s not found", s->redacted_url,
				     o->branch ? "branch" : o->tag ? "tag" : "default branch",
				     o->branch ? o->branch : o->tag ? o->tag : "(HEAD)");
	snprintf(want_ref, size, "%s", name);
	return 0;
}

static int fetch_commit(gitout__session *s, const git_oid *oid, const char *want_ref)
{
	git_odb *odb = NULL;
	int have, error = 0;

	if (git_repository_odb(&odb, s->repo) < 0)
		return gitout__error_local(s, "git source: cannot open the object database of the clone of");
	have = git_odb_exists(odb, oid);
	git_odb_free(odb);
	if (have)
		return 0;
	if (want_ref[0] && strcmp(want_ref, "HEAD") != 0) {
		char spec[700];
		const char *specs[1] = { spec };
		snprintf(spec, sizeof(spec), "+%s:refs/dhg/src/%s", want_ref, want_ref + strlen("refs/"));
		error = gitout__session_download(s, specs, 1);
	} else {
		static const char *const specs[] = { "+refs/heads/*:refs/dhg/src/heads/*",
						     "+refs/tags/*:refs/dhg/src/tags/*" };
		error = gitout__session_download(s, specs, 2);
	}
	return error;
}

typedef struct export_ctx {
	git_repository *repo;
	const char *root;
	size_t bytes, max, files;
	int error;
} export_ctx;

static int export_cb(const char *dir, const git_tree_entry *e, void *payload)
{
	export_ctx *x = payload;
	git_filemode_t mode = git_tree_entry_filemode(e);
	const char *name = git_tree_entry_name(e);
	git_blob *blob = NULL;
	char *p;
	size_t len;

	if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".") || !strcasecmp(name, ".git"))
		return 1; /* never write outside root (skip the subtree) */
	if (!(p = dhg_asprintf("%s/%s%s", x->root, dir, name))) {
		x->error = DHG_ENOMEM;
		return -1;
	}
	if (mode == GIT_FILEMODE_TREE) {
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			x->error = dhg_error_set(DHG_ERROR, "git source: cannot create %s: %s", p, strerror(errno));
		free(p);
		return x->error < 0 ? -1 : 0;
	}
	if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
		free(p); /* symlinks and submodules are not exported */
		return 0;
	}
	if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(e)) < 0) {
		x->error = dhg_error_set(DHG_ERROR, "git source: blob %s%s missing: %s", dir, name,
					 git_error_last() ? git_error_last()->message : "");
		free(p);
		return -1;
	}
	len = (size_t)git_blob_rawsize(blob);
	x->bytes += len;
	if (x->bytes > x->max) {
		x->error = dhg_error_set(DHG_ETOOBIG, "git source: the export is larger than %zu bytes (at %s%s)",
					 x->max, dir, name);
	} else if (dhg_file_write(p, git_blob_rawcontent(blob), len) < 0) {
		x->error = dhg_error_wrap("git source");
	} else {
		x->files++;
	}
	git_blob_free(blob);
	free(p);
	return x->error < 0 ? -1 : 0;
}

#define MARKER ".dhg-source"

/* The marker line for an export: "<resolved oid> <commit> <files> <path>". */
static char *marker_line(const git_oid *resolved, const char *commit, size_t files, const char *path)
{
	char hex[41];
	git_oid_tostr(hex, sizeof(hex), resolved);
	return dhg_asprintf("%s %s %zu %s\n", hex, commit, files, path && *path ? path : ".");
}

/* 1 when dest_dir holds the export of `resolved` at the options' path (fills out). */
static int export_reusable(gitsrc_result *out, const git_oid *resolved, const gitsrc_options *o)
{
	char *p = dhg_asprintf("%s/" MARKER, o->dest_dir), *data = NULL, hex[41], commit[41], path[1100];
	size_t len, files;
	int ok = 0;

	if (p && dhg_file_read(&data, &len, p, 4096) == 0 &&
	    sscanf(data, "%40s %40s %zu %1099s", hex, commit, &files, path) == 4) {
		char want[41];
		git_oid_tostr(want, sizeof(want), resolved);
		if (!strcmp(hex, want) && !strcmp(path, o->path && *o->path ? o->path : ".")) {
			memcpy(out->commit, commit, sizeof(out->commit));
			out->files = files;
			out->reused = 1;
			ok = 1;
		}
	}
	dhg_error_clear();
	free(p);
	free(data);
	return ok;
}

static int export_tree(gitsrc_result *out, gitout__session *s, const git_oid *commit_oid, const gitsrc_options *o)
{
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_tree *root = NULL, *sub = NULL;
	git_tree_entry *te = NULL;
	char *staged = NULL;
	export_ctx x;
	int error = 0;

	if (git_object_lookup(&obj, s->repo, commit_oid, GIT_OBJECT_ANY) < 0 ||
	    git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		char hex[41];
		git_oid_tostr(hex, sizeof(hex), commit_oid);
		error = dhg_error_set(DHG_ENOTFOUND, "git source %s: commit %s not found (not reachable from a branch or tag)",
				      s->redacted_url, hex);
		goto done;
	}
	git_oid_tostr(out->commit, sizeof(out->commit), git_commit_id(commit));
	if (git_commit_tree(&root, commit) < 0) {
		error = gitout__error_local(s, "git source: cannot read the tree of");
		goto done;
	}
	if (o->path && *o->path) {
		if (git_tree_entry_bypath(&te, root, o->path) < 0 || git_tree_entry_type(te) != GIT_OBJECT_TREE) {
			error = dhg_error_set(DHG_ENOTFOUND, "git source %s: path %s is not a directory at commit %s",
					      s->redacted_url, o->path, out->commit);
			goto done;
		}
		if (git_tree_lookup(&sub, s->repo, git_tree_entry_id(te)) < 0) {
			error = gitout__error_local(s, "git source: cannot read a tree of");
			goto done;
		}
	}
	if ((error = dhg_mkdir_parent(o->dest_dir, 0755)) < 0 || (error = dhg_tmpdir_sibling(&staged, o->dest_dir)) < 0)
		goto done;
	memset(&x, 0, sizeof(x));
	x.repo = s->repo;
	x.root = staged;
	x.max = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
	if (git_tree_walk(sub ? sub : root, GIT_TREEWALK_PRE, export_cb, &x) < 0 || x.error < 0) {
		error = x.error < 0 ? x.error : gitout__error_local(s, "git source: cannot walk the tree of");
		goto done;
	}
	{
		char *m = marker_line(commit_oid, out->commit, x.files, o->path), *mp = dhg_asprintf("%s/" MARKER, staged);
		if (!m || !mp || dhg_file_write(mp, m, strlen(m)) < 0)
			error = m && mp ? dhg_error_wrap("git source: marker") : DHG_ENOMEM;
		free(m);
		free(mp);
		if (error < 0)
			goto done;
	}
	if ((error = dhg_dir_replace(staged, o->dest_dir)) < 0)
		goto done;
	out->files = x.files;
done:
	if (error < 0 && staged)
		dhg_rm_rf(staged);
	free(staged);
	git_tree_free(sub);
	git_tree_entry_free(te);
	git_tree_free(root);
	git_commit_free(commit);
	git_object_free(obj);
	return error;
}

int gitsrc_fetch(gitsrc_result *out, const gitsrc_options *opts)
{
	gitout__session s;
	git_oid oid;
	char want[300];
	int error, opened = 0, fresh, nrefs;

	memset(out, 0, sizeof(*out));
	if (!opts->url || !*opts->url)
		return dhg_error_set(DHG_EINVALID, "git source: url is required");
	if (!opts->dest_dir || !*opts->dest_dir)
		return dhg_error_set(DHG_EINVALID, "git source: destination directory is required");
	nrefs = !!opts->branch + !!opts->tag + !!opts->commit;
	if (nrefs > 1)
		return dhg_error_set(DHG_EINVALID, "git source: give only one of branch, tag and commit");
	if (opts->commit && !is_commit_id(opts->commit))
		return dhg_error_set(DHG_EINVALID, "git source: commit must be 7 to 40 lower-case hex digits, not \"%s\"",
				     opts->commit);
	if (opts->path && *opts->path && gitout_path_validate(opts->path, "git source path") < 0)
		return DHG_EINVALID;
	if (gitout__libgit2_init() < 0)
		return DHG_ERROR;
	if ((error = gitout__session_open(&s, opts->url, opts->creds, opts->work_dir, opts->lock_timeout_ms)) < 0)
		goto done;
	opened = 1;
	for (fresh = 0;; fresh++) {
		if ((error = resolve(&oid, want, sizeof(want), &s, opts)) == 0 && export_reusable(out, &oid, opts)) {
			gitout__session_disconnect(&s);
			break;
		}
		if (error == 0 && (error = fetch_commit(&s, &oid, want)) == 0) {
			gitout__session_disconnect(&s);
			error = export_tree(out, &s, &oid, opts);
		}
		if (error == 0 || fresh > 0 || error != DHG_ERROR)
			break;
		DHG_LOG_WARN("git source: failed, retrying with a fresh clone", "url", s.redacted_url, "error",
			     dhg_error_last()->message);
		if (gitout__session_reset(&s) < 0)
			break;
	}
	if (error == 0)
		DHG_LOG_INFO("git source fetched", "url", s.redacted_url, "commit", out->commit, "dir", opts->dest_dir);
done:
	if (opened)
		gitout__session_close(&s);
	return error;
}
