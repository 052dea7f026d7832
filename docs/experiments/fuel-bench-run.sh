#!/bin/bash
# usage: run.sh ROUNDS REPS variants...
rounds=$1; reps=$2; shift 2
for i in $(seq $rounds); do for v in "$@"; do echo "$v $(./$v $reps)"; done; done | awk '{print $1, $3}' | sort -k1,1 -k2n | awk '{a[$1]=a[$1]" "$2; v[$1,n[$1]++]=$2} END{for(k in a){m=n[k]; printf "%-6s min %.3f median %.3f |%s\n", k, v[k,0], v[k,int(m/2)], a[k]}}' | sort
