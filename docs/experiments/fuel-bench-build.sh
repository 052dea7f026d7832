#!/bin/bash
# build.sh PROG : builds PROG-{none,cur,delta,deltaro,roloop}
set -e
M=/tmp/fuelexp/build/src/fuel/snakecage-fuel-meter
p=$1
for v in none cur delta deltaro roloop; do
  case $v in none) f=--exports-only;; cur) f=;; delta) f=--delta;; deltaro) f=--delta-ro;; roloop) f=--delta-roloop;; esac
  $M $f $p.wasm $p-$v.wasm >/dev/null
  wasm2c -n bench $p-$v.wasm -o $p-$v.c
  sed -i -E "s/([^&])(instance->w2c_snakecage_interrupt)(;|\)| [^=])/\1__atomic_load_n(\&\2, __ATOMIC_RELAXED)\3/g" $p-$v.c
  clang-19 -O2 -w -std=gnu11 -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1 -I/usr/include -I/usr/src/wasm2c -DFUEL -DHDR="\"$p-$v.h\"" \
    host.c $p-$v.c /usr/src/wasm2c/wasm-rt-impl.c -o $p-$v -lm
done
