// The web client: sign in, then one view at a time (the URL's #hash), over one live socket.
import { ApiError, describe, makeApi } from "./api.js";
import { clear, h } from "./dom.js";
import { LiveSocket } from "./socket.js";
import { mountForum } from "./forum.js";
import { mountChat } from "./chat.js";
import { mountDm } from "./dm.js";
import { mountLive } from "./live.js";

const TOKEN_KEY = "parley.token";
const $ = (id) => document.getElementById(id);

const state = { token: sessionStorage.getItem(TOKEN_KEY), me: null, views: {}, socket: null, names: new Map() };
const api = makeApi(() => state.token);

function showError(error) {
  $("alert-text").textContent = typeof error === "string" ? error : describe(error);
  $("alert").hidden = false;
  if (error instanceof ApiError && error.status === 401) signOut();
}

$("alert-close").addEventListener("click", () => { $("alert").hidden = true; });

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  offline: "Connection lost, reconnecting…",
  "signed-out": "Signed out: the token is no longer valid",
};

function setConnection(stateName) {
  const el = $("connection");
  el.dataset.state = stateName;
  el.textContent = CONNECTION_TEXT[stateName] || "";
}

function tokenUser(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return payload.sub || null;
  } catch {
    return null;
  }
}

async function showSignIn() {
  $("signin").hidden = false;
  $("nav").hidden = true;
  for (const view of ["forum", "chat", "dm", "live"]) $(`view-${view}`).hidden = true;
  const box = $("demo-users");
  try {
    const users = await api("GET", "/app/dev-sign-in");
    clear(box, h("p", {}, "Development sign-in as a demo user:"),
      h("ul", { className: "buttons" }, users.map((user) =>
        h("li", {}, h("button", { type: "button", onclick: () => devSignIn(user.user_id) },
          `${user.display_name} (${user.role})`)))));
  } catch {
    clear(box, h("p", {}, "This server offers no development sign-in: paste a token."));
  }
}

async function devSignIn(userId) {
  try {
    const data = await api("POST", "/app/dev-sign-in", { user_id: Number(userId) });
    start(data.token, data.user);
  } catch (error) {
    showError(error);
  }
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  const sub = tokenUser(token);
  if (!sub) return showError("That is not a token with a user (sub claim).");
  start(token, { user_id: sub, display_name: `User ${sub}`, handle: null });
});

$("sign-out").addEventListener("click", () => signOut());

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.socket) state.socket.stop();
  state.token = null;
  state.me = null;
  $("who").textContent = "";
  setConnection("none");
  showSignIn();
}

async function start(token, me) {
  state.token = token;
  state.me = me;
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(`${TOKEN_KEY}.me`, JSON.stringify(me));
  $("who").textContent = `Signed in as ${me.display_name}`;
  $("signin").hidden = true;
  $("nav").hidden = false;
  await loadNames();
  const ctx = {
    api, me, showError,
    name: (userId) => state.names.get(String(userId)) || `User ${userId}`,
    socket: null,
  };
  state.socket = ctx.socket = new LiveSocket({
    token,
    onStatus: setConnection,
    onError: showError,
    onOwnFrame: (frame) => Object.values(state.views).forEach((view) => view.ownFrame && view.ownFrame(frame)),
    onReconnected: () => Object.values(state.views).forEach((view) => view.reconnected && view.reconnected()),
  });
  state.views = {
    forum: mountForum($("view-forum"), ctx),
    chat: mountChat($("view-chat"), ctx),
    dm: mountDm($("view-dm"), ctx),
    live: mountLive($("view-live"), ctx),
  };
  route();
}

async function loadNames() {
  try {
    for (const user of await api("GET", "/app/dev-sign-in")) state.names.set(user.user_id, user.display_name);
  } catch {
    // Outside the demo profiles users are shown by id.
  }
}

function route() {
  if (!state.me) return;
  const current = (location.hash || "#forum").slice(1);
  const name = current in state.views ? current : "forum";
  for (const [view, handle] of Object.entries(state.views)) {
    const visible = view === name;
    $(`view-${view}`).hidden = !visible;
    if (visible) handle.show();
  }
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

window.addEventListener("hashchange", route);

if (state.token) {
  const me = JSON.parse(sessionStorage.getItem(`${TOKEN_KEY}.me`) || "null") || { user_id: tokenUser(state.token), display_name: "" };
  start(state.token, me);
} else {
  showSignIn();
}
