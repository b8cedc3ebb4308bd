# xmtp-worker: one non-recursive Makefile.
#
# Every module describes itself in <dir>/*.mk fragments (usually <dir>/module.mk; a second
# fragment such as mls/pq.mk lets two parts of one directory grow independently; tests in
# tests/*/*.mk); this file only holds the machinery. A fragment may add to:
#   LIBS += name           static library build/<variant>/libname.a
#     name_SRCS := ...     its .c files
#     name_DEPS := ...     the libraries its code calls directly (names in LIBS)
#     name_PKGS := ...     the pkg-config packages its code uses directly
#   PROGS += name          program build/name (release build)
#     name_SRCS, name_LIBS (the libraries it uses; those they need are added, see link_libs),
#     name_PKGS (pkg-config names it needs itself, e.g. cmocka; its libraries' come with them),
#     name_LDLIBS (extra linker flags)
#   TESTBINS += name       test program build/tests/name (sanitizer build); same variables
#   BENCHES += name        benchmark program build/bench/name (release build); same variables
#   FUZZERS += name        libFuzzer target build/fuzz/name (clang); same variables
#   TESTS += suite         a suite that `make test` runs:
#     suite_CMD := ...     its command line (run from the repository root)
#     suite_TIMEOUT := N   seconds (default 300)
#     suite_NEEDS := ...   files or targets to build first (default: build/tests/<suite>)
#
# Variants: release objects in build/obj (programs, benches), sanitized objects in
# build/obj-san (tests), clang + libFuzzer objects in build/obj-fuzz (fuzzers).

BUILD    ?= build
# Public test vectors, copied into the repository with their provenance (each folder's
# README.md says where every file came from): MLS working group (mls/), post-quantum (pq/).
VECTOR_DATA := tests/vectors/data
CC       ?= gcc
ifeq ($(origin CC),default)
CC       := gcc
endif
FUZZCC   ?= clang
FUZZ_SECONDS ?= 60
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

# --- dependencies: installed on first use, through a stamp ------------------------------------
DEPS_STAMP := $(BUILD)/.deps-ok
NODEPS_GOALS := clean deps lint format help check-layers
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
DEPS_RC := $(shell if [ -f $(DEPS_STAMP) ] && [ ! deploy/install-deps.sh -nt $(DEPS_STAMP) ]; then echo 0; \
	else deploy/install-deps.sh >&2 && mkdir -p $(BUILD) && touch $(DEPS_STAMP) && echo 0 || echo 1; fi)
ifneq ($(DEPS_RC),0)
$(error deploy/install-deps.sh failed; see the message above)
endif
endif

deps:
	deploy/install-deps.sh
	mkdir -p $(BUILD) && touch $(DEPS_STAMP)

# --- flags -------------------------------------------------------------------------------------
ALL_PKGS := openssl libsodium libsecp256k1 sqlite3 libprotobuf-c libcurl libnghttp2 rdkafka \
	yaml-0.1 jansson libpcre2-8 libmicrohttpd cmocka
pkg_cflags = $(if $(1),$(shell pkg-config --cflags $(1)))
pkg_libs = $(if $(1),$(shell pkg-config --libs $(1)))
PKG_CFLAGS := $(call pkg_cflags,$(ALL_PKGS))

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers -Wno-missing-braces
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -I. -I$(BUILD) $(PKG_CFLAGS) $(WARN) -MMD -MP
CFLAGS_rel  := $(BASE_CFLAGS) -O2 -g
CFLAGS_san  := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -DXW_TESTING
CFLAGS_fuzz := $(filter-out -Wstrict-prototypes,$(BASE_CFLAGS)) -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-DXW_TESTING -DXW_FUZZING
LDFLAGS_rel  := -pthread
LDFLAGS_san  := -pthread -fsanitize=address,undefined
LDFLAGS_fuzz := -pthread -fsanitize=fuzzer,address,undefined
CC_rel  := $(CC)
CC_san  := $(CC)
CC_fuzz := $(FUZZCC)

LIBS :=
PROGS :=
TESTBINS :=
BENCHES :=
FUZZERS :=
TESTS :=

# --- generated protobuf code (proto/**/*.proto -> build/gen/xmtp) --------------------------------
# protoc sees proto/ as gen/xmtp/ (a virtual path: -Igen/xmtp=proto), so the .proto files import
# each other as "gen/xmtp/...", and the generated C includes every header as
# "gen/xmtp/<XMTP's path>.pb-c.h", resolved through -I$(BUILD) only. No folder of ours is called
# gen/, so no generated include can be mistaken for, or resolve into, a module of ours.
ifneq ($(wildcard gen),)
$(error a top-level gen/ folder would shadow the generated protobuf headers ("gen/xmtp/..."); rename it)
endif
PROTO_FILES := $(shell find proto -name '*.proto' 2>/dev/null | sort)
PROTO_GEN_C := $(patsubst proto/%.proto,$(BUILD)/gen/xmtp/%.pb-c.c,$(PROTO_FILES))
GEN_STAMP   := $(BUILD)/gen/.stamp
$(GEN_STAMP): $(PROTO_FILES)
	@rm -rf $(BUILD)/gen && mkdir -p $(BUILD)/gen
	@echo "  PROTOC   $(words $(PROTO_FILES)) files"
	$(Q)$(if $(PROTO_FILES),protoc-c --c_out=$(BUILD) -Igen/xmtp=proto $(PROTO_FILES))
	@touch $@
