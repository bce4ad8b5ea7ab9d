/* Test driver: concurrent gitout_write() calls from threads of one process.
 *   gitout_threads --url-a URL --url-b URL --work-dir D --threads N --writes M
 *                  --username U --password-file F
 * Thread i writes chart "t<i>" (path charts/t<i>) M times with a new version each time, to
 * url-a for even i and url-b for odd i, all sharing one work dir (so threads on the same URL
 * share a clone and must be serialized by its lock). Prints "ok threads=N writes=M commits=K".
 * Exit: 0 ok, 2 usage, 3 a write failed. */
#include <pthread.h>
#include <string.h>

#include "gitout_common.h"

typedef struct job {
	int id, writes, commits, failed;
	const char *url, *work_dir;
	const gitout_credentials *creds;
	char err[1024];
} job;

static void *run(void *arg)
{
	job *j = arg;
	char path[64], data[128], fname[64];
	engine_file files[2];
	engine_chart c;
	gitout_options o = GITOUT_OPTIONS_INIT;
	gitout_result r;
	int w;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "t%d", j->id);
	snprintf(path, sizeof(path), "charts/t%d", j->id);
	snprintf(fname, sizeof(fname), "templates/cm-configmap.yaml");
	o.url = j->url;
	o.work_dir = j->work_dir;
	o.creds = j->creds;
	o.path = path;
	o.branch = "main";
	o.max_attempts = 20;
	for (w = 1; w <= j->writes; w++) {
		snprintf(c.version, sizeof(c.version), "0.0.%d", w);
		snprintf(data, sizeof(data), "thread %d write %d\n", j->id, w);
		files[0].path = "Chart.yaml";
		files[0].data = "apiVersion: v2\n";
		files[0].len = strlen(files[0].data);
		files[1].path = fname;
		files[1].data = data;
		files[1].len = strlen(data);
		c.files = files;
		c.nfiles = 2;
		if (gitout_write(&r, &c, &o) < 0) {
			snprintf(j->err, sizeof(j->err), "%s", dhg_error_last()->message);
			j->failed = 1;
			return NULL;
		}
		j->commits += r.changed;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *url_a = NULL, *url_b = NULL, *work = NULL;
	long n = 4, m = 3;
	gitout_credentials cr = GITOUT_CREDENTIALS_INIT;
	pthread_t th[64];
	job jobs[64];
	int i, rc = 0, commits = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--url-a")) url_a = v;
		else if (!strcmp(k, "--url-b")) url_b = v;
		else if (!strcmp(k, "--work-dir")) work = v;
		else if (!strcmp(k, "--threads")) { if (dhg_parse_long(&n, v, 1, 64) < 0) i = argc; }
		else if (!strcmp(k, "--writes")) { if (dhg_parse_long(&m, v, 1, 1000) < 0) i = argc; }
		else if (!strcmp(k, "--username")) cr.username = dhg_strdup(v);
		else if (!strcmp(k, "--password-file")) cr.password = read_opt_file(v);
		else i = argc;
	}
	if (i != argc || !url_a || !url_b || !work) {
		fprintf(stderr, "usage: gitout_threads --url-a URL --url-b URL --work-dir D [--threads N] [--writes M]\n");
		gitout_credentials_dispose(&cr);
		return 2;
	}
	if (cr.password) {
		size_t len = strlen(cr.password);
		while (len && cr.password[len - 1] == '\n') cr.password[--len] = '\0';
	}
	for (i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].id = i;
		jobs[i].writes = (int)m;
		jobs[i].url = i % 2 ? url_b : url_a;
		jobs[i].work_dir = work;
		jobs[i].creds = &cr;
		if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			n = i;
			rc = 3;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].failed) {
			fprintf(stderr, "error: thread %d: %s\n", i, jobs[i].err);
			rc = 3;
		}
		commits += jobs[i].commits;
	}
	if (rc == 0)
		printf("ok threads=%ld writes=%ld commits=%d\n", n, m, commits);
	gitout_credentials_dispose(&cr);
	return rc;
}
