/*
 * recorder.c: snapshot, watch, resume (see recorder.h).
 *
 * Exactly-once rests on three facts: a revision's events are written only
 * once all of them are known, every commit writes the watermark with the
 * events it covers, and the watermark claims only revisions written.
 * After any stop the watch resumes at watermark + 1, and events at or
 * below the revision a stream was started from are dropped.
 *
 * Whole revisions: etcd batches whole revisions into a response (up to
 * 1000 of them while replaying), but the watch asks it to fragment a big
 * response, a fragment boundary may fall inside a revision (a txn), and
 * events are decoded one at a time, not a whole message first.  So the
 * events of the newest revision are held in memory until an event of a
 * later revision arrives or the response ends (a message without
 * "fragment"); only then are they written.  A commit, at any time, thus
 * holds whole revisions; the held ones of a stream that breaks are
 * dropped and come again from the next.  Memory: one fragment (etcd's
 * --max-request-bytes + 512 KiB, 2 MiB by default, some 3 MB as JSON) and
 * one revision, however long the backlog.
 *
 * Time: a revision delivered after the watch was created at store
 * revision H (mod_rev > H) is live and stamped with the time it arrived.
 * Revisions <= H were committed while we were not watching: between the
 * last moment the previous watch was known healthy and now, and are stored
 * with those bounds ("replay").
 */
#include "recorder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catchup.h"
#include "clock.h"
#include "codec.h"
#include "decode.h"
#include "etcdconfig.h"
#include "kinds.h"
#include "metrics.h"
#include "log.h"
#include "store.h"
#include "wire.h"

enum { ST_IDLE, ST_SNAPSHOT, ST_WATCH, ST_STOPPING };

/* A read sent to the watched member (alive_check). */
struct alive {
	struct recorder *r;
	unsigned gen; /* the watch it was sent for */
	int64_t sent_us; /* when, on the recorder's clock */
	int64_t sent_mono; /* when, for how long it waits */
	int busy;
};

struct recorder {
	struct ev_loop *loop;
	struct recorder_config cfg;
	struct store *store;
	struct etcd *etcd;
	struct etcd_stream *stream;
	int state;
	int status;
	int fatal; /* stop at the next chance, with status */

	/* resync: re-list after a gap instead of a first snapshot */
	int resync;
	int new_history; /* the resync is for another history: a new epoch */
	char resync_reason[300];
	/*
	 * Re-list at this revision, etcd's compaction revision, not at
	 * etcd's current one: what etcd still holds after it is watched,
	 * not folded into the gap (0: at the current revision; set only
	 * while resync is, and cleared with it).
	 */
	int64_t resync_at;
	int64_t gap_from_rev; /* hindsight revision the gap starts at */
	uint64_t resync_cluster;
	/* another cluster_id seen at watch creation, and on which endpoints */
	uint64_t foreign_id;
	uint64_t foreign_seen;
	/* endpoints not_gateway() has spoken of (endpoint_bits()) */
	uint64_t not_gateway;
	/* a cluster_id taken for the recorded one's successor (0: none) */
	uint64_t successor_id;
	/* a watch began below the watermark at this revision (0: none) */
	int64_t behind_rev;

	/* the last key recorded as present, asked back from etcd on resume */
	int lineage_ok; /* asked and answered: resume goes on */
	char *lin_key, *lin_val;
	size_t lin_keylen, lin_vallen;
	int64_t lin_mod;

	/* snapshot (or resync listing) in progress */
	int64_t snap_rev;
	int64_t snap_us;
	long snap_keys;
	char *last_key;
	size_t last_keylen;
	/* listing page sizes (page_limit()) */
	long page_asked; /* keys asked for by the page on its way */
	long page_next; /* keys to ask for next (0: the listing's first) */

	/* watch */
	uint64_t cluster_id;
	int64_t wm_rev; /* recorded through (etcd revision) */
	int64_t wm_us;
	int64_t resume_rev; /* wm_rev when the stream was started */
	int64_t replay_lo_us; /* last moment known covered before it */
	int64_t t_written; /* the latest revision time written */
	int64_t watch_sent_us; /* when it was asked for */
	int synced; /* etcd showed the watch synced: it sends as it commits */
	int resp_multi; /* this response carried more than one revision */
	int64_t resp_rev; /* its header's revision */
	int resp_fresh; /* the stream was drained when it came */
	int fresh; /* the loop found nothing to read since the last message */
	int64_t idle_us; /* when it last did, for this watch (0: never) */
	struct ev_idle drain_idle; /* notes that moment */
	int64_t created_rev; /* store revision at watch creation, or -1 */
	int64_t created_us; /* when the first of them was created */
	long pending; /* events in the open transaction */
	/* the newest revision's events, not written yet: more may follow */
	struct wire_event *held;
	size_t nheld, held_cap;
	int in_fragments; /* the last message was a fragment: more follows */
	char stream_error[400];

	/* catch-up with several watches (catchup.h) */
	struct catchup *catchup;
	int catchup_off; /* it failed: one watch until that one caught up */

	/* figures for /metrics */
	int64_t started_us;
	int64_t n_revisions; /* revisions written since start */
	int64_t n_reconnects;
	int64_t n_gaps;
	int64_t head_rev; /* newest etcd revision seen in a header */
	double commit_sum;
	int64_t commit_count;
	int64_t commit_hist[10]; /* per bucket of commit_le[] */

	/* etcd authentication */
	void (*auth_next)(struct recorder *);
	int auth_off; /* etcd said authentication is not enabled */
	int auth_busy; /* an authentication is on its way */
	long auth_pages; /* listing pages answered with the current token */
	char auth_why[260]; /* why authenticating again (token_retry()) */

	double backoff;
	void (*retry_fn)(struct recorder *);
	struct ev_timer retry_timer;
	struct ev_timer fail_timer; /* stops the recorder after fail() */
	struct ev_timer cu_idle; /* catch-up streams all silent */
	int64_t cu_to; /* etcd's revision when the catch-up began */
	int cu_probe; /* asking etcd whether anything is still to come */
	int cu_nothing; /* nothing is: go on with one watch */
	int cu_sample; /* one watch's first message decides (cu_judge) */
	int cu_go; /* it did: go on with several watches */
	int64_t cu_rev0; /* the watermark when the sample began */
	int64_t cu_ev0; /* events written when it began */
	struct ev_timer batch_timer;
	struct ev_idle batch_idle; /* live: commit once nothing else is due */
	double last_commit; /* ev_now() after the last commit */
	struct ev_timer tick_timer;
	/* the watched member shows it is live (alive_check) */
	unsigned watch_gen; /* counts watches: what a read vouches for */
	int64_t alive_us; /* everything committed before it reached us */
	char alive_why[300]; /* the member failed a read: watch elsewhere */
	struct alive alive[4]; /* reads on their way, one per watch */
	struct ev_timer quiet_timer;
	int quiet_probe; /* --once: asking etcd for keys still to come */
	int quiet_waits; /* silences since the last message with keys pending */
	struct ev_timer sync_timer;
	int sync_due; /* the sync timer fired inside a transaction */
};

/* Upper bounds (seconds) of the commit latency histogram's buckets. */
static const double commit_le[10] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

static void snapshot_request(struct recorder *r);
static void watch_single(struct recorder *r);
static void config_failure(struct recorder *r, const char *why);
static void resume_start(struct recorder *r);
static int foreign_everywhere(struct recorder *r, uint64_t id);
static void alive_reauthed(struct recorder *r);
static void auth_later(struct recorder *r, const char *why);
static const char *gateway_refusal(const char *msg);
static void not_gateway(struct recorder *r, long status, const char *path);

/*
 * Nothing more is written after a failure (commit() refuses), and the
 * recorder stops from the loop, outside whatever callback failed.
 */
static void
fail(struct recorder *r, int status)
{
	if (!r->fatal) {
		r->fatal = 1;
		r->status = status;
		ev_timer_start(r->loop, &r->fail_timer);
	}
}

static int
sync_now(struct recorder *r)
{
	r->sync_due = 0;
	if (store_sync(r->store) == 0)
		return 0;
	log_err("stopping: what was committed before the last sync is "
		"intact; a restart resumes from there");
	fail(r, REC_EXIT_DB);
	return -1;
}

static int
commit(struct recorder *r)
{
	double t0, dt;
	size_t i;

	ev_timer_stop(r->loop, &r->batch_timer);
	ev_idle_stop(r->loop, &r->batch_idle);

	if (!store_in_txn(r->store))
		return 0;
	/* After a failure the open transaction may hold half a revision. */
	if (r->fatal) {
		store_rollback(r->store);
		return -1;
	}
	t0 = ev_time();
	if (store_commit(r->store) != 0) {
		log_err("cannot write %s; stopping (what was committed "
			"before is intact; a restart resumes from there)",
		    r->cfg.db_path);
		fail(r, REC_EXIT_DB);
		return -1;
	}
	r->pending = 0;
	if ((r->cfg.sync_every <= 0 || r->sync_due) && sync_now(r) != 0)
		return -1;
	dt = ev_time() - t0;
	r->commit_sum += dt;
	r->commit_count++;
	for (i = 0; i < sizeof(commit_le) / sizeof(commit_le[0]); i++)
		if (dt <= commit_le[i])
			r->commit_hist[i]++;
	/* Commits can take a while; timers armed next must see real time. */
	ev_now_update(r->loop);
	r->last_commit = ev_now(r->loop);
	return 0;
}

static void
retry_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	r->retry_fn(r);
}

static void
fail_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	recorder_stop(r, r->status);
}

/* Try fn again after the backoff, on the next endpoint. */
static void
retry_later(struct recorder *r, void (*fn)(struct recorder *))
{
	double jitter = 0.8 + 0.4 * (double)random() / RAND_MAX;

	if (r->state == ST_STOPPING)
		return;
	if (r->fatal) {
		recorder_stop(r, r->status);
		return;
	}
	etcd_next_endpoint(r->etcd);
	r->n_reconnects++;
	r->retry_fn = fn;
	ev_timer_stop(r->loop, &r->retry_timer);
	ev_timer_set(&r->retry_timer, r->backoff * jitter, 0.);
	ev_timer_start(r->loop, &r->retry_timer);
	log_info("retrying in %.1fs with %s", r->backoff * jitter,
	    etcd_endpoint(r->etcd));
	r->backoff = r->backoff * 2 > 5.0 ? 5.0 : r->backoff * 2;
}

/*
 * The token was refused: expired, invalidated (simple tokens die with a
 * member restart), or issued before an auth change (JWT).  With
 * credentials, authenticate again; without, etcd wants credentials.
 */
static int
token_error(long status, int code, const char *msg)
{
	return status == 401 || code == 16 ||
	    strstr(msg, "invalid auth token") != NULL ||
	    strstr(msg, "revision of auth store is old") != NULL ||
	    strstr(msg, "user name is empty") != NULL;
}

/* Is this etcd error one that retrying cannot fix? */
static int
permanent_error(long status, int code, const char *msg)
{
	if (status == 403 || code == 7)
		return 1;
	return strstr(msg, "permission denied") != NULL ||
	    strstr(msg, "authentication failed") != NULL;
}

/*
 * etcd refused our token.  With credentials: drop it, so the next try
 * authenticates again (returns 1).  Without: etcd wants credentials we do
 * not have; stop (returns 0).
 */
