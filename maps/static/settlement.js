/* Amayesh: a settlement's profile, "everything about this village" (see common.js).
 *
 * Reads GET /settlements/{code}: county, tier, population, per service its target population,
 * nearest centre, centres in reach, access against the norm, flag and reason; draws the place,
 * its nearest centres and the catchment on a small map. Prints as a dated record.
 */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { CLASS_COLOURS, trends, sparkline, SERVICE_COLOURS, minutes, t, num, esc, placeName, serviceName, synTag, populationNote, positionNote, getJSON, setStatus, setup, loadBoundaries, provinceOutline, belowDigits, nowJalali, jalali } = A.u;

  A.settlement = function (map, els, config) {
    setup(map, config);
    const panel = document.getElementById('am-panel');
    const code = panel.dataset.code;
    const results = L.featureGroup([], { pane: 'amResults' }).addTo(map);
    const svg = L.svg({ pane: 'amResults' });
    const printButton = document.getElementById('am-print');
    const record = document.getElementById('am-record');
    let here = null;

    function writeRecord(d) {
      const rows = [[t('printed_on'), nowJalali()], [t('as_of_label'), A.C.as_of_date], [t('code'), d.settlement.id]];
      record.innerHTML = `<h2>${esc(t('profile_of'))}</h2><table>`
        + rows.map((r) => `<tr><th>${esc(r[0])}</th><td>${esc(r[1])}</td></tr>`).join('') + '</table>';
      record.hidden = false;
    }

    /** The county's last years for the village's first flagged service (else the first one):
     *  its active centres at each year's end and its saturation class (``GET /trends``). */
    async function countyTrend(d, p) {
      const box = document.getElementById('am-county-trend');
      const years = (box.dataset.years || '').split(',').filter(Boolean).sort();
      if (!years.length) return;
      const flagged = A.C.services.find((s) => d.services[s.code] && d.services[s.code].flagged);
      const service = (flagged || A.C.services[0]).code;
      try {
        const r = await trends({
          periods: `${years[0]}..${years[years.length - 1]}`, level: 'county', province: p.province_code,
          service_type: service, measures: 'active_centres,saturated_counties',
        });
        const labels = {};
        for (const x of r.periods) labels[x.id] = A.C.lang === 'fa' ? x.label_fa : x.label_en;
        const points = r.rows.filter((x) => x.unit_code === p.county_code).map((x) => ({
          period: x.period, value: x.active_centres, cls: x['class'] || '', colour: x['class'] ? CLASS_COLOURS[x['class']] : '#ffffff',
          label: labels[x.period], title: `${labels[x.period]}: ${num(x.active_centres)} · ${x['class'] ? t('class_' + x['class']) : t('no_data')}`,
        }));
        box.innerHTML = `<p class="am-hint">${esc(t('county_trend_of').replace('{service}', serviceName(service)))}</p>`
          + sparkline(points, { label: t('county_trend') });
        box.dataset.service = service;
        box.dataset.ready = 'true';
      } catch (err) {
        box.innerHTML = `<span class="am-error">${esc(t('error'))}: ${esc(err.message)}</span>`;
      }
    }

    async function show(b) {
      const d = await getJSON(`/settlements/${encodeURIComponent(code)}`);
      const p = d.settlement.properties;
      const [lon, lat] = d.settlement.geometry.coordinates;
      here = [lat, lon];
      const province = (A.C.provinces.find((x) => x.code === p.province_code) || {}).name || p.province_code;
      document.getElementById('am-profile-name').textContent = `${placeName(p)} · ${t('kind_' + p.kind)}`;
      document.title = `${placeName(p)} · ${t('page_settlement')}`;
        const facts = [
        [t('code'), `<span dir="ltr">${esc(p.settlement_code)}</span>`],
        [t('province'), esc(province)],
        [t('county'), esc(placeName(d.county))],
        [t('tier'), esc(t('tier_' + d.tier))],
        [t('population'), num(p.population) + populationNote(p)],
        [t('position'), positionNote(p)],
        [t('in_target_area'), esc(d.in_target_area ? t('yes') : t('no'))],
        [t('as_of_label'), esc(A.C.as_of_date)],
      ];
      document.getElementById('am-facts').innerHTML = facts.map((r) => `<tr><th>${esc(r[0])}</th><td>${r[1]}</td></tr>`).join('');
      const fa = A.C.lang === 'fa';
      const rows = [];
      const nearest = [];
      A.C.services.forEach((svc, i) => {
        const s = d.services[svc.code];
        if (!s) return;
        const min = b.norms[svc.code] ? b.norms[svc.code].min_access_share : 0.5;
        const share = s.access_share_of_norm;
        if (s.nearest_ngo) nearest.push([svc.code, i, s.nearest_ngo.licence_no]);
        rows.push(`<tr data-service="${esc(svc.code)}" class="${s.flagged ? 'am-flag-row' : ''}">`
          + `<td><span class="am-square" style="background:${SERVICE_COLOURS[i]}"></span> ${esc(svc.name)}</td>`
          + `<td>${num(s.target_population)}</td>`
          + `<td>${s.nearest_ngo ? `${d.distance_step ? esc(t('about')) + ' ' : ''}${minutes(s.nearest_min, s.road_fallback)}${num(s.nearest_km, 1)} ${esc(t('km'))} · ${esc(s.nearest_ngo.name_fa)}` : esc(t('no_centre'))}</td>`
          + `<td>${num(s.ngos_in_catchment)} (${s.catchment_min != null ? num(s.catchment_min) + ' ' + esc(t('min')) : num(s.catchment_km) + ' ' + esc(t('km'))})</td>`
          + `<td>${share === null ? '–' : num(share, belowDigits(share, min)) + ' ' + esc(t('times_norm'))}</td>`
          + `<td>${s.flagged ? `<strong>⚑ ${esc(t('yes'))}</strong>` : esc(t('no'))}<div class="am-reason">${esc((fa ? s.reason_fa : s.reason_en) || '')}</div></td></tr>`);
      });
      document.querySelector('#am-services tbody').innerHTML = rows.join('');
      countyTrend(d, p);
      document.getElementById('am-profile-note').innerHTML = `${esc(t('catchment_vs_norm'))}<br>${synTag()} ${esc(A.C.notice)}`;

      L.circleMarker(here, { pane: 'amResults', renderer: svg, radius: 8, color: '#fff', weight: 2, fillColor: '#000', fillOpacity: 1 })
        .bindTooltip(esc(placeName(p))).addTo(results);
      const bounds = L.latLngBounds([here]);
      const km = Math.max(...Object.values(d.services).map((s) => s.catchment_km)) / (b.detour_factor || 1);
      const ring = { pane: 'amResults', renderer: svg, color: '#0b6e6e', weight: 1.5, fill: false, dashArray: '5 4', interactive: false };
      // On roads the widest catchment is a travel-time area (GET /catchment-areas); in a straight
      // line, or for a role that may not ask for it, the circle of the catchment.
      const widest = Object.entries(d.services)
        .filter(([, s]) => s.catchment_min != null)
        .sort((x, y) => y[1].catchment_min - x[1].catchment_min)[0];
      let drawn = false;
      if (widest) {
        try {
          const area = await getJSON(`/catchment-areas?lon=${lon}&lat=${lat}&service_type=${encodeURIComponent(widest[0])}`);
          const layer = L.geoJSON(area, ring).addTo(results);
          bounds.extend(layer.getBounds());
          document.body.dataset.catchment = 'area';
          drawn = true;
        } catch (err) { /* falls back to the circle */ }
      }
      if (!drawn) {
        L.circle(here, { ...ring, radius: km * 1000 }).addTo(results);
        bounds.extend(L.latLng(here).toBounds(km * 2000));
        document.body.dataset.catchment = 'circle';
      }
      // The nearest centre of each service, drawn in its colour.
      await Promise.all(nearest.map(async ([svcCode, i, id]) => {
        try {
          const f = await getJSON(`/collections/ngos/items/${encodeURIComponent(id)}`);
          const [lo, la] = f.geometry.coordinates;
          L.marker([la, lo], {
            pane: 'amNgos', keyboard: false,
            icon: L.divIcon({ className: '', iconSize: [11, 11], html: `<span class="am-ngo-mark" style="background:${SERVICE_COLOURS[i]}"></span>` }),
          }).bindTooltip(`${esc(f.properties.name_fa)} · ${esc(serviceName(svcCode))}`).addTo(results);
          bounds.extend([la, lo]);
        } catch (err) { /* a centre that cannot be read is left off the map */ }
      }));
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 12, animate: false });
      writeRecord(d);
      printButton.disabled = false;
      setStatus(A.C.as_of_text);
      document.body.dataset.profile = code;
    }

    printButton.addEventListener('click', () => window.print());
    const fitForPrint = () => { map.invalidateSize({ animate: false }); if (here) map.setView(here, map.getZoom(), { animate: false }); };
    window.addEventListener('beforeprint', fitForPrint);
    A.fitForPrint = fitForPrint;

    loadBoundaries().then((b) => {
      L.geoJSON(b.counties, { pane: 'amCounties', interactive: false, style: { color: '#9a9a9a', weight: 0.6, fillColor: '#f4f3ef', fillOpacity: 0.7 } }).addTo(map);
      provinceOutline(b).addTo(map);
      return show(b);
    }).then(() => { document.body.dataset.ready = 'true'; })
      .catch((err) => {
        setStatus(err.code === 'unknown-settlement' ? t('not_found') : `${t('error')}: ${err.message}`, true);
        document.body.dataset.ready = 'true';
      });
  };
}());
