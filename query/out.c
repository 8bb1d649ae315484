/*
 * out.c: table, JSON and CSV output for the query commands (out.h).
 *
 * JSON is streamed one object a line so a snapshot of a million keys never
 * sits in memory as one tree; only the table is buffered, because column
 * widths depend on every row.
 *
 * Every format is UTF-8, whatever the bytes of a text cell: etcd keys and
 * SQL text can hold anything.  Commands give bytes that must survive in a
 * _base64 column; here the text is only made safe (text_cell).
 */
#include "out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

struct sbuf {
	char *p;
	size_t n, cap;
};

struct out {
	enum out_format format;
	FILE *fp;
	char **names;
	size_t ncols;
	size_t col; /* next cell of the current row */
	long nrows;
	int in_row;
	int drop; /* out_drop_row: the current row is not printed */
	int vertical;
	size_t hidden; /* trailing columns the table leaves out */
	int failed; /* allocation failure: out_finish says so */
	char *srccol, *srcval; /* out_source */
	/* table */
	char **notes;
	size_t nnotes;
	char **cells; /* nrows * ncols, row major */
	size_t ncells, capcells;
	/* csv: the current row, written out whole at its end */
	FILE *rowfp;
	char *rowbuf;
	size_t rowlen;
	/* json */
	cJSON *obj;
	cJSON *list;
	/* table and csv: the list being joined */
	struct sbuf lbuf;
	int lfirst;
};

static int
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t cap;

	if (b->n + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

struct out *
out_new(enum out_format format, FILE *fp)
{
	struct out *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->format = format;
	o->fp = fp;
	return o;
}

int
out_format_parse(const char *s, enum out_format *format)
{
	if (strcmp(s, "table") == 0)
		*format = OUT_TABLE;
	else if (strcmp(s, "json") == 0)
		*format = OUT_JSON;
	else if (strcmp(s, "csv") == 0)
		*format = OUT_CSV;
	else
		return -1;
	return 0;
}

enum out_format
out_get_format(const struct out *o)
{
	return o->format;
}

void
out_note(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char **nn;
	char *s;

	if (o->format != OUT_TABLE)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s != NULL && o->srcval != NULL) {
		char *t;

		if (asprintf(&t, "%s: %s", o->srcval, s) < 0)
			t = NULL;
		free(s);
		s = t;
	}
	if (s == NULL ||
	    (nn = realloc(o->notes, (o->nnotes + 1) * sizeof(*nn))) == NULL) {
		free(s);
		o->failed = 1;
		return;
	}
	o->notes = nn;
	o->notes[o->nnotes++] = s;
}

/*
 * The character at u (n bytes left): its length, 1 for a byte that is not
 * part of UTF-8; *bad when text_fix must replace it.
 */
static size_t
text_char(const unsigned char *u, size_t n, int table, int *bad)
{
	size_t len = hs_utf8_char(u, n);

	if (len == 0) {
		*bad = 1;
		return 1;
	}
	*bad = u[0] == 0 ||
	    (table &&
		(u[0] < 0x20 || u[0] == 0x7f || (u[0] == 0xc2 && u[1] < 0xa0)));
	return len;
}

/*
 * s[0..n) as cell text: in json and csv each byte that is not part of a
 * UTF-8 character, and NUL, becomes U+FFFD (JSON and CSV readers reject
 * such bytes, and cJSON would cut at NUL); in the table it and every
 * control character (C0, DEL, C1) become "\xHH" per byte, so a terminal
 * shows them instead of obeying them.  Returns NULL when s can go out as
 * it is (only when s[n] is its NUL), else a copy to free; *failed on
 * allocation failure.
 */
static char *
text_fix(
    enum out_format f, const char *s, size_t n, int terminated, int *failed)
{
	const unsigned char *u = (const unsigned char *)s;
	struct sbuf b = {NULL, 0, 0};
	char esc[8];
	size_t i, k, len;
	int table = f == OUT_TABLE, bad = 0;

