/*
 * kinds.c: names of key kinds (see kinds.h).
 */
#include "kinds.h"

#include <stdio.h>
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
