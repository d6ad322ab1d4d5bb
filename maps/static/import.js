/* The import page: upload a file (X-CSRF-Token), poll the import for its progress, show the
   preview (counts, rejected rows in the page's language, the rows on a map), then confirm or
   cancel; administrators see the recent imports and may undo one. */
(function () {
  'use strict';
  const C = window.AMAYESH_OFFICE || { messages: {} };
  const M = C.messages;
  // The service's answers in the page's language (common.js problemText, the catalogue's words).
  const A = window.Amayesh;
  A.C = { lang: C.lang, t: C.t || {} };
  const fa = C.lang === 'fa';
  const csrf = () => { const m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; };
  const digits = (v) => { const s = v === null || v === undefined ? '' : String(v); return fa ? s.replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d]) : s; };
  const $ = (id) => document.getElementById(id);
  const say = (el, text, isError) => { if (!el) return; el.textContent = text; el.classList.toggle('am-error', Boolean(isError)); };
  let current = null;
  let map = null;
  let layer = null;

  function problem(data, response) {
    return A.u.problemError(response.status, data).message;
  }

  async function send(method, url, body) {
    let response;
    try {
      response = await fetch(url, { method, headers: { 'X-CSRF-Token': csrf() }, credentials: 'same-origin', body });
    } catch (err) {
      return { response: { ok: false, status: 0 }, data: null }; // no answer at all
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    return { response, data };
  }

  function drawMap(collection) {
    if (!window.L) return;
    if (!map) {
      map = L.map('am-import-map', { attributionControl: false }).setView([32.4, 53.7], 5);
    }
    if (layer) layer.remove();
    const colours = { added: '#1b7f3b', updated: '#c77c00', unchanged: '#777' };
    layer = L.geoJSON(collection, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 5, weight: 1, color: '#222', fillColor: colours[f.properties.change] || '#36c', fillOpacity: 0.85 }),
      onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name_fa || ''} · ${digits(f.properties.licence_no || '')} · ${f.properties.position_source || ''}`),
    }).addTo(map);
    const b = layer.getBounds();
    if (b.isValid()) map.fitBounds(b, { maxZoom: 10, padding: [20, 20] });
    $('am-import-map').dataset.points = String(collection.features.length);
  }

  function showPreview(job) {
    current = job;
    $('am-preview').hidden = false;
    const c = job.counts || {};
    ['added', 'updated', 'unchanged', 'rejected'].forEach((k) => { $(`am-count-${k}`).textContent = digits(c[k] || 0); });
    const rows = job.rejected_rows || [];
    const body = $('am-rejected').querySelector('tbody');
    body.replaceChildren();
    rows.forEach((r) => {
      const tr = document.createElement('tr');
      [r.row === null ? '—' : digits(r.row), r.field_label || r.field, r.value, r.text].forEach((v) => {
        const td = document.createElement('td'); td.textContent = v === null ? '' : String(v); tr.appendChild(td);
      });
      tr.dataset.reason = r.reason;
      body.appendChild(tr);
    });
    $('am-rejected').hidden = rows.length === 0;
    const link = $('am-rejected-download');
    link.hidden = rows.length === 0;
    link.href = job.links.rejected;
    $('am-confirm').disabled = !job.can_confirm;
    if (job.state === 'refused') say($('am-message'), M.refused, true);
    else if (job.state === 'failed') say($('am-message'), M.failed, true);
    else say($('am-message'), '');
    fetch(job.links.rows, { credentials: 'same-origin' }).then((r) => r.json()).then(drawMap).catch(() => {});
  }

  async function poll(id) {
    const bar = $('am-progress');
    const text = $('am-progress-text');
    for (;;) {
      const { response, data } = await send('GET', `/imports/${encodeURIComponent(id)}?lang=${C.lang}`);
      if (!response.ok) { say(text, problem(data, response), true); return; }
      const read = data.rows_read === null ? '…' : digits(data.rows_read);
      const checked = data.rows_checked === null ? '…' : digits(data.rows_checked);
      bar.value = { reading: 30, checking: 65 }[data.state] || 100;
      say(text, `${read} ${M.read} · ${checked} ${M.checked}`);
      if (!['uploading', 'reading', 'checking'].includes(data.state)) { showPreview(data); return; }
      await new Promise((r) => setTimeout(r, 400));
    }
  }

  $('am-layer').addEventListener('change', () => {
    $('am-template').href = `/import-templates/${$('am-layer').value}?lang=${C.lang}`;
  });

  $('am-upload-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = $('am-file').files[0];
    if (!file) return;
    const form = new FormData();
    form.append('file', file, file.name);
    const bar = $('am-progress');
    bar.hidden = false; bar.value = 5;
    say($('am-progress-text'), M.uploading);
    $('am-preview').hidden = true;
    const { response, data } = await send('POST', `/imports?layer=${encodeURIComponent($('am-layer').value)}&lang=${C.lang}`, form);
    if (!response.ok) { say($('am-progress-text'), problem(data, response), true); return; }
    poll(data.id);
  });

  $('am-confirm').addEventListener('click', async () => {
    if (!current) return;
    $('am-confirm').disabled = true;
    const { response, data } = await send('POST', current.links.confirm);
    if (response.ok) { say($('am-message'), M.written); $('am-cancel').disabled = true; loadRecent(); }
    else { say($('am-message'), problem(data, response), true); }
  });

  $('am-cancel').addEventListener('click', async () => {
    if (!current) return;
    const { response, data } = await send('POST', current.links.cancel);
    if (response.ok) { say($('am-message'), M.cancelled); $('am-confirm').disabled = true; }
    else say($('am-message'), problem(data, response), true);
  });

  async function loadRecent() {
    const rows = $('am-recent-rows');
    if (!rows || !C.canUndo) return;
    const { response, data } = await send('GET', '/imports');
    if (!response.ok || !data.recent.length) return;
    rows.replaceChildren();
    data.recent.forEach((r) => {
      const tr = document.createElement('tr');
      const when = new Date(r.at).toLocaleString(fa ? 'fa-IR-u-ca-persian' : 'en-GB', { timeZone: 'Asia/Tehran' });
      [when, r.layer, r.by, `${digits(r.counts.added)}/${digits(r.counts.updated)}`].forEach((v) => {
        const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
      });
      const td = document.createElement('td');
      if (r.undone_at) td.textContent = M.undone_label;
      else {
        const b = document.createElement('button');
        b.type = 'button'; b.textContent = M.undo; b.className = 'am-undo'; b.dataset.id = r.id;
        b.addEventListener('click', async () => {
          b.disabled = true;
          const res = await send('POST', `/imports/${encodeURIComponent(r.id)}/undo`);
          if (res.response.ok) { say($('am-message') || $('am-progress-text'), M.undone); loadRecent(); }
          else { say($('am-progress-text'), problem(res.data, res.response), true); b.disabled = false; }
        });
        td.appendChild(b);
      }
      tr.appendChild(td);
      rows.appendChild(tr);
    });
  }
  // The service catalogue (administrators): a new version of the norms file, all or nothing.
  const catalogueForm = $('am-catalogue-form');
  if (catalogueForm) {
    catalogueForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const message = $('am-catalogue-message');
      const file = $('am-catalogue-file').files[0];
      if (!file) return;
      const body = new FormData();
      body.append('file', file);
      $('am-catalogue-upload').disabled = true;
      const { response, data } = await send('POST', '/catalogue', body);
      $('am-catalogue-upload').disabled = false;
      if (response.ok && data) {
        say(message, message.dataset.done.replace('{version}', digits(data.version)), false);
        window.setTimeout(() => window.location.reload(), 1500);
        return;
      }
      // Every reason, in the page's language where the service gives it.
      const text = data && (fa ? data.detail_fa : data.detail);
      say(message, text || problem(data, response), true);
    });
  }

  loadRecent();
  document.body.dataset.ready = 'true';
}());
