#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local unsigned long g_failed; /* allocations jansson asked for that failed */
static void *(*g_alloc)(size_t) = malloc;     /* set once, before any jansson call */

static void *tracking_malloc(size_t n)
{
	void *p = g_alloc(n);
	if (!p)
		g_failed++;
	return p;
}

void dhg_json_track_allocations(void)
{
	dhg_json_track_allocations_with(malloc, free);
}

void dhg_json_track_allocations_with(void *(*alloc)(size_t), void (*release)(void *))
{
	g_alloc = alloc;
	json_set_alloc_funcs(tracking_malloc, release);
}

json_t *dhg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	unsigned long before = g_failed;
	json_t *j = json_loadb(buf, len, flags, err);
	if (g_failed == before)
		return j;
	json_decref(j);
	if (err) {
		snprintf(err->text, sizeof(err->text), "out of memory");
		err->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
	}
	return NULL;
}

char *dhg_json_dumps(const json_t *json, size_t flags)
{
	unsigned long before = g_failed;
	char *s = json_dumps(json, flags);
	if (g_failed == before)
		return s;
	free(s);
	return NULL;
}

int dhg_json_error_is_nomem(const json_error_t *err)
{
	return err && json_error_code(err) == json_error_out_of_memory;
}
