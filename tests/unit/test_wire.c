/*
 * test_wire.c: etcd gateway messages as observed on 3.4.23 (quoted in
 * etcd-gateway.md) and the shapes of 3.6, decoded into structs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wire.h"

#define PARSE_WATCH(s, m)                                                      \
	wire_parse_watch((s), strlen(s), (m), err, sizeof(err))

/*
 * Decode every event of m into ev[0..max): how many, or -1 after a bad
 * one (*good then says how many came before it).  The caller releases.
 */
static int
events(struct wire_watch *m, struct wire_event *ev, int max, int *good)
{
	char err[256];
	int n = 0, rc;

	while (n < max && (rc = wire_watch_next(m, &ev[n], err, sizeof(err)))) {
		if (rc < 0) {
			*good = n;
			return -1;
		}
		n++;
	}
	*good = n;
	return n;
}

static void
release(struct wire_event *ev, int n)
{
	while (n-- > 0)
		wire_event_release(&ev[n]);
}

/* Parse s and decode its events: their number, or -1 if any step fails. */
static int
parse_all(const char *s)
{
	struct wire_watch m;
	struct wire_event ev[8];
	char err[256];
	int n, good;

	if (wire_parse_watch(s, strlen(s), &m, err, sizeof(err)) != 0)
		return -1;
	n = events(&m, ev, 8, &good);
	release(ev, good);
	wire_watch_release(&m);
	return n;
}

