import re, sys, glob, collections, os
for d in sys.argv[1:]:
    tot = collections.Counter(); crashed = []; fails = []
    for f in sorted(glob.glob(d + "/*.log")):
        text = open(f, errors="replace").read()
        rcs = re.findall(r"^rc=(\d+)$", text, re.M)
        m = None
        for line in text.splitlines():
            if re.search(r"\b(passed|failed|error|errors|skipped|deselected)\b.* in [\d.]+s", line):
                m = line
        if m is None:
            crashed.append((os.path.basename(f), rcs)); continue
        for n, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|warnings?)", m):
            tot["error" if k.startswith("error") else k] += int(n)
        if rcs and rcs[-1] == "139" or len(rcs) > 1:
            crashed.append((os.path.basename(f), rcs))
        fails += [l.split(" - ")[0] for l in text.splitlines() if l.startswith(("FAILED ", "ERROR "))]
    print(d, dict(tot), "no-summary/crash:", crashed)
    for l in fails: print("   ", l)
