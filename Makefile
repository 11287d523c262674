# Latent Space Navigator: `make demo` serves the app, `make test` runs the tests, `make lint` runs
# ruff; each sets up .venv first (once; again when its requirements file changes): the app's
# commands install requirements.txt only, the tests', lint's and bench's add requirements-dev.txt.
# The data root is data.py's one rule: $LSN_DATA_DIR, else data/ (`LSN_DATA_DIR=../shared/datasets
# make test` on the project's machines, as .ci/run does).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
N ?= 2
PORT ?= 7862

.PHONY: setup setup-dev demo serve-replicas test test-fast lint train models figures toy bench clean

# One stamp per file set, so a second `make test` installs nothing.
setup: $(VENV)/.runtime
$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

setup-dev: $(VENV)/.dev
$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

demo: setup
	$(BIN)/python demo.py

# N demo.py replicas behind nginx on 127.0.0.1:$(PORT), a page session kept on one replica
# (deploy/replicas.py; Ctrl-C stops them all).
serve-replicas: setup
	$(BIN)/python deploy/replicas.py --replicas $(N) --port $(PORT)

test: setup-dev
	$(BIN)/python -m pytest -q

# Pure functions, handlers and checkpoints: under 30 s (no live server, browser or training).
test-fast: setup-dev
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup-dev
	$(BIN)/ruff check .

train: setup
	$(BIN)/python trainer.py

# Every shipped model, its atlas, its log-likelihood estimate and the model card
# (pretrained/README.md). Each picks its epoch on the validation split (data.py: 5,000 of the
# training images, the same for every model) and scores the test split once, at the end; then
# --iwae-only estimates each VAE's log p(x) on the test split (k = 1000, a few minutes a model).
# Fashion-MNIST peaks at lr 2e-3: at the default 3e-3 its loss overflowed to inf in epoch 13
# (seed 4). It reads data/ (unpacked there from Debian's dataset-fashion-mnist, or downloaded),
# since the shared MNIST folder holds no Fashion-MNIST. The two 10-D models are stored in float16
# (--float16-only, their test figures measured again as stored: unchanged to 0.01 nat), so that
# pretrained/ stays within 45 MB.
models: setup
	$(BIN)/python trainer.py --seed 0 --out pretrained/mnist_vae_beta4.safetensors
	$(BIN)/python trainer.py --seed 1 --beta 1 --out pretrained/mnist_vae_beta1.safetensors
	$(BIN)/python trainer.py --seed 2 --beta 10 --out pretrained/mnist_vae_beta10.safetensors
	$(BIN)/python trainer.py --seed 5 --beta 3 --out pretrained/mnist_vae_beta3.safetensors
	$(BIN)/python trainer.py --seed 3 --model ae --beta 0 --warmup-epochs 0 --out pretrained/mnist_ae.safetensors
	$(BIN)/python trainer.py --data-dir data --dataset fashion --seed 4 --lr 2e-3 --out pretrained/fashion_vae_beta4.safetensors
	$(BIN)/python trainer.py --seed 6 --beta 1 --latent-dim 10 --out pretrained/mnist_vae_d10.safetensors
	$(BIN)/python trainer.py --seed 7 --model ae --beta 0 --warmup-epochs 0 --latent-dim 10 --out pretrained/mnist_ae_d10.safetensors
	for m in mnist_vae_d10 mnist_ae_d10; do \
		$(BIN)/python trainer.py --float16-only --out pretrained/$$m.safetensors || exit 1; done
	for m in mnist_vae_beta4 mnist_vae_beta1 mnist_vae_beta10 mnist_vae_beta3; do \
		$(BIN)/python trainer.py --iwae-only --out pretrained/$$m.safetensors || exit 1; done
	$(BIN)/python trainer.py --iwae-only --data-dir data --out pretrained/fashion_vae_beta4.safetensors
	for m in mnist_vae_beta4 mnist_vae_beta1 mnist_vae_beta10 mnist_vae_beta3 mnist_ae mnist_vae_d10 mnist_ae_d10; do \
		$(BIN)/python trainer.py --atlas-only --out pretrained/$$m.safetensors || exit 1; done
	$(BIN)/python trainer.py --atlas-only --dataset fashion --data-dir data --out pretrained/fashion_vae_beta4.safetensors
	$(BIN)/python model_card.py
	$(MAKE) figures

# The README's figures from the shipped MNIST models.
figures: setup
	$(BIN)/python figures.py --out docs/figures

# The 2-D toy VAEs (course part A) and their figures in docs/figures/toy/ (about a minute).
toy: setup
	for t in toy1 toy2 toy3; do $(BIN)/python trainer.py --dataset $$t || exit 1; done
	$(BIN)/python figures.py --toy --out docs/figures/toy

# Every benchmark beside its baseline in one table, also written to bench/RESULTS.md (a few
# minutes; run it on an otherwise idle machine).
bench: setup-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV)
