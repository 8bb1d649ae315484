/*
 * etcdconfig.c: read Cilium's etcd.config with libyaml's document API.
 */
#include "etcdconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

static const char *
scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE
	    ? (const char *)n->data.scalar.value
	    : NULL;
}

/* A plain scalar YAML reads as null: ~, null, Null, NULL. */
static int
yaml_null(yaml_node_t *n)
{
	const char *s = scalar(n);

	return s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static int
take_string(
    yaml_node_t *v, const char *name, char **out, char *err, size_t errlen)
{
	const char *s = scalar(v);

	if (s == NULL) {
		snprintf(err, errlen, "%s must be a string", name);
		return -1;
	}
	free(*out);
	*out = NULL;
	/*
	 * Empty or null ("cert-file:", "cert-file: ''", as a template leaves
	 * it): no file, as Cilium's agents read it, not a file named "".
	 */
	if (s[0] == '\0' || yaml_null(v))
		return 0;
	if ((*out = strdup(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
take_endpoints(yaml_document_t *doc, yaml_node_t *v, struct etcdconfig *c,
    char *err, size_t errlen)
{
	yaml_node_item_t *it;
	const char *s;
	size_t n;

	/* Given twice, the last one wins, as in Cilium's reader. */
	for (n = 0; n < c->nendpoints; n++)
		free(c->endpoints[n]);
	free(c->endpoints);
	c->endpoints = NULL;
	c->nendpoints = 0;
	/* A single string is accepted as a one-element list. */
	if ((s = scalar(v)) != NULL) {
		if ((c->endpoints = calloc(1, sizeof(char *))) == NULL ||
		    (c->endpoints[0] = strdup(s)) == NULL)
			goto oom;
		c->nendpoints = 1;
		return 0;
	}
	if (v == NULL || v->type != YAML_SEQUENCE_NODE) {
		snprintf(err, errlen, "endpoints must be a list of URLs");
		return -1;
	}
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if ((c->endpoints = calloc(n + 1, sizeof(char *))) == NULL)
		goto oom;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		if ((s = scalar(yaml_document_get_node(doc, *it))) == NULL) {
			snprintf(
			    err, errlen, "endpoints must be a list of URLs");
			return -1;
		}
		if ((c->endpoints[c->nendpoints] = strdup(s)) == NULL)
			goto oom;
		c->nendpoints++;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/*
 * YAML 1.1's spellings of true, which the Go YAML reader of Cilium's
 * agents takes for a bool true.
 */
static int
yaml_true(const char *s)
{
	static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes",
	    "YES", "on", "On", "ON", "y", "Y"};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i]) == 0)
			return 1;
	return 0;
}

int
etcdconfig_read(
    const char *path, struct etcdconfig *out, char *err, size_t errlen)
{
	char msg[256];
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *k, *v;
	yaml_node_pair_t *p;
	const char *name;
	char *ca_file = NULL;
	struct stat st;
	FILE *f;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* fopen() opens a directory; libyaml would call it an input error. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
		fclose(f);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s: not YAML: %s at line %zu", path,
		    parser.problem ? parser.problem : "parse error",
		    parser.problem_mark.line + 1);
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		snprintf(
		    err, errlen, "%s: not a YAML mapping of settings", path);
		goto out;
	}
	for (p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&doc, p->key);
		v = yaml_document_get_node(&doc, p->value);
		if ((name = scalar(k)) == NULL)
			continue;
		msg[0] = '\0';
		if (strcmp(name, "endpoints") == 0)
			rc = take_endpoints(&doc, v, out, msg, sizeof(msg));
		else if (strcmp(name, "trusted-ca-file") == 0)
			rc = take_string(
			    v, name, &out->cacert, msg, sizeof(msg));
		else if (strcmp(name, "cert-file") == 0)
			rc = take_string(v, name, &out->cert, msg, sizeof(msg));
		else if (strcmp(name, "key-file") == 0)
			rc = take_string(v, name, &out->key, msg, sizeof(msg));
		else if (strcmp(name, "ca-file") == 0)
			rc = take_string(v, name, &ca_file, msg, sizeof(msg));
		else if (strcmp(name, "insecure-skip-tls-verify") == 0 &&
		    yaml_true(scalar(v))) {
			snprintf(msg, sizeof(msg),
			    "insecure-skip-tls-verify "
			    "is not supported: TLS verification is always on");
			rc = -1;
		} else
			rc = 0;
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", path, msg);
			goto out;
		}
	}
	/*
	 * etcd's old name for trusted-ca-file, still in older Cilium
	 * ConfigMaps; the agents use it when trusted-ca-file is not given.
	 */
	if (out->cacert == NULL) {
		out->cacert = ca_file;
		ca_file = NULL;
	}
	rc = 0;
out:
	free(ca_file);
	if (rc != 0)
		etcdconfig_release(out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

void
etcdconfig_release(struct etcdconfig *c)
{
	size_t i;

	for (i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	memset(c, 0, sizeof(*c));
}

int
etcdconfig_read_secret(
    const char *path, char *buf, size_t size, char *err, size_t errlen)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* No stdio buffer: no copy of the secret left behind on the heap. */
	setvbuf(f, NULL, _IONBF, 0);
	errno = 0;
	if (fgets(buf, (int)size, f) == NULL) {
		buf[0] = '\0';
		if (ferror(f)) {
			snprintf(err, errlen, "%s: %s", path,
			    strerror(errno ? errno : EIO));
			fclose(f);
			return -1;
		}
	}
	n = strlen(buf);
	/* The buffer filled without reaching the line's end. */
	if (n == size - 1 && buf[n - 1] != '\n' && fgetc(f) != EOF) {
		explicit_bzero(buf, size);
		snprintf(err, errlen,
		    "%s: the first line is longer than %zu bytes", path,
		    size - 2);
		fclose(f);
		return -1;
	}
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "%s: empty", path);
		return -1;
	}
	return 0;
}
