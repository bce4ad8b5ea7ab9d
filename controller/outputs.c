/* Adapters from the writer interface (output/writer.h) to the local, git and OCI writers. */
#include "controller/controller_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/git/gitout.h"
#include "output/oci/ociout.h"
#include "util/error.h"
#include "util/str.h"

static const char *str_at(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

static int write_git(output_result *out, void *payload, const output_request *req)
{
	controller_helmchart *c = payload;
	gitout_credentials creds = GITOUT_CREDENTIALS_INIT;
	gitout_options o = GITOUT_OPTIONS_INIT;
	gitout_result res;
	const json_t *author = json_object_get(req->output, "author");
	char *wd = dhg_asprintf("%s/git", c->work_dir);
	int error;

	if (!wd)
		return DHG_ENOMEM;
	if (req->secret_data && (error = gitout_credentials_from_secret(&creds, req->secret_data)) < 0)
		goto done;
	o.url = str_at(req->output, "url");
	o.branch = str_at(req->output, "branch");
	o.path = str_at(req->output, "path");
	o.creds = req->secret_data ? &creds : NULL;
	o.author_name = str_at(author, "name");
	o.author_email = str_at(author, "email");
	o.source_desc = req->source_desc;
	o.work_dir = wd;
	if ((error = gitout_write(&res, req->chart, &o)) < 0)
		goto done;
	out->changed = res.changed;
	snprintf(out->commit, sizeof(out->commit), "%s", res.commit);
	snprintf(out->branch, sizeof(out->branch), "%s", res.branch);
	snprintf(out->path, sizeof(out->path), "%s", res.path);
	snprintf(out->summary, sizeof(out->summary), "git %.7s", res.commit);
done:
	gitout_credentials_dispose(&creds);
	free(wd);
	return error;
}

static int write_oci(output_result *out, void *payload, const output_request *req)
{
	ociout_credentials creds = OCIOUT_CREDENTIALS_INIT;
	ociout_options o = OCIOUT_OPTIONS_INIT;
	ociout_result res;
	ociout_ref ref;
	char *ca = NULL;
	size_t calen = 0;
	int error;
	(void)payload;

	o.repository = str_at(req->output, "repository");
	if ((error = ociout_ref_parse(&ref, o.repository)) < 0)
		return dhg_error_wrap("spec.output.oci.repository");
	if (req->secret_data) {
		error = ociout_credentials_from_secret_data(&creds, &ca, &calen, req->secret_data, ref.host);
		if (error < 0 && error != DHG_ENOTFOUND)
			goto done;
		dhg_error_clear();
	}
	o.username = creds.username;
	o.password = creds.password;
	o.ca_pem = ca;
	o.ca_pem_len = calen;
	o.plain_http = json_is_true(json_object_get(req->output, "insecure"));
	if ((error = ociout_push(&res, req->chart, &o)) < 0)
		goto done;
	out->changed = res.pushed;
	snprintf(out->reference, sizeof(out->reference), "%s", res.reference);
	snprintf(out->digest, sizeof(out->digest), "%s", res.digest);
	snprintf(out->summary, sizeof(out->summary), "oci %.19s", res.digest);
	error = 0;
done:
	ociout_credentials_dispose(&creds);
	free(ca);
	return error;
}

int controller__write_output(output_result *out, controller_helmchart *c, const char *kind, const output_request *req)
{
	output_writer w = { NULL, NULL, NULL };
	if (strcmp(kind, "local") == 0) {
		if (!c->output_root)
			return dhg_error_set(DHG_EINVALID, "spec.output.local: the operator runs without --output-root");
		w = output_local_writer(&c->local);
	} else if (strcmp(kind, "git") == 0) {
		w = c->opts.git_writer.write ? c->opts.git_writer : (output_writer){ "git", write_git, c };
	} else if (strcmp(kind, "oci") == 0) {
		w = c->opts.oci_writer.write ? c->opts.oci_writer : (output_writer){ "oci", write_oci, c };
	}
	if (!w.write)
		return dhg_error_set(DHG_EINVALID, "no writer for output %s", kind);
	return w.write(out, w.payload, req);
}
