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
  // Typing: a field has focus or unsaved changes. A focused button or link is not typing:
  // its part is replaced, and focus moves to the same control in the new part.
  const isBusy = (element) => [...fields(element)].some((field) => field === document.activeElement || isDirty(field));
  const focusables = (element) => [element, ...element.querySelectorAll("a[href], button, summary, [tabindex]")];
  const twinOf = (mine, part, active) => {
    if (!mine.contains(active)) return null;
    const twin = focusables(part)[focusables(mine).indexOf(active)];
    return twin && twin.tagName === active.tagName ? twin : null;
  };

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
    const twin = twinOf(mine, part, document.activeElement);
    mine.replaceWith(part);
    twin?.focus({ preventScroll: true });
  };
  // A clause being typed in still shows who agreed, while its words are unchanged.
  const refreshApprovals = (mine, item) => {
    for (const selector of [".approvals", ".clause-actions"]) {
      const fresh = item.querySelector(selector);
      if (fresh) mine.querySelector(selector)?.replaceWith(fresh);
    }
  };

  function mergeClauses(current, incoming, texts) {
    const old = new Map([...current.children].map((item) => [item.id, item]));
    const order = [];
    let twin = null;
    for (const item of [...incoming.children]) {
      const mine = old.get(item.id);
      old.delete(item.id);
      if (mine && isBusy(mine)) {
        if (mine.dataset.version !== item.dataset.version) mark(mine, texts.changed);
        else refreshApprovals(mine, item);
        order.push(mine);
      } else {
        if (mine) {
          keepOpen(mine, item);
          twin = twin || twinOf(mine, item, document.activeElement);
        }
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
    if (twin) twin.focus({ preventScroll: true });
    else if (active && active !== document.activeElement && document.contains(active)) {
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

  // Agreeing in place: "I agree", "Withdraw my yes" and "agree to the rest" are sent without
  // leaving the page. The answer (the agreement page) is merged in as a live change is; the
  // clause stays where it was on the screen, focus moves to its new button, and a status line
  // says what happened. Anything but a plain success sends the form again as a page, which
  // shows its message (each of these changes can safely be sent twice).
  const status = document.getElementById("drafting-status");

  async function inPlace(form, submitter) {
    const clause = form.closest(".clause");
    const top = clause?.getBoundingClientRect().top;
    const body = new FormData(form, submitter);
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    let response;
    try {
      response = await fetch(form.action, { method: "POST", body, credentials: "same-origin" });
    } catch {
      response = null;
    }
    if (!response?.ok || !response.redirected) return form.submit();
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("live");
    if (!fresh) return location.assign(response.url);
    document.getElementById("agree-rest")?.remove();
    document.activeElement?.blur();
    merge(live, fresh);
    const moved = clause && document.getElementById(clause.id);
    if (moved) {
      window.scrollBy(0, moved.getBoundingClientRect().top - top);
      moved.querySelector(".clause-actions button")?.focus({ preventScroll: true });
    } else {
      document.getElementById("summary")?.focus();
    }
    status.textContent = "";
    status.textContent = form.dataset.done;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-in-place]");
    if (!form || !live.contains(form)) return;
    event.preventDefault();
    inPlace(form, event.submitter);
  });

  // "Agree to the remaining N": the list to confirm opens under the summary, read from the
  // page that shows it without JavaScript. It is not part of the live region, so a change by
  // the partner does not close it; sending a list that is out of date shows the fresh one.
  async function openAgreeRest(link) {
    let response = null;
    try {
      response = await fetch(link.href, { credentials: "same-origin" });
    } catch {
      // offline: the link itself will say so
    }
    const section = response?.ok && !response.redirected
      ? new DOMParser().parseFromString(await response.text(), "text/html").getElementById("agree-rest")
      : null;
    if (!section) return location.assign(link.href);
    const title = section.querySelector("h1");
    const heading = document.createElement("h2");
    heading.id = title.id;
    heading.textContent = title.textContent;
    heading.tabIndex = -1;
    title.replaceWith(heading);
    section.classList.add("card");
    section.querySelector("[data-close]").addEventListener("click", (event) => {
      event.preventDefault();
      section.remove();
      document.getElementById("agree-rest-link")?.focus();
    });
    document.getElementById("agree-rest")?.remove();
    document.getElementById("summary").after(section);
    heading.focus();
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("#agree-rest-link");
    if (!link) return;
    event.preventDefault();
    openAgreeRest(link);
  });
})();
