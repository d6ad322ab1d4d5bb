/* Amayesh map pages: what every page shares (formatting, data, the map's set-up).
 *
 * folium writes the page and the Leaflet map and calls Amayesh.<page>(map, layers, config); each
 * page's behaviour is in its own file (national.js, licence.js, priorities.js, settlement.js).
 * Every display string comes from config.t (Persian or English); numbers are written with the
 * page language's digits and dates in the Jalali calendar. Data comes from this service only.
 */
(function () {
  'use strict';

  const A = {};
  window.Amayesh = A;
  A.C = { lang: 'fa', t: {}, services: [] };
  A._state = null;

  // Saturation classes, from far under the norm to far over it: a muted brown-to-teal ramp.
  const SATURATION_COLOURS = ['#8c510a', '#d8b365', '#f6e8c3', '#f5f5f5', '#c7eae5', '#5ab4ac'];
  // Settlement access classes 0-3 (see maps/layers.py access_class): darker is worse, so the
  // dots never share a colour with the counties' fill or the NGOs' hues.
  const ACCESS_COLOURS = ['#000000', '#4d4d4d', '#999999', '#e0e0e0'];
  // NGOs by service type: vivid hues outside the county ramp and the grey settlements.
  // One colour per service of the catalogue, in its order; a catalogue longer than the palette
  // starts it again (an administrator may add services: no index is ever without a colour).
  const PALETTE = ['#2050e0', '#d0198f', '#2e9e3e', '#7b3fbf', '#e53935', '#ffc400', '#ff7a00', '#00a5c8',
    '#8d6e63', '#546e7a', '#9e9d24', '#ad1457'];
  const SERVICE_COLOURS = new Proxy(PALETTE, {
    get: (a, k) => (typeof k === 'string' && /^\d+$/.test(k) ? a[Number(k) % a.length] : a[k]),
  });

  /** VectorGrid style of one settlement for the chosen service (see maps/layers.py). */
  A.settlementStyle = function (p, zoom) {
    const st = A._state;
    if (!st) return [];
    if (st.province && String(p.settlement_code).slice(0, 2) !== st.province) return [];
    const cls = Number(String(p.acc).charAt(st.serviceIndex));
    const flagged = String(p.flg).charAt(st.serviceIndex) === '1';
    // At national zoom only the flagged places are drawn: thousands of dots would hide the counties.
    if (zoom <= 6 && !flagged) return [];
    let radius = zoom <= 5 ? 1 : zoom <= 7 ? 1.6 : zoom <= 9 ? 2.6 : 4;
    if (p.kind === 'city') radius += zoom <= 6 ? 0.6 : 1.2;
    // Flagged places are larger, with a white ring that keeps them apart from their neighbours.
    if (flagged) radius += zoom <= 6 ? 0.6 : 1.6;
    const ring = flagged && zoom >= 7;
    return {
      radius, fill: true, fillColor: ACCESS_COLOURS[cls] || '#999999', fillOpacity: zoom <= 6 ? 0.7 : 0.9,
      stroke: zoom >= 8 || ring, color: ring ? '#ffffff' : '#666666', weight: ring ? 1.5 : 0.4,
    };
  };


  // ---------------------------------------------------------------- formatting

  const t = (key) => (key in A.C.t ? A.C.t[key] : key);
  const locale = () => (A.C.lang === 'fa' ? 'fa-IR' : 'en-US');

  function num(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return '–';
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits || 0 }).format(x);
  }

  /** Persian and Arabic-Indic digits (and the Persian decimal separator) as ASCII. */
  function latinDigits(text) {
    return String(text).replace(/[۰-۹]/g, (d) => String('۰۱۲۳۴۵۶۷۸۹'.indexOf(d)))
      .replace(/[٠-٩]/g, (d) => String('٠١٢٣٤٥٦٧٨٩'.indexOf(d))).replace(/٫/g, '.').replace(/٬/g, '');
  }

  /** Now, in the Jalali calendar with the time (Tehran), as the page's language writes it. */
  function nowJalali() {
    const cal = A.C.lang === 'fa' ? 'fa-IR-u-ca-persian-nu-arabext' : 'en-US-u-ca-persian';
    return new Intl.DateTimeFormat(cal, {
      year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Tehran', timeZoneName: 'short',
    }).format(new Date());
  }

  /** A stored Gregorian date (YYYY-MM-DD) written in the Jalali calendar. */
  function jalali(iso) {
    if (!iso) return '–';
    const day = new Date(String(iso).slice(0, 10) + 'T12:00:00Z');
    const cal = A.C.lang === 'fa' ? 'fa-IR-u-ca-persian-nu-arabext' : 'en-US-u-ca-persian';
    const text = new Intl.DateTimeFormat(cal, {
      year: 'numeric', month: 'long', day: 'numeric', timeZone: 'Asia/Tehran',
    }).format(day);
    return A.C.lang === 'fa' ? text : `${text} (${String(iso).slice(0, 10)})`;
  }

  /** Decimals enough to show that ``value`` is below ``limit`` (0.4967 against 0.5 is 0.497). */
  function belowDigits(value, limit, digits) {
    let d = digits || 2;
    while (d < 4 && Number.isFinite(value) && value < limit && Math.round(value * 10 ** d) / 10 ** d >= limit) d += 1;
    return d;
  }

  function esc(value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  const placeName = (p) => (A.C.lang === 'en' && p.name_en ? p.name_en : p.name_fa);
  const serviceName = (code) => t('service_' + code);
  const synTag = () => `<span class="am-tag am-syn">${esc(t('synthetic_value'))}</span>`;
  /** How a settlement's population and point were obtained, in the page's language. */
  const populationNote = (p) => (p.population_source
    ? ` <span class="am-hint">(${esc(t('pop_' + p.population_source))})</span>` : '');
  const positionNote = (p) => {
    if (!p.position_source) return '–';
    const label = esc(t('pos_' + p.position_source));
    return p.position_precision === 'low' ? `${label} · ${esc(t('pos_low'))}` : label;
  };

  /** Requests that change something carry the session's CSRF token (api/security.py). */
  function withCsrf(options) {
    if (!options || !options.method || options.method === 'GET') return options;
    const meta = document.querySelector('meta[name="csrf-token"]');
    const headers = Object.assign({}, options.headers || {}, meta ? { 'X-CSRF-Token': meta.content } : {});
    return Object.assign({}, options, { headers, credentials: 'same-origin' });
  }

  // Travel time on roads ("12 min · "), or nothing in a straight line.
  function minutes(value, fallback) {
    if (value == null) return '';
    return `${num(value)} ${esc(t('min'))}${fallback ? ' (' + esc(t('by_straight_line')) + ')' : ''} · `;
  }

  /** The service's answer ``status`` with problem+json ``body`` as the page says it: by its
   * ``code`` (api/errors.py), per field for a validation error, else by its status. */
  function problemText(status, body) {
    const say = (key) => (A.C.t && key in A.C.t ? A.C.t[key] : '');
    if (body && Array.isArray(body.errors) && body.errors.length) {
      return body.errors.slice(0, 5).map((e) => fieldProblem(e, say)).join(' · ');
    }
    const code = body && body.code;
    if (code && say('err_' + code)) return say('err_' + code);
    // A refusal written for people in both languages (detail_fa beside detail): its own words.
    if (body && typeof body.detail_fa === 'string' && body.detail_fa) return A.C.lang === 'en' ? String(body.detail) : body.detail_fa;
    if (status === 401) return say('err_unauthenticated');
    if (status === 403) return say('err_forbidden');
    if (status === 412) return say('err_precondition-failed');
    if (status === 413) return say('err_too-large');
    if (status === 429 || status === 503) return say('err_busy');
    if (status >= 500) return say('err_status_5xx');
    return say('err_status_' + status) || say('err_status_400');
  }

  /** One field of a 422: its label from the catalogue and what is wrong, with the limit. */
  function fieldProblem(e, say) {
    const names = (e.loc || []).filter((x) => typeof x === 'string' && x !== 'body' && x !== 'query');
    const label = say('field_' + (names.length ? names[names.length - 1] : 'request')) || say('field_request');
    const type = String(e.type || '');
    const ctx = e.ctx || {};
    const bound = { greater_than_equal: ['invalid_min', 'ge'], greater_than: ['invalid_above', 'gt'],
      less_than_equal: ['invalid_max', 'le'], less_than: ['invalid_below', 'lt'],
      string_too_short: ['invalid_short', 'min_length'], string_too_long: ['invalid_long', 'max_length'] }[type];
    let key = 'invalid_other';
    if (bound) key = bound[0];
    else if (type === 'missing') key = 'invalid_missing';
    else if (/^int_/.test(type)) key = 'invalid_integer';
    else if (/^(float_|finite_number|decimal_)/.test(type)) key = 'invalid_number';
    else if (type === 'enum' || type === 'literal_error') key = 'invalid_choice';
    else if (type === 'extra_forbidden') key = 'invalid_extra';
    return `${label}: ${say(key).replace('{limit}', bound ? num(Number(ctx[bound[1]])) : '')}`;
  }

  /** An Error that says the answer in the page's language (``status`` 0: no answer at all). */
  function problemError(status, body) {
    const err = new Error(status ? problemText(status, body) : t('err_no_answer'));
    err.status = status;
    err.code = (body && body.code) || null;
    return err;
  }

  async function getJSON(url, options) {
    let response;
    try {
      response = await fetch(url, withCsrf(options));
    } catch (err) {
      throw problemError(0, null); // only when there was no answer
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) throw problemError(response.status, body);
    return body;
  }

  /** POST ``body`` as JSON to ``url``: the answer's JSON (errors as in getJSON). */
  function postJSON(url, body) {
    return getJSON(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  function setStatus(text, isError) {
    const el = document.getElementById('am-status');
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('am-error', Boolean(isError));
  }

  const OFFICE_PAGES = ['register', 'monitoring', 'import'];
  /** Keep the page's state in its address, the language switch and the page links. */
  function syncUrls(params) {
    const url = new URL(window.location.href);
    for (const [key, value] of Object.entries(params)) {
      if (value) url.searchParams.set(key, latinDigits(value)); else url.searchParams.delete(key);
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
      if (OFFICE_PAGES.includes(a.dataset.page)) continue; // they take no province or service
      const link = new URL(a.href, window.location.href);
      for (const key of ['province', 'service']) {
        if (url.searchParams.get(key)) link.searchParams.set(key, url.searchParams.get(key));
        else link.searchParams.delete(key);
      }
      a.href = link.pathname + link.search;
    }
  }

  // Saturation classes at a period's end (GET /trends gives the class, not the ratio): the
  // middle of each class's part of the ramp above.
  const CLASS_COLOURS = { underserved: SATURATION_COLOURS[1], balanced: SATURATION_COLOURS[3], saturated: SATURATION_COLOURS[5] };

  const trendAnswers = {};
  /** ``GET /trends`` with these parameters, asked once per page (a period's analysis is a
   *  recomputation on the server: the page keeps every answer it got). */
  function trends(params) {
    const url = `/trends?${new URLSearchParams(params)}`;
    if (!trendAnswers[url]) {
      trendAnswers[url] = getJSON(url).catch((err) => { delete trendAnswers[url]; throw err; });
    }
    return trendAnswers[url];
  }

  /** A small inline SVG line of ``points`` ({value, label, colour, title}), one dot per point,
   *  in the reading direction (from the right in Persian); each dot's ``colour`` (a class) is
   *  drawn as a square under it. No chart library: a few SVG elements. */
  function sparkline(points, options) {
    const o = Object.assign({ width: 240, height: 74, id: '' }, options || {});
    const top = 14; const line = o.height - 36; const side = 16;
    const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
    const hi = values.length ? Math.max(...values) : 0;
    const lo = values.length ? Math.min(...values) : 0;
    const step = points.length > 1 ? (o.width - 2 * side) / (points.length - 1) : 0;
    const xOf = (k) => {
      const place = A.C.lang === 'fa' ? points.length - 1 - k : k;
      return points.length > 1 ? side + place * step : o.width / 2;
    };
    const yOf = (v) => top + (hi === lo ? line / 2 : line * (1 - (v - lo) / (hi - lo)));
    const drawn = points.map((p, k) => ({ p, x: xOf(k), y: p.value === null || p.value === undefined ? null : yOf(p.value) }));
    const path = drawn.filter((d) => d.y !== null).map((d) => `${d.x.toFixed(1)},${d.y.toFixed(1)}`).join(' ');
    const marks = drawn.map((d) => `<g class="am-spark-mark" data-period="${esc(d.p.period)}" data-class="${esc(d.p.cls || '')}"><title>${esc(d.p.title)}</title>`
      + (d.y === null ? '' : `<circle cx="${d.x.toFixed(1)}" cy="${d.y.toFixed(1)}" r="3"></circle>`
        + `<text x="${d.x.toFixed(1)}" y="${(d.y - 5).toFixed(1)}" text-anchor="middle">${num(d.p.value)}</text>`)
      + `<rect x="${(d.x - 6).toFixed(1)}" y="${top + line + 6}" width="12" height="8" fill="${d.p.colour || '#ffffff'}" stroke="#888" stroke-width="0.5"></rect>`
      + `<text x="${d.x.toFixed(1)}" y="${o.height - 2}" text-anchor="middle" class="am-spark-label">${esc(d.p.label)}</text></g>`).join('');
    return `<svg class="am-sparkline"${o.id ? ` id="${esc(o.id)}"` : ''} viewBox="0 0 ${o.width} ${o.height}" width="${o.width}" height="${o.height}" role="img" aria-label="${esc(o.label || '')}">`
      + `<polyline points="${path}" fill="none" stroke="#2b6f69" stroke-width="1.5"></polyline>${marks}</svg>`;
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // ---------------------------------------------------------------- shared map set-up

  A.makePanes = function (map) {
    const panes = [['amCounties', 380], ['amProvinces', 390], ['amSettlements', 410],
      ['amTargets', 420], ['amNgos', 450], ['amLabels', 455], ['amResults', 460]];
    for (const [name, z] of panes) {
      if (!map.getPane(name)) map.createPane(name).style.zIndex = z;
    }
    map.getPane('amProvinces').style.pointerEvents = 'none';
    map.getPane('amSettlements').style.pointerEvents = 'none';
    map.getPane('amLabels').style.pointerEvents = 'none';
  };

  /** On a phone the panel is a bottom sheet: a handle folds it down and up (CSS decides when). */
  function sheet(map) {
    const panel = document.getElementById('am-panel');
    if (!panel || panel.querySelector('.am-sheet-toggle')) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'am-sheet-toggle';
    const label = () => { button.textContent = document.body.classList.contains('am-sheet-collapsed') ? t('sheet_open') : t('sheet_close'); };
    button.setAttribute('aria-controls', 'am-panel');
    button.addEventListener('click', () => {
      document.body.classList.toggle('am-sheet-collapsed');
      button.setAttribute('aria-expanded', String(!document.body.classList.contains('am-sheet-collapsed')));
      label();
      map.invalidateSize({ animate: false });
    });
    panel.prepend(button);
    label();
    window.addEventListener('resize', () => map.invalidateSize({ animate: false }));
  }

  function setup(map, config) {
    A.C = config;
    sheet(map);
    A.makePanes(map);
    map.fitBounds(IRAN);
    map.attributionControl.addAttribution(esc(A.C.attribution));
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
    // A map with no size (a hidden or collapsed container) has no view to fit: leave it.
    const size = map.getSize();
    if (!(size.x > 0 && size.y > 0)) return;
    const b = code ? boundaries.province_bounds[code] : null;
    if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10], animate: false });
    else map.fitBounds(IRAN, { animate: false });
  }


  A.u = { CLASS_COLOURS, trends, sparkline, problemText, problemError, SATURATION_COLOURS, withCsrf, minutes, latinDigits, nowJalali, ACCESS_COLOURS, SERVICE_COLOURS, belowDigits, t, locale, num, jalali, esc, placeName, serviceName, synTag, populationNote, positionNote, getJSON, postJSON, setStatus, syncUrls, debounce, setup, loadBoundaries, provinceOutline, countyNames, fitProvince, IRAN };
  // The helpers under the name the planning page (plan.js) uses.
  A.util = A.u;
}());
