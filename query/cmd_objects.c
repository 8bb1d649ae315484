/*
 * cmd_objects.c: the per-object histories: "pod NS/NAME" (from ipcache
 * rows carrying the pod), "node NAME" and "service NS/NAME".  Each is a
 * lookup on the table's name index (ipcache_pod, nodes_name,
 * services_name); the child rows (addresses, ports) hang off the parent's
 * rowid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "timespec.h"

static const char pod_help[] =
    "usage: hindsight pod NAMESPACE/NAME [--from T1] [--to T2]\n"
    "\n"
    "The IPs, identities, labels and nodes a pod had, each with its\n"
    "interval [from_rev, to_rev).  Without --from/--to: all history.\n";

static const char node_help[] =
    "usage: hindsight node NAME [--at T]\n"
    "\n"
    "A node's addresses, pod CIDRs, health and ingress IPs, encryption\n"
    "key and boot ID, each version with its interval.  Without --at:\n"
    "every version recorded.\n";

static const char service_help[] =
    "usage: hindsight service NAMESPACE/NAME [--at T]\n"
    "\n"
    "A service's frontends and backends (ip:port/protocol, port name in\n"
    "parentheses; the bare IP when it is listed with no port), each\n"
    "version with its interval, in every cluster that published it.\n"
    "Without --at: every version recorded.\n";

/* Split "ns/name" at the first '/'; -1 unless both are non-empty. */
static int
split_ns(const char *s, char **ns, char **name)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL)
		return -1;
	*ns = strndup(s, (size_t)(slash - s));
	*name = strdup(slash + 1);
	return *ns != NULL && *name != NULL ? 0 : -1;
}

int
cmd_pod(struct hq *q, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *pos[1];
	const struct hq_opt opts[] = {{"from", 1, &from, NULL},
	    {"to", 1, &to, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"namespace", "pod", "ip", "cluster", "identity",
	    "labels", "node", "host_ip", "endpoint_id", "from_rev", "to_rev",
	    INTERVAL_TIMES_COLS, TS_WINDOW_COLS, NULL};
	struct ts_spec s1, s2;
	struct ts_point p1, p2;
	sqlite3_stmt *st;
	char *ns = NULL, *name = NULL;
	int npos, rc;

	if ((rc = hq_args(q, argc, argv, opts, pos, 1, 1, &npos, pod_help)) !=
	    0)
		return rc;
	if (split_ns(pos[0], &ns, &name) != 0) {
		free(ns);
		free(name);
		return hq_usage(q, "'%s' is not NAMESPACE/NAME", pos[0]);
	}
	if ((rc = ts_window_args(q, from, to, &s1, &s2)) != 0 ||
	    (rc = hq_open(q)) != 0)
		goto done;
	if (from != NULL) {
		if ((rc = ts_point(q, &s1, &p1)) != 0)
			goto done;
	} else
		ts_beginning(q, &p1);
	if ((rc = ts_point(q, &s2, &p2)) != 0 ||
	    (rc = ts_window_gaps(q, &p1, &p2)) != 0)
		goto done;
	st = hq_prepare(q,
	    "SELECT c.namespace, c.pod, c.ip, c.cluster, "
	    "c.identity," LABELSET_SQL ","
	    " c.node, c.host_ip, c.endpoint_id, c.from_rev, "
	    "c.to_rev," INTERVAL_TIMES_SQL " FROM ipcache c"
	    " LEFT JOIN revisions rf ON rf.rev = c.from_rev"
	    " LEFT JOIN revisions rt ON rt.rev = c.to_rev"
	    " WHERE c.namespace = ?3 AND c.pod = ?4 AND c.from_rev <= ?2"
	    " AND (c.to_rev IS NULL OR c.to_rev > ?1)"
	    " ORDER BY c.from_rev, c.ip_bin");
	if (st == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, p1.rev);
	sqlite3_bind_int64(st, 2, p2.rev);
	sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	ts_echo_window(q, &p1, &p2);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		hq_str_col(q, st, 0);
		hq_str_col(q, st, 1);
		hq_str_col(q, st, 2);
		hq_str_col(q, st, 3);
		hq_int_col(q, st, 4);
		if (sqlite3_column_type(st, 5) == SQLITE_NULL)
			out_null(q->out);
		else
			hq_labels_cell(q, sqlite3_column_int64(st, 5));
		hq_str_col(q, st, 6);
		hq_str_col(q, st, 7);
		hq_int_col(q, st, 8);
		hq_int_col(q, st, 9);
		hq_int_col(q, st, 10);
		hq_interval_times(q, st, 11);
		ts_cells_window(q, &p1, &p2);
	}
	sqlite3_finalize(st);
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading ipcache");
done:
	free(ns);
	free(name);
	return hq_close(q, rc);
}

