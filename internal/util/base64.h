#ifndef DHG_UTIL_BASE64_H
#define DHG_UTIL_BASE64_H

#include <stddef.h>

/*
 * Base64 (RFC 4648) encoding and decoding, one implementation for the whole project
 * (kubeconfig data fields, Secret data, docker config "auth", known_hosts salts).
 *
 * Decoding rules, the same for every caller:
 *  - Alphabet: standard ('+' '/') by default; DHG_BASE64_URL takes '-' '_' instead;
 *    DHG_BASE64_ANY accepts both alphabets, even mixed (what Kubernetes and Docker tools write).
 *  - Whitespace: CR and LF are always skipped (wrapped output of `base64`); with
 *    DHG_BASE64_SPACES, ' ' and '\t' are skipped too. Anything else outside the alphabet is invalid.
 *  - Padding: '=' is optional. At most two may appear, and after the first '=' only '=' and
 *    skipped whitespace may follow. The count is not checked against the length ("QQ=" is
 *    accepted). A final group of a single character is invalid (truncated); unused low bits
 *    of the last character are ignored.
 *  - Size: the decoded value may hold at most `max` bytes (DHG_ETOOBIG beyond); the buffer
 *    allocated is bounded by `max` too, whatever the input length.
 * Encoding writes the chosen alphabet, padded unless DHG_BASE64_NOPAD, with no line breaks.
 */

enum {
	DHG_BASE64_URL = 1 << 0,    /* '-' '_' instead of '+' '/' (encode and decode) */
	DHG_BASE64_ANY = 1 << 1,    /* decode: accept both alphabets */
	DHG_BASE64_SPACES = 1 << 2, /* decode: skip ' ' and '\t' as well as CR and LF */
	DHG_BASE64_NOPAD = 1 << 3   /* encode: no '=' padding */
};

/* Decodes `len` bytes of `in` (need not be NUL-terminated) by the rules above.
 * On 0, *out is a new NUL-terminated buffer owned by the caller (free()); *outlen (may be
 * NULL) is the decoded length, not counting the NUL (the value itself may contain NULs).
 * Returns DHG_EINVALID ("<what>: not valid base64", "... (truncated)"), DHG_ETOOBIG
 * ("<what>: decoded value is larger than <max> bytes") or DHG_ENOMEM, with dhg_error_last()
 * naming `what` (e.g. "kubeconfig: users[x].user.client-key-data"; NULL: "base64 value") and
 * never quoting the input. On failure *out is NULL, *outlen 0, and partial output is wiped
 * (values are often secrets). Thread-safe. */
int dhg_base64_decode(char **out, size_t *outlen, const char *in, size_t len, unsigned flags, size_t max,
		      const char *what);

/* Encodes `len` bytes of `in`. On 0, *out is a new NUL-terminated string owned by the caller
 * (free()) and *outlen (may be NULL) its length. Only DHG_BASE64_URL and DHG_BASE64_NOPAD
 * matter here. Returns 0, DHG_ENOMEM, or DHG_ETOOBIG when the size would overflow.
 * Thread-safe. */
int dhg_base64_encode(char **out, size_t *outlen, const void *in, size_t len, unsigned flags);

#endif
