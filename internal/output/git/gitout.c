/* The git writer: fetch, rebuild our path in an in-memory index, commit if the tree changed,
 * push, retry on non-fast-forward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/git/gitout_internal.h"
#include "util/error.h"
#include "util/log.h"
#include "util/str.h"

#define DEFAULT_ATTEMPTS 8

typedef struct remote_state {
	int have_branch, have_head;
	git_oid branch_oid, head_oid;
	char head_branch[256]; /* HEAD's symref target without refs/heads/ ("" when unknown) */
} remote_state;

static int read_remote(remote_state *rs, gitout__session *s, const char *branch)
{
	const git_remote_head **heads;
	size_t n, i;
	char want[300];
	int error;

	memset(rs, 0, sizeof(*rs));
	if ((error = gitout__session_ls(s, &heads, &n)) < 0)
		return error;
	snprintf(want, sizeof(want), "refs/heads/%s", branch ? branch : "");
	for (i = 0; i < n; i++) {
		if (branch && !strcmp(heads[i]->name, want)) {
			rs->have_branch = 1;
			git_oid_cpy(&rs->branch_oid, &heads[i]->oid);
		} else if (!strcmp(heads[i]->name, "HEAD")) {
			rs->have_head = 1;
			git_oid_cpy(&rs->head_oid, &heads[i]->oid);
			if (heads[i]->symref_target && dhg_str_has_prefix(heads[i]->symref_target, "refs/heads/"))
				snprintf(rs->head_branch, sizeof(rs->head_branch), "%s",
					 heads[i]->symref_target + strlen("refs/heads/"));
		}
	}
	if (rs->have_head && !rs->head_branch[0]) {
		/* no symref capability: the branch whose tip equals HEAD (main, then master, then any) */
		static const char *const pref[] = { "refs/heads/main", "refs/heads/master" };
		size_t p;
		for (p = 0; p < 2 && !rs->head_branch[0]; p++)
			for (i = 0; i < n; i++)
				if (!strcmp(heads[i]->name, pref[p]) && git_oid_equal(&heads[i]->oid, &rs->head_oid))
					snprintf(rs->head_branch, sizeof(rs->head_branch), "%s",
						 pref[p] + strlen("refs/heads/"));
		for (i = 0; i < n && !rs->head_branch[0]; i++)
			if (dhg_str_has_prefix(heads[i]->name, "refs/heads/") &&
			    git_oid_equal(&heads[i]->oid, &rs->head_oid))
				snprintf(rs->head_branch, sizeof(rs->head_branch), "%s",
					 heads[i]->name + strlen("refs/heads/"));
	}
	if (!branch && rs->have_head && rs->head_branch[0]) { /* writing to the default branch */
		rs->have_branch = 1;
		git_oid_cpy(&rs->branch_oid, &rs->head_oid);
	}
	return 0;
}

/* Makes sure the commit `oid` (the tip of remote ref `refname`) is in the clone, and pins it
 * under refs/dhg/ so later fetches negotiate from it. */
static int ensure_commit(gitout__session *s, const git_oid *oid, const char *refname)
{
	git_odb *odb = NULL;
	git_reference *ref = NULL;
	char spec[600], local[600];
	const char *specs[1];
	int error = 0, have;

	snprintf(local, sizeof(local), "refs/dhg/remote/%s", refname + strlen("refs/"));
	if (git_repository_odb(&odb, s->repo) < 0)
		return gitout__error_local(s, "git: cannot open the object database of the clone of");
	have = git_odb_exists(odb, oid);
	git_odb_free(odb);
	if (!have) {
		snprintf(spec, sizeof(spec), "+%s:%s", refname, local);
		specs[0] = spec;
		if ((error = gitout__session_download(s, specs, 1)) < 0)
			return error;
	}
	if (git_reference_create(&ref, s->repo, local, oid, 1, "dhg: fetched") < 0)
		return gitout__error_local(s, "git: fetched objects incomplete in the clone of");
	git_reference_free(ref);
	return 0;
}

