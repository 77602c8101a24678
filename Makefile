# mirrord — a plain Makefile; `make help` lists the targets.

PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=
# FAULTS=1: a debug build with fault injection (MIRRORD_FAULT=POINT:N,
# mirrord/fault.h), for the crash suite and the tests that use it.
FAULTS ?=
# Sanitizer and fault builds live apart so their objects never mix.
SANDIR = $(if $(SANITIZE),san-$(subst $(comma),-,$(SANITIZE)))
ifneq ($(FAULTS),)
BUILD ?= build/faults$(if $(SANDIR),-$(SANDIR))
else ifneq ($(SANITIZE),)
BUILD ?= build/$(SANDIR)
else
BUILD ?= build
endif
# Where check finds the fault-injection build of the same flavour.
FAULTS_BUILD = build/faults$(if $(SANDIR),-$(SANDIR))
comma := ,
CC ?= gcc

PKGS = libcurl libmicrohttpd gpgme lmdb liblzma zlib libcrypto libdpkg libsystemd json-c expat
# Debian packages needed to build, test and run the demo.
DEB_BUILD = gcc make pkg-config libcurl4-openssl-dev libmicrohttpd-dev \
	libgpgme-dev liblmdb-dev liblzma-dev zlib1g-dev libssl-dev libdpkg-dev libsystemd-dev \
	libjson-c-dev libexpat1-dev
DEB_TEST = gnupg dpkg-dev apt-utils apt xz-utils gzip python3 curl \
	build-essential debhelper fakeroot lintian procps lmdb-utils logrotate \
	dose-distcheck chromium swift-proxy swift-object swift-container swift-account memcached nginx-light
DEB_BENCH = aptly nginx-light hyperfine time wrk nghttp2-client

WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
	-D_FILE_OFFSET_BITS=64
LDLIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
ifneq ($(FAULTS),)
ALL_CFLAGS += -DMIRRORD_FAULTS
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# The library: the core and the layers on it. The commands (cmd/) make
# the binary; the unit tests link the library alone.
CORE_SRC = $(wildcard mirrord/*.c) $(wildcard sync/*.c) $(wildcard serve/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CMD_SRC = $(wildcard cmd/*.c)
CMD_OBJ = $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC = $(wildcard tests/unit/t_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

.PHONY: layering all deps deps-test deps-bench run check unit e2e e2e-s3 bench scale install clean help demo deb

all: $(BUILD)/mirrord

help:
	@echo "make            build $(BUILD)/mirrord"
	@echo "make run        install missing packages, build, sync the demo archive"
	@echo "make check      install missing packages, build, run every test"
	@echo "make layering   the layer, library-owner and size rules (tests/layering.sh)"
	@echo "make check-valgrind  make check with every process under memcheck"
	@echo "make fuzz       run every libFuzzer target FUZZ_SECONDS (600) each"
	@echo "make crash      kill -9 loop (CRASH_ITERS, CRASH_SEED) and fault injection"
	@echo "make faults     a hostile upstream, 31 cases"
	@echo "make abuse      abusive clients while apt runs"
	@echo "make stress     a daemon, clients and every command at once (CONC_SECONDS, 45)"
	@echo "make bench      compare against aptly and xz (installs them)"
	@echo "make scale      1,000,000 pool files, 1,000 snapshots: cost per size"
	@echo "make install    DESTDIR= PREFIX=/usr/local"
	@echo "make deb        the Debian package, in build/deb/"

$(BUILD)/obj/%.o: %.c $(wildcard mirrord/*.h sync/*.h serve/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libmirrord.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/mirrord: $(CMD_OBJ) $(BUILD)/libmirrord.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every unit test links tests/unit/helpers.c (its temp directories).
UNIT_HELPERS = $(BUILD)/obj/tests/unit/helpers.o
$(UNIT_HELPERS): tests/unit/helpers.h
$(BUILD)/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(UNIT_HELPERS) $(BUILD)/libmirrord.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_HELPERS) $(BUILD)/libmirrord.a $(LDLIBS)

# The rules of HACKING.md a compiler does not check; --self-test also
# plants a violation of each in a copy of the tree and expects it caught.
layering:
	@tests/layering.sh --self-test

# Installs the Debian packages that are missing (as root, or with sudo).
define apt_install
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_install,$(DEB_BUILD))
deps-test: deps
	$(call apt_install,$(DEB_TEST))
deps-bench: deps-test
	$(call apt_install,$(DEB_BENCH))

demo: deps-test
	@$(MAKE) --no-print-directory all
	@python3 tests/fixtures/mkarchive.py $(BUILD)/demo/archive --gnupghome $(BUILD)/demo/gnupg >/dev/null
	@cp $(BUILD)/demo/archive/archive-key.gpg $(BUILD)/demo/archive-key.gpg

DEMO = $(BUILD)/mirrord -c conf/demo/mirrord.conf

# The demo: sync the signed demo archive, promote it to a channel, show
# what a client writes in its sources, then serve (Ctrl-C stops).
run: demo
	$(DEMO) sync
	$(DEMO) snapshot show demo latest
	$(DEMO) promote demo latest production || true
	$(DEMO) sources demo production > $(BUILD)/demo/demo.sources
	@echo
	@echo "# A client's /etc/apt/sources.list.d/demo.sources:"
	@cat $(BUILD)/demo/demo.sources
	@echo
	@echo "# Then, on the client:  apt-get update"
	@echo "# Serving on http://$$(sed -n 's/^Listen: *//p' conf/demo/mirrord.conf); Ctrl-C stops."
	$(DEMO) serve

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
		echo "# $$t"; $$t || fail=1; \
	done; exit $$fail

e2e: $(BUILD)/mirrord
	@$(MAKE) --no-print-directory FAULTS=1 SANITIZE=$(SANITIZE) $(FAULTS_BUILD)/mirrord
	@MIRRORD_FAULTS_BIN=$(CURDIR)/$(FAULTS_BUILD)/mirrord tests/e2e/run.sh $(BUILD)/mirrord

# The same binary with its blobs in OpenStack Swift (MIRRORD_E2E_BLOBS=s3:
# run.sh starts one, each test a bucket of its own): the sync, serve,
# promote, gc, fsck and kill -9 tests, a replica on its primary's bucket,
# and the S3 backend's own.
E2E_S3_TESTS = t0010-first-sync.sh t0020-shared-blobs.sh t0050-fsck.sh \
	t0060-kill9.sh t0110-apt-client.sh t0120-promote-rollback.sh \
	t0420-retention-gc.sh t0430-gc-live-download.sh \
	t0955-ondemand-serve.sh t0980-replica.sh
e2e-s3: $(BUILD)/mirrord
	@MIRRORD_E2E_BLOBS=s3 tests/e2e/run.sh $(BUILD)/mirrord \
	    $(E2E_S3_TESTS) $(notdir $(wildcard tests/e2e/t097[0-9]-*.sh))

check: deps-test
	@tests/layering.sh --self-test
	@$(MAKE) --no-print-directory unit
	@tests/fuzz/run.sh --regress
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory e2e-s3

# The reliability suites of issue 5 (a bounded sample of each runs in
# `make check`: tests/e2e/t05[0-3]0-*-sample.sh): kill -9 and fault injection,
# a hostile upstream, abusive clients, and the concurrency run.
crash: deps-test all
	@$(MAKE) --no-print-directory FAULTS=1 SANITIZE=$(SANITIZE) $(FAULTS_BUILD)/mirrord
	@tests/crash/run.sh $(BUILD)/mirrord $(FAULTS_BUILD)/mirrord
faults: deps-test all
	@sh tests/faults/run.sh $(BUILD)/mirrord
abuse: deps-test all
	@tests/abuse/run.sh $(BUILD)/mirrord
stress: deps-test all
	@tests/stress/run.sh $(BUILD)/mirrord

# The libFuzzer targets (clang), each for FUZZ_SECONDS (default 600);
# `make check` feeds their corpora and regressions to a gcc build.
fuzz: deps-test
	$(call apt_install,clang)
	@tests/fuzz/run.sh

# `make check` again, every unit test and every mirrord process under
# valgrind's memcheck; fails on any error or definite/indirect leak.
check-valgrind: deps-test
	$(call apt_install,valgrind)
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@tests/valgrind/run.sh $(BUILD)/mirrord

# The scale test of issue 12 (not in `make check`): SCALE_FILES pool files,
# SCALE_SNAPSHOTS syncs, figures at SCALE_CHECKPOINTS; bench/README.md.
SCALE_FILES ?= 1000000
SCALE_SNAPSHOTS ?= 1000
SCALE_CHECKPOINTS ?= 1,500,1000
scale: deps-test all
	@python3 bench/scale.py $(BUILD)/mirrord --files $(SCALE_FILES) \
		--snapshots $(SCALE_SNAPSHOTS) --checkpoints $(SCALE_CHECKPOINTS) \
		--dir $(BUILD)/scale

bench: deps-test deps-bench
	@$(MAKE) --no-print-directory all CFLAGS="-O2 -g"
	@bench/run.sh $(BUILD)/mirrord
	@bench/serve.sh $(BUILD)/mirrord
	@bench/ondemand.sh $(BUILD)/mirrord
	@bench/replica.sh $(BUILD)/mirrord
	@bench/s3.sh $(BUILD)/mirrord

install: $(BUILD)/mirrord
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/mirrord
	install -m 755 $(BUILD)/mirrord $(DESTDIR)$(PREFIX)/bin/mirrord
	install -m 644 conf/mirrord.conf $(DESTDIR)$(PREFIX)/share/doc/mirrord/mirrord.conf.example

# The Debian package (packaging/debian), built from a copy of the tree so
# that the work tree stays clean: build/deb/mirrord_VERSION_ARCH.deb.
DEB_DIR = build/deb
deb: deps-test
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(DEB_DIR)/src -xf -
	cp -a packaging/debian $(DEB_DIR)/src/debian
	cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		-u MAKEOVERRIDES dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/src
	@ls $(DEB_DIR)/*.deb

clean:
	rm -rf $(BUILD)
