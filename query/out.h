/*
 * out.h: the row printer every query command writes through, so the three
 * output formats look the same everywhere.
 *
 *   table  aligned columns for people, after the note lines (the resolved
 *          time and revision); buffered to size the columns.
 *   json   one JSON array of objects, one object a line, streamed; times
 *          RFC 3339 UTC or null, integers as exact JSON numbers (leases
 *          exceed 2^53, so they are written as raw digits, not doubles).
 *   csv    a header row, then one row a line, RFC 4180 quoting; lists are
 *          joined with ';'.
 *
 * A command declares its columns once (out_columns), then for each row
 * calls out_row() and one cell function per column, in column order.
 */
#ifndef HQ_OUT_H
#define HQ_OUT_H

#include <stdint.h>
#include <stdio.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct out;

/* A printer writing to fp (not owned).  NULL on allocation failure. */
struct out *out_new(enum out_format format, FILE *fp);

/* Parse "table", "json" or "csv"; -1 on anything else. */
int out_format_parse(const char *s, enum out_format *format);

enum out_format out_get_format(const struct out *o);

/*
 * A line printed above a table (e.g. "as of ... (rev N)").  Ignored by
 * json and csv, which carry the same facts in columns.
 */
void out_note(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Rows from several dbs: every row starts with a column col (e.g.
 * "etcd_cluster") holding val, and notes start with "val: ".  Call before
 * out_columns; call again with a new val between the rows of two dbs.
 * Copied.  Returns 0 or -1 (out of memory).
 */
int out_source(struct out *o, const char *col, const char *val);

/*
 * The column names, NULL-terminated; copied.  Call once, before rows; a
 * second call with as many names (the next db of a multi-db answer)
 * keeps the first.
 */
int out_columns(struct out *o, const char *const *names);

/* Start a row; then one cell call per column. */
void out_row(struct out *o);
/*
 * The current row is not printed (a read under it failed): its remaining
 * cell calls are ignored.  Rows before and after are printed as usual.
 */
void out_drop_row(struct out *o);
/* Something was printed already (json's "[", csv's header). */
int out_started(const struct out *o);

void out_null(struct out *o);
void out_str(struct out *o, const char *s); /* NULL: null */
void out_strn(struct out *o, const char *s, size_t n); /* s NULL: null */
void out_int(struct out *o, int64_t v);
void out_real(struct out *o, double v);
void out_bool(struct out *o, int v);
/* A time: RFC 3339 UTC, or null when !known. */
void out_time(struct out *o, int64_t us, int known);

/* A list of strings: out_list_begin, out_list_add..., out_list_end. */
void out_list_begin(struct out *o);
void out_list_add(struct out *o, const char *s);
void out_list_end(struct out *o);

/*
 * A cell whose JSON form is item (a cJSON tree, taken; for nested objects
 * like status's gaps) and whose table/csv form is text.
 */
struct cJSON;
void out_json(struct out *o, struct cJSON *item, const char *text);

/*
 * The last n columns are for json/csv only: the table says the same in
 * a note (the echoed time and revision on every row would be noise).
 */
void out_table_hide(struct out *o, size_t n);

/* Print the table one "column  value" line per cell (a single record). */
void out_vertical(struct out *o);

/* Number of rows written so far. */
long out_nrows(const struct out *o);

/*
 * Print what is buffered (table), close the array (json), flush.
 * Returns 0, or -1 when writing failed (e.g. EPIPE, disk full).
 */
int out_finish(struct out *o);

/* Free; out_free(NULL) is a no-op.  Does not print. */
void out_free(struct out *o);

#endif
