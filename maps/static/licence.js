/* Amayesh: the licence check page (see common.js for what the pages share). */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { belowDigits, t, locale, num, jalali, esc, placeName, serviceName, synTag, getJSON, setStatus, syncUrls, debounce, setup, loadBoundaries, provinceOutline, countyNames, fitProvince, IRAN } = A.u;

  // ---------------------------------------------------------------- licence check

  A.licence = function (map, els, config) {
    setup(map, config);
    const form = document.getElementById('am-licence-form');
    const lat = document.getElementById('am-lat');
    const lon = document.getElementById('am-lon');
    const service = document.getElementById('am-service');
    const capacity = document.getElementById('am-capacity');
    const result = document.getElementById('am-result');
    const button = document.getElementById('am-check');
    const results = L.featureGroup([], { pane: 'amResults' }).addTo(map);
    let marker = null;
    let boundaries = null;

    const place = (la, lo) => {
      if (marker) marker.setLatLng([la, lo]);
      else marker = L.marker([la, lo], { title: t('proposed') }).addTo(map);
    };
    map.on('click', (e) => {
      lat.value = e.latlng.lat.toFixed(5);
      lon.value = e.latlng.lng.toFixed(5);
      place(e.latlng.lat, e.latlng.lng);
    });
    for (const input of [lat, lon]) {
      input.addEventListener('change', () => {
        const la = Number(lat.value); const lo = Number(lon.value);
        if (Number.isFinite(la) && Number.isFinite(lo) && lat.value && lon.value) place(la, lo);
      });
    }

    loadBoundaries().then((b) => {
      boundaries = b;
      L.geoJSON(b.counties, { pane: 'amCounties', interactive: false, style: { color: '#9aa5ae', weight: 0.5, fillColor: '#eef1ec', fillOpacity: 0.6 } }).addTo(map);
      provinceOutline(b).addTo(map);
      document.body.dataset.ready = 'true';
      if (lat.value && lon.value) form.requestSubmit();
    }).catch((err) => { result.innerHTML = `<p class="am-error">${esc(err.message)}</p>`; });

    const parse = (text) => Number(String(text).trim().replace(/[۰-۹]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'.indexOf(d)).replace(/[٫,]/g, '.'));

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { lat: parse(lat.value), lon: parse(lon.value), service_type: service.value, capacity: parse(capacity.value) };
      if (!lat.value || !lon.value || !Number.isFinite(body.lat) || !Number.isFinite(body.lon)) {
        result.innerHTML = `<p class="am-error">${esc(t('licence_intro'))}</p>`;
        return;
      }
      place(body.lat, body.lon);
      button.disabled = true;
      result.innerHTML = `<p class="am-status">${esc(t('loading'))}</p>`;
      try {
        const check = await getJSON('/licence-checks', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
        });
        show(check);
        syncUrls({ lat: lat.value, lon: lon.value, service: service.value, capacity: capacity.value });
      } catch (err) {
        results.clearLayers();
        result.innerHTML = `<p class="am-error" role="alert">${esc(t('error'))}: ${esc(err.message)}</p>`;
      } finally {
        button.disabled = false;
      }
    });

    function show(c) {
      results.clearLayers();
      const names = boundaries ? countyNames(boundaries) : {};
      const detour = boundaries && boundaries.detour_factor ? boundaries.detour_factor : 1;
      const radiusKm = c.catchment_km / detour;
      L.circle([c.lat, c.lon], { pane: 'amResults', radius: radiusKm * 1000, color: '#0b6e6e', weight: 2, fillOpacity: 0.06, interactive: false }).addTo(results);
      for (const n of c.same_type_nearby) {
        L.circleMarker([n.lat, n.lon], { pane: 'amResults', radius: 5, color: '#fff', weight: 1, fillColor: '#1f4e9c', fillOpacity: 0.95 })
          .bindTooltip(`${esc(n.name_fa)} · ${num(n.capacity)} · ${num(n.distance_km, 1)} ${esc(t('km'))}`)
          .addTo(results);
      }
      c.better_places.forEach((p, k) => {
        L.marker([p.lat, p.lon], {
          pane: 'amResults',
          icon: L.divIcon({ className: '', html: `<div class="am-num-icon" style="width:24px;height:24px;background:#1b7a3a">${num(k + 1)}</div>`, iconSize: [24, 24] }),
          title: p.name_fa,
        }).bindPopup(`<div class="am-pop"><h4>${esc(p.name_fa)}</h4>${esc(t('newly_covered'))}: ${num(p.newly_covered_target_population)}<br>${esc(t('distance'))}: ${num(p.distance_km, 1)} ${esc(t('km'))}</div>`)
          .addTo(results);
      });
      const b = L.latLngBounds([[c.lat, c.lon]]);
      b.extend(L.latLng(c.lat, c.lon).toBounds(radiusKm * 2000));
      for (const p of c.better_places) b.extend([p.lat, p.lon]);
      map.fitBounds(b, { padding: [20, 20], maxZoom: 12 });

      const reasons = A.C.lang === 'fa' ? c.reasons_fa : c.reasons_en;
      const sat = (s) => `<td>${num(s.capacity_per_10k, 0)}</td><td>${num(s.ratio_to_norm, 2)}</td><td>${esc(t('class_' + s['class']))}</td><td>${num(s.ngos)}</td>`;
      const near = c.same_type_nearby.map((n) => `<li>${esc(n.name_fa)} · ${num(n.capacity)} · ${num(n.distance_km, 1)} ${esc(t('km'))}</li>`).join('');
      const better = c.better_places.map((p) => `<li data-code="${esc(p.settlement_code)}">${esc(p.name_fa)} (${esc(names[p.county_code] || p.county_code)}) · `
        + `${num(p.distance_km, 1)} ${esc(t('km'))} · ${esc(t('newly_covered'))} ${num(p.newly_covered_target_population)}</li>`).join('');
      result.innerHTML = `<div class="am-verdict am-verdict-${esc(c.verdict)}" data-verdict="${esc(c.verdict)}">`
        + `${esc(t('verdict'))}: ${esc(t('verdict_' + c.verdict))}</div>`
        + `<div>${esc(t('county'))} ${esc(names[c.county_code] || c.county_code)} · ${esc(serviceName(c.service_type))} · ${esc(t('capacity'))} ${num(c.capacity)}</div>`
        + `<h3>${esc(t('reasons'))}</h3><ul class="am-reasons">${reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
        + `<table><tr><th></th><th>${esc(t('capacity_per_10k'))}</th><th>${esc(t('ratio_to_norm'))}</th><th>${esc(t('class'))}</th><th>${esc(t('ngos'))}</th></tr>`
        + `<tr><th>${esc(t('before'))}</th>${sat(c.saturation_before)}</tr><tr><th>${esc(t('after'))}</th>${sat(c.saturation_after)}</tr></table>`
        + `<p>${esc(t('newly_covered'))}: <strong>${num(c.newly_covered_target_population)}</strong></p>`
        + `<p class="am-hint">${esc(t('catchment_note').replace('{travel}', num(c.catchment_km)).replace('{radius}', num(radiusKm, 1)))}</p>`
        + `<h3>${esc(t('same_type_nearby'))} (${num(c.same_type_in_catchment)})</h3><ul class="am-near">${near || `<li>${esc(t('none'))}</li>`}</ul>`
        + `<h3>${esc(t('better_places'))}</h3><ol class="am-better">${better || `<li>${esc(t('none'))}</li>`}</ol>`
        + `<p class="am-hint">${synTag()} ${esc(A.C.notice)}</p>`;
      for (const li of result.querySelectorAll('.am-better li[data-code]')) {
        li.addEventListener('click', () => {
          const p = c.better_places.find((x) => x.settlement_code === li.dataset.code);
          if (p) map.setView([p.lat, p.lon], 11);
        });
      }
      document.body.dataset.checked = c.verdict;
    }
  };

}());
