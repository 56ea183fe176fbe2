// Installable and offline (docs/safety.md, "What a phone keeps"). Registers the service
// worker (app/main/offline.py), which keeps only the static files and the offline page; and,
// on the signed-versions page, lets the person keep their signed agreements' PDFs on this
// phone (off until they choose it; the choice lives in this browser only, and it is that
// person's: someone else signing in on the same phone has not made it). The offline page
// lists the ones kept.
(() => {
  if (!("serviceWorker" in navigator) || !("caches" in window)) return;
  const SIGNED_CACHE = "duet-signed"; // as in the worker
  const CHOICE = "duet-keep-signed";
  const script = document.currentScript;

  if (!document.documentElement.classList.contains("quick-exit-active")) {
    navigator.serviceWorker.register(script.dataset.worker, { scope: "/" }).catch(() => {
      // No worker (a private window, say): Duet works as before, only not offline.
    });
  }

  // The choice is this person's: the page names them by an opaque mark, and another person
  // signing in on the same phone has not chosen it.
  const chosen = (owner) => {
    try {
      return localStorage.getItem(CHOICE) === owner;
    } catch {
      return false;
    }
  };

  // Keep exactly the PDFs the page lists: new versions are added, ended ones dropped.
  async function keep(links) {
    const cache = await caches.open(SIGNED_CACHE);
    const wanted = new Set(links.map((link) => link.href));
    for (const request of await cache.keys()) {
      if (!wanted.has(request.url)) await cache.delete(request);
    }
    let failed = false;
    for (const url of wanted) {
      if (await cache.match(url)) continue;
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        const type = response.headers.get("Content-Type") || "";
        if (response.ok && type.startsWith("application/pdf")) await cache.put(url, response);
        else failed = true;
      } catch {
        failed = true;
      }
    }
    return !failed;
  }

  function choose(section) {
    const box = section.querySelector("input[type=checkbox]");
    const status = section.querySelector("[data-keep-offline-status]");
    const links = () => [...document.querySelectorAll("a[data-signed-pdf]")];
    const say = (name) => {
      status.textContent = name ? section.dataset[name] : "";
    };
    section.hidden = false;
    box.checked = chosen(section.dataset.owner);

    async function apply(announce) {
      if (box.checked) {
        localStorage.setItem(CHOICE, section.dataset.owner);
        const done = await keep(links());
        if (announce || !done) say(done ? "kept" : "failed");
      } else {
        if (chosen(section.dataset.owner)) localStorage.removeItem(CHOICE);
        await caches.delete(SIGNED_CACHE);
        if (announce) say("removed");
      }
    }

    box.addEventListener("change", () => apply(true));
    if (box.checked) apply(false);
    // A version signed or revised while the page is open arrives by the live channel.
    const region = document.getElementById("signing-versions");
    if (region) {
      new MutationObserver(() => box.checked && apply(false)).observe(region, {
        childList: true,
        subtree: true,
      });
    }
  }

  async function listKept(section) {
    const cache = await caches.open(SIGNED_CACHE);
    const list = section.querySelector("ul");
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const disposition = response.headers.get("Content-Disposition") || "";
      const name = /filename="?([^";]+)"?/.exec(disposition);
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = request.url;
      link.className = "standalone-link";
      link.textContent = name ? name[1] : new URL(request.url).pathname;
      item.append(link);
      list.append(item);
    }
    section.hidden = list.children.length === 0;
  }

  const section = document.querySelector("[data-keep-offline]");
  if (section) choose(section);
  const kept = document.querySelector("[data-offline-kept]");
  if (kept) listKept(kept);
})();
