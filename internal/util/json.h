#ifndef DHG_UTIL_JSON_H
#define DHG_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>

/* jansson (2.14) ignores a failed allocation while its parser saves a token (lex_save): a
 * json_loadb that ran out of memory can succeed with a string missing characters, or read past
 * the token; json_dumps can return a text with characters missing. dhg_json_track_allocations() installs jansson allocation functions that count
 * failures per thread; dhg_json_loadb() fails with json_error_out_of_memory when an allocation
 * failed during the parse, instead of returning a different document. Call it first thing in
 * main(), before any jansson call (json_set_alloc_funcs); a program that does not (or installs
 * its own functions) gets plain json_loadb behaviour. */
void dhg_json_track_allocations(void);
/* The same around another allocator (e.g. the CLI's pool): alloc/release as for
 * json_set_alloc_funcs(). With reserve, a failed allocation within dhg_json_loadb() is served
 * from a 1 MiB reserve after being counted (json.c: jansson's lexer asserts on some failures),
 * so the parser never sees NULL while the reserve lasts; dhg_json_track_allocations() uses it. */
void dhg_json_track_allocations_with(void *(*alloc)(size_t), void (*release)(void *), int reserve);

/* json_loadb that never returns a document parsed with a failed allocation (see above): NULL,
 * and err (when given) says "out of memory" with json_error_code() == json_error_out_of_memory. */
json_t *dhg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);

/* json_dumps likewise: jansson's serializer, too, can return a shorter text after a failed
 * allocation; this returns NULL then. */
char *dhg_json_dumps(const json_t *json, size_t flags);

/* Whether err (from dhg_json_loadb or jansson) records running out of memory. */
int dhg_json_error_is_nomem(const json_error_t *err);

#endif
