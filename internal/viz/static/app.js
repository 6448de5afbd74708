// kubeswarm visualizer: a column per node, a card per task, kept live by server-sent events.
// Every name from the cluster goes into the page through textContent, dataset or attributes,
// never as HTML. Deltas are queued and applied once per animation frame.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const nodesEl = $('nodes');
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const UNASSIGNED = '';
  const COMPACT_AT = 400; // tasks; one line per card from there on

  const nodes = new Map(); // name -> node model
  const cols = new Map(); // name -> column {el, host, badges, addr, count, list, dirty}
  const cards = new Map(); // id -> {t, el, name, tag, state, age, msg, col}
  let version = 0;
  let skew = 0; // server time - local time, ms
  let queue = [];
  let frame = 0;
  let nodesChanged = false;
  let tasksChanged = false;
  const filters = { ns: '', stack: '', q: '' };

  // Figures for the browser test and the curious (window.vizStats in the console).
  const stats = (window.vizStats = { snapshots: 0, deltas: 0, frames: 0, snapshotMs: 0, lastFrameMs: 0, maxFrameMs: 0, version: 0, tasks: 0 });

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setText(e, s) {
    if (e.textContent !== s) e.textContent = s;
  }

  // ---- columns ----
  function makeColumn(name) {
    const c = { name, el: el('section', 'node'), head: el('header'), host: el('div', 'host'), badges: el('div', 'badges'),
      addr: el('span', 'addr'), count: el('span', 'count'), list: el('div', 'tasks'), dirty: true, key: '' };
    c.el.dataset.node = name;
    const meta = el('div', 'meta');
    meta.append(c.addr, c.count);
    c.head.append(c.host, c.badges, meta);
    c.el.append(c.head, c.list);
    if (name === UNASSIGNED) {
      c.el.classList.add('unassigned');
      setText(c.host, 'unassigned');
      c.badges.append(el('span', 'badge', 'waiting for a node'));
    }
    cols.set(name, c);
    return c;
  }
  function renderColumn(c, n) {
    const key = [n.hostname, n.role, n.managerStatus, n.availability, n.state, n.addr].join('\u0000');
    if (key === c.key) return;
    c.key = key;
    setText(c.host, n.hostname || n.name);
    c.host.title = n.name;
    c.el.className = 'node avail-' + n.availability + ' state-' + n.state;
    const b = [];
    b.push(el('span', 'badge role-' + n.role, n.role));
    if (n.managerStatus) b.push(el('span', 'badge' + (n.managerStatus === 'Leader' ? ' leader' : ''), n.managerStatus.toLowerCase()));
    b.push(el('span', 'badge avail-' + n.availability, n.availability));
    b.push(el('span', 'badge state-' + n.state, n.state.toLowerCase()));
    c.badges.replaceChildren(...b);
    setText(c.addr, n.addr || '');
  }
  function columnFor(name) {
    if (name && nodes.has(name)) return cols.get(name);
    let c = cols.get(UNASSIGNED);
    if (!c) {
      c = makeColumn(UNASSIGNED);
      nodesChanged = true;
    }
    return c;
  }
  function compareNodes(a, b) {
    const am = a.role === 'manager', bm = b.role === 'manager';
    if (am !== bm) return am ? -1 : 1;
    return collator.compare(a.hostname || a.name, b.hostname || b.name) || collator.compare(a.name, b.name);
  }
  function orderColumns() {
    const order = [...nodes.values()].sort(compareNodes).map((n) => cols.get(n.name));
    const un = cols.get(UNASSIGNED);
    if (un) {
      if (un.list.childElementCount === 0) {
        un.el.remove();
        cols.delete(UNASSIGNED);
      } else order.push(un);
    }
    let i = 0;
    for (const c of order) {
      if (nodesEl.children[i] !== c.el) nodesEl.insertBefore(c.el, nodesEl.children[i] || null);
      i++;
    }
    while (nodesEl.children.length > order.length) nodesEl.lastElementChild.remove();
    if (order.length === 0) nodesEl.replaceChildren(el('div', 'empty-note', 'No nodes yet.'));
  }

  // ---- cards ----
  function makeCard(t) {
    const k = { t: null, el: el('div', 'task'), name: el('div', 't-name'), tag: el('span', 't-tag'), stateText: el('span'),
      age: el('span', 't-age'), msg: el('div', 't-msg'), col: null };
    const st = el('span', 't-state');
    st.append(k.stateText);
    const line = el('div', 't-line');
    line.append(k.tag, st, k.age);
    k.el.append(k.name, line, k.msg);
    k.el.dataset.id = t.id;
    return k;
  }
  function renderCard(k, t) {
    const o = k.t;
    k.t = t;
    if (!o || o.hue !== t.hue || o.tone !== t.tone) {
      k.el.style.setProperty('--hue', String(t.hue));
      k.el.style.setProperty('--tone', String(t.tone));
    }
    if (!o || o.name !== t.name) setText(k.name, t.name);
    if (!o || o.tag !== t.tag) setText(k.tag, t.tag);
    if (!o || o.state !== t.state) {
      setText(k.stateText, t.state);
      k.el.dataset.state = t.state;
    }
    if (!o || o.message !== t.message) setText(k.msg, t.message || '');
    if (!o || o.service !== t.service) k.el.dataset.service = t.service;
    if (!o || o.namespace !== t.namespace) k.el.dataset.namespace = t.namespace;
    if (!o || o.pod !== t.pod || o.image !== t.image || o.message !== t.message || o.namespace !== t.namespace) {
      k.el.title = t.namespace + '/' + t.pod + '\n' + t.image + (t.message ? '\n' + t.message : '');
    }
    setText(k.age, age(t.created));
    k.el.hidden = !visible(t);
  }
  function place(k) {
    const c = columnFor(k.t.node);
    if (k.col !== c) {
      if (k.col) k.col.dirty = true;
      k.col = c;
      c.list.appendChild(k.el);
      c.dirty = true;
    }
  }
  function compareCards(a, b) {
    return collator.compare(a.t.service, b.t.service) || a.t.namespace.localeCompare(b.t.namespace) ||
      (a.t.slot - b.t.slot) || collator.compare(a.t.name, b.t.name) || (a.t.id < b.t.id ? -1 : a.t.id > b.t.id ? 1 : 0);
  }
  function sortColumn(c) {
    c.dirty = false;
    const list = [];
    for (const e of c.list.children) list.push(cards.get(e.dataset.id));
    list.sort(compareCards);
    let i = 0;
    for (const k of list) {
      if (c.list.children[i] !== k.el) c.list.insertBefore(k.el, c.list.children[i] || null);
      i++;
    }
    countColumn(c);
  }
  function countColumn(c) {
    let shown = 0, all = 0;
    for (const e of c.list.children) {
      all++;
      if (!e.hidden) shown++;
    }
    setText(c.count, shown === all ? plural(all, 'task') : shown + ' of ' + plural(all, 'task'));
  }

  // ---- filters ----
  function visible(t) {
    return (!filters.ns || t.namespace === filters.ns) && (!filters.stack || t.stack === filters.stack) &&
      (!filters.q || t.service.toLowerCase().includes(filters.q));
  }
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    filters.ns = p.get('ns') || '';
    filters.stack = p.get('stack') || '';
    filters.q = (p.get('q') || '').toLowerCase();
    $('q').value = p.get('q') || '';
  }
  function writeHash() {
    const p = new URLSearchParams();
    if (filters.ns) p.set('ns', filters.ns);
    if (filters.stack) p.set('stack', filters.stack);
    if (filters.q) p.set('q', filters.q);
    const h = p.toString();
    history.replaceState(null, '', h ? '#' + h : location.pathname + location.search);
  }
  function applyFilters() {
    for (const k of cards.values()) k.el.hidden = !visible(k.t);
    for (const c of cols.values()) countColumn(c);
    tasksChanged = true;
    schedule();
  }
  function fillSelect(sel, values, current) {
    const want = ['', ...values];
    if (current && !values.includes(current)) want.push(current);
    const have = [...sel.options].map((o) => o.value);
    if (have.join('\u0000') !== want.join('\u0000')) {
      sel.replaceChildren(...want.map((v) => {
        const o = el('option', '', v === '' ? 'all' : v);
        o.value = v;
        return o;
      }));
    }
    sel.value = current;
  }

  // ---- summary, legend ----
  function summarise() {
    const ns = new Set(), stacks = new Set(), svcs = new Map();
    let shown = 0, running = 0;
    for (const k of cards.values()) {
      const t = k.t;
      ns.add(t.namespace);
      if (t.stack && (!filters.ns || t.namespace === filters.ns)) stacks.add(t.stack);
      if (k.el.hidden) continue;
      shown++;
      if (t.state === 'running') running++;
      const key = t.namespace + '/' + t.service;
      let s = svcs.get(key);
      if (!s) svcs.set(key, (s = { service: t.service, namespace: t.namespace, hue: t.hue, tone: t.tone, n: 0, up: 0 }));
      s.n++;
      if (t.state === 'running' || t.state === 'complete') s.up++;
    }
    fillSelect($('ns'), [...ns].sort(collator.compare), filters.ns);
    fillSelect($('stack'), [...stacks].sort(collator.compare), filters.stack);
    let down = 0, drained = 0;
    for (const n of nodes.values()) {
      if (n.state !== 'Ready') down++;
      if (n.availability === 'drain') drained++;
    }
    const parts = [plural(nodes.size, 'node')];
    if (down) parts.push(down + ' down');
    if (drained) parts.push(drained + ' drained');
    parts.push(plural(svcs.size, 'service'), running + '/' + plural(shown, 'task') + ' running');
    setText($('summary'), parts.join(' · '));
    const list = [...svcs.values()].sort((a, b) => collator.compare(a.service, b.service) || a.namespace.localeCompare(b.namespace));
    const multiNs = !filters.ns && ns.size > 1;
    const key = multiNs + list.map((s) => s.namespace + '/' + s.service + ':' + s.up + '/' + s.n).join(',');
    const legend = $('legend');
    if (legend.dataset.key !== key) {
      legend.dataset.key = key;
      legend.replaceChildren(...list.map((s) => {
        const item = el('span', 'svc');
        const sw = el('span', 'sw');
        sw.style.setProperty('--hue', String(s.hue));
        sw.style.setProperty('--tone', String(s.tone));
        item.append(sw, el('span', '', multiNs ? s.namespace + '/' + s.service : s.service), el('span', 'n', s.up + '/' + s.n));
        return item;
      }));
    }
    document.body.classList.toggle('compact', cards.size >= COMPACT_AT);
    stats.tasks = cards.size;
  }

  // ---- ages ----
  function age(created) {
    const s = Math.max(0, Math.floor((Date.now() + skew - Date.parse(created)) / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm';
    if (s < 86400) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'd';
  }
  function plural(n, w) {
    return n + ' ' + w + (n === 1 ? '' : 's');
  }
  function setNow(now) {
    if (now) skew = Date.parse(now) - Date.now();
  }

  // ---- model updates ----
  function upsertNode(n) {
    const c = cols.get(n.name) || makeColumn(n.name);
    const o = nodes.get(n.name);
    if (!o || o.role !== n.role || o.hostname !== n.hostname) nodesChanged = true;
    nodes.set(n.name, n);
    renderColumn(c, n);
  }
  function removeNode(name) {
    const c = cols.get(name);
    nodes.delete(name);
    nodesChanged = true;
    if (!c) return;
    cols.delete(name);
    c.el.remove();
    for (const k of cards.values()) if (k.col === c) { k.col = null; place(k); }
  }
  function upsertTask(t) {
    let k = cards.get(t.id);
    if (!k) cards.set(t.id, (k = makeCard(t)));
    renderCard(k, t);
    place(k);
    tasksChanged = true;
  }
  function removeTask(id) {
    const k = cards.get(id);
    if (!k) return;
    cards.delete(id);
    k.el.remove();
    if (k.col) k.col.dirty = true;
    tasksChanged = true;
  }

  function snapshot(v) {
    const t0 = performance.now();
    queue = [];
    nodes.clear();
    cols.clear();
    cards.clear();
    nodesEl.replaceChildren();
    setNow(v.now);
    for (const n of v.nodes) upsertNode(n);
    // Build the cards off-document, then attach each column once.
    const frags = new Map();
    for (const t of v.tasks) {
      const k = makeCard(t);
      cards.set(t.id, k);
      renderCard(k, t);
      const c = columnFor(t.node);
      k.col = c;
      let f = frags.get(c);
      if (!f) frags.set(c, (f = document.createDocumentFragment()));
      f.appendChild(k.el);
    }
    for (const [c, f] of frags) c.list.appendChild(f);
    for (const c of cols.values()) sortColumn(c);
    orderColumns();
    version = v.version;
    nodesChanged = false;
    summarise();
    stats.snapshots++;
    stats.version = version;
    stats.snapshotMs = performance.now() - t0;
    document.body.dataset.version = String(version);
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(flush);
  }
  function flush() {
    frame = 0;
    const t0 = performance.now();
    const batch = queue;
    queue = [];
    for (const d of batch) {
      if (d.version <= version) continue; // already in the snapshot
      if (d.version !== version + 1) { // a gap: start again from a snapshot
        reconnect();
        return;
      }
      setNow(d.now);
      for (const n of d.nodes || []) upsertNode(n);
      for (const t of d.tasks || []) upsertTask(t);
      for (const id of d.removedTasks || []) removeTask(id);
      for (const name of d.removedNodes || []) removeNode(name);
      version = d.version;
      stats.deltas++;
    }
    if (nodesChanged) {
      // A column came or went: cards waiting in "unassigned" may have their node now.
      for (const k of cards.values()) if (k.col && k.col.name !== k.t.node) place(k);
    }
    for (const c of cols.values()) if (c.dirty) sortColumn(c);
    if (nodesChanged || cols.has(UNASSIGNED)) orderColumns();
    nodesChanged = false;
    if (tasksChanged || batch.length) summarise();
    tasksChanged = false;
    stats.frames++;
    stats.version = version;
    stats.lastFrameMs = performance.now() - t0;
    stats.maxFrameMs = Math.max(stats.maxFrameMs, stats.lastFrameMs);
    document.body.dataset.version = String(version);
  }

  // ---- connection ----
  let es = null;
  function conn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    setText(c, text);
  }
  function connect() {
    es = new EventSource('api/events');
    es.addEventListener('open', () => conn('live', 'live'));
    es.addEventListener('error', () => conn(es.readyState === EventSource.CLOSED ? 'down' : 'connecting', 'reconnecting…'));
    es.addEventListener('snapshot', (e) => {
      conn('live', 'live');
      snapshot(JSON.parse(e.data));
    });
    es.addEventListener('delta', (e) => {
      queue.push(JSON.parse(e.data));
      schedule();
    });
    es.addEventListener('ping', (e) => setNow(JSON.parse(e.data).now));
  }
  function reconnect() {
    if (es) es.close();
    conn('connecting', 'reconnecting…');
    setTimeout(connect, 200);
  }

  // Ages move on by themselves: refresh them (and only them) every 5 seconds.
  setInterval(() => {
    requestAnimationFrame(() => {
      for (const k of cards.values()) setText(k.age, age(k.t.created));
    });
  }, 5000);

  readHash();
  $('ns').addEventListener('change', (e) => { filters.ns = e.target.value; filters.stack = ''; writeHash(); applyFilters(); });
  $('stack').addEventListener('change', (e) => { filters.stack = e.target.value; writeHash(); applyFilters(); });
  $('q').addEventListener('input', (e) => { filters.q = e.target.value.trim().toLowerCase(); writeHash(); applyFilters(); });
  window.addEventListener('hashchange', () => { readHash(); applyFilters(); });
  connect();
})();