	for (i = 0; i < n; i += len) {
		if (u[i] >= 0x20 && u[i] < 0x7f) { /* the common case */
			len = 1;
			continue;
		}
		if ((len = text_char(u + i, n - i, table, &bad)), bad)
			break;
	}
	if (i == n && terminated)
		return NULL;
	if (i == n) {
		if ((b.p = strndup(s, n)) == NULL)
			*failed = 1;
		return b.p;
	}
	if ((b.p = malloc(n + 16)) == NULL)
		goto fail;
	b.cap = n + 16;
	if (sbuf_add(&b, s, i) != 0)
		goto fail;
	for (; i < n; i += len) {
		len = text_char(u + i, n - i, table, &bad);
		if (!bad) {
			if (sbuf_add(&b, s + i, len) != 0)
				goto fail;
		} else if (!table) {
			if (sbuf_add(&b, "\xef\xbf\xbd", 3) != 0) /* U+FFFD */
				goto fail;
		} else {
			for (k = 0; k < len; k++) {
				snprintf(esc, sizeof(esc), "\\x%02x", u[i + k]);
				if (sbuf_add(&b, esc, 4) != 0)
					goto fail;
			}
		}
	}
	return b.p;
fail:
	free(b.p);
	*failed = 1;
	return NULL;
}

