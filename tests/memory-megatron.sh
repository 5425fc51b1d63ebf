#!/bin/sh
# Predicted weights, master, grads and optimizer states of nam56r-launch
# plan against Megatron's own theoretical_memory_usage.py on GPT-like
# configurations (tests/memory/compare_megatron.py says what is checked).
# Env: MEGATRON_DIR (default ../shared/third_party/megatron-lm beside the
# source tree). Skips, saying so, when python3 or Megatron-LM is absent.
set -u
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
top=$(cd "${srcdir:-.}" && pwd)
megatron=${MEGATRON_DIR:-$top/../shared/third_party/megatron-lm}
bin=$(pwd)/nam56r-launch
if [ ! -f "$megatron/megatron/training/theoretical_memory_usage.py" ]; then
	echo "SKIP: Megatron-LM is absent at $megatron: set MEGATRON_DIR to a checkout"
	exit 77
fi
python3 "$top/tests/memory/compare_megatron.py" "$bin" "$megatron" --table
