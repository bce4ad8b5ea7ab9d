#include "util/buf.h"
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(dhg_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : DHG_BUF_DEFAULT_MAX;
	size_t need, cap;
	char *p;

	if (extra > max || b->len > max - extra)
		return dhg_error_set(DHG_ETOOBIG, "buffer limit of %zu bytes exceeded", max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int dhg_buf_put(dhg_buf *b, const void *data, size_t len)
{
	int error = grow(b, len);
	if (error < 0)
		return error;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int dhg_buf_reserve(dhg_buf *b, size_t n)
{
	return grow(b, n);
}

int dhg_buf_puts(dhg_buf *b, const char *s)
{
	return dhg_buf_put(b, s, strlen(s));
}

int dhg_buf_putc(dhg_buf *b, char c)
{
	return dhg_buf_put(b, &c, 1);
}

int dhg_buf_fill(dhg_buf *b, char c, size_t n)
{
	int error = grow(b, n);
	if (error < 0)
		return error;
	memset(b->ptr + b->len, c, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int dhg_buf_printf(dhg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, error;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return dhg_error_set(DHG_ERROR, "format error");
	if ((error = grow(b, (size_t)n)) < 0)
		return error;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *dhg_buf_cstr(const dhg_buf *b)
{
	return b->ptr ? b->ptr : "";
}

void dhg_buf_clear(dhg_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void dhg_buf_consume(dhg_buf *b, size_t n)
{
	if (n >= b->len) {
		dhg_buf_clear(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

char *dhg_buf_detach(dhg_buf *b, size_t *len)
{
	char *p = b->ptr;

	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = b->len;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void dhg_buf_dispose(dhg_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}
