#!/usr/bin/env python3
"""Megatron-LM's own start-up code as a judge of generated args.

Reads one JSON object a line on stdin:
    {"id": "...", "args": [...], "env": {"NAME": "VALUE", ...},
     "world": N, "node": {"te": "2.17.1" | null, "dsa_backends": [...]}}
and writes one JSON object a line on stdout:
    {"id": "...", "ok": true|false, "stage": "...", "error": "...",
     "seconds": S}

The stages are those of pretrain_hybrid.py / pretrain_gpt.py, in order:
  parse      megatron.training.arguments.parse_args()
  validate   validate_args(args, {'tokenizer_type': 'GPT2BPETokenizer'})
  microbatch the micro-batch calculator, as set_global_variables calls it
  config     hybrid_config_from_args (or core_transformer_config_from_args
             without a hybrid pattern): the model config and its post-init
  parallel   parallel_state.initialize_model_parallel on torch's fake
             process group of `world` ranks, for every rank the stages below
             need
  segments   hybrid_layer_allocation.select_pipeline_segment for every
             pipeline stage and virtual stage, as HybridModel.__init__ does
  schedule   the checks of the pipeline schedule that Megatron makes when a
             training step runs (schedules.py), called on their own

Megatron's code is imported from MEGATRON_DIR (argument 1) and is never
changed. What this machine lacks (no GPU, no Transformer Engine, no triton)
is stood in for, as tests/megatron/README says, and only where Megatron asks
about the node rather than the arguments.
"""
import contextlib
import importlib.machinery
import io
import json
import os
import sys
import time
import traceback
import types


def usage():
    sys.stderr.write("usage: judge.py [--te VERSION|none] [--dsa-backends LIST|none] MEGATRON_DIR < requests.jsonl\n")
    sys.exit(2)


class _Anything(types.ModuleType):
    """A module whose every attribute is itself: enough for triton's
    decorators and annotations at import time. Nothing on the configuration
    path calls a triton kernel."""

    def __init__(self, name):
        super().__init__(name)
        self.__path__ = []
        self.__version__ = "3.2.0"  # triton of torch 2.6

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *a, **k):
        if len(a) == 1 and callable(a[0]) and not k:
            return a[0]
        return self

    def __getitem__(self, k):
        return self

    def __mro_entries__(self, bases):
        return (object,)


class _StandInFinder:
    """Imports of the node's packages that this machine lacks."""

    def __init__(self, names):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        root = name.split(".")[0]
        if root in self.names:
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return _Anything(spec.name)

    def exec_module(self, module):
        pass


# The packages each DSA kernel backend needs on the node (Megatron's
# core/utils.py, _missing_*_dsa_kernel_dependencies).
DSA_BACKEND_PACKAGES = {
    "tilelang": ["tilelang"],
    "cudnn": ["flash_mla", "cudnn"],
}


def setup_node_stand_ins(megatron_dir, node):
    """What Megatron asks about the node, answered as the node would: an
    H100/H200 (compute capability 9.0) with the software in `node`."""
    names = set()
    try:
        import triton  # noqa: F401
    except ImportError:
        names.add("triton")
    for backend in node["dsa_backends"]:
        names.update(DSA_BACKEND_PACKAGES[backend])
    if names:
        sys.meta_path.insert(0, _StandInFinder(names))
    import torch
    if not hasattr(torch, "float8_e8m0fnu"):
        torch.float8_e8m0fnu = torch.uint8
    torch.cuda.get_device_capability = lambda device=None: (9, 0)
    sys.path.insert(0, megatron_dir)


def set_node_software(node):
    """Transformer Engine's version as the node has it (Megatron caches it,
    and asks it instead of importing TE in the rules on the arguments)."""
    from packaging.version import Version
    import megatron.core.utils as mcu
    mcu._te_version = Version(node["te"] or "0.0.0")
    import torch
    hopper = types.SimpleNamespace(major=9, minor=0, name="NVIDIA H200",
                                   total_memory=143771
                                   * 1024 * 1024, multi_processor_count=132)
    torch.cuda.get_device_properties = lambda device=None: hopper
    if node["te"]:
        # TE's fused RoPE, which Megatron imports from TE when it is there
        from megatron.core.models.common.embeddings import rope_utils

        def te_fused_rope(*a, **k):
            raise RuntimeError("Transformer Engine stand-in: not callable")
        if rope_utils.fused_apply_rotary_pos_emb is None:
            rope_utils.fused_apply_rotary_pos_emb = te_fused_rope
    if node["dsa_backends"]:
        # The backends' own check asks for a CUDA device first. Only after
        # the imports, some of which probe the device when it is there.
        import torch
        torch.cuda.is_available = lambda: True