/* Versions valid at ?1 when a point was asked for, else all of them. */
static const char *
point_clause(const char *at, const char *t)
{
	static char buf[128];

	if (at == NULL)
		return "";
	snprintf(buf, sizeof(buf),
	    " AND %s.from_rev <= ?1 AND "
	    "(%s.to_rev IS NULL OR %s.to_rev > ?1)",
	    t, t, t);
	return buf;
}

int
cmd_node(struct hq *q, int argc, char **argv)
{
	const char *at = NULL, *pos[1];
	const struct hq_opt opts[] = {
	    {"at", 1, &at, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"name", "cluster", "addresses", "ipv4_alloc_cidr",
	    "ipv6_alloc_cidr", "ipv4_health_ip", "ipv6_health_ip",
	    "ipv4_ingress_ip", "ipv6_ingress_ip", "encryption_key", "boot_id",
	    "source", "key", "from_rev", "to_rev", INTERVAL_TIMES_COLS,
	    TS_AT_COLS, NULL};
	struct ts_spec spec;
	struct ts_point pt;
	sqlite3_stmt *st = NULL, *ad = NULL;
	char *sql, buf[256];
	int npos, rc, i;

	if ((rc = hq_args(q, argc, argv, opts, pos, 1, 1, &npos, node_help)) !=
	    0)
		return rc;
	if (pos[0][0] == '\0')
		return hq_usage(q, "empty node name");
	if ((rc = ts_arg(q, "at", at, &spec)) != 0 || (rc = hq_open(q)) != 0 ||
	    (rc = ts_point(q, &spec, &pt)) != 0 ||
	    (at == NULL && (rc = ts_history_gaps(q, &pt)) != 0))
		return hq_close(q, rc);
	sql = sqlite3_mprintf(
	    "SELECT n.rowid, n.name, n.cluster, n.ipv4_alloc_cidr,"
	    " n.ipv6_alloc_cidr, n.ipv4_health_ip, n.ipv6_health_ip,"
	    " n.ipv4_ingress_ip, n.ipv6_ingress_ip, n.encryption_key,"
	    " n.boot_id, n.source, k.key, n.from_rev, "
	    "n.to_rev," INTERVAL_TIMES_SQL
	    " FROM nodes n JOIN keys k ON k.id = n.key_id"
	    " LEFT JOIN revisions rf ON rf.rev = n.from_rev"
	    " LEFT JOIN revisions rt ON rt.rev = n.to_rev"
	    " WHERE n.name = ?2%s ORDER BY n.from_rev, n.cluster",
	    point_clause(at, "n"));
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	ad = hq_prepare(q,
	    "SELECT type, ip FROM node_addresses"
	    " WHERE node_row = ?1 ORDER BY rowid");
	if (st == NULL || ad == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, pt.rev);
	sqlite3_bind_text(st, 2, pos[0], -1, SQLITE_STATIC);
	ts_echo_at(q, at != NULL ? "as of" : "history through", &pt);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		hq_str_col(q, st, 1);
		hq_str_col(q, st, 2);
		sqlite3_reset(ad);
		sqlite3_bind_int64(ad, 1, sqlite3_column_int64(st, 0));
		out_list_begin(q->out);
		while (hq_row(q, ad)) {
			snprintf(buf, sizeof(buf), "%s=%s",
			    (const char *)sqlite3_column_text(ad, 0),
			    (const char *)sqlite3_column_text(ad, 1));
			out_list_add(q->out, buf);
		}
		out_list_end(q->out);
		for (i = 3; i <= 8; i++)
			hq_str_col(q, st, i);
		hq_int_col(q, st, 9);
		hq_str_col(q, st, 10);
		hq_str_col(q, st, 11);
		hq_str_col(q, st, 12);
		hq_int_col(q, st, 13);
		hq_int_col(q, st, 14);
		hq_interval_times(q, st, 15);
		ts_cells_at(q, &pt);
	}
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading nodes");
done:
	sqlite3_finalize(st);
	sqlite3_finalize(ad);
	return hq_close(q, rc);
}

