# softips: build, test, lab and benchmarks. `make help` lists the targets.
GO      ?= go
BIN     ?= bin/softips
PKGS    ?= ./...
APT_PKGS = clang llvm libbpf-dev bpftool libpcap-dev tcpdump iproute2 ethtool \
           dsniff clamav-testfiles netcat-openbsd iputils-ping util-linux

.PHONY: help build generate deps test test-unit bench lab-up lab-down demo fmt vet

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  %-10s %s\n",$$1,$$2}' $(MAKEFILE_LIST)

build: ## build bin/softips (needs no clang: the BPF objects are committed)
	$(GO) build -o $(BIN) ./cmd/softips

generate: ## rebuild the BPF objects and Go bindings with clang + bpf2go
	$(GO) generate ./pkg/kernel/...

deps: ## install the Debian packages the tests and the lab need (root)
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

test: deps ## run every test, privileged ones included (root), then each benchmark once
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 30m $(PKGS)
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m $(PKGS)

test-unit: ## run the tests that need neither root nor the lab
	$(GO) test -count=1 -short $(PKGS)

bench: build ## run the benchmark harness; results land in bench/results/
	./bench/run.sh

lab-up: ## create the lab namespaces (root)
	./scripts/lab.sh up

lab-down: ## remove the lab namespaces (root)
	./scripts/lab.sh down

demo: deps build ## lab up, daemon, block a live connection, show the reset, tear down (root)
	./scripts/demo.sh

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet
	$(GO) vet $(PKGS)
