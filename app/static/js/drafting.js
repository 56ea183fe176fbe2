// Live drafting: when live.js hears that the agreement moved, it fetches the new clause list
// and this merges it in. A clause the person is typing in, or has unsaved changes in, is
// never replaced or cleared: it is kept and marked instead.
(() => {
  const live = document.getElementById("live");
  if (!live) return;

  const fields = (element) => element.querySelectorAll("input:not([type=hidden]), textarea, select");
  const isDirty = (field) => {
    if (field.tagName === "SELECT") return [...field.options].some((o) => o.selected !== o.defaultSelected);
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    return field.value !== field.defaultValue;
  };
  const isBusy = (element) =>
    element.contains(document.activeElement) || [...fields(element)].some(isDirty);

  const mark = (element, message) => {
    let note = element.querySelector(".live-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "live-note";
      note.setAttribute("role", "status");
      element.prepend(note);
    }
    note.textContent = message;
  };

  // What the person opened stays open when the part around it is replaced.
  const openParts = (element) => [element, ...element.querySelectorAll("details")].filter((d) => d.tagName === "DETAILS");
  const keyOf = (details) => details.id || details.dataset.key || details.querySelector("summary")?.textContent;
  const keepOpen = (mine, part) => {
    const before = new Map(openParts(mine).map((d) => [keyOf(d), d.open]));
    for (const details of openParts(part)) {
      if (before.has(keyOf(details))) details.open = before.get(keyOf(details));
    }
  };
  const replace = (mine, part) => {
    keepOpen(mine, part);
    mine.replaceWith(part);
  };

  function mergeClauses(current, incoming, texts) {
    const old = new Map([...current.children].map((item) => [item.id, item]));
    const order = [];
    for (const item of [...incoming.children]) {
      const mine = old.get(item.id);
      old.delete(item.id);
      if (mine && isBusy(mine)) {
        if (mine.dataset.version !== item.dataset.version) mark(mine, texts.changed);
        order.push(mine);
      } else {
        if (mine) keepOpen(mine, item);
        order.push(item);
      }
    }
    for (const mine of old.values()) {
      if (isBusy(mine)) {
        mark(mine, texts.removed);
        order.push(mine);
      }
    }
    // Moving the element being typed in would drop the caret: put it back afterwards.
    const active = document.activeElement;
    const caret = active && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
    current.replaceChildren(...order);
    if (active && active !== document.activeElement && document.contains(active)) {
      active.focus({ preventScroll: true });
      if (caret) active.setSelectionRange(...caret);
    }
  }

  // Called by live.js with the new #live when the agreement moved.
  const merge = (mine, fresh) => {
    const texts = { changed: mine.dataset.changed, removed: mine.dataset.removed };
    // A copy: replacing parts takes them out of `fresh.children` while we walk it.
    for (const part of [...fresh.children]) {
      const current = part.id && document.getElementById(part.id);
      if (!current) continue;
      if (part.id === "clause-list") mergeClauses(current, part, texts);
      else if (!isBusy(current)) replace(current, part);
    }
  };
  window.duetLive = window.duetLive || { merge: {} };
  window.duetLive.merge.drafting = merge;
})();
