/* sim/view/view.js: draws a dsm run on a canvas: one lane per node on a
 * shared virtual-time axis, message copies as arrows between lanes, faults
 * shaded, leaders coloured by epoch, client operations as bars, the
 * checker's finding highlighted.  Only the visible window is drawn; when
 * it holds more arrows than can be told apart they are binned by pixel
 * column and node pair.  After the first drawing the page writes what it
 * drew into #counts, which tests read (docs/SIMULATOR.md, "Seeing a run"). */
'use strict';
(function () {
  const started = performance.now();
  const D = JSON.parse(document.getElementById('dsm-data').textContent);
  const S = D.s;
  const M_STRIDE = 8, R_STRIDE = 5, A_STRIDE = 5, K_STRIDE = 4, F_STRIDE = 5, O_STRIDE = 9;
  const FATES = ['delivered', 'dropped in flight', 'corrupted', 'dropped at the send'];
  const RESULTS = ['ok', 'rejected', 'unknown', 'no answer'];
  const RESULT_COLORS = ['#2e9d4f', '#e0892b', '#8a5cc7', '#d0182b'];
  const TYPE_COLORS = {
    proposal: '#2f6fd6', ack: '#1f9e89', commit: '#6cb0e8', vote_request: '#e39b1b', vote: '#c7672a',
    reject: '#c0392b', snapshot: '#8e44ad', snapshot_ack: '#b07cc6', client_request: '#7f8c8d', client_reply: '#95a5a6',
  };
  /* node events a node makes all the time: drawn faintly */
  const ROUTINE = new Set(['commit', 'proposal', 'retry', 'reject', 'snapshot', 'client retry']);
  const BIN_LIMIT = 2500;       /* more visible arrows than this: binned */
  const LABEL_W = 86, AXIS_H = 26, NET_H = 18, CLIENT_H = 16;

  const canvas = document.getElementById('canvas');
  const ctx = canvas.getContext('2d');
  const tip = document.getElementById('tip');
  const lanes = D.lanes;
  const laneIndex = new Map(lanes.map((l, i) => [l[0], i]));
  const m = D.m, r = D.r, a = D.a, k = D.k, f = D.f, o = D.o;
  const nMsgs = m.length / M_STRIDE, nOps = o.length / O_STRIDE;
  const finding = D.x;
  const windowOps = new Set(finding && finding.ops ? finding.ops : []);
  const clients = [...new Set(range(nOps).map(i => o[i * O_STRIDE + 1]))].sort((x, y) => x - y);
  const clientIndex = new Map(clients.map((c, i) => [c, i]));

  /* Finding: the nodes and indexes its message names (agreement, durability,
   * election safety and the rest say "nodes 3 and 4", "index 112"). */
  const findingNodes = new Set(), findingIndexes = new Set();
  if (finding && finding.msg) {
    for (const mm of finding.msg.matchAll(/\bnodes? (\d+)(?:(?:, | and )(\d+))*/g))
      for (const n of mm[0].match(/\d+/g)) findingNodes.add(Number(n));
    for (const mm of finding.msg.matchAll(/\bindex(?:es)? (\d+)/g)) findingIndexes.add(Number(mm[1]));
  }

  /* Arrows arrive in trace order, which is by arrival time: the visible
   * ones are found by binary search, given the longest flight. */
  let maxFlight = 0;
  for (let i = 0; i < nMsgs; i++) maxFlight = Math.max(maxFlight, m[i * M_STRIDE + 1] - m[i * M_STRIDE]);

  const end = Math.max(D.end, 1);
  let t0 = 0, t1 = end, cursor = -1, selected = null, hover = null, drawn = null;

  function range(n) { return Array.from({ length: n }, (_, i) => i); }
  function str(i) { return S[i] === undefined ? '' : S[i]; }
  function hue(n) { return (n * 137.508) % 360; }
  function typeColor(name) {
    if (TYPE_COLORS[name]) return TYPE_COLORS[name];
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return 'hsl(' + (h % 360) + ',45%,45%)';
  }

  /* ---- geometry ---- */
  function width() { return canvas.clientWidth; }
  function laneH() { return lanes.length > 12 ? 28 : 46; }
  function laneY(i) { return AXIS_H + NET_H + i * laneH(); }
  function laneMid(i) { return laneY(i) + laneH() / 2; }
  function clientsTop() { return laneY(lanes.length) + 10; }
  function clientY(c) { return clientsTop() + clientIndex.get(c) * CLIENT_H; }
  function totalH() { return clientsTop() + clients.length * CLIENT_H + 14; }
  function x(t) { return LABEL_W + (t - t0) * (width() - LABEL_W - 8) / (t1 - t0); }
  function tAt(px) { return t0 + (px - LABEL_W) * (t1 - t0) / (width() - LABEL_W - 8); }

  function lowerBound(t) {   /* first arrow arriving at or after t */
    let lo = 0, hi = nMsgs;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (m[mid * M_STRIDE + 1] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  /* ---- drawing ---- */
  function resize() {
    const dpr = window.devicePixelRatio || 1;
    const h = totalH();
    canvas.style.height = h + 'px';
    canvas.width = Math.round(canvas.clientWidth * dpr);
    canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function drawAxis(w) {
    ctx.fillStyle = '#f1f3f7';
    ctx.fillRect(0, 0, w, AXIS_H);
    const span = t1 - t0, target = span / Math.max(2, (w - LABEL_W) / 110);
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000, 120000, 300000];
    const step = steps.find(s => s >= target) || steps[steps.length - 1];
    ctx.fillStyle = '#4a5263';
    ctx.font = '11px ui-monospace, monospace';
    ctx.strokeStyle = '#e3e6ec';
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const px = x(t);
      ctx.beginPath(); ctx.moveTo(px, AXIS_H - 6); ctx.lineTo(px, totalH()); ctx.stroke();
      ctx.fillText(t >= 1000 && step >= 100 ? (t / 1000) + ' s' : t + ' ms', px + 2, 14);
    }
    ctx.fillText('virtual time', 6, 14);
    ctx.fillStyle = '#5b6475';
    ctx.fillText('network', 6, AXIS_H + 13);
  }

  const FAULT_STYLE = {
    down: ['rgba(70,70,80,0.30)', 'down'], paused: ['rgba(230,180,20,0.35)', 'paused'],
    isolated: ['rgba(208,24,43,0.18)', 'isolated'], 'disk full': ['rgba(142,68,173,0.22)', 'disk full'],
    cut: ['rgba(208,24,43,0.12)', 'one-way cut (from this node)'], partition: ['rgba(208,24,43,0.28)', 'partition'],
    loss: ['rgba(230,120,20,0.30)', 'loss window'], delay: ['rgba(40,120,200,0.25)', 'delay window'],
    duplicate: ['rgba(30,160,140,0.28)', 'duplicate window'], reorder: ['rgba(120,90,200,0.25)', 'reorder window'],
    corrupt: ['rgba(200,60,30,0.30)', 'corrupt window'],
  };
  function faultColor(kind) { return (FAULT_STYLE[kind] || ['rgba(120,120,120,0.25)'])[0]; }

  function drawLanes(w, hits) {
    const lh = laneH();
    /* roles: leaders filled with their epoch's colour, candidates lighter */
    for (let i = 0; i < r.length; i += R_STRIDE) {
      const li = laneIndex.get(r[i]); if (li === undefined) continue;
      const from = r[i + 1], to = r[i + 2], role = str(r[i + 3]), epoch = r[i + 4];
      if (to < t0 || from > t1 || role === 'follower') continue;
      const x0 = Math.max(LABEL_W, x(from)), x1 = Math.min(w, x(to));
      const leader = role === 'leader';
      ctx.fillStyle = 'hsla(' + hue(epoch) + ',70%,55%,' + (leader ? 0.32 : 0.12) + ')';
      ctx.fillRect(x0, laneY(li) + 2, Math.max(1, x1 - x0), lh - 4);
      if (leader && x1 - x0 > 60) {
        ctx.fillStyle = 'hsl(' + hue(epoch) + ',60%,30%)';
        ctx.font = 'bold 10px system-ui';
        ctx.fillText('leader e' + epoch, x0 + 3, laneY(li) + 12);
      }
      hits.push({ kind: 'role', x0, x1, y0: laneY(li), y1: laneY(li) + lh, get text() { return 'node ' + r[i] + ': ' + role + ' of epoch ' + epoch + ', ' + from + '-' + to + ' ms'; } });
    }
    /* faults: per node, or the network row (and faintly over every lane) */
    for (let i = 0; i < f.length; i += F_STRIDE) {
      const node = f[i], from = f[i + 1], to = f[i + 2], kind = str(f[i + 3]);
      if (to < t0 || from > t1) continue;
      const x0 = Math.max(LABEL_W, x(from)), x1 = Math.max(x0 + 2, Math.min(w, x(to)));
      ctx.fillStyle = faultColor(kind);
      let y0, y1;
      if (node === 0) {
        y0 = AXIS_H + 2; y1 = AXIS_H + NET_H - 2;
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
        ctx.globalAlpha = 0.25;
        ctx.fillRect(x0, AXIS_H + NET_H, x1 - x0, lanes.length * lh);
        ctx.globalAlpha = 1;
      } else {
        const li = laneIndex.get(node); if (li === undefined) continue;
        y0 = laneY(li) + 1; y1 = laneY(li) + lh - 1;
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
        if (kind === 'down') {   /* hatched: nothing runs */
          ctx.strokeStyle = 'rgba(60,60,70,0.45)';
          ctx.beginPath();
          for (let hx = x0 - lh; hx < x1; hx += 8) { ctx.moveTo(Math.max(x0, hx), y1 - Math.max(0, x0 - hx)); ctx.lineTo(Math.min(x1, hx + lh), y0 + Math.max(0, hx + lh - x1)); }
          ctx.stroke();
        }
      }
      hits.push({ kind: 'fault', x0, x1, y0, y1, get text() { return kind + ', ' + from + '-' + to + ' ms\n' + str(f[i + 4]); } });
    }
    /* lane lines and labels */
    ctx.font = '12px system-ui';
    for (let i = 0; i < lanes.length; i++) {
      const named = findingNodes.has(lanes[i][0]);
      ctx.strokeStyle = named ? '#d0182b' : '#c3c9d4';
      ctx.lineWidth = named ? 2 : 1;
      ctx.beginPath(); ctx.moveTo(LABEL_W, laneMid(i)); ctx.lineTo(w, laneMid(i)); ctx.stroke();
      ctx.lineWidth = 1;
      ctx.fillStyle = named ? '#d0182b' : '#1d2330';
      ctx.font = named ? 'bold 12px system-ui' : '12px system-ui';
      ctx.fillText(lanes[i][1], 8, laneMid(i) + 4);
    }
  }

  /* Applies and marks: at most one per lane and pixel column (zoomed out,
   * thousands would fall on the same pixels), except the finding's and
   * crashes and restarts. */
  function drawApplies(hits) {
    const lastPx = new Float64Array(lanes.length).fill(-1);   /* applies come in time order */
    for (let i = 0; i < a.length; i += A_STRIDE) {
      const t = a[i]; if (t < t0 || t > t1) continue;
      const li = laneIndex.get(a[i + 1]); if (li === undefined) continue;
      const named = findingIndexes.has(a[i + 2]);
      const px = x(t), y = laneY(li) + laneH() - 5;
      if (!named && Math.round(px) === lastPx[li]) continue;
      lastPx[li] = Math.round(px);
      ctx.fillStyle = named ? '#d0182b' : 'rgba(46,157,79,0.7)';
      if (named) ctx.fillRect(px - 3, y - 8, 6, 10); else ctx.fillRect(px - 0.5, y - 3, 1.5, 4);
      hits.push({ kind: 'apply', x0: px - 3, x1: px + 3, y0: y - 8, y1: y + 2, get text() { return 'apply on node ' + a[i + 1] + ' at ' + t + ' ms: index ' + a[i + 2] + ' (epoch ' + a[i + 3] + ') ' + str(a[i + 4]); } });
    }
  }

  function drawMarks(hits) {
    const lastPx = new Float64Array(lanes.length + 1).fill(-1);   /* marks come in time order; the last slot: the network row */
    for (let i = 0; i < k.length; i += K_STRIDE) {
      const t = k[i]; if (t < t0 || t > t1) continue;
      const node = k[i + 1], kind = S[k[i + 2]];
      const li = laneIndex.get(node);
      const slot = li === undefined ? lanes.length : li;
      const px = x(t), y = li === undefined ? AXIS_H + NET_H / 2 : laneY(li) + 7;
      if (Math.round(px) === lastPx[slot] && kind !== 'crash' && kind !== 'restart') continue;
      lastPx[slot] = Math.round(px);
      ctx.fillStyle = kind === 'crash' ? '#222' : kind === 'restart' ? '#2e9d4f' : kind.indexOf('election') === 0 ? '#c7672a' : '#5b6475';
      if (kind === 'crash') { ctx.font = 'bold 12px system-ui'; ctx.fillText('\u2715', px - 4, y + 4); }
      else if (kind === 'restart') { ctx.beginPath(); ctx.moveTo(px, y - 4); ctx.lineTo(px + 4, y + 4); ctx.lineTo(px - 4, y + 4); ctx.fill(); }
      else if (ROUTINE.has(kind)) { ctx.globalAlpha = 0.35; ctx.fillRect(px - 0.5, y - 2, 1, 4); ctx.globalAlpha = 1; }
      else ctx.fillRect(px - 1, y - 3, 2, 6);
      hits.push({ kind: 'mark', x0: px - 4, x1: px + 4, y0: y - 5, y1: y + 5, t, get text() { return kind + (node ? ' on node ' + node : '') + ' at ' + t + ' ms\n' + str(k[i + 3]); } });
    }
  }

  function arrowDetail(j) {
    const b = j * M_STRIDE;
    return str(m[b + 4]) + ' ' + m[b + 2] + ' -> ' + m[b + 3] + ', epoch ' + m[b + 5] + '\nsent ' + m[b] + ' ms, ' + FATES[m[b + 6]] +
      (m[b + 6] === 3 ? '' : ' ' + m[b + 1] + ' ms') + '\n' + str(m[b + 7]);
  }

  function drawArrows(hits) {
    const lo = lowerBound(t0), hiT = t1 + maxFlight;
    const visible = [];
    for (let j = lo; j < nMsgs && m[j * M_STRIDE + 1] <= hiT; j++)
      if (m[j * M_STRIDE] <= t1 && laneIndex.has(m[j * M_STRIDE + 2]) && laneIndex.has(m[j * M_STRIDE + 3])) visible.push(j);
    const out = { individual: 0, binned: 0, bins: 0 };
    if (visible.length <= BIN_LIMIT) {
      for (const j of visible) {
        const b = j * M_STRIDE, fate = m[b + 6];
        const xs = x(m[b]), xa = x(m[b + 1]);
        const ys = laneMid(laneIndex.get(m[b + 2])), ya = fate === 3 ? ys + (laneMid(laneIndex.get(m[b + 3])) - ys) * 0.25 : laneMid(laneIndex.get(m[b + 3]));
        const xe = fate === 3 ? xs + 6 : xa;
        const isSel = selected && selected.kind === 'arrow' && selected.j === j;
        ctx.strokeStyle = fate === 0 ? typeColor(str(m[b + 4])) : '#d0182b';
        ctx.lineWidth = isSel ? 3 : 1;
        ctx.setLineDash(fate === 0 ? [] : [4, 3]);
        ctx.beginPath(); ctx.moveTo(xs, ys); ctx.lineTo(xe, ya); ctx.stroke();
        ctx.setLineDash([]);
        if (fate === 0 || fate === 2) {   /* head */
          const ang = Math.atan2(ya - ys, xe - xs);
          ctx.fillStyle = ctx.strokeStyle;
          ctx.beginPath(); ctx.moveTo(xe, ya);
          ctx.lineTo(xe - 6 * Math.cos(ang - 0.4), ya - 6 * Math.sin(ang - 0.4));
          ctx.lineTo(xe - 6 * Math.cos(ang + 0.4), ya - 6 * Math.sin(ang + 0.4)); ctx.fill();
        } else {
          ctx.font = 'bold 10px system-ui'; ctx.fillStyle = '#d0182b'; ctx.fillText('\u00d7', xe - 3, ya + 4);
        }
        hits.push({ kind: 'arrow', j, xs, ys, xe, ya, get text() { return arrowDetail(j); } });
        out.individual++;
      }
    } else {
      /* Binned: per 4-pixel column of the send, node pair and message type,
       * one stroke in the type's colour (red when most copies were lost)
       * whose width and opacity grow with the count. */
      const bins = new Map(), col = 4;
      for (const j of visible) {
        const b = j * M_STRIDE;
        /* a number, not a string: 100,000 of these per drawing */
        const key = ((Math.floor(x(m[b]) / col) * 512 + laneIndex.get(m[b + 2])) * 512 + laneIndex.get(m[b + 3])) * 4096 + m[b + 4];
        let e = bins.get(key);
        if (!e) { e = { n: 0, ts: 0, ta: 0, from: m[b + 2], to: m[b + 3], type: str(m[b + 4]), dropped: 0 }; bins.set(key, e); }
        e.n++; e.ts += m[b]; e.ta += m[b + 1]; if (m[b + 6] !== 0) e.dropped++;
      }
      for (const e of bins.values()) {
        const xs = x(e.ts / e.n), xa = x(e.ta / e.n);
        const ys = laneMid(laneIndex.get(e.from)), ya = laneMid(laneIndex.get(e.to));
        ctx.strokeStyle = e.dropped * 2 > e.n ? '#d0182b' : typeColor(e.type);
        ctx.globalAlpha = Math.min(0.9, 0.2 + 0.1 * Math.log2(1 + e.n));
        ctx.lineWidth = Math.min(4, 0.6 + Math.log2(1 + e.n) * 0.6);
        ctx.beginPath(); ctx.moveTo(xs, ys); ctx.lineTo(xa, ya); ctx.stroke();
        ctx.globalAlpha = 1;
        hits.push({ kind: 'bin', xs, ys, xe: xa, ya, get text() { return e.n + ' ' + e.type + ' messages ' + e.from + ' -> ' + e.to + ' around ' + Math.round(e.ts / e.n) + ' ms (' + e.dropped + ' not delivered); zoom in to see each'; } });
        out.binned += e.n; out.bins++;
      }
      ctx.lineWidth = 1;
    }
    return out;
  }

  function drawOps(w, hits) {
    ctx.font = '11px system-ui';
    ctx.fillStyle = '#5b6475';
    if (clients.length) ctx.fillText('clients', 6, clientsTop() - 2);
    for (const c of clients) { ctx.fillStyle = '#1d2330'; ctx.fillText('client ' + c, 8, clientY(c) + 11); }
    ctx.font = '10px system-ui';
    let count = 0;
    const late = [], lastPx = new Map();
    for (let i = 0; i < nOps; i++) {
      const b = i * O_STRIDE, inv = o[b + 3], comp = o[b + 4] < 0 ? end : o[b + 4];
      if (comp < t0 || inv > t1) continue;
      count++;
      if (windowOps.has(o[b])) { late.push(i); continue; }   /* drawn on top */
      /* a bar narrower than a pixel on the pixel its client's last one filled, with the same result */
      const px = Math.round(x(inv)), key = o[b + 1] * 8 + o[b + 5];
      if (x(comp) - x(inv) < 1 && lastPx.get(key) === px) continue;
      lastPx.set(key, px);
      drawOp(i, w, hits, false);
    }
    for (const i of late) drawOp(i, w, hits, true);
    return count;
  }

  function drawOp(i, w, hits, inWindow) {
    const b = i * O_STRIDE, inv = o[b + 3], pending = o[b + 4] < 0, comp = pending ? end : o[b + 4];
    const x0 = Math.max(LABEL_W, x(inv)), x1 = Math.max(x0 + 2, Math.min(w, x(comp)));
    const y = clientY(o[b + 1]) + 2, h = CLIENT_H - 4;
    const sameMachine = finding && finding.machine && str(o[b + 8]) === finding.machine;
    ctx.fillStyle = RESULT_COLORS[o[b + 5]];
    ctx.globalAlpha = finding && finding.ops && finding.ops.length && !inWindow ? (sameMachine ? 0.55 : 0.25) : 0.85;
    if (o[b + 6] === 1) { ctx.fillRect(x0, y + 3, x1 - x0, h - 6); }   /* reads: thinner */
    else ctx.fillRect(x0, y, x1 - x0, h);
    ctx.globalAlpha = 1;
    if (pending) { ctx.strokeStyle = '#d0182b'; ctx.setLineDash([3, 2]); ctx.strokeRect(x0, y, x1 - x0, h); ctx.setLineDash([]); }
    if (inWindow) { ctx.strokeStyle = '#d0182b'; ctx.lineWidth = 2.5; ctx.strokeRect(x0 - 1, y - 1, x1 - x0 + 2, h + 2); ctx.lineWidth = 1; }
    if (selected && selected.kind === 'op' && selected.i === i) { ctx.strokeStyle = '#000'; ctx.strokeRect(x0 - 2, y - 2, x1 - x0 + 4, h + 4); }
    if (x1 - x0 > 70) { ctx.fillStyle = '#fff'; ctx.fillText(str(o[b + 8]) + ' ' + RESULTS[o[b + 5]], x0 + 3, y + h - 2); }
    hits.push({ kind: 'op', i, x0, x1, y0: y, y1: y + h, get text() { return str(o[b + 7]) + (o[b + 2] ? '\nsent to node ' + o[b + 2] : '') + (inWindow ? '\nIN THE FINDING\'S WINDOW' : ''); } });
  }

  function draw() {
    const t = performance.now();
    resize();
    const w = width();
    ctx.clearRect(0, 0, w, totalH());
    const hits = [], phases = [];
    let last = performance.now();
    const phase = name => { const now = performance.now(); phases.push(name + ':' + (now - last).toFixed(1)); last = now; };
    phase('resize');
    drawAxis(w); phase('axis');
    drawLanes(w, hits); phase('lanes');
    drawApplies(hits); phase('applies');
    const arrows = drawArrows(hits); phase('arrows');
    drawMarks(hits); phase('marks');
    const ops = drawOps(w, hits); phase('ops');
    if (finding && finding.t >= 0 && finding.t >= t0 && finding.t <= t1) {
      ctx.strokeStyle = '#d0182b'; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x(finding.t), AXIS_H); ctx.lineTo(x(finding.t), totalH()); ctx.stroke();
      ctx.lineWidth = 1; ctx.fillStyle = '#d0182b'; ctx.font = 'bold 11px system-ui';
      ctx.fillText(finding.inv, Math.min(w - 90, x(finding.t) + 3), AXIS_H + 12);
    }
    if (cursor >= t0 && cursor <= t1) {
      ctx.strokeStyle = 'rgba(0,0,0,0.55)'; ctx.setLineDash([2, 2]);
      ctx.beginPath(); ctx.moveTo(x(cursor), AXIS_H); ctx.lineTo(x(cursor), totalH()); ctx.stroke(); ctx.setLineDash([]);
    }
    drawn = { hits, arrows, ops, ms: performance.now() - t, phases: phases.join(' ') };
    document.getElementById('range').textContent = Math.round(t0) + ' - ' + Math.round(t1) + ' ms' +
      (arrows.binned ? ' (' + arrows.binned + ' arrows binned; zoom in)' : '');
  }

  /* ---- interaction ---- */
  function setView(a0, a1) {
    const span = Math.max(2, Math.min(end * 1.05 + 10, a1 - a0));
    let s = a0;
    if (a1 - a0 !== span) s = (a0 + a1) / 2 - span / 2;
    s = Math.max(-span * 0.02, Math.min(s, end + span * 0.02 - span));
    t0 = s; t1 = s + span;
    draw();
  }
  function zoom(factor, around) {
    const c = around === undefined ? (t0 + t1) / 2 : around;
    setView(c - (c - t0) * factor, c + (t1 - c) * factor);
  }
  function pan(frac) { const d = (t1 - t0) * frac; setView(t0 + d, t1 + d); }

  function segDist(px, py, h) {
    const dx = h.xe - h.xs, dy = h.ya - h.ys, l2 = dx * dx + dy * dy;
    let u = l2 ? ((px - h.xs) * dx + (py - h.ys) * dy) / l2 : 0;
    u = Math.max(0, Math.min(1, u));
    return Math.hypot(px - (h.xs + u * dx), py - (h.ys + u * dy));
  }
  function hitAt(px, py) {
    if (!drawn) return null;
    let best = null, bestD = 5;
    for (const h of drawn.hits) {
      if (h.kind === 'arrow' || h.kind === 'bin') {
        const d = segDist(px, py, h);
        if (d < bestD) { bestD = d; best = h; }
      } else if (px >= h.x0 && px <= h.x1 && py >= h.y0 && py <= h.y1) {
        const rank = { op: 0, mark: 0.5, apply: 0.5, fault: 3, role: 4 }[h.kind];
        if (best === null || rank < bestD) { best = h; bestD = rank; }
      }
    }
    return best;
  }
  function showDetail(h) { document.getElementById('detail-text').textContent = h ? h.text : ''; }

  let drag = null;
  canvas.addEventListener('mousedown', e => { drag = { x: e.offsetX, t0, t1, moved: false }; });
  window.addEventListener('mouseup', e => {
    if (drag && !drag.moved && e.target === canvas) {
      const h = hitAt(e.offsetX, e.offsetY);
      selected = h; showDetail(h);
      if (h && h.t !== undefined) cursor = h.t;
      draw();
    }
    drag = null;
  });
  canvas.addEventListener('mousemove', e => {
    if (drag) {
      const dx = e.offsetX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      if (drag.moved) {
        const dt = dx * (drag.t1 - drag.t0) / (width() - LABEL_W - 8);
        t0 = drag.t0 - dt; t1 = drag.t1 - dt; draw();
      }
      return;
    }
    const h = hitAt(e.offsetX, e.offsetY);
    if (h !== hover) {
      hover = h;
      tip.hidden = !h;
      if (h) tip.textContent = h.text;
    }
    if (h) { tip.style.left = Math.min(e.offsetX + 14, width() - 300) + 'px'; tip.style.top = (e.offsetY + 14) + 'px'; }
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; hover = null; });
  canvas.addEventListener('wheel', e => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, tAt(e.offsetX)); }, { passive: false });
  canvas.addEventListener('dblclick', e => zoom(0.5, tAt(e.offsetX)));

  /* Steps go through every event in time order: sends, marks, operations'
   * invocations and completions, fault starts. */
  let steps = null;
  function stepList() {
    if (steps) return steps;
    const l = [];
    for (let j = 0; j < nMsgs; j++) l.push([m[j * M_STRIDE], 'arrow', j]);
    for (let i = 0; i < k.length; i += K_STRIDE) l.push([k[i], 'mark', i]);
    for (let i = 0; i < nOps; i++) { l.push([o[i * O_STRIDE + 3], 'op', i]); if (o[i * O_STRIDE + 4] >= 0) l.push([o[i * O_STRIDE + 4], 'op', i]); }
    for (let i = 0; i < f.length; i += F_STRIDE) l.push([f[i + 1], 'fault', i]);
    l.sort((p, q) => p[0] - q[0]);
    steps = l;
    return l;
  }
  let stepAt = -1;
  function step(dir) {
    const l = stepList();
    if (!l.length) return;
    if (stepAt < 0 || l[stepAt][0] !== cursor) {   /* start from the cursor (or the window's start) */
      const from = cursor >= 0 ? cursor : t0;
      stepAt = dir > 0 ? l.findIndex(e => e[0] > from) : l.length - 1 - [...l].reverse().findIndex(e => e[0] < from);
      if (stepAt < 0 || stepAt >= l.length) stepAt = dir > 0 ? l.length - 1 : 0;
    } else stepAt = Math.max(0, Math.min(l.length - 1, stepAt + dir));
    const e = l[stepAt];
    cursor = e[0];
    let text = '';
    if (e[1] === 'arrow') { selected = { kind: 'arrow', j: e[2] }; text = arrowDetail(e[2]); }
    else if (e[1] === 'op') { selected = { kind: 'op', i: e[2] }; text = str(o[e[2] * O_STRIDE + 7]); }
    else if (e[1] === 'mark') { selected = null; text = str(k[e[2] + 2]) + ' at ' + k[e[2]] + ' ms\n' + str(k[e[2] + 3]); }
    else { selected = null; text = str(f[e[2] + 3]) + ', ' + f[e[2] + 1] + '-' + f[e[2] + 2] + ' ms\n' + str(f[e[2] + 4]); }
    document.getElementById('detail-text').textContent = '[' + (stepAt + 1) + '/' + l.length + '] ' + text;
    if (cursor < t0 || cursor > t1) { const span = t1 - t0; setView(cursor - span / 2, cursor + span / 2); } else draw();
  }
  function gotoFinding() {
    if (!finding) return;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < nOps; i++) if (windowOps.has(o[i * O_STRIDE])) { lo = Math.min(lo, o[i * O_STRIDE + 3]); hi = Math.max(hi, o[i * O_STRIDE + 4] < 0 ? end : o[i * O_STRIDE + 4]); }
    if (finding.t >= 0) { lo = Math.min(lo, finding.t - 300); hi = Math.max(hi, finding.t + 50); }
    if (lo < hi) { const pad = (hi - lo) * 0.1 + 5; cursor = finding.t >= 0 ? finding.t : lo; setView(lo - pad, hi + pad); }
    document.getElementById('detail-text').textContent = finding.inv + ': ' + finding.msg + (finding.window ? '\n\n' + finding.window : '');
  }

  window.addEventListener('keydown', e => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = {
      '+': () => zoom(0.5), '=': () => zoom(0.5), '-': () => zoom(2), '_': () => zoom(2), '0': () => setView(0, end), Home: () => setView(0, end),
      ArrowLeft: () => pan(-0.15), ArrowRight: () => pan(0.15), ArrowUp: () => zoom(0.5), ArrowDown: () => zoom(2),
      n: () => step(1), '.': () => step(1), p: () => step(-1), ',': () => step(-1), f: gotoFinding,
      Escape: () => { selected = null; cursor = -1; draw(); },
    };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  document.getElementById('fit').onclick = () => setView(0, end);
  document.getElementById('zoom-in').onclick = () => zoom(0.5);
  document.getElementById('zoom-out').onclick = () => zoom(2);
  document.getElementById('next').onclick = () => step(1);
  document.getElementById('prev').onclick = () => step(-1);
  document.getElementById('goto-finding').onclick = gotoFinding;
  window.addEventListener('resize', () => draw());

  /* ---- header, legend, finals ---- */
  function header() {
    document.title = 'dsm: ' + D.title;
    document.getElementById('title').textContent = D.title + (D.trace ? ' (seed ' + D.seed + ')' : '');
    const results = [0, 0, 0, 0];
    for (let i = 0; i < nOps; i++) results[o[i * O_STRIDE + 5]]++;
    document.getElementById('summary').textContent =
      lanes.length + ' nodes, ' + (end / 1000).toFixed(3) + ' s of ' + (D.trace ? 'virtual' : 'recorded') + ' time, ' +
      nMsgs + ' message copies (' + D.in_flight + ' still in flight at the end, not drawn), ' + nOps + ' client operations (' +
      RESULTS.map((n, i) => results[i] + ' ' + n).join(', ') + ')' + (D.trace ? ', from a trace' : '') + (D.history ? ', from a history' : '') + '.';
    const box = document.getElementById('finding');
    if (finding) {
      box.hidden = false;
      box.textContent = 'FAILED ' + finding.inv + (finding.t >= 0 ? ' at t=' + finding.t + ' ms' : '') + ': ' + finding.msg +
        (finding.window ? '\n' + finding.window : '') + '\n(press f to go there)';
    } else if (D.note) {
      box.hidden = false; box.className = 'note'; box.textContent = D.note;
    }
    if (D.fin.length) {
      document.getElementById('finals').hidden = false;
      document.getElementById('finals-text').textContent = D.fin.map(p => 'node ' + p[0] + ': ' + p[1]).join('\n');
    }
  }
  function legend() {
    const items = [];
    const types = new Set();
    for (let j = 0; j < nMsgs; j++) types.add(str(m[j * M_STRIDE + 4]));
    for (const t of [...types].sort()) items.push(['line', typeColor(t), 'message: ' + t]);
    if (nMsgs) {
      items.push(['line', '#d0182b', 'dropped or corrupted copy (dashed, \u00d7)']);
      items.push(['line', 'rgba(120,130,150,0.6)', 'zoomed out: thicker, darker strokes stand for many arrows (binned)']);
    }
    if (r.length) items.push(['box', 'hsla(' + hue(3) + ',70%,55%,0.32)', 'leader, coloured by epoch (lighter: candidate)']);
    const kinds = new Set();
    for (let i = 0; i < f.length; i += F_STRIDE) kinds.add(str(f[i + 3]));
    for (const kd of kinds) items.push(['box', faultColor(kd), (FAULT_STYLE[kd] || [0, kd])[1]]);
    RESULTS.forEach((n, i) => items.push(['box', RESULT_COLORS[i], 'operation: ' + n + (i === 3 ? ' (dashed: still open at the end)' : '')]));
    if (a.length) items.push(['box', '#2e9d4f', 'apply (tick at the lane\'s foot)']);
    if (finding) items.push(['line', '#d0182b', 'the finding: its time, nodes, indexes, and window of operations (red outline)']);
    const box = document.getElementById('legend-items');
    for (const [shape, color, text] of items) {
      const s = document.createElement('div'); s.className = 'swatch' + (shape === 'line' ? ' line' : ''); s.style.background = color;
      const t = document.createElement('div'); t.textContent = text;
      box.append(s, t);
    }
  }

  header();
  legend();
  draw();
  /* What the first (whole-run) drawing holds, for tests and for measuring. */
  const counts = document.getElementById('counts');
  counts.dataset.lanes = String(lanes.length);
  counts.dataset.arrows = String(drawn.arrows.individual + drawn.arrows.binned);
  counts.dataset.arrowsIndividual = String(drawn.arrows.individual);
  counts.dataset.arrowsBinned = String(drawn.arrows.binned);
  counts.dataset.bins = String(drawn.arrows.bins);
  counts.dataset.ops = String(drawn.ops);
  counts.dataset.windowOps = String(windowOps.size);
  counts.dataset.finding = finding ? finding.inv : '';
  counts.dataset.drawMs = drawn.ms.toFixed(1);
  counts.dataset.loadMs = (performance.now() - started).toFixed(1);
  counts.dataset.phases = drawn.phases;
  counts.textContent = 'drawn';
  /* A link may open the page elsewhere than the whole run: #finding, or
   * #t=FROM-TO (milliseconds). */
  const where = /^#t=(\d+)-(\d+)$/.exec(location.hash);
  if (location.hash === '#finding') gotoFinding();
  else if (where) setView(Number(where[1]), Number(where[2]));
})();
