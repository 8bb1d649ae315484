/*
 * kinds.h: the kinds of key hindsight knows, as stored in keys.kind.  Part
 * of the file format: the recorder classifies keys into them
 * (recorder/decode.c), the CLI filters by them.
 */
#ifndef HS_KINDS_H
#define HS_KINDS_H

#include <stddef.h>

/* hs_kind_name() gives the stored name. */
enum hs_kind {
	HS_KIND_OTHER = 0, /* "other": unknown prefix, raw history only */
	HS_KIND_IDENTITY, /* "identity": identities/v1/id/<N> */
	HS_KIND_IDENTITY_USER, /* "identity_user":
				  identities/v1/value/<labels>/<node> */
	HS_KIND_LOCK, /* "lock": identities/v1/locks/..., .initlock/...,
			 kvstoremesh-lock/... */
	HS_KIND_IPCACHE, /* "ipcache": ip/v1/<space>/<ip>[/<len>] */
	HS_KIND_NODE, /* "node": nodes/v1/<cluster>/<name> */
	HS_KIND_NODEREGISTER, /* "noderegister": noderegister/v1/<name> (value
				 is a Node) */
	HS_KIND_SERVICE, /* "service": services/v1/<cluster>/<ns>/<name> */
	HS_KIND_SERVICEEXPORT, /* "serviceexport":
				  serviceexports/v1/<cluster>/<ns>/<name> */
	HS_KIND_ENDPOINTSLICE, /* "endpointslice":
				  endpointslices/v1/<cluster>/<ns>/<name>
				  (zstd+protobuf, kept raw) */
	HS_KIND_CNPSTATUS, /* "cnpstatus": cnpstatuses/v2/...,
			      ccnpstatuses/v2/... */
	HS_KIND_HEARTBEAT, /* "heartbeat": cilium/.heartbeat */
	HS_KIND_SYNCED, /* "synced": cilium/synced/<cluster>/<prefix...> */
	HS_KIND_CLUSTERCONFIG, /* "cluster_config":
				  cilium/cluster-config/<cluster>,
				  cilium/.has-cluster-config */
	HS_KIND_COUNT
};

const char *hs_kind_name(enum hs_kind kind);
/* The kind for a stored name, or -1 when the name is unknown. */
int hs_kind_from_name(const char *name);

/* "a, b, c": every kind name, for messages.  Static storage. */
const char *hs_kind_list(void);

/*
 * Who a change belongs to, for the churn report: the Kubernetes namespace
 * (pod = 0) or "namespace/pod" (pod = 1, ipcache entries only) that the
 * key of kind (a stored kind name) or its value names.  value may be
 * NULL (a DELETE whose previous value is unknown).  A malloc'd string,
 * or NULL when there is none (an empty name is none).  Both the recorder
 * (which keeps the churn tables) and the CLI (which counts the minutes
 * at a window's edges from the raw log) use this one definition.
 */
char *hs_churn_owner(const char *kind, const char *key, size_t keylen,
    const char *value, size_t vallen, int pod);
/* Both at once (one parse of an ipcache value); either may be NULL. */
void hs_churn_owners(const char *kind, const char *key, size_t keylen,
    const char *value, size_t vallen, char **ns, char **pod);

#endif
