#include "kube/selector.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/str.h"

#define MAX_REQUIREMENTS 256
#define MAX_VALUES 256

typedef struct requirement {
	char *key;
	int op;
	char **values;
	size_t nvalues;
} requirement;

struct kube_selector {
	requirement *reqs;
	size_t n;
};

static void req_dispose(requirement *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
}

void kube_selector_free(kube_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		req_dispose(&sel->reqs[i]);
	free(sel->reqs);
	free(sel);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_req(const void *a, const void *b)
{
	const requirement *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->op - y->op;
}

static bool name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* A label value: empty, or at most 63 of [A-Za-z0-9._-] beginning and ending alphanumeric. */
static bool value_valid(const char *v)
{
	size_t n = strlen(v);
	if (n == 0)
		return true;
	if (n > 63 || !isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)v[i]))
			return false;
	return true;
}

/* A label key: [prefix/]name with a DNS-1123 subdomain prefix and a non-empty name. */
static bool key_valid(const char *k)
{
	const char *slash = strchr(k, '/');
	const char *name = k;
	if (slash) {
		char prefix[254];
		size_t plen = (size_t)(slash - k);
		if (plen == 0 || plen >= sizeof(prefix))
			return false;
		memcpy(prefix, k, plen);
		prefix[plen] = 0;
		if (!dhg_dns1123_subdomain_valid(prefix))
			return false;
		name = slash + 1;
	}
	return *name && value_valid(name);
}

static int sel_new(kube_selector **out)
{
	kube_selector *s = calloc(1, sizeof(*s));
	if (!s)
		return dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
	*out = s;
	return 0;
}

/* Adds a requirement, taking ownership of key and values (freed on failure). */
static int sel_add_take(kube_selector *s, char *key, int op, char **values, size_t nvalues)
{
	requirement r = { key, op, values, nvalues };
	if (s->n >= MAX_REQUIREMENTS) {
		req_dispose(&r);
		return dhg_error_set(DHG_EINVALID, "label selector: more than %d requirements", MAX_REQUIREMENTS);
	}
	requirement *nr = realloc(s->reqs, (s->n + 1) * sizeof(*nr));
	if (!nr) {
		req_dispose(&r);
		return dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
	}
	s->reqs = nr;
	if (nvalues > 1)
		qsort(values, nvalues, sizeof(char *), cmp_str);
	s->reqs[s->n++] = r;
	return 0;
}

static void sel_finish(kube_selector *s)
{
	if (s->n > 1)
		qsort(s->reqs, s->n, sizeof(requirement), cmp_req);
}

/* ---- string form --------------------------------------------------------------------- */

typedef struct lexer {
	const char *s;
	size_t i;
} lexer;

static void skip_ws(lexer *lx)
{
	while (lx->s[lx->i] == ' ' || lx->s[lx->i] == '\t')
		lx->i++;
}

/* Reads an identifier-ish token ([A-Za-z0-9._/-]*) into a new string. */
static char *read_word(lexer *lx)
{
	size_t st = lx->i;
	while (name_char((unsigned char)lx->s[lx->i]) || lx->s[lx->i] == '/')
		lx->i++;
	return dhg_strndup(lx->s + st, lx->i - st);
}

static int bad(const lexer *lx, const char *what)
{
	return dhg_error_set(DHG_EINVALID, "label selector \"%.200s\": %s at position %zu", lx->s, what, lx->i);
}

