#!/usr/bin/env python3
"""Megatron's own estimator (megatron/training/theoretical_memory_usage.py)
on GPT-like configurations, without torch: the file is loaded unchanged as
a module of a stand-in package whose `utils` provides the two names it
imports (is_hybrid_model: False, these configurations have no Mamba;
print_rank_0: print to stderr).

Usage: megatron_estimate.py MEGATRON_DIR < cases.json > estimates.json
Each case is an object of Megatron's argument names (as args.NAME); the
output gives weight_and_optimizer and activation in bytes, as Megatron's
report_theoretical_memory computes them (before its MB division)."""
import importlib.util
import json
import sys
import types
from argparse import Namespace


def load(megatron):
    pkg = types.ModuleType("n56mtu")
    pkg.__path__ = []
    utils = types.ModuleType("n56mtu.utils")
    utils.is_hybrid_model = lambda args: False
    utils.print_rank_0 = lambda *a, **k: print(*a, file=sys.stderr)
    sys.modules["n56mtu"] = pkg
    sys.modules["n56mtu.utils"] = utils
    path = megatron + "/megatron/training/theoretical_memory_usage.py"
    spec = importlib.util.spec_from_file_location(
        "n56mtu.theoretical_memory_usage", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DEFAULTS = dict(
    group_query_attention=False, num_query_groups=None, num_experts=None,
    swiglu=True, moe_shared_expert_intermediate_size=None, moe_layer_freq=1,
    moe_ffn_hidden_size=None, moe_router_topk=2, mtp_num_layers=None,
    normalization="RMSNorm", multi_latent_attention=False,
    untie_embeddings_and_output_weights=True, moe_latent_size=None,
    add_bias_linear=False, moe_shared_expert_gate=False,
    expert_tensor_parallel_size=1, expert_model_parallel_size=1,
    pipeline_model_parallel_size=1, tensor_model_parallel_size=1,
    virtual_pipeline_model_parallel_size=None, use_distributed_optimizer=False,
    sequence_parallel=False, recompute_granularity=None)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    mod = load(sys.argv[1])
    out = []
    for case in json.load(sys.stdin):
        a = dict(DEFAULTS)
        a.update(case)
        args = Namespace(**a)
        if args.num_query_groups is None:
            args.num_query_groups = args.num_attention_heads
        else:
            args.group_query_attention = True
        wo = mod.compute_weight_and_optimizer_memory(args)
        mb = case.get("num_microbatches")
        if args.sequence_parallel and args.recompute_granularity == "selective":
            act = mod.compute_activation_memory(args, num_microbatches=mb)
        else:
            act = mod.compute_activation_memory_without_sp(
                args, num_microbatches=mb)
        out.append({"weight_and_optimizer": wo, "activation": act})
    json.dump(out, sys.stdout)


main()
