/*
 * cmd_ip.c: "hindsight ip ADDR[/LEN]": who held an address, or every
 * address of a CIDR, at a time, in a window, or over all history.
 *
 * ipcache.ip_bin holds every address as 16 bytes (IPv4 as ::ffff:a.b.c.d)
 * so one address and a whole CIDR are both a range on the ipcache_ip
 * index (ip_bin, from_rev): an index lookup, never a scan.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "codec.h"
#include "timespec.h"

static const char help[] =
    "usage: hindsight ip ADDR[/LEN] [--at T | --from T1 --to T2]\n"
    "\n"
    "Who held the address: pod, namespace, identity, labels, node, host\n"
    "IP and the interval [from_rev, to_rev) of each holder.  A CIDR\n"
    "(10.6.6.0/24, fd00::/64) lists every address inside it, of its\n"
    "family (::/0 holds no IPv4 address).  Without --at or --from/--to:\n"
    "every holder over the whole recording.\n";

/*
 * Parse "ADDR" or "ADDR/LEN" into the inclusive ip_bin range [lo, hi].
 * Returns 0, or -1 for anything that is not an address.
 */
static int
parse_addr(const char *s, unsigned char lo[16], unsigned char hi[16], int *v4)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned char a4[4];
	int64_t len;
	int bits, i;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(lo, 0, 16);
	if (inet_pton(AF_INET, buf, a4) == 1) {
		*v4 = 1;
		lo[10] = lo[11] = 0xff;
		memcpy(lo + 12, a4, 4);
	} else if (inet_pton(AF_INET6, buf, lo) == 1)
		*v4 = 0;
	else
		return -1;
	bits = 128;
	if (slash != NULL) {
		if (hs_parse_i64(slash, strlen(slash), &len) != 0 || len < 0 ||
		    len > (*v4 ? 32 : 128) || slash[0] == '-' ||
		    slash[0] == '+')
			return -1;
		bits = (int)len + (*v4 ? 96 : 0);
	}
	for (i = 0; i < 16; i++) {
		int keep = bits >= 8 * (i + 1) ? 8
		    : bits > 8 * i	       ? bits - 8 * i
					       : 0;
		unsigned char mask = (unsigned char)(0xff00 >> keep);

		lo[i] &= mask;
		hi[i] = lo[i] | (unsigned char)~mask;
	}
	return 0;
}

int
cmd_ip(struct hq *q, int argc, char **argv)
{
	const char *at = NULL, *from = NULL, *to = NULL, *pos[1];
	const struct hq_opt opts[] = {{"at", 1, &at, NULL},
	    {"from", 1, &from, NULL}, {"to", 1, &to, NULL},
	    {NULL, 0, NULL, NULL}};
	/* labels last: the long column must not push pod and node off screen.
	 */
	const char *cols[] = {"ip", "prefix_len", "cluster", "identity",
	    "namespace", "pod", "node", "host_ip", "encrypt_key", "endpoint_id",
	    "from_rev", "to_rev", INTERVAL_TIMES_COLS, "labels", TS_WINDOW_COLS,
	    NULL};
	unsigned char lo[16], hi[16];
	struct ts_spec s_at, s_from, s_to;
	struct ts_point p1, p2;
	sqlite3_stmt *st;
	int npos, rc, point, v4;

	if ((rc = hq_args(q, argc, argv, opts, pos, 1, 1, &npos, help)) != 0)
		return rc;
	if (parse_addr(pos[0], lo, hi, &v4) != 0)
		return hq_usage(
		    q, "'%s' is not an IPv4/IPv6 address or CIDR", pos[0]);
	if (at != NULL && (from != NULL || to != NULL))
		return hq_usage(q, "give --at or --from/--to, not both");
	if ((rc = ts_arg(q, "at", at, &s_at)) != 0 ||
	    (rc = ts_window_args(q, from, to, &s_from, &s_to)) != 0)
		return rc;
	point = at != NULL;
	if ((rc = hq_open(q)) != 0)
		return hq_close(q, rc);

	if (point) {
		if ((rc = ts_point(q, &s_at, &p2)) != 0)
			return hq_close(q, rc);
		p1 = p2;
		cols[17] = "at";
		cols[18] = "at_rev";
		cols[19] = NULL;
	} else {
		if (from != NULL) {
			if ((rc = ts_point(q, &s_from, &p1)) != 0)
				return hq_close(q, rc);
		} else
			ts_beginning(q, &p1);
		if ((rc = ts_point(q, &s_to, &p2)) != 0 ||
		    (rc = ts_window_gaps(q, &p1, &p2)) != 0)
			return hq_close(q, rc);
	}
	/*
	 * A point R is the window (R-1, R]'s end: rows valid at R are those
	 * with from_rev <= R < to_rev.  A window (R1, R2] shows every row
	 * valid at some revision in [R1, R2].  Labels are those of the
	 * identity generation valid when the row began (or at R1/R), else
	 * of the first to begin within the row (LABELSET_AT_SQL).
	 */
	st = hq_prepare(q,
	    "SELECT c.ip, c.prefix_len, c.cluster, c.identity," LABELSET_SQL ","
	    " c.namespace, c.pod, c.node, c.host_ip, c.encrypt_key,"
	    " c.endpoint_id, c.from_rev, c.to_rev," INTERVAL_TIMES_SQL
	    " FROM ipcache c"
	    " LEFT JOIN revisions rf ON rf.rev = c.from_rev"
	    " LEFT JOIN revisions rt ON rt.rev = c.to_rev"
	    " WHERE c.ip_bin BETWEEN ?3 AND ?4 AND c.from_rev <= ?2"
	    /*
	     * IPv4 is kept as ::ffff:a.b.c.d, but an IPv6 prefix (::/0)
	     * holds no IPv4 address and an IPv4 one no IPv6 address.
	     */
	    " AND (instr(c.ip, ':') = 0) = ?5"
	    " AND (c.to_rev IS NULL OR c.to_rev > ?1)"
	    " ORDER BY c.ip_bin, c.from_rev, c.cluster");
	if (st == NULL)
		return hq_close(q, HQ_NODB);
	sqlite3_bind_int64(st, 1, p1.rev);
	sqlite3_bind_int64(st, 2, p2.rev);
	sqlite3_bind_blob(st, 3, lo, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, hi, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, v4);

	if (point)
		ts_echo_at(q, "as of", &p2);
	else
		ts_echo_window(q, &p1, &p2);
	out_columns(q->out, cols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_row(q->out);
		hq_str_col(q, st, 0);
		hq_int_col(q, st, 1);
		hq_str_col(q, st, 2);
		hq_int_col(q, st, 3);
		hq_str_col(q, st, 5);
		hq_str_col(q, st, 6);
		hq_str_col(q, st, 7);
		hq_str_col(q, st, 8);
		hq_int_col(q, st, 9);
		hq_int_col(q, st, 10);
		hq_int_col(q, st, 11);
		hq_int_col(q, st, 12);
		hq_interval_times(q, st, 13);
		if (sqlite3_column_type(st, 4) == SQLITE_NULL)
			out_null(q->out);
		else
			hq_labels_cell(q, sqlite3_column_int64(st, 4));
		if (point)
			ts_cells_at(q, &p2);
		else
			ts_cells_window(q, &p1, &p2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return hq_close(q, hq_dberr(q, "reading ipcache"));
	return hq_close(q, 0);
}
