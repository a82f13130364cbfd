#!/usr/bin/env python3
"""tools/bench/timeline.py OUT_DIR: one native client's writes cut into hops.

Reads what tools/bench/timeline.sh left in OUT_DIR (threads: "node<N> <tid>
<role>" and "client <pid> client"; script.txt: `perf script -F
comm,tid,cpu,time,event,trace`).  Each write runs from the client's sendto()
to its recvfrom() of the answer; its hops (A..I) add up to that exactly:
A the client's send until the leader's native worker N is on a CPU, B N's
work until it wakes the loop L, C until L runs, D L's work until its first
Proposal's sendmsg(), E from there until the commit is ready (the later of
the leader's WAL thread W signalling its fdatasync and the first follower's
Ack), F until the answer leaves (L's eventfd to N, or L's own sendmsg()),
G and H N's wake-up and send (0 when the loop wrote the answer itself),
I until the client has it.  E's two branches are broken down below it
(w: and f:).  Prints each hop's p50/mean/p10/p90, the mean of each over
the writes between p40 and p60 of the total (these add up), the CPU each
thread got in the writes' windows, and every wake-up of a node thread or
the client in them: waker -> woken, on the waker's vCPU or the other, what
that vCPU ran then, per write and wake -> run p50/p90 (a wake from an
interrupt is counted for the task it interrupted).  Writes whose events
perf lost are left out (the first line says how many were kept)."""
import re, sys, statistics as st, collections
out = sys.argv[1]
names = {}
for l in open(out + "/threads"):
    n, tid, role = l.split()
    names[int(tid)] = n + "." + ("loop" if role == "loop" else role)
rx = re.compile(r'^\s*(.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$')
ev = []
for l in open(out + "/script.txt"):
    m = rx.match(l)
    if not m: continue
    comm, tid, cpu, t, e, rest = m.groups()
    ev.append((float(t), int(tid), int(cpu), e, rest, comm))
ev.sort(key=lambda x: x[0])
client = [t for t, n in names.items() if n.startswith("client")][0]
# who leads: the native worker the client's sendto wakes
cnt = collections.Counter()
for t, tid, cpu, e, rest, comm in ev:
    if tid == client and e == "sched:sched_waking":
        p = int(re.search(r' pid=(\d+)', rest).group(1))
        if p in names: cnt[p] += 1
N = cnt.most_common(1)[0][0]
leader = names[N].split(".")[0]
L = [t for t, n in names.items() if n == leader + ".loop"][0]
W = [t for t, n in names.items() if n == leader + ".dsm-wal-sync"][0]
F = sorted(t for t, n in names.items() if n.endswith(".loop") and t != L)
role = {client: "C", N: "N", L: "L", W: "W", F[0]: "F1", F[1]: "F2"}
ours = set(names)
# per-thread event lists
def nr(rest):
    m = re.match(r'NR (\d+)', rest); return int(m.group(1)) if m else None
def ret(rest):
    m = re.search(r'= (-?\d+)', rest); return int(m.group(1)) if m else None
byth = collections.defaultdict(list)   # tid -> [(t, kind, nr/..., val)]
running = {}  # cpu -> tid
cpu_segs = collections.defaultdict(list)  # cpu -> [(start, end, tid)]
last_switch = {}
wakes = []  # (t, waker_tid, woken_tid, target_cpu, waker_cpu)
for t, tid, cpu, e, rest, comm in ev:
    if e == "raw_syscalls:sys_enter":
        byth[tid].append((t, "enter", nr(rest), rest))
    elif e == "raw_syscalls:sys_exit":
        byth[tid].append((t, "exit", nr(rest), ret(rest)))
    elif e == "sched:sched_waking":
        p = int(re.search(r' pid=(\d+)', rest).group(1))
        tc = int(re.search(r'target_cpu=(\d+)', rest).group(1))
        if p in ours:
            byth[p].append((t, "waking", tid, (tc, cpu)))
    elif e == "sched:sched_switch":
        pp = int(re.search(r'prev_pid=(\d+)', rest).group(1))
        np_ = int(re.search(r'next_pid=(\d+)', rest).group(1))
        ps = re.search(r'prev_state=(\S+)', rest).group(1)
        if pp in ours: byth[pp].append((t, "out", ps, cpu))
        if np_ in ours: byth[np_].append((t, "in", cpu, None))
        if cpu in last_switch:
            s, who = last_switch[cpu]
            cpu_segs[cpu].append((s, t, who))
        last_switch[cpu] = (t, np_)
import bisect
idx = {tid: [x[0] for x in lst] for tid, lst in byth.items()}
def first(tid, t, pred, tmax=1e18):
    lst = byth[tid]; i = bisect.bisect_left(idx[tid], t)
    while i < len(lst) and lst[i][0] <= tmax:
        if pred(lst[i]): return lst[i]
        i += 1
    return None