static int
token_retry(struct recorder *r, const char *why)
{
	if (r->cfg.etcd.user == NULL) {
		log_err("etcd %s requires authentication (%s): give --user and "
			"--password-file",
		    etcd_endpoint(r->etcd), why);
		fail(r, REC_EXIT_ETCD);
		return 0;
	}
	/* Said once authenticated again (auth_done()): one line each time. */
	log_debug("etcd %s refused the auth token (%s); authenticating again",
	    etcd_endpoint(r->etcd), why);
	snprintf(r->auth_why, sizeof(r->auth_why), "%s the auth token (%.200s)",
	    etcd_has_token(r->etcd) ? "refused" : "asks for", why);
	etcd_set_token(r->etcd, NULL);
	/* Authentication was off when we asked, and is on now. */
	r->auth_off = 0;
	return 1;
}

static void
auth_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	/* JWTs signed with a 4096-bit RSA key run to ~800 bytes. */
	char token[8192], err[300];
	int code = 0;

	r->auth_busy = 0;
	if (r->state == ST_STOPPING)
		return;
	if (result == ETCD_CONFIG) {
		config_failure(r, errmsg);
		return;
	}
	if (result == ETCD_OK && status == 200 &&
	    wire_parse_token(body, len, token, sizeof(token)) == 0) {
		etcd_set_token(r->etcd, token);
		explicit_bzero(token, sizeof(token));
		r->auth_pages = 0;
		if (r->auth_why[0])
			log_info("etcd %s %s; authenticated again as %s",
			    etcd_endpoint(r->etcd), r->auth_why,
			    r->cfg.etcd.user);
		else
			log_info("authenticated to etcd %s as %s",
			    etcd_endpoint(r->etcd), r->cfg.etcd.user);
		r->auth_why[0] = '\0';
		r->auth_next(r);
		return;
	}
	if (result == ETCD_OK && status == 200)
		/* Its body carries a token: never quote it. */
		snprintf(
		    err, sizeof(err), "the answer carries no usable token");
	else if (result == ETCD_OK)
		wire_parse_error(status, body, len, &code, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", errmsg);
	if (result == ETCD_OK && status != 200 && gateway_refusal(err)) {
		config_failure(r, gateway_refusal(err));
		return;
	}
	if (strstr(err, "authentication is not enabled")) {
		log_info("etcd %s has authentication disabled; going on "
			 "without a token",
		    etcd_endpoint(r->etcd));
		r->auth_off = 1;
		r->auth_next(r);
		return;
	}
	if (result == ETCD_OK &&
	    (permanent_error(status, code, err) ||
		strstr(err, "invalid user ID or password"))) {
		log_err("etcd %s: authentication as %s failed: %s",
		    etcd_endpoint(r->etcd), r->cfg.etcd.user, err);
		fail(r, REC_EXIT_ETCD);
		recorder_stop(r, r->status);
		return;
	}
	log_warn("authenticating to etcd %s failed: %s", etcd_endpoint(r->etcd),
	    err);
	if (result == ETCD_OK)
		not_gateway(r, status, "/v3/auth/authenticate");
	auth_later(r, err);
}

/*
 * Before a request: with credentials and no token, authenticate first and
 * go on with next afterwards (returns 1: the caller stops here).
 */
static int
need_auth(struct recorder *r, void (*next)(struct recorder *))
{
	char *body, secret[1024], err[512];

	if (r->cfg.etcd.user == NULL || r->auth_off || etcd_has_token(r->etcd))
		return 0;
	/*
	 * The one on its way goes on with next.  But a read of the watched
	 * member needs nothing done after it (alive_reauthed): answered
	 * late, once its watch had ended, it must not take the place of the
	 * resume that authenticates, or no watch would start again.
	 */
	if (r->auth_busy) {
		if (next != alive_reauthed)
			r->auth_next = next;
		return 1;
	}
	r->auth_next = next;
	/*
	 * Re-read the file each time: a rotated password is picked up.  It
	 * was read at start (main exits 1 when it cannot be), so a file now
	 * missing or empty is caught mid-rotation (`echo new > file`
	 * truncates it first): try again later, as for etcd trouble.
	 */
	if (r->cfg.password_file &&
	    etcdconfig_read_secret(r->cfg.password_file, secret, sizeof(secret),
		err, sizeof(err)) != 0) {
		log_warn("--password-file %s; trying again", err);
		auth_later(r, err);
		return 1;
	}
	body = wire_auth_request(r->cfg.etcd.user,
	    r->cfg.password_file ? secret : r->cfg.etcd.password);
	explicit_bzero(secret, sizeof(secret));
	if (body == NULL ||
	    etcd_post(r->etcd, "/v3/auth/authenticate", body, auth_done, r) !=
		0) {
		log_err("cannot authenticate (out of memory)");
		fail(r, REC_EXIT_DB);
		recorder_stop(r, r->status);
	} else
		r->auth_busy = 1;
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	return 1;
}

/* Retrying cannot help (TLS trust, certificates, URL): say so and stop. */
static void
config_failure(struct recorder *r, const char *why)
{
	log_err("cannot talk to etcd at %s as configured: %s",
	    etcd_endpoint(r->etcd), why);
	fail(r, REC_EXIT_USAGE);
	recorder_stop(r, r->status);
}

/*
 * The gateway's plain-text refusals that retrying cannot fix: a plain
 * request that reached a TLS port, and a client certificate with a
 * CommonName while etcd has authentication on (etcd-gateway.md, pitfall
 * 11: every /v3/ request then gets this 400).  The reason to give, or
 * NULL.
 */
static const char *
gateway_refusal(const char *msg)
{
	if (strstr(msg, "HTTP request to an HTTPS"))
		return msg;
	if (strstr(msg,
		"CommonName of client sending a request against "
		"gateway"))
		return "etcd refuses a client certificate with a CommonName "
		       "over its JSON gateway while authentication is on: "
		       "use one without CN (the etcd user is --user)";
	return NULL;
}

/*
 * The endpoint requests go to now, as a bit of a mask over the first 64
 * of --endpoints (every bit of an URL listed twice).
 */
static uint64_t
endpoint_bits(const struct recorder *r)
{
	const char *cur = etcd_endpoint(r->etcd);
	uint64_t bits = 0;
	size_t i;

	for (i = 0; i < r->cfg.etcd.nendpoints && i < 64; i++)
		if (strcmp(r->cfg.etcd.endpoints[i], cur) == 0)
			bits |= (uint64_t)1 << i;
	return bits;
}

/*
 * An answer that only the endpoint's configuration explains: not etcd's
 * v3 JSON gateway at all, or an etcd that refuses the URL's host name.
 * Each failure has its own warn line; this says what to fix, once per
 * endpoint (the others in --endpoints may serve).
 */
static void
not_gateway(struct recorder *r, long status, const char *path)
{
	const char *fix;
	uint64_t bits = endpoint_bits(r);

	switch (status) {
	case 404:
		fix = "no etcd v3 JSON gateway there: an etcd older than 3.4 "
		      "(3.3 serves /v3beta/, 3.2 /v3alpha/), or not etcd at "
		      "all";
		break;
	case 405:
		fix = "it does not take a POST there: not etcd's JSON gateway";
		break;
	case 421:
		fix = "etcd does not accept the host name of the URL: add it "
		      "to etcd's --host-whitelist, or use https://";
		break;
	default:
		return;
	}
	if ((r->not_gateway & bits) == bits && bits != 0)
		return;
	r->not_gateway |= bits;
	log_warn("etcd %s answers HTTP %ld to POST %s: %s; check --endpoints",
	    etcd_endpoint(r->etcd), status, path, fix);
}

static void
snapshot_reset(struct recorder *r)
{
	store_rollback(r->store);
	r->snap_rev = 0;
	r->snap_keys = 0;
	free(r->last_key);
	r->last_key = NULL;
	r->last_keylen = 0;
	r->pending = 0;
}

/*
 * The first page of a resync fixes its revision.  Another cluster_id, or
 * revisions below what was recorded (etcd restored or recreated), means
 * another etcd history: a new epoch, so revisions never mix.
 */
static int
resync_first(struct recorder *r, const struct wire_range *rg)
{
	char why[128];

	r->gap_from_rev = store_hs_rev(r->store, r->wm_rev);
	r->resync_cluster = rg->hdr.cluster_id;
	if (store_begin(r->store) != 0)
		return -1;
	if (rg->hdr.cluster_id != r->cluster_id ||
	    rg->hdr.revision < r->wm_rev || r->new_history) {
		snprintf(why, sizeof(why), "; new epoch for cluster %llu",
		    (unsigned long long)rg->hdr.cluster_id);
		if (strlen(r->resync_reason) + strlen(why) <
		    sizeof(r->resync_reason))
			strcat(r->resync_reason, why);
		if (store_new_epoch(r->store, rg->hdr.cluster_id,
			rg->hdr.revision, r->snap_us) != 0)
			return -1;
	}
	return store_revision(r->store, r->snap_rev, "resync", r->wm_us,
		   r->snap_us) != 0 ||
		store_resync_begin(r->store) != 0
	    ? -1
	    : 0;
}

static int
snapshot_page(struct recorder *r, const struct wire_range *rg)
{
	struct store_event ev;
	size_t i;

	if (r->snap_rev == 0) {
		/* A page asked at a revision: its header has etcd's newest. */
		r->snap_rev =
		    r->resync_at > 0 ? r->resync_at : rg->hdr.revision;
		r->snap_us = clock_now_us();
		if (r->resync) {
			if (resync_first(r, rg) != 0)
				return -1;
		} else {
			r->cluster_id = rg->hdr.cluster_id;
			if (store_begin(r->store) != 0 ||
			    store_first_epoch(r->store, r->cluster_id,
				r->cfg.prefix, r->snap_rev, r->snap_us) != 0 ||
			    /* Committed before the snapshot, like its keys. */
			    store_revision(r->store, r->snap_rev, "snapshot",
				-1, r->snap_us) != 0)
				return -1;
		}
	}
	for (i = 0; i < rg->nkvs; i++) {
		const struct wire_kv *kv = &rg->kvs[i];

		memset(&ev, 0, sizeof(ev));
		ev.type = 0;
		ev.key = kv->key;
		ev.keylen = kv->keylen;
		ev.value = kv->value;
		ev.vallen = kv->vallen;
		ev.mod_rev = kv->mod_rev;
		ev.create_rev = kv->create_rev;
		ev.version = kv->version;
		ev.lease = kv->lease;
		ev.origin = 1;
		if (r->resync) {
			if (store_resync_key(r->store, &ev, r->snap_rev) != 0)
				return -1;
			continue;
		}
		/* When it was written is unknown: before the snapshot. */
		if (store_revision(r->store, kv->mod_rev, "snapshot", -1,
			r->snap_us) != 0 ||
		    store_event(r->store, &ev) != 0)
			return -1;
	}
	r->snap_keys += (long)rg->nkvs;
	return 0;
}

/*
 * A re-listing's first page came from an endpoint of another cluster than
 * the recorded one (returns 1): a page failed and the listing began again
 * on the next endpoint, a wrong entry in --endpoints or a clustermesh peer.
 * As for a watch (process_line()), that is no replaced cluster until every
 * endpoint has shown it, or a watch already took it for the successor.
 */
static int
resync_foreign(struct recorder *r, uint64_t id)
{
	if (id == r->cluster_id) {
		r->foreign_seen = 0;
		return 0;
	}
	if (id == r->successor_id)
		return 0;
	if (!foreign_everywhere(r, id))
		return 1;
	r->foreign_seen = 0;
	r->successor_id = id;
	return 0;
}

