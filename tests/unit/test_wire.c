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

int
main(void)
{
	struct wire_watch m;
	struct wire_range rg;
	struct wire_header h;
	char err[256], msg[256], end[16], *body;
	const char *cbody;
	int code;

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
	ok(m.events[0].type == WIRE_PUT && m.events[0].kv.vallen == 0 &&
		strcmp(m.events[0].kv.key, "/app/empty") == 0,
	    "PUT with omitted type and omitted empty value");
	ok(m.events[1].kv.vallen == 2 &&
		memcmp(m.events[1].kv.value, "vb", 2) == 0,
	    "value base64-decoded");
	ok(m.events[1].kv.lease == 6794702686632720518LL, "lease id as int64");
	ok(m.events[2].type == WIRE_DELETE && m.events[2].kv.mod_rev == 9 &&
		m.events[2].has_prev && m.events[2].prev.vallen == 2,
	    "DELETE with prev_kv");
	wire_watch_release(&m);

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
	/* malformed: never a half-filled message */
	ok(PARSE_WATCH("{\"result\":{\"events\":[{\"kv\":{\"key\":\"!!\",\"mod_"
		       "revision\":\"3\"}}]}}",
	       &m) == -1,
	    "bad base64 is an error");
	ok(PARSE_WATCH("{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\","
		       "\"mod_revision\":\"x3\"}}]}}",
	       &m) == -1,
	    "non-numeric revision is an error");
	ok(PARSE_WATCH(
	       "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}", &m) ==
		-1,
	    "event without mod_revision is an error");
	ok(PARSE_WATCH("{\"result\":{\"events\":[{\"type\":\"BOGUS\",\"kv\":{"
		       "\"key\":\"YQ==\",\"mod_revision\":\"3\"}}]}}",
	       &m) == -1,
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
	ok(wire_parse_error(cbody, strlen(cbody), &code, msg, sizeof(msg)) ==
		    0 &&
		code == 11 && strstr(msg, "compacted"),
	    "3.4 unary error");
	cbody = "{\"code\":16,\"message\":\"etcdserver: invalid auth token\"}";
	ok(wire_parse_error(cbody, strlen(cbody), &code, msg, sizeof(msg)) ==
		    0 &&
		code == 16,
	    "3.6 unary error");
	cbody = "404 page not found\n";
	ok(wire_parse_error(cbody, strlen(cbody), &code, msg, sizeof(msg)) ==
		    -1 &&
		strcmp(msg, "404 page not found") == 0,
	    "text error kept printable");

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
		strstr(body, "\"prev_kv\":true") &&
		strstr(body, "\"progress_notify\":true"),
	    "watch request: prefix range, start revision, prev_kv, progress");
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
