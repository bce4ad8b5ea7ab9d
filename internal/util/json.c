#include "util/json.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local unsigned long g_failed; /* allocations jansson asked for that failed */
static void *(*g_alloc)(size_t) = malloc;     /* set once, before any jansson call */
static void (*g_release)(void *) = free;
static int g_use_reserve;
static _Thread_local int g_in_parse; /* within dhg_json_loadb(): the reserve may serve */

/* A failed allocation is counted; within dhg_json_loadb() it is then served from a reserve:
 * jansson 2.14's parser does not expect NULL everywhere (its lexer asserts, lex_scan_string,
 * after a failed append: an abort found by failing allocations of dhg-operator in turn), so
 * it gets memory, and dhg_json_loadb() drops the document and fails. Only there: memory
 * jansson hands out elsewhere (json_dumps' text) is freed with free() by its callers. The
 * reserve is a bump region, reset when its last block is freed; it is never touched unless an
 * allocation fails. A request the reserve cannot hold either gets NULL. */
#define RESERVE ((size_t)1 << 20)
static _Alignas(16) unsigned char g_reserve[RESERVE];
static size_t g_reserve_used, g_reserve_blocks; /* under g_reserve_mu */
static pthread_mutex_t g_reserve_mu = PTHREAD_MUTEX_INITIALIZER;

static void *reserve_alloc(size_t n)
{
	void *p = NULL;
	n = (n + 15) & ~(size_t)15;
	pthread_mutex_lock(&g_reserve_mu);
	if (n && n <= RESERVE - g_reserve_used) {
		p = g_reserve + g_reserve_used;
		g_reserve_used += n;
		g_reserve_blocks++;
	}
	pthread_mutex_unlock(&g_reserve_mu);
	return p;
}

static void *tracking_malloc(size_t n)
{
	void *p = g_alloc(n);
	if (!p) {
		g_failed++;
		if (g_use_reserve && g_in_parse)
			p = reserve_alloc(n);
	}
	return p;
}

static void tracking_free(void *p)
{
	if ((uintptr_t)p >= (uintptr_t)g_reserve && (uintptr_t)p < (uintptr_t)g_reserve + RESERVE) {
		pthread_mutex_lock(&g_reserve_mu);
		if (--g_reserve_blocks == 0)
			g_reserve_used = 0;
		pthread_mutex_unlock(&g_reserve_mu);
		return;
	}
	g_release(p);
}

void dhg_json_track_allocations(void)
{
	dhg_json_track_allocations_with(malloc, free, 1);
}

void dhg_json_track_allocations_with(void *(*alloc)(size_t), void (*release)(void *), int reserve)
{
	g_alloc = alloc;
	g_release = release;
	g_use_reserve = reserve;
	json_set_alloc_funcs(tracking_malloc, tracking_free);
}

json_t *dhg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	unsigned long before = g_failed;
	json_t *j;
	g_in_parse = 1; /* what the parser allocates is freed by jansson: it may come from the reserve */
	j = json_loadb(buf, len, flags, err);
	g_in_parse = 0;
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
