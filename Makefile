# enid: build, tests and installation.
#
#   make                 build ./enid
#   make check           unit tests, then integration tests (root)
#   make unit            unit tests only (no root needed)
#   make integration     integration tests in network namespaces (root)
#   make fuzz            every libFuzzer target for FUZZ_SECONDS (clang)
#   make fuzz-smoke      every libFuzzer target for a few seconds (CI)
#   make demo            hot-attach demonstration in namespaces (root)
#   make bench           benchmarks in namespaces (root, see BENCHMARKS.md)
#   make man             man pages into $(BUILD)/man (scdoc)
#   make check-units     systemd-analyze verify and security of the unit
#   make dist            source tarball $(BUILD)/enid-$(VERSION).tar.gz
#   make deb / make rpm  Debian / RPM packages into $(BUILD)/
#   make install DESTDIR=/tmp/root

VERSION := 0.1.0

CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON ?= python3

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
RTPROTOSDIR ?= $(SYSCONFDIR)/iproute2/rt_protos.d
MANDIR ?= $(PREFIX)/share/man

PACKAGES := libmnl libnl-3.0 libnl-route-3.0 libcurl libsystemd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PACKAGES))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PACKAGES))
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

WARNINGS := -Wall -Wextra -Werror -Wswitch-enum -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
# -iquote, not -I: libnl's headers include <netlink/netlink.h>, which -I.
# would resolve to this project's netlink/netlink.h.
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) -iquote . -DENID_VERSION='"$(VERSION)"' \
	-D_GNU_SOURCE $(PKG_CFLAGS)

BUILD := build