/* Vanished keys, the gap row, and a line for the operator. */
static int
resync_done(struct recorder *r)
{
	long puts = 0, dels = 0;

	if (store_resync_finish(r->store, r->snap_rev, r->gap_from_rev,
		r->wm_us, r->snap_us, r->resync_reason, &puts, &dels) != 0) {
		fail(r, REC_EXIT_DB);
		return -1;
	}
	r->cluster_id = r->resync_cluster;
	r->n_gaps++;
	log_warn("gap recorded after revision %lld: %s; re-listed %ld keys at "
		 "revision %lld: %ld inferred puts, %ld inferred deletes",
	    (long long)r->wm_rev, r->resync_reason, r->snap_keys,
	    (long long)r->snap_rev, puts, dels);
	return 0;
}

/*
 * A listing page holds about SNAP_PAGE_BYTES of response: etcd limits a
 * range by keys only, and 5000 keys of values near etcd's 1.5 MiB limit
 * would be gigabytes in memory (the text, its parse tree, the values).
 * The first page asks for one key; each next one for as many keys of the
 * page before's average size as fit in SNAP_PAGE_BYTES, at most twice
 * its keys (a few keys are a poor average) and at most --page-limit.  A
 * response longer than SNAP_PAGE_MAX (big values after small ones) is
 * abandoned as it arrives and its page asked again, from the same key at
 * the same revision, for a quarter of the keys; a page of one key is
 * taken whatever its size (etcd bounds a value).
 */
#define SNAP_PAGE_BYTES (2 << 20)
#define SNAP_PAGE_MAX (4 << 20)

/* The keys to ask for in the next listing page. */
static long
page_limit(struct recorder *r)
{
	long n = r->page_next > 0 ? r->page_next : 1;

	if (n > r->cfg.page_limit)
		n = r->cfg.page_limit;
	r->page_asked = n;
	return n;
}

/* A page of len bytes and nkvs keys came, or (len 0) a too long one. */
static void
page_seen(struct recorder *r, size_t len, size_t nkvs)
{
	size_t per, n;

	if (len == 0) {
		r->page_next = r->page_asked / 4 > 0 ? r->page_asked / 4 : 1;
		return;
	}
	per = nkvs > 0 ? len / nkvs : len;
	n = SNAP_PAGE_BYTES / (per > 0 ? per : 1);
	if (n > (size_t)r->page_asked * 2)
		n = (size_t)r->page_asked * 2;
	r->page_next = n > 0 ? (long)n : 1;
}

static void
snapshot_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	struct wire_range rg;
	char err[300];
	int code;

	if (r->state != ST_SNAPSHOT)
		return;
	if (result == ETCD_CONFIG) {
		config_failure(r, errmsg);
		return;
	}
	if (result == ETCD_TOO_BIG) {
		log_debug("%s: a page of %ld keys: %s; asking for fewer",
		    r->resync ? "re-listing" : "snapshot", r->page_asked,
		    errmsg);
		page_seen(r, 0, 0);
		snapshot_request(r);
		return;
	}
	if (result != ETCD_OK || status != 200) {
		if (result == ETCD_OK)
			wire_parse_error(
			    status, body, len, &code, err, sizeof(err));
		else {
			code = 0;
			snprintf(err, sizeof(err), "%s", errmsg);
		}
		if (result == ETCD_OK && gateway_refusal(err)) {
			config_failure(r, gateway_refusal(err));
			return;
		}
		if (result == ETCD_OK && token_error(status, code, err) &&
		    token_retry(r, err)) {
			/*
			 * The token expired mid-listing (a JWT lives a fixed
			 * TTL, which a listing of many pages may outlast):
			 * its pages are at one revision, so go on after the
			 * last key with a new token, on the same endpoint.
			 * Unless this token was refused before any page (a
			 * fresh one refused at once): then after the
			 * backoff, still after the last key.
			 */
			if (r->auth_pages > 0) {
				snapshot_request(r);
				return;
			}
			retry_later(r, snapshot_request);
			return;
		}
		if (result == ETCD_OK && permanent_error(status, code, err)) {
			log_err("etcd %s refused the snapshot: %s",
			    etcd_endpoint(r->etcd), err);
			fail(r, REC_EXIT_ETCD);
			recorder_stop(r, r->status);
			return;
		}
		log_warn("snapshot from %s failed: %s%s",
		    etcd_endpoint(r->etcd), err,
		    strstr(err, "compacted") ? " (starting over at a "
					       "newer revision)"
					     : "");
		if (result == ETCD_OK)
			not_gateway(r, status, "/v3/kv/range");
		snapshot_reset(r);
		r->resync_at = 0; /* compacted further: etcd's newest */
		retry_later(r, snapshot_request);
		return;
	}
	if (wire_parse_range(body, len, &rg, err, sizeof(err)) != 0) {
		log_warn("snapshot from %s: bad response: %s",
		    etcd_endpoint(r->etcd), err);
		snapshot_reset(r);
		r->resync_at = 0;
		retry_later(r, snapshot_request);
		return;
	}
	if (r->resync && r->snap_rev == 0 &&
	    resync_foreign(r, rg.hdr.cluster_id)) {
		log_warn(
		    "re-listing from %s: this endpoint serves etcd cluster "
		    "%llu, not the recorded %llu; trying the next endpoint "
		    "(a replaced cluster is taken once every endpoint "
		    "serves it)",
		    etcd_endpoint(r->etcd),
		    (unsigned long long)rg.hdr.cluster_id,
		    (unsigned long long)r->cluster_id);
		wire_range_release(&rg);
		snapshot_reset(r);
		retry_later(r, snapshot_request);
		return;
	}
	if (r->snap_rev != 0 &&
	    rg.hdr.cluster_id !=
		(r->resync ? r->resync_cluster : r->cluster_id)) {
		/* Gone on elsewhere (auth_later()): not the same etcd. */
		log_warn("%s from %s: this endpoint serves etcd cluster %llu, "
			 "not the one of the pages listed so far; listing "
			 "again",
		    r->resync ? "re-listing" : "snapshot",
		    etcd_endpoint(r->etcd),
		    (unsigned long long)rg.hdr.cluster_id);
		wire_range_release(&rg);
		snapshot_reset(r);
		retry_later(r, snapshot_request);
		return;
	}
	if (snapshot_page(r, &rg) != 0) {
		wire_range_release(&rg);
		fail(r, REC_EXIT_DB);
		recorder_stop(r, r->status);
		return;
	}
	r->auth_pages++;
	page_seen(r, len, rg.nkvs);
	if (rg.more && rg.nkvs > 0) {
		const struct wire_kv *last = &rg.kvs[rg.nkvs - 1];

		log_debug("%s: %ld keys listed so far",
		    r->resync ? "re-listing" : "snapshot", r->snap_keys);
		free(r->last_key);
		r->last_key = last->key; /* take it over */
		r->last_keylen = last->keylen;
		rg.kvs[rg.nkvs - 1].key = NULL;
		wire_range_release(&rg);
		snapshot_request(r);
		return;
	}
	wire_range_release(&rg);
	if (r->resync && resync_done(r) != 0) {
		recorder_stop(r, r->status);
		return;
	}
	/*
	 * Listed at etcd's compaction revision: the revisions after it
	 * were committed before now, at moments the watch replays them
	 * with; until it has, what is known covered in time stays where
	 * recording stopped.
	 */
	if (r->resync_at <= 0)
		r->wm_us = r->snap_us;
	store_watermark(r->store, r->snap_rev, r->wm_us);
	if (commit(r) != 0) {
		recorder_stop(r, r->status);
		return;
	}
	if (!r->resync)
		log_info("snapshot: %ld keys under %s at revision %lld",
		    r->snap_keys, r->cfg.prefix, (long long)r->snap_rev);
	r->resync = 0;
	r->resync_at = 0;
	r->new_history = 0; /* committed: a listing begun again is not new */
	r->successor_id = 0; /* the recorded cluster now */
	r->wm_rev = r->snap_rev;
	free(r->last_key);
	r->last_key = NULL;
	r->page_next = 0; /* a later re-listing learns its sizes again */
	watch_single(r);
}

static void
snapshot_request(struct recorder *r)
{
	char *body;

	r->state = ST_SNAPSHOT;
	if (need_auth(r, snapshot_request))
		return;
	body = wire_range_request(r->cfg.prefix, r->last_key, r->last_keylen,
	    r->snap_rev ? r->snap_rev : r->resync_at, page_limit(r));
	if (body == NULL ||
	    etcd_post_max(r->etcd, "/v3/kv/range", body,
		r->page_asked > 1 ? SNAP_PAGE_MAX : 0, snapshot_done, r) != 0) {
		log_err("out of memory");
		fail(r, REC_EXIT_DB);
		recorder_stop(r, r->status);
	}
	free(body);
}

static void
batch_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	if (commit(r) != 0)
		recorder_stop(r, r->status);
}

/*
 * A replayed backlog (revisions etcd had before the watch was created)
 * waits up to this long for its commit: its revisions are dated (stop,
 * restart] whatever the moment of the commit, and big transactions write
 * each hot index page once instead of once per 20 ms (store_bench: 400
 * events per commit is ~35% slower than 10000).
 */
#define REPLAY_BATCH_DELAY 0.5
/*
 * Live events are committed as soon as the loop has nothing else to do
 * (no more of the stream is waiting to be read), but not sooner than this
 * after the previous commit: a stream of single-event messages would
 * otherwise cost a commit each.  --batch-ms still bounds the wait.
 */
#define IDLE_COMMIT_GAP 0.005

static void
idle_cb(struct ev_loop *loop, struct ev_idle *w, int revents)
{
	struct recorder *r = w->data;
	double left = r->last_commit + IDLE_COMMIT_GAP - ev_now(loop);

	(void)revents;
	ev_idle_stop(loop, w);
	if (left <= 0) {
		if (commit(r) != 0)
			recorder_stop(r, r->status);
		return;
	}
	/* Too soon: the batch timer commits when the gap is over. */
	if (!ev_is_active(&r->batch_timer) ||
	    left < ev_timer_remaining(loop, &r->batch_timer)) {
		ev_timer_stop(loop, &r->batch_timer);
		ev_timer_set(&r->batch_timer, left, 0.);
		ev_timer_start(loop, &r->batch_timer);
	}
}

/* The loop found nothing to read: whatever comes next is fresh. */
static void
drain_cb(struct ev_loop *loop, struct ev_idle *w, int revents)
{
	struct recorder *r = w->data;

	(void)revents;
	ev_idle_stop(loop, w);
	r->fresh = 1;
	r->idle_us = clock_now_us();
}

static void
arm_batch(struct recorder *r)
{
	double delay = r->cfg.batch_delay;
	int replay = r->wm_rev <= r->created_rev;

	if (r->pending >= r->cfg.batch_events) {
		commit(r);
		return;
	}
	if (replay && delay < REPLAY_BATCH_DELAY)
		delay = REPLAY_BATCH_DELAY;
	if (!ev_is_active(&r->batch_timer)) {
		ev_timer_set(&r->batch_timer, delay, 0.);
		ev_timer_start(r->loop, &r->batch_timer);
	}
	if (!replay)
		ev_idle_start(r->loop, &r->batch_idle);
}

