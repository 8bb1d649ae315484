/*
 * main.c: hindsight-recorder's command line.  Parses flags (defaults
 * follow etcdctl's ETCDCTL_* variables), sets up the loop and signals,
 * runs the recorder, and maps its end to an exit status.
 */
#include <curl/curl.h>
#include <ev.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "codec.h"
#include "etcdconfig.h"
#include "hsdb.h"
#include "metrics.h"
#include "retain.h"
#include "store.h"
#include "log.h"
#include "recorder.h"

static const char usage_text[] =
    "usage: hindsight-recorder --db FILE [options]\n"
    "\n"
    "Record every change under a key prefix of etcd (Cilium's kvstore) into a\n"
    "SQLite file: a snapshot first, then a watch; restarts resume exactly.\n"
    "\n"
    "  --db FILE             the hindsight db to record into (created if "
    "missing)\n"
    "  --endpoints URLS      comma-separated etcd client URLs\n"
    "                        (default $ETCDCTL_ENDPOINTS, else "
    "http://127.0.0.1:2379)\n"
    "  --prefix P            key prefix to record (default cilium/)\n"
    "  --cacert FILE         CA bundle for https endpoints ($ETCDCTL_CACERT)\n"
    "  --cert FILE           client certificate ($ETCDCTL_CERT)\n"
    "  --key FILE            client key ($ETCDCTL_KEY)\n"
    "  --user NAME           etcd user ($ETCDCTL_USER: NAME or NAME:PASSWORD)\n"
    "  --password-file FILE  the user's password: the file's first line\n"
    "                        ($ETCDCTL_PASSWORD); never given on the command "
    "line\n"
    "  --etcd-config FILE    read endpoints and TLS files from the "
    "etcd.config\n"
    "                        YAML Cilium agents mount; flags and ETCDCTL_* "
    "win\n"
    "  --print-config        print the settings in force (for the "
    "connection's,\n"
    "                        where each came from), then exit\n"
    "  --upgrade             bring the db to this build's format and decode\n"
    "                        again what an older build could not (a missing\n"
    "                        db is created), then exit\n"
    "  --once                catch up to etcd's current revision, then exit 0\n"
    "  --once-quiet SECS     with --once: stop after this long without a "
    "message\n"
    "                        when the watermark cannot reach etcd's revision "
    "(2)\n"
    "  --batch-ms MS         longest a live event waits before commit (20)\n"
    "  --batch-events N      commit at once when N events are pending (10000)\n"
    "  --sync-every SECS     fsync commits at least this often: a power loss\n"
    "                        undoes only younger ones (1; 0: every commit)\n"
    "  --page-limit N        most keys per snapshot page (5000; fewer for "
    "big values)\n"
    "  --catchup-streams N   watches on disjoint revision segments when "
    "resuming\n"
    "                        far behind: etcd replays each at ~10k "
    "revisions/s\n"
    "                        (16; 1 = a single watch; at most 32)\n"
    "  --catchup-min REVS    backlog that makes catch-up use several (20000)\n"
    "  --catchup-dense N     stay on one watch when the backlog's first\n"
    "                        message carries N events per revision or more\n"
    "                        (4; 0: always several)\n"
    "  --stall-timeout SECS  reconnect after this long without a byte\n"
    "                        (1500; 0: never)\n"
    "  --retain AGE          prune history that ended more than AGE ago\n"
    "                        (90d, 12h, 1d12h): closed intervals, "
    "superseded\n"
    "                        events and their revision times; open "
    "intervals,\n"
    "                        their start times and gaps stay\n"
    "  --retain-every SECS   how often to prune (300)\n"
    "  --metrics-addr ADDR   serve /metrics (Prometheus) and /healthz on\n"
    "                        HOST:PORT, e.g. 127.0.0.1:9963\n"
    "  --log-format FMT      text (default) or json\n"
    "  -v, --verbose         debug logging\n"
    "  -h, --help            this text\n"
    "  --version             print the version and db format\n"
    "\n"
    "Exit status: 0 stopped by SIGTERM/SIGINT or --once done; 1 usage or\n"
    "configuration error; 2 the db cannot be opened or written, or etcd\n"
    "refused for good (authentication, permission).\n";