static int parse_set(lexer *lx, char ***values, size_t *n)
{
	*values = NULL;
	*n = 0;
	skip_ws(lx);
	if (lx->s[lx->i] != '(')
		return bad(lx, "expected '('");
	lx->i++;
	for (;;) {
		skip_ws(lx);
		char *v = read_word(lx);
		if (!v)
			return DHG_ENOMEM;
		if (!value_valid(v)) {
			free(v);
			return bad(lx, "invalid label value");
		}
		if (*n >= MAX_VALUES) {
			free(v);
			return bad(lx, "too many values");
		}
		char **nv = realloc(*values, (*n + 1) * sizeof(char *));
		if (!nv) {
			free(v);
			return dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
		}
		*values = nv;
		(*values)[(*n)++] = v;
		skip_ws(lx);
		if (lx->s[lx->i] == ',') {
			lx->i++;
			continue;
		}
		if (lx->s[lx->i] == ')') {
			lx->i++;
			break;
		}
		return bad(lx, "expected ',' or ')'");
	}
	if (*n == 1 && (*values)[0][0] == 0)
		return bad(lx, "empty value set");
	return 0;
}

static void free_values(char **values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(values[i]);
	free(values);
}

static int parse_requirement(kube_selector *s, lexer *lx)
{
	int error = 0;
	char *key = NULL, **values = NULL;
	size_t n = 0;
	int op;
	bool neg = false;

	skip_ws(lx);
	if (lx->s[lx->i] == '!') {
		neg = true;
		lx->i++;
		skip_ws(lx);
	}
	if (!(key = read_word(lx))) {
		error = DHG_ENOMEM;
		goto done;
	}
	if (!key_valid(key)) {
		error = bad(lx, *key ? "invalid label key" : "expected a label key");
		goto done;
	}
	skip_ws(lx);
	char c = lx->s[lx->i];
	if (neg) {
		if (c != ',' && c != 0) {
			error = bad(lx, "'!key' takes no operator");
			goto done;
		}
		op = KUBE_SELECTOR_NOT_EXISTS;
	} else if (c == ',' || c == 0) {
		op = KUBE_SELECTOR_EXISTS;
	} else if (c == '=' || (c == '!' && lx->s[lx->i + 1] == '=')) {
		op = c == '!' ? KUBE_SELECTOR_NE : KUBE_SELECTOR_EQ;
		lx->i += (c == '!' || lx->s[lx->i + 1] == '=') ? 2 : 1;
		skip_ws(lx);
		char *v = read_word(lx);
		if (!v) {
			error = DHG_ENOMEM;
			goto done;
		}
		if (!value_valid(v)) {
			free(v);
			error = bad(lx, "invalid label value");
			goto done;
		}
		if (!(values = malloc(sizeof(char *)))) {
			free(v);
			error = dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
			goto done;
		}
		values[0] = v;
		n = 1;
	} else {
		size_t save = lx->i;
		char *word = read_word(lx);
		if (!word) {
			error = DHG_ENOMEM;
			goto done;
		}
		if (strcmp(word, "in") == 0)
			op = KUBE_SELECTOR_IN;
		else if (strcmp(word, "notin") == 0)
			op = KUBE_SELECTOR_NOTIN;
		else
			op = -1;
		free(word);
		if (op < 0) {
			lx->i = save;
			error = bad(lx, "expected an operator (=, ==, !=, in, notin)");
			goto done;
		}
		if ((error = parse_set(lx, &values, &n)) < 0)
			goto done;
	}
	skip_ws(lx);
	if (lx->s[lx->i] != ',' && lx->s[lx->i] != 0) {
		error = bad(lx, "expected ',' or end");
		goto done;
	}
	error = sel_add_take(s, key, op, values, n);
	key = NULL;
	values = NULL;
	n = 0;
done:
	free(key);
	free_values(values, n);
	return error;
}

int kube_selector_parse(kube_selector **out, const char *str)
{
	kube_selector *s = NULL;
	int error = sel_new(&s);
	if (error < 0)
		return error;
	lexer lx = { str ? str : "", 0 };
	skip_ws(&lx);
	if (lx.s[lx.i] != 0) {
		for (;;) {
			if ((error = parse_requirement(s, &lx)) < 0)
				goto done;
			if (lx.s[lx.i] == 0)
				break;
			lx.i++; /* ',' */
		}
	}
	sel_finish(s);
	*out = s;
	s = NULL;
done:
	kube_selector_free(s);
	return error;
}

/* ---- LabelSelector JSON -------------------------------------------------------------- */

