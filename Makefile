# hindsight: a flight recorder for Cilium's etcd kvstore.
#
#   make               build bin/hindsight-recorder and bin/hindsight
#   make check         every test (unit + integration against a real etcd)
#   make demo          record a throwaway etcd fed by the workload simulator
#   make deps          install the Debian packages the build and tests need
#   make lint          clang-format check, cppcheck, shellcheck
#   make install PREFIX=/usr/local
#   DEVELOPER=1        warnings are errors
#   SANITIZE=address,undefined   build with sanitizers (use with make clean)

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    := build

PKGS     := sqlite3 libcurl libcjson yaml-0.1 libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsqlite3 -lcurl -lcjson -lyaml -lmicrohttpd)
# Debian's libev-dev ships no pkg-config file.
EV_LIBS    := $(shell pkg-config --libs libev 2>/dev/null || echo -lev)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wpointer-arith -Wcast-qual -Wwrite-strings \
	-Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) $(PKG_CFLAGS) -Ischema -Irecorder -MMD -MP
ifeq ($(DEVELOPER),1)
CFLAGS  += -Werror
endif
ifneq ($(SANITIZE),)
# Any finding stops the program: a report that only goes to a log a test
# throws away (most keep the recorder's stderr in a temporary directory)
# would pass unseen.
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
endif
LDLIBS  := $(PKG_LIBS) $(EV_LIBS) -lm

