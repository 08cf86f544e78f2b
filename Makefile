# Packvault. `make run` starts the local stack; `make test` runs every test. Both work on a fresh clone.
# Python 3.13: the Lambda runtime (template.yaml); the local stack, the tests and CI run the same version.
PYTHON ?= $(shell tools/python313)
VENV   := .venv
TOOLS  := .venv-tools
IAC    := .venv-checkov
PIP    := --progress-bar off --disable-pip-version-check
PORT   ?= $(or $(PACKVAULT_PORT),3000)
export SAM_CLI_TELEMETRY := 0

.PHONY: run test lint lint-template lint-iac bench load build deploy clean demo demo-admin openapi web

$(VENV)/.installed: $(VENV)/.python-3.13 requirements/dev.txt layers/common/requirements.txt layers/stripe/requirements.txt layers/graphql/requirements.txt layers/openpayments/requirements.txt layers/passkeys/requirements.txt pyproject.toml
	@echo "installing the pinned dependencies into $(VENV) (the first time takes a minute or two)"
	$(VENV)/bin/pip install $(PIP) -r requirements/dev.txt
	$(VENV)/bin/pip install $(PIP) --no-deps -e .
	touch $@

# A venv of another Python (an older checkout's) is replaced, not mixed.
$(VENV)/.python-3.13:
	@test -n "$(PYTHON)" || { echo "Python 3.13 is needed (the Lambda runtime): install it, e.g. pyenv install 3.13, or apt/brew python3.13"; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	touch $@

# SAM CLI and cfn-lint pin their own boto3/pydantic/jsonschema: they live apart from the app.
$(TOOLS)/.installed: requirements/tools.txt
	$(or $(shell command -v python3),$(PYTHON)) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP) -r requirements/tools.txt
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/python -m local --port $(PORT)

# make demo (Solana) | make demo PAY=card (Stripe Checkout; BROWSER_PAY=1 to press Pay yourself) | PAY=credits
# | PAY=topup (game credits over GraphQL) | PAY=open-payments (an Open Payments wallet on the local provider)
# PAY=entitlement: a meal pack by card, consumed by a partner service with its own token (seed 004)
# SIGNIN=email: a buyer without a wallet signs in with an emailed code (make demo PAY=card SIGNIN=email)
demo: $(VENV)/.installed
	$(if $(filter command line environment,$(origin PORT)),PACKVAULT_PORT=$(PORT)) $(VENV)/bin/python -m local.demo \
		$(if $(PAY),--pay $(PAY)) $(if $(SIGNIN),--sign-in $(SIGNIN)) $(if $(BROWSER_PAY),--browser) \
		$(if $(QUANTITY),--quantity $(QUANTITY)) \
		$(if $(filter command line environment,$(origin PORT)),--api http://127.0.0.1:$(PORT))

# The operator's side: sign in as the admin `make run` created, manage a pack, read its audit trail.
demo-admin: $(VENV)/.installed
	$(if $(filter command line environment,$(origin PORT)),PACKVAULT_PORT=$(PORT)) $(VENV)/bin/python -m local.demo_admin \
		$(if $(filter command line environment,$(origin PORT)),--api http://127.0.0.1:$(PORT))

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest

lint: $(VENV)/.installed lint-template
	$(VENV)/bin/ruff check .

# Checkov over template.yaml with .checkov.yaml (its skips carry their reasons). CI runs it.
$(IAC)/.installed: requirements/checkov.txt
	$(or $(shell command -v python3),$(PYTHON)) -m venv $(IAC)
	$(IAC)/bin/pip install $(PIP) -r requirements/checkov.txt
	touch $@

lint-iac: $(IAC)/.installed
	$(IAC)/bin/checkov --config-file .checkov.yaml

# The template's own linters (CI runs this beside `make test`, which runs ruff).
lint-template: $(TOOLS)/.installed
	$(TOOLS)/bin/sam validate --lint --region us-east-1
	$(TOOLS)/bin/cfn-lint template.yaml

# Regenerate docs/openapi.json (and the copy the API serves) from template.yaml and the models in
# tools/packvault_tools/openapi.py; the suite fails while they differ.
openapi: $(VENV)/.installed
	$(VENV)/bin/python -m packvault_tools.openapi

# The storefront as static files for the template's WebBucket: make web OUT=dist/web API=<ApiUrl> SOLANA_RPC=<url>
web: $(VENV)/.installed
	$(VENV)/bin/python -m packvault_tools.web $(or $(OUT),dist/web) --api $(API) --solana-rpc $(SOLANA_RPC) \
		--cluster $(or $(CLUSTER),mainnet)

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/cold_start.py

# A bounded mixed load run on its own local stack, then the invariant audit (SECONDS=60 USERS=16 by default;
# SHARDS=8 spreads the limited drop's supply over 8 shard rows).
load: $(VENV)/.installed
	$(VENV)/bin/python bench/load.py --seconds $(or $(SECONDS),60) --users $(or $(USERS),16) --shards $(or $(SHARDS),1)

# sam deploy keeping samconfig.toml's parameters for ENV (dev|prod) and adding ARGS: make deploy ENV=prod
# ARGS="PlatformWallet=<base58> AuthDomain=shop.example.com ..." (a prod deploy names every parameter prod needs).
deploy: $(VENV)/.installed $(TOOLS)/.installed
	$(VENV)/bin/python -m packvault_tools.deploy $(or $(ENV),dev) $(ARGS)

build: $(TOOLS)/.installed
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" PYTHON="$(PYTHON)" sam build

clean:
	rm -rf $(VENV) $(TOOLS) $(IAC) .aws-sam .pytest_cache .ruff_cache
