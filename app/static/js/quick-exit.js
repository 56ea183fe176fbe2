// Quick exit (docs/safety.md), after GOV.UK's "Exit this page": the control at the top of
// every page, or Shift pressed three times (each within 5 seconds of the last, Shift on its
// own), hides the page at once, drops this tab's storage and opens the exit route in place of
// this page, so Back does not return here. The exit route ends the session on the server and
// tells the browser to clear what Duet stored, then leaves for a neutral page.
(() => {
  const PRESSES = 3;
  const WITHIN_MS = 5000;
  let exiting = false;

  function control() {
    return document.querySelector("[data-quick-exit]");
  }

  // The service worker and everything it kept (static/js/offline.js), started here and not
  // waited for: leaving comes first. Over HTTPS the exit route's Clear-Site-Data does it too.
  function forgetOffline() {
    try {
      // Each step may fail quietly: Clear-Site-Data from the exit route may get there first.
      const quietly = () => {};
      if (window.caches) {
        caches
          .keys()
          .then((names) => names.forEach((name) => caches.delete(name).catch(quietly)), quietly);
      }
      if (navigator.serviceWorker) {
        navigator.serviceWorker.getRegistrations().then((registrations) => {
          registrations.forEach((registration) => registration.unregister().catch(quietly));
        }, quietly);
      }
    } catch {
      // Not available here (an insecure origin, say): nothing was kept either.
    }
  }

  function exit() {
    const link = control();
    if (!link || exiting) return;
    exiting = true;
    document.documentElement.classList.add("quick-exit-active");
    document.title = "Duet";
    try {
      sessionStorage.clear();
      localStorage.clear();
    } catch {
      // Storage may be switched off; the exit route's Clear-Site-Data still clears it.
    }
    forgetOffline();
    window.location.replace(link.href);
  }

  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-quick-exit]")) return;
    event.preventDefault();
    exit();
  });

  // Shift three times. A Shift used with another key (a capital letter) does not count.
  let presses = 0;
  let lastPress = 0;
  let withOtherKey = false;
  let expiry = null;

  function announce(name) {
    const status = document.querySelector("[data-quick-exit-status]");
    if (status) status.textContent = name ? status.dataset[name] : "";
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Shift") {
      withOtherKey = event.shiftKey;
      presses = 0;
    }
  });

  document.addEventListener("keyup", (event) => {
    if (event.key !== "Shift") return;
    if (withOtherKey) {
      withOtherKey = false;
      return;
    }
    const now = Date.now();
    presses = now - lastPress <= WITHIN_MS ? presses + 1 : 1;
    lastPress = now;
    clearTimeout(expiry);
    if (presses >= PRESSES) {
      announce("activated");
      exit();
      return;
    }
    announce(presses === 1 ? "twoMore" : "oneMore");
    expiry = setTimeout(() => {
      presses = 0;
      announce("expired");
      setTimeout(() => announce(""), WITHIN_MS);
    }, WITHIN_MS);
  });

  // A page brought back from the back-forward cache may show what it showed before the
  // session ended. Signed-in pages, and any page left by quick exit, ask the server again
  // (which answers with a signed-out page once the session is gone), hidden meanwhile.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    if (exiting || document.body.hasAttribute("data-signed-in")) {
      document.documentElement.classList.add("quick-exit-active");
      window.location.reload();
    }
  });
})();