def reset_megatron():
    import torch
    from megatron.core import parallel_state
    from megatron.core import num_microbatches_calculator as nmc
    from megatron.training import global_vars
    try:
        parallel_state.destroy_model_parallel()
    except Exception:
        pass
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    nmc.unset_num_microbatches_calculator()
    for name in dir(global_vars):
        if name.startswith("_GLOBAL_"):
            setattr(global_vars, name, None)


def init_fake_world(world, rank):
    import torch
    from torch.testing._internal.distributed.fake_pg import FakeStore
    if torch.distributed.is_initialized():
        from megatron.core import parallel_state
        parallel_state.destroy_model_parallel()
        torch.distributed.destroy_process_group()
    torch.distributed.init_process_group(
        backend="fake", store=FakeStore(), world_size=world, rank=rank)


def init_model_parallel(args):
    """The call training/initialize.py makes, with the same keywords."""
    from megatron.core import parallel_state as mpu
    mpu.initialize_model_parallel(
        args.tensor_model_parallel_size,
        args.pipeline_model_parallel_size,
        args.virtual_pipeline_model_parallel_size,
        pipeline_model_parallel_comm_backend=(
            args.pipeline_model_parallel_comm_backend),
        use_sharp=args.use_sharp,
        gtp_remat_size=args.gtp_weight_remat_size,
        expert_gtp_remat_size=args.expert_gtp_weight_remat_size,
        context_parallel_size=args.context_parallel_size,
        hierarchical_context_parallel_sizes=(
            args.hierarchical_context_parallel_sizes),
        hybrid_context_parallel=args.hybrid_context_parallel,
        expert_model_parallel_size=args.expert_model_parallel_size,
        num_distributed_optimizer_instances=(
            args.num_distributed_optimizer_instances),
        expert_tensor_parallel_size=args.expert_tensor_parallel_size,
        distributed_timeout_minutes=args.distributed_timeout_minutes,
        nccl_communicator_config_path=args.nccl_communicator_config_path,
        order=('tp-cp-ep-dp-pp' if not args.use_tp_pp_dp_mapping
               else 'tp-cp-ep-pp-dp'),
        get_embedding_ranks=None,
        get_position_embedding_ranks=None,
        # gloo groups cannot be made on the fake process group
        create_gloo_process_groups=False,
        high_priority_stream_groups=args.high_priority_stream_groups,
        sharp_enabled_group=args.sharp_enabled_group,
    )


def ranks_per_pp_stage(world):
    """One global rank on each pipeline stage (the first one Megatron's
    groups give), so that every stage's segment is selected."""
    from megatron.core import parallel_state as mpu
    ranks = mpu._PIPELINE_GLOBAL_RANKS
    return list(ranks) if ranks else [0]


def check_segments(args, config, world):
    """select_pipeline_segment for each pipeline rank and virtual stage,
    on a process group whose rank is that pipeline rank."""
    from megatron.core import parallel_state as mpu
    from megatron.core.models.hybrid.hybrid_layer_allocation import (
        parse_hybrid_pattern, select_pipeline_segment)
    pattern = args.hybrid_layer_pattern
    if pattern is None:
        return 0
    checked = 0
    parsed = parse_hybrid_pattern(pattern)
    vpp = args.virtual_pipeline_model_parallel_size
    for rank in ranks_per_pp_stage(world):
        init_fake_world(world, rank)
        init_model_parallel(args)
        pp_group = mpu.get_pipeline_model_parallel_group()
        stages = range(vpp) if vpp is not None else [None]
        for vp in stages:
            select_pipeline_segment(
                parsed.main_pattern or '', pp_group, vp,
                first_stage_layers=config.num_layers_in_first_pipeline_stage,
                last_stage_layers=config.num_layers_in_last_pipeline_stage)
            checked += 1
    return checked


class _ReachedModel(Exception):
    """Raised by the model stand-in once the schedule has passed its
    checks and asks the model for its type."""


def check_schedule(args, config):
    """Megatron's interleaved 1F1B schedule on this configuration, up to
    the point where it needs a real model: its checks of the microbatch
    count against the group size and the pipeline size (schedules.py,
    forward_backward_pipelining_with_interleaving) run as Megatron wrote
    them. Megatron makes them only when a training step runs."""
    import torch
    from megatron.core.num_microbatches_calculator import get_num_microbatches
    from megatron.core.pipeline_parallel import schedules
    if args.virtual_pipeline_model_parallel_size is None:
        return

    class Chunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = config

        @property
        def model_type(self):
            raise _ReachedModel()

    zeros = torch.zeros

    def zeros_on_cpu(*a, **k):  # the schedule's token counter, no GPU here
        k.pop("device", None)
        return zeros(*a, **k)

    torch.zeros = zeros_on_cpu
    vpp = args.virtual_pipeline_model_parallel_size
    try:
        schedules.forward_backward_pipelining_with_interleaving(
            forward_step_func=None, data_iterator=[None] * vpp,
            model=[Chunk() for _ in range(vpp)],
            num_microbatches=get_num_microbatches(),
            seq_length=args.seq_length, micro_batch_size=args.micro_batch_size)
    except _ReachedModel:
        pass
    finally:
        torch.zeros = zeros


