/*
 * kinds.c: names of key kinds (see kinds.h).
 */
#include "kinds.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[HS_KIND_COUNT] = {
    [HS_KIND_OTHER] = "other",
    [HS_KIND_IDENTITY] = "identity",
    [HS_KIND_IDENTITY_USER] = "identity_user",
    [HS_KIND_LOCK] = "lock",
    [HS_KIND_IPCACHE] = "ipcache",
    [HS_KIND_NODE] = "node",
    [HS_KIND_NODEREGISTER] = "noderegister",
    [HS_KIND_SERVICE] = "service",
    [HS_KIND_SERVICEEXPORT] = "serviceexport",
    [HS_KIND_ENDPOINTSLICE] = "endpointslice",
    [HS_KIND_CNPSTATUS] = "cnpstatus",
    [HS_KIND_HEARTBEAT] = "heartbeat",
    [HS_KIND_SYNCED] = "synced",
    [HS_KIND_CLUSTERCONFIG] = "cluster_config",
};

const char *
hs_kind_name(enum hs_kind kind)
{
	/* A bad enum is a caller bug; "other" keeps keys.kind valid. */
	if ((unsigned)kind >= HS_KIND_COUNT)
		return kind_names[HS_KIND_OTHER];
	return kind_names[kind];
}

int
hs_kind_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < HS_KIND_COUNT; i++)
		if (strcmp(kind_names[i], name) == 0)
			return i;
	return -1;
}

const char *
hs_kind_list(void)
{
	static char list[256];
	size_t off = 0;
	int i;

	if (list[0] == '\0') {
		for (i = 0; i < HS_KIND_COUNT; i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", i ? ", " : "", kind_names[i]);
	}
	return list;
}

/* A NUL-terminated copy of the first n bytes (up to a NUL among them). */
static char *
cstr(const char *p, size_t n)
{
	return p != NULL ? strndup(p, n) : NULL;
}

static char *
nonempty(char *s)
{
	if (s != NULL && s[0] == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

static void
ipcache_owners(const char *value, size_t vallen, char **ns, char **pod)
{
	cJSON *j, *n, *name;

	if (value == NULL || (j = cJSON_ParseWithLength(value, vallen)) == NULL)
		return;
	n = cJSON_GetObjectItemCaseSensitive(j, "K8sNamespace");
	name = cJSON_GetObjectItemCaseSensitive(j, "K8sPodName");
	if (cJSON_IsString(n) && n->valuestring[0] != '\0') {
		if (ns != NULL)
			*ns = strdup(n->valuestring);
		if (pod != NULL && cJSON_IsString(name) &&
		    name->valuestring[0] != '\0' &&
		    asprintf(pod, "%s/%s", n->valuestring, name->valuestring) <
			0)
			*pod = NULL;
	}
	cJSON_Delete(j);
}

#define NS_LABEL "io.kubernetes.pod.namespace"

/*
 * The value of the label KEY in the label string [s, end)
 * ("k8s:app=web;k8s:io.kubernetes.pod.namespace=default;"), whatever its
 * source; NULL when none has that key.  A label is matched whole: a
 * namespace label named like it (k8s:io.cilium.k8s.namespace.labels.
 * io.kubernetes.pod.namespace=x, sorted before it) is another label.
 */
static char *
label_value(const char *s, const char *end, const char *key)
{
	size_t klen = strlen(key);
	const char *e, *k;

	while (s < end) {
		if ((e = memchr(s, ';', (size_t)(end - s))) == NULL)
			e = end;
		/* Cilium writes source:key=value; the key may hold ':'. */
		k = memchr(s, ':', (size_t)(e - s));
		k = k != NULL ? k + 1 : s;
		if ((size_t)(e - k) > klen && memcmp(k, key, klen) == 0 &&
		    k[klen] == '=')
			return strndup(
			    k + klen + 1, (size_t)(e - k - klen - 1));
		s = e + 1;
	}
	return NULL;
}

/* The namespace of a non-ipcache kind: in its labels or its key. */
static char *
other_namespace(const char *kind, const char *key, size_t keylen,
    const char *value, size_t vallen)
{
	const char *p, *e, *segs[8];
	char *s, *r = NULL;
	int nseg = 0;

	if (strcmp(kind, "identity") == 0) {
		/* The value is the label string. */
		if ((s = cstr(value, vallen)) != NULL)
			r = label_value(s, s + strlen(s), NS_LABEL);
		free(s);
		return nonempty(r);
	}
	if (strcmp(kind, "identity_user") == 0) {
		/* .../value/<labels>/<node IP> */
		if ((s = cstr(key, keylen)) != NULL &&
		    (p = strstr(s, "/value/")) != NULL &&
		    (e = strrchr(s, '/')) > p + 6)
			r = label_value(p + 7, e, NS_LABEL);
		free(s);
		return nonempty(r);
	}
	if (strcmp(kind, "service") == 0 ||
	    strcmp(kind, "serviceexport") == 0 ||
	    strcmp(kind, "endpointslice") == 0) {
		/* .../v1/<cluster>/<namespace>/<name> */
		if ((s = cstr(key, keylen)) == NULL)
			return NULL;
		for (p = s; nseg < 8 && (p = strchr(p, '/')) != NULL; p++)
			segs[nseg++] = p + 1;
		if (nseg >= 2) {
			p = segs[nseg - 2];
			if ((e = strchr(p, '/')) != NULL)
				r = strndup(p, (size_t)(e - p));
		}
		free(s);
		return nonempty(r);
	}
	return NULL;
}

void
hs_churn_owners(const char *kind, const char *key, size_t keylen,
    const char *value, size_t vallen, char **ns, char **pod)
{
	if (ns != NULL)
		*ns = NULL;
	if (pod != NULL)
		*pod = NULL;
	if (strcmp(kind, "ipcache") == 0)
		ipcache_owners(value, vallen, ns, pod);
	else if (ns != NULL)
		*ns = other_namespace(kind, key, keylen, value, vallen);
}

char *
hs_churn_owner(const char *kind, const char *key, size_t keylen,
    const char *value, size_t vallen, int pod)
{
	char *r;

	hs_churn_owners(
	    kind, key, keylen, value, vallen, pod ? NULL : &r, pod ? &r : NULL);
	return r;
}
