# tests/interop/: independent peers from npm (exact versions in package.json/package-lock.json),
# installed with `npm ci` once per lock file change. Suites that use them list
# $(INTEROP_NPM) in their _NEEDS.
INTEROP_NPM := tests/interop/node_modules/.xw-stamp
$(INTEROP_NPM): tests/interop/package.json tests/interop/package-lock.json
	@echo "  NPM CI   tests/interop"
	$(Q)cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@
