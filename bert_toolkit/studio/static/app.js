// BERT Studio front-end: hash router + views for the JSON API in bert_toolkit/studio/server.py.
// Plain ES2017, no libraries. Every server string goes into the page through
// textContent / setAttribute (see el()), never as HTML. Every word of the
// page goes through t() (i18n.js, loaded first): English, or the Chinese
// of its catalog when the page is in Chinese.
'use strict';
(function () {

  // ---------------------------------------------------------------- helpers

  const CSRF = (document.querySelector('meta[name="studio-csrf"]') || {}).content || '';
  const ACTIVE = ['queued', 'running'];          // statuses that keep a page polling
  const POLL_MS = 2000;
  const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed',
                   '#0891b2', '#db2777', '#4b5563'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const I18N = window.StudioI18n;
  const t = I18N.t;
  const chinese = I18N.chinese;

  function $(sel, root) { return (root || document).querySelector(sel); }

  // Apply attributes to a node: "class", "text", "on<event>" handlers, DOM
  // properties (value/checked/disabled/hidden/selected) and plain attributes.
  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false && k.indexOf('data-') !== 0 && !(k in PROPS)) return;
      if (k === 'text') node.textContent = String(v);
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
      else if (k in PROPS) node[k] = v;
      else node.setAttribute(k, String(v));
    });
  }
  const PROPS = {value: 1, checked: 1, disabled: 1, hidden: 1, selected: 1};

  // Create an HTML element; children may be nodes, strings (as text) or null.
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  // Create an SVG element (same calling convention as el()).
  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function append(node, children) {
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // Re-fill `node` with build() only when `sig` changed: keeps elements stable
  // (no stale references, no lost focus) when a poll brings the same data.
  function patch(node, sig, build) {
    if (node.dataset.sig === sig) return false;
    node.dataset.sig = sig;
    clear(node);
    append(node, build());
    return true;
  }

  // Numbers the way Python prints them where it matters (5e-05, not 0.00005).
  function pyNum(v) {
    if (typeof v !== 'number' || !isFinite(v) || Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a < 1e-4 || a >= 1e16) {
      const m = v.toExponential().match(/^(-?[\d.]+)e([+-])(\d+)$/);
      if (m) return m[1] + 'e' + m[2] + (m[3].length < 2 ? '0' : '') + m[3];
    }
    return String(v);
  }

  // Setting / form values as text.
  function fmtValue(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') return pyNum(v);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  // Metric values: integers as is, floats with 4 decimals.
  function fmtMetric(v) {
    if (typeof v !== 'number') return fmtValue(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) < 1e-3 && v !== 0 ? pyNum(v) : v.toFixed(4);
  }

  function fmtDuration(s) {
    if (s === null || s === undefined || !isFinite(s)) return '';
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (h) return t('{0}h {1}m', h, m);
    if (m) return t('{0}m {1}s', m, sec);
    return t('{0}s', sec);
  }

  function fmtTime(unix) {
    if (!unix) return '';
    const d = new Date(unix * 1000);
    const locale = chinese() ? 'zh-CN' : [];
    return d.toLocaleDateString(locale) + ' ' + d.toLocaleTimeString(locale, {hour: '2-digit', minute: '2-digit'});
  }

  // Fraction done of a run (0..1) or null when unknown.
  function progressOf(run) {
    if (typeof run.progress === 'number') return Math.max(0, Math.min(1, run.progress));
    if (run.total_steps > 0 && typeof run.step === 'number') return Math.min(1, run.step / run.total_steps);
    return run.status === 'done' ? 1 : null;
  }

  // "120/625" (or "120" when the total is unknown).
  function stepText(run) {
    if (run.total_steps) return (run.step || 0) + '/' + run.total_steps;
    return typeof run.step === 'number' ? String(run.step) : '';
  }

  // A thin progress bar (div.bar > div.fill).
  function progressBar(frac) {
    const fill = el('div', {class: 'fill'});
    fill.style.width = (frac === null ? 0 : frac * 100).toFixed(1) + '%';
    return el('div', {class: 'bar' + (frac === null ? ' unknown' : '')}, fill);
  }

  function badge(status) {
    return el('span', {class: 'badge st-' + status, text: t(status)});
  }

  // A run's kind as the page names it: its name (classification, ner,
  // ...), or in Chinese its short title from the server (kind_zh).
  function kindName(run) { return (chinese() && run.kind_zh) || run.kind || ''; }

  // A split of a data folder (train, dev, test).
  function splitName(split) {
    return {train: t('train'), dev: t('dev'), test: t('test')}[split] || split;
  }

  // A file input in the page's words: a button and the names of the files
  // picked (the browser's own control speaks the browser's language). The
  // input stays in the page, unseen, and holds the files.
  function fileControl(input) {
    input.classList.add('file-input');
    const names = el('span', {class: 'muted file-names', text: t('No file chosen')});
    input.addEventListener('change', function () {
      const files = Array.from(input.files || []).map(function (f) { return f.name; });
      names.textContent = files.length ? files.join(t(', ')) : t('No file chosen');
    });
    return el('span', {class: 'file-control'}, [input,
      el('button', {type: 'button', text: input.multiple ? t('Choose files') : t('Choose a file'),
                    onclick: function () { input.click(); }}), names]);
  }

  // The width in a chart of a text of `latin` pixels a Latin letter: a CJK
  // character takes about twice that.
  function textWidth(text, latin) {
    let width = 0;
    for (const ch of String(text)) width += ch.codePointAt(0) >= 0x2e80 ? latin * 1.85 : latin;
    return width;
  }

  // A table head row of these column titles.
  function headRow(titles) {
    return el('thead', null, el('tr', null, titles.map(function (title) { return el('th', {text: title}); })));
  }

  // ---------------------------------------------------------------- error bar

  // Errors raised by background polls are cleared by the next good poll; errors
  // from user actions only by the next successful user action.
  let errorSource = null;

  function showError(msg, source) {
    const box = $('#error');
    box.textContent = msg;
    errorSource = source || 'user';
  }

  function clearError(source) {
    if (source === 'poll' && errorSource !== 'poll') return;
    $('#error').textContent = '';
    errorSource = null;
  }

  // ---------------------------------------------------------------- fetch wrapper

  // api('GET', '/api/runs') / api('POST', path, body). Shows {"error"} replies in
  // #error and throws; clears #error on success. opts.source: 'user' | 'poll'.
  async function api(method, path, body, opts) {
    const source = (opts && opts.source) || 'user';
    const init = {method: method, headers: {'Accept': 'application/json', 'X-Studio-Lang': I18N.language()},
                  credentials: 'same-origin'};
    if (method !== 'GET') {
      init.headers['X-Studio-Csrf'] = CSRF;
      if (opts && opts.raw) {          // a file's bytes (an upload)
        init.headers['Content-Type'] = 'application/octet-stream';
        init.body = body;
      } else {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body || {});
      }
    }
    let resp, text;
    try {
      resp = await fetch(path, init);
      text = await resp.text();
    } catch (e) {
      showError(t('Cannot reach the studio server ({0})', e.message), source);
      throw e;
    }
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!resp.ok || data === null) {
      const msg = data && data.error ? String(data.error)
        : t('HTTP {0} {1} on {2} {3}', resp.status, resp.statusText || '', method, path);
      showError(msg, source);
      const err = new Error(msg);
      err.status = resp.status;
      throw err;
    }
    clearError(source);
    return data;
  }

  // ---------------------------------------------------------------- router

  let viewToken = 0;        // bumped on every navigation; stale async work checks it
  const timers = new Set(); // pending poll timers of the current view

  // setTimeout that is cancelled when the view changes.
  function later(fn, ms) {
    const token = viewToken;
    const timer = setTimeout(function () { timers.delete(timer); if (token === viewToken) fn(); }, ms);
    timers.add(timer);
    return timer;
  }
  function cancel(t) { if (t) { clearTimeout(t); timers.delete(t); } }

  // Render the view for location.hash into main#view.
  function route() {
    viewToken++;
    timers.forEach(clearTimeout);
    timers.clear();
    const view = clear($('#view'));
    const h = location.hash || '#/runs';
    let m, active = 'nav-runs';
    if (h === '#/new') { active = 'nav-new'; renderNew(view); }
    else if ((m = h.match(/^#\/run\/([^/]+)$/))) renderRun(view, decodeURIComponent(m[1]));
    else if ((m = h.match(/^#\/compare\/?(.*)$/))) {
      active = 'nav-compare';
      renderCompare(view, m[1].split(',').map(function (s) { return decodeURIComponent(s.trim()); }).filter(Boolean));
    } else renderRuns(view);
    ['nav-runs', 'nav-new', 'nav-compare'].forEach(function (id) {
      $('#' + id).classList.toggle('active', id === active);
    });
    window.scrollTo(0, 0);
  }

  // ---------------------------------------------------------------- compare picks

  // Runs ticked in the runs list (kept across reloads in sessionStorage).
  const picked = new Set(loadPicked());
  function loadPicked() {
    try { return JSON.parse(sessionStorage.getItem('studio-picked') || '[]'); } catch (e) { return []; }
  }
  function pickedIds() { return Array.from(picked); }
  function compareHash() { return '#/compare/' + pickedIds().map(encodeURIComponent).join(','); }

  // Sync nav#nav-compare and button#compare-selected with the ticked runs.
  function updateCompareControls() {
    try { sessionStorage.setItem('studio-picked', JSON.stringify(pickedIds())); } catch (e) { /* ignore */ }
    const enough = picked.size >= 2;
    const nav = $('#nav-compare');
    nav.setAttribute('href', compareHash());
    nav.classList.toggle('disabled', !enough);
    nav.setAttribute('aria-disabled', enough ? 'false' : 'true');
    const btn = $('#compare-selected');
    if (btn) {
      btn.disabled = !enough;
      btn.textContent = t('Compare selected ({0})', picked.size);
    }
  }

  // ---------------------------------------------------------------- runs list

  // #/runs: table#runs, refreshed every 2 s while shown.
  function renderRuns(view) {
    const tbody = el('tbody');
    const table = el('table', {id: 'runs', class: 'grid'}, [
      headRow(['', t('Run'), t('Kind'), t('Status'), t('Progress'), t('ETA'), t('Metric'), t('Created'), '']),
      tbody]);
    // The filter: words that must each be in a run's name, id, kind,
    // status or tags; archived runs only when asked for.
    const filter = el('input', {id: 'runs-filter', type: 'search', value: runsFilter.text,
                                placeholder: t('Filter: name, id, tag, kind, status')});
    const archived = el('input', {id: 'show-archived', type: 'checkbox', checked: runsFilter.archived});
    let lastRuns = [];
    const redraw = function () {
      runsFilter.text = filter.value;
      runsFilter.archived = archived.checked;
      updateRunsTable(tbody, lastRuns, function () { refresh('user'); });
    };
    filter.addEventListener('input', redraw);
    archived.addEventListener('change', redraw);
    view.appendChild(el('div', {class: 'toolbar'}, [
      el('h2', {text: t('Runs')}),
      filter, el('label', {class: 'check-inline'}, [archived, el('span', {text: ' ' + t('archived')})]),
      el('span', {class: 'spacer'}),
      el('button', {id: 'compare-selected', type: 'button',
                    onclick: function () { if (picked.size >= 2) location.hash = compareHash(); }}),
      el('a', {class: 'button primary', href: '#/new', text: t('New run')})]));
    view.appendChild(el('div', {class: 'card flush'}, table));
    updateCompareControls();

    let pollTimer = null;
    // Fetch the list; one pending timer at most (a click may refresh early).
    async function refresh(source) {
      try {
        const data = await api('GET', '/api/runs', null, {source: source});
        lastRuns = data.runs || [];
        if (table.isConnected) updateRunsTable(tbody, lastRuns, function () { refresh('user'); });
      } catch (e) { /* shown in #error */ }
      if (!table.isConnected) return;
      cancel(pollTimer);
      pollTimer = later(function () { refresh('poll'); }, POLL_MS);
    }
    refresh('user');
  }

  const runsFilter = {text: '', archived: false};
  function runShown(run) {
    if (run.archived && !runsFilter.archived) return false;
    const hay = [run.name, run.id, run.kind, run.status, kindName(run), t(run.status)]
      .concat(run.tags || []).join(' ').toLowerCase();
    return runsFilter.text.toLowerCase().split(/\s+/).every(function (w) { return !w || hay.indexOf(w) >= 0; });
  }

  // Update table rows in place, keyed by run id (the runs the filter shows).
  function updateRunsTable(tbody, all, refresh) {
    const existing = new Set(all.map(function (r) { return r.id; }));
    picked.forEach(function (id) { if (!existing.has(id)) picked.delete(id); });
    updateCompareControls();
    const runs = all.filter(runShown);
    const ids = new Set(runs.map(function (r) { return r.id; }));
    const rows = {};
    Array.from(tbody.children).forEach(function (tr) {
      if (tr.dataset.id && ids.has(tr.dataset.id)) rows[tr.dataset.id] = tr; else tbody.removeChild(tr);
    });
    if (!runs.length) {
      tbody.appendChild(el('tr', {class: 'empty'}, el('td', {colspan: 9}, all.length
        ? [runsFilter.archived ? t('{0} runs, none matching the filter.', all.length)
          : t('{0} runs, none matching the filter (archived ones hidden).', all.length)]
        : [t('No runs yet.') + ' ', el('a', {href: '#/new', text: t('Start one.')})])));
      return;
    }
    runs.forEach(function (run, i) {
      const tr = rows[run.id] || newRunRow(run);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
      fillRunRow(tr, run, refresh);
    });
  }

  // Row skeleton: cells keep their identity across polls.
  function newRunRow(run) {
    const pick = el('input', {type: 'checkbox', class: 'compare-pick', 'data-id': run.id,
                              checked: picked.has(run.id), title: t('Tick for comparing'),
                              onchange: function () {
                                if (pick.checked) picked.add(run.id); else picked.delete(run.id);
                                updateCompareControls();
                              }});
    const link = el('a', {class: 'run-link', href: '#/run/' + encodeURIComponent(run.id)});
    return el('tr', {class: 'run-row', 'data-id': run.id}, [
      el('td', {class: 'pick'}, pick),
      el('td', {class: 'name'}, [link, el('span', {class: 'muted id', text: run.id}), el('span', {class: 'tags'})]),
      el('td', {class: 'kind'}), el('td', {class: 'status'}), el('td', {class: 'progress'}),
      el('td', {class: 'eta'}), el('td', {class: 'metric'}), el('td', {class: 'created'}),
      el('td', {class: 'actions'})]);
  }

  // Fill the cells of one runs-list row from a RUN_SUMMARY.
  function fillRunRow(tr, run, refresh) {
    const cell = function (c) { return $('td.' + c, tr); };
    $('a.run-link', tr).textContent = run.name || run.id;
    patch($('span.tags', tr), JSON.stringify([run.tags, run.archived]), function () {
      return tagChips(run);
    });
    cell('kind').textContent = kindName(run);
    patch(cell('status'), run.status, function () { return badge(run.status); });
    const frac = progressOf(run);
    patch(cell('progress'), frac + '|' + stepText(run), function () {
      return [progressBar(frac), el('span', {class: 'steps', text: stepText(run)})];
    });
    cell('eta').textContent = run.status === 'running' ? fmtDuration(run.eta_seconds) : '';
    cell('metric').textContent = run.metric ? run.metric.name + ' ' + fmtMetric(run.metric.value) : '';
    cell('created').textContent = fmtTime(run.created);
    const pick = $('input.compare-pick', tr);
    if (pick.checked !== picked.has(run.id)) pick.checked = picked.has(run.id);
    patch(cell('actions'), run.status + (run.resumable ? ' r' : ''), function () {
      return runActionButton(run, 'button', function () { refresh(); });
    });
  }

  // span.tag chips of a run's tags (and "archived").
  function tagChips(run) {
    return (run.tags || []).map(function (t) { return el('span', {class: 'tag', text: t}); })
      .concat(run.archived ? [el('span', {class: 'tag archived', text: t('archived')})] : []);
  }

  // button.stop / button.resume (or #stop / #resume on the run page) for a run.
  function runActionButton(run, mode, done) {
    let action = null;
    if (ACTIVE.indexOf(run.status) >= 0) action = 'stop';
    else if (run.resumable) action = 'resume';   // not a run an error: line stopped
    if (!action) return null;
    const attrs = {type: 'button', text: action === 'stop' ? t('Stop') : t('Resume')};
    if (mode === 'button') attrs.class = action; else { attrs.id = action; attrs.class = action; }
    attrs.onclick = async function () {
      btn.disabled = true;
      try {
        const summary = await api('POST', '/api/runs/' + encodeURIComponent(run.id) + '/' + action, {});
        done(summary);
      } catch (e) { btn.disabled = false; }
    };
    const btn = el('button', attrs);
    return btn;
  }

  // ---------------------------------------------------------------- new-run form

  // #/new: selects, one input per field, live command preview, start button.
  async function renderNew(view) {
    const token = viewToken;
    view.appendChild(el('h2', {text: t('New run')}));
    let opts;
    try { opts = await api('GET', '/api/options'); } catch (e) {
      view.appendChild(el('p', {class: 'muted', text: t('Could not load the options.')}));
      return;
    }
    if (token !== viewToken) return;
    const defaults = opts.defaults || {};
    const fieldsByKind = opts.fields || {};

    // A <select> from a list; value/text picked by the given functions.
    function select(id, items, value, text, preset, emptyText) {
      const s = el('select', {id: id});
      if (!items.length) s.appendChild(el('option', {value: '', text: emptyText}));
      items.forEach(function (it) { s.appendChild(el('option', {value: value(it), text: text(it)})); });
      if (preset !== null && preset !== undefined && items.some(function (it) { return value(it) === preset; })) s.value = preset;
      return s;
    }

    const kinds = opts.kinds || [];
    function kindTakesTeacher(name) {
      return kinds.some(function (k) { return k.name === name && k.teacher; });
    }
    const kindSel = select('kind', kinds, function (k) { return k.name; },
      function (k) { return kindTitle(k) + (k.script ? '  (' + k.script + ')' : ''); }, defaults.kind, t('(none)'));
    const dataSel = select('data', opts.data || [], function (d) { return d.path; },
      function (d) { return d.name + ' — ' + d.path + (d.files && d.files.length ? ' [' + d.files.join(', ') + ']' : ''); },
      defaults.data, t('(no data folders)'));
    const modelSel = select('model', opts.models || [], function (m) { return m.path; },
      function (m) { return m.name + ' — ' + m.path; }, defaults.model, t('(no model folders)'));
    const teacherSel = select('teacher', opts.teachers || [], function (r) { return r.path; },
      function (r) { return r.name + ' (' + r.id + ')'; }, defaults.teacher, t('(no finished runs)'));
    const nameInput = el('input', {id: 'run-name', type: 'text', placeholder: t('optional, e.g. sst2 minilm lr 3e-5')});
    const teacherRow = row(t('Teacher'), teacherSel, t('A finished classifier / NER run to distil.'));
    const mainFields = el('div', {class: 'fields'});
    const moreFields = el('div', {class: 'fields'});
    const more = el('details', {id: 'more-settings'}, [el('summary', {text: t('More settings')}), moreFields]);
    const command = el('pre', {id: 'command', class: 'command', text: '…'});
    const start = el('button', {id: 'start', type: 'button', class: 'primary', text: t('Start run')});

    function row(label, control, help, flag) {
      return el('div', {class: 'row'}, [
        el('label', {for: control.id}, [el('span', {text: label}),
          flag ? el('code', {class: 'flag', text: '--' + flag}) : null]), control,
        help ? el('div', {class: 'help', text: help}) : null]);
    }

    // Upload: split files (train.tsv, dev.tsv, ...) into data/<name>/.
    const uploadName = el('input', {id: 'upload-folder', type: 'text', placeholder: t('folder name, e.g. reviews')});
    const uploadFiles = el('input', {id: 'upload-files', type: 'file', multiple: true,
                                     accept: '.tsv,.csv,.jsonl,.json,.txt,.train,.dev,.test'});
    const uploadBtn = el('button', {id: 'upload', type: 'button', text: t('Upload')});
    const uploadNote = el('span', {id: 'upload-note', class: 'muted note'});
    const preview = el('div', {id: 'data-preview', class: 'data-preview'});
    uploadBtn.addEventListener('click', async function () {
      const name = uploadName.value.trim();
      const files = Array.from(uploadFiles.files || []);
      if (!name || !files.length) { uploadNote.textContent = t('Name a folder and pick its split files.'); return; }
      uploadBtn.disabled = true;
      let done = 0;
      for (const f of files) {
        try {
          await api('POST', '/api/upload?folder=' + encodeURIComponent(name) + '&file=' + encodeURIComponent(f.name),
                    f, {raw: true});
          done += 1;
        } catch (e) { break; }
      }
      uploadBtn.disabled = false;
      uploadNote.textContent = t('{0} of {1} files in data/{2}/', done, files.length, name);
      if (!done) return;
      let fresh;
      try { fresh = await api('GET', '/api/options'); } catch (e) { return; }
      opts.data = fresh.data || [];
      clear(dataSel);
      opts.data.forEach(function (d) {
        dataSel.appendChild(el('option', {value: d.path, text: d.name + ' — ' + d.path + (d.files && d.files.length ? ' [' + d.files.join(', ') + ']' : '')}));
      });
      if (opts.data.some(function (d) { return d.path === 'data/' + name; })) dataSel.value = 'data/' + name;
      followData();
      loadPreview();
      schedulePreview();
    });

    // The selected data folder as the kind's reader sees it.
    let dataPreviewSeq = 0;
    async function loadPreview() {
      const mine = ++dataPreviewSeq;
      if (!dataSel.value) { clear(preview); return; }
      const q = 'folder=' + encodeURIComponent(dataSel.value) + '&kind=' + encodeURIComponent(kindSel.value) +
        (modelSel.value ? '&model=' + encodeURIComponent(modelSel.value) : '');
      let data;
      try { data = await api('GET', '/api/data/preview?' + q, null, {source: 'poll'}); } catch (e) {
        if (mine === dataPreviewSeq) { clear(preview); preview.appendChild(el('p', {class: 'muted', text: t('No preview for this kind.')})); }
        return;
      }
      if (mine !== dataPreviewSeq) return;
      clear(preview);
      append(preview, dataPreviewView(data));
    }

    view.appendChild(el('div', {class: 'card form', id: 'data-card'}, [
      el('h3', {text: t('Data')}),
      el('div', {class: 'manage-row'}, [el('label', {for: 'upload-folder', text: t('Upload into data/')}), uploadName,
        fileControl(uploadFiles), uploadBtn, uploadNote]),
      el('p', {class: 'muted help', text: t('Split files named train, dev or test (.tsv, .csv, .jsonl, .json, .txt, or example.train ...), UTF-8, up to 50 MB each, 8 a folder.')}),
      preview]));
    view.appendChild(el('div', {class: 'card form'}, [
      el('div', {class: 'fields'}, [row(t('Kind'), kindSel), row(t('Data'), dataSel), row(t('Model'), modelSel),
                                     teacherRow, row(t('Run name'), nameInput)]),
      el('h3', {text: t('Settings')}), mainFields, more,
      el('h3', {text: t('Command')}), command,
      el('div', {class: 'actions'}, start)]));

    let fields = [];
    const initial = {};       // value each control started with: only changes are sent

    // A field's value as its control holds it ('' for none).
    function controlText(f, v) {
      if (f.type === 'bool') return !!v;
      if (v === null || v === undefined) return '';
      if (f.type === 'float' && Number.isInteger(v)) return fmtValue(v) + '.0';   // 3.0 as Python prints it
      return f.type === 'choice' ? String(v) : fmtValue(v);
    }

    // One control per field: checkbox (bool), select (choice) or text input.
    // It starts at the form's preset, if any, else the script's default.
    function control(f) {
      const id = 'f-' + f.name;
      const start = controlText(f, f.preset !== null && f.preset !== undefined ? f.preset : f.default);
      if (f.type === 'bool') return el('input', {id: id, type: 'checkbox', checked: start});
      if (f.type === 'choice') {
        const s = el('select', {id: id});
        const choices = (f.choices || []).map(String);
        if (choices.indexOf(controlText(f, f.default)) < 0)
          s.appendChild(el('option', {value: '', text: t('(default)')}));
        choices.forEach(function (c) { s.appendChild(el('option', {value: c, text: c})); });
        s.value = start;
        return s;
      }
      const empty = controlText(f, f.default) === '' ? t('not set ({0})', f.type) : f.type;
      return el('input', {id: id, type: 'text', spellcheck: 'false', value: start,
                          placeholder: empty, 'data-empty': empty});
    }
    function valueOf(f) {
      const c = document.getElementById('f-' + f.name);
      return f.type === 'bool' ? c.checked : c.value;
    }

    // (Re)build the field inputs for the selected kind.
    function renderFields() {
      const kind = kindSel.value;
      teacherRow.hidden = !kindTakesTeacher(kind);
      fields = fieldsByKind[kind] || [];
      clear(mainFields); clear(moreFields);
      Object.keys(initial).forEach(function (k) { delete initial[k]; });
      fields.forEach(function (f) {
        const c = control(f);
        const r = row(fieldTitle(f), c, chinese() && f.help_zh ? f.help_zh : f.help, f.name);
        if (f.type === 'bool') r.classList.add('check');
        (f.main ? mainFields : moreFields).appendChild(r);
        // what the script does unasked: a value that differs (a preset, a change) is sent
        initial[f.name] = controlText(f, f.default);
      });
      followData();
      if (!moreFields.children.length) moreFields.appendChild(el('p', {class: 'muted', text: t('No other settings.')}));
      more.hidden = !fields.some(function (f) { return !f.main; });
    }

    // A data folder with a test file: predict it too (a choice the user can undo).
    function followData() {
      const predict = document.getElementById('f-do_predict');
      const data = (opts.data || []).filter(function (d) { return d.path === dataSel.value; })[0];
      if (predict && data) predict.checked = !!data.test;
    }

    // Values guessed from the data folder (task, columns) show in their
    // empty fields, so the form says what the command will pass.
    function showGuessed(guessed) {
      fields.forEach(function (f) {
        const c = document.getElementById('f-' + f.name);
        if (!c || c.tagName !== 'INPUT' || f.type === 'bool') return;
        const g = (guessed || {})[f.name];
        c.placeholder = g !== undefined && g !== null ? t('guessed: {0}', g) : c.dataset.empty;
      });
      const task = document.getElementById('f-task');
      if (task && task.tagName === 'SELECT') {
        const blank = task.querySelector("option[value='']");
        const g = (guessed || {}).task;
        if (blank) blank.textContent = g ? t('(guessed: {0})', g) : t('(default)');
      }
    }

    // The body shared by /api/command and /api/runs.
    function body() {
      const values = {};
      fields.forEach(function (f) {
        const v = valueOf(f);
        // an emptied number field means "the default" (and is not an error while retyping)
        if (v === '' && (f.type === 'int' || f.type === 'float')) return;
        if (v !== initial[f.name]) values[f.name] = v;
      });
      return {kind: kindSel.value, data: dataSel.value || null, model: modelSel.value || null,
              teacher: kindTakesTeacher(kindSel.value) ? teacherSel.value || null : null,
              values: values};
    }

    // Debounced live preview of the command line; a number still being typed
    // ("1e-", "0.") gets a longer pause before the server judges it.
    let previewTimer = null, previewSeq = 0;
    function schedulePreview() {
      const typing = fields.some(function (f) {
        return (f.type === 'int' || f.type === 'float') && /[eE.+-]$/.test(String(valueOf(f)));
      });
      cancel(previewTimer);
      command.classList.add('stale');
      previewTimer = later(async function () {
        const seq = ++previewSeq;
        try {
          const data = await api('POST', '/api/command', body());
          if (seq !== previewSeq) return;
          command.textContent = data.command || (data.argv || []).join(' ');
          command.classList.remove('stale', 'invalid');
          showGuessed(data.guessed);
        } catch (e) {
          if (seq === previewSeq) command.classList.add('invalid');
        }
      }, typing ? 1200 : 200);
    }

    const form = view.lastChild;
    form.addEventListener('input', function (ev) { if (ev.target !== nameInput && ev.target !== kindSel) schedulePreview(); });
    form.addEventListener('change', function (ev) {
      if (ev.target === nameInput) return;
      if (ev.target === kindSel) renderFields();
      if (ev.target === dataSel) followData();
      if (ev.target === dataSel || ev.target === kindSel || ev.target === modelSel) loadPreview();
      schedulePreview();
    });

    start.addEventListener('click', async function () {
      start.disabled = true;
      start.textContent = t('Working...');
      const b = body();
      const name = nameInput.value.trim();
      if (name) b.name = name;
      try {
        const res = await api('POST', '/api/runs', b);
        location.hash = '#/run/' + encodeURIComponent(res.id);
      } catch (e) {
        start.disabled = false;
        start.textContent = t('Start run');
      }
    });

    // Values typed before a switch of language (the page is drawn again).
    const typed = takeKept();
    if (typed) restoreControls(view, typed);          // kind, data, model, teacher: before the fields
    renderFields();
    if (typed) restoreControls(view, typed);
    schedulePreview();
    loadPreview();
  }

  // A data preview (GET /api/data/preview): rows per split, columns, labels,
  // a WordPiece length histogram, and the problems the reader raised.
  function dataPreviewView(d) {
    const out = [];
    const splits = Object.keys(d.splits || {});
    out.push(el('p', {id: 'preview-summary', text: d.folder + ': ' + (splits.length
      ? splits.map(function (s) { return t('{0} {1} rows', splitName(s), d.splits[s]); }).join(t(', ')) : t('no split read')) +
      (d.reading && d.reading.task ? ' · ' + t('read as --task={0}', d.reading.task) : '') +
      ((d.columns || []).length ? ' · ' + t('columns: {0}', d.columns.join(', ')) : '')}));
    const labels = Object.keys(d.labels || {});
    if (labels.length) {
      out.push(el('table', {id: 'preview-labels', class: 'grid metrics'}, [
        headRow([t('train label'), t('count')]),
        el('tbody', null, labels.slice(0, 20).map(function (l) {
          return el('tr', {'data-label': l}, [el('th', {text: l}), el('td', {text: d.labels[l]})]);
        }))]));
    }
    const len = d.lengths || {};
    if ((len.histogram || []).length) {
      const max = Math.max.apply(null, len.histogram.map(function (b) { return b.count; })) || 1;
      let lo = 1;
      out.push(el('div', {id: 'preview-lengths', class: 'histogram'}, [
        el('div', {class: 'muted', text: t('WordPieces per train text ({0} measured): median {1}, 95% ≤ {2}, max {3}',
          len.measured, len.p50, len.p95, len.max)}),
        el('table', {class: 'grid bars'}, el('tbody', null, len.histogram.map(function (b) {
          const label = b.upto === null ? '> ' + (lo - 1) : lo + '–' + b.upto;
          if (b.upto !== null) lo = b.upto + 1;
          const bar = el('span', {class: 'bar'});
          bar.style.width = Math.round(b.count / max * 100) + '%';     // CSSOM: the CSP allows no style attribute
          return el('tr', null, [el('th', {text: label}), el('td', {class: 'bar-cell'}, bar), el('td', {text: b.count})]);
        })))]));
    }
    (d.problems || []).forEach(function (p) {
      out.push(el('p', {class: 'problem run-error', text: p}));
    });
    return out;
  }

  // A flag name as words: max_seq_length -> "Max sequence length",
  // do_predict -> "Predict".
  const WORDS = {num: 'number of', seq: 'sequence', lr: 'LR', crf: 'CRF', ner: 'NER', mlm: 'MLM',
                 fp16: 'FP16', xla: 'XLA', amp: 'AMP', tpu: 'TPU', f1: 'F1', a: 'A', b: 'B'};
  function fieldLabel(name) {
    const text = String(name).replace(/^do_/, '').split('_').map(function (w) { return WORDS[w] || w; }).join(' ');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // A form field's name in the page's language: Chinese from the server
  // (label_zh, bert_toolkit/studio/i18n.py), else fieldLabel().
  function fieldTitle(f) { return chinese() && f.label_zh ? f.label_zh : fieldLabel(f.name); }

  // A kind's title in the page's language (title_zh from the server).
  function kindTitle(k) { return (chinese() && k.title_zh) || k.title || k.name; }

  // ---------------------------------------------------------------- charts

  // A round tick step (1, 2 or 5 times a power of ten) giving about `count` ticks.
  function niceStep(lo, hi, count, minStep) {
    const raw = (hi - lo) / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    const step = (norm <= 1 + 1e-9 ? 1 : norm <= 2 + 1e-9 ? 2 : norm <= 5 + 1e-9 ? 5 : 10) * mag;
    return Math.max(minStep || 0, step);
  }

  // Multiples of step inside [lo, hi].
  function ticksIn(lo, hi, step) {
    const ticks = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }

  function fmtTick(v, step) {
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a < 1e-3 || a >= 1e6 || step < 1e-3) return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
    if (a >= 10000 && step >= 1000) return (v / 1000) + 'k';
    const dec = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    return v.toFixed(dec);
  }

  // Draw a line chart into an <svg>: axes, tick labels, one
  // <path class="series" data-name=...> per series, legend, or "no data yet".
  // series: [{name, label, points: [[x, y], ...], color, faint, noLegend}]:
  //   `faint` draws a thin pale line (the raw values under a smoothed one);
  //   `color` overrides the palette (a raw line and its smoothed line share one).
  // opts: {legend, xLabel, marks: [{x, label}]} - a mark is a dashed vertical
  //   line (<line class="mark" data-x=...>), e.g. the best dev step.
  // Hovering the plot shows a cursor at the nearest step and every series'
  // value there (<g class="hover">).
  function lineChart(node, series, opts) {
    opts = opts || {};
    // Draw at the on-screen width so text is 1:1 (the viewBox still scales on resize).
    const W = Math.max(260, Math.round(node.getBoundingClientRect().width) || 480), H = 230;
    clear(node);
    node.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    node.setAttribute('class', 'chart');
    let colorIndex = 0;
    series = series.map(function (s) {
      const pts = (s.points || []).filter(function (p) { return p[1] !== null && isFinite(p[0]) && isFinite(p[1]); })
        .sort(function (a, b) { return a[0] - b[0]; });
      const color = s.color || PALETTE[colorIndex++ % PALETTE.length];
      return {name: s.name, label: s.label || s.name, points: pts, color: color, faint: !!s.faint,
              noLegend: !!s.noLegend};
    });
    node._chart = null;
    const all = [].concat.apply([], series.map(function (s) { return s.points; }));
    if (!all.length) {
      node.appendChild(svg('rect', {class: 'frame', x: 0.5, y: 0.5, width: W - 1, height: H - 1, rx: 4}));
      node.appendChild(svg('text', {class: 'empty', x: W / 2, y: H / 2, 'text-anchor': 'middle', text: t('no data yet')}));
      return;
    }
    const marks = (opts.marks || []).filter(function (m) { return m && isFinite(m.x); });

    // Legend rows on top (shown for several series or when asked).
    const legend = svg('g', {class: 'legend'});
    const shown = series.filter(function (s) { return !s.noLegend; });
    let lx = 56, ly = 12;
    if (opts.legend || shown.length > 1) {
      shown.forEach(function (s) {
        const w = 26 + textWidth(s.label.length > 28 ? s.label.slice(0, 27) + '…' : s.label, 6.2);
        if (lx + w > W - 8 && lx > 56) { lx = 56; ly += 15; }
        legend.appendChild(svg('g', {class: 'legend-item', 'data-name': s.name}, [
          svg('line', {x1: lx, y1: ly - 4, x2: lx + 16, y2: ly - 4, stroke: s.color, 'stroke-width': 3}),
          svg('text', {x: lx + 20, y: ly, text: s.label.length > 28 ? s.label.slice(0, 27) + '…' : s.label})]));
        lx += w;
      });
      ly += 8;
    } else ly = 4;
    const pad = {l: 56, r: 14, t: ly + 6, b: 30};

    // Scales. A flat series gets a range around its value that stays at or
    // above 0 for values that cannot be negative (an all-zero F1 reads 0..1).
    const xs = all.map(function (p) { return p[0]; }).concat(marks.map(function (m) { return m.x; }));
    let x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    let y0 = Math.min.apply(null, all.map(function (p) { return p[1]; }));
    let y1 = Math.max.apply(null, all.map(function (p) { return p[1]; }));
    const intX = xs.every(function (p) { return Number.isInteger(p); });
    if (x0 === x1) { const d = Math.max(1, Math.round(Math.abs(x0) * 0.1)); x0 -= d; x1 += d; }
    if (y0 === y1) {
      const d = Math.abs(y0) * 0.1 || 1;
      y1 += d;
      y0 = y0 >= 0 ? Math.max(0, y0 - d) : y0 - d;
    }
    // y range widened to whole tick steps, so the first and last ticks are labelled
    const ystep = niceStep(y0, y1, 4);
    y0 = Math.floor(y0 / ystep + 1e-9) * ystep;
    y1 = Math.ceil(y1 / ystep - 1e-9) * ystep;
    const xstep = niceStep(x0, x1, 5, intX ? 1 : 0);
    const X = function (v) { return pad.l + (v - x0) / (x1 - x0) * (W - pad.l - pad.r); };
    const Y = function (v) { return H - pad.b - (v - y0) / (y1 - y0) * (H - pad.t - pad.b); };

    // Grid, axes and tick labels.
    const axes = svg('g', {class: 'axes'});
    ticksIn(y0, y1, ystep).forEach(function (v) {
      axes.appendChild(svg('line', {class: 'grid', x1: pad.l, x2: W - pad.r, y1: Y(v), y2: Y(v)}));
      axes.appendChild(svg('text', {class: 'tick', x: pad.l - 6, y: Y(v) + 3.5, 'text-anchor': 'end', text: fmtTick(v, ystep)}));
    });
    ticksIn(x0, x1, xstep).forEach(function (v) {
      axes.appendChild(svg('line', {class: 'tickmark', x1: X(v), x2: X(v), y1: H - pad.b, y2: H - pad.b + 4}));
      axes.appendChild(svg('text', {class: 'tick', x: X(v), y: H - pad.b + 15, 'text-anchor': 'middle', text: fmtTick(v, xstep)}));
    });
    axes.appendChild(svg('line', {class: 'axis', x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b}));
    axes.appendChild(svg('line', {class: 'axis', x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b}));
    axes.appendChild(svg('text', {class: 'axis-label', x: W - pad.r, y: H - 3, 'text-anchor': 'end', text: opts.xLabel || t('step')}));
    marks.forEach(function (m) {
      axes.appendChild(svg('line', {class: 'mark', 'data-x': m.x, x1: X(m.x), x2: X(m.x), y1: pad.t, y2: H - pad.b}));
      const right = X(m.x) > W - pad.r - 30;      // near the right edge: the label goes left of the line
      axes.appendChild(svg('text', {class: 'mark-label', x: X(m.x) + (right ? -3 : 3), y: pad.t + 9,
                                    'text-anchor': right ? 'end' : 'start', text: m.label || ''}));
    });
    node.appendChild(axes);
    node.appendChild(legend);

    // One path per series (+ dots with tooltips when there are few points).
    series.forEach(function (s) {
      if (!s.points.length) return;
      const d = s.points.map(function (p, i) { return (i ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); }).join(' ');
      node.appendChild(svg('path', {class: s.faint ? 'series faint' : 'series', 'data-name': s.name, d: d, stroke: s.color, fill: 'none'},
        svg('title', {text: s.label})));
      if (s.points.length <= 40 && !s.faint) {
        const dots = svg('g', {class: 'dots', fill: s.color});
        s.points.forEach(function (p) {
          dots.appendChild(svg('circle', {cx: X(p[0]).toFixed(1), cy: Y(p[1]).toFixed(1), r: 2.6}));
        });
        node.appendChild(dots);
      }
    });
    const hover = svg('g', {class: 'hover', visibility: 'hidden'});
    node.appendChild(hover);
    node._chart = {W: W, H: H, pad: pad, x0: x0, x1: x1, X: X, Y: Y, series: series, hover: hover,
                   xLabel: opts.xLabel || t('step')};
    if (!node.dataset.hoverable) {
      node.dataset.hoverable = '1';
      node.addEventListener('mousemove', function (ev) { chartHover(node, ev); });
      node.addEventListener('mouseleave', function () {
        if (node._chart) node._chart.hover.setAttribute('visibility', 'hidden');
      });
    }
  }

  // The hover cursor of a chart drawn by lineChart: the step nearest the
  // pointer, each series' value nearest that step (with its own step when
  // it has no point there).
  function chartHover(node, ev) {
    const c = node._chart;
    if (!c) return;
    const box = node.getBoundingClientRect();
    const sx = (ev.clientX - box.left) * c.W / (box.width || c.W);
    if (sx < c.pad.l || sx > c.W - c.pad.r) { c.hover.setAttribute('visibility', 'hidden'); return; }
    const target = c.x0 + (sx - c.pad.l) / (c.W - c.pad.l - c.pad.r) * (c.x1 - c.x0);
    const nearest = function (pts) {
      let best = null;
      pts.forEach(function (p) { if (!best || Math.abs(p[0] - target) < Math.abs(best[0] - target)) best = p; });
      return best;
    };
    const x = nearest([].concat.apply([], c.series.map(function (s) { return s.points; })))[0];
    const lines = [c.xLabel + ' ' + x];
    clear(c.hover);
    c.hover.appendChild(svg('line', {class: 'cursor', x1: c.X(x), x2: c.X(x), y1: c.pad.t, y2: c.H - c.pad.b}));
    c.series.forEach(function (s) {
      const p = nearest(s.points);
      if (!p) return;
      lines.push(s.label + ': ' + fmtMetric(p[1]) + (p[0] !== x ? ' (' + c.xLabel + ' ' + p[0] + ')' : ''));
      if (!s.faint) c.hover.appendChild(svg('circle', {cx: c.X(p[0]), cy: c.Y(p[1]), r: 3.5, fill: s.color}));
    });
    const width = 12 + Math.max.apply(null, lines.map(function (l) { return textWidth(l, 6.4); }));
    const left = c.X(x) + 10 + width > c.W ? c.X(x) - 10 - width : c.X(x) + 10;
    const tip = svg('g', {class: 'tip'}, [svg('rect', {x: left, y: c.pad.t, width: width, height: 8 + 15 * lines.length, rx: 3})]);
    lines.forEach(function (l, i) {
      tip.appendChild(svg('text', {x: left + 6, y: c.pad.t + 16 + 15 * i, text: l}));
    });
    c.hover.appendChild(tip);
    c.hover.setAttribute('visibility', 'visible');
  }

  // TensorBoard's smoothing: an exponential moving average of weight `w`
  // (0: none), debiased so the first points are not pulled towards 0.
  function smoothed(points, w) {
    let avg = 0;
    return points.map(function (p, i) {
      avg = avg * w + (1 - w) * p[1];
      return [p[0], avg / (1 - Math.pow(w, i + 1))];
    });
  }

  // The training loss as chart series: raw, or raw (faint) under its smoothed line.
  function lossSeries(name, label, points, w, color) {
    if (!w || points.length < 3) return [{name: name, label: label, points: points, color: color}];
    return [{name: name + '-raw', label: label + ' ' + t('(raw)'), points: points, faint: true, color: color, noLegend: true},
            {name: name, label: label, points: smoothed(points, w), color: color}];
  }

  // The smoothing weight of the loss charts (a range input), remembered.
  const SMOOTHING_KEY = 'studio.smoothing';
  function smoothingWeight() {
    const v = parseFloat(localStorage.getItem(SMOOTHING_KEY));
    return isFinite(v) && v >= 0 && v < 1 ? v : 0.6;
  }
  function smoothingControl(onchange) {
    const input = el('input', {id: 'smoothing', type: 'range', min: 0, max: 0.95, step: 0.05, value: smoothingWeight()});
    const shown = el('span', {class: 'muted', text: smoothingWeight().toFixed(2)});
    input.addEventListener('input', function () {
      localStorage.setItem(SMOOTHING_KEY, input.value);
      shown.textContent = (+input.value).toFixed(2);
      onchange();
    });
    return el('label', {class: 'smoothing'}, [el('span', {text: t('smoothing') + ' '}), input, shown]);
  }

  // Points [step, row[key]] of a curve (list of {step, ...}).
  function curvePoints(rows, key) {
    return (rows || []).filter(function (r) { return typeof r[key] === 'number'; })
      .map(function (r) { return [r.step, r[key]]; });
  }

  // Numeric keys (other than step) of the eval curve, in order of appearance.
  function evalKeys(rows) {
    const keys = [];
    (rows || []).forEach(function (r) {
      Object.keys(r).forEach(function (k) {
        if (k !== 'step' && typeof r[k] === 'number' && keys.indexOf(k) < 0) keys.push(k);
      });
    });
    return keys;
  }

  // ---------------------------------------------------------------- run page

  // #/run/<id>: header, progress, charts, report, try-it, command, settings,
  // export, log. Polls every 2 s while queued/running (once more when it ends).
  function renderRun(view, id) {
    const path = '/api/runs/' + encodeURIComponent(id);
    const title = el('h2', {id: 'run-title', text: id});
    const status = el('span', {id: 'run-status', class: 'badge'});
    const meta = el('span', {class: 'muted meta'});
    const actions = el('span', {class: 'run-actions'});
    const progress = el('div', {id: 'progress'});
    const failure = el('div', {id: 'run-error', class: 'run-error', hidden: true});
    const charts = {loss: svg('svg', {id: 'chart-loss', class: 'chart'}), lr: svg('svg', {id: 'chart-lr', class: 'chart'}),
      eval: svg('svg', {id: 'chart-eval', class: 'chart'})};
    const report = el('div', {id: 'report'});
    const errors = errorsPanel(path);
    const entityErrors = entityErrorsPanel(path);
    // A confusion-matrix cell shows its dev examples.
    report.addEventListener('click', function (ev) {
      const cell = ev.target.closest && ev.target.closest('td.count');
      if (cell && !errors.node.hidden) errors.show(cell.dataset.gold, cell.dataset.predicted);
    });
    const results = el('div', {id: 'results'});
    const cmd = el('pre', {id: 'run-command', class: 'command'});
    const tensorboard = el('pre', {id: 'tensorboard', class: 'command'});
    const settings = el('table', {id: 'run-settings', class: 'grid kv'});
    const log = el('pre', {id: 'log-tail', class: 'log'});
    const exportBtn = el('button', {id: 'export', type: 'button', text: t('Export model')});
    const exportPath = el('span', {id: 'export-path', class: 'path'});
    const exportNote = el('span', {id: 'export-note', class: 'muted note'});
    // A try exports the model when it has none: show that export's path.
    const tryPanel = tryItPanel(path, function () { load('poll'); });
    // A run of a kind that does not serve (pre-training): no Try, no Export;
    // its output is a model of the New run form.
    const notServing = el('p', {id: 'not-serving', class: 'muted', hidden: true,
      text: t('A pre-trained model does not predict labels: start a fine-tuning run from it (New run, Model: this run).')});

    view.appendChild(el('div', {class: 'run-head'}, [title, status, meta, el('span', {class: 'spacer'}), actions]));
    view.appendChild(failure);
    view.appendChild(progress);
    let lastRun = null;
    view.appendChild(el('div', {class: 'charts'}, [
      el('div', {class: 'card'}, [el('h3', {class: 'chart-head'}, [el('span', {text: t('Loss')}),
        smoothingControl(function () { if (lastRun) drawCharts(lastRun); })]), charts.loss]),
      el('div', {class: 'card'}, [el('h3', {text: t('Learning rate')}), charts.lr]),
      el('div', {class: 'card'}, [el('h3', {text: t('Evaluation')}), charts.eval])]));
    view.appendChild(el('div', {class: 'cols'}, [
      el('div', {class: 'card'}, [el('h3', {text: t('Report')}), report, errors.node, entityErrors.node, results]),
      el('div', {class: 'card', id: 'try-card'}, [el('h3', {text: t('Try it')}), tryPanel.node, notServing])]));
    const manage = managePanel(id, path, function () { load('user'); });
    view.appendChild(el('div', {class: 'cols'}, [
      el('div', {class: 'card'}, [el('h3', {text: t('Command')}), cmd,
        el('h3', {text: t('TensorBoard')}),
        el('p', {class: 'muted', text: t('The run\'s event files, in TensorBoard: type this in the workspace folder.')}),
        tensorboard, el('h3', {text: t('Settings')}), settings]),
      el('div', {class: 'card'}, [el('h3', {text: t('Export')}),
        el('p', {class: 'muted', text: t('A SavedModel for serving (serve.py / TF Serving).')}),
        el('div', {class: 'export-row'}, [exportBtn, exportPath, exportNote]),
        el('h3', {text: t('Log')}), log])]));
    view.appendChild(manage.node);

    // Export: working state on the button, then the path in span#export-path.
    let exporting = false;
    exportBtn.addEventListener('click', async function () {
      exporting = true;
      exportBtn.disabled = true;
      exportBtn.classList.add('working');
      exportBtn.textContent = t('Working... (export can take ~20 s)');
      exportPath.textContent = '';
      try {
        const res = await api('POST', path + '/export', {});
        exportPath.textContent = res.path;
      } catch (e) { /* shown in #error */ }
      exporting = false;
      exportBtn.disabled = !exportable;
      exportBtn.classList.remove('working');
      exportBtn.textContent = t('Export model');
    });

    let pollTimer = null, loaded = false, exportable = false;

    // Fetch the run and refresh the page; keep polling while it is active.
    async function load(source) {
      let run;
      try { run = await api('GET', path, null, {source: source}); } catch (e) {
        if (!loaded) { title.textContent = t('Run {0} not found', id); return; }
        cancel(pollTimer);
        pollTimer = later(function () { load('poll'); }, POLL_MS);
        return;
      }
      if (!title.isConnected) return;
      loaded = true;
      update(run);
      cancel(pollTimer);
      pollTimer = ACTIVE.indexOf(run.status) >= 0 ? later(function () { load('poll'); }, POLL_MS) : null;
    }

    // Put one RUN_DETAIL into the page (only the parts that changed).
    function update(run) {
      title.textContent = run.name || run.id;
      status.textContent = t(run.status);
      status.className = 'badge st-' + run.status;
      meta.textContent = [kindName(run), run.id, fmtTime(run.created),
        typeof run.exit_code === 'number' ? t('exit code {0}', run.exit_code) : ''].filter(Boolean).join(' · ');
      patch(actions, run.status + (run.resumable ? ' r' : ''), function () {
        return runActionButton(run, 'id', function () { load('user'); });
      });
      // A failed run: its cause first, and whether resuming can help.
      const cause = run.status !== 'failed' ? '' : (run.error
        ? run.error + (run.resumable ? '' : '\n' + t('Change what it names and start the run again: resuming would stop the same way.'))
        : t('The run failed (exit code {0}); the end of its log is below.', run.exit_code) +
          (run.resumable ? ' ' + t('Resume goes on from its last checkpoint.') : ''));
      failure.hidden = !cause;
      if (failure.textContent !== cause) failure.textContent = cause;
      const frac = progressOf(run);
      patch(progress, JSON.stringify([frac, run.step, run.total_steps, run.eta_seconds, run.status]), function () {
        const bits = [stepText(run) ? t('step {0}', stepText(run)) : t('not started'),
          frac !== null ? Math.round(frac * 100) + '%' : '',
          run.status === 'running' && run.eta_seconds !== null && run.eta_seconds !== undefined ? t('ETA {0}', fmtDuration(run.eta_seconds)) : '',
          run.metric ? run.metric.name + ' ' + fmtMetric(run.metric.value) : ''];
        return [progressBar(frac), el('span', {class: 'progress-text', text: bits.filter(Boolean).join(' · ')})];
      });
      const sig = JSON.stringify([run.curves, run.best]);
      if (charts.loss.dataset.sig !== sig) {
        charts.loss.dataset.sig = sig;
        drawCharts(run);
      }
      patch(report, JSON.stringify(run.report || null), function () { return reportView(run.report); });
      patch(results, JSON.stringify(run.results || null), function () {
        return run.results ? [el('h3', {text: t('Final dev results')}), evaluatedNote(run.evaluated),
          kvTable('results', run.results, fmtMetric)] : null;
      });
      cmd.textContent = run.command || (run.argv || []).join(' ');
      tensorboard.textContent = run.tensorboard || '';
      errors.update(run);
      entityErrors.update(run);
      manage.update(run);
      patch(settings, JSON.stringify(run.settings || {}), function () {
        return kvRows(run.settings || {}, fmtValue);
      });
      if (log.dataset.sig !== (run.log_tail || '')) {
        const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.dataset.sig = run.log_tail || '';
        log.textContent = run.log_tail || t('(no log yet)');
        if (atBottom || !loaded) log.scrollTop = log.scrollHeight;
      }
      if (!exporting && run.export && run.export.path) exportPath.textContent = run.export.path;
      exportable = !!run.exportable;
      if (!exporting) exportBtn.disabled = !exportable;
      exportNote.textContent = exportable ? '' : (run.status === 'failed'
        ? t('A failed run is not exported.') : t('Available once the run has a checkpoint.'));
      tryPanel.update(run);
      const serves = run.serves !== false;
      tryPanel.node.hidden = !serves;
      notServing.hidden = serves;
      exportBtn.hidden = !serves;
      if (!serves) exportNote.textContent = t('A pre-training run is not exported: fine-tune from it.');
    }

    // Loss (training, smoothed, with the dev losses), learning rate, and the
    // dev metrics; the best dev step marked on the loss and metric charts.
    function drawCharts(run) {
      lastRun = run;
      const curves = run.curves || {};
      const train = curves.train || [], ev = curves.eval || [];
      const marks = run.best ? [{x: run.best.step, label: t('best')}] : [];
      const keys = evalKeys(ev);
      // (a classifier reports its dev loss twice, as loss and eval_loss)
      const lossKeys = keys.filter(function (k) { return isLossKey(k) && !(k === 'eval_loss' && keys.indexOf('loss') >= 0); });
      lineChart(charts.loss, lossSeries('loss', t('train loss'), curvePoints(train, 'loss'), smoothingWeight(), PALETTE[0])
        .concat(lossKeys.map(function (k, i) {
          return {name: 'eval-' + k, label: t('dev {0}', k), points: curvePoints(ev, k), color: PALETTE[(i + 1) % PALETTE.length]};
        })), {marks: marks});
      lineChart(charts.lr, [{name: 'lr', points: curvePoints(train, 'lr')}]);
      lineChart(charts.eval, keys.filter(function (k) { return !isLossKey(k) && !/perplexity/.test(k); })
        .map(function (k) { return {name: k, points: curvePoints(ev, k)}; }), {legend: true, marks: marks});
    }

    const typed = takeKept();
    if (typed) restoreControls(view, typed);
    load('user');
  }

  // A loss, which goes on the loss chart's axis rather than the metrics'.
  function isLossKey(k) { return /(^|_)loss$/.test(k); }

  // div#errors: the run's dev examples by gold and predicted label (from
  // its dev_predictions.jsonl): the misclassified ones, surest first, or a
  // confusion-matrix cell's (a click on the cell).
  function errorsPanel(path) {
    const gold = el('select', {id: 'errors-gold'});
    const predicted = el('select', {id: 'errors-predicted'});
    const count = el('span', {id: 'errors-count', class: 'muted'});
    const tbody = el('tbody');
    const table = el('table', {id: 'dev-errors', class: 'grid errors'}, [
      headRow([t('gold'), t('predicted'), 'p', t('text')]),
      tbody]);
    const node = el('div', {id: 'errors', class: 'errors-panel', hidden: true}, [
      el('h3', {text: t('Dev examples')}),
      el('div', {class: 'errors-filter'}, [el('label', {for: 'errors-gold', text: t('gold')}), gold,
        el('label', {for: 'errors-predicted', text: t('predicted')}), predicted, count]),
      table]);
    let labelsSig = null, seq = 0;
    async function load() {
      const q = [];
      if (gold.value) q.push('gold=' + encodeURIComponent(gold.value));
      if (predicted.value) q.push('predicted=' + encodeURIComponent(predicted.value));
      const mine = ++seq;
      let data;
      try { data = await api('GET', path + '/predictions?' + q.concat('limit=50').join('&')); } catch (e) { return; }
      if (mine !== seq) return;
      const both = gold.value && predicted.value;
      const shown = data.total > data.rows.length ? t('{0} of {1}', data.rows.length, data.total) : String(data.total);
      count.textContent = (both ? t('{0} examples', shown) : t('{0} misclassified', shown)) +
        (data.total ? t(', surest first') : '');
      clear(tbody);
      data.rows.forEach(function (r) {
        tbody.appendChild(el('tr', {class: r.gold === r.predicted ? 'right' : 'wrong'}, [
          el('td', {text: r.gold}), el('td', {text: r.predicted}),
          el('td', {text: r.confidence === null || r.confidence === undefined ? '' : fmtMetric(r.confidence)}),
          el('td', {class: 'text', text: r.text_a + (r.text_b ? '  ‖  ' + r.text_b : '')})]));
      });
    }
    gold.addEventListener('change', load);
    predicted.addEventListener('change', load);
    return {node: node,
      show: function (g, p) { gold.value = g; predicted.value = p; load(); },
      update: function (run) {
        const labels = run.report && run.report.type === 'confusion' ? run.report.labels || [] : [];
        node.hidden = !(run.has_dev_predictions && labels.length);
        if (node.hidden || JSON.stringify(labels) === labelsSig) return;
        labelsSig = JSON.stringify(labels);
        [gold, predicted].forEach(function (s) {
          clear(s);
          s.appendChild(el('option', {value: '', text: t('any')}));
          labels.forEach(function (l) { s.appendChild(el('option', {value: l, text: l})); });
        });
        load();
      }};
  }

  // div#entity-errors: an NER run's dev entity errors (its
  // dev_predictions.jsonl): counts by type and kind (a click on a count
  // lists them), each with its sentence, the gold and predicted mentions.
  const ERROR_KINDS = ['missed', 'spurious', 'wrong_type', 'wrong_span'];
  function errorKindName(kind) {
    return {missed: t('missed'), spurious: t('spurious'), wrong_type: t('wrong type'), wrong_span: t('wrong span')}[kind] ||
      String(kind).replace('_', ' ');
  }
  function entityErrorsPanel(path) {
    const counts = el('table', {id: 'entity-error-counts', class: 'grid metrics'});
    const list = el('div', {id: 'entity-error-list'});
    const note = el('p', {id: 'entity-errors-note', class: 'muted'});
    const node = el('div', {id: 'entity-errors', class: 'errors-panel', hidden: true}, [
      el('h3', {text: t('Dev entity errors')}), counts, note, list]);
    let sig = null, seq = 0;
    const mention = function (e) { return e ? e.mention + ' (' + e.type + ')' : '—'; };
    // The sentence with the gold entity's span marked.
    function sentence(r) {
      const e = r.gold || r.predicted, text = r.text || '';
      if (!e) return el('span', {text: text});
      return el('span', null, [text.slice(0, e.start),
        el('mark', {class: 'ent', 'data-type': e.type, text: text.slice(e.start, e.end)}), text.slice(e.end)]);
    }
    async function show(type, kind) {
      const q = [];
      if (type) q.push('type=' + encodeURIComponent(type));
      if (kind) q.push('kind=' + encodeURIComponent(kind));
      const mine = ++seq;
      let data;
      try { data = await api('GET', path + '/entity_errors?' + q.concat('limit=50').join('&')); } catch (e) { return; }
      if (mine !== seq) return;
      note.textContent = t('{0}, {1}: {2}', type || t('every type'), kind ? errorKindName(kind) : t('every kind'),
        data.total > data.rows.length ? t('{0} of {1}', data.rows.length, data.total) : data.total);
      clear(list);
      list.appendChild(el('table', {class: 'grid errors'}, [
        headRow([t('kind'), t('gold'), t('predicted'), t('sentence')]),
        el('tbody', null, data.rows.map(function (r) {
          return el('tr', {'data-kind': r.kind}, [el('td', {text: errorKindName(r.kind)}), el('td', {text: mention(r.gold)}),
            el('td', {text: mention(r.predicted)}), el('td', {class: 'text'}, sentence(r))]);
        }))]));
    }
    counts.addEventListener('click', function (ev) {
      const cell = ev.target.closest && ev.target.closest('td[data-kind]');
      if (cell) show(cell.dataset.type, cell.dataset.kind);
    });
    return {node: node, update: async function (run) {
      node.hidden = !(run.has_dev_predictions && run.report && run.report.type === 'per_type');
      const now = JSON.stringify(run.report);
      if (node.hidden || now === sig) return;
      sig = now;
      let data;
      try { data = await api('GET', path + '/entity_errors?limit=1'); } catch (e) { return; }
      const types = Object.keys(data.counts || {}).sort();
      clear(counts);
      counts.appendChild(headRow([t('type')].concat(ERROR_KINDS.map(errorKindName))));
      counts.appendChild(el('tbody', null, types.length ? types.map(function (type) {
        return el('tr', null, [el('th', null, [entSwatch(type), type])].concat(ERROR_KINDS.map(function (k) {
          const n = (data.counts[type] || {})[k] || 0;
          return el('td', {class: n ? 'count' : 'count zero', 'data-type': type, 'data-kind': k, text: n});
        })));
      }) : el('tr', null, el('td', {colspan: 5, class: 'muted', text: t('No entity errors on dev.')}))));
      if (types.length) show(null, null);
    }};
  }

  // The run's card "Manage": rename, tags, archive, and delete after the
  // run id is typed again. Delete is for an ended run only (the server
  // says so too); afterwards the page goes to the runs list.
  function managePanel(id, path, reload) {
    const nameInput = el('input', {id: 'rename', type: 'text', maxlength: 100});
    const tagsInput = el('input', {id: 'tags', type: 'text', placeholder: t('baseline, lr-sweep')});
    const save = el('button', {id: 'manage-save', type: 'button', text: t('Save')});
    const archive = el('button', {id: 'archive', type: 'button'});
    const del = el('button', {id: 'delete', type: 'button', class: 'danger', text: t('Delete…')});
    const confirmInput = el('input', {id: 'delete-id', type: 'text', autocomplete: 'off', placeholder: id});
    const confirmBtn = el('button', {id: 'delete-confirm', type: 'button', class: 'danger', text: t('Delete files')});
    const confirmBox = el('div', {id: 'delete-box', class: 'delete-box', hidden: true}, [
      el('p', {text: t('This removes runs/{0} with its checkpoints, exports and log. Type {0} to confirm:', id)}),
      el('div', {class: 'export-row'}, [confirmInput, confirmBtn])]);
    const note = el('span', {id: 'manage-note', class: 'muted note'});
    let current = null;
    const parseTags = function () {
      return tagsInput.value.split(/[,，\s]+/).map(function (tag) { return tag.trim(); }).filter(Boolean);
    };
    async function post(action, body) {
      try { return await api('POST', path + '/' + action, body); } catch (e) { return null; }
    }
    save.addEventListener('click', async function () {
      const done = await post('edit', {name: nameInput.value, tags: parseTags()});
      if (done) { note.textContent = t('Saved.'); reload(); }
    });
    archive.addEventListener('click', async function () {
      if (await post('edit', {archived: !(current && current.archived)})) reload();
    });
    del.addEventListener('click', function () { confirmBox.hidden = !confirmBox.hidden; confirmInput.focus(); });
    confirmBtn.addEventListener('click', async function () {
      confirmBtn.disabled = true;
      if (await post('delete', {confirm: confirmInput.value.trim()})) location.hash = '#/runs';
      else confirmBtn.disabled = false;
    });
    const node = el('div', {class: 'card', id: 'manage'}, [el('h3', {text: t('Manage')}),
      el('div', {class: 'manage-row'}, [el('label', {for: 'rename', text: t('Name')}), nameInput,
        el('label', {for: 'tags', text: t('Tags')}), tagsInput, save, archive, del, note]),
      confirmBox]);
    return {node: node, update: function (run) {
      const first = current === null;
      current = run;
      if (first || document.activeElement !== nameInput) nameInput.value = run.name || run.id;
      if (first || document.activeElement !== tagsInput) tagsInput.value = (run.tags || []).join(', ');
      archive.textContent = run.archived ? t('Unarchive') : t('Archive');
      const ended = ACTIVE.indexOf(run.status) < 0;
      del.disabled = !ended;
      del.title = ended ? '' : t('Stop the run before deleting it.');
      if (!ended) confirmBox.hidden = true;
    }};
  }

  // p#evaluated: which checkpoint the final evaluation read.
  function evaluatedNote(ev) {
    if (!ev) return null;
    const text = ev.checkpoint === 'best'
      ? (ev.trained_steps ? t('The best dev checkpoint: step {0} of {1} trained.', ev.step, ev.trained_steps)
        : t('The best dev checkpoint: step {0}.', ev.step))
      : t('The last checkpoint: step {0}.', ev.step);
    return el('p', {id: 'evaluated', class: 'muted', text: text});
  }

  // Name/value rows for a table (settings, results).
  function kvRows(obj, fmt) {
    const keys = Object.keys(obj);
    if (!keys.length) return el('tr', null, el('td', {class: 'muted', text: t('none')}));
    return el('tbody', null, keys.map(function (k) {
      return el('tr', {'data-name': k}, [el('th', {text: k}), el('td', {text: fmt(obj[k])})]);
    }));
  }
  function kvTable(id, obj, fmt) { return el('table', {id: id, class: 'grid kv'}, kvRows(obj, fmt)); }

  // div#report content: confusion matrix + per-label table, or per-type table.
  function reportView(rep) {
    if (!rep) return el('p', {class: 'muted', text: t('No report yet (written after the dev evaluation).')});
    const num = function (v) { return typeof v === 'number' ? fmtMetric(v) : fmtValue(v); };
    if (rep.type === 'confusion') {
      const labels = rep.labels || [], matrix = rep.matrix || [];
      let max = 0;
      matrix.forEach(function (r) { r.forEach(function (c) { max = Math.max(max, c); }); });
      const conf = el('table', {id: 'confusion', class: 'grid confusion'}, [
        el('thead', null, el('tr', null, [el('th', {class: 'corner', text: t('gold \\ predicted')})]
          .concat(labels.map(function (l) { return el('th', {class: 'pred', text: l}); })))),
        el('tbody', null, labels.map(function (gold, i) {
          return el('tr', null, [el('th', {class: 'gold', text: gold})].concat((matrix[i] || []).map(function (c, j) {
            const shade = c > 0 && max > 0 ? Math.max(1, Math.ceil(c / max * 9)) : 0;
            return el('td', {class: 'count shade-' + shade + (i === j ? ' diag' : ''), 'data-count': c, text: c,
                             'data-gold': gold, 'data-predicted': labels[j],
                             title: t('gold {0}, predicted {1}: {2}', gold, labels[j], c)});
          })));
        }))]);
      const per = (rep.per_label || []).length ? el('table', {id: 'per-label', class: 'grid metrics'}, [
        headRow([t('label'), t('precision'), t('recall'), t('f1'), t('support')]),
        el('tbody', null, rep.per_label.map(function (r) {
          return el('tr', null, [el('th', {text: r.label}), el('td', {text: num(r.precision)}), el('td', {text: num(r.recall)}),
                                 el('td', {text: num(r.f1)}), el('td', {text: fmtValue(r.support)})]);
        }))]) : null;
      return [conf, per];
    }
    if (rep.type === 'per_type') {
      const rows = rep.rows || [], ov = rep.overall || {};
      const support = ov.support !== undefined ? ov.support
        : rows.reduce(function (a, r) { return a + (typeof r.support === 'number' ? r.support : 0); }, 0);
      return el('table', {id: 'per-type', class: 'grid metrics'}, [
        headRow([t('type'), t('precision'), t('recall'), t('f1'), t('support')]),
        el('tbody', null, rows.map(function (r) {
          return el('tr', {'data-type': r.type}, [el('th', null, [entSwatch(r.type), r.type]), el('td', {text: num(r.precision)}),
            el('td', {text: num(r.recall)}), el('td', {text: num(r.f1)}), el('td', {text: fmtValue(r.support)})]);
        }).concat(el('tr', {class: 'overall'}, [el('th', {text: t('overall')}), el('td', {text: num(ov.precision)}),
          el('td', {text: num(ov.recall)}), el('td', {text: num(ov.f1)}), el('td', {text: fmtValue(support)})])))]);
    }
    return el('pre', {class: 'command', text: JSON.stringify(rep, null, 2)});
  }

  // ---------------------------------------------------------------- try-it panel

  // Entity types get palette colours (CSS --ent-0..7) in order of first sight.
  const entColors = {PER: 0, LOC: 1, ORG: 2, MISC: 3};
  function entColor(type) {
    if (!(type in entColors)) entColors[type] = Object.keys(entColors).length % 8;
    return 'var(--ent-' + entColors[type] + ')';
  }
  function entSwatch(type) {
    const s = el('span', {class: 'ent-swatch'});
    s.style.background = entColor(type);
    return s;
  }

  // textarea#try-text, input#try-text-b, button#try, div#try-result.
  function tryItPanel(path, answered) {
    const text = el('textarea', {id: 'try-text', rows: 3, placeholder: t('Type a sentence…  (Ctrl+Enter to run)')});
    const textB = el('input', {id: 'try-text-b', type: 'text', hidden: true,
                               placeholder: t('Second sentence (optional, for sentence-pair tasks)')});
    const btn = el('button', {id: 'try', type: 'button', class: 'primary', text: t('Try')});
    const note = el('span', {class: 'muted note'});
    const result = el('div', {id: 'try-result'});
    let busy = false, canTry = false;

    async function run() {
      if (busy || !canTry) return;
      if (!text.value.trim()) { showError(t('Type some text to try.')); text.focus(); return; }
      busy = true;
      btn.disabled = true;
      btn.textContent = t('Working...');
      clear(result).appendChild(el('p', {class: 'muted working', text: t('Predicting… (the first try loads the model, ~20 s)')}));
      const body = {text: text.value};
      if (!textB.hidden && textB.value.trim()) body.text_b = textB.value;
      try {
        const res = await api('POST', path + '/try', body);
        clear(result);
        append(result, tryResultView(res, text.value));
        if (answered) answered();
      } catch (e) { clear(result); }
      busy = false;
      btn.disabled = !canTry;
      btn.textContent = t('Try');
    }
    btn.addEventListener('click', run);
    text.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) run(); });

    // A file of texts, one a line (text<TAB>text_b for pairs): its
    // predictions as a JSON-lines file to download.
    const file = el('input', {id: 'predict-file', type: 'file', accept: '.txt,.tsv'});
    const fileBtn = el('button', {id: 'predict-run', type: 'button', text: t('Predict the file')});
    const fileNote = el('span', {id: 'predict-note', class: 'muted note'});
    const download = el('a', {id: 'predict-download', hidden: true, text: t('Download')});
    let predicting = false;
    fileBtn.addEventListener('click', async function () {
      const f = (file.files || [])[0];
      if (!f || !canTry) { fileNote.textContent = canTry ? t('Pick a file first.') : ''; return; }
      fileBtn.disabled = true;
      predicting = true;          // a poll does not enable the button meanwhile
      download.hidden = true;
      fileNote.textContent = t('Predicting…');
      try {
        const res = await api('POST', path + '/predict_file', f, {raw: true});
        const name = res.file.split('/').pop();
        download.href = path + '/predictions/' + encodeURIComponent(name);
        download.setAttribute('download', '');
        download.hidden = false;
        fileNote.textContent = t('{0} predictions: {1}', res.rows, res.file);
        if (answered) answered();
      } catch (e) { fileNote.textContent = ''; }
      predicting = false;
      fileBtn.disabled = !canTry;
    });

    return {
      node: el('div', {class: 'try'}, [text, textB, el('div', {class: 'actions'}, [btn, note]), result,
        el('h4', {text: t('Predict a file')}),
        el('p', {class: 'muted help', text: t('UTF-8 text, one text a line (a pair: text<TAB>second text), up to 10,000 lines.')}),
        el('div', {class: 'manage-row'}, [fileControl(file), fileBtn, download, fileNote])]),
      update: function (run) {
        canTry = !!run.can_try;
        if (!predicting) fileBtn.disabled = !canTry;
        textB.hidden = !run.try_text_b;
        if (run.try_inputs) {
          const zh = chinese() && run.try_inputs_zh || [];
          text.placeholder = zh[0] || run.try_inputs[0];
          textB.placeholder = zh[1] || run.try_inputs[1];
        }
        if (!busy) btn.disabled = !canTry;
        note.textContent = canTry ? '' : t('Available once the run has a checkpoint.');
      }
    };
  }

  // Render a /try reply by its view: probability bars (labels) or highlighted entities.
  function tryResultView(res, sent) {
    if (res.view === 'labels') {
      const probs = res.probabilities || {};
      const labels = Object.keys(probs).sort(function (a, b) { return probs[b] - probs[a]; });
      return [el('p', {class: 'predicted'}, [t('Predicted: '), el('span', {id: 'try-label', text: res.label})]),
        el('div', {class: 'probs'}, labels.map(function (l) {
          const p = Number(probs[l]) || 0;
          const fill = el('div', {class: 'prob-fill'});
          fill.style.width = (Math.max(0, Math.min(1, p)) * 100).toFixed(1) + '%';
          return el('div', {class: 'prob-bar' + (l === String(res.label) ? ' top' : ''), 'data-label': l}, [
            el('span', {class: 'prob-label', text: l, title: l}), el('div', {class: 'prob-track'}, fill),
            el('span', {class: 'prob-value', text: p.toFixed(2)})]);
        }))];
    }
    if (res.view === 'entities') return nerView(typeof res.text === 'string' ? res.text : sent, res.entities || []);
    if (res.view === 'answer') return answerView(res);
    return el('pre', {class: 'command', text: JSON.stringify(res, null, 2)});
  }

  // A reading-comprehension answer: its text and score, and the context
  // with the answer in <mark id="try-answer-span"> when it was found there
  // (start: its code-point offset in the context, -1 when not found).
  function answerView(res) {
    const answer = typeof res.answer === 'string' ? res.answer : '';
    const out = [el('p', {class: 'predicted'}, [t('Answer: '),
      el('span', {id: 'try-answer', text: answer || t('(no answer)')}),
      el('span', {class: 'muted', text: '  ' + t('score {0}', (Number(res.score) || 0).toFixed(2))})])];
    const ctx = Array.from(typeof res.context === 'string' ? res.context : '');
    const n = Array.from(answer).length;
    if (Number.isInteger(res.start) && res.start >= 0 && n && res.start + n <= ctx.length) {
      out.push(el('p', {class: 'ner-text'}, [ctx.slice(0, res.start).join(''),
        el('mark', {id: 'try-answer-span', class: 'ent', text: ctx.slice(res.start, res.start + n).join('')}),
        ctx.slice(res.start + n).join('')]));
    }
    return out;
  }

  // The text with each entity in <mark class="ent ent-TYPE" data-type="TYPE">.
  // start/end are character (code point) offsets, end exclusive, as Python counts them.
  function nerView(text, entities) {
    const chars = Array.from(text);
    const ents = entities.filter(function (e) {
      return Number.isInteger(e.start) && Number.isInteger(e.end) && e.start >= 0 && e.end > e.start && e.end <= chars.length;
    }).sort(function (a, b) { return a.start - b.start || b.end - a.end; });
    const out = el('div', {class: 'ner-text'});
    const types = [];
    let pos = 0;
    ents.forEach(function (e) {
      if (e.start < pos) return;                       // overlapping: keep the first
      if (e.start > pos) out.appendChild(document.createTextNode(chars.slice(pos, e.start).join('')));
      const type = String(e.type);
      const mark = el('mark', {class: 'ent ent-' + type.replace(/[^A-Za-z0-9_-]/g, '_'), 'data-type': type,
                               title: type + (typeof e.score === 'number' ? ' ' + e.score.toFixed(2) : ''),
                               text: chars.slice(e.start, e.end).join('')});
      mark.style.setProperty('--ent', entColor(type));
      out.appendChild(mark);
      if (types.indexOf(type) < 0) types.push(type);
      pos = e.end;
    });
    if (pos < chars.length) out.appendChild(document.createTextNode(chars.slice(pos).join('')));
    const legend = types.length
      ? el('div', {class: 'ent-legend'}, types.map(function (t) { return el('span', {class: 'ent-key'}, [entSwatch(t), t]); }))
      : el('p', {class: 'muted', text: t('No entities found.')});
    return [out, legend];
  }

  // ---------------------------------------------------------------- compare page

  // #/compare/<id>,<id>...: settings (differing first), metrics, loss and eval charts.
  async function renderCompare(view, ids) {
    const token = viewToken;
    view.appendChild(el('h2', {text: t('Compare runs')}));
    if (ids.length < 2) {
      view.appendChild(el('p', {class: 'muted'}, [t('Tick at least two runs in the '),
        el('a', {href: '#/runs', text: t('runs list')}), t(', then press Compare.')]));
      if (!ids.length) return;
    }
    let data;
    try { data = await api('GET', '/api/compare?ids=' + ids.map(encodeURIComponent).join(',')); } catch (e) { return; }
    if (token !== viewToken) return;
    const runs = data.runs || [];
    const differ = data.differ || [];
    const head = function (first) {
      return el('thead', null, el('tr', null, [el('th', {text: first})].concat(runs.map(function (r) {
        return el('th', {'data-id': r.id}, [el('a', {href: '#/run/' + encodeURIComponent(r.id), text: r.name || r.id}),
          ' ', badge(r.status)]);
      }))));
    };

    // Settings: differing rows first (in "differ" order), then the rest.
    const keys = [];
    runs.forEach(function (r) { Object.keys(r.settings || {}).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); }); });
    const ordered = differ.concat(keys.filter(function (k) { return differ.indexOf(k) < 0; }));
    const settingsTable = el('table', {id: 'compare-settings', class: 'grid compare'}, [head(t('setting')),
      el('tbody', null, ordered.map(function (k) {
        return el('tr', {class: differ.indexOf(k) >= 0 ? 'differ' : null, 'data-name': k}, [el('th', {text: k})]
          .concat(runs.map(function (r) { return el('td', {text: fmtValue((r.settings || {})[k])}); })));
      }))]);

    // Metrics: one row per result key, best value marked.
    const mkeys = [];
    runs.forEach(function (r) { Object.keys(r.results || {}).forEach(function (k) { if (mkeys.indexOf(k) < 0) mkeys.push(k); }); });
    // The step each run's results come from (its best or last checkpoint).
    const stepRow = el('tr', {'data-name': 'evaluated', class: 'evaluated'}, [el('th', {text: t('evaluated at step')})].concat(
      runs.map(function (r) {
        const ev = r.evaluated;
        const which = ev && ({best: t('best'), last: t('last')}[ev.checkpoint] || ev.checkpoint);
        return el('td', {class: 'muted', text: ev ? t('{0} ({1})', ev.step, which) : '—'});
      })));
    const metricsTable = el('table', {id: 'compare-metrics', class: 'grid compare'}, [head(t('metric')),
      el('tbody', null, mkeys.length ? [stepRow].concat(mkeys.map(function (k) {
        const vals = runs.map(function (r) { return (r.results || {})[k]; });
        const nums = vals.filter(function (v) { return typeof v === 'number'; });
        const lower = /loss|perplexity|time|seconds/.test(k);
        const spread = nums.length > 1 && Math.min.apply(null, nums) !== Math.max.apply(null, nums);
        const best = spread && !/step/.test(k) ? (lower ? Math.min : Math.max).apply(null, nums) : null;
        return el('tr', {'data-name': k}, [el('th', {text: k})].concat(vals.map(function (v) {
          return el('td', {class: v === best ? 'best' : null, text: v === undefined ? '—' : fmtMetric(v)});
        })));
      })) : el('tr', null, el('td', {colspan: runs.length + 1, class: 'muted', text: t('No final results yet.')})))]);

    // Charts: train loss per run, and one chosen eval metric per run.
    const lossChart = svg('svg', {id: 'compare-chart-loss', class: 'chart'});
    const evalChart = svg('svg', {id: 'compare-chart-eval', class: 'chart'});
    const ekeys = [];
    runs.forEach(function (r) { evalKeys((r.curves || {}).eval).forEach(function (k) { if (ekeys.indexOf(k) < 0) ekeys.push(k); }); });
    const preferred = ['accuracy', 'f1', 'macro_f1', 'micro_f1', 'matthews_corr'].filter(function (k) { return ekeys.indexOf(k) >= 0; })[0]
      || ekeys.filter(function (k) { return !/loss/.test(k); })[0] || ekeys[0] || '';
    const metricSel = el('select', {id: 'compare-metric'}, ekeys.map(function (k) { return el('option', {value: k, text: k}); }));
    metricSel.value = preferred;
    const drawEval = function () {
      lineChart(evalChart, runs.map(function (r) {
        return {name: r.id, label: r.name || r.id, points: curvePoints((r.curves || {}).eval, metricSel.value)};
      }), {legend: true});
    };
    metricSel.addEventListener('change', drawEval);

    const drawLoss = function () {
      lineChart(lossChart, [].concat.apply([], runs.map(function (r, i) {
        return lossSeries(r.id, r.name || r.id, curvePoints((r.curves || {}).train, 'loss'), smoothingWeight(),
                          PALETTE[i % PALETTE.length]);
      })), {legend: true});
    };
    view.appendChild(el('div', {class: 'charts two'}, [
      el('div', {class: 'card'}, [el('h3', {class: 'chart-head'}, [el('span', {text: t('Training loss')}),
        smoothingControl(drawLoss)]), lossChart]),
      el('div', {class: 'card'}, [el('h3', null, [t('Evaluation: '), metricSel]), evalChart])]));
    view.appendChild(el('div', {class: 'card'}, [el('h3', {text: t('Final dev results')}), metricsTable]));
    view.appendChild(el('div', {class: 'card'}, [el('h3', null, [t('Settings') + ' ',
      el('span', {class: 'muted', text: differ.length ? t('({0} differ, shown first)', differ.length) : t('(all equal)')})]),
      settingsTable]));
    const typed = takeKept();
    if (typed) restoreControls(view, typed);
    drawLoss();
    drawEval();
  }

  // ---------------------------------------------------------------- language

  // The page's fixed words (index.html's nav and error bar, the title).
  function applyLanguage() {
    document.documentElement.lang = I18N.language();
    document.title = t('BERT Studio');
    $('#nav-runs').textContent = t('Runs');
    $('#nav-new').textContent = t('New run');
    $('#nav-compare').textContent = t('Compare');
    $('#nav-compare').title = t('Tick at least two runs in the runs list');
    $('#error').title = t('Click to dismiss');
    const sw = $('#lang');
    sw.textContent = I18N.otherName();
    sw.title = t('Switch the page to another language');
    sw.setAttribute('lang', I18N.other());
    updateCompareControls();
  }

  // Values typed into the view's fields, carried over when the language
  // switch draws the view again ({id: value}; checkboxes true/false).
  let kept = null;          // {token: the view's viewToken, values}
  function takeKept() {
    if (!kept || kept.token !== viewToken) return null;
    const values = kept.values;
    kept = null;
    return values;
  }
  function controlsOf(root) {
    const values = {};
    root.querySelectorAll('input[id], select[id], textarea[id]').forEach(function (c) {
      if (c.type === 'file') return;
      values[c.id] = c.type === 'checkbox' ? c.checked : c.value;
    });
    return values;
  }
  function restoreControls(root, values) {
    Object.keys(values).forEach(function (id) {
      const c = document.getElementById(id);
      if (!c || !root.contains(c) || c.type === 'file') return;
      if (c.type === 'checkbox') c.checked = values[id];
      else if (c.tagName !== 'SELECT' || Array.from(c.options).some(function (o) { return o.value === values[id]; })) c.value = values[id];
    });
  }

  // The switch in the nav: the other language, remembered (localStorage);
  // the view is drawn again in place, its typed values kept.
  $('#lang').addEventListener('click', function () {
    const values = controlsOf($('#view'));
    const y = window.scrollY;
    I18N.setLanguage(I18N.other());
    applyLanguage();
    kept = {token: viewToken + 1, values: values};      // route() draws the view under the next token
    route();
    window.scrollTo(0, y);
  });

  // ---------------------------------------------------------------- start

  $('#nav-compare').addEventListener('click', function (ev) {
    if (picked.size < 2) ev.preventDefault();
  });
  $('#error').addEventListener('click', function () { clearError('user'); });
  window.addEventListener('hashchange', route);
  if (!location.hash) history.replaceState(null, '', '#/runs');
  applyLanguage();
  route();
})();
