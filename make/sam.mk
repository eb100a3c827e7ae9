# Deploy build and built-artifact invokes: template.yaml, SAM without Docker, the Runtime Interface Client.
#
#   make validate                 sam validate (the SAM transform), sam validate --lint, cfn-lint
#   make build                    sam build into .aws-sam/ (arm64, python3.13: what `sam deploy` ships)
#   make build-host               the same recipes for this machine's platform and Python, into build/host/
#   make invoke FN=<LogicalId> EVENT=<file>
#                                 runs build/host/<FN> under awslambdaric against a local Runtime API and
#                                 the local stack, and prints the result
#
# SAM CLI and cfn-lint live in .venv-tools (SAM pins its own boto3); the runtime client in .venv-ric,
# which holds only what the Lambda runtime provides (awslambdaric and boto3).

# Keep the including Makefile's default goal: this fragment is read before its first rule.
_SAM_MK_DEFAULT_GOAL := $(.DEFAULT_GOAL)

TOOLS_VENV := .venv-tools
RIC_VENV := .venv-ric
TOOLS := $(TOOLS_VENV)/bin
SAM_TARGETS := $(STAMPS)/validate $(STAMPS)/sam-build
BUILD_INPUTS := template.yaml requirements.txt infra/layer/Makefile infra/layer/requirements-tracing.txt \
	$(shell find shared functions -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)

# SAM and cfn-lint run offline and credential-free: nothing here may reach real AWS (no profile, dummy
# keys, and any AWS call would go to a closed loopback port).
$(SAM_TARGETS): export AWS_DEFAULT_REGION = us-east-1
$(SAM_TARGETS): export SAM_CLI_TELEMETRY = 0
$(SAM_TARGETS): export AWS_EC2_METADATA_DISABLED = true
$(SAM_TARGETS): export AWS_CONFIG_FILE = /dev/null
$(SAM_TARGETS): export AWS_SHARED_CREDENTIALS_FILE = /dev/null
$(SAM_TARGETS): export AWS_ACCESS_KEY_ID = offline
$(SAM_TARGETS): export AWS_SECRET_ACCESS_KEY = offline
$(SAM_TARGETS): export AWS_ENDPOINT_URL = http://127.0.0.1:9

.PHONY: tools-venv ric-venv validate build build-host invoke clean-sam

tools-venv: $(STAMPS)/tools-venv
ric-venv: $(STAMPS)/ric-venv

$(STAMPS)/tools-venv: infra/requirements-tools.txt
	@mkdir -p $(STAMPS)
	test -x $(TOOLS)/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS)/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-tools.txt
	@touch $@

$(STAMPS)/ric-venv: infra/requirements-ric.txt
	@mkdir -p $(STAMPS)
	rm -rf $(RIC_VENV)
	$(PYTHON) -m venv $(RIC_VENV)
	$(RIC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-ric.txt
	@touch $@

validate: $(STAMPS)/validate ## sam validate, sam validate --lint, cfn-lint
$(STAMPS)/validate: template.yaml $(STAMPS)/tools-venv
	$(TOOLS)/sam validate --template-file template.yaml
	$(TOOLS)/sam validate --lint --template-file template.yaml
	$(TOOLS)/cfn-lint template.yaml
	@touch $@

build: $(STAMPS)/sam-build ## sam build into .aws-sam/ (what sam deploy ships)
$(STAMPS)/sam-build: $(BUILD_INPUTS) $(STAMPS)/tools-venv
	rm -rf .aws-sam/build
	$(TOOLS)/sam build --template-file template.yaml
	@touch $@

build-host: $(STAMPS)/host-build ## the same recipes for this machine, into build/host/
$(STAMPS)/host-build: $(BUILD_INPUTS) local/invoke.py $(STAMPS)/ric-venv $(STAMPS)/venv
	$(BIN)/python -m local.invoke build-host
	@touch $@

# The event file is checked before the build, so a typo costs a second, not a build.
invoke: install ## run a built function under the Lambda runtime client: FN=<LogicalId> EVENT=<file>
	@test -n "$(FN)" || { echo "usage: make invoke FN=<LogicalId> EVENT=<event.json>"; exit 2; }
	@test -n "$(EVENT)" || { echo "usage: make invoke FN=<LogicalId> EVENT=<event.json>"; exit 2; }
	@$(BIN)/python -m local.invoke check-event "$(EVENT)"
	@$(MAKE) --no-print-directory build-host
	@$(BIN)/python -m local.invoke run "$(FN)" "$(EVENT)"

clean-sam: ## remove the builds and the tool venvs
	rm -rf .aws-sam build/host $(TOOLS_VENV) $(RIC_VENV) \
		$(STAMPS)/tools-venv $(STAMPS)/ric-venv $(STAMPS)/validate $(STAMPS)/sam-build $(STAMPS)/host-build

TEST_PREREQS += validate build build-host

.DEFAULT_GOAL := $(_SAM_MK_DEFAULT_GOAL)
