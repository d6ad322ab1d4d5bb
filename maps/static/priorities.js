/* Amayesh: the village priorities page (see common.js for what the pages share). */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { belowDigits, t, locale, num, jalali, esc, placeName, serviceName, synTag, getJSON, setStatus, syncUrls, debounce, setup, loadBoundaries, provinceOutline, countyNames, fitProvince, IRAN } = A.u;
  const CRITERION_COLOURS = { need: '#b2182b', gap: '#ef8a62', distance: '#6a51a3', population: '#2166ac', target_area: '#1a9850' };

  // ---------------------------------------------------------------- village priorities

  A.priorities = function (map, els, config) {
    setup(map, config);
    const provinceSelect = document.getElementById('am-province');
    const serviceSelect = document.getElementById('am-service');
    const tbody = document.querySelector('#am-table tbody');
    const sliders = Array.from(document.querySelectorAll('.am-weight input'));
    const markers = L.featureGroup([], { pane: 'amResults' }).addTo(map);
    let outline = null;
    let boundaries = null;
    let names = {};
    let seq = 0;
    let byCode = {};

    const given = new URLSearchParams(window.location.search).get('weights');
    if (given) {
      for (const part of given.split(',')) {
        const [k, v] = part.split(':');
        const s = sliders.find((x) => x.dataset.criterion === k);
        if (s && Number.isFinite(Number(v))) s.value = v;
      }
    }
    const weights = () => sliders.map((s) => `${s.dataset.criterion}:${Number(s.value)}`).join(',');
    const showValues = () => {
      for (const s of sliders) document.getElementById(`am-wv-${s.dataset.criterion}`).textContent = num(Number(s.value), 2);
    };

    function query(extra) {
      const q = new URLSearchParams({ province: provinceSelect.value, weights: weights(), ...extra });
      if (serviceSelect.value) q.set('service_type', serviceSelect.value);
      return q;
    }

    function select(code, pan) {
      for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('am-selected', tr.dataset.code === code);
      const m = byCode[code];
      if (m && pan) { map.setView(m.getLatLng(), Math.max(map.getZoom(), 9)); m.openPopup(); }
    }

    function render(data) {
      markers.clearLayers();
      byCode = {};
      const rows = [];
      for (const v of data.villages) {
        const f = data.features.find((x) => x.id === v.settlement_code);
        const bar = ['need', 'gap', 'distance', 'population', 'target_area']
          .map((c) => `<span title="${esc(t('criterion_' + c))}: ${num(v[c + '_points'] * 100, 1)}" style="width:${Math.max(0, v[c + '_points']) * 100}%;background:${CRITERION_COLOURS[c]}"></span>`).join('');
        rows.push(`<tr data-code="${esc(v.settlement_code)}"><td>${num(v.rank)}</td><td>${esc(v.name_fa)}</td>`
          + `<td>${esc(names[v.county_code] || v.county_code)}</td><td>${num(v.target_population)}</td>`
          + `<td>${num(v.score * 100, 1)}</td><td><div class="am-bar">${bar}</div></td>`
          + `<td>${esc(A.C.lang === 'fa' ? v.reason_fa : v.reason_en)}</td></tr>`);
        if (f) {
          const [lon, lat] = f.geometry.coordinates;
          const size = v.rank <= 10 ? 24 : 18;
          const m = L.marker([lat, lon], {
            pane: 'amResults',
            icon: L.divIcon({ className: '', html: `<div class="am-num-icon" style="width:${size}px;height:${size}px;background:${v.rank <= 10 ? '#b2182b' : '#ef8a62'}">${num(v.rank)}</div>`, iconSize: [size, size] }),
            title: v.name_fa,
            zIndexOffset: 1000 - v.rank,
          }).bindPopup(`<div class="am-pop"><h4>${num(v.rank)}. ${esc(v.name_fa)}</h4>${esc(t('score'))}: ${num(v.score * 100, 1)}<br>`
            + `${esc(t('target_population'))}: ${num(v.target_population)} ${synTag()}<br>${esc(A.C.lang === 'fa' ? v.reason_fa : v.reason_en)}</div>`);
          m.on('click', () => select(v.settlement_code, false));
          m.addTo(markers);
          byCode[v.settlement_code] = m;
        }
      }
      tbody.innerHTML = rows.join('');
      for (const tr of tbody.querySelectorAll('tr')) tr.addEventListener('click', () => select(tr.dataset.code, true));
      setStatus(`${num(data.numberReturned)} ${t('village')} · ${t('weights')}: `
        + Object.entries(data.weights).map(([k, w]) => `${t('criterion_' + k)} ${num(w, 2)}`).join(A.C.lang === 'fa' ? '، ' : ', '));
      document.body.dataset.ranked = data.villages.map((v) => v.settlement_code).join(',');
    }

    async function update() {
      showValues();
      const mine = ++seq;
      const q = query({ top: '50' });
      document.getElementById('am-xlsx').href = `/priorities?${query({ top: '1000', f: 'xlsx' })}`;
      document.getElementById('am-csv').href = `/priorities?${query({ top: '1000', f: 'csv' })}`;
      syncUrls({ province: provinceSelect.value, service: serviceSelect.value, weights: weights() });
      setStatus(t('loading'));
      try {
        const data = await getJSON(`/priorities?${q}`);
        if (mine !== seq) return;
        render(data);
      } catch (err) {
        if (mine === seq) setStatus(`${t('error')}: ${err.message}`, true);
      }
    }
    const later = debounce(update, 200);

    function showProvince() {
      if (outline) map.removeLayer(outline);
      if (!boundaries) return;
      const code = provinceSelect.value;
      outline = L.geoJSON(boundaries.counties, {
        pane: 'amCounties', interactive: false,
        filter: (f) => f.properties.province_code === code,
        style: { color: '#6b7781', weight: 0.8, fillColor: '#eef1ec', fillOpacity: 0.7 },
      }).addTo(map);
      fitProvince(map, boundaries, code);
    }

    for (const s of sliders) s.addEventListener('input', () => { showValues(); later(); });
    document.getElementById('am-reset').addEventListener('click', () => {
      for (const s of sliders) s.value = A.C.weights[s.dataset.criterion];
      update();
    });
    provinceSelect.addEventListener('change', () => { showProvince(); update(); });
    serviceSelect.addEventListener('change', update);

    loadBoundaries().then((b) => {
      boundaries = b;
      names = countyNames(b);
      provinceOutline(b).addTo(map);
      showProvince();
      return update();
    }).then(() => { document.body.dataset.ready = 'true'; })
      .catch((err) => setStatus(`${t('error')}: ${err.message}`, true));
  };
}());
