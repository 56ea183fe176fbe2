// The live channel for every live page: ask every two seconds whether anything the couple
// shares moved (a 304 while it did not), then fetch only the regions of this page that
// follow what moved. A region the person is typing in is never replaced: a page can merge
// it itself (drafting.js), or it waits. A page that follows a part with `reload` (the start
// page, the waiting page) reloads when it moves, unless the person is typing.
(() => {
  const state = document.getElementById("live-state");
  if (!state) return;
  const INTERVAL = 2000;
  const follows = state.dataset.follows.split(" ").filter(Boolean);
  const reloads = state.dataset.reload.split(" ").filter(Boolean);
  let etag = state.dataset.etag;
  let couple = state.dataset.couple;
  let parts = JSON.parse(state.dataset.parts);
  let token = null;

  // A read-only field (the invite link, focused to copy it) is not typing: it never holds a page back.
  const fields = (element) =>
    element.querySelectorAll("input:not([type=hidden]):not([readonly]), textarea:not([readonly]), select");
  const isDirty = (field) => {
    if (field.tagName === "SELECT") return [...field.options].some((o) => o.selected !== o.defaultSelected);
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    return field.value !== field.defaultValue;
  };
  const isBusy = (element) => [...fields(element)].some((field) => field === document.activeElement || isDirty(field));

  // Pages can merge a region themselves: window.duetLive.merge[name](mine, fresh).
  const live = (window.duetLive = window.duetLive || { merge: {} });

  // Said once, at the top of the page, with a button: the person reloads when ready.
  function note(message) {
    if (document.getElementById("live-moved")) return;
    const element = document.createElement("div");
    element.id = "live-moved";
    element.className = "notice";
    element.setAttribute("role", "status");
    const text = document.createElement("p");
    text.textContent = message;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button-quiet button-small";
    button.textContent = state.dataset.reloadLabel;
    button.addEventListener("click", () => location.reload());
    text.append(" ", button);
    element.append(text);
    document.getElementById("main").prepend(element);
  }

  class Moved extends Error {}

  async function refresh(region) {
    const name = region.dataset.liveRegion;
    const merge = live.merge[name];
    // The person is typing here: the next poll tries again, once they have stopped.
    if (!merge && isBusy(region)) throw new Error(`region ${name} busy`);
    const source = region.dataset.liveSrc || location.href;
    const response = await fetch(source, {
      headers: region.dataset.liveSrc ? {} : { "X-Live-Region": name },
      credentials: "same-origin",
      cache: "no-store",
    });
    // What the region showed is gone (the draft became final, the page now leads elsewhere):
    // the page itself moves on.
    if (response.status === 404 || response.redirected) throw new Moved();
    if (!response.ok) throw new Error(`region ${name}: ${response.status}`);
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = html.getElementById(region.id);
    if (!fresh) throw new Error(`region ${name} missing`);
    if (merge) merge(region, fresh);
    else region.replaceWith(fresh);
  }

  function reload() {
    if (isBusy(document.getElementById("main"))) note(state.dataset.movedMessage);
    else location.reload();
  }

  async function moved(now) {
    const changed = follows.filter((part) => now.parts[part] !== parts[part]);
    const ended = String(now.couple ?? "") !== couple;
    if (ended || changed.some((part) => reloads.includes(part))) return reload();
    const regions = [...document.querySelectorAll("[data-live-region]")].filter((region) =>
      region.dataset.liveFollows.split(" ").some((part) => changed.includes(part)),
    );
    try {
      // All or nothing: if one region could not be fetched, the next poll tries them again.
      await Promise.all(regions.map(refresh));
    } catch (error) {
      if (error instanceof Moved) return reload();
      throw error;
    }
  }

  async function poll() {
    try {
      const headers = { "If-None-Match": `"${etag}"` };
      if (token) headers["X-Live-Token"] = token;
      const response = await fetch(state.dataset.url, { headers, credentials: "same-origin", cache: "no-store" });
      token = response.headers.get("X-Live-Token") || token;
      if (response.status === 401) {
        // Signed out on this device (or everywhere): show the sign-in page, not private words.
        location.reload();
        return;
      }
      if (response.status === 200) {
        const now = await response.json();
        await moved(now);
        etag = response.headers.get("ETag").replace(/^W\//, "").replaceAll('"', "");
        couple = String(now.couple ?? "");
        parts = now.parts;
      }
    } catch {
      // Offline for a moment, or a region failed: the next poll tries again.
    }
    setTimeout(poll, document.hidden ? INTERVAL * 5 : INTERVAL);
  }
  setTimeout(poll, INTERVAL);
})();