def last_before(tid, t, pred, tmin=0):
    lst = byth[tid]; i = bisect.bisect_right(idx[tid], t) - 1
    while i >= 0 and lst[i][0] >= tmin:
        if pred(lst[i]): return lst[i]
        i -= 1
    return None
def run_after(tid, t):
    """when tid is on a CPU at or after t: its first 'in' after t unless it is running at t."""
    prev = last_before(tid, t, lambda x: x[1] in ("in", "out"))
    if prev and prev[1] == "in": return t, prev[2]
    # its first switch-in, or its first system call if perf lost the switch
    x = first(tid, t, lambda x: x[1] in ("in", "enter", "exit"))
    return (x[0], x[2] if x[1] == "in" else None) if x else (None, None)
sends = [x for x in byth[client] if x[1] == "enter" and x[2] == 44]
rows = []
for s in sends:
    t0 = s[0]
    try:
        r = {}
        nrecv = first(N, t0, lambda x: x[1] == "exit" and x[2] == 45 and x[3] > 0)
        nwk = last_before(N, nrecv[0], lambda x: x[1] == "waking", t0)
        nrun, ncpu = run_after(N, nwk[0] if nwk else t0)
        npush = first(N, nrecv[0], lambda x: x[1] == "enter" and x[2] == 1)
        lrun, lcpu = run_after(L, npush[0])
        lsend = first(L, lrun, lambda x: x[1] == "enter" and x[2] == 46)
        lfutex = first(L, lrun, lambda x: x[1] == "enter" and x[2] == 202)
        # the answer: whoever wakes the client after the push (N, or L itself)
        cwk = first(client, npush[0], lambda x: x[1] == "waking" and x[2] in (N, L))
        crecv = first(client, cwk[0], lambda x: x[1] == "exit" and x[2] == 45 and x[3] > 0)
        t1 = crecv[0]
        if cwk[2] == N:
            nsend = last_before(N, cwk[0], lambda x: x[1] == "enter" and x[2] == 44, npush[0])
            lans = last_before(L, nsend[0], lambda x: x[1] == "enter" and x[2] == 1, lrun)
            nrun2, ncpu2 = run_after(N, lans[0])
        else:
            nsend = last_before(L, cwk[0], lambda x: x[1] == "enter" and x[2] == 46, lrun)
            lans = nsend; nrun2 = nsend[0]
        # W branch
        wrun, wcpu = run_after(W, lfutex[0])
        wfs = first(W, wrun, lambda x: x[1] == "enter" and x[2] == 75)
        wfe = first(W, wfs[0], lambda x: x[1] == "exit" and x[2] == 75)
        wsig = first(W, wfe[0], lambda x: x[1] == "enter" and x[2] == 1)
        fb = {}
        for k, f in (("F1", F[0]), ("F2", F[1])):
            frun, fcpu = run_after(f, lsend[0])
            ffs = first(f, frun, lambda x: x[1] == "enter" and x[2] == 75, t1)
            ffe = ffs and first(f, ffs[0], lambda x: x[1] == "exit" and x[2] == 75)
            fack = ffe and first(f, ffe[0], lambda x: x[1] == "enter" and x[2] == 46)
            if fack and fack[0] < t1: fb[k] = (frun, ffs[0], ffe[0], fack[0], fcpu)
        fbest = min(fb.values(), key=lambda v: v[3])
        ready = max(wsig[0], fbest[3])
        if not (t0 <= nrun <= npush[0] <= lrun <= lsend[0] <= ready <= lans[0] <= nrun2 <= nsend[0] <= t1): continue
        us = lambda a, b: (b - a) * 1e6
        r["A client send -> N on CPU"] = us(t0, nrun)
        r["B N: recv, decode, push"] = us(nrun, npush[0])
        r["C N -> L on CPU"] = us(npush[0], lrun)
        r["D L: to first Proposal send"] = us(lrun, lsend[0])
        r["E Proposal -> commit ready"] = us(lsend[0], ready)
        r["F ready -> answer leaves L"] = us(ready, lans[0])
        r["G L -> N on CPU"] = us(lans[0], nrun2)
        r["H N: encode, send"] = us(nrun2, nsend[0])
        r["I answer sent -> client has it"] = us(nsend[0], t1)
        r["total"] = us(t0, t1)
        r["total - E"] = us(t0, t1) - us(lsend[0], ready)
        # branches
        r["w: L futex -> W on CPU"] = us(lfutex[0], wrun)
        r["w: W to fdatasync"] = us(wrun, wfs[0])
        r["w: W fdatasync"] = us(wfs[0], wfe[0])
        r["w: W signal"] = us(wfe[0], wsig[0])
        r["w: L futex -> W signal"] = us(lfutex[0], wsig[0])
        frun, ffs, ffe, fack, fcpu = fbest
        r["f: Proposal send -> F on CPU"] = us(lsend[0], frun)
        r["f: F to fdatasync"] = us(frun, ffs)
        r["f: F fdatasync"] = us(ffs, ffe)
        r["f: F to Ack send"] = us(ffe, fack)
        r["f: Proposal send -> first Ack"] = us(lsend[0], fack)
        r["crit=W"] = 1.0 if wsig[0] > fbest[3] else 0.0
        r["fsync overlap (both)"] = max(0.0, us(max(wfs[0], ffs), min(wfe[0], ffe)))
        r["cross-CPU N->L"] = 1.0 if lcpu != ncpu else 0.0
        r["loop answered"] = 1.0 if cwk[2] == L else 0.0
        r["_t"] = (t0, t1)
        rows.append(r)
    except (TypeError, IndexError, AttributeError, ValueError):
        continue
