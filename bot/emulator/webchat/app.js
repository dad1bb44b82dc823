// wardbot web chat: one simulated person talking to the bot through the emulator's control API.
// Plain JavaScript, no build step. Text from the bot or people is only ever put into the page
// as text nodes (DOM built from the message entities), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PERSONAS = [
  ["newcomer", "Người mới", "Newcomer"],
  ["resident", "Người dân", "Resident"],
  ["leader", "Tổ trưởng", "Group leader"],
  ["officer", "Cán bộ", "Officer"],
  ["admin", "Quản trị", "Admin"],
  ["inspector", "Thanh tra nhân dân", "People's inspector"],
];
// Bỉm Sơn, Thanh Hóa: a sensible point inside the sample ward.
const DEFAULT_POINT = { latitude: 20.0806, longitude: 105.8611 };
const NAMES = {
  family: ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"],
  middle: ["Văn", "Thị", "Minh", "Thu", "Đức", "Ngọc", "Quang", "Thanh"],
  given: ["An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Lan", "Long", "Mai", "Nam", "Phúc", "Yến"],
};

const state = {
  people: [],
  person: null, // the control API's user object
  chats: [],
  chat: null, // {id, type, bot_id?, title}
  messages: new Map(), // message_id -> control API message, for the open chat
  cursor: 0,
  session: null, // {abort}: the open chat's long poll; replaced when the chat changes
  keyboard: null, // {markup, hidden}
  keyboardOpen: true,
  zalo: null, // {user, index, abort}: the Zalo persona's conversation, when one is open
  zaloPeople: [],
};

// ------------------------------------------------------------------ helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child != null && child !== false));
  return node;
}

async function api(path, { json, form, signal } = {}) {
  const init = { method: json || form ? "POST" : "GET", signal, cache: "no-store" };
  if (json) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// ------------------------------------------------------------ a bot still starting

const STARTING = "đang khởi động… · starting…";

// Whether the bot behind the open conversation receives updates yet (the emulator knows:
// a Telegram bot polled or set a webhook, a Zalo bot called the Zalo API).
async function botIsUp() {
  const { connected } = await api("/_control/health");
  if (state.zalo) return connected.zalo;
  return !state.chat || state.chat.type !== "private" || connected.telegram.includes(state.chat.bot_id);
}

// Says "starting…" under the chat title until the bot is up; the conversation works meanwhile
// (Telegram keeps what people write until the bot asks), Zalo refuses until it is up.
async function watchStartup(isOpen) {
  while (isOpen()) {
    let up = false;
    try {
      up = await botIsUp();
    } catch {
      up = false;
    }
    if (!isOpen()) return;
    if (up) {
      if ($("chat-status").textContent === STARTING) $("chat-status").textContent = "";
      return;
    }
    $("chat-status").textContent = STARTING;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

let toastTimer = 0;
function toast(text, isError = false) {
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), isError ? 6000 : 3500);
}

function fail(error) {
  if (error.name !== "AbortError") toast(`Lỗi · Error: ${error.message}`, true);
}

function personName(person) {
  return person.label || [person.first_name, person.last_name].filter(Boolean).join(" ");
}

function defaultPhone(person) {
  return `+8491${String(person.id % 10_000_000).padStart(7, "0")}`;
}

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// "Ask" a dialog: resolves with its form's values, or null when cancelled.
function ask(dialog, values) {
  const form = dialog.querySelector("form");
  for (const [name, value] of Object.entries(values)) form.elements[name].value = value;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" ? Object.fromEntries(new FormData(form)) : null),
      { once: true },
    );
  });
}

// ------------------------------------------------------------ people, chats

