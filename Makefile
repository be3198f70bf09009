# fengqiao build. `make` builds bin/fengqiao; `make test` installs what is missing, builds and
# runs every test; `make run` starts the demo. Quiet unless V=1.

CC      ?= cc
PKGS    := libmicrohttpd libcurl jansson libmosquitto sqlite3 expat openssl xlsxwriter opencc libargon2
CFLAGS  ?= -O2 -g
# Warnings are errors here and in CI; a packager building with another compiler can turn that
# off with `make WERROR=0`. The language and warning flags stay whatever CFLAGS a caller passes
# (make asan passes its own).
WERROR  ?= 1
FQ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(if $(filter 0,$(WERROR)),,-Werror) -pthread

# A library pkg-config does not know is an error naming it, not an empty flag list that fails
# later as a missing header. Checked when a recipe first needs the flags (so `make test` on a fresh
# machine can install them first), and only once per make.
pkg_missing = $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p)))
pkg_flags = $(if $(strip $(pkg_missing)),$(error pkg-config does not find: $(strip \
  $(pkg_missing)) (install the build packages: sh scripts/deps.sh build)),$(shell pkg-config $(1) $(PKGS)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkg_flags,--cflags))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(call pkg_flags,--libs))$(PKG_LIBS)
# Includes name their file from the top of the tree ("store/store.h"), so a file moved between
# rooms keeps its includers' lines meaningful.
CPPFLAGS += -iquote . $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -pthread -lm

# The version: VERSION holds the release number; in a git checkout the short hash of HEAD is
# added (a release tarball has no .git, and then none is). Both are baked into
# build/gen/version.c; a packager may set FQ_COMMIT= itself.
FQ_VERSION := $(strip $(shell cat VERSION 2>/dev/null))
FQ_COMMIT  ?= $(if $(wildcard .git),$(shell git rev-parse --short HEAD 2>/dev/null))

BUILD   ?= build
BIN     ?= bin/fengqiao

ifeq ($(V),1)
Q :=
else
Q := @
endif

SRCS     := $(sort $(shell find common handlers store bot -name '*.c'))
LIB_SRCS := $(filter-out bot/main.c,$(SRCS))
GEN_OBJS := $(BUILD)/gen/migrations.o $(BUILD)/gen/version.o $(BUILD)/gen/danger_model.o \
             $(BUILD)/gen/category_model.o $(BUILD)/gen/web_assets.o $(BUILD)/gen/calendar_cn.o
