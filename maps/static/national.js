/* Amayesh: the national map page (see common.js for what the pages share). */
(function () {
  'use strict';

  const A = window.Amayesh;
  const { belowDigits, minutes, t, locale, num, jalali, esc, placeName, serviceName, synTag, populationNote, positionNote, getJSON, setStatus, syncUrls, debounce, setup, loadBoundaries, provinceOutline, countyNames, fitProvince, IRAN } = A.u;
  // Each layer has its own visual channel, so no colour means two things:
  // - counties: saturation as a muted diverging brown-to-teal fill (under the norm brown, over it teal);
  // - settlements: access as grey-to-black dots (darker = worse), flagged ones larger and ringed;
  // - NGOs: small squares in vivid hues outside both ramps, one per service type;
  // - target neighbourhoods: dashed outlines, no fill.
  const NO_DATA = '#ffffff';
  const { ACCESS_COLOURS, SERVICE_COLOURS, SATURATION_COLOURS, CLASS_COLOURS, trends, sparkline } = A.u;
  const TARGET_COLOUR = '#222222';

  // ---------------------------------------------------------------- national map


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

  /** The legend of a period's map: its three classes (GET /trends gives the class alone). */
  function legendPeriod(label) {
    const el = document.getElementById('am-legend-saturation');
    const rows = Object.entries(CLASS_COLOURS).map(([cls, colour]) => `<li data-class="${cls}"><span class="am-swatch" style="background:${colour}"></span>${esc(t('class_' + cls))}</li>`);
    rows.push(`<li><span class="am-swatch" style="background:${NO_DATA}"></span>${esc(t('no_data'))}</li>`);
    el.innerHTML = `<h3>${esc(t('legend_saturation'))}</h3><p class="am-period-label">${esc(label)}</p>`
      + `<p class="am-hint">${esc(t('period_legend'))}</p><ul>${rows.join('')}</ul>`;
  }

  /** The county's last Jalali years under its popup: active centres (the line) and its class
   *  (the squares), from one GET /trends for its province (kept by the page). */
  async function countySpark(popup, p, st, breaks) {
    const years = st.years;
    const code = p.county_code;
    if (!years.length) return;
    let html;
    try {
      const d = await trends({
        periods: `${years[0]}..${years[years.length - 1]}`, level: 'county', province: code.slice(0, 2),
        service_type: st.service, measures: 'active_centres,saturated_counties',
      });
      const labels = {};
      for (const p of d.periods) labels[p.id] = A.C.lang === 'fa' ? p.label_fa : p.label_en;
      const points = d.rows.filter((r) => r.unit_code === code).map((r) => ({
        period: r.period, value: r.active_centres, cls: r['class'] || '', colour: r['class'] ? CLASS_COLOURS[r['class']] : NO_DATA,
        label: labels[r.period], title: `${labels[r.period]}: ${num(r.active_centres)} · ${r['class'] ? t('class_' + r['class']) : t('no_data')}`,
      }));
      html = `<div class="am-spark-title">${esc(t('spark_title'))}: ${esc(t('spark_active'))} · ${esc(t('spark_class'))}</div>`
        + sparkline(points, { label: t('spark_title') });
    } catch (err) {
      html = `<span class="am-error">${esc(t('error'))}: ${esc(err.message)}</span>`;
    }
    // Leaflet writes a popup from its content string: the drawing goes into that string (and the
    // popup's size follows it); a popup closed or showing something else meanwhile is left alone.
    const shown = popup.isOpen() && popup.getElement().querySelector(`.am-spark[data-county="${code}"]`);
    if (shown && st.service === shown.dataset.service) popup.setContent(countyPopup(p, st, breaks, html));
  }

  function legendAccess() {
    const el = document.getElementById('am-legend-access');
    const rows = ACCESS_COLOURS.map((c, i) => `<li><span class="am-dot" style="background:${c}"></span>${esc(t('access_' + i))}</li>`);
    rows.push(`<li><span class="am-dot am-flagged" style="background:${ACCESS_COLOURS[0]}"></span>${esc(t('flagged'))}</li>`);
    rows.push(`<li><span class="am-swatch am-target-swatch"></span>${esc(t('layer_targets'))}</li>`);
    el.innerHTML = `<h3>${esc(t('legend_access'))}</h3><ul>${rows.join('')}</ul>`
      + `<p class="am-hint" id="am-zoom-note">${esc(t('national_zoom_note'))}</p>`;
  }

  function legendNgos(shown, onChange) {
    const el = document.getElementById('am-legend-ngos');
    const rows = A.C.services.map((s, i) => `<li><label><input type="checkbox" data-type="${i}"${shown.has(i) ? ' checked' : ''}> `
      + `<span class="am-square" style="background:${SERVICE_COLOURS[i]}"></span> ${esc(s.name)}</label></li>`);
    el.innerHTML = `<h3>${esc(t('legend_ngos'))} ${synTag()}</h3><ul>${rows.join('')}</ul>`;
    for (const box of el.querySelectorAll('input')) {
      box.addEventListener('change', () => {
        const i = Number(box.dataset.type);
        if (box.checked) shown.add(i); else shown.delete(i);
        onChange();
      });
    }
  }

  /** One sentence when a county's average hides its villages: saturated (or balanced) as a
   *  whole while most of its villages have no centre within reach. */
  function explainCounty(s, st) {
    if (!s || !s[6] || s[7] / s[6] <= 0.5 || s[5] === 'underserved') return '';
    return t('explain_saturated_villages')
      .replace('{class}', t('n_' + s[5]))
      .replace('{out}', num(s[7])).replace('{villages}', num(s[6]))
      .replace('{km}', num(st.norms[st.service].catchment_km));
  }

  function countyPopup(p, st, breaks, spark) {
    const s = p.sat[st.service];
    const cls = s ? s[5] : null;
    const rows = s ? [
      [t('target_population'), num(s[4]) + ' ' + synTag()],
      [t('ngos'), num(s[3])],
      // where volunteers count: "capacity 420 = 380 licensed + 40 volunteers"
      [t('capacity'), s.length > 12
        ? esc(t('capacity_split_volunteers').replace('{total}', num(s[2])).replace('{centres}', num(s[11])).replace('{volunteers}', num(s[12])))
        : num(s[2])],
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
    if (s) {
      rows.push([t('villages_out_of_reach'), `${num(s[7])} / ${num(s[6])}`]);
      rows.push([t('flagged_places'), num(s[8])]);
    }
    const title = A.C.lang === 'fa' ? `${t('county')} ${placeName(p)}` : placeName(p);
    const why = explainCounty(s, st);
    return `<div class="am-pop am-county" data-code="${esc(p.county_code)}"><h4>${esc(title)}</h4>`
      + `<div>${esc(serviceName(st.service))}</div>`
      + `<table>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${r[1]}</td></tr>`).join('')}</table>`
      + (why ? `<p class="am-explain">${esc(why)}</p>` : '')
      + `<details><summary>${esc(t('ratio_to_norm'))}: ${esc(t('service'))}</summary><table>${others}</table></details>`
      + `<div class="am-spark" data-county="${esc(p.county_code)}" data-service="${esc(st.service)}"${spark ? ' data-ready="true"' : ''}>`
      + `${spark || esc(t('spark_loading'))}</div></div>`;
  }

  async function settlementPopup(code, st) {
    const d = await getJSON(`/settlements/${encodeURIComponent(code)}`);
    const p = d.settlement.properties;
    const s = d.services[st.service];
    const flaggedFor = Object.entries(d.services).filter(([, v]) => v.flagged).map(([k]) => serviceName(k));
    const rows = [
      [t('population'), num(p.population) + populationNote(p)],
      [t('position'), positionNote(p)],
      [t('county'), esc(placeName(d.county))],
      [t('target_population'), num(s.target_population) + ' ' + synTag()],
      [t('nearest'), s.nearest_ngo ? `${d.distance_step ? esc(t('about')) + ' ' : ''}${minutes(s.nearest_min, s.road_fallback)}${num(s.nearest_km, 1)} ${esc(t('km'))} · ${esc(s.nearest_ngo.name_fa)}` : '–'],
      [t('in_reach'), `${num(s.ngos_in_catchment)} (${s.catchment_min != null ? num(s.catchment_min) + ' ' + esc(t('min')) : num(s.catchment_km) + ' ' + esc(t('km'))})`],
      [t('access_share'), s.access_share_of_norm === null ? '–'
        : num(s.access_share_of_norm, belowDigits(s.access_share_of_norm, st.norms[st.service].min_access_share)) + ' ' + t('times_norm')],
    ];
    if (d.in_target_area) rows.push([t('in_target_area'), '✓']);
    const reason = s.flagged ? `<div class="am-reason">⚑ ${esc(A.C.lang === 'fa' ? s.reason_fa : s.reason_en)}</div>` : '';
    const list = flaggedFor.length ? `<div class="am-hint">${esc(t('flagged_short'))}: ${flaggedFor.map(esc).join(A.C.lang === 'fa' ? '، ' : ', ')}</div>` : '';
    return `<div class="am-pop am-settlement" data-code="${esc(code)}"><h4>${esc(placeName(p))} `
      + `<span class="am-tag">${esc(t('kind_' + p.kind))}</span></h4><div>${esc(serviceName(st.service))}</div>`
      + `<table>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${r[1]}</td></tr>`).join('')}</table>${reason}${list}`
      + `<p><a class="am-profile-link" href="/maps/settlements/${encodeURIComponent(code)}?lang=${A.C.lang}">${esc(t('open_profile'))}</a></p></div>`;
  }

  async function ngoPopup(id) {
    const f = await getJSON(`/collections/ngos/items/${encodeURIComponent(id)}`);
    const p = f.properties;
    const rows = [
      [t('service'), esc(serviceName(p.service_type))],
      // its own delivery mode, or its service's main one (the catalogue's)
      [t('delivery_mode'), esc(t('mode_' + (p.delivery_mode
        || ((A.C.services.find((s) => s.code === p.service_type) || { modes: ['centre'] }).modes[0]))))],
      [t('capacity'), num(p.capacity)],
      [t('status'), `${esc(t('status_' + p.status))}<div class="am-hint">${esc(A.C.as_of_text)}</div>`],
      [t('licence_no'), `<span dir="ltr">${esc(p.licence_no)}</span>`],
      [t('issued_on'), esc(jalali(p.issued_on))],
      [t('expires_on'), esc(jalali(p.expires_on))],
    ];
    // Its grade on the as-of day (GET /ngos/{id}/evaluations); left out where it cannot be read.
    try {
      const e = await getJSON(`/ngos/${encodeURIComponent(id)}/evaluations`);
      const meaning = (e.scale.grades.find((g) => g.grade === e.grade) || {})[A.C.lang === 'fa' ? 'fa' : 'en'];
      rows.push([t('grade'), e.grade
        ? `<b>${esc(e.grade)}</b> ${esc(meaning || '')}<div class="am-hint">${esc(t('graded_on'))} ${esc(jalali(e.graded_on))}</div>`
        : esc(t('grade_unrated'))]);
    } catch (err) { /* no scale, or not allowed: the popup without the grade */ }
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
      index = new Supercluster({ radius: 80, maxZoom: 13, minPoints: 3 });
      index.load(features);
      draw();
    };
    const draw = () => {
      if (!index || !map.hasLayer(group)) return;
      group.clearLayers();
      const b = map.getBounds();
      const zoom = Math.round(map.getZoom());
      const names = group.amAvoid();
      for (const c of index.getClusters([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom)) {
        const [lon, lat] = c.geometry.coordinates;
        const size = c.properties.cluster ? (c.properties.point_count < 10 ? 24 : c.properties.point_count < 100 ? 30 : c.properties.point_count < 1000 ? 38 : 46) : 10;
        // Symbols yield to names: moved off any name they would cover (a cluster is approximate anyway).
        const shift = clearOf(names, map.latLngToContainerPoint([lat, lon]), size);
        if (!shift) continue;
        const anchor = [size / 2 - shift[0], size / 2 - shift[1]];
        if (c.properties.cluster) {
          const n = c.properties.point_count;
          const marker = L.marker([lat, lon], {
            pane: 'amNgos',
            icon: L.divIcon({ className: '', html: `<div class="am-cluster" style="width:${size}px;height:${size}px">${num(n)}</div>`, iconSize: [size, size], iconAnchor: anchor }),
            title: `${num(n)} ${t('centres_here')}`,
            amCount: n,
          });
          marker.on('click', () => map.setView([lat, lon], Math.min(index.getClusterExpansionZoom(c.properties.cluster_id), 16)));
          group.addLayer(marker);
        } else {
          const i = c.properties.i;
          const dot = L.marker([lat, lon], {
            pane: 'amNgos', bubblingMouseEvents: false, keyboard: false,
            icon: L.divIcon({ className: '', iconSize: [10, 10], iconAnchor: anchor, html: `<span class="am-ngo-mark" style="background:${SERVICE_COLOURS[data.type[i]]};opacity:${data.active[i] ? 1 : 0.45}"></span>` }),
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
    group.amAvoid = () => [];
    group.amRedraw = draw;
    return group;
  }

  /** Place names from our own data: provinces at national zoom, counties closer in, large
   *  cities by size. Redrawn on every zoom; only names inside the chosen province. Names win over
   *  symbols: they are drawn in a pane above the centres (with a white halo), and the layout's
   *  boxes (``amBoxes``) are what the clusters and dots move out of. */
  function labelLayer(map, b, st) {
    const group = L.layerGroup([], { pane: 'amLabels' });
    const label = (lat, lon, text, cls) => L.marker([lat, lon], {
      pane: 'amLabels', interactive: false, keyboard: false,
      icon: L.divIcon({ className: `am-label ${cls}`, html: `<span>${esc(text)}</span>`, iconSize: null }),
    });
    const FONTS = { 'am-label-province': ['700 13px', 13], 'am-label-city': ['700 11.5px', 11.5], 'am-label-county': ['400 11px', 11] };
    const ruler = document.createElement('canvas').getContext('2d');
    let family = 'sans-serif';
    const halfWidth = (text, cls) => {
      // in the font the names are written in (the map's, see amayesh.css)
      ruler.font = `${FONTS[cls][0]} ${family}`;
      const shown = cls === 'am-label-city' ? `■ ${text}` : text;
      // the text, its letter-spacing and the plate's padding (amayesh.css), with a margin
      return (ruler.measureText(shown).width + 0.03 * FONTS[cls][1] * shown.length + 6) / 2 + 2;
    };
    /** The names to write at this view, in order of importance, each with its box on screen;
     *  one that would overlap a placed name is left out. */
    const layout = () => {
      const z = map.getZoom();
      family = getComputedStyle(map.getContainer()).fontFamily;
      const out = [];
      // A name that would overlap a placed one may move a line up or down (province names:
      // they stand for an area, not a point); else it is left out.
      const add = (lat, lon, text, cls, shifts = [0]) => {
        const p = map.latLngToContainerPoint([lat, lon]);
        const w = halfWidth(text, cls);
        const h = FONTS[cls][1] * 0.75 + 2.5; // half the plate's line (line-height 1.45), and a margin
        for (const dy of shifts) {
          const box = [p.x - w, p.y + dy - h, p.x + w, p.y + dy + h];
          if (out.some(({ box: q }) => box[0] < q[2] && q[0] < box[2] && box[1] < q[3] && q[1] < box[3])) continue;
          const at = dy ? map.containerPointToLatLng([p.x, p.y + dy]) : { lat, lng: lon };
          out.push({ lat: at.lat, lon: at.lng, text, cls, box });
          return;
        }
      };
      const view = map.getBounds().pad(0.1);
      const inside = (code) => !st.province || String(code).slice(0, 2) === st.province;
      // Cities: a million or more at national zoom, then smaller ones as the map comes closer;
      // the cities of a million or more first (Tehran, Mashhad, Isfahan, Shiraz …), then the
      // provinces, the most populous first, then the other cities.
      const least = z <= 5 ? 1e6 : z <= 6 ? 5e5 : z <= 7 ? 2.5e5 : 1e5;
      const c = b.cities;
      const cities = (from, to) => {
        for (let k = 0; k < c.code.length; k += 1) {
          if (c.population[k] < from || c.population[k] >= to || !inside(c.code[k])) continue;
          if (!view.contains([c.lat[k], c.lon[k]])) continue;
          const name = A.C.lang === 'en' && c.name_en[k] ? c.name_en[k] : c.name_fa[k];
          add(c.lat[k], c.lon[k], name, 'am-label-city');
        }
      };
      cities(Math.max(least, 1e6), Infinity);
      if (z < 8 && !st.province) {
        const order = [...b.provinces.features].sort((x, y) => (y.properties.population || 0) - (x.properties.population || 0));
        const line = 2 * (FONTS['am-label-province'][1] * 0.75 + 1.5);
        for (const f of order) {
          const [lon, lat] = f.properties.label;
          add(lat, lon, placeName(f.properties), 'am-label-province', [0, line, -line]);
        }
      }
      if (least < 1e6) cities(least, 1e6);
      if (z >= 7 || st.province) {
        for (const f of b.counties.features) {
          const p = f.properties;
          if (!inside(p.county_code)) continue;
          const [lon, lat] = p.label;
          if (view.contains([lat, lon])) add(lat, lon, placeName(p).replace(/ County$/, ''), 'am-label-county');
        }
      }
      return out;
    };
    const draw = () => {
      group.clearLayers();
      if (!map.hasLayer(group)) return;
      for (const n of layout()) group.addLayer(label(n.lat, n.lon, n.text, n.cls));
    };
    map.on('zoomend moveend', draw);
    group.on('add', draw);
    group.amRedraw = draw;
    group.amBoxes = () => (map.hasLayer(group) ? layout().map((n) => n.box) : []);
    return group;
  }

  /** Where a symbol of ``size`` px at container point ``p`` is drawn so that it covers no name:
   *  its own place if free, else the nearest free offset on rings around it (up to 120 px). */
  function clearOf(boxes, p, size) {
    const r = size / 2 + 2;
    const free = (dx, dy) => !boxes.some((q) => p.x + dx - r < q[2] && q[0] < p.x + dx + r && p.y + dy - r < q[3] && q[1] < p.y + dy + r);
    if (!boxes.length || free(0, 0)) return [0, 0];
    for (let ring = 6; ring <= 120; ring += 6) {
      for (let k = 0; k < 16; k += 1) {
        const a = (Math.PI * 2 * k) / 16 + Math.PI / 2; // downwards first
        const dx = Math.round(ring * Math.cos(a)); const dy = Math.round(ring * Math.sin(a));
        if (free(dx, dy)) return [dx, dy];
      }
    }
    return null;
  }

  /** "448 counties" / "1 county" in English; Persian nouns do not change after a number. */
  function count(n, one, many) {
    if (A.C.lang === 'fa') return `${num(n)} ${t(one)}`;
    return `${num(n)} ${t(n === 1 ? one : many)}`;
  }

  /** The counties of the chosen service and province, as a sortable table. */
  function countyTable(b, st, onPick) {
    const table = document.getElementById('am-county-table');
    const tbody = table.querySelector('tbody');
    const columns = [
      ['rank', (p) => (p.sat[st.service] || [])[10] || null],
      ['name', (p) => placeName(p)],
      ['target', (p) => (p.sat[st.service] || [])[4]],
      ['capacity', (p) => (p.sat[st.service] || [])[2]],
      ['ratio', (p) => (p.sat[st.service] || [])[0]],
      ['out', (p) => { const v = p.sat[st.service]; return v && v[6] ? v[7] / v[6] : null; }],
      ['flagged', (p) => (p.sat[st.service] || [])[8]],
    ];
    let sortBy = 'rank';
    let ascending = true;
    const draw = () => {
      const key = columns.find((c) => c[0] === sortBy)[1];
      const rows = b.counties.features.map((f) => f.properties)
        .filter((p) => !st.province || p.province_code === st.province);
      rows.sort((x, y) => {
        const a = key(x); const c = key(y);
        if (a === null || a === undefined) return 1;
        if (c === null || c === undefined) return -1;
        const d = typeof a === 'string' ? a.localeCompare(c, A.C.lang) : a - c;
        // ties (161 counties at ratio 0 for one service) fall by the need rank, not by code
        return (ascending ? d : -d) || ((x.sat[st.service] || [])[10] || 0) - ((y.sat[st.service] || [])[10] || 0);
      });
      tbody.innerHTML = rows.map((p) => {
        const v = p.sat[st.service];
        const k = v ? saturationClass(v[0], b.breaks) : -1;
        const why = explainCounty(v, st);
        return `<tr data-code="${esc(p.county_code)}" data-rank="${v ? v[10] : ''}"${why ? ` title="${esc(why)}"` : ''}>`
          + `<td>${v && v[10] ? num(v[10]) : '–'}</td>`
          + `<td><span class="am-swatch" style="display:inline-block;background:${k < 0 ? NO_DATA : SATURATION_COLOURS[k]}"></span> ${esc(placeName(p))}${why ? ' <span class="am-note-mark" aria-label="' + esc(why) + '">*</span>' : ''}</td>`
          + `<td>${v ? num(v[4]) : '–'}</td><td>${v ? num(v[2]) : '–'}</td>`
          + `<td>${v && v[0] !== null ? num(v[0], 2) : '–'}</td>`
          + `<td>${v && v[6] ? num(Math.round((100 * v[7]) / v[6])) + '٪'.replace('٪', A.C.lang === 'fa' ? '٪' : '%') : '–'}</td>`
          + `<td>${v ? num(v[8]) : '–'}</td></tr>`;
      }).join('');
      for (const th of table.querySelectorAll('th[data-sort]')) {
        th.setAttribute('aria-sort', th.dataset.sort === sortBy ? (ascending ? 'ascending' : 'descending') : 'none');
      }
      for (const tr of tbody.querySelectorAll('tr')) tr.addEventListener('click', () => onPick(tr.dataset.code));
      const q = new URLSearchParams({ service_type: st.service });
      if (st.province) q.set('province', st.province);
      q.set('lang', A.C.lang);
      document.getElementById('am-sat-csv').href = `/saturation?${q}&f=csv`;
      document.getElementById('am-sat-xlsx').href = `/saturation?${q}&f=xlsx`;
      table.dataset.rows = String(rows.length);
    };
    for (const th of table.querySelectorAll('th[data-sort]')) {
      th.addEventListener('click', () => {
        if (sortBy === th.dataset.sort) ascending = !ascending; else { sortBy = th.dataset.sort; ascending = th.dataset.sort === 'name' || th.dataset.sort === 'ratio' || th.dataset.sort === 'rank'; }
        draw();
      });
    }
    return draw;
  }

  /** Place search: names in Persian or English, codes in any digits. */
  function placeSearch(onChoose) {
    const input = document.getElementById('am-search');
    const list = document.getElementById('am-search-results');
    let seq = 0;
    let hits = [];
    const show = () => {
      list.innerHTML = hits.map((h, k) => {
        const where = (h.kind === 'settlement' || h.kind === 'place') && h.county_code ? ` · ${esc(A.C.lang === 'en' && h.county_en ? h.county_en : h.county_fa)}` : '';
        return `<li role="option" data-k="${k}" tabindex="-1"><strong>${esc(placeName(h))}</strong> `
          + `<span class="am-tag">${esc(t('place_' + h.kind))}</span>${where}</li>`;
      }).join('');
      list.hidden = hits.length === 0;
      for (const li of list.querySelectorAll('li')) {
        li.addEventListener('click', () => { list.hidden = true; onChoose(hits[Number(li.dataset.k)]); });
      }
    };
    const run = debounce(async () => {
      const q = input.value.trim();
      const mine = ++seq;
      if (!q) { hits = []; show(); return; }
      try {
        const d = await getJSON(`/maps/data/search?${new URLSearchParams({ q, limit: '8' })}`);
        if (mine !== seq) return;
        hits = d.places;
        show();
        list.dataset.query = q;
      } catch (err) { hits = []; show(); }
    }, 150);
    input.addEventListener('input', run);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && hits.length) { e.preventDefault(); list.hidden = true; onChoose(hits[0]); }
      if (e.key === 'Escape') list.hidden = true;
    });
  }

  A.national = function (map, els, config) {
    setup(map, config);
    const serviceSelect = document.getElementById('am-service');
    const provinceSelect = document.getElementById('am-province');
    const periodSelect = document.getElementById('am-period');
    const indexOf = (code) => Math.max(0, A.C.services.findIndex((s) => s.code === code));
    const st = {
      service: serviceSelect.value,
      serviceIndex: indexOf(serviceSelect.value),
      province: provinceSelect.value,
      ngoTypes: new Set([indexOf(serviceSelect.value)]),
      norms: {},
      // the chosen Jalali year ('' = the as-of day's figures) and its counties' classes
      period: periodSelect ? periodSelect.value : '',
      periodClasses: null,
      periodLabel: '',
      years: periodSelect ? Array.from(periodSelect.options).map((o) => o.value).filter(Boolean).sort() : [],
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
          // A period shown: the county's class at its end (amClass: what the map drew, read by the tests).
          const cls = st.periodClasses ? st.periodClasses[p.county_code] || null : (s ? s[5] : null);
          const fill = st.periodClasses ? (cls ? CLASS_COLOURS[cls] : NO_DATA) : (k < 0 ? NO_DATA : SATURATION_COLOURS[k]);
          return {
            color: '#8a8a8a', weight: inside ? 0.5 : 0.3, opacity: inside ? 0.9 : 0.35,
            fillColor: fill, fillOpacity: inside ? 0.85 : 0.15, amClass: cls,
          };
        };
        // Clicks are answered by pick() on the map: the settlement under the pointer if the
        // settlements are shown, otherwise the county containing the point.
        const counties = L.geoJSON(b.counties, { pane: 'amCounties', style, interactive: false });
        const provinces = provinceOutline(b);
        const ngoGroup = ngoLayer(map, ngos, st);
        const labels = labelLayer(map, b, st);
        ngoGroup.amAvoid = labels.amBoxes;
        A._labels = labels;
        labels.on('add remove', () => ngoGroup.amRedraw());
        // Names are measured in their font: lay them out again once it has loaded.
        if (document.fonts) {
          Promise.all(['700 13px Vazirmatn', '700 11.5px Vazirmatn', '400 11px Vazirmatn'].map((f) => document.fonts.load(f, 'تهران Tehran')))
            .catch(() => null).then(() => { labels.amRedraw(); ngoGroup.amRedraw(); });
        }
        const targetLayer = L.layerGroup();
        const drawTargets = () => {
          targetLayer.clearLayers();
          const shown = targets.features.filter((f) => !st.province || f.properties.province_code === st.province);
          targetLayer.addLayer(L.geoJSON({ type: 'FeatureCollection', features: shown }, {
            pane: 'amTargets',
            bubblingMouseEvents: false,
            style: { color: TARGET_COLOUR, weight: 1.6, dashArray: '4 3', fill: true, fillOpacity: 0 },
            onEachFeature: (f, layer) => layer.bindPopup(targetPopup(f.properties)),
          }));
          // A small open diamond at each area's centre keeps the areas visible when zoomed out.
          targetLayer.addLayer(L.layerGroup(shown.map((f) => L.marker(L.geoJSON(f).getBounds().getCenter(), {
            pane: 'amTargets', bubblingMouseEvents: false, keyboard: false,
            icon: L.divIcon({ className: '', iconSize: [9, 9], html: '<span class="am-target-mark"></span>' }),
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
        control.addOverlay(labels, t('layer_labels'));
        // The volunteer groups of the caller's provinces (GET /volunteers/groups: places
        // generalised for roles without the exact-location right), off until chosen; left out
        // where they cannot be read. A group known by its county only has no marker.
        getJSON('/volunteers/groups').then((body) => {
          const renderer = L.canvas({ padding: 0.2 });
          const markers = (body.groups || []).filter((g) => g.lon !== null && g.lat !== null).map((g) => {
            const members = Object.entries(g.members).map(([k, n]) => {
              const sp = (body.norms.specialities || []).find((s) => s.speciality === k);
              return `${esc(sp ? (A.C.lang === 'fa' ? sp.fa : sp.en) : k)} ${num(n)}`;
            }).join(A.C.lang === 'fa' ? '، ' : ', ');
            const notes = [g.active ? '' : `<div>${esc(t('volunteer_inactive'))}</div>`,
              g.position_generalised ? `<div>${esc(t('volunteer_generalised'))}</div>` : ''].join('');
            return L.circleMarker([g.lat, g.lon], {
              renderer, radius: 4, weight: 1, color: '#6a3d9a', fillColor: g.active ? '#cab2d6' : '#ffffff', fillOpacity: 0.9,
            }).bindPopup(`<div class="am-pop am-volunteer" data-group="${esc(g.group_id)}"><h4>${esc(t('volunteer_group'))}: ${esc(g.name_fa)}</h4>`
              + `<div>${esc(t('volunteer_members'))}: ${num(g.members_total)} (${members}) ${g.synthetic ? synTag() : ''}</div>${notes}</div>`);
          });
          const volunteers = L.layerGroup(markers);
          control.addOverlay(volunteers, t('volunteer_groups'));
          A.layers.volunteers = volunteers;
        }).catch(() => null);
        if (window.matchMedia('(max-width: 700px)').matches) {
          // On a phone the layer list folds into its button.
          control.remove();
          control.options.collapsed = true;
          control.addTo(map);
        }
        counties.addTo(map);
        provinces.addTo(map);
        ngoGroup.addTo(map);
        targetLayer.addTo(map);
        labels.addTo(map);
        legendNgos(st.ngoTypes, () => { ngoGroup.amRebuild(); describe(); });
        ngoGroup.amRebuild();
        A.layers = { counties, provinces, settlements: grid, ngos: ngoGroup, targets: targetLayer, labels };

        const countyFeature = {};
        for (const f of b.counties.features) countyFeature[f.properties.county_code] = f;

        /** The map's state in words: where, which service, what the colours count. */
        function describe() {
          const rows = b.counties.features.map((f) => f.properties)
            .filter((p) => !st.province || p.province_code === st.province);
          const classes = { underserved: 0, balanced: 0, saturated: 0 };
          let flagged = 0;
          for (const p of rows) {
            const v = p.sat[st.service];
            const cls = st.periodClasses ? st.periodClasses[p.county_code] : v && v[5];
            if (cls in classes) classes[cls] += 1;
            if (v) flagged += v[8];
          }
          let centres = 0;
          for (let i = 0; i < ngos.id.length; i += 1) {
            if (st.ngoTypes.has(ngos.type[i]) && ngos.active[i] && (!st.province || ngos.province[i] === st.province)) centres += 1;
          }
          const where = st.province
            ? (A.C.provinces.find((p) => p.code === st.province) || {}).name
            : t('whole_country');
          const sep = A.C.lang === 'fa' ? '، ' : ', ';
          const head = `${where} · ${serviceName(st.service)}: ${count(rows.length, 'county_one', 'county_many')} `
            + `(${count(classes.underserved, 'n_underserved', 'n_underserved')}${sep}${count(classes.balanced, 'n_balanced', 'n_balanced')}`
            + `${sep}${count(classes.saturated, 'n_saturated', 'n_saturated')}) · `;
          // A period's map counts its classes only: the flagged places and centres are the as-of day's.
          const text = st.periodClasses ? `${head}${st.periodLabel}`
            : `${head}${count(flagged, 'flagged_place_one', 'flagged_place_many')} · `
              + `${count(centres, 'active_centre_one', 'active_centre_many')} · ${A.C.as_of_text}`;
          setStatus(text);
          document.getElementById('am-status').dataset.period = st.periodClasses ? st.period : '';
        }

        async function openCounty(code, fit) {
          const f = countyFeature[code];
          if (!f) return;
          const [lon, lat] = f.properties.label;
          if (fit) map.fitBounds(L.geoJSON(f).getBounds(), { animate: false, maxZoom: 10 });
          const popup = L.popup({ maxWidth: 340 }).setLatLng([lat, lon]).setContent(countyPopup(f.properties, st, b.breaks)).openOn(map);
          countySpark(popup, f.properties, st, b.breaks);
        }
        const drawTable = countyTable(b, st, (code) => openCounty(code, true));

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
              countySpark(popup, county.properties, st, b.breaks);
            } else {
              map.closePopup(popup);
            }
          } catch (err) {
            popup.setContent(`${t('error')}: ${esc(err.message)}`);
          }
        }
        map.on('click', (e) => pick(e.latlng));
        const zoomNote = () => { document.getElementById('am-zoom-note').hidden = map.getZoom() > 6; };
        map.on('zoomend', zoomNote);
        zoomNote();

        const apply = () => {
          st.serviceIndex = indexOf(st.service);
          counties.setStyle(style);
          grid.redraw();
          labels.amRedraw();
          drawTable();
          if (st.periodClasses) legendPeriod(st.periodLabel); else legendSaturation(b.breaks);
          const note = document.getElementById('am-period-note');
          note.hidden = !st.periodClasses;
          note.textContent = t('period_table_note').replace('{date}', A.C.as_of_date);
          describe();
          syncUrls({ service: st.service, province: st.province, period: st.period });
          try { window.localStorage.setItem('amayesh.province', st.province || ''); } catch (err) { /* private mode */ }
        };
        // A period's classes come from GET /trends (one analysis at the period's end on the
        // server): asked once per period and service; a later choice wins over a slower answer.
        let periodSeq = 0;
        const applyPeriod = async () => {
          const mine = ++periodSeq;
          if (!st.period) { st.periodClasses = null; apply(); return; }
          const option = periodSelect.selectedOptions[0];
          setStatus(t('period_loading').replace('{period}', option ? option.textContent : st.period));
          document.getElementById('am-status').dataset.period = 'loading';
          try {
            const d = await trends({ period: st.period, level: 'county', service_type: st.service, measures: 'saturated_counties' });
            if (mine !== periodSeq) return;
            const classes = {};
            for (const r of d.rows) classes[r.unit_code] = r['class'] || null;
            const info = d.periods[0];
            const label = A.C.lang === 'fa' ? info.label_fa : info.label_en;
            st.periodLabel = info.partial
              ? t('period_partial').replace('{period}', label).replace('{date}', A.C.as_of_date)
              : t('period_end').replace('{period}', label);
            st.periodClasses = classes;
            apply();
          } catch (err) {
            if (mine === periodSeq) setStatus(`${t('error')}: ${err.message}`, true);
          }
        };
        if (periodSelect) {
          periodSelect.addEventListener('change', () => { st.period = periodSelect.value; applyPeriod(); });
        }
        serviceSelect.addEventListener('change', () => {
          st.service = serviceSelect.value;
          st.ngoTypes.clear();
          st.ngoTypes.add(indexOf(st.service));
          legendNgos(st.ngoTypes, () => { ngoGroup.amRebuild(); describe(); });
          ngoGroup.amRebuild();
          if (st.period) applyPeriod(); else apply();
        });
        const chooseProvince = (code) => {
          st.province = code;
          provinceSelect.value = code;
          fitProvince(map, b, st.province);
          ngoGroup.amRebuild();
          drawTargets();
          apply();
        };
        provinceSelect.addEventListener('change', () => chooseProvince(provinceSelect.value));
        placeSearch(async (hit) => {
          if (hit.kind === 'province') { chooseProvince(hit.code); return; }
          if (hit.kind === 'county') { openCounty(hit.code, true); return; }
          map.setView([hit.lat, hit.lon], Math.max(map.getZoom(), 12), { animate: false });
          if (hit.kind === 'place') {  // a gazetteer place outside the official list: no profile
            L.popup({ maxWidth: 340 }).setLatLng([hit.lat, hit.lon]).setContent(
              `<div class="am-pop"><h4>${esc(placeName(hit))}</h4><div class="am-hint">${esc(t('place_place'))}</div></div>`,
            ).openOn(map);
            return;
          }
          const popup = L.popup({ maxWidth: 340 }).setLatLng([hit.lat, hit.lon]).setContent(t('loading')).openOn(map);
          try { popup.setContent(await settlementPopup(hit.code, st)); } catch (err) { popup.setContent(`${t('error')}: ${esc(err.message)}`); }
        });
        if (st.province) fitProvince(map, b, st.province);
        drawTable();
        describe();
        if (st.period) applyPeriod();
        document.body.dataset.ready = 'true';
        // When every layer of the first view is drawn (the benchmark reads this).
        const drawn = () => { document.body.dataset.loadedMs = String(Math.round(performance.now())); };
        if (grid.isLoading()) grid.once('load', drawn); else drawn();
      })
      .catch((err) => setStatus(`${t('error')}: ${err.message}`, true));
  };
}());
