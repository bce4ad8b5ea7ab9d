#ifndef DHG_UTIL_ERROR_H
#define DHG_UTIL_ERROR_H

/*
 * Project error codes and the per-thread "last error" (libgit2's git_error_last()).
 *
 * Functions return 0 on success or one of the negative codes below. The detail
 * (code, HTTP status, API reason, one-line message) is recorded once, where the
 * failure happens, with dhg_error_set*(), and passed up unchanged.
 */

enum {
	DHG_OK = 0,
	DHG_ERROR = -1,        /* anything the caller does not branch on */
	DHG_ENOTFOUND = -2,
	DHG_ECONFLICT = -3,
	DHG_EGONE = -4,
	DHG_EINVALID = -5,
	DHG_ETIMEOUT = -6,
	DHG_ETERMINAL = -7,    /* do not retry (reconcile: Stalled) */
	DHG_EFORBIDDEN = -8,
	DHG_EUNAUTHORIZED = -9,
	DHG_ENOMEM = -10,
	DHG_EEXISTS = -11,
	DHG_ETOOBIG = -12,
	DHG_EUNAVAILABLE = -13 /* transient: 429, 5xx, connection errors */
};

typedef struct dhg_error {
	int code;          /* one of DHG_E* (0 when no error is recorded) */
	int http_status;   /* HTTP status when the failure came from a server, else 0 */
	char reason[64];   /* machine reason, e.g. Kubernetes Status.reason ("NotFound") */
	char message[1024];/* one line, for a person; never holds credentials */
} dhg_error;

/* The calling thread's last error. Never NULL; code 0 when nothing was set. Thread-safe. */
const dhg_error *dhg_error_last(void);

/* Records an error for this thread and returns `code`, so `return dhg_error_set(...)` works.
 * The message is made one line (newlines become spaces). */
int dhg_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, with the HTTP status and the API's reason. `reason` may be NULL. */
int dhg_error_set_http(int code, int http_status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefixes the current message with "prefix: " (adds context while passing an error up).
 * Returns the recorded code (DHG_ERROR if none was recorded). */
int dhg_error_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Restores a copied error (for crossing threads). */
void dhg_error_restore(const dhg_error *e);

void dhg_error_clear(void);

/* Short name of a code: "NotFound", "Conflict", ... */
const char *dhg_error_name(int code);

/* The project code for an HTTP error status, one table for every HTTP client (Kubernetes API
 * conventions): 400, 422 -> DHG_EINVALID; 401 -> DHG_EUNAUTHORIZED; 403 -> DHG_EFORBIDDEN;
 * 404 -> DHG_ENOTFOUND; 409 -> DHG_EEXISTS when `reason` is "AlreadyExists" (may be NULL), else
 * DHG_ECONFLICT; 410 -> DHG_EGONE; 429 and other statuses >= 500 -> DHG_EUNAVAILABLE; 504 -> DHG_ETIMEOUT;
 * anything else -> DHG_ERROR. Records nothing. Thread-safe. */
int dhg_error_code_for_http(long status, const char *reason);

/* The Kubernetes Status reason a server would give with `status` ("BadRequest", "NotFound",
 * "Expired", "InternalError" for other statuses >= 500, "Unknown" otherwise), for responses without one.
 * A static string. Thread-safe. */
const char *dhg_error_reason_for_http(long status);

#endif