def judge(req):
    """Runs the stages on one request; returns (ok, stage, error)."""
    import torch  # noqa: F401
    from megatron.training import arguments
    from megatron.training import argument_utils
    from megatron.training.global_vars import set_args
    from megatron.core.num_microbatches_calculator import (
        init_num_microbatches_calculator)

    world = int(req["world"])
    env = {k: str(v) for k, v in req.get("env", {}).items()}
    env.setdefault("RANK", "0")
    env.setdefault("WORLD_SIZE", str(world))
    env.setdefault("LOCAL_RANK", "0")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({k: v for k, v in saved.items()
                       if k in ("PATH", "HOME", "LANG", "PYTHONPATH")})
    os.environ.update(env)
    stage = "parse"
    try:
        reset_megatron()
        sys.argv = ["pretrain_hybrid.py"] + list(req["args"])
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                args = arguments.parse_args()
        except SystemExit:
            msg = err.getvalue().strip().splitlines()
            return False, stage, msg[-1] if msg else "argparse exited"
        stage = "validate"
        arguments.validate_args(args, {"tokenizer_type": "GPT2BPETokenizer"})
        stage = "microbatch"
        set_args(args)
        init_num_microbatches_calculator(
            rank=args.rank,
            global_batch_size=args.global_batch_size,
            micro_batch_size=args.micro_batch_size,
            data_parallel_size=(args.data_parallel_size *
                                args.gtp_weight_remat_size),
            decrease_batch_size_if_needed=args.decrease_batch_size_if_needed,
            step_batch_size_schedule=args.step_batch_size_schedule,
            seq_length=args.seq_length)
        stage = "config"
        if args.hybrid_layer_pattern is not None:
            config = argument_utils.hybrid_config_from_args(args).transformer
        else:
            config = argument_utils.core_transformer_config_from_args(args)
        stage = "parallel"
        init_fake_world(world, 0)
        init_model_parallel(args)
        stage = "segments"
        segments = check_segments(args, config, world)
        stage = "schedule"
        check_schedule(args, config)
        return True, "", "segments %d" % segments
    except BaseException as e:  # every refusal, whatever its type
        if isinstance(e, KeyboardInterrupt):
            raise
        text = str(e).strip() or type(e).__name__
        if isinstance(e, AssertionError) and not str(e).strip():
            tb = traceback.extract_tb(e.__traceback__)[-1]
            text = "assertion at %s:%d: %s" % (
                os.path.relpath(tb.filename), tb.lineno, tb.line)
        return False, stage, " ".join(text.split())[:2000]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def parse_node(argv):
    """--te VERSION|none  --dsa-backends LIST (comma separated, or none)"""
    node = {"te": "2.17.1", "dsa_backends": ["tilelang", "cudnn"]}
    rest = []
    it = iter(argv)
    for a in it:
        if a == "--te":
            v = next(it, None)
            if v is None:
                usage()
            node["te"] = None if v == "none" else v
        elif a == "--dsa-backends":
            v = next(it, None)
            if v is None:
                usage()
            node["dsa_backends"] = [] if v == "none" else v.split(",")
            for b in node["dsa_backends"]:
                if b not in DSA_BACKEND_PACKAGES:
                    sys.stderr.write("judge.py: unknown DSA backend %s\n" % b)
                    sys.exit(2)
        elif a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            sys.exit(0)
        else:
            rest.append(a)
    if len(rest) != 1:
        usage()
    return rest[0], node


def main():
    megatron_dir, node = parse_node(sys.argv[1:])
    if not os.path.isdir(os.path.join(megatron_dir, "megatron")):
        sys.stderr.write("judge.py: no Megatron-LM at %s\n" % megatron_dir)
        sys.exit(1)
    t0 = time.time()
    import warnings
    warnings.filterwarnings("ignore")
    setup_node_stand_ins(megatron_dir, node)
    out = sys.stdout
    quiet = open(os.devnull, "w")
    with contextlib.redirect_stdout(quiet):
        import megatron.training.arguments  # noqa: F401
        import megatron.training.argument_utils  # noqa: F401
        import megatron.core.parallel_state  # noqa: F401
        import megatron.core.pipeline_parallel.schedules  # noqa: F401
        import megatron.core.models.hybrid.hybrid_layer_allocation  # noqa
        set_node_software(node)
    out.write(json.dumps({"id": None, "node": node, "import_seconds":
                          round(time.time() - t0, 3)}) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        t = time.time()
        with contextlib.redirect_stdout(quiet):
            import logging
            logging.disable(logging.CRITICAL)
            ok, stage, error = judge(req)
        out.write(json.dumps({"id": req.get("id"), "ok": ok, "stage": stage,
                              "error": error,
                              "seconds": round(time.time() - t, 4)}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
