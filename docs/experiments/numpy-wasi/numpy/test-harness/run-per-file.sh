#!/bin/bash
# Usage: run-per-file.sh guest|native SUBPKG (e.g. core) -- one pytest run per
# test file (a crashed run costs one file and is retried once).
cd /tmp/numpy-work
kind=$1 sub=$2
G=cache/guest/a21729c997facf37
OUT=${OUT:-out-inc}
mkdir -p logs/$kind-$sub
for f in $(ls $OUT/site-packages/numpy/$sub/tests/test_*.py | xargs -n1 basename | sed 's/\.py$//'); do
  for attempt in 1 2; do
    if [ $kind = guest ]; then
      GUEST_PYTHONUNBUFFERED=1 SNAKECAGE_NODE_PREOPENS=/deps=/tmp/numpy-work/pydeps/root/usr/lib/python3/dist-packages:/dev=/tmp/numpy-work/guestdev \
      GUEST_PYTHONPATH=/usr/local/lib/python3.11/site-packages:/deps \
      timeout 1200 node --no-warnings --no-wasm-tier-up /work/numpy-wt/guest/numpy/run-node.mjs $OUT/python.wasm $G/lib/python3.11 $OUT/site-packages \
        t/runtests.py -rfEs numpy.$sub.tests.$f > logs/$kind-$sub/$f.log 2>&1
    else
      (ulimit -v 4000000; cd /tmp && nice /usr/bin/python3.11 /tmp/numpy-work/t/runtests.py -rfEs numpy.$sub.tests.$f) > logs/$kind-$sub/$f.log 2>&1
    fi
    rc=$?
    echo "rc=$rc" >> logs/$kind-$sub/$f.log
    [ $rc = 139 ] || break
  done
done
