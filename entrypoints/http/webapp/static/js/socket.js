// One websocket to /ws for the whole page, which reconnects by itself.
//
// Each subscription remembers the cursor of the newest event it delivered; after a drop the
// socket comes back and subscribes again with `since` = that cursor, so the server sends exactly
// what was missed (DESIGN.md §4.2). Every event that carries a cursor is delivered once: a cursor
// already seen is dropped, whichever way (history, live, replay) it came.

const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 4000;
const CLOSE_UNAUTHENTICATED = 4401;

export class LiveSocket {
  constructor({ token, onStatus, onOwnFrame, onError, onReconnected }) {
    this.token = token;
    this.onStatus = onStatus;        // (state, detail) -> void: "connecting" | "live" | "offline" | "signed-out"
    this.onOwnFrame = onOwnFrame;    // frames of the user's own channel (notifications, dm, live per-user)
    this.onError = onError;          // (message) -> void
    this.onReconnected = onReconnected; // after a drop: views re-read what topics do not replay
    this.subs = new Map();           // frame id -> subscription
    this.nextId = 1;
    this.retryMs = FIRST_RETRY_MS;
    this.everReady = false;
    this.stopped = false;
    this.ws = null;
    this.retryTimer = null;
    // Back online (a laptop waking, a train leaving a tunnel): try now rather than at the next retry.
    this.retryNow = () => { if (this.retryTimer !== null) { clearTimeout(this.retryTimer); this.retryTimer = null; this.open(); } };
    window.addEventListener("online", this.retryNow);
    this.open();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.onStatus("connecting");
    this.isReady = false; // until the server's `ready` frame: subscriptions wait for it
    const ws = new WebSocket(`${scheme}//${location.host}/ws?token=${encodeURIComponent(this.token)}`);
    this.ws = ws;
    ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    ws.onclose = (closed) => this.closed(ws, closed.code);
  }

  closed(ws, code) {
    if (ws !== this.ws || this.stopped) return;
    this.ws = null;
    if (code === CLOSE_UNAUTHENTICATED) {
      this.stopped = true;
      this.onStatus("signed-out");
      return;
    }
    this.onStatus("offline", this.retryMs);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.open(); }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.retryNow);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }

  // fields: the topic and its key fields, e.g. {topic: "chat.room", room_id: "lobby"}.
  // handlers.event(event) gets each event once; handlers.refused(code, message). `since`: the
  // cursor of the newest event the caller already shows (read over HTTP), if any.
  subscribe(fields, handlers, since = null) {
    const sub = { id: `s${this.nextId++}`, fields, handlers, cursor: since, seen: new Set(), active: true };
    this.subs.set(sub.id, sub);
    this.sendSubscribe(sub);
    return () => this.unsubscribe(sub);
  }

  unsubscribe(sub) {
    sub.active = false;
    this.subs.delete(sub.id);
    this.send({ action: "unsubscribe", id: sub.id, ...sub.fields });
  }

  sendSubscribe(sub) {
    if (!this.isReady) return; // sent with the others on `ready`
    const frame = { action: "subscribe", id: sub.id, ...sub.fields };
    if (sub.cursor) frame.since = sub.cursor;
    this.send(frame);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  receive(frame) {
    switch (frame.type) {
      case "ready":
        this.ready();
        break;
      case "subscribed": {
        const sub = this.subs.get(frame.id);
        if (!sub) return;
        for (const event of frame.events) this.deliver(sub, event);
        if (frame.cursor && !sub.cursor) sub.cursor = frame.cursor;
        break;
      }
      case "event":
        this.route(frame);
        break;
      case "error":
        this.refused(frame);
        break;
      case "expired": {
        const sub = this.subs.get(frame.id);
        if (sub) this.sendSubscribe(sub);
        break;
      }
      default:
        break;
    }
  }

  ready() {
    const again = this.everReady;
    this.everReady = true;
    this.isReady = true;
    this.retryMs = FIRST_RETRY_MS;
    this.onStatus("live");
    // Subscriptions made while offline were never sent; the others resume from their cursor.
    for (const sub of this.subs.values()) this.sendSubscribe(sub);
    if (again && this.onReconnected) this.onReconnected();
  }

  route(frame) {
    if (OWN_TOPICS.has(frame.topic) || isPersonal(frame)) {
      this.onOwnFrame(frame);
      return;
    }
    for (const sub of this.subs.values()) {
      if (sub.fields.topic === frame.topic && sameKey(sub, frame)) this.deliver(sub, frame.event);
    }
  }

  deliver(sub, event) {
    if (!sub.active) return;
    if (event.cursor !== undefined) {
      if (sub.seen.has(event.cursor)) return;
      sub.seen.add(event.cursor);
      sub.cursor = event.cursor;
    }
    sub.handlers.event(event);
  }

  refused(frame) {
    const sub = frame.id ? this.subs.get(frame.id) : null;
    if (sub) {
      this.subs.delete(sub.id);
      sub.active = false;
      if (sub.handlers.refused) sub.handlers.refused(frame.code, frame.message);
      return;
    }
    if (frame.code !== "unauthenticated") this.onError(`Live updates: ${frame.message || frame.code}`);
  }
}

// What the user's own channel carries besides a live room's personal frames.
const OWN_TOPICS = new Set(["notification.new", "dm.message", "social.timeline"]);

// A live room's frames for one user (attempts and counts for the teacher, a student's result).
const PERSONAL_LIVE_EVENTS = new Set(["attempt_submitted", "attempt_changed", "option_counts", "result"]);

function isPersonal(frame) {
  return frame.topic === "live.room" && frame.event && PERSONAL_LIVE_EVENTS.has(frame.event.type);
}

function sameKey(sub, frame) {
  for (const field of ["room_id", "message_group_uuid"]) {
    if (sub.fields[field] !== undefined && frame[field] !== undefined && sub.fields[field] !== frame[field]) return false;
  }
  return true;
}
