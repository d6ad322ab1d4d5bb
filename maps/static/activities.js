/* The programme page: the map of who does what where (neighbourhoods by progress, gaps in grey),
   the entry form (Jalali dates typed, Gregorian sent: the service stores Gregorian) and the import
   of a file (every row or none; each refused row said with its reason). */
(function () {
  'use strict';
  const C = window.AMAYESH_OFFICE || { messages: {} };
  const A = window.Amayesh;
  A.C = { lang: C.lang, t: C.t || {} };
  const latin = (s) => A.u.latinDigits(s || '').trim(); // Persian digits as 0-9

  // Jalali to Gregorian (the arithmetic of jalaali-js, after Borkowski): a day number between.
  const div = (a, b) => Math.trunc(a / b);
  const mod = (a, b) => a - Math.trunc(a / b) * b;
  const BREAKS = [-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178];
  function march(jy) {
    const gy = jy + 621;
    let leapJ = -14; let jp = BREAKS[0]; let jump = 0;
    for (let i = 1; i < BREAKS.length; i += 1) {
      const jm = BREAKS[i]; jump = jm - jp;
      if (jy < jm) break;
      leapJ += div(jump, 33) * 8 + div(mod(jump, 33), 4); jp = jm;
    }
    const n = jy - jp;
    leapJ += div(n, 33) * 8 + div(mod(n, 33) + 3, 4);
    if (mod(jump, 33) === 4 && jump - n === 4) leapJ += 1;
    const leapG = div(gy, 4) - div((div(gy, 100) + 1) * 3, 4) - 150;
    return { gy, day: 20 + leapJ - leapG };
  }
  function g2d(gy, gm, gd) {
    let d = div((gy + div(gm - 8, 6) + 100100) * 1461, 4) + div(153 * mod(gm + 9, 12) + 2, 5) + gd - 34840408;
    return d - div(div(gy + 100100 + div(gm - 8, 6), 100) * 3, 4) + 752;
  }
  function d2g(jdn) {
    let j = 4 * jdn + 139361631;
    j += div(div(4 * jdn + 183187720, 146097) * 3, 4) * 4 - 3908;
    const i = div(mod(j, 1461), 4) * 5 + 308;
    const gd = div(mod(i, 153), 5) + 1;
    const gm = mod(div(i, 153), 12) + 1;
    const gy = div(j, 1461) - 100100 + div(8 - gm, 6);
    return [gy, gm, gd];
  }
  /** "1403/07/01" (Persian or Latin digits, / or -) as "2024-09-22"; null if not a Jalali date. */
  function gregorian(text) {
    const m = latin(text).match(/^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/);
    if (!m) return null;
    const [jy, jm, jd] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (jm < 1 || jm > 12 || jd < 1 || jd > (jm <= 6 ? 31 : 30)) return null;
    const r = march(jy);
    const [gy, gm, gd] = d2g(g2d(r.gy, 3, r.day) + (jm - 1) * 31 - div(jm, 7) * (jm - 7) + jd - 1);
    return `${gy}-${String(gm).padStart(2, '0')}-${String(gd).padStart(2, '0')}`;
  }
  window.AmayeshJalali = { gregorian };

  function say(el, text, isError) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('am-error', Boolean(isError));
  }
  function problemText(status, data) {
    if (data && Array.isArray(data.problems) && data.problems.length) {
      const head = C.lang === 'fa' ? (data.detail_fa || data.detail) : data.detail;
      const lines = data.problems.map((p) => `${C.messages.row} ${A.u.num ? A.u.num(p.row + 1) : p.row + 1}: ${(C.messages.fields || {})[p.field] || p.field}: ${C.lang === 'fa' ? p.reason_fa : p.reason}`);
      return [head, ...lines].join('\n');
    }
    if (C.lang === 'fa' && data && data.detail_fa) return data.detail_fa;
    return A.u.problemError(status, data).message;
  }

  // ---- the map ----------------------------------------------------------------------------
  const mapEl = document.getElementById('am-activity-map');
  if (mapEl && window.L && C.map) {
    const map = L.map(mapEl, { attributionControl: false });
    const colour = (p) => {
      if (p.gap) return '#9e9e9e';
      if (p.share === null || p.share < 0.25) return '#f4a261';
      return p.share < 0.75 ? '#e9c46a' : '#2a9d8f';
    };
    const popup = (p) => {
      const div_ = document.createElement('div');
      const title = document.createElement('strong');
      title.textContent = p.name;
      div_.appendChild(title);
      [[C.labels.reached, p.reached], [C.labels.need, p.need], [C.labels.share, p.share_text], [C.labels.activities, A.u.num ? A.u.num(p.activities) : p.activities]].forEach(([k, v]) => {
        const line = document.createElement('div');
        line.textContent = `${k}: ${v}`;
        div_.appendChild(line);
      });
      return div_;
    };
    const open = (p) => {
      const url = new URL(window.location.href);
      url.searchParams.set('target', p.target_code);
      window.location.assign(url.toString());
    };
    // Provinces drawn for orientation (served by the service: no outside tiles).
    if (A.makePanes && A.u.loadBoundaries) {
      A.makePanes(map);
      A.u.loadBoundaries().then((b) => A.u.provinceOutline(b).addTo(map)).catch(() => {});
    }
    const layer = L.geoJSON(C.map, {
      style: (f) => ({ className: 'am-target-area', color: f.properties.target_code === C.selected ? '#1d3557' : '#555', weight: f.properties.target_code === C.selected ? 3 : 1, fillColor: colour(f.properties), fillOpacity: 0.7 }),
      onEachFeature: (f, l) => {
        l.bindPopup(popup(f.properties));
        l.on('dblclick', () => open(f.properties));
      },
    }).addTo(map);
    // A neighbourhood is a few hundred metres across: below street zoom it is drawn as a dot of
    // its colour too, so a national or provincial view shows where the gaps are.
    const dots = L.layerGroup();
    layer.eachLayer((l) => {
      const p = l.feature.properties;
      L.circleMarker(l.getBounds().getCenter(), { className: 'am-target-dot', radius: p.target_code === C.selected ? 8 : 5, color: '#333', weight: 1, fillColor: colour(p), fillOpacity: 0.9 })
        .bindPopup(popup(p)).on('dblclick', () => open(p)).addTo(dots);
    });
    const showDots = () => { if (map.getZoom() < 12) dots.addTo(map); else dots.remove(); };
    map.on('zoomend', showDots);
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10], maxZoom: 12 });
    else map.setView([32.4, 53.7], 5);
    showDots();
  }

  // ---- entry ------------------------------------------------------------------------------
  const form = document.getElementById('am-activity-form');
  const message = document.getElementById('am-act-message');
  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = (id) => document.getElementById(id).value;
      const start = gregorian(value('am-act-start'));
      const endText = value('am-act-end').trim();
      const end = endText ? gregorian(endText) : null;
      if (!start || (endText && !end)) { say(message, C.messages.bad_date, true); return; }
      const body = {
        organisation: value('am-act-organisation').trim(),
        organisation_kind: value('am-act-kind'),
        licence_no: latin(value('am-act-licence')) || null,
        service_type: value('am-act-service'),
        place_kind: value('am-act-place-kind'),
        place_code: latin(value('am-act-place')),
        start_date: start,
        end_date: end,
        households: Number(latin(value('am-act-households')) || 0),
        persons: Number(latin(value('am-act-persons')) || 0),
        status: value('am-act-status'),
        notes: value('am-act-notes').trim() || null,
      };
      say(message, C.messages.working);
      let response; let data = null;
      try {
        response = await fetch('/activities', A.u.withCsrf({
          method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' },
        }));
        try { data = await response.json(); } catch (err) { data = null; }
      } catch (err) { response = { ok: false, status: 0 }; }
      if (!response.ok) { say(message, problemText(response.status, data), true); return; }
      say(message, C.messages.saved);
      const url = new URL(window.location.href);
      if (data.target_code) url.searchParams.set('target', data.target_code);
      window.location.assign(url.toString());
    });
  }

  // ---- import -----------------------------------------------------------------------------
  const upload = document.getElementById('am-activity-import');
  const importMessage = document.getElementById('am-act-import-message');
  if (upload) {
    upload.addEventListener('submit', async (event) => {
      event.preventDefault();
      const file = document.getElementById('am-act-file').files[0];
      if (!file) return;
      const data_ = new FormData();
      data_.append('file', file);
      say(importMessage, C.messages.working);
      let response; let data = null;
      try {
        response = await fetch('/activity-imports', A.u.withCsrf({ method: 'POST', body: data_ }));
        try { data = await response.json(); } catch (err) { data = null; }
      } catch (err) { response = { ok: false, status: 0 }; }
      if (!response.ok) { importMessage.style.whiteSpace = 'pre-line'; say(importMessage, problemText(response.status, data), true); return; }
      say(importMessage, `${A.u.num ? A.u.num(data.imported) : data.imported} ${C.messages.imported}`);
      window.setTimeout(() => window.location.reload(), 800);
    });
  }
  document.body.dataset.ready = 'true';
}());
