// The invite page: copy the link, or hand it to the phone's share sheet. Without this script
// both buttons stay hidden and the read-only field holds the link, as before.
(() => {
  const card = document.getElementById("invite-share");
  if (!card) return;
  const field = document.getElementById("invite-link");
  const copyButton = document.getElementById("invite-copy");
  const shareButton = document.getElementById("invite-share-button");
  const status = document.getElementById("invite-status");

  // Emptied first, so saying the same thing twice is announced twice.
  function say(message) {
    status.textContent = "";
    setTimeout(() => {
      status.textContent = message;
    }, 50);
  }

  // The clipboard API needs a secure page (https or this computer); elsewhere the older
  // copy command still works on a selection, and failing that the link stays selected.
  async function copy() {
    try {
      await navigator.clipboard.writeText(field.value);
      say(card.dataset.copied);
      return;
    } catch {
      // No clipboard API here, or it was refused: select the field instead.
    }
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    say(copied ? card.dataset.copied : card.dataset.selected);
  }

  async function share() {
    try {
      await navigator.share({ title: "Duet", text: card.dataset.shareText });
    } catch (error) {
      // Closing the share sheet is a choice, not a failure.
      if (error.name !== "AbortError") say(card.dataset.shareFailed);
    }
  }

  copyButton.addEventListener("click", copy);
  copyButton.hidden = false;
  status.hidden = false;
  if (typeof navigator.share === "function") {
    shareButton.addEventListener("click", share);
    shareButton.hidden = false;
  }
})();
