/*
 * log.c: stderr logging with UTC timestamps, text or JSON lines.
 */
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"

static enum log_level log_verbosity = LOG_INFO;
static int log_json;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_setup(enum log_level verbosity, int json)
{
	log_verbosity = verbosity;
	log_json = json;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char when[40], raw[1024], msg[4096], *line;
	va_list ap;
	int saved = errno;
	cJSON *o;

	if (level > log_verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* One line, whatever bytes a key or a server's message carried. */
	hs_oneline(raw, msg, sizeof(msg));
	hs_rfc3339_format(hs_now_us() / 1000 * 1000, when, sizeof(when));
	if (log_json && (o = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(o, "time", when);
		cJSON_AddStringToObject(o, "level", level_names[level]);
		cJSON_AddStringToObject(o, "msg", msg);
		if ((line = cJSON_PrintUnformatted(o)) != NULL) {
			fprintf(stderr, "%s\n", line);
			free(line);
		}
		cJSON_Delete(o);
	} else
		fprintf(stderr, "%s %s: %s\n", when, level_names[level], msg);
	errno = saved;
}