OBJS     := $(SRCS:%.c=$(BUILD)/%.o) $(GEN_OBJS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(GEN_OBJS)
MIGRATIONS := $(sort $(wildcard store/migrations/*.sql))
# Chart.js for the statistics page: Debian's minified build (libjs-chart.js, scripts/deps.sh),
# embedded like the files of web/static/.
CHARTJS    ?= /usr/share/javascript/chart.js/chart.min.js
WEB_ASSETS := $(sort $(wildcard web/static/*)) $(CHARTJS)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(wildcard tests/unit/helpers/*.c)

.PHONY: all deps FORCE test unit integration run bench bench-web bench-callgrind scale fuzz fuzz-bins soak asan layering clean smoke valgrind

all: $(BIN)

$(BIN): $(OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The migrations are compiled into the binary, so a copied binary can create its database.
# The list of migration files is a prerequisite too, so a renamed or removed file regenerates.
$(BUILD)/gen/migrations.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' > $@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) $(BUILD)/gen/migrations.list scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# The workbench's static files (web/static/) are compiled into the binary too, with their
# content types and ETags (bot/web/assets.h): no CDN and no file to find at run time.
$(BUILD)/gen/web_assets.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(WEB_ASSETS)' | cmp -s - $@ || echo '$(WEB_ASSETS)' > $@

$(BUILD)/gen/web_assets.c: $(WEB_ASSETS) $(BUILD)/gen/web_assets.list scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-assets.sh $(WEB_ASSETS) > $@.tmp && mv $@.tmp $@

$(CHARTJS):
	@echo "$@ is missing: make deps installs it (libjs-chart.js)" >&2; exit 1

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# The danger model (data/model/danger.model, handlers/danger.h) is compiled into the binary too,
# so the daemon screens for danger without a file to find at run time.
$(BUILD)/gen/danger_model.c: data/model/danger.model scripts/embed-model.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-model.sh fq_danger_model $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/danger_model.o: $(BUILD)/gen/danger_model.c
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# The category model (data/model/category.model, handlers/classify.h) likewise.
$(BUILD)/gen/category_model.c: data/model/category.model scripts/embed-model.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-model.sh fq_category_model $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/category_model.o: $(BUILD)/gen/category_model.c
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# The shipped working calendar (data/calendar/cn.txt, common/calendar.h) likewise: the default
# of calendar.file.
$(BUILD)/gen/calendar_cn.c: data/calendar/cn.txt scripts/embed-model.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-model.sh fq_calendar_cn $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/calendar_cn.o: $(BUILD)/gen/calendar_cn.c
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# Rewritten only when the version or the commit changed, so a new commit relinks, nothing more.
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@[ -n "$(FQ_VERSION)" ] || { echo "VERSION is missing or empty" >&2; exit 1; }
	@printf '/* generated by the Makefile from VERSION and git */\nconst char fq_version[] = "%s";\nconst char fq_commit[] = "%s";\n' \
	  '$(FQ_VERSION)' '$(FQ_COMMIT)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/gen/version.o: $(BUILD)/gen/version.c
	$(Q)$(CC) $(FQ_CFLAGS) $(CFLAGS) -c -o $@ $<

# Every object but bot/main.o in one archive, and the test helpers in another: a unit binary
# links its test, its fakes and only the archive members those need (the linker takes a member
# only for a symbol still undefined), so a unit binary links what it tests. A test's link-time
# fakes are named by UNIT_FAKES_<test> (files tests/unit/fakes/<name>.c): a function a fake
# defines is taken from the fake and the real object defining it is not linked (a fake that
# cuts through the middle of an object shows as a duplicate definition at link time).
UNIT_FAKES_test_core  := fake_handlers
UNIT_FAKES_test_sched := fake_core
UNIT_FAKES_test_http  := fake_core
unit_fakes = $(UNIT_FAKES_$(1):%=tests/unit/fakes/%.c)
HELPER_OBJS := $(TEST_HELPERS:%.c=$(BUILD)/%.o)

$(BUILD)/libfengqiao.a: $(LIB_OBJS)
	@[ "$(V)" = 1 ] || echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libtesthelpers.a: $(HELPER_OBJS)
	@[ "$(V)" = 1 ] || echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtesthelpers.a $(BUILD)/libfengqiao.a \
                  $$(call unit_fakes,$$*) $$(wildcard tests/unit/fakes/*.h)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  TEST-LD $@"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(call unit_fakes,$*) \
	  $(BUILD)/libtesthelpers.a $(BUILD)/libfengqiao.a $(LDLIBS) -lcriterion

deps:
	@sh scripts/deps.sh ci

# Unit tests (Criterion, one binary per module) then integration tests (the real daemon, a real
# mosquitto on a free loopback port, real HTTP).
test: deps
	@$(MAKE) --no-print-directory all unit-bins
	@$(MAKE) --no-print-directory unit integration

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@sh scripts/run-unit.sh $(UNIT_BINS)

integration: $(BIN)
	@FQ_BIN=$(abspath $(BIN)) python3 tests/integration/run.py

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/fengqiao \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" all unit-bins
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/fengqiao unit integration

smoke: all
	python3 ../shared/acceptance/smoke.py

run: deps all
	@sh docker/demo.sh

bench: deps all
	@sh tests/bench/run.sh
	@FQ_BIN=$(abspath $(BIN)) python3 tests/bench/web_bench.py

# The workbench's board and case page over 100 000 cases (tests/bench/web_bench.py).
bench-web: all
	@FQ_BIN=$(abspath $(BIN)) python3 tests/bench/web_bench.py

# The core thread's instructions per chat message under callgrind (tests/bench/callgrind.sh);
# FQ_BIN=path/to/fengqiao measures another build, e.g. an older commit's.
bench-callgrind: deps all
	@sh tests/bench/callgrind.sh

# Costs against years of history (tests/bench/scale.sh): a database of SCALE_CASES cases
# (default 1 000 000) built once under build/scale/, the monthly report, a case-list page, a
# month's ledger and a 99 100-node roster import timed with FQ_BIN (default bin/fengqiao), then
# chat latency while the monthly report and the digests are forced due (SCALE_CHAT=0 skips it).
scale: deps all
	@sh tests/bench/scale.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang in their own tree against every object
# but bot/main.c; each runs FUZZ_SECONDS from its seeds in tests/fuzz/corpus/<target>/ and prints
# its exec count and coverage.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all
fuzz: deps
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz CFLAGS="$(FUZZ_CFLAGS)" \
	  LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  FUZZ-LD $@"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJS) $(LDLIBS)

# kill -9, broker outages and SIGTERM in a loop for SOAK_SECONDS (at least 10 kills).
SOAK_SECONDS ?= 120
soak: all
	@FQ_BIN=$(abspath $(BIN)) python3 tests/soak/soak.py --seconds $(SOAK_SECONDS)

# The unit tests and a short daemon run under valgrind --leak-check=full --error-exitcode=1.
valgrind: deps
	@$(MAKE) --no-print-directory all unit-bins
	@sh scripts/valgrind.sh $(abspath $(BIN)) $(UNIT_BINS)

# `make install [PREFIX=/usr/local] [DESTDIR=...]`: the binary, its locales (it finds them as
# ../share/fengqiao/locales next to itself), the example config, the systemd unit (ExecStart
# rewritten to PREFIX) and the man page fengqiao(8).
PREFIX ?= /usr/local
.PHONY: install
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fengqiao/locales \
	  $(DESTDIR)$(PREFIX)/share/doc/fengqiao $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/fengqiao
	install -m 0644 locales/*.json $(DESTDIR)$(PREFIX)/share/fengqiao/locales/
	install -m 0644 docker/fengqiao.conf.example $(DESTDIR)$(PREFIX)/share/doc/fengqiao/
	install -m 0644 docs/fengqiao.8 $(DESTDIR)$(PREFIX)/share/man/man8/fengqiao.8
	sed 's,/usr/local/bin/fengqiao,$(PREFIX)/bin/fengqiao,g' docker/fengqiao.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/fengqiao.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/fengqiao.service

# Layering (docs/ARCHITECTURE.md 3.1): handlers/ include no I/O or parser library, only store/
# includes sqlite3.h, only bot/sys/crypto.c includes OpenSSL; and on the built objects (nm), no layer
# uses a symbol defined in a layer above it (common < store < handlers < bot).
layering: $(OBJS)
	@sh scripts/layering.sh $(BUILD)

clean:
	rm -rf build build-asan bin

-include $(OBJS:.o=.d) $(HELPER_OBJS:.o=.d)

# The category model (handlers/catmodel.c). `make model` retrains data/model/category.model from
# data/corpus/messages.tsv with Debian's python3-sklearn (sh scripts/deps.sh model), through the
# C normaliser, and prints the file's SHA-256 (the same corpus gives the same bytes; `make
# model-check` retrains and compares with the committed file);
# `make eval` scores the committed model through the C classifier on the corpus's test split.
.PHONY: model model-check model-threshold eval danger-model danger-model-check
# The trainers sort every set they iterate (scripts/ngram_train.py); the hash seed is fixed too,
# so a set's order, should one slip in, cannot make two runs differ.
MODEL_PY := PYTHONHASHSEED=0 /usr/bin/python3
EVAL_BINS := $(BUILD)/eval/catnorm $(BUILD)/eval/eval_category $(BUILD)/eval/eval_danger \
             $(BUILD)/eval/eval_places

$(BUILD)/eval/%: tests/eval/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  EVAL-LD $@"
	$(Q)$(CC) $(CPPFLAGS) $(FQ_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

model: $(BUILD)/eval/catnorm
	@sh scripts/deps.sh model
	@$(MODEL_PY) scripts/train-model.py --catnorm $(BUILD)/eval/catnorm \
	  --corpus data/corpus/messages.tsv --out data/model/category.model

model-check: $(BUILD)/eval/catnorm
	@sh scripts/deps.sh model
	@$(MODEL_PY) scripts/train-model.py --catnorm $(BUILD)/eval/catnorm \
	  --corpus data/corpus/messages.tsv --out data/model/category.model --check

# The sure threshold of handlers/classify.h (CLASSIFY_P_SURE), by cross-validation on the train
# rows of the corpus (scripts/train-model.py --threshold).
model-threshold: $(BUILD)/eval/catnorm
	@sh scripts/deps.sh model
	@$(MODEL_PY) scripts/train-model.py --catnorm $(BUILD)/eval/catnorm \
	  --corpus data/corpus/messages.tsv --threshold

eval: $(EVAL_BINS)
	@$(BUILD)/eval/eval_category data/model/category.model data/corpus/messages.tsv locales
	@echo
	@$(BUILD)/eval/eval_category data/model/category.model data/corpus/holdout.tsv locales
	@echo
	@$(BUILD)/eval/eval_danger locales data/model/danger.model data/corpus/danger.tsv \
	  data/corpus/messages.tsv data/corpus/messages-danger.tsv data/corpus/danger-holdout.tsv
	@echo
	@$(BUILD)/eval/eval_places locales docker/demo-roster.json data/corpus/places-holdout.tsv

# The danger model (handlers/danger.h): `make danger-model` retrains data/model/danger.model
# from data/corpus/danger.tsv and the category corpus labelled by data/corpus/messages-danger.tsv
# (scripts/train-danger.py); `make danger-model-check` retrains and compares.
danger-model: $(BUILD)/eval/catnorm
	@sh scripts/deps.sh model
	@$(MODEL_PY) scripts/train-danger.py --catnorm $(BUILD)/eval/catnorm

danger-model-check: $(BUILD)/eval/catnorm
	@sh scripts/deps.sh model
	@$(MODEL_PY) scripts/train-danger.py --catnorm $(BUILD)/eval/catnorm --check
