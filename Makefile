# vfioscope build, in the libbpf-bootstrap manner: quiet rules (V=1 for the commands),
# BPF objects with clang -target bpf, a vmlinux.h from this host's BTF in the build folder,
# skeletons from bpftool, one archive per wing of the library and the vfioscope command.
#
# Files are found by name, so adding a module needs no Makefile edit:
#   bpf/NAME.bpf.c          -> build/bpf/NAME.bpf.o, build/NAME.skel.h
#   user/lib/WING/NAME.c    -> libvfioscope-WING.a (WING: common, tracer, tracker, exporter)
#   user/cmd/NAME.c         -> the vfioscope command
#   tests/unit/test_NAME.c  -> build/tests/unit/test_NAME (cmocka)
#   tests/bpf/test_NAME.c   -> build/tests/bpf/test_NAME (cmocka, host kernel)
#   tests/vm/src/NAME.c     -> build/tests/vm/NAME (programs run inside the guest)
#   tests/vm/iommufd/iommufd_test_domain.c -> with `make kmod` (needs the own kernel's tree)
#   tests/vm/iommufd/iommufd_ops.c          -> with `make kmod` too (iommufd_test.h)
#   bench/NAME.c            -> build/bench/NAME
#   tests/fuzz/fuzz_NAME.c  -> build/fuzz/fuzz_NAME (libFuzzer, clang; corpus tests/fuzz/corpus/NAME)

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
ARCH := x86
# One version for the command, vfioscope_build_info and the Debian package (scripts/version).
VERSION := $(shell scripts/version)

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
	MAKEFLAGS += --no-print-directory
endif

.DELETE_ON_ERROR:
.SECONDARY:

LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf 2>/dev/null)
# libbpf is linked statically: the guest runs the host's binaries, and the tool then depends
# on no particular libbpf.so version at run time.
LIBS := -Wl,-Bstatic -lbpf -Wl,-Bdynamic -lelf -lz -lmicrohttpd -lpthread -lm

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -g -O2
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# SANITIZE=1 builds everything (the command, the tests, the guest programs) with ASan and
# UBSan, e.g. `make SANITIZE=1 test-bpf test-vm`; the next plain `make` rebuilds without them.
ifeq ($(SANITIZE),1)
CFLAGS += $(SAN_FLAGS)
endif
# Objects depend on the flags they were built with: changing CFLAGS or SANITIZE rebuilds.
FLAGS_STAMP := $(OUTPUT)/.cflags
$(shell mkdir -p $(OUTPUT) && echo '$(CFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CFLAGS)' > $(FLAGS_STAMP))
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(OUTPUT) $(LIBBPF_CFLAGS) \
	-DVFIOSCOPE_VERSION='"$(VERSION)"' -MMD -MP

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# The library's wings: each is its own archive and may use only common (scripts/check-wings
# fails the build otherwise); user/cmd is the only place that joins them.
WINGS := tracer tracker exporter common
LIB_SRCS := $(foreach w,$(WINGS),$(wildcard user/lib/$(w)/*.c))
CMD_SRCS := $(wildcard user/cmd/*.c)
CMD_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(CMD_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(UNIT_SRCS))
UNIT_ASAN := $(patsubst tests/unit/%.c,$(OUTPUT)/asan/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/bpf/%,$(BPFT_SRCS))
VMP_SRCS := $(wildcard tests/vm/src/*.c)
VMP_BINS := $(patsubst tests/vm/src/%.c,$(OUTPUT)/tests/vm/%,$(VMP_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
# The L2 guest that makes edu DMA (multiboot, booted by nested QEMU with -kernel)
L2_IMAGE := $(OUTPUT)/tests/vm/l2/edu-dma.elf
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))
# Link order: the wings, then common, which they all use.
LIBVFIOSCOPE := $(foreach w,$(WINGS),$(OUTPUT)/libvfioscope-$(w).a)
LIBVFIOSCOPE_ASAN := $(foreach w,$(WINGS),$(OUTPUT)/asan/libvfioscope-$(w).a)
LIBVFIOSCOPE_FUZZ := $(foreach w,$(WINGS),$(OUTPUT)/fuzz/libvfioscope-$(w).a)
WINGS_OK := $(OUTPUT)/.wings-ok
VFIOSCOPE := $(OUTPUT)/vfioscope
DEPS_STAMP := $(OUTPUT)/.deps-ok

.PHONY: all deps clean man deb test-package test test-unit test-bpf test-vm test-vm-6.1 test-vm-6.12 test-vm-6.12-iommufd asan demo bench fuzz soak \
	format format-check kmod check-wings

all: $(VFIOSCOPE) $(UNIT_BINS) $(BPFT_BINS) $(VMP_BINS) $(BENCH_BINS) $(FUZZ_BINS) $(L2_IMAGE)

# The install step is the project's own: a fresh machine needs nothing done by hand.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps
	$(call msg,DEPS,scripts/deps)
	$(Q)mkdir -p $(OUTPUT) && scripts/deps && touch $@

$(OUTPUT)/vmlinux.h: | $(DEPS_STAMP)
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D) && $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h $(wildcard bpf/*.bpf.h) \
		$(wildcard include/vfioscope/tracer/*.h include/vfioscope/common/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-Iinclude -I$(OUTPUT) -Ibpf -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Every user object may include a skeleton: generate them all first.
$(OUTPUT)/%.o: %.c $(SKELS) $(FLAGS_STAMP) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/asan/%.o: %.c $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# libFuzzer targets and the library under them: clang, with coverage, ASan and UBSan.
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-Wno-gnu-variable-sized-type-not-at-end \
	-fno-sanitize-recover=all
$(OUTPUT)/fuzz/%.o: %.c $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(ALL_CFLAGS) $(FUZZ_FLAGS) -c $< -o $@

# The objects that print the version are rebuilt when it changes (a new commit, a tag).
VERSION_STAMP := $(OUTPUT)/.version
$(shell mkdir -p $(OUTPUT) && [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(VERSION)" ] || \
	echo "$(VERSION)" > $(VERSION_STAMP))
$(OUTPUT)/user/cmd/main.o $(OUTPUT)/user/lib/exporter/vfio_metrics.o \
	$(OUTPUT)/asan/user/cmd/main.o $(OUTPUT)/asan/user/lib/exporter/vfio_metrics.o: $(VERSION_STAMP)

# The landing page is embedded with .incbin, which -MMD does not see.
$(OUTPUT)/user/lib/exporter/landing_page.o $(OUTPUT)/asan/user/lib/exporter/landing_page.o \
		$(OUTPUT)/fuzz/user/lib/exporter/landing_page.o: \
	web/landing.html

# A wing that includes another wing's header fails the build here.
$(WINGS_OK): scripts/check-wings $(wildcard user/lib/*/*.[ch] include/vfioscope/*/*.h bpf/*)
	$(call msg,CHECK,wings depend on common only)
	$(Q)mkdir -p $(@D) && scripts/check-wings && touch $@

define wing_archive
$(OUTPUT)/libvfioscope-$(1).a: $(patsubst %.c,$(OUTPUT)/%.o,$(wildcard user/lib/$(1)/*.c)) $(WINGS_OK)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)

$(OUTPUT)/asan/libvfioscope-$(1).a: $(patsubst %.c,$(OUTPUT)/asan/%.o,$(wildcard user/lib/$(1)/*.c)) \
		$(WINGS_OK)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)

$(OUTPUT)/fuzz/libvfioscope-$(1).a: $(patsubst %.c,$(OUTPUT)/fuzz/%.o,$(wildcard user/lib/$(1)/*.c)) \
		$(WINGS_OK)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)
endef
$(foreach w,$(WINGS),$(eval $(call wing_archive,$(w))))

$(VFIOSCOPE): $(CMD_OBJS) $(LIBVFIOSCOPE)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(UNIT_BINS): $(OUTPUT)/tests/unit/%: $(OUTPUT)/tests/unit/%.o $(LIBVFIOSCOPE)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -lcmocka -o $@

$(UNIT_ASAN): $(OUTPUT)/asan/%: $(OUTPUT)/asan/tests/unit/%.o $(LIBVFIOSCOPE_ASAN)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LIBS) -lcmocka -o $@

$(FUZZ_BINS): $(OUTPUT)/fuzz/%: $(OUTPUT)/fuzz/tests/fuzz/%.o $(LIBVFIOSCOPE_FUZZ)
	$(call msg,BINARY,$@)
	$(Q)$(CLANG) $(CFLAGS) -fsanitize=fuzzer,address,undefined $^ $(LIBS) -o $@

$(BPFT_BINS): $(OUTPUT)/tests/bpf/%: $(OUTPUT)/tests/bpf/%.o $(LIBVFIOSCOPE)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -lcmocka -o $@

# Guest-side test programs use the plain uAPI only (no libvfioscope), so the kernel and the
# test device are checked independently of our library.
$(VMP_BINS): $(OUTPUT)/tests/vm/%: tests/vm/src/%.c $(wildcard tests/vm/src/*.h) $(FLAGS_STAMP) \
		| $(DEPS_STAMP)
	$(call msg,BINARY,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Itests/vm/src $< -o $@

$(BENCH_BINS): $(OUTPUT)/bench/%: $(OUTPUT)/bench/%.o $(LIBVFIOSCOPE)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LIBS) -o $@

# The render bench feeds the exporter with serve's simulator, a test aid kept in user/cmd.
$(OUTPUT)/bench/metrics_render: $(OUTPUT)/user/cmd/testaid_simulator.o

# The reference DMA-logging device, built against each guest kernel's headers; and the guest
# program that runs the tracker's iommufd dirty calls on the kernel's IOMMUFD_TEST domain, which
# needs iommufd_test.h (not uAPI) from the build tree of the project's own kernel.
TEST_DOMAIN := $(OUTPUT)/tests/vm/iommufd_test_domain
IOMMUFD_OPS := $(OUTPUT)/tests/vm/iommufd_ops
# KMOD_SERIES limits it to some guest kernels (the VM tier builds each kernel's just before its
# scenarios, so it never waits for a kernel it does not need yet).
KMOD_SERIES ?= 6.1 6.12 6.12-iommufd
kmod: $(if $(filter 6.12-iommufd,$(KMOD_SERIES)),$(TEST_DOMAIN) $(IOMMUFD_OPS)) | $(DEPS_STAMP)
	$(Q)tests/kmod/build $(OUTPUT)/kmod $(KMOD_SERIES)

$(TEST_DOMAIN): tests/vm/iommufd/iommufd_test_domain.c $(OUTPUT)/libvfioscope-tracker.a \
		$(OUTPUT)/libvfioscope-common.a | $(DEPS_STAMP)
	$(call msg,BINARY,$@)
	$(Q)ktree=$$(tests/vm/kernel fetch 6.12-iommufd)/build && \
		mkdir -p $(@D) && $(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude \
		-I$$ktree/drivers/iommu/iommufd $< $(filter %.a,$^) -o $@

# The program the tracer's iommufd scenarios watch: the plain uAPI, plus iommufd_test.h for the
# part on the kernel's test domain.
$(IOMMUFD_OPS): tests/vm/iommufd/iommufd_ops.c | $(DEPS_STAMP)
	$(call msg,BINARY,$@)
	$(Q)ktree=$$(tests/vm/kernel fetch 6.12-iommufd)/build && \
		mkdir -p $(@D) && $(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE \
		-I$$ktree/drivers/iommu/iommufd $< -o $@

$(L2_IMAGE): tests/vm/l2/build tests/vm/l2/entry.S tests/vm/l2/edu_dma.c tests/vm/l2/l2.ld
	$(call msg,L2,$@)
	$(Q)tests/vm/l2/build $@

# Man pages: man/NAME.scd -> build/man/NAME (roff, by scdoc).
MAN_PAGES := $(patsubst man/%.scd,$(OUTPUT)/man/%,$(wildcard man/*.scd))
man: $(MAN_PAGES)
$(OUTPUT)/man/%: man/%.scd | $(DEPS_STAMP)
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D) && scdoc <$< >$@

# The Debian package, built with debhelper in a copy of the tree, then lintian on it.
deb: | $(DEPS_STAMP)
	$(Q)OUTPUT=$(OUTPUT) packaging/mkdeb

TIER := tests/run-tier

# Every tier runs even when an earlier one failed; tests/summary prints one line per tier and
# fails if any tier did.
# The guest kernels are fetched (the project's own built) in the background from the start, at
# low priority: on a fresh machine the kernel build then runs beside the host tiers and the TCG
# guests, which leave a core idle, instead of before them. The VM tier builds each kernel's test
# module just before its scenarios (tests/vm/run-all), waiting for the kernel if need be.
VM_KERNELS ?= 6.1 6.12 6.12-iommufd
test: all
	$(Q)rm -rf $(OUTPUT)/results
	-$(Q)tests/vm/kernel prefetch $(OUTPUT)/results/logs/kernels.log $(VM_KERNELS)
	-$(Q)$(TIER) unit $(UNIT_BINS) tests/fuzz/replay.sh
	-$(Q)$(TIER) bpf $(BPFT_BINS) $(wildcard tests/bpf/*.sh)
	-$(Q)$(TIER) package $(PACKAGE_TESTS)
	-$(Q)tests/vm/run-all $(VM_KERNELS)
	$(Q)tests/summary $(OUTPUT)/results

test-unit: $(UNIT_BINS) $(VFIOSCOPE) $(FUZZ_BINS)
	$(Q)$(TIER) unit $(UNIT_BINS) tests/fuzz/replay.sh

# The package tier: the .deb and lintian (deb.sh builds it first, the systemd scenario of the VM
# tier installs it), man pages against --help, bash completion, the fleet (tests/package/).
PACKAGE_TESTS := tests/package/deb.sh $(filter-out tests/package/deb.sh,$(wildcard tests/package/*.sh))
test-package: $(VFIOSCOPE) man
	$(Q)$(TIER) package $(PACKAGE_TESTS)

test-bpf: $(VFIOSCOPE) $(BPFT_BINS)
	$(Q)$(TIER) bpf $(BPFT_BINS) $(wildcard tests/bpf/*.sh)

test-vm: all
	$(Q)tests/vm/run-all $(VM_KERNELS)

test-vm-6.1: all
	$(Q)tests/vm/run-all 6.1

test-vm-6.12: all
	$(Q)tests/vm/run-all 6.12

test-vm-6.12-iommufd: all
	$(Q)tests/vm/run-all 6.12-iommufd

asan: $(UNIT_ASAN) $(VFIOSCOPE)
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(TIER) asan $(UNIT_ASAN)

demo: all kmod
	$(Q)scripts/demo

bench: $(BENCH_BINS) $(VFIOSCOPE)
	$(Q)scripts/bench

# Each libFuzzer target for FUZZ_SECONDS (default 60) from its committed corpus; new inputs go
# to build/fuzz/corpus, crashes to build/fuzz/crashes.
fuzz: $(FUZZ_BINS)
	$(Q)scripts/fuzz $(FUZZ_BINS)

# The exporter for SOAK_SECONDS (default 1800) under a real Prometheus scraping every second,
# wrk bursts and 1,000 slow clients: prints RSS, fd and scrape-latency slopes.
soak: $(VFIOSCOPE)
	$(Q)scripts/soak

check-wings:
	$(Q)scripts/check-wings && echo "wings: each uses only common"

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	$(Q)clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