# CPU occupancy during each write
for c in cpu_segs: cpu_segs[c].sort()
starts = {c: [s[0] for s in segs] for c, segs in cpu_segs.items()}
def occupancy(t0, t1):
    occ = collections.Counter()
    for c, segs in cpu_segs.items():
        i = max(0, bisect.bisect_right(starts[c], t0) - 1)
        while i < len(segs) and segs[i][0] < t1:
            s, e, who = segs[i]
            d = max(0.0, min(e, t1) - max(s, t0))
            if d > 0:
                k = role.get(who, names[who].split(".")[0] + "-other" if who in names else ("idle" if who == 0 else "others"))
                occ[k] += d * 1e6
            i += 1
    return occ
occs = [occupancy(*r["_t"]) for r in rows]
tot = [r["total"] for r in rows]
print(f"writes analysed: {len(rows)} of {len(sends)} sends; leader {leader}; total p50 {st.median(tot):.0f} us, mean {st.mean(tot):.0f} us")
keys = [k for k in rows[0] if not k.startswith("_")]
print(f"{'segment':40s} {'p50':>7s} {'mean':>7s} {'p10':>7s} {'p90':>7s}")
for k in keys:
    v = sorted(r[k] for r in rows)
    print(f"{k:40s} {st.median(v):7.1f} {st.mean(v):7.1f} {v[len(v)//10]:7.1f} {v[9*len(v)//10]:7.1f}")
# the writes near the median
mid = sorted(rows, key=lambda r: r["total"])
band = mid[int(len(mid)*0.4):int(len(mid)*0.6)]
print("\nwrites between p40 and p60 of the total (n=%d): mean of each segment" % len(band))
for k in keys:
    print(f"  {k:40s} {st.mean(r[k] for r in band):7.1f}")
print("\nCPU occupancy during a write (us of the 2 vCPUs, mean over all writes / p40-p60 band):")
allk = sorted(set(k for o in occs for k in o))
bandocc = [occupancy(*r["_t"]) for r in band]
for k in allk:
    print(f"  {k:14s} {st.mean(o.get(k,0) for o in occs):7.1f} {st.mean(o.get(k,0) for o in bandocc):7.1f}")

# ---- every wake-up of our threads inside the analysed writes: who wakes whom, where, how long to run
# waking event: (t, "waking", waker_tid, (target_cpu, waker_cpu)); run = next "in" of the wakee
wins = sorted(r["_t"] for r in rows)
wstarts = [w[0] for w in wins]
def in_window(t):
    i = bisect.bisect_right(wstarts, t) - 1
    return i >= 0 and t <= wins[i][1]
# what each CPU was doing at a time: the last switch's next task
cstarts = {c: [s[0] for s in segs] for c, segs in cpu_segs.items()}
def on_cpu(c, t):
    i = bisect.bisect_right(cstarts[c], t) - 1
    return cpu_segs[c][i][2] if i >= 0 else None
hops = collections.defaultdict(list)
for tid, lst in byth.items():
    if tid not in role: continue
    for (t, kind, waker, extra) in lst:
        if kind != "waking" or not in_window(t): continue
        tc, wc = extra
        run = first(tid, t, lambda x: x[1] in ("in", "enter", "exit"))
        if not run or run[1] != "in": continue   # a switch perf lost: left out
        wr = role.get(waker, "irq/other")
        where = "same" if run[2] == wc else "cross"
        busy = on_cpu(run[2], t)
        state = "idle" if busy == 0 else ("ours" if busy in role else "others")
        hops[(wr, role[tid], where, state)].append((run[0] - t) * 1e6)
n = len(rows)
print("\nwake-ups inside the analysed writes: waker -> woken, woken runs on the waker's CPU or the other, "
      "what that CPU ran at the wake-up; per write, wake->run p50/p90 us")
for k in sorted(hops, key=lambda k: -len(hops[k])):
    v = sorted(hops[k])
    if len(v) / n < 0.05: continue
    print(f"  {k[0]:>9s} -> {k[1]:3s} {k[2]:5s} cpu was {k[3]:6s} {len(v)/n:5.2f}/write  {st.median(v):6.1f} {v[9*len(v)//10]:7.1f}")