enum {
	OPT_DB = 256,
	OPT_ENDPOINTS,
	OPT_PREFIX,
	OPT_CACERT,
	OPT_CERT,
	OPT_KEY,
	OPT_ONCE,
	OPT_ONCE_QUIET,
	OPT_BATCH_MS,
	OPT_BATCH_EVENTS,
	OPT_PAGE_LIMIT,
	OPT_STALL,
	OPT_LOG_FORMAT,
	OPT_VERSION,
	OPT_CATCHUP_STREAMS,
	OPT_CATCHUP_MIN,
	OPT_CATCHUP_DENSE,
	OPT_ETCD_CONFIG,
	OPT_PRINT_CONFIG,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_METRICS_ADDR,
	OPT_RETAIN,
	OPT_RETAIN_EVERY,
	OPT_SYNC_EVERY,
	OPT_UPGRADE
};

static const struct option long_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"endpoints", required_argument, NULL, OPT_ENDPOINTS},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"once", no_argument, NULL, OPT_ONCE},
    {"once-quiet", required_argument, NULL, OPT_ONCE_QUIET},
    {"batch-ms", required_argument, NULL, OPT_BATCH_MS},
    {"batch-events", required_argument, NULL, OPT_BATCH_EVENTS},
    {"sync-every", required_argument, NULL, OPT_SYNC_EVERY},
    {"page-limit", required_argument, NULL, OPT_PAGE_LIMIT},
    {"catchup-streams", required_argument, NULL, OPT_CATCHUP_STREAMS},
    {"catchup-min", required_argument, NULL, OPT_CATCHUP_MIN},
    {"catchup-dense", required_argument, NULL, OPT_CATCHUP_DENSE},
    {"etcd-config", required_argument, NULL, OPT_ETCD_CONFIG},
    {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
    {"upgrade", no_argument, NULL, OPT_UPGRADE},
    {"user", required_argument, NULL, OPT_USER},
    {"metrics-addr", required_argument, NULL, OPT_METRICS_ADDR},
    {"retain", required_argument, NULL, OPT_RETAIN},
    {"retain-every", required_argument, NULL, OPT_RETAIN_EVERY},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"stall-timeout", required_argument, NULL, OPT_STALL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/*
 * --log-format json, as the command line asks before its flags are
 * parsed: then every line the recorder writes to stderr, a complaint
 * about the start-up included, is a JSON log line, which a log shipper
 * set up for them can read.
 */
static int json_errors;

static int
wants_json(int argc, char **argv)
{
	int i, json = 0;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strncmp(argv[i], "--log-format=", 13) == 0)
			json = strcmp(argv[i] + 13, "json") == 0;
		else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
			json = strcmp(argv[++i], "json") == 0;
	}
	return json;
}

/*
 * A problem found while starting, at level (LOG_ERR, LOG_WARN):
 * "hindsight-recorder: MSG", or a JSON log line with --log-format json.
 * hint adds the pointer to --help.
 */