async function loadPeople() {
  state.people = await api("/_control/users");
  const select = $("person");
  const groups = new Map(
    PERSONAS.map(([tag, vi, en]) => [tag, el("optgroup", { label: `${vi} · ${en}` })]),
  );
  const other = el("optgroup", { label: "Khác · Other" });
  for (const person of state.people) {
    const tags = person.persona.filter((tag) => groups.has(tag));
    for (const group of tags.length ? tags.map((tag) => groups.get(tag)) : [other]) {
      group.append(el("option", { value: String(person.id), textContent: personName(person) }));
    }
  }
  // People on Zalo (the Zalo Bot Platform emulator), talking with numbered text menus.
  state.zaloPeople = (await api("/_control/zalo/users")).result || [];
  const zalo = el("optgroup", { label: "Zalo · Người dùng Zalo (Zalo users)" });
  for (const user of state.zaloPeople) {
    zalo.append(el("option", { value: `zalo:${user.id}`, textContent: `💬 ${user.name}` }));
  }
  const filled = [...groups.values(), zalo, other].filter((group) => group.children.length);
  select.replaceChildren(
    el("option", { value: "", textContent: "— Chọn người · Pick a person —" }),
    ...filled,
  );
  if (state.zalo) select.value = `zalo:${state.zalo.user.id}`;
  else if (state.person) select.value = String(state.person.id);
}

async function choosePerson(personId, chatKey) {
  closeZalo();
  if (String(personId || "").startsWith("zalo:")) return openZalo(String(personId).slice(5));
  state.person = state.people.find((person) => String(person.id) === String(personId)) || null;
  $("person").value = state.person ? String(state.person.id) : "";
  const chatSelect = $("chat");
  chatSelect.replaceChildren();
  chatSelect.disabled = !state.person;
  if (!state.person) return openChat(null);
  state.chats = await api(`/_control/users/${state.person.id}/chats`);
  for (const chat of state.chats) {
    const text =
      chat.type === "private" ? `🤖 ${chat.title} · riêng (private)` : `👥 ${chat.title}`;
    chatSelect.append(el("option", { value: keyOf(chat), textContent: text }));
  }
  const chat = state.chats.find((item) => keyOf(item) === chatKey) || state.chats[0];
  chatSelect.value = keyOf(chat);
  return openChat(chat);
}

const keyOf = (chat) => (chat.type === "private" ? `bot${chat.bot_id}` : String(chat.id));

async function newPerson() {
  const family = pick(NAMES.family);
  const middle = pick(NAMES.middle);
  const given = pick(NAMES.given);
  const person = await api("/_control/users", {
    json: {
      first_name: given,
      last_name: `${family} ${middle}`,
      language_code: "vi",
      label: `Người mới — ${family} ${middle} ${given}`,
      persona: ["newcomer"],
    },
  });
  await loadPeople();
  await choosePerson(person.id);
}

async function newZaloPerson() {
  const name = `${pick(NAMES.family)} ${pick(NAMES.middle)} ${pick(NAMES.given)}`;
  const user = (await api("/_control/zalo/users", { json: { name } })).result;
  await loadPeople();
  await choosePerson(`zalo:${user.id}`);
}

// ------------------------------------------------------------ the Zalo persona

function closeZalo() {
  state.zalo?.abort.abort();
  state.zalo = null;
}

