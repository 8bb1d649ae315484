/*
 * decode.h: what a Cilium kvstore key is, and what its value says.
 *
 * Pure functions, no I/O and no SQLite: the recorder passes every event's
 * key through hs_key_parse() and every PUT value through hs_value_decode(),
 * and the store writes what comes back into the typed tables
 * (schema/001_init.sql).  Reference: ../shared/docs/cilium-kvstore.md
 * (section 1 for prefixes, 2 for values, 6 for parsing rules).
 *
 * Strings are slices (struct hs_str): pointer + length, NOT NUL-terminated,
 * pointing into the key, the value, or memory owned by the struct that
 * holds them.  A slice with p == NULL means "absent" (stored as SQL NULL).
 * Empty JSON strings ("") decode as absent for optional IP fields
 * (host/health/ingress IPs) and as empty slices elsewhere.
 */
#ifndef HS_DECODE_H
#define HS_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

struct hs_str {
	const char *p;
	size_t n;
};

/* Key kinds (the values of keys.kind) are part of the file format: kinds.h. */

/*
 * A parsed key.  Every slice points into the key passed to hs_key_parse().
 * Only the fields of the key's kind are set; the rest are zero/absent.
 *
 * cluster: the cluster the key names: nodes/services/serviceexports/
 *   endpointslices/synced/cluster-config use the segment after "v1/";
 *   every cilium/cache/<kind>/v1/<C>/... key uses <C> (for cached ipcache
 *   keys <C> replaces the address space); cilium/state ipcache keys and
 *   identity keys, which name no cluster, have an empty (non-NULL) slice.
 * cached: 1 when the key is under cilium/cache/ (kvstoremesh mirror).
 */
struct hs_key {
	enum hs_kind kind;
	int cached;
	struct hs_str cluster;
	uint64_t identity; /* IDENTITY: <N> */
	struct hs_str labels; /* IDENTITY_USER: labels part (ends in ';'), split
				 at the LAST '/' */
	struct hs_str
	    node; /* IDENTITY_USER: node suffix; NODE/NODEREGISTER: node name */
	struct hs_str
	    space; /* IPCACHE: address space ("default", or <C> when cached) */
	struct hs_str ip; /* IPCACHE: address part of the key */
	int prefix_len; /* IPCACHE: /<len> of the key, or -1 when the key has
			   none */
	struct hs_str namespace; /* SERVICE/SERVICEEXPORT/ENDPOINTSLICE */
	struct hs_str name; /* SERVICE/SERVICEEXPORT/ENDPOINTSLICE */
};

/*
 * Classify and split key[0..n), which starts with the recorded prefix
 * (normally "cilium/").  Never fails: a key that does not match a known
 * pattern exactly (e.g. "cilium/state/identities/v1/id/abc") is
 * HS_KIND_OTHER, so its raw history is still kept.
 */
void hs_key_parse(const char *key, size_t n, struct hs_key *out);

/* One label of a Cilium label string "src:key=value;...". */
struct hs_label {
	struct hs_str source; /* before the first ':' ("" when there is none) */
	struct hs_str key; /* up to the first '=' after that */
	struct hs_str value; /* the rest ("" when there is no '=') */
};

struct hs_labels {
	size_t n;
	struct hs_label *v; /* owned; slices point into the parsed string */
};

/*
 * Split a label string (cilium-kvstore.md 2.1, 6.5) as Cilium's
 * NewLabelArrayFromSortedList does: split on ';', source before the first
 * ':' ("unspec" when none; a leading '$' or, with no ':', a "reserved."
 * prefix means source "reserved"), key/value at the first '=' after it;
 * pieces with an empty key are dropped.  Does not assume sorted input.
 * Returns 0, or -1 on allocation failure.
 */
int hs_labels_parse(const char *s, size_t n, struct hs_labels *out);
void hs_labels_release(struct hs_labels *labels);

struct hs_port { /* ipcache NamedPorts entry */
	struct hs_str name;
	int port;
	struct hs_str protocol;
};

struct hs_address { /* node IPAddresses entry ("Type" or pre-1.4 "AddressType")
		     */
	struct hs_str type;
	struct hs_str ip;
};

struct hs_svc_port { /* one frontend or backend port of a service */
	int backend; /* 0 frontend, 1 backend */
	struct hs_str
	    ip; /* the map key: the frontend/backend IP, or a
		   frontend's "<nil>" (no cluster IP, Cilium <= 1.9) */
	struct hs_str port_name; /* the PortConfiguration map key */
	struct hs_str protocol;
	int port; /* -1: the IP is listed with no port (and no name, protocol)
		   */
};

