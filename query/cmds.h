/*
 * cmds.h: the query commands.  Each takes the words after its name,
 * parses them (hq_args), opens the db (hq_open), prints its answer and
 * returns the exit status through hq_close.  HQ_HELPED means --help was
 * printed.
 */
#ifndef HQ_CMDS_H
#define HQ_CMDS_H

#include "hq.h"

/*
 * An interval's times, its revisions joined as rf (from_rev) and rt
 * (to_rev): from_time (NULL when unknown: before recording began),
 * to_time, from_time_lo and to_time_lo (the lower bound of a revision
 * replayed after an outage, else NULL).  Printed by hq_interval_times().
 */
#define INTERVAL_TIMES_SQL                                                     \
	" CASE WHEN rf.t_lo_us IS NULL THEN NULL ELSE rf.t_hi_us END,"         \
	" rt.t_hi_us,"                                                         \
	" CASE WHEN rf.t_lo_us < rf.t_hi_us THEN rf.t_lo_us END,"              \
	" CASE WHEN rt.t_lo_us < rt.t_hi_us THEN rt.t_lo_us END"
#define INTERVAL_TIMES_COLS "from_time", "to_time", "from_time_lo", "to_time_lo"

/*
 * The labelset of an ipcache row c as of revision P (an SQL expression,
 * not before c began): the identity generation of c's number and cluster
 * valid at P, else the first one to begin later within c's interval (an
 * address written before the id/<N> key it names, as kvstoremesh and the
 * clustermesh-apiserver do), else NULL.  schema/012_labels.sql does the
 * same for ip_history.
 */
#define LABELSET_AT_SQL(P)                                                     \
	" coalesce((SELECT i.labelset_id FROM identities i"                    \
	"  WHERE i.identity = c.identity AND i.cluster = c.cluster"            \
	"  AND i.from_rev <= " P " AND (i.to_rev IS NULL OR i.to_rev > " P ")" \
	"  ORDER BY i.from_rev DESC LIMIT 1),"                                 \
	" (SELECT i.labelset_id FROM identities i"                             \
	"  WHERE i.identity = c.identity AND i.cluster = c.cluster"            \
	"  AND i.from_rev > " P                                                \
	"  AND (c.to_rev IS NULL OR i.from_rev < c.to_rev)"                    \
	"  ORDER BY i.from_rev LIMIT 1))"
/* ...as of the row's start or the window's (?1), whichever is later. */
#define LABELSET_SQL LABELSET_AT_SQL("max(c.from_rev, ?1)")

struct hq_cmd {
	const char *name;
	int (*run)(struct hq *q, int argc, char **argv);
	const char *summary;
};

int cmd_ip(struct hq *q, int argc, char **argv);
int cmd_identity(struct hq *q, int argc, char **argv);
int cmd_labels(struct hq *q, int argc, char **argv);
int cmd_pod(struct hq *q, int argc, char **argv);
int cmd_node(struct hq *q, int argc, char **argv);
int cmd_service(struct hq *q, int argc, char **argv);
int cmd_key(struct hq *q, int argc, char **argv);
int cmd_changes(struct hq *q, int argc, char **argv);
int cmd_diff(struct hq *q, int argc, char **argv);
int cmd_snapshot(struct hq *q, int argc, char **argv);
int cmd_churn(struct hq *q, int argc, char **argv);
int cmd_status(struct hq *q, int argc, char **argv);
int cmd_sql(struct hq *q, int argc, char **argv);
int cmd_backup(struct hq *q, int argc, char **argv);

#endif
