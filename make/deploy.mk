# The deploy proven offline, and the security scan. Both run in `make test`.
#
#   make deploy-translate   SAM-translate template.yaml for every parameter set (.venv-tools: samtranslator)
#                           into build/deploy-check/<set>.json
#   make deploy-check       that, then create each stack on moto server and check resources, routing and
#                           the IAM access matrix (tests/template/test_deploy_check.py, in .venv)
#   make scan               checkov over template.yaml (.venv-scan: its pins clash with SAM's), offline;
#                           findings not in local/deploy/checkov-baseline.json fail
#
# Offline and credential-free, like make/sam.mk: any AWS call would go to a closed loopback port.

_DEPLOY_MK_DEFAULT_GOAL := $(.DEFAULT_GOAL)

SCAN_VENV := .venv-scan
DEPLOY_CHECK_DIR := build/deploy-check
DEPLOY_TARGETS := $(STAMPS)/deploy-translate $(STAMPS)/scan

$(DEPLOY_TARGETS): export AWS_DEFAULT_REGION = us-east-1
$(DEPLOY_TARGETS): export SAM_CLI_TELEMETRY = 0
$(DEPLOY_TARGETS): export AWS_EC2_METADATA_DISABLED = true
$(DEPLOY_TARGETS): export AWS_CONFIG_FILE = /dev/null
$(DEPLOY_TARGETS): export AWS_SHARED_CREDENTIALS_FILE = /dev/null
$(DEPLOY_TARGETS): export AWS_ACCESS_KEY_ID = offline
$(DEPLOY_TARGETS): export AWS_SECRET_ACCESS_KEY = offline
$(DEPLOY_TARGETS): export AWS_ENDPOINT_URL = http://127.0.0.1:9

.PHONY: deploy-translate deploy-check scan scan-venv clean-deploy

deploy-translate: $(STAMPS)/deploy-translate
$(STAMPS)/deploy-translate: template.yaml local/deploy/translate.py local/deploy/parameter_sets.json $(STAMPS)/tools-venv
	rm -rf $(DEPLOY_CHECK_DIR)
	$(TOOLS)/python local/deploy/translate.py $(DEPLOY_CHECK_DIR)
	@touch $@

deploy-check: deploy-translate install
	$(BIN)/pytest -q -p no:cacheprovider tests/template/test_deploy_check.py

scan-venv: $(STAMPS)/scan-venv
$(STAMPS)/scan-venv: infra/requirements-scan.txt
	@mkdir -p $(STAMPS)
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-scan.txt
	@touch $@

scan: $(STAMPS)/scan
$(STAMPS)/scan: template.yaml local/deploy/checkov-baseline.json local/deploy/scan.py $(STAMPS)/scan-venv $(STAMPS)/deploy-translate
	$(SCAN_VENV)/bin/python local/deploy/scan.py template.yaml local/deploy/checkov-baseline.json
	@touch $@

clean-deploy:
	rm -rf $(DEPLOY_CHECK_DIR) $(SCAN_VENV) $(STAMPS)/deploy-translate $(STAMPS)/scan-venv $(STAMPS)/scan

TEST_PREREQS += deploy-translate scan

.DEFAULT_GOAL := $(_DEPLOY_MK_DEFAULT_GOAL)
