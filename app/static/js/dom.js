// dom.js — building and updating the pages' elements: h() and s() for HTML and SVG, and the message lines.

const SVG_NS = "http://www.w3.org/2000/svg";

export const $ = (selector, root = document) => root.querySelector(selector);

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  return node;
}

export function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** An HTML element: h("a", { href }, "text", child…). */
export function h(tag, attrs, ...children) {
  return appendAll(setAttrs(document.createElement(tag), attrs), children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return appendAll(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

export function replaceChildren(node, ...children) {
  node.replaceChildren();
  return appendAll(node, children);
}

/** Shows `text` in a message element; kind is "ok", "error", "busy" or "" (plain). */
export function say(node, text, kind = "") {
  if (!node) return;
  node.textContent = text || "";
  node.classList.remove("ok", "error", "busy");
  if (kind) node.classList.add(kind);
  node.dataset.kind = kind;
  if (node.hasAttribute("data-hide-empty")) node.hidden = !text;
}

export function fillDatalist(list, ids) {
  if (!list) return;
  replaceChildren(list, ids.map((id) => h("option", { value: id })));
}