static int build_tree(git_oid *out, gitout__session *s, const git_tree *base, const engine_chart *chart,
		      const char *path)
{
	git_index *idx = NULL;
	git_odb *odb = NULL;
	char full[2048];
	size_t i;
	int error = 0;

	if (git_repository_odb(&odb, s->repo) < 0)
		return gitout__error_local(s, "git: cannot open the object database of the clone of");
	if (git_index_new(&idx) < 0) {
		git_odb_free(odb);
		return gitout__error_local(s, "git: cannot create an index for");
	}
	if (base && git_index_read_tree(idx, base) < 0) {
		error = gitout__error_local(s, "git: cannot read the branch tree of");
		goto done;
	}
	/* remove what our path replaces (from the end, so indexes stay valid) */
	for (i = git_index_entrycount(idx); i-- > 0;) {
		const git_index_entry *e = git_index_get_byindex(idx, i);
		if (e && gitout_path_affected(e->path, path)) {
			char *p = dhg_strdup(e->path);
			int stage = git_index_entry_stage(e);
			if (!p) {
				error = DHG_ENOMEM;
				goto done;
			}
			if (git_index_remove(idx, p, stage) < 0) {
				free(p);
				error = gitout__error_local(s, "git: cannot update the index for");
				goto done;
			}
			free(p);
		}
	}
	for (i = 0; i < chart->nfiles; i++) {
		const engine_file *f = &chart->files[i];
		git_index_entry e;
		memset(&e, 0, sizeof(e));
		snprintf(full, sizeof(full), "%s/%s", path, f->path);
		/* hash first: an unchanged file is already in the clone (no zlib stream per blob) */
		if (git_odb_hash(&e.id, f->data, f->len, GIT_OBJECT_BLOB) < 0 ||
		    (!git_odb_exists(odb, &e.id) && git_odb_write(&e.id, odb, f->data, f->len, GIT_OBJECT_BLOB) < 0)) {
			error = gitout__error_local(s, "git: cannot store a blob in the clone of");
			goto done;
		}
		e.mode = GIT_FILEMODE_BLOB;
		e.path = full;
		if (git_index_add(idx, &e) < 0) {
			error = dhg_error_set(DHG_EINVALID, "git: chart file %s cannot be added: %s", f->path,
					      git_error_last() ? git_error_last()->message : "");
			goto done;
		}
	}
	if (git_index_write_tree_to(out, idx, s->repo) < 0)
		error = gitout__error_local(s, "git: cannot write the tree for");
done:
	git_index_free(idx);
	git_odb_free(odb);
	return error;
}

