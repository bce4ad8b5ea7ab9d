/* libFuzzer target: a Kubernetes watch stream (newline-separated {"type","object"} events from
 * the API server) through kube_watch_parser. The first input byte picks a chunk size; the rest
 * is the stream. Invariant (abort on violation): feeding the stream in one piece or in chunks
 * of that size delivers the same events (type + object, in order) and ends with the same
 * success/failure; a small max_line (64) must only ever fail with DHG_ETOOBIG/DHG_EINVALID.
 * Built and run by tests/fuzz/run.sh. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/object.h"
#include "util/buf.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(int type, json_t *object, void *payload)
{
	dhg_buf *b = payload;
	char *s = json_dumps(object, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	char key[512];
	const char *name = kube_watch_event_name(type);
	if (!name || !object)
		abort();
	(void)kube_object_key(key, sizeof(key), object);
	(void)kube_object_resource_version(object);
	(void)kube_object_labels(object);
	if (s) {
		dhg_buf_printf(b, "%s %s\n", name, s);
		free(s);
	}
	return 0;
}

/* Feeds the stream in pieces of `chunk` (0 = all at once); returns the first error or 0. */
static int run(dhg_buf *events, size_t max_line, const char *s, size_t n, size_t chunk)
{
	kube_watch_parser *p = NULL;
	int error;
	if (kube_watch_parser_new(&p, max_line, on_event, events) < 0)
		return DHG_ENOMEM;
	if (!chunk)
		chunk = n ? n : 1;
	error = 0;
	for (size_t off = 0; off < n && !error; off += chunk)
		error = kube_watch_parser_feed(p, s + off, n - off < chunk ? n - off : chunk);
	if (!error)
		error = kube_watch_parser_finish(p);
	if (kube_watch_parser_events(p) > 0 && events->len == 0)
		abort();
	kube_watch_parser_free(p);
	return error;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dhg_buf a = DHG_BUF_INIT(DHG_BUF_DEFAULT_MAX), b = DHG_BUF_INIT(DHG_BUF_DEFAULT_MAX),
		c = DHG_BUF_INIT(DHG_BUF_DEFAULT_MAX);
	size_t chunk;
	const char *s;
	int ea, eb, ec;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	s = (const char *)data + 1;
	size--;
	ea = run(&a, 0, s, size, 0);
	eb = run(&b, 0, s, size, chunk);
	if (ea != DHG_ENOMEM && eb != DHG_ENOMEM) {
		if ((ea == 0) != (eb == 0) || ea != eb)
			abort();
		if (a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0))
			abort();
	}
	ec = run(&c, 64, s, size, chunk);
	if (ec != 0 && ec != DHG_ETOOBIG && ec != DHG_EINVALID && ec != DHG_ENOMEM)
		abort();
	dhg_buf_dispose(&a);
	dhg_buf_dispose(&b);
	dhg_buf_dispose(&c);
	dhg_error_clear();
	return 0;
}
