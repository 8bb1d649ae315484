/*
 * codec.h: the small encodings both binaries share: base64 (etcd's JSON
 * gateway carries keys and values in it; the CLI prints non-UTF-8 values
 * with it), decimal integers as etcd sends them (JSON strings), and RFC 3339
 * times (Cilium's heartbeat, every time the CLI prints or reads).
 *
 * Times are int64 microseconds since the Unix epoch, UTC, everywhere.
 */
#ifndef HS_CODEC_H
#define HS_CODEC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode standard base64 (with or without '=' padding) of length n into
 * out, which must hold at least hs_b64_declen(n) bytes.  Returns the
 * decoded length, or -1 on a character outside the alphabet or a bad tail.
 */
size_t hs_b64_declen(size_t n);
long hs_b64_decode(const char *in, size_t n, unsigned char *out);

/*
 * Encode n bytes as padded standard base64 into out, which must hold
 * hs_b64_enclen(n) bytes (the terminating NUL included).  Returns out.
 */
size_t hs_b64_enclen(size_t n);
char *hs_b64_encode(const unsigned char *in, size_t n, char *out);

/*
 * Parse a whole decimal integer (optional leading '-' for the signed one)
 * of length n.  Returns 0, or -1 on anything else (empty, junk, overflow).
 */
int hs_parse_i64(const char *s, size_t n, int64_t *out);
int hs_parse_u64(const char *s, size_t n, uint64_t *out);

/*
 * Parse an RFC 3339 date-time of length n: "2026-11-20T14:02:00Z",
 * optional fraction, 'Z'/'z' or a +hh:mm/-hh:mm offset; 't' and ' ' are
 * accepted for 'T'.  Returns 0 and the UTC instant in *us, or -1.
 */
int hs_rfc3339_parse(const char *s, size_t n, int64_t *us);

/*
 * Format us as "2026-11-20T14:02:00.123456Z" (fraction only when not
 * zero, trailing zeros trimmed to milli/micro) into buf of size >= 32.
 * Returns buf.
 */
char *hs_rfc3339_format(int64_t us, char *buf, size_t size);

/*
 * Parse a duration of length n: one or more groups of a number (digits
 * and a fraction, either part may be missing but not both, as Go's
 * time.ParseDuration reads them) and a unit, s, m, h, d or w: "90m",
 * "1h30m", "2d12h", "1.5h", ".5d", "1w".  The CLI's relative times
 * (-N...), churn --last and the recorder's --retain all take it.  Returns
 * 0 and the length in microseconds in *us (each group rounded down, its
 * fraction read to 13 digits), or -1 on anything else (empty, a sign, a
 * unit missing or unknown, overflow).
 */
int hs_parse_duration(const char *s, size_t n, int64_t *us);

/* Whether s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int hs_utf8_valid(const unsigned char *s, size_t n);

/*
 * The length in bytes (1 to 4) of the valid UTF-8 character s starts
 * with, n bytes being available; 0 when s[0..n) does not start with one
 * (or n is 0).
 */
size_t hs_utf8_char(const unsigned char *s, size_t n);

/*
 * s as one line of text for a log line or an error message: each control
 * character (C0, DEL, C1) and each byte that is not part of UTF-8 becomes
 * "\xHH", so an etcd key or a command-line argument can neither start a
 * new line nor drive a terminal.  Writes at most size bytes (size > 0),
 * the NUL included, never cutting an escape or a character; returns buf.
 */
char *hs_oneline(const char *s, char *buf, size_t size);

/* The current UTC time in microseconds (CLOCK_REALTIME). */
int64_t hs_now_us(void);

/* A monotonic clock in microseconds (CLOCK_MONOTONIC), for durations. */
int64_t hs_mono_us(void);

#endif