int kube_selector_from_json(kube_selector **out, const json_t *js)
{
	kube_selector *s = NULL;
	int error = sel_new(&s);
	if (error < 0)
		return error;
	if (js == NULL || json_is_null(js))
		goto ok;
	if (!json_is_object(js)) {
		error = dhg_error_set(DHG_EINVALID, "label selector: must be an object");
		goto done;
	}
	json_t *ml = json_object_get(js, "matchLabels");
	if (ml && !json_is_null(ml)) {
		if (!json_is_object(ml)) {
			error = dhg_error_set(DHG_EINVALID, "label selector: matchLabels must be an object");
			goto done;
		}
		const char *k;
		json_t *v;
		json_object_foreach(ml, k, v) {
			const char *sv = json_string_value(v);
			if (!sv || !value_valid(sv)) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchLabels[%s]: invalid value", k);
				goto done;
			}
			if (!key_valid(k)) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchLabels: invalid key \"%.100s\"", k);
				goto done;
			}
			char *kk = dhg_strdup(k), *vv = dhg_strdup(sv);
			char **vals = malloc(sizeof(char *));
			if (!kk || !vv || !vals) {
				free(kk);
				free(vv);
				free(vals);
				error = dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
				goto done;
			}
			vals[0] = vv;
			if ((error = sel_add_take(s, kk, KUBE_SELECTOR_EQ, vals, 1)) < 0)
				goto done;
		}
	}
	json_t *me = json_object_get(js, "matchExpressions");
	if (me && !json_is_null(me)) {
		if (!json_is_array(me)) {
			error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions must be a list");
			goto done;
		}
		size_t i;
		json_t *e;
		json_array_foreach(me, i, e) {
			const char *key = json_string_value(json_object_get(e, "key"));
			const char *ops = json_string_value(json_object_get(e, "operator"));
			json_t *vals = json_object_get(e, "values");
			int op;
			if (!key || !key_valid(key)) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].key: missing or invalid", i);
				goto done;
			}
			if (!ops) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].operator: missing", i);
				goto done;
			}
			if (strcmp(ops, "In") == 0)
				op = KUBE_SELECTOR_IN;
			else if (strcmp(ops, "NotIn") == 0)
				op = KUBE_SELECTOR_NOTIN;
			else if (strcmp(ops, "Exists") == 0)
				op = KUBE_SELECTOR_EXISTS;
			else if (strcmp(ops, "DoesNotExist") == 0)
				op = KUBE_SELECTOR_NOT_EXISTS;
			else {
				error = dhg_error_set(DHG_EINVALID,
				                      "label selector: matchExpressions[%zu].operator: \"%.40s\" is not In, NotIn, Exists or DoesNotExist", i, ops);
				goto done;
			}
			size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
			if (vals && !json_is_null(vals) && !json_is_array(vals)) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].values: must be a list", i);
				goto done;
			}
			if ((op == KUBE_SELECTOR_IN || op == KUBE_SELECTOR_NOTIN) && nv == 0) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].values: must be non-empty for %s", i, ops);
				goto done;
			}
			if ((op == KUBE_SELECTOR_EXISTS || op == KUBE_SELECTOR_NOT_EXISTS) && nv != 0) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].values: must be empty for %s", i, ops);
				goto done;
			}
			if (nv > MAX_VALUES) {
				error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].values: too many", i);
				goto done;
			}
			char *kk = dhg_strdup(key);
			char **vv = nv ? calloc(nv, sizeof(char *)) : NULL;
			if (!kk || (nv && !vv)) {
				free(kk);
				free(vv);
				error = dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
				goto done;
			}
			for (size_t j = 0; j < nv; j++) {
				const char *sv = json_string_value(json_array_get(vals, j));
				if (!sv || !value_valid(sv) || !(vv[j] = dhg_strdup(sv))) {
					free(kk);
					free_values(vv, nv);
					error = dhg_error_set(DHG_EINVALID, "label selector: matchExpressions[%zu].values[%zu]: invalid", i, j);
					goto done;
				}
			}
			if ((error = sel_add_take(s, kk, op, vv, nv)) < 0)
				goto done;
		}
	}
