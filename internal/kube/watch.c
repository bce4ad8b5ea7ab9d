#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/client.h"
#include "kube/kube_private.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define DEFAULT_MAX_LINE ((size_t)16 << 20)
#define ERR_BODY_MAX ((size_t)64 << 10)

static const char *const event_names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" };

const char *kube_watch_event_name(int type)
{
	return type >= 0 && type <= KUBE_WATCH_ERROR ? event_names[type] : "UNKNOWN";
}

int kube_watch_event_parse(const char *name)
{
	for (int i = 0; name && i <= KUBE_WATCH_ERROR; i++)
		if (strcmp(name, event_names[i]) == 0)
			return i;
	return -1;
}

/* ---- parser ------------------------------------------------------------------------ */

struct kube_watch_parser {
	dhg_buf line;
	size_t max_line;
	kube_watch_cb cb;
	void *payload;
	unsigned long lineno;
	unsigned long events;
	bool overflow; /* skipping the rest of a too-long line (after reporting it) */
};

int kube_watch_parser_new(kube_watch_parser **out, size_t max_line, kube_watch_cb cb, void *payload)
{
	kube_watch_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return dhg_error_set(DHG_ENOMEM, "watch parser: out of memory");
	p->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
	p->line.max = p->max_line;
	p->cb = cb;
	p->payload = payload;
	*out = p;
	return 0;
}

void kube_watch_parser_free(kube_watch_parser *p)
{
	if (!p)
		return;
	dhg_buf_dispose(&p->line);
	free(p);
}

unsigned long kube_watch_parser_events(const kube_watch_parser *p) { return p->events; }

static int parse_line(kube_watch_parser *p, const char *s, size_t len)
{
	p->lineno++;
	while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	size_t st = 0;
	while (st < len && (s[st] == ' ' || s[st] == '\t'))
		st++;
	if (st == len)
		return 0;
	json_error_t jerr;
	json_t *ev = dhg_json_loadb(s + st, len - st, 0, &jerr);
	if (!ev && dhg_json_error_is_nomem(&jerr))
		return dhg_error_set(DHG_ENOMEM, "watch stream line %lu: out of memory", p->lineno);
	if (!ev)
		return dhg_error_set(DHG_EINVALID, "watch stream line %lu: not JSON: %s", p->lineno, jerr.text);
	int error = 0;
	const char *tname = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int type = kube_watch_event_parse(tname);
	if (type < 0 || !json_is_object(obj)) {
		error = dhg_error_set(DHG_EINVALID, "watch stream line %lu: not a watch event (type %.40s)", p->lineno,
		                      tname ? tname : "missing");
		goto done;
	}
	p->events++;
	error = p->cb ? p->cb(type, obj, p->payload) : 0;
done:
	json_decref(ev);
	return error;
}

int kube_watch_parser_feed(kube_watch_parser *p, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t seg = nl ? (size_t)(nl - data) : len;
		int error = 0;
		if (p->overflow) {
			if (nl)
				p->overflow = false;
		} else if (nl && p->line.len == 0) {
			error = parse_line(p, data, seg); /* whole line in this chunk: no copy */
		} else if (p->line.len + seg > p->max_line) {
			dhg_buf_clear(&p->line);
			p->overflow = !nl;
			p->lineno++;
			error = dhg_error_set(DHG_ETOOBIG, "watch stream line %lu: longer than %zu bytes", p->lineno, p->max_line);
		} else {
			if ((error = dhg_buf_put(&p->line, data, seg)) == 0 && nl) {
				error = parse_line(p, p->line.ptr, p->line.len);
				dhg_buf_clear(&p->line);
			}
		}
		if (error != 0)
			return error;
		if (!nl)
			break;
		data = nl + 1;
		len -= seg + 1;
	}
	return 0;
}

int kube_watch_parser_finish(kube_watch_parser *p)
{
	int error = 0;
	if (p->line.len && !p->overflow)
		error = parse_line(p, p->line.ptr, p->line.len);
	dhg_buf_clear(&p->line);
	p->overflow = false;
	return error;
}

/* ---- watch request ----------------------------------------------------------------- */

