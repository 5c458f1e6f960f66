#!/bin/bash
# interleaved A/B of the train step: old = 41b0396, new = 09a164c
cd /work/main/train
echo "date: $(date -u)  load: $(cat /proc/loadavg)"
for round in 1 2 3; do
  for t in old new; do
    echo "== round $round $t"
    AMC_BENCH_MODELS=mobilenet_v2 /usr/bin/time -f "time: %U s user, %S s sys, %e s wall, max RSS %M KB" /tmp/ab/$t.test -test.run XXX -test.bench TrainStep -test.benchtime 10x 2>&1 | grep -E "Bench|time:"
    AMC_BENCH_MODELS=mobilenet_v1,resnet56,vgg16 /tmp/ab/$t.test -test.run XXX -test.bench TrainStep -test.benchtime 5x 2>&1 | grep -E "Bench"
  done
done
