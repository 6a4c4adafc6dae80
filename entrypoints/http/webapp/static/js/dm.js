// Direct messages: the inbox (newest first, last message, unread counts), one conversation live,
// sending, and a new conversation by handle. The inbox follows the user's own channel.
import { refusal } from "./api.js";
import { clear, field, h, time } from "./dom.js";

export function mountDm(root, ctx) {
  const { api, socket, me, showError } = ctx;
  let profile = null;
  let group = null;       // the open conversation's summary
  let unsubscribe = null;
  const summaries = new Map(); // message_group_uuid -> summary
  const shown = new Set();

  const handleInput = h("input", { name: "handle", required: true, maxlength: 64, value: me.handle || "" });
  const nameInput = h("input", { name: "display_name", required: true, maxlength: 100, value: me.display_name || "" });
  const profileBox = h("div");
  const inbox = h("ul", { className: "list", "aria-label": "Conversations" });
  const title = h("h3", {}, "No conversation open");
  const messages = h("ol", { className: "messages", "aria-label": "Conversation messages", "aria-live": "polite" });
  const textInput = h("textarea", { name: "message", rows: 2, maxlength: 1024, required: true });
  const toInput = h("input", { name: "to_handle", required: true, maxlength: 64 });
  const firstInput = h("textarea", { name: "first_message", rows: 2, maxlength: 1024, required: true });

  clear(root,
    h("h2", {}, "Direct messages"),
    profileBox,
    h("div", { className: "columns" },
      h("div", { className: "side" },
        h("h3", {}, "Inbox"), inbox,
        h("h3", {}, "New conversation"),
        h("form", { onsubmit: (e) => { e.preventDefault(); startConversation(); } },
          field("To (handle)", toInput), field("First message", firstInput), h("button", { type: "submit" }, "Start"))),
      h("div", { className: "main-col" }, title, messages,
        h("form", { onsubmit: (e) => { e.preventDefault(); send(); } },
          field("Reply", textInput), h("button", { type: "submit" }, "Send reply")))));

  async function loadProfile() {
    try {
      profile = await api("GET", "/dm/me");
      clear(profileBox, h("p", {}, `Your handle: @${profile.handle}`));
    } catch (error) {
      if (error.status !== 404) return showError(error);
      clear(profileBox, h("form", { onsubmit: (e) => { e.preventDefault(); saveProfile(); } },
        h("p", {}, "Choose a handle so others can write to you."),
        h("div", { className: "row" }, field("Handle", handleInput), field("Display name", nameInput)),
        h("button", { type: "submit" }, "Save")));
    }
  }

  async function saveProfile() {
    try {
      await api("PUT", "/dm/me", { handle: handleInput.value.trim(), display_name: nameInput.value.trim() });
      loadProfile();
    } catch (error) {
      showError(error);
    }
  }

  async function loadInbox() {
    try {
      const rows = await api("GET", "/dm/groups?limit=50");
      summaries.clear();
      for (const row of rows) summaries.set(row.message_group_uuid, row);
      renderInbox();
    } catch (error) {
      showError(error);
    }
  }

  function renderInbox() {
    const rows = [...summaries.values()].sort((a, b) => (a.last_message_at < b.last_message_at ? 1 : -1));
    clear(inbox, rows.length ? rows.map((s) => {
      const unread = s.unread_count ? h("span", { className: "badge", "aria-label": `${s.unread_count} unread` }, String(s.unread_count)) : null;
      return h("li", { "data-group": s.message_group_uuid },
        h("button", { type: "button", className: "link", onclick: () => open(s) },
          h("strong", {}, `${s.user_display_name} (@${s.user_handle})`), " ", unread,
          h("span", { className: "preview" }, s.message)), " ", time(s.last_message_at));
    }) : h("li", { className: "empty" }, "No conversations yet"));
  }

  function open(summary) {
    if (unsubscribe) unsubscribe();
    group = summary;
    shown.clear();
    clear(messages);
    title.textContent = `With ${summary.user_display_name} (@${summary.user_handle})`;
    unsubscribe = socket.subscribe({ topic: "dm.group", message_group_uuid: summary.message_group_uuid }, {
      event: (m) => { addMessage(m); markRead(); },
      refused: (code, message) => showError(refusal("This conversation", code, message)),
    });
    markRead();
  }

  function addMessage(m) {
    if (shown.has(m.cursor)) return;
    shown.add(m.cursor);
    messages.append(h("li", { className: "message", "data-cursor": m.cursor },
      h("strong", {}, m.user_display_name), " ", time(m.created_at), h("p", {}, m.message)));
    messages.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  async function markRead() {
    if (!group || root.hidden) return;
    try {
      await api("PUT", `/dm/groups/${encodeURIComponent(group.message_group_uuid)}/read`);
      const summary = summaries.get(group.message_group_uuid);
      if (summary) { summary.unread_count = 0; renderInbox(); }
    } catch (error) {
      showError(error);
    }
  }

  async function send() {
    const text = textInput.value.trim();
    if (!text || !group) return;
    try {
      await api("POST", `/dm/groups/${encodeURIComponent(group.message_group_uuid)}/messages`, { message: text });
      textInput.value = "";
    } catch (error) {
      showError(error);
    }
  }

  async function startConversation() {
    const handle = toInput.value.trim().replace(/^@/, "");
    const text = firstInput.value.trim();
    if (!handle || !text) return;
    try {
      const sent = await api("POST", "/dm/messages", { handle, message: text });
      firstInput.value = "";
      await loadInbox();
      const summary = summaries.get(sent.message_group_uuid);
      if (summary) open(summary);
    } catch (error) {
      showError(error);
    }
  }

  let loaded = false;
  return {
    show() {
      if (!loaded) { loaded = true; loadProfile(); loadInbox(); }
      if (group) markRead();
    },
    ownFrame(frame) {
      if (frame.topic !== "dm.message" || !frame.group) return;
      const summary = frame.group;
      if (group && summary.message_group_uuid === group.message_group_uuid && !root.hidden) summary.unread_count = 0;
      summaries.set(summary.message_group_uuid, summary);
      renderInbox();
    },
    reconnected() { if (loaded) loadInbox(); },
  };
}
