/* Amayesh: the village priorities page (see common.js for what the pages share).
 *
 * A provincial director picks a province (the address, else the last one chosen here), moves the
 * five weights and reads the ranking: each row says why in figures, its bar shows the points
 * of each criterion (legend above the table), the map numbers the places. A county filter and a
 * name search narrow the list; the downloads carry the same weights, Persian headers from the
 * Persian page, county names, the as-of date and the synthetic-data mark.
 */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { t, num, esc, synTag, getJSON, setStatus, syncUrls, debounce, setup, loadBoundaries, provinceOutline, countyNames, fitProvince, placeName } = A.u;
  const CRITERIA = ['need', 'gap', 'distance', 'population', 'target_area'];
  const CRITERION_COLOURS = { need: '#1b9e77', gap: '#d95f02', distance: '#7570b3', population: '#e7298a', target_area: '#66a61e' };
  const SHOWN = 50;
  const STORE_KEY = 'amayesh.province';

  const fold = (s) => String(s || '').replace(/[يى]/g, 'ی').replace(/ك/g, 'ک').replace(/[\u200c\s]/g, '').toLowerCase();

  A.priorities = function (map, els, config) {
    setup(map, config);
    const provinceSelect = document.getElementById('am-province');
    const serviceSelect = document.getElementById('am-service');
    // The ranking at the end of a Jalali year (the analysis with that day's licences), or today's.
    const periodSelect = document.getElementById('am-period');
    const countySelect = document.getElementById('am-county');
    const filterInput = document.getElementById('am-filter');
    const tbody = document.querySelector('#am-table tbody');
    const sliders = Array.from(document.querySelectorAll('.am-weight input'));
    const markers = L.featureGroup([], { pane: 'amResults' }).addTo(map);
    let outline = null;
    let boundaries = null;
    let names = {};
    let seq = 0;
    let byCode = {};
    let last = null;
    let refit = true;

    // The province: the address, else the last one chosen on these pages, else none (the page asks).
    if (!provinceSelect.value) {
      let remembered = '';
      try { remembered = window.localStorage.getItem(STORE_KEY) || ''; } catch (err) { remembered = ''; }
      if (remembered && provinceSelect.querySelector(`option[value="${remembered}"]`)) provinceSelect.value = remembered;
    }

    const given = new URLSearchParams(window.location.search).get('weights');
    if (given) {
      for (const part of given.split(',')) {
        const [k, v] = part.split(':');
        const s = sliders.find((x) => x.dataset.criterion === k);
        if (s && Number.isFinite(Number(v))) s.value = v;
      }
    }
    const weights = () => sliders.map((s) => `${s.dataset.criterion}:${Number(s.value)}`).join(',');
    /** The weights as they are used: in proportion, summing to one. */
    const shares = () => {
      const total = sliders.reduce((n, s) => n + Number(s.value), 0);
      return Object.fromEntries(sliders.map((s) => [s.dataset.criterion, total > 0 ? Number(s.value) / total : 0]));
    };
    const showValues = () => {
      const w = shares();
      for (const s of sliders) {
        document.getElementById(`am-wv-${s.dataset.criterion}`).textContent = `${num(100 * w[s.dataset.criterion], 0)}${A.C.lang === 'fa' ? '٪' : '%'}`;
      }
    };

    function query(extra) {
      const q = new URLSearchParams({ province: provinceSelect.value, weights: weights(), ...extra });
      if (serviceSelect.value) q.set('service_type', serviceSelect.value);
      if (periodSelect.value) q.set('period', periodSelect.value);
      return q;
    }

    function select(code, pan) {
      for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('am-selected', tr.dataset.code === code);
      const m = byCode[code];
      if (m && pan) { map.setView(m.getLatLng(), Math.max(map.getZoom(), 9)); m.openPopup(); }
    }

    function legend() {
      document.getElementById('am-bar-legend').innerHTML = CRITERIA.map((c) => `<li><span class="am-swatch" style="background:${CRITERION_COLOURS[c]}"></span>${esc(t('criterion_' + c))}</li>`).join('');
    }

    function render() {
      const data = last;
      if (!data) return;
      markers.clearLayers();
      byCode = {};
      const county = countySelect.value;
      const needle = fold(filterInput.value);
      const fa = A.C.lang === 'fa';
      const shown = data.villages.filter((v) => (!county || v.county_code === county)
        && (!needle || fold(v.name_fa).includes(needle) || String(v.settlement_code).startsWith(A.u.latinDigits(filterInput.value.trim())))).slice(0, SHOWN);
      const where = {};
      for (const f of data.features) where[f.id] = f.geometry.coordinates;
      const rows = [];
      for (const v of shown) {
        const bar = CRITERIA
          .map((c) => `<span title="${esc(t('criterion_' + c))}: ${num(v[c + '_points'] * 100, 1)}" style="width:${Math.max(0, v[c + '_points']) * 100}%;background:${CRITERION_COLOURS[c]}"></span>`).join('');
        const profile = `/maps/settlements/${encodeURIComponent(v.settlement_code)}?lang=${A.C.lang}`;
        rows.push(`<tr data-code="${esc(v.settlement_code)}"><td>${num(v.rank)}</td><td><a href="${profile}">${esc(v.name_fa)}</a></td>`
          + `<td>${esc(names[v.county_code] || v.county_code)}</td><td>${num(v.target_population)}</td>`
          + `<td>${num(v.score * 100, 1)}</td><td><div class="am-bar">${bar}</div></td>`
          + `<td>${esc(fa ? v.reason_fa : v.reason_en)}</td></tr>`);
        const xy = where[v.settlement_code];
        if (xy && Number.isFinite(xy[0]) && Number.isFinite(xy[1])) {
          const [lon, lat] = xy;
          const size = v.rank <= 10 ? 24 : 18;
          const m = L.marker([lat, lon], {
            pane: 'amResults',
            icon: L.divIcon({ className: '', html: `<div class="am-num-icon" style="width:${size}px;height:${size}px;background:${v.rank <= 10 ? '#7a0177' : '#c51b8a'}">${num(v.rank)}</div>`, iconSize: [size, size] }),
            title: v.name_fa,
            zIndexOffset: 1000 - v.rank,
          }).bindPopup(`<div class="am-pop"><h4>${num(v.rank)}. ${esc(v.name_fa)}</h4>${esc(t('score'))}: ${num(v.score * 100, 1)}<br>`
            + `${esc(t('target_population'))}: ${num(v.target_population)} ${synTag()}<br>${esc(fa ? v.reason_fa : v.reason_en)}`
            + `<p><a href="${profile}">${esc(t('open_profile'))}</a></p></div>`);
          m.on('click', () => select(v.settlement_code, false));
          m.addTo(markers);
          byCode[v.settlement_code] = m;
        }
      }
      tbody.innerHTML = rows.join('');
      if (refit && markers.getLayers().length && map.getSize().x > 0) {
        // Frame the ranked places once per province or county chosen (not on every weight change).
        map.fitBounds(markers.getBounds(), { padding: [30, 30], maxZoom: 10, animate: false });
        refit = false;
      }
      for (const tr of tbody.querySelectorAll('tr')) tr.addEventListener('click', (e) => { if (e.target.tagName !== 'A') select(tr.dataset.code, true); });
      const province = (A.C.provinces.find((p) => p.code === provinceSelect.value) || {}).name || '';
      const sep = fa ? '، ' : ', ';
      const countyName = county ? ` · ${t('county')} ${names[county] || county}` : '';
      setStatus(`${province}${countyName} · ${num(shown.length)} ${t(shown.length === 1 && !fa ? 'village_one' : 'village_many')} · ${t('weights')}: `
        + Object.entries(data.weights).map(([k, w]) => `${t('criterion_' + k)} ${num(100 * w, 0)}${fa ? '٪' : '%'}`).join(sep)
        + ` · ${periodSelect.value ? periodSelect.selectedOptions[0].textContent : A.C.as_of_text}`);
      document.body.dataset.asOf = data.as_of;
      document.body.dataset.ranked = shown.map((v) => v.settlement_code).join(',');
    }

    function fillCounties() {
      const code = provinceSelect.value;
      const chosen = countySelect.value;
      const options = boundaries.counties.features.map((f) => f.properties).filter((p) => p.province_code === code)
        .sort((a, b) => placeName(a).localeCompare(placeName(b), A.C.lang));
      countySelect.innerHTML = `<option value="">${esc(t('all_counties'))}</option>`
        + options.map((p) => `<option value="${esc(p.county_code)}">${esc(placeName(p))}</option>`).join('');
      if (options.some((p) => p.county_code === chosen)) countySelect.value = chosen;
    }

    async function update() {
      showValues();
      if (!provinceSelect.value) {
        setStatus(t('choose_province'));
        // Nothing to download before a choice: the buttons are no links (not the page itself).
        for (const id of ['am-xlsx', 'am-csv']) {
          const a = document.getElementById(id);
          a.removeAttribute('href');
          a.setAttribute('aria-disabled', 'true');
        }
        tbody.innerHTML = '';
        document.body.dataset.ranked = '';
        return;
      }
      const mine = ++seq;
      const lang = A.C.lang;
      document.getElementById('am-xlsx').href = `/priorities?${query({ top: '1000', f: 'xlsx', lang })}`;
      document.getElementById('am-csv').href = `/priorities?${query({ top: '1000', f: 'csv', lang })}`;
      for (const id of ['am-xlsx', 'am-csv']) document.getElementById(id).removeAttribute('aria-disabled');
      syncUrls({ province: provinceSelect.value, service: serviceSelect.value, weights: weights(), period: periodSelect.value });
      try { window.localStorage.setItem(STORE_KEY, provinceSelect.value); } catch (err) { /* private mode */ }
      setStatus(t('loading'));
      try {
        // The whole province's ranking (up to 1,000), so the county filter and search look at all of it.
        const data = await getJSON(`/priorities?${query({ top: '1000' })}`);
        if (mine !== seq) return;
        last = data;
        render();
      } catch (err) {
        if (mine === seq) setStatus(`${t('error')}: ${err.message}`, true);
      }
    }
    const later = debounce(update, 200);

    function showProvince() {
      if (outline) map.removeLayer(outline);
      if (!boundaries) return;
      const code = provinceSelect.value;
      fillCounties();
      outline = L.geoJSON(boundaries.counties, {
        pane: 'amCounties', interactive: false,
        filter: (f) => f.properties.province_code === code,
        style: { color: '#8a8a8a', weight: 0.8, fillColor: '#f4f3ef', fillOpacity: 0.7 },
      }).addTo(map);
      fitProvince(map, boundaries, code);
    }

    for (const s of sliders) s.addEventListener('input', () => { showValues(); later(); });
    document.getElementById('am-reset').addEventListener('click', () => {
      for (const s of sliders) s.value = A.C.weights[s.dataset.criterion];
      update();
    });
    provinceSelect.addEventListener('change', () => { countySelect.value = ''; refit = true; showProvince(); update(); });
    serviceSelect.addEventListener('change', update);
    periodSelect.addEventListener('change', update);
    countySelect.addEventListener('change', () => {
      refit = true;
      render();
      const f = boundaries && boundaries.counties.features.find((x) => x.properties.county_code === countySelect.value);
      if (f && map.getSize().x > 0) map.fitBounds(L.geoJSON(f).getBounds(), { animate: false });
      else if (boundaries) fitProvince(map, boundaries, provinceSelect.value);
    });
    filterInput.addEventListener('input', debounce(render, 150));
    legend();

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
