/* The register page: register an application, run its licence check, record a decision.
   Every edit sends the application's ETag in If-Match (api/routers/applications.py): a stale
   page gets 412 and says so instead of overwriting a colleague's decision. */
(function () {
  'use strict';
  const C = window.AMAYESH_OFFICE || { messages: {} };
  // The service's answers in the page's language (common.js problemText, the catalogue's words).
  const A = window.Amayesh;
  A.C = { lang: C.lang, t: C.t || {} };
  const latin = (s) => A.u.latinDigits(s || '').trim(); // Persian digits as 0-9

  async function send(method, url, body, etag) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (etag) headers['If-Match'] = etag;
    let response;
    try {
      response = await fetch(url, A.u.withCsrf({
        method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
      }));
    } catch (err) {
      return { response: { ok: false, status: 0 }, data: null }; // no answer at all
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    return { response, data };
  }

  function say(el, text, isError) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('am-error', Boolean(isError));
  }

  function problem(result) {
    if (result.response.status === 412) return C.messages.stale;
    return A.u.problemError(result.response.status, result.data).message;
  }

  function open(id) {
    const url = new URL(window.location.href);
    url.searchParams.set('id', id);
    ['lat', 'lon', 'service_type', 'capacity'].forEach((k) => url.searchParams.delete(k));
    window.location.assign(url.toString());
  }

  const card = document.getElementById('am-application');
  const message = document.getElementById('am-message');
  const checkButton = document.getElementById('am-run-check');
  if (card && checkButton) {
    checkButton.addEventListener('click', async () => {
      checkButton.disabled = true;
      say(message, C.messages.working);
      const id = card.dataset.id;
      const result = await send('POST', `/licence-applications/${encodeURIComponent(id)}/check`, undefined, card.dataset.etag);
      if (result.response.ok) open(id);
      else { say(message, problem(result), true); checkButton.disabled = false; }
    });
  }
  const decision = document.getElementById('am-decision-form');
  if (card && decision) {
    decision.addEventListener('submit', async (event) => {
      event.preventDefault();
      const id = card.dataset.id;
      say(message, C.messages.working);
      const body = { decision: document.getElementById('am-decision').value, reason: document.getElementById('am-reason').value };
      const result = await send('POST', `/licence-applications/${encodeURIComponent(id)}/decision`, body, card.dataset.etag);
      if (result.response.ok) open(id);
      else say(message, problem(result), true);
    });
  }
  const form = document.getElementById('am-new-form');
  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const out = document.getElementById('am-new-message');
      const body = {
        applicant: document.getElementById('am-new-applicant').value.trim(),
        service_type: document.getElementById('am-new-service').value,
        capacity: Number(latin(document.getElementById('am-new-capacity').value)),
        lat: Number(latin(document.getElementById('am-new-lat').value)),
        lon: Number(latin(document.getElementById('am-new-lon').value)),
      };
      say(out, C.messages.working);
      const result = await send('POST', '/licence-applications', body);
      if (result.response.ok) open(result.data.application_id);
      else say(out, problem(result), true);
    });
  }
  document.body.dataset.ready = 'true';
}());