SCHEMA_SQL  := $(sort $(wildcard schema/[0-9]*.sql))
SCHEMA_SRC  := $(filter-out schema/migrations.c,$(wildcard schema/*.c))
REC_SRC     := $(filter-out recorder/main.c,$(wildcard recorder/*.c))
QUERY_SRC   := $(wildcard query/*.c)

SCHEMA_OBJ  := $(SCHEMA_SRC:%.c=$(BUILD)/%.o) $(BUILD)/schema/migrations.o
REC_OBJ     := $(REC_SRC:%.c=$(BUILD)/%.o)
QUERY_OBJ   := $(QUERY_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

BINS := bin/hindsight-recorder bin/hindsight

.PHONY: all check unit integration demo bench deps lint fuzz install clean
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The SQL migrations are compiled in, so a binary always carries the format
# it writes.  The list of them is a prerequisite too (rewritten only when
# it changes): a file taken away is as much a change as one edited.
SCHEMA_LIST := $(BUILD)/schema/sql.list
$(shell mkdir -p $(BUILD)/schema && { [ "$$(cat $(SCHEMA_LIST) 2>/dev/null)" = "$(SCHEMA_SQL)" ] || echo "$(SCHEMA_SQL)" > $(SCHEMA_LIST); })
$(BUILD)/schema/migrations.c: $(SCHEMA_SQL) $(SCHEMA_LIST) schema/embed.sh
	@mkdir -p $(dir $@)
	sh schema/embed.sh $(SCHEMA_SQL) > $@.tmp && mv $@.tmp $@

$(BUILD)/schema/migrations.o: $(BUILD)/schema/migrations.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libhs.a: $(SCHEMA_OBJ)
	$(AR) rcs $@ $^
$(BUILD)/librec.a: $(REC_OBJ)
	$(AR) rcs $@ $^

bin/hindsight-recorder: $(BUILD)/recorder/main.o $(BUILD)/librec.a $(BUILD)/libhs.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/hindsight: $(QUERY_OBJ) $(BUILD)/libhs.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librec.a $(BUILD)/libhs.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# The store and --retain with SQLite failing at each statement, on the
# benchmark's workload.
$(BUILD)/tests/test_retain $(BUILD)/tests/test_store: $(BUILD)/tests/%: \
		tests/unit/%.c bench/workload.c $(BUILD)/librec.a $(BUILD)/libhs.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# Opening a db, by the recorder and by the CLI, with SQLite failing.
$(BUILD)/tests/test_state: tests/unit/test_state.c \
		$(filter-out $(BUILD)/query/main.o,$(QUERY_OBJ)) $(BUILD)/librec.a $(BUILD)/libhs.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iquery -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

# The CLI's time syntax, against the CLI's objects (main.o aside).
$(BUILD)/tests/test_timespec: tests/unit/test_timespec.c \
		$(filter-out $(BUILD)/query/main.o,$(QUERY_OBJ)) $(BUILD)/libhs.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iquery -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

# The power-cut simulator fault_powerloss.t preloads into the recorder;
# never sanitized itself (a preloaded library must not need the runtime).
$(BUILD)/tests/powercut.so: tests/lib/powercut.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize=% -fno-omit-frame-pointer,$(CFLAGS)) \
		-fPIC -shared -o $@ $< -ldl -pthread

# The statement-failing shim query_faults.t and fault_sql.t preload into
# the CLI and the recorder; never sanitized either.
$(BUILD)/tests/sqlfault.so: tests/lib/sqlfault.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize=% -fno-omit-frame-pointer,$(CFLAGS)) \
		-fPIC -shared -o $@ $< -lsqlite3

# Installs what is missing, quietly when nothing is.
deps:
	@sh tests/lib/deps.sh

unit: $(UNIT_BIN)
check: deps all $(UNIT_BIN) $(BUILD)/tests/powercut.so $(BUILD)/tests/sqlfault.so
	@sh tests/run.sh $(UNIT_BIN)

demo: deps all
	@sh tests/sim/demo.sh

bench: deps all
	@sh bench/run.sh

lint:
	clang-format --dry-run --Werror schema/*.[ch] recorder/*.[ch] query/*.[ch] tests/unit/*.[ch] tests/lib/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem -Ischema -Irecorder schema recorder query
	shellcheck tests/*.sh tests/lib/*.sh tests/integration/*.t tests/sim/*.sh .ci/run

# libFuzzer targets under ASan/UBSan, each for FUZZ_SECONDS, from the
# committed seed corpora (new inputs go to a scratch copy, not the repo).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE $(PKG_CFLAGS) -Ischema -Irecorder
fuzz: $(BUILD)/schema/migrations.c
	@mkdir -p $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/fuzz_decode tests/fuzz/fuzz_decode.c recorder/decode.c schema/codec.c schema/kinds.c $(PKG_LIBS)
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/fuzz_stream tests/fuzz/fuzz_stream.c recorder/framer.c recorder/wire.c schema/codec.c $(PKG_LIBS)
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/fuzz_args tests/fuzz/fuzz_args.c query/out.c recorder/retain.c recorder/clock.c recorder/log.c $(SCHEMA_SRC) $(BUILD)/schema/migrations.c $(PKG_LIBS) $(EV_LIBS) -lm
	@for t in decode stream args; do \
		rm -rf $(BUILD)/fuzz/corpus-$$t && cp -r tests/fuzz/corpus/$$t $(BUILD)/fuzz/corpus-$$t && \
		echo "fuzzing $$t for $(FUZZ_SECONDS)s" && \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
			-print_final_stats=1 $(BUILD)/fuzz/corpus-$$t >$(BUILD)/fuzz/$$t.log 2>&1 || \
			{ tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' $(BUILD)/fuzz/$$t.log || true; \
	done

install: all
	@# UNITDIR=... overrides where the systemd unit goes.
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(or $(UNITDIR),$(PREFIX)/lib/systemd/system) \
		$(DESTDIR)$(PREFIX)/share/doc/hindsight/k8s \
		$(DESTDIR)$(PREFIX)/share/doc/hindsight/examples
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 query/hindsight.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 recorder/hindsight-recorder.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/hindsight-recorder.service \
		>$(DESTDIR)$(or $(UNITDIR),$(PREFIX)/lib/systemd/system)/hindsight-recorder.service
	chmod 644 $(DESTDIR)$(or $(UNITDIR),$(PREFIX)/lib/systemd/system)/hindsight-recorder.service
	install -m 644 packaging/hindsight-recorder.env packaging/Containerfile \
		$(DESTDIR)$(PREFIX)/share/doc/hindsight/
	install -m 644 packaging/k8s/recorder.yaml $(DESTDIR)$(PREFIX)/share/doc/hindsight/k8s/
	install -m 644 examples/README.md examples/notebook.py examples/flows.csv \
		$(DESTDIR)$(PREFIX)/share/doc/hindsight/examples/

clean:
	rm -rf $(BUILD) bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