$(PROTO_GEN_C): $(GEN_STAMP) ;
ifneq ($(PROTO_FILES),)
LIBS += xwproto
xwproto_SRCS := $(PROTO_GEN_C)
endif

# --- modules ------------------------------------------------------------------------------------
include $(sort $(wildcard */*.mk) $(wildcard xmtp/*/*.mk) $(wildcard tests/*/*.mk))

# --- link lines, from the libraries' dependencies -------------------------------------------------
# link_libs(bin): bin's libraries and everything they need through name_DEPS, each library
# once and before every library it needs (a depth-first walk, reversed; where the DEPS leave
# the order open, the order of bin_LIBS is kept, so a list written in link order stays as it
# is). link_pkgs(bin): bin's own packages and those of all those libraries.
_reverse = $(if $(1),$(call _reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
# _visit(lib, done, path): done, then lib's dependencies not in it yet, then lib
_visit = $(if $(filter $(1),$(3)),$(error library dependency cycle: $(strip $(3)) $(1); see the _DEPS lines),$(if \
	$(filter $(1),$(2)),$(2),$(call _visit_all,$(call _reverse,$($(1)_DEPS)),$(2),$(3) $(1)) $(1)))
_visit_all = $(if $(1),$(call _visit_all,$(wordlist 2,$(words $(1)),$(1)),$(call \
	_visit,$(firstword $(1)),$(2),$(3)),$(3)),$(2))
link_libs = $(strip $(call _reverse,$(call _visit_all,$(call _reverse,$($(1)_LIBS)),,)))
link_pkgs = $(sort $($(1)_PKGS) $(foreach l,$(call link_libs,$(1)),$($(l)_PKGS)))
$(foreach x,$(LIBS) $(PROGS) $(TESTBINS) $(BENCHES) $(FUZZERS),$(foreach d,$($(x)_DEPS) $($(x)_LIBS),$(if \
	$(filter $(d),$(LIBS)),,$(error $(x) names library '$(d)', which no fragment adds to LIBS))))

# --- templates ----------------------------------------------------------------------------------
# obj path for a source in a variant: generated sources live under build/gen already.
objs = $(patsubst %.c,$(BUILD)/obj-$(2)/%.o,$(patsubst $(BUILD)/gen/%,gen/%,$(1)))

$(BUILD)/obj-rel/gen/%.o: $(BUILD)/gen/%.c | $(GEN_STAMP)
	@mkdir -p $(@D)
	@echo "  CC       $@"
	$(Q)$(CC_rel) $(CFLAGS_rel) -Wno-unused-parameter -c $< -o $@
$(BUILD)/obj-san/gen/%.o: $(BUILD)/gen/%.c | $(GEN_STAMP)
	@mkdir -p $(@D)
	@echo "  CC       $@"
	$(Q)$(CC_san) $(CFLAGS_san) -Wno-unused-parameter -c $< -o $@
$(BUILD)/obj-fuzz/gen/%.o: $(BUILD)/gen/%.c | $(GEN_STAMP)
	@mkdir -p $(@D)
	@echo "  CC       $@"
	$(Q)$(CC_fuzz) $(CFLAGS_fuzz) -Wno-unused-parameter -c $< -o $@
$(BUILD)/obj-rel/%.o: %.c | $(GEN_STAMP)
	@mkdir -p $(@D)
	@echo "  CC       $@"
	$(Q)$(CC_rel) $(CFLAGS_rel) -c $< -o $@
$(BUILD)/obj-san/%.o: %.c | $(GEN_STAMP)
	@mkdir -p $(@D)
	@echo "  CC       $@"
	$(Q)$(CC_san) $(CFLAGS_san) -c $< -o $@
$(BUILD)/obj-fuzz/%.o: %.c | $(GEN_STAMP)
	@mkdir -p $(@D)
	@echo "  CC       $@"
	$(Q)$(CC_fuzz) $(CFLAGS_fuzz) -c $< -o $@

# lib_template(name, variant)
define lib_template
$(BUILD)/$(2)/lib$(1).a: $(call objs,$($(1)_SRCS),$(2))
	@mkdir -p $$(@D)
	@echo "  AR       $$@"
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef

# bin_template(name, variant, outdir, libraries in link order)
define bin_template
$(3)/$(1): $(call objs,$($(1)_SRCS),$(2)) $(foreach l,$(4),$(BUILD)/$(2)/lib$(l).a)
	@mkdir -p $$(@D)
	@echo "  LD       $$@"
	$(Q)$(CC_$(2)) $$(filter %.o,$$^) $(foreach l,$(4),$(BUILD)/$(2)/lib$(l).a) \
		$(LDFLAGS_$(2)) $(call pkg_libs,$(call link_pkgs,$(1))) $($(1)_LDLIBS) -lm -o $$@
endef

$(foreach l,$(LIBS),$(foreach v,rel san fuzz,$(eval $(call lib_template,$(l),$(v)))))
$(foreach p,$(PROGS),$(eval $(call bin_template,$(p),rel,$(BUILD),$(call link_libs,$(p)))))
$(foreach t,$(TESTBINS),$(eval $(call bin_template,$(t),san,$(BUILD)/tests,$(call link_libs,$(t)))))
$(foreach b,$(BENCHES),$(eval $(call bin_template,$(b),rel,$(BUILD)/bench,$(call link_libs,$(b)))))
$(foreach f,$(FUZZERS),$(eval $(call bin_template,$(f),fuzz,$(BUILD)/fuzz,$(call link_libs,$(f)))))

ALL_SRCS := $(sort $(foreach x,$(LIBS) $(PROGS) $(TESTBINS) $(BENCHES) $(FUZZERS),$($(x)_SRCS)))
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- goals --------------------------------------------------------------------------------------
PROG_PATHS  := $(addprefix $(BUILD)/,$(PROGS))
TEST_PATHS  := $(addprefix $(BUILD)/tests/,$(TESTBINS))
BENCH_PATHS := $(addprefix $(BUILD)/bench/,$(BENCHES))
FUZZ_PATHS  := $(addprefix $(BUILD)/fuzz/,$(FUZZERS))

all: $(foreach l,$(LIBS),$(BUILD)/rel/lib$(l).a) $(PROG_PATHS)

tests: $(TEST_PATHS) $(PROG_PATHS) $(foreach t,$(TESTS),$(or $($(t)_NEEDS),$(BUILD)/tests/$(t)))

# One line per suite: name, timeout, command. tests/run.sh runs them and sums the counts.
SUITE_FILE := $(BUILD)/tests/suites.tsv
TEST_FILTER ?=
SELECTED_TESTS = $(if $(TEST_FILTER),$(filter $(TEST_FILTER),$(TESTS)),$(TESTS))
test: tests
	@mkdir -p $(BUILD)/tests
	$(file >$(SUITE_FILE))$(foreach t,$(SELECTED_TESTS),$(file >>$(SUITE_FILE),$(t)	$(or $($(t)_TIMEOUT),300)	$(or $($(t)_CMD),$(BUILD)/tests/$(t))))
	@BUILD=$(BUILD) tests/run.sh $(SUITE_FILE)


bench: $(BENCH_PATHS) $(PROG_PATHS)
	@set -e; for b in $(BENCH_PATHS); do echo "== $$b"; $$b; done

fuzz: $(FUZZ_PATHS)
	@set -e; for f in $(FUZZ_PATHS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		seeds=; [ -d tests/fuzz/corpus/$$n ] && seeds=tests/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -artifact_prefix=$(BUILD)/fuzz/$$n- $(BUILD)/fuzz/corpus-$$n $$seeds \
			2>$(BUILD)/fuzz/$$n.log || { tail -50 $(BUILD)/fuzz/$$n.log; exit 1; }; \
		grep -E '^(Done|#[0-9]+ *DONE)' $(BUILD)/fuzz/$$n.log | tail -1; \
	done

# ThreadSanitizer build of the concurrency tests (modules add names to TSAN_TESTS).
TSAN_TESTS ?=
define newline


endef
CFLAGS_tsan := $(BASE_CFLAGS) -O1 -g -fsanitize=thread -DXW_TESTING
# (one recipe line per test: the sources list is a make variable, so the loop is make's)
tsan:
	@mkdir -p $(BUILD)/tsan
	$(foreach t,$(TSAN_TESTS),@echo "  TSAN     $(t)"$(newline)	$(Q)$(CC) $(CFLAGS_tsan) \
		$($(t)_TSAN_SRCS) -o $(BUILD)/tsan/$(t) -fsanitize=thread $(call pkg_libs,$(ALL_PKGS)) -lm$(newline)	\
		$(BUILD)/tsan/$(t)$(newline))

LINT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
lint:
	@echo "  FORMAT   $(words $(LINT_FILES)) files"
	$(Q)clang-format --dry-run --Werror $(LINT_FILES)
	@echo "  CPPCHECK"
	$(Q)cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem -I. $(LINT_FILES)

format:
	clang-format -i $(LINT_FILES)

# which library may include which (tests/tools/check_layers.sh has the rules)
check-layers:
	$(Q)tests/tools/check_layers.sh .

clean:
	rm -rf $(BUILD)

help:
	@echo "make | make test | make bench | make fuzz [FUZZ_SECONDS=N] | make tsan | make lint | make check-layers | make clean | make deps"

.PHONY: all tests test bench fuzz tsan lint format check-layers clean deps help