static void backoff(int attempt)
{
	long ms = 100L << (attempt > 5 ? 5 : attempt - 1);
	struct timespec ts;
	if (ms > 2000)
		ms = 2000;
	ms = ms / 2 + (long)arc4random_uniform((unsigned)ms + 1); /* jitter: 0.5x .. 1.5x */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int is_push_conflict(gitout__session *s, int rc)
{
	const git_error *ge = git_error_last();
	if (rc == GIT_ENONFASTFORWARD)
		return 1;
	if (rc < 0 && ge && ge->message &&
	    (strstr(ge->message, "not present locally") || strstr(ge->message, "non-fast") ||
	     strstr(ge->message, "fetch first")))
		return 1;
	return rc >= 0 && s->push_rejected &&
	       (strstr(s->push_msg, "non-fast") || strstr(s->push_msg, "fetch first") ||
		strstr(s->push_msg, "failed to update") || strstr(s->push_msg, "failed to lock") ||
		strstr(s->push_msg, "stale"));
}

static int push(gitout__session *s, const char *branch, int *conflict)
{
	git_push_options po;
	char spec[600];
	char *specs[1] = { spec };
	git_strarray arr = { specs, 1 };
	int rc;

	*conflict = 0;
	gitout__session_disconnect(s);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	gitout__callbacks_init(&po.callbacks, s);
	snprintf(spec, sizeof(spec), "refs/dhg/push/%s:refs/heads/%s", branch, branch);
	s->cred_attempts = 0;
	s->push_rejected = 0;
	s->push_msg[0] = '\0';
	rc = git_remote_push(s->remote, &arr, &po);
	gitout__session_disconnect(s);
	if (is_push_conflict(s, rc)) {
		*conflict = 1;
		return dhg_error_set(DHG_ECONFLICT, "git: push to %s rejected (%s)", s->redacted_url,
				     s->push_msg[0] ? s->push_msg : "non-fast-forward");
	}
	if (rc < 0)
		return gitout__error(s, rc, "git: push failed to");
	if (s->push_rejected) /* e.g. a protected branch or a hook: retrying cannot help */
		return dhg_error_set(DHG_EFORBIDDEN, "git: push to %s rejected by the server: %s", s->redacted_url,
				     s->push_msg);
	return 0;
}

/* One full write against the current clone (all push attempts). */
static int write_attempts(gitout_result *out, gitout__session *s, const engine_chart *chart,
			  const gitout_options *opts, const char *path, const char *message)
{
	int attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS, attempt, error = 0;
	git_signature *sig = NULL;
	const char *branch = opts->branch;
	char branch_buf[256];

	/* UTC time, no local time zone lookup (localtime/tzset are not needed and not free) */
	if (git_signature_new(&sig, opts->author_name ? opts->author_name : "dhg-operator",
			      opts->author_email ? opts->author_email : "dhg-operator@example.invalid",
			      (git_time_t)time(NULL), 0) < 0)
		return dhg_error_set(DHG_EINVALID, "git: invalid author name/email: %s",
				     git_error_last() ? git_error_last()->message : "");
	for (attempt = 1; attempt <= attempts; attempt++) {
		remote_state rs;
		git_commit *base = NULL;
		git_tree *base_tree = NULL;
		git_oid tree_oid, commit_oid;
		git_reference *ref = NULL;
		const git_oid *base_oid = NULL;
		char refname[300];
		int conflict = 0;

		if ((error = read_remote(&rs, s, branch)) < 0)
			goto done;
		if (!branch) { /* the default branch, fixed for the following attempts */
			snprintf(branch_buf, sizeof(branch_buf), "%s", rs.head_branch[0] ? rs.head_branch : "main");
			branch = branch_buf;
		}
		snprintf(out->branch, sizeof(out->branch), "%s", branch);
		if (rs.have_branch) {
			base_oid = &rs.branch_oid;
			snprintf(refname, sizeof(refname), "refs/heads/%s", branch);
		} else if (rs.have_head && rs.head_branch[0]) {
			base_oid = &rs.head_oid;
			snprintf(refname, sizeof(refname), "refs/heads/%s", rs.head_branch);
			DHG_LOG_INFO("git: branch missing on the remote, creating it from the default branch", "url",
				     s->redacted_url, "branch", branch, "from", rs.head_branch);
		}
		if (base_oid) {
			if ((error = ensure_commit(s, base_oid, refname)) < 0)
				goto done;
			if (git_commit_lookup(&base, s->repo, base_oid) < 0 || git_commit_tree(&base_tree, base) < 0) {
				git_commit_free(base);
				error = gitout__error_local(s, "git: cannot read the branch head of");
				goto done;
			}
		}
		gitout__session_disconnect(s);
		error = build_tree(&tree_oid, s, base_tree, chart, path);
		if (error == 0 && base_tree && git_oid_equal(&tree_oid, git_tree_id(base_tree)) && rs.have_branch) {
			/* nothing to write: no commit, no push */
			git_oid_tostr(out->commit, sizeof(out->commit), base_oid);
			out->changed = 0;
			git_tree_free(base_tree);
			git_commit_free(base);
			goto done;
		}
		if (error == 0 && base_tree && git_oid_equal(&tree_oid, git_tree_id(base_tree))) {
			git_oid_cpy(&commit_oid, base_oid); /* only the branch is new */
			out->changed = 0;
		} else if (error == 0) {
			git_tree *tree = NULL;
			const git_commit *parents[1] = { base };
			if (git_tree_lookup(&tree, s->repo, &tree_oid) < 0 ||
			    git_commit_create(&commit_oid, s->repo, NULL, sig, sig, NULL, message, tree, base ? 1 : 0,
					      parents) < 0)
				error = gitout__error_local(s, "git: cannot create the commit in the clone of");
			git_tree_free(tree);
			out->changed = 1;
		}
		git_tree_free(base_tree);
		git_commit_free(base);
		if (error < 0)
			goto done;
		snprintf(refname, sizeof(refname), "refs/dhg/push/%s", branch);
		if (git_reference_create(&ref, s->repo, refname, &commit_oid, 1, "dhg: to push") < 0) {
			error = gitout__error_local(s, "git: cannot record the commit in the clone of");
			goto done;
		}
		git_reference_free(ref);
		if (opts->before_push)
			opts->before_push(attempt, opts->payload);
		out->attempts = attempt;
		error = push(s, branch, &conflict);
		/* the push ref is only needed while pushing (and branch "a" vs "a/b" refs would collide) */
		git_reference_remove(s->repo, refname);
		if (error == 0) {
			git_oid_tostr(out->commit, sizeof(out->commit), &commit_oid);
			DHG_LOG_INFO("git: chart written", "url", s->redacted_url, "branch", branch, "path", path,
				     "commit", out->commit);
			goto done;
		}
		if (!conflict)
			goto done;
		DHG_LOG_INFO("git: push rejected (someone else pushed), retrying on the new head", "url",
			     s->redacted_url, "branch", branch);
		if (attempt < attempts)
			backoff(attempt);
	}
	error = dhg_error_set(DHG_ECONFLICT, "git: push to %s branch %s still rejected after %d attempts",
			      s->redacted_url, branch, attempts);
done:
	git_signature_free(sig);
	return error;
}

static int validate(const engine_chart *chart, const gitout_options *opts, const char *path)
{
	size_t i;
	char ref[300];
	int valid = 0;

	if (!opts->url || !*opts->url)
		return dhg_error_set(DHG_EINVALID, "git output: url is required");
	if (!chart || chart->nfiles == 0)
		return dhg_error_set(DHG_EINVALID, "git output: the chart has no files");
	if (gitout_path_validate(path, "git output path") < 0)
		return DHG_EINVALID;
	for (i = 0; i < chart->nfiles; i++)
		if (!chart->files[i].path || gitout_path_validate(chart->files[i].path, "chart file") < 0)
			return DHG_EINVALID;
	if (opts->branch) {
		snprintf(ref, sizeof(ref), "refs/heads/%s", opts->branch);
		if (strlen(opts->branch) > 200 || git_reference_name_is_valid(&valid, ref) < 0 || !valid)
			return dhg_error_set(DHG_EINVALID, "git output: invalid branch name \"%s\"", opts->branch);
	}
	return 0;
}

int gitout_write(gitout_result *out, const engine_chart *chart, const gitout_options *opts)
{
	gitout__session s;
	char *path = NULL, *message = NULL;
	int error, fresh, opened = 0;

	memset(out, 0, sizeof(*out));
	if (gitout__libgit2_init() < 0)
		return DHG_ERROR;
	path = opts->path && *opts->path ? dhg_strdup(opts->path)
					 : dhg_asprintf("charts/%s", chart && chart->name[0] ? chart->name : "chart");
	if (!path) {
		error = DHG_ENOMEM;
		goto done;
	}
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if ((error = validate(chart, opts, path)) < 0)
		goto done;
	snprintf(out->path, sizeof(out->path), "%s", path);
	if ((error = gitout_message_format(&message, chart->name, chart->version, opts->source_desc,
					   chart->resource_count, chart->digest)) < 0)
		goto done;
	if ((error = gitout__session_open(&s, opts->url, opts->creds, opts->work_dir, opts->lock_timeout_ms)) < 0)
		goto done;
	opened = 1;
	for (fresh = 0;; fresh++) {
		error = write_attempts(out, &s, chart, opts, path, message);
		if (error == 0 || fresh > 0 || error != DHG_ERROR)
			break;
		/* a local failure (corrupted or partial clone): start from a fresh clone once */
		DHG_LOG_WARN("git: write failed, retrying with a fresh clone", "url", s.redacted_url, "error",
			     dhg_error_last()->message);
		if (gitout__session_reset(&s) < 0)
			break;
		out->changed = 0;
		out->attempts = 0;
	}
done:
	if (opened)
		gitout__session_close(&s);
	free(path);
	free(message);
	return error;
}