static void
once_done(struct recorder *r, const char *how)
{
	if (commit(r) != 0)
		; /* logged; the exit status says it */
	else if (r->created_rev >= 0 && r->wm_rev < r->created_rev)
		/* etcd's newest revisions touched other keys. */
		log_info("recorded through revision %lld; etcd is at %lld, "
			 "and nothing more under %s came (%s); exiting",
		    (long long)r->wm_rev, (long long)r->created_rev,
		    r->cfg.prefix, how);
	else
		log_info("caught up to revision %lld (%s); exiting",
		    (long long)r->wm_rev, how);
	recorder_stop(r, r->fatal ? r->status : REC_EXIT_OK);
}

/* Forget the held events (their stream is over, or they are written). */
static void
held_drop(struct recorder *r)
{
	size_t i;

	for (i = 0; i < r->nheld; i++)
		wire_event_release(&r->held[i]);
	r->nheld = 0;
	/* A revision of 100k events (a deleted prefix) need not stay. */
	if (r->held_cap > 1024) {
		free(r->held);
		r->held = NULL;
		r->held_cap = 0;
	}
}

/* Take ev, and the memory it owns, into the held revision. */
static int
held_add(struct recorder *r, struct wire_event *ev)
{
	struct wire_event *p;
	size_t cap;

	if (r->nheld == r->held_cap) {
		cap = r->held_cap ? r->held_cap * 2 : 64;
		if ((p = realloc(r->held, cap * sizeof(*p))) == NULL)
			return -1;
		r->held = p;
		r->held_cap = cap;
	}
	r->held[r->nheld++] = *ev;
	return 0;
}

/*
 * The watermark's time is the last moment known covered (PRODUCT.md 4).
 * Replaying a backlog does not move it: those revisions were committed
 * before they arrived, and a reconnect in the middle takes it as the
 * lower bound of what it replays next (watch_reset).  Once the revision
 * etcd had when the watch was created is in, that moment is covered.
 */
static void
replay_covered(struct recorder *r)
{
	if (r->created_rev >= 0 && r->wm_rev >= r->created_rev &&
	    r->created_us > r->wm_us)
		r->wm_us = r->created_us;
}

/*
 * A replayed heartbeat narrows the bounds of what follows (PRODUCT.md 2):
 * Cilium writes cilium/.heartbeat with the time it read (RFC 3339, whole
 * seconds, so never later than the write), hence its revision and every
 * later one were committed after that time.  Only a time inside the
 * bounds known already is taken: a heartbeat older than the lower bound
 * (a stale or slow clock) or newer than its arrival (a fast clock) is not
 * consistent with them and narrows nothing.
 */
static void
heartbeat_narrow(struct recorder *r, int64_t now)
{
	const struct wire_event *e;
	struct hs_key k;
	int64_t t;
	size_t i;

	for (i = 0; i < r->nheld; i++) {
		e = &r->held[i];
		if (e->type != WIRE_PUT || e->kv.value == NULL)
			continue;
		hs_key_parse(e->kv.key, e->kv.keylen, &k);
		if (k.kind == HS_KIND_HEARTBEAT &&
		    hs_rfc3339_parse(e->kv.value, e->kv.vallen, &t) == 0 &&
		    t > r->replay_lo_us && t <= now)
			r->replay_lo_us = t;
	}
}

/*
 * Write the held revision, whose events are all here, and move the
 * watermark to it.  Returns -1 when the store failed (fatal is set).
 */
static int
held_write(struct recorder *r, int64_t now)
{
	struct store_event ev;
	int64_t rev, lo;
	size_t i;
	int replay, sent_live, live, rc = 0;

	if (r->nheld == 0)
		return 0;
	rev = r->held[0].kv.mod_rev;
	replay = rev <= r->created_rev;
	/*
	 * A later revision is live when etcd sent it as it committed it
	 * (alone in a response whose header is its revision) and it found
	 * the stream drained: then the moment it is read is the moment it
	 * happened.  A watch still catching up sends later revisions in
	 * batches, and a recorder still writing a backlog reads them long
	 * after they came (etcd too holds back what a slow reader does not
	 * take): those were committed after the watch was asked for, and
	 * after the watermark's moment (under load, a moment ago), and
	 * before now.
	 */
	sent_live = !replay && !r->resp_multi && r->resp_rev == rev;
	live = sent_live && r->resp_fresh;
	if (!live)
		heartbeat_narrow(r, now);
	lo = r->replay_lo_us;
	if (!replay && r->watch_sent_us > lo)
		lo = r->watch_sent_us;
	/* Not recorded yet: not committed before the watermark's moment. */
	if (!replay && r->wm_us > lo)
		lo = r->wm_us;
	/*
	 * A segment of a parallel catch-up is written after the one before
	 * it, which may have arrived later: its revisions were committed
	 * before those arrivals too, and times must grow with revisions
	 * (clock.h).  An upper bound may be loosened, never the order.
	 */
	if (now < r->t_written)
		now = r->t_written;
	r->t_written = now;
	r->n_revisions++;
	if (store_begin(r->store) != 0 ||
	    store_revision(r->store, rev, live ? "watch" : "replay",
		live ? now : lo, now) != 0)
		rc = -1;
	for (i = 0; i < r->nheld && rc == 0; i++) {
		const struct wire_event *e = &r->held[i];

		memset(&ev, 0, sizeof(ev));
		ev.type = e->type == WIRE_DELETE ? 1 : 0;
		ev.key = e->kv.key;
		ev.keylen = e->kv.keylen;
		ev.value = e->kv.value;
		ev.vallen = e->kv.vallen;
		ev.mod_rev = e->kv.mod_rev;
		ev.create_rev = e->kv.create_rev;
		ev.version = e->kv.version;
		ev.lease = e->kv.lease;
		if (store_event(r->store, &ev) != 0)
			rc = -1;
		else
			r->pending++;
	}
	held_drop(r);
	if (rc != 0) {
		fail(r, REC_EXIT_DB);
		return -1;
	}
	if (rev > r->wm_rev) {
		r->wm_rev = rev;
		replay_covered(r);
		if (live)
			r->wm_us = now;
		store_watermark(r->store, r->wm_rev, r->wm_us);
	}
	return 0;
}

/*
 * One message's events, decoded one at a time.  A revision is written
 * once an event of a later one arrives, or when the response ends; the
 * newest revision of a fragment stays held (see the top of this file).
 * Events above limit are not written and set *complete (a catch-up
 * segment is done): every revision up to limit is then whole.  Returns -1
 * to end the stream (fatal is set when the store failed).
 */
static int
watch_events(struct recorder *r, struct wire_watch *m, int64_t limit,
    int *complete, int64_t now, int spilled)
{
	struct wire_event e;
	char err[256];
	int64_t last;
	int rc;

	if (!r->in_fragments) { /* a new response */
		r->resp_multi = 0;
		/*
		 * A spilled one is never seen live: its arrival is when the
		 * loop got to read it (late while it wrote a segment), and it
		 * is written after the segments before it, which may have
		 * arrived later still.  Its revisions get bounds: committed
		 * after the watch was asked for, before it arrived.
		 */
		r->resp_fresh = !spilled && r->fresh;
	}
	r->resp_rev = m->hdr.revision;
	if (!spilled) {
		r->fresh = 0;
		ev_idle_start(r->loop, &r->drain_idle);
	}
	while ((rc = wire_watch_next(m, &e, err, sizeof(err))) == 1) {
		if (e.kv.mod_rev <= r->resume_rev) {
			wire_event_release(&e);
			continue; /* recorded before this stream */
		}
		if (e.kv.mod_rev > limit) {
			wire_event_release(&e);
			*complete = 1; /* the next catch-up segment's */
			break;
		}
		if (r->nheld > 0 && e.kv.mod_rev != r->held[0].kv.mod_rev) {
			r->resp_multi = 1;
			if (held_write(r, now) != 0) {
				wire_event_release(&e);
				return -1;
			}
		}
		if (held_add(r, &e) != 0) {
			wire_event_release(&e);
			snprintf(r->stream_error, sizeof(r->stream_error),
			    "out of memory");
			return -1;
		}
	}
	if (rc < 0) {
		/* The revisions written are whole: a later event followed. */
		snprintf(r->stream_error, sizeof(r->stream_error),
		    "malformed message (%s)", err);
		return -1;
	}
	r->in_fragments = m->fragment && !*complete;
	if (r->in_fragments || r->nheld == 0)
		return 0;
	last = r->held[0].kv.mod_rev;
	if (held_write(r, now) != 0)
		return -1;
	/* Up to etcd's revision of the moment: synced from now on. */
	if (!*complete && r->resp_rev == last)
		r->synced = 1;
	return 0;
}

/* End this stream and re-list; see snapshot_page(). */
static void __attribute__((format(printf, 2, 3)))
need_resync(struct recorder *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->resync_reason, sizeof(r->resync_reason), fmt, ap);
	va_end(ap);
	r->resync = 1;
	r->resync_at = 0;
}

/* Re-list the prefix for need_resync()'s reason, saying so. */
static void
relist(struct recorder *r)
{
	log_warn("%s: re-listing %s from %s", r->resync_reason, r->cfg.prefix,
	    etcd_endpoint(r->etcd));
	snapshot_reset(r);
	snapshot_request(r);
}

/*
 * A watch was created on an endpoint of another cluster.  With several
 * endpoints that is failover landing on a member of some other cluster
 * (a wrong entry in --endpoints, a clustermesh peer), not the recorded
 * cluster replaced: that cluster may still be served by the others, and
 * re-listing the other one would record its keys as inferred changes and
 * start a new epoch, then flip back on the next failover.  A replacement
 * is taken once every endpoint has shown the same new cluster_id (a
 * single endpoint at once, as before).
 */
static int
foreign_everywhere(struct recorder *r, uint64_t id)
{
	size_t n = r->cfg.etcd.nendpoints;
	uint64_t all;

	if (n <= 1 || n > 64)
		return 1;
	if (id != r->foreign_id) {
		r->foreign_id = id;
		r->foreign_seen = 0;
	}
	r->foreign_seen |= endpoint_bits(r);
	all = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
	return r->foreign_seen == all;
}

/*
 * One watch message.  Events above limit are not written and set
 * *complete (a catch-up segment is done); a single watch passes INT64_MAX.
 * Returns -1 to end the stream.
 */
