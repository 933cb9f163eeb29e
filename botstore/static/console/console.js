// The botstore web console. Vanilla JS, no build step, no outside requests.
// Everything the bot (or any webhook) says is put into the page as text nodes, never as HTML:
// a reply containing <script> shows as those characters.
"use strict";

(() => {
  const settings = JSON.parse(document.body.dataset.settings || "{}");
  // The page's words in its language (templates/console/strings.html, from the catalogues).
  const STRINGS = JSON.parse(document.getElementById("console-strings")?.textContent || "{}");
  const store = window.localStorage;
  // Kept across reloads of this tab: the server keeps the session's exchanges, and a reload
  // asks for them back (/console/api/history).
  const SESSION_KEY = "botstore.console.session";
  const DEFAULT_FAN = { openid: "o_console_fan_0001", nickname: t("default_nickname") };
  const state = {
    fans: [], // [{openid, nickname}]
    active: null,
    session: window.sessionStorage.getItem(SESSION_KEY) || newSession(),
    defaultFan: null, // the fan opened for a first visit, replaced by the first fan added
    menu: [],
    scenes: [],
    exchanges: new Map(), // openid -> [exchange]
    sockets: new Map(), // openid -> WebSocket
    phones: new Map(), // openid -> phone element
    transcript: false,
  };

  // --- small helpers ------------------------------------------------------------------------

  /** The page's text `key`, its {name}s filled in from `values` (each once: no re-expansion). */
  function t(key, values) {
    const text = STRINGS[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      values && name in values ? String(values[name]) : whole);
  }

  function newSession() {
    const id = randomId();
    window.sessionStorage.setItem(SESSION_KEY, id);
    return id;
  }

  function randomId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** An element with attributes and children; strings become text nodes (never HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Only http(s) URLs become links or images: no javascript:, data: or relative tricks. */
  function safeUrl(raw) {
    if (typeof raw !== "string" || !raw) return null;
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function link(url, text) {
    const href = safeUrl(url);
    if (!href) return document.createTextNode(text || url || "");
    return el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text || url);
  }

  /** Text with line breaks kept (CSS pre-wrap) and http(s) URLs made clickable. */
  function linkify(text) {
    const fragment = document.createDocumentFragment();
    const pattern = /https?:\/\/[^\s<>"'`]+/g;
    let last = 0;
    for (const match of String(text).matchAll(pattern)) {
      let url = match[0].replace(/[),.;:!?\]]+$/, "");
      fragment.append(text.slice(last, match.index));
      fragment.append(link(url, url));
      last = match.index + url.length;
    }
    fragment.append(String(text).slice(last));
    return fragment;
  }

  function notice(message) {
    const box = document.getElementById("notice");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function api(path, body) {
    const init = body === undefined ? {} : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
    const response = await fetch(path, init);
    const text = await response.text();
    if (!response.ok) throw new Error(text || `HTTP ${response.status}`);
    return JSON.parse(text);
  }

  function time(date) {
    return (date || new Date()).toTimeString().slice(0, 8);
  }

  // --- settings kept in the browser ----------------------------------------------------------

  const TARGET_FIELDS = {
    url: "target-url",
    token: "target-token",
    app_id: "target-app-id",
    account_id: "target-account-id",
    encoding_aes_key: "target-aes-key",
  };

  function loadPrefs() {
    const prefs = JSON.parse(store.getItem("botstore.console") || "{}");
    document.getElementById("aes").checked = Boolean(prefs.aes);
    document.getElementById("retries").checked = Boolean(prefs.retries);
    document.getElementById("target-kind").value = prefs.kind === "custom" ? "custom" : "own";
    for (const [name, id] of Object.entries(TARGET_FIELDS)) {
      document.getElementById(id).value = (prefs.target || {})[name] || "";
    }
    document.getElementById("target-fields").hidden = prefs.kind !== "custom";
    return prefs;
  }

  function savePrefs() {
    const target = {};
    for (const [name, id] of Object.entries(TARGET_FIELDS)) {
      target[name] = document.getElementById(id).value.trim();
    }
    const prefs = {
      aes: document.getElementById("aes").checked,
      retries: document.getElementById("retries").checked,
      kind: document.getElementById("target-kind").value,
      target,
      fans: state.fans,
    };
    store.setItem("botstore.console", JSON.stringify(prefs));
  }

  function cursorKey(openid) {
    return `botstore.console.outbox.${openid}`;
  }

  function target() {
    if (document.getElementById("target-kind").value !== "custom") return null;
    const out = {};
    for (const [name, id] of Object.entries(TARGET_FIELDS)) {
      out[name] = document.getElementById(id).value.trim();
    }
    return out;
  }

  // --- rendering replies --------------------------------------------------------------------

  function media(label, ...details) {
    return el("span", { class: "media" }, `[${label}] `, details.filter(Boolean).join(" · "));
  }

  /** One reply (a passive reply's JSON, or an outbox message made to look like one). */
  function renderReply(reply) {
    switch (reply.type) {
      case "text":
        return el("div", { class: "bubble", "data-testid": "reply-text" }, linkify(reply.content || ""));
      case "news":
        return el("div", { class: "cards", "data-testid": "reply-news" },
          (reply.articles || []).map((article) => {
            const href = safeUrl(article.url);
            const cover = safeUrl(article.pic_url);
            return el(href ? "a" : "div",
              { class: "card", href, target: href && "_blank", rel: href && "noopener noreferrer", "data-testid": "news-card" },
              cover ? el("img", { src: cover, alt: "", loading: "lazy", referrerpolicy: "no-referrer" }) : null,
              el("div", { class: "title" }, article.title || ""),
              article.description ? el("div", { class: "desc" }, article.description) : null);
          }));
      case "image":
        return el("div", { class: "bubble", "data-testid": "reply-image" }, media(t("media_image"), `media_id ${reply.media_id}`));
      case "voice":
        return el("div", { class: "bubble", "data-testid": "reply-voice" }, media(t("media_voice"), `media_id ${reply.media_id}`));
      case "video":
        return el("div", { class: "bubble", "data-testid": "reply-video" },
          media(t("media_video"), `media_id ${reply.media_id}`, reply.title, reply.description));
      case "music":
        return el("div", { class: "bubble", "data-testid": "reply-music" },
          media(t("media_music"), reply.title, reply.description, reply.thumb_media_id && `thumb ${reply.thumb_media_id}`),
          reply.music_url ? el("div", {}, link(reply.music_url)) : null);
      case "miniprogrampage":
        return el("div", { class: "bubble", "data-testid": "reply-miniprogram" },
          media(t("media_miniprogram"), reply.title, reply.appid, reply.pagepath));
      case "transfer_customer_service":
        return el("div", { class: "bubble", "data-testid": "reply-transfer" },
          media(t("media_transfer"), reply.kf_account));
      default:
        return el("div", { class: "bubble" }, media(reply.type || t("media_unknown"), reply.raw));
    }
  }

  /** The customer-service API's JSON (wechat-protocol.md 7.2) as a reply-shaped object. */
  function fromCustomerService(payload) {
    if (payload.template_id) {
      // /cgi-bin/message/template/send: no msgtype; its data fields in order, as WeChat shows them.
      const lines = Object.entries(payload.data || {}).map(([key, field]) =>
        `${key}: ${(field && field.value) || ""}`);
      const link = payload.url ? [payload.url] : [];
      return { type: "text", content: [t("template_message", { id: payload.template_id }), ...lines, ...link].join("\n") };
    }
    const kind = payload.msgtype;
    const body = payload[kind] || {};
    switch (kind) {
      case "text":
        return { type: "text", content: body.content || "" };
      case "news":
        return {
          type: "news",
          articles: (body.articles || []).map((a) => ({
            title: a.title, description: a.description, url: a.url, pic_url: a.picurl,
          })),
        };
      case "image":
      case "voice":
        return { type: kind, media_id: body.media_id };
      case "video":
        return { type: "video", media_id: body.media_id, title: body.title, description: body.description };
      case "music":
        return {
          type: "music", title: body.title, description: body.description,
          music_url: body.musicurl, thumb_media_id: body.thumb_media_id,
        };
      case "miniprogrampage":
        return { type: "miniprogrampage", title: body.title, appid: body.appid, pagepath: body.pagepath };
      case "msgmenu": {
        const options = (body.list || []).map((item) => `  ${item.id}. ${item.content}`);
        return { type: "text", content: [body.head_content || "", ...options, body.tail_content || ""].join("\n") };
      }
      case "wxcard":
        return { type: "text", content: t("card_message", { id: body.card_id || "" }) };
      case "mpnews":
      case "mpnewsarticle":
        return { type: "text", content: `[${kind} ${body.media_id || body.article_id || ""}]` };
      default:
        return { type: kind || "unknown", raw: JSON.stringify(payload) };
    }
  }

  function chatOf(openid) {
    const phone = state.phones.get(openid);
    return phone && phone.querySelector(".chat");
  }

  function addToChat(openid, item) {
    const chat = chatOf(openid);
    if (!chat) return;
    chat.append(item);
    chat.scrollTop = chat.scrollHeight;
  }

  function fanSaid(openid, content) {
    addToChat(openid, el("li", { class: "from-fan" }, el("div", { class: "bubble" }, content)));
  }

  function systemNote(openid, text, testid) {
    addToChat(openid, el("li", { class: "system", "data-testid": testid || "system" }, text));
  }

  function showExchange(openid, exchange) {
    const meta = el("div", { class: "meta" }, `${exchange.elapsed_ms} ms${exchange.encrypted ? " · AES" : ""}`);
    const warnings = [...(exchange.warnings || [])].map((w) => el("div", { class: "warning", "data-testid": "warning" }, `⚠ ${w}`));
    if (exchange.problems.length) {
      // What the platform would do: the fan sees the "service unavailable" notice.
      addToChat(openid, el("li", { class: "from-bot error", "data-testid": "reply-error" },
        el("div", { class: "bubble" }, t("reply_rejected", { problems: exchange.problems.join("; ") })), meta, warnings));
    } else if (exchange.status !== 200) {
      addToChat(openid, el("li", { class: "from-bot error", "data-testid": "reply-error" },
        el("div", { class: "bubble" }, `HTTP ${exchange.status}: ${exchange.response_body}`), meta, warnings));
    } else if (!exchange.reply) {
      addToChat(openid, el("li", { class: "system", "data-testid": "reply-success" },
        t(exchange.response_body === "" ? "no_reply_empty" : "no_reply_success"), warnings));
    } else {
      addToChat(openid, el("li", { class: "from-bot", "data-testid": "reply" }, renderReply(exchange.reply), meta, warnings));
    }
    const list = state.exchanges.get(openid) || [];
    list.push({ ...exchange, at: new Date() });
    state.exchanges.set(openid, list);
    if (openid === state.active) renderDevPanel();
  }

  function showPushed(openid, message) {
    // A waiting notice is one WeChat would refuse now (the fan wrote over 48 hours ago): it is
    // shown greyed, and again as pushed when the fan's next message delivers it.
    const waiting = Boolean(message.waiting);
    const about = { reason: message.reason, id: message.id };
    let meta = t("pushed", about);
    if (waiting) meta = t("waiting", about);
    else if (message.queued_at) {
      meta += t("held_since", { when: new Date(message.queued_at).toLocaleString() });
    }
    addToChat(openid, el("li", { class: waiting ? "from-bot pushed waiting" : "from-bot pushed", "data-testid": waiting ? "waiting" : "pushed" },
      renderReply(fromCustomerService(message.payload || {})),
      el("div", { class: "meta" }, meta)));
    store.setItem(cursorKey(openid), String(message.id));
  }

  // --- the developer panel ------------------------------------------------------------------

  function section(title, content, testid) {
    if (content === null || content === undefined || content === "") return null;
    const text = typeof content === "string" ? content : JSON.stringify(content, null, 2);
    return [el("h3", {}, title), el("pre", { "data-testid": testid }, text)];
  }

  function renderDevPanel() {
    const list = document.getElementById("exchanges");
    list.replaceChildren();
    document.getElementById("dev-fan").textContent = state.active ? `· ${state.active}` : "";
    const exchanges = state.exchanges.get(state.active) || [];
    exchanges.slice().reverse().forEach((x, index) => {
      const kind = x.reply ? x.reply.type : x.success ? "success" : `HTTP ${x.status}`;
      const flags = [];
      if ((x.warnings || []).length) flags.push(el("span", { class: "warn" }, ` ⚠ ${x.warnings.length}`));
      if (x.problems.length || x.status !== 200) flags.push(el("span", { class: "bad" }, " ✗"));
      const sig = x.signature || {};
      list.append(el("li", { "data-testid": "exchange" },
        el("details", { open: index === 0 },
          el("summary", {}, `${time(x.at)} ${x.action} → ${kind} · ${x.elapsed_ms} ms${x.encrypted ? " · AES" : ""}`, flags),
          section("POST", `${x.url}?${new URLSearchParams(x.query).toString()}`, "dev-url"),
          section(t("section_signature"), {
            token: sig.token, timestamp: sig.timestamp, nonce: sig.nonce,
            signature: sig.signature, msg_signature: sig.msg_signature,
          }, "dev-signature"),
          section(t("section_message_xml"), x.message_xml, "dev-message-xml"),
          x.encrypted ? section(t("section_request_body"), x.request_body, "dev-request-body") : null,
          section(t(x.encrypted ? "section_response_encrypted" : "section_response"), x.response_body, "dev-response-body"),
          x.encrypted ? section(t("section_reply_xml"), x.reply_xml, "dev-reply-xml") : null,
          section(t("section_parsed_reply"), x.reply, "dev-reply"),
          section(t("section_warnings"), (x.warnings || []).length ? x.warnings : null, "dev-warnings"),
          section(t("section_problems"), x.problems.length ? x.problems : null, "dev-problems"),
          section(t("section_tries"), (x.tries || []).length ? x.tries : null, "dev-tries"),
          section(t("section_diagnostics"), x.diagnostics, "dev-diagnostics"))));
    });
  }

  // --- sending --------------------------------------------------------------------------------

  async function send(openid, body, action) {
    notice("");
    const payload = {
      ...body,
      openid,
      session: state.session,
      aes: document.getElementById("aes").checked,
      retries: document.getElementById("retries").checked,
    };
    const custom = target();
    if (custom) payload.target = custom;
    try {
      const exchange = await api("/console/api/send", payload);
      showExchange(openid, { ...exchange, action });
    } catch (error) {
      addToChat(openid, el("li", { class: "system error", "data-testid": "send-error" }, `! ${error.message}`));
    }
  }

  function sendText(openid, text) {
    fanSaid(openid, text);
    return send(openid, { type: "text", text }, `text "${text.slice(0, 30)}"`);
  }

  // --- the menu -------------------------------------------------------------------------------

  function menuButton(button) {
    return el("button", { type: "button", "data-testid": "menu-button", "data-key": button.key || button.url || "" }, button.name || "?");
  }

  function pressMenu(openid, button) {
    if (button.type === "view") {
      systemNote(openid, "", "menu-view");
      const note = chatOf(openid).lastElementChild;
      const [before, after] = t("opened").split("{url}");
      note.append(before, link(button.url), after ?? "");
    } else {
      systemNote(openid, t("tapped", { name: button.name }), "menu-click");
    }
    return send(openid, { type: "menu", button }, `${button.type} ${button.key || button.url || ""}`);
  }

  /** The menu of the webhook chosen: the account's, or another bot's (/console/api/menu says
   * which: the account's when that bot's AppID is the account's, the only one botstore's
   * /cgi-bin/menu/create takes; none for any other AppID). */
  async function loadMenu() {
    const custom = target();
    const query = custom ? `?app_id=${encodeURIComponent(custom.app_id)}` : "";
    try {
      state.menu = (await api(`/console/api/menu${query}`)).menu || [];
    } catch (error) {
      state.menu = [];
      notice(t("menu_failed", { error: error.message }));
    }
    for (const [openid, phone] of state.phones) renderMenu(phone, openid);
  }

  function renderMenu(phone, openid) {
    const bar = phone.querySelector(".menu");
    bar.replaceChildren();
    // Merchant scenes are botstore's business: another bot gets the free scene input only.
    const own = target() === null;
    phone.querySelector(".scene").hidden = !own;
    if (!own && !state.menu.length) {
      bar.append(el("p", { class: "hint", "data-testid": "no-bot-menu" },
        t("no_bot_menu", { api: "/cgi-bin/menu/create", account: settings.app_id || "" })));
    }
    for (const top of state.menu) {
      const item = el("div", { class: "menu-item" });
      const subs = top.sub_button || [];
      const button = menuButton(top);
      item.append(button);
      if (subs.length) {
        const popup = el("div", { class: "submenu", hidden: true });
        for (const sub of subs) {
          const subButton = menuButton(sub);
          subButton.addEventListener("click", () => {
            popup.hidden = true;
            pressMenu(openid, sub);
          });
          popup.append(subButton);
        }
        item.append(popup);
        button.addEventListener("click", () => {
          for (const other of bar.querySelectorAll(".submenu")) if (other !== popup) other.hidden = true;
          popup.hidden = !popup.hidden;
        });
      } else {
        button.addEventListener("click", () => pressMenu(openid, top));
      }
      bar.append(item);
    }
  }

  // --- the mini program ----------------------------------------------------------------------------

  const miniPrograms = new Map(); // openid -> {pages, shown (latest message id)}

  function miniProgramOf(openid) {
    const phone = state.phones.get(openid);
    return phone && phone.querySelector(".mp");
  }

  /** The web page a mini-program page shows, with the id the scene carries (its first number). */
  function pageUrl(openid, path, scene) {
    const info = (miniPrograms.get(openid)?.pages || []).find((page) => page.path === path);
    if (!info) return null;
    const id = (String(scene || "").match(/\d+/) || [])[0];
    return info.url.includes("{id}") ? (id ? info.url.replace("{id}", id) : info.fallback) : info.url;
  }

  function renderMiniMessages(openid, messages) {
    const known = miniPrograms.get(openid);
    const newest = messages.length ? messages[0].id : 0;
    if (known.shown === newest) return;
    known.shown = newest;
    miniProgramOf(openid).querySelector(".mp-messages").replaceChildren(...messages.map((message) =>
      el("li", { "data-testid": "mp-message" },
        el("div", { class: "title" }, message.title),
        message.lines.map((line) => el("div", {}, `${line.name}: ${line.value}`)),
        el("div", { class: "meta" }, `${message.sent_at.slice(0, 16).replace("T", " ")}${message.page ? t("opens_page", { page: message.page }) : ""}`))));
  }

  function renderTemplates(openid, templates, left) {
    const list = miniProgramOf(openid).querySelector(".mp-templates");
    list.replaceChildren(...templates.map((template) => {
      const allow = el("button", { type: "button", "data-testid": "mp-allow", "data-template": template.id }, t("allow"));
      allow.addEventListener("click", () => allowTemplate(openid, template.id));
      return el("li", { "data-testid": "mp-template" },
        el("span", {}, template.title, el("small", { "data-testid": "mp-grants" }, t("grants_left", { count: left[template.id] || 0 }))), allow);
    }));
  }

  async function refreshMiniProgram(openid, { full } = { full: false }) {
    const mp = miniProgramOf(openid);
    if (!mp) return;
    try {
      const found = await api(`/console/api/miniprogram/state?fan=${encodeURIComponent(openid)}`);
      const known = miniPrograms.get(openid) || { pages: [], shown: null };
      miniPrograms.set(openid, { ...known, pages: found.pages });
      if (full || !known.pages.length) {
        const select = mp.querySelector(".mp-page");
        const current = select.value;
        select.replaceChildren(...found.pages.map((page) => el("option", { value: page.path }, page.path)));
        if (current) select.value = current;
        mp.querySelector(".mp-ids").textContent = `openid ${found.openid} · unionid ${found.unionid}`;
        renderTemplates(openid, found.templates, found.grants_left);
      }
      renderMiniMessages(openid, found.messages);
    } catch (error) {
      notice(t("mp_error", { error: error.message }));
    }
  }

  function openMiniPage(openid, path, scene) {
    const phone = state.phones.get(openid);
    const url = pageUrl(openid, path, scene);
    if (!url) {
      notice(t("mp_no_page", { path }));
      return;
    }
    const mp = miniProgramOf(openid);
    mp.querySelector(".mp-page").value = path;
    mp.querySelector(".mp-scene").value = scene || "";
    mp.querySelector(".mp-frame").src = url;
    phone.dataset.mpPage = path;
    phone.dataset.mpScene = scene || "";
    renderViewer(openid);
  }

  function yuan(fen) {
    return `¥${(fen / 100).toFixed(2)}`;
  }

  /** Why the fan can't buy (the server's code), in words. */
  function refusal(code) {
    const words = {
      sold_out: t("mp_refused_sold_out"),
      not_on_sale: t("mp_refused_not_on_sale"),
      own_product: t("mp_refused_own_product"),
      price_changed: t("mp_refused_price_changed"),
      qty: t("mp_refused_qty"),
    };
    return words[code] || code;
  }

  function orderLine(order) {
    const statuses = { paid: t("order_paid"), shipped: t("order_shipped"), completed: t("order_completed"), cancelled: t("order_cancelled") };
    return el("li", { "data-testid": "mp-order", "data-order": order.id },
      t("mp_order_line", { id: order.id, qty: order.qty, total: yuan(order.total_fen), status: statuses[order.status] || order.status }));
  }

  /** The part of the page that knows who is looking: the signed-in fan, their wallet, and on a
   *  product's page what they can do and have bought (on a store's, their orders there). */
  async function renderViewer(openid) {
    const phone = state.phones.get(openid);
    const box = miniProgramOf(openid).querySelector(".mp-viewer");
    const params = new URLSearchParams({ fan: openid, page: phone.dataset.mpPage || "", scene: phone.dataset.mpScene || "" });
    let seen;
    try {
      seen = await api(`/console/api/miniprogram/page?${params}`);
    } catch (error) {
      notice(t("mp_error", { error: error.message }));
      return;
    }
    const viewer = seen.viewer;
    const parts = [el("div", { class: "mp-who", "data-testid": "mp-who" },
      t("mp_signed_in", { name: viewer.nickname || viewer.openid, balance: yuan(viewer.balance_fen) }))];
    if (seen.product) {
      const product = seen.product;
      parts.push(el("div", { "data-testid": "mp-offer" }, t("mp_offer", { price: yuan(product.price_fen), stock: product.stock })));
      if (product.refused) {
        parts.push(el("div", { class: "mp-refused", "data-testid": "mp-refused" }, refusal(product.refused)));
      } else {
        const qty = el("input", { type: "number", min: 1, max: 99, value: 1, size: 3, "aria-label": t("mp_qty"), "data-testid": "mp-qty" });
        const form = el("form", { class: "mp-buy" }, qty, el("button", { type: "submit", "data-testid": "mp-buy" }, t("mp_buy")));
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          buyProduct(openid, product.id, Number(qty.value));
        });
        parts.push(form);
      }
      if (product.bought.length) {
        parts.push(el("div", {}, t("mp_bought")), el("ul", { "data-testid": "mp-bought" }, product.bought.map(orderLine)));
      }
    }
    if (seen.store) {
      if (seen.store.own) parts.push(el("div", { "data-testid": "mp-own-store" }, t("mp_your_store")));
      parts.push(seen.store.orders.length
        ? el("div", {}, t("mp_orders_here"), el("ul", { "data-testid": "mp-store-orders" }, seen.store.orders.map(orderLine)))
        : el("div", {}, t("mp_none_here")));
    }
    const result = box.querySelector(".mp-pay-result") || el("output", { class: "mp-pay-result", "data-testid": "mp-pay-result" });
    box.replaceChildren(...parts, result);
  }

  /** POST that hands back refusals' JSON too (a 409 says why in {"refused"}). */
  async function apiAnswer(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
    return { ok: response.ok, data };
  }

  /** Buying as a mini program does: its backend makes the WeChat Pay order and signs the
   *  parameters, wx.requestPayment pays it, and the backend hears of it and makes the order. */
  async function buyProduct(openid, productId, qty) {
    notice("");
    const result = () => miniProgramOf(openid).querySelector(".mp-pay-result");
    const checkout = await apiAnswer("/console/api/miniprogram/checkout", { fan: openid, product_id: productId, qty });
    if (!checkout.ok) {
      result().textContent = t("mp_pay_failed", {
        reason: checkout.data.refused ? refusal(checkout.data.refused) : checkout.data.message,
      });
      return;
    }
    const order = checkout.data;
    result().textContent = t("mp_paying", { amount: yuan(order.total_fen), what: order.description });
    const paid = await apiAnswer("/console/api/wxpay/request-payment", { openid, ...order.payment });
    if (!paid.ok) {
      result().textContent = t("mp_pay_failed", { reason: paid.data.errMsg || paid.data.message });
      return;
    }
    const done = await apiAnswer("/console/api/miniprogram/paid", { fan: openid, out_trade_no: order.out_trade_no });
    await renderViewer(openid);
    const frame = miniProgramOf(openid).querySelector(".mp-frame");
    frame.src = frame.getAttribute("src"); // the page's stock changed
    result().dataset.outcome = done.ok ? (done.data.order ? "ordered" : "refunded") : "failed";
    if (!done.ok) result().textContent = t("mp_pay_failed", { reason: done.data.message });
    else if (done.data.order) {
      result().textContent = t("mp_paid", { amount: yuan(done.data.order.total_fen), id: done.data.order.id, balance: yuan(done.data.balance_fen) });
    } else {
      result().textContent = t("mp_refunded", {
        reason: refusal(done.data.refused), amount: yuan(done.data.refunded_fen), balance: yuan(done.data.balance_fen),
      });
    }
  }

  /** Scanning a code's image: the server reads the QR code in the PNG; its link opens the page. */
  async function scanImage(openid, file) {
    notice("");
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const read = await apiAnswer("/console/api/miniprogram/scan", { png: btoa(binary) });
    if (!read.ok) {
      notice(t("mp_scan_failed", { error: read.data.message }));
      return;
    }
    scanLink(openid, read.data.link);
  }

  async function showMiniProgram(openid, shown) {
    const phone = state.phones.get(openid);
    phone.classList.toggle("in-mp", shown);
    miniProgramOf(openid).hidden = !shown;
    if (!shown) return;
    await refreshMiniProgram(openid, { full: true });
    if (!phone.dataset.mpPage) openMiniPage(openid, "pages/index/index", "");
    else renderViewer(openid); // the wallet may have moved in the chat meanwhile
  }

  async function allowTemplate(openid, templateId) {
    notice("");
    try {
      await api("/console/api/miniprogram/subscribe", { fan: openid, template_id: templateId });
    } catch (error) {
      notice(error.message);
    }
    await refreshMiniProgram(openid, { full: true });
  }

  async function miniLogin(openid) {
    notice("");
    try {
      const login = await api("/console/api/miniprogram/login", { fan: openid });
      miniProgramOf(openid).querySelector(".mp-code").textContent = t("mp_code", { code: login.code });
      miniProgramOf(openid).querySelector(".mp-ids").textContent = `openid ${login.openid} · unionid ${login.unionid}`;
    } catch (error) {
      notice(error.message);
    }
  }

  /** What scanning a mini-program code does: its link names the page and the scene. */
  function scanLink(openid, raw) {
    let link;
    try {
      link = new URL(raw, location.href);
    } catch {
      notice(t("mp_not_a_code"));
      return;
    }
    const path = link.searchParams.get("page") || link.searchParams.get("miniprogram");
    if (!path) {
      notice(t("mp_not_a_code"));
      return;
    }
    openMiniPage(openid, path, link.searchParams.get("scene") || "");
  }

  function setupMiniProgram(phone, openid) {
    const mp = phone.querySelector(".mp");
    phone.querySelector(".mp-toggle").addEventListener("click", () =>
      showMiniProgram(openid, !phone.classList.contains("in-mp")));
    mp.querySelector(".mp-bar").addEventListener("submit", (event) => {
      event.preventDefault();
      openMiniPage(openid, mp.querySelector(".mp-page").value, mp.querySelector(".mp-scene").value.trim());
    });
    mp.querySelector(".mp-login").addEventListener("click", () => miniLogin(openid));
    mp.querySelector(".mp-scan-box").addEventListener("submit", (event) => {
      event.preventDefault();
      scanLink(openid, mp.querySelector(".mp-scan-link").value.trim());
    });
    mp.querySelector(".mp-scan-file").addEventListener("change", (event) => {
      const [file] = event.target.files;
      if (file) scanImage(openid, file);
      event.target.value = "";
    });
    // New subscribe messages show up while the mini program is open.
    const timer = setInterval(() => {
      if (!state.phones.has(openid)) clearInterval(timer);
      else if (phone.classList.contains("in-mp")) refreshMiniProgram(openid);
    }, 2000);
  }

  // --- WeChat Pay ------------------------------------------------------------------------------
  // A fan's JSAPI and H5 orders are cards with a "Pay" button in its chat; Native orders are QR
  // codes in the panel that the active fan scans. Both pay as `wxpay` does in the chat, and the
  // chat's own reply (or refusal) shows as the account's answer.

  const wxpayCards = new Map(); // openid -> Set of prepay_ids already shown as cards
  const wxpayCodes = { orders: [], shown: null };

  /** Pay an order (its prepay_id or code_url) as the fan; the answer goes into its chat. */
  async function wxpay(openid, reference) {
    notice("");
    try {
      const result = await api("/console/api/wxpay/pay", { openid, reference });
      addToChat(openid, el("li", { class: "from-bot", "data-testid": result.paid ? "wxpay-paid" : "wxpay-refused" },
        el("div", { class: "bubble" }, linkify(result.text))));
      refreshWxPay();
      return result;
    } catch (error) {
      addToChat(openid, el("li", { class: "system error", "data-testid": "send-error" }, `! ${error.message}`));
      return null;
    }
  }

  function payCard(openid, order) {
    const pay = el("button", { type: "button", class: "wxpay-pay", "data-testid": "wxpay-pay" }, t("wxpay_pay"));
    const card = el("div", { class: "wxpay-card", "data-testid": "wxpay-card", "data-prepay-id": order.prepay_id },
      el("div", { class: "wxpay-head" }, `${t("wxpay_title")} · ${order.trade_type}`),
      el("div", { class: "title" }, order.description),
      el("div", { class: "wxpay-amount" }, `¥${order.amount}`),
      el("div", { class: "meta" }, t("wxpay_order", { mchid: order.mchid, out_trade_no: order.out_trade_no })),
      el("div", { class: "meta" }, t("wxpay_until", { until: order.expires })),
      pay);
    pay.addEventListener("click", async () => {
      pay.disabled = true;
      const result = await wxpay(openid, order.prepay_id);
      if (result && result.paid) {
        card.classList.add("paid");
        pay.textContent = t("wxpay_paid");
      } else {
        pay.disabled = false; // closed, expired or a short wallet: the fan may try again
      }
    });
    return el("li", { class: "from-bot" }, card);
  }

  function renderCodes() {
    const box = document.getElementById("wxpay-codes");
    const key = JSON.stringify([state.active, wxpayCodes.orders.map((order) => order.prepay_id)]);
    if (wxpayCodes.shown === key) return; // unchanged: keep the images and the focus
    wxpayCodes.shown = key;
    box.hidden = !wxpayCodes.orders.length;
    box.querySelector("ol").replaceChildren(...wxpayCodes.orders.map((order) => {
      const scan = el("button", { type: "button", "data-testid": "wxpay-scan", disabled: !state.active },
        state.active ? t("wxpay_scan", { fan: state.active }) : t("wxpay_no_fan"));
      scan.addEventListener("click", () => {
        const openid = state.active;
        if (!openid) return;
        systemNote(openid, t("wxpay_scanned", { out_trade_no: order.out_trade_no }), "note-wxpay-scan");
        wxpay(openid, order.code_url);
      });
      return el("li", { "data-testid": "wxpay-code", "data-code-url": order.code_url },
        el("img", { src: order.qr, alt: order.code_url, width: 132, height: 132, "data-testid": "wxpay-qr" }),
        el("div", {},
          el("div", { class: "title" }, order.description),
          el("div", { class: "wxpay-amount" }, `¥${order.amount}`),
          el("div", { class: "meta" }, t("wxpay_order", { mchid: order.mchid, out_trade_no: order.out_trade_no })),
          el("code", { class: "meta" }, order.code_url),
          scan));
    }));
  }

  async function refreshWxPay() {
    const openids = [...state.phones.keys()];
    if (!openids.length) return;
    let found;
    try {
      found = await api(`/console/api/wxpay/pending?${new URLSearchParams(openids.map((openid) => ["openid", openid]))}`);
    } catch {
      return; // the next round asks again
    }
    for (const [openid, orders] of Object.entries(found.cards)) {
      const shown = wxpayCards.get(openid) || new Set();
      wxpayCards.set(openid, shown);
      for (const order of orders) {
        if (shown.has(order.prepay_id) || !state.phones.has(openid)) continue;
        shown.add(order.prepay_id);
        addToChat(openid, payCard(openid, order));
      }
    }
    wxpayCodes.orders = found.codes;
    renderCodes();
  }

  // --- fans, phones and tabs ------------------------------------------------------------------

  function renderScenes(phone) {
    const select = phone.querySelector(".scene");
    select.replaceChildren(el("option", { value: "" }, t("merchant_scene")),
      ...state.scenes.map((s) => el("option", { value: s.scene }, `${s.scene} (${s.name})`)));
  }

  function sceneOf(phone) {
    return phone.querySelector(".scene-text").value.trim() || phone.querySelector(".scene").value;
  }

  function openPhone(fan) {
    const { openid } = fan;
    const template = document.getElementById("phone-template");
    const phone = template.content.firstElementChild.cloneNode(true);
    phone.dataset.openid = openid;
    phone.dataset.testid = `phone-${openid}`;
    phone.querySelector(".fan-name").textContent = fan.nickname ? `${fan.nickname} · ${openid}` : openid;
    phone.addEventListener("click", () => activate(openid), true);
    phone.querySelector(".composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = phone.querySelector(".text");
      const text = input.value;
      if (!text.trim()) return;
      input.value = "";
      sendText(openid, text);
    });
    phone.querySelector(".subscribe").addEventListener("click", () => {
      systemNote(openid, t("followed"), "note-subscribe");
      send(openid, { type: "subscribe" }, "subscribe");
    });
    phone.querySelector(".unsubscribe").addEventListener("click", () => {
      systemNote(openid, t("unfollowed"), "note-unsubscribe");
      send(openid, { type: "unsubscribe" }, "unsubscribe");
    });
    phone.querySelector(".image").addEventListener("click", () => {
      fanSaid(openid, el("img", { class: "photo", src: "/console/static/photo.svg", alt: t("a_photo") }));
      send(openid, { type: "image" }, "image");
    });
    phone.querySelector(".click").addEventListener("click", () => {
      const key = phone.querySelector(".click-key").value.trim();
      if (!key) return;
      systemNote(openid, t("tapped_key", { key }), "menu-click");
      send(openid, { type: "menu", button: { type: "click", name: key, key } }, `CLICK ${key}`);
    });
    phone.querySelector(".scan").addEventListener("click", () => {
      const scene = sceneOf(phone);
      systemNote(openid, t("scanned", { scene }), "note-scan");
      send(openid, { type: "scan", scene }, `SCAN ${scene}`);
    });
    phone.querySelector(".scan-subscribe").addEventListener("click", () => {
      const scene = sceneOf(phone);
      systemNote(openid, t("followed_via_qr", { scene }), "note-scan");
      send(openid, { type: "subscribe", scene }, `subscribe qrscene_${scene}`);
    });
    const where = () => ({
      lat: phone.querySelector(".lat").value,
      lng: phone.querySelector(".lng").value,
      label: phone.querySelector(".label").value,
    });
    phone.querySelector(".location").addEventListener("click", () => {
      const place = where();
      fanSaid(openid, `📍 ${place.label} (${place.lat}, ${place.lng})`);
      send(openid, { type: "location", ...place }, "location");
    });
    phone.querySelector(".report-location").addEventListener("click", () => {
      const place = where();
      systemNote(openid, t("location_reported", { lat: place.lat, lng: place.lng }), "note-location");
      send(openid, { type: "report_location", lat: place.lat, lng: place.lng }, "LOCATION");
    });
    renderScenes(phone);
    renderMenu(phone, openid);
    setupMiniProgram(phone, openid);
    document.getElementById("phones").append(phone);
    state.phones.set(openid, phone);
    connect(openid);
  }

  function renderTabs() {
    const tabs = document.getElementById("fan-tabs");
    tabs.replaceChildren(...state.fans.map((fan) => {
      const close = el("button", { type: "button", title: t("close"), "aria-label": t("close_fan", { openid: fan.openid }) }, "×");
      close.addEventListener("click", (event) => {
        event.stopPropagation();
        closeFan(fan.openid);
      });
      const tab = el("span", { class: "tab", role: "tab", "aria-selected": String(fan.openid === state.active), "data-testid": `tab-${fan.openid}`, tabindex: 0 },
        fan.nickname || fan.openid, close);
      tab.addEventListener("click", () => activate(fan.openid));
      return tab;
    }));
    document.getElementById("no-fans").hidden = state.fans.length > 0;
  }

  function activate(openid) {
    if (state.active === openid) return;
    state.active = openid;
    for (const [id, phone] of state.phones) phone.classList.toggle("active", id === openid);
    const phone = state.phones.get(openid);
    if (phone) phone.scrollIntoView({ block: "nearest", inline: "nearest" });
    renderTabs();
    renderDevPanel();
    renderCodes();
  }

  function addFan(fan) {
    if (!state.phones.has(fan.openid)) {
      state.fans.push({ openid: fan.openid, nickname: fan.nickname || "" });
      openPhone(fan);
      savePrefs();
    }
    state.active = null;
    activate(fan.openid);
  }

  function closeFan(openid) {
    state.fans = state.fans.filter((fan) => fan.openid !== openid);
    const socket = state.sockets.get(openid);
    state.sockets.delete(openid);
    if (socket) socket.close();
    const phone = state.phones.get(openid);
    if (phone) phone.remove();
    state.phones.delete(openid);
    wxpayCards.delete(openid);
    if (state.active === openid) state.active = null;
    if (!state.active && state.fans.length) activate(state.fans[0].openid);
    savePrefs();
    renderTabs();
    renderDevPanel();
  }

  // --- live push --------------------------------------------------------------------------------

  function connect(openid) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = new URLSearchParams({ openid });
    const after = store.getItem(cursorKey(openid));
    if (after) params.set("after", after);
    const socket = new WebSocket(`${scheme}://${location.host}/console/ws?${params}`);
    state.sockets.set(openid, socket);
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "outbox") showPushed(openid, message);
      if (message.type === "hello") state.phones.get(openid)?.setAttribute("data-live", "true");
    });
    socket.addEventListener("close", () => {
      state.phones.get(openid)?.removeAttribute("data-live");
      // Reconnect while the fan is still open (the server restarted, say).
      if (state.sockets.get(openid) === socket) {
        setTimeout(() => {
          if (state.sockets.get(openid) === socket) connect(openid);
        }, 2000);
      }
    });
  }

  // --- the clock and the transcript -------------------------------------------------------------

  async function advance(days) {
    notice("");
    try {
      const result = await api("/console/api/clock/advance", { days });
      document.getElementById("clock-now").textContent = result.now.slice(0, 16).replace("T", " ");
      const log = document.getElementById("clock-log");
      const ran = result.ran.filter((run) => run.done);
      log.replaceChildren(el("div", { "data-testid": "clock-ran" },
        t(days === 1 ? "advanced_day" : "advanced_days", { days, now: result.now.slice(0, 16).replace("T", " ") }),
        ran.length ? ran.map((run) => `${run.job} (${run.done})`).join(", ") : t("nothing_due")));
    } catch (error) {
      notice(error.message);
    }
  }

  function saveTranscript() {
    if (!state.transcript) {
      notice(t("no_transcripts"));
      return;
    }
    const anchor = el("a", { href: `/console/api/transcript?session=${state.session}`, download: "botstore-transcript.json" });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
  }

  /** After a reload: this tab's earlier exchanges, back in the chats and the panel. */
  async function restore() {
    let history;
    try {
      history = await api(`/console/api/history?session=${encodeURIComponent(state.session)}`);
    } catch (error) {
      notice(t("restore_failed", { error: error.message }));
      return;
    }
    for (const exchange of history.exchanges) {
      if (!state.phones.has(exchange.openid)) continue;
      const message = exchange.message || {};
      const openid = exchange.openid;
      if (message.MsgType === "text") fanSaid(openid, message.Content || "");
      else if (message.MsgType === "event") {
        systemNote(openid, `${message.Event}${message.EventKey ? ` ${message.EventKey}` : ""}`, "note-restored");
      } else systemNote(openid, t("sent_kind", { kind: message.MsgType }), "note-restored");
      const action = message.MsgType === "text" ? `text "${(message.Content || "").slice(0, 30)}"`
        : message.MsgType === "event" ? `${message.Event} ${message.EventKey || ""}`.trim() : message.MsgType;
      showExchange(openid, { ...exchange, action });
    }
  }

  // --- start ------------------------------------------------------------------------------------

  async function start() {
    const prefs = loadPrefs();
    document.getElementById("target-kind").addEventListener("change", (event) => {
      document.getElementById("target-fields").hidden = event.target.value !== "custom";
      savePrefs();
      loadMenu();
    });
    // Another bot's AppID says whose menu it is: the phones follow what is typed.
    document.getElementById("target-app-id").addEventListener("change", loadMenu);
    for (const id of ["aes", "retries", ...Object.values(TARGET_FIELDS)]) {
      document.getElementById(id).addEventListener("change", savePrefs);
    }
    for (const button of document.querySelectorAll("[data-days]")) {
      button.addEventListener("click", () => advance(Number(button.dataset.days)));
    }
    document.getElementById("save-transcript").addEventListener("click", saveTranscript);
    document.getElementById("new-fan").addEventListener("submit", async (event) => {
      event.preventDefault();
      notice("");
      const openid = document.getElementById("new-openid").value.trim();
      const nickname = document.getElementById("new-nickname").value.trim();
      try {
        const fan = await api("/console/api/fans", { openid, nickname });
        const unused = state.defaultFan;
        addFan(fan);
        // The fan opened for a first visit gives way to the first one the user adds, unless
        // it was used meanwhile.
        if (unused && unused !== fan.openid && !(state.exchanges.get(unused) || []).length) {
          closeFan(unused);
        }
        state.defaultFan = null;
        document.getElementById("new-openid").value = "";
        document.getElementById("new-nickname").value = "";
      } catch (error) {
        notice(error.message);
      }
    });
    try {
      const initial = await api("/console/api/state");
      state.menu = initial.menu || [];
      state.scenes = initial.scenes || [];
      state.transcript = initial.transcript_supported;
      document.getElementById("retries").disabled = !initial.retries_supported;
      document.getElementById("save-transcript").disabled = !initial.transcript_supported;
      document.getElementById("clock-now").textContent = initial.now.slice(0, 16).replace("T", " ");
      document.getElementById("known-fans").replaceChildren(
        ...initial.fans.map((fan) => el("option", { value: fan.openid }, fan.nickname || fan.openid)));
    } catch (error) {
      notice(t("state_failed", { error: error.message }));
    }
    for (const fan of prefs.fans || []) addFan(fan);
    if (!state.fans.length) {
      // A first visit: a fan ready to type as, so the first thing typed reaches the bot.
      try {
        addFan(await api("/console/api/fans", DEFAULT_FAN));
        state.defaultFan = DEFAULT_FAN.openid;
      } catch (error) {
        notice(t("add_fan_failed", { error: error.message }));
      }
    }
    await loadMenu();
    await restore();
    const [only] = state.fans;
    if (state.fans.length === 1 && only.openid === DEFAULT_FAN.openid && !state.exchanges.has(only.openid)) {
      state.defaultFan = only.openid; // still unused since an earlier visit
    }
    // A scanned mini-program code lands here (/wxa/open redirects): its page, in the active phone.
    const scanned = new URLSearchParams(location.search);
    if (scanned.has("miniprogram")) {
      if (state.active) {
        await showMiniProgram(state.active, true);
        openMiniPage(state.active, scanned.get("miniprogram"), scanned.get("scene") || "");
      } else {
        notice(t("scan_needs_fan"));
      }
    }
    refreshWxPay();
    setInterval(refreshWxPay, 2000);
    document.body.dataset.ready = "true";
  }

  start();
})();
