#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local unsigned long g_failed; /* allocations jansson asked for that failed */

static void *tracking_malloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		g_failed++;
	return p;
}

void dhg_json_track_allocations(void)
{
	json_set_alloc_funcs(tracking_malloc, free);
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
