#!/bin/bash
# Runs each memory case of cases.txt (beside megatron/, a copy of
# Megatron-LM: see tests/memory/README) through Megatron's
# pretrain_gpt.py on one GPU, several at once; logs to $OUT.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 CUDA_DEVICE_MAX_CONNECTIONS=1
cd "$(dirname "$0")/megatron" || exit 1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,memory.total --format=csv > $OUT/gpu.txt 2>&1
python3 -c 'import torch;print(torch.__version__)' >> $OUT/gpu.txt 2>&1
port=29500
while IFS='|' read -r name L H NH F E K FM S B GB extra; do
  case "$name" in ''|'#'*) continue;; esac
  port=$((port+1))
  moe=""
  [ "$E" -gt 0 ] && moe="--num-experts $E --moe-router-topk $K --moe-ffn-hidden-size $FM --moe-token-dispatcher-type alltoall --moe-router-load-balancing-type aux_loss --moe-aux-loss-coeff 0.001"
  ( RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    timeout 420 python3 -u pretrain_gpt.py --transformer-impl local \
    --num-layers $L --hidden-size $H --num-attention-heads $NH --ffn-hidden-size $F \
    --seq-length $S --max-position-embeddings $S --micro-batch-size $B --global-batch-size $GB \
    $moe --train-iters 3 --log-interval 1 --eval-interval 1000 --eval-iters 0 \
    --mock-data --tokenizer-type NullTokenizer --vocab-size 32000 --bf16 --lr 1e-4 \
    --min-lr 1e-5 --lr-decay-style constant \
    --no-gradient-accumulation-fusion --no-masked-softmax-fusion --no-bias-dropout-fusion \
    --no-persist-layer-norm --no-rope-fusion --position-embedding-type rope \
    --normalization RMSNorm --swiglu --disable-bias-linear --untie-embeddings-and-output-weights \
    --seed 1234 $extra > $OUT/$name.log 2>&1; echo "rc=$?" >> $OUT/$name.log ) &
  sleep 2
done < ../cases.txt
wait
cd $OUT && tar czf logs.tgz *.log && for f in *.log; do echo "== $f"; grep -E "Theoretical memory|max allocated|padded vocab|rc=|Error|error" $f | head -8; done
