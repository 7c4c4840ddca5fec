# The README's two commands. Both do all set-up on a fresh machine (idempotent).
.PHONY: setup demo test

setup:
	bash scripts/setup_env.sh --lava

demo: setup
	.venv/bin/neurokit demo

test: setup
	bash scripts/run_tests.sh
