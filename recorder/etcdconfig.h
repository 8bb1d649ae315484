/*
 * etcdconfig.h: the etcd client configuration Cilium agents mount as
 * /var/lib/etcd-config/etcd.config (YAML), so the recorder can reuse the
 * agents' secret:
 *
 *   endpoints:
 *   - https://cilium-etcd-client.kube-system.svc:2379
 *   trusted-ca-file: /var/lib/etcd-secrets/etcd-client-ca.crt
 *   key-file: /var/lib/etcd-secrets/etcd-client.key
 *   cert-file: /var/lib/etcd-secrets/etcd-client.crt
 *
 * Parsed with libyaml.  ca-file, etcd's old name for trusted-ca-file,
 * counts when trusted-ca-file is absent (as Cilium reads it); a key given
 * twice takes its last value; an empty or null file name is none.  Other keys
 * of etcd's client YAML are ignored, except insecure-skip-tls-verify: true (or
 * another YAML 1.1 spelling of true: yes, on), which is refused (verification
 * is always on).
 */
#ifndef HS_ETCDCONFIG_H
#define HS_ETCDCONFIG_H

#include <stddef.h>

struct etcdconfig {
	char **endpoints; /* owned; NULL when the file names none */
	size_t nendpoints;
	char *cacert; /* trusted-ca-file, or NULL */
	char *cert; /* cert-file */
	char *key; /* key-file */
};

/*
 * Read path into *out.  Returns 0, or -1 with a one-line reason in err
 * (unreadable, not YAML, not a mapping, wrong types).
 */
int etcdconfig_read(
    const char *path, struct etcdconfig *out, char *err, size_t errlen);

/*
 * The first line of a secret file (a password), without its line end,
 * into buf.  Returns 0, or -1 with a one-line reason in err.  The caller
 * wipes buf when done.
 */
int etcdconfig_read_secret(
    const char *path, char *buf, size_t size, char *err, size_t errlen);

/* Free what *c owns; a zeroed struct is fine. */
void etcdconfig_release(struct etcdconfig *c);

#endif
