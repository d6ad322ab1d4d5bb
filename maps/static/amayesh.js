/* Amayesh map pages: national map, licence check, village priorities.
 *
 * folium writes the page and the Leaflet map and calls Amayesh.<page>(map, layers, config).
 * Every display string comes from config.t (Persian or English); numbers are written with the
 * page language's digits and dates in the Jalali calendar. Data comes from this service only.
 */
(function () {
  'use strict';

  const A = {};
  window.Amayesh = A;
  let C = { lang: 'fa', t: {}, services: [] };

  // Saturation classes, from far under the norm to far over it (RdBu).
  const SATURATION_COLOURS = ['#b2182b', '#ef8a62', '#fddbc7', '#f4f4ee', '#92c5de', '#2166ac'];
  const NO_DATA = '#bdbdbd';
  // Settlement access classes 0-3 (see maps/layers.py access_class).
  const ACCESS_COLOURS = ['#d7301f', '#fc8d59', '#fee08b', '#1a9850'];
  const SERVICE_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  const CRITERION_COLOURS = { need: '#b2182b', gap: '#ef8a62', distance: '#6a51a3', population: '#2166ac', target_area: '#1a9850' };

  // ---------------------------------------------------------------- formatting

  const t = (key) => (key in C.t ? C.t[key] : key);
  const locale = () => (C.lang === 'fa' ? 'fa-IR' : 'en-US');

  function num(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return '–';
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits || 0 }).format(x);
  }

  /** A stored Gregorian date (YYYY-MM-DD) written in the Jalali calendar. */
  function jalali(iso) {
    if (!iso) return '–';
    const day = new Date(String(iso).slice(0, 10) + 'T12:00:00Z');
    const cal = C.lang === 'fa' ? 'fa-IR-u-ca-persian-nu-arabext' : 'en-US-u-ca-persian';
    const text = new Intl.DateTimeFormat(cal, {
      year: 'numeric', month: 'long', day: 'numeric', timeZone: 'Asia/Tehran',
    }).format(day);
    return C.lang === 'fa' ? text : `${text} (${String(iso).slice(0, 10)})`;
  }

  function esc(value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  const placeName = (p) => (C.lang === 'en' && p.name_en ? p.name_en : p.name_fa);
  const serviceName = (code) => t('service_' + code);
  const synTag = () => `<span class="am-tag am-syn">${esc(t('synthetic_value'))}</span>`;

  /** Requests that change something carry the session's CSRF token (api/security.py). */
  function withCsrf(options) {
    if (!options || !options.method || options.method === 'GET') return options;
    const meta = document.querySelector('meta[name="csrf-token"]');
    const headers = Object.assign({}, options.headers || {}, meta ? { 'X-CSRF-Token': meta.content } : {});
    return Object.assign({}, options, { headers, credentials: 'same-origin' });
  }

  async function getJSON(url, options) {
    const response = await fetch(url, withCsrf(options));
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) {
      const message = body && (body.detail || body.title) ? (body.detail || body.title) : response.statusText;
      throw new Error(message);
    }
    return body;
  }

  function setStatus(text, isError) {
    const el = document.getElementById('am-status');
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('am-error', Boolean(isError));
  }

  /** Keep the page's state in its address, the language switch and the page links. */
  function syncUrls(params) {
    const url = new URL(window.location.href);
    for (const [key, value] of Object.entries(params)) {
      if (value) url.searchParams.set(key, value); else url.searchParams.delete(key);
    }
    window.history.replaceState(null, '', url);
    const lang = document.getElementById('am-lang');
    if (lang) {
      const other = new URL(lang.href, window.location.href);
      for (const [key, value] of url.searchParams) if (key !== 'lang') other.searchParams.set(key, value);
      for (const [key] of other.searchParams) if (key !== 'lang' && !url.searchParams.has(key)) other.searchParams.delete(key);
      lang.href = other.pathname + other.search;
    }
    for (const a of document.querySelectorAll('.am-nav a')) {
      const link = new URL(a.href, window.location.href);
      for (const key of ['province', 'service']) {
        if (url.searchParams.get(key)) link.searchParams.set(key, url.searchParams.get(key));
        else link.searchParams.delete(key);
      }
      a.href = link.pathname + link.search;
    }
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // ---------------------------------------------------------------- shared map set-up

  A.makePanes = function (map) {
    const panes = [['amCounties', 380], ['amProvinces', 390], ['amSettlements', 410],
      ['amTargets', 420], ['amNgos', 450], ['amResults', 460]];
    for (const [name, z] of panes) {
      if (!map.getPane(name)) map.createPane(name).style.zIndex = z;
    }
    map.getPane('amProvinces').style.pointerEvents = 'none';
    map.getPane('amSettlements').style.pointerEvents = 'none';
  };

  function setup(map, config) {
    C = config;
    A.makePanes(map);
    map.fitBounds(IRAN);
    map.attributionControl.addAttribution(esc(C.attribution));
    A.map = map;
  }

  let boundariesPromise = null;
  function loadBoundaries() {
    if (!boundariesPromise) boundariesPromise = getJSON('/maps/data/boundaries.json');
    return boundariesPromise;
  }

  function provinceOutline(boundaries) {
    return L.geoJSON(boundaries.provinces, {
      pane: 'amProvinces', interactive: false,
      style: { color: '#37414b', weight: 1.6, fill: false, opacity: 0.9 },
    });
  }

  function countyNames(boundaries) {
    const names = {};
    for (const f of boundaries.counties.features) names[f.properties.county_code] = placeName(f.properties);
    return names;
  }

  const IRAN = [[25.0, 44.0], [39.8, 63.4]];
  function fitProvince(map, boundaries, code) {
    const b = code ? boundaries.province_bounds[code] : null;
    if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10], animate: false });
    else map.fitBounds(IRAN, { animate: false });
  }

  // Helpers for the other page scripts (plan.js).
  A.util = {
    t, num, esc, jalali, getJSON, setStatus, syncUrls, debounce, setup, loadBoundaries,
    provinceOutline, countyNames, fitProvince, synTag, serviceName, SATURATION_COLOURS,
  };

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
    const rows = C.services.map((s, i) => `<li><label><input type="checkbox" data-type="${i}"${shown.has(i) ? ' checked' : ''}> `
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
    const others = C.services.map((svc) => {
      const v = p.sat[svc.code];
      const k = v ? saturationClass(v[0], breaks) : -1;
      const colour = k < 0 ? NO_DATA : SATURATION_COLOURS[k];
      return `<tr><td><span class="am-swatch" style="display:inline-block;background:${colour}"></span> ${esc(svc.name)}</td>`
        + `<td>${v && v[0] !== null ? num(v[0], 2) : '–'}</td><td>${v ? esc(t('class_' + v[5])) : ''}</td></tr>`;
    }).join('');
    const title = C.lang === 'fa' ? `${t('county')} ${placeName(p)}` : placeName(p);
    return `<div class="am-pop am-county"><h4>${esc(title)}</h4>`
      + `<div>${esc(serviceName(st.service))}</div>`
      + `<table>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${r[1]}</td></tr>`).join('')}</table>`
      + `<details><summary>${esc(t('ratio_to_norm'))}: ${esc(t('service'))}</summary><table>${others}</table></details></div>`;
  }

  // Travel time on roads ("12 min · "), or nothing in a straight line.
  function minutes(value, fallback) {
    if (value == null) return '';
    return `${num(value)} ${esc(t('min'))}${fallback ? ' (' + esc(t('by_straight_line')) + ')' : ''} · `;
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
      [t('nearest'), s.nearest_ngo ? `${minutes(s.nearest_min, s.road_fallback)}${num(s.nearest_km, 1)} ${esc(t('km'))} · ${esc(s.nearest_ngo.name_fa)}` : '–'],
      [t('in_reach'), `${num(s.ngos_in_catchment)} (${s.catchment_min != null ? num(s.catchment_min) + ' ' + esc(t('min')) : num(s.catchment_km) + ' ' + esc(t('km'))})`],
      [t('access_share'), s.access_share_of_norm === null ? '–' : num(s.access_share_of_norm, 2) + ' ' + t('times_norm')],
    ];
    if (d.in_target_area) rows.push([t('in_target_area'), '✓']);
    const reason = s.flagged ? `<div class="am-reason">⚑ ${esc(C.lang === 'fa' ? s.reason_fa : s.reason_en)}</div>` : '';
    const list = flaggedFor.length ? `<div class="am-hint">${esc(t('flagged_short'))}: ${flaggedFor.map(esc).join(C.lang === 'fa' ? '، ' : ', ')}</div>` : '';
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
      [t('status'), esc(t('status_' + p.status))],
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
    const indexOf = (code) => Math.max(0, C.services.findIndex((s) => s.code === code));
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
      const areaStyle = { pane: 'amResults', color: '#0b6e6e', weight: 2, fillOpacity: 0.06, interactive: false };
      if (c.travel === 'roads') {
        // The travel-time area of the catchment, instead of a circle.
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
      for (const n of c.same_type_nearby) {
        L.circleMarker([n.lat, n.lon], { pane: 'amResults', radius: 5, color: '#fff', weight: 1, fillColor: '#1f4e9c', fillOpacity: 0.95 })
          .bindTooltip(`${esc(n.name_fa)} · ${num(n.capacity)} · ${minutes(n.travel_min)}${num(n.distance_km, 1)} ${esc(t('km'))}`)
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

      const reasons = C.lang === 'fa' ? c.reasons_fa : c.reasons_en;
      const sat = (s) => `<td>${num(s.capacity_per_10k, 0)}</td><td>${num(s.ratio_to_norm, 2)}</td><td>${esc(t('class_' + s['class']))}</td><td>${num(s.ngos)}</td>`;
      const near = c.same_type_nearby.map((n) => `<li>${esc(n.name_fa)} · ${num(n.capacity)} · ${minutes(n.travel_min)}${num(n.distance_km, 1)} ${esc(t('km'))}</li>`).join('');
      const note = c.travel === 'roads'
        ? t('catchment_note_roads').replace('{minutes}', num(c.catchment_min))
        : t('catchment_note').replace('{travel}', num(c.catchment_km)).replace('{radius}', num(radiusKm, 1));
      const better = c.better_places.map((p) => `<li data-code="${esc(p.settlement_code)}">${esc(p.name_fa)} (${esc(names[p.county_code] || p.county_code)}) · `
        + `${num(p.distance_km, 1)} ${esc(t('km'))} · ${esc(t('newly_covered'))} ${num(p.newly_covered_target_population)}</li>`).join('');
      result.innerHTML = `<div class="am-verdict am-verdict-${esc(c.verdict)}" data-verdict="${esc(c.verdict)}">`
        + `${esc(t('verdict'))}: ${esc(t('verdict_' + c.verdict))}</div>`
        + `<div>${esc(t('county'))} ${esc(names[c.county_code] || c.county_code)} · ${esc(serviceName(c.service_type))} · ${esc(t('capacity'))} ${num(c.capacity)}</div>`
        + `<h3>${esc(t('reasons'))}</h3><ul class="am-reasons">${reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
        + `<table><tr><th></th><th>${esc(t('capacity_per_10k'))}</th><th>${esc(t('ratio_to_norm'))}</th><th>${esc(t('class'))}</th><th>${esc(t('ngos'))}</th></tr>`
        + `<tr><th>${esc(t('before'))}</th>${sat(c.saturation_before)}</tr><tr><th>${esc(t('after'))}</th>${sat(c.saturation_after)}</tr></table>`
        + `<p>${esc(t('newly_covered'))}: <strong>${num(c.newly_covered_target_population)}</strong></p>`
        + `<p class="am-hint">${esc(note)}</p>`
        + `<h3>${esc(t('same_type_nearby'))} (${num(c.same_type_in_catchment)})</h3><ul class="am-near">${near || `<li>${esc(t('none'))}</li>`}</ul>`
        + `<h3>${esc(t('better_places'))}</h3><ol class="am-better">${better || `<li>${esc(t('none'))}</li>`}</ol>`
        + `<p class="am-hint">${synTag()} ${esc(C.notice)}</p>`;
      for (const li of result.querySelectorAll('.am-better li[data-code]')) {
        li.addEventListener('click', () => {
          const p = c.better_places.find((x) => x.settlement_code === li.dataset.code);
          if (p) map.setView([p.lat, p.lon], 11);
        });
      }
      document.body.dataset.checked = c.verdict;
    }
  };

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
          + `<td>${esc(C.lang === 'fa' ? v.reason_fa : v.reason_en)}</td></tr>`);
        if (f) {
          const [lon, lat] = f.geometry.coordinates;
          const size = v.rank <= 10 ? 24 : 18;
          const m = L.marker([lat, lon], {
            pane: 'amResults',
            icon: L.divIcon({ className: '', html: `<div class="am-num-icon" style="width:${size}px;height:${size}px;background:${v.rank <= 10 ? '#b2182b' : '#ef8a62'}">${num(v.rank)}</div>`, iconSize: [size, size] }),
            title: v.name_fa,
            zIndexOffset: 1000 - v.rank,
          }).bindPopup(`<div class="am-pop"><h4>${num(v.rank)}. ${esc(v.name_fa)}</h4>${esc(t('score'))}: ${num(v.score * 100, 1)}<br>`
            + `${esc(t('target_population'))}: ${num(v.target_population)} ${synTag()}<br>${esc(C.lang === 'fa' ? v.reason_fa : v.reason_en)}</div>`);
          m.on('click', () => select(v.settlement_code, false));
          m.addTo(markers);
          byCode[v.settlement_code] = m;
        }
      }
      tbody.innerHTML = rows.join('');
      for (const tr of tbody.querySelectorAll('tr')) tr.addEventListener('click', () => select(tr.dataset.code, true));
      setStatus(`${num(data.numberReturned)} ${t('village')} · ${t('weights')}: `
        + Object.entries(data.weights).map(([k, w]) => `${t('criterion_' + k)} ${num(w, 2)}`).join(C.lang === 'fa' ? '، ' : ', '));
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
      for (const s of sliders) s.value = C.weights[s.dataset.criterion];
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