ok:
	sel_finish(s);
	*out = s;
	s = NULL;
	error = 0;
done:
	kube_selector_free(s);
	return error;
}

/* ---- matching / printing ------------------------------------------------------------- */

static bool in_values(const requirement *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

bool kube_selector_matches(const kube_selector *sel, const json_t *labels)
{
	if (!sel)
		return true;
	for (size_t i = 0; i < sel->n; i++) {
		const requirement *r = &sel->reqs[i];
		const char *v = json_is_object(labels) ? json_string_value(json_object_get(labels, r->key)) : NULL;
		switch (r->op) {
		case KUBE_SELECTOR_EQ:
		case KUBE_SELECTOR_IN:
			if (!v || !in_values(r, v))
				return false;
			break;
		case KUBE_SELECTOR_NE:
		case KUBE_SELECTOR_NOTIN:
			if (v && in_values(r, v))
				return false;
			break;
		case KUBE_SELECTOR_EXISTS:
			if (!v)
				return false;
			break;
		case KUBE_SELECTOR_NOT_EXISTS:
			if (v)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

bool kube_selector_matches_object(const kube_selector *sel, const json_t *obj)
{
	json_t *meta = json_is_object(obj) ? json_object_get(obj, "metadata") : NULL;
	return kube_selector_matches(sel, json_object_get(meta, "labels"));
}

bool kube_selector_is_empty(const kube_selector *sel)
{
	return !sel || sel->n == 0;
}

int kube_selector_to_string(char **out, const kube_selector *sel)
{
	dhg_buf b = DHG_BUF_INIT(1 << 20);
	int error = dhg_buf_puts(&b, "");
	for (size_t i = 0; sel && i < sel->n && error == 0; i++) {
		const requirement *r = &sel->reqs[i];
		if (i)
			error = dhg_buf_putc(&b, ',');
		if (error)
			break;
		switch (r->op) {
		case KUBE_SELECTOR_EQ:
			error = dhg_buf_printf(&b, "%s=%s", r->key, r->values[0]);
			break;
		case KUBE_SELECTOR_NE:
			error = dhg_buf_printf(&b, "%s!=%s", r->key, r->values[0]);
			break;
		case KUBE_SELECTOR_IN:
		case KUBE_SELECTOR_NOTIN:
			error = dhg_buf_printf(&b, "%s %s (", r->key, r->op == KUBE_SELECTOR_IN ? "in" : "notin");
			for (size_t j = 0; j < r->nvalues && !error; j++)
				error = dhg_buf_printf(&b, "%s%s", j ? "," : "", r->values[j]);
			if (!error)
				error = dhg_buf_putc(&b, ')');
			break;
		case KUBE_SELECTOR_EXISTS:
			error = dhg_buf_puts(&b, r->key);
			break;
		case KUBE_SELECTOR_NOT_EXISTS:
			error = dhg_buf_printf(&b, "!%s", r->key);
			break;
		}
	}
	if (error < 0) {
		dhg_buf_dispose(&b);
		return error;
	}
	*out = dhg_buf_detach(&b, NULL);
	return *out ? 0 : dhg_error_set(DHG_ENOMEM, "label selector: out of memory");
}

size_t kube_selector_count(const kube_selector *sel)
{
	return sel ? sel->n : 0;
}

int kube_selector_requirement(const char **key, int *op, const char *const **values,
                              size_t *nvalues, const kube_selector *sel, size_t i)
{
	if (!sel || i >= sel->n)
		return dhg_error_set(DHG_EINVALID, "label selector: no requirement %zu", i);
	*key = sel->reqs[i].key;
	*op = sel->reqs[i].op;
	*values = (const char *const *)sel->reqs[i].values;
	*nvalues = sel->reqs[i].nvalues;
	return 0;
}
