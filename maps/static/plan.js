/* Amayesh planning page: siting, delegation, saving scenarios and comparing them.
 *
 * Uses the helpers of common.js (Amayesh.util). Plans come from POST /plans/siting and
 * /plans/delegation, scenarios from /scenarios; every string comes from the page's language table.
 */
(function () {
  'use strict';

  const A = window.Amayesh;
  const U = A.util;
  const t = (k) => U.t(k);
  const { num, esc, getJSON, postJSON, setStatus } = U;
  const SITE_COLOUR = '#b2182b';
  const LINE_COLOUR = '#0b6e6e';
  const A_COLOUR = '#2166ac';
  const B_COLOUR = '#b2182b';
  // The side-by-side maps fill counties by class with the national map's saturation ramp.
  const CLASS_COLOURS = {
    underserved: A.u.SATURATION_COLOURS[0],
    balanced: A.u.SATURATION_COLOURS[3],
    saturated: A.u.SATURATION_COLOURS[5],
  };

  A.plan = function (map, els, config) {
    U.setup(map, config);
    const C = config;
    const $ = (id) => document.getElementById(id);
    const provinceSelect = $('am-province');
    const serviceSelect = $('am-service');
    const result = $('am-result');
    const comparison = $('am-comparison');
    const planLayer = L.featureGroup([], { pane: 'amResults' }).addTo(map);
    A.planLayer = planLayer; // what the plan draws (lines are on the canvas)
    let countiesLayer = null;
    let boundaries = null;
    let names = {};
    let lastPlan = null; // {kind, service, province, changes}
    let compared = null; // {data, sa, sb}: the last comparison
    let mapB = null; // the second map of the side-by-side view
    let unfollow = []; // what stops the two maps following each other
    // A scenario is named with its author (the signed-in user who saved it); "today" in the page's language.
    const scenarioLabel = (s) => `${s.name} · ${s.owner}`;
    const scenarioName = (s) => (s.id === 'today' ? t('today') : s.name);
    const params = () => ({ service_type: serviceSelect.value, province: provinceSelect.value });
    /** The budget typed in field ``id`` (Persian or Latin digits, with or without separators), or
     *  null when it is empty; anything else is said, not sent. */
    function budgetOf(id) {
      const raw = U.latinDigits($(id).value).replace(/,/g, '').trim();
      if (raw === '') return null;
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new Error(t('budget_not_a_number'));
      return value;
    }
    /** A sum of money in the cost table's currency, in the page's words and digits. */
    function money(value, currency) {
      if (value === null || value === undefined) return '–';
      const unit = currency === 'million rials' ? t('million_rials') : currency || '';
      return `${num(value, value % 1 ? 1 : 0)} ${esc(unit)}`;
    }
    /** What an answer's costs rest on: the cost table's name, and a synthetic tag when they are made up. */
    const costSource = (s) => `<span class="am-hint" title="${esc(s.cost_table || '')}">${esc(t('cost_table_norms'))}</span>${s.costs_synthetic ? ` ${U.synTag()}` : ''}`;

    function showProvince() {
      if (countiesLayer) map.removeLayer(countiesLayer);
      if (!boundaries) return;
      const code = provinceSelect.value;
      countiesLayer = L.geoJSON(boundaries.counties, {
        pane: 'amCounties', interactive: false,
        filter: (f) => f.properties.province_code === code,
        style: { color: '#6b7781', weight: 0.8, fillColor: '#eef1ec', fillOpacity: 0.7 },
      }).addTo(map);
      U.fitProvince(map, boundaries, code);
      U.syncUrls({ province: code, service: serviceSelect.value });
    }

    function busy(on) {
      for (const id of ['am-run-siting', 'am-run-delegation', 'am-save', 'am-compare']) $(id).disabled = on;
    }

    /** Run ``task`` with the buttons disabled (saying "loading" first if ``loading``); its
     * failure is said in the status line. */
    async function working(task, loading) {
      busy(true);
      if (loading) setStatus(t('loading'));
      try {
        await task();
      } catch (err) {
        setStatus(`${t('error')}: ${err.message}`, true);
      } finally {
        busy(false);
      }
    }

    // ------------------------------------------------------------ siting
    async function runSiting() {
      const body = {
        ...params(),
        k: Math.max(1, Math.min(200, Number($('am-k').value) || 1)),
        model: $('am-model').value,
        capacitated: $('am-capacitated').checked,
        time_limit: 5,
      };
      await working(async () => {
        const budget = budgetOf('am-budget');
        if (budget !== null) body.budget = budget;
        showSiting(await postJSON('/plans/siting', body), body);
      }, true);
    }

    function showSiting(data, body) {
      planLayer.clearLayers();
      const s = data.summary;
      const rows = data.sites.map((site) => {
        L.marker([site.lat, site.lon], {
          pane: 'amResults',
          icon: L.divIcon({ className: '', html: `<div class="am-num-icon" style="width:24px;height:24px;background:${SITE_COLOUR}">${num(site.rank)}</div>`, iconSize: [24, 24] }),
          title: site.name_fa,
        }).bindPopup(`<div class="am-pop"><h4>${num(site.rank)}. ${esc(site.name_fa)}</h4>${esc(t('gain'))}: ${num(site.gain)} ${U.synTag()}</div>`)
          .addTo(planLayer);
        return `<tr data-code="${esc(site.settlement_code)}"><td>${num(site.rank)}</td><td>${esc(site.name_fa)}</td>`
          + `<td>${esc(names[site.county_code] || site.county_code)}</td><td>${num(site.gain)}</td><td>${num(site.target_population_reached)}</td></tr>`;
      });
      const method = t('method_' + s.method);
      const gap = s.optimal ? t('optimal') : `${num(s.gap * 100, 2)}%`;
      let lines = `<p class="am-summary">${esc(t('model_' + body.model))} · ${esc(method)} · ${esc(t('gap'))}: <b>${esc(gap)}</b><br>`
        + `${esc(t('objective'))}: ${num(s.objective)} · ${esc(t('bound'))}: ${num(s.bound)}`;
      if (s.covered_before !== undefined && s.covered_before !== null) {
        lines += `<br>${esc(t('covered_before'))}: ${num(s.covered_before)} → ${esc(t('covered_after'))}: <b>${num(s.covered_after)}</b> ${U.synTag()}`;
      }
      if (s.cost_per_site !== undefined && s.cost_per_site !== null) {
        lines += `<br><span id="am-siting-cost">${esc(t('cost_per_site'))}: ${money(s.cost_per_site, s.cost_currency)} · `
          + `${esc(t('cost_spent'))}: <b>${money(s.cost_spent, s.cost_currency)}</b> · ${esc(t('budget'))}: `
          + `${s.budget === null ? esc(t('budget_none')) : money(s.budget, s.cost_currency)}</span> ${costSource(s)}`;
      }
      const border = C.lang === 'en' ? s.border_note_en : s.border_note_fa;
      if (border) lines += `<br><span class="am-hint am-border-note">${esc(border)}</span>`;
      lines += '</p>';
      result.innerHTML = lines + `<div class="am-table-wrap"><table class="am-table" id="am-sites"><thead><tr><th>${esc(t('rank'))}</th>`
        + `<th>${esc(t('site'))}</th><th>${esc(t('county'))}</th><th>${esc(t('gain'))}</th><th>${esc(t('target_population'))}</th></tr></thead>`
        + `<tbody>${rows.join('')}</tbody></table></div>`;
      if (data.sites.length) map.fitBounds(planLayer.getBounds(), { padding: [30, 30], maxZoom: 9 });
      lastPlan = {
        kind: 'siting',
        changes: {
          licences_added: data.sites.map((site) => ({
            service_type: body.service_type, capacity: site.capacity, lon: site.lon, lat: site.lat,
            settlement_code: site.settlement_code, name_fa: `مرکز پیشنهادی ${site.name_fa}`,
          })),
        },
      };
      $('am-scenario-name').value = `${t('siting')} · ${U.serviceName(body.service_type)} · ${provinceSelect.selectedOptions[0].textContent.trim()} · ${num(data.sites.length)}`;
      setStatus(`${t('n_new_sites').replace('{n}', num(data.sites.length))} · ${num(s.seconds, 2)} ${t('seconds')}`);
      document.body.dataset.planned = data.sites.map((x) => x.settlement_code).join(',');
      if (!s.optimal && body.time_limit < 120) {
        // Not proved in the request's 5 s: offer the same siting as a job with two minutes.
        const more = document.createElement('p');
        more.className = 'am-hint';
        more.innerHTML = `${esc(t('solve_longer_hint'))} <button type="button" class="am-button" id="am-solve-longer">${esc(t('solve_longer'))}</button>`;
        result.prepend(more);
        $('am-solve-longer').addEventListener('click', () => runSitingJob({ ...body, time_limit: 120 }));
      }
    }

    async function runSitingJob(body) {
      await working(async () => {
        const longer = $('am-solve-longer');
        if (longer) longer.disabled = true;
        let job = await postJSON('/plans/siting/jobs', body);
        while (job.state === 'queued' || job.state === 'running') {
          setStatus(t('job_solving').replace('{p}', num(Math.round(job.progress * 100))));
          await new Promise((done) => setTimeout(done, 1000));
          job = await getJSON(`/plans/siting/jobs/${encodeURIComponent(job.id)}`);
        }
        if (job.state === 'done') showSiting(job.result, body);
        else setStatus(`${t('error')}: ${U.problemText(job.error.status, job.error)}`, true);
      });
    }

    // ------------------------------------------------------------ delegation
    async function runDelegation() {
      const body = { ...params() };
      // On roads the outreach is minutes of travel, on the straight line kilometres (the norms say which).
      const outreach = $('am-outreach');
      const reach = Number(outreach.value);
      if (reach > 0) body[outreach.dataset.unit === 'min' ? 'outreach_min' : 'outreach_km'] = reach;
      await working(async () => {
        const budget = budgetOf('am-delegation-budget');
        if (budget !== null) body.budget = budget;
        showDelegation(await postJSON('/plans/delegation', body), body);
      }, true);
    }

    function showDelegation(data, body) {
      planLayer.clearLayers();
      const s = data.summary;
      for (const f of data.lines.features) {
        const p = f.properties;
        L.polyline([[p.place_lat, p.place_lon], [p.centre_lat, p.centre_lon]], {
          pane: 'amResults', color: LINE_COLOUR, weight: 1 + Math.min(5, Math.sqrt(p.capacity)), opacity: 0.75,
        }).bindPopup(`<div class="am-pop"><h4>${esc(p.centre_name_fa)} → ${esc(p.name_fa)}</h4>${esc(t('assigned'))}: ${num(p.capacity)} · ${num(p.km, 1)} ${esc(t('km'))} ${U.synTag()}</div>`)
          .addTo(planLayer);
        L.circleMarker([p.place_lat, p.place_lon], { pane: 'amResults', radius: 4, color: '#111', weight: 1, fillColor: SITE_COLOUR, fillOpacity: 0.9 }).addTo(planLayer);
      }
      const used = data.centres.filter((c) => c.assigned > 0);
      for (const c of used) {
        L.circleMarker([c.lat, c.lon], { pane: 'amResults', radius: 7, color: '#fff', weight: 2, fillColor: LINE_COLOUR, fillOpacity: 1 })
          .bindPopup(`<div class="am-pop"><h4>${esc(c.name_fa)}</h4>${esc(t('spare'))}: ${num(c.spare)} · ${esc(t('assigned'))}: ${num(c.assigned)} ${U.synTag()}</div>`)
          .addTo(planLayer);
      }
      const rows = used.map((c) => `<tr><td>${esc(c.licence_no)}</td><td>${esc(c.name_fa)}</td><td>${num(c.spare)}</td>`
        + `<td>${num(c.assigned)}</td><td>${num(c.places)}</td><td>${num(c.mean_km, 1)}</td></tr>`);
      result.innerHTML = `<p class="am-summary">${esc(t('capacity_needed'))}: ${num(s.capacity_needed)} · ${esc(t('spare'))}: ${num(s.spare_capacity)}`
        + `<br>${esc(t('assigned'))}: <b>${num(s.assigned)}</b> · ${esc(t('still_needed'))}: ${num(s.still_needed)} · ${s.outreach_min != null ? `${esc(t('outreach_min'))}: ${num(s.outreach_min)}` : `${esc(t('outreach_km'))}: ${num(s.outreach_km)}`} ${U.synTag()}`
        + (s.outreach_cost !== undefined && s.outreach_cost !== null
          ? `<br><span id="am-delegation-cost">${esc(t('outreach_cost'))}: <b>${money(s.outreach_cost, s.cost_currency)}</b> · ${esc(t('budget'))}: `
            + `${s.budget === null ? esc(t('budget_none')) : money(s.budget, s.cost_currency)}</span> ${costSource(s)}`
          : '')
        + '</p>'
        + `<div class="am-table-wrap"><table class="am-table" id="am-centres"><thead><tr><th>${esc(t('licence_no'))}</th><th>${esc(t('centre'))}</th>`
        + `<th>${esc(t('spare'))}</th><th>${esc(t('assigned'))}</th><th>${esc(t('places'))}</th><th>${esc(t('km'))}</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
      if (data.lines.features.length) map.fitBounds(planLayer.getBounds(), { padding: [30, 30], maxZoom: 9 });
      lastPlan = {
        kind: 'delegation',
        changes: {
          delegations: data.lines.features.map((f) => ({
            licence_no: f.properties.licence_no, settlement_code: f.properties.settlement_code, persons: f.properties.capacity,
          })),
        },
      };
      $('am-scenario-name').value = `${t('delegation')} · ${U.serviceName(body.service_type)} · ${provinceSelect.selectedOptions[0].textContent.trim()}`;
      setStatus(`${t('n_assigned').replace('{n}', num(s.assigned))} · ${num(s.seconds, 2)} ${t('seconds')}`);
      document.body.dataset.planned = data.lines.features.map((f) => f.properties.settlement_code).join(',');
    }

    // ------------------------------------------------------------ scenarios
    async function loadScenarios(select) {
      const data = await getJSON('/scenarios');
      const options = [`<option value="today">${esc(t('today'))}</option>`]
        .concat(data.scenarios.map((s) => `<option value="${esc(s.id)}">${esc(scenarioLabel(s))}</option>`));
      for (const id of ['am-a', 'am-b']) {
        const el = $(id);
        const keep = el.value;
        el.innerHTML = options.join('');
        if (keep) el.value = keep;
      }
      if (select) $('am-b').value = select;
      return data.scenarios;
    }

    async function save() {
      if (!lastPlan) { setStatus(t('no_plan'), true); return; }
      await working(async () => {
        const saved = await postJSON('/scenarios', { name: $('am-scenario-name').value || lastPlan.kind, changes: lastPlan.changes });
        await loadScenarios(saved.id);
        setStatus(`${t('saved')}: ${saved.name}`);
        document.body.dataset.saved = saved.id;
      });
    }

    function changeMarkers(changes, colour) {
      for (const add of (changes && changes.licences_added) || []) {
        L.circleMarker([add.lat, add.lon], { pane: 'amResults', radius: 7, color: '#fff', weight: 2, fillColor: colour, fillOpacity: 1 })
          .bindPopup(`<div class="am-pop">${esc(add.name_fa || '')} · ${esc(t('capacity'))} ${num(add.capacity)}</div>`).addTo(planLayer);
      }
    }

    async function runCompare() {
      const a = $('am-a').value;
      const b = $('am-b').value;
      const q = new URLSearchParams(params());
      await working(async () => {
        const data = await getJSON(`/scenarios/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}?${q}`);
        const [sa, sb] = await Promise.all([a, b].map((id) => (id === 'today' ? null : getJSON(`/scenarios/${id}`))));
        compared = { data, sa, sb };
        showComparison(data, sa, sb);
        $('am-split').hidden = false;
        const xlsx = $('am-compare-xlsx');
        q.set('f', 'xlsx');
        q.set('lang', A.C.lang); // headers, classes and notice in the page's language
        xlsx.href = `/scenarios/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}?${q}`;
        xlsx.hidden = false;
        document.body.dataset.compared = `${a}:${b}`;
        setStatus(`${t('compare')}: ${scenarioName(data.a)} · ${scenarioName(data.b)}`);
      }, true);
    }

    function showComparison(data, sa, sb) {
      if (mapB) split(false);
      planLayer.clearLayers();
      const change = {};
      for (const r of data.counties) change[r.county_code] = r;
      if (countiesLayer) map.removeLayer(countiesLayer);
      countiesLayer = L.geoJSON(boundaries.counties, {
        pane: 'amCounties',
        filter: (f) => f.properties.province_code === provinceSelect.value,
        style: (f) => {
          const r = change[f.properties.county_code];
          const d = r ? r.access_change : 0;
          const colour = !r || Math.abs(d) < 1e-9 ? '#eef1ec' : d > 0 ? '#1a9850' : '#d7301f';
          return { color: r && r.class_changed ? '#111' : '#6b7781', weight: r && r.class_changed ? 2 : 0.8, fillColor: colour, fillOpacity: 0.55 };
        },
        onEachFeature: (f, layer) => {
          const r = change[f.properties.county_code];
          if (!r) return;
          layer.bindPopup(`<div class="am-pop"><h4>${esc(names[r.county_code] || r.county_code)}</h4>`
            + `${esc(t('class_' + r.class_a))} → ${esc(t('class_' + r.class_b))}<br>${esc(t('newly_covered_short'))}: ${num(r.newly_covered)}<br>`
            + `${esc(t('access_share'))}: ${num(r.access_share_a, 2)} → ${num(r.access_share_b, 2)} ${U.synTag()}</div>`);
        },
      }).addTo(map);
      changeMarkers(sa && sa.changes, A_COLOUR);
      changeMarkers(sb && sb.changes, B_COLOUR);
      const rows = data.counties
        .filter((r) => r.class_changed || r.newly_covered > 0 || Math.abs(r.access_change) > 1e-9)
        .sort((x, y) => y.newly_covered - x.newly_covered)
        .map((r) => {
          const d = r.access_change;
          return `<tr data-county="${esc(r.county_code)}"><td>${esc(names[r.county_code] || r.county_code)}</td>`
            + `<td>${esc(t('class_' + r.class_a))} → ${esc(t('class_' + r.class_b))}</td><td>${num(r.newly_covered)}</td>`
            + `<td class="${d > 0 ? 'am-up' : d < 0 ? 'am-down' : ''}">${num(r.access_share_a, 2)} → ${num(r.access_share_b, 2)}</td></tr>`;
        });
      const eq = data.equity.filter((e) => e.scope === 'national' || e.province_code === provinceSelect.value);
      const eqRows = eq.map((e) => `<tr><td>${esc(e.scope === 'national' ? t('national') : provinceSelect.selectedOptions[0].textContent.trim())}</td>`
        + `<td>${num(e.gini_a, 3)} → ${num(e.gini_b, 3)}</td><td>${num(e.theil_a, 3)} → ${num(e.theil_b, 3)}</td>`
        + `<td>${e.theil_between_provinces_a === null ? '–' : `${num(e.theil_between_provinces_a, 3)} → ${num(e.theil_between_provinces_b, 3)}`}</td></tr>`);
      const s = data.summary;
      // Money beside coverage: each side's cost, the difference, and what one newly covered person costs.
      const costs = s.cost_a === null || s.cost_a === undefined ? '' : `<p class="am-summary" id="am-compare-cost">`
        + `${esc(t('cost'))}: ${money(s.cost_a, s.cost_currency)} → ${money(s.cost_b, s.cost_currency)} · `
        + `${esc(t('cost_difference'))}: <b>${money(s.cost_difference, s.cost_currency)}</b> · `
        + `${esc(t('cost_per_newly_covered'))}: <b>${money(s.cost_per_newly_covered, s.cost_currency)}</b><br>${costSource(s)}</p>`;
      const items = (data.costs || []).map((c) => `<tr><td>${esc(c.side === 'a' ? scenarioName(data.a) : scenarioName(data.b))}</td>`
        + `<td>${esc(t('action_' + c.action))}</td><td>${esc(c.licence_no)}</td><td>${num(c.quantity, c.quantity % 1 ? 1 : 0)}</td>`
        + `<td>${num(c.unit_cost, c.unit_cost % 1 ? 1 : 0)}</td><td>${num(c.cost, c.cost % 1 ? 1 : 0)}</td></tr>`);
      const itemTable = items.length ? `<details class="am-costs"><summary>${esc(t('costs'))} (${num(items.length)})</summary>`
        + `<div class="am-table-wrap"><table class="am-table" id="am-cost-items"><thead><tr><th>${esc(t('cost_side'))}</th><th>${esc(t('cost_action'))}</th>`
        + `<th>${esc(t('licence_no'))}</th><th>${esc(t('cost_quantity'))}</th><th>${esc(t('unit_cost'))}</th><th>${esc(t('cost'))}</th></tr></thead>`
        + `<tbody>${items.join('')}</tbody></table></div></details>` : '';
      comparison.innerHTML = `<p class="am-summary">${esc(t('newly_covered_short'))}: <b>${num(s.newly_covered)}</b> · `
        + `${esc(t('capacity'))}: ${num(s.capacity_a)} → ${num(s.capacity_b)} · ${esc(t('counties_changing'))}: ${num(s.counties_changing_class)} ${U.synTag()}</p>`
        + costs + itemTable
        + `<div class="am-table-wrap"><table class="am-table" id="am-compare-table"><thead><tr><th>${esc(t('county'))}</th><th>${esc(t('class_change'))}</th>`
        + `<th>${esc(t('newly_covered_short'))}</th><th>${esc(t('access_share'))}</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
        + `<h3>${esc(t('equity'))}</h3><table class="am-table" id="am-equity"><thead><tr><th></th><th>${esc(t('gini'))}</th><th>${esc(t('theil'))}</th>`
        + `<th>${esc(t('theil_between'))}</th></tr></thead><tbody>${eqRows.join('')}</tbody></table>`;
    }

    // ------------------------------------------------------------ side by side
    /** Counties of the province filled by their class in scenario ``side`` ('a' or 'b'). */
    function classLayer(data, side) {
      const rows = {};
      for (const r of data.counties) rows[r.county_code] = r;
      return L.geoJSON(boundaries.counties, {
        pane: 'amCounties',
        filter: (f) => f.properties.province_code === provinceSelect.value,
        style: (f) => {
          const r = rows[f.properties.county_code];
          const cls = r ? r[`class_${side}`] : null;
          const changed = r && r.class_changed;
          return { color: changed ? '#111' : '#6b7781', weight: changed ? 2 : 0.8, fillColor: CLASS_COLOURS[cls] || '#ffffff', fillOpacity: 0.75 };
        },
        onEachFeature: (f, layer) => {
          const r = rows[f.properties.county_code];
          if (!r) return;
          layer.bindPopup(`<div class="am-pop"><h4>${esc(names[r.county_code] || r.county_code)}</h4>`
            + `${esc(t('class_' + r[`class_${side}`]))}<br>${esc(t('access_share'))}: ${num(r[`access_share_${side}`], 2)} ${U.synTag()}</div>`);
        },
      });
    }

    function caption(target, label, colour) {
      const box = L.control({ position: 'topright' });
      box.onAdd = () => {
        const div = L.DomUtil.create('div', 'am-split-caption');
        div.innerHTML = `<span class="am-square" style="background:${colour}"></span> ${esc(label)}`;
        return div;
      };
      return box.addTo(target);
    }

    /** Two maps side by side, the base (A) and the scenario (B), moving together; or back to one. */
    function split(on) {
      if (!on) {
        for (const off of unfollow) off();
        unfollow = [];
        if (mapB) { mapB.remove(); mapB = null; }
        const el = $('am-map-b');
        if (el) el.remove();
        if (A.splitCaption) { A.splitCaption.remove(); A.splitCaption = null; }
        document.body.classList.remove('am-split');
        delete document.body.dataset.split;
        $('am-split').textContent = t('side_by_side');
        map.invalidateSize();
        return;
      }
      const { data, sa, sb } = compared;
      showComparison(data, sa, sb); // the table and equity stay; the map is redrawn below
      document.body.classList.add('am-split');
      map.invalidateSize();
      if (countiesLayer) map.removeLayer(countiesLayer);
      countiesLayer = classLayer(data, 'a').addTo(map);
      planLayer.clearLayers();
      changeMarkers(sa && sa.changes, A_COLOUR);
      const el = document.createElement('div');
      el.id = 'am-map-b';
      el.setAttribute('role', 'region');
      el.setAttribute('aria-label', `${t('compare_b')}: ${scenarioName(data.b)}`);
      document.body.appendChild(el);
      mapB = L.map(el, { zoomControl: false, attributionControl: true, minZoom: 4, maxZoom: 16 });
      A.makePanes(mapB);
      mapB.attributionControl.setPrefix(false).addAttribution(esc(A.C.attribution));
      U.provinceOutline(boundaries).addTo(mapB);
      classLayer(data, 'b').addTo(mapB);
      const layerB = L.featureGroup([], { pane: 'amResults' }).addTo(mapB);
      for (const add of (sb && sb.changes && sb.changes.licences_added) || []) {
        L.circleMarker([add.lat, add.lon], { pane: 'amResults', radius: 7, color: '#fff', weight: 2, fillColor: B_COLOUR, fillOpacity: 1 })
          .bindPopup(`<div class="am-pop">${esc(add.name_fa || '')} · ${esc(t('capacity'))} ${num(add.capacity)}</div>`).addTo(layerB);
      }
      A.splitCaption = caption(map, `${t('compare_a')}: ${scenarioName(data.a)}`, A_COLOUR);
      caption(mapB, `${t('compare_b')}: ${scenarioName(data.b)}`, B_COLOUR);
      mapB.setView(map.getCenter(), map.getZoom(), { animate: false });
      // Either map leads; the other follows without echoing back.
      let following = false;
      const follow = (from, to) => {
        const handler = () => {
          if (following) return;
          following = true;
          to.setView(from.getCenter(), from.getZoom(), { animate: false });
          following = false;
        };
        from.on('move', handler);
        return () => from.off('move', handler);
      };
      unfollow = [follow(map, mapB), follow(mapB, map)];
      A.mapB = mapB;
      $('am-split').textContent = t('difference_map');
      document.body.dataset.split = 'true';
    }

    $('am-split').addEventListener('click', () => (mapB ? showComparison(compared.data, compared.sa, compared.sb) : split(true)));
    $('am-run-siting').addEventListener('click', runSiting);
    $('am-run-delegation').addEventListener('click', runDelegation);
    $('am-save').addEventListener('click', save);
    $('am-compare').addEventListener('click', runCompare);
    provinceSelect.addEventListener('change', () => {
      if (mapB) split(false);
      $('am-split').hidden = true;
      planLayer.clearLayers();
      showProvince();
    });
    serviceSelect.addEventListener('change', () => U.syncUrls({ province: provinceSelect.value, service: serviceSelect.value }));

    Promise.all([U.loadBoundaries(), loadScenarios()]).then(([b]) => {
      boundaries = b;
      names = U.countyNames(b);
      U.provinceOutline(b).addTo(map);
      showProvince();
      document.body.dataset.ready = 'true';
    }).catch((err) => setStatus(`${t('error')}: ${err.message}`, true));
  };
}());
