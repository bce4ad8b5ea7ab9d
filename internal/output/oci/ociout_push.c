/* Pushing a chart to an OCI registry (distribution spec), as `helm push` does. */
#include "output/oci/ociout.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "output/oci/ociout_internal.h"
#include "output/package/pkgchart.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_BODY ((size_t)4 << 20)
#define MAX_CHALLENGES 8
#define MAX_UPLOAD_SESSIONS 3
#define ACCEPT_MANIFESTS                                                                              \
	"Accept: application/vnd.oci.image.manifest.v1+json, "                                        \
	"application/vnd.docker.distribution.manifest.v2+json"

enum { AUTH_NONE = 0, AUTH_BASIC, AUTH_BEARER };

typedef struct client {
	CURL *curl;
	const ociout_options *opts;
	char base[300];  /* "https://host" */
	char host[256];
	char repo[1024]; /* repository name: path/chart */
	ociout_credentials creds;
	char *authz;     /* "Authorization: ..." header (owned, wiped on free) */
	int auth_kind;
	int max_attempts;
	long backoff_ms;
	long timeout_ms;
	unsigned rnd;
} client;

typedef struct resp {
	long status;
	dhg_buf body;
	char location[4096];
	char digest[DHG_DIGEST_STR_SIZE + 16];
	char www[MAX_CHALLENGES][2048];
	size_t nwww;
	int header_overflow;
	long retry_after_ms; /* from Retry-After (seconds form), capped; 0 when absent */
} resp;

static void resp_reset(resp *r)
{
	r->status = 0;
	dhg_buf_clear(&r->body);
	r->location[0] = 0;
	r->digest[0] = 0;
	r->nwww = 0;
	r->header_overflow = 0;
	r->retry_after_ms = 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *payload)
{
	resp *r = payload;
	size_t n = size * nmemb;
	if (dhg_buf_put(&r->body, ptr, n) < 0)
		return 0; /* CURLE_WRITE_ERROR */
	return n;
}

static void header_value(char *out, size_t size, const char *v, size_t n, int *overflow)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n >= size) {
		*overflow = 1;
		n = size - 1;
	}
	memcpy(out, v, n);
	out[n] = 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *payload)
{
	resp *r = payload;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) { /* a new response (e.g. after 100 Continue) */
		r->location[0] = 0;
		r->digest[0] = 0;
		r->nwww = 0;
		return n;
	}
	if (n > 9 && strncasecmp(ptr, "Location:", 9) == 0)
		header_value(r->location, sizeof(r->location), ptr + 9, n - 9, &r->header_overflow);
	else if (n > 22 && strncasecmp(ptr, "Docker-Content-Digest:", 22) == 0)
		header_value(r->digest, sizeof(r->digest), ptr + 22, n - 22, &r->header_overflow);
	else if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		char v[32];
		int of = 0;
		long secs;
		header_value(v, sizeof(v), ptr + 12, n - 12, &of);
		if (!of && dhg_parse_long(&secs, v, 0, 30) == 0) /* the HTTP-date form is ignored */
			r->retry_after_ms = secs * 1000;
	} else if (n > 17 && strncasecmp(ptr, "WWW-Authenticate:", 17) == 0 && r->nwww < MAX_CHALLENGES) {
		header_value(r->www[r->nwww], sizeof(r->www[0]), ptr + 17, n - 17, &r->header_overflow);
		r->nwww++;
	}
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0) {
	}
}

static long backoff(client *c, int attempt)
{
	long d = c->backoff_ms;
	for (int i = 1; i < attempt && d < 10000; i++)
		d *= 2;
	c->rnd = c->rnd * 1103515245u + 12345u;
	/* jitter: 50%..150% */
	return d / 2 + (long)((c->rnd >> 8) % (unsigned)(d + 1));
}