typedef struct wctx {
	CURL *e;
	kube_watch_parser *parser;
	long http;
	dhg_buf errbody;
	int cb_rc;           /* non-zero from the callback or parser */
	dhg_error cb_err;    /* error recorded by the parser/callback */
	bool has_cb_err;
	unsigned long delivered;
} wctx;

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	wctx *w = ud;
	size_t len = size * n;
	if (w->http == 0)
		curl_easy_getinfo(w->e, CURLINFO_RESPONSE_CODE, &w->http);
	if (w->http != 200) {
		if (dhg_buf_put(&w->errbody, ptr, len) < 0)
			return 0;
		return len;
	}
	int rc = kube_watch_parser_feed(w->parser, ptr, len);
	w->delivered = kube_watch_parser_events(w->parser);
	if (rc != 0) {
		w->cb_rc = rc;
		if (rc < 0) {
			w->cb_err = *dhg_error_last();
			w->has_cb_err = true;
		}
		return 0; /* abort the transfer */
	}
	return len;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int add_q(dhg_buf *q, const char *k, const char *v)
{
	int error = dhg_buf_printf(q, "&%s=", k);
	for (const char *s = v; !error && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~')
			error = dhg_buf_putc(q, (char)ch);
		else
			error = dhg_buf_printf(q, "%%%02X", ch);
	}
	return error;
}

int kube_client_watch(kube_client *c, const kube_gvr *gvr, const char *ns, const kube_watch_options *opts_in,
                      kube_watch_cb cb, void *payload)
{
	kube_watch_options defopts = KUBE_WATCH_OPTIONS_INIT;
	const kube_watch_options *o = opts_in ? opts_in : &defopts;
	dhg_buf q = DHG_BUF_INIT(16384);
	char *base = NULL, *path = NULL;
	int error = 0;
	if (!gvr || !gvr->version || !gvr->resource)
		return dhg_error_set(DHG_EINVALID, "kube watch: invalid resource");
	if (!(base = kube_client_path(gvr, ns, NULL, NULL))) {
		error = dhg_error_set(DHG_ENOMEM, "kube watch: out of memory");
		goto done;
	}
	error = dhg_buf_puts(&q, "watch=1");
	if (!error && o->resource_version && *o->resource_version)
		error = add_q(&q, "resourceVersion", o->resource_version);
	if (!error && o->allow_bookmarks)
		error = dhg_buf_puts(&q, "&allowWatchBookmarks=true");
	if (!error && o->label_selector && *o->label_selector)
		error = add_q(&q, "labelSelector", o->label_selector);
	if (!error && o->field_selector && *o->field_selector)
		error = add_q(&q, "fieldSelector", o->field_selector);
	if (!error && o->timeout_seconds > 0)
		error = dhg_buf_printf(&q, "&timeoutSeconds=%d", o->timeout_seconds);
	if (error || !(path = dhg_asprintf("%s?%s", base, dhg_buf_cstr(&q)))) {
		error = dhg_error_set(DHG_ENOMEM, "kube watch: out of memory");
		goto done;
	}
	long timeout_ms = o->timeout_seconds > 0 ? (o->timeout_seconds + 60) * 1000L : 0;
	bool reauthed = false;
	for (int attempt = 0;; attempt++) {
		wctx w;
		memset(&w, 0, sizeof(w));
		w.errbody.max = ERR_BODY_MAX;
		if ((error = kube_watch_parser_new(&w.parser, o->max_line, cb, payload)) < 0)
			goto done;
		long http = 0;
		error = kube_client__stream(c, path, timeout_ms, o->cancel, on_data, &w, &w.e, &http);
		if (error == 2) {
			error = 0; /* cut stream: drop the partial last line; the caller resumes */
		} else if (error == 0 && w.cb_rc == 0 && http == 200)
			error = kube_watch_parser_finish(w.parser);
		if (w.cb_rc != 0) {
			error = w.cb_rc;
			if (w.has_cb_err)
				dhg_error_restore(&w.cb_err);
		}
		unsigned long delivered = kube_watch_parser_events(w.parser);
		kube_watch_parser_free(w.parser);
		bool retry = false;
		if (error == 0 && http != 200 && http != 0) {
			char what[400], sp[300];
			kube_client__path_for_message(sp, sizeof(sp), path);
			snprintf(what, sizeof(what), "WATCH %s", sp);
			error = kube_client__status_error(http, w.errbody.ptr, w.errbody.len, what);
			retry = http == 429 || http >= 500;
			if (http == 401 && !reauthed && kube_config__auth_invalidate(kube_client_config(c))) {
				reauthed = true;
				dhg_buf_dispose(&w.errbody);
				attempt--;
				continue;
			}
		} else if (error == DHG_EUNAVAILABLE) {
			retry = delivered == 0; /* connection failed before any event */
		}
		dhg_buf_dispose(&w.errbody);
		if (!retry || attempt >= 5)
			break;
		long wait = 200L << attempt;
		DHG_LOG_DEBUG("kube watch retry", "error", dhg_error_last()->message);
		for (long long end = mono_ms() + wait; mono_ms() < end;) {
			if (o->cancel && atomic_load(o->cancel)) {
				error = 1;
				goto done;
			}
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
done:
	dhg_buf_dispose(&q);
	free(base);
	free(path);
	return error;
}
