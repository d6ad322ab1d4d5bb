/* The public needs map: counties coloured by the class of the chosen service (a band around the
   norm), a legend that states the suppression rule, and sortable province and county tables with
   downloads. Aggregates only: the data holds no care centre's position, and no capacity that rests
   on fewer than three centres (geo/disclosure.py). */
(function () {
  'use strict';
  const C = window.AMAYESH_PUBLIC;
  const t = (k) => C.t[k] || k;
  const CLASS_COLOURS = { underserved: '#d6604d', balanced: '#f4f4ee', saturated: '#4393c3' };
  const NO_DATA = '#bdbdbd';
  const CLASS_ORDER = { underserved: 0, balanced: 1, saturated: 2 };
  const digits = (s) => (C.lang === 'fa' ? String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d]).replace(/\./g, '٫').replace(/,/g, '٬') : String(s));
  const num = (n, f) => (n === null || n === undefined ? '–' : digits(Number(n).toLocaleString('en-US', { maximumFractionDigits: f || 0 })));
  const esc = (v) => String(v === null || v === undefined ? '' : v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const name = (p) => (C.lang === 'en' && p.name_en ? p.name_en : p.name_fa);
  // figures: [target population, capacity, centres, ratio to norm, class, suppressed (0, 1: fewer than 3 centres, 2: hidden beside one)]
  const hidden = (v) => {
    const why = v[5] === 1 ? t('pub_few_note') : t('pub_complement_note');
    return `<span class="am-hidden-value" title="${esc(why)}">${esc(v[5] === 1 ? t('pub_few') : t('pub_hidden'))}</span>`;
  };

  const map = L.map('am-public-map', { zoomControl: true, zoomSnap: 0.25 }).setView([32.4, 53.7], 5);
  map.attributionControl.addAttribution(esc(C.attribution));  // the sources, on the map as on every map page
  const fit = () => { map.invalidateSize(); map.fitBounds([[25.0, 44.0], [39.8, 63.4]]); };
  window.addEventListener('resize', () => map.invalidateSize());
  fit();

  fetch('/maps/data/public.json').then((r) => r.json()).then((data) => {
    const select = document.getElementById('am-service');
    for (const [code, label] of Object.entries(data.services)) {
      const o = document.createElement('option');
      o.value = code; o.textContent = label[C.lang]; select.appendChild(o);
    }
    const colour = (v) => (v && v[4] ? CLASS_COLOURS[v[4]] : NO_DATA);
    const legend = document.querySelector('#am-public-legend ul');
    const u = digits(data.underserved_below); const s = digits(data.saturated_at);
    legend.innerHTML = ['underserved', 'balanced', 'saturated'].map((k) => `<li data-class="${k}"><span class="am-swatch" style="background:${CLASS_COLOURS[k]}"></span>`
      + `${esc(t('pub_class_' + k).replace('{u}', u).replace('{s}', s))}</li>`).join('')
      + `<li data-class="none"><span class="am-swatch" style="background:${NO_DATA}"></span>${esc(t('no_data'))}</li>`;

    const cell = (v, i, f) => (v[5] && i !== 0 ? hidden(v) : num(v[i], f));
    const columns = {
      name: (p) => name(p),
      target: (p, v) => v[0],
      capacity: (p, v) => v[1],
      ngos: (p, v) => v[2],
      ratio: (p, v) => v[3],
      class: (p, v) => (v[4] ? CLASS_ORDER[v[4]] : null),
    };
    function table(id, features, code) {
      const el = document.getElementById(id);
      const state = { by: 'class', asc: true };
      const draw = () => {
        const service = select.value;
        const key = columns[state.by];
        const rows = features.map((f) => [f.properties, f.properties.figures[service]]).filter(([, v]) => v);
        rows.sort((a, b) => {
          const x = key(a[0], a[1]); const y = key(b[0], b[1]);
          if (x === null || x === undefined) return (y === null || y === undefined) ? b[1][0] - a[1][0] : 1;
          if (y === null || y === undefined) return -1;
          const d = typeof x === 'string' ? x.localeCompare(y, C.lang) : x - y;
          return (state.asc ? d : -d) || b[1][0] - a[1][0];
        });
        el.querySelector('tbody').innerHTML = rows.map(([p, v]) => `<tr data-code="${esc(p[code])}" data-suppressed="${v[5]}">`
          + `<td><span class="am-swatch" style="display:inline-block;background:${colour(v)}"></span> ${esc(name(p))}</td>`
          + `<td>${num(v[0])}</td><td>${cell(v, 1)}</td><td>${cell(v, 2)}</td><td>${cell(v, 3, 2)}</td>`
          + `<td>${v[4] ? esc(t('class_' + v[4])) : '–'}</td></tr>`).join('');
        for (const th of el.querySelectorAll('th[data-sort]')) {
          th.setAttribute('aria-sort', th.dataset.sort === state.by ? (state.asc ? 'ascending' : 'descending') : 'none');
        }
        el.dataset.rows = String(rows.length);
      };
      for (const th of el.querySelectorAll('th[data-sort]')) {
        th.addEventListener('click', () => {
          if (state.by === th.dataset.sort) state.asc = !state.asc;
          else { state.by = th.dataset.sort; state.asc = th.dataset.sort === 'name' || th.dataset.sort === 'ratio' || th.dataset.sort === 'class'; }
          draw();
        });
      }
      return draw;
    }
    const drawProvinces = table('am-provinces', data.provinces.features, 'province_code');
    const drawCounties = table('am-counties', data.counties.features, 'county_code');

    let counties = null;
    L.geoJSON(data.provinces, { style: { color: '#222', weight: 1.4, fill: false }, interactive: false }).addTo(map);
    function draw() {
      const service = select.value;
      if (counties) map.removeLayer(counties);
      counties = L.geoJSON(data.counties, {
        style: (f) => ({ color: '#555', weight: 0.5, fillOpacity: 0.8, fillColor: colour(f.properties.figures[service]) }),
        onEachFeature: (f, layer) => {
          const v = f.properties.figures[service];
          if (!v) { layer.bindPopup(`<h4>${esc(name(f.properties))}</h4>${esc(t('no_data'))}`); return; }
          layer.bindPopup(`<h4>${esc(name(f.properties))}</h4>${esc(t('target_population'))}: ${num(v[0])}<br>`
            + `${esc(t('capacity'))}: ${cell(v, 1)}<br>${esc(t('pub_centres'))}: ${cell(v, 2)}<br>`
            + `${esc(t('pub_ratio'))}: ${cell(v, 3, 2)}`
            + (v[4] ? `<br><strong>${esc(t('class_' + v[4]))}</strong>` : ''));
        },
      }).addTo(map);
      counties.bringToBack();
      for (const box of document.querySelectorAll('.am-downloads')) {
        for (const a of box.querySelectorAll('a')) {
          const q = new URLSearchParams({ f: a.dataset.f, level: box.dataset.level, service_type: service, lang: C.lang });
          a.href = `/maps/data/public-table?${q}`;
        }
      }
      drawProvinces();
      drawCounties();
      document.body.dataset.ready = 'true';
    }
    select.addEventListener('change', draw);
    draw();
  });
}());