static void __attribute__((format(printf, 3, 4)))
say(enum log_level level, int hint, const char *fmt, ...)
{
	char raw[1024], msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (json_errors)
		log_msg(level, "%s%s", raw,
		    hint ? "; try 'hindsight-recorder --help'" : "");
	else
		fprintf(stderr, "hindsight-recorder: %s\n%s",
		    hs_oneline(raw, msg, sizeof(msg)),
		    hint ? "Try 'hindsight-recorder --help'.\n" : "");
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	char raw[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	say(LOG_ERR, 1, "%s", raw);
	exit(REC_EXIT_USAGE);
}

/*
 * A number from min to max; the counts are cast to int or long, which
 * is undefined for a double beyond their range ("1e30").
 */
static double
number(const char *arg, const char *flag, double min, double max)
{
	char *end;
	double v = strtod(arg, &end);

	if (*arg == '\0' || *end != '\0' || !(v >= min) || !(v <= max))
		usage_error("bad value for %s", flag);
	return v;
}

/*
 * What getopt_long() would have said of an option it refused (opterr is
 * 0 for --log-format json), as a usage error.  last is argv[optind - 1]:
 * the long option refused, but not a short one in a cluster ("-qv"
 * leaves optind on it), which optopt names.
 */
static void __attribute__((noreturn)) bad_option(const char *last)
{
	const struct option *o, *found = NULL;
	size_t n = strcspn(last, "=");
	int matches = 0;

	if (strncmp(last, "--", 2) != 0 || (optopt != 0 && last[n] != '='))
		usage_error("invalid option -- '%c'", optopt);
	for (o = long_opts; o->name != NULL; o++) {
		if (strncmp(o->name, last + 2, n - 2) != 0)
			continue;
		if (strlen(o->name) == n - 2) {
			found = o, matches = 1;
			break;
		}
		found = o, matches++;
	}
	/* A short option refused after "--flag=value": optopt's. */
	if (optopt != 0 && (found == NULL || found->val != optopt))
		usage_error("invalid option -- '%c'", optopt);
	if (optopt != 0)
		usage_error(
		    "option '--%s' doesn't allow an argument", found->name);
	if (matches > 1)
		usage_error("option '%.*s' is ambiguous", (int)n, last);
	usage_error("unrecognized option '%s'", last);
}

/* Seconds, milliseconds and counts: far more than any use, in a long. */
#define NUM_MAX 1e15

/* A count: a whole number ("2.5" streams is not silently 2). */
static long
count(const char *arg, const char *flag, double min)
{
	double v = number(arg, flag, min, NUM_MAX);

	if (v != floor(v))
		usage_error("bad value for %s: not a whole number", flag);
	return (long)v;
}

/*
 * --upgrade: bring the db to this build's format (or create it) and
 * decode again what an older build could not (store_open() does both),
 * then exit, without etcd: the CLI reads only its own format.
 */
static int
upgrade_db(const char *path)
{
	char err[512];
	struct store *s;

	if ((s = store_open(path, err, sizeof(err))) == NULL) {
		say(LOG_ERR, 0, "%s", err);
		return REC_EXIT_DB;
	}
	store_close(s);
	printf("%s: db format %d\n", path, hsdb_version());
	return 0;
}

/*
 * What is wrong with a URL beginning with http:// or https:// (a static
 * string), or NULL.
 */
static const char *
url_problem(const char *url)
{
	const char *why = NULL;
	CURLU *u;
	CURLUcode rc;

	/* "http:///v3" has no host, but curl would take "v3" for one. */
	if (strstr(url, "://")[3] == '/')
		return "No host part in the URL";
	if ((u = curl_url()) == NULL)
		return "out of memory";
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK)
		why = curl_url_strerror(rc);
	curl_url_cleanup(u);
	return why;
}

/* Split a comma-separated list in place; every piece must be a URL. */
static char **
split_endpoints(char *list, size_t *n)
{
	char **v = NULL, **nv, *tok, *save = NULL;
	const char *why;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		/*
		 * Logs name endpoints: a password must never be in one. Checked
		 * first, and nothing before the '@' is quoted: "user:pw@host"
		 * without a scheme must not be echoed as a bad URL either.
		 */
		if (strchr(tok, '@') != NULL)
			usage_error("endpoint '...@%s' carries credentials; "
				    "etcd's gateway takes none in the URL",
			    strrchr(tok, '@') + 1);
		if (strncmp(tok, "http://", 7) != 0 &&
		    strncmp(tok, "https://", 8) != 0)
			usage_error("endpoint '%s' is not an http:// or "
				    "https:// URL",
			    tok);
		/*
		 * Checked now, before a db is created: curl would refuse it
		 * only at the first request, or take "http://" + "/v3/..."
		 * for the host "v3" and look it up, retrying forever.
		 */
		if ((why = url_problem(tok)) != NULL)
			usage_error("endpoint '%s': %s", tok, why);
		/* A trailing '/' would double in "/v3/...". */
		while (strlen(tok) > 8 && tok[strlen(tok) - 1] == '/')
			tok[strlen(tok) - 1] = '\0';
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL) {
			say(LOG_ERR, 0, "out of memory");
			exit(REC_EXIT_USAGE);
		}
		v = nv;
		v[(*n)++] = tok;
	}
	if (*n == 0)
		usage_error("no endpoints given");
	return v;
}

/*
 * With a password, a token or a client key in memory, a core dump (or a
 * ptrace attach by another process of the same user) would hand them
 * over: neither is allowed.  Without secrets, cores stay as inherited.
 */
