#!/usr/bin/env python3
"""Bytes that autograd saves in one forward of one layer of Megatron's own
GPT model (local spec: attention + MLP or MoE, --transformer-impl local),
on the CPU, measured with torch.autograd.graph.saved_tensors_hooks: every
distinct storage a backward would need, parameters left out.

Usage (inside the Megatron chroot, through tests/memory/run-saved.sh):
  saved_bytes.py MEGATRON_DIR < cases.json > bytes.json
Each case is {"name": ..., "args": [pretrain_gpt.py args]}: the model
config is what Megatron's parse_args, validate_args and
core_transformer_config_from_args make of them, as pretrain_gpt.py does.
Output per case: saved bytes of one layer for one microbatch, and each
saved tensor (shape, dtype, bytes) with "verbose": true.
Megatron's code is not changed; what this machine lacks is stood in for as
judge.py does, and: the RNG tracker's fork (which saves and restores the
CUDA RNG state around dropout) is a no-op, the current device is the CPU.
On the CPU torch's dropout keeps its mask in the input's dtype; CUDA's
native dropout keeps a bool mask (1 byte): the harness reports the masks
apart so that the comparison can count them at 1 byte."""
import contextlib
import json
import os
import sys


def main():
    meg = sys.argv[1]
    import judge
    node = {"te": None, "dsa_backends": []}
    judge.setup_node_stand_ins(meg, node)
    judge.set_node_software(node)
    import torch
    torch.cuda.current_device = lambda: torch.device("cpu")
    from megatron.training import arguments, argument_utils
    from megatron.core.tensor_parallel import random as tpr
    tpr.CudaRNGStatesTracker.fork = (
        lambda self, name=None: contextlib.nullcontext())
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
    from megatron.core.transformer.spec_utils import build_module
    from megatron.core import parallel_state as mpu
    out = []
    for c in json.load(sys.stdin):
        os.environ.update({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"})
        judge.reset_megatron()
        sys.argv = ["pretrain_gpt.py"] + c["args"]
        args = arguments.parse_args()
        arguments.validate_args(args, {"tokenizer_type": "GPT2BPETokenizer"})
        cfg = argument_utils.core_transformer_config_from_args(args)
        judge.init_fake_world(1, 0)
        mpu.initialize_model_parallel(1, 1, create_gloo_process_groups=False)
        spec = get_gpt_layer_local_spec(
            num_experts=args.num_experts, moe_grouped_gemm=False,
            multi_latent_attention=args.multi_latent_attention,
            normalization=args.normalization)
        # bf16 as Megatron's Float16Module makes it for training
        layer = build_module(spec, config=cfg, layer_number=1).bfloat16()
        layer.train()
        params = {p.untyped_storage().data_ptr() for p in layer.parameters()}
        s, b, h = args.seq_length, args.micro_batch_size, args.hidden_size
        x = torch.randn(s, b, h, dtype=torch.bfloat16, requires_grad=True)
        mask = torch.triu(torch.ones(s, s, dtype=torch.bool), 1)[None, None]
        seen, masks, rows = {}, {}, []

        def pack(t):
            st = t.untyped_storage()
            p = st.data_ptr()
            if p not in params and p not in seen:
                seen[p] = st.nbytes()
                rows.append([list(t.shape), str(t.dtype), st.nbytes()])
            return t

        # dropout masks: the tensors torch's CPU dropout multiplies by
        real_dropout = torch.nn.functional.dropout

        def dropout(inp, p=0.5, training=True, inplace=False):
            y = real_dropout(inp, p, training, inplace)
            if training and p > 0:
                masks[id(y)] = inp.numel()
            return y
        torch.nn.functional.dropout = dropout
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            layer(hidden_states=x, attention_mask=mask)
        torch.nn.functional.dropout = real_dropout
        r = {"name": c["name"], "saved_bytes": sum(seen.values()),
             "tensors": len(seen)}
        if c.get("verbose"):
            r["saved"] = rows
        out.append(r)
        mpu.destroy_model_parallel()
    json.dump(out, _out)


# Megatron prints its arguments on stdout: keep stdout for the result.
_out = sys.stdout
try:
    with contextlib.redirect_stdout(sys.stderr):
        main()
except BaseException:
    import traceback
    traceback.print_exc()
    sys.exit(1)
