// Forum: the threads one may read (with unread counts), one thread's messages live, posting,
// its status, following it, and the user's notifications.
import { refusal } from "./api.js";
import { clear, field, h, time } from "./dom.js";

const STATUS_TEXT = {
  not_started: "Not started",
  waiting_for_participant: "Open (waiting for the participant)",
  waiting_for_trainer: "Waiting for a trainer",
  closed: "Closed",
};
const DEFAULT_ITEM = "100";
const DEFAULT_HELPER_GROUP = "5";

export function mountForum(root, ctx) {
  const { api, socket, me, showError } = ctx;
  let unsubscribe = null;
  let current = null; // {item_id, participant_id}
  const seen = new Set();

  const itemInput = h("input", { name: "item_id", inputmode: "numeric", value: DEFAULT_ITEM, required: true });
  const participantInput = h("input", { name: "participant_id", inputmode: "numeric", value: me.user_id, required: true });
  const helperInput = h("input", { name: "helper_group_id", inputmode: "numeric", value: DEFAULT_HELPER_GROUP });
  const watchedInput = h("input", { name: "watched_group_id", inputmode: "numeric", placeholder: "e.g. 1" });
  const threadList = h("ul", { className: "list", "aria-label": "Threads" });
  const notifications = h("ul", { className: "list", "aria-label": "Notifications" });
  const notificationCount = h("span", { className: "badge", "aria-label": "unread notifications" }, "0");
  const statusText = h("p", { className: "status-line" });
  const followButton = h("button", { type: "button", onclick: toggleFollow, "aria-pressed": "false" }, "Follow");
  const messages = h("ol", { className: "messages", "aria-label": "Thread messages", "aria-live": "polite" });
  const textInput = h("textarea", { name: "text", rows: 2, maxlength: 4000, required: true });
  const title = h("h3", {}, "No thread open");

  const threadForm = h("form", { onsubmit: (e) => { e.preventDefault(); openThread(itemInput.value.trim(), participantInput.value.trim()); } },
    h("div", { className: "row" }, field("Item", itemInput), field("Participant", participantInput)),
    h("button", { type: "submit" }, "Show thread"));
  const postForm = h("form", { onsubmit: (e) => { e.preventDefault(); post(); } },
    field("Message", textInput), h("button", { type: "submit" }, "Post"));
  const statusButtons = h("div", { className: "buttons", role: "group", "aria-label": "Thread status" },
    h("button", { type: "button", onclick: () => setStatus("waiting_for_participant") }, "Open"),
    h("button", { type: "button", onclick: () => setStatus("waiting_for_trainer") }, "Ask a trainer"),
    h("button", { type: "button", onclick: () => setStatus("closed") }, "Close"));
  const listForm = h("form", { onsubmit: (e) => { e.preventDefault(); loadThreads(); } },
    field("Watched group (empty: my threads)", watchedInput), h("button", { type: "submit" }, "List threads"));

  clear(root,
    h("h2", {}, "Forum"),
    h("div", { className: "columns" },
      h("div", { className: "side" }, h("h3", {}, "Threads"), listForm, threadList,
        h("h3", {}, "Notifications ", notificationCount), notifications),
      h("div", { className: "main-col" }, threadForm, title, statusText,
        h("div", { className: "row" }, field("Helper group (to open)", helperInput)), statusButtons,
        h("div", { className: "buttons" }, followButton), messages, postForm)));

  async function loadThreads() {
    const watched = watchedInput.value.trim();
    const query = watched ? `watched_group_id=${encodeURIComponent(watched)}` : "is_mine=1";
    try {
      const rows = await api("GET", `/forum/threads?${query}&limit=20`);
      clear(threadList, rows.length ? rows.map(threadRow) : h("li", { className: "empty" }, "No threads yet"));
    } catch (error) {
      showError(error);
    }
  }

  function threadRow(t) {
    const unread = t.unread_count ? h("span", { className: "badge", "aria-label": `${t.unread_count} unread` }, String(t.unread_count)) : null;
    return h("li", {}, h("button", { type: "button", className: "link", onclick: () => openThread(t.item_id, t.participant_id) },
      `Item ${t.item_id}, participant ${t.participant_id} — ${STATUS_TEXT[t.status] || t.status} `, unread));
  }

  async function loadNotifications() {
    try {
      const rows = await api("GET", "/forum/notifications?limit=20");
      clear(notifications, rows.map(notificationRow));
      countNotifications();
    } catch (error) {
      showError(error);
    }
  }

  function notificationRow(n) {
    const event = n.event || {};
    return h("li", { className: n.read ? "read" : "unread", "data-id": n.id },
      h("button", { type: "button", className: "link", onclick: () => openNotification(n) },
        `${ctx.name(event.user_id)} on item ${n.item_id}: ${event.text || event.type || n.type}`), " ", time(n.created_at));
  }

  async function openNotification(n) {
    try {
      if (!n.read) await api("PUT", `/forum/notifications/${encodeURIComponent(n.id)}/read`);
    } catch (error) {
      showError(error);
    }
    loadNotifications();
    openThread(n.item_id, n.participant_id);
  }

  function countNotifications() {
    notificationCount.textContent = String(notifications.querySelectorAll("li.unread").length);
  }

  function threadPath() {
    return `/forum/items/${encodeURIComponent(current.item_id)}/participant/${encodeURIComponent(current.participant_id)}/thread`;
  }

  async function openThread(itemId, participantId) {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    current = { item_id: String(itemId), participant_id: String(participantId) };
    itemInput.value = current.item_id;
    participantInput.value = current.participant_id;
    seen.clear();
    clear(messages);
    title.textContent = `Thread: item ${current.item_id}, participant ${current.participant_id}`;
    if (!(await refreshThread())) return;
    await refreshFollow();
    unsubscribe = socket.subscribe({ topic: "forum.thread", ...current }, {
      event: (event) => { showEvent(event); markRead(); },
      refused: (code, message) => showError(refusal("This thread's live updates", code, message)),
    });
  }

  async function refreshThread() {
    try {
      const thread = await api("GET", threadPath());
      statusText.textContent = `Status: ${STATUS_TEXT[thread.status] || thread.status}`;
      statusText.dataset.status = thread.status;
      return true;
    } catch (error) {
      statusText.textContent = "You may not read this thread.";
      statusText.dataset.status = "";
      showError(error);
      return false;
    }
  }

  function showEvent(event) {
    if (seen.has(event.cursor)) return;
    seen.add(event.cursor);
    if (event.type === "message") {
      messages.append(h("li", { className: "message", "data-cursor": event.cursor },
        h("strong", {}, ctx.name(event.user_id)), " ", time(event.time), h("p", {}, event.text)));
    } else if (["thread_opened", "thread_closed", "status_changed"].includes(event.type)) {
      const to = event.to ? ` to ${STATUS_TEXT[event.to] || event.to}` : "";
      messages.append(h("li", { className: "event" }, `${ctx.name(event.user_id)}: ${event.type.replace("_", " ")}${to}`));
      refreshThread();
    }
    messages.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  async function post() {
    const text = textInput.value.trim();
    if (!text || !current) return;
    try {
      await api("POST", `${threadPath()}/messages`, { text, uuid: crypto.randomUUID() });
      textInput.value = "";
    } catch (error) {
      showError(error);
    }
  }

  async function setStatus(status) {
    if (!current) return;
    const body = { status };
    if (status !== "closed" && !["waiting_for_participant", "waiting_for_trainer"].includes(statusText.dataset.status)) {
      body.helper_group_id = helperInput.value.trim();
    }
    try {
      await api("PUT", threadPath(), body);
      await refreshThread();
      await refreshFollow();
    } catch (error) {
      showError(error);
    }
  }

  async function refreshFollow() {
    try {
      const follow = await api("GET", `${threadPath()}/follow`);
      const following = Boolean(follow.following);
      followButton.setAttribute("aria-pressed", String(following));
      followButton.textContent = following ? "Following (unfollow)" : "Follow";
    } catch {
      followButton.setAttribute("aria-pressed", "false");
    }
  }

  async function toggleFollow() {
    if (!current) return;
    const following = followButton.getAttribute("aria-pressed") === "true";
    try {
      await api(following ? "DELETE" : "PUT", `${threadPath()}/follow`);
      await refreshFollow();
    } catch (error) {
      showError(error);
    }
  }

  // One read marker for a burst of events (a replay after a reconnect brings many at once).
  let readTimer = null;
  function markRead() {
    if (!current || root.hidden || readTimer !== null) return;
    readTimer = setTimeout(async () => {
      readTimer = null;
      if (!current) return;
      try {
        await api("PUT", `${threadPath()}/read`);
        if (shown) loadThreads(); // the list's unread count for this thread is now 0
      } catch {
        // Marking read is a convenience: a refusal here has nothing to tell the reader.
      }
    }, 300);
  }

  let shown = false;
  return {
    show() {
      if (!shown) {
        shown = true;
        loadThreads();
        loadNotifications();
      }
    },
    ownFrame(frame) {
      if (frame.topic !== "notification.new") return;
      const n = frame.notification;
      if (notifications.querySelector(`[data-id="${CSS.escape(n.id)}"]`)) return;
      notifications.prepend(notificationRow(n));
      countNotifications();
    },
    reconnected() {
      if (current) refreshThread();
      if (shown) { loadThreads(); loadNotifications(); }
    },
  };
}