/*
 * A decoded value.  Which member is set depends on kind.  Slices point into
 * the value buffer passed to hs_value_decode() or into memory owned by this
 * struct (a parsed JSON tree, formatted CIDR strings, arrays), all released
 * by hs_value_release().  The value buffer must outlive this struct.
 */
struct hs_value {
	enum hs_kind kind;
	union {
		struct { /* IDENTITY: the value is the label string */
			struct hs_str labels;
			struct hs_labels parsed;
		} identity;
		struct { /* IDENTITY_USER: labels/node from the key, id from the
			    value */
			uint64_t identity;
		} identity_user;
		struct { /* IPCACHE: identity.IPIdentityPair */
			struct hs_str ip; /* the JSON "IP" */
			unsigned char ip_bin[16]; /* IPv4 as ::ffff:a.b.c.d */
			int prefix_len; /* from Mask (count of one bits), else
					   key's /len, else 32/128 */
			int64_t identity; /* "ID" */
			struct hs_str host_ip; /* "HostIP"; absent when "" */
			int encrypt_key; /* "Key"; 0 when absent */
			struct hs_str namespace; /* "K8sNamespace" */
			struct hs_str pod; /* "K8sPodName" */
			struct hs_str service_account; /* "K8sServiceAccount" */
			struct hs_str
			    node; /* from Metadata
				     "cilium-global:<space>:<node>:<epid>" */
			int64_t endpoint_id; /* from Metadata, -1 when absent */
			size_t nports;
			struct hs_port *ports; /* "NamedPorts" */
		} ipcache;
		struct { /* NODE, NODEREGISTER: nodeTypes.Node */
			struct hs_str name, cluster;
			int64_t cluster_id; /* -1 when absent */
			char ipv4_alloc_cidr[64]; /* "10.6.6.0/24", "" when null
						   */
			int ipv4_alloc_len; /* -1 when null */
			char ipv6_alloc_cidr[64];
			int ipv6_alloc_len;
			struct hs_str ipv4_health_ip, ipv6_health_ip;
			struct hs_str ipv4_ingress_ip, ipv6_ingress_ip;
			int64_t encryption_key; /* -1 when absent */
			struct hs_str boot_id, source;
			size_t naddresses;
			struct hs_address *addresses;
		} node;
		struct { /* SERVICE: ClusterService */
			struct hs_str cluster, namespace, name;
			int64_t cluster_id; /* -1 when absent */
			int include_external; /* -1 absent, 0, 1 */
			int shared; /* -1 absent, 0, 1 */
			size_t nports;
			struct hs_svc_port *ports; /* frontends then backends */
		} service;
		struct { /* HEARTBEAT */
			struct hs_str text;
			int64_t time_us; /* parsed RFC 3339 */
		} heartbeat;
	} u;
	void *priv; /* owned memory (JSON tree etc.); internal */
};

/*
 * The decoder's generation: raised whenever a value that did not decode
 * may decode now (a fix, a newly understood field or form).  A db records
 * the generation that wrote it (meta.decoder); a newer recorder decodes
 * its decode_errors again when it opens it (store.c, redecode()).
 *   1  everything before the generation was kept
 *   2  a service frontend keyed "<nil>" (Cilium 1.4 to 1.9, headless)
 */
#define HS_DECODER_GEN 2

/*
 * Decode value[0..n) of a PUT on a key parsed into *key.
 * Returns:
 *   1  the kind has no typed table (OTHER, LOCK, SYNCED, CLUSTERCONFIG,
 *      SERVICEEXPORT, ENDPOINTSLICE, CNPSTATUS): nothing decoded, not an
 *      error;
 *   0  decoded into *out (release with hs_value_release());
 *  -1  the value does not decode: bad JSON, wrong field types, missing
 *      required fields (ipcache IP/ID, node Name, service name/namespace),
 *      an IP that is not an IP, a non-decimal identity_user value, a
 *      heartbeat that is not RFC 3339, bytes that are not UTF-8 where text
 *      is expected; err (size errlen) gets a one-line reason, *out needs
 *      no release.
 * Never crashes or reads out of bounds on any input (it is fuzzed).
 */
int hs_value_decode(const struct hs_key *key, const char *value, size_t n,
    struct hs_value *out, char *err, size_t errlen);

/* Free what *v owns; a zeroed struct is fine.  Safe to call twice. */
void hs_value_release(struct hs_value *v);

#endif
