/* Amayesh: the licence check page (see common.js for what the pages share).
 *
 * The officer gives a point (click or typed, any digits), a service and a capacity; the page
 * asks POST /licence-checks and shows the verdict with the one sentence that explains it, the
 * reasons, saturation before and after, and on the map the catchment, the settlements and
 * centres around the point, and better places in the same province. The result prints whole
 * as a dated record (print stylesheet; the browser's "save as PDF" makes the PDF).
 */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { SERVICE_COLOURS, minutes, t, num, esc, serviceName, synTag, getJSON, postJSON, syncUrls, setup, loadBoundaries, provinceOutline, countyNames, latinDigits, nowJalali, jalali } = A.u;

  // Iran's extent, for telling a mistyped point from a point abroad.
  const LAT = [24.5, 40.0];
  const LON = [43.5, 63.5];
  const inside = (la, lo) => la >= LAT[0] && la <= LAT[1] && lo >= LON[0] && lo <= LON[1];

  /** A typed number in any digits ("۳۵٫۷", "35,7", "35.7"), or NaN. */
  function parse(text) {
    const s = latinDigits(String(text || '').trim()).replace(/,/g, '.');
    return s === '' || !/^[-+]?\d*\.?\d+$/.test(s) ? NaN : Number(s);
  }

  A.licence = function (map, els, config) {
    setup(map, config);
    const form = document.getElementById('am-licence-form');
    const lat = document.getElementById('am-lat');
    const lon = document.getElementById('am-lon');
    const service = document.getElementById('am-service');
    const capacity = document.getElementById('am-capacity');
    const mode = document.getElementById('am-mode');
    // The chosen service's delivery modes (the catalogue's), its main one first.
    const fillModes = () => {
      const chosen = A.C.services.find((s) => s.code === service.value) || { modes: ['centre'] };
      mode.innerHTML = chosen.modes.map((m) => `<option value="${esc(m)}">${esc(t('mode_' + m))}</option>`).join('');
    };
    fillModes();
    service.addEventListener('change', fillModes);
    const result = document.getElementById('am-result');
    const record = document.getElementById('am-record');
    const button = document.getElementById('am-check');
    const printButton = document.getElementById('am-print');
    const swapHint = document.getElementById('am-swap-hint');
    const results = L.featureGroup([], { pane: 'amResults' }).addTo(map);
    // SVG, not canvas, for the result: Chromium prints a canvas over the whole map as an opaque
    // sheet, which would hide the counties and settlements under it in the printed record.
    const svg = L.svg({ pane: 'amResults' });
    const around = L.featureGroup([], { pane: 'amNgos' }).addTo(map);
    const grid = els.settlements;
    const indexOf = (code) => Math.max(0, A.C.services.findIndex((s) => s.code === code));
    A._state = { serviceIndex: indexOf(service.value), province: '' };
    A.layers = { settlements: grid, results, around };
    let marker = null;
    let boundaries = null;
    let lastCheck = null;

    const place = (la, lo) => {
      if (marker) marker.setLatLng([la, lo]);
      else marker = L.marker([la, lo], { title: t('proposed') }).addTo(map);
    };
    map.on('click', (e) => {
      lat.value = e.latlng.lat.toFixed(5);
      lon.value = e.latlng.lng.toFixed(5);
      validate();
      place(e.latlng.lat, e.latlng.lng);
    });
    service.addEventListener('change', () => { A._state.serviceIndex = indexOf(service.value); grid.redraw(); });

    function fieldError(input, message) {
      const el = document.getElementById(`${input.id}-error`);
      el.textContent = message || '';
      input.setAttribute('aria-invalid', message ? 'true' : 'false');
    }

    /** Field-level checks in the page's language; true when the form can be sent. */
    function validate() {
      const la = parse(lat.value);
      const lo = parse(lon.value);
      const cap = parse(capacity.value);
      let ok = true;
      swapHint.hidden = true;
      fieldError(lat, ''); fieldError(lon, ''); fieldError(capacity, '');
      if (!lat.value.trim()) { fieldError(lat, t('err_lat_missing')); ok = false; } else if (!Number.isFinite(la) || la < -90 || la > 90) { fieldError(lat, t('err_lat_number')); ok = false; }
      if (!lon.value.trim()) { fieldError(lon, t('err_lon_missing')); ok = false; } else if (!Number.isFinite(lo) || lo < -180 || lo > 180) { fieldError(lon, t('err_lon_number')); ok = false; }
      if (!Number.isFinite(cap) || cap < 1 || cap > 100000 || Math.round(cap) !== cap) { fieldError(capacity, t('err_capacity')); ok = false; }
      if (ok && !inside(la, lo)) {
        if (inside(lo, la)) {
          swapHint.textContent = t('err_swapped').replace('{lat}', num(lo, 4)).replace('{lon}', num(la, 4));
          swapHint.hidden = false;
        } else {
          fieldError(lat, t('err_outside_iran').replace('{lat}', num(la, 4)).replace('{lon}', num(lo, 4)));
        }
        ok = false;
      }
      return ok;
    }
    for (const input of [lat, lon, capacity]) {
      input.addEventListener('change', () => {
        if (validate()) place(parse(lat.value), parse(lon.value));
      });
    }
    swapHint.addEventListener('click', () => {
      const la = lat.value; lat.value = lon.value; lon.value = la;
      if (validate()) form.requestSubmit();
    });

    loadBoundaries().then((b) => {
      boundaries = b;
      L.geoJSON(b.counties, { pane: 'amCounties', interactive: false, style: { color: '#9a9a9a', weight: 0.5, fillColor: '#f4f3ef', fillOpacity: 0.7 } }).addTo(map);
      provinceOutline(b).addTo(map);
      document.body.dataset.ready = 'true';
      if (lat.value && lon.value) form.requestSubmit();
    }).catch((err) => { result.innerHTML = `<p class="am-error">${esc(err.message)}</p>`; });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!validate()) {
        results.clearLayers();
        result.innerHTML = '';
        document.body.dataset.checked = 'invalid';
        return;
      }
      const body = { lat: parse(lat.value), lon: parse(lon.value), service_type: service.value, capacity: parse(capacity.value) };
      if (mode.value) body.delivery_mode = mode.value;
      // The form and the address hold plain digits from here on (an address with Persian
      // digits is read by the server too, but is not what we write).
      lat.value = String(body.lat); lon.value = String(body.lon); capacity.value = String(body.capacity);
      place(body.lat, body.lon);
      button.disabled = true;
      result.innerHTML = `<p class="am-status">${esc(t('loading'))}</p>`;
      try {
        const check = await postJSON('/licence-checks', body);
        show(check);
        syncUrls({ lat: lat.value, lon: lon.value, service: service.value, capacity: capacity.value });
      } catch (err) {
        results.clearLayers();
        // The service's answer in the page's language (common.js problemText), the point named.
        const message = err.code === 'outside-counties'
          ? t('err_outside_counties').replace('{lat}', num(body.lat, 4)).replace('{lon}', num(body.lon, 4))
          : `${t('error')}: ${err.message}`;
        result.innerHTML = `<p class="am-error" role="alert">${esc(message)}</p>`;
        document.body.dataset.checked = 'error';
      } finally {
        button.disabled = false;
      }
    });

    /** Centres of every type and the settlements around the point, for context. */
    async function drawAround(c, radiusKm) {
      around.clearLayers();
      const d = (radiusKm * 1.6) / 111;
      const k = Math.cos((c.lat * Math.PI) / 180);
      const bbox = [c.lon - d / k, c.lat - d, c.lon + d / k, c.lat + d].map((v) => v.toFixed(4)).join(',');
      const fc = await getJSON(`/collections/ngos/items?${new URLSearchParams({ bbox, status: 'active', limit: '1000' })}`);
      const same = new Set(c.same_type_nearby.map((n) => n.licence_no));
      for (const f of fc.features) {
        if (same.has(f.id)) continue;
        const [lo, la] = f.geometry.coordinates;
        const i = A.C.services.findIndex((s) => s.code === f.properties.service_type);
        L.marker([la, lo], {
          pane: 'amNgos', keyboard: false,
          icon: L.divIcon({ className: '', iconSize: [9, 9], html: `<span class="am-ngo-mark am-ngo-other" style="background:${SERVICE_COLOURS[i]}"></span>` }),
        }).bindTooltip(`${esc(f.properties.name_fa)} · ${esc(serviceName(f.properties.service_type))}`).addTo(around);
      }
      around.amCount = around.getLayers().length;
    }

    function show(c) {
      lastCheck = c;
      results.clearLayers();
      const names = boundaries ? countyNames(boundaries) : {};
      const detour = boundaries && boundaries.detour_factor ? boundaries.detour_factor : 1;
      const radiusKm = c.catchment_km / detour;
      const areaStyle = { pane: 'amResults', renderer: svg, color: '#0b6e6e', weight: 2, fillOpacity: 0.04, interactive: false };
      if (c.travel === 'roads') {
        // The travel-time area of the catchment (GET /catchment-areas), instead of a circle.
        const mine = results.amCheck = (results.amCheck || 0) + 1;
        getJSON(`/catchment-areas?lon=${c.lon}&lat=${c.lat}&service_type=${encodeURIComponent(c.service_type)}`)
          .then((area) => {
            if (results.amCheck !== mine) return; // a newer check replaced this one
            L.geoJSON(area, { ...areaStyle, amCatchment: true }).addTo(results);
            document.body.dataset.catchment = 'drawn';
          })
          .catch(() => {});
      } else {
        L.circle([c.lat, c.lon], { ...areaStyle, radius: radiusKm * 1000 }).addTo(results);
      }
      const i = A.C.services.findIndex((s) => s.code === c.service_type);
      for (const n of c.same_type_nearby) {
        L.circleMarker([n.lat, n.lon], { pane: 'amResults', renderer: svg, radius: 6, color: '#111', weight: 1.5, fillColor: SERVICE_COLOURS[i], fillOpacity: 1 })
          .bindTooltip(`${esc(n.name_fa)} · ${num(n.capacity)} · ${minutes(n.travel_min)}${num(n.distance_km, 1)} ${esc(t('km'))}`)
          .addTo(results);
      }
      c.better_places.forEach((p, k) => {
        L.marker([p.lat, p.lon], {
          pane: 'amResults',
          icon: L.divIcon({ className: '', html: `<div class="am-num-icon am-better-icon">${num(k + 1)}</div>`, iconSize: [24, 24] }),
          title: p.name_fa,
        }).bindPopup(`<div class="am-pop"><h4>${esc(p.name_fa)}</h4>${esc(t('newly_covered'))}: ${num(p.newly_covered_target_population)}<br>${esc(t('distance'))}: ${num(p.distance_km, 1)} ${esc(t('km'))}</div>`)
          .addTo(results);
      });
      const b = L.latLngBounds([[c.lat, c.lon]]);
      b.extend(L.latLng(c.lat, c.lon).toBounds(radiusKm * 2000));
      for (const p of c.better_places) b.extend([p.lat, p.lon]);
      map.fitBounds(b, { padding: [20, 20], maxZoom: 12, animate: false });
      drawAround(c, radiusKm).catch(() => {});

      const fa = A.C.lang === 'fa';
      const reasons = fa ? c.reasons_fa : c.reasons_en;
      const summary = fa ? c.summary_fa : c.summary_en;
      const sat = (s) => `<td>${num(s.capacity_per_10k, 0)}</td><td>${num(s.ratio_to_norm, 2)}</td><td>${esc(t('class_' + s['class']))}</td><td>${num(s.ngos)}</td>`;
      const near = c.same_type_nearby.map((n) => `<li>${esc(n.name_fa)} · ${num(n.capacity)} · ${minutes(n.travel_min)}${num(n.distance_km, 1)} ${esc(t('km'))}</li>`).join('');
      const note = c.travel === 'roads'
        ? t('catchment_note_roads').replace('{minutes}', num(c.catchment_min))
        : t('catchment_note').replace('{travel}', num(c.catchment_km)).replace('{radius}', num(radiusKm, 1));
      const better = c.better_places.map((p) => `<li data-code="${esc(p.settlement_code)}">${esc(p.name_fa)} (${esc(names[p.county_code] || p.county_code)}) · `
        + `${num(p.distance_km, 1)} ${esc(t('km'))} · ${esc(t('newly_covered'))} ${num(p.newly_covered_target_population)}</li>`).join('');
      result.innerHTML = `<div class="am-verdict am-verdict-${esc(c.verdict)}" data-verdict="${esc(c.verdict)}">`
        + `${esc(t('verdict'))}: ${esc(t('verdict_' + c.verdict))}</div>`
        + `<p class="am-summary" id="am-summary">${esc(summary)}</p>`
        + `<div>${esc(t('county'))} ${esc(names[c.county_code] || c.county_code)} · ${esc(serviceName(c.service_type))} · ${esc(t('mode_' + c.delivery_mode))} · ${esc(t('capacity'))} ${num(c.capacity)}</div>`
        + `<h3>${esc(t('reasons'))}</h3><ul class="am-reasons">${reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
        + `<table class="am-sat-table"><tr><th></th><th>${esc(t('capacity_per_10k'))}</th><th>${esc(t('ratio_to_norm'))}</th><th>${esc(t('class'))}</th><th>${esc(t('ngos'))}</th></tr>`
        + `<tr><th>${esc(t('before'))}</th>${sat(c.saturation_before)}</tr><tr><th>${esc(t('after'))}</th>${sat(c.saturation_after)}</tr></table>`
        + `<p class="am-hint">${esc(t('norm_and_median').replace('{norm}', num(c.saturation_before.norm_per_10k)).replace('{median}', num(c.saturation_before.national_median_per_10k)))}</p>`
        + `<p>${esc(t('newly_covered'))}: <strong>${num(c.newly_covered_target_population)}</strong></p>`
        + `<p class="am-hint">${esc(note)}</p>`
        + `<h3>${esc(t('same_type_nearby'))} (${num(c.same_type_in_catchment)})</h3><ul class="am-near">${near || `<li>${esc(t('none'))}</li>`}</ul>`
        + `<h3>${esc(t('better_places'))}</h3><p class="am-hint">${esc(t('better_places_note'))}</p><ol class="am-better">${better || `<li>${esc(t('none'))}</li>`}</ol>`
        + `<p class="am-hint">${synTag()} ${esc(A.C.notice)}</p>`;
      for (const li of result.querySelectorAll('.am-better li[data-code]')) {
        li.addEventListener('click', () => {
          const p = c.better_places.find((x) => x.settlement_code === li.dataset.code);
          if (p) map.setView([p.lat, p.lon], 11);
        });
      }
      writeRecord(c);
      printButton.disabled = false;
      // Register the checked place as a licence application (officers: the register page).
      const toRegister = document.getElementById('am-to-register');
      if (toRegister) {
        const q = new URLSearchParams({ lang: A.C.lang, lat: c.lat, lon: c.lon, service_type: c.service_type, capacity: c.capacity });
        toRegister.href = `/maps/register?${q}`;
        toRegister.hidden = false;
      }
      document.body.dataset.checked = c.verdict;
    }

    /** The head of the printed record: when, as of when, what was asked. */
    function writeRecord(c) {
      const rows = [
        [t('printed_on'), nowJalali()],
        [t('as_of_label'), A.C.as_of_date],
        [t('lat'), num(c.lat, 5)],
        [t('lon'), num(c.lon, 5)],
        [t('service'), serviceName(c.service_type)],
        [t('capacity'), num(c.capacity)],
      ];
      record.innerHTML = `<h2>${esc(t('record_title'))}</h2><table>`
        + rows.map((r) => `<tr><th>${esc(r[0])}</th><td>${esc(r[1])}</td></tr>`).join('') + '</table>';
      record.hidden = false;
    }

    printButton.addEventListener('click', () => window.print());
    // The printed map is smaller than the screen's: redraw it around the result for the page.
    const fitForPrint = () => {
      map.invalidateSize({ animate: false });
      if (lastCheck) {
        writeRecord(lastCheck);
        const b = L.latLngBounds([[lastCheck.lat, lastCheck.lon]]);
        b.extend(L.latLng(lastCheck.lat, lastCheck.lon).toBounds((lastCheck.catchment_km / ((boundaries && boundaries.detour_factor) || 1)) * 2000));
        map.fitBounds(b, { animate: false, padding: [10, 10] });
      }
    };
    window.addEventListener('beforeprint', fitForPrint);
    window.addEventListener('afterprint', () => map.invalidateSize({ animate: false }));
    A.fitForPrint = fitForPrint;
  };
}());