LIB_SOURCES := $(wildcard common/*.c imds/*.c netlink/*.c) \
	$(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJECTS := $(LIB_SOURCES:%.c=$(BUILD)/%.o)
MAIN_OBJECT := $(BUILD)/daemon/main.o

UNIT_SOURCES := $(wildcard tests/unit/check_*.c)
UNIT_BINARIES := $(UNIT_SOURCES:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check unit integration demo install clean fuzz fuzz-smoke \
	fuzz-check

all: enid

enid: $(MAIN_OBJECT) $(BUILD)/libenid.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/libenid.a: $(LIB_OBJECTS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libenid.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(CHECK_CFLAGS) $(LDFLAGS) \
		-o $@ $< $(BUILD)/libenid.a $(PKG_LIBS) $(CHECK_LIBS)

unit: $(UNIT_BINARIES)
	@set -e; for test in $(UNIT_BINARIES); do \
		echo "== $$test"; CK_VERBOSITY=normal $$test; \
	done

integration: enid
	$(PYTHON) tests/integration/run.py

check: unit fuzz-check check-units integration

demo: enid
	$(PYTHON) tests/integration/demo.py

install: enid man
	install -D -m 0755 enid $(DESTDIR)$(SBINDIR)/enid
	install -D -m 0644 units/enid.service $(DESTDIR)$(UNITDIR)/enid.service
	install -D -m 0644 units/enid.conf $(DESTDIR)$(SYSCONFDIR)/enid/enid.conf
	install -D -m 0644 units/rt_protos.conf $(DESTDIR)$(RTPROTOSDIR)/enid.conf
	install -D -m 0644 $(BUILD)/man/man8/enid.8 $(DESTDIR)$(MANDIR)/man8/enid.8
	install -D -m 0644 $(BUILD)/man/man5/enid.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/enid.conf.5

clean:
	rm -rf $(BUILD) enid

# Man pages, unit checks, the release tarball and the packages.
.PHONY: man check-units dist deb rpm

SCDOC ?= scdoc
MAN_PAGES := $(BUILD)/man/man8/enid.8 $(BUILD)/man/man5/enid.conf.5

man: $(MAN_PAGES)

$(BUILD)/man/man8/%.8: docs/%.8.scd
	@mkdir -p $(dir $@)
	$(SCDOC) < $< > $@.tmp && mv $@.tmp $@

$(BUILD)/man/man5/%.5: docs/%.5.scd
	@mkdir -p $(dir $@)
	$(SCDOC) < $< > $@.tmp && mv $@.tmp $@

# Part of check. verify wants ExecStart's binary and the Documentation=
# man pages to exist, so it checks a copy of the unit that starts ./enid,
# with MANPATH at $(BUILD)/man (without man-db, it skips the man pages).
# verify exits 0 after warnings such as an unknown key, so any output
# fails the check. security fails above UNIT_EXPOSURE_MAX on
# systemd's 0-100 scale (20 is the "2.0" that systemd-analyze prints).
UNIT_EXPOSURE_MAX ?= 20
check-units: enid man
	@if ! command -v systemd-analyze >/dev/null 2>&1; then \
		echo "check-units skipped: systemd-analyze not found" \
			"(install systemd)"; exit 0; fi; \
	set -e; dir=$(BUILD)/units; rm -rf $$dir; mkdir -p $$dir; \
	sed 's|^ExecStart=/usr/sbin/enid|ExecStart=$(abspath enid)|' \
		units/enid.service > $$dir/enid.service; \
	echo "== systemd-analyze verify units/enid.service"; \
	man=yes; command -v man >/dev/null 2>&1 || man=no; \
	MANPATH=$(abspath $(BUILD)/man) systemd-analyze verify --man=$$man \
		$$dir/enid.service > $$dir/verify.txt 2>&1 || \
		{ cat $$dir/verify.txt; exit 1; }; \
	if [ -s $$dir/verify.txt ]; then cat $$dir/verify.txt; \
		echo "check-units: verify printed warnings"; exit 1; fi; \
	echo "== systemd-analyze security units/enid.service"; \
	if ! systemd-analyze security --offline=true \
		--threshold=$(UNIT_EXPOSURE_MAX) $$dir/enid.service \
		> $$dir/security.txt 2>&1; then \
		cat $$dir/security.txt; \
		echo "check-units: exposure above $(UNIT_EXPOSURE_MAX)/100"; \
		exit 1; fi; \
	tail -n 1 $$dir/security.txt

# The release tarball holds every file git tracks or does not ignore, as
# it is in the work tree, so uncommitted changes are included. Its file
# times are the last commit's, so equal trees give equal tarballs.
DIST_NAME := enid-$(VERSION)
DIST_TARBALL := $(BUILD)/$(DIST_NAME).tar.gz

dist:
	@mkdir -p $(BUILD)
	@git rev-parse --git-dir >/dev/null 2>&1 || \
		{ echo "dist: not a git checkout"; exit 1; }
	git ls-files --cached --others --exclude-standard | \
		while read -r file; do [ ! -e "$$file" ] || echo "$$file"; done | \
		LC_ALL=C sort -u > $(BUILD)/dist-files
	tar --create --files-from=$(BUILD)/dist-files --sort=name \
		--transform='flags=r;s,^,$(DIST_NAME)/,' --owner=0 --group=0 \
		--numeric-owner --mtime=@$$(git log -1 --format=%ct) \
		--mode=go-w | gzip -n -9 > $(DIST_TARBALL).tmp
	mv $(DIST_TARBALL).tmp $(DIST_TARBALL)
	@echo "dist: $(DIST_TARBALL)"

# The package builds run make in the unpacked tarball. They must not
# inherit this make's variables (BUILD=... on the command line would send
# their objects, and their "make clean", to this tree's build directory).
PACKAGE_ENV := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES

# dpkg-buildpackage wants debian/ at the top of the source tree: unpack
# the tarball, move packaging/debian there and build a binary package.
DEB_BUILD := $(BUILD)/deb

deb: dist
	rm -rf $(DEB_BUILD) $(BUILD)/enid_*.deb
	mkdir -p $(DEB_BUILD)
	tar -xzf $(DIST_TARBALL) -C $(DEB_BUILD)
	cp -R $(DEB_BUILD)/$(DIST_NAME)/packaging/debian $(DEB_BUILD)/$(DIST_NAME)/debian
	cd $(DEB_BUILD)/$(DIST_NAME) && $(PACKAGE_ENV) dpkg-buildpackage -us -uc -b
	cp $(DEB_BUILD)/*.deb $(BUILD)/
	@ls $(BUILD)/*.deb

# Where rpm's database does not know rpm itself (Debian's rpm package),
# BuildRequires cannot resolve, so rpmbuild runs with --nodeps.
RPM_BUILD := $(BUILD)/rpm
RPMBUILD_FLAGS ?= $(shell rpm -q rpm >/dev/null 2>&1 || echo --nodeps)

rpm: dist
	rm -rf $(RPM_BUILD) $(BUILD)/enid-*.rpm
	mkdir -p $(RPM_BUILD)/SOURCES
	cp $(DIST_TARBALL) $(RPM_BUILD)/SOURCES/
	$(PACKAGE_ENV) rpmbuild -bb $(RPMBUILD_FLAGS) --define '_topdir $(abspath $(RPM_BUILD))' \
		packaging/rpm/enid.spec
	cp $(RPM_BUILD)/RPMS/*/*.rpm $(BUILD)/
	@ls $(BUILD)/*.rpm

# Fuzzing: libFuzzer targets in tests/fuzz/, built by clang with ASan and
# UBSan in $(BUILD)/fuzz/ from only the sources each target needs. Seeds
# are in tests/fuzz/corpus/<target>/; new inputs go to
# $(BUILD)/fuzz/corpus/<target>/ and crashes to $(BUILD)/fuzz/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SANITIZE := address,undefined
FUZZ_CFLAGS := -std=gnu11 $(WARNINGS) -O1 -g -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -iquote . -DENID_VERSION='"$(VERSION)"' \
	-D_GNU_SOURCE $(PKG_CFLAGS)
FUZZ_TARGETS := addr config fetch imds_parse
FUZZ_BINARIES := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

FUZZ_SOURCES_addr := common/addr.c
FUZZ_SOURCES_config := daemon/config.c common/netobj.c common/addr.c
FUZZ_SOURCES_imds_parse := imds/parse.c common/netobj.c common/addr.c
FUZZ_SOURCES_fetch := imds/fetch.c imds/parse.c imds/transfer.c \
	common/eni.c common/log.c common/netobj.c common/addr.c
# transfer.c (imds_reply_reason's home) calls libcurl.
FUZZ_LIBS_fetch = $(shell $(PKG_CONFIG) --libs libcurl)

# The figures printed after each run. -close_fd_mask=2 hides the parsers'
# warnings, but crash reports and failed invariants still show.
FUZZ_STATS := DONE|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss)
FUZZ_RUN = set -e; for target in $(FUZZ_TARGETS); do \
	mkdir -p $(FUZZ_BUILD)/corpus/$$target; \
	echo "== fuzz_$$target for $(1) s"; \
	$(FUZZ_BUILD)/fuzz_$$target -max_total_time=$(1) -timeout=10 \
		-close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_BUILD)/fuzz_$$target- \
		$(FUZZ_BUILD)/corpus/$$target tests/fuzz/corpus/$$target \
		> $(FUZZ_BUILD)/fuzz_$$target.log 2>&1 || \
		{ tail -n 40 $(FUZZ_BUILD)/fuzz_$$target.log; exit 1; }; \
	grep -E '$(FUZZ_STATS)' $(FUZZ_BUILD)/fuzz_$$target.log; \
	done

# Exits 0 when $(FUZZ_CC) can build and link a libFuzzer target.
FUZZ_PROBE = mkdir -p $(FUZZ_BUILD) && \
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)%s' \
		'{ return 0; }' | \
	$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SANITIZE) -x c - \
		-o $(FUZZ_BUILD)/probe >/dev/null 2>&1

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZE) \
		-MMD -MP -c -o $@ $<

define fuzz_target
$$(FUZZ_BUILD)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz.h \
		$$(FUZZ_SOURCES_$(1):%.c=$$(FUZZ_BUILD)/obj/%.o)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -fsanitize=fuzzer,$$(FUZZ_SANITIZE) -o $$@ $$< \
		$$(FUZZ_SOURCES_$(1):%.c=$$(FUZZ_BUILD)/obj/%.o) \
		$$(FUZZ_LIBS_$(1))
endef
$(foreach target,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(target))))

fuzz: $(FUZZ_BINARIES)
	@$(call FUZZ_RUN,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINARIES)
	@$(call FUZZ_RUN,$(FUZZ_SMOKE_SECONDS))

# Part of check: the smoke run when clang has libFuzzer, else a notice.
fuzz-check:
	@if $(FUZZ_PROBE); then $(MAKE) --no-print-directory fuzz-smoke; \
	else echo "fuzz-smoke skipped: $(FUZZ_CC) cannot link" \
		"-fsanitize=fuzzer (install clang and libclang-rt-14-dev)"; fi

# Reliability tests at full counts (root): churn, crashes, drift, lost
# events and races (tests/integration/stress.py), then the churn test
# against $(BUILD)/asan/enid and under valgrind. `make asan` builds that
# ASan and UBSan binary in $(BUILD)/asan/ and leaves ./enid alone.
ASAN_CC ?= clang
ASAN_CFLAGS ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
.PHONY: asan stress

asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=$(ASAN_CC) \
		CFLAGS='$(ASAN_CFLAGS)' $(BUILD)/asan/enid

$(BUILD)/enid: $(MAIN_OBJECT) $(BUILD)/libenid.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

stress: enid asan
	$(PYTHON) tests/integration/stress.py --asan $(BUILD)/asan/enid

-include $(LIB_OBJECTS:.o=.d) $(MAIN_OBJECT:.o=.d) \
	$(wildcard $(FUZZ_BUILD)/obj/*/*.d)

# Benchmarks (root, about 15 minutes; knobs in BENCHMARKS.md). Not part
# of check: the figures depend on the machine and its load.
.PHONY: bench
bench: enid
	$(PYTHON) tests/bench/bench.py
