#ifndef DHG_UTIL_BUF_H
#define DHG_UTIL_BUF_H

#include <stddef.h>

/*
 * A growable byte buffer with a hard maximum (curl's dynbuf with toobig).
 * The contents are always NUL-terminated once anything was added.
 * Not thread-safe; one owner at a time.
 */
typedef struct dhg_buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max; /* maximum len; 0 means DHG_BUF_DEFAULT_MAX */
} dhg_buf;

#define DHG_BUF_DEFAULT_MAX ((size_t)256 << 20)
#define DHG_BUF_INIT(max) { NULL, 0, 0, (max) }

/* Append bytes. Returns 0, DHG_ETOOBIG (max exceeded, buffer unchanged) or DHG_ENOMEM;
 * on failure dhg_error_last() is set. */
int dhg_buf_put(dhg_buf *b, const void *data, size_t len);
int dhg_buf_puts(dhg_buf *b, const char *s);
int dhg_buf_putc(dhg_buf *b, char c);
int dhg_buf_printf(dhg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append `n` copies of `c`. */
int dhg_buf_fill(dhg_buf *b, char c, size_t n);
/* Makes room for n more bytes and the NUL after them, so that up to n bytes can be written
 * at ptr + len directly (then len updated and ptr[len] = '\0' by the writer). Returns 0 or
 * DHG_ETOOBIG / DHG_ENOMEM as dhg_buf_put would for n bytes; len and contents unchanged. */
int dhg_buf_reserve(dhg_buf *b, size_t n);

/* The contents as a C string; "" for an empty buffer. Borrowed. */
const char *dhg_buf_cstr(const dhg_buf *b);

/* Length to zero, memory kept. */
void dhg_buf_clear(dhg_buf *b);
/* Drop the first n bytes (n <= len). */
void dhg_buf_consume(dhg_buf *b, size_t n);
/* Hand the allocation to the caller (free() it; never NULL unless out of memory)
 * and reset the buffer. */
char *dhg_buf_detach(dhg_buf *b, size_t *len);
/* Free the memory; the buffer may be reused. NULL-safe. */
void dhg_buf_dispose(dhg_buf *b);

#endif
