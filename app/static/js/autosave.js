// Autosave for a reflection answer: saves as the person types, says so quietly, and never
// drops their words. Unsaved text is kept in this tab's sessionStorage until the server has it.
(() => {
  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  const textarea = form.querySelector("textarea");
  const status = document.getElementById("save-status");
  const token = form.querySelector('input[name="csrf_token"]').value;
  const key = `duet-unsaved:${form.dataset.autosave}`;
  let saved = textarea.value;
  let timer = null;
  let busy = false;

  const show = (state, message) => {
    status.dataset.state = state;
    status.textContent = message || status.dataset[state] || "";
  };

  const remember = () => {
    if (textarea.value === saved) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify({ base: saved, text: textarea.value }));
  };

  async function save() {
    if (busy || textarea.value === saved) return;
    busy = true;
    const text = textarea.value;
    show("saving");
    try {
      const response = await fetch(form.dataset.autosave, {
        method: "POST",
        body: new URLSearchParams({ csrf_token: token, text }),
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        saved = text;
        show("saved");
      } else {
        const answer = await response.json().catch(() => ({}));
        show("failed", answer.error);
      }
    } catch {
      show("offline");
    } finally {
      busy = false;
      remember();
      if (textarea.value !== saved && status.dataset.state === "saved") schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  }

  // Words typed before a dropped connection or a closed page come back, if the server's
  // copy has not changed since.
  const kept = JSON.parse(sessionStorage.getItem(key) || "null");
  if (kept && kept.base === saved && kept.text !== saved) {
    textarea.value = kept.text;
    schedule();
  }

  textarea.addEventListener("input", () => {
    remember();
    schedule();
  });
  window.addEventListener("online", save);
  setInterval(() => {
    if (status.dataset.state === "offline") save();
  }, 5000);
  form.addEventListener("submit", () => sessionStorage.removeItem(key));
})();