int
main(void)
{
	struct wire_watch m;
	struct wire_event ev[8];
	struct wire_range rg;
	struct wire_header h;
	char err[256], msg[256], end[16], *body, *line;
	const char *cbody;
	int code, good;

	/* created, ids as big as uint64 allows */
	ok(PARSE_WATCH(
	       "{\"result\":{\"header\":{\"cluster_id\":\"324952591200643719\","
	       "\"member_id\":\"10958783866146676299\",\"revision\":\"9\","
	       "\"raft_term\":\"2\"},\"created\":true}}",
	       &m) == 0,
	    "created parses");
	ok(m.created && !m.canceled && m.hdr.revision == 9,
	    "created at revision 9");
	ok(m.hdr.member_id == 10958783866146676299ULL,
	    "member_id above INT64_MAX kept exactly");
	ok(m.hdr.cluster_id == 324952591200643719ULL, "cluster_id exact");
	is_int(m.watch_id, 0, "absent watch_id is 0");
	wire_watch_release(&m);

	/* events: PUT without type, empty value omitted, DELETE with prev_kv */
	ok(PARSE_WATCH(
	       "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":["
	       "{\"kv\":{\"key\":\"L2FwcC9lbXB0eQ==\",\"create_revision\":"
	       "\"6\","
	       "\"mod_revision\":\"6\",\"version\":\"1\"}},"
	       "{\"kv\":{\"key\":\"L2FwcC9i\",\"create_revision\":\"7\",\"mod_"
	       "revision\":\"7\","
	       "\"version\":\"1\",\"value\":\"dmI=\",\"lease\":"
	       "\"6794702686632720518\"}},"
	       "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2FwcC9i\",\"mod_"
	       "revision\":\"9\"},"
	       "\"prev_kv\":{\"key\":\"L2FwcC9i\",\"create_revision\":\"7\","
	       "\"mod_revision\":\"7\",\"version\":\"1\",\"value\":\"dmI=\"}}]}"
	       "}",
	       &m) == 0,
	    "event batch parses");
	is_int((long long)m.nevents, 3, "three events");
	ok(!m.fragment, "no fragment: the response is whole");
	is_int(events(&m, ev, 8, &good), 3, "three events decoded");
	ok(ev[0].type == WIRE_PUT && ev[0].kv.vallen == 0 &&
		strcmp(ev[0].kv.key, "/app/empty") == 0,
	    "PUT with omitted type and omitted empty value");
	ok(ev[1].kv.vallen == 2 && memcmp(ev[1].kv.value, "vb", 2) == 0,
	    "value base64-decoded");
	ok(ev[1].kv.lease == 6794702686632720518LL, "lease id as int64");
	ok(ev[2].type == WIRE_DELETE && ev[2].kv.mod_rev == 9 &&
		ev[2].has_prev && ev[2].prev.vallen == 2,
	    "DELETE with prev_kv");
	ok(wire_watch_next(&m, &ev[3], err, sizeof(err)) == 0,
	    "then nothing more");
	release(ev, good);
	wire_watch_release(&m);

	/*
	 * fragment:true (etcd sends it before the events; any order must
	 * do), white space and newlines anywhere, brackets and quotes inside
	 * strings outside the events.
	 */
	ok(PARSE_WATCH("{ \"result\" : {\"header\":{\"revision\":\"9\"},"
		       "\"cancel_reason\":\"x]}\\\"events\\\":[\",\n"
		       "\"events\" : [ {\"kv\":{\"key\":\"YQ==\",\"mod_"
		       "revision\":\"4\"}} ,\n {\"kv\":{\"key\":\"Yg==\","
		       "\"mod_revision\":\"5\"}} ] , \"fragment\":true } }",
	       &m) == 0,
	    "fragment after the events parses");
	ok(m.fragment && m.nevents == 2 &&
		strcmp(m.cancel_reason, "x]}\"events\":[") == 0,
	    "fragment, two events, the string with brackets intact");
	ok(events(&m, ev, 8, &good) == 2 && ev[0].kv.mod_rev == 4 &&
		strcmp(ev[1].kv.key, "b") == 0,
	    "both events decoded in order");
	release(ev, good);
	wire_watch_release(&m);
	ok(PARSE_WATCH("{\"result\":{\"header\":{\"revision\":\"9\"},"
		       "\"fragment\":true,\"events\":[{\"kv\":{\"key\":"
		       "\"YQ==\",\"mod_revision\":\"7\"}}]}}",
	       &m) == 0 &&
		m.fragment && m.nevents == 1,
	    "fragment before the events, as etcd sends it");
	wire_watch_release(&m);
	ok(PARSE_WATCH("{\"result\":{\"events\":[]}}", &m) == 0 &&
		m.nevents == 0 &&
		wire_watch_next(&m, &ev[0], err, sizeof(err)) == 0,
	    "an empty events array has no events");
	wire_watch_release(&m);

	/*
	 * A bad event is an error when it is decoded, after the good ones
	 * before it (the recorder writes only revisions a later event showed
	 * whole, so those stay correct).
	 */
	ok(PARSE_WATCH("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		       "\"mod_revision\":\"3\"}},{\"kv\":{\"key\":\"!!\","
		       "\"mod_revision\":\"4\"}}]}}",
	       &m) == 0 &&
		events(&m, ev, 8, &good) == -1 && good == 1 &&
		ev[0].kv.mod_rev == 3,
	    "bad base64 in the second event: the first decodes, then -1");
	release(ev, good);
	wire_watch_release(&m);
	ok(parse_all("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"3\"}} {\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"4\"}}]}}") == -1,
	    "events without a comma between them are an error");
	ok(parse_all("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"3\"}},]}}") == -1,
	    "a trailing comma is an error");
	ok(parse_all("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"3\"}}]") == -1,
	    "a line cut after the events is an error");
	ok(parse_all("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"3\"}}") == -1,
	    "a line cut inside the events is an error");
	ok(parse_all("{\"result\":{\"events\":{\"kv\":1}}}") == -1,
	    "events that are not an array are an error");
	ok(parse_all("{\"result\":{\"ev\\u0065nts\":[{\"kv\":{\"key\":"
		     "\"YQ==\",\"mod_revision\":\"3\"}}]}}") == -1,
	    "events under an escaped name are refused, not skipped");

	/* A big message: its events one at a time, all of them. */
	{
		const char *one = "{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":"
				  "\"5\",\"value\":\"dmFsdWU=\"}}";
		size_t i, n = 20000, len = strlen(one), off;
		int all = 1;

		line = malloc(64 + n * (len + 1));
		off = (size_t)sprintf(line, "{\"result\":{\"events\":[");
		for (i = 0; i < n; i++) {
			memcpy(line + off, one, len);
			off += len;
			line[off++] = i + 1 < n ? ',' : ']';
		}
		off += (size_t)sprintf(line + off, ",\"fragment\":true}}");
		ok(wire_parse_watch(line, off, &m, err, sizeof(err)) == 0 &&
			m.nevents == n && m.fragment,
		    "20000 events counted without decoding them");
		for (i = 0; i < n && all; i++) {
			all = wire_watch_next(&m, &ev[0], err, sizeof(err)) ==
				1 &&
			    ev[0].kv.vallen == 5;
			wire_event_release(&ev[0]);
		}
		ok(all && wire_watch_next(&m, &ev[0], err, sizeof(err)) == 0,
		    "and decoded one by one");
		wire_watch_release(&m);
		free(line);
	}

	/* compaction cancel: no header revision, no reason */
	ok(PARSE_WATCH("{\"result\":{\"header\":{\"cluster_id\":\"1\",\"raft_"
		       "term\":\"2\"},"
		       "\"canceled\":true,\"compact_revision\":\"6\"}}",
	       &m) == 0 &&
		m.canceled && m.compact_revision == 6 && m.hdr.revision == 0,
	    "compaction cancel recognised");
	wire_watch_release(&m);
	/* permission denied: created and canceled with a reason */
	ok(PARSE_WATCH("{\"result\":{\"header\":{},\"watch_id\":\"-1\","
		       "\"created\":true,"
		       "\"canceled\":true,\"cancel_reason\":\"rpc error: code "
		       "= PermissionDenied "
		       "desc = etcdserver: permission denied\"}}",
	       &m) == 0 &&
		m.created && m.canceled && m.watch_id == -1 &&
		strstr(m.cancel_reason, "permission denied"),
	    "in-band permission denial");
	wire_watch_release(&m);
	/* terminal errors: 3.4 and 3.6 shapes */
	ok(PARSE_WATCH(
	       "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
	       "\"etcdserver: no leader\",\"http_status\":\"Service "
	       "Unavailable\"}}",
	       &m) == 0 &&
		m.is_error && m.error_code == 14 &&
		strcmp(m.error_msg, "etcdserver: no leader") == 0,
	    "3.4 stream error");
	wire_watch_release(&m);
	ok(PARSE_WATCH("{\"error\":{\"code\":14,\"message\":\"x\"}}", &m) ==
		    0 &&
		m.is_error && m.error_code == 14,
	    "3.6 stream error");
	wire_watch_release(&m);
	/* malformed: never a half-filled event */
	ok(parse_all("{\"result\":{\"events\":[{\"kv\":{\"key\":\"!!\",\"mod_"
		     "revision\":\"3\"}}]}}") == -1,
	    "bad base64 is an error");
	ok(parse_all("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"x3\"}}]}}") == -1,
	    "non-numeric revision is an error");
	ok(parse_all(
	       "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}") == -1,
	    "event without mod_revision is an error");
	ok(parse_all("{\"result\":{\"events\":[{\"type\":\"BOGUS\",\"kv\":{"
		     "\"key\":\"YQ==\",\"mod_revision\":\"3\"}}]}}") == -1,
	    "unknown event type is an error");
	ok(PARSE_WATCH("{\"result\":{\"header\":{\"revision\":"
		       "\"99999999999999999999\"}}}",
	       &m) == -1,
	    "revision overflowing int64 is an error");
	ok(PARSE_WATCH("{\"result\":{\"head", &m) == -1,
	    "truncated JSON is an error");
	ok(PARSE_WATCH("[1,2]", &m) == -1,
	    "a message without result is an error");

	/* range */
	cbody =
	    "{\"header\":{\"revision\":\"8\"},\"kvs\":[{\"key\":\"L2FwcC9h\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":"
	    "\"3\","
	    "\"value\":\"djI=\"}],\"more\":true,\"count\":\"3\"}";
	ok(wire_parse_range(cbody, strlen(cbody), &rg, err, sizeof(err)) == 0 &&
		rg.nkvs == 1 && rg.more && rg.count == 3 &&
		rg.hdr.revision == 8 && rg.kvs[0].version == 3,
	    "range page");
	wire_range_release(&rg);
	cbody = "{\"header\":{\"revision\":\"8\"}}";
	ok(wire_parse_range(cbody, strlen(cbody), &rg, err, sizeof(err)) == 0 &&
		rg.nkvs == 0 && !rg.more,
	    "empty range: no kvs, no more");
	wire_range_release(&rg);
	ok(wire_parse_header(cbody, strlen(cbody), &h, err, sizeof(err)) == 0 &&
		h.revision == 8,
	    "header only");

	/* unary errors */
	cbody = "{\"error\":\"etcdserver: mvcc: required revision has been "
		"compacted\","
		"\"message\":\"etcdserver: mvcc: required revision has been "
		"compacted\",\"code\":11}";
	ok(wire_parse_error(
	       400, cbody, strlen(cbody), &code, msg, sizeof(msg)) == 0 &&
		code == 11 && strstr(msg, "compacted"),
	    "3.4 unary error");
	cbody = "{\"code\":16,\"message\":\"etcdserver: invalid auth token\"}";
	ok(wire_parse_error(
	       400, cbody, strlen(cbody), &code, msg, sizeof(msg)) == 0 &&
		code == 16,
	    "3.6 unary error");
	cbody = "404 page not found\n";
	ok(wire_parse_error(
	       404, cbody, strlen(cbody), &code, msg, sizeof(msg)) == -1 &&
		strcmp(msg, "HTTP 404 Not Found: 404 page not found") == 0,
	    "text error: its status and its text");
	cbody = "\netcd received your request, but the Host header was\n"
		"unrecognized.\n\nTo fix this\x01";
	ok(wire_parse_error(
	       421, cbody, strlen(cbody), &code, msg, sizeof(msg)) == -1 &&
		strcmp(msg,
		    "HTTP 421 Misdirected Request: etcd received your "
		    "request, but the Host header was unrecognized. To fix "
		    "this?") == 0,
	    "text beginning with an empty line: on one line, printable");
	cbody = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
		"<STYLE>\nbody { x: 1 }</STYLE><script>a<b</script></head>"
		"<body><h1>Bad</h1> <p>gateway &amp; 1 < 2</body></html>";
	ok(wire_parse_error(
	       502, cbody, strlen(cbody), &code, msg, sizeof(msg)) == -1 &&
		strcmp(msg,
		    "HTTP 502 Bad Gateway: 502 Bad Gateway Bad gateway "
		    "&amp; 1 < 2") == 0,
	    "a proxy's HTML page: its text, without tags, style, script");
	ok(wire_parse_error(503, "<style>x", 8, &code, msg, sizeof(msg)) ==
		    -1 &&
		strcmp(msg, "HTTP 503 Service Unavailable (no text)") == 0,
	    "an unterminated style: nothing read past the end");
	ok(wire_parse_error(599, "", 0, &code, msg, sizeof(msg)) == -1 &&
		strcmp(msg, "HTTP 599 (no text)") == 0,
	    "no body, no known reason phrase");
	cbody = "{\"error\":{\"grpc_code\":14,\"http_code\":503,"
		"\"message\":\"etcdserver: no leader\",\"http_status\":"
		"\"Service Unavailable\"}}";
	ok(wire_parse_error(
	       503, cbody, strlen(cbody), &code, msg, sizeof(msg)) == 0 &&
		code == 14 && strcmp(msg, "etcdserver: no leader") == 0,
	    "a stream's error object, answering a watch");

	/* prefix ends */
	ok(wire_prefix_end("/app/", 5, end) == 5 &&
		memcmp(end, "/app0", 5) == 0,
	    "prefix end of /app/ is /app0");
	ok(wire_prefix_end("a\xff", 2, end) == 1 && end[0] == 'b',
	    "trailing 0xff dropped before incrementing");
	ok(wire_prefix_end("", 0, end) == 1 && end[0] == '\0',
	    "empty prefix: \\0");

	body = wire_watch_request("cilium/", 42);
	ok(body && strstr(body, "\"start_revision\":\"42\"") &&
		strstr(body, "\"key\":\"Y2lsaXVtLw==\"") &&
		strstr(body, "\"range_end\":\"Y2lsaXVtMA==\"") &&
		strstr(body, "prev_kv") == NULL &&
		strstr(body, "\"progress_notify\":true") &&
		strstr(body, "\"fragment\":true"),
	    "watch request: prefix range, start revision, progress, "
	    "fragment, no prev_kv");
	free(body);
	body = wire_range_request("cilium/", "cilium/a", 8, 7, 100);
	ok(body && strstr(body, "\"key\":\"Y2lsaXVtL2EA\"") &&
		strstr(body, "\"revision\":\"7\"") &&
		strstr(body, "\"limit\":\"100\""),
	    "next page starts after the last key (key + \\0) at the same "
	    "revision");
	free(body);
	return done_testing();
}
