#ifndef DHG_UTIL_STR_H
#define DHG_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Small string helpers. All allocating functions return NULL only when out of
 * memory (and then set dhg_error_last()); the result is owned by the caller (free()).
 * All are thread-safe. */

char *dhg_strdup(const char *s);
char *dhg_strndup(const char *s, size_t n);
char *dhg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool dhg_str_has_prefix(const char *s, const char *prefix);
bool dhg_str_has_suffix(const char *s, const char *suffix);

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
bool dhg_dns1123_label_valid(const char *s);
/* RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
bool dhg_dns1123_subdomain_valid(const char *s);
/* Semantic Versioning 2.0.0 (no leading "v"). */
bool dhg_semver_valid(const char *s);

/* The offset of the first byte of s[0..n) that does not start a valid UTF-8 sequence (an
 * overlong form, a surrogate, beyond U+10FFFF, a truncated or stray byte), or of the first
 * NUL byte when nul_ok is 0; n when there is none. Runs of eight ASCII bytes are passed a word
 * at a time. */
size_t dhg_utf8_scan(const char *s, size_t n, int nul_ok);

/* Parse a whole decimal integer (no trailing junk) in [min, max]. Returns 0 or DHG_EINVALID. */
int dhg_parse_long(long *out, const char *s, long min, long max);
/* Parse a duration like "10s", "1m30s", "500ms", "2h", "0" into milliseconds. */
int dhg_parse_duration_ms(long long *out, const char *s);

/* A copy of a URL with any user:password@ and any ?query/#fragment removed, for logs and
 * status (Flux's sanitized URLs). Never NULL unless out of memory. */
char *dhg_url_redact(const char *url);

/* Removes, in place, every occurrence of each non-empty secret in `secrets` (NULL-terminated)
 * from `s`, replacing it with "***". Returns s. */
char *dhg_str_redact_secrets(char *s, const char *const *secrets);

/* Unique-ish lowercase hex token of 2*n characters from /dev/urandom (n <= 32). */
int dhg_random_hex(char *out, size_t n);

#endif
