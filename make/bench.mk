# `make bench`: cold start, AWS calls per run, scale, memory, size and cost, measured side by side (issue 7).
# Needs the deploy build (P5 measures it) and the host build (P1-P4 and P6 run it); both are reused when up
# to date. Starts its own local stack (DynamoDB Local, moto server) and loopback provider; calls no AWS.
# Writes bench/results.json and bench/results.md, and prints the table.
#
#   make bench                                  # about 3 minutes once built
#   make bench BENCH_ARGS="--runs 11 --scale-repeats 3"
#
# Run it on a quiet machine: it waits up to 2 minutes for a 1-minute load average below 1.5.

# Keep the including Makefile's default goal: this fragment is read before its first rule.
_BENCH_MK_DEFAULT_GOAL := $(.DEFAULT_GOAL)

BENCH_ARGS ?=

.PHONY: bench

bench: install build build-host ## cold start, calls per run, scale, memory, size, cost (BENCH_ARGS=...)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

.DEFAULT_GOAL := $(_BENCH_MK_DEFAULT_GOAL)
