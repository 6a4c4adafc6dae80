// Live questions: a teacher view (question bank, pick, close, live per-option counts, attempts
// arriving) and a student view (the current question, answering, the result once released).
// The room's own events come on the live.room topic; attempts, counts and a student's result come
// on the user's own channel and are read again from GET /live/rooms/{id} after a reconnect.
import { refusal } from "./api.js";
import { clear, field, h } from "./dom.js";

export function mountLive(root, ctx) {
  const { api, socket, me, showError } = ctx;
  let roomId = null;
  let unsubscribe = null;
  let view = null;                 // GET /live/rooms/{id}
  const attempts = new Map();      // user_id -> attempt (teacher)

  const roomInput = h("input", { name: "room_id", required: true, maxlength: 64, pattern: "[A-Za-z0-9_\\-]+", value: "class-1" });
  const title = h("h3", {}, "No room open");
  const stateLine = h("p", { className: "status-line" });
  const panel = h("div");

  clear(root,
    h("h2", {}, "Live questions"),
    h("form", { onsubmit: (e) => { e.preventDefault(); enter(roomInput.value.trim()); } },
      field("Room", roomInput),
      h("div", { className: "buttons" },
        h("button", { type: "submit" }, "Enter room"),
        h("button", { type: "button", onclick: create }, "Create room"))),
    title, stateLine, panel);

  const path = () => `/live/rooms/${encodeURIComponent(roomId)}`;
  const isOwner = () => view && view.room.owner_id === String(me.user_id);

  async function create() {
    const id = roomInput.value.trim();
    if (!id) return;
    try {
      await api("POST", "/live/rooms", { room_id: id, name: id });
      enter(id);
    } catch (error) {
      showError(error);
    }
  }

  async function enter(id) {
    if (!id) return;
    if (unsubscribe) unsubscribe();
    roomId = id;
    title.textContent = `Room ${id}`;
    if (!(await reload())) return;
    unsubscribe = socket.subscribe({ topic: "live.room", room_id: id }, {
      event: () => reload(),
      refused: (code, message) => showError(refusal(`Room ${id}`, code, message)),
    });
  }

  async function reload() {
    if (!roomId) return false;
    try {
      view = await api("GET", path());
    } catch (error) {
      showError(error);
      return false;
    }
    attempts.clear();
    for (const a of view.attempts || []) attempts.set(a.user_id, a);
    stateLine.textContent = `State: ${view.room.state.replace(/_/g, " ")}${isOwner() ? " — you teach this room" : ""}`;
    stateLine.dataset.state = view.room.state;
    if (isOwner()) await renderTeacher();
    else renderStudent();
    return true;
  }

  // -- teacher ------------------------------------------------------------------------------------

  const questionText = h("input", { name: "question_text", required: true, maxlength: 2000 });
  const optionsText = h("textarea", { name: "options", rows: 4 });
  const pickSelect = h("select", { name: "question_id" });
  const countsList = h("ul", { className: "counts", "aria-label": "Answers per option" });
  const attemptsList = h("ul", { className: "list", "aria-label": "Attempts" });

  async function renderTeacher() {
    let bank = [];
    try {
      bank = await api("GET", "/live/questions?limit=100");
    } catch (error) {
      showError(error);
    }
    clear(pickSelect, bank.map((q) => h("option", { value: q.question_id }, q.text)));
    clear(panel,
      h("form", { onsubmit: (e) => { e.preventDefault(); addQuestion(); } },
        h("h4", {}, "Add a question"),
        field("Question", questionText),
        field("Options, one a line (start the correct ones with *; none: free text)", optionsText),
        h("button", { type: "submit" }, "Add question")),
      h("form", { onsubmit: (e) => { e.preventDefault(); pick(); } },
        field("Question to ask", pickSelect),
        h("div", { className: "buttons" },
          h("button", { type: "submit" }, "Pick"),
          h("button", { type: "button", onclick: () => command("close-question") }, "Close question"),
          h("button", { type: "button", onclick: () => command("close") }, "Close room"))),
      view.question ? h("p", { className: "question" }, `Now: ${view.question.text}`) : null,
      h("h4", {}, "Answers per option"), countsList,
      h("h4", {}, "Attempts"), attemptsList);
    renderCounts(view.option_counts);
    renderAttempts();
  }

  function renderCounts(counts) {
    if (!counts || !view || !view.question) return clear(countsList);
    const options = view.question.options;
    clear(countsList, options.length
      ? options.map((o, i) => h("li", {}, h("span", {}, o.text), " ", h("meter", { min: 0, max: Math.max(counts.attempts, 1), value: counts.counts[i] || 0, "aria-hidden": "true" }), " ", h("strong", {}, String(counts.counts[i] || 0))))
      : h("li", {}, `${counts.attempts} answers`));
  }

  function renderAttempts() {
    const rows = [...attempts.values()];
    clear(attemptsList, rows.length ? rows.map((a) => h("li", {}, `${ctx.name(a.user_id)}: ${answerText(a.answer)}`)) : h("li", { className: "empty" }, "No answers yet"));
  }

  function answerText(answer) {
    if (!view || !view.question || !Array.isArray(answer)) return String(answer);
    return answer.map((i) => view.question.options[i]?.text ?? i).join(", ");
  }

  async function addQuestion() {
    const options = optionsText.value.split("\n").map((line) => line.trim()).filter(Boolean)
      .map((line) => ({ text: line.replace(/^\*\s*/, ""), is_correct: line.startsWith("*"), post_text: "" }));
    try {
      await api("POST", "/live/questions", { text: questionText.value.trim(), options });
      questionText.value = optionsText.value = "";
      reload();
    } catch (error) {
      showError(error);
    }
  }

  async function pick() {
    if (!pickSelect.value) return;
    try {
      await api("POST", `${path()}/pick`, { question_id: pickSelect.value });
    } catch (error) {
      showError(error);
    }
  }

  async function command(name) {
    try {
      await api("POST", `${path()}/${name}`);
    } catch (error) {
      showError(error);
    }
  }

  // -- student ------------------------------------------------------------------------------------

  function renderStudent() {
    const q = view.question;
    if (!q || view.room.state === "no_question") return clear(panel, h("p", {}, "Waiting for the teacher to ask a question."));
    const open = view.room.state === "question_opened";
    const name = `answer-${q.question_id}`;
    const mine = view.my_attempt ? view.my_attempt.answer : null;
    let inputs;
    if (q.type === "discursive") {
      inputs = field("Your answer", h("textarea", { name, rows: 3, disabled: !open }, typeof mine === "string" ? mine : ""));
    } else {
      const kind = q.type === "single_answer" ? "radio" : "checkbox";
      inputs = h("fieldset", {}, h("legend", {}, "Choose"), q.options.map((o) => h("label", { className: "choice" },
        h("input", { type: kind, name, value: String(o.index), disabled: !open, checked: Array.isArray(mine) && mine.includes(o.index) }), ` ${o.text}`)));
    }
    clear(panel,
      h("form", { onsubmit: (e) => { e.preventDefault(); answer(e.target, q); } },
        h("p", { className: "question" }, q.text), inputs,
        open ? h("button", { type: "submit" }, mine === null ? "Answer" : "Change my answer") : null),
      mine !== null ? h("p", {}, "Your answer is in.") : null,
      view.my_result ? resultBox(view.my_result) : null);
  }

  function resultBox(result) {
    const list = (label, items) => items.length ? h("div", {}, h("h5", {}, label),
      h("ul", {}, items.map((f) => h("li", {}, f.post_text ? `${f.text} — ${f.post_text}` : f.text)))) : null;
    return h("section", { className: "result", "aria-label": "Your result" },
      h("h4", {}, result.correct ? "Correct!" : "Not quite."),
      list("You marked correctly", result.marked_correctly),
      list("You missed", result.missed),
      list("You marked wrongly", result.marked_wrongly));
  }

  async function answer(form, q) {
    let value;
    if (q.type === "discursive") value = form.querySelector("textarea").value.trim();
    else {
      const picked = [...form.querySelectorAll("input:checked")].map((i) => Number(i.value));
      value = q.type === "single_answer" ? picked[0] : picked;
    }
    if (value === undefined || value === "") return showError("Choose an answer first.");
    try {
      await api("PUT", `${path()}/attempt`, { answer: value, question_id: q.question_id });
      reload();
    } catch (error) {
      showError(error);
    }
  }

  return {
    show() {},
    ownFrame(frame) {
      if (frame.topic !== "live.room" || frame.room_id !== roomId || !view) return;
      const event = frame.event;
      if (event.type === "option_counts") renderCounts(event);
      else if (event.type === "attempt_submitted" || event.type === "attempt_changed") {
        attempts.set(event.user_id, event);
        renderAttempts();
      } else if (event.type === "result") {
        view.my_result = event;
        if (!isOwner()) renderStudent();
      }
    },
    reconnected() { if (roomId) reload(); },
  };
}
