// truco inspector page. Plain browser JavaScript, no dependencies, served by the inspected
// process itself (runtime/inspector/server.ts). Data: JSON from /api/*, live updates from
// /api/stream (Server-Sent Events).
//
// The diagram is drawn as nested HTML boxes laid out by CSS (flex): a compound state's children
// wrap inside it, a parallel state's regions sit side by side. Each state lists its outgoing
// transitions as labelled chips ("LIVENESS.MISSED → suspect", "after suspectInterval",
// "always"); an SVG layer draws an arrow from each chip to its target box once the browser has
// laid the boxes out. A new snapshot only toggles classes (active states, enabled and taken
// transitions), so an update costs no layout work beyond repainting the arrows' colours.

const $ = (sel) => /** @type {HTMLElement} */ (document.querySelector(sel));
const enc = encodeURIComponent;

const ui = {
  selected: /** @type {string|null} */ (null),
  expanded: new Set(),
  limits: new Map(),
  query: '',
  charts: new Map(),
  shownChart: /** @type {string|null} */ (null),
  es: /** @type {EventSource|null} */ (null),
  view: null,
  treeToken: 0,
  treeTimer: 0,
  logCount: 0,
};

async function api(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function clock(t) {
  const d = new Date(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// ---- the actor tree ------------------------------------------------------------------------

function scheduleTree() {
  if (ui.treeTimer) return;
  ui.treeTimer = window.setTimeout(() => {
    ui.treeTimer = 0;
    void refreshTree();
  }, 60);
}

function rowEl(row, depth, extra) {
  const open = ui.expanded.has(row.uid);
  const twisty = el('button', { class: 'twisty', 'aria-label': open ? 'collapse' : 'expand', tabindex: -1 }, row.children > 0 ? (open ? '▾' : '▸') : '');
  if (row.children > 0) {
    twisty.addEventListener('click', (ev) => {
      ev.stopPropagation();
      if (ui.expanded.has(row.uid)) ui.expanded.delete(row.uid);
      else ui.expanded.add(row.uid);
      void refreshTree();
    });
  }
  const ended = row.status !== 'active';
  const e = el(
    'div',
    {
      class: `row${ui.selected === row.uid ? ' selected' : ''}`,
      role: 'treeitem',
      'data-uid': row.uid,
      'data-name': row.name,
      'data-kind': row.kind,
      'data-status': row.status,
      'data-state': row.state,
      'aria-expanded': row.children > 0 ? String(open) : undefined,
      title: extra ? `${extra} › ${row.name}` : row.name,
      onclick: () => select(row.uid),
    },
    twisty,
    el('span', { class: 'name' }, row.name),
    row.kind !== row.name ? el('span', { class: 'kind' }, row.kind) : null,
    row.children > 0 ? el('span', { class: 'count' }, `(${row.children})`) : null,
    el('span', { class: 'st' }, row.state),
    ended ? el('span', { class: 'badge ended' }, row.status) : null,
  );
  e.style.paddingLeft = `${8 + depth * 16}px`;
  return e;
}

async function addNode(out, row, depth, token) {
  out.push(rowEl(row, depth));
  if (row.children === 0 || !ui.expanded.has(row.uid)) return;
  const limit = ui.limits.get(row.uid) ?? 100;
  const r = await api(`/api/children?parent=${enc(row.uid)}&limit=${limit}`);
  if (token !== ui.treeToken) return;
  for (const c of r.rows) await addNode(out, c, depth + 1, token);
  if (r.matched > r.rows.length) out.push(moreButton(row.uid, limit, r.matched - r.rows.length));
}

function moreButton(uid, limit, hidden) {
  const onclick = () => {
    ui.limits.set(uid, limit + 100);
    void refreshTree();
  };
  return el('button', { class: 'more', onclick }, `show 100 more (${hidden} not shown)`);
}

async function refreshTree() {
  const token = ++ui.treeToken;
  const out = [];
  try {
    const q = ui.query.trim();
    if (q) {
      const r = await api(`/api/search?q=${enc(q)}&limit=200`);
      if (token !== ui.treeToken) return;
      out.push(el('div', { class: 'note' }, `${r.matched} match${r.matched === 1 ? '' : 'es'}${r.matched > r.rows.length ? `, first ${r.rows.length} shown` : ''}`));
      for (const row of r.rows) out.push(rowEl(row, 0, row.path.join(' › ')));
    } else {
      const limit = ui.limits.get('') ?? 100;
      const r = await api(`/api/children?limit=${limit}`);
      if (token !== ui.treeToken) return;
      if (r.rows.length === 0) out.push(el('div', { class: 'note' }, 'No actors yet.'));
      for (const row of r.rows) await addNode(out, row, 0, token);
      if (r.matched > r.rows.length) out.push(moreButton('', limit, r.matched - r.rows.length));
    }
  } catch (e) {
    out.push(el('div', { class: 'note' }, `cannot load the tree: ${e.message}`));
  }
  if (token !== ui.treeToken) return;
  $('#tree').replaceChildren(...out);
}

// ---- the diagram ---------------------------------------------------------------------------

function chipText(t, node) {
  const frag = [el('span', { class: 'ev' }, t.label)];
  if (t.guard) frag.push(el('span', { class: 'guard' }, ` [${t.guard}]`));
  if (t.targets.length === 0) frag.push(el('span', { class: 'to' }, ' (stays)'));
  else if (t.targets.length === 1 && t.targets[0] === node.id) frag.push(el('span', { class: 'to' }, t.reenter ? ' ↻ re-enter' : ' ↻'));
  else frag.push(el('span', { class: 'to' }, ` → ${t.targets.map(shortName).join(', ')}`));
  return frag;
}

function shortName(id) {
  const parts = id.split('.');
  return parts.length > 2 ? parts.slice(-2).join('.') : parts[parts.length - 1];
}

function stateBox(node, parent) {
  const isInitial = parent && parent.initial === node.id;
  const head = el('div', { class: 'head' }, isInitial ? el('span', { class: 'initial', title: 'initial state' }, '●') : null, el('span', { class: 'key' }, parent ? node.key : `#${node.id}`));
  const box = el('div', { class: `state ${node.type}`, 'data-id': node.id, title: node.description || undefined }, head);
  const meta = [];
  for (const inv of node.invoke) meta.push(`invoke ${inv.src}`);
  if (node.entry.length) meta.push(`entry / ${node.entry.join(', ')}`);
  if (node.exit.length) meta.push(`exit / ${node.exit.join(', ')}`);
  if (node.tags.length) meta.push(`tags ${node.tags.join(', ')}`);
  for (const m of meta) box.append(el('div', { class: 'meta' }, m));
  if (node.transitions.length) {
    const list = el('div', { class: 'transitions' });
    node.transitions.forEach((t, i) => {
      list.append(
        el(
          'div',
          {
            class: `tr ${t.kind}`,
            'data-source': node.id,
            'data-event': t.event,
            'data-targets': t.targets.join(' '),
            'data-index': i,
            title: t.actions.length ? `actions: ${t.actions.join(', ')}` : undefined,
          },
          ...chipText(t, node),
        ),
      );
    });
    box.append(list);
  }
  if (node.states.length) {
    const kids = el('div', { class: node.type === 'parallel' ? 'regions' : 'children' });
    for (const c of node.states) kids.append(stateBox(c, node));
    box.append(kids);
  }
  return box;
}

async function chartFor(key) {
  if (!ui.charts.has(key)) ui.charts.set(key, await api(`/api/chart?key=${enc(key)}`));
  return ui.charts.get(key);
}

const SVG = 'http://www.w3.org/2000/svg';

function drawArrows() {
  const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ ($('#arrows')));
  const wrap = $('#diagram-wrap');
  const base = wrap.getBoundingClientRect();
  const ox = wrap.scrollLeft - base.left;
  const oy = wrap.scrollTop - base.top;
  svg.setAttribute('width', String(wrap.scrollWidth));
  svg.setAttribute('height', String(wrap.scrollHeight));
  const paths = [];
  const boxes = new Map();
  for (const b of document.querySelectorAll('#diagram .state')) boxes.set(b.getAttribute('data-id'), b);
  for (const chip of document.querySelectorAll('#diagram .tr')) {
    const source = chip.getAttribute('data-source');
    const targets = (chip.getAttribute('data-targets') || '').split(' ').filter(Boolean);
    for (const target of targets) {
      if (target === source) continue;
      const box = boxes.get(target);
      if (!box) continue;
      const a = chip.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      const sx = a.right + ox;
      const sy = a.top + a.height / 2 + oy;
      // end on the side of the target box facing the chip
      let ex;
      let ey;
      if (b.left >= a.right) {
        ex = b.left + ox;
        ey = Math.min(Math.max(sy, b.top + oy + 10), b.bottom + oy - 10);
      } else if (b.right <= a.left) {
        ex = b.right + ox;
        ey = Math.min(Math.max(sy, b.top + oy + 10), b.bottom + oy - 10);
      } else if (b.top >= a.bottom) {
        ex = Math.min(Math.max(sx, b.left + ox + 10), b.right + ox - 10);
        ey = b.top + oy;
      } else {
        ex = Math.min(Math.max(sx, b.left + ox + 10), b.right + ox - 10);
        ey = b.bottom + oy;
      }
      const dx = Math.max(30, Math.abs(ex - sx) / 2);
      const d = `M${sx},${sy} C${sx + dx},${sy} ${ex - (ex > sx ? dx : -dx) / 2},${ey} ${ex},${ey}`;
      const cls = chip.classList.contains('taken') ? 'taken' : chip.classList.contains('enabled') ? 'live' : '';
      const p = document.createElementNS(SVG, 'path');
      p.setAttribute('d', d);
      if (cls) p.setAttribute('class', cls);
      paths.push(p);
      const c = document.createElementNS(SVG, 'circle');
      c.setAttribute('cx', String(ex));
      c.setAttribute('cy', String(ey));
      c.setAttribute('r', '3');
      c.setAttribute('class', `head ${cls}`);
      paths.push(c);
    }
  }
  svg.replaceChildren(...paths);
}

let arrowFrame = 0;
function scheduleArrows() {
  if (arrowFrame) return;
  arrowFrame = requestAnimationFrame(() => {
    arrowFrame = 0;
    drawArrows();
  });
}

function highlight(view) {
  const diagram = $('#diagram');
  const active = new Set(view.active);
  // the root is always active: highlighting it would paint the whole chart
  const rootId = diagram.firstElementChild ? diagram.firstElementChild.getAttribute('data-id') : null;
  for (const b of diagram.querySelectorAll('.state')) {
    const id = b.getAttribute('data-id');
    b.classList.toggle('active', id !== rootId && active.has(id));
  }
  for (const c of diagram.querySelectorAll('.tr')) c.classList.toggle('enabled', active.has(c.getAttribute('data-source')) && view.status === 'active');
  for (const t of view.taken || []) {
    for (const c of diagram.querySelectorAll('.tr')) {
      if (
        c.getAttribute('data-source') === t.source &&
        c.getAttribute('data-event') === (t.event === '' ? 'always' : t.event) &&
        c.getAttribute('data-targets') === t.targets.join(' ')
      ) {
        c.classList.add('taken');
        window.setTimeout(() => {
          c.classList.remove('taken');
          scheduleArrows();
        }, 1200);
      }
    }
  }
  diagram.classList.toggle('ended', view.status !== 'active');
  diagram.dataset.actor = view.uid;
  diagram.dataset.status = view.status;
  diagram.dataset.state = view.state;
  scheduleArrows();
}

// ---- the selected actor --------------------------------------------------------------------

function showHead(view) {
  const status = view.status === 'active' ? 'running' : `${view.status}${view.endedAt ? ` at ${clock(view.endedAt)}` : ''}`;
  $('#actor-head').className = '';
  $('#actor-head').replaceChildren(
    el('div', { class: 'title' }, view.name, ' ', el('span', { class: 'badge' }, view.kind), ' ', view.status !== 'active' ? el('span', { class: 'badge ended' }, view.status) : null),
    el('div', { class: 'meta' }, `state ${view.state || '—'} · ${status} · started ${clock(view.startedAt)} · ${view.children} child actor${view.children === 1 ? '' : 's'}`),
  );
}

function showContext(view) {
  const parts = {};
  if (view.chart) parts.context = view.context;
  if ('input' in view) parts.input = view.input;
  if ('output' in view) parts.output = view.output;
  if ('error' in view) parts.error = view.error;
  const text = view.chart && Object.keys(parts).length === 1 ? JSON.stringify(view.context, null, 2) : JSON.stringify(parts, null, 2);
  const pre = $('#context');
  pre.className = '';
  if (pre.textContent !== text) pre.textContent = text;
}

async function showView(view) {
  if (view.uid !== ui.selected) return;
  ui.view = view;
  document.body.dataset.latency = String(Math.max(0, Date.now() - view.t));
  showHead(view);
  showContext(view);
  if (view.chart) {
    if (ui.shownChart !== view.chart) {
      const chart = await chartFor(view.chart);
      if (view.uid !== ui.selected) return;
      $('#diagram').replaceChildren(stateBox(chart.root, null));
      ui.shownChart = view.chart;
    }
  } else {
    ui.shownChart = null;
    $('#diagram').replaceChildren(el('div', { class: 'nochart' }, `${view.kind}: not a state machine (status ${view.status})`));
  }
  highlight(view);
}

function logItem(e) {
  const time = el('span', { class: 't' }, clock(e.t));
  if (e.kind === 'state') return el('li', { class: 'state-change' }, time, `→ ${e.type}`);
  if (e.kind === 'status') return el('li', { class: 'status-change' }, time, `■ ${e.type}`);
  const payload = e.event ? { ...e.event } : {};
  delete payload.type;
  const text = Object.keys(payload).length ? JSON.stringify(payload) : '';
  return el('li', { class: 'event' }, time, e.type, e.source ? el('span', { class: 'src' }, ` from ${e.source}`) : null, text ? el('span', { class: 'payload' }, text.length > 400 ? `${text.slice(0, 400)}…` : text) : null);
}

function addLog(entries, reset) {
  const ol = $('#log');
  if (reset) {
    ol.replaceChildren();
    ui.logCount = 0;
  }
  for (const e of entries) {
    ol.prepend(logItem(e));
    ui.logCount++;
  }
  while (ui.logCount > 500 && ol.lastChild) {
    ol.lastChild.remove();
    ui.logCount--;
  }
}

function setConn(state, text) {
  const c = $('#conn');
  c.dataset.state = state;
  c.textContent = text;
}

function openStream(uid) {
  ui.es?.close();
  const es = new EventSource(uid ? `/api/stream?id=${enc(uid)}` : '/api/stream');
  ui.es = es;
  es.onopen = () => setConn('live', 'live');
  es.onerror = () => setConn('lost', 'connection lost, retrying…');
  es.addEventListener('tree', (m) => {
    const s = JSON.parse(m.data);
    $('#stats').textContent = `${s.live} live actor${s.live === 1 ? '' : 's'} · ${s.ended} ended · ${s.events} events`;
    scheduleTree();
  });
  es.addEventListener('view', (m) => void showView(JSON.parse(m.data)));
  es.addEventListener('log', (m) => {
    const d = JSON.parse(m.data);
    addLog(d.entries, d.reset);
  });
  es.addEventListener('gone', () => {
    $('#actor-head').textContent = 'This actor ended and was forgotten.';
    $('#actor-head').className = 'muted';
    $('#diagram').dataset.status = 'gone';
  });
}

function select(uid) {
  ui.selected = uid;
  for (const r of document.querySelectorAll('#tree .row')) r.classList.toggle('selected', r.getAttribute('data-uid') === uid);
  history.replaceState(null, '', uid ? `#actor=${enc(uid)}` : '#');
  addLog([], true);
  openStream(uid);
}

// ---- start ---------------------------------------------------------------------------------

$('#search').addEventListener('input', (e) => {
  ui.query = /** @type {HTMLInputElement} */ (e.target).value;
  void refreshTree();
});
window.addEventListener('resize', scheduleArrows);
$('#diagram-wrap').addEventListener('scroll', scheduleArrows);
new ResizeObserver(scheduleArrows).observe($('#diagram'));

api('/api/info')
  .then((info) => {
    $('#title').textContent = info.title;
    document.title = `${info.title} · truco inspector`;
  })
  .catch(() => {});

const fromHash = /^#actor=(.+)$/.exec(location.hash);
if (fromHash && fromHash[1]) select(decodeURIComponent(fromHash[1]));
else openStream(null);
void refreshTree();
