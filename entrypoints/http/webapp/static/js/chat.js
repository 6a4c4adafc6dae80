// Chat: the rooms one joined, create / join / leave, a room's comments live, older ones on scroll.
import { refusal } from "./api.js";
import { clear, field, h, time } from "./dom.js";

const OLDER_PAGE = 20;

export function mountChat(root, ctx) {
  const { api, socket, showError } = ctx;
  let room = null;
  let unsubscribe = null;
  let oldest = null;     // cursor of the oldest comment shown (to page back)
  let loadingOlder = false;
  let noMoreOlder = false;
  const shown = new Set(); // comment cursors on screen: live, replayed and paged-back ones meet here

  const roomInput = h("input", { name: "room_id", required: true, maxlength: 64, pattern: "[A-Za-z0-9._~\\-]+", value: "lobby" });
  const rooms = h("ul", { className: "list", "aria-label": "My rooms" });
  const title = h("h3", {}, "No room open");
  const comments = h("ol", { className: "messages scroll", "aria-label": "Room comments", tabindex: "0" });
  const textInput = h("textarea", { name: "text", rows: 2, maxlength: 2000, required: true });
  const olderButton = h("button", { type: "button", onclick: loadOlder, hidden: true }, "Load older comments");
  const leaveButton = h("button", { type: "button", onclick: leave, hidden: true }, "Leave the room");
  comments.addEventListener("scroll", () => { if (comments.scrollTop < 40) loadOlder(); });

  clear(root,
    h("h2", {}, "Chat"),
    h("div", { className: "columns" },
      h("div", { className: "side" },
        h("form", { onsubmit: (e) => { e.preventDefault(); join(roomInput.value.trim()); } },
          field("Room", roomInput),
          h("div", { className: "buttons" },
            h("button", { type: "submit" }, "Join"),
            h("button", { type: "button", onclick: create }, "Create"))),
        h("h3", {}, "My rooms"), rooms),
      h("div", { className: "main-col" }, title, leaveButton, olderButton, comments,
        h("form", { onsubmit: (e) => { e.preventDefault(); send(); } },
          field("Comment", textInput), h("button", { type: "submit" }, "Send")))));

  async function loadRooms() {
    try {
      const rows = await api("GET", "/chat/me/rooms?limit=100");
      clear(rooms, rows.length ? rows.map((r) => h("li", {},
        h("button", { type: "button", className: "link", onclick: () => open(r.room_id) }, r.room_id))) : h("li", { className: "empty" }, "No rooms yet"));
    } catch (error) {
      showError(error);
    }
  }

  async function create() {
    const id = roomInput.value.trim();
    if (!id) return;
    try {
      await api("PUT", `/chat/rooms/${encodeURIComponent(id)}`, { display_name: id });
      await open(id);
      loadRooms();
    } catch (error) {
      showError(error);
    }
  }

  async function join(id) {
    if (!id) return;
    try {
      await api("PUT", `/chat/rooms/${encodeURIComponent(id)}/membership`);
      await open(id);
      loadRooms();
    } catch (error) {
      showError(error);
    }
  }

  async function leave() {
    if (!room) return;
    try {
      await api("DELETE", `/chat/rooms/${encodeURIComponent(room)}/membership`);
      close();
      loadRooms();
    } catch (error) {
      showError(error);
    }
  }

  function close() {
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    room = null;
    title.textContent = "No room open";
    leaveButton.hidden = olderButton.hidden = true;
    clear(comments);
  }

  async function open(id) {
    close();
    room = id;
    roomInput.value = id;
    oldest = null;
    noMoreOlder = false;
    shown.clear();
    title.textContent = `Room ${id}`;
    leaveButton.hidden = olderButton.hidden = false;
    let newest = null;
    try {
      // The newest page over HTTP (newest first); the socket then resumes after its newest comment.
      const page = await api("GET", `/chat/rooms/${encodeURIComponent(id)}/comments/latest?limit=${OLDER_PAGE}`);
      for (const c of [...page].reverse()) addComment(c, "end");
      newest = page.length ? page[0].cursor : null;
      if (page.length < OLDER_PAGE) { noMoreOlder = true; olderButton.hidden = true; }
    } catch (error) {
      showError(error);
      return;
    }
    unsubscribe = socket.subscribe({ topic: "chat.room", room_id: id }, {
      event: (event) => {
        if (event.type === "comment") addComment(event, "end");
        else if (event.type === "member_joined" || event.type === "member_left") {
          comments.append(h("li", { className: "event" }, `${ctx.name(event.user_id)} ${event.type === "member_joined" ? "joined" : "left"}`));
        } else if (event.type === "room_deleted") {
          showError("This room was deleted.");
          close();
        }
      },
      refused: (code, message) => { showError(refusal(`Room ${id}`, code, message)); },
    }, newest);
  }

  function commentItem(c) {
    return h("li", { className: "message", "data-cursor": c.cursor },
      h("strong", {}, ctx.name(c.user_id)), " ", time(c.created_at), h("p", {}, c.text));
  }

  function addComment(c, where) {
    if (shown.has(c.cursor)) return;
    shown.add(c.cursor);
    if (where === "start") {
      comments.prepend(commentItem(c));
    } else {
      comments.append(commentItem(c));
      comments.scrollTop = comments.scrollHeight;
    }
    if (oldest === null || where === "start") oldest = c.cursor;
  }

  async function loadOlder() {
    if (!room || loadingOlder || noMoreOlder || oldest === null) return;
    loadingOlder = true;
    const before = comments.scrollHeight;
    try {
      const page = await api("GET", `/chat/rooms/${encodeURIComponent(room)}/comments/latest?before=${encodeURIComponent(oldest)}&limit=${OLDER_PAGE}`);
      for (const c of page) addComment(c, "start"); // newest first: each goes above the previous
      if (page.length < OLDER_PAGE) { noMoreOlder = true; olderButton.hidden = true; }
      comments.scrollTop += comments.scrollHeight - before; // keep the reader's place
    } catch (error) {
      showError(error);
    } finally {
      loadingOlder = false;
    }
  }

  async function send() {
    const text = textInput.value.trim();
    if (!text || !room) return;
    try {
      await api("POST", `/chat/rooms/${encodeURIComponent(room)}/comments`, { text });
      textInput.value = "";
    } catch (error) {
      showError(error);
    }
  }

  let loaded = false;
  return {
    show() { if (!loaded) { loaded = true; loadRooms(); } },
    reconnected() { if (loaded) loadRooms(); },
  };
}
