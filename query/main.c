/*
 * main.c: bin/hindsight, the read-only query CLI over a hindsight db.
 * Parses the global options, picks the command and returns its exit
 * status; everything else lives in the command modules (cmds.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "codec.h"
#include "hq.h"
#include "hsdb.h"

static const struct hq_cmd commands[] = {
    {"ip", cmd_ip,
	"ADDR[/LEN] [--at T | --from T1 --to T2]  who held "
	"the address(es)"},
    {"identity", cmd_identity,
	"ID [--at T]  labels and lifetime of "
	"each generation"},
    {"labels", cmd_labels,
	"SELECTOR [--at T]  identities (and IPs) "
	"matching k=v[,k=v]"},
    {"pod", cmd_pod,
	"NAMESPACE/NAME [--from T1 --to T2]  the IPs, "
	"identities and nodes a pod had"},
    {"node", cmd_node,
	"NAME [--at T]  addresses, pod CIDRs, health "
	"IPs over time"},
    {"service", cmd_service,
	"NAMESPACE/NAME [--at T]  frontends and "
	"backends over time"},
    {"key", cmd_key, "KEY | --base64 B64  raw history of any key"},
    {"changes", cmd_changes,
	"[--from T1] [--to T2] [--kind K] "
	"[--prefix P]  every change in a window"},
    {"diff", cmd_diff,
	"T1 T2 [--kind K] [--prefix P]  what differs "
	"between two points"},
    {"snapshot", cmd_snapshot,
	"[--at T] [--kind K] [--prefix P]  the "
	"whole recorded state"},
    {"churn", cmd_churn,
	"[--from T1 --to T2 | --last 7d] [--by "
	"day|hour] [--by-namespace]  churn report"},
    {"status", cmd_status, "coverage, gaps, watermark, lag, row counts"},
    {"sql", cmd_sql,
	"'SELECT ...'  read-only SQL over the tables and "
	"views"},
    {"backup", cmd_backup,
	"[--force] FILE  a consistent copy of the db, "
	"also while recording"},
    {NULL, NULL, NULL}};

static void
usage(FILE *fp)
{
	const struct hq_cmd *c;

	fputs(
	    "usage: hindsight [--db [NAME=]FILE]... [--format table|json|csv] "
	    "[--tz ZONE] COMMAND ...\n\ncommands:\n",
	    fp);
	for (c = commands; c->name != NULL; c++)
		fprintf(fp, "  %-9s %s\n", c->name, c->summary);
	fputs(
	    "\nT: RFC 3339, 'YYYY-MM-DD HH:MM[:SS]' (in --tz, default UTC), "
	    "@UNIX, rev:N, now,\n   -90m, -2h, -7d, -1h30m\n"
	    "--db defaults to $HINDSIGHT_DB, else ./cilium.db.  Several --db:\n"
	    "   one answer over every file, each row naming its db in the\n"
	    "   etcd_cluster column (NAME, else the db's etcd cluster ID).\n"
	    "Exit: 0 answered, 1 usage error, 2 db unreadable, 3 answered but "
	    "outside coverage.\n'hindsight COMMAND --help' for more; "
	    "man hindsight.\n",
	    fp);
}

static const struct hq_cmd *
find(const char *name)
{
	const struct hq_cmd *c;

	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct hq q;
	const struct hq_cmd *c;
	const char *env, *arg, *eq, *val;
	static char helparg[] = "--help";
	char name[32], *help[] = {helparg, NULL};
	int i, k, rc;

	memset(&q, 0, sizeof(q));
	env = getenv("HINDSIGHT_DB");
	q.dbpath = env != NULL && env[0] != '\0' ? env : "./cilium.db";
	q.format = OUT_TABLE;
	q.now_us = hs_now_us();

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("hindsight %s (db format %d)\n",
			    HINDSIGHT_VERSION, hsdb_version());
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			hq_error("unknown option '%s'", arg);
			return HQ_USAGE;
		}
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s",
		    (int)(eq ? (size_t)(eq - arg - 2) : strlen(arg + 2)),
		    arg + 2);
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			hq_error("%s needs a value", arg);
			return HQ_USAGE;
		}
		if ((rc = hq_global(&q, name, val)) != 0)
			return rc;
	}
	if (i == argc) {
		hq_error("no command (see 'hindsight --help')");
		return HQ_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 == argc) {
			usage(stdout);
			return 0;
		}
		if ((c = find(argv[i + 1])) == NULL) {
			hq_error("unknown command '%s'", argv[i + 1]);
			return HQ_USAGE;
		}
		q.cmd = c->name;
		rc = c->run(&q, 1, help);
		return rc == HQ_HELPED ? 0 : rc;
	}
	if ((c = find(argv[i])) == NULL) {
		hq_error(
		    "unknown command '%s' (see 'hindsight --help')", argv[i]);
		return HQ_USAGE;
	}
	q.cmd = c->name;
	/*
	 * One run per db (several --db), every run printing into the one
	 * printer the first opened; hq_finish closes it.  A command that
	 * reads every db at once (sql) sets all_dbs_done.
	 */
	q.keep_out = 1;
	rc = c->run(&q, argc - i - 1, argv + i + 1);
	for (k = 1;
	     k < q.ndb && !q.all_dbs_done && (rc == HQ_OK || rc == HQ_COVERAGE);
	     k++) {
		q.cur = k;
		rc = c->run(&q, argc - i - 1, argv + i + 1);
	}
	if (rc == HQ_HELPED)
		return 0;
	/* Coverage (exit 3) is in q.status; the answer is still printed. */
	return hq_finish(&q, rc == HQ_COVERAGE ? HQ_OK : rc);
}