/* "METHOD /path" of a URL for messages: no scheme/host, no query (upload state tokens). */
static void url_for_msg(char *out, size_t size, const char *method, const char *url)
{
	char *red = dhg_url_redact(url);
	const char *p = red ? red : "";
	const char *s = strstr(p, "://");
	if (s) {
		s = strchr(s + 3, '/');
		p = s ? s : "/";
	}
	snprintf(out, size, "%s %s", method, p);
	free(red);
}

/* The registry's error ("CODE: message") from a JSON error body, into out (may be empty). */
static void registry_error(char *out, size_t size, const resp *r)
{
	json_t *j, *e;
	out[0] = 0;
	if (!r->body.len)
		return;
	j = dhg_json_loadb(r->body.ptr, r->body.len, 0, NULL);
	e = json_array_get(json_object_get(j, "errors"), 0);
	if (e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		snprintf(out, size, " (%.40s%s%.160s)", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	}
	json_decref(j);
}

/* Turns an unexpected HTTP status into an error naming the request. */
static int status_error(client *c, const char *method, const char *url, const resp *r)
{
	char what[512], reg[256];
	int code = dhg_error_code_for_http(r->status, NULL);
	url_for_msg(what, sizeof(what), method, url);
	registry_error(reg, sizeof(reg), r);
	/* DHG_ECONFLICT means "the tag exists with another digest" in this module (ociout.h), which
	 * a registry's 409 is not. */
	if (code == DHG_ECONFLICT || code == DHG_EEXISTS)
		code = DHG_ERROR;
	return dhg_error_set_http(code, (int)r->status, NULL, "registry %s: %s: HTTP %ld%s%s", c->host, what,
				  r->status, reg, r->status == 401 ? ": authentication failed" : "");
}

static int perform(client *c, resp *r, const char *method, const char *url, struct curl_slist *hdrs,
		   const void *body, size_t len, int with_auth, CURLcode *cc)
{
	CURL *h = c->curl;
	struct curl_slist *all = NULL;
	int error = 0;

	curl_easy_reset(h);
	resp_reset(r);
	for (struct curl_slist *s = hdrs; s; s = s->next)
		if (!(all = curl_slist_append(all, s->data))) {
			error = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
	if (with_auth && c->authz && !(all = curl_slist_append(all, c->authz))) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if (!(all = curl_slist_append(all, "Expect:")) || !(all = curl_slist_append(all, "User-Agent: dhg"))) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, all);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (c->opts->insecure_skip_tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->opts->ca_pem && c->opts->ca_pem_len) {
		struct curl_blob blob = { (void *)c->opts->ca_pem, c->opts->ca_pem_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* the given CA only, as helm --ca-file */
	}
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
	}
	*cc = curl_easy_perform(h);
	if (*cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
done:
	curl_slist_free_all(all);
	return error;
}

static int set_authz(client *c, int kind, const char *scheme, const char *value)
{
	char *h = dhg_asprintf("Authorization: %s %s", scheme, value);
	if (!h)
		return DHG_ENOMEM;
	if (c->authz) {
		memset(c->authz, 0, strlen(c->authz));
		free(c->authz);
	}
	c->authz = h;
	c->auth_kind = kind;
	return 0;
}

static int basic_value(char **out, const ociout_credentials *cr)
{
	char *up = dhg_asprintf("%s:%s", cr->username, cr->password);
	int error;
	*out = NULL;
	if (!up)
		return DHG_ENOMEM;
	error = ociout__base64_encode(out, up, strlen(up));
	memset(up, 0, strlen(up));
	free(up);
	return error;
}

static int append_query(dhg_buf *u, const char *key, const char *value, CURL *h)
{
	char *esc = curl_easy_escape(h, value, 0);
	int error;
	if (!esc)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	error = dhg_buf_printf(u, "%c%s=%s", strchr(dhg_buf_cstr(u), '?') ? '&' : '?', key, esc);
	curl_free(esc);
	return error;
}

/* Bearer token flow: GET realm?service=…&scope=… with Basic credentials when we have them. */
static int fetch_token(client *c, const ociout_challenge *ch)
{
	dhg_buf url = DHG_BUF_INIT(8192);
	struct curl_slist *hdrs = NULL;
	resp r;
	char *want = NULL, *basic = NULL, *hdr = NULL;
	json_t *j = NULL;
	const char *tok;
	CURLcode cc = CURLE_OK;
	int error = 0;

	memset(&r, 0, sizeof(r));
	r.body.max = MAX_BODY;
	if (!dhg_str_has_prefix(ch->realm, "https://") && !dhg_str_has_prefix(ch->realm, "http://"))
		return dhg_error_set(DHG_EUNAUTHORIZED, "registry %s: token realm is not an http(s) URL", c->host);
	if (!(want = dhg_asprintf("repository:%s:pull,push", c->repo))) {
		error = DHG_ENOMEM;
		goto done;
	}
	if ((error = dhg_buf_puts(&url, ch->realm)) < 0 ||
	    (ch->service[0] && (error = append_query(&url, "service", ch->service, c->curl)) < 0) ||
	    (error = append_query(&url, "scope", want, c->curl)) < 0 ||
	    (ch->scope[0] && strcmp(ch->scope, want) != 0 &&
	     (error = append_query(&url, "scope", ch->scope, c->curl)) < 0))
		goto done;
	if (c->creds.username) {
		if ((error = basic_value(&basic, &c->creds)) < 0 ||
		    !(hdr = dhg_asprintf("Authorization: Basic %s", basic)) || !(hdrs = curl_slist_append(NULL, hdr))) {
			error = error < 0 ? error : dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
	}
	for (int attempt = 1;; attempt++) {
		if ((error = perform(c, &r, "GET", dhg_buf_cstr(&url), hdrs, NULL, 0, 0, &cc)) < 0)
			goto done;
		if ((cc != CURLE_OK || r.status >= 500 || r.status == 429) && attempt < c->max_attempts) {
			sleep_ms(backoff(c, attempt));
			continue;
		}
		break;
	}
	if (cc != CURLE_OK) {
		error = dhg_error_set(DHG_EUNAVAILABLE, "registry %s: token server: %s", c->host, curl_easy_strerror(cc));
		goto done;
	}
	if (r.status == 401 || r.status == 403) {
		error = dhg_error_set_http(DHG_EUNAUTHORIZED, (int)r.status, NULL,
					   "registry %s: the token server rejected the %s (HTTP %ld)", c->host,
					   c->creds.username ? "credentials" : "anonymous request", r.status);
		goto done;
	}
	if (r.status != 200) {
		error = status_error(c, "GET", dhg_buf_cstr(&url), &r);
		dhg_error_wrap("token server");
		goto done;
	}
	j = dhg_json_loadb(r.body.ptr ? r.body.ptr : "", r.body.len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !tok[0])
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !tok[0] || strpbrk(tok, "\r\n")) {
		error = dhg_error_set(DHG_EUNAUTHORIZED, "registry %s: the token server's answer has no token", c->host);
		goto done;
	}
	error = set_authz(c, AUTH_BEARER, "Bearer", tok);
done:
	json_decref(j);
	if (hdr) {
		memset(hdr, 0, strlen(hdr));
		free(hdr);
	}
	if (basic) {
		memset(basic, 0, strlen(basic));
		free(basic);
	}
	curl_slist_free_all(hdrs);
	if (r.body.ptr)
		memset(r.body.ptr, 0, r.body.len);
	dhg_buf_dispose(&r.body);
	dhg_buf_dispose(&url);
	free(want);
	return error;
}

/* Handles a 401: picks a challenge we support and sets c->authz. */
static int authenticate(client *c, const resp *r)
{
	ociout_challenge ch[MAX_CHALLENGES];
	size_t n = 0;
	const ociout_challenge *bearer = NULL, *basic = NULL;
	char *val = NULL;
	int error;

	for (size_t i = 0; i < r->nwww; i++)
		if (ociout_challenges_parse(ch, MAX_CHALLENGES, &n, r->www[i]) < 0)
			return dhg_error_wrap("registry %s", c->host);
	for (size_t i = 0; i < n; i++) {
		if (!bearer && strcmp(ch[i].scheme, "bearer") == 0)
			bearer = &ch[i];
		if (!basic && strcmp(ch[i].scheme, "basic") == 0)
			basic = &ch[i];
	}
	if (bearer) {
		if (!bearer->realm[0])
			return dhg_error_set(DHG_EUNAUTHORIZED, "registry %s: Bearer challenge without realm", c->host);
		DHG_LOG_DEBUG("oci: fetching a bearer token", "registry", c->host, "service", bearer->service);
		return fetch_token(c, bearer);
	}
	if (basic) {
		if (!c->creds.username)
			return dhg_error_set_http(DHG_EUNAUTHORIZED, 401, NULL,
						  "registry %s requires authentication and no credentials were given "
						  "(--username/--password-stdin or a docker config)",
						  c->host);
		if (c->auth_kind == AUTH_BASIC)
			return dhg_error_set_http(DHG_EUNAUTHORIZED, 401, NULL,
						  "registry %s: authentication failed for user '%s'", c->host,
						  c->creds.username);
		if ((error = basic_value(&val, &c->creds)) < 0)
			return error;
		error = set_authz(c, AUTH_BASIC, "Basic", val);
		memset(val, 0, strlen(val));
		free(val);
		return error;
	}
	return dhg_error_set_http(DHG_EUNAUTHORIZED, 401, NULL,
				  "registry %s: HTTP 401 without a supported WWW-Authenticate challenge", c->host);
}

/* One request with auth and retries. On 0, r->status is the final status (any; the caller
 * decides). Connection errors / 5xx / 429 are retried, then DHG_EUNAVAILABLE. A 401 after
 * authenticating is returned as status 401 for the caller's message. */
static int request(client *c, resp *r, const char *method, const char *url, struct curl_slist *hdrs,
		   const void *body, size_t len)
{
	int attempt = 1, reauth = 0, error;
	int with_auth = dhg_str_has_prefix(url, c->base) && url[strlen(c->base)] == '/';
	char what[512];
	CURLcode cc;

	for (;;) {
		if ((error = perform(c, r, method, url, hdrs, body, len, with_auth, &cc)) < 0)
			return error;
		if (cc == CURLE_OK && dhg_log__min_level <= DHG_LOG_DEBUG) {
			char st[16];
			snprintf(st, sizeof(st), "%ld", r->status);
			url_for_msg(what, sizeof(what), method, url);
			DHG_LOG_DEBUG("oci: request", "registry", c->host, "request", what, "status", st);
		}
		if (cc == CURLE_OK && r->status == 401 && with_auth && reauth == 0) {
			reauth = 1;
			if ((error = authenticate(c, r)) < 0)
				return error;
			continue;
		}
		url_for_msg(what, sizeof(what), method, url);
		if (cc == CURLE_OK && r->header_overflow)
			return dhg_error_set(DHG_ERROR, "registry %s: %s: a response header is too long", c->host, what);
		if (cc == CURLE_OK && r->status == 401 && with_auth) {
			if (c->creds.username)
				return dhg_error_set_http(DHG_EUNAUTHORIZED, 401, NULL,
							  "registry %s: authentication failed for user '%s' (%s)", c->host,
							  c->creds.username, what);
			return dhg_error_set_http(DHG_EUNAUTHORIZED, 401, NULL,
						  "registry %s requires authentication and no credentials were given (%s)",
						  c->host, what);
		}
		if (cc == CURLE_OK && r->status != 429 && (r->status < 500 || r->status == 501))
			return 0;
		if (attempt >= c->max_attempts) {
			if (cc != CURLE_OK) {
				int code = (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
					    cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SSL_CERTPROBLEM)
						   ? DHG_ERROR
						   : DHG_EUNAVAILABLE;
				return dhg_error_set(code, "registry %s: %s: %s (after %d attempt%s)", c->host, what,
						     curl_easy_strerror(cc), attempt, attempt == 1 ? "" : "s");
			}
			(void)status_error(c, method, url, r);
			return dhg_error_wrap("after %d attempts", attempt);
		}
		/* TLS verification failures are not transient */
		if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
			return dhg_error_set(DHG_ERROR, "registry %s: %s: %s", c->host, what, curl_easy_strerror(cc));
		{
			char st[16];
			snprintf(st, sizeof(st), "%ld", r->status);
			DHG_LOG_WARN("oci: retrying request", "registry", c->host, "request", what, "status", st, "error",
				     cc != CURLE_OK ? curl_easy_strerror(cc) : "");
		}
		{
			long d = backoff(c, attempt);
			sleep_ms(cc == CURLE_OK && r->retry_after_ms > d ? r->retry_after_ms : d);
		}
		attempt++;
	}
}

/* Absolute URL for a Location header value. */
static int resolve_location(char **out, client *c, const char *loc)
{
	*out = NULL;
	if (!loc[0])
		return dhg_error_set(DHG_ERROR, "registry %s: upload response without Location", c->host);
	if (dhg_str_has_prefix(loc, "http://") || dhg_str_has_prefix(loc, "https://"))
		*out = dhg_strdup(loc);
	else if (loc[0] == '/')
		*out = dhg_asprintf("%s%s", c->base, loc);
	else
		return dhg_error_set(DHG_ERROR, "registry %s: unsupported upload Location", c->host);
	return *out ? 0 : DHG_ENOMEM;
}

static int blob_exists(client *c, resp *r, const char *digest, int *exists)
{
	char *url = dhg_asprintf("%s/v2/%s/blobs/%s", c->base, c->repo, digest);
	int error;
	*exists = 0;
	if (!url)
		return DHG_ENOMEM;
	if ((error = request(c, r, "HEAD", url, NULL, NULL, 0)) == 0) {
		if (r->status == 200)
			*exists = 1;
		else if (r->status != 404)
			error = status_error(c, "HEAD", url, r);
	}
	free(url);
	return error;
}

static int with_digest(char **out, const char *loc, const char *digest)
{
	*out = dhg_asprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest);
	return *out ? 0 : DHG_ENOMEM;
}

/* Best effort: tell the registry we abandon an upload session (DELETE <location>). */
static void cancel_upload(client *c, const char *loc)
{
	resp r;
	CURLcode cc;
	dhg_error saved = *dhg_error_last(); /* keep the caller's error */
	memset(&r, 0, sizeof(r));
	r.body.max = MAX_BODY;
	(void)perform(c, &r, "DELETE", loc, NULL, NULL, 0,
		      dhg_str_has_prefix(loc, c->base) && loc[strlen(c->base)] == '/', &cc);
	dhg_buf_dispose(&r.body);
	dhg_error_restore(&saved);
}

/* One upload session: POST, then monolithic PUT (or PATCH chunks + PUT). *retry_session is set
 * when the session was lost (404) or the registry refuses monolithic uploads (*chunked set). */
static int upload_session(client *c, resp *r, const char *digest, const unsigned char *data, size_t len,
			  int *chunked, int *retry_session)
{
	char *post = dhg_asprintf("%s/v2/%s/blobs/uploads/", c->base, c->repo);
	char *loc = NULL, *put = NULL;
	struct curl_slist *octet = NULL;
	int error = 0;

	*retry_session = 0;
	if (!post || !(octet = curl_slist_append(NULL, "Content-Type: application/octet-stream"))) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if ((error = request(c, r, "POST", post, NULL, NULL, 0)) < 0)
		goto done;
	if (r->status != 202) {
		error = status_error(c, "POST", post, r);
		goto done;
	}
	if ((error = resolve_location(&loc, c, r->location)) < 0)
		goto done;
	if (!*chunked) {
		if ((error = with_digest(&put, loc, digest)) < 0)
			goto done;
		if ((error = request(c, r, "PUT", put, octet, data, len)) < 0)
			goto done;
		if (r->status == 201)
			goto done;
		if (r->status == 404) {
			*retry_session = 1;
			error = status_error(c, "PUT", put, r);
			goto done;
		}
		if (r->status != 401 && r->status != 403 && r->status >= 400) {
			DHG_LOG_INFO("oci: monolithic upload refused, using chunks", "registry", c->host, "blob", digest);
			*chunked = 1;
			*retry_session = 1;
			error = status_error(c, "PUT", put, r);
			cancel_upload(c, loc);
			goto done;
		}
		error = status_error(c, "PUT", put, r);
		goto done;
	}
	{
		size_t chunk = c->opts->chunk_size ? c->opts->chunk_size : ((size_t)4 << 20);
		size_t off = 0;
		do {
			size_t n = len - off < chunk ? len - off : chunk;
			char range[96];
			struct curl_slist *h = NULL;
			snprintf(range, sizeof(range), "Content-Range: %zu-%zu", off, off + (n ? n - 1 : 0));
			if (!(h = curl_slist_append(NULL, "Content-Type: application/octet-stream")) ||
			    (n && !curl_slist_append(h, range))) {
				curl_slist_free_all(h);
				error = dhg_error_set(DHG_ENOMEM, "out of memory");
				goto done;
			}
			error = request(c, r, "PATCH", loc, h, data + off, n);
			curl_slist_free_all(h);
			if (error < 0)
				goto done;
			if (r->status != 202) {
				*retry_session = r->status == 404 || r->status == 416;
				error = status_error(c, "PATCH", loc, r);
				goto done;
			}
			free(loc);
			loc = NULL;
			if ((error = resolve_location(&loc, c, r->location)) < 0)
				goto done;
			off += n;
		} while (off < len);
		if ((error = with_digest(&put, loc, digest)) < 0)
			goto done;
		if ((error = request(c, r, "PUT", put, octet, NULL, 0)) < 0)
			goto done;
		if (r->status != 201) {
			*retry_session = r->status == 404;
			error = status_error(c, "PUT", put, r);
		}
	}
done:
	curl_slist_free_all(octet);
	free(post);
	free(loc);
	free(put);
	return error;
}

static int push_blob(client *c, resp *r, const char *digest, const unsigned char *data, size_t len,
		     int *uploaded)
{
	int exists = 0, error = 0, chunked = c->opts->force_chunked ? 1 : 0, retry = 0;

	*uploaded = 0;
	if ((error = blob_exists(c, r, digest, &exists)) < 0)
		return error;
	if (exists) {
		DHG_LOG_DEBUG("oci: blob already present", "registry", c->host, "blob", digest);
		return 0;
	}
	for (int s = 0; s < MAX_UPLOAD_SESSIONS + 1; s++) {
		error = upload_session(c, r, digest, data, len, &chunked, &retry);
		if (error == 0 || !retry)
			break;
	}
	if (error < 0)
		return error;
	/* confirm before any tag can point at it */
	if ((error = blob_exists(c, r, digest, &exists)) < 0)
		return error;
	if (!exists)
		return dhg_error_set(DHG_ERROR, "registry %s: blob %s missing after its upload", c->host, digest);
	*uploaded = 1;
	return 0;
}

/* *existing gets the tag's manifest digest, or "" when the tag does not exist. */
static int tag_digest(client *c, resp *r, const char *tag, char existing[DHG_DIGEST_STR_SIZE])
{
	char *url = dhg_asprintf("%s/v2/%s/manifests/%s", c->base, c->repo, tag);
	struct curl_slist *acc = NULL;
	int error = 0;

	existing[0] = 0;
	if (!url || !(acc = curl_slist_append(NULL, ACCEPT_MANIFESTS))) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if ((error = request(c, r, "HEAD", url, acc, NULL, 0)) < 0)
		goto done;
	if (r->status == 404)
		goto done;
	if (r->status != 200) {
		error = status_error(c, "HEAD", url, r);
		goto done;
	}
	if (dhg_str_has_prefix(r->digest, "sha256:") && strlen(r->digest) == DHG_DIGEST_STR_SIZE - 1) {
		snprintf(existing, DHG_DIGEST_STR_SIZE, "%s", r->digest);
		goto done;
	}
	/* no usable digest header: hash the manifest itself */
	if ((error = request(c, r, "GET", url, acc, NULL, 0)) < 0)
		goto done;
	if (r->status != 200) {
		error = status_error(c, "GET", url, r);
		goto done;
	}
	error = dhg_sha256_str(existing, r->body.ptr ? r->body.ptr : "", r->body.len);
done:
	curl_slist_free_all(acc);
	free(url);
	return error;
}

static int load_credentials(client *c)
{
	const ociout_options *o = c->opts;
	if (o->username && o->username[0]) {
		c->creds.username = dhg_strdup(o->username);
		c->creds.password = dhg_strdup(o->password ? o->password : "");
		if (!c->creds.username || !c->creds.password)
			return DHG_ENOMEM;
		return 0;
	}
	if (o->docker_config && o->docker_config_len) {
		int error = ociout_credentials_from_docker_config(&c->creds, o->docker_config, o->docker_config_len,
								  c->host);
		if (error == DHG_ENOTFOUND) {
			DHG_LOG_DEBUG("oci: no credentials for the registry in the docker config", "registry", c->host);
			dhg_error_clear();
			return 0;
		}
		return error;
	}
	return 0;
}

int ociout_push(ociout_result *out, const engine_chart *chart, const ociout_options *opts)
{
	client c;
	resp r;
	ociout_ref ref;
	char tag[129], existing[DHG_DIGEST_STR_SIZE], cfg_digest[DHG_DIGEST_STR_SIZE];
	char layer_digest[DHG_DIGEST_STR_SIZE], man_digest[DHG_DIGEST_STR_SIZE];
	unsigned char *tgz = NULL;
	size_t tgz_len = 0, cfg_len = 0, man_len = 0;
	char *cfg = NULL, *man = NULL, *url = NULL;
	json_t *cfgj = NULL;
	json_error_t jerr;
	struct curl_slist *ctype = NULL;
	int error = 0, up = 0;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	r.body.max = MAX_BODY;
	c.opts = opts;
	if (!opts || !opts->repository)
		return dhg_error_set(DHG_EINVALID, "oci: no repository given");
	if ((error = ociout_ref_parse(&ref, opts->repository)) < 0)
		return error;
	if ((error = ociout_tag_from_version(tag, chart->version)) < 0)
		return error;
	snprintf(c.host, sizeof(c.host), "%s", ref.host);
	snprintf(c.base, sizeof(c.base), "%s://%s", opts->plain_http ? "http" : "https", ref.host);
	if ((size_t)snprintf(c.repo, sizeof(c.repo), "%s%s%s", ref.path, ref.path[0] ? "/" : "", chart->name) >=
	    sizeof(c.repo))
		return dhg_error_set(DHG_EINVALID, "oci: repository name too long");
	if ((size_t)snprintf(out->reference, sizeof(out->reference), "%s/%s:%s", ref.host, c.repo, tag) >=
	    sizeof(out->reference))
		return dhg_error_set(DHG_EINVALID, "oci: reference too long");
	c.max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 5;
	c.backoff_ms = opts->backoff_ms > 0 ? opts->backoff_ms : 200;
	c.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 120000;
	c.rnd = (unsigned)time(NULL) ^ (unsigned)(size_t)&c;

	/* package + config + manifest: all reproducible */
	if ((error = pkgchart_tgz_build(&tgz, &tgz_len, chart)) < 0 ||
	    (error = pkgchart_config_build(&cfg, &cfg_len, chart)) < 0)
		goto done;
	if ((error = dhg_sha256_str(layer_digest, tgz, tgz_len)) < 0 ||
	    (error = dhg_sha256_str(cfg_digest, cfg, cfg_len)) < 0)
		goto done;
	if (!(cfgj = dhg_json_loadb(cfg, cfg_len, 0, &jerr))) {
		/* our own JSON: jansson's parse errors here come from allocations failing */
		error = dhg_error_set(DHG_ENOMEM, "chart %s: out of memory reading back its config JSON (%s)", chart->name,
				      jerr.text);
		goto done;
	}
	if ((error = ociout_manifest_build(&man, &man_len, cfg_digest, cfg_len, layer_digest, tgz_len, cfgj)) < 0 ||
	    (error = dhg_sha256_str(man_digest, man, man_len)) < 0)
		goto done;
	snprintf(out->digest, sizeof(out->digest), "%s", man_digest);
	snprintf(out->layer_digest, sizeof(out->layer_digest), "%s", layer_digest);

	if ((error = load_credentials(&c)) < 0)
		goto done;
	if (!(c.curl = curl_easy_init())) {
		error = dhg_error_set(DHG_ENOMEM, "oci: cannot create a curl handle (out of memory)");
		goto done;
	}

	/* never overwrite a published version */
	if ((error = tag_digest(&c, &r, tag, existing)) < 0)
		goto done;
	if (existing[0]) {
		if (strcmp(existing, man_digest) == 0) {
			DHG_LOG_INFO("oci: already pushed", "reference", out->reference, "digest", man_digest);
			goto done;
		}
		error = dhg_error_set(DHG_ECONFLICT,
				      "%s already exists with digest %s; refusing to overwrite it with %s "
				      "(bump the chart version)",
				      out->reference, existing, man_digest);
		goto done;
	}
	if ((error = push_blob(&c, &r, cfg_digest, (const unsigned char *)cfg, cfg_len, &up)) < 0)
		goto done;
	out->blobs_uploaded += up;
	if ((error = push_blob(&c, &r, layer_digest, tgz, tgz_len, &up)) < 0)
		goto done;
	out->blobs_uploaded += up;

	/* someone may have tagged it meanwhile */
	if ((error = tag_digest(&c, &r, tag, existing)) < 0)
		goto done;
	if (existing[0]) {
		if (strcmp(existing, man_digest) == 0)
			goto done;
		error = dhg_error_set(DHG_ECONFLICT, "%s was pushed by someone else meanwhile (digest %s)",
				      out->reference, existing);
		goto done;
	}
	if (!(url = dhg_asprintf("%s/v2/%s/manifests/%s", c.base, c.repo, tag)) ||
	    !(ctype = curl_slist_append(NULL, "Content-Type: " OCIOUT_MEDIA_MANIFEST))) {
		error = dhg_error_set(DHG_ENOMEM, "out of memory");
		goto done;
	}
	if ((error = request(&c, &r, "PUT", url, ctype, man, man_len)) < 0)
		goto done;
	if (r.status != 201 && r.status != 200) {
		error = status_error(&c, "PUT", url, &r);
		goto done;
	}
	if (r.digest[0] && strcmp(r.digest, man_digest) != 0) {
		error = dhg_error_set(DHG_ERROR, "registry %s stored the manifest as %s, expected %s", c.host, r.digest,
				      man_digest);
		goto done;
	}
	out->pushed = 1;
	DHG_LOG_INFO("oci: pushed", "reference", out->reference, "digest", man_digest);
done:
	if (error < 0 && error != DHG_ECONFLICT)
		out->pushed = 0;
	if (c.curl)
		curl_easy_cleanup(c.curl);
	if (c.authz) {
		memset(c.authz, 0, strlen(c.authz));
		free(c.authz);
	}
	ociout_credentials_dispose(&c.creds);
	dhg_buf_dispose(&r.body);
	curl_slist_free_all(ctype);
	json_decref(cfgj);
	free(url);
	free(man);
	free(cfg);
	free(tgz);
	return error;
}