static int
process_line(struct recorder *r, char *line, size_t len, int64_t limit,
    int *complete, int64_t at_us)
{
	struct wire_watch m;
	char err[256];
	int rc = 0;
	/* When it arrived: a catch-up segment may have spilled it a while. */
	int64_t now = at_us ? at_us : clock_now_us();

	if (r->fatal)
		return -1; /* nothing more is written: stopping */
	if (r->cfg.once && r->created_rev >= 0) {
		ev_timer_again(r->loop, &r->quiet_timer);
		r->quiet_waits = 0;
	}
	if (wire_parse_watch(line, len, &m, err, sizeof(err)) != 0) {
		snprintf(r->stream_error, sizeof(r->stream_error),
		    "malformed message (%s)", err);
		return -1;
	}
	if (m.is_error) {
		snprintf(r->stream_error, sizeof(r->stream_error),
		    "etcd error %d: %s", m.error_code, m.error_msg);
		goto out;
	}
	if (m.created) {
		if (m.canceled) {
			if (token_error(0, 0, m.cancel_reason) &&
			    token_retry(r, m.cancel_reason)) {
				snprintf(r->stream_error,
				    sizeof(r->stream_error),
				    "auth token refused; authenticating again");
				rc = -1;
				goto out;
			}
			log_err("etcd %s refused the watch: %s",
			    etcd_endpoint(r->etcd), m.cancel_reason);
			if (permanent_error(0, 0, m.cancel_reason))
				fail(r, REC_EXIT_ETCD);
			rc = -1;
			goto out;
		}
		if (m.hdr.cluster_id != r->cluster_id &&
		    !foreign_everywhere(r, m.hdr.cluster_id)) {
			snprintf(r->stream_error, sizeof(r->stream_error),
			    "this endpoint serves etcd cluster %llu, not the "
			    "recorded %llu; trying the next endpoint (a "
			    "replaced cluster is taken once every endpoint "
			    "serves it)",
			    (unsigned long long)m.hdr.cluster_id,
			    (unsigned long long)r->cluster_id);
			rc = -1;
			goto out;
		}
		/* The recorded cluster, or its successor. */
		r->foreign_seen = 0;
		if (m.hdr.cluster_id != r->cluster_id) {
			r->successor_id = m.hdr.cluster_id;
			need_resync(r,
			    "etcd cluster replaced: cluster_id %llu, "
			    "was %llu",
			    (unsigned long long)m.hdr.cluster_id,
			    (unsigned long long)r->cluster_id);
			rc = -1;
			goto out;
		}
		/*
		 * A watch's header is the member's own revision, not the
		 * cluster's: a member that lags (resumed after a pause, or
		 * still applying what a new leader sends it) starts a watch
		 * below what was recorded from another.  Only a linearizable
		 * read tells that from etcd going backwards (behind_ask()).
		 */
		if (m.hdr.revision < r->wm_rev) {
			r->behind_rev = m.hdr.revision;
			snprintf(r->stream_error, sizeof(r->stream_error),
			    "the watch began at revision %lld, below the "
			    "%lld recorded",
			    (long long)m.hdr.revision, (long long)r->wm_rev);
			rc = -1;
			goto out;
		}
		if (r->created_rev < 0)
			r->created_us = now;
		r->created_rev = m.hdr.revision;
		/* Nothing to replay: etcd starts the watch synced. */
		if (r->wm_rev >= m.hdr.revision)
			r->synced = 1;
		r->backoff = 0.1;
		if (m.hdr.revision > r->head_rev)
			r->head_rev = m.hdr.revision;
		if (r->catchup == NULL)
			log_info("watching %s from revision %lld on %s (etcd "
				 "at %lld)",
			    r->cfg.prefix, (long long)r->resume_rev + 1,
			    etcd_endpoint(r->etcd), (long long)m.hdr.revision);
		if (r->cfg.once) {
			ev_timer_again(r->loop, &r->quiet_timer);
			if (r->wm_rev >= r->created_rev)
				rc = -1; /* nothing to catch up */
		}
		goto out;
	}
	if (m.canceled) {
		if (m.compact_revision > 0) {
			need_resync(r,
			    "history compacted: revision %lld is "
			    "gone, etcd keeps from %lld",
			    (long long)r->wm_rev + 1,
			    (long long)m.compact_revision);
			/* etcd still holds that revision, and all after it. */
			if (m.compact_revision > r->wm_rev)
				r->resync_at = m.compact_revision;
		} else
			snprintf(r->stream_error, sizeof(r->stream_error),
			    "watch canceled: %s",
			    m.cancel_reason[0] ? m.cancel_reason
					       : "no reason given");
		rc = -1;
		goto out;
	}
	if (m.hdr.revision > r->head_rev)
		r->head_rev = m.hdr.revision;
	if (r->in_fragments && m.nevents == 0) {
		/* etcd sends a response's fragments back to back. */
		snprintf(r->stream_error, sizeof(r->stream_error),
		    "a message without events inside a fragmented response");
		rc = -1;
		goto out;
	}
	if (m.nevents > 0) {
		if (watch_events(r, &m, limit, complete, now, at_us != 0) !=
		    0) {
			rc = -1;
			goto out;
		}
		arm_batch(r);
	} else if (m.watch_id != -1 && r->created_rev >= 0 &&
	    m.hdr.revision > limit) {
		*complete = 1; /* synced past this segment's end */
	} else if (m.watch_id != -1 && r->created_rev >= 0 &&
	    m.hdr.revision > r->wm_rev) {
		/*
		 * A progress notification: etcd sends these only to synced
		 * watchers, so nothing at or below it is still to come.
		 * (Replies to progress_request, watch_id -1, are not
		 * trustworthy before etcd 3.4.25 and are not requested.)
		 */
		r->synced = 1;
		r->wm_rev = m.hdr.revision;
		r->wm_us = now;
		if (store_begin(r->store) != 0) {
			fail(r, REC_EXIT_DB);
			rc = -1;
			goto out;
		}
		store_watermark(r->store, r->wm_rev, r->wm_us);
		arm_batch(r);
	} else if (m.watch_id != -1 && r->created_rev >= 0)
		r->synced = 1; /* a progress notification, nothing new */
	if (r->cfg.once && r->created_rev >= 0 && r->wm_rev >= r->created_rev)
		rc = -1;
out:
	/*
	 * A failed catch-up leaves its backlog to one watch: the cause (a
	 * full $TMPDIR, a member that ends watches) may last, and trying
	 * again at once would fail again.  Once that watch has caught up,
	 * that backlog is done: the next one (a later outage) may use
	 * several watches again.
	 */
	if (rc == 0 && r->catchup_off && r->catchup == NULL &&
	    r->created_rev >= 0 && r->wm_rev >= r->created_rev) {
		r->catchup_off = 0;
		log_debug("caught up with one watch after a failed catch-up; "
			  "a later backlog may use several watches again");
	}
	wire_watch_release(&m);
	return rc;
}

static void cu_judge(struct recorder *r);
static void cu_switch(struct recorder *r);
static void behind_ask(struct recorder *r);

/* The one watch is over (ended, or closed by us): forget its state. */
static void
stream_gone(struct recorder *r)
{
	r->stream = NULL;
	r->cu_sample = r->cu_go = 0;
	ev_timer_stop(r->loop, &r->quiet_timer);
	held_drop(r); /* a revision it did not finish */
	r->in_fragments = 0;
}

static int
watch_line(void *arg, char *line, size_t len)
{
	struct recorder *r = arg;
	int complete = 0;

	/*
	 * Judged: several watches take over from the watermark.  What this
	 * one still delivers (the same read, or before the switch runs) is
	 * theirs: nothing after the watermark is written, so nothing is lost.
	 */
	if (r->cu_go)
		return 0;
	if (process_line(r, line, len, INT64_MAX, &complete, 0) != 0)
		return -1;
	if (r->cu_sample && !r->in_fragments && r->wm_rev > r->cu_rev0)
		cu_judge(r);
	return 0;
}

static void
watch_end(void *arg, int result, long status, const char *why)
{
	struct recorder *r = arg;

	stream_gone(r);
	if (r->state == ST_STOPPING)
		return;
	commit(r);
	if (result == ETCD_CONFIG && !r->fatal) {
		config_failure(r, why);
		return;
	}
	/* Not a watch: the gateway's answer to the request (etcd.h). */
	if (status != 200 && status != 0 && gateway_refusal(why) && !r->fatal) {
		config_failure(r, gateway_refusal(why));
		return;
	}
	if (r->fatal) {
		recorder_stop(r, r->status);
		return;
	}
	if (r->resync) {
		relist(r);
		return;
	}
	if (r->behind_rev > 0) {
		behind_ask(r);
		return;
	}
	if (r->cfg.once && r->created_rev >= 0 && r->wm_rev >= r->created_rev) {
		once_done(r, "reached the revision etcd had at start");
		return;
	}
	/* An answer that is not etcd's names its status itself. */
	if (strncmp(why, "HTTP ", 5) == 0 && r->stream_error[0] == '\0')
		log_warn("watch on %s ended: %s", etcd_endpoint(r->etcd), why);
	else
		log_warn("watch on %s ended: %s%s%s (HTTP %ld)",
		    etcd_endpoint(r->etcd), why, r->stream_error[0] ? ": " : "",
		    r->stream_error, status);
	not_gateway(r, status, "/v3/watch");
	retry_later(r, resume_start);
}

/*
 * A new watch (or set of catch-up watches) starts after the watermark:
 * what came before it is recorded, and revisions it replays were
 * committed after the last moment the previous watch was known healthy.
 */
static void
watch_reset(struct recorder *r)
{
	r->resume_rev = r->wm_rev;
	r->replay_lo_us = r->wm_us;
	r->created_rev = -1;
	r->watch_sent_us = clock_now_us();
	r->synced = r->resp_multi = r->fresh = 0;
	r->idle_us = 0;
	ev_idle_start(r->loop, &r->drain_idle);
	r->watch_gen++;
	r->alive_us = 0;
	r->alive_why[0] = '\0';
	held_drop(r);
	r->in_fragments = 0;
	r->stream_error[0] = '\0';
}

/* One watch from the watermark on. */
static void
watch_single(struct recorder *r)
{
	char *body;

	r->state = ST_WATCH;
	if (need_auth(r, watch_single))
		return;
	watch_reset(r);
	body = wire_watch_request(r->cfg.prefix, r->wm_rev + 1);
	if (body == NULL ||
	    (r->stream = etcd_watch(r->etcd, body, watch_line, watch_end, r)) ==
		NULL) {
		free(body);
		log_err("cannot start a watch (out of memory)");
		retry_later(r, resume_start);
		return;
	}
	free(body);
}

/* The catch-up callbacks (catchup.h). */
static int
cu_line(void *arg, char *line, size_t len, int64_t limit, int *complete,
    int64_t at_us)
{
	return process_line(arg, line, len, limit, complete, at_us);
}

static void
cu_segment_done(void *arg, int64_t through)
{
	struct recorder *r = arg;

	/* The next segment's watch shows for itself that it is synced. */
	r->synced = 0;
	/* Every event up to through is written: the watermark goes there. */
	if (through > r->wm_rev) {
		r->wm_rev = through;
		replay_covered(r);
		if (store_begin(r->store) != 0) {
			fail(r, REC_EXIT_DB);
			return;
		}
		store_watermark(r->store, r->wm_rev, r->wm_us);
	}
	commit(r);
}

static void
cu_live(void *arg, struct etcd_stream *stream)
{
	struct recorder *r = arg;

	r->stream = stream;
	log_info("caught up with several watches; watching %s live on %s",
	    r->cfg.prefix, etcd_endpoint(r->etcd));
}

static void
cu_ended(void *arg, int result, long status, const char *why)
{
	struct recorder *r = arg;

	catchup_free(r->catchup);
	r->catchup = NULL;
	watch_end(r, result, status, why);
}

static void
cu_failed(void *arg, const char *why)
{
	struct recorder *r = arg;
	/* --once reached its end inside a segment: done, not failed. */
	int done =
	    r->cfg.once && r->created_rev >= 0 && r->wm_rev >= r->created_rev;

	catchup_free(r->catchup);
	r->catchup = NULL;
	r->stream = NULL;
	commit(r);
	if (!done && !r->fatal && !r->resync) {
		log_warn("catch-up with several watches failed (%s); going on "
			 "with one watch from revision %lld",
		    why, (long long)r->wm_rev + 1);
		r->catchup_off = 1;
	}
	watch_end(r, ETCD_RETRY, 0, why);
}