async function openZalo(userId) {
  await openChat(null);
  const user = state.zaloPeople.find((item) => String(item.id) === String(userId));
  if (!user) return;
  state.person = null;
  const zalo = { user, index: 0, abort: new AbortController() };
  state.zalo = zalo;
  $("person").value = `zalo:${user.id}`;
  $("chat").replaceChildren(el("option", { textContent: "💬 Zalo · Trợ lý phường (ward bot)" }));
  $("chat").disabled = true;
  $("chat-title").textContent = `Zalo · ${user.name}`;
  for (const id of ["text", "send", "attach", "send-location"]) $(id).disabled = false;
  history.replaceState(null, "", `#person=zalo:${user.id}`);
  watchStartup(() => state.zalo === zalo);
  while (state.zalo === zalo) {
    try {
      const body = await api(
        `/_control/zalo/users/${user.id}/messages?after=${zalo.index}&wait=25`,
        { signal: zalo.abort.signal },
      );
      if (state.zalo !== zalo) return;
      for (const message of body.result) {
        zalo.index = Math.max(zalo.index, message.index + 1);
        $("messages").append(renderZalo(message));
      }
      if (body.result.length) scrollDown();
      if ($("chat-status").textContent !== STARTING) $("chat-status").textContent = "";
    } catch (error) {
      if (state.zalo !== zalo || error.name === "AbortError") return;
      $("chat-status").textContent = "mất kết nối… · reconnecting";
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function renderZalo(m) {
  const own = m.sender === "user";
  const time = new Date(m.date).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
  const bubble = el(
    "div",
    { class: "bubble" },
    m.photo && el("img", { src: m.photo, alt: "Ảnh · Photo", onload: scrollIfNear }),
    m.sticker && el("div", { class: "text" }, "🙂 [sticker]"),
    m.event === "message.unsupported.received" &&
      el("div", { class: "text" }, "[tin nhắn không hỗ trợ · unsupported]"),
    m.text != null && el("div", { class: "text" }, m.text),
    m.caption && el("div", { class: "text" }, m.caption),
    el("div", { class: "meta" }, time),
  );
  return el("li", { class: `msg ${own ? "out" : "in"}${own ? "" : " bot"}` }, bubble);
}

async function zaloAct(path, json) {
  try {
    const body = await api(`/_control/zalo/users/${state.zalo.user.id}/${path}`, { json });
    scrollDown();
    return body;
  } catch (error) {
    // 409: no Zalo bot has connected yet; the demo is still starting.
    if (error.status === 409) {
      toast("Trợ lý Zalo đang khởi động…, vui lòng thử lại sau giây lát · The Zalo bot is starting; try again in a moment");
      const zalo = state.zalo;
      watchStartup(() => state.zalo === zalo);
    } else fail(error);
    return null;
  }
}

async function zaloPhoto(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return zaloAct("photo", { data_base64: btoa(binary), mime_type: file.type });
}

function saveLocation() {
  const params = new URLSearchParams();
  if (state.person) params.set("person", state.person.id);
  if (state.chat) params.set("chat", keyOf(state.chat));
  history.replaceState(null, "", `#${params}`);
}

// ---------------------------------------------------------------- the chat

// Where acting endpoints should post, and which chat the observers read.
function target(extra = {}) {
  const chat = state.chat;
  return chat.type === "private"
    ? { bot_id: chat.bot_id, ...extra }
    : { chat_id: chat.id, ...extra };
}

async function openChat(chat) {
  state.session?.abort.abort();
  state.chat = chat;
  state.messages.clear();
  state.keyboard = null;
  $("messages").replaceChildren();
  saveLocation();
  for (const id of ["text", "send", "attach", "send-location"]) $(id).disabled = !chat;
  const handle = chat?.bot_username && chat.bot_username !== chat.title && `@${chat.bot_username}`;
  $("chat-title").textContent = chat ? [chat.title, handle].filter(Boolean).join(" · ") : "—";
  $("chat-status").textContent = "";
  renderKeyboard();
  if (!chat) return;
  const session = { abort: new AbortController() };
  state.session = session;
  const chatId = chat.type === "private" ? state.person.id : chat.id;
  const query = chat.type === "private" ? `bot_id=${chat.bot_id}&` : "";
  $("messages").setAttribute("aria-busy", "true");
  const first = await api(`/_control/chats/${chatId}/messages?${query}include_deleted=false`);
  if (state.session !== session) return;
  showMessages(first.messages);
  state.cursor = first.cursor;
  await refreshKeyboard();
  $("messages").removeAttribute("aria-busy");
  watchStartup(() => state.session === session);
  pollEvents(session, chatId, query);
}

// Long poll for the open chat's events; each wakes us only when something happened there.
async function pollEvents(session, chatId, query) {
  while (state.session === session) {
    try {
      const since = state.cursor;
      const body = await api(
        `/_control/events?${query}chat_id=${chatId}&since=${since}&timeout=25`,
        {
          signal: session.abort.signal,
        },
      );
      if (state.session !== session) return;
      if (body.truncated) return openChat(state.chat);
      const kinds = new Set(body.events.map((event) => event.type));
      if (kinds.has("message") || kinds.has("edit") || kinds.has("delete")) {
        const changed = await api(`/_control/chats/${chatId}/messages?${query}since=${since}`, {
          signal: session.abort.signal,
        });
        if (state.session !== session) return;
        showMessages(changed.messages);
      }
      if (kinds.has("reply_keyboard")) await refreshKeyboard();
      if (kinds.has("chat_action")) showTyping();
      state.cursor = Math.max(state.cursor, body.cursor);
      $("chat-status").classList.remove("offline");
    } catch (error) {
      if (state.session !== session || error.name === "AbortError") return;
      $("chat-status").textContent = "mất kết nối… · reconnecting";
      $("chat-status").classList.add("offline");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

let typingTimer = 0;
function showTyping() {
  $("chat-status").textContent = "đang nhập… · typing";
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => ($("chat-status").textContent = ""), 5000);
}

function showMessages(messages) {
  const list = $("messages");
  const view = list.parentElement;
  const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 120;
  let mine = false;
  for (const message of messages) {
    const old = list.querySelector(`li[data-id="${message.message_id}"]`);
    if (message.deleted) {
      old?.remove();
      state.messages.delete(message.message_id);
      continue;
    }
    state.messages.set(message.message_id, message);
    const node = renderMessage(message);
    mine ||= !old && message.from.id === state.person.id;
    if (old) old.replaceWith(node);
    else {
      const later = [...list.children].find((li) => Number(li.dataset.id) > message.message_id);
      list.insertBefore(node, later || null);
    }
  }
  $("start").hidden = !(state.chat.type === "private" && state.messages.size === 0);
  if (atBottom || mine) scrollDown();
}

function scrollDown() {
  const view = $("messages").parentElement;
  view.scrollTop = view.scrollHeight;
}

function renderMessage(m) {
  const own = m.from.id === state.person.id;
  const service = serviceText(m);
  if (service) return el("li", { class: "msg service", "data-id": m.message_id }, service);
  const time = new Date((m.edit_date || m.date) * 1000).toLocaleTimeString("vi-VN", {
    hour: "2-digit",
    minute: "2-digit",
  });
  const replied = m.reply_to_message_id && state.messages.get(m.reply_to_message_id);
  const bubble = el(
    "div",
    { class: "bubble" },
    !own && state.chat.type !== "private" && el("div", { class: "sender" }, m.from.first_name),
    replied && el("div", { class: "quote" }, (replied.text || replied.caption || "…").slice(0, 80)),
    m.photo &&
      el("img", {
        src: m.photo.url,
        alt: "Ảnh · Photo",
        width: m.photo.width,
        height: m.photo.height,
        onload: scrollIfNear,
      }),
    m.document &&
      el(
        "a",
        { class: "file", href: m.document.url, download: m.document.file_name || "" },
        `📄 ${m.document.file_name || "tệp"} · ${formatSize(m.document.file_size)}`,
      ),
    m.location &&
      el(
        "div",
        { class: "location" },
        `📍 ${m.location.latitude.toFixed(5)}, ${m.location.longitude.toFixed(5)}`,
      ),
    m.contact &&
      el(
        "div",
        { class: "contact" },
        `👤 ${[m.contact.first_name, m.contact.last_name].filter(Boolean).join(" ")} · ${m.contact.phone_number}`,
      ),
    m.text != null && el("div", { class: "text" }, renderEntities(m.text, m.entities)),
    m.caption != null &&
      el("div", { class: "text" }, renderEntities(m.caption, m.caption_entities)),
    el("div", { class: "meta" }, m.edited ? `đã sửa · edited ${time}` : time),
  );
  return el(
    "li",
    { class: `msg ${own ? "out" : "in"}${m.from_bot ? " bot" : ""}`, "data-id": m.message_id },
    bubble,
    inlineKeyboard(m),
  );
}

function serviceText(m) {
  const names = (users) => users.map((user) => user.first_name).join(", ");
  if (m.new_chat_members) return `${names(m.new_chat_members)} đã tham gia nhóm · joined`;
  if (m.left_chat_member) return `${names([m.left_chat_member])} đã rời nhóm · left`;
  if (m.group_chat_created) return "Nhóm đã được tạo · group created";
  return null;
}

function scrollIfNear() {
  const view = $("messages").parentElement;
  if (view.scrollHeight - view.scrollTop - view.clientHeight < 400) scrollDown();
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  return bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

// Telegram entities (UTF-16 offsets, as JavaScript strings count) → nested DOM nodes.
function renderEntities(text, entities = []) {
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const root = document.createDocumentFragment();
  let next = 0;
  const build = (parent, start, end) => {
    let pos = start;
    while (next < sorted.length && sorted[next].offset < end) {
      const entity = sorted[next++];
      const from = Math.max(entity.offset, pos);
      const to = Math.min(entity.offset + entity.length, end);
      if (to <= from) continue;
      if (from > pos) parent.append(text.slice(pos, from));
      const node = entityNode(entity, text.slice(from, to));
      parent.append(node);
      build(node.querySelector("code") || node, from, to);
      pos = to;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  };
  build(root, 0, text.length);
  return root;
}

const TAGS = {
  bold: "b",
  italic: "i",
  underline: "u",
  strikethrough: "s",
  code: "code",
  blockquote: "blockquote",
  expandable_blockquote: "blockquote",
};

function entityNode(entity, inner) {
  if (TAGS[entity.type]) return el(TAGS[entity.type]);
  if (entity.type === "pre") return el("pre", {}, el("code"));
  if (entity.type === "spoiler") {
    const reveal = (event) => event.currentTarget.classList.add("shown");
    return el("span", {
      class: "spoiler",
      role: "button",
      tabIndex: 0,
      title: "Bấm để xem · reveal",
      onclick: reveal,
      onkeydown: (event) => event.key === "Enter" && reveal(event),
    });
  }
  if (entity.type === "bot_command") {
    return el("button", { type: "button", class: "command", onclick: () => sendText(inner) });
  }
  const href =
    entity.type === "text_link"
      ? entity.url
      : entity.type === "url"
        ? inner
        : entity.type === "email"
          ? `mailto:${inner}`
          : null;
  if (href && safeUrl(href))
    return el("a", { href: safeUrl(href), target: "_blank", rel: "noopener noreferrer" });
  return el("span", { class: entity.type });
}

function safeUrl(href) {
  try {
    const url = new URL(href.includes(":") ? href : `http://${href}`);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function inlineKeyboard(m) {
  const rows = m.reply_markup?.inline_keyboard;
  if (!rows) return null;
  const box = el("div", { class: "inline-kb" });
  for (const row of rows) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      const url = button.url && safeUrl(button.url);
      if (url) {
        line.append(
          el(
            "a",
            { class: "kb-button", href: url, target: "_blank", rel: "noopener noreferrer" },
            `${button.text} ↗`,
          ),
        );
        continue;
      }
      const usable = button.callback_data != null;
      line.append(
        el(
          "button",
          {
            type: "button",
            class: "kb-button",
            disabled: !usable,
            title: usable ? null : "không hỗ trợ · not supported",
            onclick: (event) => press(m, button.callback_data, event.currentTarget),
          },
          button.text,
        ),
      );
    }
    box.append(line);
  }
  return box;
}

async function press(m, data, button) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const pressed = await api(`/_control/users/${state.person.id}/press`, {
      json: target({ message_id: m.message_id, callback_data: data, bot_id: m.from.id }),
    });
    const answer = await api(`/_control/callback_answers/${pressed.callback_query_id}?timeout=10`);
    if (!answer.answered) toast("Bot chưa trả lời · the bot did not answer", true);
    else if (answer.text && answer.show_alert) {
      $("alert-text").textContent = answer.text;
      await ask($("alert-dialog"), {});
    } else if (answer.text) toast(answer.text);
    if (answer.url) toast(`🔗 ${answer.url}`);
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// ------------------------------------------------------------ reply keyboard

async function refreshKeyboard() {
  const chat = state.chat;
  if (chat?.type !== "private") {
    state.keyboard = null;
  } else {
    state.keyboard = await api(
      `/_control/users/${state.person.id}/reply_keyboard?bot_id=${chat.bot_id}`,
    );
    if (state.chat !== chat) return;
    // A keyboard that the person just used (one-time) folds away, as on Telegram.
    state.keyboardOpen = !state.keyboard.hidden;
  }
  renderKeyboard();
}

function renderKeyboard() {
  const markup = state.keyboard?.markup;
  const box = $("reply-keyboard");
  const toggle = $("keyboard-toggle");
  toggle.hidden = !markup;
  toggle.setAttribute("aria-expanded", String(Boolean(markup && state.keyboardOpen)));
  box.hidden = !markup || !state.keyboardOpen;
  $("text").placeholder = markup?.input_field_placeholder || "Viết tin nhắn… · Message";
  box.replaceChildren(
    ...(markup?.keyboard || []).map((row) =>
      el(
        "div",
        { class: "row" },
        ...row.map((button) => {
          const supported = !["request_users", "request_chat", "request_poll", "web_app"].some(
            (key) => button[key],
          );
          return el(
            "button",
            {
              type: "button",
              class: "kb-button",
              disabled: !supported,
              onclick: () => replyButton(button),
            },
            button.text,
          );
        }),
      ),
    ),
  );
}

async function replyButton(button) {
  if (button.request_contact) return shareContact();
  if (button.request_location) return sendLocation();
  return sendText(button.text);
}

// ----------------------------------------------------------------- acting

async function act(path, options) {
  try {
    const result = await api(`/_control/users/${state.person.id}/${path}`, options);
    scrollDown();
    return result;
  } catch (error) {
    fail(error);
    return null;
  }
}

const sendText = (text) =>
  state.zalo ? zaloAct("text", { text }) : act("send_text", { json: target({ text }) });

const phones = JSON.parse(localStorage.getItem("wardbot-phones") || "{}");

async function shareContact() {
  const person = state.person;
  let phone = phones[person.id];
  if (!phone) {
    const answer = await ask($("contact-dialog"), { phone: defaultPhone(person) });
    if (!answer) return;
    phone = answer.phone.replace(/\s+/g, "");
    phones[person.id] = phone;
    localStorage.setItem("wardbot-phones", JSON.stringify(phones));
  }
  await act("share_contact", { json: target({ phone_number: phone }) });
}

async function sendLocation() {
  // Zalo's Bot Platform has no location event: a Zalo resident types the place.
  if (state.zalo) return toast("Zalo: bot không nhận được vị trí · no location on Zalo", true);
  const answer = await ask($("location-dialog"), DEFAULT_POINT);
  if (!answer) return;
  await act("send_location", {
    json: target({ latitude: Number(answer.latitude), longitude: Number(answer.longitude) }),
  });
}

async function sendFile(file) {
  const isPhoto = ["image/png", "image/jpeg", "image/gif"].includes(file.type);
  if (state.zalo) {
    if (!isPhoto) return toast("Zalo: chỉ gửi được ảnh · photos only", true);
    return zaloPhoto(file);
  }
  const form = new FormData();
  for (const [key, value] of Object.entries(target())) form.append(key, String(value));
  const caption = $("text").value.trim();
  if (caption) form.append("caption", caption);
  form.append("file", file, file.name);
  if (await act(isPhoto ? "send_photo" : "send_document", { form })) $("text").value = "";
}

async function submitText(event) {
  event.preventDefault();
  const input = $("text");
  const text = input.value.trim();
  if (!text || !(state.chat || state.zalo)) return;
  input.value = "";
  if (!(await sendText(text))) input.value = text;
  input.focus();
}

// ------------------------------------------------------------------ wiring

function wire() {
  $("person").addEventListener("change", (event) => choosePerson(event.target.value).catch(fail));
  $("chat").addEventListener("change", (event) =>
    openChat(state.chats.find((chat) => keyOf(chat) === event.target.value)).catch(fail),
  );
  $("new-person").addEventListener("click", () => newPerson().catch(fail));
  $("new-zalo-person").addEventListener("click", () => newZaloPerson().catch(fail));
  $("start").addEventListener("click", () =>
    act("send_command", { json: target({ command: "start" }) }),
  );
  $("send-form").addEventListener("submit", submitText);
  $("text").addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; never interrupt an input method (Telex, VNI).
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submitText(event);
  });
  $("attach").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) sendFile(file);
  });
  $("send-location").addEventListener("click", sendLocation);
  $("keyboard-toggle").addEventListener("click", () => {
    state.keyboardOpen = !state.keyboardOpen;
    renderKeyboard();
  });
}

async function main() {
  wire();
  const params = new URLSearchParams(location.hash.slice(1));
  await loadPeople();
  if (params.get("person")) await choosePerson(params.get("person"), params.get("chat"));
}

main().catch(fail);
