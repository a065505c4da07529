# The two commands a newcomer needs (see README.md):
#   make quickstart   runs the offline quickstart (no key, no network)
#   make test         installs what the suite needs, then runs every test

GO ?= go

.PHONY: quickstart test provision bench fuzz vet

quickstart:
	./scripts/provision.sh python
	$(GO) run ./examples/quickstart

provision:
	./scripts/provision.sh

test: provision
	$(GO) vet ./...
	$(GO) test -race ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

vet:
	gofmt -l . | (! grep .) && $(GO) vet ./...