static void
csv_field(FILE *fp, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

int
out_source(struct out *o, const char *col, const char *val)
{
	char *c = strdup(col), *v = strdup(val);

	if (c == NULL || v == NULL) {
		free(c);
		free(v);
		o->failed = 1;
		return -1;
	}
	free(o->srccol);
	free(o->srcval);
	o->srccol = c;
	o->srcval = v;
	return 0;
}

int
out_columns(struct out *o, const char *const *names)
{
	size_t i, n, s = o->srccol != NULL;
	char *fixed;
	int failed = 0;

	for (n = 0; names[n] != NULL; n++)
		;
	if (o->names != NULL) {
		/* The next db of a multi-db answer: same columns. */
		if (o->ncols != n + s)
			o->failed = 1;
		return 0;
	}
	if ((o->names = calloc(n + s, sizeof(*o->names))) == NULL)
		return -1;
	if (s && (o->names[0] = strdup(o->srccol)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		/* sql takes names from the statement: any bytes. */
		fixed =
		    text_fix(o->format, names[i], strlen(names[i]), 1, &failed);
		if (failed)
			return -1;
		o->names[i + s] = fixed ? fixed : strdup(names[i]);
		if (o->names[i + s] == NULL)
			return -1;
	}
	n += s;
	o->ncols = n;
	if (o->format == OUT_CSV) {
		for (i = 0; i < n; i++) {
			if (i > 0)
				fputc(',', o->fp);
			csv_field(o->fp, o->names[i]);
		}
		fputc('\n', o->fp);
	} else if (o->format == OUT_JSON)
		fputs("[", o->fp);
	return 0;
}

/* The current csv row's buffer, closed; written out unless dropped. */
static void
csv_row_done(struct out *o, int write)
{
	if (o->rowfp == NULL)
		return;
	if (fclose(o->rowfp) != 0)
		o->failed = 1;
	else if (write && o->rowlen > 0 &&
	    fwrite(o->rowbuf, 1, o->rowlen, o->fp) != o->rowlen)
		o->failed = 1;
	o->rowfp = NULL;
	free(o->rowbuf);
	o->rowbuf = NULL;
	o->rowlen = 0;
}

/* Finish the current row, if any, writing it out for json and csv. */
static void
end_row(struct out *o)
{
	char *s;

	if (!o->in_row)
		return;
	if (o->drop) {
		o->in_row = 0;
		o->drop = 0;
		o->nrows--;
		cJSON_Delete(o->obj);
		o->obj = NULL;
		csv_row_done(o, 0);
		while (o->ncells > (size_t)o->nrows * o->ncols)
			free(o->cells[--o->ncells]);
		return;
	}
	/* A command that forgot a cell must not shift the columns. */
	while (o->col < o->ncols)
		out_null(o);
	o->in_row = 0;
	if (o->format == OUT_JSON) {
		if ((s = cJSON_PrintUnformatted(o->obj)) == NULL)
			o->failed = 1;
		else {
			fprintf(o->fp, "%s\n%s", o->nrows > 1 ? "," : "", s);
			free(s);
		}
		cJSON_Delete(o->obj);
		o->obj = NULL;
	} else if (o->format == OUT_CSV) {
		csv_row_done(o, 1);
		fputc('\n', o->fp);
	}
}

void
out_drop_row(struct out *o)
{
	if (o->in_row)
		o->drop = 1;
}

int
out_started(const struct out *o)
{
	return o->names != NULL && o->format != OUT_TABLE;
}

void
out_row(struct out *o)
{
	end_row(o);
	o->in_row = 1;
	o->col = 0;
	o->nrows++;
	if (o->format == OUT_JSON && (o->obj = cJSON_CreateObject()) == NULL)
		o->failed = 1;
	/* A row that fails half way is dropped whole (out_drop_row). */
	if (o->format == OUT_CSV &&
	    (o->rowfp = open_memstream(&o->rowbuf, &o->rowlen)) == NULL)
		o->failed = 1;
	if (o->srcval != NULL)
		out_str(o, o->srcval);
}

/*
 * Add one cell: text is the table/csv rendering (NULL for null), item the
 * JSON value (taken; NULL means json null).
 */
static void
cell(struct out *o, const char *text, cJSON *item)
{
	char **nc;
	size_t cap;

	if (!o->in_row || o->col >= o->ncols) {
		cJSON_Delete(item);
		o->failed = 1;
		return;
	}
	if (o->drop) {
		cJSON_Delete(item);
		o->col++;
		return;
	}
	switch (o->format) {
	case OUT_JSON:
		if (item == NULL)
			item = cJSON_CreateNull();
		if (o->obj == NULL || item == NULL)
			o->failed = 1;
		else
			cJSON_AddItemToObject(o->obj, o->names[o->col], item);
		item = NULL;
		break;
	case OUT_CSV:
		if (o->col > 0)
			fputc(',', o->rowfp ? o->rowfp : o->fp);
		if (text != NULL)
			csv_field(o->rowfp ? o->rowfp : o->fp, text);
		break;
	case OUT_TABLE:
		if (o->ncells == o->capcells) {
			cap = o->capcells ? o->capcells * 2 : 256;
			if ((nc = realloc(o->cells, cap * sizeof(*nc))) ==
			    NULL) {
				o->failed = 1;
				break;
			}
			o->cells = nc;
			o->capcells = cap;
		}
		o->cells[o->ncells] = strdup(text != NULL ? text : "-");
		if (o->cells[o->ncells] == NULL)
			o->failed = 1;
		o->ncells++;
		break;
	}
	cJSON_Delete(item);
	o->col++;
}

void
out_null(struct out *o)
{
	cell(o, NULL, NULL);
}

/* A text cell from s[0..n); terminated: s[n] is s's NUL. */
static void
text_cell(struct out *o, const char *s, size_t n, int terminated)
{
	char *t;
	int failed = 0;

	if (s == NULL) {
		cell(o, NULL, NULL);
		return;
	}
	t = text_fix(o->format, s, n, terminated, &failed);
	if (failed) {
		o->failed = 1;
		cell(o, NULL, NULL);
		return;
	}
	if (t != NULL)
		s = t;
	cell(o, s, o->format == OUT_JSON ? cJSON_CreateString(s) : NULL);
	free(t);
}

void
out_str(struct out *o, const char *s)
{
	text_cell(o, s, s != NULL ? strlen(s) : 0, 1);
}

void
out_strn(struct out *o, const char *s, size_t n)
{
	text_cell(o, s, n, 0);
}

void
out_int(struct out *o, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	cell(o, buf, o->format == OUT_JSON ? cJSON_CreateRaw(buf) : NULL);
}

void
out_real(struct out *o, double v)
{
	char buf[64];
	int prec;

	/*
	 * The shortest text that reads back as v, the same in every format:
	 * "%.15g" gave 2461000.12345679 for 2461000.1234567892 in csv and
	 * the table, and cJSON's approximate check 0.3 for 0.1 + 0.2.
	 */
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof(buf), "%.17g", v);
	cell(o, buf,
	    o->format != OUT_JSON ? NULL
		: isfinite(v)	  ? cJSON_CreateRaw(buf)
				  : cJSON_CreateNull());
}

void
out_bool(struct out *o, int v)
{
	cell(o, v ? "true" : "false",
	    o->format == OUT_JSON ? cJSON_CreateBool(v) : NULL);
}

void
out_time(struct out *o, int64_t us, int known)
{
	char buf[40];

	if (!known) {
		cell(o, NULL, NULL);
		return;
	}
	hs_rfc3339_format(us, buf, sizeof(buf));
	cell(o, buf, o->format == OUT_JSON ? cJSON_CreateString(buf) : NULL);
}

void
out_list_begin(struct out *o)
{
	if (o->format == OUT_JSON) {
		if ((o->list = cJSON_CreateArray()) == NULL)
			o->failed = 1;
		return;
	}
	o->lbuf.n = 0;
	o->lfirst = 1;
	if (sbuf_add(&o->lbuf, "", 0) != 0)
		o->failed = 1;
}

void
out_list_add(struct out *o, const char *s)
{
	cJSON *it;
	char *fixed;
	int failed = 0;

	fixed = text_fix(o->format, s, strlen(s), 1, &failed);
	if (failed) {
		o->failed = 1;
		return;
	}
	if (fixed != NULL)
		s = fixed;

	if (o->format == OUT_JSON) {
		if (o->list == NULL || (it = cJSON_CreateString(s)) == NULL)
			o->failed = 1;
		else
			cJSON_AddItemToArray(o->list, it);
		free(fixed);
		return;
	}
	if ((!o->lfirst && sbuf_add(&o->lbuf, ";", 1) != 0) ||
	    sbuf_add(&o->lbuf, s, strlen(s)) != 0)
		o->failed = 1;
	o->lfirst = 0;
	free(fixed);
}

void
out_list_end(struct out *o)
{
	if (o->format == OUT_JSON) {
		cell(o, NULL, o->list);
		o->list = NULL;
		return;
	}
	cell(o, o->lbuf.p != NULL ? o->lbuf.p : "", NULL);
}

void
out_json(struct out *o, struct cJSON *item, const char *text)
{
	if (o->format != OUT_JSON) {
		cJSON_Delete(item);
		item = NULL;
	}
	cell(o, text, item);
}

void
out_table_hide(struct out *o, size_t n)
{
	o->hidden = n;
}

void
out_vertical(struct out *o)
{
	o->vertical = 1;
}

long
out_nrows(const struct out *o)
{
	return o->nrows;
}

/* UTF-8 aware display width: count code points, not bytes. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
print_table(struct out *o)
{
	size_t *w, i, r, nrows, shown;

	for (i = 0; i < o->nnotes; i++)
		fprintf(o->fp, "%s\n", o->notes[i]);
	nrows = o->ncols ? o->ncells / o->ncols : 0;
	if (nrows == 0) {
		fputs("(no rows)\n", o->fp);
		return;
	}
	if (o->vertical) {
		size_t nw = 0;

		for (i = 0; i < o->ncols; i++)
			if (width(o->names[i]) > nw)
				nw = width(o->names[i]);
		for (r = 0; r < nrows; r++) {
			if (r > 0)
				fputc('\n', o->fp);
			for (i = 0; i < o->ncols; i++)
				fprintf(o->fp, "%s%*s  %s\n", o->names[i],
				    (int)(nw - width(o->names[i])), "",
				    o->cells[r * o->ncols + i]);
		}
		return;
	}
	shown = o->hidden < o->ncols ? o->ncols - o->hidden : o->ncols;
	if ((w = calloc(o->ncols, sizeof(*w))) == NULL) {
		o->failed = 1;
		return;
	}
	for (i = 0; i < shown; i++)
		w[i] = width(o->names[i]);
	for (r = 0; r < nrows; r++)
		for (i = 0; i < shown; i++)
			if (width(o->cells[r * o->ncols + i]) > w[i])
				w[i] = width(o->cells[r * o->ncols + i]);
	for (r = 0; r <= nrows; r++) {
		for (i = 0; i < shown; i++) {
			const char *s = r == 0
			    ? o->names[i]
			    : o->cells[(r - 1) * o->ncols + i];

			if (i + 1 == shown)
				fprintf(o->fp, "%s\n", s);
			else
				fprintf(o->fp, "%s%*s  ", s,
				    (int)(w[i] - width(s)), "");
		}
	}
	free(w);
}

int
out_finish(struct out *o)
{
	end_row(o);
	if (o->format == OUT_TABLE)
		print_table(o);
	else if (o->format == OUT_JSON)
		fputs(o->nrows > 0 ? "\n]\n" : "]\n", o->fp);
	if (fflush(o->fp) != 0 || ferror(o->fp))
		return -1;
	return o->failed ? -1 : 0;
}

void
out_free(struct out *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->ncols; i++)
		free(o->names[i]);
	free(o->names);
	for (i = 0; i < o->nnotes; i++)
		free(o->notes[i]);
	free(o->notes);
	for (i = 0; i < o->ncells; i++)
		free(o->cells[i]);
	free(o->cells);
	cJSON_Delete(o->obj);
	cJSON_Delete(o->list);
	csv_row_done(o, 0);
	free(o->lbuf.p);
	free(o->srccol);
	free(o->srcval);
	free(o);
}
