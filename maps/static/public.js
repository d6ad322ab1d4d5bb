/* The public needs map: counties coloured by saturation of the chosen service, figures per
   province in a table. Aggregates only: the data holds no care centre's position. */
(function () {
  'use strict';
  const C = window.AMAYESH_PUBLIC;
  const t = (k) => C.t[k] || k;
  const COLOURS = ['#b2182b', '#ef8a62', '#fddbc7', '#f4f4ee', '#92c5de', '#2166ac'];
  const digits = (s) => (C.lang === 'fa' ? String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d]) : String(s));
  const num = (n, f) => (n === null || n === undefined ? '–' : digits(Number(n).toLocaleString('en-US', { maximumFractionDigits: f || 0 })));
  const esc = (v) => String(v === null || v === undefined ? '' : v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const name = (p) => (C.lang === 'en' && p.name_en ? p.name_en : p.name_fa);

  const map = L.map('am-public-map', { zoomControl: true }).setView([32.4, 53.7], 5);
  fetch('/maps/data/public.json').then((r) => r.json()).then((data) => {
    const select = document.getElementById('am-service');
    for (const [code, label] of Object.entries(data.services)) {
      const o = document.createElement('option');
      o.value = code; o.textContent = label[C.lang]; select.appendChild(o);
    }
    const colour = (ratio) => {
      if (ratio === null || ratio === undefined) return '#bdbdbd';
      let i = 0; while (i < data.breaks.length && ratio >= data.breaks[i]) i += 1;
      return COLOURS[i];
    };
    let counties = null;
    function draw() {
      const service = select.value;
      if (counties) map.removeLayer(counties);
      counties = L.geoJSON(data.counties, {
        style: (f) => ({ color: '#555', weight: 0.5, fillOpacity: 0.8,
          fillColor: colour((f.properties.figures[service] || [])[3]) }),
        onEachFeature: (f, layer) => {
          const v = f.properties.figures[service] || [];
          layer.bindPopup(`<h4>${esc(name(f.properties))}</h4>${esc(t('target'))}: ${num(v[0])}<br>`
            + `${esc(t('capacity'))}: ${num(v[1])}<br>${esc(t('ratio'))}: ${num(v[3], 2)}`
            + (v[4] ? `<br><strong>${esc(t('class_' + v[4]))}</strong>` : ''));
        },
      }).addTo(map);
      L.geoJSON(data.provinces, { style: { color: '#222', weight: 1.4, fill: false }, interactive: false }).addTo(map);
      const rows = data.provinces.features
        .map((f) => [f.properties, f.properties.figures[service] || []])
        .sort((a, b) => (a[1][3] ?? 99) - (b[1][3] ?? 99))
        .map(([p, v]) => `<tr data-code="${esc(p.province_code)}"><td>${esc(name(p))}</td><td>${num(v[0])}</td>`
          + `<td>${num(v[1])}</td><td>${num(v[3], 2)}</td></tr>`);
      document.querySelector('#am-provinces tbody').innerHTML = rows.join('');
      document.body.dataset.ready = 'true';
    }
    select.addEventListener('change', draw);
    draw();
  });
}());