static void
ports_cell(struct hq *q, sqlite3_stmt *ps, int64_t row, const char *role)
{
	char buf[512];
	const char *ip, *name;
	int v6;

	sqlite3_reset(ps);
	sqlite3_bind_int64(ps, 1, row);
	sqlite3_bind_text(ps, 2, role, -1, SQLITE_STATIC);
	out_list_begin(q->out);
	while (hq_row(q, ps)) {
		ip = (const char *)sqlite3_column_text(ps, 0);
		if (sqlite3_column_type(ps, 1) == SQLITE_NULL) {
			out_list_add(q->out, ip); /* listed with no port */
			continue;
		}
		name = (const char *)sqlite3_column_text(ps, 3);
		v6 = strchr(ip, ':') != NULL;
		snprintf(buf, sizeof(buf), "%s%s%s:%lld/%s%s%s%s",
		    v6 ? "[" : "", ip, v6 ? "]" : "",
		    sqlite3_column_int64(ps, 1),
		    (const char *)sqlite3_column_text(ps, 2),
		    name[0] != '\0' ? " (" : "", name,
		    name[0] != '\0' ? ")" : "");
		out_list_add(q->out, buf);
	}
	out_list_end(q->out);
}

int
cmd_service(struct hq *q, int argc, char **argv)
{
	const char *at = NULL, *pos[1];
	const struct hq_opt opts[] = {
	    {"at", 1, &at, NULL}, {NULL, 0, NULL, NULL}};
	const char *cols[] = {"namespace", "name", "cluster", "cluster_id",
	    "frontends", "backends", "include_external", "shared", "from_rev",
	    "to_rev", INTERVAL_TIMES_COLS, TS_AT_COLS, NULL};
	struct ts_spec spec;
	struct ts_point pt;
	sqlite3_stmt *st = NULL, *ps = NULL;
	char *ns = NULL, *name = NULL, *sql;
	int npos, rc, i;

	if ((rc = hq_args(
		 q, argc, argv, opts, pos, 1, 1, &npos, service_help)) != 0)
		return rc;
	if (split_ns(pos[0], &ns, &name) != 0) {
		free(ns);
		free(name);
		return hq_usage(q, "'%s' is not NAMESPACE/NAME", pos[0]);
	}
	if ((rc = ts_arg(q, "at", at, &spec)) != 0 || (rc = hq_open(q)) != 0 ||
	    (rc = ts_point(q, &spec, &pt)) != 0 ||
	    (at == NULL && (rc = ts_history_gaps(q, &pt)) != 0))
		goto done;
	sql = sqlite3_mprintf(
	    "SELECT s.rowid, s.namespace, s.name, s.cluster, s.cluster_id,"
	    " s.include_external, s.shared, s.from_rev, "
	    "s.to_rev," INTERVAL_TIMES_SQL " FROM services s"
	    " LEFT JOIN revisions rf ON rf.rev = s.from_rev"
	    " LEFT JOIN revisions rt ON rt.rev = s.to_rev"
	    " WHERE s.namespace = ?2 AND s.name = ?3%s"
	    " ORDER BY s.from_rev, s.cluster",
	    point_clause(at, "s"));
	st = sql != NULL ? hq_prepare(q, sql) : NULL;
	sqlite3_free(sql);
	ps = hq_prepare(q,
	    "SELECT ip, port, protocol, port_name"
	    " FROM service_ports WHERE service_row = ?1 AND role = ?2"
	    " ORDER BY ip, port, protocol, port_name");
	if (st == NULL || ps == NULL) {
		rc = HQ_NODB;
		goto done;
	}
	sqlite3_bind_int64(st, 1, pt.rev);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	ts_echo_at(q, at != NULL ? "as of" : "history through", &pt);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		hq_str_col(q, st, 1);
		hq_str_col(q, st, 2);
		hq_str_col(q, st, 3);
		hq_int_col(q, st, 4);
		ports_cell(q, ps, sqlite3_column_int64(st, 0), "frontend");
		ports_cell(q, ps, sqlite3_column_int64(st, 0), "backend");
		for (i = 5; i <= 6; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				out_null(q->out);
			else
				out_bool(
				    q->out, sqlite3_column_int64(st, i) != 0);
		}
		hq_int_col(q, st, 7);
		hq_int_col(q, st, 8);
		hq_interval_times(q, st, 9);
		ts_cells_at(q, &pt);
	}
	rc = rc == SQLITE_DONE ? 0 : hq_dberr(q, "reading services");
done:
	sqlite3_finalize(st);
	sqlite3_finalize(ps);
	free(ns);
	free(name);
	return hq_close(q, rc);
}