static void
no_core_dumps(void)
{
	struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) != 0)
		say(LOG_WARN, 0, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		say(LOG_WARN, 0, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
#endif
}

static int
readable(const char *path, const char *flag)
{
	if (path && access(path, R_OK) != 0) {
		say(LOG_ERR, 0, "%s %s: cannot read: %s", flag, path,
		    strerror(errno));
		return 0;
	}
	return 1;
}

static void
signal_cb(struct ev_loop *loop, struct ev_signal *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	log_info("signal %d: committing and stopping", w->signum);
	recorder_stop(r, REC_EXIT_OK);
}

/* A setting from its flag, else the environment, else the file. */
static const char *
pick(const char *flag, const char *env, const char *file)
{
	if (flag)
		return flag;
	if (getenv(env) && getenv(env)[0])
		return getenv(env);
	return file;
}

static const char *
source_of(const char *flag, const char *env, const char *file)
{
	if (flag)
		return "flag";
	if (getenv(env) && getenv(env)[0])
		return env;
	return file ? "--etcd-config" : "default";
}

/* The endpoint list as one comma-separated string (malloc'd). */
static char *
resolve_endpoints(const char *flag, const struct etcdconfig *file)
{
	const char *v = pick(flag, "ETCDCTL_ENDPOINTS", NULL);
	size_t i, len = 1;
	char *s;

	if (v == NULL && file->nendpoints == 0)
		v = "http://127.0.0.1:2379";
	if (v)
		s = strdup(v);
	else {
		for (i = 0; i < file->nendpoints; i++)
			len += strlen(file->endpoints[i]) + 1;
		if ((s = calloc(1, len)) != NULL) {
			for (i = 0; i < file->nendpoints; i++) {
				if (i)
					strcat(s, ",");
				strcat(s, file->endpoints[i]);
			}
		}
	}
	if (s == NULL) {
		say(LOG_ERR, 0, "out of memory");
		exit(REC_EXIT_USAGE);
	}
	return s;
}

/*
 * --print-config: the settings in force, and for the connection's where
 * each came from (a flag, ETCDCTL_*, --etcd-config).  Only file names are
 * shown, never file contents; a URL's user:password part is masked.
 */
static int
print_settings(const struct recorder_config *cfg, const char *endpoints,
    const char *f_endpoints, const char *f_cacert, const char *f_cert,
    const char *f_key, const struct etcdconfig *file, int json)
{
	const char *at, *scheme;
	char *copy, *tok, *save = NULL;

	printf("db              %s\n", cfg->db_path ? cfg->db_path : "-");
	printf("prefix          %s\n", cfg->prefix);
	printf("endpoints      ");
	if ((copy = strdup(endpoints)) != NULL) {
		for (tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			/*
			 * Everything up to the last '@' may be user:password
			 * (a password may hold an '@'; a scheme may be
			 * missing).
			 */
			scheme = strstr(tok, "://");
			at = strrchr(tok, '@');
			if (at && scheme && at > scheme)
				printf(" %.*s***@%s", (int)(scheme + 3 - tok),
				    tok, at + 1);
			else if (at)
				printf(" ***@%s", at + 1);
			else
				printf(" %s", tok);
		}
		free(copy);
	}
	printf("  (%s)\n",
	    source_of(f_endpoints, "ETCDCTL_ENDPOINTS",
		file->nendpoints ? "" : NULL));
	printf("cacert          %s  (%s)\n",
	    cfg->etcd.cacert ? cfg->etcd.cacert : "-",
	    source_of(f_cacert, "ETCDCTL_CACERT", file->cacert));
	printf("cert            %s  (%s)\n",
	    cfg->etcd.cert ? cfg->etcd.cert : "-",
	    source_of(f_cert, "ETCDCTL_CERT", file->cert));
	printf("key             %s  (%s)\n",
	    cfg->etcd.key ? cfg->etcd.key : "-",
	    source_of(f_key, "ETCDCTL_KEY", file->key));
	printf("once            %s\n", cfg->once ? "yes" : "no");
	printf("catchup-streams %d\n", cfg->catchup_streams);
	printf("catchup-min     %ld\n", cfg->catchup_min);
	printf("catchup-dense   %g\n", cfg->catchup_dense);
	printf("once-quiet      %g\n", cfg->once_quiet);
	printf("stall-timeout   %g\n", cfg->etcd.stall_timeout);
	printf("batch-ms        %g\n", cfg->batch_delay * 1000);
	printf("batch-events    %ld\n", cfg->batch_events);
	printf("sync-every      %g\n", cfg->sync_every);
	printf("page-limit      %ld\n", cfg->page_limit);
	if (cfg->retain_us > 0)
		printf("retain          %lld.%06lld s, every %g s\n",
		    (long long)(cfg->retain_us / 1000000),
		    (long long)(cfg->retain_us % 1000000), cfg->retain_every);
	else
		printf("retain          -\n");
	printf("metrics-addr    %s\n",
	    cfg->metrics_addr ? cfg->metrics_addr : "-");
	printf("log-format      %s\n", json ? "json" : "text");
	return 0;
}

/*
 * The etcd user and password: --user, else ETCDCTL_USER ("name" or
 * "name:password", as etcdctl reads it); the password from
 * --password-file (its first line), else ETCDCTL_USER's, else
 * ETCDCTL_PASSWORD.  Never from a flag's value: that would show in ps.
 */
static int
credentials(const char *flag_user, const char *password_file, char *user,
    size_t usize, char *password, size_t psize)
{
	const char *env = getenv("ETCDCTL_USER"), *colon;
	char err[512];

	user[0] = password[0] = '\0';
	if (flag_user && strchr(flag_user, ':') != NULL) {
		/* etcdctl's --user NAME:PASSWORD: not quoted, not taken. */
		say(LOG_ERR, 0,
		    "--user takes a name only; give the password with "
		    "--password-file");
		return -1;
	}
	if (flag_user)
		snprintf(user, usize, "%s", flag_user);
	else if (env && env[0]) {
		colon = strchr(env, ':');
		snprintf(user, usize, "%.*s",
		    (int)(colon ? (size_t)(colon - env) : strlen(env)), env);
		if (colon)
			snprintf(password, psize, "%s", colon + 1);
	}
	if (password_file) {
		if (etcdconfig_read_secret(password_file, password, psize, err,
			sizeof(err)) != 0) {
			say(LOG_ERR, 0, "--password-file %s", err);
			return -1;
		}
	} else if (password[0] == '\0' && getenv("ETCDCTL_PASSWORD"))
		snprintf(password, psize, "%s", getenv("ETCDCTL_PASSWORD"));
	if (user[0] == '\0' && password[0] != '\0') {
		say(LOG_ERR, 0, "a password but no user: give --user");
		return -1;
	}
	if (user[0] != '\0' && password[0] == '\0') {
		say(LOG_ERR, 0, "user %s has no password: give --password-file",
		    user);
		return -1;
	}
	return 0;
}

/* Set up libcurl, the loop and the signals; record until told to stop. */

/* /metrics and /healthz of the recorder main() opened (arg: its address). */
static void
metrics_render(void *arg, struct mbuf *out)
{
	struct recorder *const *r = arg;

	if (*r != NULL)
		recorder_metrics(*r, out);
}

static int
metrics_health(void *arg, char *why, size_t size)
{
	struct recorder *const *r = arg;

	if (*r == NULL) {
		snprintf(why, size, "starting");
		return 0;
	}
	return recorder_health(*r, why, size);
}

static int
run(const struct recorder_config *cfg)
{
	struct ev_loop *loop;
	struct ev_signal sigterm, sigint;
	struct recorder *r;
	struct metrics *metrics = NULL;
	struct retain *retain = NULL;
	sigset_t stop;
	char err[512];
	int status;

	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("cannot initialise libcurl");
		return REC_EXIT_USAGE;
	}
	loop = EV_DEFAULT;
	/*
	 * Listen before the db is opened: a bad --metrics-addr is a usage
	 * error that must not leave a new, empty db behind.  Nothing is
	 * served before the loop runs, and r is set by then.
	 */
	r = NULL;
	if (cfg->metrics_addr &&
	    (metrics = metrics_start(loop, cfg->metrics_addr, metrics_render,
		 metrics_health, &r, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		curl_global_cleanup();
		return REC_EXIT_USAGE;
	}
	if ((r = recorder_new(loop, cfg, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		metrics_stop(metrics);
		curl_global_cleanup();
		return REC_EXIT_DB;
	}
	if (cfg->retain_us > 0 &&
	    (retain = retain_start(loop, cfg->db_path, cfg->retain_us,
		 cfg->retain_every, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		metrics_stop(metrics);
		recorder_free(r);
		curl_global_cleanup();
		return REC_EXIT_DB;
	}
	ev_signal_init(&sigterm, signal_cb, SIGTERM);
	sigterm.data = r;
	ev_signal_start(loop, &sigterm);
	ev_signal_init(&sigint, signal_cb, SIGINT);
	sigint.data = r;
	ev_signal_start(loop, &sigint);
	/* libev's handlers are in place (main() held the signals so far). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);

	if (recorder_start(r) == 0)
		ev_run(loop, 0);
	status = recorder_status(r);
	ev_signal_stop(loop, &sigterm);
	ev_signal_stop(loop, &sigint);
	retain_stop(retain);
	metrics_stop(metrics);
	recorder_free(r);
	curl_global_cleanup();
	return status;
}

int
main(int argc, char **argv)
{
	struct recorder_config cfg;
	struct etcdconfig file;
	const char *f_endpoints = NULL, *f_cacert = NULL, *f_cert = NULL;
	const char *f_key = NULL, *config_path = NULL, *f_user = NULL;
	const char *password_file = NULL;
	static char user[256], password[1024];
	char *endpoints = NULL, err[512];
	sigset_t stop;
	int c, verbose = 0, json = 0, print_config = 0, upgrade = 0, status;
	double v;

	/*
	 * A SIGTERM during start-up, before the loop's signal watchers exist,
	 * must still mean "commit and exit 0": hold the signals until run()
	 * has its watchers, then let them in (a pending one arrives there).
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.prefix = "cilium/";
	cfg.once_quiet = 2.0;
	cfg.batch_delay = 0.020;
	cfg.batch_events = 10000;
	cfg.sync_every = 1;
	cfg.page_limit = 5000;
	cfg.catchup_streams = 16;
	cfg.retain_every = 300;
	cfg.catchup_min = 20000;
	cfg.catchup_dense = 4;
	/*
	 * etcd sends a quiet watch a progress notification every 10 minutes
	 * but skips the first one after events: up to 20 minutes of silence.
	 */
	cfg.etcd.stall_timeout = 1500;
	cfg.etcd.request_timeout = 60;
	memset(&file, 0, sizeof(file));

	/* JSON lines from the first complaint on; getopt's are plain text. */
	if ((json_errors = wants_json(argc, argv)) != 0) {
		log_setup(LOG_INFO, 1);
		opterr = 0;
	}
	while ((c = getopt_long(argc, argv, json_errors ? ":vh" : "vh",
		    long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			cfg.db_path = optarg;
			break;
		case OPT_ENDPOINTS:
			f_endpoints = optarg;
			break;
		case OPT_RETAIN:
			if ((cfg.retain_us = retain_parse(optarg)) < 0)
				usage_error(
				    "--retain %s: give an age like 90d, "
				    "12h, 2w or 1d12h",
				    optarg);
			break;
		case OPT_RETAIN_EVERY:
			cfg.retain_every =
			    number(optarg, "--retain-every", 0.1, NUM_MAX);
			break;
		case OPT_METRICS_ADDR:
			cfg.metrics_addr = optarg;
			break;
		case OPT_USER:
			f_user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			password_file = optarg;
			break;
		case OPT_ETCD_CONFIG:
			config_path = optarg;
			break;
		case OPT_PRINT_CONFIG:
			print_config = 1;
			break;
		case OPT_UPGRADE:
			upgrade = 1;
			break;
		case OPT_PREFIX:
			cfg.prefix = optarg;
			break;
		case OPT_CACERT:
			f_cacert = optarg;
			break;
		case OPT_CERT:
			f_cert = optarg;
			break;
		case OPT_KEY:
			f_key = optarg;
			break;
		case OPT_ONCE:
			cfg.once = 1;
			break;
		case OPT_ONCE_QUIET:
			cfg.once_quiet =
			    number(optarg, "--once-quiet", 0.05, NUM_MAX);
			break;
		case OPT_BATCH_MS:
			cfg.batch_delay =
			    number(optarg, "--batch-ms", 0, NUM_MAX) / 1000;
			break;
		case OPT_SYNC_EVERY:
			cfg.sync_every =
			    number(optarg, "--sync-every", 0, NUM_MAX);
			break;
		case OPT_BATCH_EVENTS:
			cfg.batch_events = count(optarg, "--batch-events", 1);
			break;
		case OPT_PAGE_LIMIT:
			cfg.page_limit = count(optarg, "--page-limit", 1);
			break;
		case OPT_CATCHUP_STREAMS:
			/* Checked before the cast: 1e12 would wrap. */
			v = (double)count(optarg, "--catchup-streams", 1);
			if (v > 32)
				usage_error("--catchup-streams: at most 32");
			cfg.catchup_streams = (int)v;
			break;
		case OPT_CATCHUP_MIN:
			cfg.catchup_min = count(optarg, "--catchup-min", 2);
			break;
		case OPT_CATCHUP_DENSE:
			cfg.catchup_dense =
			    number(optarg, "--catchup-dense", 0, NUM_MAX);
			break;
		case OPT_STALL:
			cfg.etcd.stall_timeout =
			    number(optarg, "--stall-timeout", 0, NUM_MAX);
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") != 0)
				usage_error(
				    "--log-format must be text or json, "
				    "not '%s'",
				    optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case OPT_VERSION:
			printf("hindsight-recorder %s (db format %d)\n",
			    HINDSIGHT_VERSION, hsdb_version());
			return 0;
		case ':': /* getopt_long() said nothing: --log-format json */
			usage_error("option '%s' requires an argument",
			    argv[optind - 1]);
		case '?':
			if (json_errors)
				bad_option(argv[optind - 1]);
			/* FALLTHROUGH */
		default:
			fprintf(stderr, "Try 'hindsight-recorder --help'.\n");
			return REC_EXIT_USAGE;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	/* --print-config alone needs no db; --upgrade always does. */
	if (cfg.db_path == NULL && (!print_config || upgrade))
		usage_error("--db FILE is required");
	if (upgrade)
		return upgrade_db(cfg.db_path);
	if (cfg.prefix[0] == '\0')
		usage_error("--prefix must not be empty");
	if (config_path &&
	    etcdconfig_read(config_path, &file, err, sizeof(err)) != 0) {
		say(LOG_ERR, 0, "--etcd-config %s", err);
		return REC_EXIT_USAGE;
	}
	/* Flags, then ETCDCTL_* (as etcdctl), then Cilium's etcd.config. */
	endpoints = resolve_endpoints(f_endpoints, &file);
	cfg.etcd.cacert = pick(f_cacert, "ETCDCTL_CACERT", file.cacert);
	cfg.etcd.cert = pick(f_cert, "ETCDCTL_CERT", file.cert);
	cfg.etcd.key = pick(f_key, "ETCDCTL_KEY", file.key);
	if (credentials(f_user, password_file, user, sizeof(user), password,
		sizeof(password)) != 0) {
		status = REC_EXIT_USAGE;
		goto out;
	}
	cfg.etcd.user = user[0] ? user : NULL;
	if (cfg.etcd.user || cfg.etcd.key)
		no_core_dumps();
	cfg.etcd.password = password;
	cfg.password_file = password_file;
	/* The file is read again at each authentication: keep no copy. */
	if (password_file)
		explicit_bzero(password, sizeof(password));
	if (print_config) {
		if (cfg.etcd.user) {
			const char *eu = getenv("ETCDCTL_USER");

			printf("user            %s  (%s)\n", user,
			    f_user ? "flag" : "ETCDCTL_USER");
			if (password_file)
				printf("password        ***  (--password-file "
				       "%s)\n",
				    password_file);
			else
				printf("password        ***  (%s)\n",
				    eu != NULL && strchr(eu, ':') != NULL
					? "ETCDCTL_USER"
					: "ETCDCTL_PASSWORD");
		}
		status = print_settings(&cfg, endpoints, f_endpoints, f_cacert,
		    f_cert, f_key, &file, json);
		etcdconfig_release(&file);
		free(endpoints);
		return status;
	}
	cfg.etcd.endpoints = split_endpoints(endpoints, &cfg.etcd.nendpoints);

	log_setup(verbose ? LOG_DEBUG : LOG_INFO, json);
	if (!readable(cfg.etcd.cacert, "--cacert") ||
	    !readable(cfg.etcd.cert, "--cert") ||
	    !readable(cfg.etcd.key, "--key"))
		status = REC_EXIT_USAGE;
	else
		status = run(&cfg);
out:
	free(cfg.etcd.endpoints);
	free(endpoints);
	etcdconfig_release(&file);
	explicit_bzero(password, sizeof(password));
	return status;
}
