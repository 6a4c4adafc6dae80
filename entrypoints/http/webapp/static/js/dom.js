// A small helper to build elements: h("button", {type: "submit", onclick}, "Send").

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "className") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function time(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  return h("time", { datetime: iso }, when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
}

// A labelled input: the label is the accessible name the tests (and screen readers) use.
export function field(label, input) {
  const id = input.id || `f${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { className: "field" }, h("label", { for: id }, label), input);
}