/*
 * Ask etcd for a key put under the prefix after the watermark, as of
 * revision at (wire_since_request); cb gets the answer.  -1 if not sent.
 */
static int
since_ask(struct recorder *r, int64_t at, etcd_done_cb *cb)
{
	char *body = wire_since_request(r->cfg.prefix, at, r->wm_rev + 1);
	int rc =
	    body != NULL && etcd_post(r->etcd, "/v3/kv/range", body, cb, r) == 0
	    ? 0
	    : -1;

	free(body);
	return rc;
}

/* Keys in the answer to wire_since_request(); dflt when there is none. */
static size_t
since_keys(int result, long status, const char *body, size_t len, size_t dflt)
{
	struct wire_range rg;
	char err[256];
	size_t n;

	if (result != ETCD_OK || status != 200 ||
	    wire_parse_range(body, len, &rg, err, sizeof(err)) != 0)
		return dflt;
	n = rg.nkvs;
	wire_range_release(&rg);
	return n;
}

/*
 * Catch-up streams all silent for CU_IDLE seconds: either etcd is slow,
 * or nothing under the prefix follows the watermark (the newest revisions
 * touched other keys), and a segment waiting for an event past its end
 * would wait until the stall timeout.  Ask etcd for a key put under the
 * prefix after the watermark (at its revision when the catch-up began);
 * if there is none, go on with one watch from the watermark, which needs
 * no such event.  (Deletes do not show in the answer: the one watch
 * delivers them.)
 */
#define CU_IDLE 2.0

/* Run cu_idle_cb from the loop at once: it acts on cu_nothing or cu_go. */
static void
cu_idle_now(struct recorder *r)
{
	ev_timer_stop(r->loop, &r->cu_idle);
	ev_timer_set(&r->cu_idle, 0., CU_IDLE);
	ev_timer_start(r->loop, &r->cu_idle);
}

static void
cu_heard(void *arg)
{
	struct recorder *r = arg;

	if (r->cu_nothing)
		return;
	r->cu_idle.repeat = CU_IDLE;
	ev_timer_again(r->loop, &r->cu_idle);
}

static void
cu_probe_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	/* No answer: assume more is coming. */
	size_t n = since_keys(result, status, body, len, 1);

	(void)errmsg;
	r->cu_probe = 0;
	if (r->state != ST_WATCH || r->catchup == NULL || r->stream != NULL)
		return;
	if (n > 0) {
		/* etcd is slow: ask again later (it reads the whole prefix). */
		if (r->cu_idle.repeat < 30.0)
			r->cu_idle.repeat *= 2;
		ev_timer_again(r->loop, &r->cu_idle);
		return;
	}
	/* Switch from the loop, not inside etcd's callback. */
	r->cu_nothing = 1;
	cu_idle_now(r);
}

static void
cu_idle_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)revents;
	if (r->cu_go) {
		ev_timer_stop(loop, w);
		cu_switch(r);
		return;
	}
	if (r->state != ST_WATCH || r->catchup == NULL || r->stream != NULL) {
		ev_timer_stop(loop, w);
		return;
	}
	if (r->cu_nothing) {
		ev_timer_stop(loop, w);
		log_info("catch-up: nothing was put under %s after revision "
			 "%lld; going on with one watch",
		    r->cfg.prefix, (long long)r->wm_rev);
		catchup_free(r->catchup);
		r->catchup = NULL;
		if (commit(r) != 0) {
			recorder_stop(r, r->status);
			return;
		}
		watch_single(r);
		return;
	}
	if (!r->cu_probe && since_ask(r, r->cu_to, cu_probe_done) == 0)
		r->cu_probe = 1;
}

static const struct catchup_ops cu_ops = {
    cu_line,
    cu_segment_done,
    cu_live,
    cu_ended,
    cu_failed,
    cu_heard,
};

/* Catch up on revisions after the watermark up to cu_to, several watches. */
static void
cu_begin(struct recorder *r)
{
	watch_reset(r);
	r->catchup = catchup_start(r->etcd, r->cfg.prefix, r->wm_rev + 1,
	    r->cu_to, r->cfg.catchup_streams, &cu_ops, r);
	if (r->catchup == NULL) {
		watch_single(r);
		return;
	}
	r->cu_nothing = 0;
	ev_timer_set(&r->cu_idle, CU_IDLE, CU_IDLE);
	ev_timer_again(r->loop, &r->cu_idle);
}

/*
 * How far behind are we?  A long backlog is replayed with several
 * watches; otherwise, or when etcd does not answer, one watch.
 */
static void
probe_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	struct wire_header h;
	char err[256];
	int64_t backlog;

	(void)errmsg;
	if (r->state == ST_STOPPING)
		return;
	r->state = ST_WATCH;
	if (result != ETCD_OK || status != 200 ||
	    wire_parse_header(body, len, &h, err, sizeof(err)) != 0 ||
	    h.cluster_id != r->cluster_id) {
		watch_single(r); /* it will find out what is wrong */
		return;
	}
	backlog = h.revision - r->wm_rev;
	if (backlog < r->cfg.catchup_min) {
		watch_single(r);
		return;
	}
	r->cu_to = h.revision;
	if (r->cfg.catchup_dense <= 0) {
		cu_begin(r);
		return;
	}
	/* One watch first: its first message tells the backlog's shape. */
	r->cu_sample = 1;
	r->cu_rev0 = r->wm_rev;
	r->cu_ev0 = store_events_written(r->store);
	watch_single(r);
}

/*
 * Several watches pay when revisions are sparse: etcd hands each watch at
 * most 1000 revisions per sync round, so one watch of one-event revisions
 * (Cilium's usual shape) brings ~10k events/s at best.  When revisions
 * carry many events each (txns), one watch already brings more than the
 * recorder writes, and more watches only cost: each spilled message is
 * parsed twice, each watch holds a message of its own, and etcd encodes
 * a round for every watch before the first segment can be written
 * (bench/RESULTS.md, "Session 8").  So a long backlog starts on one
 * watch, and its first message (up to 1000 revisions) decides: below
 * --catchup-dense events per revision (4), the rest goes to several.
 */
static void
cu_judge(struct recorder *r)
{
	int64_t revs = r->wm_rev - r->cu_rev0;
	int64_t evs = store_events_written(r->store) - r->cu_ev0;
	double per = (double)evs / (double)revs;

	r->cu_sample = 0;
	if (per >= r->cfg.catchup_dense) {
		log_info("catch-up: revisions carry %.1f events each; "
			 "one watch is as fast as several",
		    per);
		return;
	}
	if (r->cu_to - r->wm_rev < r->cfg.catchup_min)
		return; /* the rest is short */
	log_debug("catch-up: revisions carry %.1f events each; several "
		  "watches from revision %lld",
	    per, (long long)r->wm_rev + 1);
	/* Switch from the loop, not inside the stream's callback. */
	r->cu_go = 1;
	cu_idle_now(r);
}

/* Close the one watch and catch up on the rest with several. */
static void
cu_switch(struct recorder *r)
{
	r->cu_go = 0;
	if (r->state != ST_WATCH || r->stream == NULL || r->catchup != NULL ||
	    r->fatal || r->resync)
		return; /* the watch ended meanwhile: its end decided */
	etcd_stream_close(r->stream);
	stream_gone(r);
	if (commit(r) != 0) {
		recorder_stop(r, r->status);
		return;
	}
	cu_begin(r);
}

/* Resume watching from the watermark: probe first when catch-up may pay. */
static void
lineage_clear(struct recorder *r)
{
	free(r->lin_key);
	free(r->lin_val);
	r->lin_key = r->lin_val = NULL;
}

/*
 * Is etcd still the history recorded?  A cluster recreated with the same
 * configuration (an etcd on an emptyDir, as the clustermesh-apiserver's)
 * has the same cluster_id, and once its revisions pass the watermark
 * nothing else tells: the watch would go on in another history.  So the
 * newest key recorded as present must be in etcd at the watermark's
 * revision as it was recorded: same mod_revision, same value.  Any other
 * answer (compacted, a revision etcd does not have yet, another
 * cluster_id) the watch finds out about for itself; no answer is asked
 * again.
 */
static void
lineage_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	struct wire_range rg;
	const struct wire_kv *kv;
	char err[256];
	int other = 0, failed = 0, code;

	if (r->state == ST_STOPPING) {
		lineage_clear(r);
		return;
	}
	if (result == ETCD_CONFIG) {
		lineage_clear(r);
		config_failure(r, errmsg);
		return;
	}
	/*
	 * No answer (the member failed, timed out, lost its leader, refused
	 * the token): ask again, on the next endpoint, before watching.  An
	 * error etcd answers (compacted, a future revision) the watch finds
	 * out about for itself.
	 */
	if (result != ETCD_OK) {
		snprintf(err, sizeof(err), "%s", errmsg ? errmsg : "failed");
		failed = 1;
	} else if (status == 200) {
		failed =
		    wire_parse_range(body, len, &rg, err, sizeof(err)) != 0;
	} else {
		wire_parse_error(status, body, len, &code, err, sizeof(err));
		if (token_error(status, code, err)) {
			token_retry(r, err);
			failed = 1;
		} else if (status >= 500)
			failed = 1;
	}
	if (failed) {
		log_warn("etcd %s failed the read that tells whether it still "
			 "holds the history recorded: %s",
		    etcd_endpoint(r->etcd), err);
		lineage_clear(r);
		retry_later(r, resume_start);
		return;
	}
	if (status == 200) {
		kv = rg.nkvs > 0 ? &rg.kvs[0] : NULL;
		if (rg.hdr.cluster_id == r->cluster_id &&
		    rg.hdr.revision >= r->wm_rev &&
		    (kv == NULL || kv->keylen != r->lin_keylen ||
			memcmp(kv->key, r->lin_key, kv->keylen) != 0 ||
			kv->mod_rev != r->lin_mod ||
			kv->vallen != r->lin_vallen ||
			(kv->vallen > 0 &&
			    memcmp(kv->value, r->lin_val, kv->vallen) != 0)))
			other = 1;
		wire_range_release(&rg);
	}
	if (other) {
		need_resync(r,
		    "etcd holds another history (cluster recreated with the "
		    "same configuration?): %.100s is not at revision %lld as "
		    "recorded",
		    r->lin_key, (long long)r->lin_mod);
		lineage_clear(r);
		r->new_history = 1;
		relist(r);
		return;
	}
	lineage_clear(r);
	r->lineage_ok = 1;
	resume_start(r);
}

/*
 * Ask etcd for the newest key recorded as present, once per resume: 1
 * when asked (lineage_done() goes on), 0 when there is nothing to ask.
 */
static int
lineage_ask(struct recorder *r)
{
	char *body;
	int rc;

	if (r->lineage_ok) {
		r->lineage_ok = 0; /* the next resume asks again */
		return 0;
	}
	lineage_clear(r);
	rc = store_last_live(r->store, &r->lin_key, &r->lin_keylen, &r->lin_mod,
	    &r->lin_val, &r->lin_vallen);
	if (rc < 0) {
		fail(r, REC_EXIT_DB);
		return 1;
	}
	/* A key with a NUL byte cannot be asked for by prefix. */
	if (rc == 0 || r->lin_mod > r->wm_rev ||
	    memchr(r->lin_key, '\0', r->lin_keylen) != NULL) {
		lineage_clear(r);
		return 0;
	}
	body = wire_range_request(r->lin_key, NULL, 0, r->wm_rev, 1);
	if (body == NULL ||
	    etcd_post(r->etcd, "/v3/kv/range", body, lineage_done, r) != 0) {
		free(body);
		lineage_clear(r);
		return 0;
	}
	free(body);
	return 1;
}

