# amc: AMC (AutoML for Model Compression) benchmark harness.
#   make demo   install what is needed, build, run the main job offline
#   make test   install, build, vet, run the tests
#   make build  bin/amc (OpenBLAS through cgo when libopenblas is present, pure Go otherwise)
#   make bench  engine benchmarks, side by side with PyTorch (installs python3-torch as root)

SHELL := /bin/bash
GO ?= go
SHARED ?= $(abspath ../shared)
# ../shared/data where it exists; otherwise empty, so amc looks in ./data (where amc fetch puts files).
export AMC_DATA ?= $(if $(wildcard $(SHARED)/data),$(SHARED)/data)
WEIGHTS ?= $(SHARED)/weights

# OpenBLAS is used when a test program links against it; BLAS=gonum forces pure Go.
BLAS ?= $(shell printf 'int main(void){return 0;}' | cc -x c - -lopenblas -o /dev/null >/dev/null 2>&1 && echo openblas || echo gonum)
ifeq ($(BLAS),openblas)
TAGS := -tags openblas
export CGO_ENABLED := 1
endif

.PHONY: all deps test-deps build test test-slow vet demo bench bench-deps clean fuzz reproduce

all: build

# System packages: libopenblas-dev for the fast BLAS (otherwise the pure-Go BLAS
# is used); python3-torch for the PyTorch bridge (python/amc_bridge) and its tests,
# python3-scipy and python3-numpy for the tests' reference statistics;
# python3-torchvision (installed on its own, so that the others do not depend on
# it) for the ImageNet networks' parity test and the ImageNet transform's. test-deps adds
# onnxruntime-node (npm, pinned by scripts/onnx-check/package-lock.json) for the ONNX parity test.
PYDEBS := python3-torch python3-scipy python3-numpy
PYDEBS_VISION := python3-torchvision
# Installed when running as root with apt-get.
deps:
	@if ! printf 'int main(void){return 0;}' | cc -x c - -lopenblas -o /dev/null >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing libopenblas-dev"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev >/dev/null) \
	      || echo "warning: could not install libopenblas-dev; using the pure-Go BLAS"; \
	  else echo "note: libopenblas-dev not installed; using the pure-Go BLAS"; fi; \
	fi
	@/usr/bin/python3 -c 'import scipy.stats, numpy, torch' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(PYDEBS) (the PyTorch bridge, reference statistics in the tests)"; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PYDEBS) >/dev/null 2>&1 \
	      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PYDEBS) >/dev/null; }; } \
	      || echo "warning: could not install $(PYDEBS); the Python tests are skipped (and fail under CI=true)"; \
	  else echo "note: $(PYDEBS) missing; the Python tests are skipped (and fail under CI=true)"; fi; }
	@/usr/bin/python3 -c 'import torchvision' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(PYDEBS_VISION) (the ImageNet networks' parity test)"; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PYDEBS_VISION) >/dev/null 2>&1 \
	      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PYDEBS_VISION) >/dev/null; }; } \
	      || echo "warning: could not install $(PYDEBS_VISION); its test is skipped (and fails under CI=true)"; \
	  else echo "note: $(PYDEBS_VISION) missing; its test is skipped (and fails under CI=true)"; fi; }
	$(GO) mod download

build: deps
	$(MAKE) --no-print-directory bin/amc

bin/amc: FORCE
	$(GO) build $(TAGS) -o bin/amc ./cmd/amc
FORCE:

vet:
	$(GO) vet $(TAGS) ./...
	CGO_ENABLED=0 $(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# The tests' extra: onnxruntime-node (npm) for the ONNX export's parity test (not needed to build or
# run amc, so make demo never waits on npm).
test-deps:
	@test -d scripts/onnx-check/node_modules/onnxruntime-node || { \
	  if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing nodejs npm (the ONNX export's parity test runs onnxruntime through npm)"; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null 2>&1; }; } || true; fi; \
	  if command -v npm >/dev/null; then \
	    echo "installing onnxruntime-node into scripts/onnx-check (npm ci; the ONNX parity test)"; \
	    (cd scripts/onnx-check && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --fetch-retries=1 --fetch-timeout=60000 >/dev/null) \
	      || echo "warning: npm ci failed; the ONNX parity test is skipped (and fails under CI=true)"; \
	  else echo "note: npm missing; the ONNX parity test is skipped (and fails under CI=true)"; fi; }

test: build vet test-deps
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/amc
	$(GO) test $(TAGS) -count=1 -timeout 20m ./...
	CGO_ENABLED=0 $(GO) test -count=1 ./nn/... ./models/... ./train/
	$(GO) test $(TAGS) -race -count=1 ./nn/
	$(GO) test $(TAGS) -race -count=1 -run "GradientsMatch|StepsReduce" ./train/

# The tests too slow for make test: the VGG-16 ImageNet spec end to end on a synthetic ImageFolder
# (138 million random weights, reconstructions at 224x224: the whole target 5.5 minutes on 2 cores,
# VGG-16's spec 2.5 of them, at most 4 GB).
test-slow: build
	AMC_SLOW=1 $(GO) test $(TAGS) -count=1 -timeout 60m -run 'TestImageNetSpecsRunOnSyntheticData' -v ./harness/

# Every results folder's specs, each set into REPRO_OUT/<folder>, then its report (hours on 2 cores;
# the committed results/ folders hold the outputs of the full runs). QUICK=1: 12 episodes, one seed,
# 500 reward images, 1,000 final images, fine-tuning cut to one epoch on 2,000 images: minutes, to
# check the pipeline end to end. REPRO_SETS=ddpg-collapse (for example) runs one set. Debian's python3 (with the
# torch make deps installs) comes first on PATH for the PyTorch agent.
# Lossless CIFAR-10 (the default data): paper-cifar, and one set per results folder: resnet20-front,
# ddpg-collapse, ddpg-critic, external-overhead, agents (results/<set>). The older JPEG copy: the jpeg-* sets, whose
# specs live in experiments/jpeg-copy/ and whose committed outputs are under results/jpeg-copy/.
REPRO_OUT ?= $(if $(QUICK),reproduce-quick,reproduce-out)
# results/paper-cifar is results/agents' runs (and their fine-tunes) read as the paper's table:
# scripts/paper_cifar.sh. paper-cifar-300: the same networks, DDPG and the baselines, 300 episodes (no folder yet).
SET_paper-cifar-300 = experiments/resnet56-macs50.yaml experiments/resnet20-macs50.yaml experiments/plain20-macs50.yaml
SET_resnet20-front = experiments/resnet20-front.yaml
SET_ddpg-collapse = experiments/ddpg-collapse-plain20.yaml experiments/ddpg-collapse-fine20.yaml
SET_ddpg-critic = experiments/ddpg-critic-plain20-mc.yaml experiments/ddpg-critic-plain20-td.yaml experiments/ddpg-critic-plain20-buffer.yaml experiments/ddpg-buffer-resnet20.yaml
# results/external-overhead (runs the Python agent: python3 on PATH)
SET_external-overhead = experiments/external-random.yaml
# results/agents (its PyTorch agent needs python3 with torch first on PATH): ResNet-20, ResNet-56, Plain-20
SET_agents = experiments/agents-resnet20.yaml experiments/agents-resnet56.yaml experiments/agents-plain20.yaml
SET_paper-cifar = $(SET_agents)
J = experiments/jpeg-copy
SET_jpeg-paper-cifar = $(J)/resnet56-macs50.yaml $(J)/resnet20-adapted-macs50.yaml $(J)/plain20-macs50.yaml
# results/jpeg-copy/agents is jpeg-paper-cifar's ResNet-20 spec (DDPG and REINFORCE over 3 seeds).
SET_jpeg-agents = $(J)/resnet20-adapted-macs50.yaml
SET_jpeg-fine-grained = $(wildcard $(J)/resnet20-fine-*.yaml)
SET_jpeg-latency = $(J)/resnet20-latency70.yaml
SET_jpeg-accuracy-guaranteed = $(J)/resnet20-accuracy.yaml
SET_jpeg-search-r20 = $(J)/resnet20-macs50.yaml
REPRO_SETS ?= paper-cifar
# Every SET_<name> above is a set; REPRO_SETS names the ones to run.
REPRO_SET_NAMES = $(sort $(patsubst SET_%,%,$(filter SET_%,$(.VARIABLES))))
reproduce: build
	@set -e; $(foreach s,$(REPRO_SETS),$(if $(SET_$(s)),,echo "unknown set $(s) (valid: $(REPRO_SET_NAMES))"; exit 2;) \
	  echo "== $(s): $(SET_$(s))"; \
	  PATH="/usr/bin:$$PATH" ./bin/amc run $(SET_$(s)) --out $(REPRO_OUT)/$(s) $(if $(QUICK),--episodes 12 --seeds 1 --reward-images 500 --final-images 1000); \
	  ./bin/amc report $(REPRO_OUT)/$(s); echo "report: $(REPRO_OUT)/$(s)/report.md";)

# Every fuzz target for FUZZTIME each (the suite runs their seed corpora only).
FUZZTIME ?= 1m
fuzz:
	@set -e; for t in weights:FuzzLoad experiments:FuzzLoad datasets:FuzzJPEGArchive datasets:FuzzJPEGImage \
	  datasets:FuzzBinaryArchive datasets:FuzzCache; do \
	  pkg=$${t%%:*}; fn=$${t#*:}; echo "== $$pkg $$fn"; \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME); done

# The main job on offline defaults: a short AMC experiment (experiments/demo-resnet20.yaml) on the
# lossless CIFAR-10 with the clean ResNet-20 (never saw the held-out split) at 50% MACs: DDPG, random
# search and the hand-crafted policies, the unpruned network as "before", the report with its plots,
# and the DDPG policy's pruned model measured. Without ../shared it first fetches CIFAR-10 into ./data
# (the weights are the repository's own, checkpoints/cifar10); scripts/demo_fresh.sh proves it on a fresh
# clone with a loopback server standing in for the internet.
DEMO_OUT ?= demo-out
demo: build
	./bin/amc info
	@./bin/amc data prepare --data cifar10 >/dev/null 2>&1 || { echo "CIFAR-10 not found: amc fetch cifar10 (into ./data)"; ./bin/amc fetch cifar10; }
	./bin/amc run experiments/demo-resnet20.yaml --out $(DEMO_OUT)
	./bin/amc report $(DEMO_OUT)
	@echo; sed -n '/^## demo-resnet20/,/^On /p' $(DEMO_OUT)/report.md | head -n -1
	@best=$$(ls -d $(DEMO_OUT)/demo-resnet20/ddpg-s1/best); ./bin/amc measure --pruned $$best
	@echo "report with plots: $(DEMO_OUT)/report.md; the DDPG policy's pruned model: $(DEMO_OUT)/demo-resnet20/ddpg-s1/best"

bench-deps: deps
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null; \
	  else echo "note: python3-torch missing; the PyTorch column will be empty"; fi; }

bench: bench-deps build
	$(GO) test $(TAGS) -run '^$$' -bench Forward -benchtime 2s ./models/
	bash scripts/bench.sh

clean:
	rm -rf bin demo-out reproduce-quick reproduce-out scripts/onnx-check/node_modules
