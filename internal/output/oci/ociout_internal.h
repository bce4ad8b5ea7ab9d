#ifndef DHG_OUTPUT_OCI_OCIOUT_INTERNAL_H
#define DHG_OUTPUT_OCI_OCIOUT_INTERNAL_H

/* Module-private helpers of internal/output/oci (not for other modules). Thread-safe. */

#include <stddef.h>

/* dhg_base64_decode() with both alphabets and all whitespace skipped, capped at 4 MiB. *out
 * malloc'd and NUL-terminated. Returns 0, DHG_EINVALID, DHG_ETOOBIG or DHG_ENOMEM (a generic
 * message is set; callers name the field). */
int ociout__base64_decode(char **out, size_t *outlen, const char *in, size_t len);
/* Standard base64 with padding (dhg_base64_encode()). *out malloc'd. Returns 0 or DHG_ENOMEM. */
int ociout__base64_encode(char **out, const char *in, size_t len);

#endif
