/* Amayesh: the national map page (see common.js for what the pages share). */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { belowDigits, t, locale, num, jalali, esc, placeName, serviceName, synTag, getJSON, setStatus, syncUrls, debounce, setup, loadBoundaries, provinceOutline, countyNames, fitProvince, IRAN } = A.u;
  // Saturation classes, from far under the norm to far over it (RdBu).
  const SATURATION_COLOURS = ['#b2182b', '#ef8a62', '#fddbc7', '#f4f4ee', '#92c5de', '#2166ac'];
  const NO_DATA = '#bdbdbd';
  // Settlement access classes 0-3 (see maps/layers.py access_class).
  const ACCESS_COLOURS = ['#d7301f', '#fc8d59', '#fee08b', '#1a9850'];
  const SERVICE_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

  // ---------------------------------------------------------------- national map

  A._state = null;

  /** VectorGrid style of one settlement for the chosen service (see maps/layers.py). */
  A.settlementStyle = function (p, zoom) {
    const st = A._state;
    if (!st) return [];
    if (st.province && String(p.settlement_code).slice(0, 2) !== st.province) return [];
    const cls = Number(String(p.acc).charAt(st.serviceIndex));
    const flagged = String(p.flg).charAt(st.serviceIndex) === '1';
    let radius = zoom <= 5 ? 1 : zoom <= 7 ? 1.8 : zoom <= 9 ? 3 : 4.5;
    if (p.kind === 'city') radius += zoom <= 6 ? 0.8 : 1.5;
    // Flagged places get a dark ring once they are far enough apart to tell from each other.
    const ring = flagged && zoom >= 7;
    if (ring) radius += 1.2;
    return {
      radius, fill: true, fillColor: ACCESS_COLOURS[cls] || NO_DATA, fillOpacity: zoom <= 6 ? 0.75 : 0.9,
      stroke: ring, color: '#111', weight: ring ? 1.1 : 0,
    };
  };

  function saturationClass(ratio, breaks) {
    if (ratio === null || ratio === undefined) return -1;
    let i = 0;
    while (i < breaks.length && ratio >= breaks[i]) i += 1;
    return i;
  }

  function legendSaturation(breaks) {
    const el = document.getElementById('am-legend-saturation');
    const rows = [];
    const bounds = [0, ...breaks];
    for (let i = 0; i < SATURATION_COLOURS.length; i += 1) {
      const label = i < breaks.length
        ? `${num(bounds[i], 2)} – ${num(breaks[i], 2)}`
        : `${num(breaks[breaks.length - 1], 2)} ${t('or_more')}`;
      const cls = i < 3 ? 'class_underserved' : i === 3 ? 'class_balanced' : 'class_saturated';
      rows.push(`<li><span class="am-swatch" style="background:${SATURATION_COLOURS[i]}"></span>`
        + `${label} ${esc(t('times_norm'))} · ${esc(t(cls))}</li>`);
    }
    rows.push(`<li><span class="am-swatch" style="background:${NO_DATA}"></span>${esc(t('no_data'))}</li>`);
    el.innerHTML = `<h3>${esc(t('legend_saturation'))}</h3><ul>${rows.join('')}</ul>`;
  }

  function legendAccess() {
    const el = document.getElementById('am-legend-access');
    const rows = ACCESS_COLOURS.map((c, i) => `<li><span class="am-dot" style="background:${c}"></span>${esc(t('access_' + i))}</li>`);
    rows.push(`<li><span class="am-dot am-flagged" style="background:${ACCESS_COLOURS[0]}"></span>${esc(t('flagged'))}</li>`);
    el.innerHTML = `<h3>${esc(t('legend_access'))}</h3><ul>${rows.join('')}</ul>`;
  }

  function legendNgos(shown, onChange) {
    const el = document.getElementById('am-legend-ngos');
    const rows = A.C.services.map((s, i) => `<li><label><input type="checkbox" data-type="${i}"${shown.has(i) ? ' checked' : ''}> `
      + `<span class="am-dot" style="background:${SERVICE_COLOURS[i]};display:inline-block"></span> ${esc(s.name)}</label></li>`);
    el.innerHTML = `<h3>${esc(t('legend_ngos'))} ${synTag()}</h3><ul>${rows.join('')}</ul>`;
    for (const box of el.querySelectorAll('input')) {
      box.addEventListener('change', () => {
        const i = Number(box.dataset.type);
        if (box.checked) shown.add(i); else shown.delete(i);
        onChange();
      });
    }
  }

  function countyPopup(p, st, breaks) {
    const s = p.sat[st.service];
    const cls = s ? s[5] : null;
    const rows = s ? [
      [t('target_population'), num(s[4]) + ' ' + synTag()],
      [t('ngos'), num(s[3])],
      [t('capacity'), num(s[2])],
      [t('capacity_per_10k'), num(s[1], 1)],
      [t('norm_per_10k'), num(st.norms[st.service].norm_per_10k)],
      [t('ratio_to_norm'), s[0] === null ? '–' : num(s[0], 2) + ' ' + t('times_norm')],
      [t('class'), cls ? `<strong>${esc(t('class_' + cls))}</strong>` : '–'],
    ] : [];
    const others = A.C.services.map((svc) => {
      const v = p.sat[svc.code];
      const k = v ? saturationClass(v[0], breaks) : -1;
      const colour = k < 0 ? NO_DATA : SATURATION_COLOURS[k];
      return `<tr><td><span class="am-swatch" style="display:inline-block;background:${colour}"></span> ${esc(svc.name)}</td>`
        + `<td>${v && v[0] !== null ? num(v[0], 2) : '–'}</td><td>${v ? esc(t('class_' + v[5])) : ''}</td></tr>`;
    }).join('');
    const title = A.C.lang === 'fa' ? `${t('county')} ${placeName(p)}` : placeName(p);
    return `<div class="am-pop am-county"><h4>${esc(title)}</h4>`
      + `<div>${esc(serviceName(st.service))}</div>`
      + `<table>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${r[1]}</td></tr>`).join('')}</table>`
      + `<details><summary>${esc(t('ratio_to_norm'))}: ${esc(t('service'))}</summary><table>${others}</table></details></div>`;
  }

  async function settlementPopup(code, st) {
    const d = await getJSON(`/settlements/${encodeURIComponent(code)}`);
    const p = d.settlement.properties;
    const s = d.services[st.service];
    const popSyn = p.population_source && p.population_source !== 'geonames' ? ' ' + synTag() : '';
    const flaggedFor = Object.entries(d.services).filter(([, v]) => v.flagged).map(([k]) => serviceName(k));
    const rows = [
      [t('population'), num(p.population) + popSyn],
      [t('county'), esc(placeName(d.county))],
      [t('target_population'), num(s.target_population) + ' ' + synTag()],
      [t('nearest'), s.nearest_ngo ? `${num(s.nearest_km, 1)} ${esc(t('km'))} · ${esc(s.nearest_ngo.name_fa)}` : '–'],
      [t('in_reach'), `${num(s.ngos_in_catchment)} (${num(s.catchment_km)} ${esc(t('km'))})`],
      [t('access_share'), s.access_share_of_norm === null ? '–'
        : num(s.access_share_of_norm, belowDigits(s.access_share_of_norm, st.norms[st.service].min_access_share)) + ' ' + t('times_norm')],
    ];
    if (d.in_target_area) rows.push([t('in_target_area'), '✓']);
    const reason = s.flagged ? `<div class="am-reason">⚑ ${esc(A.C.lang === 'fa' ? s.reason_fa : s.reason_en)}</div>` : '';
    const list = flaggedFor.length ? `<div class="am-hint">${esc(t('flagged_short'))}: ${flaggedFor.map(esc).join(A.C.lang === 'fa' ? '، ' : ', ')}</div>` : '';
    return `<div class="am-pop am-settlement" data-code="${esc(code)}"><h4>${esc(placeName(p))} `
      + `<span class="am-tag">${esc(t('kind_' + p.kind))}</span></h4><div>${esc(serviceName(st.service))}</div>`
      + `<table>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${r[1]}</td></tr>`).join('')}</table>${reason}${list}</div>`;
  }

  async function ngoPopup(id) {
    const f = await getJSON(`/collections/ngos/items/${encodeURIComponent(id)}`);
    const p = f.properties;
    const rows = [
      [t('service'), esc(serviceName(p.service_type))],
      [t('capacity'), num(p.capacity)],
      [t('status'), `${esc(t('status_' + p.status))}<div class="am-hint">${esc(A.C.as_of_text)}</div>`],
      [t('licence_no'), `<span dir="ltr">${esc(p.licence_no)}</span>`],
      [t('issued_on'), esc(jalali(p.issued_on))],
      [t('expires_on'), esc(jalali(p.expires_on))],
    ];
    return `<div class="am-pop am-ngo"><h4>${esc(p.name_fa)} ${p.synthetic ? synTag() : ''}</h4>`
      + `<table>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${r[1]}</td></tr>`).join('')}</table></div>`;
  }

  function targetPopup(p) {
    return `<div class="am-pop am-target"><h4>${esc(p.name_fa)} ${synTag()}</h4><table>`
      + `<tr><td>${esc(t('layer_targets'))}</td><td>${esc(t('kind_' + p.kind))}</td></tr>`
      + `<tr><td>${esc(t('households'))}</td><td>${num(p.households)}</td></tr></table></div>`;
  }

  function inRing(ring, x, y) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  /** The county whose (simplified) outline contains the point, or null. */
  function countyAt(collection, latlng) {
    const x = latlng.lng;
    const y = latlng.lat;
    for (const f of collection.features) {
      const g = f.geometry;
      const polygons = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      for (const rings of polygons) {
        if (inRing(rings[0], x, y) && !rings.slice(1).some((hole) => inRing(hole, x, y))) return f;
      }
    }
    return null;
  }

  /** The settlement drawn nearest to a click, within a few pixels, or null. */
  async function settlementAt(map, latlng, st) {
    const point = map.latLngToContainerPoint(latlng);
    const r = 7;
    const sw = map.containerPointToLatLng([point.x - r, point.y + r]);
    const ne = map.containerPointToLatLng([point.x + r, point.y - r]);
    const params = new URLSearchParams({ bbox: [sw.lng, sw.lat, ne.lng, ne.lat].map((v) => v.toFixed(5)).join(','), limit: '200' });
    if (st.province) params.set('province', st.province);
    const fc = await getJSON(`/collections/settlements/items?${params}`);
    let best = null;
    let bestD = Infinity;
    for (const f of fc.features) {
      const [lon, lat] = f.geometry.coordinates;
      const q = map.latLngToContainerPoint([lat, lon]);
      const d = (q.x - point.x) ** 2 + (q.y - point.y) ** 2;
      if (d < bestD) { bestD = d; best = f; }
    }
    return best;
  }

  /** NGOs clustered in the browser (supercluster), redrawn for each view. */
  function ngoLayer(map, data, st) {
    const group = L.layerGroup([], { pane: 'amNgos' });
    let index = null;
    const rebuild = () => {
      const features = [];
      for (let i = 0; i < data.id.length; i += 1) {
        if (!st.ngoTypes.has(data.type[i])) continue;
        if (st.province && data.province[i] !== st.province) continue;
        features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [data.lon[i], data.lat[i]] }, properties: { i } });
      }
      index = new Supercluster({ radius: 56, maxZoom: 13, minPoints: 3 });
      index.load(features);
      draw();
    };
    const draw = () => {
      if (!index || !map.hasLayer(group)) return;
      group.clearLayers();
      const b = map.getBounds();
      const zoom = Math.round(map.getZoom());
      for (const c of index.getClusters([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom)) {
        const [lon, lat] = c.geometry.coordinates;
        if (c.properties.cluster) {
          const n = c.properties.point_count;
          const size = n < 10 ? 24 : n < 100 ? 30 : n < 1000 ? 38 : 46;
          const marker = L.marker([lat, lon], {
            pane: 'amNgos',
            icon: L.divIcon({ className: '', html: `<div class="am-cluster" style="width:${size}px;height:${size}px">${num(n)}</div>`, iconSize: [size, size] }),
            title: `${num(n)} ${t('centres_here')}`,
            amCount: n,
          });
          marker.on('click', () => map.setView([lat, lon], Math.min(index.getClusterExpansionZoom(c.properties.cluster_id), 16)));
          group.addLayer(marker);
        } else {
          const i = c.properties.i;
          const dot = L.circleMarker([lat, lon], {
            pane: 'amNgos', radius: 5, weight: 1, color: '#fff', fillOpacity: 0.95, bubblingMouseEvents: false,
            fillColor: SERVICE_COLOURS[data.type[i]], opacity: data.active[i] ? 1 : 0.5,
          });
          // A map popup, not one bound to the dot: redrawing the clusters must not close it.
          dot.on('click', () => {
            const popup = L.popup({ maxWidth: 340 }).setLatLng(dot.getLatLng()).setContent(t('loading')).openOn(map);
            ngoPopup(data.id[i]).then((html) => popup.setContent(html))
              .catch((err) => popup.setContent(`${esc(t('error'))}: ${esc(err.message)}`));
          });
          dot.options.amNgo = data.id[i];
          group.addLayer(dot);
        }
      }
    };
    map.on('moveend', draw);
    group.on('add', draw);
    group.amRebuild = rebuild;
    return group;
  }

  A.national = function (map, els, config) {
    setup(map, config);
    const serviceSelect = document.getElementById('am-service');
    const provinceSelect = document.getElementById('am-province');
    const indexOf = (code) => Math.max(0, A.C.services.findIndex((s) => s.code === code));
    const st = {
      service: serviceSelect.value,
      serviceIndex: indexOf(serviceSelect.value),
      province: provinceSelect.value,
      ngoTypes: new Set([indexOf(serviceSelect.value)]),
      norms: {},
    };
    A._state = st;
    const control = els.control;
    const grid = els.settlements;
    legendAccess();

    Promise.all([loadBoundaries(), getJSON('/maps/data/ngos.json'), getJSON('/maps/data/target-areas.json')])
      .then(([b, ngos, targets]) => {
        st.norms = b.norms;
        legendSaturation(b.breaks);
        const style = (f) => {
          const p = f.properties;
          const inside = !st.province || p.province_code === st.province;
          const s = p.sat[st.service];
          const k = s ? saturationClass(s[0], b.breaks) : -1;
          return {
            color: '#6b7781', weight: inside ? 0.6 : 0.3, opacity: inside ? 0.9 : 0.35,
            fillColor: k < 0 ? NO_DATA : SATURATION_COLOURS[k], fillOpacity: inside ? 0.78 : 0.12,
          };
        };
        // Clicks are answered by pick() on the map: the settlement under the pointer if the
        // settlements are shown, otherwise the county containing the point.
        const counties = L.geoJSON(b.counties, { pane: 'amCounties', style, interactive: false });
        const provinces = provinceOutline(b);
        const ngoGroup = ngoLayer(map, ngos, st);
        const targetLayer = L.layerGroup();
        const drawTargets = () => {
          targetLayer.clearLayers();
          const shown = targets.features.filter((f) => !st.province || f.properties.province_code === st.province);
          targetLayer.addLayer(L.geoJSON({ type: 'FeatureCollection', features: shown }, {
            pane: 'amTargets',
            bubblingMouseEvents: false,
            style: { color: '#6a1b9a', weight: 2, fillColor: '#ab47bc', fillOpacity: 0.35 },
            onEachFeature: (f, layer) => layer.bindPopup(targetPopup(f.properties)),
          }));
          // A dot at each area's centre keeps the areas visible when zoomed out.
          targetLayer.addLayer(L.layerGroup(shown.map((f) => L.circleMarker(L.geoJSON(f).getBounds().getCenter(), {
            pane: 'amTargets', radius: 4, color: '#6a1b9a', weight: 1.5, fillColor: '#ce93d8', fillOpacity: 0.9, bubblingMouseEvents: false,
          }).bindPopup(targetPopup(f.properties)))));
        };
        drawTargets();

        // Layer control, in reading order.
        control.removeLayer(grid);
        control.addOverlay(provinces, t('layer_provinces'));
        control.addOverlay(counties, t('layer_counties'));
        control.addOverlay(grid, t('layer_settlements'));
        control.addOverlay(ngoGroup, t('layer_ngos'));
        control.addOverlay(targetLayer, t('layer_targets'));
        counties.addTo(map);
        provinces.addTo(map);
        ngoGroup.addTo(map);
        targetLayer.addTo(map);
        legendNgos(st.ngoTypes, () => ngoGroup.amRebuild());
        ngoGroup.amRebuild();
        A.layers = { counties, provinces, settlements: grid, ngos: ngoGroup, targets: targetLayer };

        async function pick(latlng) {
          const county = map.hasLayer(counties) ? countyAt(b.counties, latlng) : null;
          const popup = L.popup({ maxWidth: 340 }).setLatLng(latlng).setContent(t('loading')).openOn(map);
          try {
            const place = map.hasLayer(grid) ? await settlementAt(map, latlng, st) : null;
            if (place) {
              const [lon, lat] = place.geometry.coordinates;
              popup.setLatLng([lat, lon]).setContent(await settlementPopup(place.id, st));
            } else if (county) {
              popup.setContent(countyPopup(county.properties, st, b.breaks));
            } else {
              map.closePopup(popup);
            }
          } catch (err) {
            popup.setContent(`${t('error')}: ${esc(err.message)}`);
          }
        }
        map.on('click', (e) => pick(e.latlng));

        const apply = () => {
          st.serviceIndex = indexOf(st.service);
          counties.setStyle(style);
          grid.redraw();
          syncUrls({ service: st.service, province: st.province });
        };
        serviceSelect.addEventListener('change', () => {
          st.service = serviceSelect.value;
          st.ngoTypes.clear();
          st.ngoTypes.add(indexOf(st.service));
          legendNgos(st.ngoTypes, () => ngoGroup.amRebuild());
          ngoGroup.amRebuild();
          apply();
        });
        provinceSelect.addEventListener('change', () => {
          st.province = provinceSelect.value;
          fitProvince(map, b, st.province);
          ngoGroup.amRebuild();
          drawTargets();
          apply();
        });
        if (st.province) fitProvince(map, b, st.province);
        setStatus(`${num(b.counties.features.length)} ${t('county')} · ${num(ngos.id.length)} ${t('layer_ngos')}`);
        document.body.dataset.ready = 'true';
        // When every layer of the first view is drawn (the benchmark reads this).
        const drawn = () => { document.body.dataset.loadedMs = String(Math.round(performance.now())); };
        if (grid.isLoading()) grid.once('load', drawn); else drawn();
      })
      .catch((err) => setStatus(`${t('error')}: ${err.message}`, true));
  };

}());