static void
resume_start(struct recorder *r)
{
	char *body;

	r->state = ST_WATCH;
	r->cu_sample = r->cu_go = 0;
	if (need_auth(r, resume_start) || lineage_ask(r))
		return;
	if (r->cfg.catchup_streams < 2 || r->catchup_off) {
		watch_single(r);
		return;
	}
	r->state = ST_WATCH;
	/* One key's range: cheap, and it tells etcd's revision. */
	body = wire_range_request(r->cfg.prefix, NULL, 0, 0, 1);
	if (body == NULL ||
	    etcd_post(r->etcd, "/v3/kv/range", body, probe_done, r) != 0)
		watch_single(r);
	free(body);
}

/*
 * A watch began below the watermark (process_line()).  The same member's
 * answer to a linearizable read comes only once it has applied everything
 * committed before the read, the recorded revisions included: at or
 * above the watermark, the member was behind and has caught up, so watch
 * again; below it, etcd's history really went back (restored, or
 * recreated with the same configuration): re-list.
 */
static void
behind_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	struct wire_header h;
	char err[256];
	int code;

	if (r->state == ST_STOPPING)
		return;
	if (result == ETCD_CONFIG) {
		config_failure(r, errmsg);
		return;
	}
	if (result == ETCD_OK && status == 200 &&
	    wire_parse_header(body, len, &h, err, sizeof(err)) == 0 &&
	    h.cluster_id == r->cluster_id) {
		if (h.revision >= r->wm_rev) {
			log_info("etcd %s was behind (its watch began at "
				 "revision %lld, recorded through %lld) and "
				 "has caught up (at %lld); watching again",
			    etcd_endpoint(r->etcd), (long long)r->behind_rev,
			    (long long)r->wm_rev, (long long)h.revision);
			r->behind_rev = 0;
			resume_start(r);
			return;
		}
		need_resync(r,
		    "etcd revisions went backwards: etcd at %lld, recorded "
		    "through %lld",
		    (long long)h.revision, (long long)r->wm_rev);
		r->behind_rev = 0;
		relist(r);
		return;
	}
	if (result == ETCD_OK && status == 200)
		snprintf(err, sizeof(err), "it serves another cluster now");
	else if (result == ETCD_OK) {
		wire_parse_error(status, body, len, &code, err, sizeof(err));
		if (token_error(status, code, err) && r->cfg.etcd.user)
			token_retry(r, err);
	} else
		snprintf(err, sizeof(err), "%s", errmsg ? errmsg : "failed");
	log_warn("etcd %s began a watch at revision %lld, below the %lld "
		 "recorded, and failed the read that would tell why: %s",
	    etcd_endpoint(r->etcd), (long long)r->behind_rev,
	    (long long)r->wm_rev, err);
	if (result == ETCD_OK)
		not_gateway(r, status, "/v3/kv/range");
	r->behind_rev = 0;
	retry_later(r, resume_start);
}

static void
behind_ask(struct recorder *r)
{
	char *body;

	r->state = ST_WATCH;
	if (need_auth(r, behind_ask))
		return;
	/* One key's range, linearizable: it tells etcd's revision. */
	body = wire_range_request(r->cfg.prefix, NULL, 0, 0, 1);
	if (body == NULL ||
	    etcd_post(r->etcd, "/v3/kv/range", body, behind_done, r) != 0) {
		log_err("out of memory");
		fail(r, REC_EXIT_DB);
		recorder_stop(r, r->status);
	}
	free(body);
}

/*
 * Once a second while the watch is healthy and caught up: nothing changed
 * since the last event, so the watermark's time moves on (PRODUCT.md,
 * "No silent gaps").  Only once caught up, or a replay would be dated now.
 */
static int
caught_up(const struct recorder *r)
{
	return r->state == ST_WATCH && r->stream != NULL &&
	    r->created_rev >= 0 && r->wm_rev >= r->created_rev && r->synced &&
	    r->idle_us > 0 && !r->in_fragments;
}

/* Move the watermark's time to us, in the open transaction or a new one. */
static int
touch_watermark(struct recorder *r, int64_t us)
{
	r->wm_us = us;
	if (store_begin(r->store) != 0) {
		fail(r, REC_EXIT_DB);
		return -1;
	}
	store_watermark(r->store, r->wm_rev, r->wm_us);
	return 0;
}

/*
 * A quiet watch looks the same whether its member is healthy or stuck: a
 * member whose disk hangs, or that is paused, keeps its connections and
 * its leader and delivers nothing while the others commit.  So the
 * watermark's time does not move to "now" but to the moment the last read
 * of one key was sent to the watched member, once it answered: being
 * linearizable, the answer shows that the member had applied, hence
 * handed to its watches, everything committed before that moment.
 */
#define ALIVE_WAIT 5.0 /* seconds a read may take before we move on */

/* Authenticated again for the watched member's reads: nothing to resume. */
static void
alive_reauthed(struct recorder *r)
{
	(void)r;
}

/*
 * An authentication failed in a way that may pass: try again after the
 * backoff, on the next endpoint.  Unless it was for a watch that runs
 * (alive_reauthed): moving the endpoint under it would send its member's
 * reads elsewhere, so leave it from the tick, and the resume authenticates.
 */
static void
auth_later(struct recorder *r, const char *why)
{
	if (r->auth_next == alive_reauthed) {
		snprintf(r->alive_why, sizeof(r->alive_why),
		    "could not authenticate again (%.200s)", why);
		return;
	}
	/*
	 * A listing goes on after its last key: its pages are at one
	 * revision, which any member of the cluster answers alike (one of
	 * another cluster is told by its pages' cluster_id: snapshot_done()).
	 */
	retry_later(r, r->auth_next);
}

static void
alive_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct alive *a = arg;
	struct recorder *r = a->r;
	struct wire_header h;
	char err[256];
	int code;

	a->busy = 0;
	if (r->state == ST_STOPPING || a->gen != r->watch_gen)
		return; /* that watch is over */
	if (result == ETCD_OK && status == 200 &&
	    wire_parse_header(body, len, &h, err, sizeof(err)) == 0 &&
	    h.cluster_id == r->cluster_id) {
		if (a->sent_us > r->alive_us)
			r->alive_us = a->sent_us;
		return;
	}
	if (result == ETCD_OK) {
		wire_parse_error(status, body, len, &code, err, sizeof(err));
		/*
		 * A watch outlives its token (etcd checks it when the watch
		 * is created), a read does not: a JWT expires every TTL while
		 * the member is fine.  Authenticate again and keep the watch;
		 * the next tick asks again.
		 */
		if (token_error(status, code, err) && r->cfg.etcd.user &&
		    token_retry(r, err) && need_auth(r, alive_reauthed))
			return;
	} else
		snprintf(err, sizeof(err), "%s", errmsg ? errmsg : "failed");
	/* Acted on from the tick, outside etcd's callback. */
	snprintf(r->alive_why, sizeof(r->alive_why), "failed a read (%s)",
	    err[0] ? err : "HTTP error");
}

/* Read one key from the watched member, unless a read is on its way. */
static void
alive_ask(struct recorder *r)
{
	struct alive *a = NULL;
	char *body;
	size_t i;

	for (i = 0; i < sizeof(r->alive) / sizeof(r->alive[0]); i++) {
		if (r->alive[i].busy && r->alive[i].gen == r->watch_gen)
			return;
		if (!r->alive[i].busy && a == NULL)
			a = &r->alive[i];
	}
	if (a == NULL)
		return; /* older watches' reads still hang: wait */
	a->r = r;
	a->gen = r->watch_gen;
	a->sent_us = clock_now_us();
	a->sent_mono = hs_mono_us();
	body = wire_key_request(r->cfg.prefix);
	if (body != NULL &&
	    etcd_post(r->etcd, "/v3/kv/range", body, alive_done, a) == 0)
		a->busy = 1;
	free(body);
}

/*
 * The watched member failed a read, or let one wait too long: leave it
 * (returns -1); else ask it again (returns 0).
 */
static int
alive_check(struct recorder *r)
{
	int64_t now = hs_mono_us();
	size_t i;

	for (i = 0; i < sizeof(r->alive) / sizeof(r->alive[0]); i++) {
		if (r->alive_why[0] == '\0' && r->alive[i].busy &&
		    r->alive[i].gen == r->watch_gen &&
		    now - r->alive[i].sent_mono > (int64_t)(ALIVE_WAIT * 1e6))
			snprintf(r->alive_why, sizeof(r->alive_why),
			    "did not answer a read within %.0f s", ALIVE_WAIT);
	}
	if (r->alive_why[0] == '\0') {
		/* Authenticating again: ask with the new token. */
		if (!r->auth_busy)
			alive_ask(r);
		return 0;
	}
	log_warn("etcd %s %s; watching elsewhere", etcd_endpoint(r->etcd),
	    r->alive_why);
	if (r->catchup) {
		catchup_free(r->catchup); /* owns the live stream */
		r->catchup = NULL;
	} else
		etcd_stream_close(r->stream);
	stream_gone(r);
	if (commit(r) != 0) {
		recorder_stop(r, r->status);
		return -1;
	}
	retry_later(r, resume_start);
	return -1;
}

static void
tick_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	/*
	 * The member is asked to show it is live while a watch (or a
	 * catch-up) runs on it, not only once caught up: a member that
	 * hangs while it replays a backlog is as stuck as an idle one, and
	 * the stream would otherwise wait for the stall timeout (1500 s)
	 * while the other members commit.
	 */
	if (r->state != ST_WATCH || (r->stream == NULL && r->catchup == NULL) ||
	    alive_check(r) != 0 || !caught_up(r))
		return;
	/* A message read since the stream was last drained: wait for it. */
	if (!r->fresh || r->alive_us <= r->wm_us || store_in_txn(r->store))
		return;
	if (touch_watermark(r, r->alive_us) != 0 || commit(r) != 0)
		recorder_stop(r, r->status);
}

/* Bounds what a power loss can undo to the last --sync-every seconds. */
static void
sync_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	/* An open transaction (a batch filling) is synced at its commit. */
	if (store_in_txn(r->store))
		r->sync_due = 1;
	else if (sync_now(r) != 0)
		recorder_stop(r, r->status);
}

/* --once waits this long (s) for etcd while keys are seen pending. */
#define ONCE_WAIT_MAX 120.0

static void
quiet_done(void *arg, int result, long status, const char *body, size_t len,
    const char *errmsg)
{
	struct recorder *r = arg;
	size_t n = since_keys(result, status, body, len, 0);

	(void)errmsg;
	r->quiet_probe = 0;
	/* Done, stopping, or the watch ended: its own paths handle that. */
	if (r->state == ST_STOPPING || r->stream == NULL ||
	    r->wm_rev >= r->created_rev)
		return;
	if (n == 0) {
		/* Nothing put is pending (or etcd cannot tell): the end. */
		once_done(r, "no further events");
		return;
	}
	r->quiet_waits++;
	log_debug("keys under %s were put after revision %lld: waiting for "
		  "etcd to deliver them",
	    r->cfg.prefix, (long long)r->wm_rev);
	ev_timer_again(r->loop, &r->quiet_timer);
}

