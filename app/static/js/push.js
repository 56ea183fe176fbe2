// "Notify me on this phone" in Settings (docs/safety.md, "Notifications"). Nothing is asked
// on page load: the browser's permission prompt comes only after the tap. The subscription
// goes to Duet with the page's CSRF token, tied to this device's session; "Stop
// notifications on this phone" is a plain form that also ends the browser's subscription.
(() => {
  const section = document.querySelector("[data-push]");
  if (!section) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return; // this browser cannot show Duet's notifications: the section stays hidden
  }
  const script = document.currentScript;
  const status = section.querySelector("[data-push-status]");
  const token = document.querySelector('input[name="csrf_token"]').value;
  section.hidden = false;

  function say(name) {
    status.textContent = name ? section.dataset[name] : "";
  }

  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const text = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(text, (char) => char.charCodeAt(0));
  }

  async function registration() {
    await navigator.serviceWorker.register(script.dataset.worker, { scope: "/" });
    return navigator.serviceWorker.ready;
  }

  async function start(button) {
    button.disabled = true;
    say("");
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say("denied");
        return;
      }
      const worker = await registration();
      const key = keyBytes(section.dataset.key);
      let subscription = await worker.pushManager.getSubscription();
      // One made with another server key (the key was replaced) would never be reached.
      if (subscription && subscription.options.applicationServerKey) {
        const old = new Uint8Array(subscription.options.applicationServerKey);
        if (old.length !== key.length || old.some((byte, index) => byte !== key[index])) {
          await subscription.unsubscribe();
          subscription = null;
        }
      }
      subscription ||= await worker.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
      const response = await fetch(section.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(subscription.toJSON()),
      });
      if (!response.ok) throw new Error(`Duet answered ${response.status}`);
      window.location.reload();
    } catch {
      say("failed");
    } finally {
      button.disabled = false;
    }
  }

  const button = section.querySelector("[data-push-start]");
  if (button) button.addEventListener("click", () => start(button));

  const stop = section.querySelector("[data-push-stop]");
  if (stop) {
    stop.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const worker = await navigator.serviceWorker.getRegistration("/");
        const subscription = worker && (await worker.pushManager.getSubscription());
        if (subscription) await subscription.unsubscribe();
      } catch {
        // Duet stops sending either way: the form below removes the subscription it holds.
      }
      stop.submit();
    });
  }
})();
