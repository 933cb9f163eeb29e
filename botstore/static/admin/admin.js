// botstore admin: fetch the JSON API with the CSRF token, show results. No dependencies.
"use strict";
window.admin = (function () {
  // The layout's translated words (templates/admin/_base.html), {name}s filled in here.
  const strings = document.getElementById("admin-strings");
  const STRINGS = strings ? JSON.parse(strings.textContent) : {};
  function t(key, values, fallback) {
    return (STRINGS[key] || fallback).replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Calls the JSON API; resolves to {ok, status, data} and never throws on HTTP errors.
  async function api(method, url, body) {
    const init = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      return { ok: false, status: 0, data: { error: t("network_error", { error: error }, "network error: {error}") } };
    }
    let data = null;
    const text = await response.text();
    try { data = text ? JSON.parse(text) : null; } catch (error) { data = { error: text }; }
    if (response.status === 401) { window.location = "/admin/login?next=" + encodeURIComponent(location.pathname); }
    return { ok: response.ok, status: response.status, data: data };
  }

  function flash(message, isError) {
    const box = document.getElementById("flash");
    if (!box) { return; }
    box.textContent = message;
    box.className = isError ? "flash error" : "flash";
    box.hidden = false;
  }

  // The warnings of a preview or save (e.g. a text reply past WeChat's 2,048 bytes), as
  // paragraphs appended to `box`.
  function warn(box, warnings) {
    for (const text of warnings || []) {
      const line = document.createElement("p");
      line.className = "warning";
      line.textContent = "⚠ " + text;
      box.appendChild(line);
    }
  }

  // The error a JSON API call returned, as one line.
  function describe(result) {
    const data = result.data || {};
    if (data.errcode !== undefined) { return "errcode " + data.errcode + ": " + data.errmsg; }
    return data.error || ("HTTP " + result.status);
  }

  // A form's named fields as an object: checkboxes as booleans, type=number as numbers.
  function fields(form) {
    const out = {};
    for (const element of form.elements) {
      if (!element.name || element.disabled) { continue; }
      if (element.type === "checkbox") { out[element.name] = element.checked; }
      else if (element.type === "number") { out[element.name] = element.value === "" ? null : Number(element.value); }
      else { out[element.name] = element.value; }
    }
    return out;
  }

  return { api: api, flash: flash, warn: warn, describe: describe, fields: fields, csrf: csrf };
})();