static void
quiet_probe(struct recorder *r)
{
	if (since_ask(r, r->created_rev, quiet_done) == 0)
		r->quiet_probe = 1;
	else
		once_done(r, "no further events");
}

static void
quiet_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct recorder *r = w->data;

	(void)loop;
	(void)revents;
	/*
	 * Catch-up segments still pending cover revisions up to etcd's head:
	 * more is certainly coming, however long etcd's sync rounds take
	 * (each reads the backlog from the oldest watcher's position).
	 */
	if (r->catchup != NULL && r->stream == NULL) {
		ev_timer_again(r->loop, &r->quiet_timer);
		return;
	}
	/* So is the rest of a fragmented response (etcd is slow to cut it). */
	if (r->in_fragments) {
		ev_timer_again(r->loop, &r->quiet_timer);
		return;
	}
	/*
	 * One watch that is behind is silent between etcd's sync rounds
	 * too: ask etcd whether keys were put under the prefix after the
	 * watermark, up to its revision at start.  (Deletes do not show: a
	 * backlog ending in deletes still ends on the quiet limit.  etcd
	 * reads the whole prefix to answer: once per silence.)
	 */
	if (r->stream != NULL && r->created_rev > r->wm_rev &&
	    r->quiet_waits * r->cfg.once_quiet < ONCE_WAIT_MAX) {
		if (!r->quiet_probe)
			quiet_probe(r);
		return;
	}
	if (r->quiet_waits > 0)
		log_warn("etcd delivered nothing for %.0f s though keys under "
			 "%s changed after revision %lld",
		    r->quiet_waits * r->cfg.once_quiet, r->cfg.prefix,
		    (long long)r->wm_rev);
	once_done(r, "no further events");
}

struct recorder *
recorder_new(struct ev_loop *loop, const struct recorder_config *cfg, char *err,
    size_t errlen)
{
	struct recorder *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->cfg = *cfg;
	r->backoff = 0.1;
	r->created_rev = -1;
	r->started_us = hs_now_us();
	if ((r->store = store_open(cfg->db_path, err, errlen)) == NULL)
		goto err0;
	if ((r->etcd = etcd_new(loop, &cfg->etcd)) == NULL) {
		snprintf(err, errlen, "cannot set up the HTTP client");
		goto err0;
	}
	ev_timer_init(&r->retry_timer, retry_cb, 0., 0.);
	ev_timer_init(&r->fail_timer, fail_cb, 0., 0.);
	r->fail_timer.data = r;
	ev_timer_init(&r->cu_idle, cu_idle_cb, CU_IDLE, CU_IDLE);
	r->cu_idle.data = r;
	r->retry_timer.data = r;
	ev_timer_init(&r->batch_timer, batch_cb, 0., 0.);
	r->batch_timer.data = r;
	ev_idle_init(&r->batch_idle, idle_cb);
	r->batch_idle.data = r;
	ev_idle_init(&r->drain_idle, drain_cb);
	r->drain_idle.data = r;
	ev_timer_init(&r->tick_timer, tick_cb, 1., 1.);
	r->tick_timer.data = r;
	ev_timer_init(&r->quiet_timer, quiet_cb, 0., cfg->once_quiet);
	r->quiet_timer.data = r;
	ev_timer_init(
	    &r->sync_timer, sync_cb, cfg->sync_every, cfg->sync_every);
	r->sync_timer.data = r;
	return r;
err0:
	recorder_free(r);
	return NULL;
}

int
recorder_start(struct recorder *r)
{
	struct store_state st;
	char err[300];

	if (store_state(r->store, &st, err, sizeof(err)) != 0) {
		log_err("%s: %s", r->cfg.db_path, err);
		r->status = REC_EXIT_DB;
		return -1;
	}
	ev_timer_start(r->loop, &r->tick_timer);
	if (r->cfg.sync_every > 0)
		ev_timer_start(r->loop, &r->sync_timer);
	if (!st.recorded) {
		log_info("new db %s: taking a snapshot of %s from %s",
		    r->cfg.db_path, r->cfg.prefix, etcd_endpoint(r->etcd));
		snapshot_request(r);
		return 0;
	}
	if (strcmp(st.prefix, r->cfg.prefix) != 0) {
		log_err("%s records prefix '%s', not '%s'", r->cfg.db_path,
		    st.prefix, r->cfg.prefix);
		r->status = REC_EXIT_USAGE;
		return -1;
	}
	r->cluster_id = st.cluster_id;
	r->wm_rev = st.recorded_rev;
	r->wm_us = st.recorded_us;
	clock_floor(st.latest_us);
	r->t_written = st.latest_us;
	(void)clock_now_us(); /* a clock behind the db says so now */
	log_info("resuming %s after revision %lld", r->cfg.db_path,
	    (long long)r->wm_rev);
	resume_start(r);
	return 0;
}

void
recorder_stop(struct recorder *r, int status)
{
	/* A snapshot or a re-listing is kept whole or not at all. */
	int listing = r->state == ST_SNAPSHOT;

	if (r->state == ST_STOPPING)
		return;
	/* Healthy and caught up until the member last showed it. */
	if (!r->fatal && caught_up(r) && r->fresh && r->alive_us > r->wm_us)
		touch_watermark(r, r->alive_us);
	r->state = ST_STOPPING;
	if (!r->fatal) /* a SIGTERM after a failure still exits with it */
		r->status = status;
	if (r->catchup)
		catchup_free(r->catchup); /* owns r->stream, if live */
	else
		etcd_stream_close(r->stream);
	r->catchup = NULL;
	r->stream = NULL;
	held_drop(r); /* not whole: not written */
	r->in_fragments = 0;
	if (store_in_txn(r->store) && !r->fatal && !listing && commit(r) != 0)
		r->status = REC_EXIT_DB;
	store_rollback(r->store); /* a half snapshot is not kept */
	ev_timer_stop(r->loop, &r->retry_timer);
	ev_timer_stop(r->loop, &r->fail_timer);
	ev_timer_stop(r->loop, &r->cu_idle);
	ev_timer_stop(r->loop, &r->batch_timer);
	ev_idle_stop(r->loop, &r->batch_idle);
	ev_timer_stop(r->loop, &r->tick_timer);
	ev_idle_stop(r->loop, &r->drain_idle);
	ev_timer_stop(r->loop, &r->quiet_timer);
	ev_timer_stop(r->loop, &r->sync_timer);
	ev_break(r->loop, EVBREAK_ALL);
}

static void
metric(struct mbuf *b, const char *name, const char *type, const char *help,
    double v)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help,
	    name, type, name, v);
}

void
recorder_metrics(void *arg, struct mbuf *b)
{
	struct recorder *r = arg;
	struct stat st;
	double bytes = 0, cum;
	char path[4096];
	size_t i;
	int k;

	metric(b, "hindsight_events_recorded_total", "counter",
	    "Events written to the change log since start.",
	    (double)store_events_written(r->store));
	metric(b, "hindsight_revisions_recorded_total", "counter",
	    "etcd revisions written since start.", (double)r->n_revisions);
	metric(b, "hindsight_watermark_revision", "gauge",
	    "Every etcd revision up to this one is recorded.",
	    (double)r->wm_rev);
	metric(b, "hindsight_synced_revision", "gauge",
	    "Every etcd revision up to this one survives a power loss.",
	    (double)store_synced_rev(r->store));
	metric(b, "hindsight_watermark_lag_seconds", "gauge",
	    "Seconds since the watch was last known healthy and caught up.",
	    r->wm_us ? (double)(clock_now_us() - r->wm_us) / 1e6 : -1);
	metric(b, "hindsight_clock_behind_seconds", "gauge",
	    "How far the system clock is behind the latest time recorded "
	    "(times stay there until it catches up).",
	    (double)clock_behind_us() / 1e6);
	metric(b, "hindsight_watermark_lag_revisions", "gauge",
	    "Newest etcd revision seen minus the watermark.",
	    r->head_rev > r->wm_rev ? (double)(r->head_rev - r->wm_rev) : 0);
	metric(b, "hindsight_watch_up", "gauge",
	    "1 while the watch is connected and caught up.",
	    caught_up(r) ? 1 : 0);
	metric(b, "hindsight_reconnects_total", "counter",
	    "Retries after etcd failures (each on the next endpoint).",
	    (double)r->n_reconnects);
	metric(b, "hindsight_gaps_total", "counter",
	    "Gaps recorded since start (compaction, replaced cluster).",
	    (double)r->n_gaps);
	mbuf_printf(b,
	    "# HELP hindsight_decode_errors_total Values kept raw "
	    "because they did not decode, by key kind.\n"
	    "# TYPE hindsight_decode_errors_total counter\n");
	for (k = 0; k < HS_KIND_COUNT; k++)
		mbuf_printf(b,
		    "hindsight_decode_errors_total{family=\"%s\"} "
		    "%lld\n",
		    hs_kind_name(k),
		    (long long)store_decode_errors_kind(r->store, k));
	mbuf_printf(b,
	    "# HELP hindsight_commit_seconds Time to commit a "
	    "batch.\n# TYPE hindsight_commit_seconds histogram\n");
	for (i = 0; i < sizeof(commit_le) / sizeof(commit_le[0]); i++)
		mbuf_printf(b,
		    "hindsight_commit_seconds_bucket{le=\"%g\"} "
		    "%lld\n",
		    commit_le[i], (long long)r->commit_hist[i]);
	cum = (double)r->commit_count;
	mbuf_printf(b,
	    "hindsight_commit_seconds_bucket{le=\"+Inf\"} %.17g\n"
	    "hindsight_commit_seconds_sum %.17g\n"
	    "hindsight_commit_seconds_count %.17g\n",
	    cum, r->commit_sum, cum);
	if (stat(r->cfg.db_path, &st) == 0)
		bytes += (double)st.st_size;
	snprintf(path, sizeof(path), "%s-wal", r->cfg.db_path);
	if (stat(path, &st) == 0)
		bytes += (double)st.st_size;
	metric(b, "hindsight_db_bytes", "gauge",
	    "Size of the db file and its WAL.", bytes);
	metric(b, "hindsight_start_time_seconds", "gauge",
	    "When the recorder started, Unix time.",
	    (double)r->started_us / 1e6);
}

int
recorder_health(void *arg, char *why, size_t size)
{
	struct recorder *r = arg;
	double age = (double)(clock_now_us() - r->wm_us) / 1e6;

	if (!caught_up(r)) {
		snprintf(why, size, "%s (recorded through revision %lld)",
		    r->state == ST_SNAPSHOT ? "taking the snapshot"
			: r->catchup	    ? "catching up"
			: r->stream	    ? "watch not caught up yet"
				    : "not watching (etcd unreachable?)",
		    (long long)r->wm_rev);
		return 0;
	}
	/* The tick refreshes the watermark every second while healthy. */
	if (age > 10) {
		snprintf(why, size, "watermark %.0f s old", age);
		return 0;
	}
	snprintf(why, size, "watching, recorded through revision %lld",
	    (long long)r->wm_rev);
	return 1;
}

int
recorder_status(const struct recorder *r)
{
	return r->status;
}

void
recorder_free(struct recorder *r)
{
	if (r == NULL)
		return;
	etcd_free(r->etcd);
	store_close(r->store);
	free(r->last_key);
	lineage_clear(r);
	held_drop(r);
	free(r->held);
	free(r);
}
